#!/bin/sh
# shellcheck disable=SC2016  # the $iMIP keywords and ${o} are literal
# Integration test: the port marker of sender authentication
# (imip.conf trusted_submission_ports, docs/security.md 3.2) with
# lib95_imip_plugin.so in a private Dovecot (lib-dovecot.sh).
# require_authentication = dmarc; Dovecot's LMTP listens on a UNIX socket,
# on 127.0.0.1:P (the ordinary TCP listener) and on 127.0.0.1:S, a second
# inet_listener standing for the one a site gives its authenticated
# submission service; trusted_submission_ports = S.  Paul's invitation
# carries no Authentication-Results at all:
#  (a) over S: processed for vincent: the event is stored, the mailbox
#      copy is the summary wrapper (X-iMIP-Outcome: added), $iMIP-added;
#  (b) over P, over the UNIX socket, and through dovecot-lda (no
#      connection: port unknown): rejected for harvey each time, with a
#      reason naming authentication; delivered unchanged every time,
#      $iMIP-rejected, nothing stored;
#  (c) the same message to harvey over S afterwards: added (the refusals
#      were not remembered, and the port alone made the difference);
#  (d) dora has imip_trigger = sieve and a script running processcalendar:
#      over P the script sees "rejected", over S "added".
#
# Usage: tests/integration/dovecot-submission-port.sh [BUILDDIR]
#   (default: build); KEEP=1 keeps the temporary directory.
# Needs root; see lib-dovecot.sh.  Prints one PASS/FAIL line; exit status 0
# only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
ADMIN=$BUILD/tools/imip-admin
PLUGIN=$BUILD/dovecot-plugin/lib95_imip_plugin.so
LDA=/usr/lib/dovecot/dovecot-lda
NAME=dovecot-submission-port
# shellcheck source=SCRIPTDIR/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"

fail() {
	echo "FAIL: $NAME: $*"
	dovecot_log_tail
	exit 1
}

for f in "$ADMIN" "$PLUGIN"; do
	[ -f "$f" ] || fail "no $f (build with dovecot-dev installed)"
done
dovecot_mktemp imip-dovecot-submission-port || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"

IMIP_NOW=20141120T120000Z
export IMIP_NOW
VINCENT=vincent.vole@example.com
HARVEY=harvey.horse@example.com
UID1=kickoff-20141126@example.com

# --- set-up -------------------------------------------------------------------------

# The submission listener's port, chosen now: imip.conf and dovecot.conf
# both name it.  (dovecot_start picks the ordinary one afresh.)
SUBMISSION_PORT=$(dovecot_free_port)
[ -n "$SUBMISSION_PORT" ] || fail "no free port"

imip_conf "$T/imip" || fail "$IMIP_ERROR"
cat >> "$IMIP_CONF" <<EOF
require_authentication = dmarc
trusted_authserv_ids = mx.example.com
trusted_submission_ports = $SUBMISSION_PORT
EOF
chown -R nobody:nogroup "$T/imip"

DOVECOT_DIR=$T/dovecot
mkdir -p "$DOVECOT_DIR"
DOVECOT_USERS=$T/users
: > "$DOVECOT_USERS"
dovecot_user vincent.vole
dovecot_user harvey.horse
dovecot_user dora.dormouse userdb_imip_trigger=sieve
dovecot_plugin_dirs "$T/plugins" "$BUILD" || fail "cannot make $T/plugins"

# Replies (none are expected) would go to a script that refuses them.
DOVECOT_CONF_EXTRA="mail_plugin_dir = $T/plugins/modules
sendmail_path = /bin/false
import_environment = TZ IMIP_NOW=$IMIP_NOW
protocol lmtp {
  mail_plugins = \$mail_plugins sieve imip
}
protocol lda {
  mail_plugins = \$mail_plugins sieve imip
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_plugin_dir = $T/plugins/sieve-modules
  sieve_plugins = sieve_imip
  sieve_extensions = +processcalendar
  imip_config = $IMIP_CONF
}
service lmtp {
  inet_listener lmtp-submission {
    address = 127.0.0.1
    port = $SUBMISSION_PORT
  }
}"
dovecot_start "$DOVECOT_DIR" || fail "$DOVECOT_ERROR"
[ "$DOVECOT_PORT" != "$SUBMISSION_PORT" ] ||
	fail "the two listeners got the same port $DOVECOT_PORT"

