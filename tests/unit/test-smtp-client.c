/* smtp-client against scripted servers (fake-smtp.h) that record the
   client's bytes: wire format, dot-stuffing, LMTP per-recipient replies,
   4xx/5xx at each stage, timeouts and hostile envelope input. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "smtp-client.h"
#include "fake-smtp.h"

#include <time.h>

static const char *one_rcpt[] = { "vincent.vole@example.com" };

static GBytes *bytes(const char *s)
{
	return g_bytes_new(s, strlen(s));
}

static void unix_target(struct smtp_client_target *t, const struct fake_smtp *f,
			bool lmtp)
{
	memset(t, 0, sizeof(*t));
	t->lmtp = lmtp;
	t->unix_path = f->socket_path;
	t->timeout_secs = 5;
	t->helo_name = "client.example.com";
}

/* Runs one client transaction against a fresh UNIX-socket server. */
static enum smtp_client_status
run_unix(const struct fake_smtp_script *script, bool lmtp, const char *from,
	 const char *const *rcpts, unsigned int n, const char *message,
	 char **transcript_r, char **error_r)
{
	struct fake_smtp f;
	struct smtp_client_target t;
	GBytes *data = bytes(message);
	enum smtp_client_status status;

	fake_smtp_start_unix(&f, script);
	unix_target(&t, &f, lmtp);
	status = smtp_client_send(&t, from, rcpts, n, data, error_r);
	g_bytes_unref(data);
	*transcript_r = fake_smtp_stop(&f, true);
	return status;
}

static void test_parse_target(void **state)
{
	struct smtp_client_target t;
	char *storage;

	(void)state;
	assert_true(smtp_client_parse_target("mx.example.com:2525", false, &t,
					     &storage));
	assert_string_equal(t.host, "mx.example.com");
	assert_int_equal(t.port, 2525);
	assert_null(t.unix_path);
	assert_false(t.lmtp);
	g_free(storage);

	assert_true(smtp_client_parse_target("[::1]:24", true, &t, &storage));
	assert_string_equal(t.host, "::1");
	assert_int_equal(t.port, 24);
	assert_true(t.lmtp);
	g_free(storage);

	assert_true(smtp_client_parse_target("/run/dovecot/lmtp", true, &t,
					     &storage));
	assert_string_equal(t.unix_path, "/run/dovecot/lmtp");
	assert_null(t.host);
	g_free(storage);

	const char *bad[] = {
		"", "host", "host:", ":25", "host:0", "host:65536",
		"host:25x", "::1:25", "[::1]", "[::1]25", "[]:25",
		"ho st:25", "host\r\n:25", "relative/sock", "host:-1",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		storage = (char *)"x";
		assert_false(smtp_client_parse_target(bad[i], false, &t,
						      &storage));
		assert_null(storage);
	}
	assert_false(smtp_client_parse_target(NULL, false, &t, &storage));

	/* sun_path is 108 bytes: longer paths cannot be connected to */
	char *longpath = g_strnfill(200, 'a');
	longpath[0] = '/';
	assert_false(smtp_client_parse_target(longpath, true, &t, &storage));
	g_free(longpath);
}

/* The whole SMTP dialogue, byte for byte, with dot-stuffing, LF -> CRLF,
   a lone CR made a line end, a missing final line end added, and
   extensions taken from a multi-line EHLO reply. */
static void test_smtp_wire_format(void **state)
{
	struct fake_smtp_script s = {
		.ehlo = "250-fake.example.com\r\n250-PIPELINING\r\n"
			"250-SIZE 10240000\r\n250 8BITMIME\r\n",
	};
	const char *msg = "Subject: t\n\n.hidden\n..two\nline\rCR\r\n"
		".\r\nend";
	char *transcript, *error;
	char *expected;

	(void)state;
	assert_int_equal(run_unix(&s, false, "calendar@example.com",
				  one_rcpt, 1, msg, &transcript, &error),
			 SMTP_CLIENT_OK);
	assert_null(error);
	expected = g_strdup_printf(
		"EHLO client.example.com\r\n"
		"MAIL FROM:<calendar@example.com> SIZE=%zu\r\n"
		"RCPT TO:<vincent.vole@example.com>\r\n"
		"DATA\r\n"
		"Subject: t\r\n\r\n..hidden\r\n...two\r\nline\r\nCR\r\n"
		"..\r\nend\r\n.\r\n"
		"QUIT\r\n", strlen(msg));
	assert_string_equal(transcript, expected);
	g_free(expected);
	g_free(transcript);
}

