/* outcome.c: stable names, and how object outcomes combine into the one a
   message reports (Sieve :outcome, keywords, the shim's log line). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>

#include "imip.h"
#include "outcome.h"

static void test_names_round_trip(void **state)
{
	static const char *const names[] = {
		"no_action", "added", "updated", "cancelled", "replied",
		"rejected", "error",
	};
	enum imip_outcome_code code;

	(void)state;
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_true(imip_outcome_parse(names[i], &code));
		assert_string_equal(imip_outcome_name(code), names[i]);
	}
	assert_false(imip_outcome_parse("ok", &code));
	assert_string_equal(imip_outcome_name((enum imip_outcome_code)99), "error");
}

static void test_combine(void **state)
{
	(void)state;
	/* a change is reported over a refusal, a refusal over a failure,
	   anything over nothing to do */
	assert_int_equal(imip_outcome_combine(IMIP_OUTCOME_NO_ACTION, IMIP_OUTCOME_ADDED),
			 IMIP_OUTCOME_ADDED);
	assert_int_equal(imip_outcome_combine(IMIP_OUTCOME_REJECTED, IMIP_OUTCOME_UPDATED),
			 IMIP_OUTCOME_UPDATED);
	assert_int_equal(imip_outcome_combine(IMIP_OUTCOME_ERROR, IMIP_OUTCOME_REJECTED),
			 IMIP_OUTCOME_REJECTED);
	assert_int_equal(imip_outcome_combine(IMIP_OUTCOME_ERROR, IMIP_OUTCOME_NO_ACTION),
			 IMIP_OUTCOME_ERROR);
	assert_int_equal(imip_outcome_combine(IMIP_OUTCOME_ADDED, IMIP_OUTCOME_CANCELLED),
			 IMIP_OUTCOME_CANCELLED);
	assert_int_equal(imip_outcome_combine(IMIP_OUTCOME_REPLIED, IMIP_OUTCOME_UPDATED),
			 IMIP_OUTCOME_REPLIED);
}

/* A result with parts of the given METHOD and UID (NULL allowed). */
static struct imip_result *result_of(const char *const *methods,
				     const char *const *uids, size_t n)
{
	struct imip_result *r = g_new0(struct imip_result, 1);

	r->parts = g_ptr_array_new_with_free_func(g_free);
	for (size_t i = 0; i < n; i++) {
		struct imip_part_result *pr = g_new0(struct imip_part_result, 1);

		/* the strings stay owned by the caller */
		pr->method = (char *)methods[i];
		pr->uid = (char *)uids[i];
		g_ptr_array_add(r->parts, pr);
	}
	return r;
}

static void result_done(struct imip_result *r)
{
	g_ptr_array_unref(r->parts);
	g_free(r);
}

static void assert_methods_uid(const char *const *methods,
			       const char *const *uids, size_t n,
			       const char *expected_methods,
			       const char *expected_uid)
{
	struct imip_result *r = result_of(methods, uids, n);
	char *m = imip_result_methods(r);
	char *u = imip_result_first_uid(r);

	assert_string_equal(m, expected_methods);
	assert_string_equal(u, expected_uid);
	g_free(m);
	g_free(u);
	result_done(r);
}

static void test_result_methods_and_uid(void **state)
{
	(void)state;
	/* none */
	assert_methods_uid(NULL, NULL, 0, "-", "-");
	{
		const char *m[] = { "REQUEST" };
		const char *u[] = { "ev1@example.com" };

		assert_methods_uid(m, u, 1, "REQUEST", "ev1@example.com");
	}
	{
		/* each METHOD once, in the order first seen */
		const char *m[] = { "REQUEST", "ADD", "REQUEST" };
		const char *u[] = { "a", "b", "c" };

		assert_methods_uid(m, u, 3, "REQUEST,ADD", "a");
	}
	{
		const char *m[] = { "CANCEL", "CANCEL", "CANCEL", "REPLY",
				    "CANCEL", "REPLY" };
		const char *u[] = { "x", "x", "x", "x", "x", "x" };

		assert_methods_uid(m, u, 6, "CANCEL,REPLY", "x");
	}
	{
		/* a METHOD that is a prefix or part of another is its own */
		const char *m[] = { "REQUEST", "REQ", "QUEST", "REQUEST" };
		const char *u[] = { "1", "2", "3", "4" };

		assert_methods_uid(m, u, 4, "REQUEST,REQ,QUEST", "1");
	}
	{
		/* parts without METHOD or UID (a whole-message outcome) are
		   skipped; the first UID that exists is reported */
		const char *m[] = { NULL, "PUBLISH", NULL };
		const char *u[] = { NULL, NULL, "late@example.com" };

		assert_methods_uid(m, u, 3, "PUBLISH", "late@example.com");
	}
	{
		const char *m[] = { NULL, NULL };
		const char *u[] = { NULL, NULL };

		assert_methods_uid(m, u, 2, "-", "-");
	}
}

static void assert_log_value(const char *value, bool quote_always,
			     const char *expected)
{
	char *v = imip_log_value(value, quote_always);

	assert_string_equal(v, expected);
	g_free(v);
}

static void test_log_value(void **state)
{
	(void)state;
	assert_log_value(NULL, false, "-");
	assert_log_value(NULL, true, "-");
	assert_log_value("", false, "\"\"");
	assert_log_value("", true, "\"\"");
	assert_log_value("alice@example.com", false, "alice@example.com");
	assert_log_value("alice@example.com", true, "\"alice@example.com\"");
	/* a space makes it quoted */
	assert_log_value("Event added", false, "\"Event added\"");
	assert_log_value(" ", false, "\" \"");
	/* quotes and control characters cannot break the line */
	assert_log_value("say \"hi\"", false, "\"say ?hi?\"");
	assert_log_value("\"", false, "?");
	assert_log_value("a\nb", false, "a?b");
	assert_log_value("a\r\nmailbox=forged", false, "a??mailbox=forged");
	assert_log_value("tab\there", false, "tab?here");
	assert_log_value("\x01\x1f\x7f", false, "???");
	assert_log_value("x\x1b[31mred", false, "x?[31mred");
	/* 8-bit text is kept */
	assert_log_value("Pl\xc3\xa4ne", false, "Pl\xc3\xa4ne");
	assert_log_value("Besprechung \xc3\xbc" "ber", false,
			 "\"Besprechung \xc3\xbc" "ber\"");
	/* a backslash is no escape in the log */
	assert_log_value("a\\b", false, "a\\b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_combine),
		cmocka_unit_test(test_result_methods_and_uid),
		cmocka_unit_test(test_log_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
