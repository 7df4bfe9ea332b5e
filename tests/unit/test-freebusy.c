/* Unit tests for common/freebusy.c */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>
#include <glib.h>

#include "clock.h"
#include "freebusy.h"
#include "ical-object.h"
#include "test-ical.h"

#define CRLF "\r\n"

static const char oslo_vtimezone[] =
	"BEGIN:VTIMEZONE" CRLF
	"TZID:Europe/Oslo" CRLF
	"BEGIN:DAYLIGHT" CRLF
	"TZOFFSETFROM:+0100" CRLF
	"TZOFFSETTO:+0200" CRLF
	"DTSTART:19700329T020000" CRLF
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" CRLF
	"END:DAYLIGHT" CRLF
	"BEGIN:STANDARD" CRLF
	"TZOFFSETFROM:+0200" CRLF
	"TZOFFSETTO:+0100" CRLF
	"DTSTART:19701025T030000" CRLF
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" CRLF
	"END:STANDARD" CRLF
	"END:VTIMEZONE" CRLF;

static time_t utc(const char *text)
{
	time_t t;

	if (!imip_clock_parse_utc(text, &t))
		fail_msg("bad time %s", text);
	return t;
}


static char *periods_text(const char *body, const char *floating_tzid,
			  const char *from, const char *to,
			  unsigned int max, bool busy_only, bool *endless_r)
{
	struct ical_object *obj = test_object_of(body);
	struct fb_list *list = fb_list_new();
	const char *error = NULL;
	GString *out;
	int ret;

	ret = fb_periods_of_object(obj, ical_zone_for_user(floating_tzid),
				   utc(from), utc(to), max, busy_only, list,
				   endless_r, &error);
	if (ret != 0)
		fail_msg("expansion failed: %s", error);
	out = fb_list_format(list);
	fb_list_free(&list);
	ical_object_free(obj);
	return g_string_free(out, FALSE);
}

static void test_weekly_exdate_override(void **state)
{
	char *body = g_strconcat(oslo_vtimezone,
		"BEGIN:VEVENT" CRLF
		"UID:weekly@example.com" CRLF
		"SUMMARY:Weekly" CRLF
		"ORGANIZER:mailto:Paul.Boddie@example.com" CRLF
		"DTSTART;TZID=Europe/Oslo:20141020T100000" CRLF
		"DTEND;TZID=Europe/Oslo:20141020T110000" CRLF
		"RRULE:FREQ=WEEKLY;COUNT=6" CRLF
		"EXDATE;TZID=Europe/Oslo:20141103T100000" CRLF
		"END:VEVENT" CRLF
		"BEGIN:VEVENT" CRLF
		"UID:weekly@example.com" CRLF
		"SUMMARY:Moved" CRLF
		"ORGANIZER:mailto:paul.boddie@example.com" CRLF
		"RECURRENCE-ID;TZID=Europe/Oslo:20141110T100000" CRLF
		"DTSTART;TZID=Europe/Oslo:20141110T110000" CRLF
		"DTEND;TZID=Europe/Oslo:20141110T120000" CRLF
		"END:VEVENT" CRLF, NULL);
	bool endless = true;
	char *text;

	(void)state;
	text = periods_text(body, "UTC", "20141001T000000Z",
			    "20150101T000000Z", 100, true, &endless);
	assert_false(endless);
	assert_string_equal(text,
		"20141020T080000Z\t20141020T090000Z\tweekly@example.com\tOPAQUE\t20141020T080000Z\tWeekly\tpaul.boddie@example.com\n"
		"20141027T090000Z\t20141027T100000Z\tweekly@example.com\tOPAQUE\t20141027T090000Z\tWeekly\tpaul.boddie@example.com\n"
		"20141110T100000Z\t20141110T110000Z\tweekly@example.com\tOPAQUE\t20141110T090000Z\tMoved\tpaul.boddie@example.com\n"
		"20141117T090000Z\t20141117T100000Z\tweekly@example.com\tOPAQUE\t20141117T090000Z\tWeekly\tpaul.boddie@example.com\n"
		"20141124T090000Z\t20141124T100000Z\tweekly@example.com\tOPAQUE\t20141124T090000Z\tWeekly\tpaul.boddie@example.com\n");
	g_free(text);

	/* a window holding only part of the series */
	text = periods_text(body, "UTC", "20141027T093000Z",
			    "20141110T103000Z", 100, true, NULL);
	assert_string_equal(text,
		"20141027T090000Z\t20141027T100000Z\tweekly@example.com\tOPAQUE\t20141027T090000Z\tWeekly\tpaul.boddie@example.com\n"
		"20141110T100000Z\t20141110T110000Z\tweekly@example.com\tOPAQUE\t20141110T090000Z\tMoved\tpaul.boddie@example.com\n");
	g_free(text);
	g_free(body);
}

/* The generated rid of an instance is what an override for it carries:
   both normalise to the same UTC text. */
