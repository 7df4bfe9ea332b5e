#!/usr/bin/env python3
"""The REQUEST sabre generates for GNOME Evolution's new event
(EvolutionTest-01-expected-1.ics), **ANY** (DTSTAMP) filled; sent by the
organiser's delegate named in SENT-BY (martin+johnny@fruux.com)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('EvolutionTest-01-expected-1.ics', 'REQUEST',
           'martin+johnny@fruux.com', 'dominik@fruux.com',
           'sabre-evolution-01',
           stamp='20140814T113000Z',
           date='Thu, 14 Aug 2014 11:00:00 +0000')
