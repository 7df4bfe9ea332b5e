#!/bin/sh
# Two mail hosts, one PostgreSQL store (issue 10, docs/postgresql.md): the
# lock of a user is the database's advisory lock, so two Dovecot LMTP
# servers running the imip plugin on different hosts may deliver to the
# same user at the same time without a lost update or a double booking.
#
# usage: tests/concurrency/dovecot-two-hosts.sh BUILDDIR
#
# Two private Dovecots ("hosts" a and b: each its own base_dir, ports,
# Maildirs, imip.conf with its own static, journal and preference
# directories), both with store_backend = postgresql on ONE database of a
# private PostgreSQL (tests/lib-backend.sh, tests/lib-postgresql.sh):
#  (1) a person: 8 LMTP clients, each with a connection to both hosts,
#      send 30 messages each to the same user, alternating between the
#      hosts (message I of client W to host (W + I) mod 2): the messages
#      of lib-person-messages.sh (invitations, updates, cancellations,
#      highest-SEQUENCE-wins updates of shared UIDs, REPLYs of 8 attendees
#      to the user's own events).  PASS when every transaction got 250,
#      each host's Maildir holds exactly the messages sent to that host,
#      each once, and the store (imip-admin events, requests, freebusy,
#      --other, show) equals the store of the same messages delivered
#      serially by imip-shim in the canonical order into a database of its
#      own;
#  (2) a resource: 8 LMTP clients send 20 booking REQUESTs each (all
#      different UIDs and organisers) for the same 5 one-hour slots of one
#      room (scheduling_function schedule_in_freebusy 1, imip_role =
#      resource), alternating between the hosts as above.  PASS when every
#      request was answered by exactly one REPLY, sent by the host that
#      received it (each Dovecot's sendmail_path records its own), exactly
#      one ACCEPTED per slot and the rest DECLINED, and `imip-admin
#      freebusy` of the room lists exactly the accepted UIDs with no two
#      periods overlapping.
# Always on PostgreSQL (IMIP_TEST_BACKEND is not read).  Needs root
# (Dovecot, PostgreSQL); every server is stopped by its PID.  Prints
# PASS/FAIL; exit status 1 on failure.
set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
SHIM=$BUILD/mta-shim/imip-shim
ADMIN=$BUILD/tools/imip-admin
PLUGIN=$BUILD/dovecot-plugin/lib95_imip_plugin.so
NAME=dovecot-two-hosts
WORKERS=8
PER_WORKER=30
R_WORKERS=8
R_PER_WORKER=20
SLOTS=5
ROOM=resource-room-confroom@example.com
# shellcheck source=SCRIPTDIR/../integration/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"
. "$SRC/tests/concurrency/lib-person-messages.sh"
# the plugin connects as Dovecot's mail user
# shellcheck disable=SC2034  # read by lib-postgresql.sh
PG_SOCKET_MODE=0755
IMIP_TEST_BACKEND=postgresql
. "$SRC/tests/lib-backend.sh"

A_PID='' B_PID=''
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	# the Dovecots first (their LMTP processes are the server's
	# clients), then the server, then the directory
	process_stop "$A_PID" 50
	process_stop "$B_PID" 50
	DOVECOT_PID=
	backend_stop
	dovecot_cleanup
}
fail() {
	echo "FAIL $NAME: $*"
	for h in a b; do
		for f in "$T/dovecot-$h/dovecot.stderr" "$T/dovecot-$h/dovecot.log"; do
			[ -s "$f" ] || continue
			echo "--- host $h: $(basename "$f") (tail) ---"
			tail -n 15 "$f"
		done
	done
	exit 1
}
for f in "$SHIM" "$ADMIN" "$PLUGIN"; do
	[ -f "$f" ] || fail "no $f (build with dovecot-dev and libpq installed)"
done
dovecot_mktemp imip-two-hosts || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
trap cleanup EXIT
start=$(date +%s)
dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"
backend_start "$T" "$ADMIN" || fail "$BACKEND_ERROR"
IMIP_NOW=20141120T120000Z
export IMIP_NOW

