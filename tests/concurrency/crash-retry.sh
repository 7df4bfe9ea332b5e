#!/bin/sh
# The retry of a delivery killed between two writes ends with the store an
# uninterrupted delivery leaves (DESIGN.md 4.2 and 4.6, docs/store.md
# sections 1 and 6).  crash-safety.sh kills at random; this test puts the
# store in the state of each crash window on purpose, so that every window
# is tried on every run:
#
#  (a) killed after objects/<uid> and the user's own free/busy were
#      renamed into place, before the rest: `requests`, `freebusy-other/`,
#      `seen` and the published free/busy are as before the message, a
#      temporary file of the next write is left in objects/, and the
#      killed writer's byte is still in .lock.  The MTA's retry finds the
#      event up to date and the user's free/busy unchanged; it must still
#      write the request line and the organiser's free/busy, publish, and
#      remove the temporary file;
#  (b) killed after a CANCEL moved the event to cancellations/, before the
#      request line went: the retry (the cancellation is "not newer" now)
#      must remove the line;
#  (c) killed after the master of a recurring invitation was written,
#      before its override: the retry writes the override only, and must
#      mark the components as an uninterrupted delivery does (one request,
#      for the whole event).
# Each end state is compared with a delivery that was not interrupted.
#
# File store only: it builds the file store's crash states by hand (files
# removed, a temporary file, a byte in .lock).  The PostgreSQL store has
# no such states: a session is one transaction, which a kill rolls back
# whole, so a retry starts from the store before the message; that, and
# the lock a killed writer leaves, are tested with IMIP_TEST_BACKEND=
# postgresql by crash-safety.sh and lock-recovery.sh.  With that setting
# this test says so and exits 77 (not applicable).
#
# usage: tests/concurrency/crash-retry.sh BUILDDIR
# Prints PASS/FAIL; exit status 1 on failure, 2 on usage.
set -u

if [ "${IMIP_TEST_BACKEND:-file}" != file ]; then
	echo "crash-retry: not applicable to IMIP_TEST_BACKEND=$IMIP_TEST_BACKEND (file store crash states; see the header)"
	exit 77
fi

if [ $# -ne 1 ] || [ ! -x "$1/mta-shim/imip-shim" ] || [ ! -x "$1/tools/imip-admin" ]; then
	echo "usage: $0 BUILDDIR (with mta-shim/imip-shim and tools/imip-admin)" >&2
	exit 2
fi
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
SHIM="$BUILD/mta-shim/imip-shim"
ADMIN="$BUILD/tools/imip-admin"
USER_ADDR=vincent.vole@example.com
ORG=paul.boddie@example.com
IMIP_NOW=20141120T120000Z
export IMIP_NOW
. "$SRC/tests/lib-imip.sh"

TOP=$(mktemp -d "${TMPDIR:-/tmp}/imip-crash-retry.XXXXXX") || exit 1
trap 'rm -rf "$TOP"' EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL crash-retry: $*"
	exit 1
}

message() {	# METHOD SEQUENCE MESSAGE-ID
	printf 'From: <%s>\nTo: <%s>\nSubject: %s\nMessage-ID: <%s>\nMIME-Version: 1.0\n' \
		"$ORG" "$USER_ADDR" "$1" "$3"
	printf 'Content-Type: text/calendar; charset="utf-8"; method=%s\n\n' "$1"
	printf 'BEGIN:VCALENDAR\nPRODID:-//test//EN\nVERSION:2.0\nMETHOD:%s\n' "$1"
	printf 'BEGIN:VEVENT\nUID:event1@example.com\nSEQUENCE:%s\nDTSTAMP:20141120T10000%sZ\n' "$2" "$2"
	printf 'DTSTART:20141126T150000Z\nDTEND:20141126T160000Z\nSUMMARY:Meeting\n'
	printf 'ORGANIZER:mailto:%s\nATTENDEE;PARTSTAT=ACCEPTED:mailto:%s\n' "$ORG" "$ORG"
	# the organiser counts the user in: busy in the user's own free/busy
	printf 'ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:%s\n' "$USER_ADDR"
	[ "$1" != CANCEL ] || printf 'STATUS:CANCELLED\n'
	printf 'END:VEVENT\nEND:VCALENDAR\n'
}
message REQUEST 0 request@example.com > "$TOP/request.eml"
message CANCEL 1 cancel@example.com > "$TOP/cancel.eml"
{
	printf 'From: <%s>\nTo: <%s>\nSubject: weekly\nMessage-ID: <weekly@example.com>\n' "$ORG" "$USER_ADDR"
	printf 'MIME-Version: 1.0\nContent-Type: text/calendar; method=REQUEST\n\n'
	printf 'BEGIN:VCALENDAR\nPRODID:-//test//EN\nVERSION:2.0\nMETHOD:REQUEST\n'
	for rid in '' 20141204T090000Z; do
		printf 'BEGIN:VEVENT\nUID:weekly@example.com\nSEQUENCE:0\nDTSTAMP:20141120T100000Z\n'
		if [ -z "$rid" ]; then
			printf 'DTSTART:20141127T090000Z\nDTEND:20141127T100000Z\nRRULE:FREQ=WEEKLY;COUNT=3\n'
		else
			printf 'RECURRENCE-ID:%s\nDTSTART:20141204T110000Z\nDTEND:20141204T120000Z\n' "$rid"
		fi
		printf 'SUMMARY:Weekly\nORGANIZER:mailto:%s\n' "$ORG"
		printf 'ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:%s\nEND:VEVENT\n' "$USER_ADDR"
	done
	printf 'END:VCALENDAR\n'
} > "$TOP/weekly.eml"

