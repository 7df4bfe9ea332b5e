#ifndef TEST_FAKE_SMTP_H
#define TEST_FAKE_SMTP_H

/* A scripted SMTP/LMTP server for unit tests, run in a forked child on a
   UNIX socket or a loopback TCP port.  It records every byte the client
   sends in a transcript file, so tests can check the wire format byte by
   byte, and answers from a script: multi-line replies, 4xx/5xx at any
   stage, a hang (for timeouts) or an abrupt close. */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

struct fake_smtp_script {
	const char *greeting;		/* NULL: "220 fake ESMTP" */
	const char *ehlo;		/* reply to EHLO/LHLO (with CRLFs) */
	const char *helo;
	const char *mail;
	const char *rcpt[8];		/* per RCPT, in order */
	const char *data;		/* reply to DATA */
	const char *final;		/* after the dot (LMTP: several) */
	const char *hang_on;		/* "greeting" or a command verb */
	const char *close_on;		/* close the connection on this verb */
	bool hang_in_data;		/* stop reading after the first body line */
	bool close_in_data;		/* close after the first body line */
	unsigned int connections;	/* accept this many (0 = 1) */
};

struct fake_smtp {
	char *dir;
	char *socket_path;		/* UNIX mode */
	char *transcript_path;
	unsigned int port;		/* TCP mode */
	pid_t pid;
};

static G_GNUC_UNUSED void fake_smtp_write(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t ret = send(fd, s, len, MSG_NOSIGNAL);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			_exit(0);
		s += ret;
		len -= (size_t)ret;
	}
}

/* Reads one CRLF-terminated line (raw, terminator included). */
static G_GNUC_UNUSED bool fake_smtp_read_line(int fd, GString *line, int log_fd)
{
	char c;

	g_string_truncate(line, 0);
	for (;;) {
		ssize_t ret = read(fd, &c, 1);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return false;
		if (write(log_fd, &c, 1) != 1)
			_exit(3);
		g_string_append_c(line, c);
		if (c == '\n')
			return true;
	}
}

static G_GNUC_UNUSED bool fake_smtp_verb_is(const GString *line, const char *verb)
{
	size_t n = strlen(verb);

	return verb != NULL && line->len >= n &&
		g_ascii_strncasecmp(line->str, verb, n) == 0;
}

static G_GNUC_UNUSED void fake_smtp_hang(void)
{
	for (;;)
		pause();
}

static G_GNUC_UNUSED void fake_smtp_session(int fd, const struct fake_smtp_script *s,
			      int log_fd)
{
	GString *line = g_string_new(NULL);
	unsigned int rcpt_n = 0;

	if (s->hang_on != NULL && strcmp(s->hang_on, "greeting") == 0)
		fake_smtp_hang();
	fake_smtp_write(fd, s->greeting != NULL ? s->greeting :
			"220 fake ESMTP\r\n");
	while (fake_smtp_read_line(fd, line, log_fd)) {
		if (s->hang_on != NULL && fake_smtp_verb_is(line, s->hang_on))
			fake_smtp_hang();
		if (s->close_on != NULL && fake_smtp_verb_is(line, s->close_on))
			break;
		if (fake_smtp_verb_is(line, "EHLO") ||
		    fake_smtp_verb_is(line, "LHLO")) {
			fake_smtp_write(fd, s->ehlo != NULL ? s->ehlo :
					"250 fake\r\n");
		} else if (fake_smtp_verb_is(line, "HELO")) {
			fake_smtp_write(fd, s->helo != NULL ? s->helo :
					"250 fake\r\n");
		} else if (fake_smtp_verb_is(line, "MAIL")) {
			fake_smtp_write(fd, s->mail != NULL ? s->mail :
					"250 2.1.0 Ok\r\n");
		} else if (fake_smtp_verb_is(line, "RCPT")) {
			const char *r = rcpt_n < G_N_ELEMENTS(s->rcpt) ?
				s->rcpt[rcpt_n] : NULL;

			rcpt_n++;
			fake_smtp_write(fd, r != NULL ? r : "250 2.1.5 Ok\r\n");
		} else if (fake_smtp_verb_is(line, "DATA")) {
			const char *d = s->data != NULL ? s->data :
				"354 go ahead\r\n";

			fake_smtp_write(fd, d);
			if (d[0] != '3')
				continue;
			while (fake_smtp_read_line(fd, line, log_fd)) {
				if (s->hang_in_data)
					fake_smtp_hang();
				if (s->close_in_data) {
					g_string_free(line, TRUE);
					close(fd);
					return;
				}
				if (strcmp(line->str, ".\r\n") == 0)
					break;
			}
			fake_smtp_write(fd, s->final != NULL ? s->final :
					"250 2.0.0 Ok: queued\r\n");
		} else if (fake_smtp_verb_is(line, "RSET")) {
			rcpt_n = 0;
			fake_smtp_write(fd, "250 2.0.0 Ok\r\n");
		} else if (fake_smtp_verb_is(line, "QUIT")) {
			fake_smtp_write(fd, "221 2.0.0 Bye\r\n");
			break;
		} else {
			fake_smtp_write(fd, "500 5.5.2 what?\r\n");
		}
	}
	g_string_free(line, TRUE);
	close(fd);
}