# --- the stores: one shared database, one for the serial reference ---------------------
for h in a b; do
	imip_conf "$T/host-$h" || fail "$IMIP_ERROR"
	backend_conf "$T/host-$h/imip.conf" shared || fail "$BACKEND_ERROR"
done
imip_conf "$T/serial" || fail "$IMIP_ERROR"
backend_conf "$T/serial/imip.conf" serial || fail "$BACKEND_ERROR"

PERSON_MSG=$T/msg
person_messages "$PERSON_MSG" "$WORKERS" "$PER_WORKER" || fail "cannot generate the messages"
for run in host-a serial; do
	person_setup "$T/$run/imip.conf" "$SHIM" 2> "$T/$run.setup.err" ||
		fail "$run: the user's own events: $(cat "$T/$run.setup.err")"
done
"$ADMIN" -c "$T/host-a/imip.conf" init-user "$ROOM" > /dev/null ||
	fail "imip-admin init-user $ROOM failed"
"$ADMIN" -c "$T/host-b/imip.conf" pref "$ROOM" scheduling_function \
	"schedule_in_freebusy 1" > /dev/null || fail "imip-admin pref $ROOM failed"

# the booking requests: client W, number I asks for slot I mod SLOTS
ROOM_MSG=$T/room-msg
python3 - "$ROOM_MSG" "$R_WORKERS" "$R_PER_WORKER" "$SLOTS" "$ROOM" <<'PY' || fail "cannot generate the booking requests"
import os, sys
out, workers, per, slots, room = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
os.makedirs(out)
for w in range(workers):
    for i in range(per):
        slot = i % slots
        org = "organiser-%d-%d@example.com" % (w, i)
        uid = "race-%d-%d@example.com" % (w, i)
        with open("%s/%d-%d.eml" % (out, w, i), "w") as f:
            f.write("From: <%s>\nTo: Conference Room <%s>\nSubject: Booking %d-%d\n"
                    "Date: Thu, 20 Nov 2014 11:00:00 +0000\nMessage-ID: <%s>\nMIME-Version: 1.0\n"
                    "Content-Type: text/calendar; charset=\"utf-8\"; method=\"REQUEST\"\n\n"
                    "BEGIN:VCALENDAR\nPRODID:-//imip-agent/test//EN\nVERSION:2.0\nMETHOD:REQUEST\n"
                    "BEGIN:VEVENT\nUID:%s\nSEQUENCE:0\nDTSTAMP:20141120T100000Z\n"
                    "DTSTART:20141126T%02d0000Z\nDTEND:20141126T%02d0000Z\nSUMMARY:Slot %d\n"
                    "ORGANIZER:mailto:%s\nATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:%s\n"
                    "ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:%s\n"
                    "END:VEVENT\nEND:VCALENDAR\n"
                    % (org, room, w, i, uid, uid, 9 + slot, 10 + slot, slot, org, org, room))
        with open("%s/%d-%d.from" % (out, w, i), "w") as f:
            f.write(org + "\n")
PY

