#!/bin/sh
# Integration test: the imip plugin loads imip.conf once per LMTP process
# and again only when the file changes (imip-bridge.c imip_bridge_get()),
# so that ordinary mail does not pay a parse per delivery -- and an
# administrator's edit still takes effect at the next delivery, without
# restarting Dovecot.  All deliveries go through ONE LMTP session, so one
# lmtp process (asserted: same PID before and after):
#  (a) an invitation: added;
#  (b) imip.conf now says require_authentication = dmarc: the next
#      invitation (no Authentication-Results) is rejected;
#  (c) imip.conf broken (an unknown key): the next one is delivered
#      unprocessed, the error logged;
#  (d) imip.conf restored: the next one is added again.
#
# Usage: tests/integration/dovecot-config-reload.sh [BUILDDIR]
# Needs root; see lib-dovecot.sh.  Prints one PASS/FAIL line.

set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
NAME=dovecot-config-reload
# shellcheck source=SCRIPTDIR/lib-dovecot.sh
. "$SRC/tests/integration/lib-dovecot.sh"

fail() {
	echo "FAIL: $NAME: $*"
	dovecot_log_tail
	exit 1
}

[ -f "$BUILD/dovecot-plugin/lib95_imip_plugin.so" ] || fail "no plugin in $BUILD"
dovecot_mktemp imip-config-reload || fail "$DOVECOT_ERROR"
T=$DOVECOT_TMP
dovecot_install "$T/apt.log" || fail "$DOVECOT_ERROR"
IMIP_NOW=20141120T120000Z
export IMIP_NOW

imip_conf "$T/imip" || fail "$IMIP_ERROR"
cp "$IMIP_CONF" "$T/imip.conf.good"
chown -R nobody:nogroup "$T/imip"
dovecot_plugin_dirs "$T/plugins" "$BUILD" || fail "cannot make $T/plugins"
DOVECOT_CONF_EXTRA="mail_plugin_dir = $T/plugins/modules
import_environment = TZ IMIP_NOW=$IMIP_NOW
protocol lmtp {
  mail_plugins = \$mail_plugins imip
}
plugin {
  imip_config = $IMIP_CONF
}"
dovecot_start "$T/dovecot" || fail "$DOVECOT_ERROR"

# One session; between deliveries the script rewrites imip.conf as the
# steps say.  Prints "STEP PID" per delivery (the lmtp worker's PID).
python3 - "$DOVECOT_SOCKET" "$DOVECOT_PID" "$IMIP_CONF" "$T/imip.conf.good" \
	> "$T/steps.out" 2> "$T/steps.err" <<'PY' || fail "LMTP session: $(cat "$T/steps.err")"
import os, shutil, smtplib, subprocess, sys, time
sock, master, conf, good = sys.argv[1:5]

def invitation(n):
    return ("From: paul.boddie@example.com\r\nTo: vincent.vole@example.com\r\n"
            "Subject: Invitation %d\r\nMessage-ID: <reload-%d@example.com>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n"
            "BEGIN:VCALENDAR\r\nPRODID:-//t//EN\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
            "BEGIN:VEVENT\r\nUID:reload-%d@example.com\r\nSEQUENCE:0\r\n"
            "DTSTAMP:20141120T100000Z\r\nDTSTART:2014112%dT100000Z\r\n"
            "DTEND:2014112%dT110000Z\r\nSUMMARY:Reload %d\r\n"
            "ORGANIZER:mailto:paul.boddie@example.com\r\n"
            "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:vincent.vole@example.com\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n" % (n, n, n, n, n, n)).encode()

def worker():
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", master],
                         capture_output=True, text=True).stdout
    return ",".join(l.split()[0] for l in out.splitlines() if l.split()[1:] == ["lmtp"])

def rewrite(text):
    # a new file renamed into place, as editors and config management do;
    # the mtime alone could stay within one clock tick
    tmp = conf + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, conf)

s = smtplib.LMTP(sock)
s.ehlo_or_helo_if_needed()
base = open(good).read()
steps = [("a", base), ("b", base + "require_authentication = dmarc\ntrusted_authserv_ids = mx.example.com\n"),
         ("c", base + "no_such_key = 1\n"), ("d", base)]
for n, (name, text) in enumerate(steps, 1):
    if n > 1:
        rewrite(text)
    code, msg = s.mail("paul.boddie@example.com")
    assert code == 250, msg
    code, msg = s.rcpt("vincent.vole@example.com")
    assert code == 250, msg
    code, msg = s.data(invitation(n))
    assert code == 250, (name, code, msg)
    print(name, worker())
s.quit()
PY

pids=$(cut -d' ' -f2 "$T/steps.out" | sort -u)
[ "$(wc -l < "$T/steps.out")" = 4 ] || fail "not 4 deliveries: $(cat "$T/steps.out")"
[ "$(echo "$pids" | wc -l)" = 1 ] && [ -n "$pids" ] ||
	fail "the deliveries were not served by one lmtp process: $pids"
log=$DOVECOT_LOG
grep -q "uid=reload-1@example.com outcome=added" "$log" ||
	fail "(a) invitation 1 not added"
grep -q "uid=reload-2@example.com outcome=rejected reason=.*authenticat" "$log" ||
	fail "(b) the edit to require_authentication = dmarc did not take effect"
grep -q "no_such_key" "$log" ||
	fail "(c) the broken imip.conf was not reported"
grep -q "uid=reload-3@example.com outcome=" "$log" &&
	fail "(c) invitation 3 processed with a broken imip.conf"
grep -q "uid=reload-4@example.com outcome=added" "$log" ||
	fail "(d) the restored imip.conf did not take effect"
n=$(dovecot_count vincent.vole@example.com)
[ "$n" = 4 ] || fail "$n of 4 messages delivered"
echo "PASS: $NAME (one lmtp process $pids: added; dmarc edit -> rejected; broken file -> delivered unprocessed; restored -> added; 4 of 4 delivered)"
