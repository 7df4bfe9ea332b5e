#!/usr/bin/env python3
"""The organiser's own copy of the stored object
(BrokerProcessReplyTest-06-old.ics) as sent to the attendee: METHOD:REQUEST
added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerProcessReplyTest-06-old.ics', 'REQUEST',
           'bar@example.org', 'foo@example.org',
           'sabre-process-reply-06-request')
