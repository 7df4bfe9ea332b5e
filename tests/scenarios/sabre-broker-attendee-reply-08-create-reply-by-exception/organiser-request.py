#!/usr/bin/env python3
"""The organiser's own copy of the event (sabre's old object,
BrokerAttendeeReplyTest-08-old.ics) as sent to the attendee: METHOD:REQUEST
added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerAttendeeReplyTest-08-old.ics', 'REQUEST',
           'organizer@example.org', 'one@example.org',
           'sabre-attendee-reply-08-request')
