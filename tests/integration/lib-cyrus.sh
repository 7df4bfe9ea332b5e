# shellcheck shell=sh disable=SC2034  # variables are for the sourcing script
# Sourced library for the integration tests: a private Cyrus IMAP 3.6
# instance (IMAP, LMTP, optionally HTTP/CalDAV) in a temporary directory
# (reference/cyrus.md section 5), started and stopped by PID so that no
# other Cyrus on the machine is touched.  cyrus-client.py (next to this
# file) is the LMTP/IMAP/HTTP client the tests use to talk to it.
#
#   SRC=/path/to/source
#   . "$SRC/tests/integration/lib-cyrus.sh"
#   cyrus_mktemp imip-cyrus-x || fail "$CYRUS_ERROR"  # CYRUS_DIR, EXIT trap
#   CYRUS_CALLOUT=$CYRUS_DIR/callout.sock       # optional (annotation_callout)
#   CYRUS_ANNOTATION_DEFS=$SRC/conf/cyrus/annotations.conf   # optional
#   CYRUS_HTTP=1                                # optional: httpd with CalDAV
#   cyrus_start ['option: value' ...] || fail "$CYRUS_ERROR"
#   cyrus_user alice || fail "$CYRUS_ERROR"     # INBOX and Sent, password secret
#   cyrus_client deliver --socket "$CYRUS_LMTP_SOCKET" --from x@example.net \
#       --to alice msg.eml                      # prints 250
#   cyrus_client fetch --port "$CYRUS_IMAP_PORT" --user alice \
#       --annotations /vendor/imip-agent/outcome
#   cyrus_stop                                  # also done by the EXIT trap
#
# Functions (all return non-zero with a reason in CYRUS_ERROR; they never
# exit, so the caller decides how to fail):
#   cyrus_install [LOGFILE]   install cyrus-imapd cyrus-admin cyrus-clients
#                             cyrus-caldav sasl2-bin when missing (root)
#   cyrus_mktemp [NAME]       CYRUS_DIR=/tmp/NAME.XXXXXX (mode 755, so the
#                             cyrus user can traverse it); trap cyrus_cleanup
#                             EXIT.  A caller with more to clean sets its own
#                             EXIT trap afterwards and calls cyrus_cleanup.
#   cyrus_cleanup             cyrus_stop, then rm -rf CYRUS_DIR (not with KEEP=1)
#   cyrus_start [LINE...]     write imapd.conf/cyrus.conf, start master, wait
#                             until LMTP and IMAP (and HTTP) answer.  LINEs are
#                             extra imapd.conf lines; one naming an option the
#                             library writes replaces the library's line
#                             (Cyrus refuses an option given twice).
#   cyrus_stop                TERM the master by PID, wait for it and its
#                             children (KILL after 10 s); harmless if none
#   cyrus_user NAME           SASL user NAME/secret, IMAP CREATE user/NAME and
#                             user/NAME/Sent as admin (fails when they exist,
#                             e.g. again after a restart)
#   cyrus_install_sieve USER FILE [NAME]   compile FILE with sievec into the
#                             user's Sieve directory and make it the active
#                             script (defaultbc symlink); lmtpd uses it from
#                             the next delivery on
#   cyrus_caldav_provision USER   PROPFIND as USER (needs CYRUS_HTTP=1): creates
#                             the user's #calendars Default/Inbox/Outbox, which
#                             Sieve processimip needs
#   cyrus_client ARGS...      $CYRUS_PYTHON cyrus-client.py ARGS... (CYRUS_PYTHON:
#                             default /usr/bin/python3, else python3)
#   cyrus_log_tail            tail of the syslog file and master's output
#
# Set before cyrus_start (read at each start):
#   CYRUS_CALLOUT          annotation_callout (socket or executable); empty:
#                          not set
#   CYRUS_ANNOTATION_DEFS  annotation_definitions file (must be readable by
#                          the cyrus user); empty: not set
#   CYRUS_HTTP=1           also run httpd (httpmodules: caldav,
#                          calendar_user_address_set: example.com)
# After cyrus_start:
#   CYRUS_PID              master's PID
#   CYRUS_BASE             $CYRUS_DIR/cyrus: conf/ (configdirectory), data/
#                          (partition-default), run/ (owned by cyrus:mail,
#                          made by cyrus_start: a place for a callout socket)
#   CYRUS_CONF             imapd.conf (give it to Cyrus tools with -C)
#   CYRUS_LMTP_SOCKET      LMTP UNIX socket (pre-authenticated; RCPT TO:<user>)
#   CYRUS_IMAP_PORT        IMAP on 127.0.0.1 (LOGIN admin secret / NAME secret)
#   CYRUS_HTTP_PORT        HTTP on 127.0.0.1 (empty without CYRUS_HTTP=1)
#   CYRUS_LOG              everything Cyrus logs through syslog(3) (an
#                          LD_PRELOAD shim, syslog-to-file.c, built at start)
#
# Settings that matter: unixhierarchysep and altnamespace are at their 3.6
# defaults (yes: mailboxes user/alice, user/alice/Sent; the user sees INBOX
# and Sent), duplicatesuppression is off (the same Message-ID can be
# delivered again), users have no domain (SASL realm = host name, LOGIN
# alice works).  The data stay in CYRUS_DIR across cyrus_stop and a new
# cyrus_start (the ports are chosen afresh).
#
# Needs root: master switches to the cyrus user itself.  Written for Cyrus
# 3.6 (the Debian 12 packages).

