#!/bin/sh
# Integration test: the PostgreSQL store (store_backend = postgresql,
# common/store-pg.c, store-pg-fb.c) against a private PostgreSQL
# (tests/lib-postgresql.sh), connected as a database owner without
# superuser rights:
#  (a) db-upgrade brings two databases to the schema: the usual one, and
#      one whose collation is ICU en-US ("a" before "B", unlike byte
#      order), so that the backend's lists must ask for byte order;
#  (b) tests/unit/test-store-pg.c against the ICU database: round trips,
#      transactions, the writer's advisory lock, the pool, hostile UIDs;
#  (c) end to end, imip-shim with store_backend = postgresql: a person's
#      invitation is added and delivered, `imip-admin events` lists it,
#      the rows are in the database and nothing in store_dir; the same
#      message again is "already processed"; a resource answers a
#      REQUEST (the reply leaves through sendmail_path, the outbox is
#      empty afterwards) and its free/busy shows the booking; replies
#      refused for good are kept as failed, outbox-retry queues one
#      again and send-queued sends it, outbox-remove drops the other;
#      imip-admin writes (pref) are kept;
#  (d) the database down: outcome error naming the store, the mail
#      delivered, exit 0;
#  (e) the programs are not linked with libpq, and a host without
#      libpq.so.5 gives outcome error naming it, the mail delivered.
#
# Usage: tests/integration/postgresql-store.sh BUILDDIR
#   KEEP=1 keeps the temporary directory.
# Needs root (package install; the server runs as "postgres").  Prints one
# PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
NAME=postgresql-store
ADMIN=$BUILD/tools/imip-admin
SHIM=$BUILD/mta-shim/imip-shim
TEST=$BUILD/tests/unit/test-store-pg
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

for _x in "$ADMIN" "$SHIM" "$TEST"; do
	[ -x "$_x" ] || fail "no $_x (build first, with libpq)"
done

# expect_sql SQL EXPECTED: the superuser's view of the database.
expect_sql() {
	_got=$(pg_psql "$1" 2>&1) || fail "psql $1: $_got"
	[ "$_got" = "$2" ] || fail "$1: expected '$2', got '$_got'"
}

# conf FILE CONNINFO: a site's imip.conf with the PostgreSQL store.
conf() {
	cat > "$1" <<EOF
store_backend = postgresql
store_conninfo = $2
store_dir = $T/store
preferences_dir = $T/preferences
journal_dir = $T/journal
static_dir = $T/static
calendar_sender = calendar@example.com
local_domains = example.com
default_tzid = UTC
log_target = stderr
sendmail_path = $T/sendmail
EOF
}

# shim CONF ROLE SENDER RECIPIENT MESSAGE: imip-shim as an MTA runs it,
# delivering to $T/mbox; output in $T/shim.err, status in $rc.
shim() {
	SENDER=$3 RECIPIENT=$4 IMIP_NOW=$NOW "$SHIM" -c "$1" --role "$2" \
		--deliver "mbox:$T/mbox" < "$5" > "$T/shim.out" 2> "$T/shim.err"
	rc=$?
}

# admin ARGS...: imip-admin with $T/imip.conf; output in $T/admin.out.
admin() {
	IMIP_NOW=$NOW "$ADMIN" -c "$T/imip.conf" "$@" > "$T/admin.out" 2>&1
	rc=$?
}

