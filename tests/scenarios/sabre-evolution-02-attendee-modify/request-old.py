#!/usr/bin/env python3
"""The organiser's event as Evolution wrote it (sabre's old object,
EvolutionTest-02-old.ics) as sent to the attendees: METHOD:REQUEST added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('EvolutionTest-02-old.ics', 'REQUEST',
           'o@example.org', ['a1@example.org', 'a2@example.org', 'a3@example.org'],
           'sabre-evolution-02-old',
           date='Wed, 13 Aug 2014 11:00:00 +0000')
