#!/bin/sh
# Crash safety of the store and of delivery (DESIGN.md 4.6; docs/store.md:
# atomic writes by temporary file + rename, derived data rebuildable and
# re-derived by the retry, temporary files of a killed writer removed).
#
# usage: tests/concurrency/crash-safety.sh BUILDDIR
#   CRASH_SEED=N repeats a run (the seed is printed); CRASH_KILLS=N (200);
#   CRASH_EARLIEST=F: no kill before F times a message's running time (0;
#   0.6 on PostgreSQL, see below).
#
# The messages of lib-person-messages.sh (2 senders x 30: invitations,
# updates, cancellations, replies to the user's own events) plus two large
# recurring invitations (280 overrides each, ~290 files written under the
# lock) are delivered in a fixed order by `imip-shim --role person
# --deliver mbox:...`, and imip-shim is killed with SIGKILL after a random
# delay, CRASH_KILLS times (about the shim's running time, so kills land
# before, during and after the store writes and the mbox append).  A killed
# delivery is retried as the MTA would (the same message again, maybe
# killed again) until it exits 0.  After every kill:
#   - imip-admin events, requests and freebusy succeed and list no name
#     starting with "." (no temporary file read as data); and
#     every 50th kill also `show` of every event (person_state);
#   - every 25th kill the derived data (requests, freebusy,
#     freebusy-other/, freebusy-offers) is removed and `imip-admin
#     rebuild` run before the retry.
# At the end:
#   - the store equals the store of a serial delivery of the same messages
#     without kills (events, requests, freebusy, --other, show): a kill
#     between writing an event and deriving from it (its request line,
#     its free/busy) is made good by the retry, which finds the event up
#     to date but derives again;
#   - no temporary file (.tmp.*) is left anywhere: the writer that takes
#     the user's lock after a killed one removes them;
#   - after removing the derived data, `imip-admin rebuild` restores it
#     equal to that reference;
#   - the mbox has every message at least once, and every mbox entry is
#     complete (its MIME closing boundary present): a kill never leaves a
#     torn message (a retried message may be there twice: the MTA's
#     at-least-once, counted and printed).
# IMIP_TEST_BACKEND=postgresql (tests/lib-backend.sh): the same on the
# PostgreSQL store (the serial and the killed store each in a database of
# their own), where a kill rolls the session's transaction back whole and
# the server drops its lock: "derived data removed" is a DELETE of the
# user's rows of requests and busy_periods (all three free/busy tables),
# and the walk for temporary files covers what is still files there (the
# static, journal and preference directories; the store directory must
# stay empty).  An imip-shim spends the first ~80% of its run starting and
# connecting and holds its transaction only for the last few ms (a big
# invitation longer), so the kills there start at 0.6 of the running time:
# spread over all of it, fewer than 5% landed inside a transaction.
# Prints PASS/FAIL; exit status 1 on failure, 2 on usage.
set -u

if [ $# -ne 1 ] || [ ! -x "$1/mta-shim/imip-shim" ] || [ ! -x "$1/tools/imip-admin" ]; then
	echo "usage: $0 BUILDDIR (with mta-shim/imip-shim and tools/imip-admin)" >&2
	exit 2
fi
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
SHIM="$BUILD/mta-shim/imip-shim"
ADMIN="$BUILD/tools/imip-admin"
IMIP_NOW=20141120T120000Z
export IMIP_NOW
. "$SRC/tests/lib-imip.sh"
. "$SRC/tests/concurrency/lib-person-messages.sh"
. "$SRC/tests/lib-backend.sh"
NAME="crash-safety$BACKEND_LABEL"

TOP=$(mktemp -d "${TMPDIR:-/tmp}/imip-crash-safety.XXXXXX") || exit 1
trap 'backend_stop; rm -rf "$TOP"' EXIT
trap 'exit 1' INT TERM
start=$(date +%s)
SEED=${CRASH_SEED:-$(date +%s)}
KILLS=${CRASH_KILLS:-200}
EARLIEST=${CRASH_EARLIEST:-0}

fail() {
	echo "FAIL $NAME (seed $SEED): $*"
	exit 1
}
backend_start "$TOP" "$ADMIN" || fail "$BACKEND_ERROR"
[ "$BACKEND" = file ] || EARLIEST=${CRASH_EARLIEST:-0.6}

PERSON_MSG=$TOP/msg
person_messages "$PERSON_MSG" 2 30 || fail "cannot generate the messages"
person_big_message "$PERSON_MSG/big-0.eml" 0 || fail "cannot write big-0.eml"
person_big_message "$PERSON_MSG/big-1.eml" 1 || fail "cannot write big-1.eml"
echo paul.boddie@example.com > "$PERSON_MSG/big-0.from"
echo paul.boddie@example.com > "$PERSON_MSG/big-1.from"
# the order: worker 0, then worker 1, the big ones in between
{
	i=0
	while [ $i -lt 30 ]; do
		echo "0-$i"
		[ $i != 15 ] || echo big-0
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 30 ]; do
		echo "1-$i"
		[ $i != 10 ] || echo big-1
		i=$((i + 1))
	done
} > "$TOP/order"

