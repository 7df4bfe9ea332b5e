#!/usr/bin/env python3
"""sabre's incoming message (BrokerProcessMessageTest-02-message.ics) as the
organiser's mail, unchanged."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerProcessMessageTest-02-message.ics', 'REQUEST',
           'strunk@example.org', 'one@example.org',
           'sabre-process-message-02-message')
