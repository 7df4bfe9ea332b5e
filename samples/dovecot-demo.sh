#!/bin/sh
# The main job, end to end: a private Dovecot (LMTP on a UNIX socket) with
# the imip delivery plugin and the processcalendar Sieve plugin from the
# build tree, the sample messages delivered over LMTP as an MTA would,
# then what the mailboxes and the calendar store show.  Runs as root
# (Dovecot switches to the mail user); leaves nothing running.
# Usage: samples/dovecot-demo.sh [BUILDDIR]   (default: build)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
# shellcheck source=../tests/integration/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"

die() { echo "dovecot-demo: $*" >&2; dovecot_log_tail; exit 1; }

[ -f "$BUILD/dovecot-plugin/lib95_imip_plugin.so" ] ||
	die "no plugin in $BUILD (install dovecot-dev, then build)"
dovecot_mktemp imip-demo || die "$DOVECOT_ERROR"
T=$DOVECOT_TMP
dovecot_install "$T/apt.log" || die "$DOVECOT_ERROR"
export IMIP_NOW=20141120T120000Z	# the samples' "now": November 2014
PAUL=paul.boddie@example.com
VINCENT=vincent.vole@example.com

imip_conf "$T/imip" || die "$IMIP_ERROR"
DOVECOT_DIR=$T/dovecot
DOVECOT_USERS=$T/users
mkdir -p "$DOVECOT_DIR"
: > "$DOVECOT_USERS"
dovecot_user vincent.vole
dovecot_user paul.boddie
dovecot_plugin_dirs "$T/plugins" "$BUILD" || die "cannot make $T/plugins"
DOVECOT_CONF_EXTRA="mail_plugin_dir = $T/plugins/modules
sendmail_path = $T/imip/sendmail
import_environment = TZ IMIP_NOW=$IMIP_NOW
protocol lmtp {
  mail_plugins = \$mail_plugins sieve imip
}
plugin {
  sieve_plugin_dir = $T/plugins/sieve-modules
  sieve_plugins = sieve_imip
  sieve_extensions = +processcalendar
  imip_config = $IMIP_CONF
}"

# Paul's own copies of what he sends: at a real site the MTA hands them to
# imip-shim --role outgoing (see docs/postfix.md, docs/exim.md).
for m in 01-invitation 02-update; do
	"$SHIM" -c "$IMIP_CONF" --role outgoing --sender "$PAUL" \
		< "$SRC/samples/$m.eml" 2>/dev/null || die "imip-shim $m"
done
chown -R nobody:nogroup "$T/imip"
dovecot_start "$DOVECOT_DIR" || die "$DOVECOT_ERROR"

deliver() {	# FILE SENDER RECIPIENT
	echo "-- LMTP: $1 from $2 to $3"
	swaks --silent 2 --protocol LMTP --socket "$DOVECOT_SOCKET" \
		--from "$2" --to "$3" --data "@$SRC/samples/$1" ||
		die "LMTP delivery of $1 failed"
}
deliver 01-invitation.eml "$PAUL" "$VINCENT"
deliver 02-update.eml "$PAUL" "$VINCENT"
deliver 03-reply.eml "$VINCENT" "$PAUL"
deliver 05-recurring.eml "$PAUL" "$VINCENT"

show() {
	echo
	echo "== $*"
	"$@"
}
for u in vincent.vole paul.boddie; do
	show doveadm -c "$DOVECOT_DIR/dovecot.conf" fetch -u "$u" \
		"flags hdr.subject" mailbox INBOX all
done
show "$ADMIN" -c "$IMIP_CONF" events "$VINCENT"
show "$ADMIN" -c "$IMIP_CONF" requests "$VINCENT"
show "$ADMIN" -c "$IMIP_CONF" freebusy "$VINCENT" --other "$PAUL"
show "$ADMIN" -c "$IMIP_CONF" freebusy "$PAUL" --other "$VINCENT"

echo
deliver 04-cancel.eml "$PAUL" "$VINCENT"
show doveadm -c "$DOVECOT_DIR/dovecot.conf" fetch -u vincent.vole \
	"flags hdr.subject" mailbox INBOX subject "Cancelled"
show "$ADMIN" -c "$IMIP_CONF" events "$VINCENT"
dovecot_stop
