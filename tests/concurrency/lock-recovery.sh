#!/bin/sh
# A store lock left by a killed process is recovered at once (DESIGN.md
# 4.6; common/store-file.c: the lock is flock(2) on <store>/<user>/.lock,
# which the kernel drops when the holder dies -- no stale lock file to
# clean up, no timeout to wait for).
#
# usage: tests/concurrency/lock-recovery.sh BUILDDIR
#
#  (a) a helper process takes the user's lock (flock LOCK_EX on .lock) and
#      keeps it; an imip-shim delivery started then must wait (still
#      running after 1 s, nothing delivered); the helper is killed with
#      SIGKILL: the waiting imip-shim must finish within 1 s, exit 0, and
#      the invitation be in the store;
#  (b) a real imip-shim is stopped (SIGSTOP) while it holds the lock (a
#      large recurring invitation with 280 overrides keeps it ~0.3 s;
#      found by probing the lock with LOCK_NB, retried until caught), then
#      killed with SIGKILL: the next delivery finishes within 1 s; the
#      store reads back (imip-admin events, requests, show); the killed
#      message, redelivered as the MTA would, is recorded.
# IMIP_TEST_BACKEND=postgresql (tests/lib-backend.sh): the same on the
# PostgreSQL store, whose lock is a session-level advisory lock on the user
# (common/store-pg.h) that the server releases when the holder's
# connection ends: in (a) the helper is a psql session that took that
# lock (pg_advisory_lock) and sits idle, as an agent between two
# statements does; "held" is probed with pg_try_advisory_lock from another
# session; in (b) the kill must also roll the victim's transaction back
# whole (the store reads back, nothing half-written is listed).
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
USER_ADDR=vincent.vole@example.com
IMIP_NOW=20141120T120000Z
export IMIP_NOW
. "$SRC/tests/lib-imip.sh"
. "$SRC/tests/lib-process.sh"
. "$SRC/tests/concurrency/lib-person-messages.sh"
. "$SRC/tests/lib-backend.sh"
NAME="lock-recovery$BACKEND_LABEL"

TOP=$(mktemp -d "${TMPDIR:-/tmp}/imip-lock-recovery.XXXXXX") || exit 1
HOLDER='' VICTIM='' WAITER=''
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	for p in $HOLDER $VICTIM $WAITER; do
		kill -CONT "$p" 2>/dev/null
		process_stop "$p" 5
	done
	exec 3>&-
	backend_stop
	rm -rf "$TOP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
start=$(date +%s)

fail() {
	echo "FAIL $NAME: $*"
	exit 1
}
backend_start "$TOP" "$ADMIN" || fail "$BACKEND_ERROR"
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}
imip_conf "$TOP/imip" || fail "$IMIP_ERROR"
CONF=$TOP/imip/imip.conf
DB=lock
backend_conf "$CONF" "$DB" || fail "$BACKEND_ERROR"
"$ADMIN" -c "$CONF" init-user "$USER_ADDR" > /dev/null || fail "imip-admin init-user failed"
LOCK=$TOP/imip/store/$USER_ADDR/.lock
KEY=$(backend_user_lock_sql "$USER_ADDR")
if [ "$BACKEND" = file ]; then
	[ -f "$LOCK" ] || fail "no lock file $LOCK after init-user"
fi

# lock_state: "held" or "free" (a non-blocking exclusive flock attempt; on
# PostgreSQL pg_try_advisory_lock in a session of its own, which ends at
# once and so releases what it got)
lock_state() {
	if [ "$BACKEND" = postgresql ]; then
		case $(backend_psql "$DB" "SELECT pg_try_advisory_lock($KEY)") in
		t) echo free ;;
		f) echo held ;;
		*) echo "psql failed" ;;
		esac
		return
	fi
	python3 -c '
import fcntl, sys
f = open(sys.argv[1])
try:
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("free")
except BlockingIOError:
    print("held")' "$LOCK"
}

