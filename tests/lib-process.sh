# shellcheck shell=sh
# Sourced by the test libraries (tests/integration/lib-*.sh,
# tests/mta/lib-*.sh): stopping a server the test started, by its PID.

# process_stop PID [TENTHS]: TERM, up to TENTHS tenths of a second
# (default 50) for it to go, then KILL; then reap it (it is the shell's
# child), so no zombie is left behind.  Harmless for an empty PID.
process_stop() {
	[ -n "$1" ] || return 0
	if kill -0 "$1" 2>/dev/null; then
		kill "$1" 2>/dev/null
		_ps_i=0
		while kill -0 "$1" 2>/dev/null && [ "$_ps_i" -lt "${2:-50}" ]; do
			sleep 0.1
			_ps_i=$((_ps_i + 1))
		done
		kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
	return 0
}
