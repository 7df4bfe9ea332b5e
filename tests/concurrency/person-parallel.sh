#!/bin/sh
# No lost update for a person under concurrency (DESIGN.md 4.6: one lock
# per user store, held for the whole read-decide-write of one message).
#
# usage: tests/concurrency/person-parallel.sh BUILDDIR
#
# 8 concurrent `imip-shim --role person` workers each deliver 50 messages
# to the same calendar user (one shared mbox): invitations, updates with
# increasing SEQUENCE, cancellations, updates of shared UIDs where the
# highest SEQUENCE must win, and REPLYs from 8 attendees to the user's own
# events (see lib-person-messages.sh: the final store does not depend on
# the interleaving).  The same messages are then delivered serially, in
# the canonical order (worker 0's messages, then worker 1's, ...), into a
# fresh store.  PASS when:
#   - every parallel imip-shim exited 0 and the mbox holds every message
#     exactly once;
#   - imip-admin events, requests, freebusy, freebusy --other and show of
#     every event are equal for the parallel and the serial store (no
#     update lost, no extra state).
# The resource side (competing REQUESTs for one room) is
# resource-double-booking.sh; the same property through Dovecot LMTP and
# the plugin is dovecot-lmtp-parallel.sh.
# IMIP_TEST_BACKEND=postgresql (tests/lib-backend.sh): the same on the
# PostgreSQL store, the parallel and the serial store each in a database
# of their own on one private server.
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
WORKERS=8
PER_WORKER=50
IMIP_NOW=20141120T120000Z
export IMIP_NOW
. "$SRC/tests/lib-imip.sh"
. "$SRC/tests/concurrency/lib-person-messages.sh"
. "$SRC/tests/lib-backend.sh"
NAME="person-parallel$BACKEND_LABEL"

TOP=$(mktemp -d "${TMPDIR:-/tmp}/imip-person-parallel.XXXXXX") || exit 1
trap 'backend_stop; rm -rf "$TOP"' EXIT
trap 'exit 1' INT TERM
start=$(date +%s)

fail() {
	echo "FAIL $NAME: $*"
	exit 1
}
backend_start "$TOP" "$ADMIN" || fail "$BACKEND_ERROR"

PERSON_MSG=$TOP/msg
person_messages "$PERSON_MSG" "$WORKERS" "$PER_WORKER" || fail "cannot generate the messages"

# deliver DIR W I: message I of worker W to the user, into DIR/mbox
deliver() {
	"$SHIM" -c "$1/imip.conf" --role person --recipient "$PERSON_USER" \
		--sender "$(cat "$PERSON_MSG/$2-$3.from")" --deliver "mbox:$1/mbox" \
		< "$PERSON_MSG/$2-$3.eml" 2>> "$1/log.$2"
}

for run in parallel serial; do
	imip_conf "$TOP/$run" || fail "$IMIP_ERROR"
	backend_conf "$TOP/$run/imip.conf" "$run" || fail "$BACKEND_ERROR"
	person_setup "$TOP/$run/imip.conf" "$SHIM" 2> "$TOP/$run/setup.err" ||
		fail "$run: the user's own events: $(cat "$TOP/$run/setup.err")"
done

# parallel: the workers start together and each walks its own list
workers=
w=0
while [ $w -lt $WORKERS ]; do
	(
		i=0
		while [ $i -lt $PER_WORKER ]; do
			deliver "$TOP/parallel" $w $i
			echo "$w-$i $?" >> "$TOP/parallel/rc.$w"
			i=$((i + 1))
		done
	) &
	workers="$workers $!"
	w=$((w + 1))
done
# by PID: a bare `wait` would also wait for the PostgreSQL server
for p in $workers; do
	wait "$p"
done
par_end=$(date +%s)

# serial: the canonical order
w=0
while [ $w -lt $WORKERS ]; do
	i=0
	while [ $i -lt $PER_WORKER ]; do
		deliver "$TOP/serial" $w $i || fail "serial $w-$i: exit $?: $(tail -n 3 "$TOP/serial/log.$w")"
		i=$((i + 1))
	done
	w=$((w + 1))
done

bad=$(cat "$TOP"/parallel/rc.* | awk '$2 != 0' | head -n 5)
[ -z "$bad" ] || fail "parallel imip-shim failed (message exit-status): $bad $(cat "$TOP"/parallel/log.* | grep -iv 'outcome=' | head -n 5)"
total=$((WORKERS * PER_WORKER))
for run in parallel serial; do
	n=$(grep -c '^Message-ID: <m-' "$TOP/$run/mbox")
	u=$(grep '^Message-ID: <m-' "$TOP/$run/mbox" | sort -u | wc -l)
	[ "$n" = "$total" ] || fail "$run: the mbox holds $n messages, expected $total"
	[ "$u" = "$total" ] ||
		fail "$run: the mbox holds $n messages ($u distinct), expected $total"
	person_state "$TOP/$run/imip.conf" "$ADMIN" "$TOP/$run/state"
	! grep -q '^!! ' "$TOP/$run/state" ||
		fail "$run: imip-admin failed: $(grep -A2 '^!! ' "$TOP/$run/state" | head -n 6)"
done
# a sanity check of the reference itself: 8 REPLYs recorded per own event
n=$(grep -c '^ATTENDEE;PARTSTAT=\(ACCEPTED\|DECLINED\):mailto:attendee-' "$TOP/serial/state")
own=$(find "$PERSON_MSG/setup" -name "*.eml" | wc -l)
[ "$n" = $((own * WORKERS)) ] || fail "serial: $n attendee answers in the store, expected $((own * WORKERS))"
if ! diff -u "$TOP/serial/state" "$TOP/parallel/state" > "$TOP/diff"; then
	fail "the parallel store differs from the serial one ($(grep -c '^[-+][^-+]' "$TOP/diff") lines): $(head -n 40 "$TOP/diff")"
fi
for run in parallel serial; do
	backend_check_used "$TOP/$run/store" "$run" > /dev/null || fail "$run: $BACKEND_ERROR"
done
end=$(date +%s)
echo "PASS $NAME: $total messages by $WORKERS concurrent imip-shim workers to one person ($((par_end - start)) s), store equal to the serial delivery ($(grep -c '^== show' "$TOP/serial/state") events, $n replies), every message delivered once ($((end - start)) s)"
exit 0
