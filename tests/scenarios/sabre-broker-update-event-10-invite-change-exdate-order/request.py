#!/usr/bin/env python3
"""The REQUEST sabre generates (BrokerUpdateEventTest-10-expected-1.ics),
**ANY** (DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerUpdateEventTest-10-expected-1.ics', 'REQUEST',
           'strunk@example.org', 'one@example.org',
           'sabre-update-event-10-1',
           stamp='20141120T113000Z',
           date='Thu, 20 Nov 2014 11:00:00 +0000')
