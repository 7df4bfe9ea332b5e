#!/usr/bin/env python3
"""Mallory sends a winmail.dat whose TNEF claims to come from Paul."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tnef"))
import mktnef as m  # noqa: E402

tnef = m.scenario_request(sender=m.PAUL)
m.out(m.mail(tnef, "Meeting at 4pm", sender=("Mallory", "mallory@evil.example"),
             to=(m.VINCENT,)))
