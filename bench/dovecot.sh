#!/bin/sh
# Benchmarks through private Dovecots (LMTP on UNIX sockets).  Each
# configuration runs in a Dovecot of its own, all of them at the same
# time, and the messages go to them side by side in batches
# (bench/lmtp-push.py), so that the ratios compare like with like on a
# shared, noisy machine.  Besides the wall-clock time, the CPU time of each
# Dovecot's LMTP worker (and of the programs it waited for) is measured:
# on a machine whose disk is shared, the CPU figures are the steadier.
#
#  1. overhead on ordinary mail: COUNT non-calendar messages (2-50 KB,
#     bench/mkmail.py ordinary) into a Dovecot without and one with the
#     imip plugin; ratio = throughput with / throughput without (target
#     >= 0.97);
#  2. calendar mail: invitations, replies to the user's own events and
#     cancellations (bench/mkmail.py calendar) delivered (a) without any
#     calendar processing, (b) with the imip plugin, (c) as Dovecot sites
#     do it today: Sieve's vnd.dovecot.pipe hands calendar messages to
#     bench/status-quo/imip-pipe (python3-icalendar, one file per event);
#     added cost per message = (cost - cost of (a)) / messages; ratio =
#     ours / status quo (target <= 0.1);
#  4. memory: peak RSS (VmHWM) of the LMTP process that delivered the
#     largest corpus message, a 9 MB message, and a REQUEST into the
#     stores bench/scale.py made (if BENCH_WORK has them), with and
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
	N_ORD=100 N_CAL=10 ROUNDS=1 BATCH=10
else
	N_ORD=2000 N_CAL=100 ROUNDS=3 BATCH=50
fi
USER_ADDR=vincent.vole@example.com
IMIP_NOW=20141120T120000Z
export IMIP_NOW
INSTANCES=

fail() {
	echo "bench/dovecot.sh: $*" >&2
	dovecot_log_tail >&2
	stop_all
	exit 1
}

dovecot_mktemp imip-bench || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
# our own EXIT trap: several Dovecots run at once
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"
/usr/bin/python3 -c 'import icalendar' 2>/dev/null ||
	packages_install "$T/apt.log" "" python3-icalendar ||
	fail "cannot install python3-icalendar: $PACKAGES_ERROR"

python3 "$SRC/bench/mkmail.py" ordinary "$T/ordinary" "$N_ORD"
python3 "$SRC/bench/mkmail.py" calendar "$T/calendar" "$N_CAL" "$USER_ADDR"
dovecot_plugin_dirs "$T/plugins" "$BUILD" || fail "cannot make $T/plugins"
mkdir -p "$T/status-quo/bin"
cp "$SRC/bench/status-quo/imip-pipe" "$T/status-quo/bin/"
chmod 755 "$T/status-quo" "$T/status-quo/bin"

# What each configuration adds to lib-dovecot.sh's dovecot.conf.
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

# fresh_state CONFIG MAILSET: an empty mailbox (and, for imip, store; for
# pipe, event directory and Sieve script); for the calendar set the
# user's own invitations first (the outgoing copies his replies need).
fresh_state() {
	home=$T/dv-$1/mail/${USER_ADDR%%@*}
	rm -rf "$home"
	mkdir -p "$home"
	case $1 in
	imip)
		rm -rf "$T/imip"
		imip_conf "$T/imip" || fail "$IMIP_ERROR"
		if [ "$2" = calendar ]; then
			for f in "$T/calendar/outgoing/"*.eml; do
				"$SHIM" -c "$T/imip/imip.conf" --role outgoing \
					--sender "$USER_ADDR" --recipient guest@example.net \
					--dry-run < "$f" > /dev/null 2>&1 ||
					fail "outgoing copy $f not processed"
			done
		fi
		chown -R nobody:nogroup "$T/imip"
		;;
	pipe)
		rm -rf "$T/status-quo/events"
		mkdir -p "$T/status-quo/events"
		chmod 1777 "$T/status-quo/events"
		cat > "$home/.dovecot.sieve" <<EOF
require ["vnd.dovecot.pipe", "copy", "mime"];
if header :mime :anychild :contains "Content-Type" "text/calendar" {
  pipe :copy "imip-pipe" ["$T/status-quo/events"];
}
EOF
		;;
	esac
	chown -R nobody:nogroup "$home"
}

# start CONFIG: a Dovecot for CONFIG in $T/dv-CONFIG; remembers its
# master PID and socket as PID_<config>, SOCK_<config>.
start() {
	DOVECOT_CONF_EXTRA=$(conf_for "$1")
	dovecot_start "$T/dv-$1" || fail "$DOVECOT_ERROR"
	eval "PID_$1=$DOVECOT_PID SOCK_$1=$DOVECOT_SOCKET"
	INSTANCES="$INSTANCES $DOVECOT_PID"
	DOVECOT_PID=
}

stop_all() {
	for p in $INSTANCES; do
		process_stop "$p" 50
	done
	INSTANCES=
	dovecot_stop
}

mailbox_count() {
	find "$T/dv-$1/mail/${USER_ADDR%%@*}/Maildir/new" \
		"$T/dv-$1/mail/${USER_ADDR%%@*}/Maildir/cur" -type f | wc -l
}

