#!/usr/bin/env python3
"""Harvey's Outlook declines Paul's iCalendar invitation with a winmail.dat."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tnef"))
import mktnef as m  # noqa: E402

m.out(m.scenario_reply("declined", m.HARVEY, "20141121T091500Z",
                       "Fri, 21 Nov 2014 09:15:00 +0000",
                       body="Sorry, I am away that week.\n"))