for run in serial crash; do
	imip_conf "$TOP/$run" || fail "$IMIP_ERROR"
	backend_conf "$TOP/$run/imip.conf" "$run" || fail "$BACKEND_ERROR"
	person_setup "$TOP/$run/imip.conf" "$SHIM" 2> "$TOP/$run/setup.err" ||
		fail "$run: the user's own events: $(cat "$TOP/$run/setup.err")"
done

# $TOP/remove-derived: remove the user's derived data (what `imip-admin
# rebuild` makes again from the calendar objects) of the killed store
if [ "$BACKEND" = postgresql ]; then
	cat > "$TOP/remove-derived" <<EOF
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" \\
	-U "$PG_USER" -d crash -c "
DELETE FROM requests WHERE user_id = (SELECT id FROM users WHERE address = '$PERSON_USER');
DELETE FROM busy_periods WHERE user_id = (SELECT id FROM users WHERE address = '$PERSON_USER')"
EOF
else
	_s=$TOP/crash/store/$PERSON_USER
	cat > "$TOP/remove-derived" <<EOF
rm -rf "$_s/requests" "$_s/freebusy" "$_s/freebusy-other" "$_s/freebusy-offers"
EOF
fi

# the reference: no kills
while read -r m; do
	"$SHIM" -c "$TOP/serial/imip.conf" --role person --recipient "$PERSON_USER" \
		--sender "$(cat "$PERSON_MSG/$m.from")" --deliver "mbox:$TOP/serial/mbox" \
		< "$PERSON_MSG/$m.eml" 2>> "$TOP/serial/log" ||
		fail "serial $m: exit $?: $(tail -n 3 "$TOP/serial/log")"
done < "$TOP/order"
person_state "$TOP/serial/imip.conf" "$ADMIN" "$TOP/serial.state"
! grep -q '^!! ' "$TOP/serial.state" || fail "serial: imip-admin failed: $(grep -A2 '^!! ' "$TOP/serial.state" | head -n 6)"

# On PostgreSQL the server logs each session that ended inside a
# transaction (at level LOG): the count says how many kills landed inside
# one, i.e. how many rollbacks the retries had to make good.
if [ "$BACKEND" = postgresql ]; then
	backend_psql crash "ALTER DATABASE crash SET log_min_messages = 'log'" ||
		fail "psql ALTER DATABASE failed"
fi

# the crash loop (Python: precise delays and SIGKILL of the exact child)
export SHIM ADMIN PERSON_USER PERSON_MSG SEED KILLS EARLIEST TOP SRC
python3 - <<'PY' || fail "$(tail -n 20 "$TOP/crash.report")"
import os, random, signal, subprocess, sys, time
TOP, SHIM, ADMIN, USER = os.environ["TOP"], os.environ["SHIM"], os.environ["ADMIN"], os.environ["PERSON_USER"]
MSG, KILLS = os.environ["PERSON_MSG"], int(os.environ["KILLS"])
EARLIEST = float(os.environ["EARLIEST"])
rng = random.Random(int(os.environ["SEED"]))
conf = TOP + "/crash/imip.conf"
report = open(TOP + "/crash.report", "w")
def die(text):
    report.write(text + "\n"); report.close(); sys.exit(1)
def admin(*args):
    return subprocess.run([ADMIN, "-c", conf] + list(args), capture_output=True, text=True, timeout=30)
def state(tag):
    r = subprocess.run(["sh", "-c", '. "$SRC/tests/lib-imip.sh"; . "$SRC/tests/concurrency/lib-person-messages.sh"; '
                        'person_state "$1" "$2" "$3"', "sh", conf, ADMIN, TOP + "/crash.state"])
    text = open(TOP + "/crash.state").read()
    if "\n!! " in "\n" + text:
        die("after kill %s: imip-admin failed:\n%s" % (tag, text[text.index("!! ") - 300:][:800]))
def check(tag):
    for cmd in ("events", "requests", "freebusy"):
        r = admin(cmd, USER)
        if r.returncode != 0:
            die("after kill %s: imip-admin %s exit %d: %s" % (tag, cmd, r.returncode, r.stderr.strip()))
        for line in r.stdout.splitlines():
            for field in line.split("\t"):
                if field.startswith("."):
                    die("after kill %s: imip-admin %s lists a temporary file: %r" % (tag, cmd, line))
