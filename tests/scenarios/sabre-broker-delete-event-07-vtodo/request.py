#!/usr/bin/env python3
"""sabre's VTODO (BrokerDeleteEventTest-07-old.ics) as mail: METHOD:REQUEST
added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerDeleteEventTest-07-old.ics', 'REQUEST',
           'strunk@example.org', 'one@example.org',
           'sabre-delete-event-07-request')
