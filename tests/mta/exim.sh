#!/bin/sh
# shellcheck disable=SC2016  # $iMIP keywords are literal
# MTA test: a private Exim (configuration generated from the shipped
# conf/exim pieces, tests/mta/lib-exim.sh) delivering by LMTP into a
# private Dovecot with the imip plugin (tests/integration/lib-dovecot.sh),
# imip-shim in Exim's pipe transports.  Calendar persons and resources
# come from the list files (VARIANT list) or from a private slapd with
# conf/ldap/example.ldif (VARIANT ldap, tests/integration/lib-slapd.sh).
#
# Identities: paul, vincent (Dovecot with the plugin), harvey (his mail
# store "lacks the plugin": Exim routes him through imip-shim --role
# person), resource-room-confroom (no mailbox), calendar@ (the agent's
# address, an alias of postmaster@, a plain mailbox).  Ports: SMTP (mail
# from outside), submission (local users: outgoing copies), re-injection.
#
#  1. an external invitation to vincent: stored by the plugin, in his
#     mailbox once, no outgoing copy;
#  2. paul submits an invitation and its update to vincent: one outgoing
#     copy each records paul's event; the plugin stores vincent's; a
#     local user who is no calendar person (freda) gets no copy;
#  3. vincent submits his REPLY to paul: the outgoing copy records
#     vincent's acceptance (his free/busy), and the plugin updates paul's
#     copy (vincent's PARTSTAT, paul's view of vincent's free/busy);
#  4. paul invites the room and vincent: one outgoing copy, delivered
#     before the room's pipe; imip-shim --role resource books the room and
#     its ACCEPTED REPLY goes back through Exim (submission_host) into
#     paul's mailbox, where the plugin records it;
#  5. the calendar address: a reply to calendar@ reaches postmaster's
#     mailbox; the room's answer to an organiser without a mailbox
#     bounces to calendar@ and reaches postmaster once, no loop;
#  6. person hand-back with --deliver lmtp:SOCKET: harvey's invitation is
#     recorded by the shim and delivered once;
#  7. the hand-back target down (Dovecot stopped): the shim exits 75 and
#     Exim defers (so does its own LMTP delivery to vincent); Dovecot
#     back, a queue run delivers each once, the queue is empty;
#  8. person hand-back with --deliver smtp:127.0.0.1:REINJECT (Exim
#     restarted with that setting): delivered once, the re-injected
#     message skips the imip routers (no loop).
#
# Usage: tests/mta/exim.sh [BUILDDIR [VARIANT]]  (default: build list)
#   KEEP=1 keeps the temporary directory.
# Needs root.  Prints one PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
VARIANT=${2:-list}
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
PLUGIN=$BUILD/dovecot-plugin/lib95_imip_plugin.so
NAME=exim-$VARIANT
EXIM_SRC=$SRC
# shellcheck source=SCRIPTDIR/../integration/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"
# shellcheck source=SCRIPTDIR/lib-exim.sh
. "$SRC/tests/mta/lib-exim.sh"
case $VARIANT in
list) ;;
ldap)
	# shellcheck source=SCRIPTDIR/../integration/lib-slapd.sh
	. "$SRC/tests/integration/lib-slapd.sh"
	;;
*)
	echo "usage: $0 [BUILDDIR [list|ldap]]" >&2
	exit 64
	;;
esac

fail() {
	echo "FAIL: $NAME: $*"
	exim_log_tail
	dovecot_log_tail
	[ "$VARIANT" = ldap ] && slapd_log_tail 2>/dev/null
	exit 1
}

for f in "$SHIM" "$ADMIN" "$PLUGIN"; do
	[ -f "$f" ] || fail "no $f (build with dovecot-dev installed)"
done
dovecot_mktemp "imip-$NAME" || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	exim_cleanup
	[ "$VARIANT" = ldap ] && slapd_stop
	dovecot_cleanup
}
trap cleanup EXIT
START=$(date +%s)

IMIP_NOW=20141120T120000Z
export IMIP_NOW
PAUL=paul.boddie@example.com
VINCENT=vincent.vole@example.com
HARVEY=harvey.horse@example.com
ROOM=resource-room-confroom@example.com
OLIVE=olive.otter@example.net
KICKOFF=kickoff-20141126@example.com
TEAM=team-meeting-2014@example.com
PLANNING=planning-20141127@example.com
DATA=$SRC/tests/mta/data

