/* outcome.c: stable names, and how object outcomes combine into the one a
   message reports (Sieve :outcome, keywords, the shim's log line). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_combine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