# --- helpers ------------------------------------------------------------------------

# lmtp WHERE FILE RCPT: one delivery (WHERE: a socket path or host:port)
lmtp() {
	python3 - "$@" > "$T/lmtp.out" 2>&1 <<'PY' || fail "LMTP to $*: $(cat "$T/lmtp.out")"
import smtplib, sys
where, path, rcpt = sys.argv[1:4]
if where.startswith("/"):
    s = smtplib.LMTP(where)
else:
    host, port = where.rsplit(":", 1)
    s = smtplib.LMTP(host, int(port))
s.ehlo_or_helo_if_needed()
code, msg = s.mail("paul.boddie@example.com")
assert code == 250, (code, msg)
code, msg = s.rcpt(rcpt)
assert code == 250, (code, msg)
code, msg = s.data(open(path, "rb").read())
s.quit()
print(rcpt, code, msg.decode())
sys.exit(0 if code == 250 else 1)
PY
}

# lda USER FILE: dovecot-lda as an MTA would run it
lda() {
	"$LDA" -c "$DOVECOT_DIR/dovecot.conf" -d "${1%%@*}" -a "$1" \
		-f paul.boddie@example.com < "$2" > "$T/lda.out" 2>&1 ||
		fail "dovecot-lda to $1: exit $?: $(cat "$T/lda.out")"
}

# fetch USER: "uid|flags|subject" per INBOX message, oldest first
fetch() {
	doveadm -c "$DOVECOT_DIR/dovecot.conf" fetch -u "${1%%@*}" \
		'uid flags hdr.subject' mailbox INBOX all > "$T/fetch.raw" \
		2> "$T/doveadm.err" || fail "doveadm fetch $1: $(cat "$T/doveadm.err")"
	awk '/^uid: / { u = $2 } /^flags: / { f = substr($0, 8) }
	     /^hdr.subject: / { print u "|" f "|" substr($0, 14) }' "$T/fetch.raw"
}

count() {
	fetch "$1" | wc -l
}

# expect_newest STEP USER FLAG: the newest message of USER has FLAG
expect_newest() {
	_fl=$(fetch "$2" | tail -n 1 | cut -d'|' -f2)
	case " $_fl " in
	*" $3 "*) ;;
	*) fail "$1: the newest message of $2 lacks $3: $(fetch "$2")" ;;
	esac
}


# info_lines USER OUTCOME: the plugin's REQUEST outcome lines so far
info_lines() {
	grep -c "imip: recipient=$1 method=REQUEST uid=$UID1 outcome=$2 " "$DOVECOT_LOG"
}

stored() {
	"$ADMIN" -c "$IMIP_CONF" events "$1" 2> "$T/admin.err" ||
		fail "imip-admin events $1: $(cat "$T/admin.err")"
}

# delivered_unchanged STEP USER: the newest file is Paul's message itself
delivered_unchanged() {
	_f=$(dovecot_newest_file "$2")
	sed '/^$/q' "$_f" | grep -q "^X-iMIP-Outcome:" &&
		fail "$1: $2 got a summary for a refused message"
	grep -q "^Message-ID: <kickoff-0@example.com>" "$_f" ||
		fail "$1: $2: the original was not delivered"
}

# --- (a) over the submission port: processed ------------------------------------------
grep -q "^Authentication-Results:" "$SRC/samples/01-invitation.eml" &&
	fail "the sample must carry no Authentication-Results"
lmtp "127.0.0.1:$SUBMISSION_PORT" "$SRC/samples/01-invitation.eml" "$VINCENT"
[ "$(count "$VINCENT")" = 1 ] || fail "a: vincent: $(fetch "$VINCENT")"
expect_newest a "$VINCENT" '$iMIP-added'
f=$(dovecot_newest_file "$VINCENT")
sed '/^$/q' "$f" | grep -q "^X-iMIP-Outcome: added" ||
	fail "a: vincent's copy is not the summary wrapper: $(sed '/^$/q' "$f")"
