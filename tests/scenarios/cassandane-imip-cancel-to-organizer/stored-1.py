#!/usr/bin/env python3
"""The calendar object the Cyrus test put into the user's calendar with
CalDAV, imip_cancel_to_organizer-stored-1.ics,
as the REQUEST cassandane@example.com sent as its organiser: the outgoing
copy that puts the same object into our store."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genwrap import message, out, read, with_method  # noqa: E402

ICS = "imip_cancel_to_organizer-stored-1.ics"
out(message("Foo <foo@example.net>", "An Event",
            "Thu, 23 Sep 2021 08:00:00 -0400", ICS[:-4], "REQUEST",
            with_method(read(ICS), "REQUEST")))
