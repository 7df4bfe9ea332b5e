#!/bin/sh
# Faults (issue 8 point 6, DESIGN.md rule 1): each fault is injected for
# real and imip-shim is run against it.  One PASS/FAIL line per check,
# then "N passed, N failed"; exit 0 only if every check passed.
#
#   tests/faults/faults.sh [BUILDDIR]
#
# (a) store directory read-only (a read-only bind mount: the tests run as
#     root, who ignores mode bits): mail delivered, outcome error, a log
#     line names the store problem;
# (b) disk full (a 64k tmpfs as the store, filled up): mail delivered to
#     an mbox on another file system, outcome error naming the failed
#     write;
# (c) sendmail_path failing (a script exiting 75, one exiting 1): the
#     incoming mail is still delivered, a log line names the failed send,
#     the outcome is error (not replied), and a retried message sends
#     nothing new; exit 75 leaves the reply in the user's outbox, sent
#     exactly once by `imip-admin send-queued` (or the next message) once
#     sendmail works; exit 1 moves it to outbox/failed, never retried;
#     a reply still deferred after outbox_lifetime is given up;
# (d) LMTP hand-back target down: exit 75 so the MTA retries; a second
#     run once a (small Python) LMTP server listens delivers exactly once,
#     and that copy carries the outcome of the first processing;
# (e) imip.conf unreadable (mode 000, the shim run as nobody) or missing:
#     the person role delivers the original unprocessed (exit 0) and the
#     log names the file; the resource role defers (exit 75) so that the
#     MTA retries once the file is fixed (nothing bounces, rule 1).
#     The Dovecot plugin with an imip_config that cannot be loaded
#     delivers unprocessed: tests/integration/dovecot-plugin.sh case (g).
#
# Needs root (mount); run as another user, the mount checks FAIL.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$TOP/build}" && pwd)
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
. "$TOP/tests/lib-imip.sh"
. "$TOP/tests/lib-process.sh"

USER_ADDR=vincent.vole@example.com
ORG=paul.boddie@example.com
export IMIP_NOW=20141120T120000Z

