#!/usr/bin/env python3
"""Corpus check (issue 7): every message and iCalendar object of the
shared corpus goes through `imip-admin check` against a fresh, empty store,
in the role and for the user its own data implies.

For each file: exit status 0, no crash, nothing from AddressSanitizer or
UndefinedBehaviorSanitizer on standard error, exactly one result line,
the role/user/sender the data implies, and an outcome (and replies)
consistent with the rules of rules.py, which derive every expectation from
the file and its MANIFEST.tsv row (no per-file table).

Usage: tests/corpus/run.py --build BUILDDIR [--corpus DIR] [--jobs N]
                           [--verbose] [FILE...]

Prints `ok FILE outcome` or `not ok FILE: why` per file (`# skip FILE:
why` for data that is not a message), then `N passed, N failed`.  Exit
status 1 if any file failed.  Python 3.11 standard library only.
"""

import argparse
import concurrent.futures
import csv
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import rules  # noqa: E402

NOW = "20141120T120000Z"
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|"
                       r"UndefinedBehaviorSanitizer|runtime error:")
LINE = re.compile(r'(\w+)=("[^"]*"|\S+)')
NOT_DATA = {"README.md", "LICENSE-NOTE.md", "MANIFEST.tsv"}


def default_corpus():
    # a copy kept in the tree (tests/corpus/data, each folder with its
    # LICENSE-NOTE.md), so that CI needs nothing outside the checkout
    return os.environ.get("IMIP_CORPUS") or \
        os.path.join(TOP, "tests", "corpus", "data")


def read_manifest(corpus):
    with open(os.path.join(corpus, "MANIFEST.tsv"), newline="") as f:
        return {row["path"]: row for row in csv.DictReader(f, delimiter="\t")}


def corpus_files(corpus):
    out = []
    for root, dirs, files in os.walk(corpus):
        dirs.sort()
        for name in sorted(files):
            if name not in NOT_DATA:
                out.append(os.path.relpath(os.path.join(root, name), corpus))
    return out


def write_conf(tmp):
    path = os.path.join(tmp, "imip.conf")
    with open(path, "w") as f:
        for d in ("store", "preferences", "journal", "static"):
            f.write("%s_dir = %s/%s\n" % (d, tmp, d))
        # an address no corpus message comes from, so that every reply
        # the data calls for may be sent
        f.write("calendar_sender = calendar@imip-corpus.invalid\n"
                "default_tzid = UTC\nlog_target = stderr\n"
                "sendmail_path = /bin/false\n")
    return path


def run_check(admin, conf, path, user=None):
    args = [admin, "-c", conf, "check"]
    if user:
        args += ["--user", user]
    env = dict(os.environ, IMIP_NOW=NOW)
    r = subprocess.run(args + ["--", path], env=env, capture_output=True,
                       timeout=120)
    return r.returncode, r.stdout.decode("utf-8", "replace"), \
        r.stderr.decode("utf-8", "replace")


def parse_line(path, out):
    lines = out.splitlines()
    if len(lines) != 1 or not lines[0].startswith(path + ": "):
        return None, "expected one line \"%s: ...\", got %r" % (path, out[-300:])
    text = lines[0][len(path) + 2:]
    fields = {k: v.strip('"') for k, v in LINE.findall(text.split(" replies=")[0])}
    m = re.search(r" replies=(\d+)(?: \((.*)\))?$", text)
    if m is None:
        return None, "no replies= field: " + text
    fields["replies"] = int(m.group(1))
    fields["to"] = [tuple(x.split()[1:3]) for x in
                    (m.group(2) or "").split(", ") if x]
    return fields, None


def process_problems(rc, out, err):
    if rc < 0:
        return "killed by signal %d" % -rc
    if SANITIZER.search(err):
        return "sanitizer report: " + err.strip()[-400:]
    if rc != 0:
        return "exit status %d: %s" % (rc, err.strip()[-300:])
    return None