static void test_smtp_8bit_and_null_sender(void **state)
{
	struct fake_smtp_script s = {
		.ehlo = "250-fake\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
	};
	char *transcript, *error;

	(void)state;
	assert_int_equal(run_unix(&s, false, "", one_rcpt, 1,
				  "Subject: caf\xc3\xa9\r\n\r\nx\r\n",
				  &transcript, &error), SMTP_CLIENT_OK);
	assert_non_null(strstr(transcript,
			       "MAIL FROM:<> BODY=8BITMIME\r\n"));
	g_free(transcript);

	/* nothing advertised: no parameters at all */
	struct fake_smtp_script plain = { .ehlo = "250 fake\r\n" };
	assert_int_equal(run_unix(&plain, false, "a@example.com", one_rcpt, 1,
				  "Subject: caf\xc3\xa9\r\n\r\nx\r\n",
				  &transcript, &error), SMTP_CLIENT_OK);
	assert_non_null(strstr(transcript, "MAIL FROM:<a@example.com>\r\n"));
	g_free(transcript);
}

/* An old server without EHLO still gets the mail via HELO. */
static void test_smtp_helo_fallback(void **state)
{
	struct fake_smtp_script s = {
		.ehlo = "502 5.5.1 EHLO not implemented\r\n",
	};
	char *transcript, *error;

	(void)state;
	assert_int_equal(run_unix(&s, false, "a@example.com", one_rcpt, 1,
				  "x\r\n", &transcript, &error),
			 SMTP_CLIENT_OK);
	assert_true(g_str_has_prefix(transcript,
				     "EHLO client.example.com\r\n"
				     "HELO client.example.com\r\n"
				     "MAIL FROM:<a@example.com>\r\n"));
	g_free(transcript);
}

/* RFC 2033: one reply per accepted recipient after the dot; recipients
   refused at RCPT get none.  Worst status wins, the first failure is
   the one reported. */
static void test_lmtp_per_recipient(void **state)
{
	const char *rcpts[] = {
		"vincent.vole@example.com", "nosuch@example.com",
		"harvey.horse@example.com",
	};
	struct fake_smtp_script s = {
		.ehlo = "250-fake\r\n250 ENHANCEDSTATUSCODES\r\n",
		.rcpt = { NULL, "550 5.1.1 <nosuch@example.com> User doesn't "
			  "exist\r\n", NULL },
		.final = "250 2.0.0 <vincent.vole@example.com> Saved\r\n"
			 "452 4.2.2 <harvey.horse@example.com> Quota "
			 "exceeded\r\n",
	};
	char *transcript, *error;

	(void)state;
	assert_int_equal(run_unix(&s, true, "paul.boddie@example.com", rcpts,
				  3, "Subject: x\r\n\r\nbody\r\n",
				  &transcript, &error), SMTP_CLIENT_PERMFAIL);
	assert_non_null(error);
	assert_non_null(strstr(error, "nosuch@example.com"));
	assert_non_null(strstr(error, "550 5.1.1"));
	assert_string_equal(transcript,
		"LHLO client.example.com\r\n"
		"MAIL FROM:<paul.boddie@example.com>\r\n"
		"RCPT TO:<vincent.vole@example.com>\r\n"
		"RCPT TO:<nosuch@example.com>\r\n"
		"RCPT TO:<harvey.horse@example.com>\r\n"
		"DATA\r\n"
		"Subject: x\r\n\r\nbody\r\n.\r\n"
		"QUIT\r\n");
	g_free(error);
	g_free(transcript);

	/* every RCPT accepted, one temporary failure after the dot: the
	   client must read both replies (the second is the failure) */
	struct fake_smtp_script s2 = {
		.final = "250 2.0.0 <vincent.vole@example.com> Saved\r\n"
			 "451 4.3.0 <harvey.horse@example.com> Temporary "
			 "internal error\r\n",
	};
	const char *two[] = { "vincent.vole@example.com",
			      "harvey.horse@example.com" };
	assert_int_equal(run_unix(&s2, true, "paul.boddie@example.com", two,
				  2, "x\r\n", &transcript, &error),
			 SMTP_CLIENT_TEMPFAIL);
	assert_non_null(strstr(error, "harvey.horse@example.com"));
	assert_non_null(strstr(error, "451 4.3.0"));
	assert_non_null(strstr(transcript, ".\r\nQUIT\r\n"));
	g_free(error);
	g_free(transcript);
}

