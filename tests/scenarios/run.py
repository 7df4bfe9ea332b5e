#!/usr/bin/env python3
"""Scenario driver for imip-agent (DESIGN.md section 8).

Each scenario is a directory beside this file holding scenario.toml and the
message files it names (format: README.md here).  For every step the driver
pipes a message through `imip-shim --dry-run`, then compares the log line of
each recipient, the messages the agent would send (the dry-run mbox on
stdout), the messages delivered to the mailbox (an mbox file per step), and
the store as `imip-admin` shows it.

Usage: run.py --build BUILDDIR [--backend file|postgresql]
              [--wrapper "valgrind ..."] [--jobs N] [--keep] [NAME...]

Prints `ok NAME` or `not ok NAME: what differed` per scenario (details on
following lines starting with '#'), then `N passed, N failed` (and `, N
skipped` when a scenario does not apply to the backend).  Exit status 1 if
any scenario failed.  Python 3.11 standard library only.

With --backend postgresql every scenario gets a database of its own, copied
from an upgraded template on a private server that tests/with-postgresql.sh
starts (the driver runs itself through that script unless its variables
IMIP_TEST_PG_* are already set).
"""

import argparse
import concurrent.futures
import email
import email.policy
import email.utils
import fnmatch
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
CALENDAR_ADDRESS = "calendar@example.com"
# What the programs under test may create in the scenario's temp dir.
ALLOWED_TOP = {"store", "preferences", "static", "journal", "mail",
               "imip.conf", "driver"}
BACKENDS = ("file", "postgresql")
# With PostgreSQL the store, the preferences and the quota journals are in
# the database: these directories are still configured (so that a backend
# falling back to files would write here, not in /var/lib) and must stay
# empty.
PG_EMPTY_DIRS = ("store", "preferences", "journal")
PG_ENV = ("IMIP_TEST_PG_PSQL", "IMIP_TEST_PG_HOST", "IMIP_TEST_PG_PORT",
          "IMIP_TEST_PG_SUPERUSER", "IMIP_TEST_PG_ROLE",
          "IMIP_TEST_PG_TEMPLATE")
# A published free/busy file (docs/store.md section 5); on PostgreSQL also
# a row of published_freebusy.
STATIC_FREEBUSY_RE = re.compile(r"^static/[^/]+/freebusy$")
# A user's derived data in the file store, as a `remove` step names it,
# and the rows holding the same data in PostgreSQL (docs/postgresql.md
# section 2).  Group 1: the user's directory, 2: the file, 3: the other
# party of a freebusy-other table.
PG_REMOVE_RE = re.compile(
    r"^store/([^/]+)/(freebusy|freebusy-offers|requests|"
    r"freebusy-other(?:/([^/]+))?)/?$")
PG_REMOVE_SQL = {
    "freebusy": "DELETE FROM busy_periods WHERE fb_table = 'own'",
    "freebusy-offers": "DELETE FROM busy_periods WHERE fb_table = 'offers'",
    "freebusy-other": "DELETE FROM busy_periods WHERE fb_table = 'other'",
    "requests": "DELETE FROM requests WHERE true",
}
# A file name that is the address itself (store_name_encode() keeps these
# bytes), so it can go into SQL text: no quote can occur in it.
PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9@_+=,-][A-Za-z0-9@_+=,.-]*$")

LOG_RE = re.compile(
    r'^imip-shim: role=(?P<role>\S+) recipient=(?P<recipient>\S+) '
    r'method=(?P<method>\S+) uid=(?P<uid>"(?:[^"\\]|\\.)*"|\S+) '
    r'outcome=(?P<outcome>\S+) reason="(?P<reason>.*)"\s*$')


class Failure(Exception):
    """A scenario expectation did not hold; the text says what differed."""


class Skip(Exception):
    """The scenario does not apply to the backend (its `backends`)."""


# ---------------------------------------------------------------- helpers

def unfold(text):
    """RFC 5545 section 3.1: CRLF/LF followed by one space or tab is a
    continuation."""
    text = text.replace("\r\n", "\n")
    return re.sub(r"\n[ \t]", "", text)


def norm_addr(value):
    value = value.strip().strip("<>").strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    return value.lower()


def ical_attendees(text):
    """ATTENDEE address -> PARTSTAT for the first VEVENT/VFREEBUSY of an
    (unfolded) iCalendar text.  Later components are ignored so that a
    master's attendee is not confused with an override's."""
    result = {}
    depth_started = False
    for line in unfold(text).split("\n"):
        upper = line.upper()
        if upper.startswith("BEGIN:VEVENT") or upper.startswith("BEGIN:VFREEBUSY"):
            if depth_started:
                break
            depth_started = True
            continue
        if not upper.startswith("ATTENDEE"):
            continue
        name_params, _, value = split_property(line)
        params = parse_params(name_params)
        result.setdefault(norm_addr(value),
                          params.get("PARTSTAT", "NEEDS-ACTION").upper())
    return result


