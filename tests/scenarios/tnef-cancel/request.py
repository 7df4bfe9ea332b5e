#!/usr/bin/env python3
"""Paul's Outlook invites Vincent with a winmail.dat only."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tnef"))
import mktnef as m  # noqa: E402

m.out(m.mail(m.scenario_request(), "Meeting at 4pm", to=(m.VINCENT,), cc=(m.HARVEY,)))