/* A multi-line reply to the final dot is one reply, not several. */
static void test_lmtp_multiline_final(void **state)
{
	struct fake_smtp_script s = {
		.final = "250-2.0.0 first line\r\n250 2.0.0 Saved\r\n",
	};
	char *transcript, *error;

	(void)state;
	assert_int_equal(run_unix(&s, true, "a@example.com", one_rcpt, 1,
				  "x\r\n", &transcript, &error),
			 SMTP_CLIENT_OK);
	assert_null(error);
	assert_true(g_str_has_suffix(transcript, ".\r\nQUIT\r\n"));
	g_free(transcript);
}

static void test_rcpt_tempfail(void **state)
{
	struct fake_smtp_script s = {
		.rcpt = { "450 4.2.1 Mailbox busy, try later\r\n" },
	};
	char *transcript, *error;

	(void)state;
	assert_int_equal(run_unix(&s, false, "a@example.com", one_rcpt, 1,
				  "x\r\n", &transcript, &error),
			 SMTP_CLIENT_TEMPFAIL);
	assert_non_null(strstr(error, "450 4.2.1 Mailbox busy"));
	/* no accepted recipient: no DATA */
	assert_null(strstr(transcript, "DATA"));
	assert_true(g_str_has_suffix(transcript, "QUIT\r\n"));
	g_free(error);
	g_free(transcript);
}

static void test_data_permfail(void **state)
{
	struct fake_smtp_script s = {
		.data = "554-5.7.1 rejected\r\n554 5.7.1 no thanks\r\n",
	};
	char *transcript, *error;

	(void)state;
	assert_int_equal(run_unix(&s, false, "a@example.com", one_rcpt, 1,
				  "secret body\r\n", &transcript, &error),
			 SMTP_CLIENT_PERMFAIL);
	assert_non_null(strstr(error, "554-5.7.1 rejected"));
	assert_non_null(strstr(error, "554 5.7.1 no thanks"));
	assert_null(strstr(transcript, "secret body"));
	g_free(error);
	g_free(transcript);

	/* 5xx after the dot (SMTP: one reply for the transaction) */
	struct fake_smtp_script s2 = {
		.final = "552 5.3.4 Message too big\r\n",
	};
	assert_int_equal(run_unix(&s2, false, "a@example.com", one_rcpt, 1,
				  "x\r\n", &transcript, &error),
			 SMTP_CLIENT_PERMFAIL);
	assert_non_null(strstr(error, "552 5.3.4"));
	g_free(error);
	g_free(transcript);

	/* MAIL FROM refused */
	struct fake_smtp_script s3 = {
		.mail = "421 4.3.2 shutting down\r\n",
	};
	assert_int_equal(run_unix(&s3, false, "a@example.com", one_rcpt, 1,
				  "x\r\n", &transcript, &error),
			 SMTP_CLIENT_TEMPFAIL);
	assert_non_null(strstr(error, "421 4.3.2"));
	assert_null(strstr(transcript, "RCPT"));
	g_free(error);
	g_free(transcript);
}

static void test_greeting_refused(void **state)
{
	struct fake_smtp_script s = {
		.greeting = "554 5.3.2 no service for you\r\n",
	};
	char *transcript, *error;

	(void)state;
	assert_int_equal(run_unix(&s, false, "a@example.com", one_rcpt, 1,
				  "x\r\n", &transcript, &error),
			 SMTP_CLIENT_PERMFAIL);
	assert_non_null(strstr(error, "554 5.3.2"));
	assert_string_equal(transcript, "QUIT\r\n");
	g_free(error);
	g_free(transcript);
}

static void test_timeout(const char *hang_on, const char *expect_in_error)
{
	struct fake_smtp_script s = {
		.hang_on = hang_on,
		.hang_in_data = hang_on == NULL,
	};
	struct fake_smtp f;
	struct smtp_client_target t;
	GBytes *data = bytes("x\r\n");
	char *error = NULL, *transcript;
	gint64 start, elapsed;

	fake_smtp_start_unix(&f, &s);
	unix_target(&t, &f, true);
	t.timeout_secs = 1;
	start = g_get_monotonic_time();
	assert_int_equal(smtp_client_send(&t, "a@example.com", one_rcpt, 1,
					  data, &error),
			 SMTP_CLIENT_TEMPFAIL);
	elapsed = g_get_monotonic_time() - start;
	assert_true(elapsed >= 900000);
	assert_true(elapsed < 2500000);
	assert_non_null(error);
	assert_non_null(strstr(error, "timed out"));
	assert_non_null(strstr(error, expect_in_error));
	g_free(error);
	g_bytes_unref(data);
	transcript = fake_smtp_stop(&f, false);
	g_free(transcript);
}

