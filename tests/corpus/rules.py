"""Expectation rules of the corpus check (tests/corpus/README.md).

Nothing here names a corpus file: every expectation is derived from the
file itself (its MIME structure, its iCalendar data) and from its row of
the corpus MANIFEST.tsv, by the iTIP rules (RFC 5546) a careful
implementation follows when a message reaches a calendar user whose store
is empty, with the default preferences.  The reading of messages and
iCalendar text here is deliberately independent of the C library (Python's
email package and a small content-line reader), so that a disagreement
shows up as a failure instead of being inherited.

Python 3.11 standard library only.
"""

import email
import email.policy
import email.utils
import re

# Where the derivation has no one to process for (a PUBLISH without
# ATTENDEEs, "To: alice"), an MTA would still name an envelope recipient:
# the check is run again with this one.
FALLBACK_USER = "recipient@imip-corpus.invalid"

ORGANISER_METHODS = {"PUBLISH", "REQUEST", "ADD", "CANCEL", "DECLINECOUNTER"}
ATTENDEE_METHODS = {"REPLY", "COUNTER", "REFRESH"}
KNOWN_METHODS = ORGANISER_METHODS | ATTENDEE_METHODS
# RFC 5546: the methods whose VEVENTs carry the event's time.
NEEDS_DTSTART = {"REQUEST", "PUBLISH", "ADD", "COUNTER"}
# Date-valued properties that define when the event is (a value libical
# cannot read must not end up in the calendar as something else).
TIME_PROPERTIES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "RDATE",
                   "EXDATE")

# Outcome combination as the library reports a message with several
# objects (DESIGN.md section 3): a change beats a refusal, a refusal beats
# a failure, everything beats no_action.
RANK = {"no_action": 0, "error": 1, "rejected": 2, "added": 3,
        "updated": 4, "cancelled": 5, "replied": 6}

# MANIFEST notes that mark data which is not a message at all.
NOT_A_MESSAGE = (("vCard", "an address-book fixture, not a message"),
                 ("VALARM fragment", "a fragment of a stored event, not a message"),
                 ("mbox with", "an mbox file: its messages are checked "
                               "one by one as the split files"))


def normalize(value):
    """The library's address_normalize(): bare lower-case address."""
    if value is None:
        return None
    v = value.strip()
    if v[:7].lower() == "mailto:":
        v = v[7:]
    v = v.strip().strip("<>").strip()
    if "@" not in v or any(ord(c) < 0x20 or c == "\x7f" for c in v) \
            or len(v) > 320 or " " in v:
        return None
    return v.lower()


# --- iCalendar content lines ------------------------------------------------

class Comp:
    def __init__(self, name):
        self.name = name
        self.props = []        # (NAME, {PARAM: value}, value)
        self.children = []
        self.mismatched = False

    def get(self, name):
        for n, params, value in self.props:
            if n == name:
                return params, value
        return None

    def all(self, name):
        return [(p, v) for n, p, v in self.props if n == name]


def split_line(line):
    """NAME, params, value of one unfolded content line (RFC 5545 3.1);
    None for a line without ':'."""
    quoted = False
    fields, start = [], 0
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif not quoted and c == ";":
            fields.append(line[start:i])
            start = i + 1
        elif not quoted and c == ":":
            fields.append(line[start:i])
            params = {}
            for f in fields[1:]:
                k, _, v = f.partition("=")
                params[k.strip().upper()] = v.strip('"')
            return fields[0].strip().upper(), params, line[i + 1:]
    return None


def parse_calendars(text):
    """Every top-level VCALENDAR of a text, as Comp trees.  Mismatched
    BEGIN/END marks the component (and its VCALENDAR)."""
    # stray CRs (a CR CR CR LF inside a folded line) are dropped, as
    # the corpus MANIFEST reads them
    text = text.replace("\r", "")
    lines = []
    for raw in text.split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    calendars, stack = [], []
    for line in lines:
        parsed = split_line(line)
        if parsed is None:
            continue
        name, params, value = parsed
        value_u = value.strip().upper()
        if name == "BEGIN":
            comp = Comp(value_u)
            if stack:
                stack[-1].children.append(comp)
            elif value_u == "VCALENDAR":
                calendars.append(comp)
            else:
                continue
            stack.append(comp)
        elif name == "END":
            if not stack:
                continue
            if stack[-1].name != value_u:
                for c in stack:
                    c.mismatched = True
            stack.pop()
        elif stack:
            stack[-1].props.append((name, params, value))
    for c in stack:
        c.mismatched = True
    return calendars


