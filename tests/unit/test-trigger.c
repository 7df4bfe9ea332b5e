/* trigger.h: the Sieve trigger script over libsieve2. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"
#include "trigger.h"

#define PAUL "paul.boddie@example.com"
#define VINCENT "vincent.vole@example.com"

static const char invitation[] =
	"Return-Path: <" PAUL ">\n"
	"From: =?utf-8?q?Boddie=2C_Paul?= <" PAUL ">\n"
	"To: Vincent Vole <" VINCENT ">, harvey.horse@example.com\n"
	"Subject: =?utf-8?q?Caf=C3=A9?= meeting\n"
	"X-Mailer: Kontact\n"
	"Content-Type: text/calendar; method=REQUEST; charset=utf-8\n"
	"\n"
	"BEGIN:VCALENDAR\n"
	"X-Not-A-Header: Sieve must not see the body\n"
	"END:VCALENDAR\n";

static char *tmp_dir;

static int setup(void **state)
{
	(void)state;
	tmp_dir = g_dir_make_tmp("test-trigger-XXXXXX", NULL);
	return tmp_dir != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	GDir *dir = g_dir_open(tmp_dir, 0, NULL);
	const char *name;

	(void)state;
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		char *path = g_build_filename(tmp_dir, name, NULL);

		g_unlink(path);
		g_free(path);
	}
	if (dir != NULL)
		g_dir_close(dir);
	g_rmdir(tmp_dir);
	g_free(tmp_dir);
	return 0;
}

static char *write_script(const char *text)
{
	static unsigned int serial;
	char *name = g_strdup_printf("script%u.sieve", ++serial);
	char *path = g_build_filename(tmp_dir, name, NULL);

	assert_true(g_file_set_contents(path, text, -1, NULL));
	g_free(name);
	return path;
}

/* Runs `script` on `message` (NULL: the invitation); returns
   trigger_evaluate's result, fills *result. */
static int run_len(const char *script, const void *message, size_t len,
		   const char *from, const char *to,
		   struct trigger_result *result)
{
	char *path = write_script(script);
	GBytes *bytes;
	int ret;

	if (message == NULL) {
		message = invitation;
		len = strlen(invitation);
	}
	bytes = g_bytes_new(message, len);
	ret = trigger_evaluate(path, bytes, from, to, result);
	g_bytes_unref(bytes);
	g_free(path);
	return ret;
}

static int run(const char *script, const char *from, const char *to,
	       struct trigger_result *result)
{
	return run_len(script, NULL, 0, from, to, result);
}

/* true when the script lets the message be processed, asserting it ran */
static bool processes(const char *script, const char *from, const char *to)
{
	struct trigger_result r;
	bool process;

	assert_int_equal(run(script, from, to, &r), 0);
	assert_null(r.error);
	process = r.process;
	trigger_result_clear(&r);
	return process;
}

static void test_keep_and_discard(void **state)
{
	(void)state;
	assert_true(processes("keep;\n", PAUL, VINCENT));
	assert_false(processes("discard;\n", PAUL, VINCENT));
	assert_true(processes("require \"fileinto\";\nfileinto \"Calendar\";\n",
			      PAUL, VINCENT));
	/* RFC 5228 4.2: discard cancels only the implicit keep */
	assert_true(processes("keep;\ndiscard;\n", PAUL, VINCENT));
	assert_false(processes("discard;\nstop;\nkeep;\n", PAUL, VINCENT));
}

static void test_implicit_keep(void **state)
{
	(void)state;
	assert_true(processes("", PAUL, VINCENT));
	assert_true(processes("# nothing but a comment\n", PAUL, VINCENT));
	assert_true(processes("if false { discard; }\n", PAUL, VINCENT));
	assert_true(processes("if header :is \"x-nothing\" \"\" { discard; }\n",
			      PAUL, VINCENT));
}

