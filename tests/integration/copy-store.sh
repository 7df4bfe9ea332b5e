#!/bin/sh
# Integration test: `imip-admin copy-store` between the file store and
# PostgreSQL (docs/postgresql.md section 7), `imip-admin published` and
# imip-freebusy-cgi(8).
#
# A file store is built by piping real messages (tests/scenarios/*/) through
# imip-shim: a person with a recurring event and an added occurrence, a
# cancelled event and preferences; an organiser with a COUNTER received and
# published free/busy; a resource with a weekly booking, an instance
# cancelled, a cancelled booking, a COUNTER offer held, a reply given up
# (outbox/failed: sendmail refuses) and one waiting (outbox: sendmail
# answers "try again").  Then:
#  (a) file -> file: everything imip-admin shows of every user (events,
#      show of each, requests, counters, freebusy incl. --other, pref,
#      outbox, published) is the same in the copy; the seen lists, the
#      outbox entries and the preferences are the same bytes; a second
#      copy is refused and changes nothing; --replace copies again, and
#      forgets the messages only the copy had processed;
#  (b) file -> PostgreSQL -> file: the same listings from the database and
#      from the final files; the summary lines (which count the offers
#      table too) of both copies agree; a copy into the database that
#      fails half way (a table refused) names the user and the item and
#      leaves the user as it was;
#  (c) a message delivered again to the final copy is "already processed"
#      (the seen list came along);
#  (d) imip-freebusy-cgi against the database: a good address gives the
#      text `imip-admin published` shows, an unknown one 404, hostile ones
#      400 with the tables untouched.
#
# Usage: tests/integration/copy-store.sh BUILDDIR
#   KEEP=1 keeps the temporary directory.
# Needs root for the private PostgreSQL (tests/lib-postgresql.sh).  Prints
# one PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
NAME=copy-store
ADMIN=$BUILD/tools/imip-admin
SHIM=$BUILD/mta-shim/imip-shim
CGI=$BUILD/tools/imip-freebusy-cgi
SCEN=$SRC/tests/scenarios
# shellcheck source=SCRIPTDIR/../lib-postgresql.sh
. "$SRC/tests/lib-postgresql.sh"

PERSON=vincent.vole@example.com
ORGANISER=paul.boddie@example.com
ROOM=resource-room-confroom@example.com
USERS="$PERSON $ORGANISER $ROOM"
OTHERS="$PERSON $ORGANISER harvey.horse@example.com"
IMIP_NOW=20141120T120000Z
export IMIP_NOW

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
	[ -n "$PG_PID" ] && pg_log_tail
	exit 1
}

for _p in "$ADMIN" "$SHIM" "$CGI"; do
	[ -x "$_p" ] || fail "no $_p (build first; the CGI needs libpq)"
done

T=$(mktemp -d /tmp/imip-copy-store.XXXXXX) || fail "mktemp failed"
chmod 755 "$T"

# file_conf NAME: an imip.conf with a file store under $T/NAME.
file_conf() {
	cat > "$T/$1.conf" <<EOF
store_dir = $T/$1/store
preferences_dir = $T/$1/preferences
static_dir = $T/$1/static
journal_dir = $T/journal
calendar_sender = calendar@example.com
local_domains = example.com
default_tzid = UTC
log_target = stderr
sendmail_path = $T/sendmail
EOF
}

# The MTA: exits with the status in $T/sendmail-exit (0 accepted, 75 try
# again, 69 refused).
cat > "$T/sendmail" <<EOF
#!/bin/sh
cat > /dev/null
exit \$(cat "$T/sendmail-exit")
EOF
chmod 755 "$T/sendmail"
echo 0 > "$T/sendmail-exit"

# shim CONF ROLE SENDER RECIPIENT FILE [SENDMAIL-EXIT]: one message; the
# person and outgoing roles as dry runs (nothing to hand on), the
# resource role for real so that its replies go through the outbox.
shim() {
	_dry=--dry-run
	[ "$2" = resource ] && _dry=
	echo "${6:-0}" > "$T/sendmail-exit"
	# shellcheck disable=SC2086  # _dry is one option or none
	"$SHIM" -c "$1" --role "$2" --sender "$3" --recipient "$4" $_dry \
		< "$5" > "$T/shim.out" 2> "$T/shim.err" ||
		fail "imip-shim $2 $5: exit $?: $(cat "$T/shim.err")"
}

