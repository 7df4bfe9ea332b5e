#!/usr/bin/env python3
"""The REPLY sabre generates (BrokerDeleteEventTest-04-expected-1.ics), **ANY**
(DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerDeleteEventTest-04-expected-1.ics', 'REPLY',
           'one@example.org', 'strunk@example.org',
           'sabre-delete-event-04-1',
           stamp='20140710T113000Z')