# wait_free LIMIT_MS: poll lock_state until "free"; sets freed (ms).  On
# PostgreSQL the server releases the lock when it sees the connection
# end, a moment after the kill.
wait_free() {
	_t0=$(now_ms)
	until [ "$(lock_state)" = free ]; do
		freed=$(($(now_ms) - _t0))
		[ "$freed" -le "$1" ] || return 1
		sleep 0.01
	done
	freed=$(($(now_ms) - _t0))
}

# wait_exit PID LIMIT_MS: wait for a child to end, polling every 10 ms;
# sets waited (ms) and wrc (its exit status), or fails after LIMIT_MS.
wait_exit() {
	_t0=$(now_ms)
	while kill -0 "$1" 2>/dev/null && ! ps -o stat= -p "$1" | grep -q Z; do
		waited=$(($(now_ms) - _t0))
		[ "$waited" -le "$2" ] || return 1
		sleep 0.01
	done
	wait "$1"
	wrc=$?
	waited=$(($(now_ms) - _t0))
	return 0
}

# --- (a) a helper holds the lock, then dies by SIGKILL ------------------------------
if [ "$BACKEND" = postgresql ]; then
	# psql reads its statements from a FIFO kept open by fd 3: after
	# taking the lock it waits, idle, for more (the server side then
	# notices the end of the connection at once, as with a killed agent)
	mkfifo "$TOP/holder.in" || fail "mkfifo failed"
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" \
		-p "$PG_PORT" -U "$PG_ROLE" -d "$DB" < "$TOP/holder.in" \
		> "$TOP/holder.out" 2>&1 &
	HOLDER=$!
	exec 3> "$TOP/holder.in"
	printf 'SELECT pg_advisory_lock(%s);\n\\! echo locked > %s\n' \
		"$KEY" "$TOP/holder.ready" >&3
else
	python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").write("locked\n")
time.sleep(120)' "$LOCK" "$TOP/holder.ready" &
	HOLDER=$!
