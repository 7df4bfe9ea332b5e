#!/usr/bin/env python3
"""The CANCEL sabre generates (BrokerUpdateEventTest-11-expected-1.ics),
**ANY** (DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerUpdateEventTest-11-expected-1.ics', 'CANCEL',
           'strunk@example.org', 'one@example.org',
           'sabre-update-event-11-1',
           stamp='20140710T113000Z')
