#!/bin/sh
# shellcheck disable=SC2016  # $iMIP keywords and the capture script are literal
# Integration test: lib95_imip_plugin.so inside a private Dovecot (LMTP on
# a UNIX socket and on 127.0.0.1, plus dovecot-lda), users from a
# passwd-file, the build's plugin by symlink (lib-dovecot.sh).
#  (a) one LMTP transaction, two recipients: vincent gets the invitation
#      added, in the summary-wraps-message form, with $iMIP $iMIP-added
#      (his store, created by the plugin, stays group-writable);
#      harvey's imip_config (userdb field) has a store the plugin cannot
#      write: delivered unchanged, $iMIP $iMIP-error, error logged;
#  (b) the update over TCP, vincent's incoming = message-then-summary: the
#      original and the summary, both $iMIP $iMIP-updated;
#  (c) vincent's reply to paul through dovecot-lda (paul's own copy of the
#      event comes from imip-shim --role outgoing): updated;
#  (d) the cancellation: cancelled in the store, $iMIP-cancelled;
#  (e) a VFREEBUSY REQUEST with freebusy_sharing = share: the reply leaves
#      through Dovecot's sendmail_path (a capture script), from the
#      calendar address; $iMIP-replied;
#  (f) a broken calendar part: delivered, $iMIP-error;
#  (g) a user whose imip_config cannot be loaded: delivered, no keywords,
#      error logged;
#  (h) mail without calendar data: delivered, no keywords, no info line;
#  (i) imip_address from a userdb field (mixed case): eddie's mail is
#      processed for that calendar address, lower-cased;
#  (j) no imip_address: the original recipient (LMTP ORCPT) is the
#      calendar address, not the final recipient;
#  (k) an ADD: the REFRESH it asks for leaves through sendmail_path;
#  (l) imip_role = resource (userdb): the room answers the invitation with
#      an ACCEPTED REPLY through sendmail_path, $iMIP-replied.
# Every processed calendar message gives one info line (category imip).
#
# Usage: tests/integration/dovecot-plugin.sh [BUILDDIR]  (default: build)
#   KEEP=1 keeps the temporary directory.
# Needs root; see lib-dovecot.sh.  Prints one PASS/FAIL line; exit status 0
# only on PASS.  The Sieve processcalendar cases are in dovecot-sieve.sh.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
PLUGIN=$BUILD/dovecot-plugin/lib95_imip_plugin.so
LDA=/usr/lib/dovecot/dovecot-lda
NAME=dovecot-plugin
# shellcheck source=SCRIPTDIR/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"

fail() {
	echo "FAIL: $NAME: $*"
	dovecot_log_tail
	exit 1
}

for f in "$SHIM" "$ADMIN" "$PLUGIN"; do
	[ -f "$f" ] || fail "no $f (build with dovecot-dev installed)"
done
dovecot_mktemp imip-dovecot-plugin || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"

IMIP_NOW=20141120T120000Z
export IMIP_NOW
PAUL=paul.boddie@example.com
VINCENT=vincent.vole@example.com
HARVEY=harvey.horse@example.com
DORA=dora.dormouse@example.com
UID1=kickoff-20141126@example.com

# --- set-up -------------------------------------------------------------------------

imip_conf "$T/imip" || fail "$IMIP_ERROR"
# harvey's configuration: a store directory the mail user cannot write
imip_conf "$T/imip-ro" || fail "$IMIP_ERROR"
IMIP_CONF=$T/imip/imip.conf
chmod 755 "$T/imip-ro" "$T/imip-ro/store"

# The replies: Dovecot's sendmail_path is this script (run as the mail
# user), one file per message, the arguments on the first line.
mkdir -p "$T/capture/out"
chmod 1777 "$T/capture/out"
printf '#!/bin/sh\nf=$(mktemp "%s/msg.XXXXXX") || exit 75\n{ echo "ARGS: $*"; cat; } > "$f"\nexit 0\n' \
	"$T/capture/out" > "$T/capture/sendmail"
chmod 755 "$T/capture" "$T/capture/sendmail"

# the store belongs to the mail user (the plugin runs as nobody)
own() {
	chown -R nobody:nogroup "$T/imip"
}

