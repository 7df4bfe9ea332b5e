/* itip.c: method roles, newness per RFC 5546 2.1.5, sender identity. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itip.h"
#include "ical-object.h"

static icalcomponent *vevent(const char *props)
{
	char *text = g_strdup_printf("BEGIN:VEVENT\r\nUID:x@example.com\r\n%s"
				     "END:VEVENT\r\n", props);
	icalcomponent *comp = icalparser_parse_string(text);

	g_free(text);
	assert_non_null(comp);
	return comp;
}

static GPtrArray *senders(const char *first, ...)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
	va_list args;

	va_start(args, first);
	for (const char *s = first; s != NULL; s = va_arg(args, const char *))
		g_ptr_array_add(list, g_strdup(s));
	va_end(args);
	return list;
}

static void test_method_parse(void **state)
{
	(void)state;
	assert_int_equal(itip_method_parse("request"), ITIP_METHOD_REQUEST);
	assert_int_equal(itip_method_parse("DECLINECOUNTER"), ITIP_METHOD_DECLINECOUNTER);
	assert_int_equal(itip_method_parse(NULL), ITIP_METHOD_NONE);
	assert_int_equal(itip_method_parse("X-FOO"), ITIP_METHOD_UNKNOWN);
	assert_string_equal(itip_method_name(ITIP_METHOD_COUNTER), "COUNTER");
}

static void test_method_roles(void **state)
{
	(void)state;
	assert_true(itip_method_is_organiser(ITIP_METHOD_REQUEST));
	assert_true(itip_method_is_organiser(ITIP_METHOD_CANCEL));
	assert_true(itip_method_is_organiser(ITIP_METHOD_ADD));
	assert_true(itip_method_is_organiser(ITIP_METHOD_PUBLISH));
	assert_true(itip_method_is_organiser(ITIP_METHOD_DECLINECOUNTER));
	assert_false(itip_method_is_organiser(ITIP_METHOD_REPLY));
	assert_false(itip_method_is_organiser(ITIP_METHOD_COUNTER));
	assert_false(itip_method_is_organiser(ITIP_METHOD_REFRESH));
}

static void test_newness(void **state)
{
	icalcomponent *s1 = vevent("SEQUENCE:1\r\nDTSTAMP:20141120T100000Z\r\n");
	icalcomponent *s2 = vevent("SEQUENCE:2\r\nDTSTAMP:20141120T090000Z\r\n");
	icalcomponent *s1later = vevent("SEQUENCE:1\r\nDTSTAMP:20141120T110000Z\r\n");
	icalcomponent *s1same = vevent("SEQUENCE:1\r\nDTSTAMP:20141120T100000Z\r\n");
	icalcomponent *noseq = vevent("DTSTAMP:20141121T100000Z\r\n");
	icalcomponent *nostamp = vevent("SEQUENCE:1\r\n");

	(void)state;
	assert_int_equal(itip_compare(s1, NULL, false), ITIP_NEWER);
	assert_int_equal(itip_compare(s2, s1, false), ITIP_NEWER);
	assert_int_equal(itip_compare(s1, s2, false), ITIP_OLDER);
	/* equal SEQUENCE: DTSTAMP decides */
	assert_int_equal(itip_compare(s1later, s1, false), ITIP_NEWER);
	assert_int_equal(itip_compare(s1, s1later, false), ITIP_OLDER);
	assert_int_equal(itip_compare(s1same, s1, false), ITIP_SAME);
	/* missing SEQUENCE is 0 */
	assert_int_equal(itip_compare(noseq, s1, false), ITIP_OLDER);
	/* no DTSTAMP cannot win a tie */
	assert_int_equal(itip_compare(nostamp, s1, false), ITIP_OLDER);
	/* lenient (REPLY): equal SEQUENCE is enough */
	assert_int_equal(itip_compare(s1, s1later, true), ITIP_NEWER);
	assert_int_equal(itip_compare(s1, s2, true), ITIP_OLDER);
	icalcomponent_free(s1);
	icalcomponent_free(s2);
	icalcomponent_free(s1later);
	icalcomponent_free(s1same);
	icalcomponent_free(noseq);
	icalcomponent_free(nostamp);
}

static void test_identity(void **state)
{
	icalcomponent *comp = vevent(
		"ORGANIZER;SENT-BY=\"mailto:Secretary@Example.com\":mailto:Paul.Boddie@example.com\r\n"
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:vincent.vole@example.com\r\n"
		"ATTENDEE:MAILTO:harvey.horse@example.com\r\n");
	GPtrArray *from_org = senders("paul.boddie@example.com", NULL);
	GPtrArray *from_sec = senders("secretary@example.com", NULL);
	GPtrArray *from_att = senders("x@example.net", "harvey.horse@example.com", NULL);
	GPtrArray *props = g_ptr_array_new();

	(void)state;
	assert_true(itip_sender_is_organiser(comp, from_org));
	assert_true(itip_sender_is_organiser(comp, from_sec));
	assert_false(itip_sender_is_organiser(comp, from_att));
	itip_sender_attendees(comp, from_att, props);
	assert_int_equal(props->len, 1);
	g_ptr_array_set_size(props, 0);
	itip_sender_attendees(comp, from_org, props);
	assert_int_equal(props->len, 0);
	assert_int_equal(itip_partstat_of(comp, "vincent.vole@example.com"),
			 ICAL_PARTSTAT_ACCEPTED);
	/* RFC 5545 3.2.12: no PARTSTAT means NEEDS-ACTION */
	assert_int_equal(itip_partstat_of(comp, "harvey.horse@example.com"),
			 ICAL_PARTSTAT_NEEDSACTION);
	assert_int_equal(itip_partstat_of(comp, "nobody@example.com"),
			 ICAL_PARTSTAT_NONE);
	g_ptr_array_free(props, TRUE);
	g_ptr_array_free(from_org, TRUE);
	g_ptr_array_free(from_sec, TRUE);
	g_ptr_array_free(from_att, TRUE);
	icalcomponent_free(comp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_method_parse),
		cmocka_unit_test(test_method_roles),
		cmocka_unit_test(test_newness),
		cmocka_unit_test(test_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
