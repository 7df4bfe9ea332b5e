#!/bin/sh
# shellcheck disable=SC2016  # $iMIP keywords are literal
# MTA test: a private Postfix configured from the shipped conf/postfix
# files (lib-postfix.sh), list or LDAP identification, delivering by LMTP
# into a private Dovecot with the imip-agent plugin (lib-dovecot.sh), the
# LDAP variant against a private slapd (lib-slapd.sh, conf/ldap/).
#
# Who is who (conf/postfix examples):
#   paul.boddie, vincent.vole, harvey.horse  persons, Dovecot with the plugin
#   dora.dormouse  person without the plugin: imip-person (--deliver lmtp:)
#   eddie.eel      the same, imip-person-smtp (--deliver smtp: re-injection)
#   freda.fox      mailbox, not a calendar person
#   resource-room-confroom  resource (imip-resource)
#   calendar@      the agent's address, an alias of postmaster (no plugin)
#   olga.otter@external.test  an outside organiser
#
# Cases:
#  (1) an external invitation to vincent (inbound port): stored by the
#      plugin, delivered once, no imip-shim run at all;
#  (2) paul (local) books the room through submission: imip-shim
#      --role resource answers, the REPLY leaves through Postfix
#      (imip.conf submission_host) and reaches paul's mailbox, where the
#      plugin updates his copy (outgoing copy of the request: his event);
#  (3) paul invites and updates through submission, vincent's REPLY goes
#      through submission: the outgoing copy (--role outgoing) updates
#      vincent's store, the plugin updates paul's copy; freda (not a
#      calendar person) gets no outgoing copy;
#  (4) person hand-back through the shim, dora by LMTP and eddie by SMTP
#      re-injection: processed once, in the mailbox once, no loop;
#  (5) calendar@ gets a reply to agent mail and the bounce of an answer to
#      an undeliverable organiser; the agent answers neither, no loop; a
#      bounce to a resource reaches the shim with an empty sender and is
#      not answered;
#  (6) Dovecot down: the shim exits 75 and Postfix defers (also its own
#      LMTP delivery); Dovecot back, queue flushed: delivered once, the
#      retry is "already processed" (reporting the first outcome, added),
#      nothing lost;
#  (7) ldap only: slapd's log shows Postfix's searches, and a resource
#      added to the directory while Postfix runs is answered at once.
# Afterwards: no loop, exactly the one expected bounce in the Postfix log.
#
# Usage: tests/mta/postfix.sh [BUILDDIR [list|ldap]]  (default: build list)
#   KEEP=1 keeps the temporary directory.
# Needs root.  The shipped files are used as they are; only their
# placeholders are substituted (@SHIM@ is a wrapper that runs the built
# imip-shim with IMIP_NOW set and logs each run, since pipe(8) passes
# no environment).  Prints one PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
VARIANT=${2:-list}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
PLUGIN=$BUILD/dovecot-plugin/lib95_imip_plugin.so
NAME=postfix-$VARIANT
# shellcheck source=SCRIPTDIR/../integration/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"
# shellcheck source=SCRIPTDIR/lib-postfix.sh
. "$SRC/tests/mta/lib-postfix.sh"
if [ "$VARIANT" = ldap ]; then
	# shellcheck source=SCRIPTDIR/../integration/lib-slapd.sh
	. "$SRC/tests/integration/lib-slapd.sh"
fi

# fail may run inside a redirection or a command substitution: it writes
# to the script's own standard output (fd 3) and ends the whole script
# (TERM to the main shell, whose trap exits and cleans up).
exec 3>&1
fail() {
	{
		echo "FAIL: $NAME: $*"
		postfix_log_tail 30
		[ -s "${T:-/nonexistent}/shim.log" ] && { echo "--- shim.log (tail) ---"; tail -n 20 "$T/shim.log"; }
		dovecot_log_tail
	} >&3
	kill -TERM $$ 2>/dev/null
	exit 1
}
trap 'exit 1' HUP INT TERM PIPE

