#!/bin/sh
# Benchmarks through a private Dovecot (LMTP on a UNIX socket), each
# configuration measured in alternating rounds in the same run so that the
# ratios compare like with like on a shared, noisy machine:
#
#  1. overhead on ordinary mail: COUNT non-calendar messages (2-50 KB,
#     bench/mkmail.py ordinary) without and with the imip plugin loaded;
#     ratio = throughput with / throughput without (target >= 0.97);
#  2. calendar mail: invitations, replies to the user's own events and
#     cancellations (bench/mkmail.py calendar) delivered (a) without any
#     calendar processing, (b) with the imip plugin, (c) as Dovecot sites
#     do it today: Sieve's vnd.dovecot.pipe hands calendar messages to
#     bench/status-quo/imip-pipe (python3-icalendar, one file per event);
#     added cost per message = (time - time of (a)) / messages; ratio =
#     ours / status quo (target <= 0.1);
#  4. memory: peak RSS (VmHWM) of the LMTP process that delivered the
#     largest corpus message, a 9 MB message, and a REQUEST into the
#     largest store bench/scale.py made (if BENCH_WORK has one), with and
#     without the plugin.
#
# usage: bench/dovecot.sh BUILDDIR
#   BENCH_QUICK=1  a short run (the smoke check of .ci/test)
#   BENCH_WORK=DIR where bench/scale.py left its stores (optional)
# Needs root (Dovecot switches to the mail user).  Prints its figures;
# exits non-zero only when a delivery fails or a server does not start.

set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:?usage: bench/dovecot.sh BUILDDIR}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
SHIM=$BUILD/mta-shim/imip-shim
# shellcheck source=../tests/integration/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"

if [ -n "${BENCH_QUICK:-}" ]; then
	N_ORD=100 N_CAL=10 ROUNDS=1
else
	N_ORD=2000 N_CAL=100 ROUNDS=3
fi
USER_ADDR=vincent.vole@example.com
IMIP_NOW=20141120T120000Z
export IMIP_NOW

fail() {
	echo "bench/dovecot.sh: $*" >&2
	dovecot_log_tail >&2
	# run() works in a command substitution, where the EXIT trap is not
	# inherited: stop the server this subshell started
	dovecot_stop
	exit 1
}

dovecot_mktemp imip-bench || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"
/usr/bin/python3 -c 'import icalendar' 2>/dev/null ||
	packages_install "$T/apt.log" "" python3-icalendar ||
	fail "cannot install python3-icalendar: $PACKAGES_ERROR"

python3 "$SRC/bench/mkmail.py" ordinary "$T/ordinary" "$N_ORD"
python3 "$SRC/bench/mkmail.py" calendar "$T/calendar" "$N_CAL" "$USER_ADDR"
dovecot_plugin_dirs "$T/plugins" "$BUILD" || fail "cannot make $T/plugins"
imip_conf "$T/imip" || fail "$IMIP_ERROR"
mkdir -p "$T/status-quo/bin" "$T/status-quo/events"
cp "$SRC/bench/status-quo/imip-pipe" "$T/status-quo/bin/"
chmod 755 "$T/status-quo" "$T/status-quo/bin"
chmod 1777 "$T/status-quo/events"
DV=$T/dovecot
mkdir -p "$DV"

# The three configurations.  Each run gets a fresh Dovecot, mailbox and
# store, so no run inherits another's caches or files.
conf_for() {
	case $1 in
	plain)
		echo "mail_plugin_dir = $T/plugins/modules"
		;;
	imip)
		cat <<EOF
mail_plugin_dir = $T/plugins/modules
import_environment = TZ IMIP_NOW
protocol lmtp {
  mail_plugins = \$mail_plugins imip
}
plugin {
  imip_config = ${IMIP_CONF_FOR_RUN:-$T/imip/imip.conf}
}
EOF
		;;
	pipe)
		cat <<EOF
mail_plugin_dir = $T/plugins/modules
protocol lmtp {
  mail_plugins = \$mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_plugins = sieve_extprograms
  sieve_extensions = +vnd.dovecot.pipe
  sieve_pipe_bin_dir = $T/status-quo/bin
}
EOF
		;;
	esac
}

# fresh_state CONFIG: empty mailbox and store; the user's own invitations
# (outgoing copies) for the calendar runs; the Sieve script for "pipe".
fresh_state() {
	home=$DV/mail/${USER_ADDR%%@*}
	rm -rf "$home" "$T/imip/store" "$T/status-quo/events"
	mkdir -p "$home" "$T/imip/store" "$T/status-quo/events"
	chmod 1777 "$T/status-quo/events"
	if [ "$2" = calendar ]; then
		for f in "$T/calendar/outgoing/"*.eml; do
			"$SHIM" -c "$T/imip/imip.conf" --role outgoing \
				--sender "$USER_ADDR" --recipient guest@example.net \
				--dry-run < "$f" > /dev/null 2>&1 ||
				fail "outgoing copy $f not processed"
		done
	fi
	if [ "$1" = pipe ]; then
		cat > "$home/.dovecot.sieve" <<EOF
require ["vnd.dovecot.pipe", "copy", "mime"];
if header :mime :anychild :contains "Content-Type" "text/calendar" {
  pipe :copy "imip-pipe" ["$T/status-quo/events"];
}
EOF
	fi
	chown -R nobody:nogroup "$home" "$T/imip/store"
}

# lmtp_hwm: VmHWM (KB) of the LMTP worker processes of our Dovecot, the
# largest (there is normally one: one client connection).
lmtp_hwm() {
	hwm=0
	for p in $(ps -o pid= --ppid "$DOVECOT_PID"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = lmtp ] || continue
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
	done
	echo "$hwm"
}

