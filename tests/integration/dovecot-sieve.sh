#!/bin/sh
# Integration test: Sieve processcalendar (lib90_sieve_imip_plugin.so) with
# the delivery plugin (lib95_imip_plugin.so) in a private Dovecot, over LMTP.
# A user's script
#   processcalendar :outcome "o" :reason "r"; addflag "cal-${o}";
#   if string :is "${o}" "added" { fileinto :create "Calendar"; }
# is checked with doveadm fetch (flag, folder, $iMIP keywords) and
# imip-admin (store):
# Vincent has imip_trigger = auto (the default), Harvey imip_trigger = sieve
# from a userdb extra field.
#  1. imip_trigger = auto: the hook processes the invitation once and the
#     script sees that outcome ("added", not a second "already processed");
#  2. imip_trigger = sieve, a script without processcalendar: nothing is
#     processed, nothing stored, no $iMIP keywords;
#  3. imip_trigger = sieve, processcalendar :updatesonly on a new invitation:
#     no_action, nothing stored, message stays in INBOX;
#  4. imip_trigger = sieve, the script above: added, stored once, the
#     message in Calendar with $iMIP $iMIP-added cal-added.
#
# Usage: tests/integration/dovecot-sieve.sh [BUILDDIR]  (default: build)
#   KEEP=1 keeps the temporary directory.
# Needs root; Dovecot and Pigeonhole are installed when missing (see
# lib-dovecot.sh).  Prints one PASS/FAIL line; exit status 0 only on PASS.

# Sieve's ${var} and the $iMIP keywords are meant literally here.
# shellcheck disable=SC2016
set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
MAIL_SO=$BUILD/dovecot-plugin/lib95_imip_plugin.so
SIEVE_SO=$BUILD/dovecot-plugin/lib90_sieve_imip_plugin.so
ADMIN=$BUILD/tools/imip-admin
NAME=dovecot-sieve
# shellcheck source=SCRIPTDIR/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"

fail() {
	echo "FAIL: $NAME: $*"
	dovecot_log_tail
	exit 1
}

for f in "$MAIL_SO" "$SIEVE_SO" "$ADMIN"; do
	[ -f "$f" ] || fail "no $f (build first)"
done
dovecot_mktemp imip-dovecot-sieve || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
DOVECOT_DIR=$T/dovecot
mkdir -p "$DOVECOT_DIR"
# Dovecot, Pigeonhole and their modules before linking to them
dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"

imip_conf "$T/imip" || fail "$IMIP_ERROR"
chown -R nobody:nogroup "$T/imip"
# The uninstalled plugins (reference dovecot.md 17.3)
dovecot_plugin_dirs "$T" "$BUILD" || fail "cannot make the module directories"

# Vincent has the default trigger (auto), Harvey imip_trigger = sieve
# through a userdb extra field.
DOVECOT_USERS=$T/users
: > "$DOVECOT_USERS"
dovecot_user vincent.vole
dovecot_user harvey.horse userdb_imip_trigger=sieve
DOVECOT_CONF_EXTRA="mail_plugin_dir = $T/modules
sendmail_path = $T/imip/sendmail
protocol lmtp {
  mail_plugins = \$mail_plugins sieve imip
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_plugin_dir = $T/sieve-modules
  sieve_plugins = sieve_imip
  sieve_extensions = +processcalendar
  imip_config = $IMIP_CONF
}"

VINCENT=vincent.vole@example.com
HARVEY=harvey.horse@example.com
UID1=kickoff-20141126@example.com
CALSCRIPT='require ["processcalendar", "variables", "imap4flags", "fileinto", "mailbox"];
processcalendar :outcome "o" :reason "r";
addflag "cal-${o}";
if string :is "${r}" "" { addflag "reason-empty"; }
if string :is "${o}" "added" { fileinto :create "Calendar"; }'

# set_script ADDR TEXT: the user's active Sieve script
set_script() {
	_home=$DOVECOT_DIR/mail/${1%%@*}
	mkdir -p "$_home"
	printf '%s\n' "$2" > "$_home/.dovecot.sieve"
	rm -f "$_home/.dovecot.svbin"
	chown -R nobody:nogroup "$_home"
}

# deliver ADDR FILE: one LMTP transaction over the UNIX socket
deliver() {
	python3 - "$DOVECOT_SOCKET" "$1" "$2" > "$T/lmtp.out" 2>&1 <<'PY' ||
import smtplib, sys
s = smtplib.LMTP(sys.argv[1])
refused = s.sendmail("paul.boddie@example.com", [sys.argv[2]],
                     open(sys.argv[3], "rb").read())
s.quit()
sys.exit(1 if refused else 0)
PY
		fail "LMTP delivery to $1 failed: $(cat "$T/lmtp.out")"
}

# fetch ADDR FILE: mailbox and flags of every message of the user
fetch() {
	doveadm -c "$DOVECOT_DIR/dovecot.conf" fetch -u "${1%%@*}" \
		'mailbox flags hdr.message-id' all > "$2" 2> "$T/doveadm.err" ||
		fail "doveadm fetch for $1 failed: $(cat "$T/doveadm.err")"
}

# flags_of FETCH-OUTPUT MESSAGE-ID: "mailbox|flags" of that message
flags_of() {
	awk -v id="$2" '
		/^mailbox: / { box = substr($0, 10) }
		/^flags: / { flags = substr($0, 8) }
		/^hdr.message-id: / { if (index($0, id)) print box "|" flags }
	' "$1"
}