def split_property(line):
    """Split `NAME;PARAMS:VALUE` at the first colon outside quotes."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return line[:i], ":", line[i + 1:]
    return line, "", ""


def parse_params(name_params):
    params = {}
    parts = re.findall(r';([^=;]+)=("[^"]*"|[^;]*)', name_params)
    for key, val in parts:
        params[key.upper()] = val.strip('"')
    return params


def ical_method(text):
    for line in unfold(text).split("\n"):
        if line.upper().startswith("METHOD:"):
            return line[7:].strip().upper()
    return None


def split_mbox(data):
    """Split an mbox stream (mboxrd) into message bytes.  A separator is a
    line starting with "From " at the start or after an empty line."""
    data = data.replace(b"\r\n", b"\n")
    messages = []
    current = None
    prev_blank = True
    for line in data.split(b"\n"):
        if line.startswith(b"From ") and prev_blank:
            if current is not None:
                messages.append(current)
            current = []
            prev_blank = False
            continue
        if current is None:
            if line.strip():
                raise Failure("mbox stream does not start with a From_ line: "
                              + repr(line[:80]))
            continue
        if re.match(rb"^>+From ", line):
            line = line[1:]
        current.append(line)
        prev_blank = (line == b"")
    if current is not None:
        messages.append(current)
    out = []
    for lines in messages:
        while lines and lines[-1] == b"":
            lines.pop()
        out.append(b"\n".join(lines) + b"\n")
    return out


def decoded_text(msg):
    """The decoded text of every leaf part (recursing into message/rfc822),
    for substring checks on mailbox messages."""
    texts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            sub = part.get_payload()
            if isinstance(sub, list):
                for inner in sub:
                    texts.append(decoded_text(inner))
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            texts.append(payload.decode(charset, errors="replace"))
        except LookupError:
            texts.append(payload.decode("utf-8", errors="replace"))
    return "\n".join(texts)


def normalise_message(data):
    data = data.replace(b"\r\n", b"\n")
    return data.rstrip(b"\n") + b"\n"


def short(data, limit=300):
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "..."


def field_matches(expected, actual):
    return expected == "*" or expected == actual


def row_matches(expected, actual):
    return (len(expected) == len(actual)
            and all(field_matches(e, a) for e, a in zip(expected, actual)))


def outcome_ok(expected, actual):
    if isinstance(expected, list):
        return actual in expected or "*" in expected
    return expected == "*" or expected == actual


def shim_option_args(options):
    """A step's `options` table (RFC 9671 processcalendar tags, as named in
    struct imip_options) as imip-shim arguments."""
    flags = {"invites_only": "--invites-only", "updates_only": "--updates-only",
             "delete_cancelled": "--delete-cancelled"}
    lists = {"addresses": "--address", "organizers": "--organizer"}
    args = []
    for key, value in options.items():
        if key == "allow_public":
            if not isinstance(value, bool):
                raise Failure("scenario.toml: options.allow_public must be true or false")
            if not value:
                args.append("--no-public")   # the shim's default is on
        elif key in flags:
            if not isinstance(value, bool):
                raise Failure("scenario.toml: options.%s must be true or false" % key)
            if value:
                args.append(flags[key])
        elif key in lists:
            values = [value] if isinstance(value, str) else value
            for address in values:
                args += [lists[key], address]
        else:
            raise Failure("scenario.toml: unknown option %r (allow_public, %s)"
                          % (key, ", ".join(sorted(list(flags) + list(lists)))))
    return args


# ---------------------------------------------------------------- PostgreSQL

def psql(sql, database=None):
    """Run SQL on the server of tests/with-postgresql.sh (its IMIP_TEST_PG_*
    variables): as the superuser in the maintenance database, or, given
    a database, as the store's owner role (the agent's) in it.  Returns
    psql's unaligned output without a header."""
    env = os.environ
    if database is None:
        user, database = env["IMIP_TEST_PG_SUPERUSER"], "postgres"
    else:
        user = env["IMIP_TEST_PG_ROLE"]
    cmd = [env["IMIP_TEST_PG_PSQL"], "-X", "-q", "-A", "-t",
           "-v", "ON_ERROR_STOP=1", "-h", env["IMIP_TEST_PG_HOST"],
           "-p", env["IMIP_TEST_PG_PORT"], "-U", user, "-d", database,
           "-c", sql]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise Failure("psql timed out: %s" % sql)
    if proc.returncode != 0:
        raise Failure("psql: %s: %s" % (sql, short(proc.stderr, 1000)))
    return proc.stdout.decode("utf-8", "replace")


