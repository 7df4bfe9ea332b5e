#!/usr/bin/env python3
"""sabre's incoming object (BrokerProcessMessageTest-05-message.ics) as mail,
unchanged: it has no METHOD, and the text/calendar part no method parameter."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerProcessMessageTest-05-message.ics', None,
           'strunk@example.org', 'one@example.org',
           'sabre-process-message-05-message')
