#!/bin/sh
# Integration test: imip-shim --role person in front of a real, private
# Dovecot LMTP server (see lib-dovecot.sh): what the calendar user finds in
# the Maildir and in the store.
#  (a) an invitation, default incoming mode (summary-wraps-message): one
#      multipart/mixed message with the original as message/rfc822 and
#      X-iMIP-Outcome: added; imip-admin events lists the event;
#  (b) the same message again: the first outcome (added) with the reason
#      "already processed: ...", still delivered, nothing sent a second
#      time;
#  (c) a broken calendar part: outcome error, delivered, exit 0;
#  (d) two --recipient in one run: each gets its own delivery;
#  (e) Dovecot stopped: exit 75, nothing delivered; after a restart the
#      MTA's retry is "already processed", reports the outcome of the
#      first processing (added) and is delivered carrying it.
#
# Usage: tests/integration/shim-person-dovecot.sh [BUILDDIR]  (default: build)
#   KEEP=1 keeps the temporary directory.
# Needs root; see lib-dovecot.sh.  Prints one PASS/FAIL line; exit status 0
# only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
NAME=shim-person-dovecot
# shellcheck source=SCRIPTDIR/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"

fail() {
	echo "FAIL: $NAME: $*"
	dovecot_log_tail
	exit 1
}

if [ ! -x "$SHIM" ] || [ ! -x "$ADMIN" ]; then
	fail "no imip-shim/imip-admin in $BUILD"
fi
dovecot_mktemp imip-person-dovecot || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
imip_conf "$T/imip" || fail "$IMIP_ERROR"
dovecot_start "$T/dovecot" || fail "$DOVECOT_ERROR"

IMIP_NOW=20141120T120000Z
export IMIP_NOW
PAUL=paul.boddie@example.com
VINCENT=vincent.vole@example.com
HARVEY=harvey.horse@example.com
INVITATION=$SRC/samples/01-invitation.eml
UID1=kickoff-20141126@example.com

# shim STEP TARGET [--recipient R ...] < message; stderr to $T/STEP.err,
# exit status in $rc.
shim() {
	_step=$1 _target=$2
	shift 2
	"$SHIM" -c "$IMIP_CONF" --role person --sender "$PAUL" "$@" \
		--deliver "$_target" 2> "$T/$_step.err"
	rc=$?
}

