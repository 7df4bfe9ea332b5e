/* Unit tests for the pure parts of common/handler.c. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <glib.h>

#include "handler.h"
#include "ical-object.h"
#include "test-ical.h"

#define CRLF "\r\n"


static const char toronto_series[] =
	"BEGIN:VEVENT" CRLF
	"UID:foobar" CRLF
	"SEQUENCE:2" CRLF
	"RRULE:FREQ=DAILY" CRLF
	"DTSTART;TZID=America/Toronto:20140724T000000" CRLF
	"DTEND;TZID=America/Toronto:20140724T010000" CRLF
	"ATTENDEE:mailto:foo@example.org" CRLF
	"ORGANIZER:mailto:bar@example.org" CRLF
	"END:VEVENT" CRLF;

/* The new override of `stored` for the RECURRENCE-ID line `rid_line`,
   read (as a REPLY carries it) inside a calendar of its own, as text. */
static char *instance_text(struct ical_object *stored, const char *rid_line,
			   char **rid_r)
{
	char *reply_text = g_strconcat("BEGIN:VEVENT" CRLF "UID:foobar" CRLF,
				       rid_line, CRLF "END:VEVENT" CRLF, NULL);
	struct ical_object *reply = test_object_of(reply_text);
	icalcomponent *comp = g_ptr_array_index(reply->overrides, 0);
	icalcomponent *inst;
	char *text;

	inst = handler_instance_from_master(stored,
		icalcomponent_get_first_property(comp, ICAL_RECURRENCEID_PROPERTY),
		ical_zone_for_user("UTC"));
	assert_non_null(inst);
	*rid_r = ical_rid_of(inst);
	assert_ptr_equal(ical_object_find_override(stored, *rid_r), inst);
	text = g_strdup(icalcomponent_as_ical_string(inst));
	ical_object_free(reply);
	g_free(reply_text);
	return text;
}

static void assert_contains(const char *text, const char *what)
{
	if (strstr(text, what) == NULL)
		fail_msg("expected %s in:\n%s", what, text);
}

static void assert_lacks(const char *text, const char *what)
{
	if (strstr(text, what) != NULL)
		fail_msg("did not expect %s in:\n%s", what, text);
}

/* sabre BrokerProcessReplyTest 09/10: a RECURRENCE-ID in another zone or
   in UTC names the instant; the override is written in the master's
   zone, with the master's length. */
static void test_instance_rid_in_other_zone(void **state)
{
	const char *rids[] = {
		"RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh:20140725T110000",
		"RECURRENCE-ID:20140725T040000Z",
		"RECURRENCE-ID;TZID=America/Toronto:20140725T000000",
	};

	(void)state;
	for (unsigned int i = 0; i < G_N_ELEMENTS(rids); i++) {
		struct ical_object *stored = test_object_of(toronto_series);
		char *rid;
		char *text = instance_text(stored, rids[i], &rid);

		assert_string_equal(rid, "20140725T040000Z");
		assert_contains(text, "DTSTART;TZID=America/Toronto:20140725T000000\r\n");
		assert_contains(text, "DTEND;TZID=America/Toronto:20140725T010000\r\n");
		assert_contains(text, "RECURRENCE-ID;TZID=America/Toronto:20140725T000000\r\n");
		assert_lacks(text, "RRULE");
		assert_lacks(text, "Ho_Chi_Minh");
		assert_int_equal(stored->overrides->len, 1);
		g_free(rid);
		g_free(text);
		ical_object_free(stored);
	}
}

/* A master in UTC: the override is in UTC, never a UTC value with a
   TZID (RFC 5545 3.3.5). */
static void test_instance_master_in_utc(void **state)
{
	struct ical_object *stored = test_object_of(
		"BEGIN:VEVENT" CRLF "UID:foobar" CRLF
		"RRULE:FREQ=DAILY" CRLF
		"DTSTART:20140724T040000Z" CRLF
		"DTEND:20140724T050000Z" CRLF
		"END:VEVENT" CRLF);
	char *rid;
	char *text = instance_text(stored,
		"RECURRENCE-ID;TZID=America/Toronto:20140725T000000", &rid);

	(void)state;
	assert_string_equal(rid, "20140725T040000Z");
	assert_contains(text, "DTSTART:20140725T040000Z\r\n");
	assert_contains(text, "DTEND:20140725T050000Z\r\n");
	assert_contains(text, "RECURRENCE-ID:20140725T040000Z\r\n");
	assert_lacks(text, "TZID");
	g_free(rid);
	g_free(text);
	ical_object_free(stored);
}

/* The length is the master's exact duration, across a change of the
   zone's offset (RFC 5545 3.8.2.2), in the zone's wall-clock time. */
static void test_instance_across_dst(void **state)
{
	struct ical_object *stored = test_object_of(
		"BEGIN:VEVENT" CRLF "UID:foobar" CRLF
		"RRULE:FREQ=DAILY" CRLF
		"DTSTART;TZID=America/Toronto:20141030T100000" CRLF
		"DTEND;TZID=America/Toronto:20141030T113000" CRLF
		"END:VEVENT" CRLF);
	char *rid;
	char *text = instance_text(stored, "RECURRENCE-ID:20141103T150000Z",
				   &rid);

	(void)state;
	assert_string_equal(rid, "20141103T150000Z");
	assert_contains(text, "DTSTART;TZID=America/Toronto:20141103T100000\r\n");
	assert_contains(text, "DTEND;TZID=America/Toronto:20141103T113000\r\n");
	g_free(rid);
	g_free(text);
	ical_object_free(stored);
}

/* All-day: the date itself, the length in days. */
static void test_instance_all_day(void **state)
{
	struct ical_object *stored = test_object_of(
		"BEGIN:VEVENT" CRLF "UID:foobar" CRLF
		"RRULE:FREQ=DAILY" CRLF
		"DTSTART;VALUE=DATE:20140724" CRLF
		"DTEND;VALUE=DATE:20140725" CRLF
		"END:VEVENT" CRLF);
	char *rid;
	char *text = instance_text(stored, "RECURRENCE-ID;VALUE=DATE:20140726",
				   &rid);

	(void)state;
	assert_string_equal(rid, "20140726");
	assert_contains(text, "DTSTART;VALUE=DATE:20140726\r\n");
	assert_contains(text, "DTEND;VALUE=DATE:20140727\r\n");
	assert_contains(text, "RECURRENCE-ID;VALUE=DATE:20140726\r\n");
	g_free(rid);
	g_free(text);
	ical_object_free(stored);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instance_rid_in_other_zone),
		cmocka_unit_test(test_instance_master_in_utc),
		cmocka_unit_test(test_instance_across_dst),
		cmocka_unit_test(test_instance_all_day),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