case $VARIANT in
list | ldap) ;;
*) echo "FAIL: postfix: unknown variant '$VARIANT' (list or ldap)"; exit 1 ;;
esac
for f in "$SHIM" "$ADMIN" "$PLUGIN"; do
	[ -f "$f" ] || fail "no $f (build with dovecot-dev installed)"
done
dovecot_mktemp "imip-postfix-$VARIANT" || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	postfix_stop
	[ "$VARIANT" != ldap ] || slapd_stop
	dovecot_cleanup
}
trap cleanup EXIT
START=$(date +%s)

IMIP_NOW=20141120T120000Z
export IMIP_NOW
PAUL=paul.boddie@example.com
VINCENT=vincent.vole@example.com
HARVEY=harvey.horse@example.com
DORA=dora.dormouse@example.com
EDDIE=eddie.eel@example.com
FREDA=freda.fox@example.com
ROOM=resource-room-confroom@example.com
OLGA=olga.otter@external.test
CAL=calendar@example.com
UID1=kickoff-20141126@example.com

# --- set-up -------------------------------------------------------------------------

# The store and the logs belong to the mail user (Dovecot's plugin and the
# pipe services both run as nobody).
mkdir -p "$T/imip/store" "$T/imip/preferences" "$T/imip/journal" \
	"$T/imip/static" "$T/bin" "$T/log" "$T/msg"
chmod 755 "$T/imip" "$T/bin" "$T/msg"
chmod 1777 "$T/log"
IMIP_CONF=$T/imip/imip.conf

# @SHIM@: the built imip-shim, with IMIP_NOW, one record per run in
# shim.log ("run ARGS", the shim's log lines, "exit N"); stderr is passed
# on so that Postfix still quotes it when it defers or bounces.
cat > "$T/bin/imip-shim" <<EOF
#!/bin/sh
IMIP_NOW=$IMIP_NOW
export IMIP_NOW
e=\$(mktemp "$T/log/shim.XXXXXX") || exit 75
"$SHIM" "\$@" 2> "\$e"
rc=\$?
{ echo "run \$*"; cat "\$e"; echo "exit \$rc"; } >> "$T/log/shim.log"
cat "\$e" >&2
rm -f "\$e"
exit \$rc
EOF
chmod 755 "$T/bin/imip-shim"
ln -s "$T/log/shim.log" "$T/shim.log"

DOVECOT_DIR=$T/dovecot
mkdir -p "$DOVECOT_DIR"

if [ "$VARIANT" = ldap ]; then
	slapd_start "$T/slapd" || fail "slapd: $SLAPD_ERROR"
	# dora and eddie: calendar persons whose mailboxes lack the plugin, in
	# their own subtree (virtual_people.cf's search base); the rest of the
	# directory is conf/ldap/example.ldif.
	cat > "$T/shim-people.ldif" <<EOF
dn: ou=shim-people,$SLAPD_BASE
objectClass: organizationalUnit
ou: shim-people

dn: uid=dora.dormouse,ou=shim-people,$SLAPD_BASE
objectClass: inetOrgPerson
objectClass: imipCalendarPerson
uid: dora.dormouse
cn: Dora Dormouse
sn: Dormouse
mail: $DORA

dn: uid=eddie.eel,ou=shim-people,$SLAPD_BASE
objectClass: inetOrgPerson
objectClass: imipCalendarPerson
uid: eddie.eel
cn: Eddie Eel
sn: Eel
mail: $EDDIE
EOF
	slapd_add "$T/shim-people.ldif" || fail "slapd_add: $SLAPD_ERROR"
	PF_LDAP_URI=$SLAPD_URI
	PF_LDAP_BASE=$SLAPD_BASE
	PF_LDAP_SHIM_PEOPLE_BASE=ou=shim-people,$SLAPD_BASE
fi

PF_SHIM=$T/bin/imip-shim
PF_SHIM_USER=nobody
PF_IMIP_CONF=$IMIP_CONF
PF_LMTP_SOCKET=$DOVECOT_DIR/lmtp
postfix_configure "$T/postfix" "$VARIANT" || fail "$PF_ERROR"