static void test_instance_rid_matches_override(void **state)
{
	struct ical_object *obj;
	struct fb_list *list = fb_list_new();
	const char *error;
	char *body = g_strconcat(oslo_vtimezone,
		"BEGIN:VEVENT" CRLF "UID:r" CRLF
		"DTSTART;TZID=Europe/Oslo:20141020T100000" CRLF
		"DURATION:PT1H" CRLF "RRULE:FREQ=DAILY;COUNT=3" CRLF
		"END:VEVENT" CRLF, NULL);

	(void)state;
	obj = test_object_of(body);
	assert_int_equal(fb_periods_of_object(obj, NULL, utc("20141001"),
		utc("20141101"), 10, true, list, NULL, &error), 0);
	assert_int_equal(list->periods->len, 3);
	assert_string_equal(((struct fb_period *)list->periods->pdata[1])->rid,
			    "20141021T080000Z");
	fb_list_free(&list);
	ical_object_free(obj);
	g_free(body);

	/* non-recurring: no rid */
	list = fb_list_new();
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:single" CRLF
			"DTSTART:20141020T100000Z" CRLF
			"DTEND:20141020T110000Z" CRLF "END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL, utc("20141001"),
		utc("20141101"), 10, true, list, NULL, &error), 0);
	assert_int_equal(list->periods->len, 1);
	assert_null(((struct fb_period *)list->periods->pdata[0])->rid);
	fb_list_free(&list);
	ical_object_free(obj);
}

static void test_dst_transition(void **state)
{
	/* Daily at 02:30 local across the spring change (30 March 2014,
	   02:00 -> 03:00) and 10:00 across the autumn change */
	char *text;

	(void)state;
	text = periods_text(
		"BEGIN:VEVENT" CRLF "UID:dst" CRLF
		"DTSTART;TZID=Europe/Oslo:20141025T100000" CRLF
		"DTEND;TZID=Europe/Oslo:20141025T103000" CRLF
		"RRULE:FREQ=DAILY;COUNT=3" CRLF "END:VEVENT" CRLF,
		"UTC", "20141001T000000Z", "20141201T000000Z", 100, true, NULL);
	assert_string_equal(text,
		"20141025T080000Z\t20141025T083000Z\tdst\tOPAQUE\t20141025T080000Z\t\t\n"
		"20141026T090000Z\t20141026T093000Z\tdst\tOPAQUE\t20141026T090000Z\t\t\n"
		"20141027T090000Z\t20141027T093000Z\tdst\tOPAQUE\t20141027T090000Z\t\t\n");
	g_free(text);

	/* floating times are read in the user's zone */
	text = periods_text(
		"BEGIN:VEVENT" CRLF "UID:float" CRLF
		"DTSTART:20140329T120000" CRLF "DTEND:20140329T130000" CRLF
		"RRULE:FREQ=DAILY;COUNT=2" CRLF "END:VEVENT" CRLF,
		"Europe/Oslo", "20140301T000000Z", "20140501T000000Z", 100,
		true, NULL);
	assert_string_equal(text,
		"20140329T110000Z\t20140329T120000Z\tfloat\tOPAQUE\t20140329T120000\t\t\n"
		"20140330T100000Z\t20140330T110000Z\tfloat\tOPAQUE\t20140330T120000\t\t\n");
	g_free(text);
}

static void test_all_day(void **state)
{
	char *text;

	(void)state;
	/* a DATE without DTEND lasts one day, in the user's zone */
	text = periods_text(
		"BEGIN:VEVENT" CRLF "UID:day" CRLF
		"DTSTART;VALUE=DATE:20141114" CRLF "END:VEVENT" CRLF,
		"Europe/Oslo", "20141101T000000Z", "20141201T000000Z", 100,
		true, NULL);
	assert_string_equal(text,
		"20141113T230000Z\t20141114T230000Z\tday\tOPAQUE\t\t\t\n");
	g_free(text);

	/* a two-day event over the autumn change lasts 49 hours */
	text = periods_text(
		"BEGIN:VEVENT" CRLF "UID:two" CRLF
		"DTSTART;VALUE=DATE:20141025" CRLF
		"DTEND;VALUE=DATE:20141027" CRLF "END:VEVENT" CRLF,
		"Europe/Oslo", "20141001T000000Z", "20141201T000000Z", 100,
		true, NULL);
	assert_string_equal(text,
		"20141024T220000Z\t20141026T230000Z\ttwo\tOPAQUE\t\t\t\n");
	g_free(text);

	/* yearly all-day: rid is the plain date */
	text = periods_text(
		"BEGIN:VEVENT" CRLF "UID:birthday" CRLF
		"DTSTART;VALUE=DATE:20120229" CRLF
		"RRULE:FREQ=YEARLY" CRLF "END:VEVENT" CRLF,
		"UTC", "20150101T000000Z", "20170101T000000Z", 100, true, NULL);
	assert_string_equal(text,
		"20160229T000000Z\t20160301T000000Z\tbirthday\tOPAQUE\t20160229\t\t\n");
	g_free(text);
}