admin() {
	_conf=$1
	shift
	"$ADMIN" -c "$_conf" "$@"
}

# state CONF OUT: everything imip-admin shows of the users.
state() {
	{
		for _u in $USERS; do
			echo "== $_u events"
			admin "$1" events "$_u" || echo "!! events $?"
			admin "$1" events "$_u" | cut -f1,2 | while IFS='	' read -r _uid _rid; do
				[ "$_rid" = - ] && _rid=
				echo "== $_u show $_uid $_rid"
				# shellcheck disable=SC2086  # no rid: no argument
				admin "$1" show "$_u" "$_uid" $_rid || echo "!! show $?"
			done
			echo "== $_u requests"
			admin "$1" requests "$_u" || echo "!! requests $?"
			echo "== $_u counters"
			admin "$1" counters "$_u" || echo "!! counters $?"
			echo "== $_u freebusy"
			admin "$1" freebusy "$_u" || echo "!! freebusy $?"
			for _o in $OTHERS; do
				echo "== $_u freebusy --other $_o"
				admin "$1" freebusy "$_u" --other "$_o" ||
					echo "!! freebusy --other $?"
			done
			echo "== $_u pref"
			admin "$1" pref "$_u" || echo "!! pref $?"
			echo "== $_u published"
			admin "$1" published "$_u"
			echo "-- status $?"
		done
		echo "== outbox"
		admin "$1" outbox || echo "!! outbox $?"
	} > "$2" 2>&1
}

# same A B WHAT: the two state files are equal.
same() {
	cmp -s "$1" "$2" ||
		fail "$3 differ: $(diff "$1" "$2" | head -n 20)"
}

# --- the original file store ---------------------------------------------
file_conf orig
A=$T/orig.conf
# pref USER NAME VALUE: set in the original store.
pref() {
	admin "$A" pref "$1" "$2" "$3" > /dev/null || fail "pref $1 $2 $3"
}
pref "$PERSON" add_method_response add
pref "$PERSON" CN "Vincent Vole"
pref "$ORGANISER" freebusy_publishing publish
pref "$ORGANISER" freebusy_sharing share
pref "$ROOM" scheduling_function schedule_corrected_in_freebusy
pref "$ROOM" permitted_times "0,15,30,45"

# the person: a daily event and an added occurrence; an event cancelled
shim "$A" person "$ORGANISER" "$PERSON" "$SCEN/add-add-stores-occurrence/request.eml"
shim "$A" person "$ORGANISER" "$PERSON" "$SCEN/add-add-stores-occurrence/add.eml"
shim "$A" person "$ORGANISER" "$PERSON" "$SCEN/cancel-whole-event/request.eml"
shim "$A" person "$ORGANISER" "$PERSON" "$SCEN/cancel-whole-event/cancel.eml"
# the organiser: his event (published), a COUNTER received
shim "$A" outgoing "$ORGANISER" "$PERSON" "$SCEN/counter-stored-and-queued/request.eml"
shim "$A" person "$PERSON" "$ORGANISER" "$SCEN/counter-stored-and-queued/counter.eml"
# the resource: a weekly booking, one instance cancelled; a booking whose
# answer the MTA refuses (outbox/failed), then cancelled; a request at a
# time the resource does not permit, a day later, answered with a COUNTER
# (an offer held) that waits in the outbox (the MTA says "try again")
R=$SCEN/resource-cancel-instance-releases-instance
shim "$A" resource "$ORGANISER" "$ROOM" "$R/request-weekly.eml" 0
shim "$A" resource "$ORGANISER" "$ROOM" "$R/cancel-instance.eml" 0
R=$SCEN/resource-cancel-releases-booking
shim "$A" resource "$ORGANISER" "$ROOM" "$R/request-paul.eml" 69
shim "$A" resource "$ORGANISER" "$ROOM" "$R/cancel-paul.eml" 0
sed 's/20141126T/20141127T/g' \
	"$SCEN/resource-counter-offer-blocks-other-organiser/request-paul.eml" \
	> "$T/request-offer.eml"
