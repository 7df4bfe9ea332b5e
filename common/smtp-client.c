/* A small blocking SMTP (RFC 5321) / LMTP (RFC 2033) client.

   The socket is non-blocking and every wait goes through poll() with the
   time left for the current command, so a stalled server costs at most
   timeout_secs per command, never a hung delivery.  Writes use send() with
   MSG_NOSIGNAL: a server closing on us is an error, not a SIGPIPE that kills
   the MTA's pipe process. */

#include "smtp-client.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SMTP_CLIENT_DEFAULT_TIMEOUT_SECS 60
/* RFC 5321 4.5.3.1.5 allows 512 octets per reply line; servers exceed it
   in practice, so accept more but stay bounded against a hostile peer. */
#define SMTP_CLIENT_MAX_LINE 4096
#define SMTP_CLIENT_MAX_REPLY_LINES 100
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets. */
#define SMTP_CLIENT_MAX_PATH 256
#define SMTP_CLIENT_QUIT_TIMEOUT_MS 2000
#define SMTP_CLIENT_DATA_CHUNK 65536
#define SMTP_CLIENT_MAX_ERROR_TEXT 400

struct smtp_conn {
	int fd;
	int timeout_ms;
	gint64 deadline;	/* monotonic usecs for the current command */
	char inbuf[4096];
	size_t in_pos, in_len;
	bool broken;		/* I/O failed: no QUIT */
	/* EHLO keywords */
	bool ext_8bitmime, ext_smtputf8, ext_size;
};

struct smtp_reply {
	int code;		/* 0 when no valid reply was read */
	GString *text;		/* lines joined by " / ", sanitised */
};

struct smtp_txn {
	enum smtp_client_status status;
	char *error;
};

/* --- target parsing -------------------------------------------------- */

static bool smtp_client_parse_port(const char *s, unsigned int *port_r)
{
	unsigned int port = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		port = port * 10 + (unsigned int)(*s - '0');
		if (port > 65535)
			return false;
	}
	if (port == 0)
		return false;
	*port_r = port;
	return true;
}

bool smtp_client_parse_target(const char *spec, bool lmtp,
			      struct smtp_client_target *target,
			      char **storage_r)
{
	char *copy, *host, *port_str;

	memset(target, 0, sizeof(*target));
	*storage_r = NULL;
	target->lmtp = lmtp;
	if (spec == NULL || *spec == '\0')
		return false;

	copy = g_strdup(spec);
	if (copy[0] == '/') {
		if (strlen(copy) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			goto fail;
		target->unix_path = copy;
		*storage_r = copy;
		return true;
	}
	if (copy[0] == '[') {
		char *end = strchr(copy, ']');

		if (end == NULL || end == copy + 1 || end[1] != ':')
			goto fail;
		*end = '\0';
		host = copy + 1;
		port_str = end + 2;
	} else {
		char *colon = strchr(copy, ':');

		/* A bare IPv6 address is ambiguous with the port: RFC 3986
		   brackets are required. */
		if (colon == NULL || colon == copy ||
		    strchr(colon + 1, ':') != NULL)
			goto fail;
		*colon = '\0';
		host = copy;
		port_str = colon + 1;
	}
	for (const char *p = host; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '/')
			goto fail;
	}
	if (!smtp_client_parse_port(port_str, &target->port))
		goto fail;
	target->host = host;
	*storage_r = copy;
	return true;
fail:
	g_free(copy);
	memset(target, 0, sizeof(*target));
	target->lmtp = lmtp;
	return false;
}

/* --- low level I/O ---------------------------------------------------- */

static void smtp_conn_start_command(struct smtp_conn *conn)
{
	conn->deadline = g_get_monotonic_time() +
		(gint64)conn->timeout_ms * 1000;
}

static int smtp_conn_time_left_ms(const struct smtp_conn *conn)
{
	gint64 left = conn->deadline - g_get_monotonic_time();

	if (left <= 0)
		return 0;
	return (int)((left + 999) / 1000);
}

/* 1 ready, 0 timeout, -1 error (errno set) */
static int smtp_conn_wait(struct smtp_conn *conn, short events)
{
	struct pollfd pfd = { .fd = conn->fd, .events = events };

	for (;;) {
		int left = smtp_conn_time_left_ms(conn);
		int ret;

		if (left == 0)
			return 0;
		ret = poll(&pfd, 1, left);
		if (ret > 0)
			return 1;
		if (ret == 0)
			continue;	/* re-check the deadline */
		if (errno != EINTR)
			return -1;
	}
}

