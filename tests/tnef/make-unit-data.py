#!/usr/bin/env python3
"""Writes the synthetic TNEF files of tests/unit/test-tnef.c into
tests/unit/data/tnef/ (they are kept in the tree; run this again after
changing mktnef.py).  The real Outlook samples next to them come from
elsewhere (see LICENSE-NOTE.md there)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mktnef as m  # noqa: E402

OUT = os.path.join(HERE, "..", "unit", "data", "tnef")
GOID = m.EXAMPLE_GOID
START, END = "20141126T150000Z", "20141126T160000Z"

FILES = {
    # a cancellation, 8-bit strings in Windows-1252
    "cancel-string8.tnef": m.meeting(
        kind="cancel", goid_bytes=GOID, start=START, end=END,
        summary="Café meeting", location="Salle à manger", sequence=2,
        stamp="20141121T080000Z", string8=True),
    # an all-day meeting in Berlin (UTC+1 in November): stored as
    # 23:00 UTC, read back as the date
    "allday-berlin.tnef": m.meeting(
        goid_bytes=GOID, start="20141125T230000Z", end="20141126T230000Z",
        summary="Away day", all_day=True, tz_bias=(-60, 0, -60)),
    # all-day, but no zone information and no UTC midnight: times kept
    "allday-nozone.tnef": m.meeting(
        goid_bytes=GOID, start="20141125T230000Z", end="20141126T230000Z",
        summary="Away day", all_day=True),
    # a tentative answer to an invitation that came from iCalendar
    "tentative-vcal-uid.tnef": m.meeting(
        kind="tentative", goid_bytes=m.vcal_goid("event1@example.com"),
        start=START, end=END, summary="Meeting at 4pm",
        subject_prefix="Tentative: ", stamp="20141121T090000Z",
        sender=("Vincent Vole", "vincent.vole@example.com")),
    # one changed occurrence of a series
    "exception.tnef": m.meeting(
        goid_bytes=m.goid(GOID[40:], instance_date=(2014, 12, 3),
                          creation=m.filetime("20141120T093000Z")),
        start="20141203T160000Z", end="20141203T170000Z",
        summary="Weekly", exception_of="20141203T150000Z", sequence=1),
    # a weekly series: converted as its first occurrence
    "recurring.tnef": m.meeting(
        goid_bytes=GOID, start=START, end=END, summary="Weekly",
        recurring=True),
    # no global object id: no UID can be made
    "no-goid.tnef": m.meeting(goid_bytes=None, start=START, end=END),
    # a request marked "free", from an Exchange-internal sender address
    "free-ex-sender.tnef": m.meeting(
        goid_bytes=GOID, start=START, end=END, summary="Optional talk",
        intended_busy=0, response_requested=False, sender_type="EX"),
    # Outlook rich text mail: no meeting
    "note.tnef": m.meeting(kind="note", summary="Lunch?"),
    # a character outside the BMP (UTF-16 surrogate pair)
    "non-bmp.tnef": m.meeting(goid_bytes=GOID, start=START, end=END,
                              summary="Party \U0001F389 time"),
}
FILES["corrupt.tnef"] = m.corrupt(FILES["cancel-string8.tnef"])
FILES["truncated.tnef"] = FILES["cancel-string8.tnef"][:300]

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, data in FILES.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
