#!/usr/bin/env python3
"""The user's new object (BrokerNewEventTest-10-new.ics) as the user's client
would send it: METHOD:REQUEST added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerNewEventTest-10-new.ics', 'REQUEST',
           'strunk@example.org', ['one@example.org', 'two@example.org', 'three@example.org'],
           'sabre-new-event-10-new')
