#!/usr/bin/env python3
"""Prints a generated scenario message on stdout (too large to keep as a file)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

text = EVENT_HEAD + "".join(vevent("many%d@example.com" % i) for i in range(1001)) + "END:VCALENDAR\n"
out(HEAD % ("Many events", "components") + "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n" + text)
