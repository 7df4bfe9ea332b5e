# shellcheck shell=sh disable=SC2034  # variables are for the sourcing script
# Sourced library for the MTA tests: a private Postfix instance in a
# temporary directory (reference/mta.md section 4), configured FROM the
# shipped conf/postfix files (placeholders substituted), started and
# stopped by the PID of its master process so that no other Postfix on the
# machine is touched.
#
#   . "$SRC/tests/mta/lib-postfix.sh"
#   PF_SHIM=... PF_IMIP_CONF=... PF_LMTP_SOCKET=... (see below)
#   postfix_configure "$T/postfix" list|ldap || fail "$PF_ERROR"
#   postfix_start || fail "$PF_ERROR"
#   ... SMTP to 127.0.0.1:$PF_PORT (inbound, like port 25),
#       127.0.0.1:$PF_SUBMIT_PORT (submission), $PF_REINJECT_PORT ...
#   postfix_flush; postfix_wait_idle 30
#   postfix_stop                    # also from the caller's EXIT trap
#
# Placeholder values (set before postfix_configure; defaults in brackets):
#   PF_SHIM          @SHIM@        the imip-shim program (or a wrapper)
#   PF_SHIM_USER     @SHIM_USER@   [nobody]
#   PF_IMIP_CONF     @IMIP_CONF@
#   PF_LMTP_SOCKET   @LMTP_SOCKET@ Dovecot's LMTP socket
#   PF_LDAP_URI, PF_LDAP_BASE, PF_LDAP_SHIM_PEOPLE_BASE   (ldap variant)
# Chosen by postfix_configure: PF_PORT, PF_SUBMIT_PORT (@SUBMISSION@ is
# 127.0.0.1:PORT), PF_REINJECT_PORT (@REINJECT_PORT@), and
# @IMIP_POSTFIX_DIR@ = PF_ETC/imip.
#
# What the test instance adds around the shipped files (main.cf head):
# its own queue, data and log directories, loopback only, no local
# delivery, and no mail leaves the machine (default_transport = error:
# so mail to outside domains bounces at once).  master.cf is Debian's
# with chroot off and port 25 moved to 127.0.0.1:PF_PORT, then
# conf/postfix/master.cf.items.
#
# Needs root.  postfix and postfix-ldap are installed when missing, without
# letting the package configure or start the system-wide Postfix.
# Functions return non-zero with a reason in PF_ERROR; they never exit.

. "${SRC:?}/tests/lib-process.sh"
# shellcheck source=SCRIPTDIR/../lib-packages.sh
. "${SRC:?}/tests/lib-packages.sh"

PF_SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PF_DIR=
PF_ETC=
PF_PID=
PF_LOG=
PF_PORT=
PF_SUBMIT_PORT=
PF_REINJECT_PORT=
PF_ERROR=
PF_SHIM=${PF_SHIM:-}
PF_SHIM_USER=${PF_SHIM_USER:-nobody}
PF_IMIP_CONF=${PF_IMIP_CONF:-}
PF_LMTP_SOCKET=${PF_LMTP_SOCKET:-}
PF_LDAP_URI=${PF_LDAP_URI:-}
PF_LDAP_BASE=${PF_LDAP_BASE:-}
PF_LDAP_SHIM_PEOPLE_BASE=${PF_LDAP_SHIM_PEOPLE_BASE:-}

postfix_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# postfix_install [LOGFILE]: install postfix and postfix-ldap when missing.
# "No configuration" leaves /etc/postfix/main.cf absent, so the system
# Postfix never starts; policy-rc.d (exit 101) keeps postinst from
# starting anything.  Installing postfix removes an installed exim4
# package (Conflicts, reference/mta.md 3.1); Exim binaries unpacked with
# dpkg -x are not affected.
postfix_install() {
	if [ -x /usr/sbin/postfix ] && [ -x /usr/sbin/postmap ] &&
	   grep -q '^ldap' /etc/postfix/dynamicmaps.cf 2>/dev/null; then
		return 0
	fi
	echo 'postfix postfix/main_mailer_type select No configuration' |
		debconf-set-selections 2>/dev/null
	if ! packages_install "${1:-/dev/null}" postfix.service postfix \
		postfix-ldap; then
		PF_ERROR=$PACKAGES_ERROR
		return 1
	fi
	return 0
}