static G_GNUC_UNUSED void fake_smtp_child(int listen_fd, const struct fake_smtp_script *s,
			    const char *transcript_path)
{
	unsigned int n = s->connections == 0 ? 1 : s->connections;
	int log_fd = open(transcript_path, O_WRONLY | O_CREAT | O_APPEND,
			  0600);

	if (log_fd < 0)
		_exit(2);
	for (unsigned int i = 0; i < n; i++) {
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0)
			_exit(2);
		fake_smtp_session(fd, s, log_fd);
	}
	_exit(0);
}

static G_GNUC_UNUSED void fake_smtp_fork(struct fake_smtp *f, int listen_fd,
			   const struct fake_smtp_script *s)
{
	f->pid = fork();
	g_assert(f->pid >= 0);
	if (f->pid == 0)
		fake_smtp_child(listen_fd, s, f->transcript_path);
	close(listen_fd);
}

static G_GNUC_UNUSED void fake_smtp_init(struct fake_smtp *f)
{
	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("fake-smtp-XXXXXX", NULL);
	g_assert(f->dir != NULL);
	f->transcript_path = g_build_filename(f->dir, "transcript", NULL);
}

/* Listens on a UNIX socket in a fresh temporary directory. */
static G_GNUC_UNUSED void fake_smtp_start_unix(struct fake_smtp *f,
				 const struct fake_smtp_script *s)
{
	struct sockaddr_un sun;
	int fd;

	fake_smtp_init(f);
	f->socket_path = g_build_filename(f->dir, "sock", NULL);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	g_assert(fd >= 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	g_strlcpy(sun.sun_path, f->socket_path, sizeof(sun.sun_path));
	g_assert(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	g_assert(listen(fd, 8) == 0);
	fake_smtp_fork(f, fd, s);
}

/* Listens on 127.0.0.1 or ::1 on a kernel-chosen port.  false when the
   address family is not available here. */
static G_GNUC_UNUSED bool fake_smtp_start_tcp(struct fake_smtp *f, bool ipv6,
				const struct fake_smtp_script *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	fake_smtp_init(f);
	fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (ipv6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return false;
	}
	g_assert(listen(fd, 8) == 0);
	len = sizeof(ss);
	g_assert(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
	f->port = ntohs(ipv6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
			((struct sockaddr_in *)&ss)->sin_port);
	fake_smtp_fork(f, fd, s);
	return true;
}

/* Stops the server (by its PID) and returns the transcript (maybe "").
   `wait`: the server is expected to finish by itself (after QUIT). */
static G_GNUC_UNUSED char *fake_smtp_stop(struct fake_smtp *f, bool wait)
{
	char *text = NULL;
	int status;

	if (f->pid > 0) {
		/* Give a server that is finishing its session a moment. */
		for (int i = 0; wait && i < 200; i++) {
			if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
				f->pid = 0;
				break;
			}
			g_usleep(10000);
		}
		if (f->pid > 0) {
			kill(f->pid, SIGKILL);
			waitpid(f->pid, &status, 0);
		}
	}
	if (!g_file_get_contents(f->transcript_path, &text, NULL, NULL))
		text = g_strdup("");
	g_unlink(f->transcript_path);
	if (f->socket_path != NULL)
		g_unlink(f->socket_path);
	g_rmdir(f->dir);
	g_free(f->socket_path);
	g_free(f->transcript_path);
	g_free(f->dir);
	return text;
}

#endif
