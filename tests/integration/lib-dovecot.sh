# shellcheck shell=sh disable=SC2034  # variables are for the sourcing script
# Sourced library for the integration tests: a private Dovecot LMTP server
# in a temporary directory (reference/dovecot.md section 17.4), started and
# stopped by PID so that no other Dovecot on the machine is touched.
#
#   . "$SRC/tests/integration/lib-dovecot.sh"
#   dovecot_mktemp NAME || exit 1   # DOVECOT_TMP=/tmp/NAME.XXXXXX, EXIT trap
#   dovecot_start "$DOVECOT_TMP/dovecot" || fail "$DOVECOT_ERROR"
#   ... lmtp:$DOVECOT_SOCKET or lmtp:127.0.0.1:$DOVECOT_PORT ...
#   dovecot_maildir vincent.vole@example.com   # -> .../Maildir
#   dovecot_stop                    # stop it (dovecot_start DIR again restarts)
#
# Optional, set before dovecot_start (the imip Dovecot plugin tests):
#   DOVECOT_USERS=FILE   passwd-file passdb/userdb instead of the static
#                        one (user names are local parts; userdb extra
#                        fields such as userdb_imip_trigger=sieve work per user);
#                        dovecot_user NAME [FIELDS] appends a user to it
#   dovecot_plugin_dirs DIR BUILDDIR  module directories with the built
#                        plugins, for mail_plugin_dir / sieve_plugin_dir
#
# Needs root: Dovecot switches to the mail user (nobody).  dovecot-core and
# dovecot-lmtpd are installed when missing, without letting the package
# start the system-wide service.  Functions return non-zero with a reason
# in DOVECOT_ERROR; they never exit, so the caller decides how to fail.
# Written for Dovecot 2.3 (the Debian 12 package).

. "${SRC:?}/tests/lib-process.sh"
# shellcheck source=SCRIPTDIR/../lib-imip.sh
. "${SRC:?}/tests/lib-imip.sh"
# shellcheck source=SCRIPTDIR/../lib-packages.sh
. "${SRC:?}/tests/lib-packages.sh"

DOVECOT_TMP=
DOVECOT_DIR=
DOVECOT_PID=
DOVECOT_PORT=
DOVECOT_SOCKET=
DOVECOT_LOG=
DOVECOT_ERROR=
# passwd-file of the users instead of the static userdb (set it before)
DOVECOT_USERS=${DOVECOT_USERS:-}
# Extra dovecot.conf text, appended by dovecot_start (set it before)
DOVECOT_CONF_EXTRA=${DOVECOT_CONF_EXTRA:-}

# A TCP port that is free on 127.0.0.1 right now (bound then released).
dovecot_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Make the test's temporary directory and install the EXIT trap that stops
# our Dovecot and removes the directory.  Not in $(...): the trap and the
# variable must be set in the caller's shell.
dovecot_mktemp() {
	DOVECOT_TMP=$(mktemp -d "/tmp/$1.XXXXXX") || {
		DOVECOT_ERROR="mktemp failed"
		return 1
	}
	# Dovecot's mail user must be able to reach the mail directory below.
	chmod 755 "$DOVECOT_TMP"
	trap dovecot_cleanup EXIT
	trap 'exit 1' HUP INT TERM PIPE
}

dovecot_cleanup() {
	dovecot_stop
	if [ -n "$DOVECOT_TMP" ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$DOVECOT_TMP"
	fi
}

# Install the packages when the binaries are missing.  LOGFILE gets apt's
# output.  dovecot-sieve brings Sieve for LDA/LMTP and sieve-test,
# dovecot-dev the headers the plugins are built with.
DOVECOT_PACKAGES="dovecot-core dovecot-lmtpd dovecot-sieve dovecot-dev"
dovecot_install() {
	if command -v dovecot >/dev/null 2>&1 && [ -x /usr/lib/dovecot/lmtp ] &&
	   [ -x /usr/lib/dovecot/dovecot-lda ] &&
	   [ -f /usr/lib/dovecot/modules/lib90_sieve_plugin.so ] &&
	   [ -f /usr/include/dovecot/mail-deliver.h ]; then
		return 0
	fi
	# shellcheck disable=SC2086  # a list of package names
	if ! packages_install "$1" "dovecot.service dovecot.socket" \
		$DOVECOT_PACKAGES; then
		DOVECOT_ERROR=$PACKAGES_ERROR
		return 1
	fi
	return 0
}

dovecot_write_conf() {
	if [ -n "$DOVECOT_USERS" ]; then
		_dv_db="passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $DOVECOT_USERS
}
userdb {
  driver = passwd-file
  args = username_format=%n $DOVECOT_USERS
}"
	else
		_dv_db="passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DOVECOT_DIR/mail/%n
}"
	fi
	cat > "$DOVECOT_DIR/dovecot.conf" <<EOF
