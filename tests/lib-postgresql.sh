# shellcheck shell=sh disable=SC2034  # variables are for the sourcing script
# Sourced library for the tests of the PostgreSQL store (docs/postgresql.md,
# issue 10): a private PostgreSQL server in a temporary directory, on a
# UNIX socket only (listen_addresses = ''), started and stopped by PID so
# that no other PostgreSQL on the machine is touched.
#
#   SRC=/path/to/source
#   . "$SRC/tests/lib-postgresql.sh"
#   chmod 755 "$TMP"                # the server's user must reach it
#   pg_start "$TMP/pg" || fail "$PG_ERROR"
#   ... store_conninfo = $PG_CONNINFO ...
#   pg_psql 'SELECT ...'            # as the superuser, in PG_DATABASE
#   pg_stop                         # also from the caller's EXIT trap
#
# After pg_start:
#   PG_CONNINFO   libpq connection string of the test database, as its
#                 owner (a role without superuser rights, like a site's):
#                 "host=DIR/socket port=5432 dbname=imip user=imip"
#   PG_SOCKET_DIR the directory of the socket (.s.PGSQL.5432)
#   PG_DATABASE   imip        PG_ROLE imip (owner of PG_DATABASE)
#   PG_PID, PG_DIR, PG_DATA (the cluster), PG_LOG (the server's log)
#   PG_BIN        /usr/lib/postgresql/VERSION/bin
#
# Optional, set before pg_start:
#   PG_SOCKET_MODE  mode of the socket directory, default 0700 (only root
#                   and the server's user); 0755 lets other users (a mail
#                   server's) reach it, and then the socket itself is made
#                   writable for them too (unix_socket_permissions 0777;
#                   0770 otherwise).  Authentication is "trust": whoever
#                   reaches the socket may be any role, so keep it closed
#                   unless a test needs otherwise.
#
# Needs root: the package install, and the server runs as the package's
# unprivileged "postgres" user (initdb and postgres refuse root).  The
# packages are installed when missing without letting them start the
# system-wide cluster.  Functions return non-zero with a reason in
# PG_ERROR; they never exit, and they set no trap: the caller's EXIT
# trap should call pg_stop.  Written for PostgreSQL 15 (Debian 12).

. "${SRC:?}/tests/lib-process.sh"
# shellcheck source=SCRIPTDIR/lib-packages.sh
. "${SRC:?}/tests/lib-packages.sh"

PG_PACKAGES="postgresql postgresql-client"
PG_USER=postgres
PG_PORT=5432
PG_DATABASE=imip
PG_ROLE=imip
PG_SOCKET_MODE=${PG_SOCKET_MODE:-0700}
PG_BIN=
PG_DIR=
PG_DATA=
PG_SOCKET_DIR=
PG_CONNINFO=
PG_PID=
PG_LOG=
PG_ERROR=

# The newest installed server's binaries (Debian keeps each major version
# apart); empty when there is none.
pg_find_bin() {
	# shellcheck disable=SC2012  # sort -V: 9 before 15
	for _pg_b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
		[ -x "$_pg_b/postgres" ] && [ -x "$_pg_b/initdb" ] &&
			[ -x "$_pg_b/psql" ] && PG_BIN=$_pg_b
	done
	[ -n "$PG_BIN" ]
}

# pg_install [LOGFILE]: install the server and client when missing.  The
# package creates (but, with the policy of packages_install, does not
# start) its "main" cluster; we never use it.
pg_install() {
	pg_find_bin && return 0
	# shellcheck disable=SC2086  # a list of package names
	if ! packages_install "${1:-/dev/null}" postgresql.service \
		$PG_PACKAGES; then
		PG_ERROR=$PACKAGES_ERROR
		return 1
	fi
	pg_find_bin || {
		PG_ERROR="no PostgreSQL server in /usr/lib/postgresql after installing $PG_PACKAGES"
		return 1
	}
}

# Run a command as the server's user, in PG_DIR (the caller's directory
# may be closed to it).  setpriv execs the command itself, where su and
# runuser fork and stay: with `exec` in a background subshell, $! is the
# command's own PID.
pg_as_user() {
	(cd "$PG_DIR" && exec setpriv --reuid="$PG_USER" --regid="$PG_USER" \
		--init-groups --reset-env "$@")
}

# pg_psql SQL [PSQL-OPTION...]: run SQL as the superuser in PG_DATABASE;
# prints unaligned rows, fields separated by '|', no header.  Status 0
# only if every statement succeeded.
pg_psql() {
	_pg_sql=$1
	shift
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
		-h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" \
		"$@" -c "$_pg_sql"
}

