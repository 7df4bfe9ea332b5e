#!/usr/bin/env python3
"""The PostgreSQL store beside the file store (issue 10), measured side by
side in one run: the same stores (bench/mkstore.py, as bench/scale.py
makes them) copied into a private PostgreSQL with `imip-admin
copy-store`, then the same messages to both, alternating:

  5. a person with 100 and 10,000 stored events: one REQUEST (a new
     invitation), one REPLY (a guest answering one of the person's own
     events); a resource holding a daily booking over 10 years: one
     decision.  Each figure is the median; the ratios are PostgreSQL /
     files, and PostgreSQL's own scale (largest / smallest store), which
     the file store's target (<= 3, figure 3) also applies to.
     copy-store's rate (objects per second) into the database.

usage: tests/with-postgresql.sh BUILDDIR bench/postgresql.py BUILDDIR WORKDIR
  BENCH_QUICK=1  stores of 100 and 1,000 events, 3 rounds
WORKDIR holds the file stores (shared with bench/scale.py, which makes
them when missing).  The server is the private one of
tests/with-postgresql.sh (a UNIX socket; the same machine, so a round
trip costs what a local socket costs: a site's database on another host
adds its network latency to every statement)."""

import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale  # noqa: E402

USER, ROOM = scale.USER, scale.ROOM


def createdb(name):
    # "does not exist, skipping" is no news
    quiet = dict(os.environ, PGOPTIONS="-c client_min_messages=warning")
    subprocess.run([os.environ["IMIP_TEST_PG_PSQL"], "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-h", os.environ["IMIP_TEST_PG_HOST"], "-p", os.environ["IMIP_TEST_PG_PORT"],
                    "-U", os.environ["IMIP_TEST_PG_SUPERUSER"], "-d", "postgres",
                    "-c", "DROP DATABASE IF EXISTS %s" % name,
                    "-c", "CREATE DATABASE %s OWNER %s TEMPLATE %s"
                    % (name, os.environ["IMIP_TEST_PG_ROLE"], os.environ["IMIP_TEST_PG_TEMPLATE"])],
                   check=True, env=quiet)
    return ("host=%s port=%s dbname=%s user=%s"
            % (os.environ["IMIP_TEST_PG_HOST"], os.environ["IMIP_TEST_PG_PORT"], name,
               os.environ["IMIP_TEST_PG_ROLE"]))


