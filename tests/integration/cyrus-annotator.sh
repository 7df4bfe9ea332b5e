#!/bin/sh
# shellcheck disable=SC2016  # $iMIP flags are literal
# Integration test: imip-cyrus-annotator behind a private Cyrus IMAP 3.6
# (lib-cyrus.sh), mail delivered over LMTP, results read back over IMAP
# (flags and annotations) and from the store with imip-admin.
#  (a) an invitation: $iMIP $iMIP-added, annotations outcome and reason,
#      the event in alice's store;
#  (b) its update (SEQUENCE 1): $iMIP-updated;
#  (c) a REPLY to alice's own event (her copy recorded by imip-shim
#      --role outgoing): $iMIP-updated, the attendee's answer stored;
#  (d) the cancellation: $iMIP-cancelled, the event cancelled;
#  (e) a broken calendar part: delivered, $iMIP-error;
#  (f) mail without calendar data: delivered, no flags;
#  (g) a user who is a resource (cyrus_resources): the room answers the
#      organiser (ACCEPTED, through sendmail_path), $iMIP-replied;
#  (h) IMAP APPEND: into INBOX a calendar message is processed like a
#      delivery (flags in the APPEND); into Sent it is not; a message
#      already flagged $iMIP is not processed again, and neither is one
#      run through XRUNANNOTATOR;
#  (i) a slow request (alice's store locked by another process): Cyrus
#      gets an answer without changes within cyrus_answer_timeout, and the
#      event is recorded once the lock is free;
#  (l) broken requests straight on the socket (garbage, a truncated
#      frame, a FILENAME outside any mailbox, a path with ".."): each is
#      answered "()" (no change) and the daemon keeps serving;
#  (j) the daemon stopped: delivery still succeeds, no flags;
#  (k) executable mode, Cyrus without annotation definitions: the answer
#      carries flags only (an undeclared annotation would make Cyrus
#      bounce the mail) and the delivery succeeds.
#
# Usage: tests/integration/cyrus-annotator.sh [BUILDDIR]  (default: build)
#   KEEP=1 keeps the temporary directory.
#   IMIP_TEST_BACKEND=postgresql: the same on the PostgreSQL store
#   (tests/lib-backend.sh; Cyrus murder backends sharing one database):
#   in (i) the store is held by a session holding alice's advisory lock,
#   and at the end the file store must be empty and the database used.
# Needs root (Cyrus and the daemon run as the cyrus user).  Prints one
# PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
ANNOTATOR=$BUILD/cyrus-hook/imip-cyrus-annotator
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
NAME=cyrus-annotator
# shellcheck source=SCRIPTDIR/lib-cyrus.sh
. "$SRC/tests/integration/lib-cyrus.sh"
# shellcheck source=SCRIPTDIR/../lib-imip.sh
. "$SRC/tests/lib-imip.sh"
# shellcheck source=SCRIPTDIR/lib-annotator.sh
. "$SRC/tests/integration/lib-annotator.sh"
# shellcheck source=SCRIPTDIR/../lib-backend.sh
. "$SRC/tests/lib-backend.sh"

for f in "$ANNOTATOR" "$SHIM" "$ADMIN"; do
	[ -x "$f" ] || fail "no $f (build first)"
done
cyrus_mktemp imip-cyrus-annotator || fail "$CYRUS_ERROR"
trap 'backend_stop; annotator_cleanup' EXIT
T=$CYRUS_DIR

IMIP_NOW=20261120T120000Z
export IMIP_NOW
ENTRIES=/vendor/imip-agent/outcome,/vendor/imip-agent/reason

# --- set-up -------------------------------------------------------------------

mkdir -p "$T/run" "$T/msg" || fail "mkdir"
SOCK=$T/run/annotator.sock
cp "$SRC/conf/cyrus/annotations.conf" "$T/annotations.conf" || fail "no conf/cyrus/annotations.conf"
CYRUS_CALLOUT=$SOCK
CYRUS_ANNOTATION_DEFS=$T/annotations.conf
cyrus_start || fail "$CYRUS_ERROR"
for u in alice room; do
	cyrus_user $u || fail "$CYRUS_ERROR"
done

imip_conf "$T/imip" || fail "$IMIP_ERROR"
# the annotator runs as the cyrus user: the server's socket must be open
PG_SOCKET_MODE=0755
backend_start "$T" "$ADMIN" && backend_conf "$IMIP_CONF" cyrus ||
	fail "$BACKEND_ERROR"
cat >> "$IMIP_CONF" <<EOF
cyrus_imapd_conf = $CYRUS_CONF
cyrus_socket = $SOCK
cyrus_resources = room@example.com
cyrus_answer_timeout = 2
EOF

