#!/usr/bin/env python3
"""An Outlook invitation whose winmail.dat was damaged on the way (a
checksum no longer matches)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tnef"))
import mktnef as m  # noqa: E402

m.out(m.mail(m.corrupt(m.scenario_request()), "Meeting at 4pm", to=(m.VINCENT,)))