static bool smtp_conn_write(struct smtp_conn *conn, const char *data,
			    size_t len, char **error_r)
{
	while (len > 0) {
		ssize_t ret = send(conn->fd, data, len, MSG_NOSIGNAL);

		if (ret > 0) {
			data += ret;
			len -= (size_t)ret;
			continue;
		}
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = smtp_conn_wait(conn, POLLOUT);

			if (w > 0)
				continue;
			conn->broken = true;
			*error_r = w == 0 ?
				g_strdup("timed out writing to server") :
				g_strdup_printf("poll() failed: %s",
						g_strerror(errno));
			return false;
		}
		conn->broken = true;
		*error_r = g_strdup_printf("write to server failed: %s",
					   ret < 0 ? g_strerror(errno) :
					   "no progress");
		return false;
	}
	return true;
}

/* Reads one line (without the line end) into `line`.  Accepts CRLF and
   bare LF. */
static bool smtp_conn_read_line(struct smtp_conn *conn, GString *line,
				char **error_r)
{
	g_string_truncate(line, 0);
	for (;;) {
		while (conn->in_pos < conn->in_len) {
			char c = conn->inbuf[conn->in_pos++];

			if (c == '\n') {
				if (line->len > 0 &&
				    line->str[line->len - 1] == '\r')
					g_string_truncate(line, line->len - 1);
				return true;
			}
			if (line->len >= SMTP_CLIENT_MAX_LINE) {
				conn->broken = true;
				*error_r = g_strdup("server reply line too long");
				return false;
			}
			g_string_append_c(line, c);
		}

		ssize_t ret = recv(conn->fd, conn->inbuf,
				   sizeof(conn->inbuf), 0);
		if (ret > 0) {
			conn->in_pos = 0;
			conn->in_len = (size_t)ret;
			continue;
		}
		if (ret == 0) {
			conn->broken = true;
			*error_r = g_strdup("server closed the connection");
			return false;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int w = smtp_conn_wait(conn, POLLIN);

			if (w > 0)
				continue;
			conn->broken = true;
			*error_r = w == 0 ?
				g_strdup("timed out waiting for the server") :
				g_strdup_printf("poll() failed: %s",
						g_strerror(errno));
			return false;
		}
		conn->broken = true;
		*error_r = g_strdup_printf("read from server failed: %s",
					   g_strerror(errno));
		return false;
	}
}

