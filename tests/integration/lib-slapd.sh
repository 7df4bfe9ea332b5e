# shellcheck shell=sh disable=SC2034  # variables are for the sourcing script
# Sourced library for the integration tests: a private OpenLDAP slapd in a
# temporary directory (reference/mta.md section 6.1), configured through a
# generated cn=config (slapd.d) with the imip-agent schema and the example
# directory of conf/ldap/, started and stopped by PID so that no other slapd
# on the machine is touched.  conf/ldap/README.md documents the filters.
#
#   SRC=/path/to/source                    # or derived from $0
#   . "$SRC/tests/integration/lib-slapd.sh"
#   slapd_start "$TMP/slapd" || fail "$SLAPD_ERROR"
#   ... server_host = $SLAPD_URI, search_base = $SLAPD_BASE ...
#   slapd_search '(&(objectClass=imipCalendarPerson)(mail=x@example.com))' mail
#   slapd_add FILE.ldif                    # live, as $SLAPD_BIND_DN
#   slapd_stop                             # also from the caller's EXIT trap
#
# After slapd_start:
#   SLAPD_URI        ldap://127.0.0.1:PORT   (TCP; what the MTAs use)
#   SLAPD_LDAPI_URI  ldapi://...             (UNIX socket DIR/ldapi)
#   SLAPD_HOST, SLAPD_PORT, SLAPD_SOCKET     the parts of the two URIs
#   SLAPD_BASE       dc=example,dc=com
#   SLAPD_BIND_DN    cn=admin,dc=example,dc=com   (rootdn: writes)
#   SLAPD_BIND_PW    secret
#   SLAPD_PID, SLAPD_DIR, SLAPD_LOG (slapd's stats log: every search)
# Anonymous binds may read the whole example tree, so MTA lookups need no
# credentials (Postfix "bind = no").
#
# Optional, set before slapd_start:
#   SLAPD_DATA=FILE  LDIF loaded into the database instead of
#                    conf/ldap/example.ldif (must create dc=example,dc=com)
#
# Needs root (the package install; slapd then runs as root, so the
# database needs no chown).  slapd and ldap-utils are installed when missing
# without letting the package configure or start the system-wide slapd.
# Functions return non-zero with a reason in SLAPD_ERROR; they never exit,
# and they set no trap: the caller's EXIT trap should call slapd_stop.
# Written for OpenLDAP 2.5 (the Debian 12 package).

. "${SRC:?}/tests/lib-process.sh"
# shellcheck source=SCRIPTDIR/../lib-packages.sh
. "${SRC:?}/tests/lib-packages.sh"

SLAPD_SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SLAPD_DATA=${SLAPD_DATA:-$SLAPD_SRC/conf/ldap/example.ldif}
SLAPD_SCHEMA_LDIF=$SLAPD_SRC/conf/ldap/imip-agent.ldif
SLAPD_BASE=dc=example,dc=com
SLAPD_BIND_DN=cn=admin,dc=example,dc=com
SLAPD_BIND_PW=secret
SLAPD_HOST=127.0.0.1
SLAPD_PORT=
SLAPD_SOCKET=
SLAPD_URI=
SLAPD_LDAPI_URI=
SLAPD_DIR=
SLAPD_PID=
SLAPD_LOG=
SLAPD_ERROR=

# A TCP port that is free on 127.0.0.1 right now (bound then released).
slapd_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# slapd_install [LOGFILE]: install slapd and ldap-utils when the binaries
# are missing; LOGFILE (default /dev/null) gets apt's output.
SLAPD_PACKAGES="slapd ldap-utils"
slapd_install() {
	if [ -x /usr/sbin/slapd ] && [ -x /usr/sbin/slapadd ] &&
	   command -v ldapsearch >/dev/null 2>&1 &&
	   command -v ldapadd >/dev/null 2>&1 &&
	   [ -f /etc/ldap/schema/inetorgperson.ldif ]; then
		return 0
	fi
	# The package would otherwise create a system database and config
	# (and ask for an admin password); we only want the binaries.
	echo "slapd slapd/no_configuration boolean true" |
		debconf-set-selections 2>/dev/null
	# shellcheck disable=SC2086  # a list of package names
	if ! packages_install "${1:-/dev/null}" slapd.service $SLAPD_PACKAGES; then
		SLAPD_ERROR=$PACKAGES_ERROR
		return 1
	fi
	return 0
}

# The cn=config of the private instance, for slapadd -n0.  The schemas are
# included from their cn=config LDIF files, ours last (it needs "mail"
# from cosine).  Only root over the ldapi socket may change cn=config.
slapd_write_config() {
	cat > "$SLAPD_DIR/config.ldif" <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $SLAPD_DIR/slapd.pid
olcArgsFile: $SLAPD_DIR/slapd.args
olcLogLevel: stats

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

include: file://$SLAPD_SCHEMA_LDIF

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SLAPD_BASE
olcRootDN: $SLAPD_BIND_DN
olcRootPW: $SLAPD_BIND_PW
olcDbDirectory: $SLAPD_DIR/db
olcDbMaxSize: 16777216
olcDbIndex: objectClass eq
olcDbIndex: mail eq
olcAccess: {0}to * by * read
EOF
}