# --- set-up ---------------------------------------------------------------

dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"
exim_install "$T/apt.log" || fail "$EXIM_ERROR"
exim_setup "$T/exim" || fail "$EXIM_ERROR"

# imip.conf shared by the plugin and the pipes (both run as nobody);
# what the agent sends goes to Exim's submission port
imip_conf "$T/imip" || fail "$IMIP_ERROR"
IMIP_CONF=$T/imip/imip.conf
sed -i '/^sendmail_path/d' "$IMIP_CONF"
echo "submission_host = 127.0.0.1:$EXIM_PORT_SUBMISSION" >> "$IMIP_CONF"
"$ADMIN" -c "$IMIP_CONF" init-user "$ROOM" > /dev/null 2> "$T/admin.err" ||
	fail "imip-admin init-user $ROOM: $(cat "$T/admin.err")"
chown -R nobody:nogroup "$T/imip"

# Dovecot: the plugin for paul and vincent; harvey and postmaster get
# no imip plugin (userdb mail_plugins: a harmless one instead)
DOVECOT_DIR=$T/dovecot
mkdir -p "$DOVECOT_DIR"
DOVECOT_USERS=$T/users
: > "$DOVECOT_USERS"
dovecot_user paul.boddie
dovecot_user vincent.vole
dovecot_user harvey.horse "userdb_mail_plugins=notify"
dovecot_user postmaster "userdb_mail_plugins=notify"
dovecot_plugin_dirs "$T/plugins" "$BUILD" || fail "cannot make $T/plugins"
DOVECOT_CONF_EXTRA="mail_plugin_dir = $T/plugins/modules
submission_host = 127.0.0.1:$EXIM_PORT_SUBMISSION
import_environment = TZ IMIP_NOW=$IMIP_NOW
protocol lmtp {
  mail_plugins = \$mail_plugins sieve imip
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  imip_config = $IMIP_CONF
}"
dovecot_start "$DOVECOT_DIR" || fail "$DOVECOT_ERROR"

# identification
LDAP_URL=ldap://127.0.0.1:1 LDAP_BASE=dc=example,dc=com
if [ "$VARIANT" = ldap ]; then
	slapd_start "$T/slapd" || fail "$SLAPD_ERROR"
	LDAP_URL=$SLAPD_URI LDAP_BASE=$SLAPD_BASE
else
	printf '%s\n' "# calendar persons" "$PAUL" "$VINCENT" "$HARVEY" \
		> "$EXIM_DIR/lists/people"
	printf '%s\n' "# persons whose store has no imip plugin" "$HARVEY" \
		> "$EXIM_DIR/lists/shim-people"
	printf '%s\n' "# resources" "$ROOM" > "$EXIM_DIR/lists/resources"
fi

# write_conf TARGET: the Exim configuration with the person hand-back TARGET
write_conf() {
	exim_write_conf "$VARIANT" "SHIM=$SHIM" "IMIP_CONF=$IMIP_CONF" \
		"IMIP_NOW=$IMIP_NOW" "LMTP_SOCKET=$DOVECOT_SOCKET" \
		"PERSON_DELIVER=$1" "LDAP_URL=$LDAP_URL" "LDAP_BASE=$LDAP_BASE" ||
		fail "$EXIM_ERROR"
}
write_conf "lmtp:$DOVECOT_SOCKET"
exim_start || fail "$EXIM_ERROR"

# --- helpers --------------------------------------------------------------

# send STEP PORT SENDER FILE RCPT...: submit, wait until Exim has done
# everything it can (answers and bounces included); the id in $id
send() {
	_step=$1
	shift
	id=$(exim_send "$@") || fail "$_step: SMTP: $(tail -n 2 "$EXIM_DIR/send.err")"
	exim_settle 30 || fail "$_step: $EXIM_ERROR"
}

# fetch USER: "uid|flags|subject" per INBOX message, oldest first, in
# $T/fetch.out
fetch() {
	doveadm -c "$DOVECOT_DIR/dovecot.conf" fetch -u "${1%%@*}" \
		'uid flags hdr.subject' mailbox INBOX all > "$T/fetch.raw" \
		2> "$T/doveadm.err" || fail "doveadm fetch $1: $(cat "$T/doveadm.err")"
	awk '/^uid: / { u = $2 } /^flags: / { f = substr($0, 8) }
	     /^hdr.subject: / { print u "|" f "|" substr($0, 14) }' \
		"$T/fetch.raw" > "$T/fetch.out"
}