static void test_rdate(void **state)
{
	char *text;

	(void)state;
	text = periods_text(
		"BEGIN:VEVENT" CRLF "UID:rd" CRLF
		"DTSTART:20141101T100000Z" CRLF "DURATION:PT1H" CRLF
		"RDATE:20141102T100000Z,20141103T120000Z" CRLF
		"RDATE;VALUE=PERIOD:20141104T100000Z/PT2H,20141105T100000Z/20141105T103000Z" CRLF
		"RDATE;TZID=Europe/Oslo:20141106T100000" CRLF
		"EXDATE:20141103T120000Z" CRLF
		"END:VEVENT" CRLF,
		"UTC", "20141001T000000Z", "20141201T000000Z", 100, true, NULL);
	assert_string_equal(text,
		"20141101T100000Z\t20141101T110000Z\trd\tOPAQUE\t20141101T100000Z\t\t\n"
		"20141102T100000Z\t20141102T110000Z\trd\tOPAQUE\t20141102T100000Z\t\t\n"
		"20141104T100000Z\t20141104T120000Z\trd\tOPAQUE\t20141104T100000Z\t\t\n"
		"20141105T100000Z\t20141105T103000Z\trd\tOPAQUE\t20141105T100000Z\t\t\n"
		"20141106T090000Z\t20141106T100000Z\trd\tOPAQUE\t20141106T090000Z\t\t\n");
	g_free(text);
}

static void test_endless_daily(void **state)
{
	struct ical_object *obj;
	struct fb_list *list = fb_list_new();
	const char *error = NULL;
	bool endless = false;
	char buf[17];

	(void)state;
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:daily" CRLF
			"DTSTART:20240101T090000Z" CRLF
			"DTEND:20240101T100000Z" CRLF
			"RRULE:FREQ=DAILY" CRLF "END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20240111T000000Z"), 1000, true,
		list, &endless, &error), 0);
	assert_true(endless);
	assert_int_equal(list->periods->len, 10);
	assert_string_equal(imip_clock_format_utc(
		((struct fb_period *)list->periods->pdata[9])->start, buf),
		"20240110T090000Z");
	fb_list_free(&list);

	/* a series that began long ago does not hit the cap: the
	   iterator jumps to the window */
	list = fb_list_new();
	icalcomponent_set_dtstart(obj->master,
		icaltime_from_string("19900101T090000Z"));
	icalcomponent_set_dtend(obj->master,
		icaltime_from_string("19900101T100000Z"));
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20240111T000000Z"), 100, true,
		list, &endless, &error), 0);
	assert_int_equal(list->periods->len, 10);
	assert_string_equal(imip_clock_format_utc(
		((struct fb_period *)list->periods->pdata[0])->start, buf),
		"20240101T090000Z");
	fb_list_free(&list);
	ical_object_free(obj);

	/* a sub-daily INTERVAL keeps its phase from DTSTART */
	list = fb_list_new();
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:hourly5" CRLF
			"DTSTART:20231220T003000Z" CRLF "DURATION:PT1H" CRLF
			"RRULE:FREQ=HOURLY;INTERVAL=5" CRLF "END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20240102T000000Z"), 1000, true,
		list, &endless, &error), 0);
	assert_int_equal(list->periods->len, 5);
	assert_string_equal(imip_clock_format_utc(
		((struct fb_period *)list->periods->pdata[0])->start, buf),
		"20240101T023000Z");
	fb_list_free(&list);
	ical_object_free(obj);
}

static void test_secondly_limit(void **state)
{
	struct ical_object *obj;
	struct fb_list *list = fb_list_new();
	const char *error = NULL;
	bool endless = false;
	gint64 t0 = g_get_monotonic_time();

	(void)state;
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:secondly" CRLF
			"DTSTART:20240101T000000Z" CRLF
			"DURATION:PT1S" CRLF
			"RRULE:FREQ=SECONDLY" CRLF "END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20241231T000000Z"), 500, true,
		list, &endless, &error), -1);
	assert_string_equal(error,
		"recurrence has more than 500 instances (limit_instances)");
	assert_true(endless);
	assert_true(g_get_monotonic_time() - t0 < G_USEC_PER_SEC);
	fb_list_free(&list);
	ical_object_free(obj);

	/* COUNT far beyond the cap, starting long before the window */
	list = fb_list_new();
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:count" CRLF
			"DTSTART:20000101T000000Z" CRLF "DURATION:PT1H" CRLF
			"RRULE:FREQ=HOURLY;COUNT=10000000" CRLF
			"END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20241231T000000Z"), 500, true,
		list, &endless, &error), -1);
	assert_false(endless);
	assert_non_null(strstr(error, "limit_instances"));
	fb_list_free(&list);
	ical_object_free(obj);
}