T=$(mktemp -d /tmp/imip-faults.XXXXXX) || exit 1
MOUNTS=""
LMTP_PID=""
cleanup() {
	process_stop "$LMTP_PID"
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null
	done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

PASSED=0
FAILED=0
LAST_ERR=""
# check NAME CONDITION...: PASS or FAIL (with the files to look at)
check() {
	_name=$1
	shift
	if "$@"; then
		echo "PASS $_name"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL $_name"
		# the log of the last imip-shim run, to see why
		[ -n "$LAST_ERR" ] && [ -f "$LAST_ERR" ] && sed 's/^/#   /' "$LAST_ERR"
		FAILED=$((FAILED + 1))
	fi
}
# has FILE PATTERN: the file exists and matches (grep -E -i)
has() {
	[ -f "$1" ] && grep -E -i -q -- "$2" "$1"
}
# mbox_count FILE: messages in an mbox
mbox_count() {
	if [ -f "$1" ]; then grep -c '^From ' "$1"; else echo 0; fi
}
# is A B: numeric equality
is() {
	[ "$1" -eq "$2" ]
}
outcome_of() {
	sed -n 's/.* outcome=\([^ ]*\) .*/\1/p' "$1" | head -1
}

# mail METHOD UID MESSAGE-ID: an iMIP message from the organiser
mail() {
	cat <<MAIL
From: Paul Boddie <$ORG>
To: Vincent Vole <$USER_ADDR>
Subject: Fault test ($1)
Date: Thu, 20 Nov 2014 11:00:00 +0000
Message-ID: <$3@example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset="us-ascii"

This message contains an event.
--b1
Content-Type: text/calendar; charset="utf-8"; method="$1"

BEGIN:VCALENDAR
PRODID:-//imip-agent/test//EN
VERSION:2.0
METHOD:$1
BEGIN:VEVENT
UID:$2
SEQUENCE:0
DTSTAMP:20141120T110000Z
DTSTART:20141126T150000Z
DTEND:20141126T160000Z
SUMMARY:Fault test
ORGANIZER:mailto:$ORG
ATTENDEE;PARTSTAT=ACCEPTED:mailto:$ORG
ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:$USER_ADDR
END:VEVENT
END:VCALENDAR
--b1--
MAIL
}

# shim DIR NAME MESSAGE [--deliver TARGET]: imip-shim (person role) on
# DIR's imip.conf; exit status in DIR/NAME.rc, log in DIR/NAME.err,
# default target the mbox DIR/NAME.mbox
shim() {
	_d=$1 _n=$2 _m=$3
	shift 3
	_target="mbox:$_d/$_n.mbox"
	[ "${1:-}" = --deliver ] && _target=$2
	"$SHIM" -c "$_d/imip.conf" --role person --recipient "$USER_ADDR" \
		--sender "$ORG" --deliver "$_target" < "$_m" \
		> "$_d/$_n.out" 2> "$_d/$_n.err"
	echo $? > "$_d/$_n.rc"
	LAST_ERR=$_d/$_n.err
}
rc() {
	cat "$1/$2.rc"
}

is_root() {
	[ "$(id -u)" -eq 0 ] || {
		echo "# not root: cannot mount the fault's file system"
		return 1
	}
}

mail REQUEST fault1@example.com req1 > "$T/request.eml"
mail ADD fault1@example.com add1 > "$T/add.eml"

# --- (a) store directory read-only ------------------------------------------
A=$T/a
imip_conf "$A" || exit 1
"$ADMIN" -c "$A/imip.conf" init-user "$USER_ADDR" >/dev/null 2>&1
if is_root && mount --bind "$A/store" "$A/store" && MOUNTS="$A/store $MOUNTS" &&
	mount -o remount,bind,ro "$A/store"; then
	shim "$A" ro "$T/request.eml"
	check "read-only store: exit 0" is "$(rc "$A" ro)" 0
	check "read-only store: mail delivered (1 message)" is "$(mbox_count "$A/ro.mbox")" 1
	check "read-only store: outcome error" [ "$(outcome_of "$A/ro.err")" = error ]
	check "read-only store: log names the store problem" \
		has "$A/ro.err" "read-only file system|permission denied"
	umount "$A/store" && MOUNTS=$(echo "$MOUNTS" | sed "s|$A/store ||")
else
	check "read-only store: read-only bind mount of the store" false
fi

# --- (b) disk full ----------------------------------------------------------
B=$T/b
imip_conf "$B" || exit 1
if is_root && mount -t tmpfs -o size=64k,mode=0755 tmpfs "$B/store" &&
	MOUNTS="$B/store $MOUNTS"; then
	"$ADMIN" -c "$B/imip.conf" init-user "$USER_ADDR" >/dev/null 2>&1
	# fill it: dd stops at ENOSPC
	dd if=/dev/zero of="$B/store/filler" bs=4k 2>/dev/null
	check "disk full: the store file system is full" \
		[ "$(df -P "$B/store" | awk 'NR == 2 { print $4 }')" -eq 0 ]
	shim "$B" full "$T/request.eml"
	check "disk full: exit 0" is "$(rc "$B" full)" 0
	check "disk full: mail delivered (1 message, mbox on another fs)" \
		is "$(mbox_count "$B/full.mbox")" 1
	check "disk full: outcome error" [ "$(outcome_of "$B/full.err")" = error ]
	check "disk full: log names the write failure" \
		has "$B/full.err" "no space left on device"
	umount "$B/store" && MOUNTS=$(echo "$MOUNTS" | sed "s|$B/store ||")
else
	check "disk full: 64k tmpfs as the store" false
fi

# --- (c) sendmail_path failing ----------------------------------------------
# The REQUEST is stored; the ADD for it makes the agent send a REFRESH
# (add_method_response = refresh, the default) through sendmail_path.
# sendmail_script DIR STATUS: DIR/sendmail records each call, then exits
# STATUS (after keeping the message in DIR/sendmail.out when 0)
sendmail_script() {
	printf '#!/bin/sh\necho "$*" >> "%s/sendmail.calls"\nif [ %s -eq 0 ]; then cat >> "%s/sendmail.out"; else cat > /dev/null; echo "sendmail refuses" >&2; fi\nexit %s\n' \
		"$1" "$2" "$1" "$2" > "$1/sendmail"
	chmod 755 "$1/sendmail"
}
# queued DIR STATE: entries of the outbox in STATE (queued or failed)
queued() {
	"$ADMIN" -c "$1/imip.conf" outbox "$USER_ADDR" 2>/dev/null |
		awk -F '\t' -v s="$2" '$2 == s' | wc -l
}
for status in 75 1; do
	C=$T/c$status
	imip_conf "$C" || exit 1
	sendmail_script "$C" "$status"
	"$ADMIN" -c "$C/imip.conf" init-user "$USER_ADDR" >/dev/null 2>&1
	shim "$C" req "$T/request.eml"
	shim "$C" add "$T/add.eml"
	check "sendmail exit $status: exit 0" is "$(rc "$C" add)" 0
	check "sendmail exit $status: sendmail_path was called" \
		is "$(imip_sendmail_calls "$C")" 1
	check "sendmail exit $status: mail delivered (1 message)" \
		is "$(mbox_count "$C/add.mbox")" 1
	check "sendmail exit $status: log names the failed send" \
		has "$C/add.err" "cannot send reply to $ORG: .*exited with status $status"
	check "sendmail exit $status: outcome error, not replied" \
		[ "$(outcome_of "$C/add.err")" = error ]
	check "sendmail exit $status: the mailbox copy says error" \
		has "$C/add.mbox" "^X-iMIP-Outcome: error"
	# the same message again (an MTA retry): processed already, no
	# second attempt, and the first processing's outcome reported
	shim "$C" add-again "$T/add.eml"
	check "sendmail exit $status: a retried message sends nothing" \
		is "$(imip_sendmail_calls "$C")" "$([ "$status" = 75 ] && echo 2 || echo 1)"
	check "sendmail exit $status: the retry reports the first outcome" \
		has "$C/add-again.err" "outcome=error reason=\"already processed: .*reply to $ORG not sent"
done
# exit 75: the reply stays in the outbox; the retry above tried it again
# (still 75); with sendmail fixed, send-queued sends it exactly once
C=$T/c75
check "sendmail exit 75: the reason says queued for retry" \
	has "$C/add.err" "reply to $ORG not sent: .*queued for retry"
check "sendmail exit 75: the reply is in the outbox" is "$(queued "$C" queued)" 1
check "sendmail exit 75: nothing in outbox/failed" is "$(queued "$C" failed)" 0
sendmail_script "$C" 0
"$ADMIN" -c "$C/imip.conf" send-queued > "$C/send-queued.out" 2> "$C/send-queued.err"
echo $? > "$C/send-queued.rc"
LAST_ERR=$C/send-queued.err
check "sendmail fixed: send-queued exits 0" is "$(rc "$C" send-queued)" 0
check "sendmail fixed: send-queued reports the reply sent" \
	has "$C/send-queued.out" "^$USER_ADDR	[0-9a-f]+	sent	$ORG	-$"
check "sendmail fixed: the queued REFRESH was sent (3rd call)" \
	is "$(imip_sendmail_calls "$C")" 3
check "sendmail fixed: the message sent is the REFRESH" \
	has "$C/sendmail.out" "^Content-Type: text/calendar;.*method=REFRESH"
check "sendmail fixed: the outbox is empty" is "$(queued "$C" queued)" 0
"$ADMIN" -c "$C/imip.conf" send-queued > "$C/send-again.out" 2>&1
shim "$C" add-third "$T/add.eml"
check "sendmail fixed: sent exactly once (no resend by send-queued or a retry)" \
	is "$(imip_sendmail_calls "$C")" 3
check "sendmail fixed: send-queued with an empty outbox prints nothing" \
	[ ! -s "$C/send-again.out" ]

# the next message for the user also sends what is queued
C=$T/c75next
imip_conf "$C" || exit 1
sendmail_script "$C" 75
"$ADMIN" -c "$C/imip.conf" init-user "$USER_ADDR" >/dev/null 2>&1
shim "$C" req "$T/request.eml"
shim "$C" add "$T/add.eml"
check "next message: the reply is queued" is "$(queued "$C" queued)" 1
sendmail_script "$C" 0
mail REQUEST fault2@example.com req2 > "$T/request2.eml"
shim "$C" req2 "$T/request2.eml"
check "next message: its processing sent the queued reply" \
	has "$C/req2.err" "queued reply to $ORG sent"
check "next message: sendmail called once more" is "$(imip_sendmail_calls "$C")" 2
check "next message: the outbox is empty" is "$(queued "$C" queued)" 0
check "next message: its own outcome is unaffected" \
	[ "$(outcome_of "$C/req2.err")" = added ]

# exit 1: refused for good, moved to outbox/failed, never tried again
C=$T/c1
check "sendmail exit 1: the reply moved to outbox/failed" is "$(queued "$C" failed)" 1
check "sendmail exit 1: nothing left queued" is "$(queued "$C" queued)" 0
check "sendmail exit 1: the reason says given up" \
	has "$C/add.err" "reply to $ORG not sent: .*given up"
"$ADMIN" -c "$C/imip.conf" outbox > "$C/outbox.out" 2>&1
check "sendmail exit 1: imip-admin outbox lists it with the error" \
	has "$C/outbox.out" "^$USER_ADDR	failed	[0-9a-f]+	20141120T120000Z	1	20141120T120000Z	$ORG	.*exited with status 1"
sendmail_script "$C" 0
"$ADMIN" -c "$C/imip.conf" send-queued > "$C/send-queued.out" 2>&1
check "sendmail exit 1: send-queued does not retry it" \
	is "$(imip_sendmail_calls "$C")" 1

# outbox_lifetime: a reply still refused for now after the lifetime is
# given up (IMIP_NOW moves the clock)
C=$T/clife
imip_conf "$C" || exit 1
echo "outbox_lifetime = 2d" >> "$C/imip.conf"
sendmail_script "$C" 75
"$ADMIN" -c "$C/imip.conf" init-user "$USER_ADDR" >/dev/null 2>&1
shim "$C" req "$T/request.eml"
shim "$C" add "$T/add.eml"
IMIP_NOW=20141121T120000Z "$ADMIN" -c "$C/imip.conf" send-queued > "$C/day1.out" 2>&1
check "lifetime: within it, still deferred" has "$C/day1.out" "	deferred	$ORG	.*status 75"
check "lifetime: within it, still queued" is "$(queued "$C" queued)" 1
IMIP_NOW=20141122T120000Z "$ADMIN" -c "$C/imip.conf" send-queued > "$C/day2.out" 2>&1
check "lifetime: past it, expired" has "$C/day2.out" "	expired	$ORG	.*outbox_lifetime"
check "lifetime: no longer queued" is "$(queued "$C" queued)" 0
check "lifetime: moved to outbox/failed" is "$(queued "$C" failed)" 1
check "lifetime: one attempt per run (3 calls)" is "$(imip_sendmail_calls "$C")" 3
sendmail_script "$C" 0
IMIP_NOW=20141123T120000Z "$ADMIN" -c "$C/imip.conf" send-queued > /dev/null 2>&1
check "lifetime: an expired reply is not sent later" is "$(imip_sendmail_calls "$C")" 3
# an administrator mends the cause and sends a given-up reply again:
# outbox-retry puts it back as if new (attempts 0, the lifetime starts
# again), send-queued sends it once
NAME=$("$ADMIN" -c "$C/imip.conf" outbox "$USER_ADDR" | awk -F '\t' '$2 == "failed" { print $3 }')
IMIP_NOW=20141124T120000Z "$ADMIN" -c "$C/imip.conf" outbox-retry "$USER_ADDR" "$NAME" > "$C/retry.out" 2>&1
echo $? > "$C/retry.rc"
check "outbox-retry: exit 0" is "$(rc "$C" retry)" 0
check "outbox-retry: one line naming the entry" \
	[ "$(cat "$C/retry.out")" = "$USER_ADDR	$NAME	queued" ]
check "outbox-retry: queued again with a fresh start, not in failed/" \
	[ "$("$ADMIN" -c "$C/imip.conf" outbox "$USER_ADDR")" = "$USER_ADDR	queued	$NAME	20141124T120000Z	0	-	$ORG	-" ]
IMIP_NOW=20141124T120000Z "$ADMIN" -c "$C/imip.conf" send-queued > "$C/resend.out" 2>&1
check "outbox-retry: send-queued sends it (4th call)" is "$(imip_sendmail_calls "$C")" 4
check "outbox-retry: then both queues are empty" \
	is "$(($(queued "$C" queued) + $(queued "$C" failed)))" 0
"$ADMIN" -c "$C/imip.conf" outbox-retry "$USER_ADDR" "$NAME" > /dev/null 2>&1
check "outbox-retry: an entry no longer in failed/ is not found (exit 1)" is "$?" 1

# outbox-show and outbox-remove on the reply refused for good in (c1)
C=$T/c1
NAME=$("$ADMIN" -c "$C/imip.conf" outbox "$USER_ADDR" | awk -F '\t' '$2 == "failed" { print $3 }')
"$ADMIN" -c "$C/imip.conf" outbox-show "$USER_ADDR" "$NAME" > "$C/show.out" 2>&1
check "outbox-show: the entry's header" has "$C/show.out" "^to $ORG$"
check "outbox-show: the reply as stored" \
	has "$C/show.out" "^Content-Type: text/calendar;.*method=REFRESH"
"$ADMIN" -c "$C/imip.conf" outbox-remove "$USER_ADDR" ../../etc > /dev/null 2>&1
check "outbox-remove: a name that is not hex is a usage error (64)" is "$?" 64
"$ADMIN" -c "$C/imip.conf" outbox-remove "$USER_ADDR" "${NAME}0" > /dev/null 2>&1
check "outbox-remove: an unknown entry is not found (1)" is "$?" 1
"$ADMIN" -c "$C/imip.conf" outbox-remove "$USER_ADDR" "$NAME" > "$C/remove.out" 2>&1
check "outbox-remove: one line saying it left failed/" \
	[ "$(cat "$C/remove.out")" = "$USER_ADDR	$NAME	removed	failed" ]
check "outbox-remove: outbox/failed is empty" is "$(queued "$C" failed)" 0
"$ADMIN" -c "$C/imip.conf" outbox-show "$USER_ADDR" "$NAME" > /dev/null 2>&1
check "outbox-show: a removed entry is not found (1)" is "$?" 1

# --- (d) LMTP hand-back target down -----------------------------------------
D=$T/d
imip_conf "$D" || exit 1
"$ADMIN" -c "$D/imip.conf" init-user "$USER_ADDR" >/dev/null 2>&1
shim "$D" down "$T/request.eml" --deliver "lmtp:$D/lmtp.sock"
check "LMTP down: exit 75 (EX_TEMPFAIL, the MTA retries)" is "$(rc "$D" down)" 75
check "LMTP down: log names the failed hand-back" \
	has "$D/down.err" "delivery to $USER_ADDR failed"
# a tiny LMTP server (RFC 2033) on a UNIX socket: each message it accepts
# is appended to DIR/lmtp.mbox; it answers 250 per recipient
python3 - "$D/lmtp.sock" "$D/lmtp.mbox" > "$D/lmtp.log" 2>&1 <<'PY' &
import os, socket, sys
path, box = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(5)
while True:
    c, _ = s.accept()
    f = c.makefile("rwb")
    def say(t):
        f.write(t.encode() + b"\r\n"); f.flush()
    say("220 fault-test LMTP")
    rcpts = []
    while True:
        line = f.readline()
        if not line:
            break
        cmd = line.decode("utf-8", "replace").strip()
        up = cmd.upper()
        if up.startswith("LHLO"):
            say("250-fault-test"); say("250 PIPELINING")
        elif up.startswith("MAIL FROM"):
            rcpts = []; say("250 ok")
        elif up.startswith("RCPT TO"):
            rcpts.append(cmd); say("250 ok")
        elif up == "DATA":
            say("354 go ahead")
            data = []
            while True:
                l = f.readline()
                if not l or l.rstrip(b"\r\n") == b".":
                    break
                data.append(l[1:] if l.startswith(b"..") else l)
            with open(box, "ab") as m:
                m.write(b"From fault-test\n" + b"".join(data).replace(b"\r\n", b"\n") + b"\n")
            for _ in rcpts:
                say("250 delivered")
        elif up == "RSET":
            rcpts = []; say("250 ok")
        elif up == "QUIT":
            say("221 bye"); break
        else:
            say("250 ok")
    c.close()
PY
LMTP_PID=$!
i=0
while [ ! -S "$D/lmtp.sock" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "LMTP up: the test's LMTP server listens" [ -S "$D/lmtp.sock" ]
shim "$D" up "$T/request.eml" --deliver "lmtp:$D/lmtp.sock"
check "LMTP up: exit 0" is "$(rc "$D" up)" 0
check "LMTP up: delivered exactly once" is "$(mbox_count "$D/lmtp.mbox")" 1
check "LMTP up: the delivered message is the retried one" \
	has "$D/lmtp.mbox" "^Message-ID: <req1@example.com>"
check "LMTP up: the copy carries the first processing's outcome" \
	has "$D/lmtp.mbox" "^X-iMIP-Outcome: added"
check "LMTP up: the log says nothing was done this time" \
	has "$D/up.err" "outcome=added reason=\"already processed: "
process_stop "$LMTP_PID"
LMTP_PID=""

# --- (e) imip.conf unreadable -----------------------------------------------
E=$T/e
imip_conf "$E" || exit 1
chmod 000 "$E/imip.conf"
mkdir -p "$E/mail" && chmod 777 "$E/mail" && chmod 755 "$T" "$E"
if is_root; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$SHIM" -c "$E/imip.conf" --role person --recipient "$USER_ADDR" \
		--sender "$ORG" --deliver "mbox:$E/mail/unreadable.mbox" \
		< "$T/request.eml" > /dev/null 2> "$E/unreadable.err"
	echo $? > "$E/unreadable.rc"
	LAST_ERR=$E/unreadable.err
else
	shim "$E" unreadable "$T/request.eml" --deliver "mbox:$E/mail/unreadable.mbox"
fi
check "unreadable imip.conf: exit 0, the mail is delivered" \
	is "$(rc "$E" unreadable)" 0
check "unreadable imip.conf: the original delivered unprocessed" \
	is "$(mbox_count "$E/mail/unreadable.mbox")" 1
check "unreadable imip.conf: no X-iMIP-Outcome (unprocessed)" \
	eval '! has "$E/mail/unreadable.mbox" "^X-iMIP-Outcome:"'
check "unreadable imip.conf: log names the file and the fault" \
	has "$E/unreadable.err" "$E/imip.conf.*permission denied"
check "unreadable imip.conf: log says delivered unprocessed" \
	has "$E/unreadable.err" "delivered unprocessed"
"$SHIM" -c "$E/nonexistent.conf" --role person --recipient "$USER_ADDR" \
	--sender "$ORG" --deliver "mbox:$E/mail/missing.mbox" \
	< "$T/request.eml" > /dev/null 2> "$E/missing.err"
echo $? > "$E/missing.rc"
LAST_ERR=$E/missing.err
check "missing imip.conf: exit 0" is "$(rc "$E" missing)" 0
check "missing imip.conf: delivered unprocessed" \
	is "$(mbox_count "$E/mail/missing.mbox")" 1
check "missing imip.conf: log names the file" has "$E/missing.err" "$E/nonexistent.conf"
"$SHIM" -c "$E/nonexistent.conf" --role resource --recipient "$USER_ADDR" \
	--sender "$ORG" < "$T/request.eml" > /dev/null 2> "$E/missing-resource.err"
echo $? > "$E/missing-resource.rc"
LAST_ERR=$E/missing-resource.err
check "missing imip.conf, resource role: exit 75 (the MTA retries)" \
	is "$(rc "$E" missing-resource)" 75

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
