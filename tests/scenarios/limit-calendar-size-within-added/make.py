#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: a calendar part of exactly 1000 bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

N = 1000
CAL = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"


def build(pad):
    return EVENT_HEAD + vevent("calsize1@example.com", extra="X-PAD:%s\n" % ("x" * pad)) + "END:VCALENDAR\n"


# the calendar part (the whole body) is exactly N bytes
out(HEAD % ("Calsize", "calsize") + CAL + build(N - len(build(0).encode())))