# expect_count STEP USER N: messages in the user's INBOX
expect_count() {
	fetch "$2"
	_n=$(wc -l < "$T/fetch.out")
	[ "$_n" = "$3" ] || fail "$1: $2 has $_n messages, expected $3: $(cat "$T/fetch.out")"
}

# expect_flag STEP USER SUBJECT FLAG: the newest message with SUBJECT has FLAG
expect_flag() {
	fetch "$2"
	_fl=$(awk -F'|' -v s="$3" '$3 == s { f = $2 } END { print f }' "$T/fetch.out")
	case " $_fl " in
	*" $4 "*) ;;
	*) fail "$1: \"$3\" for $2 has flags \"$_fl\", expected $4: $(cat "$T/fetch.out")" ;;
	esac
}

# admin ARGS...: imip-admin's output (tab-separated)
admin() {
	"$ADMIN" -c "$IMIP_CONF" "$@" 2> "$T/admin.err" ||
		fail "imip-admin $*: $(cat "$T/admin.err")"
}

# expect_admin STEP ERE ARGS...: a line of imip-admin's output matches
expect_admin() {
	_step=$1 _re=$2
	shift 2
	admin "$@" > "$T/admin.out"
	grep -qE -- "$_re" "$T/admin.out" ||
		fail "$_step: imip-admin $* has no line matching $_re: $(cat "$T/admin.out")"
}

# to ADDR: how Exim's log names a recipient in a delivery line, "=> local
# <address>" for local transports (pipe, lmtp), "=> address" otherwise
to() {
	echo "=> (${1%%@*} <$1>|$1)"
}

# expect_partstat STEP USER UID ATTENDEE: in USER's copy of UID (content
# lines unfolded), ATTENDEE's line has PARTSTAT=ACCEPTED
expect_partstat() {
	admin show "$2" "$3" > "$T/show.out"
	tr -d '\r' < "$T/show.out" |
		awk '/^ / { line = line substr($0, 2); next }
		     { if (line != "") print line; line = $0 }
		     END { if (line != "") print line }' |
		grep -i "^ATTENDEE.*:mailto:$4\$" | grep -q "PARTSTAT=ACCEPTED"
}

# expect_log STEP N ERE: exactly N main log lines match
expect_log() {
	_n=$(exim_log_count "$3")
	[ "$_n" = "$2" ] || fail "$1: $_n Exim log lines match \"$3\", expected $2"
}

# --- 1. an external invitation to a person --------------------------------
sed -e "s/paul\.boddie@example\.com/$OLIVE/g" -e 's/Paul Boddie/Olive Otter/g' \
	"$SRC/samples/05-recurring.eml" > "$T/external.eml"
send 1 "$EXIM_PORT_SMTP" "$OLIVE" "$T/external.eml" "$VINCENT"
expect_count 1 "$VINCENT" 1
expect_flag 1 "$VINCENT" "Invitation: Team meeting (weekly)" '$iMIP-added'
expect_admin 1 "^$TEAM	.*	active	" events "$VINCENT"
expect_log 1 1 " $id $(to "$VINCENT") .*R=imip_dovecot_lmtp T=imip_dovecot_lmtp"
expect_log 1 0 " $id .*T=imip_people_outgoing_pipe"

# --- 2. paul submits an invitation and its update ---------------------------
send 2a "$EXIM_PORT_SUBMISSION" "$PAUL" "$SRC/samples/01-invitation.eml" "$VINCENT"
expect_log 2a 1 " $id => outgoing <[^>]*> .*T=imip_people_outgoing_pipe"
send 2b "$EXIM_PORT_SUBMISSION" "$PAUL" "$SRC/samples/02-update.eml" "$VINCENT"
expect_log 2b 1 " $id => outgoing <[^>]*> .*T=imip_people_outgoing_pipe"
expect_admin 2 "^$KICKOFF	.*	active	1	20141126T160000Z	" events "$PAUL"
expect_admin 2 "^$KICKOFF	.*	active	1	20141126T160000Z	" events "$VINCENT"
expect_count 2 "$VINCENT" 3
# a local user who is not a calendar person gets no outgoing copy
printf 'From: Freda Fox <freda.fox@example.com>\nTo: vincent.vole@example.com\nSubject: lunch\nMessage-ID: <lunch@example.com>\n\nLunch at noon?\n' \
	> "$T/lunch.eml"