# expect_log STEP RECIPIENT OUTCOME [REASON]: exactly one log line for the
# recipient, with that outcome (and that reason).
expect_log() {
	_lines=$(grep -c "^imip-shim: role=person recipient=$2 " "$T/$1.err")
	[ "$_lines" = 1 ] || fail "$1: $_lines log lines for $2, expected 1: $(cat "$T/$1.err")"
	_pat="^imip-shim: role=person recipient=$2 .* outcome=$3 "
	[ $# -lt 4 ] || _pat="$_pat"'reason="'"$4"'"$'
	grep -q "$_pat" "$T/$1.err" || \
		fail "$1: expected outcome=$3${4:+ reason=\"$4\"} for $2: $(cat "$T/$1.err")"
}

# expect_count STEP ADDRESS N: N messages in the address's Maildir.
expect_count() {
	_n=$(dovecot_count "$2")
	[ "$_n" = "$3" ] || fail "$1: $_n messages for $2, expected $3"
}

# The top-level header of a stored message (up to the first empty line).
header() {
	sed '/^$/q' "$1"
}

# --- (a) invitation, default incoming mode ---------------------------------------
shim a "lmtp:$DOVECOT_SOCKET" --recipient "$VINCENT" < "$INVITATION"
[ $rc = 0 ] || fail "a: exit $rc: $(cat "$T/a.err")"
expect_log a "$VINCENT" added
expect_count a "$VINCENT" 1
f=$(dovecot_newest_file "$VINCENT")
header "$f" | grep -qi "^Content-Type: multipart/mixed" || \
	fail "a: not multipart/mixed: $(header "$f")"
header "$f" | grep -q "^X-iMIP-Outcome: added" || fail "a: no X-iMIP-Outcome: added"
header "$f" | grep -q "^Delivered-To: $VINCENT" || fail "a: Delivered-To missing"
grep -qi "^Content-Type: message/rfc822" "$f" || fail "a: no message/rfc822 part"
grep -q "^Message-ID: <kickoff-0@example.com>" "$f" || fail "a: original not inside"
"$ADMIN" -c "$IMIP_CONF" events "$VINCENT" > "$T/events.a" 2> "$T/admin.err" || \
	fail "a: imip-admin events failed: $(cat "$T/admin.err")"
grep -q "^$UID1	-	active	" "$T/events.a" || \
	fail "a: event not listed: $(cat "$T/events.a")"
sent_a=$(imip_sendmail_calls "$T/imip")

# --- (b) the same message again ----------------------------------------------------
shim b "lmtp:$DOVECOT_SOCKET" --recipient "$VINCENT" < "$INVITATION"
[ $rc = 0 ] || fail "b: exit $rc: $(cat "$T/b.err")"
expect_log b "$VINCENT" added "already processed: invitation recorded"
expect_count b "$VINCENT" 2
f=$(dovecot_newest_file "$VINCENT")
grep -q "^Message-ID: <kickoff-0@example.com>" "$f" || fail "b: original not delivered"
"$ADMIN" -c "$IMIP_CONF" events "$VINCENT" > "$T/events.b" 2>/dev/null
cmp -s "$T/events.a" "$T/events.b" || fail "b: the store changed on a duplicate"
[ "$(imip_sendmail_calls "$T/imip")" = "$sent_a" ] || fail "b: sent something again"

# --- (c) a broken calendar part ------------------------------------------------------
printf 'From: Paul Boddie <paul.boddie@example.com>\nTo: vincent.vole@example.com\nSubject: broken %s\nMessage-ID: <broken-%s@example.com>\nMIME-Version: 1.0\nContent-Type: text/calendar; charset="utf-8"; method="REQUEST"\n\ngarbage\n' \
	"$$" "$$" > "$T/broken.eml"
shim c "lmtp:$DOVECOT_SOCKET" --recipient "$VINCENT" < "$T/broken.eml"
[ $rc = 0 ] || fail "c: exit $rc, expected 0: $(cat "$T/c.err")"
expect_log c "$VINCENT" error
expect_count c "$VINCENT" 3
f=$(dovecot_newest_file "$VINCENT")
grep -q "^Message-ID: <broken-$$@example.com>" "$f" || fail "c: broken message not delivered"
grep -qx "garbage" "$f" || fail "c: calendar body not delivered"

# --- (d) two recipients in one run (over TCP) ------------------------------------------
shim d "lmtp:127.0.0.1:$DOVECOT_PORT" --recipient "$VINCENT" --recipient "$HARVEY" \
	< "$SRC/samples/02-update.eml"
[ $rc = 0 ] || fail "d: exit $rc: $(cat "$T/d.err")"
expect_log d "$VINCENT" updated
expect_log d "$HARVEY" added
expect_count d "$VINCENT" 4
expect_count d "$HARVEY" 1
for who in "$VINCENT" "$HARVEY"; do
	f=$(dovecot_newest_file "$who")
	header "$f" | grep -q "^Delivered-To: $who" || fail "d: Delivered-To $who missing"
	grep -q "^Message-ID: <kickoff-1@example.com>" "$f" || fail "d: update not delivered to $who"
done
"$ADMIN" -c "$IMIP_CONF" events "$HARVEY" 2>/dev/null | grep -q "^$UID1	-	active	1	" || \
	fail "d: update not recorded for $HARVEY"
sent_d=$(imip_sendmail_calls "$T/imip")

# --- (e) Dovecot down, then the MTA's retry ------------------------------------------
dovecot_stop
shim e1 "lmtp:$DOVECOT_SOCKET" --recipient "$VINCENT" < "$SRC/samples/05-recurring.eml"
[ $rc = 75 ] || fail "e: exit $rc with Dovecot stopped, expected 75: $(cat "$T/e1.err")"
expect_count e "$VINCENT" 4
dovecot_start "$T/dovecot" || fail "e: restart: $DOVECOT_ERROR"
expect_count e "$VINCENT" 4
shim e2 "lmtp:$DOVECOT_SOCKET" --recipient "$VINCENT" < "$SRC/samples/05-recurring.eml"
[ $rc = 0 ] || fail "e: retry exit $rc: $(cat "$T/e2.err")"
expect_log e2 "$VINCENT" added "already processed: invitation recorded"
expect_count e "$VINCENT" 5
f=$(dovecot_newest_file "$VINCENT")
grep -q "^Message-ID: <team-meeting@example.com>" "$f" || fail "e: retry not delivered"
grep -q "^X-iMIP-Outcome: added" "$f" || fail "e: the retry's copy does not carry the first outcome"
"$ADMIN" -c "$IMIP_CONF" events "$VINCENT" 2>/dev/null | \
	grep -q "^team-meeting-2014@example.com	-	active	" || \
	fail "e: the event is not in the store"
[ "$(imip_sendmail_calls "$T/imip")" = "$sent_d" ] || fail "e: the retry sent something again"

echo "PASS: $NAME (invitation, duplicate, broken, two recipients, Dovecot down and retry)"
exit 0
