/* itip.c: method roles, newness per RFC 5546 2.1.5, sender identity. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "itip.h"
#include "ical-object.h"
#include "test-ical.h"

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

/* A trust for the tests: accepts the one (party, sent_by) it holds. */
struct test_trust {
	const char *party, *sent_by;
	icalproperty_kind kind;
};

static bool test_trust_counts(icalproperty_kind kind, const char *party,
			      const char *sent_by, void *data)
{
	const struct test_trust *t = data;

	return kind == t->kind && strcmp(party, t->party) == 0 &&
	       strcmp(sent_by, t->sent_by) == 0;
}

static void test_identity(void **state)
{
	icalcomponent *comp = vevent(
		"ORGANIZER;SENT-BY=\"mailto:Secretary@Example.com\":mailto:Paul.Boddie@example.com\r\n"
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:vincent.vole@example.com\r\n"
		"ATTENDEE;SENT-BY=\"mailto:x@example.net\":MAILTO:harvey.horse@example.com\r\n");
	GPtrArray *from_org = senders("paul.boddie@example.com", NULL);
	GPtrArray *from_sec = senders("secretary@example.com", NULL);
	GPtrArray *from_att = senders("y@example.net", "harvey.horse@example.com", NULL);
	GPtrArray *from_x = senders("x@example.net", NULL);
	GPtrArray *props = g_ptr_array_new();
	struct test_trust secretary = {
		"paul.boddie@example.com", "secretary@example.com",
		ICAL_ORGANIZER_PROPERTY,
	};
	struct test_trust x_for_harvey = {
		"harvey.horse@example.com", "x@example.net",
		ICAL_ATTENDEE_PROPERTY,
	};
	const struct itip_sent_by trust_secretary = { test_trust_counts, &secretary };
	const struct itip_sent_by trust_x = { test_trust_counts, &x_for_harvey };

	(void)state;
	assert_true(itip_sender_is_organiser(comp, NULL, from_org));
	/* a SENT-BY counts only when the trust accepts it */
	assert_false(itip_sender_is_organiser(comp, NULL, from_sec));
	assert_true(itip_sender_is_organiser(comp, &trust_secretary, from_sec));
	assert_false(itip_sender_is_organiser(comp, &trust_x, from_sec));
	assert_false(itip_sender_is_organiser(comp, &trust_secretary, from_att));
	itip_sender_attendees(comp, NULL, from_att, props);
	assert_int_equal(props->len, 1);
	g_ptr_array_set_size(props, 0);
	itip_sender_attendees(comp, NULL, from_org, props);
	assert_int_equal(props->len, 0);
	itip_sender_attendees(comp, NULL, from_x, props);
	assert_int_equal(props->len, 0);
	itip_sender_attendees(comp, &trust_secretary, from_x, props);
	assert_int_equal(props->len, 0);
	itip_sender_attendees(comp, &trust_x, from_x, props);
	assert_int_equal(props->len, 1);
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
	g_ptr_array_free(from_x, TRUE);
	icalcomponent_free(comp);
}

/* The stored copy names a party's delegate: on the ORGANIZER or on that
   party's ATTENDEE, in any component; never another party's. */
static void test_object_names_sent_by(void **state)
{
	struct ical_object *obj = test_object_of(
		"BEGIN:VEVENT\r\nUID:s@example.com\r\n"
		"ORGANIZER:mailto:paul.boddie@example.com\r\n"
		"ATTENDEE;SENT-BY=\"mailto:x@example.net\":mailto:vincent.vole@example.com\r\n"
		"DTSTART:20141126T150000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n"
		"BEGIN:VEVENT\r\nUID:s@example.com\r\n"
		"RECURRENCE-ID:20141127T150000Z\r\n"
		"ORGANIZER;SENT-BY=\"MAILTO:Secretary@example.com\":mailto:paul.boddie@example.com\r\n"
		"DTSTART:20141127T160000Z\r\nEND:VEVENT\r\n");

	(void)state;
	assert_true(itip_object_names_sent_by(obj, "paul.boddie@example.com",
					       "secretary@example.com"));
	assert_true(itip_object_names_sent_by(obj, "vincent.vole@example.com",
					       "x@example.net"));
	assert_false(itip_object_names_sent_by(obj, "vincent.vole@example.com",
						"secretary@example.com"));
	assert_false(itip_object_names_sent_by(obj, "paul.boddie@example.com",
						"x@example.net"));
	assert_false(itip_object_names_sent_by(obj, "harvey.horse@example.com",
						"x@example.net"));
	assert_false(itip_object_names_sent_by(NULL, "paul.boddie@example.com",
						"secretary@example.com"));
	ical_object_free(obj);
}

