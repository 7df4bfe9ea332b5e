# shellcheck shell=sh disable=SC2034  # variables are for the sourcing script
# Sourced library for the MTA tests: a private Exim on 127.0.0.1 whose
# configuration is generated from the shipped conf/exim pieces
# (conf/exim/mkconf.sh) plus tests/mta/exim-test.macros.in, the site
# macros with @NAME@ placeholders.  Started and stopped by PID, so no
# other Exim on the machine is touched.  See reference mta.md sections 3
# and 5 for why things are done this way.
#
#   . "$SRC/tests/mta/lib-exim.sh"
#   exim_install LOGFILE || fail "$EXIM_ERROR"     # binaries beside Postfix
#   exim_setup DIR || fail ...       # EXIM_PORT_SMTP/_SUBMISSION/_REINJECT
#   exim_write_conf VARIANT NAME=VALUE... ; exim_start || fail ...
#   id=$(exim_send PORT SENDER FILE RCPT...) ; exim_wait_completed "$id"
#   exim_settle ; exim_queue_run ; exim_stop ; exim_cleanup (EXIT trap)
#
# Needs root.  Exim cannot be an installed package next to Postfix
# (exim4-config conflicts with postfix), so exim_install unpacks the
# exim4-daemon-heavy .deb (LDAP lookups included) into /opt/exim-heavy
# with dpkg -x and installs only its libraries.  Debian's binary keeps
# root for a "-C FILE" configuration only when FILE is listed in
# /etc/exim4/trusted_configs and exim_user is its compiled-in user
# Debian-exim: exim_write_conf adds the line, exim_cleanup removes it.
# Functions return non-zero with a reason in EXIM_ERROR; they never exit.

. "${SRC:?}/tests/lib-process.sh"

