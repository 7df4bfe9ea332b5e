#!/usr/bin/env python3
"""Write a large calendar store directly in the documented layout
(docs/store.md sections 1-3), faster than feeding thousands of messages
through imip-shim.  The derived tables are then made by `imip-admin
rebuild`, so what the benchmarks read is what the agent itself derives.

    mkstore.py person STORE_DIR USER COUNT
        COUNT one-hour events between 2010 and 2030 (about 14 a day at
        100,000); every fourth is organised by USER (so that attendees
        can reply to it), the others by one of 50 organisers who invited
        USER (PARTSTAT=ACCEPTED).
    mkstore.py resource STORE_DIR RESOURCE YEARS
        one daily booking (09:00-10:00 UTC) of RESOURCE over YEARS years
        from 2014-11-01, accepted.

Only names that store_name_encode() keeps unchanged are used, so the
file names are the values themselves."""

import datetime
import os
import sys

START = datetime.datetime(2010, 1, 1)
SPAN_HOURS = 20 * 365 * 24


def vcalendar(body):
    return ("BEGIN:VCALENDAR\r\nPRODID:-//imip-agent/bench//EN\r\n"
            "VERSION:2.0\r\n" + body + "END:VCALENDAR\r\n")


def stamp(t):
    return t.strftime("%Y%m%dT%H%M%SZ")


def person_event(user, i, count):
    uid = "bench-%06d@example.net" % i
    # spread over 20 years on whole hours, deterministic
    start = START + datetime.timedelta(hours=(i * SPAN_HOURS) // count)
    end = start + datetime.timedelta(hours=1)
    if i % 4 == 0:
        org = user
        att = ("ATTENDEE;PARTSTAT=ACCEPTED:mailto:%s\r\n"
               "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:"
               "mailto:guest-%d@example.net\r\n" % (user, i % 50))
    else:
        org = "organiser-%d@example.net" % (i % 50)
        att = ("ATTENDEE;PARTSTAT=ACCEPTED:mailto:%s\r\n"
               "ATTENDEE;PARTSTAT=ACCEPTED:mailto:%s\r\n" % (org, user))
    return uid, vcalendar(
        "BEGIN:VEVENT\r\nUID:%s\r\nSEQUENCE:0\r\nDTSTAMP:20091201T000000Z\r\n"
        "DTSTART:%s\r\nDTEND:%s\r\nSUMMARY:Bench event %d\r\n"
        "ORGANIZER:mailto:%s\r\n%sEND:VEVENT\r\n"
        % (uid, stamp(start), stamp(end), i, org, att))


def resource_series(resource, years):
    uid = "bench-daily@example.net"
    org = "organiser-0@example.net"
    return uid, vcalendar(
        "BEGIN:VEVENT\r\nUID:%s\r\nSEQUENCE:0\r\nDTSTAMP:20141001T000000Z\r\n"
        "DTSTART:20141101T090000Z\r\nDTEND:20141101T100000Z\r\n"
        "RRULE:FREQ=DAILY;COUNT=%d\r\nSUMMARY:Daily stand-up\r\n"
        "ORGANIZER:mailto:%s\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:%s\r\n"
        "ATTENDEE;PARTSTAT=ACCEPTED;CUTYPE=ROOM:mailto:%s\r\nEND:VEVENT\r\n"
        % (uid, years * 365 + years // 4, org, org, resource))


def write(store, user, uid, text):
    d = os.path.join(store, user, "objects")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, uid), "w", newline="") as f:
        f.write(text)


def main():
    kind, store, user, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if kind == "person":
        for i in range(n):
            write(store, user, *person_event(user, i, n))
    elif kind == "resource":
        write(store, user, *resource_series(user, n))
    else:
        sys.exit("unknown kind " + kind)


if __name__ == "__main__":
    main()