def pg_create_database(name):
    # FILE_COPY copies the template's files after a checkpoint (tens of
    # ms with the test server's fsync = off); WAL_LOG, PostgreSQL 15's
    # default, writes every page of the copy to the WAL, two to three
    # times slower here
    psql("CREATE DATABASE %s TEMPLATE %s OWNER %s STRATEGY FILE_COPY"
         % (name, os.environ["IMIP_TEST_PG_TEMPLATE"],
            os.environ["IMIP_TEST_PG_ROLE"]))
    return name


def pg_drop_database(name):
    # FORCE: a program the driver gave up on (timeout) may still be
    # connected
    try:
        psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    except Failure as exc:
        print("# dropping %s: %s" % (name, exc), file=sys.stderr)


class DatabasePool:
    """The scenarios' databases s_N (N: the scenario's place in the run),
    a fresh copy of the template each, so that every scenario starts from
    exactly the upgraded schema and nothing of another.  They are created
    up to `ahead` scenarios ahead of need and dropped after use by
    threads of their own: CREATE DATABASE (which waits for checkpoints)
    and DROP DATABASE then overlap the scenarios' work instead of
    delaying it (in a full run, setup waited 19 s in all instead of
    about 70 s)."""

    def __init__(self, numbers, ahead):
        self.numbers = list(numbers)
        self.ahead = ahead
        self.lock = threading.Lock()
        self.worker = concurrent.futures.ThreadPoolExecutor(max_workers=ahead)
        self.pending = {}            # number -> Future of the creation
        self.submitted = 0           # self.numbers[:submitted] submitted

    def take(self, number):
        """The database of scenario `number`, created; raises Failure if
        it could not be."""
        with self.lock:
            last = self.numbers.index(number) + self.ahead
            while self.submitted < len(self.numbers) and self.submitted <= last:
                n = self.numbers[self.submitted]
                self.pending[n] = self.worker.submit(pg_create_database,
                                                     "s_%d" % n)
                self.submitted += 1
            future = self.pending.pop(number)
        return future.result()

    def release(self, name):
        self.worker.submit(pg_drop_database, name)

    def close(self):
        """Drop what was created for scenarios that never took it (a
        scenario.toml that does not load), and wait for every drop."""
        with self.lock:
            unused, self.pending = list(self.pending.values()), {}
        for future in unused:
            try:
                self.release(future.result())
            except Failure:
                pass                 # never created
        self.worker.shutdown(wait=True)


# ---------------------------------------------------------------- scenario

