"""Shared pieces of the scenario message generators (*/make.py): the
headers and calendar text every generated test message starts from."""
import sys

HEAD = """From: Paul Boddie <paul.boddie@example.com>
To: Vincent Vole <vincent.vole@example.com>
Subject: %s
Date: Thu, 20 Nov 2014 11:00:00 +0000
Message-ID: <%s@example.com>
MIME-Version: 1.0
"""

EVENT_HEAD = """BEGIN:VCALENDAR
PRODID:-//imip-agent/test//EN
VERSION:2.0
METHOD:REQUEST
"""

def vevent(uid, extra="", attendees=("vincent.vole@example.com",)):
    s = ("BEGIN:VEVENT\nUID:%s\nSEQUENCE:0\nDTSTAMP:20141120T100000Z\n"
         "DTSTART:20141126T150000Z\nDTEND:20141126T160000Z\nSUMMARY:Big meeting\n"
         "ORGANIZER:mailto:paul.boddie@example.com\n" % uid)
    s += "".join("ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:%s\n" % a for a in attendees)
    return s + extra + "END:VEVENT\n"

def out(text):
    sys.stdout.buffer.write(text.encode("utf-8"))


# ---------------------------------------------------------------------------
# The sabre/vobject iTIP cases (sabre-*/): each scenario keeps sabre's bare
# iCalendar objects byte for byte (with LICENSE-NOTE.md) and one small
# generator per message that wraps an object into iMIP mail with these
# helpers.  Generators run in the scenario's directory.
import re  # noqa: E402
import zlib  # noqa: E402

SUBJECT_WORDS = {"REQUEST": "Invitation", "REPLY": "Reply", "CANCEL": "Cancelled",
                 "PUBLISH": "Published", "ADD": "Added", "COUNTER": "Proposal"}


def read_here(name):
    """A file of the scenario directory, as text."""
    with open(name, encoding="utf-8", newline="") as f:
        return f.read()


def ical_set_method(text, method):
    """The calendar with METHOD:`method`: an existing METHOD line is
    replaced, else the line goes after VERSION (or BEGIN:VCALENDAR)."""
    nl = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(nl)
    for i, line in enumerate(lines):
        if line.upper().startswith("METHOD:"):
            lines[i] = "METHOD:" + method
            return nl.join(lines)
    at = next((i for i, l in enumerate(lines) if l.upper().startswith("VERSION:")),
              next(i for i, l in enumerate(lines) if l.upper() == "BEGIN:VCALENDAR"))
    lines.insert(at + 1, "METHOD:" + method)
    return nl.join(lines)


def ical_fill_any(text, value):
    """sabre's expected objects carry the wildcard **ANY** where the real
    message has a generated value (DTSTAMP): put a real one there."""
    return text.replace("**ANY**", value)


def ical_add_missing(text, props):
    """Each `NAME:VALUE` (or `NAME;PARAMS:VALUE`) line of props is added to
    every VEVENT that has no NAME property: what iTIP needs and a bare
    CalDAV object may lack (DTSTART, ORGANIZER, ...)."""
    nl = "\r\n" if "\r\n" in text else "\n"
    out, names, inside = [], set(), False
    for line in text.split(nl):
        upper = line.upper()
        if upper == "BEGIN:VEVENT":
            inside, names = True, set()
        elif upper == "END:VEVENT" and inside:
            for prop in props:
                name = prop.split(":")[0].split(";")[0].upper()
                if name not in names:
                    out.append(prop)
            inside = False
        elif inside and line[:1] not in (" ", "\t"):
            names.add(upper.split(":")[0].split(";")[0])
        out.append(line)
    return nl.join(out)


def imip_mail(ical, method, sender, to, subject, msgid,
              date="Thu, 10 Jul 2014 11:00:00 +0000"):
    """An iMIP message (RFC 6047) as mail clients send it: From/To/Date/
    Message-ID, multipart/alternative with a short text part and the
    calendar as text/calendar with the method= parameter (none when
    `method` is None).  `to` is an address or a list; line ends follow the
    calendar text."""
    nl = "\r\n" if "\r\n" in ical else "\n"
    to = [to] if isinstance(to, str) else list(to)
    boundary = "===============sabre-%08x==" % zlib.crc32(msgid.encode())
    head = ["From: %s" % sender,
            "To: %s" % ", ".join(to),
            "Subject: %s" % subject,
            "Date: %s" % date,
            "Message-ID: <%s@example.org>" % msgid,
            "MIME-Version: 1.0",
            'Content-Type: multipart/alternative; boundary="%s"' % boundary,
            "",
            "This is a multi-part message in MIME format.",
            "--" + boundary,
            'Content-Type: text/plain; charset="us-ascii"',
            "",
            "This message contains calendar data.",
            "--" + boundary,
            'Content-Type: text/calendar; charset="utf-8"' +
            ("; method=%s" % method if method else ""),
            "",
            ""]
    body = ical if ical.endswith(nl) else ical + nl
    return nl.join(head) + body + "--" + boundary + "--" + nl


def sabre_mail(name, method, sender, to, msgid, subject=None, stamp=None,
               add=(), date="Thu, 10 Jul 2014 11:00:00 +0000"):
    """Prints sabre object `name` (a file of the scenario) as iMIP mail:
    METHOD set to `method` (None: left as it is, and no method= parameter),
    **ANY** filled with `stamp`, the `add` lines added to VEVENTs lacking
    them.  Everything else is sabre's text."""
    text = read_here(name)
    if stamp is not None:
        text = ical_fill_any(text, stamp)
    if add:
        text = ical_add_missing(text, list(add))
    if method is not None:
        text = ical_set_method(text, method)
    if subject is None:
        m = (re.search(r"^SUMMARY[^:\r\n]*:(.*?)\r?$", text, re.M) or
             re.search(r"^UID[^:\r\n]*:(.*?)\r?$", text, re.M))
        word = SUBJECT_WORDS.get(method, method or "Calendar")
        subject = "%s: %s" % (word, m.group(1) if m else name)
    out(imip_mail(text, method, sender, to, subject, msgid, date))