# The agent sends through the private Postfix's inbound smtpd.
cat > "$IMIP_CONF" <<EOF
# written by tests/mta/postfix.sh
store_dir = $T/imip/store
preferences_dir = $T/imip/preferences
journal_dir = $T/imip/journal
static_dir = $T/imip/static
calendar_sender = $CAL
local_domains = example.com
default_tzid = UTC
log_target = stderr
submission_host = 127.0.0.1:$PF_PORT
EOF
chmod 644 "$IMIP_CONF"
"$ADMIN" -c "$IMIP_CONF" init-user "$ROOM" > /dev/null 2> "$T/admin.err" ||
	fail "imip-admin init-user $ROOM: $(cat "$T/admin.err")"
chown -R nobody:nogroup "$T/imip/store" "$T/imip/preferences" \
	"$T/imip/journal" "$T/imip/static"

# Dovecot: the plugin for the calendar persons; dora, eddie, freda and
# postmaster (calendar@) have plain mailboxes: their mail_plugins is just
# notify (harmless; an empty value means "yes", and sieve cannot be
# loaded by doveadm).
DOVECOT_USERS=$T/users
: > "$DOVECOT_USERS"
for u in paul.boddie vincent.vole harvey.horse; do
	dovecot_user "$u"
done
for u in dora.dormouse eddie.eel freda.fox postmaster; do
	dovecot_user "$u" "userdb_mail_plugins=notify"
done
dovecot_plugin_dirs "$T/plugins" "$BUILD" || fail "cannot make $T/plugins"
DOVECOT_CONF_EXTRA="mail_plugin_dir = $T/plugins/modules
submission_host = 127.0.0.1:$PF_PORT
import_environment = TZ IMIP_NOW=$IMIP_NOW
protocol lmtp {
  mail_plugins = \$mail_plugins sieve imip
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  imip_config = $IMIP_CONF
}"
dovecot_start "$DOVECOT_DIR" || fail "$DOVECOT_ERROR"
[ "$DOVECOT_SOCKET" = "$PF_LMTP_SOCKET" ] || fail "LMTP socket is $DOVECOT_SOCKET"
postfix_start || fail "$PF_ERROR"

# --- helpers ------------------------------------------------------------------------

# smtp PORT FROM FILE RCPT...: one SMTP transaction, every recipient accepted.
smtp() {
	python3 - "$@" > "$T/smtp.out" 2>&1 <<'PY' || fail "SMTP to port $1: $(cat "$T/smtp.out")"
import smtplib, sys
port, sender, path, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    refused = s.sendmail(sender, rcpts, data)
    if refused:
        sys.exit("refused: %r" % refused)
PY
}

# mkmsg NAME SAMPLE SED-SCRIPT: $T/msg/NAME.eml from samples/SAMPLE.eml
mkmsg() {
	sed -e "$3" "$SRC/samples/$2.eml" > "$T/msg/$1.eml" || fail "mkmsg $1"
}

# idle STEP: wait until Postfix's queue is empty (nothing deferred).
idle() {
	postfix_wait_idle 30 || fail "$1: Postfix queue not empty after 30 s: $(postqueue -c "$PF_ETC" -p 2>&1 | tail -n 8)"
}

# fetch USER: "uid|flags|subject|from" per INBOX message, oldest first
fetch() {
	doveadm -c "$DOVECOT_DIR/dovecot.conf" fetch -u "${1%%@*}" \
		'uid flags hdr.subject hdr.from' mailbox INBOX all > "$T/fetch.raw" \
		2> "$T/doveadm.err" || fail "doveadm fetch $1: $(cat "$T/doveadm.err")"
	awk '/^uid: / { u = $2 } /^flags: / { f = substr($0, 8) }
	     /^hdr.subject: / { s = substr($0, 14) }
	     /^hdr.from: / { print u "|" f "|" s "|" substr($0, 11) }' "$T/fetch.raw"
}

