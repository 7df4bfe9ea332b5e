#!/usr/bin/env python3
"""Outlook rich text mail: a winmail.dat holding an ordinary message."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tnef"))
import mktnef as m  # noqa: E402

tnef = m.meeting(kind="note", summary="Lunch on Friday?")
m.out(m.mail(tnef, "Lunch on Friday?", to=(m.VINCENT,), body="Lunch on Friday?\n"))
