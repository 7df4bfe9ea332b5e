#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: 3 attendees in the VEVENT."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

N = 3
CAL = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"

# N attendees in the one VEVENT
atts = ["vincent.vole@example.com"] + ["person%d@example.org" % i for i in range(N - 1)]
out(HEAD % ("Attendees", "attendees") + CAL + EVENT_HEAD
    + vevent("att1@example.com", attendees=atts) + "END:VCALENDAR\n")