# pg_start DIR: a fresh cluster in DIR/data (DIR is created; an earlier
# cluster there is replaced), the server started on DIR/socket, the role
# PG_ROLE and its database PG_DATABASE (UTF8) created.
pg_start() {
	PG_DIR=$1
	PG_ERROR=
	if [ -n "$PG_PID" ]; then
		PG_ERROR="a private PostgreSQL is already running (pid $PG_PID)"
		return 1
	fi
	case $PG_DIR in
	/*) ;;
	*) PG_DIR=$(pwd)/$PG_DIR ;;
	esac
	mkdir -p "$PG_DIR" || {
		PG_ERROR="cannot create $PG_DIR"
		return 1
	}
	pg_install "$PG_DIR/apt.log" || return 1
	PG_DATA=$PG_DIR/data
	PG_SOCKET_DIR=$PG_DIR/socket
	PG_LOG=$PG_DIR/postgresql.log
	rm -rf "$PG_DATA" "$PG_SOCKET_DIR"
	# connect(2) to a UNIX socket needs write permission on it: a closed
	# directory keeps others out, an open one lets them in
	_pg_socket_perm=0770
	[ "$PG_SOCKET_MODE" = 0700 ] || _pg_socket_perm=0777
	# The server's user must reach its directories below ours (the
	# caller makes the directories above DIR searchable: mktemp -d gives
	# 0700).
	chmod 755 "$PG_DIR"
	if ! setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups \
		test -x "$PG_DIR"; then
		PG_ERROR="user $PG_USER cannot reach $PG_DIR (chmod 755 the directories above it)"
		return 1
	fi
	mkdir -p "$PG_DATA" "$PG_SOCKET_DIR" &&
		chown "$PG_USER:" "$PG_DATA" "$PG_SOCKET_DIR" &&
		chmod 700 "$PG_DATA" && chmod "$PG_SOCKET_MODE" "$PG_SOCKET_DIR" || {
		PG_ERROR="cannot prepare $PG_DATA and $PG_SOCKET_DIR"
		return 1
	}
	if ! pg_as_user "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" \
		--auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync \
		> "$PG_DIR/initdb.log" 2>&1; then
		PG_ERROR="initdb failed: $(tail -n 3 "$PG_DIR/initdb.log")"
		return 1
	fi
	# No TCP at all; the socket only in our directory.  fsync is off: a
	# test cluster need not survive a power cut, and it is much faster.
	cat >> "$PG_DATA/postgresql.conf" <<EOF
listen_addresses = ''
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
unix_socket_permissions = $_pg_socket_perm
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_min_messages = warning
log_lock_waits = on
EOF
	rm -f "$PG_LOG"
	# The postmaster in the foreground (no pg_ctl daemonising), so $! is
	# its PID and pg_stop stops exactly the server we started.
	(cd "$PG_DIR" && exec setpriv --reuid="$PG_USER" --regid="$PG_USER" \
		--init-groups --reset-env "$PG_BIN/postgres" -D "$PG_DATA") \
		>> "$PG_LOG" 2>&1 &
	PG_PID=$!
	_pg_i=0
	until "$PG_BIN/pg_isready" -q -h "$PG_SOCKET_DIR" -p "$PG_PORT" \
		-t 1 2>/dev/null; do
		if ! kill -0 "$PG_PID" 2>/dev/null; then
			wait "$PG_PID" 2>/dev/null
			PG_PID=
			PG_ERROR="postgres exited at start: $(tail -n 3 "$PG_LOG" 2>/dev/null)"
			return 1
		fi
		_pg_i=$((_pg_i + 1))
		if [ $_pg_i -ge 300 ]; then
			pg_stop
			PG_ERROR="postgres did not answer on $PG_SOCKET_DIR within 30 s"
			return 1
		fi
		sleep 0.1
	done
	# A site's setup (docs/postgresql.md): a login role without
	# superuser rights owning the database, so that db-upgrade and the
	# agent run with no more rights than a site gives them.
	if ! "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" \
		-p "$PG_PORT" -U "$PG_USER" -d postgres \
		-c "CREATE ROLE $PG_ROLE LOGIN" \
		-c "CREATE DATABASE $PG_DATABASE OWNER $PG_ROLE ENCODING 'UTF8' TEMPLATE template0" \
		> "$PG_DIR/createdb.log" 2>&1; then
		PG_ERROR="creating role and database failed: $(tail -n 3 "$PG_DIR/createdb.log")"
		pg_stop
		return 1
	fi
	PG_CONNINFO="host=$PG_SOCKET_DIR port=$PG_PORT dbname=$PG_DATABASE user=$PG_ROLE"
	return 0
}

# Stop the server pg_start started, by its PID: SIGINT is PostgreSQL's
# fast shutdown (SIGTERM, process_stop's signal, would wait for every
# client to go), then process_stop waits for it (KILL after 10 s).
# Harmless when none is running.
pg_stop() {
	[ -n "$PG_PID" ] || return 0
	kill -INT "$PG_PID" 2>/dev/null
	process_stop "$PG_PID" 100
	PG_PID=
	return 0
}

# Print the tail of the server's log (for a FAIL message).
pg_log_tail() {
	for _pg_f in "$PG_DIR/initdb.log" "$PG_DIR/createdb.log" "$PG_LOG"; do
		[ -s "$_pg_f" ] || continue
		echo "--- $(basename "$_pg_f") (tail) ---"
		tail -n 20 "$_pg_f"
	done
}
