#!/bin/sh
# Runs the sample messages through imip-shim the way an MTA would, with a
# throw-away store, and shows what the agent recorded.
# Usage: samples/demo.sh [BUILDDIR]   (default: build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
shim="$build/mta-shim/imip-shim"
admin="$build/tools/imip-admin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/store" "$tmp/preferences" "$tmp/journal" "$tmp/static"
cat > "$tmp/imip.conf" <<CONF
store_dir = $tmp/store
preferences_dir = $tmp/preferences
journal_dir = $tmp/journal
static_dir = $tmp/static
calendar_sender = calendar@example.com
local_domains = example.com
default_tzid = Europe/Oslo
log_target = stderr
sendmail_path = /bin/false
CONF
export IMIP_NOW=20141120T120000Z
paul=paul.boddie@example.com
vincent=vincent.vole@example.com

# person: a message arriving for VINCENT; outgoing: a copy of mail SENDER sent.
person()   { "$shim" -c "$tmp/imip.conf" --role person --recipient "$1" --sender "$2" --deliver none --dry-run < "$here/$3" >/dev/null; }
outgoing() { "$shim" -c "$tmp/imip.conf" --role outgoing --sender "$1" --recipient "$2" --dry-run < "$here/$3" >/dev/null; }

outgoing "$paul" "$vincent" 01-invitation.eml   # Paul sends the invitation (his copy)
person "$vincent" "$paul" 01-invitation.eml     # ... and Vincent receives it
outgoing "$paul" "$vincent" 02-update.eml       # Paul moves it to 17:00
person "$vincent" "$paul" 02-update.eml
outgoing "$vincent" "$paul" 03-reply.eml        # Vincent accepts (his copy)
person "$paul" "$vincent" 03-reply.eml          # ... and Paul receives the reply
person "$vincent" "$paul" 05-recurring.eml      # a weekly meeting for Vincent

echo "== imip-admin events $vincent"; "$admin" -c "$tmp/imip.conf" events "$vincent"
echo "== imip-admin freebusy $vincent"; "$admin" -c "$tmp/imip.conf" freebusy "$vincent"
echo "== imip-admin freebusy $paul --other $vincent"; "$admin" -c "$tmp/imip.conf" freebusy "$paul" --other "$vincent"

person "$vincent" "$paul" 04-cancel.eml         # Paul cancels the kick-off
echo "== after the cancellation: imip-admin events $vincent"; "$admin" -c "$tmp/imip.conf" events "$vincent"
