#!/usr/bin/env python3
"""The organiser's copy of the event before the change (sabre's old object,
BrokerUpdateEventTest-03-old.ics) as sent to the attendees: METHOD:REQUEST
added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerUpdateEventTest-03-old.ics', 'REQUEST',
           'strunk@example.org', 'one@example.org',
           'sabre-update-event-03-request')
