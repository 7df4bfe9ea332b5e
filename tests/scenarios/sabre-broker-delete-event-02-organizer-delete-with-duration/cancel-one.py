#!/usr/bin/env python3
"""The CANCEL sabre generates (BrokerDeleteEventTest-02-expected-1.ics),
**ANY** (DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerDeleteEventTest-02-expected-1.ics', 'CANCEL',
           'strunk@example.org', 'one@example.org',
           'sabre-delete-event-02-1',
           stamp='20140710T113000Z')
