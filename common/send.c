/* Sending the agent's messages: SMTP submission to submission_host, or the
   site's sendmail(1) program.

   sendmail is run with fork/exec and no shell, so nothing from a message
   is ever interpreted by /bin/sh.  The child gets only stdin (the message),
   stdout/stderr (collected for the error text) and nothing else of ours. */

#include "send.h"

#include "config.h"
#include "imip.h"
#include "smtp-client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEND_DEFAULT_SMTP_PORT "25"
#define SEND_SENDMAIL_TIMEOUT_SECS 60
#define SEND_MAX_OUTPUT 512
/* How often a finished writer checks whether sendmail has exited. */
#define SEND_WAIT_TICK_MS 20

/* Envelope values go on sendmail's command line.  argv needs no quoting,
   but a value starting with '-' could still be read as an option by a
   sendmail that ignores "--", and control characters have no business in
   an address. */
static bool send_address_is_valid(const char *addr, bool allow_empty)
{
	if (addr == NULL)
		return false;
	if (*addr == '\0')
		return allow_empty;
	if (*addr == '-' || strlen(addr) > 256)
		return false;
	for (const unsigned char *p = (const unsigned char *)addr;
	     *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	}
	return true;
}

/* --- SMTP submission --------------------------------------------------- */

/* submission_host is "host:port", "[v6]:port" or "/unix/socket"; a bare
   "host" or "[v6]" means port 25 (RFC 5321 4.5.4.2: plain SMTP relay to a
   local MTA; 587 needs AUTH, which this client does not do). */
static char *send_submission_spec(const char *host)
{
	if (host[0] == '/')
		return g_strdup(host);
	if (host[0] == '[') {
		const char *end = strchr(host, ']');

		if (end != NULL && end[1] == '\0')
			return g_strconcat(host, ":" SEND_DEFAULT_SMTP_PORT,
					   NULL);
		return g_strdup(host);
	}
	if (strchr(host, ':') == NULL)
		return g_strconcat(host, ":" SEND_DEFAULT_SMTP_PORT, NULL);
	return g_strdup(host);
}

static enum imip_send_status
send_smtp(const char *submission_host, const struct imip_outgoing *out,
	  char **error_r)
{
	struct smtp_client_target target;
	char *spec = send_submission_spec(submission_host);
	char *storage = NULL, *error = NULL;
	const char *rcpts[1] = { out->recipient };
	enum smtp_client_status status;

	if (!smtp_client_parse_target(spec, false, &target, &storage)) {
		/* imip.conf is checked when loaded: a fixed file lets a
		   later attempt through */
		*error_r = g_strdup_printf("invalid submission_host: %s",
					   submission_host);
		g_free(spec);
		return IMIP_SEND_TEMPFAIL;
	}
	g_free(spec);
	status = smtp_client_send(&target, out->envelope_from, rcpts, 1,
				  out->data, &error);
	g_free(storage);
	if (status == SMTP_CLIENT_OK) {
		g_free(error);
		return IMIP_SEND_OK;
	}
	*error_r = g_strdup_printf("SMTP submission to %s failed (%s): %s",
				   submission_host,
				   status == SMTP_CLIENT_TEMPFAIL ?
				   "temporary" : "permanent",
				   error != NULL ? error : "unknown error");
	g_free(error);
	return status == SMTP_CLIENT_TEMPFAIL ? IMIP_SEND_TEMPFAIL :
		IMIP_SEND_PERMFAIL;
}

/* --- sendmail ---------------------------------------------------------- */

/* sendmail(1) reads a message with local (LF) line ends; it adds the CRs
   itself when relaying.  Only CRLF pairs are converted, anything else is
   passed on untouched.  -i keeps a lone "." line from ending the input. */
static GString *send_to_lf(GBytes *data)
{
	gsize len = 0;
	const char *p = g_bytes_get_data(data, &len);
	GString *out = g_string_sized_new(len + 1);

	for (gsize i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		g_string_append_c(out, p[i]);
	}
	return out;
}

struct send_child {
	pid_t pid;
	int in_fd;	/* write end of sendmail's stdin */
	int out_fd;	/* read end of its stdout+stderr */
	int exec_fd;	/* CLOEXEC pipe: errno from a failed exec */
};

