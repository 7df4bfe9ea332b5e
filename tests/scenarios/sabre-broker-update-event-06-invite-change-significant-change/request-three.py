#!/usr/bin/env python3
"""The REQUEST sabre generates (BrokerUpdateEventTest-06-expected-3.ics),
**ANY** (DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerUpdateEventTest-06-expected-3.ics', 'REQUEST',
           'strunk@example.org', 'three@example.org',
           'sabre-update-event-06-3',
           stamp='20140710T113000Z')