DOVECOT_DIR=$T/dovecot
mkdir -p "$DOVECOT_DIR"
DOVECOT_USERS=$T/users
: > "$DOVECOT_USERS"
dovecot_user vincent.vole
dovecot_user paul.boddie
dovecot_user harvey.horse "userdb_imip_config=$T/imip-ro/imip.conf"
dovecot_user dora.dormouse "userdb_imip_config=$T/no-such-dir/imip.conf"
dovecot_user eddie.eel "userdb_imip_address=Vincent.Vole@Example.COM"
dovecot_user fred.frog
dovecot_user resource-room-confroom "userdb_imip_role=resource"
dovecot_plugin_dirs "$T/plugins" "$BUILD" || fail "cannot make $T/plugins"

DOVECOT_CONF_EXTRA="mail_plugin_dir = $T/plugins/modules
sendmail_path = $T/capture/sendmail
import_environment = TZ IMIP_NOW=$IMIP_NOW
mail_debug = yes
protocol lmtp {
  mail_plugins = \$mail_plugins sieve imip
}
protocol lda {
  mail_plugins = \$mail_plugins sieve imip
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  imip_config = $IMIP_CONF
}"

# Paul's own copies of what he sent (the MTA's outgoing role), so that the
# reply in (c) finds his event at SEQUENCE 1.
for m in 01-invitation 02-update; do
	"$SHIM" -c "$IMIP_CONF" --role outgoing --sender "$PAUL" \
		--recipient "$VINCENT" --dry-run < "$SRC/samples/$m.eml" \
		> /dev/null 2> "$T/shim.err" || fail "imip-shim outgoing $m: $(cat "$T/shim.err")"
done
own
dovecot_start "$DOVECOT_DIR" || fail "$DOVECOT_ERROR"

# --- helpers ------------------------------------------------------------------------

# lmtp WHERE FILE RCPT...: one transaction (WHERE: a socket path or
# host:port), every recipient must get its own 250 after DATA.
lmtp() {
	python3 - "$@" > "$T/lmtp.out" 2>&1 <<'PY' || fail "LMTP to $*: $(cat "$T/lmtp.out")"
import smtplib, sys
where, path, rcpts = sys.argv[1], sys.argv[2], sys.argv[3:]
if where.startswith("/"):
    s = smtplib.LMTP(where)
else:
    host, port = where.rsplit(":", 1)
    s = smtplib.LMTP(host, int(port))
s.ehlo_or_helo_if_needed()
code, msg = s.mail("paul.boddie@example.com")
assert code == 250, (code, msg)
for r in rcpts:
    # "addr|ORCPT=rfc822;orig" gives the recipient an original recipient
    addr, _, orcpt = r.partition("|")
    code, msg = s.rcpt(addr, [orcpt] if orcpt else [])
    assert code == 250, (r, code, msg)
# LMTP: one reply per recipient after the data (smtplib reads only one)
replies = [s.data(open(path, "rb").read())]
replies += [s.getreply() for _ in rcpts[1:]]
s.quit()
for r, (code, msg) in zip(rcpts, replies):
    print(r, code, msg.decode())
    if code != 250:
        sys.exit(1)
PY
}

# lda USER FILE SENDER: dovecot-lda as an MTA would run it
lda() {
	"$LDA" -c "$DOVECOT_DIR/dovecot.conf" -d "${1%%@*}" -a "$1" -f "$3" \
		< "$2" > "$T/lda.out" 2>&1
	_rc=$?
	[ $_rc = 0 ] || fail "dovecot-lda to $1: exit $_rc: $(cat "$T/lda.out")"
}

# fetch USER: "uid|flags|subject" per INBOX message, oldest first
fetch() {
	doveadm -c "$DOVECOT_DIR/dovecot.conf" fetch -u "${1%%@*}" \
		'uid flags hdr.subject' mailbox INBOX all > "$T/fetch.raw" \
		2> "$T/doveadm.err" || fail "doveadm fetch $1: $(cat "$T/doveadm.err")"
	awk '/^uid: / { u = $2 } /^flags: / { f = substr($0, 8) }
	     /^hdr.subject: / { print u "|" f "|" substr($0, 14) }' "$T/fetch.raw"
}

# count USER: messages in INBOX
count() {
	fetch "$1" | wc -l
}