static void test_costly_rules(void **state)
{
	struct ical_object *obj;
	struct fb_list *list = fb_list_new();
	const char *error = NULL;
	gint64 t0 = g_get_monotonic_time();

	(void)state;
	/* would make libical walk second by second to the year 2582 */
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:costly" CRLF
			"DTSTART:20240101T000000Z" CRLF
			"RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=31" CRLF
			"END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20241231T000000Z"), 500, true,
		list, NULL, &error), -1);
	assert_non_null(error);
	ical_object_free(obj);

	/* an impossible daily rule leaves DTSTART alone, quickly */
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:never" CRLF
			"DTSTART:00010101T000000Z" CRLF "DURATION:PT1H" CRLF
			"RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=5" CRLF
			"END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20241231T000000Z"), 500, true,
		list, NULL, &error), 0);
	assert_int_equal(list->periods->len, 0);
	ical_object_free(obj);

	/* hourly with a rule that never matches (day 100 is in April):
	   the window bounds libical's search, which would otherwise go on
	   hour by hour to the year 2582 */
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:hourly" CRLF
			"DTSTART:20240101T000000Z" CRLF "DURATION:PT1H" CRLF
			"RRULE:FREQ=HOURLY;BYMONTH=2;BYYEARDAY=100" CRLF
			"END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20241231T000000Z"), 500, true,
		list, NULL, &error), 0);
	assert_int_equal(list->periods->len, 1);
	ical_object_free(obj);

	/* the same from the year 1 with COUNT (no jump possible): refused
	   rather than searched for 40 seconds */
	error = NULL;
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:hourly" CRLF
			"DTSTART:00010101T000000Z" CRLF "DURATION:PT1H" CRLF
			"RRULE:FREQ=HOURLY;BYMONTH=2;BYYEARDAY=100;COUNT=3" CRLF
			"END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20241231T000000Z"), 500, true,
		list, NULL, &error), -1);
	assert_non_null(strstr(error, "too costly"));
	ical_object_free(obj);
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:daily" CRLF
			"DTSTART;VALUE=DATE:00010101" CRLF
			"RRULE:FREQ=DAILY;BYMONTH=2;BYDAY=1MO;BYMONTHDAY=20;COUNT=3" CRLF
			"END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20241231T000000Z"), 500, true,
		list, NULL, &error), -1);
	ical_object_free(obj);
	/* but a normal monthly-style daily rule from long ago is fine */
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:daily2" CRLF
			"DTSTART;VALUE=DATE:19900101" CRLF
			"RRULE:FREQ=DAILY;BYMONTHDAY=1" CRLF
			"END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL,
		utc("20240101T000000Z"), utc("20241231T000000Z"), 500, true,
		list, NULL, &error), 0);
	assert_int_equal(list->periods->len, 1 + 12);
	ical_object_free(obj);
	assert_true(g_get_monotonic_time() - t0 < 2 * G_USEC_PER_SEC);
	fb_list_free(&list);
}

static void test_custom_vtimezone(void **state)
{
	char *text;

	(void)state;
	text = periods_text(
		"BEGIN:VTIMEZONE" CRLF "TZID:My Zone" CRLF
		"BEGIN:STANDARD" CRLF "TZOFFSETFROM:+0530" CRLF
		"TZOFFSETTO:+0530" CRLF "DTSTART:19700101T000000" CRLF
		"END:STANDARD" CRLF "END:VTIMEZONE" CRLF
		"BEGIN:VEVENT" CRLF "UID:mz" CRLF
		"DTSTART;TZID=My Zone:20141114T100000" CRLF
		"DTEND;TZID=My Zone:20141114T110000" CRLF
		"RRULE:FREQ=DAILY;COUNT=2" CRLF
		"END:VEVENT" CRLF,
		"UTC", "20141101T000000Z", "20141201T000000Z", 100, true, NULL);
	assert_string_equal(text,
		"20141114T043000Z\t20141114T053000Z\tmz\tOPAQUE\t20141114T043000Z\t\t\n"
		"20141115T043000Z\t20141115T053000Z\tmz\tOPAQUE\t20141115T043000Z\t\t\n");
	g_free(text);
}