/* Server text ends up in logs and DSNs: keep it printable and short. */
static void smtp_reply_append_text(GString *text, const char *s)
{
	if (text->len > 0)
		g_string_append(text, " / ");
	for (; *s != '\0' && text->len < SMTP_CLIENT_MAX_ERROR_TEXT; s++) {
		unsigned char c = (unsigned char)*s;

		g_string_append_c(text, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

static bool smtp_line_is_reply(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' &&
		s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' &&
		(s[3] == '\0' || s[3] == ' ' || s[3] == '-');
}

/* Reads one (possibly multi-line, RFC 5321 4.2.1) reply.  Each line is
   also given to `line_cb` (for EHLO keywords). */
static bool smtp_conn_read_reply(struct smtp_conn *conn,
				 struct smtp_reply *reply,
				 void (*line_cb)(struct smtp_conn *,
						 const char *),
				 char **error_r)
{
	GString *line = g_string_new(NULL);
	unsigned int count = 0;
	bool ok = false;

	reply->code = 0;
	g_string_truncate(reply->text, 0);
	for (;;) {
		if (!smtp_conn_read_line(conn, line, error_r))
			break;
		if (!smtp_line_is_reply(line->str)) {
			conn->broken = true;
			GString *bad = g_string_new(NULL);

			smtp_reply_append_text(bad, line->str);
			*error_r = g_strdup_printf("malformed server reply: %s",
						   bad->str);
			g_string_free(bad, TRUE);
			break;
		}
		if (++count > SMTP_CLIENT_MAX_REPLY_LINES) {
			conn->broken = true;
			*error_r = g_strdup("server reply has too many lines");
			break;
		}
		smtp_reply_append_text(reply->text, line->str);
		if (line_cb != NULL && count > 1)
			line_cb(conn, line->str + (line->str[3] == '\0' ? 3 : 4));
		if (line->str[3] != '-') {
			reply->code = (line->str[0] - '0') * 100 +
				(line->str[1] - '0') * 10 + (line->str[2] - '0');
			ok = true;
			break;
		}
	}
	g_string_free(line, TRUE);
	return ok;
}

/* For commands whose success is 2xx (all but DATA, which wants 354). */
static enum smtp_client_status smtp_code_status(int code)
{
	if (code >= 200 && code < 300)
		return SMTP_CLIENT_OK;
	if (code >= 500)
		return SMTP_CLIENT_PERMFAIL;
	return SMTP_CLIENT_TEMPFAIL;
}

/* A reply that should have been a success: 5xx is permanent, anything
   else unexpected (4xx, a stray 2xx/3xx) is worth a retry. */
static enum smtp_client_status smtp_code_failure(int code)
{
	return code >= 500 ? SMTP_CLIENT_PERMFAIL : SMTP_CLIENT_TEMPFAIL;
}

/* "Worst" is PERMFAIL, then TEMPFAIL: the enum values are ordered so. */
static void smtp_txn_fail(struct smtp_txn *txn,
			  enum smtp_client_status status, char *error)
{
	if (status < txn->status)
		txn->status = status;
	if (txn->error == NULL)
		txn->error = error;
	else
		g_free(error);
}

/* Sends `cmd` (without CRLF) and reads the reply with a fresh deadline. */
static bool smtp_conn_command(struct smtp_conn *conn, const char *cmd,
			      struct smtp_reply *reply,
			      void (*line_cb)(struct smtp_conn *,
					      const char *),
			      char **error_r)
{
	char *full = g_strconcat(cmd, "\r\n", NULL);
	bool ok;

	smtp_conn_start_command(conn);
	ok = smtp_conn_write(conn, full, strlen(full), error_r) &&
		smtp_conn_read_reply(conn, reply, line_cb, error_r);
	g_free(full);
	return ok;
}

/* --- connecting -------------------------------------------------------- */

/* Non-blocking connect bounded by the command deadline. */
static int smtp_conn_connect_addr(struct smtp_conn *conn, int family,
				  const struct sockaddr *addr,
				  socklen_t addrlen, char **error_r)
{
	int fd, err = 0;
	socklen_t errlen = sizeof(err);

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = g_strdup_printf("socket() failed: %s",
					   g_strerror(errno));
		return -1;
	}
	conn->fd = fd;
	if (connect(fd, addr, addrlen) == 0)
		return 0;
	/* EAGAIN on a UNIX socket means a full backlog: fail now, the
	   MTA retries later. */
	if (errno != EINPROGRESS && errno != EINTR) {
		err = errno;
		goto fail;
	}
	switch (smtp_conn_wait(conn, POLLOUT)) {
	case 0:
		*error_r = g_strdup("connect timed out");
		goto fail_msg;
	case -1:
		err = errno;
		goto fail;
	default:
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		err = errno;
	if (err == 0)
		return 0;
fail:
	*error_r = g_strdup_printf("connect failed: %s", g_strerror(err));
fail_msg:
	close(fd);
	conn->fd = -1;
	return -1;
}

static int smtp_conn_connect(struct smtp_conn *conn,
			     const struct smtp_client_target *target,
			     char **error_r)
{
	smtp_conn_start_command(conn);
	if (target->unix_path != NULL) {
		struct sockaddr_un sun;
		char *error = NULL;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(target->unix_path) >= sizeof(sun.sun_path)) {
			*error_r = g_strdup("socket path too long");
			return -1;
		}
		strcpy(sun.sun_path, target->unix_path);
		if (smtp_conn_connect_addr(conn, AF_UNIX,
					   (struct sockaddr *)&sun,
					   sizeof(sun), &error) < 0) {
			*error_r = g_strdup_printf("%s: %s", target->unix_path,
						   error);
			g_free(error);
			return -1;
		}
		return 0;
	}

	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	GString *errors = g_string_new(NULL);
	int ret;

	if (target->host == NULL || target->port == 0) {
		*error_r = g_strdup("no host or port given");
		g_string_free(errors, TRUE);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	g_snprintf(port, sizeof(port), "%u", target->port);
	ret = getaddrinfo(target->host, port, &hints, &res);
	if (ret != 0) {
		*error_r = g_strdup_printf("cannot resolve %s: %s",
					   target->host, gai_strerror(ret));
		g_string_free(errors, TRUE);
		return -1;
	}
	/* Try each address in turn; the deadline covers them all so a
	   list of dead addresses cannot multiply the timeout. */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		char *error = NULL;

		if (smtp_conn_connect_addr(conn, ai->ai_family, ai->ai_addr,
					   ai->ai_addrlen, &error) == 0) {
			freeaddrinfo(res);
			g_string_free(errors, TRUE);
			return 0;
		}
		if (errors->len > 0)
			g_string_append(errors, "; ");
		g_string_append(errors, error);
		g_free(error);
		if (smtp_conn_time_left_ms(conn) == 0)
			break;
	}
	freeaddrinfo(res);
	*error_r = g_strdup_printf("%s:%u: %s", target->host, target->port,
				   errors->len > 0 ? errors->str :
				   "no address");
	g_string_free(errors, TRUE);
	return -1;
}

/* --- protocol ---------------------------------------------------------- */

static void smtp_conn_ehlo_keyword(struct smtp_conn *conn, const char *kw)
{
	size_t n = strcspn(kw, " ");

	if (n == 8 && g_ascii_strncasecmp(kw, "8BITMIME", 8) == 0)
		conn->ext_8bitmime = true;
	else if (n == 8 && g_ascii_strncasecmp(kw, "SMTPUTF8", 8) == 0)
		conn->ext_smtputf8 = true;
	else if (n == 4 && g_ascii_strncasecmp(kw, "SIZE", 4) == 0)
		conn->ext_size = true;
}

/* Envelope addresses reach the command line: anything that could end the
   path or the line (CR, LF, <, >, controls, white space) is refused before
   we connect, so hostile input cannot inject commands. */
static bool smtp_path_is_valid(const char *path, bool allow_empty)
{
	size_t len;

	if (path == NULL)
		return false;
	len = strlen(path);
	if (len == 0)
		return allow_empty;
	if (len > SMTP_CLIENT_MAX_PATH)
		return false;
	for (const unsigned char *p = (const unsigned char *)path;
	     *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	}
	return true;
}

static bool smtp_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return true;
	}
	return false;
}