shim "$A" resource "$ORGANISER" "$ROOM" "$T/request-offer.eml" 75
grep -q "COUNTER" "$T/shim.err" "$T/shim.out" ||
	grep -q "outcome=replied\|queued" "$T/shim.err" ||
	fail "the resource made no offer: $(cat "$T/shim.err")"

state "$A" "$T/orig.state"
# the store is not trivial: every kind of thing is there
for _want in "	cancelled	" "	20141210T100000Z	active" \
	"event1@example.com	-	counter" "BEGIN:VFREEBUSY" \
	"	queued	" "	failed	" "CN	Vincent Vole	user" \
	"freebusy --other $ORGANISER
2014"; do
	grep -q "$_want" "$T/orig.state" ||
		fail "the original store lacks '$_want': $(cat "$T/orig.state")"
done
grep -A1 "^== $PERSON freebusy --other $ORGANISER" "$T/orig.state" |
	grep -q '^2014' || fail "no free/busy of $ORGANISER known to $PERSON"

# (a) file -> file
file_conf copy
B=$T/copy.conf
"$ADMIN" copy-store "$A" "$B" > "$T/copy1.out" 2> "$T/copy1.err" ||
	fail "copy-store file -> file: exit $?: $(cat "$T/copy1.err")"
[ "$(grep -c '^copied	' "$T/copy1.out")" = 3 ] ||
	fail "copy-store printed: $(cat "$T/copy1.out")"
grep "^copied	$ROOM	" "$T/copy1.out" | grep -q 'freebusy-offers=[1-9]' ||
	fail "no offers copied: $(cat "$T/copy1.out")"
grep "^copied	$ROOM	" "$T/copy1.out" | grep -q 'seen=[1-9]' ||
	fail "no seen entries copied: $(cat "$T/copy1.out")"
state "$B" "$T/copy.state"
same "$T/orig.state" "$T/copy.state" "file -> file: the listings"
for _u in $USERS; do
	cmp -s "$T/orig/store/$_u/seen" "$T/copy/store/$_u/seen" ||
		fail "file -> file: the seen list of $_u differs"
done
diff -r "$T/orig/preferences" "$T/copy/preferences" > /dev/null ||
	fail "file -> file: preferences differ"
diff -r "$T/orig/store/$ROOM/outbox" "$T/copy/store/$ROOM/outbox" > /dev/null ||
	fail "file -> file: the outbox differs"
diff -r "$T/orig/static" "$T/copy/static" > /dev/null ||
	fail "file -> file: the published free/busy differs"

# a second copy is refused, names the user, and writes nothing
admin "$B" pref "$PERSON" CN "Changed" > /dev/null || fail "pref CN Changed"
# and a message only the copy processed: --replace must forget it, or its
# next copy would be "already processed" with nothing of it kept
ONLY_B=$T/only-copy.eml
sed 's/event1@example\.com/only-copy@example.com/' \
	"$SCEN/request-new-is-stored-and-queued/request.eml" > "$ONLY_B"
shim "$B" person "$ORGANISER" "$PERSON" "$ONLY_B"
grep -q 'outcome=added reason="invitation recorded"' "$T/shim.err" ||
	fail "the message only the copy processed: $(cat "$T/shim.err")"
"$ADMIN" copy-store "$A" "$B" > "$T/copy2.out" 2> "$T/copy2.err"
rc=$?
[ $rc = 74 ] || fail "copy-store into a store holding the users: exit $rc"
grep -q "copy-store: $PERSON: store: TO already holds this user" "$T/copy2.err" ||
	fail "the refusal said: $(cat "$T/copy2.err")"
[ -s "$T/copy2.out" ] && fail "a refused copy printed: $(cat "$T/copy2.out")"
[ "$(admin "$B" pref "$PERSON" CN)" = Changed ] ||
	fail "a refused copy changed the store"
# --replace: the same again
"$ADMIN" copy-store --replace "$A" "$B" > "$T/copy3.out" 2> "$T/copy3.err" ||
	fail "copy-store --replace: exit $?: $(cat "$T/copy3.err")"
state "$B" "$T/copy.state"
same "$T/orig.state" "$T/copy.state" "file -> file --replace: the listings"
same "$T/copy1.out" "$T/copy3.out" "the summaries of the first copy and --replace"
for _u in $USERS; do
	cmp -s "$T/orig/store/$_u/seen" "$T/copy/store/$_u/seen" ||
		fail "file -> file --replace: the seen list of $_u differs"