instance_name = imip-test-$$-$(basename "$DOVECOT_DIR")
base_dir = $DOVECOT_DIR/run
state_dir = $DOVECOT_DIR/state
protocols = lmtp
listen = 127.0.0.1
ssl = no
log_path = $DOVECOT_LOG
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:$DOVECOT_DIR/mail/%n/Maildir
postmaster_address = postmaster@example.com
hostname = mx.example.com
auth_username_format = %Ln
$_dv_db
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  unix_listener $DOVECOT_SOCKET {
    mode = 0666
  }
}
EOF
	# Settings a test adds (plugins, Sieve, imip_*): later lines win.
	if [ -n "${DOVECOT_CONF_EXTRA:-}" ]; then
		printf '%s\n' "$DOVECOT_CONF_EXTRA" >> "$DOVECOT_DIR/dovecot.conf"
	fi
}

# dovecot_user NAME [EXTRA-FIELDS]: add a passwd-file user (uid nobody,
# home $DOVECOT_DIR/mail/NAME as with the static userdb) to DOVECOT_USERS.
# EXTRA-FIELDS: space-separated fields; userdb ones need the prefix
# userdb_ (the file is passdb and userdb), e.g. "userdb_imip_trigger=sieve".
# Needs DOVECOT_DIR (the directory later given to dovecot_start).
dovecot_user() {
	_dv_uid=$(id -u nobody) _dv_gid=$(id -g nobody)
	printf '%s:{PLAIN}secret:%s:%s::%s::%s\n' "$1" "$_dv_uid" "$_dv_gid" \
		"$DOVECOT_DIR/mail/$1" "${2:-}" >> "$DOVECOT_USERS"
	chmod 644 "$DOVECOT_USERS"
}