# expect_mail STEP USER SUBJECT N [FLAG...]: N messages with that subject
# in USER's INBOX, the newest one with those flags.
expect_mail() {
	_step=$1 _user=$2 _subj=$3 _n=$4
	shift 4
	fetch "$_user" > "$T/fetch.out"
	_got=$(awk -F'|' -v s="$_subj" '$3 == s { n++ } END { print n + 0 }' "$T/fetch.out")
	[ "$_got" = "$_n" ] || fail "$_step: $_got messages \"$_subj\" for $_user, expected $_n: $(cat "$T/fetch.out")"
	_fl=$(awk -F'|' -v s="$_subj" '$3 == s { f = $2 } END { print f }' "$T/fetch.out")
	for _f in "$@"; do
		case " $_fl " in *" $_f "*) ;; *) fail "$_step: \"$_subj\" for $_user has flags '$_fl', not $_f" ;; esac
	done
}

# inbox_count USER: messages in INBOX
inbox_count() {
	fetch "$1" | wc -l
}

# runs ROLE RECIPIENT: imip-shim runs so far for that role and --recipient
# (or, for outgoing, --sender).
runs() {
	[ -f "$T/shim.log" ] || { echo 0; return; }
	if [ "$1" = outgoing ]; then
		grep -c "^run .*--role outgoing --sender $2\$" "$T/shim.log" 2>/dev/null
	else
		grep -Ec "^run .*--role $1 .*--recipient $2( |\$)" "$T/shim.log" 2>/dev/null
	fi
}

# expect_runs STEP ROLE ADDRESS N
expect_runs() {
	_got=$(runs "$2" "$3")
	[ "$_got" = "$4" ] || fail "$1: $_got imip-shim --role $2 runs for $3, expected $4"
}

# expect_shim_log STEP PATTERN: a line of the shim's log matches
expect_shim_log() {
	grep -Eq -- "$2" "$T/shim.log" 2>/dev/null ||
		fail "$1: no imip-shim log line /$2/: $(grep '^imip-shim' "$T/shim.log" 2>/dev/null | tail -n 5)"
}

total_runs() {
	[ -f "$T/shim.log" ] || { echo 0; return; }
	grep -c '^run ' "$T/shim.log" 2>/dev/null
}

# from_calendar: messages the agent sent (accepted by Postfix from calendar@)
from_calendar() {
	grep -c "qmgr.*from=<$CAL>" "$PF_LOG"
}

# accepted FILE ADDRESS: the stored event (imip-admin show) has ADDRESS as
# an ATTENDEE with PARTSTAT=ACCEPTED (content lines unfolded first).
accepted() {
	tr -d '\r' < "$1" | awk '/^ / { l = l substr($0, 2); next } { if (l != "") print l; l = $0 } END { print l }' |
		grep -i "^ATTENDEE[;:].*:mailto:$2\$" | grep -q 'PARTSTAT=ACCEPTED'
}

events() {
	"$ADMIN" -c "$IMIP_CONF" events "$1" 2> "$T/admin.err" ||
		fail "imip-admin events $1: $(cat "$T/admin.err")"
}

# --- (1) an external invitation to a person with the plugin ----------------------------
mkmsg ext1 01-invitation "s/$PAUL/$OLGA/g; s/Paul Boddie/Olga Otter/g; s/$UID1/ext-kickoff@external.test/; s/<kickoff-0@/<ext-kickoff-0@/; s/Project kick-off/Partner meeting/g"
smtp "$PF_PORT" "$OLGA" "$T/msg/ext1.eml" "$VINCENT"
idle 1
expect_mail 1 "$VINCENT" "Invitation: Partner meeting" 1 '$iMIP' '$iMIP-added'
events "$VINCENT" | grep -q "^ext-kickoff@external.test	-	active	" ||
	fail "1: not in vincent's store: $(events "$VINCENT")"
[ "$(total_runs)" = 0 ] || fail "1: imip-shim ran for an ordinary inbound message"

