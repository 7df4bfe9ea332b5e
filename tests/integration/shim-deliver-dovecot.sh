#!/bin/sh
# Integration test: the shim's hand-back (shim_deliver) into a real,
# private Dovecot LMTP server (reference/dovecot.md section 17.4), over a
# UNIX socket and over TCP on 127.0.0.1, then checks the Maildir files.
#
# Usage: tests/integration/shim-deliver-dovecot.sh
#   DELIVER="cmd"  use this instead of building tests/integration/deliver-driver
#                  (called as: $DELIVER TARGET SENDER RECIPIENT FILE...)
# Needs root (Dovecot switches to the mail user).  Installs dovecot-core and
# dovecot-lmtpd when missing, without leaving the system service running.
# Prints one PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/imip-shim-dovecot.XXXXXX)
DOVECOT_PID=
INSTALLED_POLICY=

fail() {
	echo "FAIL: shim-deliver-dovecot: $*"
	if [ -f "$T/dovecot.log" ]; then
		echo "--- dovecot.log (tail) ---"
		tail -n 20 "$T/dovecot.log"
	fi
	exit 1
}

cleanup() {
	if [ -n "$DOVECOT_PID" ] && kill -0 "$DOVECOT_PID" 2>/dev/null; then
		kill "$DOVECOT_PID"
		i=0
		while kill -0 "$DOVECOT_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	[ -n "$INSTALLED_POLICY" ] && rm -f /usr/sbin/policy-rc.d
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" = 0 ] || fail "must run as root (Dovecot drops to the mail user)"

# --- packages ------------------------------------------------------------
if ! command -v dovecot >/dev/null 2>&1 || [ ! -x /usr/lib/dovecot/lmtp ]; then
	# Never let the package start the system-wide Dovecot.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		INSTALLED_POLICY=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends dovecot-core dovecot-lmtpd \
		> "$T/apt.log" 2>&1 || fail "apt-get install dovecot failed"
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		systemctl disable --now dovecot.service dovecot.socket \
			>/dev/null 2>&1
	fi
fi

# --- driver ----------------------------------------------------------------
if [ -z "${DELIVER:-}" ]; then
	CF="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g"
	PKGS="glib-2.0 gmime-3.0 libical"
	# shellcheck disable=SC2046
	gcc $CF $(pkg-config --cflags $PKGS) -I"$SRC/common" -I"$SRC/mta-shim" \
		"$SRC/tests/integration/deliver-driver.c" \
		"$SRC/mta-shim/shim-deliver.c" "$SRC/common/smtp-client.c" \
		"$SRC/common/compose.c" "$SRC/common/address.c" \
		"$SRC/common/mime-read.c" "$SRC/common/clock.c" \
		$(pkg-config --libs $PKGS) -o "$T/deliver-driver" \
		> "$T/gcc.log" 2>&1 || { cat "$T/gcc.log"; fail "building deliver-driver failed"; }
	DELIVER="$T/deliver-driver"
fi

# --- private Dovecot ---------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
[ "$PORT" -gt 10000 ] || fail "no free port above 10000"
INSTANCE="imip-shim-test-$$"

chmod 755 "$T"
mkdir -p "$T/run" "$T/state" "$T/mail"
chown nobody:nogroup "$T/mail"
cat > "$T/dovecot.conf" <<EOF
instance_name = $INSTANCE
base_dir = $T/run
state_dir = $T/state
protocols = lmtp
listen = 127.0.0.1
ssl = no
log_path = $T/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:$T/mail/%n/Maildir
postmaster_address = postmaster@example.com
hostname = mx.example.com
auth_username_format = %Ln
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$T/mail/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $PORT
  }
  unix_listener $T/lmtp {
    mode = 0666
  }
}
EOF

