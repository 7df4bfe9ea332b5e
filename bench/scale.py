#!/usr/bin/env python3
"""Scale and memory of the message path (imip-shim, the same library the
Dovecot plugin and the Cyrus hook call):

  3. a person with 100, 10,000 and 100,000 stored events: the cost of one
     REQUEST (a new invitation), one REPLY (a guest answering one of the
     person's own events); a resource holding a daily booking over 10
     years: the cost of one decision (a request that conflicts, declined,
     and one that fits, accepted).  Sizes are measured in alternating
     order, round after round, and each figure is the median; the ratio
     compares the largest store with the smallest (target <= 3) and the
     resource decision is reported in ms (target < 50).
  4. peak RSS of imip-shim for those messages (per store size) and for
     the largest corpus message.

usage: bench/scale.py BUILDDIR WORKDIR
  BENCH_QUICK=1  stores of 100 and 1,000 events, 3 rounds
WORKDIR keeps the stores (bench/dovecot.sh reads them for its memory
figures); an existing store of the right size is reused.

Each timed run is one imip-shim process, as an MTA would start it, so
process start-up (~2 ms) is part of every figure; the ratios therefore
understate nothing.  The shim runs with --deliver none (hand-back is
the MTA's cost, not ours)."""

import glob
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = "vincent.vole@example.com"
ROOM = "room@example.com"
NOW = "20200601T120000Z"


def conf(path, extra=""):
    os.makedirs(path, exist_ok=True)
    # a sendmail that takes the reply (the agent checks that it read it all)
    sendmail = os.path.join(path, "sendmail")
    with open(sendmail, "w") as f:
        f.write("#!/bin/sh\ncat > /dev/null\n")
    os.chmod(sendmail, 0o755)
    for d in ("store", "preferences", "journal", "static"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    with open(os.path.join(path, "imip.conf"), "w") as f:
        f.write("store_dir = %s/store\npreferences_dir = %s/preferences\n"
                "journal_dir = %s/journal\nstatic_dir = %s/static\n"
                "calendar_sender = calendar@example.com\nlocal_domains = example.com\n"
                "default_tzid = UTC\nlog_target = stderr\nsendmail_path = %s\n%s"
                % (path, path, path, path, sendmail, extra))
    return os.path.join(path, "imip.conf")


def env():
    e = dict(os.environ)
    e["IMIP_NOW"] = NOW
    return e


def admin(build, cfg, *args):
    subprocess.run([os.path.join(build, "tools", "imip-admin"), "-c", cfg] + list(args),
                   check=True, env=env(), stdout=subprocess.DEVNULL)


def make_store(build, work, kind, size):
    d = os.path.join(work, "%s-%d" % (kind, size))
    extra = "freebusy_horizon_days = 3660\n" if kind == "resource" else ""
    cfg = conf(d, extra)
    ready = os.path.join(d, "ready")
    if os.path.exists(ready):
        return d, cfg, None
    shutil.rmtree(os.path.join(d, "store"))
    os.makedirs(os.path.join(d, "store"))
    who = USER if kind == "person" else ROOM
    subprocess.run([sys.executable, os.path.join(SRC, "bench", "mkstore.py"), kind,
                    os.path.join(d, "store"), who, str(size)], check=True)
    t0 = time.perf_counter()
    admin(build, cfg, "rebuild", who)
    rebuild = time.perf_counter() - t0
    open(ready, "w").close()
    return d, cfg, rebuild


def message(method, sender, to, vevent):
    return ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\nMIME-Version: 1.0\n"
            "Content-Type: text/calendar; charset=utf-8; method=%s\n\n"
            "BEGIN:VCALENDAR\r\nPRODID:-//imip-agent/bench//EN\r\nVERSION:2.0\r\n"
            "METHOD:%s\r\n%sEND:VCALENDAR\r\n"
            % (sender, to, method, vevent.split("UID:", 1)[1].split("\r", 1)[0] + "." + method,
               method, method, vevent)).encode()


def vevent(uid, start, end, org, attendees, seq=0, stamp="20200601T100000Z"):
    att = "".join("ATTENDEE;PARTSTAT=%s:mailto:%s\r\n" % (p, a) for a, p in attendees)
    return ("BEGIN:VEVENT\r\nUID:%s\r\nSEQUENCE:%d\r\nDTSTAMP:%s\r\nDTSTART:%s\r\n"
            "DTEND:%s\r\nSUMMARY:bench\r\nORGANIZER:mailto:%s\r\n%sEND:VEVENT\r\n"
            % (uid, seq, stamp, start, end, org, att))


def shim(build, cfg, role, recipient, sender, data):
    """One imip-shim run: (seconds, stderr)."""
    argv = [os.path.join(build, "mta-shim", "imip-shim"), "-c", cfg, "--role", role,
            "--recipient", recipient, "--sender", sender]
    if role != "outgoing":
        argv += ["--deliver", "none"]
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env())
    _, err = p.communicate(data)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("imip-shim failed (%d): %s" % (p.returncode, err.decode()))
    return elapsed, err.decode()


