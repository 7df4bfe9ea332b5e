#!/bin/sh
# Run a command beside a private PostgreSQL server holding an upgraded
# template database, so that the command can make one fresh database per
# test with CREATE DATABASE ... TEMPLATE (a file copy: much faster than
# running db-upgrade each time).  Used by tests/scenarios/run.py
# --backend postgresql, which starts itself through this script.
#
#   tests/with-postgresql.sh BUILDDIR COMMAND [ARG...]
#
# The command runs with (besides the caller's environment):
#   IMIP_TEST_PG_PSQL      the server's psql
#   IMIP_TEST_PG_HOST      the socket directory (a libpq host=)
#   IMIP_TEST_PG_PORT      the port number of the socket
#   IMIP_TEST_PG_SUPERUSER the superuser, who creates and drops databases
#   IMIP_TEST_PG_ROLE      the role owning the databases, without superuser
#                          or CREATEDB rights (a site's, docs/postgresql.md)
#   IMIP_TEST_PG_TEMPLATE  the template: schema of conf/postgresql applied
#                          by `imip-admin db-upgrade` as IMIP_TEST_PG_ROLE;
#                          it takes no connections, so copying never fails
#                          on "source database is being accessed"
# Exit status: the command's; 70 if the server could not be prepared.
# The server is stopped (by PID) when the command ends, also on HUP, INT,
# TERM.  KEEP=1 keeps the cluster's directory.  Needs root
# (tests/lib-postgresql.sh).

set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ]; then
	echo "usage: $0 BUILDDIR COMMAND [ARG...]" >&2
	exit 64
fi
BUILD=$(cd "$1" && pwd) || exit 64
shift
ADMIN=$BUILD/tools/imip-admin
TEMPLATE=imip_template
# shellcheck source=SCRIPTDIR/lib-postgresql.sh
. "$SRC/tests/lib-postgresql.sh"

T=
CHILD=
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
	if [ -n "$CHILD" ]; then
		process_stop "$CHILD"
		CHILD=
	fi
	pg_stop
	if [ -n "$T" ]; then
		if [ -n "${KEEP:-}" ]; then
			echo "# PostgreSQL cluster kept in $T/pg (server stopped)" >&2
		else
			rm -rf "$T"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "$0: $*" >&2
	pg_log_tail >&2
	exit 70
}

[ -x "$ADMIN" ] || fail "no $ADMIN (build first)"
T=$(mktemp -d /tmp/imip-with-pg.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"
pg_start "$T/pg" || fail "$PG_ERROR"

pg_psql "CREATE DATABASE $TEMPLATE OWNER $PG_ROLE ENCODING 'UTF8' TEMPLATE template0" \
	-d postgres > "$T/createdb.out" 2>&1 ||
	fail "creating $TEMPLATE: $(cat "$T/createdb.out")"
printf 'store_backend = postgresql\nstore_conninfo = host=%s port=%s dbname=%s user=%s\n' \
	"$PG_SOCKET_DIR" "$PG_PORT" "$TEMPLATE" "$PG_ROLE" > "$T/imip.conf"
"$ADMIN" -c "$T/imip.conf" db-upgrade --schema-dir "$SRC/conf/postgresql" \
	> "$T/upgrade.out" 2>&1 || fail "db-upgrade: $(cat "$T/upgrade.out")"
pg_psql "ALTER DATABASE $TEMPLATE ALLOW_CONNECTIONS false" -d postgres \
	> "$T/alter.out" 2>&1 || fail "closing $TEMPLATE: $(cat "$T/alter.out")"

IMIP_TEST_PG_PSQL=$PG_BIN/psql
IMIP_TEST_PG_HOST=$PG_SOCKET_DIR
IMIP_TEST_PG_PORT=$PG_PORT
IMIP_TEST_PG_SUPERUSER=$PG_USER
IMIP_TEST_PG_ROLE=$PG_ROLE
IMIP_TEST_PG_TEMPLATE=$TEMPLATE
export IMIP_TEST_PG_PSQL IMIP_TEST_PG_HOST IMIP_TEST_PG_PORT \
	IMIP_TEST_PG_SUPERUSER IMIP_TEST_PG_ROLE IMIP_TEST_PG_TEMPLATE

# In the background and waited for, so that a signal to this script runs
# the cleanup at once (a foreground command would delay the trap until it
# ended); the cleanup then stops the command by its PID.  Its standard
# input stays the caller's (an asynchronous command's would be /dev/null).
exec 3<&0
"$@" <&3 3<&- &
CHILD=$!
wait "$CHILD"
rc=$?
CHILD=
exit $rc