# postfix_subst FILE: print FILE with every placeholder replaced.
postfix_subst() {
	sed -e "s|@IMIP_POSTFIX_DIR@|$PF_ETC/imip|g" \
	    -e "s|@SHIM@|$PF_SHIM|g" \
	    -e "s|@SHIM_USER@|$PF_SHIM_USER|g" \
	    -e "s|@IMIP_CONF@|$PF_IMIP_CONF|g" \
	    -e "s|@LMTP_SOCKET@|$PF_LMTP_SOCKET|g" \
	    -e "s|@REINJECT_PORT@|$PF_REINJECT_PORT|g" \
	    -e "s|@SUBMISSION@|127.0.0.1:$PF_SUBMIT_PORT|g" \
	    -e "s|@LDAP_URI@|$PF_LDAP_URI|g" \
	    -e "s|@LDAP_BASE@|$PF_LDAP_BASE|g" \
	    -e "s|@LDAP_SHIM_PEOPLE_BASE@|$PF_LDAP_SHIM_PEOPLE_BASE|g" \
	    "$1"
}

# postfix_install_file SRC DEST: substitute, and refuse a placeholder left
# over outside comments (a file that needs a value the library lacks).
postfix_install_file() {
	postfix_subst "$1" > "$2" || {
		PF_ERROR="cannot write $2"
		return 1
	}
	_pf_left=$(grep -v '^[[:space:]]*#' "$2" | grep -o '@[A-Z_]*@' | sort -u | tr '\n' ' ')
	if [ -n "$_pf_left" ]; then
		PF_ERROR="placeholders left in $2: $_pf_left"
		return 1
	fi
	return 0
}

# postfix_configure DIR VARIANT: write the instance's configuration under
# DIR/etc from conf/postfix (common files and VARIANT/), build the hash
# tables, and create the queue.
postfix_configure() {
	PF_DIR=$1
	_pf_var=$2
	PF_ERROR=
	case $_pf_var in
	list | ldap) ;;
	*)
		PF_ERROR="unknown variant '$_pf_var' (list or ldap)"
		return 1
		;;
	esac
	if [ -z "$PF_SHIM" ] || [ -z "$PF_IMIP_CONF" ] || [ -z "$PF_LMTP_SOCKET" ]; then
		PF_ERROR="set PF_SHIM, PF_IMIP_CONF and PF_LMTP_SOCKET first"
		return 1
	fi
	postfix_install "$PF_DIR.apt.log" || return 1
	PF_ETC=$PF_DIR/etc
	PF_LOG=$PF_DIR/maillog
	mkdir -p "$PF_ETC/imip" "$PF_DIR/spool" "$PF_DIR/data" || {
		PF_ERROR="cannot create $PF_DIR"
		return 1
	}
	chmod 755 "$PF_DIR" "$PF_ETC" "$PF_ETC/imip"
	# master.lock is created as the postfix user (reference/mta.md 4.7 #1)
	chown postfix:postfix "$PF_DIR/data"
	PF_PORT=$(postfix_free_port)
	PF_SUBMIT_PORT=$(postfix_free_port)
	PF_REINJECT_PORT=$(postfix_free_port)

	# The test instance's own part of main.cf.
	cat > "$PF_ETC/main.cf" <<EOF