# shellcheck source=SCRIPTDIR/../lib-process.sh
. "${SRC:?}/tests/lib-process.sh"
# shellcheck source=SCRIPTDIR/../lib-packages.sh
. "${SRC:?}/tests/lib-packages.sh"

CYRUS_CLIENT=$SRC/tests/integration/cyrus-client.py
# The client needs only the standard library: the system's Python, which
# also starts faster than a version manager's shim.
if [ -z "${CYRUS_PYTHON:-}" ]; then
	CYRUS_PYTHON=python3
	[ -x /usr/bin/python3 ] && CYRUS_PYTHON=/usr/bin/python3
fi
CYRUS_SHIM_SRC=$SRC/tests/integration/syslog-to-file.c
CYRUS_BIN=/usr/lib/cyrus/bin
CYRUS_PACKAGES="cyrus-imapd cyrus-admin cyrus-clients cyrus-caldav sasl2-bin"
CYRUS_DIR=${CYRUS_DIR:-}
CYRUS_BASE=
CYRUS_CONF=
CYRUS_PID=
CYRUS_LMTP_SOCKET=
CYRUS_IMAP_PORT=
CYRUS_HTTP_PORT=
CYRUS_LOG=
CYRUS_ERROR=
CYRUS_CALLOUT=${CYRUS_CALLOUT:-}
CYRUS_ANNOTATION_DEFS=${CYRUS_ANNOTATION_DEFS:-}
CYRUS_HTTP=${CYRUS_HTTP:-}

# A TCP port that is free on 127.0.0.1 right now (bound then released).
cyrus_free_port() {
	"$CYRUS_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cyrus_client() {
	"$CYRUS_PYTHON" "$CYRUS_CLIENT" "$@"
}

# cyrus_install [LOGFILE]: install the packages when a binary is missing;
# LOGFILE (default /dev/null) gets apt's output.
cyrus_install() {
	_cy_missing=
	for _cy_f in master imapd lmtpd httpd sievec mbpath ctl_cyrusdb; do
		[ -x "$CYRUS_BIN/$_cy_f" ] || _cy_missing="$_cy_missing $_cy_f"
	done
	command -v saslpasswd2 >/dev/null 2>&1 || _cy_missing="$_cy_missing saslpasswd2"
	id cyrus >/dev/null 2>&1 || _cy_missing="$_cy_missing user-cyrus"
	[ -z "$_cy_missing" ] && return 0
	# shellcheck disable=SC2086  # a list of package names
	if ! packages_install "${1:-/dev/null}" cyrus-imapd.service \
		$CYRUS_PACKAGES; then
		CYRUS_ERROR=$PACKAGES_ERROR
		return 1
	fi
	for _cy_f in master imapd lmtpd httpd sievec mbpath ctl_cyrusdb; do
		if [ ! -x "$CYRUS_BIN/$_cy_f" ]; then
			CYRUS_ERROR="$CYRUS_BIN/$_cy_f still missing after installing $CYRUS_PACKAGES"
			return 1
		fi
	done
	return 0
}

