#!/usr/bin/env python3
"""The changed object (sabre's new object, BrokerUpdateEventTest-04-new.ics) as
a REQUEST: METHOD:REQUEST added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerUpdateEventTest-04-new.ics', 'REQUEST',
           'strunk@example.org', 'one@example.org',
           'sabre-update-event-04-new')