# Private Postfix for tests (tests/mta/lib-postfix.sh); the shipped
# conf/postfix/$_pf_var/main.cf follows.
compatibility_level = 3.6
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
myhostname = mx.example.com
mydomain = example.com
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
local_transport = error:no local delivery in this test instance
alias_maps =
alias_database =
biff = no
smtpd_banner = \$myhostname ESMTP imip-agent test
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# No mail leaves the machine: mail to outside domains is accepted (smtpd
# would otherwise refuse an address routed to error:) and then bounces,
# as mail to a dead remote address would.
smtpd_reject_unlisted_recipient = no
default_transport = error:test instance, no mail leaves this machine
relay_transport = error:test instance, no mail leaves this machine
# retry soon in tests
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
EOF
	printf '\n# ---- conf/postfix/%s/main.cf ----\n' "$_pf_var" >> "$PF_ETC/main.cf"
	postfix_subst "$PF_SRC/conf/postfix/$_pf_var/main.cf" >> "$PF_ETC/main.cf"

	# master.cf: Debian's, chroot off (nothing of /etc would be in the
	# chroot), port 25 replaced by a loopback port; then our services.
	_pf_master=/etc/postfix/master.cf
	[ -f "$_pf_master" ] || _pf_master=/usr/share/postfix/master.cf.dist
	awk -v port="$PF_PORT" '
		/^smtp[ \t]+inet/ { $1 = "127.0.0.1:" port }
		/^[a-z0-9]/ && $2 ~ /^(unix|inet|fifo|pass|unix-dgram)$/ { $5 = "n" }
		{ print }' "$_pf_master" > "$PF_ETC/master.cf"
	printf '\n# ---- conf/postfix/master.cf.items ----\n' >> "$PF_ETC/master.cf"
	postfix_subst "$PF_SRC/conf/postfix/master.cf.items" >> "$PF_ETC/master.cf"
	for _pf_f in "$PF_ETC/main.cf" "$PF_ETC/master.cf"; do
		_pf_left=$(grep -v '^[[:space:]]*#' "$_pf_f" | grep -o '@[A-Z_]*@' | sort -u | tr '\n' ' ')
		if [ -n "$_pf_left" ]; then
			PF_ERROR="placeholders left in $_pf_f: $_pf_left"
			return 1
		fi
	done

	# Tables: the common ones and the variant's.
	for _pf_f in transport calendar_alias mailboxes; do
		postfix_install_file "$PF_SRC/conf/postfix/$_pf_f" "$PF_ETC/imip/$_pf_f" || return 1
	done
	for _pf_f in "$PF_SRC/conf/postfix/$_pf_var"/*; do
		_pf_b=$(basename "$_pf_f")
		[ "$_pf_b" = main.cf ] && continue
		postfix_install_file "$_pf_f" "$PF_ETC/imip/$_pf_b" || return 1
	done
	for _pf_f in "$PF_ETC/imip"/*; do
		case $_pf_f in *.cf | *.db) continue ;; esac
		if ! postmap -c "$PF_ETC" "hash:$_pf_f" > "$PF_DIR/postmap.out" 2>&1; then
			PF_ERROR="postmap $_pf_f: $(cat "$PF_DIR/postmap.out")"
			return 1
		fi
	done

	# Creates the queue directories with their owners; fails on errors.
	if ! postfix -c "$PF_ETC" check > "$PF_DIR/check.out" 2>&1; then
		PF_ERROR="postfix check: $(cat "$PF_DIR/check.out")"
		return 1
	fi
	return 0
}

# postfix_start: start the master process in the foreground of a
# background job (-d: do not detach), so PF_PID is exactly the process we
# started; wait until the three SMTP listeners answer.
postfix_start() {
	PF_ERROR=
	if [ -n "$PF_PID" ]; then
		PF_ERROR="a private Postfix is already running (pid $PF_PID)"
		return 1
	fi
	_pf_daemon=$(postconf -c "$PF_ETC" -h daemon_directory)
	MAIL_CONFIG=$PF_ETC "$_pf_daemon/master" -c "$PF_ETC" -d \
		>> "$PF_DIR/master.out" 2>&1 &
	PF_PID=$!
	_pf_i=0
	while ! postfix_listening; do
		if ! kill -0 "$PF_PID" 2>/dev/null; then
			wait "$PF_PID" 2>/dev/null
			PF_PID=
			PF_ERROR="postfix master exited at start: $(tail -n 5 "$PF_DIR/master.out" "$PF_LOG" 2>/dev/null)"
			return 1
		fi
		_pf_i=$((_pf_i + 1))
		if [ $_pf_i -ge 100 ]; then
			postfix_stop
			PF_ERROR="postfix did not listen within 10 s: $(tail -n 5 "$PF_LOG" 2>/dev/null)"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

postfix_listening() {
	python3 - "$PF_PORT" "$PF_SUBMIT_PORT" "$PF_REINJECT_PORT" <<'PY' 2>/dev/null
import socket, sys
for p in sys.argv[1:]:
    s = socket.create_connection(("127.0.0.1", int(p)), timeout=1)
    s.close()
PY
}

# postfix_stop: TERM to the master (it stops its children), KILL after
# 10 s; harmless when none is running.
postfix_stop() {
	[ -n "$PF_PID" ] || return 0
	process_stop "$PF_PID" 100
	PF_PID=
	return 0
}

# Ask the queue manager to retry every deferred message now.
postfix_flush() {
	postqueue -c "$PF_ETC" -f > /dev/null 2>&1
}

# Messages in the queue (incoming, active and deferred).
postfix_queue_count() {
	find "$PF_DIR/spool/incoming" "$PF_DIR/spool/active" \
	     "$PF_DIR/spool/deferred" "$PF_DIR/spool/maildrop" -type f 2>/dev/null | wc -l
}

# postfix_wait_idle SECONDS: wait until the queue is empty.
postfix_wait_idle() {
	_pf_n=$(($1 * 10))
	while [ "$(postfix_queue_count)" != 0 ]; do
		_pf_n=$((_pf_n - 1))
		[ $_pf_n -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

# postfix_wait_log PATTERN COUNT SECONDS: wait until the log has at least
# COUNT lines matching the extended regular expression PATTERN.
postfix_wait_log() {
	_pf_n=$(($3 * 10))
	while [ "$(grep -Ec -- "$1" "$PF_LOG" 2>/dev/null)" -lt "$2" ]; do
		_pf_n=$((_pf_n - 1))
		[ $_pf_n -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

postfix_log_tail() {
	[ -s "$PF_LOG" ] || return 0
	echo "--- maillog (tail) ---"
	tail -n "${1:-25}" "$PF_LOG"
}
