#!/bin/sh
# Integration test: the Sieve plugin lib90_sieve_imip_plugin.so under
# Pigeonhole's own tools, without a running Dovecot:
#  - sievec compiles a script using each processcalendar tag;
#  - it refuses each bad combination (:invitesonly with :updatesonly,
#    :updatesonly with :calendarid, duplicate tags, :outcome/:reason without
#    require "variables", a string list as variable name) with a message
#    naming the problem;
#  - sievec -d dumps every operand of the PROCESSCALENDAR operation;
#  - without sieve_extensions = +processcalendar, require "processcalendar"
#    fails (the extension is registered disabled);
#  - sieve-test runs processcalendar on samples/01-invitation.eml: with no
#    delivery plugin in sieve-test, :outcome is "error", :reason says the
#    plugin is not loaded, the script goes on (flags) and keeps the message.
#
# Usage: tests/integration/sieve-compile.sh [BUILDDIR]  (default: build)
#   KEEP=1 keeps the temporary directory.
# Needs sievec and sieve-test (dovecot-sieve; installed when missing and
# running as root, see lib-dovecot.sh).  Prints one PASS/FAIL line;
# exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
SO=$BUILD/dovecot-plugin/lib90_sieve_imip_plugin.so
NAME=sieve-compile
# shellcheck source=SCRIPTDIR/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"

fail() {
	echo "FAIL: $NAME: $*"
	exit 1
}

[ -f "$SO" ] || fail "no $SO (build the dovecot-plugin first)"
# dovecot_mktemp: the temporary directory, removed at exit (KEEP=1 keeps it)
dovecot_mktemp imip-sieve-compile || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
if ! command -v sievec >/dev/null 2>&1 || ! command -v sieve-test >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || fail "sievec/sieve-test not found (install dovecot-sieve)"
	dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"
fi
mkdir -p "$T/modules" "$T/out" "$T/mail"
# An absolute path: sievec may run as another user and chdir
ln -s "$(cd "$(dirname "$SO")" && pwd)/$(basename "$SO")" "$T/modules/"

# As root the tools drop to mail_uid (reference dovecot.md 12.6); that
# user must read the scripts and write the binaries.
PRIV=
if [ "$(id -u)" = 0 ]; then
	PRIV="mail_uid = nobody
mail_gid = nogroup"
	chown -R nobody:nogroup "$T"
fi
chmod 755 "$T"

# write_conf FILE EXTENSIONS-LINE
write_conf() {
	cat > "$1" <<EOF
$PRIV
mail_location = maildir:$T/mail
plugin {
  sieve_plugin_dir = $T/modules
  sieve_plugins = sieve_imip
  $2
}
EOF
	chmod 644 "$1"
}
write_conf "$T/sieve.conf" "sieve_extensions = +processcalendar"
write_conf "$T/disabled.conf" ""

N=0
# compile NAME CONF < script: the log in $T/NAME.log, returns sievec's status
compile() {
	cat > "$T/$1.sieve"
	chmod 644 "$T/$1.sieve"
	sievec -c "$2" "$T/$1.sieve" "$T/out/$1.svbin" > "$T/$1.log" 2>&1
}

# good NAME < script: must compile
good() {
	N=$((N + 1))
	compile "$1" "$T/sieve.conf" ||
		fail "valid script '$1' did not compile: $(cat "$T/$1.log")"
}

# bad NAME MESSAGE < script: must fail, with MESSAGE (grep -F) in the log
bad() {
	N=$((N + 1))
	if compile "$1" "$T/sieve.conf"; then
		fail "invalid script '$1' compiled"
	fi
	grep -qF -- "$2" "$T/$1.log" ||
		fail "script '$1' failed without '$2': $(cat "$T/$1.log")"
}

# --- valid scripts: every tag, alone and together ----------------------------------
good bare <<'EOF'
require "processcalendar";
processcalendar;
EOF
good all-tags <<'EOF'
require ["processcalendar", "variables"];
processcalendar :allowpublic :invitesonly :calendarid "calendar@example.com"
                :deletecanceled :addresses ["vincent.vole@example.com", "vv@example.com"]
                :organizers "paul.boddie@example.com" :outcome "o" :reason "r";
EOF
good updatesonly <<'EOF'
require ["processcalendar", "variables"];
processcalendar :updatesonly :deletecancelled
                :organizers ["paul.boddie@example.com", "mailto:other@example.com"]
                :reason "why";
EOF
good calendarid-variable <<'EOF'
require ["processcalendar", "variables"];
set "cal" "calendar@example.com";
processcalendar :calendarid "${cal}" :outcome "outcome";
if string :is "${outcome}" "added" { keep; }
EOF

