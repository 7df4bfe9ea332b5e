#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: 5 body parts."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

N = 5
CAL = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"

# N body parts: N - 1 text parts and the calendar part
body = 'Content-Type: multipart/mixed; boundary="many"\n\n'
for i in range(N - 1):
    body += "--many\nContent-Type: text/plain\n\nPart %d\n" % i
body += "--many\n" + CAL + EVENT_HEAD + vevent("parts1@example.com") + "END:VCALENDAR\n--many--\n"
out(HEAD % ("Parts", "parts") + body)