def peak_rss(build, cfg, role, recipient, sender, data):
    """Peak RSS (KB) of one imip-shim run, from wait4()'s rusage."""
    argv = [os.path.join(build, "mta-shim", "imip-shim"), "-c", cfg, "--role", role,
            "--recipient", recipient, "--sender", sender, "--deliver", "none"]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(r, 0)
        os.close(w)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execve(argv[0], argv, env())
    os.close(r)
    os.write(w, data) if len(data) < 65536 else _write_all(w, data)
    os.close(w)
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        sys.exit("imip-shim failed (status %d) measuring memory" % status)
    return usage.ru_maxrss


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def check(err, want):
    if ("outcome=" + want) not in err:
        sys.exit("unexpected outcome (wanted %s): %s" % (want, err.strip()))


def main():
    build, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    quick = bool(os.environ.get("BENCH_QUICK"))
    sizes = [100, 1000] if quick else [100, 10000, 100000]
    rounds = 3 if quick else 11
    os.makedirs(work, exist_ok=True)

    stores = {}
    for n in sizes:
        d, cfg, rebuild = make_store(build, work, "person", n)
        stores[n] = cfg
        if rebuild is not None:
            print("  store of %d events written; imip-admin rebuild took %.2f s" % (n, rebuild))
    rdir, rcfg, rebuild = make_store(build, work, "resource", 10)
    if rebuild is not None:
        print("  resource with a daily booking over 10 years; rebuild took %.2f s" % rebuild)

    req, rep, res_no, res_yes = {n: [] for n in sizes}, {n: [] for n in sizes}, [], []
    rss_req = {}
    for r in range(rounds):
        for n in sizes:
            uid = "bench-new-%d-%d@example.net" % (r, os.getpid())
            data = message("REQUEST", "organiser-1@example.net", USER,
                           vevent(uid, "20200610T100000Z", "20200610T110000Z",
                                  "organiser-1@example.net",
                                  [("organiser-1@example.net", "ACCEPTED"),
                                   (USER, "NEEDS-ACTION")]))
            t, err = shim(build, stores[n], "person", USER, "organiser-1@example.net", data)
            check(err, "added")
            req[n].append(t)
            if r == 0:
                data2 = data.replace(b"bench-new-", b"bench-rss-")
                rss_req[n] = peak_rss(build, stores[n], "person", USER,
                                      "organiser-1@example.net", data2)
            # a guest answers one of the person's own events (every fourth
            # stored event is his, guest-(i % 50) invited)
            i = (r * 4 * 7 + 4) % n // 4 * 4
            guest = "guest-%d@example.net" % (i % 50)
            ev = "bench-%06d@example.net" % i
            part = "ACCEPTED" if r % 2 == 0 else "DECLINED"
            data = message("REPLY", guest, USER,
                           vevent(ev, "20100101T000000Z", "20100101T010000Z", USER,
                                  [(guest, part)], stamp="2020060%dT100000Z" % (1 + r % 9)))
            t, err = shim(build, stores[n], "person", USER, guest, data)
            check(err, "updated")
            rep[n].append(t)
        # the resource: 09:00-10:00 is booked every day for 10 years
        day = "2%03d" % (20 + r % 5)
        for start, want, into in (("T090000Z", "replied", res_no), ("T140000Z", "replied", res_yes)):
            uid = "room-%s-%d-%d@example.net" % (start, r, os.getpid())
            date = "%s0%d1%d" % (day, 1 + r % 9, r % 10)
            data = message("REQUEST", "booker@example.net", ROOM,
                           vevent(uid, date + start, date + start.replace("0000Z", "3000Z"),
                                  "booker@example.net",
                                  [("booker@example.net", "ACCEPTED"), (ROOM, "NEEDS-ACTION")]))
            t, err = shim(build, rcfg, "resource", ROOM, "booker@example.net", data)
            check(err, want)
            into.append((t, err))

    med = lambda xs: statistics.median(xs) * 1000
    small, large = sizes[0], sizes[-1]
    for n in sizes:
        print("  person with %d events: REQUEST %.1f ms, REPLY %.1f ms (median of %d)"
              % (n, med(req[n]), med(rep[n]), rounds))
    print("3. scale: REQUEST at %d events / at %d events: %.2f; REPLY: %.2f (target <= 3)"
          % (large, small, med(req[large]) / med(req[small]),
             med(rep[large]) / med(rep[small])))
    print("3. scale: resource decision against a daily booking over 10 years: "
          "conflicting request %.1f ms, free slot %.1f ms (median of %d; target < 50 ms)"
          % (med([t for t, _ in res_no]), med([t for t, _ in res_yes]), rounds))
    for n in sizes:
        print("4. memory, imip-shim, REQUEST into a store of %d events: peak RSS %d KB"
              % (n, rss_req[n]))
    corpus = [p for p in glob.glob(os.path.join(SRC, "tests", "corpus", "data", "**", "*"),
                                   recursive=True)
              if os.path.isfile(p) and p.endswith((".eml", ".mime", ".msg"))]
    largest = max(corpus, key=os.path.getsize)
    with open(largest, "rb") as f:
        data = f.read()
    cfg = conf(os.path.join(work, "empty"))
    rss = peak_rss(build, cfg, "person", USER, "paul.boddie@example.com", data)
    print("4. memory, imip-shim, largest corpus message %s (%d KB): peak RSS %d KB"
          % (os.path.basename(largest), len(data) // 1024, rss))


if __name__ == "__main__":
    main()
