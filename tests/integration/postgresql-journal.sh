#!/bin/sh
# Integration test: the quota journal in PostgreSQL (store_backend =
# postgresql, common/journal-pg.c) against a private PostgreSQL
# (tests/lib-postgresql.sh), in a database with an ICU collation (so that
# every list must ask for byte order):
#  (a) tests/unit/test-journal-pg.c: round trips compared with the file
#      journal, hostile names and UIDs, the row lock (a second open
#      waits), rollback of a failed or killed writer;
#  (b) tests/unit/test-pg-conn.c (the quota lock of pg-conn.c);
#  (c) every imip-admin quota command prints the same on both backends
#      (file and postgresql), exit statuses included, and a resource
#      whose scheduling_function uses check_quota books into the
#      database: the reservations listed are the same, update-quotas
#      expires them the same, journal_dir stays empty;
#  (e) imip-admin copy-store takes the quota journals along: database ->
#      files gives the same quota listings, a copy onto the same quotas
#      is refused, --replace files -> database replaces what changed.
#
# Usage: tests/integration/postgresql-journal.sh BUILDDIR
#   KEEP=1 keeps the temporary directory.
# Needs root (package install; the server runs as "postgres").  Prints one
# PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
NAME=postgresql-journal
ADMIN=$BUILD/tools/imip-admin
SHIM=$BUILD/mta-shim/imip-shim
TEST=$BUILD/tests/unit/test-journal-pg
CONN_TEST=$BUILD/tests/unit/test-pg-conn
SCHEMA=$SRC/conf/postgresql
NOW=20141120T120000Z
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

for _x in "$ADMIN" "$SHIM" "$TEST" "$CONN_TEST"; do
	[ -x "$_x" ] || fail "no $_x (build first, with libpq)"
done

# conf FILE BACKEND DIR [CONNINFO]: a site's imip.conf.
conf() {
	mkdir -p "$3"
	cat > "$1" <<EOF
store_backend = $2
${4:+store_conninfo = $4}
store_dir = $3/store
preferences_dir = $3/preferences
journal_dir = $3/journal
static_dir = $3/static
calendar_sender = calendar@example.com
local_domains = example.com
default_tzid = UTC
log_target = stderr
sendmail_path = $T/sendmail
EOF
}

# both ARGS...: the same imip-admin command on both backends; the
# outputs (stdout+stderr) and statuses must be equal.  Output in
# $T/both.out.
both() {
	IMIP_NOW=$NOW "$ADMIN" -c "$T/file.conf" "$@" > "$T/file.out" 2>&1
	_rf=$?
	IMIP_NOW=$NOW "$ADMIN" -c "$T/pg.conf" "$@" > "$T/both.out" 2>&1
	_rp=$?
	[ $_rf = $_rp ] ||
		fail "imip-admin $*: exit $_rf on files, $_rp on PostgreSQL: $(cat "$T/both.out")"
	cmp -s "$T/file.out" "$T/both.out" ||
		fail "imip-admin $*: files say '$(cat "$T/file.out")', PostgreSQL '$(cat "$T/both.out")'"
	rc=$_rp
}

# shim CONF ROLE SENDER RECIPIENT MESSAGE; output in $T/shim.err.
shim() {
	SENDER=$3 RECIPIENT=$4 IMIP_NOW=$NOW "$SHIM" -c "$1" --role "$2" \
		--deliver "mbox:$T/mbox" < "$5" > "$T/shim.out" 2> "$T/shim.err"
	rc=$?
}

