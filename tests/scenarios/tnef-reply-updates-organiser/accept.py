#!/usr/bin/env python3
"""Vincent's Outlook accepts Paul's iCalendar invitation with a winmail.dat:
the global object id carries Paul's UID after the vCal-Uid marker."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tnef"))
import mktnef as m  # noqa: E402

m.out(m.scenario_reply("accepted", m.VINCENT, "20141121T090000Z",
                       "Fri, 21 Nov 2014 09:00:00 +0000"))