# flags_of USER SUBJECT: the flags of the newest message with that subject
flags_of() {
	fetch "$1" | awk -F'|' -v s="$2" '$3 == s { f = $2 } END { print f }'
}

has_flag() {
	case " $1 " in *" $2 "*) return 0 ;; esac
	return 1
}

# expect_flags STEP USER SUBJECT FLAG...: the message exists and has them
expect_flags() {
	_step=$1 _user=$2 _subj=$3
	shift 3
	_fl=$(flags_of "$_user" "$_subj")
	fetch "$_user" | awk -F'|' -v s="$_subj" '$3 == s { n++ } END { exit n ? 0 : 1 }' ||
		fail "$_step: no message \"$_subj\" for $_user: $(fetch "$_user")"
	for _f in "$@"; do
		has_flag "$_fl" "$_f" || fail "$_step: \"$_subj\" for $_user lacks $_f: $_fl"
	done
}

# expect_no_imip STEP USER SUBJECT: delivered, without any $iMIP keyword
expect_no_imip() {
	expect_flags "$1" "$2" "$3"
	case " $(flags_of "$2" "$3") " in
	*' $iMIP'*) fail "$1: \"$3\" for $2 has keywords: $(flags_of "$2" "$3")" ;;
	esac
}

# info_lines USER METHOD OUTCOME: the plugin's outcome lines so far
info_lines() {
	grep -c "imip: recipient=$1 method=$2 uid=[^ ]* outcome=$3 " "$DOVECOT_LOG"
}

expect_info() {
	[ "$(info_lines "$2" "$3" "$4")" = "$5" ] ||
		fail "$1: expected $5 info line(s) recipient=$2 method=$3 outcome=$4: $(grep 'imip: recipient=' "$DOVECOT_LOG")"
}

events() {
	"$ADMIN" -c "$1" events "$2" 2> "$T/admin.err" ||
		fail "imip-admin events $2: $(cat "$T/admin.err")"
}

# --- (a) two recipients in one LMTP transaction ---------------------------------------
lmtp "$DOVECOT_SOCKET" "$SRC/samples/01-invitation.eml" "$VINCENT" "$HARVEY"
[ "$(count "$VINCENT")" = 1 ] || fail "a: vincent: $(fetch "$VINCENT")"
[ "$(count "$HARVEY")" = 1 ] || fail "a: harvey: $(fetch "$HARVEY")"
expect_flags a "$VINCENT" "Invitation: Project kick-off" '$iMIP' '$iMIP-added'
expect_flags a "$HARVEY" "Invitation: Project kick-off" '$iMIP' '$iMIP-error'
has_flag "$(flags_of "$HARVEY" "Invitation: Project kick-off")" '$iMIP-added' &&
	fail "a: vincent's keyword reached harvey"
f=$(dovecot_newest_file "$VINCENT")
sed '/^$/q' "$f" | grep -q "^X-iMIP-Outcome: added" ||
	fail "a: vincent's copy is not the summary wrapper: $(sed '/^$/q' "$f")"
grep -qi "^Content-Type: message/rfc822" "$f" || fail "a: no original inside the wrapper"
f=$(dovecot_newest_file "$HARVEY")
sed '/^$/q' "$f" | grep -q "^X-iMIP-Outcome:" && fail "a: harvey got vincent's wrapper"
grep -q "^Message-ID: <kickoff-0@example.com>" "$f" || fail "a: harvey: original not delivered"
events "$IMIP_CONF" "$VINCENT" | grep -q "^$UID1	-	active	0	" ||
	fail "a: event not stored for vincent: $(events "$IMIP_CONF" "$VINCENT")"
expect_info a "$VINCENT" REQUEST added 1
# what the plugin creates stays group-writable despite Dovecot's umask 077
d=$T/imip/store/$VINCENT
[ -n "$(find "$d" -maxdepth 0 -perm -g=rwx)" ] || fail "a: $d: mode $(stat -c %a "$d")"
[ -z "$(find "$d" -type f ! -perm -g=rw)" ] ||
	fail "a: files not group-writable: $(find "$d" -type f ! -perm -g=rw | head -n 3)"
# the store fails before the message is looked at: no method yet
expect_info a "$HARVEY" - error 1
grep -q "Error: .*imip: .*$HARVEY" "$DOVECOT_LOG" ||
	fail "a: no error logged for harvey's store"

