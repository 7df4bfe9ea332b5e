#!/usr/bin/env python3
"""Paul's Outlook invites Vincent to a weekly meeting with a winmail.dat only."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tnef"))
import mktnef as m  # noqa: E402

m.out(m.mail(m.scenario_request(recurring=True, summary="Weekly meeting"),
             "Weekly meeting", to=(m.VINCENT,)))
