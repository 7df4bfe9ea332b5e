#!/usr/bin/env python3
"""Run the libFuzzer harnesses of a -Dfuzz=true build (tests/fuzz/README.md).

For each harness: first every file of regress/NAME is run once (inputs
that crashed once), then the harness fuzzes for --time seconds starting
from seeds/NAME and regress/NAME.  New inputs libFuzzer finds go to a
scratch directory, never into the tree; a crashing input is written to
BUILD/fuzz-artifacts/.  A harness passes when both runs exit 0.
Ends with "N passed, N failed"."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESSES = ("message", "calendar", "cyrus", "config", "prefs")


def files(d):
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if not f.startswith(".") and f != "README.md")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--time", type=int, default=50,
                    help="seconds of fuzzing per harness")
    ap.add_argument("names", nargs="*", help="harnesses (default: all)")
    args = ap.parse_args()
    names = args.names or HARNESSES
    artifacts = os.path.join(os.path.abspath(args.build), "fuzz-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    env["G_DEBUG"] = "fatal-criticals"
    passed = failed = 0
    for name in names:
        exe = os.path.join(args.build, "tests", "fuzz", "fuzz-" + name)
        seeds = os.path.join(HERE, "seeds", name)
        regress = os.path.join(HERE, "regress", name)
        start = time.monotonic()
        # the harnesses' stores and scratch files go here, removed after
        tmp = tempfile.mkdtemp(prefix="imip-fuzz-" + name + "-")
        env["TMPDIR"] = tmp
        common = ["-artifact_prefix=" + artifacts + "/" + name + "-",
                  "-timeout=25", "-rss_limit_mb=2560", "-print_final_stats=1"]
        ok = True
        why = ""
        if not os.path.exists(exe):
            ok, why = False, "not built: " + exe
        reg = files(regress)
        if ok and reg:
            r = subprocess.run([exe] + common + reg, env=env,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                ok, why = False, "regression input fails"
                sys.stdout.write(r.stderr[-6000:])
        if ok:
            scratch = os.path.join(tmp, "corpus")
            os.makedirs(scratch)
            cmd = [exe] + common + ["-max_total_time=%d" % args.time,
                                    scratch, seeds]
            if reg:
                cmd.append(regress)
            print("+ " + " ".join(cmd), flush=True)
            r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            tail = r.stderr.strip().splitlines()
            stats = [l for l in tail if l.startswith("stat::number_of_executed_units")
                     or l.startswith("Done ")]
            if r.returncode != 0:
                ok, why = False, "exit %d" % r.returncode
                sys.stdout.write("\n".join(tail[-80:]) + "\n")
            elif stats:
                why = stats[-1]
        shutil.rmtree(tmp, ignore_errors=True)
        took = time.monotonic() - start
        if ok:
            passed += 1
            print("PASS fuzz-%s (%d seeds, %d regression inputs, %.0f s) %s"
                  % (name, len(files(seeds)), len(reg), took, why), flush=True)
        else:
            failed += 1
            print("FAIL fuzz-%s (%.0f s): %s" % (name, took, why), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