fi
i=0
while [ ! -s "$TOP/holder.ready" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "a: the helper did not take the lock: $(cat "$TOP/holder.out" 2>/dev/null)"
	sleep 0.05
done
[ "$(lock_state)" = held ] || fail "a: the helper's lock is not seen as held"
"$SHIM" -c "$CONF" --role person --recipient "$USER_ADDR" \
	--sender paul.boddie@example.com --deliver "mbox:$TOP/mbox" \
	< "$SRC/samples/01-invitation.eml" 2> "$TOP/a.err" &
WAITER=$!
sleep 1
kill -0 "$WAITER" 2>/dev/null || fail "a: imip-shim did not wait for the held lock: $(cat "$TOP/a.err")"
[ ! -s "$TOP/mbox" ] || fail "a: delivered while the lock was held"
kill -KILL "$HOLDER"
wait "$HOLDER" 2>/dev/null
HOLDER=
exec 3>&-
wait_exit "$WAITER" 3000 || fail "a: imip-shim still waiting $waited ms after the holder was killed"
WAITER=
a_ms=$waited
[ "$wrc" = 0 ] || fail "a: imip-shim exit $wrc: $(cat "$TOP/a.err")"
[ "$a_ms" -lt 1000 ] || fail "a: imip-shim took $a_ms ms after the holder was killed (limit 1000)"
"$ADMIN" -c "$CONF" events "$USER_ADDR" | grep -q '^kickoff-20141126@example.com	-	active	0	' ||
	fail "a: the invitation is not in the store: $("$ADMIN" -c "$CONF" events "$USER_ADDR" 2>&1)"

# --- (b) a real imip-shim stopped while it holds the lock, then SIGKILL ---------------
person_big_message "$TOP/big.eml" || fail "cannot write big.eml"
caught=0
attempt=0
while [ $caught = 0 ] && [ $attempt -lt 40 ]; do
	attempt=$((attempt + 1))
	"$SHIM" -c "$CONF" --role person --recipient "$USER_ADDR" \
		--sender paul.boddie@example.com --deliver "mbox:$TOP/mbox" \
		< "$TOP/big.eml" 2> "$TOP/b.err" &
	VICTIM=$!
	# a delay of 0.02 .. 0.30 s, varied over the attempts
	sleep "0.$(printf '%02d' $((2 + (attempt * 7) % 29)))"
	kill -STOP "$VICTIM" 2>/dev/null
	if [ "$(lock_state)" = held ]; then
		caught=1
		break
	fi
	kill -CONT "$VICTIM" 2>/dev/null
	wait "$VICTIM"
	VICTIM=
	# processed (or already processed) without being caught: start again
	if [ "$BACKEND" = postgresql ]; then
		backend_psql "$DB" "DELETE FROM objects WHERE rid <> ''; DELETE FROM seen" ||
			fail "b: psql DELETE failed"
	else
		rm -rf "$TOP/imip/store/$USER_ADDR/recurrences" "$TOP/imip/store/$USER_ADDR/seen"
	fi
done
[ $caught = 1 ] || fail "b: never caught imip-shim holding the lock in $attempt attempts"
kill -KILL "$VICTIM"
wait "$VICTIM" 2>/dev/null
VICTIM=
wait_free 1000 || fail "b: the lock is still held $freed ms after the holder was killed"
"$SHIM" -c "$CONF" --role person --recipient "$USER_ADDR" \
	--sender paul.boddie@example.com --deliver "mbox:$TOP/mbox" \
	< "$SRC/samples/02-update.eml" 2> "$TOP/b2.err" &
WAITER=$!
wait_exit "$WAITER" 3000 || fail "b: the next delivery still running after $waited ms"
WAITER=
b_ms=$waited
[ "$wrc" = 0 ] || fail "b: next delivery exit $wrc: $(cat "$TOP/b2.err")"
[ "$b_ms" -lt 1000 ] || fail "b: the next delivery took $b_ms ms (limit 1000)"
grep -q 'outcome=updated' "$TOP/b2.err" || fail "b: the update was not recorded: $(cat "$TOP/b2.err")"
for cmd in events requests; do
	"$ADMIN" -c "$CONF" $cmd "$USER_ADDR" > "$TOP/$cmd" 2> "$TOP/admin.err" ||
		fail "b: imip-admin $cmd fails after the kill: $(cat "$TOP/admin.err")"
done
"$ADMIN" -c "$CONF" show "$USER_ADDR" kickoff-20141126@example.com > /dev/null 2> "$TOP/admin.err" ||
	fail "b: imip-admin show fails after the kill: $(cat "$TOP/admin.err")"
# the MTA retries the killed delivery
"$SHIM" -c "$CONF" --role person --recipient "$USER_ADDR" \
	--sender paul.boddie@example.com --deliver "mbox:$TOP/mbox" \
	< "$TOP/big.eml" 2> "$TOP/b3.err" || fail "b: redelivery failed: $(cat "$TOP/b3.err")"
"$ADMIN" -c "$CONF" events "$USER_ADDR" > "$TOP/events" 2> "$TOP/admin.err" ||
	fail "b: imip-admin events fails after the redelivery: $(cat "$TOP/admin.err")"
grep -q '^big@example.com	-	active	0	' "$TOP/events" || fail "b: big@ not recorded after the redelivery: $(head -n 5 "$TOP/events")"
n=$(grep -c '^big@example.com	2014' "$TOP/events")
[ "$n" = 280 ] || fail "b: $n overrides of big@ listed after the redelivery, expected 280"
grep -q '^kickoff-20141126@example.com	-	active	1	' "$TOP/events" || fail "b: the update got lost"
backend_check_used "$TOP/imip/store" "$DB" > /dev/null || fail "$BACKEND_ERROR"
end=$(date +%s)
what="the flock"
[ "$BACKEND" = file ] || what="the advisory lock (psql)"
echo "PASS $NAME: (a) helper holding $what killed -> waiting imip-shim done in $a_ms ms; (b) imip-shim SIGSTOPped holding the lock (attempt $attempt) then SIGKILLed -> next delivery in $b_ms ms, store reads back, redelivery recorded ($((end - start)) s)"
exit 0
