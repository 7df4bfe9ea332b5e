#!/usr/bin/env python3
"""Messages for the Dovecot benchmarks, deterministic (fixed seed).

    mkmail.py ordinary DIR COUNT
        COUNT non-calendar messages of realistic sizes: 2-50 KB, sizes
        log-uniform (most mail is small), a mix of plain text,
        multipart/alternative (text + HTML) and multipart/mixed with a
        base64 attachment.
    mkmail.py calendar DIR COUNT USER
        DIR/outgoing/NNNN.eml: COUNT invitations USER sends (fed to
            imip-shim --role outgoing first, so replies find his events);
        DIR/in/NNNN.eml: the mail USER receives, in order: COUNT
            invitations from organisers, COUNT replies from his guests to
            his own events, COUNT cancellations of the invitations.
        Each file's envelope sender is on the first line of NNNN.from.
"""

import base64
import os
import random
import sys

WORDS = ("the meeting agenda project budget report quarterly review team "
         "please find attached draft comments deadline schedule next week "
         "thanks regards update status customer delivery plan").split()


def text(rng, size):
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14)))
        out.append(line)
        n += len(line) + 1
    return "\n".join(out) + "\n"


def headers(i, subject, ctype):
    return ("From: Sender %d <sender-%d@example.net>\n"
            "To: Vincent Vole <vincent.vole@example.com>\n"
            "Subject: %s %d\nDate: Thu, 20 Nov 2014 11:%02d:00 +0000\n"
            "Message-ID: <bench-%d@example.net>\nMIME-Version: 1.0\n"
            "Content-Type: %s\n\n" % (i % 40, i % 40, subject, i, i % 60, i, ctype))


def ordinary(rng, i):
    size = int(2048 * (25 ** rng.random()))      # 2 KB .. 50 KB
    kind = i % 3
    if kind == 0:
        return headers(i, "Notes", "text/plain; charset=us-ascii") + text(rng, size)
    b = "=_bench_%d" % i
    if kind == 1:
        half = text(rng, size // 3)
        html = "<html><body><p>" + text(rng, size // 2).replace("\n", "</p>\n<p>") + "</p></body></html>\n"
        return (headers(i, "Newsletter", 'multipart/alternative; boundary="%s"' % b)
                + "--%s\nContent-Type: text/plain; charset=us-ascii\n\n%s"
                  "--%s\nContent-Type: text/html; charset=us-ascii\n\n%s--%s--\n"
                % (b, half, b, html, b))
    blob = base64.encodebytes(rng.randbytes(max(size - 1500, 256) * 3 // 4)).decode()
    return (headers(i, "Report", 'multipart/mixed; boundary="%s"' % b)
            + "--%s\nContent-Type: text/plain; charset=us-ascii\n\n%s"
              "--%s\nContent-Type: application/pdf; name=\"report-%d.pdf\"\n"
              "Content-Transfer-Encoding: base64\n"
              "Content-Disposition: attachment; filename=\"report-%d.pdf\"\n\n%s--%s--\n"
            % (b, text(rng, 600), b, i, i, blob, b))


def calendar_message(method, sender, to, subject, vevent):
    uid = vevent.split("UID:", 1)[1].split("\r", 1)[0]
    return ("From: %s\nTo: %s\nSubject: %s\nDate: Thu, 20 Nov 2014 11:00:00 +0000\n"
            "Message-ID: <%s.%s>\nMIME-Version: 1.0\n"
            "Content-Type: multipart/alternative; boundary=\"=_cal\"\n\n"
            "--=_cal\nContent-Type: text/plain; charset=us-ascii\n\n%s\n"
            "--=_cal\nContent-Type: text/calendar; charset=utf-8; method=%s\n\n"
            "BEGIN:VCALENDAR\r\nPRODID:-//imip-agent/bench//EN\r\nVERSION:2.0\r\n"
            "METHOD:%s\r\n%sEND:VCALENDAR\r\n--=_cal--\n"
            % (sender, to, subject, method.lower(), uid, subject,
               method, method, vevent))


def vevent(uid, seq, day, hour, org, attendees, status=""):
    att = "".join("ATTENDEE;PARTSTAT=%s:mailto:%s\r\n" % (p, a) for a, p in attendees)
    return ("BEGIN:VEVENT\r\nUID:%s\r\nSEQUENCE:%d\r\nDTSTAMP:20141120T10%02d00Z\r\n"
            "DTSTART:201412%02dT%02d0000Z\r\nDTEND:201412%02dT%02d3000Z\r\n"
            "SUMMARY:Meeting %s\r\nORGANIZER:mailto:%s\r\n%s%sEND:VEVENT\r\n"
            % (uid, seq, seq, day, hour, day, hour, uid.split("@")[0], org, att,
               "STATUS:%s\r\n" % status if status else ""))


def calendar(out, n, user):
    os.makedirs(out + "/outgoing", exist_ok=True)
    os.makedirs(out + "/in", exist_ok=True)
    msgs = []
    for i in range(n):
        guest = "guest-%d@example.net" % i
        uid = "own-%d@example.com" % i
        ev = vevent(uid, 0, 1 + i % 28, 8 + i % 10, user,
                    [(user, "ACCEPTED"), (guest, "NEEDS-ACTION")])
        write(out + "/outgoing/%04d" % i, user,
              calendar_message("REQUEST", user, guest, "Invitation", ev))
    for i in range(n):
        org = "organiser-%d@example.net" % (i % 20)
        ev = vevent("inv-%d@example.net" % i, 0, 1 + i % 28, 8 + i % 10, org,
                    [(org, "ACCEPTED"), (user, "NEEDS-ACTION")])
        msgs.append((org, calendar_message("REQUEST", org, user, "Invitation", ev)))
    for i in range(n):
        guest = "guest-%d@example.net" % i
        ev = vevent("own-%d@example.com" % i, 0, 1 + i % 28, 8 + i % 10, user,
                    [(guest, "ACCEPTED")])
        msgs.append((guest, calendar_message("REPLY", guest, user, "Accepted", ev)))
    for i in range(n):
        org = "organiser-%d@example.net" % (i % 20)
        ev = vevent("inv-%d@example.net" % i, 1, 1 + i % 28, 8 + i % 10, org,
                    [(user, "NEEDS-ACTION")], "CANCELLED")
        msgs.append((org, calendar_message("CANCEL", org, user, "Cancelled", ev)))
    for k, (sender, text_) in enumerate(msgs):
        write(out + "/in/%04d" % k, sender, text_)


def write(base, sender, text_):
    with open(base + ".eml", "w", newline="") as f:
        f.write(text_)
    with open(base + ".from", "w") as f:
        f.write(sender + "\n")


def main():
    kind, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    if kind == "ordinary":
        rng = random.Random(20141120)
        for i in range(n):
            write(out + "/%04d" % i, "sender-%d@example.net" % (i % 40), ordinary(rng, i))
    elif kind == "calendar":
        calendar(out, n, sys.argv[4])
    else:
        sys.exit("unknown kind " + kind)


if __name__ == "__main__":
    main()
