#!/usr/bin/env python3
"""Prints a generated scenario message on stdout (too large to keep as a file)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

text = EVENT_HEAD + vevent("parts1@example.com") + "END:VCALENDAR\n"
b = "many"
body = 'Content-Type: multipart/mixed; boundary="%s"\n\n' % b
for i in range(149):
    body += "--%s\nContent-Type: text/plain\n\nPart %d\n" % (b, i)
body += "--%s\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\n\n%s--%s--\n" % (b, text, b)
out(HEAD % ("Many parts", "parts") + body)