static const char *smtp_helo_name(const struct smtp_client_target *target)
{
	const char *name = target->helo_name;

	if (name == NULL)
		name = g_get_host_name();
	if (name == NULL || *name == '\0' ||
	    !smtp_path_is_valid(name, false))
		return "localhost";
	return name;
}

/* Encodes the message for the DATA phase (RFC 5321 4.5.2): every line end
   becomes CRLF, a bare CR counts as a line end (RFC 5321 2.3.8 forbids
   sending it alone, and a lone CR next to a dot is what "SMTP smuggling"
   abuses), and a line starting with '.' gets one more.  The final CRLF.CRLF
   is therefore the only end-of-data sequence on the wire. */
static bool smtp_conn_send_data(struct smtp_conn *conn, GBytes *data,
				char **error_r)
{
	gsize len = 0;
	const char *p = data == NULL ? NULL : g_bytes_get_data(data, &len);
	GString *out = g_string_sized_new(SMTP_CLIENT_DATA_CHUNK + 16);
	bool at_line_start = true;
	bool ok = true;

	for (gsize i = 0; i < len && ok; i++) {
		char c = p[i];

		if (at_line_start && c == '.')
			g_string_append_c(out, '.');
		if (c == '\r') {
			if (i + 1 < len && p[i + 1] == '\n')
				i++;
			g_string_append(out, "\r\n");
			at_line_start = true;
		} else if (c == '\n') {
			g_string_append(out, "\r\n");
			at_line_start = true;
		} else {
			g_string_append_c(out, c);
			at_line_start = false;
		}
		if (out->len >= SMTP_CLIENT_DATA_CHUNK) {
			/* Progress resets the deadline: a large message on
			   a slow link is not a stalled server. */
			smtp_conn_start_command(conn);
			ok = smtp_conn_write(conn, out->str, out->len,
					     error_r);
			g_string_truncate(out, 0);
		}
	}
	if (ok) {
		if (!at_line_start)
			g_string_append(out, "\r\n");
		g_string_append(out, ".\r\n");
		smtp_conn_start_command(conn);
		ok = smtp_conn_write(conn, out->str, out->len, error_r);
	}
	g_string_free(out, TRUE);
	return ok;
}

