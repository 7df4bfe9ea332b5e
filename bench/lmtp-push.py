#!/usr/bin/env python3
"""Deliver a directory of messages over LMTP, one session, one
transaction per message (as an MTA's LMTP client does), and print the
elapsed seconds.  Only the deliveries are timed, not the connection set-up.

    lmtp-push.py SOCKET|HOST:PORT RCPT DIR

DIR holds NNNN.eml with the envelope sender in NNNN.from.  Every
transaction must be answered 250; anything else is an error (exit 1):
a benchmark that loses mail measures nothing."""

import glob
import os
import smtplib
import sys
import time


def connect(where):
    if where.startswith("/"):
        return smtplib.LMTP(where)
    host, port = where.rsplit(":", 1)
    return smtplib.LMTP(host, int(port))


def main():
    where, rcpt, src = sys.argv[1], sys.argv[2], sys.argv[3]
    names = sorted(glob.glob(os.path.join(src, "*.eml")))
    msgs = []
    for n in names:
        with open(n, "rb") as f:
            data = f.read()
        with open(n[:-4] + ".from") as f:
            sender = f.read().strip()
        msgs.append((sender, data))
    s = connect(where)
    s.ehlo_or_helo_if_needed()
    t0 = time.perf_counter()
    for sender, data in msgs:
        code, msg = s.mail(sender)
        if code != 250:
            sys.exit("MAIL FROM %s: %d %s" % (sender, code, msg))
        code, msg = s.rcpt(rcpt)
        if code != 250:
            sys.exit("RCPT TO %s: %d %s" % (rcpt, code, msg))
        code, msg = s.data(data)
        if code != 250:
            sys.exit("DATA: %d %s" % (code, msg))
    elapsed = time.perf_counter() - t0
    s.quit()
    print("%.6f %d" % (elapsed, len(msgs)))


if __name__ == "__main__":
    main()
