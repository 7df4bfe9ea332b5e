# shellcheck shell=sh
# Sourced by tests/concurrency/person-parallel.sh, dovecot-lmtp-parallel.sh
# and crash-safety.sh (not a test itself: .ci/test skips lib-*.sh).
#
# person_messages DIR WORKERS PER_WORKER: a set of iMIP messages for the
# calendar user PERSON_USER (vincent.vole@example.com) whose final store
# does not depend on the order in which they are processed, so that a
# parallel run can be compared with a serial one:
#   DIR/setup/NNN.eml   REQUESTs the user sends himself (his own events,
#                       to be fed to imip-shim --role outgoing first);
#   DIR/W-I.eml         message I of worker W (0 <= I < PER_WORKER), with
#                       its envelope sender in DIR/W-I.from.
# Per worker, round-robin over four kinds:
#   owned:  UIDs only this worker touches: REQUEST SEQUENCE 0, 1, 2 (each
#           moves the event) in that order, then a CANCEL for every other
#           UID -- the worker's own order is the only order;
#   shared: UIDs every worker touches: worker W sends SEQUENCE W+1 (its own
#           time), so the highest SEQUENCE wins whatever the interleaving;
#   reply:  the user's own events; worker W is attendee W and answers each
#           (ACCEPTED or DECLINED): distinct attendees, so every answer
#           must be in the store at the end (a lost update loses one);
#   plain:  filler REQUESTs with unique UIDs when the others run out.
# Every message has a unique Message-ID.
PERSON_USER=vincent.vole@example.com