# slapd_start DIR: build a fresh slapd.d and database in DIR (created if
# needed; an earlier configuration and database there are replaced), load
# SLAPD_DATA, and start slapd on a free port above 10000 and on DIR/ldapi.
slapd_start() {
	SLAPD_DIR=$1
	SLAPD_ERROR=
	if [ -n "$SLAPD_PID" ]; then
		SLAPD_ERROR="a private slapd is already running (pid $SLAPD_PID)"
		return 1
	fi
	case $SLAPD_DIR in
	/*) ;;
	*) SLAPD_DIR=$(pwd)/$SLAPD_DIR ;;
	esac
	mkdir -p "$SLAPD_DIR" || {
		SLAPD_ERROR="cannot create $SLAPD_DIR"
		return 1
	}
	slapd_install "$SLAPD_DIR/apt.log" || return 1
	for _sl_f in "$SLAPD_SCHEMA_LDIF" "$SLAPD_DATA"; do
		if [ ! -r "$_sl_f" ]; then
			SLAPD_ERROR="cannot read $_sl_f"
			return 1
		fi
	done

	rm -rf "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/db"
	mkdir -p "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/db" || {
		SLAPD_ERROR="cannot create $SLAPD_DIR/slapd.d"
		return 1
	}
	SLAPD_LOG=$SLAPD_DIR/slapd.log
	slapd_write_config
	if ! /usr/sbin/slapadd -n 0 -F "$SLAPD_DIR/slapd.d" \
		-l "$SLAPD_DIR/config.ldif" > "$SLAPD_DIR/slapadd.log" 2>&1; then
		SLAPD_ERROR="slapadd of cn=config failed: $(tail -n 3 "$SLAPD_DIR/slapadd.log")"
		return 1
	fi
	# Offline bulk load, before the server runs; without -q slapadd checks
	# every entry against the schema, so a broken LDIF is reported here.
	if ! /usr/sbin/slapadd -F "$SLAPD_DIR/slapd.d" -b "$SLAPD_BASE" \
		-l "$SLAPD_DATA" >> "$SLAPD_DIR/slapadd.log" 2>&1; then
		SLAPD_ERROR="slapadd of $SLAPD_DATA failed: $(tail -n 3 "$SLAPD_DIR/slapadd.log")"
		return 1
	fi

	SLAPD_PORT=$(slapd_free_port)
	if [ -z "$SLAPD_PORT" ] || [ "$SLAPD_PORT" -le 10000 ]; then
		SLAPD_ERROR="no free port above 10000"
		return 1
	fi
	SLAPD_SOCKET=$SLAPD_DIR/ldapi
	rm -f "$SLAPD_SOCKET" "$SLAPD_DIR/slapd.pid"
	SLAPD_URI=ldap://$SLAPD_HOST:$SLAPD_PORT
	# ldapi URIs carry the socket path percent-encoded.
	SLAPD_LDAPI_URI=ldapi://$(printf '%s' "$SLAPD_SOCKET" | sed 's|/|%2F|g')

	# -d 0 keeps slapd in the foreground, so $! is its PID: we stop
	# exactly the process we started.  The stats log goes to stderr.
	/usr/sbin/slapd -d stats -F "$SLAPD_DIR/slapd.d" \
		-h "$SLAPD_URI/ $SLAPD_LDAPI_URI" >> "$SLAPD_LOG" 2>&1 &
	SLAPD_PID=$!
	_sl_i=0
	until ldapsearch -x -LLL -o nettimeout=1 -H "$SLAPD_URI" \
		-s base -b "$SLAPD_BASE" dn > /dev/null 2>&1; do
		if ! kill -0 "$SLAPD_PID" 2>/dev/null; then
			wait "$SLAPD_PID" 2>/dev/null
			SLAPD_PID=
			SLAPD_ERROR="slapd exited at start: $(tail -n 3 "$SLAPD_LOG" 2>/dev/null)"
			return 1
		fi
		_sl_i=$((_sl_i + 1))
		if [ $_sl_i -ge 100 ]; then
			slapd_stop
			SLAPD_ERROR="slapd did not answer on $SLAPD_URI within 10 s"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# Stop the slapd that slapd_start started (TERM, then KILL after 5 s), and
# wait until it is gone.  Harmless when none is running.
slapd_stop() {
	[ -n "$SLAPD_PID" ] || return 0
	process_stop "$SLAPD_PID" 50
	SLAPD_PID=
	return 0
}

# slapd_search FILTER [ATTR...]: anonymous subtree search under SLAPD_BASE,
# as the MTAs do it; prints the LDIF (-LLL).  Status as ldapsearch's (0 also
# when nothing matched).
slapd_search() {
	_sl_filter=$1
	shift
	ldapsearch -x -LLL -o ldif-wrap=no -o nettimeout=5 -H "$SLAPD_URI" \
		-b "$SLAPD_BASE" -s sub "$_sl_filter" "$@"
}

# slapd_add FILE: add the entries in an LDIF file to the running server,
# bound as SLAPD_BIND_DN (for "added live" tests).
slapd_add() {
	if ! ldapadd -x -o nettimeout=5 -H "$SLAPD_URI" -D "$SLAPD_BIND_DN" \
		-w "$SLAPD_BIND_PW" -f "$1" > "$SLAPD_DIR/ldapadd.log" 2>&1; then
		SLAPD_ERROR="ldapadd $1 failed: $(tail -n 3 "$SLAPD_DIR/ldapadd.log")"
		return 1
	fi
	return 0
}

# slapd_delete DN...: remove entries from the running server.
slapd_delete() {
	if ! ldapdelete -x -o nettimeout=5 -H "$SLAPD_URI" -D "$SLAPD_BIND_DN" \
		-w "$SLAPD_BIND_PW" "$@" > "$SLAPD_DIR/ldapdelete.log" 2>&1; then
		SLAPD_ERROR="ldapdelete $* failed: $(tail -n 3 "$SLAPD_DIR/ldapdelete.log")"
		return 1
	fi
	return 0
}

# Print the tail of slapd's log (for a FAIL message).
slapd_log_tail() {
	for f in "$SLAPD_DIR/slapadd.log" "$SLAPD_LOG"; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f") (tail) ---"
		tail -n 20 "$f"
	done
}
