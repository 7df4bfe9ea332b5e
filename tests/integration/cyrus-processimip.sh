#!/bin/sh
# shellcheck disable=SC2016  # flags and Sieve variables are literal
# Side by side with Cyrus's own Sieve `processimip` (Debian 12's Cyrus
# 3.6.1, vnd.cyrus.imip): one private Cyrus with httpd/CalDAV, alice's
# Sieve script running processimip (its outcome becomes a flag
# $processimip_<outcome>, its calendar is read back over CalDAV), and
# imip-cyrus-annotator on annotation_callout with its own store.  The same
# mail goes through both:
#  (a) REQUEST SEQUENCE 0, (b) REQUEST SEQUENCE 1, (c) CANCEL SEQUENCE 2:
#      both follow;
#  (d) the stale REQUEST SEQUENCE 0 again: processimip overwrites the
#      cancelled event with it (reference/cyrus.md 3.4); imip-agent keeps
#      the cancellation (no_action);
#  (e) a CANCEL of another event, sent by someone who is not its
#      organiser: processimip cancels the event; imip-agent rejects the
#      forgery and the event stays.
# The annotator answers the callouts Cyrus makes for its CalDAV writes
# (calendar mailboxes) without processing them: one log line per mail.
#
# Usage: tests/integration/cyrus-processimip.sh [BUILDDIR]
#   KEEP=1 keeps the temporary directory.  Needs root.  Prints one
#   PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
ANNOTATOR=$BUILD/cyrus-hook/imip-cyrus-annotator
ADMIN=$BUILD/tools/imip-admin
NAME=cyrus-processimip
# shellcheck source=SCRIPTDIR/lib-cyrus.sh
. "$SRC/tests/integration/lib-cyrus.sh"
# shellcheck source=SCRIPTDIR/../lib-imip.sh
. "$SRC/tests/lib-imip.sh"
# shellcheck source=SCRIPTDIR/lib-annotator.sh
. "$SRC/tests/integration/lib-annotator.sh"

for f in "$ANNOTATOR" "$ADMIN"; do
	[ -x "$f" ] || fail "no $f (build first)"
done
cyrus_mktemp imip-cyrus-processimip || fail "$CYRUS_ERROR"
trap annotator_cleanup EXIT
T=$CYRUS_DIR
IMIP_NOW=20261120T120000Z
export IMIP_NOW

mkdir -p "$T/run" "$T/msg" || fail "mkdir"
SOCK=$T/run/annotator.sock
cp "$SRC/conf/cyrus/annotations.conf" "$T/annotations.conf" || fail "no annotations.conf"
CYRUS_CALLOUT=$SOCK
CYRUS_ANNOTATION_DEFS=$T/annotations.conf
CYRUS_HTTP=1
cyrus_start || fail "$CYRUS_ERROR"
cyrus_user alice || fail "$CYRUS_ERROR"
cyrus_caldav_provision alice || fail "$CYRUS_ERROR"
cat > "$T/processimip.sieve" <<'EOF'
require ["body", "variables", "imap4flags", "vnd.cyrus.imip"];
if body :content "text/calendar" :contains "METHOD:" {
  processimip :outcome "outcome" :errstr "err";
  addflag "$processimip_${outcome}";
}
EOF
cyrus_install_sieve alice "$T/processimip.sieve" || fail "$CYRUS_ERROR"

imip_conf "$T/imip" || fail "$IMIP_ERROR"
cat >> "$IMIP_CONF" <<EOF
cyrus_imapd_conf = $CYRUS_CONF
cyrus_socket = $SOCK
EOF
chown -R cyrus:mail "$T/imip" "$T/run"
annotator_start "$IMIP_CONF" "$SOCK" "$T/annotator.log" || fail "$ANNOTATOR_ERROR"

