/* summary: the mailbox text, its languages, and hostile wire values. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "imip.h"
#include "summary.h"

static struct imip_part_result *part_new(enum imip_outcome_code code,
					 const char *method, const char *uid,
					 const char *summary,
					 const char *reason)
{
	struct imip_part_result *part = g_new0(struct imip_part_result, 1);

	part->code = code;
	part->method = g_strdup(method);
	part->uid = g_strdup(uid);
	part->summary = g_strdup(summary);
	part->reason = g_strdup(reason);
	return part;
}

static void part_free(gpointer data)
{
	struct imip_part_result *part = data;

	g_free(part->method);
	g_free(part->uid);
	g_free(part->summary);
	g_free(part->reason);
	g_free(part);
}

static struct imip_result *result_new(enum imip_outcome_code code,
				      const char *reason)
{
	struct imip_result *result = g_new0(struct imip_result, 1);

	result->code = code;
	result->reason = g_strdup(reason);
	result->parts = g_ptr_array_new_with_free_func(part_free);
	return result;
}

static void result_free(struct imip_result *result)
{
	g_ptr_array_free(result->parts, TRUE);
	g_free(result->reason);
	g_free(result);
}

static struct imip_result *two_parts(void)
{
	struct imip_result *r = result_new(IMIP_OUTCOME_CANCELLED,
					   "2 objects processed.");

	g_ptr_array_add(r->parts, part_new(IMIP_OUTCOME_ADDED, "REQUEST",
		"event1@example.com", "Meeting at 4pm",
		"the event was added to the calendar."));
	g_ptr_array_add(r->parts, part_new(IMIP_OUTCOME_CANCELLED, "CANCEL",
		"event2@example.com", "Lunch", "event cancelled"));
	return r;
}

static void test_english(void **state)
{
	struct imip_result *r = two_parts();
	char *text = summary_text(r, NULL, "paul.boddie@example.com");

	(void)state;
	assert_string_equal(text,
		"A calendar message from paul.boddie@example.com was processed.\n"
		"\n"
		"Meeting at 4pm (event1@example.com): invitation (REQUEST) — "
		"added: the event was added to the calendar.\n"
		"Lunch (event2@example.com): cancellation (CANCEL) — "
		"cancelled: event cancelled.\n"
		"\n"
		"Result: cancelled: 2 objects processed.\n");
	g_free(text);
	result_free(r);
}

static void test_kinds(void **state)
{
	static const struct {
		const char *method;
		enum imip_outcome_code code;
		const char *expect;
	} cases[] = {
		{ "REQUEST", IMIP_OUTCOME_ADDED, ": invitation (REQUEST) — added" },
		{ "REQUEST", IMIP_OUTCOME_UPDATED, ": update (REQUEST) — updated" },
		{ "request", IMIP_OUTCOME_NO_ACTION,
		  ": invitation (request) — no action taken" },
		{ "REPLY", IMIP_OUTCOME_UPDATED, ": reply (REPLY) — updated" },
		{ "COUNTER", IMIP_OUTCOME_NO_ACTION,
		  ": counter-proposal (COUNTER) — no action taken" },
		{ "DECLINECOUNTER", IMIP_OUTCOME_REJECTED,
		  ": declined counter-proposal (DECLINECOUNTER) — rejected" },
		{ "REFRESH", IMIP_OUTCOME_REPLIED,
		  ": request for the latest version (REFRESH) — answered" },
		{ "ADD", IMIP_OUTCOME_UPDATED,
		  ": additional occurrences (ADD) — updated" },
		{ "PUBLISH", IMIP_OUTCOME_ADDED,
		  ": published event (PUBLISH) — added" },
		{ "X-ODD", IMIP_OUTCOME_ERROR,
		  ": calendar object (X-ODD) — could not be processed" },
		{ NULL, IMIP_OUTCOME_ERROR,
		  ": calendar object — could not be processed" },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct imip_result *r = result_new(cases[i].code, NULL);
		char *text;

		g_ptr_array_add(r->parts, part_new(cases[i].code,
			cases[i].method, "u@example.com", "S", NULL));
		text = summary_text(r, "en", NULL);
		if (strstr(text, cases[i].expect) == NULL)
			fail_msg("case %zu: \"%s\" not in:\n%s", i,
				 cases[i].expect, text);
		g_free(text);
		result_free(r);
	}
}

static void test_freebusy_kind(void **state)
{
	struct imip_result *r = result_new(IMIP_OUTCOME_REPLIED, NULL);
	struct imip_part_result *part = part_new(IMIP_OUTCOME_REPLIED,
		"REQUEST", "fb1@example.com", NULL, NULL);
	char *text;

	(void)state;
	/* a VFREEBUSY REQUEST is not an invitation */
	part->freebusy = true;
	g_ptr_array_add(r->parts, part);
	text = summary_text(r, "en", NULL);
	assert_non_null(strstr(text, ": free/busy information (REQUEST) — answered"));
	assert_null(strstr(text, "invitation"));
	g_free(text);
	result_free(r);
}

