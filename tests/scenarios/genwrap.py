"""Shared by the cassandane-* scenario generators: a calendar object kept
byte for byte (a Cyrus test's `<test>-stored-N.ics`, which the test put
into the calendar with CalDAV) wrapped into the iMIP message that puts the
same object into our store.  Our store changes only through mail, so the
user's own event becomes a copy of the REQUEST the user sent as organiser
(an outgoing step), and a local answer becomes the user's REPLY."""
import os
import re
import sys

HEAD = """From: Cassandane <cassandane@example.com>
To: %s
Subject: %s
Date: %s
Message-ID: <%s@example.com>
MIME-Version: 1.0
Content-Type: text/calendar; charset=utf-8; method=%s

"""


def read(name):
    """A file of the calling scenario's directory, as text."""
    here = os.path.dirname(os.path.abspath(sys.argv[0]))
    with open(os.path.join(here, name), "rb") as f:
        return f.read().decode("utf-8")


def with_method(ics, method, dtstamp=None):
    """The calendar with METHOD added as its first property (RFC 5545 3.6
    leaves the order of calendar properties free).  dtstamp replaces every
    DTSTAMP: an iTIP message carries the time it was made (RFC 5546
    2.1.5), which is how a later version of the same SEQUENCE is told
    apart."""
    if "\nMETHOD:" in ics:
        raise SystemExit("calendar already has a METHOD")
    text = ics.replace("BEGIN:VCALENDAR\n", "BEGIN:VCALENDAR\nMETHOD:%s\n" % method, 1)
    if dtstamp is not None:
        text = re.sub(r"(?m)^DTSTAMP:.*$", "DTSTAMP:" + dtstamp, text)
    return text


def message(to, subject, date, message_id, method, ics):
    return HEAD % (to, subject, date, message_id, method) + ics


def out(text):
    sys.stdout.buffer.write(text.encode("utf-8"))


REPLY = """BEGIN:VCALENDAR
PRODID:-//imip-agent/test//EN
VERSION:2.0
METHOD:REPLY
BEGIN:VEVENT
UID:%s
%sDTSTAMP:%s
SEQUENCE:%d
ORGANIZER;CN=Test User:MAILTO:%s
ATTENDEE;PARTSTAT=%s:MAILTO:cassandane@example.com
END:VEVENT
END:VCALENDAR
"""


def reply(uid, organiser, partstat, dtstamp, sequence=0, rid_line=None):
    """The user's own answer (what the Cyrus tests do by editing the
    stored copy with CalDAV), as the REPLY the user's client sends to the
    organiser.  rid_line: a whole RECURRENCE-ID line, to answer for one
    instance."""
    return REPLY % (uid, rid_line + "\n" if rid_line else "", dtstamp,
                    sequence, organiser, partstat)
