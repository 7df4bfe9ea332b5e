/*
 * syslog-to-file.c - LD_PRELOAD shim for the integration tests: syslog(3)
 * messages go to the file named by $SYSLOG_TO_FILE instead of /dev/log
 * (test machines and containers often have no syslog daemon).
 *
 * Built by tests/integration/lib-cyrus.sh:
 *   gcc -shared -fPIC -o syslog-to-file.so syslog-to-file.c
 * and set in the environment of Cyrus's master, whose children inherit it:
 *   LD_PRELOAD=.../syslog-to-file.so SYSLOG_TO_FILE=.../syslog master ...
 *
 * Each message is one line "<time> <ident>[<pid>]: <level>: <text>",
 * appended with a single write(2) on a file opened O_APPEND for every
 * message, so processes that change their uid (Cyrus's become_cyrus())
 * or fork keep logging as long as the file is writable for them.
 * Without $SYSLOG_TO_FILE the messages are dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* The fortified entry points glibc's <syslog.h> maps to with
 * _FORTIFY_SOURCE; programs built that way call these. */
void __syslog_chk(int pri, int flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static char log_ident[64] = "";

void openlog(const char *ident, int option, int facility)
{
	(void)option;
	(void)facility;
	if (ident != NULL) {
		snprintf(log_ident, sizeof log_ident, "%s", ident);
	}
}

void closelog(void)
{
}

int setlogmask(int mask)
{
	(void)mask;
	return 0xff;
}

static const char *level_name(int pri)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "err",
		"warning", "notice", "info", "debug",
	};
	return names[LOG_PRI(pri)];
}

void vsyslog(int pri, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	const char *path = getenv("SYSLOG_TO_FILE");
	char line[8192];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	int n;
	int m;
	int fd;

	if (path == NULL || *path == '\0') {
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03ld %s[%ld]: %s: ", stamp,
		     ts.tv_nsec / 1000000L,
		     log_ident[0] != '\0' ? log_ident : "?",
		     (long)getpid(), level_name(pri));
	if (n < 0 || (size_t)n >= sizeof line) {
		errno = saved_errno;
		return;
	}
	/* glibc's printf knows %m (strerror(errno)), as syslog(3) does. */
	errno = saved_errno;
	m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (m < 0) {
		m = 0;
	}
	n += m;
	if ((size_t)n >= sizeof line - 1) {
		n = (int)sizeof line - 2;
	}
	/* One message, one line: Cyrus's messages have no newlines, but
	 * SASL's or a callout's text might. */
	for (int i = 0; i < n; i++) {
		if (line[i] == '\n' || line[i] == '\r') {
			line[i] = ' ';
		}
	}
	line[n++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0) {
		ssize_t w = write(fd, line, (size_t)n);
		(void)w;
		close(fd);
	}
	errno = saved_errno;
}

void syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(pri, fmt, ap);
	va_end(ap);
}

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(pri, fmt, ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	vsyslog(pri, fmt, ap);
	va_end(ap);
}