static void test_header(void **state)
{
	static const char script[] =
		"if header :contains \"X-Mailer\" \"kontact\" { discard; }\n";

	(void)state;
	assert_false(processes(script, PAUL, VINCENT));
	assert_true(processes("if header :contains \"X-Mailer\" \"Outlook\" "
			      "{ discard; }\n", PAUL, VINCENT));
	/* RFC 2047 decoded (RFC 5228 2.7.2) */
	assert_false(processes("if header :is \"subject\" \"Café meeting\" "
			       "{ discard; }\n", PAUL, VINCENT));
	/* only the header is looked at */
	assert_true(processes("if exists \"X-Not-A-Header\" { discard; }\n",
			      PAUL, VINCENT));
	assert_false(processes("if exists [\"To\", \"Return-Path\"] "
			       "{ discard; }\n", PAUL, VINCENT));
}

static void test_address(void **state)
{
	(void)state;
	assert_false(processes("if address :domain :is \"from\" "
			       "\"example.com\" { discard; }\n", PAUL, VINCENT));
	assert_true(processes("if address :domain :is \"from\" "
			      "\"example.org\" { discard; }\n", PAUL, VINCENT));
	/* a decoded display name with a comma is still one address */
	assert_false(processes("if address :all :is \"from\" \"" PAUL "\" "
			       "{ discard; }\n", PAUL, VINCENT));
	assert_false(processes("if address :localpart :is \"to\" "
			       "\"harvey.horse\" { discard; }\n", PAUL, VINCENT));
	assert_false(processes("require \"subaddress\";\n"
			       "if envelope :detail :is \"to\" \"cal\" "
			       "{ discard; }\n", PAUL,
			       "vincent.vole+cal@example.com"));
	assert_false(processes("require \"subaddress\";\n"
			       "if envelope :user :is \"to\" \"vincent.vole\" "
			       "{ discard; }\n", PAUL,
			       "vincent.vole+cal@example.com"));
}

static void test_envelope(void **state)
{
	static const char from_paul[] =
		"require \"envelope\";\n"
		"if envelope :is \"from\" \"" PAUL "\" { discard; }\n";
	static const char to_vincent[] =
		"require \"envelope\";\n"
		"if envelope :all :is \"to\" \"" VINCENT "\" { discard; }\n";

	(void)state;
	assert_false(processes(from_paul, PAUL, VINCENT));
	assert_true(processes(from_paul, "mallory@evil.example", VINCENT));
	assert_true(processes(from_paul, NULL, VINCENT));
	assert_true(processes(from_paul, "<>", VINCENT));
	assert_false(processes(to_vincent, PAUL, VINCENT));
	assert_true(processes(to_vincent, PAUL, "harvey.horse@example.com"));
	assert_true(processes(to_vincent, PAUL, NULL));
	assert_false(processes("require \"envelope\";\n"
			       "if envelope :domain :is [\"from\", \"to\"] "
			       "\"example.com\" { discard; }\n", "", VINCENT));
}

static void test_size(void **state)
{
	(void)state;
	assert_false(processes("if size :under 10K { discard; }\n", PAUL,
			       VINCENT));
	assert_true(processes("if size :over 10K { discard; }\n", PAUL,
			      VINCENT));
}

static void test_unsupported_actions_keep(void **state)
{
	static const char *const scripts[] = {
		"redirect \"harvey.horse@example.com\";\ndiscard;\n",
		"require \"reject\";\nreject \"no\";\n",
		"require \"vacation\";\nvacation \"away\";\ndiscard;\n",
	};
	static const char *const actions[] = {
		"redirect", "reject", "vacation",
	};
	struct trigger_result r;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(scripts); i++) {
		assert_int_equal(run(scripts[i], PAUL, VINCENT, &r), 0);
		assert_true(r.process);
		assert_null(r.error);
		assert_int_equal(r.notes->len, 1);
		assert_non_null(strstr(g_ptr_array_index(r.notes, 0),
				       actions[i]));
		assert_non_null(strstr(g_ptr_array_index(r.notes, 0),
				       "not supported"));
		trigger_result_clear(&r);
	}
}