DATE = r"\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
DATE_TIME = DATE + r"T([01]\d|2[0-3])[0-5]\d([0-5]\d|60)Z?"
DURATION = r"[+-]?P(\d+W|(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?)"
VALUE_RE = re.compile(r"^(%s|%s)$" % (DATE_TIME, DATE))
PERIOD_RE = re.compile(r"^%s/(%s|%s)$" % (DATE_TIME, DATE_TIME, DURATION))


def valid_time_value(prop, params, value):
    for v in value.split(","):
        v = v.strip()
        if VALUE_RE.match(v):
            continue
        if prop == "RDATE" and PERIOD_RE.match(v):
            continue
        return False
    return True


# --- reading a file -------------------------------------------------------

class Data:
    """What the rules need of one corpus file."""

    def __init__(self):
        self.bare = False         # a bare iCalendar object
        self.parts = []           # (text, method= parameter) per calendar part
        self.recipients = []      # To, then Cc, normalised
        self.sender = None        # Return-Path, else From ("" = null)
        self.identities = set()   # every sender identity of the message
        self.dsn = False
        self.auto_submitted = False


def is_bare_calendar(data):
    text = data.lstrip(b"\xef\xbb\xbf").lstrip()
    return text[:15].upper() == b"BEGIN:VCALENDAR"


# RFC 5322 addr-spec with a dot-atom local part: what a mail reader takes
# from an address header ("foo\\@example.net", a Perl test's escaped @,
# is none).
ADDR_SPEC = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+$")


def header_address(addr):
    a = normalize(addr)
    return a if a and ADDR_SPEC.match(a) else None


def header_addresses(msg, name):
    out = []
    for _, addr in email.utils.getaddresses(msg.get_all(name, [])):
        a = header_address(addr)
        if a and a not in out:
            out.append(a)
    return out


def read_message(raw):
    d = Data()
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    d.dsn = msg.get_content_type() == "multipart/report"
    auto = (msg.get("Auto-Submitted") or "no").split(";")[0].strip().lower()
    d.auto_submitted = auto != "no"
    for a in header_addresses(msg, "To") + header_addresses(msg, "Cc"):
        if a not in d.recipients:
            d.recipients.append(a)
    rp = msg.get("Return-Path")
    frm = header_addresses(msg, "From")
    if rp is not None and rp.strip().startswith("<>"):
        d.sender = ""
    elif rp is not None:
        d.sender = header_address(email.utils.parseaddr(rp)[1])
    else:
        d.sender = frm[0] if frm else None
    for a in ([d.sender] + frm[:1] + header_addresses(msg, "Sender")[:1] +
              header_addresses(msg, "Reply-To")[:1]):
        if a:
            d.identities.add(a)
    seen = set()
    for part in msg.walk():
        if part.get_content_type() not in ("text/calendar", "application/ics"):
            continue
        payload = part.get_payload(decode=True) or b""
        text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        if text in seen:
            continue      # an inline part plus the same .ics counts once
        seen.add(text)
        method = part.get_param("method")
        d.parts.append((text, method.upper() if method else None))
    if not d.parts and re.search(rb"(?i)BEGIN:VCALENDAR", raw):
        # MIME so broken that the calendar is inside another part (RFC
        # 6047's own examples): the library reads such a part again
        d.parts.append((raw.decode("utf-8", "replace"), None))
    return d


def first_calendar(d):
    """The first VCALENDAR holding a component other than VTIMEZONE, its
    METHOD (else the part's method=) and those components."""
    for text, param in d.parts:
        for cal in parse_calendars(text):
            comps = [c for c in cal.children if c.name != "VTIMEZONE"]
            if comps:
                m = cal.get("METHOD")
                return (m[1].strip().upper() if m else param), comps
    return None, []


def organiser_of(comps):
    for c in comps:
        o = c.get("ORGANIZER")
        if o and normalize(o[1]):
            return normalize(o[1])
    return None


def attendees_of(comps, except_=None):
    out = []
    for c in comps:
        for _, v in c.all("ATTENDEE"):
            a = normalize(v)
            if a and a != except_ and a not in out:
                out.append(a)
    return out


def read_bare(raw):
    """A bare object as `imip-admin check` wraps it: From the ORGANIZER
    (organiser's methods, no METHOD) or an ATTENDEE other than the
    ORGANIZER (REPLY, COUNTER, REFRESH); To the others."""
    d = Data()
    d.bare = True
    d.parts.append((raw.decode("utf-8", "replace"), None))
    method, comps = first_calendar(d)
    if not comps:
        return d
    org = organiser_of(comps)
    method = method or "PUBLISH"
    if method in ATTENDEE_METHODS:
        others = attendees_of(comps, org) or attendees_of(comps)
        d.sender = others[0] if others else None
        d.recipients = [org] if org else []
    elif method in ORGANISER_METHODS:
        d.sender = org
        d.recipients = attendees_of(comps, org)
    if d.sender:
        d.identities.add(d.sender)
    return d