done
shim "$B" person "$ORGANISER" "$PERSON" "$ONLY_B"
grep -q 'outcome=added reason="invitation recorded"' "$T/shim.err" ||
	fail "after --replace, the copy's own message: $(cat "$T/shim.err")"
shim "$B" person "$ORGANISER" "$PERSON" "$ONLY_B"
grep -q 'already processed' "$T/shim.err" ||
	fail "the same message once more: $(cat "$T/shim.err")"

# (b) file -> PostgreSQL -> file
pg_start "$T/pg" || fail "$PG_ERROR"
cat > "$T/pg.conf" <<EOF
store_backend = postgresql
store_conninfo = $PG_CONNINFO
journal_dir = $T/journal
static_dir = $T/pgstatic
calendar_sender = calendar@example.com
local_domains = example.com
default_tzid = UTC
log_target = stderr
sendmail_path = $T/sendmail
EOF
P=$T/pg.conf
admin "$P" db-upgrade --schema-dir "$SRC/conf/postgresql" > "$T/upgrade.out" 2>&1 ||
	fail "db-upgrade: $(cat "$T/upgrade.out")"
"$ADMIN" copy-store "$A" "$P" > "$T/topg.out" 2> "$T/topg.err" ||
	fail "copy-store file -> postgresql: exit $?: $(cat "$T/topg.err")"
same "$T/copy1.out" "$T/topg.out" "the summaries of file -> file and file -> postgresql"
state "$P" "$T/pg.state"
same "$T/orig.state" "$T/pg.state" "file -> postgresql: the listings"
[ "$(pg_psql 'SELECT count(*) FROM users')" = 3 ] ||
	fail "users in the database: $(pg_psql 'SELECT address FROM users')"
# the published free/busy is in the table and, static_dir being set, in
# this host's files too
[ "$(pg_psql 'SELECT count(*) FROM published_freebusy')" = 1 ] ||
	fail "published_freebusy holds $(pg_psql 'SELECT count(*) FROM published_freebusy') rows"
diff -r "$T/orig/static" "$T/pgstatic" > /dev/null ||
	fail "file -> postgresql: the published files differ"

# a copy that fails half way keeps nothing: --replace empties the user,
# then recording the seen list is refused; the user is as before
pg_psql "REVOKE INSERT ON seen FROM $PG_ROLE" > /dev/null || fail "REVOKE"
"$ADMIN" copy-store --replace "$A" "$P" "$PERSON" > "$T/half.out" 2> "$T/half.err"
rc=$?
pg_psql "GRANT INSERT ON seen TO $PG_ROLE" > /dev/null || fail "GRANT"
[ $rc = 74 ] || fail "a failing copy into postgresql: exit $rc"
grep -q "copy-store: $PERSON: seen [0-9a-f]*: " "$T/half.err" ||
	fail "the failing copy said: $(cat "$T/half.err")"
[ -s "$T/half.out" ] && fail "a failed copy printed: $(cat "$T/half.out")"
state "$P" "$T/pg.state"
same "$T/orig.state" "$T/pg.state" "postgresql after a failed --replace: the listings"

file_conf back
C=$T/back.conf
"$ADMIN" copy-store "$P" "$C" > "$T/back.out" 2> "$T/back.err" ||
	fail "copy-store postgresql -> file: exit $?: $(cat "$T/back.err")"
same "$T/copy1.out" "$T/back.out" "the summaries of file -> file and postgresql -> file"
state "$C" "$T/back.state"
same "$T/orig.state" "$T/back.state" "file -> postgresql -> file: the listings"
for _u in $USERS; do
	# the database keeps no order among entries of one second
	[ "$(sort "$T/orig/store/$_u/seen")" = "$(sort "$T/back/store/$_u/seen")" ] ||
		fail "file -> postgresql -> file: the seen list of $_u differs"
done
diff -r "$T/orig/store/$ROOM/outbox" "$T/back/store/$ROOM/outbox" > /dev/null ||
	fail "file -> postgresql -> file: the outbox differs"

