#!/usr/bin/env python3
"""sabre's incoming message (BrokerProcessMessageTest-03-message.ics) as the
organiser's mail, METHOD:CANCEL with what iTIP needs and sabre's bare object
lacks added: ORGANIZER strunk@example.org, ATTENDEE one@example.org, DTSTART
and DTSTAMP."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerProcessMessageTest-03-message.ics', 'CANCEL',
           'strunk@example.org', 'one@example.org',
           'sabre-process-message-03-message-completed',
           add=['ORGANIZER;CN=Strunk:mailto:strunk@example.org', 'ATTENDEE;CN=One:mailto:one@example.org', 'DTSTART:20140716T120000Z', 'DTSTAMP:20140710T100000Z'])