# cyrus_mktemp [NAME]: the test's temporary directory and the EXIT trap
# that stops our Cyrus and removes it.  Not in $(...): the trap and the
# variable must be set in the caller's shell.
cyrus_mktemp() {
	CYRUS_DIR=$(mktemp -d "/tmp/${1:-imip-cyrus}.XXXXXX") || {
		CYRUS_ERROR="mktemp failed"
		return 1
	}
	# The cyrus user must reach its directories below.
	chmod 755 "$CYRUS_DIR"
	trap cyrus_cleanup EXIT
	trap 'exit 1' HUP INT TERM PIPE
}

cyrus_cleanup() {
	cyrus_stop
	if [ -n "$CYRUS_DIR" ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$CYRUS_DIR"
	fi
}

# imapd.conf: the library's settings, minus those the extra lines ($@)
# set, then the extra lines.
cyrus_write_imapd_conf() {
	_cy_b=$CYRUS_BASE
	: > "$_cy_b/imapd.conf.extra"
	for _cy_l in "$@"; do
		printf '%s\n' "$_cy_l" >> "$_cy_b/imapd.conf.extra"
	done
	{
		cat <<EOF
# written by tests/integration/lib-cyrus.sh
configdirectory: $_cy_b/conf
defaultpartition: default
partition-default: $_cy_b/data
sievedir: $_cy_b/conf/sieve
lmtpsocket: $CYRUS_LMTP_SOCKET
idlesocket: $_cy_b/conf/socket/idle
notifysocket: $_cy_b/conf/socket/notify
admins: admin
allowplaintext: yes
sasl_mech_list: PLAIN LOGIN
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $_cy_b/conf/sasldb2
syslog_prefix: imip-cyrus-test
duplicatesuppression: no
EOF
		if [ -n "$CYRUS_CALLOUT" ]; then
			echo "annotation_callout: $CYRUS_CALLOUT"
		fi
		if [ -n "$CYRUS_ANNOTATION_DEFS" ]; then
			echo "annotation_definitions: $CYRUS_ANNOTATION_DEFS"
		fi
		if [ -n "$CYRUS_HTTP" ]; then
			echo "httpmodules: caldav"
			echo "calendar_user_address_set: example.com"
		fi
	} > "$_cy_b/imapd.conf.base"
	awk 'function key(s) { sub(/:.*/, "", s); gsub(/[ \t]/, "", s); return s }
	     FILENAME == ARGV[1] { k = key($0); if (k != "" && k !~ /^#/) extra[k] = 1; next }
	     { if (!(key($0) in extra)) print }' \
		"$_cy_b/imapd.conf.extra" "$_cy_b/imapd.conf.base" > "$CYRUS_CONF"
	cat "$_cy_b/imapd.conf.extra" >> "$CYRUS_CONF"
	rm -f "$_cy_b/imapd.conf.base" "$_cy_b/imapd.conf.extra"
}

# cyrus.conf: every service needs its own -C (master does not pass its own).
cyrus_write_cyrus_conf() {
	{
		echo "# written by tests/integration/lib-cyrus.sh"
		echo "START {"
		echo "  recover cmd=\"ctl_cyrusdb -C $CYRUS_CONF -r\""
		echo "}"
		echo "SERVICES {"
		echo "  imap cmd=\"imapd -C $CYRUS_CONF\" listen=\"127.0.0.1:$CYRUS_IMAP_PORT\" prefork=0"
		echo "  lmtpunix cmd=\"lmtpd -C $CYRUS_CONF\" listen=\"$CYRUS_LMTP_SOCKET\" prefork=0"
		if [ -n "$CYRUS_HTTP_PORT" ]; then
			echo "  http cmd=\"httpd -C $CYRUS_CONF\" listen=\"127.0.0.1:$CYRUS_HTTP_PORT\" prefork=0"
		fi
		echo "}"
		echo "EVENTS {"
		echo "  checkpoint cmd=\"ctl_cyrusdb -C $CYRUS_CONF -c\" period=30"
		echo "}"
	} > "$CYRUS_BASE/cyrus.conf"
}

# cyrus_saslpasswd NAME: password "secret" in the instance's sasldb.
cyrus_saslpasswd() {
	if ! printf secret | saslpasswd2 -p -c -f "$CYRUS_BASE/conf/sasldb2" "$1" \
		> "$CYRUS_BASE/saslpasswd2.log" 2>&1; then
		CYRUS_ERROR="saslpasswd2 $1 failed: $(tail -n 3 "$CYRUS_BASE/saslpasswd2.log")"
		return 1
	fi
	chown cyrus:mail "$CYRUS_BASE/conf/sasldb2"
	chmod 640 "$CYRUS_BASE/conf/sasldb2"
	return 0
}

# cyrus_start [LINE...]: see the head of this file.
cyrus_start() {
	CYRUS_ERROR=
	if [ "$(id -u)" != 0 ]; then
		CYRUS_ERROR="must run as root (Cyrus's master switches to the cyrus user)"
		return 1
	fi
	if [ -n "$CYRUS_PID" ]; then
		CYRUS_ERROR="a private Cyrus is already running (pid $CYRUS_PID)"
		return 1
	fi
	if [ -z "$CYRUS_DIR" ] || [ ! -d "$CYRUS_DIR" ]; then
		CYRUS_ERROR="no CYRUS_DIR (call cyrus_mktemp first)"
		return 1
	fi
	cyrus_install "$CYRUS_DIR/apt.log" || return 1
	if [ -n "$CYRUS_ANNOTATION_DEFS" ] && [ ! -r "$CYRUS_ANNOTATION_DEFS" ]; then
		CYRUS_ERROR="cannot read CYRUS_ANNOTATION_DEFS $CYRUS_ANNOTATION_DEFS"
		return 1
	fi

	CYRUS_BASE=$CYRUS_DIR/cyrus
	CYRUS_CONF=$CYRUS_BASE/imapd.conf
	CYRUS_LMTP_SOCKET=$CYRUS_BASE/conf/socket/lmtp
	CYRUS_LOG=$CYRUS_BASE/syslog
	for _cy_d in conf conf/db conf/socket conf/proc conf/lock conf/log \
		conf/sieve data run; do
		mkdir -p "$CYRUS_BASE/$_cy_d" || {
			CYRUS_ERROR="cannot create $CYRUS_BASE/$_cy_d"
			return 1
		}
	done

	# Cyrus logs only through syslog(3): the shim writes it to CYRUS_LOG.
	if [ ! -f "$CYRUS_DIR/syslog-to-file.so" ]; then
		if ! gcc -Wall -Wextra -Werror -O2 -shared -fPIC \
			-o "$CYRUS_DIR/syslog-to-file.so" "$CYRUS_SHIM_SRC" \
			> "$CYRUS_DIR/gcc.log" 2>&1; then
			CYRUS_ERROR="cannot build syslog-to-file.so: $(tail -n 3 "$CYRUS_DIR/gcc.log")"
			return 1
		fi
	fi
	touch "$CYRUS_LOG"
	chmod 644 "$CYRUS_LOG"

	CYRUS_IMAP_PORT=$(cyrus_free_port)
	CYRUS_HTTP_PORT=
	if [ -n "$CYRUS_HTTP" ]; then
		CYRUS_HTTP_PORT=$(cyrus_free_port)
	fi
	for _cy_p in "$CYRUS_IMAP_PORT" ${CYRUS_HTTP_PORT:+"$CYRUS_HTTP_PORT"}; do
		if [ -z "$_cy_p" ] || [ "$_cy_p" -le 10000 ]; then
			CYRUS_ERROR="no free port above 10000"
			return 1
		fi
	done
	cyrus_write_imapd_conf "$@"
	cyrus_write_cyrus_conf
	cyrus_saslpasswd admin || return 1
	chown -R cyrus:mail "$CYRUS_BASE"

	# A leftover socket from an earlier start would look ready at once.
	rm -f "$CYRUS_LMTP_SOCKET" "$CYRUS_BASE/run/master.pid"
	# In the foreground (no -d), so $! is master's PID: we stop exactly
	# the process we started.  Its working directory is inherited by the
	# services (and by an executable annotation_callout).
	(
		cd "$CYRUS_BASE" &&
		LD_PRELOAD=$CYRUS_DIR/syslog-to-file.so SYSLOG_TO_FILE=$CYRUS_LOG \
			exec "$CYRUS_BIN/master" -C "$CYRUS_CONF" \
			-M "$CYRUS_BASE/cyrus.conf" -p "$CYRUS_BASE/run/master.pid"
	) < /dev/null >> "$CYRUS_BASE/master.out" 2>&1 &
	CYRUS_PID=$!
	if ! cyrus_client wait --socket "$CYRUS_LMTP_SOCKET" \
		--port "$CYRUS_IMAP_PORT" \
		${CYRUS_HTTP_PORT:+--http-port "$CYRUS_HTTP_PORT"} \
		--pid "$CYRUS_PID" --timeout 20 > "$CYRUS_BASE/wait.log" 2>&1; then
		_cy_why=$(tail -n 1 "$CYRUS_BASE/wait.log")
		cyrus_stop
		CYRUS_ERROR="Cyrus did not start ($_cy_why): $(tail -n 3 "$CYRUS_LOG" "$CYRUS_BASE/master.out" 2>/dev/null)"
		return 1
	fi
	return 0
}

# cyrus_stop: master stops its children on TERM ("All children have
# exited"); wait for them too, so that nothing of ours is left running.
cyrus_stop() {
	[ -n "$CYRUS_PID" ] || return 0
	_cy_kids=$(ps -o pid= --ppid "$CYRUS_PID" 2>/dev/null)
	process_stop "$CYRUS_PID" 100
	for _cy_k in $_cy_kids; do
		_cy_i=0
		while kill -0 "$_cy_k" 2>/dev/null && [ $_cy_i -lt 50 ]; do
			sleep 0.1
			_cy_i=$((_cy_i + 1))
		done
		kill -0 "$_cy_k" 2>/dev/null && kill -KILL "$_cy_k" 2>/dev/null
	done
	CYRUS_PID=
	return 0
}

# cyrus_user NAME: a user with password "secret", INBOX and Sent.
cyrus_user() {
	CYRUS_ERROR=
	cyrus_saslpasswd "$1" || return 1
	if ! cyrus_client create --port "$CYRUS_IMAP_PORT" --user admin \
		"user/$1" "user/$1/Sent" > "$CYRUS_BASE/create.log" 2>&1; then
		CYRUS_ERROR="IMAP CREATE user/$1 failed: $(tail -n 2 "$CYRUS_BASE/create.log")"
		return 1
	fi
	return 0
}

# cyrus_install_sieve USER FILE [NAME]: reference/cyrus.md section 5.11.
cyrus_install_sieve() {
	CYRUS_ERROR=
	_cy_name=${3:-imip}
	_cy_dir=$("$CYRUS_BIN/mbpath" -C "$CYRUS_CONF" -S -u "$1" 2>&1) || {
		CYRUS_ERROR="mbpath -S -u $1 failed: $_cy_dir"
		return 1
	}
	if ! mkdir -p "$_cy_dir" || ! cp "$2" "$_cy_dir/$_cy_name.script"; then
		CYRUS_ERROR="cannot copy $2 to $_cy_dir"
		return 1
	fi
	if ! "$CYRUS_BIN/sievec" -C "$CYRUS_CONF" "$_cy_dir/$_cy_name.script" \
		"$_cy_dir/$_cy_name.bc" > "$CYRUS_BASE/sievec.log" 2>&1; then
		CYRUS_ERROR="sievec $2 failed: $(tail -n 3 "$CYRUS_BASE/sievec.log")"
		return 1
	fi
	ln -sf "$_cy_name.bc" "$_cy_dir/defaultbc"
	chown -R cyrus:mail "$CYRUS_BASE/conf/sieve"
	return 0
}

# cyrus_caldav_provision USER: one authenticated PROPFIND by the user
# (reference/cyrus.md section 5.12).
cyrus_caldav_provision() {
	CYRUS_ERROR=
	if [ -z "$CYRUS_HTTP_PORT" ]; then
		CYRUS_ERROR="no httpd (set CYRUS_HTTP=1 before cyrus_start)"
		return 1
	fi
	if ! cyrus_client propfind --port "$CYRUS_HTTP_PORT" --user "$1" \
		--path "/dav/calendars/user/$1/" --depth 1 \
		> "$CYRUS_BASE/propfind.log" 2>&1; then
		CYRUS_ERROR="PROPFIND /dav/calendars/user/$1/ failed: $(head -n 1 "$CYRUS_BASE/propfind.log")"
		return 1
	fi
	return 0
}

# Print the tail of Cyrus's logs (for a FAIL message).
cyrus_log_tail() {
	for _cy_f in "$CYRUS_BASE/master.out" "$CYRUS_LOG"; do
		[ -s "$_cy_f" ] || continue
		echo "--- $(basename "$_cy_f") (tail) ---"
		tail -n 20 "$_cy_f"
	done
}
