#!/usr/bin/env python3
"""Deliver the same messages over LMTP to several servers side by side:
batch 1 to every server in turn, then batch 2, and so on, so that the
machine's drift (other load, the disk's moods) falls on every server
alike.  One LMTP session per server, one transaction per message, as an
MTA's LMTP client does.

    lmtp-push.py RCPT DIR BATCH TARGET...

TARGET is SOCKET or HOST:PORT, optionally followed by ",PID" of that
Dovecot's master process: then the CPU time (user + system, including
the programs it waited for, such as a Sieve pipe script) its LMTP worker
spent is measured as well.  DIR holds NNNN.eml with the envelope sender
in NNNN.from.  Prints one line per target, in order:

    SECONDS MESSAGES CPU_SECONDS     (CPU -1 when no PID was given)

Only the transactions are timed, not connecting.  Every transaction must
be answered 250; anything else is an error (exit 1): a benchmark that
loses mail measures nothing."""

import glob
import os
import smtplib
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def connect(where):
    if where.startswith("/"):
        return smtplib.LMTP(where)
    host, port = where.rsplit(":", 1)
    return smtplib.LMTP(host, int(port))


def lmtp_workers(master):
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(master)],
                         capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines()
            if line.split()[1:] == ["lmtp"]]


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime stime cutime cstime (proc(5) fields 14-17)
        total += sum(int(x) for x in fields[11:15])
    return total / TICK


class Target:
    def __init__(self, spec):
        where, _, pid = spec.partition(",")
        self.session = connect(where)
        self.session.ehlo_or_helo_if_needed()
        self.master = int(pid) if pid else None
        self.seconds = 0.0
        self.sent = 0
        self.workers = []
        self.cpu_start = 0.0

    def start_cpu(self):
        if self.master is not None:
            self.workers = lmtp_workers(self.master)
            self.cpu_start = cpu_seconds(self.workers)

    def cpu(self):
        if self.master is None:
            return -1.0
        return cpu_seconds(self.workers) - self.cpu_start

    def deliver(self, rcpt, batch):
        t0 = time.perf_counter()
        for sender, data in batch:
            for what, (code, msg) in (("MAIL FROM", self.session.mail(sender)),
                                      ("RCPT TO", self.session.rcpt(rcpt)),
                                      ("DATA", self.session.data(data))):
                if code != 250:
                    sys.exit("%s: %d %s" % (what, code, msg))
        self.seconds += time.perf_counter() - t0
        self.sent += len(batch)


def main():
    rcpt, src, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    msgs = []
    for name in sorted(glob.glob(os.path.join(src, "*.eml"))):
        with open(name, "rb") as f:
            data = f.read()
        with open(name[:-4] + ".from") as f:
            msgs.append((f.read().strip(), data))
    targets = [Target(spec) for spec in sys.argv[4:]]
    # the LMTP worker exists once the session is up (client_limit 1)
    for t in targets:
        t.start_cpu()
    for i in range(0, len(msgs), size):
        for t in targets:
            t.deliver(rcpt, msgs[i:i + size])
    for t in targets:
        print("%.6f %d %.3f" % (t.seconds, t.sent, t.cpu()))
        t.session.quit()


if __name__ == "__main__":
    main()
