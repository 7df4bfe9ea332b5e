# shellcheck shell=sh
# Installing a test's Debian packages when they are missing (a test never
# skips because a server is not installed).

PACKAGES_ERROR=

# packages_install LOGFILE "SERVICE..." PACKAGE...: apt-get install as root,
# without letting the packages start their system-wide SERVICEs (a
# temporary policy-rc.d, exit 101, unless the machine has its own
# policy), fetching the package lists once if the first try fails (a new
# machine may have none), and disabling the SERVICEs under systemd.
# Non-zero with PACKAGES_ERROR on failure; apt's output goes to LOGFILE.
packages_install() {
	_pk_log=$1 _pk_services=$2
	shift 2
	if [ "$(id -u)" != 0 ]; then
		PACKAGES_ERROR="$* missing and not root to install them"
		return 1
	fi
	_pk_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		_pk_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "$@" > "$_pk_log" 2>&1
	_pk_rc=$?
	if [ $_pk_rc != 0 ]; then
		apt-get update -q >> "$_pk_log" 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "$@" >> "$_pk_log" 2>&1
		_pk_rc=$?
	fi
	[ -n "$_pk_policy" ] && rm -f /usr/sbin/policy-rc.d
	if [ $_pk_rc != 0 ]; then
		PACKAGES_ERROR="apt-get install $* failed (see $_pk_log)"
		return 1
	fi
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		# shellcheck disable=SC2086  # a list of unit names
		systemctl disable --now $_pk_services >/dev/null 2>&1
	fi
	return 0
}