# run CONFIG MAILSET: one timed delivery of the whole set; prints seconds
run() {
	fresh_state "$1" "$2"
	DOVECOT_CONF_EXTRA=$(conf_for "$1")
	dovecot_start "$DV" || fail "$DOVECOT_ERROR"
	out=$(python3 "$SRC/bench/lmtp-push.py" "$DOVECOT_SOCKET" "$USER_ADDR" \
		"$T/$2/$( [ "$2" = calendar ] && echo in )") ||
		fail "delivery ($1, $2) failed: $out"
	dovecot_stop
	got=$(find "$DV/mail/${USER_ADDR%%@*}/Maildir/new" "$DV/mail/${USER_ADDR%%@*}/Maildir/cur" -type f | wc -l)
	[ "$got" = "${out#* }" ] ||
		fail "$1/$2: $got messages in the mailbox, ${out#* } delivered"
	echo "${out% *}"
}

median() {
	tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- 1. overhead on ordinary mail ---------------------------------------------
plain= imip=
r=1
while [ $r -le $ROUNDS ]; do
	a=$(run plain ordinary) || exit 1
	b=$(run imip ordinary) || exit 1
	echo "  round $r: ordinary mail, $N_ORD messages: without plugin $a s, with plugin $b s"
	plain="$plain $a" imip="$imip $b"
	r=$((r + 1))
done
a=$(echo "$plain" | median) b=$(echo "$imip" | median)
awk -v a="$a" -v b="$b" -v n="$N_ORD" 'BEGIN {
	printf "1. overhead on ordinary mail: %d messages, median of rounds: without plugin %.1f msg/s, with plugin %.1f msg/s; ratio %.3f (target >= 0.97)\n",
		n, n / a, n / b, a / b }'

# --- 2. calendar mail ----------------------------------------------------------
plain= imip= pipe=
r=1
while [ $r -le $ROUNDS ]; do
	a=$(run plain calendar) || exit 1
	b=$(run imip calendar) || exit 1
	events_imip=$(find "$T/imip/store" -path '*/objects/*' -type f | wc -l)
	c=$(run pipe calendar) || exit 1
	events_pipe=$(find "$T/status-quo/events" -name '*.ics' | wc -l)
	echo "  round $r: calendar mail, $((3 * N_CAL)) messages: plain $a s, imip plugin $b s, sieve pipe + python3-icalendar $c s (events kept: imip $events_imip, pipe $events_pipe)"
	plain="$plain $a" imip="$imip $b" pipe="$pipe $c"
	r=$((r + 1))
done
a=$(echo "$plain" | median) b=$(echo "$imip" | median) c=$(echo "$pipe" | median)
awk -v a="$a" -v b="$b" -v c="$c" -v n="$((3 * N_CAL))" 'BEGIN {
	ours = (b - a) / n * 1000; sq = (c - a) / n * 1000
	printf "2. calendar mail: %d messages (invitations, replies, cancellations), median of rounds: plain %.2f ms/msg; added cost: imip plugin %.2f ms/msg, status quo (sieve pipe + python3-icalendar) %.2f ms/msg; ratio %.3f (target <= 0.1)\n",
		n, a / n * 1000, ours, sq, (sq > 0 ? ours / sq : 0) }'

# --- 4. memory of the LMTP process ---------------------------------------------
mem_one() { # CONFIG FILE: VmHWM after delivering one message
	mkdir -p "$T/one" && rm -f "$T/one/"*
	cp "$2" "$T/one/0000.eml"
	echo paul.boddie@example.com > "$T/one/0000.from"
	fresh_state "$1" one
	DOVECOT_CONF_EXTRA=$(conf_for "$1")
	dovecot_start "$DV" || fail "$DOVECOT_ERROR"
	python3 "$SRC/bench/lmtp-push.py" "$DOVECOT_SOCKET" "$USER_ADDR" "$T/one" \
		> /dev/null || fail "delivery of $2 failed"
	lmtp_hwm
	dovecot_stop
}
LARGEST=$(find "$SRC/tests/corpus/data" -type f \( -name '*.eml' -o -name '*.mime' -o -name '*.msg' \) \
	-printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
python3 - "$T/big.eml" <<'PY'
import base64, os, sys
blob = base64.encodebytes(os.urandom(6_700_000)).decode()
open(sys.argv[1], "w").write(
    "From: paul.boddie@example.com\nTo: vincent.vole@example.com\nSubject: big\n"
    "Message-ID: <big@example.net>\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee attachment\n"
    "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
    + blob + "--b--\n")
PY
for f in "$LARGEST" "$T/big.eml"; do
	a=$(mem_one plain "$f") b=$(mem_one imip "$f")
	echo "4. memory, Dovecot LMTP process, $(basename "$f") ($(($(stat -c %s "$f") / 1024)) KB): peak RSS without plugin $a KB, with plugin $b KB"
done
if [ -n "${BENCH_WORK:-}" ]; then
	for store in "$BENCH_WORK"/person-*; do
		[ -f "$store/imip.conf" ] || continue
		chown -R nobody:nogroup "$store/store"
		IMIP_CONF_FOR_RUN=$store/imip.conf
		b=$(mem_one imip "$T/calendar/in/0000.eml")
		echo "4. memory, Dovecot LMTP process, a REQUEST into a store of ${store##*person-} events: peak RSS with plugin $b KB"
	done
	IMIP_CONF_FOR_RUN=
fi
exit 0
