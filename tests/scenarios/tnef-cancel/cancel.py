#!/usr/bin/env python3
"""Paul's Outlook cancels the meeting (IPM.Microsoft Schedule.MtgCncl, sequence 1)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tnef"))
import mktnef as m  # noqa: E402

tnef = m.scenario_request(kind="cancel", sequence=1, stamp="20141121T100000Z",
                          subject_prefix="Canceled: ")
m.out(m.mail(tnef, "Canceled: Meeting at 4pm", to=(m.VINCENT,), cc=(m.HARVEY,),
             date="Fri, 21 Nov 2014 10:00:00 +0000", message_id="tnef2@example.com"))
