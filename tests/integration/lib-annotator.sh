# shellcheck shell=sh disable=SC2034  # variables are for the sourcing script
# Sourced by the Cyrus integration tests: imip-cyrus-annotator started the
# way production runs it (daemon mode, as Cyrus's user), stopped by PID.
#   ANNOTATOR=build/cyrus-hook/imip-cyrus-annotator
#   annotator_start IMIP_CONF SOCKET LOG || fail "$ANNOTATOR_ERROR"
#   annotator_wait_log PATTERN || fail ...   (grep -E on LOG, up to 2 s)
#   annotator_stop
#   annotator_log_clean LOG || fail "$ANNOTATOR_ERROR"   (no sanitizer report)
# Needs lib-cyrus.sh (sourced first).  Also the two Cyrus tests' common
# ends: fail MESSAGE (NAME and T set by the test; the Cyrus and annotator
# logs' tails, exit 1) and annotator_cleanup (the EXIT trap).

ANNOTATOR_PID=
ANNOTATOR_LOG=
ANNOTATOR_ERROR=

annotator_start() {
	ANNOTATOR_LOG=$3
	rm -f "$2"
	setpriv --reuid=cyrus --regid=mail --init-groups \
		"${ANNOTATOR:?}" -c "$1" --daemon --socket "$2" >> "$3" 2>&1 &
	ANNOTATOR_PID=$!
	_i=0
	while [ ! -S "$2" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	[ -S "$2" ] && return 0
	ANNOTATOR_ERROR="the annotator did not start: $(cat "$3")"
	return 1
}

annotator_stop() {
	[ -n "$ANNOTATOR_PID" ] && process_stop "$ANNOTATOR_PID" 50
	ANNOTATOR_PID=
}

# A worker logs its line right after answering Cyrus, so the line can
# come a moment after the delivery completed.
annotator_wait_log() {
	_i=0
	until grep -qE "$1" "$ANNOTATOR_LOG"; do
		_i=$((_i + 1))
		[ $_i -lt 40 ] || return 1
		sleep 0.05
	done
}

# A sanitizer report in a worker (the ASan/UBSan build) fails the test even
# when the answer happened to be right.
annotator_log_clean() {
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$1"; then
		ANNOTATOR_ERROR="sanitizer report in $1"
		return 1
	fi
}

fail() {
	echo "FAIL: $NAME: $*"
	cyrus_log_tail
	[ -f "$T/annotator.log" ] && tail -n 20 "$T/annotator.log"
	exit 1
}

annotator_cleanup() {
	annotator_stop
	cyrus_cleanup
}

# itip FILE METHOD UID SEQUENCE FROM [ORGANIZER [ATTENDEE [SUBJECT [DTSTAMP]]]]:
# an iMIP message in $T/msg/FILE to alice@example.com; ORGANIZER defaults
# to FROM, ATTENDEE to alice needing action, DTSTAMP to one that grows
# with the SEQUENCE; a CANCEL says STATUS:CANCELLED.  No Return-Path: lmtpd
# adds it (an APPEND then has none).
itip() {
	_org=${6:-$5}
	_att=${7:-"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com"}
	_status=
	[ "$2" = CANCEL ] && _status="STATUS:CANCELLED
"
	cat > "$T/msg/$1" <<EOF
From: $5
To: alice@example.com
Subject: ${8:-$2 $3 $4}
Message-ID: <$1.$$@example.net>
MIME-Version: 1.0
Content-Type: text/calendar; method=$2; charset=utf-8

BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//imip-agent test//EN
METHOD:$2
BEGIN:VEVENT
UID:$3
DTSTAMP:${9:-20261120T10000${4}Z}
DTSTART:20261210T100000Z
DTEND:20261210T110000Z
SEQUENCE:$4
SUMMARY:Planning $3
${_status}ORGANIZER:mailto:$_org
$_att
END:VEVENT
END:VCALENDAR
EOF
}