# --- the two hosts ----------------------------------------------------------------------
dovecot_plugin_dirs "$T/plugins" "$BUILD" || fail "cannot make $T/plugins"
# host_start H: Dovecot of host H (dovecot-H), its users, its recording
# sendmail_path (one file per message, run as the mail user)
host_start() {
	DOVECOT_DIR=$T/dovecot-$1
	mkdir -p "$DOVECOT_DIR" "$T/capture-$1/out"
	chmod 1777 "$T/capture-$1/out"
	# shellcheck disable=SC2016  # the script's own $* and $f
	printf '#!/bin/sh\nf=$(mktemp "%s/msg.XXXXXX") || exit 75\n{ echo "ARGS: $*"; cat; } > "$f"\nexit 0\n' \
		"$T/capture-$1/out" > "$T/capture-$1/sendmail"
	chmod 755 "$T/capture-$1" "$T/capture-$1/sendmail"
	DOVECOT_USERS=$T/users-$1
	: > "$DOVECOT_USERS"
	dovecot_user "${PERSON_USER%%@*}"
	dovecot_user "${ROOM%%@*}" "userdb_imip_role=resource"
	# each LMTP client holds a connection to both hosts
	DOVECOT_CONF_EXTRA="mail_plugin_dir = $T/plugins/modules
sendmail_path = $T/capture-$1/sendmail
import_environment = TZ IMIP_NOW=$IMIP_NOW
service lmtp {
  process_limit = $WORKERS
  process_min_avail = $WORKERS
}
protocol lmtp {
  mail_plugins = \$mail_plugins imip
}
plugin {
  imip_config = $T/host-$1/imip.conf
}"
	DOVECOT_PID=
	dovecot_start "$DOVECOT_DIR" || fail "host $1: $DOVECOT_ERROR"
}
# the plugin runs as the mail user
chown -R nobody:nogroup "$T/host-a" "$T/host-b"
host_start a
A_PID=$DOVECOT_PID A_SOCKET=$DOVECOT_SOCKET A_LOG=$DOVECOT_LOG
host_start b
B_PID=$DOVECOT_PID B_SOCKET=$DOVECOT_SOCKET B_LOG=$DOVECOT_LOG
DOVECOT_PID=

# clients MSGDIR WORKERS PER_WORKER RCPT TAG: the LMTP clients, all at
# once; message I of client W goes to host (W + I) mod 2.  Each client's
# problems in $T/TAG-client.W; waited for by PID.
clients() {
	_pids=
	_w=0
	while [ $_w -lt "$2" ]; do
		python3 - "$A_SOCKET" "$B_SOCKET" "$1" "$_w" "$3" "$4" \
			> "$T/$5-client.$_w" 2>&1 <<'PY' &
import smtplib, sys
socks, msg, w, per, rcpt = sys.argv[1:3], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
conns = [smtplib.LMTP(s) for s in socks]
for c in conns:
    c.ehlo_or_helo_if_needed()
bad = 0
for i in range(per):
    s = conns[(w + i) % 2]
    base = "%s/%d-%d" % (msg, w, i)
    sender = open(base + ".from").read().strip()
    code, text = s.mail(sender)
    if code != 250:
        print("%d-%d MAIL %d %s" % (w, i, code, text)); bad += 1; s.rset(); continue
    code, text = s.rcpt(rcpt)
    if code != 250:
        print("%d-%d RCPT %d %s" % (w, i, code, text)); bad += 1; s.rset(); continue
    code, text = s.data(open(base + ".eml", "rb").read())
    if code != 250:
        print("%d-%d DATA %d %s" % (w, i, code, text)); bad += 1
for c in conns:
    c.quit()
sys.exit(1 if bad else 0)
PY
		_pids="$_pids $!"
		_w=$((_w + 1))
	done
	for _p in $_pids; do
		wait "$_p"
	done
	_w=0
	while [ $_w -lt "$2" ]; do
		[ ! -s "$T/$5-client.$_w" ] || fail "$5: LMTP client $_w: $(head -n 5 "$T/$5-client.$_w")"
		_w=$((_w + 1))
	done
}

