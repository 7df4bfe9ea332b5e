#!/usr/bin/env python3
"""The attendee's REPLY as sabre generates it
(BrokerAttendeeReplyTest-08-expected-1.ics), **ANY** (DTSTAMP) filled."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerAttendeeReplyTest-08-expected-1.ics', 'REPLY',
           'one@example.org', 'organizer@example.org',
           'sabre-attendee-reply-08-reply',
           stamp='20140710T113000Z')
