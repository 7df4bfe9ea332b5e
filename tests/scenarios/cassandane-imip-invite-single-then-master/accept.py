#!/usr/bin/env python3
"""The user accepts the one instance the first invitation carried (the
Cyrus test sets PARTSTAT=ACCEPTED on the stored copy with CalDAV): the
user's REPLY, as its outgoing copy."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genwrap import message, out, reply  # noqa: E402

out(message("Foo <foo@example.net>", "Accepted: An Event",
            "Thu, 23 Sep 2021 11:00:00 -0400", "accept-instance", "REPLY",
            reply("6de280c9-edff-4019-8ebd-cfebc73f8201", "foo@example.net",
                  "ACCEPTED", "20210923T150000Z",
                  rid_line="RECURRENCE-ID;TZID=American/New_York:20210923T153000")))
