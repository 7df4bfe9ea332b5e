/* send_outgoing: the sendmail path against small scripts that record their
   argv and stdin (our fork/exec logic, not a real MTA), and the SMTP
   submission path against the scripted server of fake-smtp.h. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "send.h"
#include "config.h"
#include "imip.h"
#include "fake-smtp.h"

#include <fcntl.h>
#include <sys/stat.h>

struct send_fixture {
	char *dir;
	struct imip_config config;
	struct imip_outgoing out;
};

static const char message_crlf[] =
	"From: calendar@example.com\r\n"
	"To: vincent.vole@example.com\r\n"
	"Subject: reply\r\n"
	"\r\n"
	".\r\n"
	"body with lone\rCR\r\n";

static const char message_lf[] =
	"From: calendar@example.com\n"
	"To: vincent.vole@example.com\n"
	"Subject: reply\n"
	"\n"
	".\n"
	"body with lone\rCR\n";

static char *fixture_path(const struct send_fixture *fx, const char *name)
{
	return g_build_filename(fx->dir, name, NULL);
}

/* Writes an executable /bin/sh script into the fixture directory. */
static char *write_script(const struct send_fixture *fx, const char *name,
			  const char *body)
{
	char *path = fixture_path(fx, name);
	char *text = g_strdup_printf("#!/bin/sh\nD='%s'\n%s\n", fx->dir, body);

	assert_true(g_file_set_contents(path, text, -1, NULL));
	assert_int_equal(chmod(path, 0700), 0);
	g_free(text);
	return path;
}

static char *read_fixture_file(const struct send_fixture *fx,
			       const char *name)
{
	char *path = fixture_path(fx, name), *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		text = NULL;
	g_free(path);
	return text;
}

static int setup(void **state)
{
	struct send_fixture *fx = g_new0(struct send_fixture, 1);

	fx->dir = g_dir_make_tmp("test-send-XXXXXX", NULL);
	assert_non_null(fx->dir);
	fx->out.envelope_from = g_strdup("calendar@example.com");
	fx->out.recipient = g_strdup("vincent.vole@example.com");
	fx->out.data = g_bytes_new(message_crlf, strlen(message_crlf));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct send_fixture *fx = *state;
	GDir *d = g_dir_open(fx->dir, 0, NULL);
	const char *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		char *p = fixture_path(fx, name);

		g_unlink(p);
		g_free(p);
	}
	if (d != NULL)
		g_dir_close(d);
	g_rmdir(fx->dir);
	g_free(fx->dir);
	g_free(fx->config.sendmail_path);
	g_free(fx->config.submission_host);
	g_free(fx->out.envelope_from);
	g_free(fx->out.recipient);
	g_bytes_unref(fx->out.data);
	g_free(fx);
	return 0;
}

/* argv exactly {path, -i, -f, from, --, rcpt}; stdin with LF line ends;
   no descriptor of ours leaks into the child. */
static void test_sendmail_ok(void **state)
{
	struct send_fixture *fx = *state;
	char *error = NULL, *argv, *stdin_text, *fds, *expected;
	int leak, nullfd;

	fx->config.sendmail_path = write_script(fx, "sendmail",
		"for a in \"$0\" \"$@\"; do printf '%s\\n' \"$a\"; done > \"$D/argv\"\n"
		"cat > \"$D/stdin\"\n"
		"ls /proc/self/fd > \"$D/fds\"\n"
		"exit 0");
	/* a descriptor without CLOEXEC, as a careless adapter may have */
	nullfd = open("/dev/null", O_RDONLY);
	leak = dup2(nullfd, 77);
	assert_int_equal(leak, 77);

	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_OK);
	assert_null(error);
	close(leak);
	close(nullfd);

	argv = read_fixture_file(fx, "argv");
	expected = g_strdup_printf("%s\n-i\n-f\ncalendar@example.com\n--\n"
				   "vincent.vole@example.com\n",
				   fx->config.sendmail_path);
	assert_string_equal(argv, expected);
	g_free(expected);

	stdin_text = read_fixture_file(fx, "stdin");
	assert_string_equal(stdin_text, message_lf);

	fds = read_fixture_file(fx, "fds");
	assert_non_null(fds);
	gchar **lines = g_strsplit(fds, "\n", -1);
	for (gchar **l = lines; *l != NULL; l++) {
		/* 0-2, plus the one ls opens itself for /proc/self/fd */
		assert_true(**l == '\0' || atoi(*l) <= 3);
	}
	g_strfreev(lines);

	g_free(argv);
	g_free(stdin_text);
	g_free(fds);
}

static void test_sendmail_exit_status(void **state)
{
	struct send_fixture *fx = *state;
	char *error = NULL;

	fx->config.sendmail_path = write_script(fx, "sendmail",
		"cat > /dev/null\n"
		"echo 'sendmail: queue file write error' >&2\n"
		"exit 75");
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_TEMPFAIL);
	assert_non_null(error);
	assert_non_null(strstr(error, "status 75"));
	assert_non_null(strstr(error, "queue file write error"));
	g_free(error);
}

/* A sendmail that exits without reading a large message: EPIPE, never a
   SIGPIPE that kills us; and exit 0 is then not success. */
