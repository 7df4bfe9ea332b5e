"""Messages for the limit-* scenarios: each function prints a message that
is N units of one limit key big (tests/scenarios/README.md), so that one
generator serves the scenario just within the limit and the one just over
it."""

from genmsg import EVENT_HEAD, HEAD, out, vevent

CAL = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n\n"


def limit_message_size(N):
    def build(pad):
        return (HEAD % ("Size", "size") + 'Content-Type: multipart/mixed; boundary="pad"\n\n'
                + "--pad\n" + CAL + EVENT_HEAD + vevent("size1@example.com") + "END:VCALENDAR\n"
                + "--pad\nContent-Type: text/plain\n\n" + "x" * pad + "\n--pad--\n")

    # padded so that the whole message is exactly N bytes
    out(build(N - len(build(0).encode())))


def limit_mime_parts(N):
    # N body parts: N - 1 text parts and the calendar part
    body = 'Content-Type: multipart/mixed; boundary="many"\n\n'
    for i in range(N - 1):
        body += "--many\nContent-Type: text/plain\n\nPart %d\n" % i
    body += "--many\n" + CAL + EVENT_HEAD + vevent("parts1@example.com") + "END:VCALENDAR\n--many--\n"
    out(HEAD % ("Parts", "parts") + body)


def limit_mime_depth(N):
    # the calendar part inside N nested multipart/mixed
    body = CAL + EVENT_HEAD + vevent("deep1@example.com") + "END:VCALENDAR\n"
    for i in range(N):
        b = "deep%d" % i
        body = 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\n%s\n--%s--\n' % (b, b, body, b)
    out(HEAD % ("Deep", "deep") + body)


def limit_calendar_size(N):
    def build(pad):
        return EVENT_HEAD + vevent("calsize1@example.com", extra="X-PAD:%s\n" % ("x" * pad)) + "END:VCALENDAR\n"

    # the calendar part (the whole body) is exactly N bytes
    out(HEAD % ("Calsize", "calsize") + CAL + build(N - len(build(0).encode())))


def limit_components(N):
    # N components of one UID: the master (daily, 10 instances) and N - 1 overrides
    text = EVENT_HEAD + vevent("comp1@example.com", extra="RRULE:FREQ=DAILY;COUNT=10\n")
    for i in range(1, N):
        day = 26 + i
        text += vevent("comp1@example.com", extra="RECURRENCE-ID:201411%02dT150000Z\n" % day).replace(
            "DTSTART:20141126T150000Z\nDTEND:20141126T160000Z",
            "DTSTART:201411%02dT160000Z\nDTEND:201411%02dT170000Z" % (day, day))
    out(HEAD % ("Components", "components") + CAL + text + "END:VCALENDAR\n")


def limit_attendees(N):
    # N attendees in the one VEVENT
    atts = ["vincent.vole@example.com"] + ["person%d@example.org" % i for i in range(N - 1)]
    out(HEAD % ("Attendees", "attendees") + CAL + EVENT_HEAD
        + vevent("att1@example.com", attendees=atts) + "END:VCALENDAR\n")


def limit_instances(N):
    # a daily event with COUNT=N
    out(HEAD % ("Instances", "instances") + CAL + EVENT_HEAD
        + vevent("inst1@example.com", extra="RRULE:FREQ=DAILY;COUNT=%d\n" % N) + "END:VCALENDAR\n")


GENERATORS = {
    "message-size": limit_message_size,
    "mime-parts": limit_mime_parts,
    "mime-depth": limit_mime_depth,
    "calendar-size": limit_calendar_size,
    "components": limit_components,
    "attendees": limit_attendees,
    "instances": limit_instances,
}


def limit_message(key, n):
    """Print the message for limit key `key` (e.g. "mime-parts") at size n."""
    GENERATORS[key](n)
