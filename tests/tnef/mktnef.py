#!/usr/bin/env python3
"""A small TNEF (winmail.dat) writer for the tests: meeting messages as
Outlook sends them when it uses "rich text" for a recipient.

The format follows the published specifications:
[MS-OXTNEF] (signature 0x223E9F78, legacy key, attributes with a level, an
id, a length and a checksum that is the byte sum of the data modulo 65536;
attMAPIProps holding MAPI properties, named ones with their property set
GUID and numeric id), [MS-OXOCAL] (the meeting properties of
PSETID_Meeting, PSETID_Appointment and PSETID_Common; the global object id
with its optional "vCal-Uid" data) and [MS-OXPROPS] (property ids and
types).  The property sets and ids used are the ones a real Outlook
meeting request carries (compare tests/unit/data/tnef/, real samples).

Used by the tnef-* scenarios (their generators import this module) and
runnable by hand:

    tests/tnef/mktnef.py request > /tmp/winmail.dat   # bare TNEF
    ytnef -f /tmp /tmp/winmail.dat                     # ytnef-tools reads it
"""
import base64
import datetime
import struct
import sys
import uuid

SIGNATURE = 0x223E9F78
LVL_MESSAGE = 0x01

# attributes: (type << 16) | id  ([MS-OXTNEF] 2.1.3.3)
ATT_SUBJECT = 0x00018004
ATT_DATE_SENT = 0x00038005
ATT_MESSAGE_CLASS = 0x00078008
ATT_MESSAGE_ID = 0x00018009
ATT_MAPI_PROPS = 0x00069003
ATT_RECIP_TABLE = 0x00069004
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007

# property types
PT_I2, PT_LONG, PT_BOOLEAN = 0x0002, 0x0003, 0x000B
PT_SYSTIME, PT_STRING8, PT_UNICODE, PT_BINARY = 0x0040, 0x001E, 0x001F, 0x0102

PSETID_MEETING = uuid.UUID("6ED8DA90-450B-101B-98DA-00AA003F1305").bytes_le
PSETID_APPOINTMENT = uuid.UUID("00062002-0000-0000-C000-000000000046").bytes_le
PSETID_COMMON = uuid.UUID("00062008-0000-0000-C000-000000000046").bytes_le

# the class id that starts every global object id ([MS-OXOCAL] 2.2.1.27)
GOID_CLASS = bytes.fromhex("040000008200E00074C5B7101A82E008")

CLASSES = {
    "request": "IPM.Microsoft Schedule.MtgReq",
    "accepted": "IPM.Microsoft Schedule.MtgRespP",
    "declined": "IPM.Microsoft Schedule.MtgRespN",
    "tentative": "IPM.Microsoft Schedule.MtgRespA",
    "cancel": "IPM.Microsoft Schedule.MtgCncl",
    "note": "IPM.Microsoft Mail.Note",
}
# the same classes as MAPI names (PR_MESSAGE_CLASS)
MAPI_CLASSES = {
    "request": "IPM.Schedule.Meeting.Request",
    "accepted": "IPM.Schedule.Meeting.Resp.Pos",
    "declined": "IPM.Schedule.Meeting.Resp.Neg",
    "tentative": "IPM.Schedule.Meeting.Resp.Tent",
    "cancel": "IPM.Schedule.Meeting.Canceled",
    "note": "IPM.Note",
}


def filetime(text):
    """"20141126T150000Z" -> 100 ns ticks since 1601-01-01 (FILETIME)."""
    dt = datetime.datetime.strptime(text, "%Y%m%dT%H%M%SZ")
    delta = dt - datetime.datetime(1601, 1, 1)
    return (delta.days * 86400 + delta.seconds) * 10_000_000


def goid(data, instance_date=None, creation=0):
    """A global object id: class id, instance date (YH, YL, M, D; zero for
    the whole series), creation time, 8 reserved bytes, size, data."""
    yh = yl = month = day = 0
    if instance_date is not None:
        year, month, day = instance_date
        yh, yl = year >> 8, year & 0xFF
    return (GOID_CLASS + bytes([yh, yl, month, day]) +
            struct.pack("<Q", creation) + bytes(8) +
            struct.pack("<I", len(data)) + data)


def outlook_goid(unique, creation):
    """What Outlook makes for a meeting it organises: 16 unique bytes."""
    return goid(unique, creation=creation)