deliver() {	# RUN MESSAGE
	"$SHIM" -c "$TOP/$1/imip.conf" --role person --recipient "$USER_ADDR" \
		--sender "$ORG" --deliver "mbox:$TOP/$1/mbox" < "$TOP/$2.eml" \
		2>> "$TOP/$1/log" || fail "$1 $2: exit $?: $(tail -n 3 "$TOP/$1/log")"
}

state() {	# RUN OUT
	{
		for cmd in events requests freebusy "freebusy --other $ORG"; do
			echo "== $cmd"
			# shellcheck disable=SC2086  # cmd holds its arguments
			"$ADMIN" -c "$TOP/$1/imip.conf" $cmd "$USER_ADDR" 2>&1
		done
		echo "== static"
		cat "$TOP/$1/static/$USER_ADDR/freebusy" 2>&1
	} > "$2"
}

for run in serial crash; do
	imip_conf "$TOP/$run" || fail "$IMIP_ERROR"
	for pref in "freebusy_sharing share" "freebusy_publishing publish"; do
		# shellcheck disable=SC2086  # NAME VALUE
		"$ADMIN" -c "$TOP/$run/imip.conf" pref "$USER_ADDR" $pref > /dev/null ||
			fail "imip-admin pref $pref"
	done
done
STORE=$TOP/crash/store/$USER_ADDR

# (a) the invitation
deliver serial request
state serial "$TOP/serial.a"
if ! grep -q "^event1@example.com	-	request" "$TOP/serial.a" ||
	! grep -q "^FREEBUSY" "$TOP/serial.a"; then
	fail "(a) no request line or nothing published after an uninterrupted delivery: $(cat "$TOP/serial.a")"
fi
deliver crash request
rm -rf "$STORE/requests" "$STORE/freebusy-other" "$STORE/seen" \
	"$TOP/crash/static/$USER_ADDR/freebusy"
echo half > "$STORE/objects/.tmp.Ab12Cd"
printf w > "$STORE/.lock"
deliver crash request
grep -q "up to date" "$TOP/crash/log" ||
	fail "(a) the retry did not find the event up to date: $(tail -n 2 "$TOP/crash/log")"
state crash "$TOP/crash.a"
diff -u "$TOP/serial.a" "$TOP/crash.a" > "$TOP/diff" ||
	fail "(a) the retry left another store than an uninterrupted delivery: $(cat "$TOP/diff")"
[ ! -e "$STORE/objects/.tmp.Ab12Cd" ] || fail "(a) the killed writer's temporary file is still there"
[ ! -s "$STORE/.lock" ] || fail "(a) the lock file keeps a byte after a session that ended"

# (b) the cancellation
deliver serial cancel
state serial "$TOP/serial.b"
cp "$STORE/requests" "$TOP/requests.before"
deliver crash cancel
cp "$TOP/requests.before" "$STORE/requests"
rm -f "$STORE/seen"
deliver crash cancel
state crash "$TOP/crash.b"
diff -u "$TOP/serial.b" "$TOP/crash.b" > "$TOP/diff" ||
	fail "(b) the retry left another store than an uninterrupted delivery: $(cat "$TOP/diff")"
! grep -q "	request$" "$TOP/crash.b" || fail "(b) the cancelled event is still a request"

# (c) the recurring invitation, master and override
deliver serial weekly
state serial "$TOP/serial.c"
grep -q "^weekly@example.com	20141204T090000Z	active" "$TOP/serial.c" ||
	fail "(c) the override was not stored: $(cat "$TOP/serial.c")"
deliver crash weekly
rm -rf "$STORE/recurrences" "$STORE/requests" "$STORE/seen"
deliver crash weekly
state crash "$TOP/crash.c"
diff -u "$TOP/serial.c" "$TOP/crash.c" > "$TOP/diff" ||
	fail "(c) the retry left another store than an uninterrupted delivery: $(cat "$TOP/diff")"

echo "PASS crash-retry: a retry after a kill between the event and what derives from it (request line, free/busy, published file, temporary file), inside a cancellation and between a master and its override ends equal to an uninterrupted delivery"
exit 0
