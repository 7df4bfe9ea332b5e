# shellcheck shell=sh
# imip-agent's own side of the integration tests, shared by every host
# (Dovecot, Cyrus, the MTAs): a throw-away imip.conf with its directories
# and a recording sendmail_path.  Errors go to IMIP_ERROR.

# imip_conf DIR: a throw-away imip.conf in DIR/imip.conf (IMIP_CONF) with
# its store, preference, journal and static directories under DIR, logging
# to stderr, and a sendmail_path that records each call (arguments, one
# line) in DIR/sendmail.calls, appends the message to DIR/sendmail.out
# and accepts it.
imip_conf() {
	mkdir -p "$1/store" "$1/preferences" "$1/journal" "$1/static" || {
		IMIP_ERROR="cannot create $1"
		return 1
	}
	printf '#!/bin/sh\necho "$*" >> "%s/sendmail.calls"\ncat >> "%s/sendmail.out"\nexit 0\n' \
		"$1" "$1" > "$1/sendmail"
	chmod 755 "$1/sendmail"
	IMIP_CONF=$1/imip.conf
	cat > "$IMIP_CONF" <<CONF
# written by tests/lib-imip.sh
store_dir = $1/store
preferences_dir = $1/preferences
journal_dir = $1/journal
static_dir = $1/static
calendar_sender = calendar@example.com
local_domains = example.com
default_tzid = UTC
log_target = stderr
sendmail_path = $1/sendmail
CONF
}

# Number of sendmail_path calls so far.
imip_sendmail_calls() {
	if [ -f "$1/sendmail.calls" ]; then
		wc -l < "$1/sendmail.calls"
	else
		echo 0
	fi
}
