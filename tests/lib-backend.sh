# shellcheck shell=sh disable=SC2034  # variables are for the sourcing script
# Sourced by the tests that run on either store backend (the concurrency
# tests, tests/concurrency/*.sh): the environment variable
#
#   IMIP_TEST_BACKEND=file        the file store (the default)
#   IMIP_TEST_BACKEND=postgresql  store_backend = postgresql on a private
#                                 PostgreSQL (tests/lib-postgresql.sh)
#
# chooses the backend; the test itself stays the same except where it
# looks at the store behind imip-admin's back.
#
#   SRC=/path/to/source
#   . "$SRC/tests/lib-backend.sh"
#   trap 'backend_stop; rm -rf "$TOP"' EXIT   # the server is stopped by PID
#   backend_start "$TOP" "$ADMIN" || fail "$BACKEND_ERROR"
#   imip_conf "$TOP/run" && backend_conf "$TOP/run/imip.conf" run || fail ...
#   [ "$BACKEND" = postgresql ] && backend_psql run 'SELECT ...'
#
# backend_start DIR ADMIN: for postgresql, starts the server in DIR/pg and
#   brings its database PG_DATABASE to the current schema with
#   `ADMIN db-upgrade` (the schema of this source tree); that database is
#   then only the template of the tests' databases.  Set PG_SOCKET_MODE=0755
#   before it when a process of another user (Dovecot's mail user) must
#   connect.  Nothing to do for file.
# backend_conf CONF NAME: for postgresql, creates the database NAME (a copy
#   of the upgraded template: one database per store a test compares) and
#   appends store_backend and store_conninfo to CONF; for file, nothing
#   (CONF's store_dir is the store).  NAME: [a-z0-9_]+.  A NAME created
#   before is shared: two configurations (two hosts) on one store.
# backend_conninfo NAME: the store_conninfo of database NAME.
# backend_psql NAME SQL: SQL as the superuser in database NAME (unaligned,
#   '|'-separated, no header; status 0 only if every statement succeeded).
# backend_user_lock_sql ADDRESS: the SQL expression of the advisory lock
#   key a writer session holds for ADDRESS (common/store-pg.h).
# backend_check_used STORE_DIR NAME: for postgresql, that the store really
#   was the database (NAME has users and calendar objects) and not the
#   files (STORE_DIR, the store_dir of the test's imip.conf, holds
#   nothing), so that a configuration falling back to files cannot pass
#   for the PostgreSQL variant.  Prints "N users, N objects".
# backend_stop: stops the server (harmless when none; for the EXIT trap).
#
# BACKEND is "file" or "postgresql"; BACKEND_LABEL is "" or " (postgresql)"
# (for PASS/FAIL lines).  Functions return non-zero with BACKEND_ERROR.

# shellcheck source=SCRIPTDIR/lib-postgresql.sh
. "${SRC:?}/tests/lib-postgresql.sh"

BACKEND=${IMIP_TEST_BACKEND:-file}
BACKEND_LABEL=
BACKEND_ERROR=
case $BACKEND in
file) ;;
postgresql) BACKEND_LABEL=" (postgresql)" ;;
*)
	echo "IMIP_TEST_BACKEND=$BACKEND: expected file or postgresql" >&2
	exit 2
	;;
esac

backend_start() {
	[ "$BACKEND" = postgresql ] || return 0
	# the server's user must reach DIR/pg (mktemp -d gives 0700)
	chmod 755 "$1"
	pg_start "$1/pg" || {
		BACKEND_ERROR=$PG_ERROR
		return 1
	}
	printf 'store_backend = postgresql\nstore_conninfo = %s\nlog_target = stderr\n' \
		"$PG_CONNINFO" > "$1/pg/upgrade.conf"
	if ! "$2" -c "$1/pg/upgrade.conf" db-upgrade \
		--schema-dir "$SRC/conf/postgresql" > "$1/pg/upgrade.log" 2>&1; then
		BACKEND_ERROR="imip-admin db-upgrade failed: $(tail -n 3 "$1/pg/upgrade.log")"
		return 1
	fi
	return 0
}

backend_conninfo() {
	echo "host=$PG_SOCKET_DIR port=$PG_PORT dbname=$1 user=$PG_ROLE"
}

backend_conf() {
	[ "$BACKEND" = postgresql ] || return 0
	case $2 in
	'' | *[!a-z0-9_]*)
		BACKEND_ERROR="backend_conf: bad database name '$2'"
		return 1
		;;
	esac
	# TEMPLATE copies the upgraded schema (tables owned by PG_ROLE) in a
	# fraction of the time db-upgrade takes; nobody may be connected to
	# the template meanwhile, and nobody is: it only served db-upgrade.
	if [ "$(backend_psql postgres "SELECT 1 FROM pg_database WHERE datname = '$2'")" != 1 ] &&
		! "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" \
		-p "$PG_PORT" -U "$PG_USER" -d postgres \
		-c "CREATE DATABASE $2 OWNER $PG_ROLE TEMPLATE $PG_DATABASE" \
		> "$PG_DIR/createdb-$2.log" 2>&1; then
		BACKEND_ERROR="CREATE DATABASE $2 failed: $(tail -n 3 "$PG_DIR/createdb-$2.log")"
		return 1
	fi
	printf '# tests/lib-backend.sh\nstore_backend = postgresql\nstore_conninfo = %s\n' \
		"$(backend_conninfo "$2")" >> "$1"
}

backend_psql() {
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" \
		-p "$PG_PORT" -U "$PG_USER" -d "$1" -c "$2"
}

backend_user_lock_sql() {
	# the address is a test's own constant: no quote inside
	echo "hashtextextended('imip-user:' || '$1', 0)"
}

backend_check_used() {
	[ "$BACKEND" = postgresql ] || return 0
	if [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
		BACKEND_ERROR="the file store $1 was written: $(find "$1" -mindepth 1 | head -n 3)"
		return 1
	fi
	_be_n=$(backend_psql "$2" "SELECT (SELECT count(*) FROM users) || ' users, ' ||
		(SELECT count(*) FROM objects) || ' objects'" 2>&1) || {
		BACKEND_ERROR="database $2: $_be_n"
		return 1
	}
	case $_be_n in
	"0 users"* | *" 0 objects")
		BACKEND_ERROR="database $2 holds $_be_n"
		return 1
		;;
	esac
	echo "$_be_n"
}

backend_stop() {
	pg_stop
}