/* Only async-signal-safe calls between fork and exec. */
static void G_GNUC_NORETURN
send_child_exec(char *const argv[], int in_fd, int out_fd, int exec_fd,
		int max_fd)
{
	struct sigaction sa;
	sigset_t empty;
	int err;

	/* The parent may block or ignore SIGPIPE/SIGCHLD (exec keeps
	   ignored signals); sendmail must start with ordinary handling. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGPIPE, &sa, NULL);
	(void)sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&empty);
	(void)sigprocmask(SIG_SETMASK, &empty, NULL);

	/* A daemon parent may have had 0-2 closed, so the pipe ends can be
	   anywhere, even on the descriptors they must replace: move them
	   above the range first, then put them in place. */
	in_fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 10);
	out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 10);
	exec_fd = fcntl(exec_fd, F_DUPFD_CLOEXEC, 10);
	if (in_fd < 0 || out_fd < 0 || exec_fd < 0)
		goto fail_early;
	if (dup3(exec_fd, 3, O_CLOEXEC) < 0)
		goto fail_early;
	if (dup2(in_fd, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(out_fd, STDERR_FILENO) < 0)
		goto fail;
	if (close_range(4, ~0U, 0) < 0) {
		for (int fd = 4; fd < max_fd; fd++)
			(void)close(fd);
	}
	execv(argv[0], argv);
fail:
	err = errno;
	while (write(3, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
fail_early:
	err = errno;
	if (exec_fd >= 0)
		while (write(exec_fd, &err, sizeof(err)) < 0 && errno == EINTR)
			;
	_exit(127);
}

static int send_child_start(char *const argv[], struct send_child *child,
			    char **error_r)
{
	int in_pipe[2], out_pipe[2], exec_pipe[2];
	struct rlimit rl;
	int max_fd = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 65536)
		max_fd = (int)rl.rlim_cur;

	if (pipe2(in_pipe, O_CLOEXEC) < 0) {
		*error_r = g_strdup_printf("pipe() failed: %s",
					   g_strerror(errno));
		return -1;
	}
	if (pipe2(out_pipe, O_CLOEXEC) < 0) {
		*error_r = g_strdup_printf("pipe() failed: %s",
					   g_strerror(errno));
		close(in_pipe[0]);
		close(in_pipe[1]);
		return -1;
	}
	if (pipe2(exec_pipe, O_CLOEXEC) < 0) {
		*error_r = g_strdup_printf("pipe() failed: %s",
					   g_strerror(errno));
		close(in_pipe[0]);
		close(in_pipe[1]);
		close(out_pipe[0]);
		close(out_pipe[1]);
		return -1;
	}
	child->pid = fork();
	if (child->pid < 0) {
		*error_r = g_strdup_printf("fork() failed: %s",
					   g_strerror(errno));
		for (int i = 0; i < 2; i++) {
			close(in_pipe[i]);
			close(out_pipe[i]);
			close(exec_pipe[i]);
		}
		return -1;
	}
	if (child->pid == 0) {
		send_child_exec(argv, in_pipe[0], out_pipe[1], exec_pipe[1],
				max_fd);
	}
	close(in_pipe[0]);
	close(out_pipe[1]);
	close(exec_pipe[1]);
	child->in_fd = in_pipe[1];
	child->out_fd = out_pipe[0];
	child->exec_fd = exec_pipe[0];
	(void)fcntl(child->in_fd, F_SETFL,
		    fcntl(child->in_fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(child->out_fd, F_SETFL,
		    fcntl(child->out_fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* A pipe has no MSG_NOSIGNAL: block SIGPIPE around the write and consume
   one it raised, so a sendmail that exits early gives EPIPE, not death
   of the whole adapter (libcurl and OpenSSL do the same). */
static ssize_t send_pipe_write(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old_set, pending;
	bool was_pending;
	ssize_t ret;
	int saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	(void)sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	(void)pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	ret = write(fd, buf, len);
	saved = errno;
	if (ret < 0 && saved == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };

		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	(void)pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	errno = saved;
	return ret;
}

static void send_read_output(int *fd, GString *output)
{
	char buf[512];

	for (;;) {
		ssize_t ret = read(*fd, buf, sizeof(buf));

		if (ret > 0) {
			if (output->len < SEND_MAX_OUTPUT)
				g_string_append_len(output, buf,
					MIN((size_t)ret,
					    SEND_MAX_OUTPUT - output->len));
			continue;
		}
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EOF or error: stop watching it */
		close(*fd);
		*fd = -1;
		return;
	}
}

static int send_child_exec_error(struct send_child *child)
{
	int err = 0;
	ssize_t ret;

	/* Blocks only until exec succeeds (EOF via CLOEXEC) or the child
	   reports failure: both happen right after fork. */
	do {
		ret = read(child->exec_fd, &err, sizeof(err));
	} while (ret < 0 && errno == EINTR);
	close(child->exec_fd);
	child->exec_fd = -1;
	return ret == (ssize_t)sizeof(err) ? err : 0;
}

/* Feeds `input` to the child and collects its output until it exits or
   the deadline passes.  Returns the wait status, -1 on timeout (the
   child is then killed and reaped), -2 if the child cannot be waited
   for. */
static int send_child_run(struct send_child *child, const GString *input,
			  GString *output, bool *write_failed_r)
{
	gint64 deadline = g_get_monotonic_time() +
		(gint64)SEND_SENDMAIL_TIMEOUT_SECS * G_USEC_PER_SEC;
	size_t written = 0;
	int status;

	*write_failed_r = false;
	if (input->len == 0) {
		close(child->in_fd);
		child->in_fd = -1;
	}
	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		gint64 left;
		int timeout_ms;
		pid_t ret;

		do {
			ret = waitpid(child->pid, &status, WNOHANG);
		} while (ret < 0 && errno == EINTR);
		if (ret == child->pid) {
			/* exit 0 without reading everything is no success */
			if (child->in_fd >= 0 && written < input->len)
				*write_failed_r = true;
			if (child->out_fd >= 0)
				send_read_output(&child->out_fd, output);
			return status;
		}
		if (ret < 0)
			return -2;	/* ECHILD: SIGCHLD ignored by the host */
		left = deadline - g_get_monotonic_time();
		if (left <= 0) {
			(void)kill(child->pid, SIGKILL);
			while (waitpid(child->pid, &status, 0) < 0 &&
			       errno == EINTR)
				;
			return -1;
		}
		if (child->in_fd >= 0) {
			pfd[n].fd = child->in_fd;
			pfd[n++].events = POLLOUT;
		}
		if (child->out_fd >= 0) {
			pfd[n].fd = child->out_fd;
			pfd[n++].events = POLLIN;
		}
		/* Process exit is not pollable portably: once stdin is done,
		   wake up regularly to check waitpid(). */
		timeout_ms = (int)MIN(left / 1000 + 1,
				      child->in_fd >= 0 ? 1000 :
				      SEND_WAIT_TICK_MS);
		if (poll(pfd, n, timeout_ms) < 0 && errno != EINTR)
			timeout_ms = 0;	/* fall through to the checks */

		if (child->out_fd >= 0)
			send_read_output(&child->out_fd, output);
		if (child->in_fd >= 0) {
			ssize_t w = send_pipe_write(child->in_fd,
						    input->str + written,
						    input->len - written);

			if (w > 0)
				written += (size_t)w;
			else if (w < 0 && errno != EAGAIN &&
				 errno != EWOULDBLOCK && errno != EINTR) {
				/* sendmail stopped reading: its exit status
				   tells why */
				*write_failed_r = true;
				close(child->in_fd);
				child->in_fd = -1;
			}
			if (child->in_fd >= 0 && written == input->len) {
				close(child->in_fd);
				child->in_fd = -1;
			}
		}
	}
}

static void send_output_sanitize(GString *output)
{
	for (gsize i = 0; i < output->len; i++) {
		unsigned char c = (unsigned char)output->str[i];

		if (c == '\n' || c == '\r' || c == '\t')
			output->str[i] = ' ';
		else if (c < 0x20 || c == 0x7f)
			output->str[i] = '?';
	}
	g_strstrip(output->str);
	output->len = strlen(output->str);
}

/* sysexits(3) statuses that mean "try again later", as Postfix's
   pipe(8) reads them (sys_exits.c: 4.x.x): EX_TEMPFAIL and EX_OSERR.
   Every other non-zero status is a refusal. */
static bool send_exit_is_temporary(int status)
{
	return status == 75 || status == 71;
}

static enum imip_send_status
send_sendmail(const char *sendmail_path, const struct imip_outgoing *out,
	      char **error_r)
{
	char *argv[] = {
		(char *)sendmail_path, (char *)"-i", (char *)"-f",
		out->envelope_from, (char *)"--", out->recipient, NULL
	};
	struct send_child child = { -1, -1, -1, -1 };
	GString *input, *output;
	bool write_failed;
	int status, exec_err;
	/* Local trouble (no fork, sendmail missing, killed, stuck) is
	   temporary: an administrator fixes it and the outbox tries again. */
	enum imip_send_status ret = IMIP_SEND_TEMPFAIL;

	if (sendmail_path == NULL || sendmail_path[0] != '/') {
		*error_r = g_strdup("sendmail_path must be an absolute path");
		return IMIP_SEND_TEMPFAIL;
	}
	if (send_child_start(argv, &child, error_r) < 0)
		return IMIP_SEND_TEMPFAIL;

	exec_err = send_child_exec_error(&child);
	input = send_to_lf(out->data);
	output = g_string_new(NULL);
	status = send_child_run(&child, input, output, &write_failed);
	if (child.in_fd >= 0)
		close(child.in_fd);
	if (child.out_fd >= 0)
		close(child.out_fd);
	send_output_sanitize(output);

	if (exec_err != 0) {
		*error_r = g_strdup_printf("cannot execute %s: %s",
					   sendmail_path,
					   g_strerror(exec_err));
	} else if (status == -2) {
		*error_r = g_strdup_printf("lost track of %s (is SIGCHLD "
					   "ignored?)", sendmail_path);
	} else if (status == -1) {
		*error_r = g_strdup_printf("%s timed out after %d s and was "
					   "killed", sendmail_path,
					   SEND_SENDMAIL_TIMEOUT_SECS);
	} else if (WIFSIGNALED(status)) {
		*error_r = g_strdup_printf("%s killed by signal %d%s%s",
					   sendmail_path, WTERMSIG(status),
					   output->len > 0 ? ": " : "",
					   output->str);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		*error_r = g_strdup_printf("%s exited with status %d%s%s",
					   sendmail_path, WEXITSTATUS(status),
					   output->len > 0 ? ": " : "",
					   output->str);
		if (!send_exit_is_temporary(WEXITSTATUS(status)))
			ret = IMIP_SEND_PERMFAIL;
	} else if (write_failed) {
		/* exit 0 without reading everything: do not call that sent */
		*error_r = g_strdup_printf("%s did not read the whole message",
					   sendmail_path);
	} else {
		ret = IMIP_SEND_OK;
	}
	g_string_free(input, TRUE);
	g_string_free(output, TRUE);
	return ret;
}

enum imip_send_status send_outgoing(const struct imip_config *config,
				    const struct imip_outgoing *out,
				    char **error_r)
{
	*error_r = NULL;
	if (out == NULL || out->data == NULL) {
		*error_r = g_strdup("no message to send");
		return IMIP_SEND_PERMFAIL;
	}
	if (!send_address_is_valid(out->envelope_from, true)) {
		*error_r = g_strdup("invalid envelope sender");
		return IMIP_SEND_PERMFAIL;
	}
	if (!send_address_is_valid(out->recipient, false)) {
		*error_r = g_strdup("invalid envelope recipient");
		return IMIP_SEND_PERMFAIL;
	}
	if (config->submission_host != NULL &&
	    config->submission_host[0] != '\0')
		return send_smtp(config->submission_host, out, error_r);
	return send_sendmail(config->sendmail_path != NULL ?
			     config->sendmail_path : "/usr/sbin/sendmail",
			     out, error_r);
}

enum imip_send_status send_outgoing_func(void *context,
					 const struct imip_outgoing *out,
					 char **error_r)
{
	return send_outgoing(context, out, error_r);
}