# deliver FROM USER FILE: LMTP, must be accepted (250)
deliver() {
	_code=$(cyrus_client deliver --socket "$CYRUS_LMTP_SOCKET" --from "$1" \
		--to "$2" "$T/msg/$3" 2> "$T/deliver.err")
	[ "$_code" = 250 ] || fail "delivery of $3 to $2: $_code $(cat "$T/deliver.err")"
}

# last USER [FOLDER]: "flags=... outcome=... reason=..." of the newest message
last() {
	cyrus_client fetch --port "$CYRUS_IMAP_PORT" --user "$1" \
		--folder "${2:-INBOX}" --annotations "$ENTRIES" > "$T/fetch.out" ||
		fail "IMAP fetch for $1"
	tail -n 1 "$T/fetch.out" | sed 's/^uid=[0-9]* //'
}

# expect STEP USER EXPECTED-LINE [FOLDER]
expect() {
	_got=$(last "$2" "${4:-}")
	[ "$_got" = "$3" ] || fail "$1: expected [$3], got [$_got]"
}

# event STEP ADDR UID STATE SEQUENCE: imip-admin events shows it so
event() {
	"$ADMIN" -c "$IMIP_CONF" events "$2" > "$T/events.out" 2>&1 ||
		fail "$1: imip-admin events $2: $(cat "$T/events.out")"
	awk -F'\t' -v u="$3" -v s="$4" -v q="$5" \
		'$1 == u && $3 == s && $4 == q { found = 1 } END { exit !found }' \
		"$T/events.out" || fail "$1: expected $3 $4 $5 for $2, have: $(cat "$T/events.out")"
}

# Alice's own invitation to carol, as the MTA hands a copy to imip-shim
itip alice-own.eml REQUEST evt-own@example.com 0 alice@example.com alice@example.com \
	"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carol@example.net"
"$SHIM" -c "$IMIP_CONF" --role outgoing --sender alice@example.com \
	< "$T/msg/alice-own.eml" > "$T/shim.out" 2>&1 || fail "imip-shim: $(cat "$T/shim.out")"
# the daemon runs as Cyrus's user, as in production
chown -R cyrus:mail "$T/imip" "$T/run"
annotator_start "$IMIP_CONF" "$SOCK" "$T/annotator.log" || fail "$ANNOTATOR_ERROR"
# libpq is loaded once by the daemon, before it forks a worker per
# message (store_prepare()), and not at all for the file store
if [ "$BACKEND" = postgresql ]; then
	grep -q 'libpq\.so' "/proc/$ANNOTATOR_PID/maps" ||
		fail "the daemon did not load libpq before forking its workers"
else
	grep -q 'libpq\.so' "/proc/$ANNOTATOR_PID/maps" &&
		fail "the daemon loaded libpq for the file store"
fi

# --- (a)-(d) invitation, update, reply, cancellation ---------------------------

itip a.eml REQUEST evt-1@example.net 0 bob@example.net
deliver bob@example.net alice a.eml
expect a alice 'flags=$iMIP $iMIP-added /vendor/imip-agent/outcome=added /vendor/imip-agent/reason=invitation recorded'
event a alice@example.com evt-1@example.net active 0

itip b.eml REQUEST evt-1@example.net 1 bob@example.net
deliver bob@example.net alice b.eml
expect b alice 'flags=$iMIP $iMIP-updated /vendor/imip-agent/outcome=updated /vendor/imip-agent/reason=invitation updated'
event b alice@example.com evt-1@example.net active 1

itip c.eml REPLY evt-own@example.com 0 carol@example.net alice@example.com \
	"ATTENDEE;PARTSTAT=ACCEPTED:mailto:carol@example.net"
deliver carol@example.net alice c.eml
_got=$(last alice)
case $_got in
'flags=$iMIP $iMIP-updated /vendor/imip-agent/outcome=updated '*) ;;
*) fail "c: expected updated, got [$_got]" ;;
esac
"$ADMIN" -c "$IMIP_CONF" show alice@example.com evt-own@example.com |
	grep -q 'PARTSTAT=ACCEPTED.*carol@example.net' || fail "c: carol's answer not stored"

itip d.eml CANCEL evt-1@example.net 2 bob@example.net
deliver bob@example.net alice d.eml
_got=$(last alice)
case $_got in
'flags=$iMIP $iMIP-cancelled /vendor/imip-agent/outcome=cancelled '*) ;;
*) fail "d: expected cancelled, got [$_got]" ;;
esac
event d alice@example.com evt-1@example.net cancelled 2

# --- (e) broken calendar data, (f) plain mail ----------------------------------

