#!/bin/sh
# Integration test: imip-shim's hand-back (--deliver) into a real, private
# Dovecot LMTP server (reference/dovecot.md section 17.4), over a UNIX
# socket and over TCP on 127.0.0.1, then checks the Maildir files:
#  - a plain message arrives with its body byte for byte (dot-stuffing
#    undone), the envelope sender as Return-Path;
#  - with the incoming preference summary-then-message, a calendar REQUEST
#    gives two messages in one LMTP session: the summary first, then the
#    original unchanged;
#  - a target nobody listens on is a temporary failure (exit 75).
#
# Usage: tests/integration/shim-deliver-dovecot.sh [BUILDDIR]  (default: build)
#   KEEP=1 keeps the temporary directory.
# Needs root; see lib-dovecot.sh.  Prints one PASS/FAIL line; exit status 0
# only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
NAME=shim-deliver-dovecot
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
dovecot_mktemp imip-shim-dovecot || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
imip_conf "$T/imip" || fail "$IMIP_ERROR"
dovecot_start "$T/dovecot" || fail "$DOVECOT_ERROR"

IMIP_NOW=20141120T120000Z
export IMIP_NOW
PAUL=paul.boddie@example.com
VINCENT=vincent.vole@example.com
HARVEY=harvey.horse@example.com

# shim N SENDER RECIPIENT TARGET < message: stderr goes to $T/shimN.err
shim() {
	"$SHIM" -c "$IMIP_CONF" --role person --sender "$2" --recipient "$3" \
		--deliver "$4" 2> "$T/shim$1.err"
}

# The body of a stored or sent message: everything after the first empty
# line, line ends as LF (Dovecot stores LF; LMTP carries CRLF).
body() {
	tr -d '\r' < "$1" | sed '1,/^$/d'
}

# --- 1. a plain message over the UNIX socket -----------------------------------
TOKEN="imip-$$-$(date +%s)"
# CRLF, with lines LMTP must dot-stuff (".", ".x", "..") and one an mbox
# writer would quote ("From ").
printf 'From: Paul Boddie <paul.boddie@example.com>\r\nTo: harvey.horse@example.com\r\nSubject: unix %s\r\nMessage-ID: <%s.1@example.com>\r\n\r\nfirst line\r\n.dotline %s\r\n..two dots\r\n.\r\n\r\nFrom the start of a line\r\ntrailing space \r\nlast line\r\n' \
	"$TOKEN" "$TOKEN" "$TOKEN" > "$T/m1.eml"
shim 1 "$PAUL" "$HARVEY" "lmtp:$DOVECOT_SOCKET" < "$T/m1.eml"
rc=$?
[ $rc = 0 ] || fail "UNIX-socket delivery exited $rc: $(cat "$T/shim1.err")"
grep -q "recipient=$HARVEY .*outcome=no_action" "$T/shim1.err" || \
	fail "no no_action log line for the plain message: $(cat "$T/shim1.err")"

# --- 2. summary-then-message over TCP --------------------------------------------
"$ADMIN" -c "$IMIP_CONF" pref "$VINCENT" incoming summary-then-message \
	2> "$T/admin.err" || fail "imip-admin pref failed: $(cat "$T/admin.err")"
shim 2 "$PAUL" "$VINCENT" "lmtp:127.0.0.1:$DOVECOT_PORT" \
	< "$SRC/samples/01-invitation.eml"
rc=$?
[ $rc = 0 ] || fail "TCP delivery exited $rc: $(cat "$T/shim2.err")"
grep -q "recipient=$VINCENT method=REQUEST .*outcome=added" "$T/shim2.err" || \
	fail "invitation not added: $(cat "$T/shim2.err")"

# --- 3. a target nobody listens on: temporary failure ------------------------------
DEAD=$(dovecot_free_port)
shim 3 "$PAUL" "$HARVEY" "lmtp:127.0.0.1:$DEAD" < "$T/m1.eml"
rc=$?
[ $rc = 75 ] || fail "delivery to a closed port exited $rc, expected 75: $(cat "$T/shim3.err")"

# --- checks ------------------------------------------------------------------
[ "$(dovecot_count "$HARVEY")" = 1 ] || fail "expected 1 message for $HARVEY"
[ "$(dovecot_count "$VINCENT")" = 2 ] || fail "expected 2 messages for $VINCENT"

f=$(dovecot_files "$HARVEY")
grep -q "^Subject: unix $TOKEN" "$f" || fail "subject missing in $f"
grep -q "^Delivered-To: $HARVEY" "$f" || fail "Delivered-To missing"
grep -q "^Return-Path: <$PAUL>" "$f" || fail "Return-Path (envelope sender) wrong"
body "$T/m1.eml" > "$T/m1.body"
body "$f" > "$T/got1.body"
cmp -s "$T/m1.body" "$T/got1.body" || \
	fail "plain message body changed: $(diff "$T/m1.body" "$T/got1.body" | head -n 10)"

# order: the summary was delivered before the original
# shellcheck disable=SC2046  # mktemp paths have no blanks
set -- $(dovecot_files "$VINCENT")
[ $# = 2 ] || fail "cannot list the messages of $VINCENT"
summary=$1 original=$2
grep -q "^X-iMIP-Outcome: added" "$summary" || \
	fail "first message is not the summary: $(head -n 20 "$summary")"
grep -q "^In-Reply-To: <kickoff-0@example.com>" "$summary" || \
	fail "summary does not refer to the original"
grep -q "^Message-ID: <kickoff-0@example.com>" "$original" || \
	fail "second message is not the original: $(head -n 20 "$original")"
grep -q "^X-iMIP-Outcome:" "$original" && fail "the original was altered (X-iMIP-Outcome)"
grep -q "^Delivered-To: $VINCENT" "$original" || fail "Delivered-To missing in the original"
body "$SRC/samples/01-invitation.eml" > "$T/inv.body"
body "$original" > "$T/got2.body"
cmp -s "$T/inv.body" "$T/got2.body" || \
	fail "original body changed: $(diff "$T/inv.body" "$T/got2.body" | head -n 10)"

echo "PASS: $NAME (imip-shim --deliver over UNIX socket and 127.0.0.1:$DOVECOT_PORT)"
exit 0
