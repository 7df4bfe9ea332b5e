#!/bin/sh
# Integration test: the PostgreSQL store's schema (conf/postgresql/) and
# `imip-admin db-upgrade` against a private PostgreSQL (tests/lib-postgresql.sh),
# connected as a database owner without superuser rights:
#  (a) db-upgrade applies 001-initial.sql: schema_version says 1, every
#      table of the schema is there, owned by the role; its constraints
#      hold, a UID longer than an index entry is stored (uid_key), and
#      the rows store-pg.c writes (seen, outbox, requests) fit;
#  (b) a second db-upgrade is a no-op (nothing applied, one version row);
#  (c) pg-conn (tests/unit/test-pg-conn.c): parameters, errors, transactions
#      and the per-user lock, against the upgraded database;
#  (d) a later file (002) is applied alone; a failing file (003) changes
#      nothing (its transaction is rolled back) and db-upgrade fails;
#  (e) a database newer than the schema files is refused and left alone;
#  (f) a schema directory with a missing version is refused;
#  (g) with store_backend = file there is nothing to do; an unreachable
#      server is an error (74) that does not repeat the password.
#
# Usage: tests/integration/postgresql-schema.sh BUILDDIR
#   KEEP=1 keeps the temporary directory.
# Needs root (package install; the server runs as "postgres").  Prints one
# PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
NAME=postgresql-schema
ADMIN=$BUILD/tools/imip-admin
SCHEMA=$SRC/conf/postgresql
# shellcheck source=SCRIPTDIR/../lib-postgresql.sh
. "$SRC/tests/lib-postgresql.sh"

