#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: a message of 3001 bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, EVENT_HEAD, vevent, out  # noqa: E402

N = 3001
CAL = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"


def build(pad):
    return (HEAD % ("Size", "size") + 'Content-Type: multipart/mixed; boundary="pad"\n\n'
            + "--pad\n" + CAL + EVENT_HEAD + vevent("size1@example.com") + "END:VCALENDAR\n"
            + "--pad\nContent-Type: text/plain\n\n" + "x" * pad + "\n--pad--\n")


# padded so that the whole message is exactly N bytes
out(build(N - len(build(0).encode())))
