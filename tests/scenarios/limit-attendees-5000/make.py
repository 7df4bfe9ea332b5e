#!/usr/bin/env python3
"""Prints a generated scenario message on stdout (too large to keep as a file)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

atts = ["vincent.vole@example.com"] + ["person%d@example.org" % i for i in range(4999)]
out(HEAD % ("Everybody", "attendees") + "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"
    + EVENT_HEAD + vevent("big1@example.com", attendees=atts) + "END:VCALENDAR\n")
