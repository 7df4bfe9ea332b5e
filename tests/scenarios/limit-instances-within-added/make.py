#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: a daily rule with COUNT=5."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

N = 5
CAL = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"

# a daily event with COUNT=N
out(HEAD % ("Instances", "instances") + CAL + EVENT_HEAD
    + vevent("inst1@example.com", extra="RRULE:FREQ=DAILY;COUNT=%d\n" % N) + "END:VCALENDAR\n")