# round MAILSET CONFIG...: fresh state and servers, the set delivered to
# all of them side by side; prints "config seconds messages cpu" lines.
round() {
	set_name=$1
	shift
	targets=
	for c in "$@"; do
		fresh_state "$c" "$set_name"
		start "$c"
		eval "targets=\"\$targets \$SOCK_$c,\$PID_$c\""
	done
	dir=$T/$set_name
	[ "$set_name" = calendar ] && dir=$T/calendar/in
	# shellcheck disable=SC2086  # one word per target
	out=$(python3 "$SRC/bench/lmtp-push.py" "$USER_ADDR" "$dir" "$BATCH" \
		$targets) || fail "delivery ($set_name) failed: $out"
	stop_all
	n=0
	for c in "$@"; do
		n=$((n + 1))
		line=$(echo "$out" | sed -n "${n}p")
		got=$(mailbox_count "$c")
		set -- $line
		[ "$got" = "$2" ] ||
			fail "$c/$set_name: $got messages in the mailbox, $2 delivered"
		echo "$c $line"
	done
}

median() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# pick FILE CONFIG FIELD: the median over the rounds (2 seconds, 4 cpu)
pick() {
	awk -v c="$2" -v f="$3" '$1 == c { print $f }' "$1" | median
}

# --- 1. overhead on ordinary mail ---------------------------------------------
: > "$T/ordinary.results"
r=1
while [ $r -le $ROUNDS ]; do
	round ordinary plain imip > "$T/round.out" || exit 1
	cat "$T/round.out" >> "$T/ordinary.results"
	echo "  round $r, ordinary mail ($N_ORD messages, batches of $BATCH):" \
		$(awk '{ printf "%s %.2f s (cpu %.2f s);", $1, $2, $4 }' "$T/round.out")
	r=$((r + 1))
done
a=$(pick "$T/ordinary.results" plain 2) b=$(pick "$T/ordinary.results" imip 2)
ca=$(pick "$T/ordinary.results" plain 4) cb=$(pick "$T/ordinary.results" imip 4)
awk -v a="$a" -v b="$b" -v ca="$ca" -v cb="$cb" -v n="$N_ORD" 'BEGIN {
	printf "1. overhead on ordinary mail: %d messages, median of rounds: without plugin %.1f msg/s, with plugin %.1f msg/s; ratio %.3f (target >= 0.97); LMTP CPU per message %.2f ms without, %.2f ms with (ratio %.3f)\n",
		n, n / a, n / b, a / b, ca / n * 1000, cb / n * 1000, (cb > 0 ? ca / cb : 0) }'

# --- 2. calendar mail ----------------------------------------------------------
: > "$T/calendar.results"
r=1
while [ $r -le $ROUNDS ]; do
	round calendar plain imip pipe > "$T/round.out" || exit 1
	cat "$T/round.out" >> "$T/calendar.results"
	events_imip=$(find "$T/imip/store" -path '*/objects/*' -type f | wc -l)
	events_pipe=$(find "$T/status-quo/events" -name '*.ics' | wc -l)
	echo "  round $r, calendar mail ($((3 * N_CAL)) messages, batches of $BATCH):" \
		$(awk '{ printf "%s %.2f s (cpu %.2f s);", $1, $2, $4 }' "$T/round.out") \
		"events kept: imip $events_imip, pipe $events_pipe"
	r=$((r + 1))
done
for f in 2 4; do
	a=$(pick "$T/calendar.results" plain $f) b=$(pick "$T/calendar.results" imip $f)
	c=$(pick "$T/calendar.results" pipe $f)
	awk -v a="$a" -v b="$b" -v c="$c" -v n="$((3 * N_CAL))" -v what=$f 'BEGIN {
		ours = (b - a) / n * 1000; sq = (c - a) / n * 1000
		printf "2. calendar mail, %s: %d messages (invitations, replies, cancellations), median of rounds: plain %.2f ms/msg; added: imip plugin %.2f ms/msg, status quo (sieve pipe + python3-icalendar) %.2f ms/msg; ratio %.3f (target <= 0.1)\n",
			(what == 2 ? "wall clock" : "LMTP CPU"), n, a / n * 1000, ours, sq, (sq > 0 ? ours / sq : 0) }'
done

# --- 4. memory of the LMTP process ---------------------------------------------
# lmtp_hwm MASTER: VmHWM (KB) of that Dovecot's LMTP worker (the largest)
lmtp_hwm() {
	hwm=0
	for p in $(ps -o pid= --ppid "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = lmtp ] || continue
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
	done
	echo "$hwm"
}

mem_one() { # CONFIG FILE: VmHWM after delivering one message
	rm -rf "$T/one" && mkdir -p "$T/one"
	cp "$2" "$T/one/0000.eml"
	echo paul.boddie@example.com > "$T/one/0000.from"
	fresh_state "$1" one
	start "$1"
	eval "sock=\$SOCK_$1 pid=\$PID_$1"
	python3 "$SRC/bench/lmtp-push.py" "$USER_ADDR" "$T/one" 1 "$sock" \
		> /dev/null || fail "delivery of $2 failed"
	lmtp_hwm "$pid"
	stop_all
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
		chown -R nobody:nogroup "$store"
		IMIP_CONF_FOR_RUN=$store/imip.conf
		b=$(mem_one imip "$T/calendar/in/0000.eml")
		echo "4. memory, Dovecot LMTP process, a REQUEST into a store of ${store##*person-} events: peak RSS with plugin $b KB"
	done
	IMIP_CONF_FOR_RUN=
fi
exit 0
