#!/bin/sh
# No lost update for a person when Dovecot's LMTP server runs the imip
# plugin in parallel deliveries (DESIGN.md 4.6: one flock per user store).
#
# usage: tests/concurrency/dovecot-lmtp-parallel.sh BUILDDIR
#
# A private Dovecot (tests/integration/lib-dovecot.sh) with the built
# lib95_imip_plugin.so; 8 LMTP clients, each on its own connection, send
# 25 messages each (one transaction per message) to the same user, at the
# same time: the messages of lib-person-messages.sh (invitations, updates,
# cancellations, highest-SEQUENCE-wins updates of shared UIDs, REPLYs of 8
# attendees to the user's own events).  PASS when every transaction got
# 250, the Maildir holds every message exactly once, and the store
# (imip-admin events, requests, freebusy, --other, show) equals the store
# of the same messages delivered serially by imip-shim in the canonical
# order.  The imip-shim variant is person-parallel.sh, the resource one
# resource-double-booking.sh.
# IMIP_TEST_BACKEND=postgresql (tests/lib-backend.sh): the same on the
# PostgreSQL store (the plugin, as Dovecot's mail user, and the serial
# imip-shim each on a database of their own; the server's socket open to
# the mail user).  Two Dovecots on one database: dovecot-two-hosts.sh.
# Needs root (Dovecot); prints PASS/FAIL; exit status 1 on failure.
set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
PLUGIN=$BUILD/dovecot-plugin/lib95_imip_plugin.so
WORKERS=8
PER_WORKER=25
# shellcheck source=SCRIPTDIR/../integration/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"
. "$SRC/tests/concurrency/lib-person-messages.sh"
# the plugin connects as Dovecot's mail user
# shellcheck disable=SC2034  # read by lib-postgresql.sh
PG_SOCKET_MODE=0755
. "$SRC/tests/lib-backend.sh"
NAME="dovecot-lmtp-parallel$BACKEND_LABEL"

fail() {
	echo "FAIL $NAME: $*"
	dovecot_log_tail
	exit 1
}
for f in "$SHIM" "$ADMIN" "$PLUGIN"; do
	[ -f "$f" ] || fail "no $f (build with dovecot-dev installed)"
done
dovecot_mktemp imip-lmtp-parallel || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
# Dovecot first (its LMTP processes are the server's clients), then the
# server, then the directory
trap 'dovecot_stop; backend_stop; dovecot_cleanup' EXIT
start=$(date +%s)
dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"
IMIP_NOW=20141120T120000Z
export IMIP_NOW

backend_start "$T" "$ADMIN" || fail "$BACKEND_ERROR"

PERSON_MSG=$T/msg
person_messages "$PERSON_MSG" "$WORKERS" "$PER_WORKER" || fail "cannot generate the messages"
for run in lmtp serial; do
	imip_conf "$T/$run" || fail "$IMIP_ERROR"
	backend_conf "$T/$run/imip.conf" "$run" || fail "$BACKEND_ERROR"
	person_setup "$T/$run/imip.conf" "$SHIM" 2> "$T/$run.setup.err" ||
		fail "$run: the user's own events: $(cat "$T/$run.setup.err")"
done
# the plugin runs as the mail user
chown -R nobody:nogroup "$T/lmtp"

DOVECOT_DIR=$T/dovecot
mkdir -p "$DOVECOT_DIR"
DOVECOT_USERS=$T/users
: > "$DOVECOT_USERS"
dovecot_user "${PERSON_USER%%@*}"
dovecot_plugin_dirs "$T/plugins" "$BUILD" || fail "cannot make $T/plugins"
DOVECOT_CONF_EXTRA="mail_plugin_dir = $T/plugins/modules
sendmail_path = /bin/false
import_environment = TZ IMIP_NOW=$IMIP_NOW
service lmtp {
  process_limit = $WORKERS
  process_min_avail = $WORKERS
}
protocol lmtp {
  mail_plugins = \$mail_plugins imip
}
plugin {
  imip_config = $T/lmtp/imip.conf
}"
dovecot_start "$DOVECOT_DIR" || fail "$DOVECOT_ERROR"