cat > "$T/msg/e.eml" <<'EOF'
From: bob@example.net
To: alice@example.com
Subject: broken
Message-ID: <e.broken@example.net>
MIME-Version: 1.0
Content-Type: text/calendar; method=REQUEST

BEGIN:VCALENDAR
BEGIN:VEVENT
this is not iCalendar
EOF
deliver bob@example.net alice e.eml
_got=$(last alice)
case $_got in
'flags=$iMIP $iMIP-error /vendor/imip-agent/outcome=error /vendor/imip-agent/reason='?*) ;;
*) fail "e: expected error with a reason, got [$_got]" ;;
esac

printf 'From: bob@example.net\nTo: alice@example.com\nSubject: lunch\nMessage-ID: <f.plain@example.net>\n\nLunch?\n' > "$T/msg/f.eml"
deliver bob@example.net alice f.eml
expect f alice 'flags= /vendor/imip-agent/outcome= /vendor/imip-agent/reason='

# --- (g) a resource ------------------------------------------------------------

sent=$(imip_sendmail_calls "$T/imip")
itip g.eml REQUEST evt-room@example.net 0 bob@example.net bob@example.net \
	"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:room@example.com"
deliver bob@example.net room g.eml
_got=$(last room)
case $_got in
'flags=$iMIP $iMIP-replied /vendor/imip-agent/outcome=replied '*) ;;
*) fail "g: expected replied, got [$_got]" ;;
esac
[ "$(imip_sendmail_calls "$T/imip")" = $((sent + 1)) ] || fail "g: no reply sent"
tail -n 1 "$T/imip/sendmail.calls" | grep -q 'bob@example.net' || fail "g: reply not to bob: $(tail -n 1 "$T/imip/sendmail.calls")"
# the reply's calendar text (base64 in the message)
"$CYRUS_PYTHON" -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
print(m.get_payload(decode=True).decode().replace("\r\n ", ""))' \
	"$T/imip/sendmail.out" > "$T/reply.ics" || fail "g: cannot read the reply"
grep -q 'ATTENDEE;PARTSTAT=ACCEPTED.*:mailto:room@example.com' "$T/reply.ics" ||
	fail "g: the reply does not accept: $(cat "$T/reply.ics")"
event g room@example.com evt-room@example.net active 0

# --- (h) IMAP APPEND and XRUNANNOTATOR -----------------------------------------

itip h1.eml REQUEST evt-append@example.net 0 bob@example.net
cyrus_client append --port "$CYRUS_IMAP_PORT" --user alice --folder INBOX \
	"$T/msg/h1.eml" > "$T/append.out" 2>&1 || fail "h: APPEND: $(cat "$T/append.out")"
expect h-inbox alice 'flags=$iMIP $iMIP-added /vendor/imip-agent/outcome=added /vendor/imip-agent/reason=invitation recorded'
event h-inbox alice@example.com evt-append@example.net active 0

itip h2.eml REQUEST evt-sent@example.net 0 bob@example.net
cyrus_client append --port "$CYRUS_IMAP_PORT" --user alice --folder Sent \
	"$T/msg/h2.eml" > "$T/append.out" 2>&1 || fail "h: APPEND Sent: $(cat "$T/append.out")"
expect h-sent alice 'flags= /vendor/imip-agent/outcome= /vendor/imip-agent/reason=' Sent
"$ADMIN" -c "$IMIP_CONF" events alice@example.com | grep -q evt-sent &&
	fail "h: a message appended to Sent was processed"

itip h3.eml REQUEST evt-flagged@example.net 0 bob@example.net
cyrus_client append --port "$CYRUS_IMAP_PORT" --user alice --folder INBOX \
	--flags '($iMIP)' "$T/msg/h3.eml" > "$T/append.out" 2>&1 || fail "h: APPEND flagged"
expect h-flagged alice 'flags=$iMIP /vendor/imip-agent/outcome= /vendor/imip-agent/reason='
"$ADMIN" -c "$IMIP_CONF" events alice@example.com | grep -q evt-flagged &&
	fail "h: a message already flagged \$iMIP was processed"

# XRUNANNOTATOR on the invitation of (a): Cyrus clears the user flags and
# applies the answer; ours keeps what is there (no second processing)
cyrus_client imap --port "$CYRUS_IMAP_PORT" --user alice --folder INBOX \
	UID XRUNANNOTATOR 1 > "$T/xrun.out" 2>&1 || fail "h: XRUNANNOTATOR: $(cat "$T/xrun.out")"
cyrus_client fetch --port "$CYRUS_IMAP_PORT" --user alice --annotations "$ENTRIES" |
	head -n 1 > "$T/first.out"
