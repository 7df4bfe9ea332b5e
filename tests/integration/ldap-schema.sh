#!/bin/sh
# Integration test: the imip-agent LDAP schema and example directory
# (conf/ldap/) in a real, private slapd (see lib-slapd.sh), searched with
# the filters the MTA configurations use (conf/ldap/README.md):
#  (a) the schema is in cn=config with both object classes;
#  (b) every calendar person is found by the person filter, returning its
#      mail, and not by the resource filter; the same for every resource
#      the other way round; matching ignores the case of the address;
#  (c) an ordinary mailbox user (no imipCalendarPerson) and an unknown
#      address are found by neither filter;
#  (d) a resource added while slapd runs is found at once; an entry with
#      imipCalendarResource but no mail is refused (MUST mail);
#  (e) imip-agent.schema (slapd.conf form) is accepted by slaptest and
#      defines the same object classes as imip-agent.ldif.
#
# Usage: tests/integration/ldap-schema.sh [BUILDDIR]  (BUILDDIR unused: the
#   test needs no build; accepted like the other integration tests)
#   KEEP=1 keeps the temporary directory.
# Needs root (package install, ldapi EXTERNAL as root).  Prints one
# PASS/FAIL line; exit status 0 only on PASS.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
NAME=ldap-schema
# shellcheck source=SCRIPTDIR/lib-slapd.sh
. "$SRC/tests/integration/lib-slapd.sh"

T=
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
	slapd_stop
	if [ -n "$T" ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE

fail() {
	echo "FAIL: $NAME: $*"
	slapd_log_tail
	exit 1
}

PERSON='(&(objectClass=imipCalendarPerson)(mail=%s))'
RESOURCE='(&(objectClass=imipCalendarResource)(mail=%s))'
ARC=2.25.262384537012132440495081914903988719249

# lookup FILTER-TEMPLATE ADDRESS: the mail values found, one per line, as
# an MTA would get them (result attribute mail).
lookup() {
	_f=$(printf '%s' "$1" | sed "s|%s|$2|")
	slapd_search "$_f" mail > "$T/search.out" 2> "$T/search.err" ||
		fail "ldapsearch $_f: $(cat "$T/search.err")"
	sed -n 's/^mail: //p' "$T/search.out"
}

# expect FILTER-TEMPLATE ADDRESS RESULT: exactly RESULT ("" = no entry).
expect() {
	_got=$(lookup "$1" "$2")
	[ "$_got" = "$3" ] ||
		fail "$(printf '%s' "$1" | sed "s|%s|$2|"): expected '${3:-nothing}', got '$(printf '%s' "$_got" | tr '\n' ' ')'"
}

T=$(mktemp -d /tmp/imip-ldap-schema.XXXXXX) || fail "mktemp failed"
slapd_start "$T/slapd" || fail "$SLAPD_ERROR"

# (a) the schema as slapd loaded it
ldapsearch -Y EXTERNAL -H "$SLAPD_LDAPI_URI" -LLL -o ldif-wrap=no \
	-b cn=schema,cn=config '(cn=*imip-agent)' olcObjectClasses \
	> "$T/schema.out" 2> "$T/schema.err" ||
	fail "cn=config search: $(cat "$T/schema.err")"
for oc in "$ARC.1.1 NAME 'imipCalendarPerson'" \
	  "$ARC.1.2 NAME 'imipCalendarResource'"; do
	grep -qF "( $oc" "$T/schema.out" ||
		fail "cn=config lacks $oc: $(cat "$T/schema.out")"
done

# (b) people and resources, each found by its own filter only
for who in paul.boddie vincent.vole harvey.horse; do
	expect "$PERSON" "$who@example.com" "$who@example.com"
	expect "$RESOURCE" "$who@example.com" ""
done
for what in resource-room-confroom resource-car-porsche resource-car-fiat; do
	expect "$RESOURCE" "$what@example.com" "$what@example.com"
	expect "$PERSON" "$what@example.com" ""
done
expect "$PERSON" "Vincent.Vole@EXAMPLE.com" "vincent.vole@example.com"
expect "$RESOURCE" "Resource-Car-Fiat@Example.Com" "resource-car-fiat@example.com"

# (c) not calendar users
for addr in freda.fox@example.com nobody@example.com \
	    vincent.vole@example.org calendar@example.com; do
	expect "$PERSON" "$addr" ""
	expect "$RESOURCE" "$addr" ""
done

# (d) live changes, and the schema's MUST
cat > "$T/room2.ldif" <<EOF
dn: cn=resource-room-boardroom,ou=resources,$SLAPD_BASE
objectClass: device
objectClass: imipCalendarResource
cn: resource-room-boardroom
mail: resource-room-boardroom@example.com
EOF
slapd_add "$T/room2.ldif" || fail "$SLAPD_ERROR"
expect "$RESOURCE" resource-room-boardroom@example.com \
	resource-room-boardroom@example.com
cat > "$T/nomail.ldif" <<EOF
dn: cn=resource-nomail,ou=resources,$SLAPD_BASE
objectClass: device
objectClass: imipCalendarResource
cn: resource-nomail
EOF
if slapd_add "$T/nomail.ldif"; then
	fail "an imipCalendarResource without mail was accepted"
fi
grep -q 'mail' "$SLAPD_DIR/ldapadd.log" ||
	fail "refusal of the mail-less resource does not name mail: $(cat "$SLAPD_DIR/ldapadd.log")"

slapd_stop

# (e) the slapd.conf form: valid, and the same definitions as the LDIF
mkdir -p "$T/conf-test/db"
cat > "$T/conf-test/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $SRC/conf/ldap/imip-agent.schema
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "$SLAPD_BASE"
directory $T/conf-test/db
EOF
slaptest -u -f "$T/conf-test/slapd.conf" > "$T/slaptest.log" 2>&1 ||
	fail "slaptest of imip-agent.schema: $(tail -n 3 "$T/slaptest.log")"
# One definition per line, whitespace collapsed.
defs_schema() {
	{ grep -v '^#' "$SRC/conf/ldap/imip-agent.schema" | tr '\n\t' '  '
	  echo; } | sed 's/objectclass /\n/g' |
		sed -n 's/  */ /g; s/ *$//; /^(/p'
}
defs_ldif() {
	grep -v '^#' "$SRC/conf/ldap/imip-agent.ldif" | sed ':a;N;$!ba;s/\n //g' |
		sed -n 's/^olcObjectClasses: //p' | sed 's/  */ /g; s/ *$//'
}
defs_schema > "$T/defs.schema"
defs_ldif > "$T/defs.ldif"
[ "$(wc -l < "$T/defs.schema")" -eq 2 ] ||
	fail "expected 2 object classes in imip-agent.schema: $(cat "$T/defs.schema")"
cmp -s "$T/defs.schema" "$T/defs.ldif" ||
	fail "imip-agent.schema and imip-agent.ldif differ: $(diff "$T/defs.schema" "$T/defs.ldif")"

echo "PASS: $NAME"
exit 0
