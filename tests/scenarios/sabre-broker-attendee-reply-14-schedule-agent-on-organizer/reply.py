#!/usr/bin/env python3
"""The attendee's object (BrokerAttendeeReplyTest-14-new.ics) sent as a REPLY
by a client that schedules itself: METHOD:REPLY added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerAttendeeReplyTest-14-new.ics', 'REPLY',
           'one@example.org', 'strunk@example.org',
           'sabre-attendee-reply-14-reply')