T=$(mktemp -d /tmp/imip-pg-journal.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"
pg_start "$T/pg" || fail "$PG_ERROR"
pg_psql "CREATE DATABASE imip_icu OWNER $PG_ROLE ENCODING 'UTF8'
	TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'
	LOCALE 'C.UTF-8'" > "$T/psql.out" 2>&1 ||
	fail "creating the ICU database: $(cat "$T/psql.out")"
ICU_CONNINFO="host=$PG_SOCKET_DIR port=$PG_PORT dbname=imip_icu user=$PG_ROLE"
conf "$T/pg.conf" postgresql "$T/pg" "$ICU_CONNINFO"
conf "$T/plain.conf" postgresql "$T/pg" "$PG_CONNINFO"
conf "$T/file.conf" file "$T/files"
for _c in pg plain; do
	"$ADMIN" -c "$T/$_c.conf" db-upgrade --schema-dir "$SCHEMA" \
		> "$T/out" 2>&1 || fail "db-upgrade ($_c): $(cat "$T/out")"
done

# (a), (b)
IMIP_TEST_PG_CONNINFO=$ICU_CONNINFO "$TEST" > "$T/test-journal-pg.out" 2>&1 ||
	fail "test-journal-pg: $(grep -E 'FAILED|ERROR|LINE|Failure' "$T/test-journal-pg.out" | head -20)"
grep -q 'PASSED' "$T/test-journal-pg.out" ||
	fail "test-journal-pg passed nothing: $(tail -5 "$T/test-journal-pg.out")"
IMIP_TEST_CONNINFO=$PG_CONNINFO "$CONN_TEST" > "$T/test-pg-conn.out" 2>&1 ||
	fail "test-pg-conn: $(grep -E 'FAILED|ERROR|Failure' "$T/test-pg-conn.out" | head -20)"

# (c) imip-admin quota on both backends
both quota cars limits
[ $rc = 1 ] && grep -q 'no quota journal cars' "$T/both.out" ||
	fail "a missing quota: exit $rc: $(cat "$T/both.out")"
both quota cars limit '*' PT2H
[ $rc = 0 ] || fail "quota limit exit $rc"
both quota cars limit Paul.Boddie@Example.com PT1H30M
both quota cars limit staff PT0S
both quota cars limit Zeta P1D
both quota cars limit alpha PT1M
both quota cars limit gone PT5M
both quota cars limit gone --unset
both quota cars limit 'two words' PT1H
[ $rc = 64 ] || [ $rc = 2 ] || [ $rc != 0 ] || fail "a bad subject was taken"
both quota cars limit x PT1X
both quota cars limits
[ "$(cat "$T/both.out")" = "$(printf '*\tPT2H\nZeta\tP1D\nalpha\tPT1M\npaul.boddie@example.com\tPT1H30M\nstaff\tPT0S')" ] ||
	fail "quota cars limits: $(cat "$T/both.out")"
both quota cars group mailto:Vincent.Vole@example.com staff
both quota cars group andy@example.com 'Board€'
both quota cars group zed@example.com x
both quota cars group zed@example.com --unset
both quota cars group andy@example.com a@b
both quota cars groups
[ "$(cat "$T/both.out")" = "$(printf 'andy@example.com\tBoard€\nvincent.vole@example.com\tstaff')" ] ||
	fail "quota cars groups: $(cat "$T/both.out")"
both quota cars delegates
[ $rc = 0 ] && [ ! -s "$T/both.out" ] || fail "no delegates: $(cat "$T/both.out")"
both quota pool delegates
[ $rc = 1 ] || fail "delegates of a missing quota: exit $rc"
both quota pool delegates Room2@example.com room@example.com room2@example.com
both quota pool delegates
[ "$(cat "$T/both.out")" = "$(printf 'room2@example.com\nroom@example.com')" ] ||
	fail "quota pool delegates: $(cat "$T/both.out")"
both quota pool delegates --none
both quota pool delegates
[ ! -s "$T/both.out" ] || fail "delegates --none: $(cat "$T/both.out")"
both quota cars reservations
[ $rc = 0 ] && [ ! -s "$T/both.out" ] || fail "no reservations: $(cat "$T/both.out")"
both quota 'two words' limits
[ $rc != 0 ] || fail "a bad quota name was taken"

# a resource books against the quota on both backends
cat > "$T/sendmail" <<EOF
#!/bin/sh
cat > /dev/null
EOF
chmod 755 "$T/sendmail"
CAR=resource-car-porsche@example.com
SCEN=$SRC/tests/scenarios/resource-check-quota-exhausted-then-replenished
for _c in file pg; do
	IMIP_NOW=$NOW "$ADMIN" -c "$T/$_c.conf" pref "$CAR" \
		scheduling_function "$(printf 'schedule_in_freebusy\ncheck_quota cars')" \
		> "$T/out" 2>&1 || fail "pref ($_c): $(cat "$T/out")"
	for _m in request-1 request-2 request-harvey; do
		shim "$T/$_c.conf" resource paul.boddie@example.com "$CAR" \
			"$SCEN/$_m.eml"
		[ $rc = 0 ] && grep -q 'outcome=replied' "$T/shim.err" ||
			fail "$_c: $_m: exit $rc: $(cat "$T/shim.err")"
		grep "outcome=" "$T/shim.err" | sed 's/.*outcome=//' \
			>> "$T/outcomes.$_c"
	done
done
cmp -s "$T/outcomes.file" "$T/outcomes.pg" ||
	fail "outcomes differ: $(diff "$T/outcomes.file" "$T/outcomes.pg")"
grep -q 'quota cars exceeded' "$T/outcomes.pg" ||
	fail "the quota was not applied: $(cat "$T/outcomes.pg")"
both quota cars reservations
[ "$(wc -l < "$T/both.out")" = 2 ] ||
	fail "reservations: $(cat "$T/both.out")"
both update-quotas
[ $rc = 0 ] || fail "update-quotas exit $rc: $(cat "$T/both.out")"
NOW=20141126T120000Z
both update-quotas
both update-quotas cars
both quota cars reservations
[ "$(wc -l < "$T/both.out")" = 1 ] ||
	fail "after update-quotas: $(cat "$T/both.out")"
[ -z "$(ls -A "$T/pg/journal" 2>/dev/null)" ] ||
	fail "files in journal_dir: $(ls -A "$T/pg/journal")"
_n=$(pg_psql "SELECT count(*) FROM quota_reservations" -d imip_icu 2>&1)
[ "$_n" = 1 ] || fail "quota_reservations rows: $_n"

# (e) imip-admin copy-store takes the quota journals along (the whole
# store only), in both directions
quota_state() {
	: > "$2"
	for _q in cars pool; do
		for _l in limits groups delegates reservations; do
			echo "== $_q $_l" >> "$2"
			IMIP_NOW=$NOW "$ADMIN" -c "$1" quota "$_q" "$_l" >> "$2" 2>&1
		done
	done
}
conf "$T/fresh.conf" file "$T/fresh"
"$ADMIN" copy-store "$T/pg.conf" "$T/fresh.conf" > "$T/copy.out" 2> "$T/copy.err" ||
	fail "copy-store postgresql -> file: $(cat "$T/copy.err")"
grep -q "^copied-quota	cars	limits=[1-9]" "$T/copy.out" ||
	fail "copy-store did not copy quota cars: $(cat "$T/copy.out")"
quota_state "$T/pg.conf" "$T/q.pg"
quota_state "$T/fresh.conf" "$T/q.fresh"
grep -q "^== cars reservations" "$T/q.pg" && [ "$(wc -l < "$T/q.pg")" -gt 10 ] ||
	fail "nothing to compare: $(cat "$T/q.pg")"
cmp -s "$T/q.pg" "$T/q.fresh" ||
	fail "the quotas copied to files differ: $(diff "$T/q.pg" "$T/q.fresh")"
"$ADMIN" copy-store "$T/fresh.conf" "$T/pg.conf" > "$T/copy.out" 2> "$T/copy.err"
[ $? = 74 ] && grep -q "nothing copied" "$T/copy.err" ||
	fail "copy-store onto a store holding the same: $(cat "$T/copy.err")"
IMIP_NOW=$NOW "$ADMIN" -c "$T/pg.conf" quota cars limit extra@example.com PT9H 	> "$T/out" 2>&1 || fail "quota limit: $(cat "$T/out")"
IMIP_NOW=$NOW "$ADMIN" -c "$T/pg.conf" quota cars group extra@example.com xgroup 	> "$T/out" 2>&1 || fail "quota group: $(cat "$T/out")"
"$ADMIN" copy-store --replace "$T/fresh.conf" "$T/pg.conf" > "$T/copy.out" 2> "$T/copy.err" ||
	fail "copy-store --replace file -> postgresql: $(cat "$T/copy.err")"
quota_state "$T/pg.conf" "$T/q.pg"
cmp -s "$T/q.pg" "$T/q.fresh" ||
	fail "file -> postgresql --replace: the quotas differ: $(diff "$T/q.fresh" "$T/q.pg")"

pg_stop
echo "PASS: $NAME"