stored "$VINCENT" | grep -q "^$UID1	-	active	0	" ||
	fail "a: event not stored for vincent: $(stored "$VINCENT")"
[ "$(info_lines "$VINCENT" added)" = 1 ] ||
	fail "a: no info line: $(grep 'imip: recipient=' "$DOVECOT_LOG")"

# --- (b) the ordinary TCP listener, the UNIX socket, dovecot-lda: refused --------------
n=0
for how in "127.0.0.1:$DOVECOT_PORT" "$DOVECOT_SOCKET" lda; do
	if [ "$how" = lda ]; then
		lda "$HARVEY" "$SRC/samples/01-invitation.eml"
	else
		lmtp "$how" "$SRC/samples/01-invitation.eml" "$HARVEY"
	fi
	n=$((n + 1))
	[ "$(count "$HARVEY")" = $n ] || fail "b ($how): not delivered: $(fetch "$HARVEY")"
	expect_newest "b ($how)" "$HARVEY" '$iMIP-rejected'
	delivered_unchanged "b ($how)" "$HARVEY"
	[ "$(info_lines "$HARVEY" rejected)" = $n ] ||
		fail "b ($how): expected $n rejected line(s): $(grep 'imip: recipient=' "$DOVECOT_LOG")"
done
grep "imip: recipient=$HARVEY .* outcome=rejected " "$DOVECOT_LOG" |
	grep -v -q "reason=sender not authenticated" &&
	fail "b: a refusal does not name authentication: $(grep "recipient=$HARVEY" "$DOVECOT_LOG")"
[ -z "$(stored "$HARVEY")" ] || fail "b: stored for harvey: $(stored "$HARVEY")"

# --- (c) the same message over the submission port: now added --------------------------
lmtp "127.0.0.1:$SUBMISSION_PORT" "$SRC/samples/01-invitation.eml" "$HARVEY"
[ "$(count "$HARVEY")" = 4 ] || fail "c: harvey: $(fetch "$HARVEY")"
expect_newest c "$HARVEY" '$iMIP-added'
stored "$HARVEY" | grep -q "^$UID1	-	active	0	" ||
	fail "c: event not stored for harvey: $(stored "$HARVEY")"

# --- (d) Sieve processcalendar: the same judgement ----------------------------------------
DORA=dora.dormouse@example.com
home=$DOVECOT_DIR/mail/dora.dormouse
mkdir -p "$home"
printf '%s\n' 'require ["processcalendar", "variables", "imap4flags"];' \
	'processcalendar :outcome "o";' 'addflag "cal-${o}";' > "$home/.dovecot.sieve"
chown -R nobody:nogroup "$home"
sed "s/harvey.horse@example.com/$DORA/g" "$SRC/samples/01-invitation.eml" > "$T/dora.eml"
lmtp "127.0.0.1:$DOVECOT_PORT" "$T/dora.eml" "$DORA"
expect_newest "d (other port)" "$DORA" cal-rejected
[ -z "$(stored "$DORA")" ] || fail "d: stored for dora: $(stored "$DORA")"
lmtp "127.0.0.1:$SUBMISSION_PORT" "$T/dora.eml" "$DORA"
expect_newest "d (submission port)" "$DORA" cal-added
stored "$DORA" | grep -q "^$UID1	-	active	0	" ||
	fail "d: event not stored for dora: $(stored "$DORA")"

grep -q "Panic:\|Fatal:\|killed with signal" "$DOVECOT_LOG" "$DOVECOT_DIR/dovecot.stderr" &&
	fail "Dovecot panicked or died: $(grep "Panic:\|Fatal:\|signal" "$DOVECOT_LOG")"

dovecot_stop
echo "PASS: $NAME (submission port processed; other TCP port, UNIX socket and LDA refused naming authentication, all delivered; the same message then accepted over the port; Sieve processcalendar alike)"
exit 0