# --- (2) paul books the room: the answer comes back through Postfix --------------------
mkmsg room 01-invitation "s/$UID1/room-booking-1@example.com/; s/<kickoff-0@/<room-0@/; s/Project kick-off/Room booking/g; s/^ATTENDEE;CN=Vincent Vole;.*/ATTENDEE;CN=Conference Room;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:$ROOM/; /^ATTENDEE;CN=Harvey Horse/d"
cal_before=$(from_calendar)
smtp "$PF_SUBMIT_PORT" "$PAUL" "$T/msg/room.eml" "$ROOM"
idle 2
# the reply may still be on its way from the resource pipe
postfix_wait_log "to=<$PAUL>.*relay=.*status=sent" 1 15 || fail "2: the room's answer was not delivered to paul"
idle 2
expect_runs 2 resource "$ROOM" 1
expect_runs 2 outgoing "$PAUL" 1
expect_shim_log 2 "role=resource recipient=$ROOM method=REQUEST uid=room-booking-1@example.com outcome=replied"
[ "$(from_calendar)" = $((cal_before + 1)) ] || fail "2: the agent sent $(($(from_calendar) - cal_before)) messages, expected 1"
fetch "$PAUL" > "$T/fetch.out"
grep -q "$CAL" "$T/fetch.out" || fail "2: no message from $CAL for paul: $(cat "$T/fetch.out")"
[ "$(wc -l < "$T/fetch.out")" = 1 ] || fail "2: paul has $(wc -l < "$T/fetch.out") messages, expected 1"
grep -q '\$iMIP-updated' "$T/fetch.out" || fail "2: the plugin did not update paul's copy: $(cat "$T/fetch.out")"
"$ADMIN" -c "$IMIP_CONF" show "$PAUL" room-booking-1@example.com > "$T/show.room" 2>&1 ||
	fail "2: paul has no room booking: $(cat "$T/show.room")"
accepted "$T/show.room" "$ROOM" ||
	fail "2: paul's copy does not show the room ACCEPTED: $(cat "$T/show.room")"
"$ADMIN" -c "$IMIP_CONF" freebusy "$ROOM" | grep -q "room-booking-1@example.com" ||
	fail "2: the room's free/busy has no booking"

# --- (3) a local person's REPLY through submission ---------------------------------------
smtp "$PF_SUBMIT_PORT" "$PAUL" "$SRC/samples/01-invitation.eml" "$VINCENT" "$HARVEY"
idle 3
smtp "$PF_SUBMIT_PORT" "$PAUL" "$SRC/samples/02-update.eml" "$VINCENT" "$HARVEY"
idle 3
expect_runs 3 outgoing "$PAUL" 3
expect_mail 3 "$VINCENT" "Invitation: Project kick-off" 1 '$iMIP-added'
expect_mail 3 "$HARVEY" "Invitation: Project kick-off" 1 '$iMIP-added'
events "$PAUL" | grep -q "^$UID1	-	active	1	" || fail "3: paul's outgoing copies not recorded: $(events "$PAUL")"
events "$VINCENT" | grep -q "^$UID1	-	active	1	" || fail "3: vincent has not the update: $(events "$VINCENT")"
smtp "$PF_SUBMIT_PORT" "$VINCENT" "$SRC/samples/03-reply.eml" "$PAUL"
idle 3
expect_runs 3 outgoing "$VINCENT" 1
expect_shim_log 3 "role=outgoing recipient=$VINCENT method=REPLY uid=$UID1 outcome=(added|updated)"
expect_mail 3 "$PAUL" "Accepted: Project kick-off" 1 '$iMIP' '$iMIP-updated'
"$ADMIN" -c "$IMIP_CONF" show "$PAUL" "$UID1" > "$T/show.kickoff" 2>&1 || fail "3: $(cat "$T/show.kickoff")"
accepted "$T/show.kickoff" "$VINCENT" ||
	fail "3: paul's copy does not show vincent ACCEPTED: $(cat "$T/show.kickoff")"