def vcal_goid(uid):
    """What Outlook keeps for a meeting that came from iCalendar: the
    original UID after the "vCal-Uid" marker and a version of 1."""
    return goid(b"vCal-Uid" + struct.pack("<I", 1) + uid.encode() + b"\0")


def _pad(data):
    return data + bytes(-len(data) % 4)


def _value(ptype, value):
    if ptype == PT_I2:
        return struct.pack("<hH", value, 0)
    if ptype in (PT_LONG, PT_BOOLEAN):
        return struct.pack("<i", int(value))
    if ptype == PT_SYSTIME:
        return struct.pack("<Q", value)
    if ptype == PT_UNICODE:
        data = value.encode("utf-16-le") + b"\0\0"
    elif ptype == PT_STRING8:
        data = value + b"\0" if isinstance(value, bytes) else value.encode("cp1252", "replace") + b"\0"
    elif ptype == PT_BINARY:
        data = value
    else:
        raise ValueError("type %#x" % ptype)
    # variable-size values: a count of 1, the size, the bytes, padding
    return struct.pack("<II", 1, len(data)) + _pad(data)


class Props:
    """A MAPI property list (attMAPIProps, or one recipient row)."""

    def __init__(self):
        self.items = []
        self.next_named = 0x8000

    def tag(self, pid, ptype, value):
        self.items.append(struct.pack("<I", (pid << 16) | ptype) + _value(ptype, value))
        return self

    def named(self, guid, lid, ptype, value):
        # a named property's tag carries a local id >= 0x8000; the
        # property is identified by its set's GUID and numeric id
        local = self.next_named
        self.next_named += 1
        self.items.append(struct.pack("<I", (local << 16) | ptype) + guid +
                          struct.pack("<II", 0, lid) + _value(ptype, value))
        return self

    def encode(self):
        return struct.pack("<I", len(self.items)) + b"".join(self.items)


def attribute(att, data, level=LVL_MESSAGE):
    return (struct.pack("<BII", level, att, len(data)) + data +
            struct.pack("<H", sum(data) & 0xFFFF))


def dtr(text):
    """The down-level date of attDateSent: seven 16-bit words."""
    dt = datetime.datetime.strptime(text, "%Y%m%dT%H%M%SZ")
    return struct.pack("<7H", dt.year, dt.month, dt.day, dt.hour, dt.minute,
                       dt.second, (dt.weekday() + 1) % 7)


def recipient_table(recipients):
    """attRecipTable rows: (name, address, 1 = To / 2 = Cc)."""
    rows = []
    for name, address, kind in recipients:
        # each row is a property list of its own: count, properties
        rows.append(Props().tag(0x3001, PT_UNICODE, name)
                    .tag(0x3002, PT_UNICODE, "SMTP")
                    .tag(0x3003, PT_UNICODE, address)
                    .tag(0x39FE, PT_UNICODE, address)
                    .tag(0x0C15, PT_LONG, kind).encode())
    return struct.pack("<I", len(rows)) + b"".join(rows)