# --- invalid scripts ----------------------------------------------------------
bad invites-updates ":updatesonly and :invitesonly arguments of the processcalendar command are mutually exclusive" <<'EOF'
require "processcalendar";
processcalendar :invitesonly :updatesonly;
EOF
bad updates-calendarid ":calendarid and :updatesonly arguments of the processcalendar command are mutually exclusive" <<'EOF'
require "processcalendar";
processcalendar :updatesonly :calendarid "calendar@example.com";
EOF
bad calendarid-updates ":updatesonly and :calendarid arguments of the processcalendar command are mutually exclusive" <<'EOF'
require "processcalendar";
processcalendar :calendarid "calendar@example.com" :updatesonly;
EOF
bad duplicate-flag "encountered duplicate :allowpublic argument" <<'EOF'
require "processcalendar";
processcalendar :allowpublic :allowpublic;
EOF
bad duplicate-spelling "encountered duplicate" <<'EOF'
require "processcalendar";
processcalendar :deletecancelled :deletecanceled;
EOF
bad duplicate-list "encountered duplicate :addresses argument" <<'EOF'
require "processcalendar";
processcalendar :addresses "a@example.com" :addresses "b@example.com";
EOF
bad outcome-no-variables 'must require the "variables" extension' <<'EOF'
require "processcalendar";
processcalendar :outcome "o";
EOF
bad reason-no-variables 'must require the "variables" extension' <<'EOF'
require "processcalendar";
processcalendar :reason "r";
EOF
bad outcome-list "requires a variable name (a string) as parameter, but a string list was found" <<'EOF'
require ["processcalendar", "variables"];
processcalendar :outcome ["a", "b"];
EOF
bad calendarid-empty "the :calendarid argument of the processcalendar command must not be empty" <<'EOF'
require "processcalendar";
processcalendar :calendarid "";
EOF
bad as-test "attempted to use command 'processcalendar' as test" <<'EOF'
require "processcalendar";
if processcalendar { keep; }
EOF
bad unknown-tag "unknown tagged argument ':nonitip'" <<'EOF'
require "processcalendar";
processcalendar :nonitip;
EOF

# --- the extension is off unless the administrator enables it ------------------
N=$((N + 1))
if compile disabled "$T/disabled.conf" <<'EOF'
require "processcalendar";
processcalendar;
EOF
then
	fail "require \"processcalendar\" compiled without +processcalendar"
fi
grep -qF "unknown Sieve capability \`processcalendar'" "$T/disabled.log" ||
	fail "disabled extension failed without 'unknown Sieve capability': $(cat "$T/disabled.log")"

# --- the dump lists every operand ---------------------------------------------
N=$((N + 1))
sievec -c "$T/sieve.conf" -d "$T/all-tags.sieve" - > "$T/dump.txt" 2> "$T/dump.err" ||
	fail "sievec -d failed: $(cat "$T/dump.err")"
for want in 'PROCESSCALENDAR' 'allowpublic' 'invitesonly' \
	'calendarid: STR[20] "calendar@example.com"' 'deletecancelled' \
	'addresses: STRLIST [2]' '"vv@example.com"' \
	'organizers: STR[23] "paul.boddie@example.com"' \
	'outcome: VAR' 'reason: VAR'; do
	grep -qF -- "$want" "$T/dump.txt" ||
		fail "dump lacks '$want': $(cat "$T/dump.txt")"
done
sievec -c "$T/sieve.conf" -d "$T/updatesonly.sieve" - > "$T/dump2.txt" 2>&1 ||
	fail "sievec -d failed: $(cat "$T/dump2.txt")"
grep -q 'updatesonly' "$T/dump2.txt" ||
	fail "dump lacks updatesonly: $(cat "$T/dump2.txt")"

# --- sieve-test: no delivery plugin, so outcome error, script goes on ---------
N=$((N + 1))
cp "$SRC/samples/01-invitation.eml" "$T/msg.eml"
chmod 644 "$T/msg.eml"
cat > "$T/run.sieve" <<'EOF'
require ["processcalendar", "variables", "imap4flags"];
processcalendar :outcome "o" :reason "r";
if string :is "${o}" "error" { addflag "X"; }
if string :is "${r}" "the imip delivery plugin is not loaded" { addflag "NotLoaded"; }
EOF
chmod 644 "$T/run.sieve"
sieve-test -c "$T/sieve.conf" -t - -T level=actions "$T/run.sieve" "$T/msg.eml" \
	> "$T/run.out" 2> "$T/run.err" ||
	fail "sieve-test failed: $(cat "$T/run.out" "$T/run.err")"
grep -q "outcome \`error': the imip delivery plugin is not loaded" "$T/run.out" ||
	fail "no outcome trace: $(cat "$T/run.out")"
grep -q 'store message in folder: INBOX' "$T/run.out" ||
	fail "implicit keep lost: $(cat "$T/run.out")"
grep -q 'add IMAP flags: X NotLoaded' "$T/run.out" ||
	fail "the flags set from \${o} and \${r} are missing: $(cat "$T/run.out")"
grep -q 'final result: success' "$T/run.err" ||
	fail "script did not succeed: $(cat "$T/run.err")"

echo "PASS: $NAME ($N checks)"
exit 0