def read_file(raw):
    return read_bare(raw) if is_bare_calendar(raw) else read_message(raw)


def manifest_disagreement(d, row):
    """This reader against the MANIFEST row (METHOD, UIDs, ATTENDEE_count,
    computed by another script from the same files): a difference means
    the expectations below would rest on a misreading."""
    methods, uids, attendees = [], [], set()
    for text, _ in d.parts:
        for cal in parse_calendars(text):
            m = cal.get("METHOD")
            if m and m[1].strip().upper() not in methods:
                methods.append(m[1].strip().upper())
            for c in cal.children:
                if c.name == "VTIMEZONE":
                    continue
                u = c.get("UID")
                if u and u[1].strip() not in uids:
                    uids.append(u[1].strip())
                attendees |= {normalize(v) or v.strip().lower()
                              for _, v in c.all("ATTENDEE")}
    mine = ("/".join(methods) or "-", " ".join(uids) or "-",
            str(len(attendees)))
    theirs = (row["METHOD"], row["UIDs"], row["ATTENDEE_count"])
    if mine != theirs:
        return "reads METHOD/UIDs/ATTENDEE_count as %s, MANIFEST.tsv says %s" \
            % (mine, theirs)
    return None


# --- who the message is for ---------------------------------------------------

def derive_user(d):
    """imip-admin(8) check: the calendar user the data implies."""
    method, comps = first_calendar(d)
    first_to = d.recipients[0] if d.recipients else None
    if not comps:
        return first_to
    method = method or "PUBLISH"
    if method not in KNOWN_METHODS:
        return first_to
    org = organiser_of(comps)
    if method in ATTENDEE_METHODS:
        return org or first_to
    atts = attendees_of(comps)
    for r in d.recipients:
        if r in atts:
            return r
    others = attendees_of(comps, org)
    return others[0] if others else first_to


# --- the expected outcome ------------------------------------------------------

class Obj:
    """One scheduling object as the processing groups it: the VEVENTs of
    one UID (master and overrides), or one VFREEBUSY."""

    def __init__(self, kind, uid):
        self.kind, self.uid, self.comps = kind, uid, []

    def first(self):
        for c in self.comps:
            if c.get("RECURRENCE-ID") is None:
                return c
        return self.comps[0]


def objects_of(cal):
    objs, by_uid = [], {}
    for c in cal.children:
        uid = c.get("UID")
        uid = uid[1].strip() if uid else None
        if c.name == "VEVENT":
            if uid not in by_uid:
                by_uid[uid] = Obj("VEVENT", uid)
                objs.append(by_uid[uid])
            by_uid[uid].comps.append(c)
        elif c.name == "VFREEBUSY":
            o = Obj("VFREEBUSY", uid)
            o.comps.append(c)
            objs.append(o)
    return objs


class Expect:
    def __init__(self, outcomes, replies=(), why=""):
        self.outcomes = set(outcomes)
        self.replies = list(replies)     # (recipient, METHOD)
        self.why = why


def data_defects(method, obj):
    """Outcomes a careful implementation may give for damaged data, and
    what the damage is ({} and "" when the data is sound)."""
    if not obj.uid:
        # RFC 5545 3.6.1, 3.6.4: UID is required in VEVENT and VFREEBUSY
        # (RFC 5546's own PUBLISH VFREEBUSY example 4.3.1 lacks it)
        return {"error"}, "no UID"
    bad, why = set(), []
    if any(c.mismatched for c in obj.comps):
        bad |= {"error", "no_action"}
        why.append("mismatched BEGIN/END")
    for c in obj.comps:
        for prop in TIME_PROPERTIES:
            for params, value in c.all(prop):
                if not valid_time_value(prop, params, value):
                    bad |= {"error", "no_action"}
                    why.append("invalid %s %s" % (prop, value.strip()))
        if obj.kind == "VEVENT" and method in NEEDS_DTSTART and \
                c.get("DTSTART") is None:
            bad.add("error")
            why.append("no DTSTART")
    return bad, "; ".join(why)


