#!/usr/bin/env python3
"""The REQUEST sabre generates (BrokerNewEventTest-07-expected-2.ics), **ANY**
(DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerNewEventTest-07-expected-2.ics', 'REQUEST',
           'strunk@example.org', 'two@example.org',
           'sabre-new-event-07-2',
           stamp='20140710T113000Z')
