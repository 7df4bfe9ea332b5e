#!/usr/bin/env python3
"""Command-line contract of imip-shim and imip-admin: exit statuses an MTA
and an administrator rely on (imip-shim(8), imip-admin(8)), and replies
handed to sendmail_path outside --dry-run.

Usage: tests/cli/run.py --build BUILDDIR
Prints "ok NAME" / "not ok NAME: why" per case and "N passed, N failed"."""

import argparse
import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
INVITE = os.path.join(TOP, "samples", "01-invitation.eml")
UPDATE = os.path.join(TOP, "samples", "02-update.eml")
REPLY = os.path.join(TOP, "samples", "03-reply.eml")
ADD = os.path.join(TOP, "tests", "scenarios", "add-refresh-default", "add.eml")
NOW = "20141120T120000Z"
# What MTAs put in a pipe command's environment (imip-shim(8) ENVIRONMENT):
# never inherited from the caller, only set by the cases that test it.
MTA_ENV = ("SENDER", "RECIPIENT", "LOCAL_PART", "DOMAIN")


class Case:
    def __init__(self, build, tmp):
        self.shim = os.path.join(build, "mta-shim", "imip-shim")
        self.admin = os.path.join(build, "tools", "imip-admin")
        self.tmp = tmp
        self.conf = os.path.join(tmp, "imip.conf")
        self.calls = os.path.join(tmp, "sendmail-calls")
        sendmail = os.path.join(tmp, "sendmail")
        with open(sendmail, "w") as f:
            # records argv and the message, as a real sendmail would take it
            f.write('#!/bin/sh\n{ echo "ARGV $*"; cat; echo "END"; } >> "%s"\n'
                    % self.calls)
        os.chmod(sendmail, 0o755)
        self.sendmail = sendmail
        self.write_conf(self.conf, tmp)

    def write_conf(self, path, root):
        with open(path, "w") as f:
            for d in ("store", "preferences", "journal", "static"):
                f.write("%s_dir = %s/%s\n" % (d, root, d))
            f.write("calendar_sender = calendar@example.com\n"
                    "local_domains = example.com\ndefault_tzid = UTC\n"
                    "log_target = stderr\nsendmail_path = %s\n"
                    % self.sendmail)

    def fresh_conf(self, name):
        """A configuration with a store of its own, for cases that must
        not see what earlier cases stored."""
        root = os.path.join(self.tmp, name)
        os.mkdir(root)
        path = os.path.join(root, "imip.conf")
        self.write_conf(path, root)
        return path

    def run(self, args, stdin=None, extra_env=None):
        env = {k: v for k, v in os.environ.items() if k not in MTA_ENV}
        env["IMIP_NOW"] = NOW
        env.update(extra_env or {})
        data = open(stdin, "rb").read() if stdin else b""
        r = subprocess.run(args, input=data, env=env, capture_output=True,
                           timeout=60)
        return r.returncode, r.stdout.decode("utf-8", "replace"), \
            r.stderr.decode("utf-8", "replace")


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cases(c):
    """Each yields (name, expected status, args, stdin, extra check) and
    optionally the environment variables to set."""
    person = [c.shim, "-c", c.conf, "--role", "person",
              "--recipient", "vincent.vole@example.com",
              "--sender", "paul.boddie@example.com"]
    yield ("shim without --role is a usage error", 64,
           [c.shim, "-c", c.conf], None, None)
    yield ("shim with an unknown role is a usage error", 64,
           [c.shim, "-c", c.conf, "--role", "boss", "--recipient", "a@b.example"],
           None, None)
    yield ("shim person role without --recipient is a usage error", 64,
           [c.shim, "-c", c.conf, "--role", "person"], None, None)
    yield ("shim with a malformed --deliver target is a usage error", 64,
           person + ["--deliver", "carrier-pigeon:x"], INVITE, None)
    yield ("shim with --invites-only and --updates-only is a usage error", 64,
           person + ["--invites-only", "--updates-only"], INVITE,
           lambda out, err: "exclude each other" in err)
    yield ("shim --organizer that is not an address is a usage error", 64,
           person + ["--organizer", "not an address"], INVITE,
           lambda out, err: "--organizer: not an address" in err)
    yield ("shim --address that is not an address is a usage error", 64,
           person + ["--address", ""], INVITE,
           lambda out, err: "--address: not an address" in err)
    bad = os.path.join(c.tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("store_dri = /tmp/typo\n")
    # without a hand-back target there is nothing to deliver: defer (75),
    # never a bounce (tests/faults/faults.sh: with one, delivered unprocessed)
    yield ("shim with an unknown imip.conf key defers (75) and names the key", 75,
           [c.shim, "-c", bad, "--role", "person", "--recipient", "a@b.example"],
           INVITE, lambda out, err: "store_dri" in err)
    yield ("shim with a missing imip.conf defers (75)", 75,
           [c.shim, "-c", os.path.join(c.tmp, "none.conf"), "--role", "person",
            "--recipient", "a@b.example"], INVITE, None)
    yield ("shim --help exits 0", 0, [c.shim, "--help"], None,
           lambda out, err: "--role" in out)
    yield ("shim --version exits 0", 0, [c.shim, "--version"], None,
           lambda out, err: "imip-shim" in out)
    yield ("hand-back to a closed LMTP port is a temporary failure (75)", 75,
           person + ["--deliver", "lmtp:127.0.0.1:%d" % closed_port()],
           INVITE, lambda out, err: "outcome=added" in err)
    yield ("hand-back to an unwritable mbox is a temporary failure (75)", 75,
           person + ["--deliver", "mbox:%s/no-such-dir/mbox" % c.tmp],
           INVITE, None)
    mbox = os.path.join(c.tmp, "mbox")
    yield ("a calendar error still delivers and exits 0", 0,
           person + ["--deliver", "mbox:" + mbox],
           os.path.join(TOP, "tests", "scenarios", "malformed-no-vcalendar",
                        "broken.eml"),
           lambda out, err: "outcome=error" in err and os.path.getsize(mbox) > 0)
    yield ("a reply goes to sendmail_path as sendmail -i -f FROM -- RCPT", 0,
           person + ["--deliver", "none"], ADD,
           lambda out, err: sendmail_called(c))
    yield from environment_cases(c)
    yield from check_cases(c)
    yield from fsync_cases(c)
    yield ("admin without a command is a usage error", 64, [c.admin], None, None)
    yield ("admin with an unknown command is a usage error", 64,
           [c.admin, "-c", c.conf, "frobnicate"], None, None)
    yield ("admin events for a user without a store exits 1", 1,
           [c.admin, "-c", c.conf, "events", "nobody@example.com"], None, None)
    yield ("admin show of an unknown UID exits 1", 1,
           [c.admin, "-c", c.conf, "show", "vincent.vole@example.com", "nope"],
           None, None)
    yield ("admin with a bad imip.conf is a configuration error", 78,
           [c.admin, "-c", bad, "events", "vincent.vole@example.com"], None, None)
    yield ("admin pref rejects an invalid value", 64,
           [c.admin, "-c", c.conf, "pref", "vincent.vole@example.com",
            "incoming", "everything"], None, None)
    yield ("admin pref rejects an unknown preference", 64,
           [c.admin, "-c", c.conf, "pref", "vincent.vole@example.com",
            "colour", "blue"], None, None)


def environment_cases(c):
    """The envelope from the environment of Exim's pipe transport
    (SENDER, RECIPIENT, LOCAL_PART, DOMAIN; mta.md 5.3).  Each case has a
    store of its own, so the invitation is new every time."""
    def shim(conf, role="person", *args):
        return [c.shim, "-c", conf, "--role", role] + list(args)

    def mbox_of(conf):
        return os.path.join(os.path.dirname(conf), "mbox")

    def from_line(conf):
        path = mbox_of(conf)
        if not os.path.exists(path):
            return None
        return open(path, "rb").readline().decode("utf-8", "replace")

    conf = c.fresh_conf("env-exim")
    yield ("shim takes SENDER and RECIPIENT from the environment (Exim)", 0,
           shim(conf, "person", "--deliver", "mbox:" + mbox_of(conf)), INVITE,
           lambda out, err, conf=conf:
               "recipient=vincent.vole@example.com method=REQUEST" in err
               and "outcome=added" in err
               and from_line(conf).startswith("From paul.boddie@example.com "),
           {"SENDER": "paul.boddie@example.com",
            "RECIPIENT": "vincent.vole@example.com",
            "LOCAL_PART": "vincent.vole", "DOMAIN": "example.com"})
    conf = c.fresh_conf("env-local-part")
    yield ("shim builds the recipient from LOCAL_PART and DOMAIN", 0,
           shim(conf, "person", "--deliver", "mbox:" + mbox_of(conf)), INVITE,
           lambda out, err: "recipient=harvey.horse@example.com" in err
               and "outcome=added" in err,
           {"SENDER": "paul.boddie@example.com",
            "LOCAL_PART": "harvey.horse", "DOMAIN": "example.com"})
    conf = c.fresh_conf("env-arguments-win")
    yield ("--recipient and --sender win over the environment", 0,
           shim(conf, "person", "--recipient", "vincent.vole@example.com",
                "--sender", "paul.boddie@example.com",
                "--deliver", "mbox:" + mbox_of(conf)), INVITE,
           lambda out, err, conf=conf:
               "recipient=vincent.vole@example.com" in err
               and "harvey.horse" not in err and "outcome=added" in err
               and from_line(conf).startswith("From paul.boddie@example.com "),
           {"SENDER": "mallory@evil.example",
            "RECIPIENT": "harvey.horse@example.com"})
    for name, value in (("empty", ""), ("<>", "<>")):
        conf = c.fresh_conf("env-null-sender-%s" % ("empty" if value == "" else "angle"))
        yield ("an %s SENDER is the null sender" % name, 0,
               shim(conf, "person", "--deliver", "mbox:" + mbox_of(conf)),
               INVITE,
               lambda out, err, conf=conf:
                   "recipient=vincent.vole@example.com" in err
                   and from_line(conf).startswith("From MAILER-DAEMON "),
               {"SENDER": value, "RECIPIENT": "vincent.vole@example.com"})
    conf = c.fresh_conf("env-resource")
    yield ("resource role takes its recipient from RECIPIENT", 0,
           shim(conf, "resource", "--dry-run"), INVITE,
           lambda out, err: "role=resource recipient=harvey.horse@example.com"
               in err,
           {"SENDER": "paul.boddie@example.com",
            "RECIPIENT": "harvey.horse@example.com"})
    conf = c.fresh_conf("env-outgoing")
    # SENDER, not the From header (paul), names the user recorded for
    yield ("outgoing role records for SENDER", 0, shim(conf, "outgoing"),
           INVITE,
           lambda out, err: "role=outgoing recipient=harvey.horse@example.com"
               in err,
           {"SENDER": "harvey.horse@example.com",
            "RECIPIENT": "outgoing@outgoing.shim.invalid"})
    # the PostgreSQL store's database is down (a socket directory that
    # does not exist): outcome error naming the store, mail still
    # delivered (DESIGN.md rule 1)
    conf = c.fresh_conf("backend-postgresql")
    with open(conf, "a") as f:
        f.write("store_backend = postgresql\n"
                "store_conninfo = host=/nonexistent/imip-cli dbname=imip "
                "password=hunter2\n")
    yield ("store_backend = postgresql with the database down: outcome "
           "error, mail delivered", 0,
           shim(conf, "person", "--deliver", "mbox:" + mbox_of(conf)), INVITE,
           lambda out, err, conf=conf: "outcome=error" in err
               and "store unavailable: cannot connect to PostgreSQL" in err
               and "hunter2" not in err
               and from_line(conf).startswith("From paul.boddie@example.com "),
           {"SENDER": "paul.boddie@example.com",
            "RECIPIENT": "vincent.vole@example.com"})
    yield ("person role with an empty RECIPIENT is a usage error", 64,
           shim(c.conf, "person"), INVITE, None,
           {"SENDER": "paul.boddie@example.com", "RECIPIENT": "",
            "LOCAL_PART": "vincent.vole"})


def tree_state(root):
    """Every path under root with its mode and content digest: what
    `imip-admin check` must leave exactly as it was."""
    state = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(d, name)
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            state[os.path.relpath(path, root)] = (st.st_mode, digest,
                                                  st.st_mtime_ns)
    return state


REPLY_ICS = """BEGIN:VCALENDAR\r
PRODID:-//imip-agent/test//EN\r
VERSION:2.0\r
METHOD:REPLY\r
BEGIN:VEVENT\r
UID:kickoff-20141126@example.com\r
DTSTAMP:20141120T113000Z\r
SEQUENCE:0\r
ORGANIZER:mailto:paul.boddie@example.com\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:vincent.vole@example.com\r
END:VEVENT\r
END:VCALENDAR\r
"""


def check_cases(c):
    """imip-admin check (imip-admin(8)): the role, user and sender the
    message implies, the outcome against a throw-away copy of the store,
    the replies listed and never sent, the real store untouched."""
    def check(conf, *args):
        return [c.admin, "-c", conf, "check"] + list(args)

    conf = c.fresh_conf("check-empty")
    root = os.path.dirname(conf)
    yield ("check: an invitation to a user without a store would be added",
           0, check(conf, INVITE), None,
           lambda out, err: out == INVITE + ": role=person "
               "user=vincent.vole@example.com sender=paul.boddie@example.com "
               "method=REQUEST uid=kickoff-20141126@example.com "
               "outcome=added reason=\"invitation recorded\" replies=0\n"
               and not os.path.exists(os.path.join(root, "store",
                                                   "vincent.vole@example.com")))

    # a user whose store already holds the event (delivered by imip-shim)
    conf = c.fresh_conf("check-stored")
    root = os.path.dirname(conf)
    tmpdir = os.path.join(c.tmp, "check-tmpdir")
    os.mkdir(tmpdir)
    c.run([c.shim, "-c", conf, "--role", "person", "--recipient",
           "vincent.vole@example.com", "--sender", "paul.boddie@example.com"],
          INVITE)
    c.run([c.admin, "-c", conf, "pref", "vincent.vole@example.com",
           "LANG", "de"])
    c.run([c.admin, "-c", conf, "pref", "harvey.horse@example.com",
           "participating", "no"])
    before = tree_state(root)
    yield ("check: against a copy of the user's store: already processed, "
           "updated; the real store and TMPDIR unchanged", 0,
           check(conf, INVITE, UPDATE), None,
           lambda out, err, root=root, before=before, tmpdir=tmpdir:
               "01-invitation.eml: role=person user=vincent.vole@example.com"
               in out and "outcome=added reason=\"already processed: "
               in out and "02-update.eml: role=person " in out
               and "outcome=updated" in out and len(out.splitlines()) == 2
               and tree_state(root) == before and os.listdir(tmpdir) == [],
           {"TMPDIR": tmpdir})
    yield ("check: the copy has the user's preferences", 0,
           check(conf, "--user", "harvey.horse@example.com", INVITE), None,
           lambda out, err, root=root, before=before:
               "outcome=no_action reason=\"the user does not participate "
               "(participating = no)\"" in out and tree_state(root) == before)
    calls = os.path.getsize(c.calls) if os.path.exists(c.calls) else 0
    yield ("check: a reply the agent would send is listed, never sent", 0,
           check(c.fresh_conf("check-add"), ADD), None,
           lambda out, err, calls=calls: out.endswith(
               "outcome=replied reason=\"asked paul.boddie@example.com for "
               "the whole event (REFRESH)\" replies=1 "
               "(to paul.boddie@example.com REFRESH)\n")
               and (os.path.getsize(c.calls) if os.path.exists(c.calls)
                    else 0) == calls)
    ics = os.path.join(c.tmp, "reply.ics")
    with open(ics, "w", newline="") as f:
        f.write(REPLY_ICS)
    yield ("check: a bare REPLY object is for its ORGANIZER, from its "
           "ATTENDEE", 0, check(conf, ics), None,
           lambda out, err: "role=person user=paul.boddie@example.com "
               "sender=vincent.vole@example.com method=REPLY "
               "uid=kickoff-20141126@example.com" in out)
    yield ("check: a reply is for the organiser, from Return-Path or From",
           0, check(conf, REPLY), None,
           lambda out, err: "role=person user=paul.boddie@example.com "
               "sender=vincent.vole@example.com method=REPLY" in out)
    # (From: is still the organiser, which the library accepts as sender)
    yield ("check: --user, --sender and --role replace the derived ones", 0,
           check(c.fresh_conf("check-given"), "--role", "resource",
                 "--user", "Harvey.Horse@Example.com",
                 "--sender", "mallory@evil.example", INVITE), None,
           lambda out, err: "role=resource user=harvey.horse@example.com "
               "sender=mallory@evil.example method=REQUEST" in out
               and out.endswith("outcome=replied reason=\"accepted\" "
                                "replies=1 (to paul.boddie@example.com REPLY)\n"))
    yield ("check: --sender <> is the null sender", 0,
           check(conf, "--sender", "<>", REPLY), None,
           lambda out, err: "sender=<> " in out)
    yield ("check: - reads the message from standard input", 0,
           check(conf, "-"), INVITE,
           lambda out, err: out.startswith("-: role=person "
                                           "user=vincent.vole@example.com"))
    yield ("check: an unreadable file exits 1, the others are checked", 1,
           check(conf, os.path.join(c.tmp, "no-such.eml"), INVITE), None,
           lambda out, err: "no-such.eml" in err and len(out.splitlines()) == 1
               and out.startswith(INVITE + ": "))
    yield ("check without a file is a usage error", 64, check(conf), None,
           lambda out, err: "check [--role" in err)
    yield ("check with an unknown role is a usage error", 64,
           check(conf, "--role", "boss", INVITE), None, None)
    yield ("check with an unusable --user is a usage error", 64,
           check(conf, "--user", "nobody", INVITE), None, None)
    yield ("check with an unknown option is a usage error", 64,
           check(conf, "--dry-run", INVITE), None, None)
    bad = os.path.join(c.tmp, "bad.conf")
    yield ("check with a bad imip.conf is a configuration error", 78,
           check(bad, INVITE), None, None)


def fsync_cases(c):
    """store_fsync (docs/store.md 6): which files wait for the disk, seen
    with strace -y (each fsync names the file or directory it flushed).
    optimized: only the calendar object (the truth) and its directory;
    always: also the derived files (requests, free/busy, seen)."""
    def synced(err):
        paths = re.findall(r'fsync\(\d+<([^>]*)>\)', err)
        return [p.split("/store/", 1)[-1] for p in paths]

    for mode in ("optimized", "always"):
        conf = c.fresh_conf("fsync-" + mode)
        with open(conf, "a") as f:
            f.write("store_fsync = %s\n" % mode)
        argv = ["strace", "-f", "-y", "-e", "trace=fsync",
                c.shim, "-c", conf, "--role", "person",
                "--recipient", "vincent.vole@example.com",
                "--sender", "paul.boddie@example.com", "--deliver", "none"]
        if mode == "optimized":
            check = (lambda out, err: "outcome=added" in err and
                     len(synced(err)) == 2 and
                     all("/objects" in p for p in synced(err)))
        else:
            check = (lambda out, err: "outcome=added" in err and
                     any(p.endswith("/requests") or "/requests" in p
                         or p.endswith("@example.com") for p in synced(err))
                     and any("/freebusy" in p for p in synced(err))
                     and len(synced(err)) > 2)
        yield ("store_fsync = %s: the files synced" % mode, 0, argv, INVITE,
               check)


def sendmail_called(c):
    if not os.path.exists(c.calls):
        return False
    text = open(c.calls).read()
    return ("ARGV -i -f calendar@example.com -- paul.boddie@example.com" in text
            and "Auto-Submitted: auto-replied" in text
            and "\r\n" not in text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        c = Case(os.path.abspath(args.build), tmp)
        for name, status, argv, stdin, check, *env in cases(c):
            rc, out, err = c.run(argv, stdin, env[0] if env else None)
            why = None
            if rc != status:
                why = "exit status %d, expected %d: %s" % (rc, status,
                                                           err.strip()[-300:])
            elif check is not None and not check(out, err):
                why = "check failed: %s" % err.strip()[-300:]
            if why:
                failed += 1
                print("not ok %s: %s" % (name, why))
            else:
                passed += 1
                print("ok %s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