grep -q '^uid=1 flags=\$iMIP \$iMIP-added /vendor/imip-agent/outcome=added ' "$T/first.out" ||
	fail "h: XRUNANNOTATOR changed the first message: $(cat "$T/first.out")"

# --- (i) slow: the store is locked by someone else ----------------------------

itip i.eml REQUEST evt-slow@example.net 0 bob@example.net
if [ "$BACKEND" = postgresql ]; then
	# another host's session holding alice's lock for 5 s
	backend_psql cyrus "SELECT pg_advisory_lock($(backend_user_lock_sql alice@example.com));
		SELECT pg_sleep(5)" > /dev/null 2>&1 &
else
	lockfile=$(find "$T/imip/store" -maxdepth 2 -name .lock -path '*alice*' | head -n 1)
	[ -n "$lockfile" ] || fail "i: no lock file for alice's store"
	flock "$lockfile" sleep 5 &
fi
LOCK_PID=$!
sleep 0.3
t0=$(date +%s%N)
deliver bob@example.net alice i.eml
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ $ms -lt 4500 ] || fail "i: Cyrus waited ${ms} ms (cyrus_answer_timeout = 2)"
expect i alice 'flags= /vendor/imip-agent/outcome= /vendor/imip-agent/reason='
wait $LOCK_PID
_i=0
until "$ADMIN" -c "$IMIP_CONF" events alice@example.com | grep -q evt-slow; do
	_i=$((_i + 1))
	[ $_i -lt 50 ] || fail "i: the event was not recorded after the lock was freed"
	sleep 0.1
done
annotator_wait_log 'uid=evt-slow@example.net outcome=added .*answered without changes' ||
	fail "i: no log line for the late answer"

# --- (l) broken requests ----------------------------------------------------------

# raw REQUEST: send REQUEST (Python bytes syntax) and print the answer
raw() {
	"$CYRUS_PYTHON" - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(8)
s.connect(sys.argv[1])
s.sendall(eval(sys.argv[2]))
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(repr(data))
PY
}
frame() {
	printf "b'%d\\\\n%s0\\\\n'" "${#1}" "$1"
}
for req in "b'hello\\n'" "b'40\\n(FILENAME'" \
	"$(frame '(FILENAME "/etc/passwd" FLAGS ())')" \
	"$(frame "(FILENAME \"$T/imip/../imip/imip.conf\" FLAGS ())")" \
	"$(frame '(FILENAME {3}')"; do
	_ans=$(raw "$req") || fail "l: no answer to $req"
	[ "$_ans" = "b'()\\n'" ] || fail "l: $req answered $_ans"
done
itip l.eml REQUEST evt-after@example.net 0 bob@example.net
deliver bob@example.net alice l.eml
expect l alice 'flags=$iMIP $iMIP-added /vendor/imip-agent/outcome=added /vendor/imip-agent/reason=invitation recorded'

# --- (j) the daemon stopped ----------------------------------------------------

annotator_stop
[ -e "$SOCK" ] && fail "j: the daemon left its socket behind"
itip j.eml REQUEST evt-down@example.net 0 bob@example.net
deliver bob@example.net alice j.eml
expect j alice 'flags= /vendor/imip-agent/outcome= /vendor/imip-agent/reason='

# --- (k) executable mode, no annotation definitions ----------------------------

cyrus_stop
# (Cyrus's LD_PRELOAD log shim of the test set-up is no part of it, and
# an ASan build refuses to start under a preload)
printf '#!/bin/sh\nunset LD_PRELOAD\nexec "%s" -c "%s" 2>> "%s"\n' \
	"$ANNOTATOR" "$IMIP_CONF" "$T/annotator.log" > "$T/run/callout"
chown cyrus:mail "$T/annotator.log"
chmod 755 "$T/run/callout"
CYRUS_CALLOUT=$T/run/callout
CYRUS_ANNOTATION_DEFS=
cyrus_start || fail "$CYRUS_ERROR"
itip k.eml REQUEST evt-exec@example.net 0 bob@example.net
deliver bob@example.net alice k.eml
expect k alice 'flags=$iMIP $iMIP-added /vendor/imip-agent/outcome= /vendor/imip-agent/reason='
event k alice@example.com evt-exec@example.net active 0
annotator_wait_log 'uid=evt-exec@example.net outcome=added' ||
	fail "k: no log line from the executable mode"

annotator_log_clean "$T/annotator.log" || fail "$ANNOTATOR_ERROR"
used=$(backend_check_used "$T/imip/store" cyrus) || fail "$BACKEND_ERROR"
echo "PASS: $NAME$BACKEND_LABEL${used:+ (database: $used)}"