static char *smtp_reply_error(const char *what, const char *rcpt,
			      const struct smtp_reply *reply)
{
	if (rcpt != NULL)
		return g_strdup_printf("%s <%s> refused: %s", what, rcpt,
				       reply->text->str);
	return g_strdup_printf("%s refused: %s", what, reply->text->str);
}

static void smtp_conn_quit(struct smtp_conn *conn)
{
	struct smtp_reply reply = { 0, g_string_new(NULL) };
	char *error = NULL;

	if (!conn->broken) {
		int saved = conn->timeout_ms;

		/* The transaction is settled; do not let QUIT keep the
		   delivery waiting for a full command timeout. */
		if (conn->timeout_ms > SMTP_CLIENT_QUIT_TIMEOUT_MS)
			conn->timeout_ms = SMTP_CLIENT_QUIT_TIMEOUT_MS;
		(void)smtp_conn_command(conn, "QUIT", &reply, NULL, &error);
		conn->timeout_ms = saved;
		g_free(error);
	}
	g_string_free(reply.text, TRUE);
}

/* Connection-level failure: every recipient not yet settled gets it. */
static void smtp_txn_conn_error(struct smtp_txn *txn, const char *stage,
				char *error)
{
	smtp_txn_fail(txn, SMTP_CLIENT_TEMPFAIL,
		      g_strdup_printf("%s: %s", stage, error));
	g_free(error);
}

static void smtp_session(struct smtp_conn *conn,
			 const struct smtp_client_target *target,
			 const char *envelope_from,
			 const char *const *recipients,
			 unsigned int recipients_count, GBytes *data,
			 struct smtp_txn *txn)
{
	struct smtp_reply reply = { 0, g_string_new(NULL) };
	GString *cmd = g_string_new(NULL);
	char *error = NULL;
	unsigned int accepted = 0;
	gsize data_len = 0;
	const char *data_ptr = data == NULL ? NULL :
		g_bytes_get_data(data, &data_len);
	const char **accepted_rcpts = g_new0(const char *, recipients_count + 1);
	bool utf8;

	smtp_conn_start_command(conn);
	if (!smtp_conn_read_reply(conn, &reply, NULL, &error)) {
		smtp_txn_conn_error(txn, "greeting", error);
		goto out;
	}
	if (reply.code != 220) {
		smtp_txn_fail(txn, smtp_code_failure(reply.code),
			      smtp_reply_error("connection", NULL, &reply));
		goto quit;
	}

	g_string_printf(cmd, "%s %s", target->lmtp ? "LHLO" : "EHLO",
			smtp_helo_name(target));
	if (!smtp_conn_command(conn, cmd->str, &reply,
			       smtp_conn_ehlo_keyword, &error)) {
		smtp_txn_conn_error(txn, target->lmtp ? "LHLO" : "EHLO",
				    error);
		goto out;
	}
	if (reply.code != 250 && !target->lmtp &&
	    smtp_code_status(reply.code) == SMTP_CLIENT_PERMFAIL) {
		/* RFC 5321 3.2: a server without EHLO still speaks HELO. */
		g_string_printf(cmd, "HELO %s", smtp_helo_name(target));
		if (!smtp_conn_command(conn, cmd->str, &reply, NULL,
				       &error)) {
			smtp_txn_conn_error(txn, "HELO", error);
			goto out;
		}
	}
	if (reply.code != 250) {
		smtp_txn_fail(txn, smtp_code_failure(reply.code),
			      smtp_reply_error(target->lmtp ? "LHLO" : "EHLO",
					       NULL, &reply));
		goto quit;
	}

	utf8 = smtp_has_8bit(envelope_from, strlen(envelope_from));
	for (unsigned int i = 0; i < recipients_count; i++)
		utf8 = utf8 || smtp_has_8bit(recipients[i],
					     strlen(recipients[i]));
	g_string_printf(cmd, "MAIL FROM:<%s>", envelope_from);
	if (conn->ext_size)
		g_string_append_printf(cmd, " SIZE=%" G_GSIZE_FORMAT,
				       data_len);
	if (conn->ext_8bitmime && smtp_has_8bit(data_ptr, data_len))
		g_string_append(cmd, " BODY=8BITMIME");
	if (conn->ext_smtputf8 && utf8)
		g_string_append(cmd, " SMTPUTF8");
	if (!smtp_conn_command(conn, cmd->str, &reply, NULL, &error)) {
		smtp_txn_conn_error(txn, "MAIL FROM", error);
		goto out;
	}
	if (smtp_code_status(reply.code) != SMTP_CLIENT_OK) {
		smtp_txn_fail(txn, smtp_code_status(reply.code),
			      smtp_reply_error("MAIL FROM", envelope_from,
					       &reply));
		goto quit;
	}

