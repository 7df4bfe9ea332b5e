#!/usr/bin/env python3
"""The CANCEL sabre generates (BrokerDeleteEventTest-02-expected-2.ics),
**ANY** (DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerDeleteEventTest-02-expected-2.ics', 'CANCEL',
           'strunk@example.org', 'two@example.org',
           'sabre-delete-event-02-2',
           stamp='20140710T113000Z')
