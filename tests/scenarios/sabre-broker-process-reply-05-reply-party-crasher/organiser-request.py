#!/usr/bin/env python3
"""The organiser's own copy of the stored object
(BrokerProcessReplyTest-05-old.ics) as sent to the attendee: METHOD:REQUEST
added, and a DTSTART (sabre's object has none; a real event has one)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerProcessReplyTest-05-old.ics', 'REQUEST',
           'bar@example.org', 'foo@example.org',
           'sabre-process-reply-05-request',
           add=['DTSTART:20140716T120000Z'])
