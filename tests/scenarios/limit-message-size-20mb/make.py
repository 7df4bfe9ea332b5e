#!/usr/bin/env python3
"""Prints a generated scenario message on stdout (too large to keep as a file)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

import base64
b = "big-boundary"
parts = [HEAD % ("Huge attachment", "huge") + 'Content-Type: multipart/mixed; boundary="%s"\n\n' % b]
parts.append("--%s\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\n\n" % b)
parts.append(EVENT_HEAD + vevent("huge1@example.com") + "END:VCALENDAR\n")
parts.append("--%s\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" % b)
line = base64.b64encode(b"\0" * 57).decode() + "\n"
parts.append(line * (20 * 1024 * 1024 // len(line) + 1))
parts.append("--%s--\n" % b)
out("".join(parts))