static void test_transp_and_cancelled(void **state)
{
	const char *body =
		"BEGIN:VEVENT" CRLF "UID:t" CRLF "TRANSP:TRANSPARENT" CRLF
		"DTSTART:20141114T100000Z" CRLF "DTEND:20141114T110000Z" CRLF
		"RRULE:FREQ=DAILY;COUNT=3" CRLF "END:VEVENT" CRLF
		"BEGIN:VEVENT" CRLF "UID:t" CRLF
		"RECURRENCE-ID:20141115T100000Z" CRLF
		"DTSTART:20141115T100000Z" CRLF "DTEND:20141115T110000Z" CRLF
		"END:VEVENT" CRLF
		"BEGIN:VEVENT" CRLF "UID:t" CRLF "STATUS:CANCELLED" CRLF
		"RECURRENCE-ID:20141116T100000Z" CRLF
		"DTSTART:20141116T100000Z" CRLF "DTEND:20141116T110000Z" CRLF
		"END:VEVENT" CRLF;
	char *text;

	(void)state;
	text = periods_text(body, "UTC", "20141101T000000Z",
			    "20141201T000000Z", 100, true, NULL);
	/* only the opaque override is busy */
	assert_string_equal(text,
		"20141115T100000Z\t20141115T110000Z\tt\tOPAQUE\t20141115T100000Z\t\t\n");
	g_free(text);
	text = periods_text(body, "UTC", "20141101T000000Z",
			    "20141201T000000Z", 100, false, NULL);
	assert_string_equal(text,
		"20141114T100000Z\t20141114T110000Z\tt\tTRANSPARENT\t20141114T100000Z\t\t\n"
		"20141115T100000Z\t20141115T110000Z\tt\tOPAQUE\t20141115T100000Z\t\t\n"
		"20141116T100000Z\t20141116T110000Z\tt\tTRANSPARENT\t20141116T100000Z\t\t\n");
	g_free(text);
}

static void test_override_moved(void **state)
{
	const char *body =
		"BEGIN:VEVENT" CRLF "UID:m" CRLF
		"DTSTART:20141110T100000Z" CRLF "DTEND:20141110T110000Z" CRLF
		"RRULE:FREQ=WEEKLY;COUNT=3" CRLF "END:VEVENT" CRLF
		/* moved from before the window into it */
		"BEGIN:VEVENT" CRLF "UID:m" CRLF
		"RECURRENCE-ID:20141110T100000Z" CRLF
		"DTSTART:20141120T100000Z" CRLF "DTEND:20141120T110000Z" CRLF
		"END:VEVENT" CRLF
		/* moved from inside the window out of it */
		"BEGIN:VEVENT" CRLF "UID:m" CRLF
		"RECURRENCE-ID:20141117T100000Z" CRLF
		"DTSTART:20141210T100000Z" CRLF "DTEND:20141210T110000Z" CRLF
		"END:VEVENT" CRLF
		/* no DTEND: keeps the master's length */
		"BEGIN:VEVENT" CRLF "UID:m" CRLF
		"RECURRENCE-ID:20141124T100000Z" CRLF
		"DTSTART:20141124T120000Z" CRLF
		"END:VEVENT" CRLF;
	char *text;

	(void)state;
	text = periods_text(body, "UTC", "20141115T000000Z",
			    "20141201T000000Z", 100, true, NULL);
	assert_string_equal(text,
		"20141120T100000Z\t20141120T110000Z\tm\tOPAQUE\t20141110T100000Z\t\t\n"
		"20141124T120000Z\t20141124T130000Z\tm\tOPAQUE\t20141124T100000Z\t\t\n");
	g_free(text);
}