	for (unsigned int i = 0; i < recipients_count; i++) {
		g_string_printf(cmd, "RCPT TO:<%s>", recipients[i]);
		if (!smtp_conn_command(conn, cmd->str, &reply, NULL, &error)) {
			smtp_txn_conn_error(txn, "RCPT TO", error);
			goto out;
		}
		if (smtp_code_status(reply.code) != SMTP_CLIENT_OK) {
			smtp_txn_fail(txn, smtp_code_status(reply.code),
				      smtp_reply_error("RCPT TO", recipients[i],
						       &reply));
			continue;
		}
		accepted_rcpts[accepted++] = recipients[i];
	}
	if (accepted == 0)
		goto quit;

	if (!smtp_conn_command(conn, "DATA", &reply, NULL, &error)) {
		smtp_txn_conn_error(txn, "DATA", error);
		goto out;
	}
	if (reply.code != 354) {
		smtp_txn_fail(txn, smtp_code_failure(reply.code),
			      smtp_reply_error("DATA", NULL, &reply));
		goto quit;
	}
	if (!smtp_conn_send_data(conn, data, &error)) {
		smtp_txn_conn_error(txn, "message data", error);
		goto out;
	}
	/* RFC 2033 4.2: LMTP answers once per accepted recipient, in RCPT
	   order; SMTP answers once for all of them. */
	for (unsigned int i = 0; i < (target->lmtp ? accepted : 1); i++) {
		smtp_conn_start_command(conn);
		if (!smtp_conn_read_reply(conn, &reply, NULL, &error)) {
			smtp_txn_conn_error(txn, "end of data", error);
			goto out;
		}
		if (smtp_code_status(reply.code) != SMTP_CLIENT_OK) {
			smtp_txn_fail(txn, smtp_code_status(reply.code),
				      smtp_reply_error("message",
						       target->lmtp ?
						       accepted_rcpts[i] :
						       NULL, &reply));
		}
	}
quit:
	smtp_conn_quit(conn);
out:
	g_free(accepted_rcpts);
	g_string_free(cmd, TRUE);
	g_string_free(reply.text, TRUE);
}

enum smtp_client_status
smtp_client_send(const struct smtp_client_target *target,
		 const char *envelope_from, const char *const *recipients,
		 unsigned int recipients_count, GBytes *data, char **error_r)
{
	struct smtp_conn conn;
	struct smtp_txn txn = { SMTP_CLIENT_OK, NULL };
	char *error = NULL;

	if (error_r != NULL)
		*error_r = NULL;
	if (envelope_from == NULL)
		envelope_from = "";
	if (!smtp_path_is_valid(envelope_from, true)) {
		smtp_txn_fail(&txn, SMTP_CLIENT_PERMFAIL,
			      g_strdup("invalid envelope sender"));
		goto done;
	}
	if (recipients_count == 0 || recipients == NULL) {
		smtp_txn_fail(&txn, SMTP_CLIENT_PERMFAIL,
			      g_strdup("no recipients"));
		goto done;
	}
	for (unsigned int i = 0; i < recipients_count; i++) {
		if (!smtp_path_is_valid(recipients[i], false)) {
			smtp_txn_fail(&txn, SMTP_CLIENT_PERMFAIL,
				      g_strdup("invalid envelope recipient"));
			goto done;
		}
	}

	memset(&conn, 0, sizeof(conn));
	conn.fd = -1;
	conn.timeout_ms = (int)(target->timeout_secs == 0 ?
				SMTP_CLIENT_DEFAULT_TIMEOUT_SECS :
				MIN(target->timeout_secs, 86400u)) * 1000;
	if (smtp_conn_connect(&conn, target, &error) < 0) {
		smtp_txn_fail(&txn, SMTP_CLIENT_TEMPFAIL, error);
		goto done;
	}
	smtp_session(&conn, target, envelope_from, recipients,
		     recipients_count, data, &txn);
	close(conn.fd);
done:
	if (error_r != NULL)
		*error_r = txn.error;
	else
		g_free(txn.error);
	return txn.status;
}
