#!/usr/bin/env python3
"""sabre's incoming message (BrokerProcessReplyTest-02-message.ics) as the
attendee's mail, unchanged."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerProcessReplyTest-02-message.ics', 'REPLY',
           'foo@example.org', 'bar@example.org',
           'sabre-process-reply-02-reply')