# the LMTP clients, all at once (waited for by PID: Dovecot is a child too)
clients=
w=0
while [ $w -lt $WORKERS ]; do
	python3 - "$DOVECOT_SOCKET" "$PERSON_MSG" "$w" "$PER_WORKER" "$PERSON_USER" \
		> "$T/client.$w" 2>&1 <<'PY' &
import smtplib, sys
sock, msg, w, per, user = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
s = smtplib.LMTP(sock)
s.ehlo_or_helo_if_needed()
bad = 0
for i in range(per):
    base = "%s/%d-%d" % (msg, w, i)
    sender = open(base + ".from").read().strip()
    code, text = s.mail(sender)
    if code != 250:
        print("%d-%d MAIL %d %s" % (w, i, code, text)); bad += 1; s.rset(); continue
    code, text = s.rcpt(user)
    if code != 250:
        print("%d-%d RCPT %d %s" % (w, i, code, text)); bad += 1; s.rset(); continue
    code, text = s.data(open(base + ".eml", "rb").read())
    if code != 250:
        print("%d-%d DATA %d %s" % (w, i, code, text)); bad += 1
s.quit()
sys.exit(1 if bad else 0)
PY
	clients="$clients $!"
	w=$((w + 1))
done
for p in $clients; do
	wait "$p"
done
par_end=$(date +%s)
w=0
while [ $w -lt $WORKERS ]; do
	[ ! -s "$T/client.$w" ] || fail "LMTP client $w: $(head -n 5 "$T/client.$w")"
	w=$((w + 1))
done

# the reference: imip-shim, serially, canonical order
w=0
while [ $w -lt $WORKERS ]; do
	i=0
	while [ $i -lt $PER_WORKER ]; do
		"$SHIM" -c "$T/serial/imip.conf" --role person --recipient "$PERSON_USER" \
			--sender "$(cat "$PERSON_MSG/$w-$i.from")" --deliver none \
			< "$PERSON_MSG/$w-$i.eml" 2>> "$T/serial.log" ||
			fail "serial $w-$i: exit $?: $(tail -n 3 "$T/serial.log")"
		i=$((i + 1))
	done
	w=$((w + 1))
done

total=$((WORKERS * PER_WORKER))
n=$(dovecot_count "$PERSON_USER")
[ "$n" = "$total" ] || fail "$n messages in the Maildir, expected $total"
u=$(cat "$(dovecot_maildir "$PERSON_USER")"/new/* "$(dovecot_maildir "$PERSON_USER")"/cur/* 2>/dev/null |
	grep '^Message-ID: <m-' | sort -u | wc -l)
[ "$u" = "$total" ] || fail "$u distinct messages in the Maildir, expected $total"
errors=$(grep -c 'imip: recipient=.* outcome=error' "$DOVECOT_LOG")
[ "$errors" = 0 ] || fail "$errors deliveries with outcome=error: $(grep 'outcome=error' "$DOVECOT_LOG" | head -n 3)"
for run in lmtp serial; do
	person_state "$T/$run/imip.conf" "$ADMIN" "$T/$run.state"
	! grep -q '^!! ' "$T/$run.state" ||
		fail "$run: imip-admin failed: $(grep -A2 '^!! ' "$T/$run.state" | head -n 6)"
done
n=$(grep -c '^ATTENDEE;PARTSTAT=\(ACCEPTED\|DECLINED\):mailto:attendee-' "$T/serial.state")
own=$(find "$PERSON_MSG/setup" -name "*.eml" | wc -l)
[ "$n" = $((own * WORKERS)) ] || fail "serial: $n attendee answers in the store, expected $((own * WORKERS))"
diff -u "$T/serial.state" "$T/lmtp.state" > "$T/diff" ||
	fail "the store after parallel LMTP differs from the serial one: $(head -n 40 "$T/diff")"
for run in lmtp serial; do
	backend_check_used "$T/$run/store" "$run" > /dev/null || fail "$run: $BACKEND_ERROR"
done
end=$(date +%s)
echo "PASS $NAME: $total messages by $WORKERS parallel LMTP clients into Dovecot with the imip plugin ($((par_end - start)) s), every message delivered once, store equal to the serial delivery ($(grep -c '^== show' "$T/serial.state") events, $n replies) ($((end - start)) s)"
exit 0