# step LABEL FILE FROM CYRUS-OUTCOME OURS: deliver, then both outcomes
# must be the expected ones (as flags on the delivered message)
step() {
	_code=$(cyrus_client deliver --socket "$CYRUS_LMTP_SOCKET" --from "$3" \
		--to alice "$T/msg/$2" 2> "$T/deliver.err")
	[ "$_code" = 250 ] || fail "$1: delivery: $_code $(cat "$T/deliver.err")"
	_got=$(cyrus_client fetch --port "$CYRUS_IMAP_PORT" --user alice |
		tail -n 1 | sed 's/^uid=[0-9]* //')
	_want="flags=\$iMIP \$iMIP-$5 \$processimip_$4"
	[ "$_got" = "$_want" ] || fail "$1: expected [$_want], got [$_got]"
}

# caldav UID: the event as processimip stored it, unfolded
caldav() {
	cyrus_client caldav-get --port "$CYRUS_HTTP_PORT" --user alice \
		--path "/dav/calendars/user/alice/Default/$1.ics" 2> /dev/null |
		tr -d '\r'
}

# ours STEP UID STATE SEQUENCE: imip-admin events
ours() {
	"$ADMIN" -c "$IMIP_CONF" events alice@example.com > "$T/events.out" 2>&1 ||
		fail "$1: imip-admin: $(cat "$T/events.out")"
	awk -F'\t' -v u="$2" -v s="$3" -v q="$4" \
		'$1 == u && $3 == s && $4 == q { f = 1 } END { exit !f }' \
		"$T/events.out" || fail "$1: expected $2 $3 $4, have: $(cat "$T/events.out")"
}

UID1=stale-20261210@example.net
UID2=forged-20261210@example.net

itip a.eml REQUEST $UID1 0 bob@example.net
step a a.eml bob@example.net added added
caldav $UID1 | grep -q '^SEQUENCE:0' || fail "a: processimip did not store the event"
ours a $UID1 active 0

itip b.eml REQUEST $UID1 1 bob@example.net
step b b.eml bob@example.net updated updated
ours b $UID1 active 1

itip c.eml CANCEL $UID1 2 bob@example.net
step c c.eml bob@example.net updated cancelled
caldav $UID1 | grep -q '^STATUS:CANCELLED' || fail "c: processimip did not cancel"
ours c $UID1 cancelled 2

# (d) a stale invitation: SEQUENCE 0 again, sent later (a newer DTSTAMP,
# so it is not the duplicate of (a) that idempotence alone would drop)
itip d.eml REQUEST $UID1 0 bob@example.net "" "" "" 20261120T110000Z
step d d.eml bob@example.net updated no_action
annotator_wait_log "uid=$UID1 outcome=no_action" ||
	fail "d: no log line for the stale REQUEST"
grep "uid=$UID1 outcome=" "$T/annotator.log" | grep -q 'already processed' &&
	fail "d: taken as a duplicate, not refused as stale"
caldav $UID1 > "$T/stale.ics"
grep -q '^SEQUENCE:0' "$T/stale.ics" && ! grep -q '^STATUS:CANCELLED' "$T/stale.ics" ||
	fail "d: Cyrus 3.6.1 processimip was expected to take the stale REQUEST: $(cat "$T/stale.ics")"
ours d $UID1 cancelled 2

# (e) a forged cancellation of another event
itip e1.eml REQUEST $UID2 0 bob@example.net
step e1 e1.eml bob@example.net added added
itip e2.eml CANCEL $UID2 1 mallory@evil.example bob@example.net
step e2 e2.eml mallory@evil.example updated rejected
caldav $UID2 | grep -q '^STATUS:CANCELLED' ||
	fail "e: Cyrus 3.6.1 processimip was expected to take the forged CANCEL"
ours e2 $UID2 active 0

# one processing per mail; the calendar-mailbox callouts of processimip's
# own CalDAV writes were answered without processing
annotator_wait_log "uid=$UID2 outcome=rejected" || fail "e: no log line"
n=$(grep -c 'mailbox=user.alice ' "$T/annotator.log")
[ "$n" = 6 ] || fail "expected 6 processed mails, the log has $n"
grep -q 'mailbox=user.alice.#calendars' "$T/annotator.log" &&
	fail "a calendar mailbox was processed"

annotator_log_clean "$T/annotator.log" || fail "$ANNOTATOR_ERROR"
echo "PASS: $NAME"