T=
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
	pg_stop
	if [ -n "$T" ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

fail() {
	echo "FAIL: $NAME: $*"
	pg_log_tail
	exit 1
}

[ -x "$ADMIN" ] || fail "no $ADMIN (build first)"
[ -x "$BUILD/tests/unit/test-pg-conn" ] ||
	fail "no $BUILD/tests/unit/test-pg-conn (built without libpq?)"

# upgrade CONF [ARGS...]: imip-admin db-upgrade; output in $T/out, status
# in $rc.
upgrade() {
	_conf=$1
	shift
	"$ADMIN" -c "$_conf" db-upgrade "$@" > "$T/out" 2>&1
	rc=$?
}

# expect_sql SQL EXPECTED: the superuser's view of the database.
expect_sql() {
	_got=$(pg_psql "$1" 2>&1) || fail "psql $1: $_got"
	[ "$_got" = "$2" ] || fail "$1: expected '$2', got '$_got'"
}

T=$(mktemp -d /tmp/imip-pg-schema.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"
pg_start "$T/pg" || fail "$PG_ERROR"
printf 'store_backend = postgresql\nstore_conninfo = %s\n' "$PG_CONNINFO" \
	> "$T/imip.conf"

# (a) the first upgrade
upgrade "$T/imip.conf" --schema-dir "$SCHEMA"
[ $rc = 0 ] || fail "db-upgrade exit $rc: $(cat "$T/out")"
[ "$(cat "$T/out")" = "$(printf 'applied\t1\t001-initial.sql\nversion\t1')" ] ||
	fail "db-upgrade said: $(cat "$T/out")"
expect_sql "SELECT version, name FROM schema_version" "1|001-initial.sql"
TABLES="busy_periods counters objects outbox preferences published_freebusy
quota_delegates quota_groups quota_limits quota_reservations quotas requests
schema_version seen users"
expect_sql "SELECT string_agg(tablename || ':' || tableowner, ' '
		ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'" \
	"$(for t in $TABLES; do printf '%s:imip ' "$t"; done | sed 's/ $//')"
expect_sql "SELECT indexname FROM pg_indexes WHERE tablename = 'busy_periods'
		ORDER BY indexname" "$(printf 'busy_uid\nbusy_window')"
# the constraints hold: one state per (uid, rid), a period of one table
pg_psql "INSERT INTO users (address) VALUES ('check@example.com');
	INSERT INTO objects (user_id, uid, state, data)
		SELECT id, 'u1', 'active', 'BEGIN:VCALENDAR' FROM users;" \
	> "$T/psql.out" 2>&1 || fail "insert: $(cat "$T/psql.out")"
pg_psql "INSERT INTO objects (user_id, uid, state, data)
		SELECT id, 'u1', 'cancelled', 'x' FROM users" \
	> "$T/psql.out" 2>&1 && fail "active and cancelled at once accepted"
grep -q 'duplicate key' "$T/psql.out" || fail "objects: $(cat "$T/psql.out")"
pg_psql "INSERT INTO busy_periods (user_id, fb_table, uid, start_at, end_at)
		SELECT id, 'other', 'u1', now(), now() FROM users" \
	> "$T/psql.out" 2>&1 && fail "an 'other' period without the other party accepted"
# a UID longer than a btree entry may be: the key is its SHA-256 (uid_key)
pg_psql "INSERT INTO objects (user_id, uid, state, data)
		SELECT id, repeat(md5(g::text), 700), 'active', 'x'
		FROM users, generate_series(1, 2) g" \
	> "$T/psql.out" 2>&1 || fail "a long UID: $(cat "$T/psql.out")"
expect_sql "SELECT count(*) FROM objects WHERE uid_key = imip_key(uid)" 3
# what store-pg.c writes: seen with outcome and reason, outbox entries as
# bytes per queue, requests in order
pg_psql "INSERT INTO seen (user_id, digest, processed, outcome, reason)
		SELECT id, 'ab', now(), 'added', 'x' FROM users;
	INSERT INTO outbox (user_id, queue, name, data)
		SELECT id, 'queued', '0a1b', '\\x00ff'::bytea FROM users;
	INSERT INTO requests (user_id, position, uid, kind)
		SELECT id, 0, 'u1', 'request' FROM users" \
	> "$T/psql.out" 2>&1 || fail "store rows: $(cat "$T/psql.out")"
pg_psql "INSERT INTO outbox (user_id, queue, name, data)
		SELECT id, 'sent', '0a1c', ''::bytea FROM users" \
	> "$T/psql.out" 2>&1 && fail "an outbox queue other than queued/failed accepted"
pg_psql "DELETE FROM users" > "$T/psql.out" 2>&1 ||
	fail "delete: $(cat "$T/psql.out")"
expect_sql "SELECT count(*) FROM objects" 0
expect_sql "SELECT count(*) FROM outbox" 0

# (b) the second upgrade changes nothing
upgrade "$T/imip.conf" --schema-dir "$SCHEMA"
[ $rc = 0 ] || fail "second db-upgrade exit $rc: $(cat "$T/out")"
[ "$(cat "$T/out")" = "$(printf 'version\t1')" ] ||
	fail "second db-upgrade said: $(cat "$T/out")"
expect_sql "SELECT count(*) FROM schema_version" 1

# (c) the connection layer against the real schema
IMIP_TEST_CONNINFO=$PG_CONNINFO "$BUILD/tests/unit/test-pg-conn" \
	> "$T/pg-conn.out" 2>&1 || fail "test-pg-conn: $(cat "$T/pg-conn.out")"

# (d) a later file alone, then a failing one
mkdir "$T/schema" && cp "$SCHEMA"/*.sql "$T/schema/" || fail "cp failed"
cat > "$T/schema/002-test.sql" <<'EOF'
CREATE TABLE test_two (id integer);
ALTER TABLE users ADD COLUMN note text;
EOF
upgrade "$T/imip.conf" --schema-dir "$T/schema"
[ $rc = 0 ] || fail "db-upgrade to 2 exit $rc: $(cat "$T/out")"
[ "$(cat "$T/out")" = "$(printf 'applied\t2\t002-test.sql\nversion\t2')" ] ||
	fail "db-upgrade to 2 said: $(cat "$T/out")"
expect_sql "SELECT string_agg(version::text, ',' ORDER BY version)
		FROM schema_version" "1,2"
cat > "$T/schema/003-broken.sql" <<'EOF'
CREATE TABLE test_three (id integer);
ALTER TABLE no_such_table ADD COLUMN x text;
EOF
upgrade "$T/imip.conf" --schema-dir "$T/schema"
[ $rc = 74 ] || fail "a failing 003 gave exit $rc: $(cat "$T/out")"
grep -q '003-broken.sql: PostgreSQL: relation "no_such_table" does not exist' "$T/out" ||
	fail "003 failure said: $(cat "$T/out")"
grep -q 'stays at schema version 2' "$T/out" || fail "003: $(cat "$T/out")"
expect_sql "SELECT max(version) FROM schema_version" 2
expect_sql "SELECT to_regclass('test_three') IS NULL" t

# (e) a database newer than the files: refused, left alone
rm "$T/schema/003-broken.sql"
pg_psql "INSERT INTO schema_version (version, name) VALUES (999, '999-future.sql')" \
	> "$T/psql.out" 2>&1 || fail "insert 999: $(cat "$T/psql.out")"
upgrade "$T/imip.conf" --schema-dir "$T/schema"
[ $rc = 74 ] || fail "a newer database gave exit $rc: $(cat "$T/out")"
grep -q 'schema version 999, newer than this imip-agent knows (2)' "$T/out" ||
	fail "newer database said: $(cat "$T/out")"
upgrade "$T/imip.conf" --schema-dir "$SCHEMA"
[ $rc = 74 ] || fail "a newer database (shipped schema) gave exit $rc"
expect_sql "SELECT count(*) FROM schema_version" 3

# (f) a hole in the numbering is an installation mistake
mkdir "$T/gap" && cp "$SCHEMA/001-initial.sql" "$T/gap/" &&
	echo 'SELECT 1;' > "$T/gap/003-c.sql" || fail "gap setup failed"
upgrade "$T/imip.conf" --schema-dir "$T/gap"
[ $rc = 74 ] && grep -q 'schema version 2 is missing' "$T/out" ||
	fail "a gap gave exit $rc: $(cat "$T/out")"

# (g) the file store needs nothing; an unreachable server is an error
printf 'store_backend = file\nstore_conninfo = %s\n' "$PG_CONNINFO" \
	> "$T/file.conf"
upgrade "$T/file.conf" --schema-dir "$SCHEMA"
[ $rc = 0 ] && grep -q 'nothing to do' "$T/out" ||
	fail "store_backend = file gave exit $rc: $(cat "$T/out")"
printf 'store_backend = postgresql\nstore_conninfo = host=%s/none dbname=imip password=hunter2\n' \
	"$T" > "$T/down.conf"
upgrade "$T/down.conf" --schema-dir "$SCHEMA"
[ $rc = 74 ] && grep -q 'cannot connect to PostgreSQL' "$T/out" ||
	fail "an unreachable server gave exit $rc: $(cat "$T/out")"
grep -q hunter2 "$T/out" && fail "the error repeats the password"
upgrade "$T/imip.conf" --schema-dir
[ $rc = 64 ] || fail "--schema-dir without DIR gave exit $rc"

pg_stop
echo "PASS: $NAME"