static void test_no_parts_no_from(void **state)
{
	struct imip_result *r = result_new(IMIP_OUTCOME_NO_ACTION,
					   "no calendar part");
	char *text = summary_text(r, NULL, NULL);

	(void)state;
	assert_string_equal(text,
		"A calendar message was processed.\n"
		"\n"
		"No calendar object was found in the message.\n"
		"\n"
		"Result: no action taken: no calendar part.\n");
	g_free(text);
	result_free(r);

	/* NULL result: still a text */
	text = summary_text(NULL, "de", "");
	assert_true(g_str_has_prefix(text, "Eine Kalendernachricht wurde"));
	g_free(text);
}

static void test_untitled_no_uid(void **state)
{
	struct imip_result *r = result_new(IMIP_OUTCOME_ADDED, NULL);
	char *text;

	(void)state;
	g_ptr_array_add(r->parts, part_new(IMIP_OUTCOME_ADDED, "PUBLISH",
					   NULL, NULL, NULL));
	text = summary_text(r, NULL, NULL);
	assert_non_null(strstr(text,
		"\nUntitled: published event (PUBLISH) — added.\n"));
	assert_non_null(strstr(text, "\nResult: added.\n"));
	g_free(text);
	result_free(r);
}

static void test_languages(void **state)
{
	static const struct {
		const char *lang;
		const char *intro;
		const char *line;
	} cases[] = {
		{ "de", "Eine Kalendernachricht von a@example.com wurde "
			"verarbeitet.\n",
		  "Meeting at 4pm (event1@example.com): Einladung (REQUEST) — "
		  "hinzugefügt" },
		{ "de_DE.UTF-8", "Eine Kalendernachricht von ", "Absage (CANCEL) — abgesagt" },
		{ "de-AT", "Eine Kalendernachricht von ", "Ergebnis: abgesagt" },
		{ "DE", "Eine Kalendernachricht von ", "Einladung" },
		{ "fr", "Un message de calendrier de a@example.com a été "
			"traité.\n",
		  "invitation (REQUEST) — ajouté" },
		{ "fr_CA", "Un message de calendrier de ", "annulation (CANCEL) — annulé" },
		{ "nb", "En kalendermelding fra a@example.com ble behandlet.\n",
		  "invitasjon (REQUEST) — lagt til" },
		{ "no_NO", "En kalendermelding fra ", "avlysning (CANCEL) — avlyst" },
		{ "xx", "A calendar message from ", "invitation (REQUEST) — added" },
		{ "", "A calendar message from ", "Result: cancelled" },
		{ "e", "A calendar message from ", "Result: cancelled" },
		{ "english", "A calendar message from ", "Result: cancelled" },
		{ "C", "A calendar message from ", "Result: cancelled" },
	};
	struct imip_result *r = two_parts();

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = summary_text(r, cases[i].lang, "a@example.com");

		if (!g_str_has_prefix(text, cases[i].intro) ||
		    strstr(text, cases[i].line) == NULL)
			fail_msg("lang \"%s\":\n%s", cases[i].lang, text);
		assert_true(g_utf8_validate(text, -1, NULL));
		g_free(text);
	}
	result_free(r);
}

static void test_hostile_values(void **state)
{
	struct imip_result *r = result_new(IMIP_OUTCOME_ADDED, NULL);
	GString *longer = g_string_new(NULL);
	char *text, **lines;

	(void)state;
	for (int i = 0; i < 500; i++)
		g_string_append_c(longer, 'x');
	g_ptr_array_add(r->parts, part_new(IMIP_OUTCOME_ADDED, "REQUEST",
		"uid\r\nInjected: header", "Bad\n\nsummary\x01 \xff\xfe",
		"reason\nwith newline"));
	g_ptr_array_add(r->parts, part_new(IMIP_OUTCOME_ADDED, "REQUEST",
		longer->str, longer->str, NULL));
	text = summary_text(r, NULL, "x@example.com\n");
	assert_true(g_utf8_validate(text, -1, NULL));
	lines = g_strsplit(text, "\n", -1);
	/* intro, blank, two part lines, blank, result, final empty */
	assert_int_equal(g_strv_length(lines), 7);
	assert_true(g_str_has_prefix(lines[2], "Bad  summary "));
	assert_non_null(strstr(lines[2], "(uid  Injected: header)"));
	assert_non_null(strstr(lines[2], "reason with newline."));
	/* 200 characters and an ellipsis, twice */
	assert_true(strlen(lines[3]) < 2 * 210 + 80);
	assert_non_null(strstr(lines[3], "x…"));
	g_strfreev(lines);
	g_free(text);
	g_string_free(longer, TRUE);
	result_free(r);
}

static void test_unknown_code(void **state)
{
	struct imip_result *r = result_new((enum imip_outcome_code)99, NULL);
	char *text;

	(void)state;
	g_ptr_array_add(r->parts, part_new((enum imip_outcome_code)42,
					   "REPLY", "u", "s", NULL));
	text = summary_text(r, NULL, NULL);
	assert_non_null(strstr(text, "reply (REPLY) — could not be processed"));
	assert_non_null(strstr(text, "Result: could not be processed"));
	g_free(text);
	result_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_english),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_freebusy_kind),
		cmocka_unit_test(test_no_parts_no_from),
		cmocka_unit_test(test_untitled_no_uid),
		cmocka_unit_test(test_languages),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_unknown_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
