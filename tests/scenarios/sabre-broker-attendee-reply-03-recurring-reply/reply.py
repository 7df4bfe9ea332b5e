#!/usr/bin/env python3
"""The attendee's REPLY as sabre generates it
(BrokerAttendeeReplyTest-03-expected-1.ics), **ANY** (DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerAttendeeReplyTest-03-expected-1.ics', 'REPLY',
           'one@example.org', 'strunk@example.org',
           'sabre-attendee-reply-03-reply',
           stamp='20140710T113000Z')