order = open(TOP + "/order").read().split()
# a message's usual running time, for the delays
durations = {}
kills = killed_after_exit = rebuilds = 0
runs = 0
while True:
    for m in order:
        while True:
            sender = open("%s/%s.from" % (MSG, m)).read().strip()
            t0 = time.monotonic()
            p = subprocess.Popen([SHIM, "-c", conf, "--role", "person", "--recipient", USER,
                                  "--sender", sender, "--deliver", "mbox:%s/crash/mbox" % TOP],
                                 stdin=open("%s/%s.eml" % (MSG, m)), stderr=open(TOP + "/crash/log", "a"))
            runs += 1
            if kills < KILLS:
                # a message not yet run to the end: as long as the others
                # (a PostgreSQL session takes longer than 20 ms, and kills
                # that all land before it opens test nothing)
                small = [v for k, v in durations.items() if not k.startswith("big")]
                d = durations.get(m, 0.4 if m.startswith("big") else
                                  sum(small) / len(small) if small else 0.02)
                time.sleep(rng.uniform(d * EARLIEST, d * 1.2))
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
            rc = p.wait()
            if rc == 0:
                durations.setdefault(m, time.monotonic() - t0)
                break
            if rc != -signal.SIGKILL:
                die("%s: imip-shim exit %d (not killed): see the log\n%s" % (m, rc, open(TOP + "/crash/log").read()[-600:]))
            kills += 1
            tag = "%d (%s)" % (kills, m)
            check(tag)
            if kills % 50 == 0:
                state(tag)
            if kills % 25 == 0:
                r = subprocess.run(["sh", TOP + "/remove-derived"], capture_output=True, text=True)
                if r.returncode != 0:
                    die("after kill %s: removing the derived data failed: %s" % (tag, r.stderr))
                r = admin("rebuild", USER)
                if r.returncode != 0:
                    die("after kill %s: imip-admin rebuild exit %d: %s" % (tag, r.returncode, r.stderr))
                rebuilds += 1
    if kills >= KILLS:
        break
    # not enough kills in one pass: another pass (all "already processed")
# every directory the agent writes (store, preferences, static, journal)
temps = [os.path.join(root, n) for root, dirs, files in os.walk(TOP + "/crash")
         for n in files + dirs if n.startswith(".tmp")]
report.write("kills=%d runs=%d rebuilds=%d leftover_temp_files=%d\n" % (kills, runs, rebuilds, len(temps)))
if temps:
    die("temporary files left after the last delivery: %s" % ", ".join(temps[:5]))
report.close()
PY
read -r summary < "$TOP/crash.report"
if [ "$BACKEND" = postgresql ]; then
	rolled=$(grep -c 'unexpected EOF on client connection with an open transaction' "$PG_LOG")
	summary="$summary rolled_back_transactions=$rolled"
	# with this many kills some must land inside a transaction, or the
	# test did not test the rollback
	[ "$KILLS" -lt 50 ] || [ "$rolled" -gt 0 ] ||
		fail "$summary: no kill landed inside a transaction"
fi

person_state "$TOP/crash/imip.conf" "$ADMIN" "$TOP/crash.state"
diff -u "$TOP/serial.state" "$TOP/crash.state" > "$TOP/diff" ||
	fail "after the kills and retries the store differs from the serial one: $(head -n 40 "$TOP/diff")"
sh "$TOP/remove-derived" > "$TOP/remove.err" 2>&1 ||
	fail "removing the derived data: $(cat "$TOP/remove.err")"
"$ADMIN" -c "$TOP/crash/imip.conf" rebuild "$PERSON_USER" > /dev/null 2> "$TOP/rebuild.err" ||
	fail "imip-admin rebuild: $(cat "$TOP/rebuild.err")"
person_state "$TOP/crash/imip.conf" "$ADMIN" "$TOP/rebuilt.state"
diff -u "$TOP/serial.state" "$TOP/rebuilt.state" > "$TOP/diff" ||
	fail "derived data removed + rebuild differs from the serial store: $(head -n 40 "$TOP/diff")"

# the mbox: every message at least once, no torn entry
python3 - "$TOP/crash/mbox" "$TOP/order" > "$TOP/mbox.report" <<'PY' || fail "mbox: $(cat "$TOP/mbox.report")"
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
entries = [e for e in re.split(r"(?m)^From \S+ .*\n", data) if e.strip()]
problems, seen = [], {}
for n, e in enumerate(entries):
    m = re.search(r'(?mi)^Content-Type: multipart/mixed;\s*boundary="([^"]+)"', e)
    if not m or ("\n--" + m.group(1) + "--") not in e:
        problems.append("entry %d is torn or not the summary-wrapped form: %r" % (n, e[:120] + " ... " + e[-120:]))
        continue
    mid = re.search(r"(?m)^Message-I[dD]: <([^>]+)>", e)
    seen[mid.group(1)] = seen.get(mid.group(1), 0) + 1
for m in open(sys.argv[2]).read().split():
    mid = "big-%s@example.com" % m[4:] if m.startswith("big") else "m-%s@example.com" % m
    if mid not in seen:
        problems.append("%s never delivered" % mid)
if problems:
    print("\n".join(problems[:10]))
    sys.exit(1)
print("entries=%d duplicates=%d" % (len(entries), sum(v - 1 for v in seen.values())))
PY
for run in serial crash; do
	backend_check_used "$TOP/$run/store" "$run" > /dev/null || fail "$run: $BACKEND_ERROR"
done
end=$(date +%s)
echo "PASS $NAME (seed $SEED): $summary; store after retries and after rebuild equal to the serial delivery; mbox $(cat "$TOP/mbox.report"), none torn ($((end - start)) s)"
exit 0