static void test_timeout_greeting(void **state)
{
	(void)state;
	test_timeout("greeting", "greeting");
}

static void test_timeout_rcpt(void **state)
{
	(void)state;
	test_timeout("RCPT", "RCPT");
}

static void test_timeout_after_dot(void **state)
{
	(void)state;
	/* stops reading in the body: the reply after the dot never
	   comes */
	test_timeout(NULL, "end of data");
}

/* The server hangs up: an error, never SIGPIPE (which would kill the
   test program here). */
static void test_server_closes(void **state)
{
	struct fake_smtp_script s = { .close_on = "MAIL" };
	char *transcript, *error;
	GString *big_text = g_string_new(NULL);
	char *big;

	while (big_text->len < 4 * 1024 * 1024)
		g_string_append(big_text, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	big = g_string_free(big_text, FALSE);

	(void)state;
	assert_int_equal(run_unix(&s, false, "a@example.com", one_rcpt, 1,
				  "x\r\n", &transcript, &error),
			 SMTP_CLIENT_TEMPFAIL);
	assert_non_null(strstr(error, "closed"));
	g_free(error);
	g_free(transcript);

	/* closed while we are writing a large body */
	struct fake_smtp_script s2 = { .close_in_data = true };
	assert_int_equal(run_unix(&s2, false, "a@example.com", one_rcpt, 1,
				  big, &transcript, &error),
			 SMTP_CLIENT_TEMPFAIL);
	assert_non_null(error);
	g_free(error);
	g_free(transcript);
	g_free(big);
}

static void test_malformed_reply(void **state)
{
	struct fake_smtp_script s = { .ehlo = "hello there\r\n" };
	char *transcript, *error;

	(void)state;
	assert_int_equal(run_unix(&s, true, "a@example.com", one_rcpt, 1,
				  "x\r\n", &transcript, &error),
			 SMTP_CLIENT_TEMPFAIL);
	assert_non_null(strstr(error, "malformed"));
	assert_non_null(strstr(error, "hello there"));
	g_free(error);
	g_free(transcript);

	/* control characters from the server are not passed on raw */
	struct fake_smtp_script s2 = {
		.rcpt = { "550 bad\033[31mred\r\n" },
	};
	assert_int_equal(run_unix(&s2, true, "a@example.com", one_rcpt, 1,
				  "x\r\n", &transcript, &error),
			 SMTP_CLIENT_PERMFAIL);
	assert_null(strchr(error, '\033'));
	g_free(error);
	g_free(transcript);
}

/* Hostile envelope values are refused before anything is sent. */
static void test_hostile_envelope(void **state)
{
	const char *bad_rcpts[] = {
		"a@example.com>\r\nRCPT TO:<evil@example.com",
		"a@example.com\nDATA",
		"<a@example.com>",
		"a@exa\tmple.com",
		"a@exa\x01mple.com",
		"a b@example.com",
		"",
	};
	struct fake_smtp_script s = { 0 };

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad_rcpts); i++) {
		struct fake_smtp f;
		struct smtp_client_target t;
		GBytes *data = bytes("x\r\n");
		const char *r[] = { "ok@example.com", bad_rcpts[i] };
		char *error = NULL, *transcript;

		fake_smtp_start_unix(&f, &s);
		unix_target(&t, &f, false);
		assert_int_equal(smtp_client_send(&t, "a@example.com", r, 2,
						  data, &error),
				 SMTP_CLIENT_PERMFAIL);
		assert_non_null(strstr(error, "invalid envelope recipient"));
		g_free(error);

		assert_int_equal(smtp_client_send(&t, bad_rcpts[i][0] == '\0' ?
						  "a\r\n@b" : bad_rcpts[i],
						  one_rcpt, 1, data, &error),
				 SMTP_CLIENT_PERMFAIL);
		assert_non_null(strstr(error, "invalid envelope sender"));
		g_free(error);

		g_bytes_unref(data);
		transcript = fake_smtp_stop(&f, false);
		assert_string_equal(transcript, "");
		g_free(transcript);
	}

	/* no recipients at all */
	struct smtp_client_target t = { .unix_path = "/nonexistent" };
	char *error = NULL;
	GBytes *data = bytes("x");
	assert_int_equal(smtp_client_send(&t, "a@example.com", NULL, 0, data,
					  &error), SMTP_CLIENT_PERMFAIL);
	g_free(error);
	g_bytes_unref(data);
}