person_messages() {
	python3 - "$1" "$2" "$3" "$PERSON_USER" <<'PY'
import os, sys
out, workers, per, user = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(out + "/setup", exist_ok=True)
ORG = "paul.boddie@example.com"

def cal(method, uid, seq, start_h, org, attendees, summary, day=26):
    att = "".join("ATTENDEE;PARTSTAT=%s%s:mailto:%s\n" % (p, ";RSVP=TRUE" if p == "NEEDS-ACTION" else "", a)
                  for a, p in attendees)
    return ("BEGIN:VCALENDAR\nPRODID:-//imip-agent/test//EN\nVERSION:2.0\nMETHOD:%s\n"
            "BEGIN:VEVENT\nUID:%s\nSEQUENCE:%d\nDTSTAMP:20141120T1%05dZ\n"
            "DTSTART:201411%02dT%02d0000Z\nDTEND:201411%02dT%02d3000Z\nSUMMARY:%s\n"
            "ORGANIZER:mailto:%s\n%s%sEND:VEVENT\nEND:VCALENDAR\n"
            % (method, uid, seq, seq, day, start_h, day, start_h, summary, org, att,
               "STATUS:CANCELLED\n" if method == "CANCEL" else ""))

def mail(path, sender, to, mid, method, body):
    with open(path, "w") as f:
        f.write("From: <%s>\nTo: <%s>\nSubject: %s %s\nDate: Thu, 20 Nov 2014 11:00:00 +0000\n"
                "Message-ID: <%s>\nMIME-Version: 1.0\n"
                "Content-Type: text/calendar; charset=\"utf-8\"; method=\"%s\"\n\n%s"
                % (sender, to, method, mid, mid, method, body))
    with open(path[:-4] + ".from", "w") as f:
        f.write(sender + "\n")

n_owned = max(1, per // 8)          # 4 messages per owned UID (3 + cancel/2)
n_shared = max(1, per // 5)
n_reply = max(1, per // 4)
attendees = ["attendee-%d@example.org" % w for w in range(workers)]
# the user's own events, one per reply slot
for r in range(n_reply):
    uid = "own-%d@example.com" % r
    mail("%s/setup/%03d.eml" % (out, r), user, attendees[0], "setup-%d@example.com" % r, "REQUEST",
         cal("REQUEST", uid, 0, 8 + r % 10, user,
             [(user, "ACCEPTED")] + [(a, "NEEDS-ACTION") for a in attendees], "Own %d" % r, day=27))
for w in range(workers):
    kinds = {"owned": [], "shared": [], "reply": []}
    for j in range(n_owned):
        uid = "owned-%d-%d@example.com" % (w, j)
        for seq in range(3):
            kinds["owned"].append(("REQUEST", ORG, cal("REQUEST", uid, seq, 8 + (j + seq) % 10, ORG,
                                   [(ORG, "ACCEPTED"), (user, "NEEDS-ACTION")], "Owned %d-%d v%d" % (w, j, seq))))
        if j % 2:
            kinds["owned"].append(("CANCEL", ORG, cal("CANCEL", uid, 3, 8 + (j + 2) % 10, ORG,
                                   [(ORG, "ACCEPTED"), (user, "NEEDS-ACTION")], "Owned %d-%d" % (w, j))))
    for s in range(n_shared):
        uid = "shared-%d@example.com" % s
        kinds["shared"].append(("REQUEST", ORG, cal("REQUEST", uid, w + 1, 8 + (s + w) % 10, ORG,
                                [(ORG, "ACCEPTED"), (user, "NEEDS-ACTION")], "Shared %d v%d" % (s, w + 1), day=25)))
    for r in range(n_reply):
        a = attendees[w]
        kinds["reply"].append(("REPLY", a, cal("REPLY", "own-%d@example.com" % r, 0, 8 + r % 10, user,
                               [(a, "ACCEPTED" if (w + r) % 2 else "DECLINED")], "Own %d" % r, day=27)))
    seq = []
    while len(seq) < per and any(kinds.values()):
        for k in ("owned", "shared", "reply"):
            if kinds[k] and len(seq) < per:
                seq.append(kinds[k].pop(0))
    f = 0
    while len(seq) < per:
        uid = "plain-%d-%d@example.com" % (w, f)
        seq.append(("REQUEST", ORG, cal("REQUEST", uid, 0, 8 + f % 10, ORG,
                    [(ORG, "ACCEPTED"), (user, "NEEDS-ACTION")], "Plain %d-%d" % (w, f), day=24)))
        f += 1
    for i, (method, sender, body) in enumerate(seq):
        mail("%s/%d-%d.eml" % (out, w, i), sender, user, "m-%d-%d@example.com" % (w, i), method, body)
PY
}

# person_setup CONF SHIM: the user's own events (DIR/setup, from
# person_messages) through imip-shim --role outgoing.  PERSON_MSG: DIR.
person_setup() {
	for _pm in "$PERSON_MSG"/setup/*.eml; do
		"$2" -c "$1" --role outgoing --sender "$PERSON_USER" \
			--recipient attendee-0@example.org --dry-run < "$_pm" \
			> /dev/null || return 1
	done
}

# person_state CONF ADMIN OUT: everything imip-admin shows of the user's
# store (events, requests, free/busy, the organiser's free/busy as seen
# by the user, and `show` of the listed events) into the file OUT, in a
# form where only order-independent facts remain: the requests sorted
# (the store keeps them sorted too), and in each `show` the folded
# lines unfolded and the ATTENDEE lines of a component sorted (recording a
# REPLY moves the attendee to the end; property order has no meaning).
person_state() {
	{
		echo "== events"
		"$2" -c "$1" events "$PERSON_USER" || echo "!! events failed"
		echo "== requests"
		"$2" -c "$1" requests "$PERSON_USER" | sort || echo "!! requests failed"
		echo "== freebusy"
		"$2" -c "$1" freebusy "$PERSON_USER" || echo "!! freebusy failed"
		echo "== freebusy --other paul"
		"$2" -c "$1" freebusy "$PERSON_USER" --other paul.boddie@example.com ||
			echo "!! freebusy --other failed"
		# `show` of every whole event, and of every 10th override (the
		# big recurring events have 280; `events` lists them all anyway)
		"$2" -c "$1" events "$PERSON_USER" 2>/dev/null | cut -f1,2 | sort -u |
		awk -F'\t' '$2 == "-" || ++n % 10 == 0' |
		while IFS='	' read -r _uid _rid; do
			echo "== show $_uid $_rid"
			if [ "$_rid" = "-" ]; then
				"$2" -c "$1" show "$PERSON_USER" "$_uid" || echo "!! show failed"
			else
				"$2" -c "$1" show "$PERSON_USER" "$_uid" "$_rid" || echo "!! show failed"
			fi
		done
	} 2>&1 | python3 -c '
import sys
text = sys.stdin.read().replace("\r\n", "\n").replace("\n ", "")
out, att = [], []
for line in text.split("\n"):
    if line.startswith("ATTENDEE"):
        att.append(line)
        continue
    if att:
        out.extend(sorted(att))
        att = []
    out.append(line)
out.extend(sorted(att))
sys.stdout.write("\n".join(out))
' > "$3"
}

# person_big_message FILE [SEQUENCE]: one REQUEST to the user for the
# recurring event big@example.com with 280 overrides: processing it writes
# some 290 store files under the lock (~0.3 s), a wide window for a kill.
person_big_message() {
	python3 - "$1" "${2:-0}" <<'PY'
import sys
ev = []
for k in range(281):
    day, hour = 1 + k % 28, 8 + (k // 28) % 10
    rid = "" if k == 0 else "RECURRENCE-ID:201412%02dT%02d0000Z\n" % (day, hour)
    rrule = "RRULE:FREQ=DAILY;COUNT=300\n" if k == 0 else ""
    ev.append("BEGIN:VEVENT\nUID:big@example.com\nSEQUENCE:%s\nDTSTAMP:20141120T100000Z\n%s"
              "DTSTART:201412%02dT%02d0000Z\nDTEND:201412%02dT%02d3000Z\n%sSUMMARY:Big %d v%s\n"
              "ORGANIZER:mailto:paul.boddie@example.com\n"
              "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:vincent.vole@example.com\n"
              "END:VEVENT\n" % (sys.argv[2], rid, day, hour, day, hour, rrule, k, sys.argv[2]))
open(sys.argv[1], "w").write(
    "From: <paul.boddie@example.com>\nTo: <vincent.vole@example.com>\nSubject: big\n"
    "Message-ID: <big-%s@example.com>\n" % sys.argv[2] + "MIME-Version: 1.0\n"
    "Content-Type: text/calendar; method=\"REQUEST\"\n\n"
    "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//imip-agent/test//EN\nMETHOD:REQUEST\n"
    + "".join(ev) + "END:VCALENDAR\n")
PY
}