"$ADMIN" -c "$IMIP_CONF" freebusy "$VINCENT" | grep -q "^20141126T160000Z	20141126T170000Z	$UID1" ||
	fail "3: vincent's outgoing REPLY is not in his free/busy"
# freda is no calendar person: no outgoing copy of her mail
printf 'From: Freda Fox <%s>\nTo: %s\nSubject: lunch\nMessage-ID: <lunch-1@example.com>\n\nLunch at one?\n' \
	"$FREDA" "$VINCENT" > "$T/msg/lunch.eml"
smtp "$PF_SUBMIT_PORT" "$FREDA" "$T/msg/lunch.eml" "$VINCENT"
idle 3
expect_mail 3 "$VINCENT" "lunch" 1
expect_runs 3 outgoing "$FREDA" 0

# --- (4) person hand-back through the shim: LMTP and SMTP re-injection ---------------
mkmsg handback 01-invitation "s/$PAUL/$OLGA/g; s/Paul Boddie/Olga Otter/g; s/$UID1/handback-1@external.test/; s/<kickoff-0@/<handback-0@/; s/Project kick-off/Hand-back/g; s/$VINCENT/$DORA/g; s/Vincent Vole/Dora Dormouse/g; s/$HARVEY/$EDDIE/g; s/Harvey Horse/Eddie Eel/g"
reinject_before=$(grep -c 'imip-reinject/smtpd.*client=' "$PF_LOG")
smtp "$PF_PORT" "$OLGA" "$T/msg/handback.eml" "$DORA" "$EDDIE"
idle 4
expect_runs 4 person "$DORA" 1
expect_runs 4 person "$EDDIE" 1
expect_shim_log 4 "role=person recipient=$DORA method=REQUEST uid=handback-1@external.test outcome=added"
expect_shim_log 4 "role=person recipient=$EDDIE method=REQUEST uid=handback-1@external.test outcome=added"
grep -q "^run .*--recipient $DORA --deliver lmtp:" "$T/shim.log" || fail "4: dora not handed back by LMTP"
grep -q "^run .*--recipient $EDDIE --deliver smtp:127.0.0.1:$PF_REINJECT_PORT\$" "$T/shim.log" || fail "4: eddie not handed back by SMTP"
expect_mail 4 "$DORA" "Invitation: Hand-back" 1
expect_mail 4 "$EDDIE" "Invitation: Hand-back" 1
[ "$(inbox_count "$DORA")" = 1 ] || fail "4: dora has $(inbox_count "$DORA") messages"
[ "$(inbox_count "$EDDIE")" = 1 ] || fail "4: eddie has $(inbox_count "$EDDIE") messages"
grep -q '^X-iMIP-Outcome: added' "$(dovecot_newest_file "$EDDIE")" ||
	fail "4: eddie's copy is not the shim's summary"
[ "$(grep -c 'imip-reinject/smtpd.*client=' "$PF_LOG")" = $((reinject_before + 1)) ] ||
	fail "4: expected exactly one re-injected message"
events "$DORA" | grep -q "^handback-1@external.test	-	active	" || fail "4: not in dora's store"
events "$EDDIE" | grep -q "^handback-1@external.test	-	active	" || fail "4: not in eddie's store"

# --- (5) calendar@: replies and bounces to agent mail ------------------------------------
cal_before=$(from_calendar)
runs_before=$(total_runs)
printf 'From: Paul Boddie <%s>\nTo: %s\nSubject: Re: Accepted: Room booking\nMessage-ID: <re-room-1@example.com>\nIn-Reply-To: <room-reply@example.com>\n\nThanks, room!\n' \
	"$PAUL" "$CAL" > "$T/msg/re-room.eml"
