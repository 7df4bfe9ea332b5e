#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: 4 VEVENTs (master and 3 overrides)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

N = 4
CAL = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"

# N components of one UID: the master (daily, 10 instances) and N - 1 overrides
text = EVENT_HEAD + vevent("comp1@example.com", extra="RRULE:FREQ=DAILY;COUNT=10\n")
for i in range(1, N):
    day = 26 + i
    text += vevent("comp1@example.com", extra="RECURRENCE-ID:201411%02dT150000Z\n" % day).replace(
        "DTSTART:20141126T150000Z\nDTEND:20141126T160000Z",
        "DTSTART:201411%02dT160000Z\nDTEND:201411%02dT170000Z" % (day, day))
out(HEAD % ("Components", "components") + CAL + text + "END:VCALENDAR\n")