# (c) the seen list came along: the person's last message again
shim "$C" person "$ORGANISER" "$PERSON" "$SCEN/cancel-whole-event/cancel.eml"
grep -q "already processed" "$T/shim.err" ||
	fail "a message delivered again to the copy: $(cat "$T/shim.err")"

# (d) the CGI reads the database
cgi() {
	env -i REQUEST_METHOD=GET IMIP_FREEBUSY_CONNINFO="$PG_CONNINFO" "$@" \
		"$CGI" > "$T/cgi.out" 2> "$T/cgi.err"
}
admin "$P" published "$ORGANISER" > "$T/published" ||
	fail "imip-admin published $ORGANISER on postgresql"
cgi PATH_INFO="/$ORGANISER"
head -n 1 "$T/cgi.out" | grep -q '^Content-Type: text/calendar' ||
	fail "CGI for $ORGANISER: $(head -n 3 "$T/cgi.out") $(cat "$T/cgi.err")"
sed '1,/^$/d' "$T/cgi.out" > "$T/cgi.body"
cmp -s "$T/published" "$T/cgi.body" ||
	fail "the CGI's text is not what imip-admin published prints"
cgi QUERY_STRING="user=PAUL.Boddie%40example.com"
sed '1,/^$/d' "$T/cgi.out" > "$T/cgi.body"
cmp -s "$T/published" "$T/cgi.body" ||
	fail "CGI by query string: $(head -n 3 "$T/cgi.out")"
cgi PATH_INFO="/$PERSON"
grep -q '^Status: 404' "$T/cgi.out" ||
	fail "CGI for a user who publishes nothing: $(head -n 3 "$T/cgi.out")"
for _bad in "x'; DROP TABLE users; --@example.com" \
	"x%27%3B%20DROP%20TABLE%20published_freebusy%3B--@example.com" \
	"../../etc/passwd" "paul.boddie@example.com%00" \
	"a@b@example.com" "%0d%0aSet-Cookie:%20x@example.com" ""; do
	cgi PATH_INFO="/$_bad"
	grep -q '^Status: 400' "$T/cgi.out" ||
		fail "CGI for '$_bad': $(head -n 3 "$T/cgi.out")"
done
cgi QUERY_STRING="user=$ORGANISER&user=x@example.com"
grep -q '^Status: 400' "$T/cgi.out" || fail "CGI with two parameters"
env -i REQUEST_METHOD=POST PATH_INFO="/$ORGANISER" "$CGI" > "$T/cgi.out" 2>&1
grep -q '^Status: 405' "$T/cgi.out" || fail "CGI POST: $(head -n 3 "$T/cgi.out")"
[ "$(pg_psql 'SELECT count(*) FROM users') $(pg_psql 'SELECT count(*) FROM published_freebusy')" = "3 1" ] ||
	fail "the tables changed under the hostile requests"

# (e) static_dir = (empty): the database alone holds what is published
sed 's|^static_dir = .*|static_dir =|' "$P" > "$T/nostatic.conf"
pg_psql "DELETE FROM published_freebusy" > /dev/null || fail "DELETE"
rm -rf "$T/pgstatic"
admin "$T/nostatic.conf" publish "$ORGANISER" > "$T/publish.out" 2>&1 ||
	fail "imip-admin publish with static_dir empty: $(cat "$T/publish.out")"
[ "$(pg_psql 'SELECT count(*) FROM published_freebusy')" = 1 ] ||
	fail "static_dir empty: nothing published in the database"
[ -e "$T/pgstatic" ] && fail "static_dir empty: files were written"
admin "$T/nostatic.conf" published "$ORGANISER" > "$T/published2" ||
	fail "imip-admin published with static_dir empty"
cmp -s "$T/published" "$T/published2" || fail "static_dir empty: another text published"
sed 's|^static_dir = .*|static_dir =|' "$A" > "$T/filenostatic.conf"
admin "$T/filenostatic.conf" events "$ORGANISER" > "$T/fns.out" 2>&1 &&
	fail "the file store accepted static_dir empty"
grep -q "static_dir may be empty only with store_backend = postgresql" "$T/fns.out" ||
	fail "file store, static_dir empty: $(cat "$T/fns.out")"

echo "PASS: $NAME (3 users; file -> file, --replace, file -> postgresql -> file; the CGI; static_dir empty)"
exit 0
