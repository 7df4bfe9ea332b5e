#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: the calendar part inside 5 nested multiparts."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

N = 5
CAL = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"

# the calendar part inside N nested multipart/mixed
body = CAL + EVENT_HEAD + vevent("deep1@example.com") + "END:VCALENDAR\n"
for i in range(N):
    b = "deep%d" % i
    body = 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\n%s\n--%s--\n' % (b, b, body, b)
out(HEAD % ("Deep", "deep") + body)