/* RFC 5546 3.2.2.3: DELEGATED-TO on the delegator's ATTENDEE. */
static void test_delegated_to(void **state)
{
	icalcomponent *comp = vevent(
		"ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"mailto:Harvey.Horse@example.com\":mailto:vincent.vole@example.com\r\n"
		"ATTENDEE;DELEGATED-FROM=\"mailto:vincent.vole@example.com\":mailto:harvey.horse@example.com\r\n");

	(void)state;
	assert_true(itip_attendee_delegated_to(comp, "vincent.vole@example.com",
					       "harvey.horse@example.com"));
	assert_false(itip_attendee_delegated_to(comp, "harvey.horse@example.com",
						"vincent.vole@example.com"));
	assert_false(itip_attendee_delegated_to(comp, "vincent.vole@example.com",
						"mallory@evil.example"));
	assert_false(itip_attendee_delegated_to(comp, "nobody@example.com",
						"harvey.horse@example.com"));
	icalcomponent_free(comp);
}

static const char series[] =
	"BEGIN:VEVENT\r\nUID:s@example.com\r\n"
	"ORGANIZER;SENT-BY=\"mailto:secretary@example.com\":mailto:Paul.Boddie@example.com\r\n"
	"DTSTART:20141126T150000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n";

/* One organiser for the whole object: every component naming an
   ORGANIZER names the same (normalised, case-insensitive); one without
   is the object's. */
static void test_object_organiser(void **state)
{
	char *text = g_strconcat(series,
		"BEGIN:VEVENT\r\nUID:s@example.com\r\n"
		"RECURRENCE-ID:20141127T150000Z\r\n"
		"ORGANIZER:MAILTO:paul.boddie@EXAMPLE.com\r\n"
		"DTSTART:20141127T160000Z\r\nEND:VEVENT\r\n"
		"BEGIN:VEVENT\r\nUID:s@example.com\r\n"
		"RECURRENCE-ID:20141128T150000Z\r\n"
		"DTSTART:20141128T160000Z\r\nEND:VEVENT\r\n", NULL);
	struct ical_object *obj = test_object_of(text);
	GPtrArray *from_org = senders("paul.boddie@example.com", NULL);
	GPtrArray *from_sec = senders("secretary@example.com", NULL);
	struct test_trust secretary = {
		"paul.boddie@example.com", "secretary@example.com",
		ICAL_ORGANIZER_PROPERTY,
	};
	const struct itip_sent_by trust = { test_trust_counts, &secretary };
	char *other = NULL;
	char *organiser = itip_object_organiser(obj, &other);

	(void)state;
	assert_string_equal(organiser, "paul.boddie@example.com");
	assert_null(other);
	assert_true(itip_object_is_organised_by(obj, "paul.boddie@example.com"));
	assert_true(itip_sender_organises(obj, NULL, from_org));
	/* the SENT-BY is on the master only: the override's ORGANIZER is not
	   sent by the secretary */
	assert_false(itip_sender_organises(obj, &trust, from_sec));
	g_free(organiser);
	ical_object_free(obj);
	g_free(text);

	/* an override naming another organiser (sabre BrokerNewEventTest 11) */
	text = g_strconcat(series,
		"BEGIN:VEVENT\r\nUID:s@example.com\r\n"
		"RECURRENCE-ID:20141127T150000Z\r\n"
		"ORGANIZER:mailto:mallory@evil.example\r\n"
		"DTSTART:20141127T160000Z\r\nEND:VEVENT\r\n", NULL);
	obj = test_object_of(text);
	organiser = itip_object_organiser(obj, &other);
	assert_string_equal(organiser, "paul.boddie@example.com");
	assert_string_equal(other, "mallory@evil.example");
	assert_false(itip_object_is_organised_by(obj, "paul.boddie@example.com"));
	assert_false(itip_object_is_organised_by(obj, "mallory@evil.example"));
	assert_false(itip_sender_organises(obj, NULL, from_org));
	g_free(organiser);
	g_free(other);
	ical_object_free(obj);
	g_free(text);

	/* an ORGANIZER without a usable address differs from every address */
	text = g_strconcat(series,
		"BEGIN:VEVENT\r\nUID:s@example.com\r\n"
		"RECURRENCE-ID:20141127T150000Z\r\n"
		"ORGANIZER:mailto:nobody\r\n"
		"DTSTART:20141127T160000Z\r\nEND:VEVENT\r\n", NULL);
	obj = test_object_of(text);
	organiser = itip_object_organiser(obj, &other);
	assert_string_equal(organiser, "paul.boddie@example.com");
	assert_non_null(other);
	g_free(organiser);
	g_free(other);
	ical_object_free(obj);
	g_free(text);

	/* none at all */
	obj = test_object_of("BEGIN:VEVENT\r\nUID:n@example.com\r\n"
			"DTSTART:20141126T150000Z\r\nEND:VEVENT\r\n");
	assert_null(itip_object_organiser(obj, &other));
	assert_null(other);
	assert_false(itip_sender_organises(obj, NULL, from_org));
	ical_object_free(obj);
	g_ptr_array_free(from_org, TRUE);
	g_ptr_array_free(from_sec, TRUE);
}

