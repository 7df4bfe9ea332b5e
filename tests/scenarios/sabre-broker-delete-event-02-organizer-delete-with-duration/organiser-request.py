#!/usr/bin/env python3
"""The organiser's own copy of the event (sabre's old object,
BrokerDeleteEventTest-02-old.ics) as sent to the attendees: METHOD:REQUEST
added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerDeleteEventTest-02-old.ics', 'REQUEST',
           'strunk@example.org', ['one@example.org', 'two@example.org'],
           'sabre-delete-event-02-request')