send 2c "$EXIM_PORT_SUBMISSION" freda.fox@example.com "$T/lunch.eml" "$VINCENT"
expect_log 2c 0 " $id .*T=imip_people_outgoing_pipe"
expect_count 2c "$VINCENT" 4

# --- 3. vincent submits his reply ------------------------------------------
send 3 "$EXIM_PORT_SUBMISSION" "$VINCENT" "$SRC/samples/03-reply.eml" "$PAUL"
expect_log 3 1 " $id => outgoing <[^>]*> .*T=imip_people_outgoing_pipe"
expect_log 3 1 " $id $(to "$PAUL") .*R=imip_dovecot_lmtp"
# the outgoing copy: vincent's own free/busy has the kick-off
expect_admin 3 "^20141126T160000Z	20141126T170000Z	$KICKOFF" freebusy "$VINCENT"
# the plugin: paul's copy has vincent's answer
expect_count 3 "$PAUL" 1
expect_flag 3 "$PAUL" "Accepted: Project kick-off" '$iMIP-updated'
expect_partstat 3 "$PAUL" "$KICKOFF" "$VINCENT" ||
	fail "3: paul's copy lacks vincent's acceptance: $(cat "$T/show.out")"
expect_admin 3 "^20141126T160000Z	20141126T170000Z	$KICKOFF" \
	freebusy "$PAUL" --other "$VINCENT"

# --- 4. a request to a resource ---------------------------------------------
send 4 "$EXIM_PORT_SUBMISSION" "$PAUL" "$DATA/room-request.eml" "$ROOM" "$VINCENT"
expect_log 4 1 " $id $(to "$ROOM") .*R=imip_resources T=imip_resources_pipe"
# one outgoing copy for the two recipients, delivered first
expect_log 4 1 " $id => outgoing <[^>]*> .*T=imip_people_outgoing_pipe"
first=$(grep " $id => " "$EXIM_LOG" | head -n 1)
case $first in
*T=imip_people_outgoing_pipe*) ;;
*) fail "4: the outgoing copy was not delivered first: $first" ;;
esac
expect_count 4 "$VINCENT" 5
expect_admin 4 "^$PLANNING	.*	active	" events "$ROOM"
# the room's answer: from calendar@ through Exim's submission port into
# paul's mailbox, recorded by the plugin
expect_log 4 1 " <= calendar@example.com .*I=\[127.0.0.1\]:$EXIM_PORT_SUBMISSION .*for $PAUL"
expect_count 4 "$PAUL" 2
expect_partstat 4 "$PAUL" "$PLANNING" "$ROOM" ||
	fail "4: paul's copy lacks the room's acceptance: $(cat "$T/show.out")"

# --- 5. the calendar address -------------------------------------------------
before=$(exim_log_count 'T=imip_[a-z_]*_pipe')
send 5a "$EXIM_PORT_SMTP" "$OLIVE" "$SRC/samples/03-reply.eml" calendar@example.com
expect_log 5a 1 " $id => postmaster <[^>]*> R=imip_dovecot_lmtp"
expect_count 5a postmaster 1
[ "$(exim_log_count 'T=imip_[a-z_]*_pipe')" = "$before" ] ||
	fail "5a: mail to the calendar address reached imip-shim"
# the room answers ghost@, who has no mailbox: the bounce goes to calendar@
bounces=$(exim_log_count ' <= <> ')
send 5b "$EXIM_PORT_SMTP" ghost@example.com "$DATA/ghost-request.eml" "$ROOM"
expect_log 5b 1 " <= calendar@example.com .*for ghost@example.com"
expect_log 5b 1 "\*\* ghost@example.com "
[ "$(exim_log_count ' <= <> ')" = $((bounces + 1)) ] ||
	fail "5b: expected exactly one bounce, got $(( $(exim_log_count ' <= <> ') - bounces ))"
bounce=$(grep ' <= <> ' "$EXIM_LOG" | tail -n 1 | awk '{ print $3 }')
expect_log 5b 1 " $bounce => postmaster <calendar@example.com> R=imip_dovecot_lmtp "
expect_count 5b postmaster 2
[ "$(exim_queue_count)" = 0 ] || fail "5b: messages left in the queue: $(exim_queue_count)"