static void test_sendmail_no_read(void **state)
{
	struct send_fixture *fx = *state;
	GString *big = g_string_new(NULL);
	char *error = NULL;

	while (big->len < 2 * 1024 * 1024)
		g_string_append(big, "0123456789012345678901234567890123456\r\n");
	g_bytes_unref(fx->out.data);
	fx->out.data = g_bytes_new(big->str, big->len);
	g_string_free(big, TRUE);

	fx->config.sendmail_path = write_script(fx, "sendmail", "exit 0");
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_TEMPFAIL);
	assert_non_null(strstr(error, "did not read"));
	g_free(error);

	g_free(fx->config.sendmail_path);
	fx->config.sendmail_path = write_script(fx, "sendmail2", "exit 1");
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_PERMFAIL);
	assert_non_null(strstr(error, "status 1"));
	g_free(error);
}

static void test_sendmail_exec_failure(void **state)
{
	struct send_fixture *fx = *state;
	char *error = NULL;

	fx->config.sendmail_path = fixture_path(fx, "does-not-exist");
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_TEMPFAIL);
	assert_non_null(strstr(error, "cannot execute"));
	assert_non_null(strstr(error, "No such file"));
	g_free(error);

	/* relative paths would depend on the MTA's working directory */
	g_free(fx->config.sendmail_path);
	fx->config.sendmail_path = g_strdup("sendmail");
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_TEMPFAIL);
	assert_non_null(strstr(error, "absolute"));
	g_free(error);
}

static void test_sendmail_killed(void **state)
{
	struct send_fixture *fx = *state;
	char *error = NULL;

	fx->config.sendmail_path = write_script(fx, "sendmail",
						"cat >/dev/null; kill -9 $$");
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_TEMPFAIL);
	assert_non_null(strstr(error, "signal 9"));
	g_free(error);
}

/* Hostile envelope values never reach the command line. */
static void test_sendmail_hostile_envelope(void **state)
{
	struct send_fixture *fx = *state;
	const char *bad[] = {
		"-oQ/tmp/evil", "a@example.com\n-X/tmp/log", "a b@example.com",
		"", "<a@example.com>",
	};
	char *error = NULL, *ran;

	fx->config.sendmail_path = write_script(fx, "sendmail",
						"touch \"$D/ran\"; cat >/dev/null");
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_free(fx->out.recipient);
		fx->out.recipient = g_strdup(bad[i]);
		assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
				 IMIP_SEND_PERMFAIL);
		assert_non_null(strstr(error, "recipient"));
		g_free(error);
	}
	g_free(fx->out.recipient);
	fx->out.recipient = g_strdup("vincent.vole@example.com");
	g_free(fx->out.envelope_from);
	fx->out.envelope_from = g_strdup("-bd");
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_PERMFAIL);
	assert_non_null(strstr(error, "sender"));
	g_free(error);

	ran = read_fixture_file(fx, "ran");
	assert_null(ran);
}

static void test_smtp_submission(void **state)
{
	struct send_fixture *fx = *state;
	struct fake_smtp_script s = {
		.ehlo = "250-fake\r\n250 8BITMIME\r\n",
	};
	struct fake_smtp f;
	char *error = NULL, *transcript;

	if (!fake_smtp_start_tcp(&f, false, &s)) {
		g_free(fake_smtp_stop(&f, false));
		skip();
	}
	fx->config.sendmail_path = g_strdup("/nonexistent/sendmail");
	fx->config.submission_host = g_strdup_printf("127.0.0.1:%u", f.port);
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_OK);
	assert_null(error);
	transcript = fake_smtp_stop(&f, true);
	assert_true(g_str_has_prefix(transcript, "EHLO "));
	assert_non_null(strstr(transcript,
		"MAIL FROM:<calendar@example.com>\r\n"
		"RCPT TO:<vincent.vole@example.com>\r\n"
		"DATA\r\n"
		"From: calendar@example.com\r\n"
		"To: vincent.vole@example.com\r\n"
		"Subject: reply\r\n"
		"\r\n"
		"..\r\n"
		"body with lone\r\nCR\r\n"
		".\r\nQUIT\r\n"));
	g_free(transcript);
}

static void test_smtp_submission_failure(void **state)
{
	struct send_fixture *fx = *state;
	struct fake_smtp_script s = {
		.rcpt = { "550 5.1.1 <vincent.vole@example.com>: Recipient "
			  "address rejected\r\n" },
	};
	struct fake_smtp f;
	char *error = NULL;

	fake_smtp_start_unix(&f, &s);
	fx->config.submission_host = g_strdup(f.socket_path);
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_PERMFAIL);
	assert_non_null(strstr(error, "permanent"));
	assert_non_null(strstr(error, "Recipient address rejected"));
	g_free(error);
	g_free(fake_smtp_stop(&f, true));

	/* no port: 25 (nothing listens there in a test; the error names
	   the address tried) */
	g_free(fx->config.submission_host);
	fx->config.submission_host = g_strdup("127.0.0.1");
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_TEMPFAIL);
	assert_non_null(strstr(error, "127.0.0.1:25"));
	g_free(error);

	g_free(fx->config.submission_host);
	fx->config.submission_host = g_strdup("::1:25");
	assert_int_equal(send_outgoing(&fx->config, &fx->out, &error),
			 IMIP_SEND_TEMPFAIL);
	assert_non_null(strstr(error, "invalid submission_host"));
	g_free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sendmail_ok, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sendmail_exit_status,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sendmail_no_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sendmail_exec_failure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sendmail_killed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sendmail_hostile_envelope,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_smtp_submission, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_smtp_submission_failure,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
