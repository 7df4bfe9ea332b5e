#!/usr/bin/env python3
"""The same event as Apple Calendar re-saved it (sabre's new object,
EvolutionTest-02-new.ics), sent as a REQUEST: METHOD:REQUEST added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('EvolutionTest-02-new.ics', 'REQUEST',
           'o@example.org', 'a1@example.org',
           'sabre-evolution-02-new',
           date='Wed, 13 Aug 2014 11:30:00 +0000')