def pg_copy(build, work, file_dir, file_cfg, name, extra=""):
    """The file store copied into database `name`: (conf, objects, seconds)."""
    d = os.path.join(work, "pg-" + name)
    cfg = scale.conf(d, extra + "store_backend = postgresql\nstore_conninfo = %s\n"
                     % createdb(name))
    t0 = time.perf_counter()
    p = subprocess.run([os.path.join(build, "tools", "imip-admin"), "copy-store",
                        file_cfg, cfg], capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("copy-store %s failed: %s" % (file_dir, p.stderr))
    objects = sum(int(f.split("=")[1]) for line in p.stdout.splitlines()
                  for f in line.split("\t") if f.startswith("objects="))
    return cfg, objects, secs


def main():
    build, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    # stores of its own: scale.py's rounds have already answered some of
    # the events in the stores it leaves in `work`, and a REPLY repeating
    # an answer changes nothing
    work = os.path.join(work, "postgresql")
    quick = bool(os.environ.get("BENCH_QUICK"))
    sizes = [100, 1000] if quick else [100, 10000]
    rounds = 3 if quick else 11
    os.makedirs(work, exist_ok=True)

    files, pgs, copied = {}, {}, []
    for n in sizes:
        d, cfg, _ = scale.make_store(build, work, "person", n)
        files[n] = cfg
        pgs[n], objects, secs = pg_copy(build, work, d, cfg, "person_%d" % n)
        copied.append((objects, secs))
    rdir, rcfg, _ = scale.make_store(build, work, "resource", 10)
    extra = "freebusy_horizon_days = 3660\n"
    rpg, objects, secs = pg_copy(build, work, rdir, rcfg, "resource_10", extra)
    copied.append((objects, secs))

    kinds = ("file", "postgresql")
    req = {(k, n): [] for k in kinds for n in sizes}
    rep = {(k, n): [] for k in kinds for n in sizes}
    res = {k: [] for k in kinds}
    for r in range(rounds):
        for n in sizes:
            # the two stores in alternating order, round after round
            order = kinds if r % 2 == 0 else kinds[::-1]
            for k in order:
                cfg = files[n] if k == "file" else pgs[n]
                uid = "pgbench-new-%d-%d@example.net" % (r, os.getpid())
                data = scale.message("REQUEST", "organiser-1@example.net", USER,
                                     scale.vevent(uid, "20200610T100000Z", "20200610T110000Z",
                                                  "organiser-1@example.net",
                                                  [("organiser-1@example.net", "ACCEPTED"),
                                                   (USER, "NEEDS-ACTION")]))
                t, err = scale.shim(build, cfg, "person", USER, "organiser-1@example.net", data)
                scale.check(err, "added")
                req[k, n].append(t)
                i = (r * 4 * 11 + 8) % n // 4 * 4
                guest = "guest-%d@example.net" % (i % 50)
                part = "ACCEPTED" if r % 2 == 0 else "DECLINED"
                data = scale.message("REPLY", guest, USER,
                                     scale.vevent("bench-%06d@example.net" % i,
                                                  "20100101T000000Z", "20100101T010000Z", USER,
                                                  [(guest, part)],
                                                  stamp="2020061%dT100000Z" % (r % 10)))
                t, err = scale.shim(build, cfg, "person", USER, guest, data)
                scale.check(err, "updated")
                rep[k, n].append(t)
        for k in (kinds if r % 2 == 0 else kinds[::-1]):
            # a request that conflicts with the daily booking: declined
            date = "2%03d0%d1%d" % (20 + r % 5, 1 + r % 9, r % 10)
            uid = "pgroom-%d-%d@example.net" % (r, os.getpid())
            data = scale.message("REQUEST", "booker@example.net", ROOM,
                                 scale.vevent(uid, date + "T090000Z", date + "T093000Z",
                                              "booker@example.net",
                                              [("booker@example.net", "ACCEPTED"),
                                               (ROOM, "NEEDS-ACTION")]))
            t, err = scale.shim(build, rcfg if k == "file" else rpg, "resource", ROOM,
                                "booker@example.net", data)
            scale.check(err, "replied")
            res[k].append(t)

    med = lambda xs: statistics.median(xs) * 1000
    small, large = sizes[0], sizes[-1]
    for n in sizes:
        print("5. postgresql: person with %d events: REQUEST %.1f ms (files %.1f ms, ratio %.2f), "
              "REPLY %.1f ms (files %.1f ms, ratio %.2f) (median of %d)"
              % (n, med(req["postgresql", n]), med(req["file", n]),
                 med(req["postgresql", n]) / med(req["file", n]),
                 med(rep["postgresql", n]), med(rep["file", n]),
                 med(rep["postgresql", n]) / med(rep["file", n]), rounds))
    print("5. postgresql: scale, REQUEST at %d events / at %d events: %.2f; REPLY: %.2f "
          "(the file store's target <= 3)"
          % (large, small, med(req["postgresql", large]) / med(req["postgresql", small]),
             med(rep["postgresql", large]) / med(rep["postgresql", small])))
    print("5. postgresql: resource decision against a daily booking over 10 years: "
          "%.1f ms (files %.1f ms, ratio %.2f; target < 50 ms)"
          % (med(res["postgresql"]), med(res["file"]),
             med(res["postgresql"]) / med(res["file"])))
    objects = sum(o for o, _ in copied)
    secs = sum(s for _, s in copied)
    print("5. postgresql: copy-store file -> postgresql: %d objects in %.1f s (%.0f objects/s)"
          % (objects, secs, objects / secs if secs > 0 else 0))


if __name__ == "__main__":
    main()