static void test_list_operations(void **state)
{
	struct fb_list *list = fb_list_new(), *other = fb_list_new();
	struct fb_period p;
	GPtrArray *hits = g_ptr_array_new();
	GString *text;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.start = utc("20141126T150000Z");
	p.end = utc("20141126T160000Z");
	p.uid = (char *)"b";
	p.summary = (char *)"tab\there\nnewline";
	fb_list_add(list, &p);
	p.uid = (char *)"a";
	p.rid = (char *)"20141126T150000Z";
	p.transp = (char *)"OPAQUE";
	p.organiser = (char *)"paul.boddie@example.com";
	p.summary = NULL;
	fb_list_add(list, &p);
	p.start = utc("20141126T140000Z");
	p.uid = (char *)"c";
	p.rid = NULL;
	p.expires = utc("20141120T000000Z");
	fb_list_add(list, &p);

	text = fb_list_format(list);
	assert_string_equal(text->str,
		"20141126T140000Z\t20141126T160000Z\tc\tOPAQUE\t\t\tpaul.boddie@example.com\t20141120T000000Z\n"
		"20141126T150000Z\t20141126T160000Z\ta\tOPAQUE\t20141126T150000Z\t\tpaul.boddie@example.com\n"
		"20141126T150000Z\t20141126T160000Z\tb\t\t\ttab here newline\t\n");

	/* round trip, with garbage mixed in */
	{
		GString *dirty = g_string_new("garbage line\n\n");
		unsigned int bad = 0;
		struct fb_list *back = fb_list_new();
		GString *again;
		struct fb_period *q;

		g_string_append(dirty, text->str);
		g_string_append(dirty,
			"20141126T170000Z\t20141126T160000Z\tend before start\n"
			"2014112XT170000Z\t20141126T180000Z\tx\n"
			"20141126T170000Z\t20141126T180000Z\tx\t\t\t\t\tnot-a-time\n"
			"1\t2\t3\t4\t5\t6\t7\t8\t9\n"
			"20141126T170000Z\t20141126T180000Z\r\n"
			"\t\t\n");
		fb_list_parse(back, dirty->str, &bad);
		assert_int_equal(bad, 6);
		assert_int_equal(back->periods->len, 4);
		q = back->periods->pdata[0];
		assert_string_equal(q->uid, "c");
		assert_null(q->rid);
		assert_null(q->summary);
		assert_int_equal(q->expires, utc("20141120T000000Z"));
		q = back->periods->pdata[3];
		assert_null(q->uid);
		assert_int_equal(q->start, utc("20141126T170000Z"));
		fb_list_remove(back, NULL, NULL);
		again = fb_list_format(back);
		assert_string_equal(again->str, text->str);
		g_string_free(again, TRUE);
		g_string_free(dirty, TRUE);
		fb_list_free(&back);
		assert_null(back);
	}
	g_string_free(text, TRUE);

	fb_list_overlapping(list, utc("20141126T143000Z"),
			    utc("20141126T150000Z"), NULL, hits);
	assert_int_equal(hits->len, 1);
	g_ptr_array_set_size(hits, 0);
	fb_list_overlapping(list, utc("20141126T150000Z"),
			    utc("20141126T150001Z"), "a", hits);
	assert_int_equal(hits->len, 2);
	g_ptr_array_set_size(hits, 0);
	fb_list_overlapping(list, utc("20141126T160000Z"),
			    utc("20141126T170000Z"), NULL, hits);
	assert_int_equal(hits->len, 0);

	assert_int_equal(fb_list_expire(list, utc("20141119T000000Z")), 0);
	assert_int_equal(fb_list_expire(list, utc("20141120T000000Z")), 1);
	assert_int_equal(list->periods->len, 2);

	memset(&p, 0, sizeof(p));
	p.start = utc("20141101T000000Z");
	p.end = utc("20141101T010000Z");
	p.uid = (char *)"a";
	p.rid = (char *)"other";
	fb_list_add(other, &p);
	fb_list_merge(list, other);
	assert_int_equal(other->periods->len, 0);
	assert_int_equal(list->periods->len, 3);
	assert_int_equal(((struct fb_period *)list->periods->pdata[0])->start,
			 utc("20141101T000000Z"));
	assert_int_equal(fb_list_remove(list, "a", "other"), 1);
	assert_int_equal(fb_list_remove(list, "a", NULL), 1);
	assert_int_equal(fb_list_remove(list, "zzz", NULL), 0);
	assert_int_equal(list->periods->len, 1);
	fb_list_clear(list);
	assert_int_equal(list->periods->len, 0);

	g_ptr_array_free(hits, TRUE);
	fb_list_free(&list);
	fb_list_free(&other);
}

static void add_period(struct fb_list *list, const char *s, const char *e,
		       const char *transp)
{
	struct fb_period p;

	memset(&p, 0, sizeof(p));
	p.start = utc(s);
	p.end = utc(e);
	p.uid = (char *)"u";
	p.transp = (char *)transp;
	fb_list_add(list, &p);
}