# --- 6. person hand-back by LMTP --------------------------------------------
send 6 "$EXIM_PORT_SMTP" "$PAUL" "$SRC/samples/01-invitation.eml" "$HARVEY"
expect_log 6 1 " $id $(to "$HARVEY") .*R=imip_people T=imip_people_pipe"
expect_log 6 0 " $id .*T=imip_people_outgoing_pipe"
expect_count 6 "$HARVEY" 1
# the envelope sender (SENDER in the pipe's environment) was handed on
doveadm -c "$DOVECOT_DIR/dovecot.conf" fetch -u harvey.horse hdr.return-path \
	mailbox INBOX all > "$T/fetch.raw" 2>&1
grep -q "<$PAUL>" "$T/fetch.raw" || fail "6: Return-Path is not paul's: $(cat "$T/fetch.raw")"
expect_admin 6 "^$KICKOFF	.*	active	0	" events "$HARVEY"
# the pipe's umask (007) leaves the store group-writable for the plugin
ro=$(find "$T/imip/store/$HARVEY" ! -perm -g=w | head -n 3)
[ -z "$ro" ] || fail "6: not group-writable (transport umask): $ro"

# --- 7. the hand-back target down ----------------------------------------------
dovecot_stop
id=$(exim_send "$EXIM_PORT_SMTP" "$PAUL" "$SRC/samples/02-update.eml" "$HARVEY" "$VINCENT") ||
	fail "7: SMTP: $(tail -n 2 "$EXIM_DIR/send.err")"
exim_wait_log " $id == $HARVEY .*T=imip_people_pipe" || fail "7: harvey not deferred: $EXIM_ERROR"
exim_wait_log " $id == $VINCENT .*T=imip_dovecot_lmtp" || fail "7: vincent not deferred: $EXIM_ERROR"
expect_log 7 1 " $id == $HARVEY .*T=imip_people_pipe .*returned 75"
[ "$(exim_queue_count)" = 1 ] || fail "7: expected 1 message in the queue, $(exim_queue_count)"
dovecot_start "$DOVECOT_DIR" || fail "7: $DOVECOT_ERROR"
exim_queue_run
exim_settle 30 || fail "7: $EXIM_ERROR"
[ "$(exim_queue_count)" = 0 ] || fail "7: messages left in the queue after the run"
expect_log 7 1 " $id $(to "$HARVEY") .*R=imip_people T=imip_people_pipe"
expect_log 7 1 " $id $(to "$VINCENT") .*R=imip_dovecot_lmtp"
expect_count 7 "$HARVEY" 2
expect_count 7 "$VINCENT" 6
expect_admin 7 "^$KICKOFF	.*	active	1	20141126T160000Z	" events "$HARVEY"

# --- 8. person hand-back by SMTP to the re-injection port ------------------------
exim_stop
write_conf "smtp:127.0.0.1:$EXIM_PORT_REINJECT"
exim_start || fail "8: $EXIM_ERROR"
send 8 "$EXIM_PORT_SMTP" "$PAUL" "$SRC/samples/04-cancel.eml" "$HARVEY"
expect_log 8 1 " $id $(to "$HARVEY") .*R=imip_people T=imip_people_pipe"
# the shim took the envelope sender from Exim's environment (SENDER)
expect_log 8 1 " <= $PAUL .*I=\[127.0.0.1\]:$EXIM_PORT_REINJECT .*for $HARVEY"
back=$(grep -E " <= .*I=\[127.0.0.1\]:$EXIM_PORT_REINJECT .*for $HARVEY" "$EXIM_LOG" | awk '{ print $3 }')
expect_log 8 1 " $back $(to "$HARVEY") .*R=imip_dovecot_lmtp"
expect_log 8 0 " $back .*T=imip_[a-z_]*_pipe"
expect_log 8 3 "$(to "$HARVEY") .*R=imip_people T=imip_people_pipe"
expect_count 8 "$HARVEY" 3
expect_admin 8 "^$KICKOFF	.*	cancelled	" events "$HARVEY"

# --- nothing else happened --------------------------------------------------
[ "$(exim_queue_count)" = 0 ] || fail "messages left in the queue"
[ ! -s "$EXIM_DIR/log/paniclog" ] || fail "Exim panic log: $(tail -n 5 "$EXIM_DIR/log/paniclog")"
expect_log end 0 "Tainted"

echo "PASS: $NAME ($(( $(date +%s) - START )) s: external, outgoing, reply, resource, calendar address, hand-back lmtp/smtp, target down)"
exit 0