static void assert_fails(int ret, struct trigger_result *r, const char *what)
{
	assert_int_equal(ret, -1);
	assert_true(r->process);
	assert_non_null(r->error);
	assert_non_null(strstr(r->error, "trigger script"));
	assert_non_null(strstr(r->error, "failed"));
	assert_non_null(strstr(r->error, what));
	trigger_result_clear(r);
}

static void test_syntax_error(void **state)
{
	struct trigger_result r;

	(void)state;
	assert_fails(run("if header :contains \"subject\" \"x\" { discard;\n",
			 PAUL, VINCENT, &r), &r, "parse error");
	assert_fails(run("discard\n", PAUL, VINCENT, &r), &r, "line");
	assert_fails(run("frobnicate;\n", PAUL, VINCENT, &r), &r, "error");
	/* an extension libsieve has not: not compiled, processed */
	assert_fails(run("require \"include\";\ninclude \"x\";\ndiscard;\n",
			 PAUL, VINCENT, &r), &r, "include");
	/* libsieve2 would read an uninitialised pointer for other parts */
	assert_fails(run("require \"envelope\";\n"
			 "if envelope :is [\"to\", \"auth\"] \"x\" { discard; }\n",
			 PAUL, VINCENT, &r), &r, "\"auth\"");
	/* the same word in a comment or a string is not a test */
	assert_false(processes("require \"envelope\";\n# envelope \"auth\"\n"
			       "if header :is \"x-a\" \"envelope\" { keep; }\n"
			       "discard;\n", PAUL, VINCENT));
}

static void test_missing_script(void **state)
{
	struct trigger_result r;
	GBytes *bytes = g_bytes_new_static(invitation, strlen(invitation));
	char *path = g_build_filename(tmp_dir, "no-such.sieve", NULL);

	(void)state;
	assert_fails(trigger_evaluate(path, bytes, PAUL, VINCENT, &r), &r,
		     "no-such.sieve");
	assert_fails(trigger_evaluate("relative.sieve", bytes, PAUL, VINCENT,
				      &r), &r, "absolute");
	assert_fails(trigger_evaluate(NULL, bytes, PAUL, VINCENT, &r), &r,
		     "absolute");
	/* a directory is not a script */
	assert_fails(trigger_evaluate(tmp_dir, bytes, PAUL, VINCENT, &r), &r,
		     tmp_dir);
	g_free(path);
	g_bytes_unref(bytes);
}

static void test_script_with_nul(void **state)
{
	char *path = g_build_filename(tmp_dir, "nul.sieve", NULL);
	GBytes *bytes = g_bytes_new_static(invitation, strlen(invitation));
	struct trigger_result r;

	(void)state;
	assert_true(g_file_set_contents(path, "keep;\0discard;\n", 15, NULL));
	assert_fails(trigger_evaluate(path, bytes, PAUL, VINCENT, &r), &r,
		     "NUL");
	g_bytes_unref(bytes);
	g_free(path);
}

/* Hostile headers: never a crash, a result either way. */
static void run_hostile(const GString *message, bool want_process)
{
	static const char script[] =
		"require [\"envelope\", \"relational\", "
		"\"comparator-i;ascii-numeric\"];\n"
		"if anyof (address :domain :is [\"from\", \"to\", \"cc\"] "
		"\"example.com\",\n"
		"          header :contains [\"subject\", \"x-h99999\"] \"zzz\",\n"
		"          address :count \"ge\" :comparator "
		"\"i;ascii-numeric\" \"to\" \"3\") { discard; }\n";
	struct trigger_result r;

	assert_int_equal(run_len(script, message->str, message->len, PAUL,
				 VINCENT, &r), 0);
	assert_null(r.error);
	if (r.process != want_process)
		print_error("hostile message of %zu bytes: process=%d\n",
			    message->len, r.process);
	assert_true(r.process == want_process);
	trigger_result_clear(&r);
}