/* RFC 5545 3.8.7.4: at the same SEQUENCE the attendee's answer holds. */
static void test_keep_answer(void **state)
{
	icalcomponent *stored = vevent(
		"SEQUENCE:2\r\n"
		"ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"mailto:harvey.horse@example.com\":mailto:vincent.vole@example.com\r\n"
		"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:harvey.horse@example.com\r\n");
	icalcomponent *same = vevent(
		"SEQUENCE:2\r\nSUMMARY:New title\r\n"
		"ATTENDEE;CN=Vincent;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:Vincent.Vole@example.com\r\n"
		"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:harvey.horse@example.com\r\n");
	icalcomponent *raised = vevent(
		"SEQUENCE:3\r\n"
		"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:vincent.vole@example.com\r\n");
	icalcomponent *dropped = vevent(
		"SEQUENCE:2\r\n"
		"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:harvey.horse@example.com\r\n");
	icalproperty *prop;
	icalparameter *param;

	(void)state;
	assert_true(itip_keep_answer(same, stored, "vincent.vole@example.com"));
	prop = ical_find_attendee(same, "vincent.vole@example.com");
	assert_int_equal(itip_partstat_of(same, "vincent.vole@example.com"),
			 ICAL_PARTSTAT_DELEGATED);
	param = icalproperty_get_first_parameter(prop, ICAL_DELEGATEDTO_PARAMETER);
	assert_non_null(param);
	assert_string_equal(icalparameter_get_delegatedto(param),
			    "mailto:harvey.horse@example.com");
	/* the rest of the organiser's ATTENDEE stays */
	assert_non_null(icalproperty_get_first_parameter(prop, ICAL_CN_PARAMETER));
	assert_non_null(icalproperty_get_first_parameter(prop, ICAL_PARTSTAT_PARAMETER));
	assert_null(icalproperty_get_next_parameter(prop, ICAL_PARTSTAT_PARAMETER));
	/* not answered yet: nothing to keep */
	assert_false(itip_keep_answer(same, stored, "harvey.horse@example.com"));
	/* a raised SEQUENCE asks again */
	assert_false(itip_keep_answer(raised, stored, "vincent.vole@example.com"));
	assert_int_equal(itip_partstat_of(raised, "vincent.vole@example.com"),
			 ICAL_PARTSTAT_NEEDSACTION);
	/* no longer invited to this one */
	assert_false(itip_keep_answer(dropped, stored, "vincent.vole@example.com"));
	icalcomponent_free(stored);
	icalcomponent_free(same);
	icalcomponent_free(raised);
	icalcomponent_free(dropped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_method_parse),
		cmocka_unit_test(test_method_roles),
		cmocka_unit_test(test_newness),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_object_names_sent_by),
		cmocka_unit_test(test_delegated_to),
		cmocka_unit_test(test_object_organiser),
		cmocka_unit_test(test_keep_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
