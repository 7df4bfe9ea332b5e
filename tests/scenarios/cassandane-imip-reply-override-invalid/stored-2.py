#!/usr/bin/env python3
"""The calendar object the Cyrus test put into the user's calendar with
CalDAV, imip_reply_override_invalid-stored-2.ics,
as the REQUEST cassandane@example.com sent as its organiser: the outgoing
copy that puts the same object into our store.
DTSTAMP becomes 20211015T120000Z, the time this copy is sent (RFC 5546 2.1.5)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genwrap import message, out, read, with_method  # noqa: E402

ICS = "imip_reply_override_invalid-stored-2.ics"
out(message("Foo <foo@example.net>", "A Recurring Event",
            "Fri, 15 Oct 2021 08:00:00 -0400", ICS[:-4], "REQUEST",
            with_method(read(ICS), "REQUEST", dtstamp="20211015T120000Z")))