def sender_refusal(method, obj, d, user):
    """Outcomes when the sender may not send this (RFC 5546 1.4, 2.1.5)."""
    first = obj.first()
    org_p = first.get("ORGANIZER")
    org = normalize(org_p[1]) if org_p else None
    if method in ORGANISER_METHODS:
        if org is None:
            # RFC 5546 requires ORGANIZER; Cyrus adds METHOD-less or
            # PUBLISH data without one (:allowpublic): both are careful
            return ({"rejected", "added"} if method == "PUBLISH"
                    else {"rejected"}), "no ORGANIZER"
        orgs = {normalize(c.get("ORGANIZER")[1]) for c in obj.comps
                if c.get("ORGANIZER")}
        if len(orgs) > 1:
            # an event has one Organizer (RFC 5546 1.4); sabre/dav refuses
            # such an object (SameOrganizerForAllComponentsException)
            return {"rejected"}, "components name different ORGANIZERs"
        sent_by = normalize(org_p[0].get("SENT-BY"))
        if not d.identities & {org, sent_by}:
            return {"rejected"}, "sender is not the ORGANIZER"
        if user == org:
            return {"rejected", "no_action"}, "the recipient is the ORGANIZER"
    elif method == "REPLY" and obj.kind == "VFREEBUSY":
        if not d.identities & set(attendees_of(obj.comps)):
            return {"rejected"}, "sender is not the replying ATTENDEE"
    return set(), ""


def expect_object(method, obj, d, user):
    bad, why = data_defects(method, obj)
    if not obj.uid:
        return Expect(bad, why=why)
    refused, why2 = sender_refusal(method, obj, d, user)
    if bad or refused:
        return Expect(bad | refused, why="; ".join(w for w in (why, why2) if w))
    attendee = user in attendees_of(obj.comps)
    org = normalize((obj.first().get("ORGANIZER") or ({}, None))[1])
    if obj.kind == "VFREEBUSY":
        if method == "REPLY":
            return Expect({"updated"}, why="free/busy reply recorded")
        if method == "PUBLISH":
            return Expect({"updated", "no_action"}, why="published free/busy")
        return Expect({"no_action"}, why="free/busy not shared by default")
    if method == "REQUEST":
        return Expect({"added"} if attendee else {"no_action"},
                      why="invitation" if attendee else "not an attendee")
    if method == "PUBLISH":
        return Expect({"added"}, why="published event")
    if method == "ADD":
        if not attendee:
            return Expect({"no_action"}, why="ADD for a non-attendee")
        if not d.may_send:
            return Expect({"no_action"}, why="ADD in automatic mail")
        # RFC 5546 3.2.4: an ADD for an unknown UID is answered by a REFRESH
        return Expect({"replied"}, [(org, "REFRESH")], why="ADD of unknown event")
    # CANCEL, DECLINECOUNTER of an unknown event; REPLY, COUNTER, REFRESH
    # to an organiser who stores nothing; unknown methods
    return Expect({"no_action"}, why="nothing stored to act on")


def combine(a, b):
    return {x if RANK[x] >= RANK[y] else y for x in a for y in b}


def expect_file(d, user, manifest_notes):
    """The Expect for the whole file (one `imip-admin check` line)."""
    d.may_send = not d.auto_submitted
    if d.dsn or "DSN (multipart/report)" in manifest_notes:
        # a bounce is never processed nor answered (issue 7)
        return Expect({"no_action"}, why="delivery status notification")
    if not d.parts:
        return Expect({"no_action"}, why="no calendar data")
    outcomes, replies, whys, seen_uids = None, [], [], set()
    for text, param in d.parts:
        cals = parse_calendars(text)
        if not cals:
            outcomes = combine(outcomes or {"error"}, {"error"})
            whys.append("unusable calendar data")
            continue
        for cal in cals:
            m = cal.get("METHOD")
            method = m[1].strip().upper() if m else param
            # RFC 9671 3: METHOD-less data is published data
            method = method or "PUBLISH"
            objs = objects_of(cal)
            if not objs:
                outcomes = combine(outcomes or {"no_action"}, {"no_action"})
                whys.append("no VEVENT or VFREEBUSY")
                continue
            for obj in objs:
                if obj.kind == "VEVENT" and obj.uid in seen_uids:
                    continue    # the same event again: already stored
                seen_uids.add(obj.uid)
                e = (expect_object(method, obj, d, user)
                     if method in KNOWN_METHODS else
                     Expect({"no_action"}, why="unknown METHOD"))
                outcomes = e.outcomes if outcomes is None else \
                    combine(outcomes, e.outcomes)
                replies += e.replies
                whys.append(e.why)
    return Expect(outcomes, replies, "; ".join(w for w in whys if w))