# maildir_ids H ADDRESS: the Message-IDs in host H's Maildir of ADDRESS,
# sorted, duplicates kept
maildir_ids() {
	_md=$T/dovecot-$1/mail/${2%%@*}/Maildir
	for _f in "$_md"/new/* "$_md"/cur/*; do
		[ -f "$_f" ] || continue
		sed -n 's/^Message-I[Dd]: <\(.*\)>.*/\1/p' "$_f" | head -n 1
	done | sort
}
# expected_ids H PREFIX WORKERS PER_WORKER: the Message-IDs sent to host H
expected_ids() {
	python3 -c '
import sys
h, prefix, workers, per = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
print("\n".join(sorted("%s-%d-%d@example.com" % (prefix, w, i)
                       for w in range(workers) for i in range(per) if (w + i) % 2 == h)))' \
		"$1" "$2" "$3" "$4"
}
# check_maildirs ADDRESS PREFIX WORKERS PER_WORKER: each host's Maildir
# holds exactly what was sent to it, once
check_maildirs() {
	for _h in a b; do
		_n=0
		[ $_h = a ] || _n=1
		maildir_ids $_h "$1" > "$T/ids.$_h"
		expected_ids $_n "$2" "$3" "$4" > "$T/ids.$_h.expected"
		diff "$T/ids.$_h.expected" "$T/ids.$_h" > "$T/ids.diff" ||
			fail "host $_h, $1: the Maildir ($(wc -l < "$T/ids.$_h") messages) is not what was sent to it ($(wc -l < "$T/ids.$_h.expected")): $(head -n 10 "$T/ids.diff")"
	done
}

# --- (1) the person ---------------------------------------------------------------------
clients "$PERSON_MSG" "$WORKERS" "$PER_WORKER" "$PERSON_USER" person
person_end=$(date +%s)
total=$((WORKERS * PER_WORKER))
check_maildirs "$PERSON_USER" m "$WORKERS" "$PER_WORKER"
per_host_a=$(wc -l < "$T/ids.a")
per_host_b=$(wc -l < "$T/ids.b")
for log in "$A_LOG" "$B_LOG"; do
	errors=$(grep -c 'imip: recipient=.* outcome=error' "$log")
	[ "$errors" = 0 ] || fail "$errors deliveries with outcome=error: $(grep 'outcome=error' "$log" | head -n 3)"
done
# the reference: imip-shim, serially, canonical order
w=0
while [ $w -lt $WORKERS ]; do
	i=0
	while [ $i -lt $PER_WORKER ]; do
		"$SHIM" -c "$T/serial/imip.conf" --role person --recipient "$PERSON_USER" \
			--sender "$(cat "$PERSON_MSG/$w-$i.from")" --deliver none \
			< "$PERSON_MSG/$w-$i.eml" 2>> "$T/serial.log" ||
			fail "serial $w-$i: exit $?: $(tail -n 3 "$T/serial.log")"
		i=$((i + 1))
	done
	w=$((w + 1))
done
for run in host-a serial; do
	person_state "$T/$run/imip.conf" "$ADMIN" "$T/$run.state"
	! grep -q '^!! ' "$T/$run.state" ||
		fail "$run: imip-admin failed: $(grep -A2 '^!! ' "$T/$run.state" | head -n 6)"
done
n=$(grep -c '^ATTENDEE;PARTSTAT=\(ACCEPTED\|DECLINED\):mailto:attendee-' "$T/serial.state")
own=$(find "$PERSON_MSG/setup" -name "*.eml" | wc -l)
[ "$n" = $((own * WORKERS)) ] || fail "serial: $n attendee answers in the store, expected $((own * WORKERS))"
diff -u "$T/serial.state" "$T/host-a.state" > "$T/diff" ||
	fail "the store after two hosts' parallel LMTP differs from the serial one: $(head -n 40 "$T/diff")"
events=$(grep -c '^== show' "$T/serial.state")

# --- (2) the resource -------------------------------------------------------------------
r_start=$(date +%s)
clients "$ROOM_MSG" "$R_WORKERS" "$R_PER_WORKER" "$ROOM" room
r_end=$(date +%s)
check_maildirs "$ROOM" race "$R_WORKERS" "$R_PER_WORKER"
"$ADMIN" -c "$T/host-b/imip.conf" freebusy "$ROOM" > "$T/room.freebusy" 2> "$T/admin.err" ||
	fail "imip-admin freebusy $ROOM: $(cat "$T/admin.err")"
