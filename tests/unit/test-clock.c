/* The agent's clock: UTC text forms and the IMIP_NOW override that
   scenario tests rely on. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

#include "clock.h"

static void assert_parses(const char *text, time_t expected)
{
	time_t t = 0;

	if (!imip_clock_parse_utc(text, &t))
		fail_msg("\"%s\" refused", text);
	assert_int_equal(t, expected);
}

static void assert_refused(const char *text)
{
	time_t t = 12345;

	if (imip_clock_parse_utc(text, &t))
		fail_msg("\"%s\" accepted as %lld",
			 text != NULL ? text : "(null)", (long long)t);
	assert_int_equal(t, 12345);	/* untouched */
}

static void test_parse(void **state)
{
	(void)state;
	assert_parses("19700101T000000Z", 0);
	assert_parses("20141126T150000Z", 1417014000);
	assert_parses("20141126", 1416960000);
	assert_parses("20240229T235959Z", 1709251199);
	assert_parses("19691231T235959Z", -1);
}

static void test_parse_refuses(void **state)
{
	(void)state;
	assert_refused(NULL);
	assert_refused("");
	assert_refused("20141126T150000");	/* floating: not UTC */
	assert_refused("20141126T150000z");
	assert_refused("2014-11-26");
	assert_refused("20141126T15000Z");
	assert_refused("20141126T1500000Z");
	assert_refused("20141326T150000Z");	/* month 13 */
	assert_refused("20230229");		/* not a leap year */
	assert_refused("20141126T250000Z");
	assert_refused("20141126T156000Z");
	assert_refused("20141126T150060Z");
	assert_refused("2014112 ");
	assert_refused(" 20141126");
	assert_refused("+0141126");
	assert_refused("20141126X150000Z");
	assert_refused("00000101");
}

static void test_format(void **state)
{
	char buf[17];

	(void)state;
	assert_string_equal(imip_clock_format_utc(0, buf),
			    "19700101T000000Z");
	assert_string_equal(imip_clock_format_utc(1417014000, buf),
			    "20141126T150000Z");
	assert_ptr_equal(imip_clock_format_utc(1417014000, buf), buf);
	assert_string_equal(imip_clock_format_utc(1709251199, buf),
			    "20240229T235959Z");
	assert_string_equal(imip_clock_format_utc(-1, buf),
			    "19691231T235959Z");
}

static void test_round_trip(void **state)
{
	static const time_t samples[] = {
		0, 1, 86399, 951782400, 1417014000, 2147483647, 4102444800,
	};
	char buf[17];
	time_t t;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(samples); i++) {
		imip_clock_format_utc(samples[i], buf);
		assert_true(imip_clock_parse_utc(buf, &t));
		assert_int_equal(t, samples[i]);
	}
}

static void test_now_override(void **state)
{
	time_t before, now;

	(void)state;
	assert_int_equal(setenv("IMIP_NOW", "20141126T150000Z", 1), 0);
	assert_int_equal(imip_clock_now(), 1417014000);
	assert_int_equal(setenv("IMIP_NOW", "20141126", 1), 0);
	assert_int_equal(imip_clock_now(), 1416960000);

	/* unset, empty or unreadable: the real clock */
	before = time(NULL);
	assert_int_equal(setenv("IMIP_NOW", "garbage", 1), 0);
	now = imip_clock_now();
	assert_true(now >= before && now <= time(NULL));
	assert_int_equal(setenv("IMIP_NOW", "", 1), 0);
	now = imip_clock_now();
	assert_true(now >= before && now <= time(NULL));
	assert_int_equal(unsetenv("IMIP_NOW"), 0);
	now = imip_clock_now();
	assert_true(now >= before && now <= time(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_now_override),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
