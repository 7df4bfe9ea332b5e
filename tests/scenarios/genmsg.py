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