has_flag() {
	case " $1 " in *" $2 "*) return 0 ;; esac
	return 1
}

# outcome_lines ADDR: the delivery plugin's info lines for that recipient
outcome_lines() {
	grep -c "imip: .*recipient=$1 method=" "$DOVECOT_LOG" 2>/dev/null
}

events() {
	"$ADMIN" -c "$IMIP_CONF" events "$1" 2>/dev/null
}

# --- 1. auto: processed by the hook once, the script sees "added" -----------------
set_script "$VINCENT" "$CALSCRIPT"
set_script "$HARVEY" 'require "imap4flags"; addflag "plain";'
dovecot_start "$T/dovecot" || fail "$DOVECOT_ERROR"
deliver "$VINCENT" "$SRC/samples/01-invitation.eml"
fetch "$VINCENT" "$T/fetch1"
got=$(flags_of "$T/fetch1" "kickoff-0@example.com")
[ -n "$got" ] || fail "1: invitation not stored: $(cat "$T/fetch1")"
[ "${got%%|*}" = Calendar ] || fail "1: in ${got%%|*}, expected Calendar"
fl=${got#*|}
for want in cal-added '$iMIP' '$iMIP-added'; do
	has_flag "$fl" "$want" || fail "1: flag $want missing: $fl"
done
[ "$(outcome_lines "$VINCENT")" = 1 ] ||
	fail "1: expected one outcome line for $VINCENT, got $(outcome_lines "$VINCENT")"
grep -q "imip: .*recipient=$VINCENT method=REQUEST uid=$UID1 outcome=added" "$DOVECOT_LOG" ||
	fail "1: no 'added' outcome line"
events "$VINCENT" | grep -q "^$UID1	" || fail "1: event not in the store"

# --- 2. sieve: no processcalendar in the script, nothing happens ----------------
deliver "$HARVEY" "$SRC/samples/01-invitation.eml"
fetch "$HARVEY" "$T/fetch2"
got=$(flags_of "$T/fetch2" "kickoff-0@example.com")
[ -n "$got" ] || fail "2: invitation not stored: $(cat "$T/fetch2")"
[ "${got%%|*}" = INBOX ] || fail "2: in ${got%%|*}, expected INBOX"
fl=${got#*|}
has_flag "$fl" plain || fail "2: the script did not run: $fl"
case "$fl" in *iMIP*) fail "2: \$iMIP keyword without processcalendar: $fl" ;; esac
[ "$(outcome_lines "$HARVEY")" = 0 ] || fail "2: processed without processcalendar"
events "$HARVEY" | grep -q "$UID1" && fail "2: stored without processcalendar"

# --- 3. sieve: :updatesonly and a new invitation -> no_action --------------------
sed -e 's/kickoff-0@example.com/updonly-0@example.com/' \
	-e 's/kickoff-20141126@example.com/updonly-20141126@example.com/' \
	"$SRC/samples/01-invitation.eml" > "$T/updonly.eml"
set_script "$HARVEY" 'require ["processcalendar", "variables", "imap4flags", "fileinto", "mailbox"];
processcalendar :updatesonly :outcome "o" :reason "r";
addflag "cal-${o}";
if string :contains "${r}" ":updatesonly" { addflag "reason-updatesonly"; }
if string :is "${o}" "added" { fileinto :create "Calendar"; }'
deliver "$HARVEY" "$T/updonly.eml"
fetch "$HARVEY" "$T/fetch3"
got=$(flags_of "$T/fetch3" "updonly-0@example.com")
[ -n "$got" ] || fail "3: message not stored: $(cat "$T/fetch3")"
[ "${got%%|*}" = INBOX ] || fail "3: in ${got%%|*}, expected INBOX"
fl=${got#*|}
has_flag "$fl" cal-no_action || fail "3: flag cal-no_action missing: $fl"
has_flag "$fl" '$iMIP-no_action' || fail "3: keyword \$iMIP-no_action missing: $fl"
has_flag "$fl" reason-updatesonly || fail "3: :reason does not name :updatesonly: $fl"
events "$HARVEY" | grep -q "updonly-20141126" && fail "3: :updatesonly stored a new event"

# --- 4. sieve: processcalendar processes, once --------------------------------------
set_script "$HARVEY" "$CALSCRIPT"
deliver "$HARVEY" "$SRC/samples/01-invitation.eml"
fetch "$HARVEY" "$T/fetch4"
got=$(flags_of "$T/fetch4" "kickoff-0@example.com" | grep '^Calendar|')
[ -n "$got" ] || fail "4: invitation not filed into Calendar: $(cat "$T/fetch4")"
fl=${got#*|}
for want in cal-added reason-empty '$iMIP' '$iMIP-added'; do
	has_flag "$fl" "$want" || fail "4: flag $want missing: $fl"
done
n=$(grep -c "imip: .*recipient=$HARVEY method=REQUEST uid=$UID1 outcome=" "$DOVECOT_LOG")
[ "$n" = 1 ] || fail "4: expected one outcome line for $UID1, got $n"
events "$HARVEY" | grep -q "^$UID1	" || fail "4: event not in the store"

echo "PASS: $NAME (auto once, sieve without processcalendar, :updatesonly, sieve processes)"
exit 0