EXIM_BIN=${EXIM_BIN:-/opt/exim-heavy/usr/sbin/exim4}
EXIM_TRUSTED=/etc/exim4/trusted_configs
EXIM_DIR=
EXIM_CONF=
EXIM_PID=
EXIM_LOG=
EXIM_ERROR=
EXIM_PORT_SMTP=
EXIM_PORT_SUBMISSION=
EXIM_PORT_REINJECT=
EXIM_SRC=${EXIM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

# Free TCP ports on 127.0.0.1 above 10000, all different: bound together,
# then released.
exim_free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
while len(socks) < int(sys.argv[1]):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    if s.getsockname()[1] > 10000:
        socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# exim_install LOGFILE: the heavy daemon's binary in /opt/exim-heavy, its
# shared libraries, and the Debian-exim user.
exim_install() {
	if [ ! -x "$EXIM_BIN" ]; then
		_ex_d=$(mktemp -d) || return 1
		chmod 755 "$_ex_d"
		if ! (cd "$_ex_d" && apt-get download exim4-daemon-heavy) \
			>> "$1" 2>&1; then
			rm -rf "$_ex_d"
			EXIM_ERROR="apt-get download exim4-daemon-heavy failed (see $1)"
			return 1
		fi
		# its libraries, not exim4-base/exim4-config (they conflict with
		# postfix): the first alternative of each dependency
		_ex_deps=$(dpkg-deb -f "$_ex_d"/exim4-daemon-heavy_*.deb Depends |
			tr ',' '\n' | sed 's/|.*//; s/(.*//; s/ //g' |
			grep -v -e '^exim4' -e '^debconf' -e '^$')
		# shellcheck disable=SC2086  # a list of package names
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $_ex_deps >> "$1" 2>&1; then
			rm -rf "$_ex_d"
			EXIM_ERROR="apt-get install $_ex_deps failed (see $1)"
			return 1
		fi
		dpkg -x "$_ex_d"/exim4-daemon-heavy_*.deb /opt/exim-heavy
		rm -rf "$_ex_d"
		[ -x "$EXIM_BIN" ] || {
			EXIM_ERROR="no $EXIM_BIN after dpkg -x"
			return 1
		}
	fi
	if ! getent passwd Debian-exim > /dev/null; then
		useradd --system --user-group --no-create-home \
			--home-dir /var/spool/exim4 --shell /usr/sbin/nologin \
			Debian-exim >> "$1" 2>&1 || {
			EXIM_ERROR="useradd Debian-exim failed (see $1)"
			return 1
		}
	fi
	return 0
}

# exim_setup DIR: the instance's directory (spool and log owned by the
# Exim user, lists/ for the list variant) and its three ports.
exim_setup() {
	EXIM_DIR=$1
	mkdir -p "$EXIM_DIR/spool" "$EXIM_DIR/log" "$EXIM_DIR/lists" || {
		EXIM_ERROR="cannot create $EXIM_DIR"
		return 1
	}
	chmod 755 "$EXIM_DIR" "$EXIM_DIR/lists"
	chown Debian-exim:Debian-exim "$EXIM_DIR/spool" "$EXIM_DIR/log"
	EXIM_CONF=$EXIM_DIR/exim.conf
	EXIM_LOG=$EXIM_DIR/log/mainlog
	# shellcheck disable=SC2046  # three numbers
	set -- $(exim_free_ports 3)
	EXIM_PORT_SMTP=$1 EXIM_PORT_SUBMISSION=$2 EXIM_PORT_REINJECT=$3
	[ -n "$EXIM_PORT_REINJECT" ] || {
		EXIM_ERROR="no free ports"
		return 1
	}
	return 0
}

# exim_write_conf VARIANT NAME=VALUE...: $EXIM_CONF from the shipped pieces
# and the test's macros, the @NAME@ placeholders replaced (TESTDIR, EXIM,
# and the three ports are set here; the others come from the arguments),
# then checked with -bV and listed in trusted_configs.
exim_write_conf() {
	_ex_variant=$1
	shift
	_ex_sed="s|@TESTDIR@|$EXIM_DIR|g; s|@EXIM@|$EXIM_BIN|g"
	_ex_sed="$_ex_sed; s|@PORT_SMTP@|$EXIM_PORT_SMTP|g"
	_ex_sed="$_ex_sed; s|@PORT_SUBMISSION@|$EXIM_PORT_SUBMISSION|g"
	_ex_sed="$_ex_sed; s|@PORT_REINJECT@|$EXIM_PORT_REINJECT|g"
	for _ex_kv in "$@"; do
		_ex_sed="$_ex_sed; s|@${_ex_kv%%=*}@|${_ex_kv#*=}|g"
	done
	sed "$_ex_sed" "$EXIM_SRC/tests/mta/exim-test.macros.in" \
		> "$EXIM_DIR/test.macros" || return 1
	if grep -q '@[A-Z_]*@' "$EXIM_DIR/test.macros"; then
		EXIM_ERROR="placeholders left: $(grep -o '@[A-Z_]*@' "$EXIM_DIR/test.macros" | sort -u | tr '\n' ' ')"
		return 1
	fi
	sh "$EXIM_SRC/conf/exim/mkconf.sh" "$_ex_variant" \
		"$EXIM_DIR/test.macros" > "$EXIM_CONF" || {
		EXIM_ERROR="mkconf.sh $_ex_variant failed"
		return 1
	}
	# trusted_configs: the file must be root's and not writable by others
	chown root:root "$EXIM_CONF"
	chmod 644 "$EXIM_CONF"
	mkdir -p "$(dirname "$EXIM_TRUSTED")"
	touch "$EXIM_TRUSTED"
	grep -qxF "$EXIM_CONF" "$EXIM_TRUSTED" || echo "$EXIM_CONF" >> "$EXIM_TRUSTED"
	if ! "$EXIM_BIN" -C "$EXIM_CONF" -bV > "$EXIM_DIR/bV.out" 2>&1; then
		EXIM_ERROR="exim -bV: $(grep -v -e '^Exim version' "$EXIM_DIR/bV.out" | head -n 5)"
		return 1
	fi
	return 0
}

# Is something accepting connections on 127.0.0.1:PORT?
exim_port_open() {
	python3 -c 'import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))))' "$1"
}

# exim_start: the daemon in the foreground (-bdf, so $! is its PID), no
# queue runner: the test runs the queue itself.  Waits for all ports.
exim_start() {
	EXIM_ERROR=
	if [ -n "$EXIM_PID" ]; then
		EXIM_ERROR="a private Exim is already running (pid $EXIM_PID)"
		return 1
	fi
	"$EXIM_BIN" -C "$EXIM_CONF" -bdf >> "$EXIM_DIR/exim.stderr" 2>&1 &
	EXIM_PID=$!
	_ex_i=0
	for _ex_p in $EXIM_PORT_SMTP $EXIM_PORT_SUBMISSION $EXIM_PORT_REINJECT; do
		until exim_port_open "$_ex_p"; do
			if ! kill -0 "$EXIM_PID" 2>/dev/null; then
				wait "$EXIM_PID" 2>/dev/null
				EXIM_PID=
				EXIM_ERROR="exim exited at start: $(tail -n 3 "$EXIM_DIR/exim.stderr" "$EXIM_DIR/log/paniclog" 2>/dev/null)"
				return 1
			fi
			_ex_i=$((_ex_i + 1))
			if [ $_ex_i -ge 100 ]; then
				exim_stop
				EXIM_ERROR="exim did not listen on $_ex_p within 10 s"
				return 1
			fi
			sleep 0.1
		done
	done
	return 0
}

# exim_descendants PID: the processes below PID (reception and delivery
# processes the daemon forked, the pipes they run), deepest last.
exim_descendants() {
	for _ex_c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$_ex_c"
		exim_descendants "$_ex_c"
	done
}

# exim_stop: TERM the daemon we started (KILL after 5 s) and reap it.
# Processes it forked that are still running (a delivery after a failed
# test) are stopped too, by PID, before they lose their parent.
exim_stop() {
	[ -n "$EXIM_PID" ] || return 0
	_ex_kids=$(exim_descendants "$EXIM_PID")
	process_stop "$EXIM_PID" 50
	for _ex_c in $_ex_kids; do
		kill "$_ex_c" 2>/dev/null
	done
	EXIM_PID=
	return 0
}

# exim_cleanup: stop, and take our line out of trusted_configs.
exim_cleanup() {
	exim_stop
	if [ -n "$EXIM_CONF" ] && [ -f "$EXIM_TRUSTED" ]; then
		grep -vxF "$EXIM_CONF" "$EXIM_TRUSTED" > "$EXIM_TRUSTED.new"
		cat "$EXIM_TRUSTED.new" > "$EXIM_TRUSTED"
		rm -f "$EXIM_TRUSTED.new"
	fi
}

# exim_send PORT SENDER FILE RCPT...: one SMTP transaction on 127.0.0.1;
# prints the message id Exim gave.  FILE's line ends become CRLF.  An
# empty SENDER is the null sender.
exim_send() {
	python3 - "$@" 2> "$EXIM_DIR/send.err" <<'PY' || {
import re, smtplib, sys
port, sender, path, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
data = open(path, "rb").read()
data = re.sub(rb"\r?\n", b"\r\n", data)
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
s.ehlo()
code, msg = s.mail(sender)
assert code == 250, ("MAIL", code, msg)
for r in rcpts:
    code, msg = s.rcpt(r)
    assert code == 250, ("RCPT", r, code, msg)
code, msg = s.data(data)
assert code == 250, ("DATA", code, msg)
s.quit()
m = re.search(rb"id=(\S+)", msg)
print(m.group(1).decode() if m else "?")
PY
		EXIM_ERROR="SMTP to port $1 failed: $(tail -n 1 "$EXIM_DIR/send.err")"
		return 1
	}
}

# exim_wait_log ERE [N] [SECONDS]: wait until the main log has at least N
# (default 1) lines matching ERE.
exim_wait_log() {
	_ex_n=${2:-1}
	_ex_t=$(( ${3:-20} * 10 ))
	_ex_i=0
	while [ "$(grep -cE -- "$1" "$EXIM_LOG" 2>/dev/null || true)" -lt "$_ex_n" ]; do
		_ex_i=$((_ex_i + 1))
		if [ $_ex_i -ge $_ex_t ]; then
			EXIM_ERROR="no \"$1\" in the Exim log after ${3:-20} s"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

exim_wait_completed() {
	exim_wait_log " $1 Completed" 1 "${2:-20}"
}

# exim_settle [SECONDS]: wait until every message Exim received has been
# completed (mail the deliveries generate, such as answers and bounces,
# included), stable for half a second.
exim_settle() {
	_ex_i=0
	_ex_ok=0
	while [ $_ex_ok -lt 5 ]; do
		_ex_in=$(grep -c ' <= ' "$EXIM_LOG" 2>/dev/null || true)
		_ex_done=$(grep -c ' Completed' "$EXIM_LOG" 2>/dev/null || true)
		if [ "$_ex_in" = "$_ex_done" ]; then
			_ex_ok=$((_ex_ok + 1))
		else
			_ex_ok=0
		fi
		_ex_i=$((_ex_i + 1))
		if [ $_ex_i -ge $(( ${1:-30} * 10 )) ]; then
			EXIM_ERROR="Exim did not settle in ${1:-30} s ($_ex_in received, $_ex_done completed)"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# exim_queue_run: one forced run over the whole queue (-qff: deferred
# and frozen messages too), in the foreground.
exim_queue_run() {
	"$EXIM_BIN" -C "$EXIM_CONF" -qff >> "$EXIM_DIR/exim.stderr" 2>&1
}

# Number of messages in the queue.
exim_queue_count() {
	"$EXIM_BIN" -C "$EXIM_CONF" -bpc 2>/dev/null
}

# exim_log_count ERE: main log lines that match.
exim_log_count() {
	grep -cE -- "$1" "$EXIM_LOG" 2>/dev/null || true
}

# The tail of the Exim logs (for a FAIL message).
exim_log_tail() {
	for f in "$EXIM_DIR/exim.stderr" "$EXIM_DIR/log/paniclog" \
		 "$EXIM_DIR/log/rejectlog" "$EXIM_LOG"; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f") (tail) ---"
		tail -n 25 "$f"
	done
}
