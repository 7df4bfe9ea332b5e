#!/usr/bin/env python3
"""Evolution's object as the organiser's client sends it (sabre's old object,
BrokerSignificantChangesTest-03-old.ics): METHOD:REQUEST added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerSignificantChangesTest-03-old.ics', 'REQUEST',
           'martin@fruux.com', 'dominik@fruux.com',
           'sabre-significant-changes-03-old',
           date='Thu, 14 Aug 2014 11:00:00 +0000')