# dovecot_plugin_dirs DIR BUILDDIR: DIR/modules holds symlinks to every
# installed mail plugin plus the built lib95_imip_plugin.so, DIR/sieve-
# modules the installed Sieve plugins plus the built
# lib90_sieve_imip_plugin.so (when built), for mail_plugin_dir and
# sieve_plugin_dir: the build is tested without touching /usr.
dovecot_plugin_dirs() {
	mkdir -p "$1/modules" "$1/sieve-modules" || return 1
	for f in /usr/lib/dovecot/modules/*.so; do
		ln -sf "$f" "$1/modules/"
	done
	for f in /usr/lib/dovecot/modules/sieve/*.so; do
		[ -f "$f" ] && ln -sf "$f" "$1/sieve-modules/"
	done
	ln -sf "$2/dovecot-plugin/lib95_imip_plugin.so" "$1/modules/"
	if [ -f "$2/dovecot-plugin/lib90_sieve_imip_plugin.so" ]; then
		ln -sf "$2/dovecot-plugin/lib90_sieve_imip_plugin.so" \
			"$1/sieve-modules/"
	fi
	return 0
}

# dovecot_start DIR: configure and start a private Dovecot in DIR (created
# if needed; its mail stays there across a stop and a new start, the TCP
# port is chosen afresh each time).  Sets DOVECOT_PID, DOVECOT_PORT,
# DOVECOT_SOCKET (LMTP UNIX socket) and DOVECOT_LOG.
dovecot_start() {
	DOVECOT_DIR=$1
	DOVECOT_ERROR=
	if [ "$(id -u)" != 0 ]; then
		DOVECOT_ERROR="must run as root (Dovecot drops to the mail user)"
		return 1
	fi
	if [ -n "$DOVECOT_PID" ]; then
		DOVECOT_ERROR="a private Dovecot is already running (pid $DOVECOT_PID)"
		return 1
	fi
	mkdir -p "$DOVECOT_DIR/run" "$DOVECOT_DIR/state" "$DOVECOT_DIR/mail" || {
		DOVECOT_ERROR="cannot create $DOVECOT_DIR"
		return 1
	}
	chmod 755 "$DOVECOT_DIR"
	chown nobody:nogroup "$DOVECOT_DIR/mail"
	dovecot_install "$DOVECOT_DIR/apt.log" || return 1

	DOVECOT_PORT=$(dovecot_free_port)
	if [ -z "$DOVECOT_PORT" ] || [ "$DOVECOT_PORT" -le 10000 ]; then
		DOVECOT_ERROR="no free port above 10000"
		return 1
	fi
	DOVECOT_SOCKET=$DOVECOT_DIR/lmtp
	DOVECOT_LOG=$DOVECOT_DIR/dovecot.log
	dovecot_write_conf
	# A leftover socket from an earlier start would look ready at once.
	rm -f "$DOVECOT_SOCKET" "$DOVECOT_DIR/run/master.pid"

	# -F keeps the master in the foreground, so $! is its PID: we stop
	# exactly the process we started.
	/usr/sbin/dovecot -F -c "$DOVECOT_DIR/dovecot.conf" \
		>> "$DOVECOT_DIR/dovecot.stderr" 2>&1 &
	DOVECOT_PID=$!
	_dv_i=0
	while [ ! -S "$DOVECOT_SOCKET" ] || [ ! -s "$DOVECOT_DIR/run/master.pid" ]; do
		if ! kill -0 "$DOVECOT_PID" 2>/dev/null; then
			DOVECOT_PID=
			DOVECOT_ERROR="dovecot exited at start: $(tail -n 3 "$DOVECOT_DIR/dovecot.stderr" 2>/dev/null)"
			return 1
		fi
		_dv_i=$((_dv_i + 1))
		if [ $_dv_i -ge 100 ]; then
			dovecot_stop
			DOVECOT_ERROR="dovecot LMTP socket did not appear within 10 s"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# Stop the Dovecot that dovecot_start started (TERM, then KILL after 5 s),
# and wait until it is gone.  Harmless when none is running.
dovecot_stop() {
	[ -n "$DOVECOT_PID" ] || return 0
	process_stop "$DOVECOT_PID" 50
	DOVECOT_PID=
	return 0
}

# The Maildir of a recipient (Dovecot's %n: the local part).
dovecot_maildir() {
	echo "$DOVECOT_DIR/mail/${1%%@*}/Maildir"
}

# Number of delivered messages in a recipient's Maildir.
dovecot_count() {
	find "$(dovecot_maildir "$1")/new" "$(dovecot_maildir "$1")/cur" \
		-type f 2>/dev/null | wc -l
}

# The Maildir files of a recipient (new/ and cur/: a message with keywords,
# or one a client has seen, is in cur/), oldest delivery first.  Names are
# <secs>.M<usecs>P<pid>.<host> with usecs not zero-padded: sort as numbers.
dovecot_files() {
	for f in "$(dovecot_maildir "$1")"/new/* "$(dovecot_maildir "$1")"/cur/*; do
		[ -f "$f" ] || continue
		n=$(basename "$f")
		rest=${n#*.M}
		echo "${n%%.*} ${rest%%P*} $f"
	done | sort -n -k1,1 -k2,2 | cut -d' ' -f3-
}

# The file of a recipient's newest delivery.
dovecot_newest_file() {
	dovecot_files "$1" | tail -n 1
}

# Print the tail of Dovecot's log (for a FAIL message).
dovecot_log_tail() {
	for f in "$DOVECOT_DIR/dovecot.stderr" "$DOVECOT_LOG"; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f") (tail) ---"
		tail -n 20 "$f"
	done
}

# --- the imip-agent side -----------------------------------------------------