T=$(mktemp -d /tmp/imip-pg-store.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"
pg_start "$T/pg" || fail "$PG_ERROR"

# (a) two databases brought to the schema
pg_psql "CREATE DATABASE imip_icu OWNER $PG_ROLE ENCODING 'UTF8'
	TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'
	LOCALE 'C.UTF-8'" > "$T/psql.out" 2>&1 ||
	fail "creating the ICU database: $(cat "$T/psql.out")"
ICU_CONNINFO="host=$PG_SOCKET_DIR port=$PG_PORT dbname=imip_icu user=$PG_ROLE"
conf "$T/imip.conf" "$PG_CONNINFO"
conf "$T/icu.conf" "$ICU_CONNINFO"
for _c in imip icu; do
	"$ADMIN" -c "$T/$_c.conf" db-upgrade --schema-dir "$SCHEMA" \
		> "$T/out" 2>&1 || fail "db-upgrade ($_c): $(cat "$T/out")"
done
# the ICU database really sorts otherwise than bytes
_order=$(pg_psql "SELECT string_agg(x, ' ' ORDER BY x)
	FROM (VALUES ('B'), ('a')) v(x)" -d imip_icu 2>&1)
[ "$_order" = "a B" ] || fail "imip_icu sorts 'B' 'a' as '$_order'"

# (b) the backend's own test
IMIP_TEST_PG_CONNINFO=$ICU_CONNINFO "$TEST" > "$T/test-store-pg.out" 2>&1 ||
	fail "test-store-pg: $(grep -E 'FAILED|ERROR|LINE' "$T/test-store-pg.out" | head -20)"
grep -q 'PASSED' "$T/test-store-pg.out" ||
	fail "test-store-pg passed nothing: $(tail -5 "$T/test-store-pg.out")"

# (c) end to end
# The fake sendmail also notes how the agent's sessions stand while it
# waits for the MTA: no transaction may be open (an idle one is ended by
# the server after idle_in_transaction_session_timeout), the user's
# advisory lock must still be held.
cat > "$T/sendmail" <<EOF
#!/bin/sh
{ echo "ARGV \$*"; cat; echo "END"; } >> "$T/sendmail-calls"
"$PG_BIN/psql" -X -q -A -t -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_USER" \
	-d "$PG_DATABASE" -c "SELECT 'IN-TRANSACTION ' || count(*) FROM
	pg_stat_activity WHERE application_name = 'imip-agent' AND
	state LIKE 'idle in transaction%'" -c "SELECT 'ADVISORY-LOCKS ' ||
	count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted" \
	>> "$T/sendmail-states" 2>&1
EOF
chmod 755 "$T/sendmail"
VINCENT=vincent.vole@example.com
ROOM=resource-room-confroom@example.com
INVITE=$SRC/samples/01-invitation.eml
UID1=$(sed -n 's/^UID:\(.*\)\r*$/\1/p' "$INVITE" | tr -d '\r' | head -n 1)
[ -n "$UID1" ] || fail "no UID in $INVITE"

shim "$T/imip.conf" person paul.boddie@example.com "$VINCENT" "$INVITE"
[ $rc = 0 ] || fail "person delivery exit $rc: $(cat "$T/shim.err")"
grep -q 'outcome=added' "$T/shim.err" ||
	fail "person delivery: $(cat "$T/shim.err")"
head -n 1 "$T/mbox" | grep -q '^From paul.boddie@example.com ' ||
	fail "the invitation was not delivered: $(head -n 3 "$T/mbox")"
admin events "$VINCENT"
[ $rc = 0 ] || fail "imip-admin events exit $rc: $(cat "$T/admin.out")"
grep -q "^$UID1	" "$T/admin.out" ||
	fail "imip-admin events does not list $UID1: $(cat "$T/admin.out")"
expect_sql "SELECT u.address || ' ' || o.uid || ' ' || o.state
	FROM objects o JOIN users u ON u.id = o.user_id" \
	"$VINCENT $UID1 active"
expect_sql "SELECT count(*) FROM seen WHERE outcome = 'added'" 1
# nothing of the file store
[ -z "$(ls -A "$T/store" 2>/dev/null)" ] ||
	fail "files in store_dir: $(ls -A "$T/store")"

# the same message again changes nothing
shim "$T/imip.conf" person paul.boddie@example.com "$VINCENT" "$INVITE"
[ $rc = 0 ] && grep -q 'already processed' "$T/shim.err" ||
	fail "second delivery exit $rc: $(cat "$T/shim.err")"
expect_sql "SELECT count(*) FROM objects" 1

# imip-admin check works on a copy of the user's state taken from the
# database into files (the seen list: "already processed"; the stored
# event: its update is "updated"), and writes nothing into the database
admin check --user "$VINCENT" --sender paul.boddie@example.com "$INVITE" \
	"$SRC/samples/02-update.eml"
[ $rc = 0 ] || fail "imip-admin check exit $rc: $(cat "$T/admin.out")"
grep -q "01-invitation.eml: .*outcome=added reason=\"already processed" "$T/admin.out" ||
	fail "check of a processed message: $(cat "$T/admin.out")"
grep -q "02-update.eml: .*outcome=updated" "$T/admin.out" ||
	fail "check of the update: $(cat "$T/admin.out")"
expect_sql "SELECT count(*) FROM objects WHERE data LIKE '%SEQUENCE:1%'" 0
[ -z "$(ls -A "$T/store" 2>/dev/null)" ] ||
	fail "imip-admin check wrote into store_dir: $(ls -A "$T/store")"

# a resource answers; the reply leaves, the outbox is empty again
REQUEST=$SRC/tests/scenarios/auth-resource-unauthenticated-request-rejected/request.eml
shim "$T/imip.conf" resource paul.boddie@example.com "$ROOM" "$REQUEST"
[ $rc = 0 ] || fail "resource delivery exit $rc: $(cat "$T/shim.err")"
grep -q 'outcome=replied reason="accepted"' "$T/shim.err" ||
	fail "resource delivery: $(cat "$T/shim.err")"
grep -q '^ARGV.*paul.boddie@example.com' "$T/sendmail-calls" 2>/dev/null ||
	fail "no reply handed to sendmail: $(cat "$T/sendmail-calls" 2>&1)"
grep -q '^Content-Type: text/calendar; charset=utf-8; method=REPLY' \
	"$T/sendmail-calls" || fail "not a REPLY: $(cat "$T/sendmail-calls")"
expect_sql "SELECT count(*) FROM outbox" 0
# while the MTA had the reply: no transaction open, the lock held
grep -qx 'IN-TRANSACTION 0' "$T/sendmail-states" &&
	grep -qx 'ADVISORY-LOCKS 1' "$T/sendmail-states" ||
	fail "the agent's session while sendmail ran: $(cat "$T/sendmail-states")"
admin outbox "$ROOM"
[ $rc = 0 ] && [ ! -s "$T/admin.out" ] ||
	fail "imip-admin outbox exit $rc: $(cat "$T/admin.out")"
admin freebusy "$ROOM"
[ $rc = 0 ] || fail "imip-admin freebusy exit $rc: $(cat "$T/admin.out")"
grep -q '^20141126T100000Z	20141126T110000Z	meeting-1@example.com' \
	"$T/admin.out" || fail "the room's free/busy: $(cat "$T/admin.out")"

# the outbox commands on the database: a reply refused for good (the
# relay says 5xx: sendmail exits 1) is kept as failed; outbox-retry
# queues it again, send-queued sends it; outbox-remove drops another
printf '#!/bin/sh\ncat > /dev/null\necho "relay says no" >&2\nexit 1\n' \
	> "$T/sendmail-refuses"
chmod 755 "$T/sendmail-refuses"
sed "s|^sendmail_path = .*|sendmail_path = $T/sendmail-refuses|" \
	"$T/imip.conf" > "$T/refuses.conf"
for n in 2 3; do
	sed "s/meeting-1@/meeting-$n@/; s/a70f6cf08c@/a70f6cf08$n@/;
	     s/20141126T1\([01]\)0000Z/2014112${n}T1\10000Z/" \
		"$REQUEST" > "$T/request-$n.eml"
	shim "$T/refuses.conf" resource paul.boddie@example.com "$ROOM" \
		"$T/request-$n.eml"
	grep -q 'outcome=error reason=".*given up' "$T/shim.err" ||
		fail "refused reply $n: $(cat "$T/shim.err")"
done
expect_sql "SELECT count(*) FROM outbox WHERE queue = 'failed'" 2
admin outbox "$ROOM"
FAILED1=$(awk -F '\t' '$2 == "failed" { print $3; exit }' "$T/admin.out")
FAILED2=$(awk -F '\t' '$2 == "failed" { n++; if (n == 2) print $3 }' "$T/admin.out")
[ -n "$FAILED1" ] && [ -n "$FAILED2" ] ||
	fail "imip-admin outbox: $(cat "$T/admin.out")"
admin outbox-show "$ROOM" "$FAILED1"
[ $rc = 0 ] && grep -q '^error .*relay says no' "$T/admin.out" &&
	grep -q '^Content-Type: text/calendar; charset=utf-8; method=REPLY' \
		"$T/admin.out" || fail "outbox-show exit $rc: $(cat "$T/admin.out")"
admin outbox-retry "$ROOM" "$FAILED1"
[ $rc = 0 ] && [ "$(cat "$T/admin.out")" = "$ROOM	$FAILED1	queued" ] ||
	fail "outbox-retry exit $rc: $(cat "$T/admin.out")"
expect_sql "SELECT string_agg(queue || ' ' || n, ',' ORDER BY queue)
	FROM (SELECT queue, count(*) AS n FROM outbox GROUP BY queue) q" \
	"failed 1,queued 1"
CALLS=$(grep -c '^ARGV' "$T/sendmail-calls")
admin send-queued "$ROOM"
[ $rc = 0 ] && grep -q "^$ROOM	$FAILED1	sent	paul.boddie@example.com" \
	"$T/admin.out" || fail "send-queued exit $rc: $(cat "$T/admin.out")"
[ "$(grep -c '^ARGV' "$T/sendmail-calls")" = $((CALLS + 1)) ] ||
	fail "send-queued did not send the retried reply once"
admin outbox-remove "$ROOM" "$FAILED2"
[ $rc = 0 ] && [ "$(cat "$T/admin.out")" = "$ROOM	$FAILED2	removed	failed" ] ||
	fail "outbox-remove exit $rc: $(cat "$T/admin.out")"
expect_sql "SELECT count(*) FROM outbox" 0

# imip-admin's writes are kept (each command is a session of its own)
admin pref "$VINCENT" TZID Europe/Oslo
[ $rc = 0 ] || fail "imip-admin pref set exit $rc: $(cat "$T/admin.out")"
admin pref "$VINCENT" TZID
[ "$(cat "$T/admin.out")" = Europe/Oslo ] ||
	fail "imip-admin pref: $(cat "$T/admin.out")"
admin init-user new.user@example.com
[ $rc = 0 ] || fail "imip-admin init-user exit $rc: $(cat "$T/admin.out")"
expect_sql "SELECT count(*) FROM users WHERE address = 'new.user@example.com'" 1

# (d) the database down: the mail still goes through
conf "$T/down.conf" "host=$T/none dbname=imip password=hunter2"
rm -f "$T/mbox"
shim "$T/down.conf" person paul.boddie@example.com "$VINCENT" "$INVITE"
[ $rc = 0 ] || fail "database down: exit $rc: $(cat "$T/shim.err")"
grep -q 'outcome=error' "$T/shim.err" &&
	grep -q 'store unavailable: cannot connect to PostgreSQL' "$T/shim.err" ||
	fail "database down: $(cat "$T/shim.err")"
grep -q hunter2 "$T/shim.err" && fail "the error repeats the password"
head -n 1 "$T/mbox" | grep -q '^From paul.boddie@example.com ' ||
	fail "database down: the mail was not delivered"

# (e) libpq is loaded only for a PostgreSQL store (common/pg-lib.h): the
# programs are not linked with it, and on a host without it (libpq.so.5
# hidden in a private mount namespace) a PostgreSQL store is outcome
# error naming the library, the mail still delivered
for _p in "$SHIM" "$ADMIN" "$BUILD/tools/imip-freebusy-cgi"; do
	readelf -d "$_p" | grep -q 'NEEDED.*libpq' &&
		fail "$_p is linked with libpq"
done
LIBPQ=$(ldconfig -p | sed -n 's/^[[:space:]]*libpq\.so\.5 (libc6[^)]*) => //p' | head -n 1)
[ -n "$LIBPQ" ] || fail "ldconfig knows no libpq.so.5"
rm -f "$T/mbox"
unshare -m --propagation private sh -c '
	mount --bind /dev/null "$(readlink -f "$1")" || exit 99
	shift
	exec "$@"' sh "$LIBPQ" env SENDER=paul.boddie@example.com \
	RECIPIENT="$VINCENT" IMIP_NOW=$NOW "$SHIM" -c "$T/imip.conf" \
	--role person --deliver "mbox:$T/mbox" < "$INVITE" \
	> "$T/shim.out" 2> "$T/shim.err"
rc=$?
[ $rc = 99 ] && fail "cannot hide libpq.so.5 (unshare -m and mount need root)"
[ $rc = 0 ] || fail "without libpq: exit $rc: $(cat "$T/shim.err")"
grep -q 'outcome=error' "$T/shim.err" &&
	grep -q 'cannot load libpq.so.5 (is libpq5 installed?)' "$T/shim.err" ||
	fail "without libpq: $(cat "$T/shim.err")"
head -n 1 "$T/mbox" | grep -q '^From paul.boddie@example.com ' ||
	fail "without libpq: the mail was not delivered"

pg_stop
echo "PASS: $NAME"