static void test_hostile_headers(void **state)
{
	GString *m = g_string_new(NULL);

	(void)state;
	/* a 2 MB header value */
	g_string_append(m, "From: mallory@evil.example\nSubject: ");
	for (int i = 0; i < 2 * 1024 * 1024; i++)
		g_string_append_c(m, 'z');
	g_string_append(m, "\n\nbody\n");
	run_hostile(m, false);

	/* 100,000 header fields */
	g_string_truncate(m, 0);
	for (int i = 0; i < 100000; i++)
		g_string_append_printf(m, "X-H%d: v\n", i);
	g_string_append(m, "From: mallory@evil.example\n\nbody\n");
	run_hostile(m, true);

	/* deeply nested comments in an address */
	g_string_truncate(m, 0);
	g_string_append(m, "From: ");
	for (int i = 0; i < 100000; i++)
		g_string_append_c(m, '(');
	g_string_append(m, "x@example.com\n\n");
	run_hostile(m, true);

	/* 20,000 addresses in one field */
	g_string_truncate(m, 0);
	g_string_append(m, "From: mallory@evil.example\nTo: ");
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(m, "%sa%d@evil.example", i ? ", " : "", i);
	g_string_append(m, "\n\n");
	run_hostile(m, false);

	/* broken quoting, angle brackets, control and 8-bit bytes, NULs */
	g_string_truncate(m, 0);
	g_string_append(m, "From: \"unterminated <x@evil.example\n"
			"To: <<<@@@>>>\nCc: =?utf-8?b?////?= <@>\n"
			"Subject: zzz\x01\xff\xfe");
	g_string_append_len(m, "\0\0a\n\nbody\0\n", 11);
	run_hostile(m, false);

	/* 100,000 continuation lines */
	g_string_truncate(m, 0);
	g_string_append(m, "From: mallory@evil.example\nSubject: a");
	for (int i = 0; i < 100000; i++)
		g_string_append_printf(m, "\n fold%d", i);
	g_string_append(m, "\n\n");
	run_hostile(m, true);

	/* random bytes */
	g_string_truncate(m, 0);
	for (guint32 i = 0, x = 12345; i < 200000; i++) {
		x = x * 1103515245u + 12345u;
		g_string_append_c(m, (char)(x >> 16));
	}
	run_hostile(m, true);

	/* no header at all, and an empty message */
	g_string_assign(m, "\nbody only\n");
	run_hostile(m, true);
	g_string_truncate(m, 0);
	run_hostile(m, true);
	g_string_free(m, TRUE);
}

static void test_crlf_and_mbox_prefix(void **state)
{
	static const char crlf[] =
		"From " PAUL " Thu Nov 20 12:00:00 2014\r\n"
		"From: " PAUL "\r\nSubject: Meeting\r\n\r\nbody\r\n";
	struct trigger_result r;

	(void)state;
	assert_int_equal(run_len("if header :is \"subject\" \"Meeting\" "
				 "{ discard; }\n", crlf, strlen(crlf), PAUL,
				 VINCENT, &r), 0);
	assert_false(r.process);
	trigger_result_clear(&r);
}

static void test_config_key(void **state)
{
	static const char good[] = "trigger_sieve = /etc/imip-agent/t.sieve\n";
	static const char relative[] = "trigger_sieve = t.sieve\n";
	struct imip_config *config;
	char *error = NULL;

	(void)state;
	config = imip_config_new_defaults();
	assert_null(config->trigger_sieve);
	imip_config_free(&config);
	assert_int_equal(imip_config_parse(good, strlen(good), "t", &config,
					   &error), 0);
	assert_string_equal(config->trigger_sieve, "/etc/imip-agent/t.sieve");
	imip_config_free(&config);
	assert_int_equal(imip_config_parse(relative, strlen(relative), "t",
					   &config, &error), -1);
	assert_non_null(strstr(error, "trigger_sieve"));
	assert_non_null(strstr(error, "absolute"));
	g_free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_and_discard),
		cmocka_unit_test(test_implicit_keep),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_unsupported_actions_keep),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_missing_script),
		cmocka_unit_test(test_script_with_nul),
		cmocka_unit_test(test_hostile_headers),
		cmocka_unit_test(test_crlf_and_mbox_prefix),
		cmocka_unit_test(test_config_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