# --- (b) the update over TCP, incoming = message-then-summary ---------------------------
"$ADMIN" -c "$IMIP_CONF" pref "$VINCENT" incoming message-then-summary \
	2> "$T/admin.err" || fail "b: imip-admin pref: $(cat "$T/admin.err")"
own
lmtp "127.0.0.1:$DOVECOT_PORT" "$SRC/samples/02-update.eml" "$VINCENT"
S2="Updated invitation: Project kick-off (now 17:00)"
[ "$(count "$VINCENT")" = 3 ] || fail "b: expected 3 messages: $(fetch "$VINCENT")"
expect_flags b "$VINCENT" "$S2" '$iMIP' '$iMIP-updated'
expect_flags b "$VINCENT" "Calendar: $S2" '$iMIP' '$iMIP-updated'
# the original first, then the summary
fetch "$VINCENT" | tail -n 2 | cut -d'|' -f3 | tr '\n' '/' | grep -qx "$S2/Calendar: $S2/" ||
	fail "b: order: $(fetch "$VINCENT")"
events "$IMIP_CONF" "$VINCENT" | grep -q "^$UID1	-	active	1	" ||
	fail "b: update not stored: $(events "$IMIP_CONF" "$VINCENT")"
expect_info b "$VINCENT" REQUEST updated 1

# --- (c) the reply to paul, through dovecot-lda -------------------------------------------
lda "$PAUL" "$SRC/samples/03-reply.eml" "$VINCENT"
[ "$(count "$PAUL")" = 1 ] || fail "c: paul: $(fetch "$PAUL")"
expect_flags c "$PAUL" "Accepted: Project kick-off" '$iMIP' '$iMIP-updated'
expect_info c "$PAUL" REPLY updated 1
# (unfolded: RFC 5545 lines are folded at 75 octets)
"$ADMIN" -c "$IMIP_CONF" show "$PAUL" "$UID1" 2>/dev/null | tr -d '\r' |
	sed -e ':a' -e 'N' -e '$!ba' -e 's/\n //g' |
	grep -q "^ATTENDEE;[^:]*PARTSTAT=ACCEPTED[^:]*:mailto:$VINCENT" ||
	fail "c: vincent's acceptance not in paul's event"

# --- (d) the cancellation ---------------------------------------------------------------
lmtp "$DOVECOT_SOCKET" "$SRC/samples/04-cancel.eml" "$VINCENT"
expect_flags d "$VINCENT" "Cancelled: Project kick-off" '$iMIP' '$iMIP-cancelled'
events "$IMIP_CONF" "$VINCENT" | grep -q "^$UID1	-	cancelled	" ||
	fail "d: not cancelled: $(events "$IMIP_CONF" "$VINCENT")"
expect_info d "$VINCENT" CANCEL cancelled 1

# --- (e) a VFREEBUSY request: the reply leaves through sendmail_path -----------------------
"$ADMIN" -c "$IMIP_CONF" pref "$VINCENT" freebusy_sharing share \
	2> "$T/admin.err" || fail "e: imip-admin pref: $(cat "$T/admin.err")"
"$ADMIN" -c "$IMIP_CONF" pref "$VINCENT" incoming message-only \
	2> "$T/admin.err" || fail "e: imip-admin pref: $(cat "$T/admin.err")"
own
cat > "$T/fb-request.eml" <<'MSG'
From: Paul Boddie <paul.boddie@example.com>
To: Vincent Vole <vincent.vole@example.com>
Subject: Free/busy request
Date: Thu, 20 Nov 2014 11:30:00 +0000
Message-ID: <fb-request-1@example.com>
MIME-Version: 1.0
Content-Type: text/calendar; charset="utf-8"; method="REQUEST"

