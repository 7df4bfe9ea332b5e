#!/usr/bin/env python3
"""Prints a generated scenario message on stdout (too large to keep as a file)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

desc = "DESCRIPTION:" + "x" * 60 + "\n" + (" " + "x" * 74 + "\n") * 28000
text = EVENT_HEAD + vevent("large1@example.com", extra=desc) + "END:VCALENDAR\n"
out(HEAD % ("Long description", "calsize") + "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n" + text)