class Scenario:
    def __init__(self, name, number, args, databases=None):
        self.name = name
        self.args = args
        self.dir = os.path.join(HERE, name)
        with open(os.path.join(self.dir, "scenario.toml"), "rb") as f:
            self.spec = tomllib.load(f)
        self.wrapper = shlex.split(args.wrapper) if args.wrapper else []
        self.shim = os.path.join(args.build, "mta-shim", "imip-shim")
        self.admin = os.path.join(args.build, "tools", "imip-admin")
        self.tmp = None
        self.postgresql = args.backend == "postgresql"
        self.number = number
        self.databases = databases     # the DatabasePool (postgresql)
        self.database = None           # this scenario's own, once taken

    def check_backend(self):
        """Raise Skip when the scenario is marked as not applying to the
        backend: `backends = [...]` with a `why` the report repeats."""
        backends = self.spec.get("backends")
        if backends is None:
            return
        if (not isinstance(backends, list) or not backends
                or any(b not in BACKENDS for b in backends)):
            raise Failure("scenario.toml: backends must be a list of %s"
                          % ", ".join(BACKENDS))
        why = self.spec.get("why")
        if not isinstance(why, str) or not why.strip():
            raise Failure("scenario.toml: backends without a `why`")
        if self.args.backend not in backends:
            raise Skip("%s only: %s" % (", ".join(backends), why.strip()))

    # -- setup

    def setup(self):
        self.tmp = tempfile.mkdtemp(prefix="imip-scenario-%s-" % self.name)
        if self.postgresql:
            self.database = self.databases.take(self.number)
        for d in ("store", "preferences", "static", "journal", "mail",
                  "driver"):
            os.mkdir(os.path.join(self.tmp, d))
        self.sendmail_mark = os.path.join(self.tmp, "driver", "sendmail-called")
        sendmail = os.path.join(self.tmp, "driver", "sendmail")
        with open(sendmail, "w") as f:
            f.write("#!/bin/sh\n# dry-run must never send: record the call\n"
                    "echo \"$@\" >> '%s'\ncat > /dev/null\nexit 1\n"
                    % self.sendmail_mark)
        os.chmod(sendmail, 0o755)
        conf = {
            "store_dir": os.path.join(self.tmp, "store"),
            "preferences_dir": os.path.join(self.tmp, "preferences"),
            "journal_dir": os.path.join(self.tmp, "journal"),
            "static_dir": os.path.join(self.tmp, "static"),
            "calendar_sender": CALENDAR_ADDRESS,
            "local_domains": "example.com",
            "default_tzid": "UTC",
            "log_target": "stderr",
            "sendmail_path": sendmail,
        }
        if self.postgresql:
            conf["store_backend"] = "postgresql"
            conf["store_conninfo"] = self.pg_conninfo()
        for key, value in self.spec.get("config", {}).items():
            value = str(value).lower() if isinstance(value, bool) else str(value)
            # a file of the scenario (e.g. a trigger script) by absolute path
            conf[key] = value.replace("@SCENARIO@", self.dir)
        self.conf = os.path.join(self.tmp, "imip.conf")
        with open(self.conf, "w") as f:
            f.write("# written by tests/scenarios/run.py\n")
            for key, value in conf.items():
                f.write("%s = %s\n" % (key, value))
        self.source_snapshot = self.snapshot_source()

    def cleanup(self):
        if self.args.keep:
            return
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self.database:
            self.databases.release(self.database)
            self.database = None

    # -- PostgreSQL (tests/with-postgresql.sh set the IMIP_TEST_PG_*)

    def pg_conninfo(self):
        return ("host=%s port=%s dbname=%s user=%s"
                % (os.environ["IMIP_TEST_PG_HOST"],
                   os.environ["IMIP_TEST_PG_PORT"], self.database,
                   os.environ["IMIP_TEST_PG_ROLE"]))

    def psql(self, sql):
        """SQL in the scenario's database, as the agent's role."""
        return psql(sql, self.database)

    def pg_remove(self, pattern):
        """A `remove` step's glob as the rows holding the same derived
        data; returns how many rows went.  A glob with no such meaning
        fails the scenario: nothing is skipped silently."""
        m = PG_REMOVE_RE.match(pattern)
        if m is None:
            raise Failure("remove: %r has no meaning on PostgreSQL (known: "
                          "store/USER/{freebusy,freebusy-other[/OTHER],"
                          "freebusy-offers,requests}, USER/OTHER * or an "
                          "address)" % pattern)
        user, table, other = m.group(1), m.group(2), m.group(3)
        sql = PG_REMOVE_SQL[table.split("/")[0]]
        for what, value in (("user_id IN (SELECT id FROM users WHERE "
                             "address = '%s')", user), ("other = '%s'", other)):
            if value is None or value == "*":
                continue
            if not PLAIN_NAME_RE.match(value):
                raise Failure("remove: %r: only * or a plain address "
                              "translates to PostgreSQL" % pattern)
            sql += " AND " + what % value.lower()
        out = self.psql("WITH gone AS (%s RETURNING 1) SELECT count(*) FROM gone"
                        % sql)
        return int(out.strip())

    def pg_published(self):
        """The published free/busy texts in the database."""
        out = self.psql("SELECT encode(convert_to(data, 'UTF8'), 'hex') "
                        "FROM published_freebusy")
        return [bytes.fromhex(line) for line in out.split("\n") if line]

    def snapshot_source(self):
        entries = []
        for root, dirs, files in os.walk(self.dir):
            for name in dirs + files:
                entries.append(os.path.relpath(os.path.join(root, name), self.dir))
        return sorted(entries)

    # -- running programs

    def env(self, now):
        env = dict(os.environ)
        env["IMIP_NOW"] = now
        return env

    def run(self, cmd, now, stdin=b""):
        timeout = self.args.timeout
        try:
            proc = subprocess.run(self.wrapper + cmd, input=stdin,
                                  capture_output=True, cwd=self.tmp,
                                  env=self.env(now), timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure("timed out after %ds: %s" % (timeout, " ".join(cmd)))
        return proc.returncode, proc.stdout, proc.stderr

    def admin_cmd(self, args):
        return [self.admin, "-c", self.conf] + [str(a) for a in args]

    def run_admin(self, args, now, expect_status=0, what="imip-admin"):
        rc, out, err = self.run(self.admin_cmd(args), now)
        if rc != expect_status:
            raise Failure("%s %s: exit status %d, expected %d\n%s"
                          % (what, " ".join(map(str, args)), rc, expect_status,
                             indent(err.decode("utf-8", "replace"))))
        return out.decode("utf-8", "replace"), err

    # -- the scenario

    def execute(self):
        spec = self.spec
        if "now" not in spec:
            raise Failure("scenario.toml: `now` missing")
        now = spec["now"]
        for user in spec.get("users", []):
            self.run_admin(["init-user", user], now)
        for user, prefs in spec.get("prefs", {}).items():
            self.run_admin(["init-user", user], now)
            for name, value in prefs.items():
                self.run_admin(["pref", user, name, str(value)], now)
        steps = spec.get("step", [])
        if not steps:
            raise Failure("scenario.toml: no [[step]]")
        for index, step in enumerate(steps, 1):
            step_now = step.get("now", now)
            try:
                self.run_step(index, step, step_now)
                self.check_files()
                for check in step.get("check", []):
                    self.run_check(check, check.get("now", step_now))
            except Failure as exc:
                raise Failure("step %d: %s" % (index, exc))
        for check in spec.get("check", []):
            try:
                self.run_check(check, check.get("now", now))
            except Failure as exc:
                raise Failure("final check: %s" % exc)
        self.check_files()
        if self.snapshot_source() != self.source_snapshot:
            raise Failure("files appeared in the scenario directory %s" % self.dir)

    def remove_files(self, pattern):
        removed = 0
        for path in glob.glob(os.path.join(self.tmp, pattern)):
            # a free/busy table is a directory (docs/store.md 3.3)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed += 1
        return removed

    def message_bytes(self, step):
        if "message" in step:
            with open(os.path.join(self.dir, step["message"]), "rb") as f:
                return f.read()
        if "generate" in step:
            proc = subprocess.run([sys.executable, step["generate"]],
                                  cwd=self.dir, capture_output=True)
            if proc.returncode != 0:
                raise Failure("generator %s failed: %s"
                              % (step["generate"], short(proc.stderr)))
            return proc.stdout
        raise Failure("step has neither `message` nor `generate` nor `admin`")

    def run_step(self, index, step, now):
        if "remove" in step:
            # derived data lost (a crash, an admin's mistake): the files
            # matching these globs, relative to the temp dir, are deleted
            # (on PostgreSQL: the rows holding what the store's files
            # would; static/ is files on both backends)
            removed = 0
            for pattern in step["remove"]:
                if self.postgresql and pattern.split("/")[0] in PG_EMPTY_DIRS:
                    removed += self.pg_remove(pattern)
                else:
                    removed += self.remove_files(pattern)
            if removed == 0:
                raise Failure("remove: nothing matched %s" % step["remove"])
            return
        if "admin" in step:
            out, _ = self.run_admin(step["admin"], now, step.get("status", 0))
            if "output" in step and out.rstrip("\n") != step["output"].rstrip("\n"):
                raise Failure("admin output differs\n# expected:\n%s# actual:\n%s"
                              % (indent(step["output"]), indent(out)))
            return
        role = step.get("role", "person")
        recipients = step.get("recipients", [])
        if not recipients:
            raise Failure("step has no recipients")
        message = self.message_bytes(step)
        mbox = os.path.join(self.tmp, "mail", "step%d.mbox" % index)
        cmd = [self.shim, "-c", self.conf, "--role", role]
        for r in recipients:
            cmd += ["--recipient", r]
        if "sender" in step:
            cmd += ["--sender", step["sender"]]
        cmd += shim_option_args(step.get("options", {}))
        cmd += ["--deliver", "mbox:" + mbox, "--dry-run"]
        rc, out, err = self.run(cmd, now, message)
        err_text = err.decode("utf-8", "replace")
        if rc != 0:
            raise Failure("imip-shim exit status %d (expected 0)\n%s"
                          % (rc, indent(tail(err_text))))
        if os.path.exists(self.sendmail_mark):
            raise Failure("sendmail_path was called in --dry-run")
        self.check_log(step, role, recipients, err_text)
        self.check_sent(step, out)
        self.check_mailbox(step, role, mbox, message)

    # -- log lines

    def check_log(self, step, role, recipients, err_text):
        lines = []
        for raw in err_text.splitlines():
            m = LOG_RE.match(raw)
            if m:
                lines.append(m.groupdict())
            elif raw.startswith("imip-shim: role="):
                raise Failure("unparseable log line: %s" % raw)
        if "outcome" not in step:
            raise Failure("scenario.toml: step without `outcome`")
        expected = step["outcome"]
        reasons = step.get("reason_contains", [])
        if isinstance(reasons, str):
            reasons = [reasons]
        if role in ("person", "resource"):
            # one log line per recipient: each is a calendar user (person)
            # or an autonomous resource the message was addressed to
            targets = []
            for r in recipients:
                got = [l for l in lines if l["recipient"].lower() == r.lower()
                       and l["role"] == role]
                if len(got) != 1:
                    raise Failure("expected one log line for %s, got %d\n%s"
                                  % (r, len(got), indent(tail(err_text))))
                targets.append((r, got[0]))
        else:
            got = [l for l in lines if l["role"] == role]
            if not got:
                raise Failure("no log line for role %s\n%s"
                              % (role, indent(tail(err_text))))
            targets = [(l["recipient"], l) for l in got]
        for r, line in targets:
            want = expected.get(r, expected.get("*")) if isinstance(expected, dict) else expected
            if want is None:
                raise Failure("scenario.toml: no outcome for %s" % r)
            if not outcome_ok(want, line["outcome"]):
                raise Failure("outcome for %s: expected %s, got %s (reason \"%s\")"
                              % (r, want, line["outcome"], line["reason"]))
            for text in reasons:
                if text.lower() not in line["reason"].lower():
                    raise Failure("reason for %s: expected it to contain \"%s\", "
                                  "got \"%s\"" % (r, text, line["reason"]))

    # -- sent messages

    def parse_sent(self, data):
        sent = []
        for raw in split_mbox(data):
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            froms = [norm_addr(a) for _, a in email.utils.getaddresses(msg.get_all("From", []))]
            if froms != [CALENDAR_ADDRESS]:
                raise Failure("sent message From: %s, expected %s"
                              % (msg.get("From"), CALENDAR_ADDRESS))
            auto = (msg.get("Auto-Submitted") or "").strip().lower()
            if auto != "auto-replied":
                raise Failure("sent message Auto-Submitted: %r, expected auto-replied"
                              % msg.get("Auto-Submitted"))
            cal_parts = [p for p in msg.walk()
                         if p.get_content_type() == "text/calendar"]
            if not cal_parts:
                raise Failure("sent message without a text/calendar part:\n%s"
                              % indent(short(raw, 1500)))
            texts = []
            method = None
            for part in cal_parts:
                payload = part.get_payload(decode=True) or b""
                text = payload.decode(part.get_content_charset() or "utf-8", "replace")
                body_method = ical_method(text)
                param = (part.get_param("method") or "").upper()
                if body_method is None or param != body_method:
                    raise Failure("sent message: Content-Type method=%r but METHOD:%r"
                                  % (param, body_method))
                method = method or body_method
                texts.append(unfold(text))
            to = {norm_addr(a) for _, a in email.utils.getaddresses(msg.get_all("To", []))}
            text = "\n".join(texts)
            sent.append({"to": to, "method": method,
                         "attendees": ical_attendees(text), "text": text})
        return sent

    @staticmethod
    def sent_matches(exp, act):
        to = exp.get("to")
        if to is not None:
            wanted = [to] if isinstance(to, str) else to
            if {norm_addr(t) for t in wanted} != act["to"]:
                return False
        if "method" in exp and exp["method"].upper() != act["method"]:
            return False
        if "attendees" in exp:
            # the exact ATTENDEE set of the first component (a resource's
            # answer carries only the resource's own ATTENDEE)
            if {norm_addr(a) for a in exp["attendees"]} != set(act["attendees"]):
                return False
        if "attendee" in exp:
            who = norm_addr(exp["attendee"])
            if who not in act["attendees"]:
                return False
            if "partstat" in exp and act["attendees"][who] != exp["partstat"].upper():
                return False
        elif "partstat" in exp and exp["partstat"].upper() not in act["attendees"].values():
            return False
        for text in exp.get("contains", []):
            if text not in act["text"]:
                return False
        for text in exp.get("absent", []):
            if text in act["text"]:
                return False
        return True

    def check_sent(self, step, out):
        sent = self.parse_sent(out)
        expected = step.get("sent", [])

        def assign(i, used):
            if i == len(expected):
                return True
            for j, act in enumerate(sent):
                if j not in used and self.sent_matches(expected[i], act):
                    if assign(i + 1, used | {j}):
                        return True
            return False

        if len(sent) != len(expected) or not assign(0, frozenset()):
            actual = ["to=%s method=%s attendees=%s" % (",".join(sorted(a["to"])),
                                                        a["method"], a["attendees"])
                      for a in sent]
            raise Failure("sent messages differ\n# expected: %s\n# actual (%d):\n%s"
                          % (expected, len(sent),
                             indent("\n".join(actual) if actual else "(nothing)")))

    # -- mailbox

    def check_mailbox(self, step, role, mbox, original):
        delivered = []
        if os.path.exists(mbox):
            with open(mbox, "rb") as f:
                delivered = split_mbox(f.read())
        count = len(delivered)
        if "mailbox" in step:
            if count != step["mailbox"]:
                raise Failure("mailbox: %d message(s) delivered, expected %d"
                              % (count, step["mailbox"]))
        elif role == "person":
            if count < len(step.get("recipients", [])) or count < 1:
                raise Failure("mailbox: %d message(s) delivered; mail must never "
                              "be lost" % count)
        elif count != 0:
            # outgoing: a copy of sent mail; resource: no mailbox at all
            raise Failure("mailbox: role %s delivered %d message(s), expected none"
                          % (role, count))
        parsed = [email.message_from_bytes(m, policy=email.policy.compat32)
                  for m in delivered]
        haystack = "\n".join(m.decode("utf-8", "replace") for m in delivered)
        haystack += "\n" + "\n".join(decoded_text(p) for p in parsed)
        for text in step.get("mailbox_contains", []):
            if text not in haystack:
                raise Failure("mailbox: expected to contain %r" % text)
        for text in step.get("mailbox_absent", []):
            if text in haystack:
                raise Failure("mailbox: expected not to contain %r" % text)
        kinds = step.get("mailbox_kinds")
        if kinds is not None:
            actual = [self.mailbox_kind(raw, msg, original)
                      for raw, msg in zip(delivered, parsed)]
            if actual != kinds:
                raise Failure("mailbox kinds: expected %s, got %s" % (kinds, actual))

    @staticmethod
    def mailbox_kind(raw, msg, original):
        """original: the input unchanged (a delivery agent may only prepend
        trace headers); wrapped: a generated message (X-iMIP-Outcome) with
        the original inside as message/rfc822; summary: any other generated
        message."""
        norm_raw = normalise_message(raw)
        norm_orig = normalise_message(original)
        if norm_raw.endswith(norm_orig):
            prefix = norm_raw[:len(norm_raw) - len(norm_orig)]
            if all(re.match(rb"^[A-Za-z0-9-]+:", l) or l[:1] in (b" ", b"\t")
                   for l in prefix.split(b"\n") if l):
                return "original"
        if msg.get("X-iMIP-Outcome") is None:
            return "other"
        orig_msg = email.message_from_bytes(original, policy=email.policy.compat32)
        orig_id = (orig_msg.get("Message-ID") or "").strip()
        for part in msg.walk():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload()
                inner = inner[0] if isinstance(inner, list) and inner else inner
                inner_id = (inner.get("Message-ID") or "").strip() if inner else ""
                if orig_id and inner_id == orig_id:
                    return "wrapped"
                return "wrapped-other"
        return "summary"

    # -- files

    def check_files(self):
        for name in os.listdir(self.tmp):
            if name not in ALLOWED_TOP:
                raise Failure("unexpected file %s in the temp dir (only %s allowed)"
                              % (name, ", ".join(sorted(ALLOWED_TOP))))
        if self.postgresql:
            for name in PG_EMPTY_DIRS:
                found = os.listdir(os.path.join(self.tmp, name))
                if found:
                    raise Failure("store_backend = postgresql wrote files in "
                                  "%s/: %s" % (name, ", ".join(sorted(found))))

    def glob(self, pattern):
        found = []
        for root, dirs, files in os.walk(self.tmp):
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), self.tmp)
                if fnmatch.fnmatchcase(rel, pattern):
                    found.append(os.path.join(root, name))
        return sorted(found)

    # -- checks

    def run_check(self, check, now):
        if "file" in check:
            found = self.glob(check["file"])
            if not found:
                raise Failure("no file matches %s" % check["file"])
            with open(found[0], "rb") as f:
                data = f.read()
            text = unfold(data.decode("utf-8", "replace"))
            self.compare_text("file " + check["file"], check, text)
            if self.postgresql and STATIC_FREEBUSY_RE.match(check["file"]):
                self.check_published_rows(found)
            return
        if "file_absent" in check:
            found = self.glob(check["file_absent"])
            if found:
                raise Failure("file(s) present that must not be: %s"
                              % ", ".join(os.path.relpath(p, self.tmp) for p in found))
            if self.postgresql and STATIC_FREEBUSY_RE.match(check["file_absent"]):
                self.check_published_rows(found)
            return
        if "no_file_named" in check:
            names = check["no_file_named"]
            names = [names] if isinstance(names, str) else names
            for root, dirs, files in os.walk(self.tmp):
                for name in dirs + files:
                    if name in names:
                        raise Failure("a file named %r exists: %s" % (
                            name, os.path.relpath(os.path.join(root, name), self.tmp)))
            return
        args = check.get("args")
        if not args:
            raise Failure("scenario.toml: check without args/file/file_absent")
        out, _ = self.run_admin(args, now, check.get("status", 0))
        if check.get("unfold", args[0] == "show"):
            out = unfold(out)
        self.compare_text("imip-admin " + " ".join(args), check, out)

    def check_published_rows(self, files):
        """On PostgreSQL the published free/busy is a row of
        published_freebusy first, the file in static_dir its copy: the
        rows must be exactly the files' texts."""
        texts = []
        for path in files:
            with open(path, "rb") as f:
                texts.append(f.read())
        rows = self.pg_published()
        if sorted(rows) != sorted(texts):
            raise Failure("published_freebusy differs from the files in "
                          "static/\n# rows (%d):\n%s\n# files (%d):\n%s"
                          % (len(rows), indent(short(b"\n".join(rows), 2000)),
                             len(texts), indent(short(b"\n".join(texts), 2000))))

    def compare_text(self, what, check, out):
        if "output" in check:
            if out.rstrip("\n") != check["output"].rstrip("\n"):
                raise Failure("%s: output differs\n# expected:\n%s\n# actual:\n%s"
                              % (what, indent(check["output"]), indent(out)))
        lines = [l for l in out.split("\n") if l != ""]
        rows = [l.split("\t") for l in lines]
        if "rows" in check:
            want = check["rows"]
            ok = len(want) == len(rows) and all(row_matches(w, a) for w, a in zip(want, rows))
            if not ok:
                raise Failure("%s: rows differ\n# expected:\n%s\n# actual:\n%s"
                              % (what, indent(fmt_rows(want)), indent(fmt_rows(rows))))
        for want in check.get("contains_rows", []):
            if not any(row_matches(want, a) for a in rows):
                raise Failure("%s: no row matches %s\n# actual:\n%s"
                              % (what, "\t".join(want), indent(fmt_rows(rows))))
        for want in check.get("absent_rows", []):
            if any(row_matches(want, a) for a in rows):
                raise Failure("%s: a row matches %s, expected none\n# actual:\n%s"
                              % (what, "\t".join(want), indent(fmt_rows(rows))))
        for text in check.get("contains", []):
            if text not in out:
                raise Failure("%s: expected to contain %r\n# actual:\n%s"
                              % (what, text, indent(short(out, 2000))))
        for text in check.get("absent", []):
            if text in out:
                raise Failure("%s: expected not to contain %r\n# actual:\n%s"
                              % (what, text, indent(short(out, 2000))))
        for who, partstat in check.get("attendee_partstat", {}).items():
            attendees = ical_attendees(out)
            got = attendees.get(norm_addr(who))
            if got != partstat.upper():
                raise Failure("%s: PARTSTAT of %s is %s, expected %s"
                              % (what, who, got or "(no such ATTENDEE)", partstat))