def identity_problems(fields, d, user, fallback):
    """The role, user and sender the check derived, against rules.py."""
    want_sender = "<>" if d.sender == "" else (d.sender or "-")
    probs = []
    if fields.get("role") != "person":
        probs.append("role %s, expected person" % fields.get("role"))
    if not fallback and fields.get("user") != (user or "-"):
        probs.append("user %s, the data implies %s" % (fields.get("user"),
                                                       user or "-"))
    if fields.get("sender") != want_sender:
        probs.append("sender %s, the data implies %s" % (fields.get("sender"),
                                                         want_sender))
    return probs


def outcome_problems(fields, expect):
    probs = []
    if fields.get("outcome") not in expect.outcomes:
        probs.append("outcome %s (%s), expected %s (%s)" % (
            fields.get("outcome"), fields.get("reason"),
            "/".join(sorted(expect.outcomes)), expect.why))
    want = sorted((to or "-", m) for to, m in expect.replies)
    got = sorted(tuple(x) for x in fields["to"])
    if fields["replies"] != len(expect.replies) or got != want:
        probs.append("replies %d %s, expected %d %s" % (
            fields["replies"], got, len(want), want))
    return probs


def check_file(admin, corpus, rel, row):
    """Returns (status, text): status "ok", "not ok" or "skip"."""
    path = os.path.join(corpus, rel)
    if row is None:
        return "not ok", "not in MANIFEST.tsv"
    for note, why in rules.NOT_A_MESSAGE:
        if note in row["notes"]:
            return "skip", why
    with open(path, "rb") as f:
        d = rules.read_file(f.read())
    disagreement = rules.manifest_disagreement(d, row)
    if disagreement:
        return "not ok", disagreement
    user = rules.derive_user(d)
    with tempfile.TemporaryDirectory(prefix="imip-corpus-") as tmp:
        conf = write_conf(tmp)
        rc, out, err = run_check(admin, conf, path)
        bad = process_problems(rc, out, err)
        fields, why = (None, None) if bad else parse_line(path, out)
        fallback = False
        if fields is not None and fields.get("user") == "-" and user is None:
            # nothing names a recipient: play the MTA's part
            fallback = True
            rc, out, err = run_check(admin, conf, path, rules.FALLBACK_USER)
            bad = process_problems(rc, out, err)
            fields, why = (None, None) if bad else parse_line(path, out)
        left = sorted(os.listdir(os.path.join(tmp)))
    if bad or why:
        return "not ok", bad or why
    probs = identity_problems(fields, d, user, fallback)
    expect = rules.expect_file(d, rules.FALLBACK_USER if fallback else user,
                               row["notes"])
    probs += outcome_problems(fields, expect)
    if left != ["imip.conf"]:
        probs.append("the configured store changed: %s" % left)
    if probs:
        return "not ok", "; ".join(probs)
    return "ok", fields["outcome"]


def check_safely(admin, corpus, rel, row):
    try:
        return check_file(admin, corpus, rel, row)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        return "not ok", "%s: %s" % (type(e).__name__, e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--corpus", default=default_corpus())
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("files", nargs="*", help="corpus-relative paths")
    args = ap.parse_args()
    admin = os.path.join(os.path.abspath(args.build), "tools", "imip-admin")
    if not os.path.exists(os.path.join(args.corpus, "MANIFEST.tsv")):
        print("not ok corpus: no MANIFEST.tsv in %s" % args.corpus)
        print("0 passed, 1 failed")
        return 1
    manifest = read_manifest(args.corpus)
    files = args.files or corpus_files(args.corpus)
    passed = failed = 0
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = pool.map(lambda rel: check_safely(admin, args.corpus, rel,
                                                  manifest.get(rel)), files)
        for rel, (status, text) in zip(files, results):
            if status == "skip":
                print("# skip %s: %s" % (rel, text))
            elif status == "ok":
                passed += 1
                print("ok %s %s" % (rel, text))
            else:
                failed += 1
                print("not ok %s: %s" % (rel, text))
            sys.stdout.flush()
    print("# %d files in %.1f s" % (len(files), time.monotonic() - start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