/usr/sbin/dovecot -c "$T/dovecot.conf" || fail "dovecot did not start"
i=0
while [ ! -S "$T/lmtp" ] || [ ! -s "$T/run/master.pid" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "dovecot LMTP socket did not appear"
	sleep 0.1
done
DOVECOT_PID=$(cat "$T/run/master.pid")

# --- messages ------------------------------------------------------------------
TOKEN="imip-$$-$(date +%s)"
# CRLF message with a line starting with "." (dot-stuffing round trip)
printf 'From: Paul Boddie <paul.boddie@example.com>\r\nTo: vincent.vole@example.com\r\nSubject: unix %s\r\nMessage-ID: <%s.1@example.com>\r\n\r\nfirst line\r\n.dotline %s\r\n..two dots\r\n' \
	"$TOKEN" "$TOKEN" "$TOKEN" > "$T/m1.eml"
# LF message, delivered as the second of two over TCP
printf 'From: calendar@example.com\nTo: harvey.horse@example.com\nSubject: summary %s\n\nsummary text\n' \
	"$TOKEN" > "$T/m2a.eml"
printf 'From: paul.boddie@example.com\nTo: harvey.horse@example.com\nSubject: original %s\n\noriginal text\n' \
	"$TOKEN" > "$T/m2b.eml"

"$DELIVER" "lmtp:$T/lmtp" paul.boddie@example.com vincent.vole@example.com \
	"$T/m1.eml" 2> "$T/d1.err"
rc=$?
[ $rc = 0 ] || fail "UNIX-socket delivery exited $rc: $(cat "$T/d1.err")"

"$DELIVER" "lmtp:127.0.0.1:$PORT" calendar@example.com harvey.horse@example.com \
	"$T/m2a.eml" "$T/m2b.eml" 2> "$T/d2.err"
rc=$?
[ $rc = 0 ] || fail "TCP delivery exited $rc: $(cat "$T/d2.err")"

# A target nobody listens on must be a temporary failure (exit 75).
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$DELIVER" "lmtp:127.0.0.1:$DEAD" calendar@example.com harvey.horse@example.com \
	"$T/m2a.eml" 2> /dev/null
rc=$?
[ $rc = 75 ] || fail "delivery to a closed port exited $rc, expected 75"

# --- checks ------------------------------------------------------------------
V="$T/mail/vincent.vole/Maildir/new"
H="$T/mail/harvey.horse/Maildir/new"
[ "$(ls "$V" 2>/dev/null | wc -l)" = 1 ] || fail "expected 1 message in $V"
[ "$(ls "$H" 2>/dev/null | wc -l)" = 2 ] || fail "expected 2 messages in $H"

f=$(ls "$V"/*)
grep -q "^Subject: unix $TOKEN" "$f" || fail "subject missing in $f"
grep -q "^Delivered-To: vincent.vole@example.com" "$f" || fail "Delivered-To missing"
grep -q "^Return-Path: <paul.boddie@example.com>" "$f" || fail "Return-Path (envelope sender) wrong"
# Dovecot stores LF line ends; the dot-stuffing must be undone exactly
grep -qx "\.dotline $TOKEN" "$f" || fail "dot-stuffed line not restored"
grep -qx "\.\.two dots" "$f" || fail "double-dot line not restored"

# order: the summary was delivered before the original
first=$(grep -l "^Subject: summary $TOKEN" "$H"/*) || fail "summary missing"
second=$(grep -l "^Subject: original $TOKEN" "$H"/*) || fail "original missing"
# Maildir names are <secs>.M<usecs>P<pid>.<host> (usecs not zero-padded):
# compare them as numbers.
maildir_time() {
	n=$(basename "$1")
	rest=${n#*.M}
	echo "${n%%.*} ${rest%%P*}"
}
# shellcheck disable=SC2046
set -- $(maildir_time "$first") $(maildir_time "$second")
[ "$1" -lt "$3" ] || { [ "$1" = "$3" ] && [ "$2" -lt "$4" ]; } || \
	fail "summary was not delivered before the original"

echo "PASS: shim-deliver-dovecot (LMTP over UNIX socket and 127.0.0.1:$PORT)"
exit 0