python3 - "$T" "$R_WORKERS" "$R_PER_WORKER" "$SLOTS" "$ROOM" > "$T/room.report" <<'PY' ||
import email, email.policy, glob, re, sys
T, workers, per, slots, room = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
problems = []
replies = {}          # uid -> [(host, partstat)]
for h in ("a", "b"):
    for path in glob.glob("%s/capture-%s/out/msg.*" % (T, h)):
        msg = email.message_from_bytes(open(path, "rb").read().split(b"\n", 1)[1],
                                       policy=email.policy.compat32)
        for part in msg.walk():
            if part.get_content_type() != "text/calendar":
                continue
            text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
            text = re.sub(r"\r?\n[ \t]", "", text).replace("\r", "")
            if "\nMETHOD:REPLY" not in "\n" + text:
                continue
            uid = re.search(r"(?m)^UID:(.*)$", text)
            m = re.search(r"(?m)^ATTENDEE[^:]*?PARTSTAT=([A-Z-]+)[^\n]*" + re.escape(room), text, re.I)
            replies.setdefault(uid.group(1) if uid else "?", []).append((h, m.group(1) if m else "?"))
accepted = {s: [] for s in range(slots)}
declined = 0
by_host = {"a": 0, "b": 0}
for w in range(workers):
    for i in range(per):
        uid = "race-%d-%d@example.com" % (w, i)
        host = "ab"[(w + i) % 2]
        got = replies.pop(uid, [])
        if len(got) != 1 or got[0][1] not in ("ACCEPTED", "DECLINED"):
            problems.append("%s: expected one REPLY ACCEPTED/DECLINED, got %s" % (uid, got))
            continue
        if got[0][0] != host:
            problems.append("%s: sent to host %s, answered by host %s" % (uid, host, got[0][0]))
        by_host[got[0][0]] += 1
        if got[0][1] == "ACCEPTED":
            accepted[i % slots].append(uid)
        else:
            declined += 1
if replies:
    problems.append("REPLYs for unknown UIDs: %s" % sorted(replies)[:5])
for s in range(slots):
    if len(accepted[s]) != 1:
        problems.append("slot %d: %d ACCEPTED, expected 1: %s" % (s, len(accepted[s]), accepted[s]))
rows = [l.split("\t") for l in open(T + "/room.freebusy").read().splitlines() if l]
fb_uids = sorted(r[2] for r in rows)
want = sorted(u for s in accepted.values() for u in s)
if fb_uids != want:
    problems.append("freebusy UIDs %s differ from the accepted UIDs %s" % (fb_uids, want))
edges = sorted([(r[0], 1) for r in rows] + [(r[1], -1) for r in rows], key=lambda e: (e[0], e[1]))
depth = 0
for t, step in edges:
    depth += step
    if depth > 1:
        problems.append("freebusy: %d periods overlap at %s" % (depth, t))
        break
if problems:
    print("%d problem(s): %s" % (len(problems), "; ".join(problems[:10])))
    sys.exit(1)
print("%d requests, %d slots: 1 ACCEPTED per slot, %d DECLINED, replies by host a %d / b %d, free/busy = the accepted UIDs"
      % (workers * per, slots, declined, by_host["a"], by_host["b"]))
PY
	fail "resource: $(cat "$T/room.report")"
for log in "$A_LOG" "$B_LOG"; do
	grep -q "Panic:\|Fatal:\|killed with signal" "$log" &&
		fail "Dovecot panicked or died: $(grep "Panic:\|Fatal:\|signal" "$log" | head -n 3)"
done
used=$(backend_check_used "$T/host-a/store" shared) || fail "$BACKEND_ERROR"
backend_check_used "$T/host-b/store" shared > /dev/null || fail "$BACKEND_ERROR"
end=$(date +%s)
echo "PASS $NAME: (1) $total messages by $WORKERS LMTP clients alternating over 2 Dovecots on one PostgreSQL store ($per_host_a to host a, $per_host_b to host b, $((person_end - start)) s), each once in its host's Maildir, store equal to the serial delivery ($events events, $n replies); (2) $(cat "$T/room.report") ($((r_end - r_start)) s); database: $used ($((end - start)) s)"
exit 0
