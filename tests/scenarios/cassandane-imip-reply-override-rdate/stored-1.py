#!/usr/bin/env python3
"""The calendar object the Cyrus test put into the user's calendar with
CalDAV, imip_reply_override_rdate-stored-1.ics,
as the REQUEST cassandane@example.com sent as its organiser: the outgoing
copy that puts the same object into our store."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genwrap import message, out, read, with_method  # noqa: E402

ICS = "imip_reply_override_rdate-stored-1.ics"
out(message("Foo <foo@example.net>", "A Recurring Event",
            "Wed, 13 Oct 2021 23:43:27 -0400", ICS[:-4], "REQUEST",
            with_method(read(ICS), "REQUEST")))
