#!/usr/bin/env python3
"""The REQUEST sabre generates (BrokerNewEventTest-08-expected-1.ics), **ANY**
(DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerNewEventTest-08-expected-1.ics', 'REQUEST',
           'strunk@example.org', 'one@example.org',
           'sabre-new-event-08-1',
           stamp='20140710T113000Z')