smtp "$PF_SUBMIT_PORT" "$PAUL" "$T/msg/re-room.eml" "$CAL"
idle 5
expect_mail 5 postmaster "Re: Accepted: Room booking" 1
# only paul's outgoing copy ran (nothing for calendar@ itself)
[ "$(total_runs)" = $((runs_before + 1)) ] || fail "5: imip-shim ran for mail to $CAL"
# an outside organiser books the room; the answer to that address bounces
# (nothing leaves the test machine), and the bounce comes to calendar@
mkmsg extroom 01-invitation "s/$PAUL/$OLGA/g; s/Paul Boddie/Olga Otter/g; s/$UID1/ext-room-1@external.test/; s/<kickoff-0@/<ext-room-0@/; s/Project kick-off/Outside booking/g; s/^ATTENDEE;CN=Vincent Vole;.*/ATTENDEE;CN=Conference Room;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:$ROOM/; /^ATTENDEE;CN=Harvey Horse/d; s/^DTSTART;TZID=Europe\/Oslo:20141126T160000/DTSTART;TZID=Europe\/Oslo:20141127T090000/; s/^DTEND;TZID=Europe\/Oslo:20141126T170000/DTEND;TZID=Europe\/Oslo:20141127T100000/"
smtp "$PF_PORT" "$OLGA" "$T/msg/extroom.eml" "$ROOM"
idle 5
postfix_wait_log "to=<$OLGA>.*status=bounced" 1 15 || fail "5: the answer to $OLGA did not bounce"
idle 5
expect_shim_log 5 "role=resource recipient=$ROOM method=REQUEST uid=ext-room-1@external.test outcome=replied"
expect_runs 5 resource "$ROOM" 2
expect_mail 5 postmaster "Undelivered Mail Returned to Sender" 1
[ "$(inbox_count postmaster)" = 2 ] || fail "5: postmaster has $(inbox_count postmaster) messages, expected 2"
[ "$(from_calendar)" = $((cal_before + 1)) ] ||
	fail "5: the agent sent $(($(from_calendar) - cal_before)) messages, expected 1 (the answer)"
[ "$(total_runs)" = $((runs_before + 2)) ] || fail "5: imip-shim ran for the bounce"

# a bounce (null sender) to a resource: the shim gets an empty --sender
# (null_sender=), does nothing, answers nothing, exits 0
printf 'From: Mail Delivery System <MAILER-DAEMON@external.test>\nTo: %s\nSubject: Undelivered Mail\nMessage-ID: <dsn-1@external.test>\nAuto-Submitted: auto-replied\n\nYour message could not be delivered.\n' \
	"$ROOM" > "$T/msg/dsn.eml"
cal_before=$(from_calendar)
smtp "$PF_PORT" "" "$T/msg/dsn.eml" "$ROOM"
idle 5
grep -q "^run .*--role resource --sender  --recipient $ROOM\$" "$T/shim.log" ||
	fail "5: the null sender did not reach the shim as an empty --sender"
expect_runs 5 resource "$ROOM" 3
[ "$(tail -n 1 "$T/shim.log")" = "exit 0" ] || fail "5: the shim did not exit 0 for a bounce"
[ "$(from_calendar)" = "$cal_before" ] || fail "5: the agent answered a bounce"

# --- (6) the hand-back target down --------------------------------------------------------
dovecot_stop
mkmsg down 01-invitation "s/$PAUL/$OLGA/g; s/Paul Boddie/Olga Otter/g; s/$UID1/down-1@external.test/; s/<kickoff-0@/<down-0@/; s/Project kick-off/While down/g; s/$VINCENT/$DORA/g; s/Vincent Vole/Dora Dormouse/g"
printf 'From: Olga Otter <%s>\nTo: %s\nSubject: while down\nMessage-ID: <down-plain@external.test>\n\nHello.\n' \
	"$OLGA" "$VINCENT" > "$T/msg/down-plain.eml"
deferred_before=$(grep -c 'status=deferred' "$PF_LOG")
smtp "$PF_PORT" "$OLGA" "$T/msg/down.eml" "$DORA"
smtp "$PF_PORT" "$OLGA" "$T/msg/down-plain.eml" "$VINCENT"
postfix_wait_log "to=<$DORA>.*relay=imip-person.*status=deferred" 1 15 ||
	fail "6: dora's mail was not deferred by the shim"
