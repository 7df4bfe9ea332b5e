#!/bin/sh
# Double booking under concurrency (DESIGN.md 4.6: one lock per user store,
# held for the whole read-decide-write of one message).
#
# usage: tests/concurrency/resource-double-booking.sh BUILDDIR
#
# 8 concurrent `imip-shim --role resource` workers each process 50 REQUESTs
# (all different UIDs and organisers) competing for the same 5 one-hour
# slots of one room whose scheduling_function is schedule_in_freebusy N.
# Every worker walks the slots in the same order, so at any moment the 8
# workers fight over the same slot.  Afterwards:
#   - every REQUEST was answered with exactly one REPLY (ACCEPTED/DECLINED);
#   - exactly N REPLYs per slot are ACCEPTED (N = capacity: 1, then 2);
#   - `imip-admin freebusy ROOM` lists exactly the accepted UIDs and no
#     instant is covered by more than N periods.
# IMIP_TEST_BACKEND=postgresql (tests/lib-backend.sh): the same on the
# PostgreSQL store (a database per variant on one private server).
# Prints PASS/FAIL per variant; exit status 1 on any failure, 2 on usage.
set -u

if [ $# -ne 1 ] || [ ! -x "$1/mta-shim/imip-shim" ] || [ ! -x "$1/tools/imip-admin" ]; then
	echo "usage: $0 BUILDDIR (with mta-shim/imip-shim and tools/imip-admin)" >&2
	exit 2
fi
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
SHIM="$BUILD/mta-shim/imip-shim"
ADMIN="$BUILD/tools/imip-admin"
ROOM=resource-room-confroom@example.com
WORKERS=8
PER_WORKER=50
SLOTS=5
IMIP_NOW=20141120T120000Z
export IMIP_NOW

. "$SRC/tests/lib-backend.sh"
NAME="resource-double-booking$BACKEND_LABEL"

TOP=$(mktemp -d "${TMPDIR:-/tmp}/imip-double-booking.XXXXXX") || exit 1
trap 'backend_stop; rm -rf "$TOP"' EXIT
trap 'exit 1' INT TERM
failed=0
start=$(date +%s)
backend_start "$TOP" "$ADMIN" || {
	echo "FAIL $NAME: $BACKEND_ERROR"
	exit 1
}

# run_variant CAPACITY
run_variant() {
	capacity=$1
	dir="$TOP/capacity-$capacity"
	mkdir -p "$dir/store" "$dir/preferences" "$dir/journal" "$dir/static" \
		"$dir/msg" "$dir/out"
	cat > "$dir/imip.conf" <<EOF
store_dir = $dir/store
preferences_dir = $dir/preferences
journal_dir = $dir/journal
static_dir = $dir/static
calendar_sender = calendar@example.com
local_domains = example.com
default_tzid = UTC
log_target = stderr
sendmail_path = /bin/false
EOF
	backend_conf "$dir/imip.conf" "capacity_$capacity" || {
		echo "FAIL capacity $capacity: $BACKEND_ERROR"; failed=1; return; }
	"$ADMIN" -c "$dir/imip.conf" init-user "$ROOM" >/dev/null &&
	"$ADMIN" -c "$dir/imip.conf" pref "$ROOM" scheduling_function \
		"schedule_in_freebusy $capacity" >/dev/null || {
		echo "FAIL capacity $capacity: imip-admin setup failed"; failed=1; return; }

	# Messages: worker W, number I asks for slot I mod SLOTS.
	python3 - "$dir/msg" "$WORKERS" "$PER_WORKER" "$SLOTS" "$ROOM" <<'EOF'
import sys
out, workers, per, slots, room = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
for w in range(workers):
    for i in range(per):
        slot = i % slots
        org = "organiser-%d-%d@example.com" % (w, i)
        uid = "race-%d-%d@example.com" % (w, i)
        start = "20141126T%02d0000Z" % (9 + slot)
        end = "20141126T%02d0000Z" % (10 + slot)
        text = f"""From: <{org}>
To: Conference Room <{room}>
Subject: Booking {w}-{i}
Date: Thu, 20 Nov 2014 11:00:00 +0000
Message-ID: <{uid}>
MIME-Version: 1.0
Content-Type: text/calendar; charset="utf-8"; method="REQUEST"

BEGIN:VCALENDAR
PRODID:-//imip-agent/test//EN
VERSION:2.0
METHOD:REQUEST
BEGIN:VEVENT
UID:{uid}
SEQUENCE:0
DTSTAMP:20141120T100000Z
DTSTART:{start}
DTEND:{end}
SUMMARY:Slot {slot} for worker {w}
ORGANIZER:mailto:{org}
ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:{org}
ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{room}
END:VEVENT
END:VCALENDAR
"""
        with open("%s/%d-%d.eml" % (out, w, i), "w") as f:
            f.write(text)
EOF

	workers=
	w=0
	while [ $w -lt $WORKERS ]; do
		(
			i=0
			while [ $i -lt $PER_WORKER ]; do
				"$SHIM" -c "$dir/imip.conf" --role resource \
					--recipient "$ROOM" \
					--sender "organiser-$w-$i@example.com" --dry-run \
					< "$dir/msg/$w-$i.eml" > "$dir/out/$w-$i.mbox" \
					2> "$dir/out/$w-$i.log"
				echo $? > "$dir/out/$w-$i.rc"
				i=$((i + 1))
			done
		) &
		workers="$workers $!"
		w=$((w + 1))
	done
	# by PID: a bare `wait` would also wait for the PostgreSQL server
	for p in $workers; do
		wait "$p"
	done

	"$ADMIN" -c "$dir/imip.conf" freebusy "$ROOM" > "$dir/freebusy" || {
		echo "FAIL capacity $capacity: imip-admin freebusy failed"; failed=1; return; }
	backend_check_used "$dir/store" "capacity_$capacity" > /dev/null || {
		echo "FAIL capacity $capacity: $BACKEND_ERROR"; failed=1; return; }

	python3 - "$dir" "$WORKERS" "$PER_WORKER" "$SLOTS" "$capacity" "$ROOM" <<'EOF' || failed=1
import email, email.policy, re, sys
d, workers, per, slots, cap, room = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6]
problems = []
accepted = {s: [] for s in range(slots)}
for w in range(workers):
    for i in range(per):
        name = "%d-%d" % (w, i)
        rc = open("%s/out/%s.rc" % (d, name)).read().strip()
        if rc != "0":
            problems.append("%s: exit status %s: %s" % (name, rc,
                            open("%s/out/%s.log" % (d, name)).read().strip()[-300:]))
            continue
        data = open("%s/out/%s.mbox" % (d, name), "rb").read()
        msgs = [m for m in re.split(rb"(?m)^From .*\n", data) if m.strip()]
        replies = []
        for raw in msgs:
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            for part in msg.walk():
                if part.get_content_type() != "text/calendar":
                    continue
                text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
                text = re.sub(r"\r?\n[ \t]", "", text)
                if "\nMETHOD:REPLY" not in "\n" + text.replace("\r", ""):
                    continue
                m = re.search(r"(?m)^ATTENDEE[^:]*?PARTSTAT=([A-Z-]+)[^\n]*" + re.escape(room), text, re.I)
                replies.append(m.group(1) if m else "?")
        if len(replies) != 1 or replies[0] not in ("ACCEPTED", "DECLINED"):
            problems.append("%s: expected one REPLY ACCEPTED/DECLINED, got %s" % (name, replies))
            continue
        if replies[0] == "ACCEPTED":
            accepted[i % slots].append("race-%s@example.com" % name)
for s in range(slots):
    if len(accepted[s]) != cap:
        problems.append("slot %d: %d ACCEPTED, expected %d: %s" % (s, len(accepted[s]), cap, accepted[s]))
rows = [l.split("\t") for l in open(d + "/freebusy").read().splitlines() if l]
fb_uids = sorted(r[2] for r in rows)
want_uids = sorted(u for s in accepted.values() for u in s)
if fb_uids != want_uids:
    problems.append("freebusy UIDs %s differ from the accepted UIDs %s" % (fb_uids, want_uids))
# no instant covered by more than `cap` periods
edges = sorted([(r[0], 1) for r in rows] + [(r[1], -1) for r in rows], key=lambda e: (e[0], e[1]))
depth = 0
for t, step in edges:
    depth += step
    if depth > cap:
        problems.append("freebusy: %d periods overlap at %s" % (depth, t))
        break
total = workers * per
if problems:
    print("FAIL capacity %d: %d problem(s)" % (cap, len(problems)))
    for p in problems[:20]:
        print("  " + p)
    sys.exit(1)
print("PASS capacity %d: %d requests by %d concurrent workers, %d slot(s), %d accepted per slot, no overlap beyond capacity in free/busy"
      % (cap, total, workers, slots, cap))
EOF
}

run_variant 1
run_variant 2
end=$(date +%s)
if [ $failed -ne 0 ]; then
	echo "FAIL $NAME ($((end - start)) s)"
	exit 1
fi
echo "PASS $NAME ($((end - start)) s)"
exit 0