static void test_vfreebusy_round_trip(void **state)
{
	struct fb_list *list = fb_list_new(), *back = fb_list_new();
	const char *error = NULL;
	GPtrArray *cals, *objs;
	struct ical_object *obj;
	char *text;
	GString *lines;

	(void)state;
	add_period(list, "20141125T090000Z", "20141125T100000Z", NULL);
	add_period(list, "20141126T090000Z", "20141126T100000Z", "OPAQUE");
	add_period(list, "20141126T093000Z", "20141126T110000Z", NULL);
	add_period(list, "20141126T110000Z", "20141126T120000Z", NULL);
	add_period(list, "20141126T130000Z", "20141126T140000Z", "TRANSPARENT");
	add_period(list, "20141127T230000Z", "20141128T020000Z", NULL);
	add_period(list, "20141201T000000Z", "20141202T000000Z", NULL);

	text = fb_vfreebusy_text(list, utc("20141126T000000Z"),
				 utc("20141128T000000Z"), "REPLY",
				 "fb1@example.com", "Paul.Boddie@example.com",
				 "resource-room-confroom@example.com",
				 "calendar@example.com",
				 utc("20141120T120000Z"));
	assert_non_null(strstr(text, "BEGIN:VCALENDAR\r\n"));
	assert_non_null(strstr(text, "METHOD:REPLY\r\n"));
	assert_non_null(strstr(text, "VERSION:2.0\r\n"));
	assert_non_null(strstr(text, "PRODID:-//imip-agent//imip-agent 0.1//EN\r\n"));
	assert_non_null(strstr(text, "ORGANIZER:mailto:paul.boddie@example.com\r\n"));
	assert_non_null(strstr(text, "ATTENDEE;SENT-BY=\"mailto:calendar@example.com\":"));
	assert_non_null(strstr(text, "UID:fb1@example.com\r\n"));
	assert_non_null(strstr(text, "DTSTAMP:20141120T120000Z\r\n"));
	assert_non_null(strstr(text, "DTSTART:20141126T000000Z\r\n"));
	assert_non_null(strstr(text, "DTEND:20141128T000000Z\r\n"));
	assert_null(strstr(text, "\n\n"));

	cals = ical_parse_calendars(text, strlen(text), NULL, &error);
	assert_non_null(cals);
	objs = ical_objects_from_calendar(cals->pdata[0], NULL);
	assert_int_equal(objs->len, 1);
	obj = objs->pdata[0];
	assert_int_equal(obj->kind, ICAL_VFREEBUSY_COMPONENT);
	assert_int_equal(fb_periods_of_vfreebusy(obj->master, back, &error), 0);
	lines = fb_list_format(back);
	/* merged (overlap and adjacency), clipped, transparent dropped */
	assert_string_equal(lines->str,
		"20141126T090000Z\t20141126T120000Z\tfb1@example.com\tOPAQUE\t\t\tpaul.boddie@example.com\n"
		"20141127T230000Z\t20141128T000000Z\tfb1@example.com\tOPAQUE\t\t\tpaul.boddie@example.com\n");
	g_string_free(lines, TRUE);

	/* the same through fb_periods_of_object */
	fb_list_clear(back);
	assert_int_equal(fb_periods_of_object(obj, NULL, 0, 0, 10, true, back,
					      NULL, &error), 0);
	assert_int_equal(back->periods->len, 2);

	ical_object_free(obj);
	g_ptr_array_free(objs, TRUE);
	icalcomponent_free(cals->pdata[0]);
	g_ptr_array_free(cals, TRUE);
	g_free(text);

	/* no periods, no UID given: one is made up */
	text = fb_vfreebusy_text(NULL, utc("20141126T000000Z"),
				 utc("20141128T000000Z"), NULL, NULL, NULL,
				 NULL, NULL, utc("20141120T120000Z"));
	assert_non_null(strstr(text, "@imip-agent\r\n"));
	assert_null(strstr(text, "\r\nFREEBUSY"));
	assert_non_null(strstr(text, "BEGIN:VFREEBUSY\r\n"));
	assert_null(strstr(text, "METHOD"));
	g_free(text);

	fb_list_free(&list);
	fb_list_free(&back);
}

static void test_vfreebusy_received(void **state)
{
	struct ical_object *obj;
	struct fb_list *list = fb_list_new();
	const char *error = NULL;
	GString *lines;

	(void)state;
	obj = test_object_of("BEGIN:VFREEBUSY" CRLF "UID:fbx" CRLF
		"ORGANIZER:mailto:harvey.horse@example.com" CRLF
		"FREEBUSY:20141126T090000Z/PT1H,20141126T120000Z/20141126T130000Z" CRLF
		"FREEBUSY;FBTYPE=FREE:20141126T140000Z/PT1H" CRLF
		"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20141126T150000Z/PT30M" CRLF
		"END:VFREEBUSY" CRLF);
	assert_int_equal(fb_periods_of_vfreebusy(obj->master, list, &error), 0);
	lines = fb_list_format(list);
	assert_string_equal(lines->str,
		"20141126T090000Z\t20141126T100000Z\tfbx\tOPAQUE\t\t\tharvey.horse@example.com\n"
		"20141126T120000Z\t20141126T130000Z\tfbx\tOPAQUE\t\t\tharvey.horse@example.com\n"
		"20141126T150000Z\t20141126T153000Z\tfbx\tOPAQUE\t\t\tharvey.horse@example.com\n");
	g_string_free(lines, TRUE);
	assert_int_equal(fb_periods_of_vfreebusy(NULL, list, &error), -1);
	assert_non_null(error);
	fb_list_free(&list);
	ical_object_free(obj);
}

static void test_bad_components(void **state)
{
	struct ical_object *obj;
	struct fb_list *list = fb_list_new();
	const char *error = NULL;

	(void)state;
	/* no DTSTART, DTEND before DTSTART, zero length: nothing */
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:bad" CRLF
			"DTEND:20141126T090000Z" CRLF "END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL, 0, utc("20300101"),
		10, true, list, NULL, &error), 0);
	ical_object_free(obj);
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:bad" CRLF
			"DTSTART:20141126T090000Z" CRLF
			"DTEND:20141126T080000Z" CRLF "END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL, 0, utc("20300101"),
		10, true, list, NULL, &error), 0);
	ical_object_free(obj);
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:bad" CRLF
			"DTSTART:20141126T090000Z" CRLF "END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL, 0, utc("20300101"),
		10, true, list, NULL, &error), 0);
	ical_object_free(obj);
	obj = test_object_of("BEGIN:VEVENT" CRLF "UID:bad" CRLF
			"DTSTART:20141126T090000Z" CRLF
			"DURATION:P99999999W" CRLF
			"RRULE:FREQ=YEARLY;INTERVAL=0" CRLF "END:VEVENT" CRLF);
	assert_int_equal(fb_periods_of_object(obj, NULL, 0, utc("20300101"),
		10, true, list, NULL, &error), 0);
	ical_object_free(obj);
	assert_int_equal(list->periods->len, 1);
	fb_list_free(&list);
}