postfix_wait_log "to=<$VINCENT>.*status=deferred" 1 15 ||
	fail "6: vincent's mail was not deferred"
grep -q "^exit 75\$" "$T/shim.log" || fail "6: the shim did not exit 75"
[ "$(postfix_queue_count)" = 2 ] || fail "6: $(postfix_queue_count) messages queued, expected 2"
dovecot_start "$DOVECOT_DIR" || fail "6: $DOVECOT_ERROR"
postfix_flush
idle 6
expect_mail 6 "$DORA" "Invitation: While down" 1
expect_mail 6 "$VINCENT" "while down" 1
[ "$(runs person "$DORA")" -ge 3 ] || fail "6: dora's mail was not retried through the shim"
# processed once; the retries report that first outcome, "already processed"
[ "$(grep "recipient=$DORA .*uid=down-1@external.test outcome=added" "$T/shim.log" |
	grep -vc 'reason="already processed: ')" = 1 ] ||
	fail "6: down-1 was not added exactly once for dora"
expect_shim_log 6 "role=person recipient=$DORA .*outcome=added reason=\"already processed: "
[ "$(events "$DORA" | grep -c '^down-1@external.test	')" = 1 ] || fail "6: not once in dora's store"
[ "$(grep -c 'status=deferred' "$PF_LOG")" -ge $((deferred_before + 2)) ] || fail "6: fewer deferrals than expected"

# --- (7) LDAP only: the directory decided, and counts without a reload --------------
if [ "$VARIANT" = ldap ]; then
	# slapd's stats log shows the searches Postfix's ldap tables made
	for q in "imipCalendarResource)(mail=$ROOM)" "imipCalendarPerson)(mail=$DORA)" \
	         "imipCalendarPerson)(mail=$EDDIE)" "imipCalendarPerson)(mail=$PAUL)" \
	         "imipCalendarPerson)(mail=$FREDA)"; do
		grep -qF "$q" "$SLAPD_LOG" || fail "7: no LDAP search for $q in the slapd log"
	done
	ANNEX=resource-room-annex@example.com
	cat > "$T/annex.ldif" <<EOF
dn: cn=resource-room-annex,ou=resources,$SLAPD_BASE
objectClass: device
objectClass: imipCalendarResource
cn: resource-room-annex
mail: $ANNEX
EOF
	slapd_add "$T/annex.ldif" || fail "7: $SLAPD_ERROR"
	mkmsg annex 01-invitation "s/$UID1/annex-1@example.com/; s/<kickoff-0@/<annex-0@/; s/Project kick-off/Annex booking/g; s/^ATTENDEE;CN=Vincent Vole;.*/ATTENDEE;CN=Annex;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:$ANNEX/; /^ATTENDEE;CN=Harvey Horse/d"
	paul_before=$(inbox_count "$PAUL")
	smtp "$PF_SUBMIT_PORT" "$PAUL" "$T/msg/annex.eml" "$ANNEX"
	idle 7
	expect_runs 7 resource "$ANNEX" 1
	expect_shim_log 7 "role=resource recipient=$ANNEX method=REQUEST uid=annex-1@example.com outcome=replied"
	[ "$(inbox_count "$PAUL")" = $((paul_before + 1)) ] || fail "7: the annex's answer did not reach paul"
fi

# --- the Postfix log: no loop, only the one bounce ------------------------------------------
if grep -Eqi 'loop|too many hops' "$PF_LOG"; then
	fail "mail loop in the Postfix log: $(grep -Ei 'loop|too many hops' "$PF_LOG" | head -n 3)"
fi
[ "$(grep -c 'status=bounced' "$PF_LOG")" = 1 ] ||
	fail "expected one bounce, got: $(grep 'status=bounced' "$PF_LOG")"
if grep -Eq 'fatal|panic' "$PF_LOG"; then
	fail "Postfix errors: $(grep -E 'fatal|panic' "$PF_LOG" | head -n 3)"
fi

echo "PASS: $NAME ($(($(date +%s) - START)) s)"
exit 0