def meeting(kind="request", goid_bytes=None, start=None, end=None,
            summary="Meeting", location=None, sequence=0, stamp="20141120T100000Z",
            sender=("Paul Boddie", "paul.boddie@example.com"), recipients=(),
            all_day=False, tz_bias=None, recurring=False, exception_of=None,
            busy_status=2, intended_busy=2, response_requested=True,
            string8=False, sender_type="SMTP",
            subject_prefix="", attach_subject=True, mapi_class=True, extra=None):
    """The TNEF bytes of one meeting message (or of a plain note with
    kind="note", which carries none of the meeting properties)."""
    text = PT_STRING8 if string8 else PT_UNICODE
    p = Props()
    name, address = sender
    subject = subject_prefix + summary
    p.tag(0x0037, text, subject)                      # PR_SUBJECT
    p.tag(0x0070, text, summary)                      # PR_CONVERSATION_TOPIC
    if subject_prefix:
        p.tag(0x003D, text, subject_prefix)           # PR_SUBJECT_PREFIX
    p.tag(0x0039, PT_SYSTIME, filetime(stamp))        # PR_CLIENT_SUBMIT_TIME
    if mapi_class:
        p.tag(0x001A, text, MAPI_CLASSES[kind])       # PR_MESSAGE_CLASS
    if sender_type == "EX":
        # an Exchange-internal sender: a legacy DN, no SMTP address
        address = "/O=EXAMPLE/OU=EXCHANGE/CN=RECIPIENTS/CN=" + name.replace(" ", "")
    p.tag(0x0042, text, name)                         # PR_SENT_REPRESENTING_NAME
    p.tag(0x0064, text, sender_type)                  # ..._ADDRTYPE
    p.tag(0x0065, text, address)                      # ..._EMAIL_ADDRESS
    p.tag(0x0C1A, text, name)                         # PR_SENDER_NAME
    p.tag(0x0C1E, text, sender_type)
    p.tag(0x0C1F, text, address)
    if sender_type == "SMTP":
        p.tag(0x5D02, text, address)                  # ..._SMTP_ADDRESS
        p.tag(0x5D01, text, address)
    if kind != "note":
        p.tag(0x0063, PT_BOOLEAN, response_requested)  # PR_RESPONSE_REQUESTED
        if goid_bytes is not None:
            p.named(PSETID_MEETING, 0x0003, PT_BINARY, goid_bytes)   # GlobalObjectId
            clean = goid_bytes[:16] + bytes(4) + goid_bytes[20:]
            p.named(PSETID_MEETING, 0x0023, PT_BINARY, clean)    # CleanGlobalObjectId
        critical = 0x0001 if kind in ("accepted", "declined", "tentative") else 0x001A
        p.named(PSETID_MEETING, critical, PT_SYSTIME, filetime(stamp))
        p.named(PSETID_APPOINTMENT, 0x8201, PT_LONG, sequence)   # AppointmentSequence
        p.named(PSETID_APPOINTMENT, 0x8205, PT_LONG, busy_status)  # BusyStatus
        p.named(PSETID_APPOINTMENT, 0x8224, PT_LONG, intended_busy)  # IntendedBusyStatus
        if start is not None:
            p.named(PSETID_APPOINTMENT, 0x820D, PT_SYSTIME, filetime(start))
            p.named(PSETID_COMMON, 0x8516, PT_SYSTIME, filetime(start))
            p.tag(0x0060, PT_SYSTIME, filetime(start))           # PR_START_DATE
        if end is not None:
            p.named(PSETID_APPOINTMENT, 0x820E, PT_SYSTIME, filetime(end))
            p.named(PSETID_COMMON, 0x8517, PT_SYSTIME, filetime(end))
            p.tag(0x0061, PT_SYSTIME, filetime(end))
        if location is not None:
            p.named(PSETID_APPOINTMENT, 0x8208, text, location)  # Location
            p.named(PSETID_MEETING, 0x0002, text, location)      # Where
        p.named(PSETID_APPOINTMENT, 0x8215, PT_BOOLEAN, all_day)  # AppointmentSubType
        if tz_bias is not None:
            # PidLidTimeZoneStruct: bias, standard bias, daylight bias
            # (minutes, UTC = local + bias), then the two transition dates
            bias, std, dst = tz_bias
            p.named(PSETID_APPOINTMENT, 0x8233, PT_BINARY,
                    struct.pack("<iii", bias, std, dst) + bytes(36))
        p.named(PSETID_APPOINTMENT, 0x8223, PT_BOOLEAN, recurring)  # Recurring
        p.named(PSETID_MEETING, 0x0005, PT_BOOLEAN, recurring)      # IsRecurring
        if recurring:
            # PidLidAppointmentRecur, a weekly pattern ([MS-OXOCAL]
            # 2.2.1.44); only its presence matters to the reader
            p.named(PSETID_APPOINTMENT, 0x8216, PT_BINARY, bytes.fromhex(
                "043004300b200100000000000000010000000000000002000000"
                "232000000a000000000000000000000000000000"))
        if exception_of is not None:
            p.named(PSETID_MEETING, 0x000A, PT_BOOLEAN, True)       # IsException
            p.named(PSETID_APPOINTMENT, 0x8228, PT_SYSTIME, filetime(exception_of))
        to = "; ".join(n for n, _, k in recipients if k == 1)
        p.named(PSETID_APPOINTMENT, 0x823B, text, to)    # ToAttendeesString
    for item in extra or ():
        item(p)
    out = struct.pack("<IH", SIGNATURE, 0x1F2E)
    out += attribute(ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += attribute(ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0))
    out += attribute(ATT_MESSAGE_CLASS, CLASSES[kind].encode() + b"\0")
    if attach_subject:
        out += attribute(ATT_SUBJECT, subject.encode("cp1252", "replace") + b"\0")
    out += attribute(ATT_DATE_SENT, dtr(stamp))
    out += attribute(ATT_MESSAGE_ID, b"0000000045F0BDA1A6B1D111A0C4\0")
    out += attribute(ATT_MAPI_PROPS, p.encode())
    if recipients:
        out += attribute(ATT_RECIP_TABLE, recipient_table(recipients))
    return out