/* Instance lookup: an event without DTEND or DURATION has no busy time
   but its instances are real (RFC 5545 3.6.1), and a transparent one is
   an instance too. */
static void test_instances_zero_length(void **state)
{
	struct ical_object *obj = test_object_of(
		"BEGIN:VEVENT" CRLF
		"UID:point@example.com" CRLF
		"TRANSP:TRANSPARENT" CRLF
		"DTSTART:20140724T120000Z" CRLF
		"RRULE:FREQ=DAILY;COUNT=3" CRLF
		"END:VEVENT" CRLF);
	struct fb_list *list = fb_list_new();
	const char *error = NULL;
	GString *text;

	(void)state;
	assert_int_equal(fb_periods_of_object(obj, NULL, 0, utc("20300101T000000Z"),
					      100, false, list, NULL, &error), 0);
	assert_int_equal(list->periods->len, 0);
	assert_int_equal(fb_instances_of_object(obj, NULL, 0,
						utc("20300101T000000Z"), 100,
						list, &error), 0);
	text = fb_list_format(list);
	assert_string_equal(text->str,
		"20140724T120000Z\t20140724T120000Z\tpoint@example.com\tTRANSPARENT\t20140724T120000Z\t\t\n"
		"20140725T120000Z\t20140725T120000Z\tpoint@example.com\tTRANSPARENT\t20140725T120000Z\t\t\n"
		"20140726T120000Z\t20140726T120000Z\tpoint@example.com\tTRANSPARENT\t20140726T120000Z\t\t\n");
	g_string_free(text, TRUE);

	/* a window starting at an instance holds it; one ending there not */
	fb_list_clear(list);
	assert_int_equal(fb_instances_of_object(obj, NULL,
						utc("20140725T120000Z"),
						utc("20140726T120000Z"), 100,
						list, &error), 0);
	assert_int_equal(list->periods->len, 1);
	assert_string_equal(((struct fb_period *)list->periods->pdata[0])->rid,
			    "20140725T120000Z");

	/* the limit still applies */
	fb_list_clear(list);
	assert_int_equal(fb_instances_of_object(obj, NULL, 0,
						utc("20300101T000000Z"), 2,
						list, &error), -1);
	assert_non_null(error);
	fb_list_free(&list);
	ical_object_free(obj);
}

/* An all-day event whose DTEND is its DTSTART has no length; its
   instances are still named. */
static void test_instances_empty_all_day(void **state)
{
	struct ical_object *obj = test_object_of(
		"BEGIN:VEVENT" CRLF
		"UID:day@example.com" CRLF
		"DTSTART;VALUE=DATE:20140724" CRLF
		"DTEND;VALUE=DATE:20140724" CRLF
		"RRULE:FREQ=WEEKLY;COUNT=2" CRLF
		"END:VEVENT" CRLF);
	struct fb_list *list = fb_list_new();
	const char *error = NULL;

	(void)state;
	assert_int_equal(fb_periods_of_object(obj, NULL, 0, utc("20300101T000000Z"),
					      100, false, list, NULL, &error), 0);
	assert_int_equal(list->periods->len, 0);
	assert_int_equal(fb_instances_of_object(obj, NULL, 0,
						utc("20300101T000000Z"), 100,
						list, &error), 0);
	assert_int_equal(list->periods->len, 2);
	assert_string_equal(((struct fb_period *)list->periods->pdata[1])->rid,
			    "20140731");
	fb_list_free(&list);
	ical_object_free(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weekly_exdate_override),
		cmocka_unit_test(test_instance_rid_matches_override),
		cmocka_unit_test(test_dst_transition),
		cmocka_unit_test(test_all_day),
		cmocka_unit_test(test_rdate),
		cmocka_unit_test(test_endless_daily),
		cmocka_unit_test(test_secondly_limit),
		cmocka_unit_test(test_costly_rules),
		cmocka_unit_test(test_custom_vtimezone),
		cmocka_unit_test(test_transp_and_cancelled),
		cmocka_unit_test(test_override_moved),
		cmocka_unit_test(test_list_operations),
		cmocka_unit_test(test_vfreebusy_round_trip),
		cmocka_unit_test(test_vfreebusy_received),
		cmocka_unit_test(test_bad_components),
		cmocka_unit_test(test_instances_zero_length),
		cmocka_unit_test(test_instances_empty_all_day),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