BEGIN:VCALENDAR
PRODID:-//imip-agent/test//EN
VERSION:2.0
METHOD:REQUEST
BEGIN:VFREEBUSY
UID:fb-dovecot-1@example.com
DTSTAMP:20141120T113000Z
ORGANIZER:mailto:paul.boddie@example.com
ATTENDEE:mailto:vincent.vole@example.com
DTSTART:20141124T000000Z
DTEND:20141201T000000Z
END:VFREEBUSY
END:VCALENDAR
MSG
lmtp "$DOVECOT_SOCKET" "$T/fb-request.eml" "$VINCENT"
expect_flags e "$VINCENT" "Free/busy request" '$iMIP' '$iMIP-replied'
expect_info e "$VINCENT" REQUEST replied 1
set -- "$T"/capture/out/msg.*
{ [ $# = 1 ] && [ -f "$1" ]; } || fail "e: expected 1 captured reply, got: $(ls "$T/capture/out")"
head -n 1 "$1" | grep -q -- "-f calendar@example.com -- $PAUL" ||
	fail "e: sendmail arguments: $(head -n 1 "$1")"
sed 1d "$1" > "$T/reply.eml"
grep -q "^From: calendar@example.com" "$T/reply.eml" || fail "e: From of the reply"
python3 -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    if p.get_content_type() == "text/calendar":
        sys.stdout.write(p.get_payload(decode=True).decode())' \
	"$T/reply.eml" | tr -d '\r' > "$T/reply.ics"
grep -q "^METHOD:REPLY" "$T/reply.ics" || fail "e: no METHOD:REPLY in the reply: $(cat "$T/reply.ics")"
grep -q "^BEGIN:VFREEBUSY" "$T/reply.ics" || fail "e: no VFREEBUSY in the reply"
grep -q "^UID:fb-dovecot-1@example.com" "$T/reply.ics" || fail "e: wrong UID in the reply"
grep -q "sent reply from <calendar@example.com> to <$PAUL>" "$DOVECOT_LOG" ||
	fail "e: sending not logged"

# --- (f) a broken calendar part -------------------------------------------------------------
printf 'From: Paul Boddie <paul.boddie@example.com>\nTo: vincent.vole@example.com\nSubject: Broken calendar\nMessage-ID: <broken-1@example.com>\nMIME-Version: 1.0\nContent-Type: text/calendar; charset="utf-8"; method="REQUEST"\n\ngarbage\n' \
	> "$T/broken.eml"
lmtp "$DOVECOT_SOCKET" "$T/broken.eml" "$VINCENT"
expect_flags f "$VINCENT" "Broken calendar" '$iMIP' '$iMIP-error'
grep -qx "garbage" "$(dovecot_newest_file "$VINCENT")" || fail "f: body not delivered"

# --- (g) imip_config that cannot be loaded ----------------------------------------------------
lmtp "$DOVECOT_SOCKET" "$SRC/samples/01-invitation.eml" "$DORA"
expect_no_imip g "$DORA" "Invitation: Project kick-off"
grep -q "Error: .*imip: $DORA: cannot load imip_config $T/no-such-dir/imip.conf" "$DOVECOT_LOG" ||
	fail "g: no error logged for the bad imip_config"

# --- (h) no calendar data ---------------------------------------------------------------------
printf 'From: Paul Boddie <paul.boddie@example.com>\nTo: vincent.vole@example.com\nSubject: Lunch\nMessage-ID: <lunch-1@example.com>\n\nSandwiches?\n' \
	> "$T/plain.eml"
before=$(grep -c "imip: recipient=" "$DOVECOT_LOG")
lda "$VINCENT" "$T/plain.eml" "$PAUL"
expect_no_imip h "$VINCENT" "Lunch"
[ "$(grep -c "imip: recipient=" "$DOVECOT_LOG")" = "$before" ] ||
	fail "h: an info line for mail without calendar data"
# the plugin reads such mail line by line from Dovecot's stream and
# rewinds it (imip_mail_may_hold_calendar()): what is stored is the
# message exactly (LMTP ends the data with a line end: so does the file)
printf 'From: paul.boddie@example.com\nTo: vincent.vole@example.com\nSubject: Report\nMessage-ID: <report-1@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=xx\n\n--xx\nContent-Type: text/plain\n\nSee the figures.\n--xx\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--xx--\ntrailer\n' \
	> "$T/report.eml"
lmtp "$DOVECOT_SOCKET" "$T/report.eml" "$VINCENT"
expect_no_imip h "$VINCENT" "Report"
report_file=$(grep -l "^Message-ID: <report-1@example.com>" \
	"$(dovecot_maildir "$VINCENT")"/new/* "$(dovecot_maildir "$VINCENT")"/cur/* | head -n 1)
# what Dovecot put above (Return-Path, Delivered-To, Received) aside, and
# the line end LMTP's end of data adds to an LF-only file
[ "$(sed -n '/^From: paul.boddie@example.com$/,$p' "$report_file")" = "$(cat "$T/report.eml")" ] ||
	fail "h: the stored message differs from the one delivered"

# --- (i) imip_address from the userdb ---------------------------------------------------------
lmtp "$DOVECOT_SOCKET" "$SRC/samples/05-recurring.eml" "eddie.eel@example.com"
expect_flags i "eddie.eel@example.com" "Invitation: Team meeting (weekly)" '$iMIP' '$iMIP-added'
events "$IMIP_CONF" "$VINCENT" | grep -q "^team-meeting-2014@example.com	" ||
	fail "i: not stored for imip_address $VINCENT: $(events "$IMIP_CONF" "$VINCENT")"

# --- (j) the original recipient (ORCPT) is the calendar address --------------------------------
lmtp "$DOVECOT_SOCKET" "$SRC/samples/01-invitation.eml" \
	"fred.frog@example.com|ORCPT=rfc822;Harvey.Horse@example.com"
expect_flags j "fred.frog@example.com" "Invitation: Project kick-off" '$iMIP' '$iMIP-added'
events "$IMIP_CONF" "$HARVEY" | grep -q "^$UID1	" ||
	fail "j: not stored for the ORCPT $HARVEY: $(events "$IMIP_CONF" "$HARVEY")"

# --- (k) ADD: the REFRESH asked of the organiser -------------------------------------------------
rm -f "$T"/capture/out/msg.*
lmtp "$DOVECOT_SOCKET" "$SRC/tests/scenarios/add-refresh-default/add.eml" "$VINCENT"
set -- "$T"/capture/out/msg.*
{ [ $# = 1 ] && [ -f "$1" ]; } || fail "k: expected 1 captured REFRESH, got: $(ls "$T/capture/out")"
grep -q "method=.*REFRESH" "$1" || fail "k: the captured message is not a REFRESH: $(head -n 20 "$1")"

# --- (l) a resource answers by itself --------------------------------------------------------
ROOM=resource-room-confroom@example.com
sed "s/harvey.horse@example.com/$ROOM/g; s/kickoff-20141126@example.com/room-booking-1@example.com/" \
	"$SRC/samples/01-invitation.eml" > "$T/room.eml"
rm -f "$T"/capture/out/msg.*
lmtp "$DOVECOT_SOCKET" "$T/room.eml" "$ROOM"
expect_flags l "$ROOM" "Invitation: Project kick-off" '$iMIP' '$iMIP-replied'
set -- "$T"/capture/out/msg.*
{ [ $# = 1 ] && [ -f "$1" ]; } || fail "l: expected 1 captured REPLY, got: $(ls "$T/capture/out")"
python3 -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    if p.get_content_type() == "text/calendar":
        sys.stdout.write(p.get_payload(decode=True).decode())' "$1" |
	tr -d '\r' | sed -e ':a' -e 'N;$!ba' -e 's/\n //g' > "$T/room.ics"
grep -q "^METHOD:REPLY" "$T/room.ics" || fail "l: not a REPLY: $(cat "$T/room.ics")"
grep -q "PARTSTAT=ACCEPTED.*mailto:$ROOM" "$T/room.ics" || fail "l: not ACCEPTED: $(cat "$T/room.ics")"
"$ADMIN" -c "$IMIP_CONF" freebusy "$ROOM" | grep -q "room-booking-1@example.com" ||
	fail "l: the room's free/busy lacks the booking"

# nothing went wrong in Dovecot itself
grep -q "Panic:\|Fatal:\|killed with signal" "$DOVECOT_LOG" "$DOVECOT_DIR/dovecot.stderr" &&
	fail "Dovecot panicked or died: $(grep "Panic:\|Fatal:\|signal" "$DOVECOT_LOG")"

dovecot_stop
echo "PASS: $NAME (two recipients, unwritable store, update, LDA reply, cancel, free/busy reply, broken part, bad imip_config, plain mail, imip_address, ORCPT, ADD refresh, resource)"
exit 0