def corrupt(tnef):
    """A checksum failure, the usual damage to a winmail.dat: one byte of
    the last attribute's data changed."""
    data = bytearray(tnef)
    data[-10] ^= 0x5A
    return bytes(data)


def mail(tnef, subject, sender=("Paul Boddie", "paul.boddie@example.com"),
         to=(("Vincent Vole", "vincent.vole@example.com"),), cc=(),
         date="Thu, 20 Nov 2014 11:00:00 +0000", message_id="tnef1@example.com",
         body="When: Wednesday, 26 November 2014 15:00-16:00 (UTC).\n",
         filename="winmail.dat", content_type="application/ms-tnef"):
    """The mail Outlook sends around a winmail.dat: a short text part and
    the TNEF as an attachment (base64)."""
    def addr(pair):
        return '"%s" <%s>' % pair

    head = ["From: " + addr(sender), "To: " + ", ".join(map(addr, to))]
    if cc:
        head.append("Cc: " + ", ".join(map(addr, cc)))
    b = "_000_tnef_boundary_"
    head += ["Subject: " + subject, "Date: " + date,
             "Message-ID: <%s>" % message_id,
             "X-MS-TNEF-Correlator: <%s>" % message_id,
             "MIME-Version: 1.0",
             'Content-Type: multipart/mixed; boundary="%s"' % b, ""]
    encoded = base64.encodebytes(tnef).decode("ascii")
    parts = ["--" + b, 'Content-Type: text/plain; charset="us-ascii"', "", body,
             "--" + b,
             'Content-Type: %s; name="%s"' % (content_type, filename),
             'Content-Disposition: attachment; filename="%s"' % filename,
             "Content-Transfer-Encoding: base64", "", encoded,
             "--" + b + "--", ""]
    return "\n".join(head + parts)


def out(text):
    sys.stdout.buffer.write(text.encode("utf-8"))


PAUL = ("Paul Boddie", "paul.boddie@example.com")
VINCENT = ("Vincent Vole", "vincent.vole@example.com")
HARVEY = ("Harvey Horse", "harvey.horse@example.com")


def scenario_request(**overrides):
    """Paul's Outlook invites Vincent (To) and Harvey (Cc) to "Meeting at
    4pm" on 26 November 2014, 15:00-16:00 UTC: the tnef-* scenarios'
    meeting.  Keyword arguments change the meeting (see meeting())."""
    args = dict(kind="request", goid_bytes=EXAMPLE_GOID,
                start="20141126T150000Z", end="20141126T160000Z",
                summary="Meeting at 4pm", location="Room 1",
                recipients=[(VINCENT[0], VINCENT[1], 1),
                            (HARVEY[0], HARVEY[1], 2)])
    args.update(overrides)
    return meeting(**args)


def scenario_reply(kind, who, stamp, date, body=""):
    """`who` (name, address) answers Paul's iCalendar invitation
    event1@example.com with Outlook: `kind` is accepted, declined or
    tentative; `stamp` the answer's time (FILETIME text), `date` the
    mail's Date:.  Returns the whole mail."""
    prefix = {"accepted": "Accepted: ", "declined": "Declined: ",
              "tentative": "Tentative: "}[kind]
    tnef = meeting(kind=kind, goid_bytes=vcal_goid("event1@example.com"),
                   start="20141126T150000Z", end="20141126T160000Z",
                   summary="Meeting at 4pm", subject_prefix=prefix,
                   stamp=stamp, sender=who)
    return mail(tnef, prefix + "Meeting at 4pm", sender=who, to=(PAUL,),
                date=date, message_id="tnef-%s@example.com" % kind, body=body)


EXAMPLE_GOID = outlook_goid(bytes.fromhex("00CC90FBB0AF5E4084B8519538A2DF6D"),
                            filetime("20141120T093000Z"))

if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "request"
    tnef = meeting(kind=what, goid_bytes=EXAMPLE_GOID, start="20141126T150000Z",
                   end="20141126T160000Z", summary="Meeting at 4pm",
                   location="Room 1",
                   recipients=[("Vincent Vole", "vincent.vole@example.com", 1)])
    sys.stdout.buffer.write(tnef)