static void test_connect_failures(void **state)
{
	struct smtp_client_target t = { .lmtp = true, .timeout_secs = 2 };
	GBytes *data = bytes("x\r\n");
	char *dir = g_dir_make_tmp("smtp-client-XXXXXX", NULL);
	char *path = g_build_filename(dir, "nosock", NULL);
	char *error = NULL;

	(void)state;
	t.unix_path = path;
	assert_int_equal(smtp_client_send(&t, "a@example.com", one_rcpt, 1,
					  data, &error),
			 SMTP_CLIENT_TEMPFAIL);
	assert_non_null(strstr(error, path));
	g_free(error);

	/* nobody listens on this port (bound, not listening) */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	t.unix_path = NULL;
	t.host = "127.0.0.1";
	t.port = ntohs(sin.sin_port);
	assert_int_equal(smtp_client_send(&t, "a@example.com", one_rcpt, 1,
					  data, &error),
			 SMTP_CLIENT_TEMPFAIL);
	assert_non_null(strstr(error, "connect"));
	g_free(error);
	close(fd);

	/* unresolvable host (RFC 6761 .invalid) */
	t.host = "no-such-host.invalid";
	assert_int_equal(smtp_client_send(&t, "a@example.com", one_rcpt, 1,
					  data, &error),
			 SMTP_CLIENT_TEMPFAIL);
	assert_non_null(strstr(error, "no-such-host.invalid"));
	g_free(error);

	/* error_r may be NULL */
	assert_int_equal(smtp_client_send(&t, "a@example.com", one_rcpt, 1,
					  data, NULL),
			 SMTP_CLIENT_TEMPFAIL);

	g_bytes_unref(data);
	g_free(path);
	g_rmdir(dir);
	g_free(dir);
}

static void run_tcp(bool ipv6)
{
	struct fake_smtp_script s = { 0 };
	struct fake_smtp f;
	struct smtp_client_target t;
	char *storage, *spec, *error = NULL, *transcript;
	GBytes *data = bytes("Subject: tcp\r\n\r\nhi\r\n");

	if (!fake_smtp_start_tcp(&f, ipv6, &s)) {
		g_bytes_unref(data);
		g_free(fake_smtp_stop(&f, false));
		skip();
	}
	spec = g_strdup_printf(ipv6 ? "[::1]:%u" : "127.0.0.1:%u", f.port);
	assert_true(smtp_client_parse_target(spec, true, &t, &storage));
	t.timeout_secs = 5;
	assert_int_equal(smtp_client_send(&t, "a@example.com", one_rcpt, 1,
					  data, &error), SMTP_CLIENT_OK);
	assert_null(error);
	transcript = fake_smtp_stop(&f, true);
	assert_true(g_str_has_prefix(transcript, "LHLO "));
	assert_non_null(strstr(transcript, "Subject: tcp\r\n\r\nhi\r\n.\r\n"));
	g_free(transcript);
	g_free(storage);
	g_free(spec);
	g_bytes_unref(data);
}

static void test_tcp_ipv4(void **state)
{
	(void)state;
	run_tcp(false);
}

static void test_tcp_ipv6(void **state)
{
	(void)state;
	run_tcp(true);
}

/* An empty message is still a well-formed DATA phase. */
static void test_empty_message(void **state)
{
	struct fake_smtp_script s = { 0 };
	char *transcript, *error;

	(void)state;
	assert_int_equal(run_unix(&s, false, "a@example.com", one_rcpt, 1,
				  "", &transcript, &error), SMTP_CLIENT_OK);
	assert_non_null(strstr(transcript, "DATA\r\n.\r\nQUIT\r\n"));
	g_free(transcript);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_target),
		cmocka_unit_test(test_smtp_wire_format),
		cmocka_unit_test(test_smtp_8bit_and_null_sender),
		cmocka_unit_test(test_smtp_helo_fallback),
		cmocka_unit_test(test_lmtp_per_recipient),
		cmocka_unit_test(test_lmtp_multiline_final),
		cmocka_unit_test(test_rcpt_tempfail),
		cmocka_unit_test(test_data_permfail),
		cmocka_unit_test(test_greeting_refused),
		cmocka_unit_test(test_timeout_greeting),
		cmocka_unit_test(test_timeout_rcpt),
		cmocka_unit_test(test_timeout_after_dot),
		cmocka_unit_test(test_server_closes),
		cmocka_unit_test(test_malformed_reply),
		cmocka_unit_test(test_hostile_envelope),
		cmocka_unit_test(test_connect_failures),
		cmocka_unit_test(test_tcp_ipv4),
		cmocka_unit_test(test_tcp_ipv6),
		cmocka_unit_test(test_empty_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