def fmt_rows(rows):
    return "\n".join("\t".join(r) for r in rows) if rows else "(empty)"


def indent(text):
    text = text.rstrip("\n")
    if not text:
        return "#   (empty)"
    return "\n".join("#   " + l for l in text.split("\n"))


def tail(text, lines=40):
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])


def run_one(name, number, args, databases):
    """Returns the result line and "ok", "failed" or "skipped"."""
    scenario = None
    try:
        scenario = Scenario(name, number, args, databases)
        scenario.check_backend()
        scenario.setup()
        scenario.execute()
        return "ok %s" % name, "ok"
    except Skip as exc:
        return "ok %s # skip (%s)" % (name, exc), "skipped"
    except Failure as exc:
        return "not ok %s: %s" % (name, exc), "failed"
    except Exception as exc:  # a driver or scenario-file bug: report, go on
        return ("not ok %s: driver error: %s: %s"
                % (name, type(exc).__name__, exc), "failed")
    finally:
        if scenario is not None:
            if args.keep and scenario.tmp:
                print("# %s kept in %s%s" % (
                    name, scenario.tmp,
                    " (database %s)" % scenario.database
                    if scenario.database else ""), file=sys.stderr)
            scenario.cleanup()


def run_under_postgresql(args):
    """Start the driver again through tests/with-postgresql.sh, which
    provides the server and the template (and stops them at the end)."""
    script = os.path.join(os.path.dirname(HERE), "with-postgresql.sh")
    env = dict(os.environ)
    if args.keep:
        env["KEEP"] = "1"
    sys.stdout.flush()
    os.execve(script, [script, args.build, sys.executable,
                       os.path.abspath(__file__)] + sys.argv[1:], env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", required=True, help="meson build directory")
    parser.add_argument("--backend", choices=BACKENDS, default="file",
                        help="store backend (postgresql: a private server, "
                        "a database per scenario)")
    parser.add_argument("--wrapper", default="",
                        help="command prefix for every program run (valgrind ...)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds per program run (default 60, 900 with --wrapper)")
    parser.add_argument("--keep", action="store_true", help="keep temp dirs")
    parser.add_argument("names", nargs="*", help="scenario names (default: all)")
    args = parser.parse_args()
    args.build = os.path.abspath(args.build)
    if args.timeout is None:
        args.timeout = 900 if args.wrapper else 60
    available = sorted(d for d in os.listdir(HERE)
                       if os.path.isfile(os.path.join(HERE, d, "scenario.toml")))
    names = args.names or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print("unknown scenario(s): %s" % ", ".join(unknown), file=sys.stderr)
        return 2
    for prog in ("mta-shim/imip-shim", "tools/imip-admin"):
        if not os.access(os.path.join(args.build, prog), os.X_OK):
            print("missing %s in %s" % (prog, args.build), file=sys.stderr)
            return 2
    if args.backend == "postgresql" and not all(v in os.environ for v in PG_ENV):
        run_under_postgresql(args)   # does not return
    databases = None
    if args.backend == "postgresql":
        databases = DatabasePool(range(1, len(names) + 1), max(1, args.jobs))
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for line, result in pool.map(
                    lambda nn: run_one(nn[1], nn[0], args, databases),
                    enumerate(names, 1)):
                print(line, flush=True)
                counts[result] += 1
    finally:
        if databases is not None:
            databases.close()
    summary = "%d passed, %d failed" % (counts["ok"], counts["failed"])
    if counts["skipped"]:
        summary += ", %d skipped" % counts["skipped"]
    print(summary)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
