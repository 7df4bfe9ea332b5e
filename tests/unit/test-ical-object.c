/* Unit tests for common/ical-object.c */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "config.h"
#include "ical-object.h"

#define CRLF "\r\n"

static const char oslo_vtimezone[] =
	"BEGIN:VTIMEZONE" CRLF
	"TZID:Europe/Oslo" CRLF
	"BEGIN:DAYLIGHT" CRLF
	"TZOFFSETFROM:+0100" CRLF
	"TZOFFSETTO:+0200" CRLF
	"TZNAME:CEST" CRLF
	"DTSTART:19700329T020000" CRLF
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" CRLF
	"END:DAYLIGHT" CRLF
	"BEGIN:STANDARD" CRLF
	"TZOFFSETFROM:+0200" CRLF
	"TZOFFSETTO:+0100" CRLF
	"TZNAME:CET" CRLF
	"DTSTART:19701025T030000" CRLF
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" CRLF
	"END:STANDARD" CRLF
	"END:VTIMEZONE" CRLF;

/* A zone that exists only in the message: UTC+05:30 all year. */
static const char my_zone_vtimezone[] =
	"BEGIN:VTIMEZONE" CRLF
	"TZID:My Zone" CRLF
	"BEGIN:STANDARD" CRLF
	"TZOFFSETFROM:+0530" CRLF
	"TZOFFSETTO:+0530" CRLF
	"DTSTART:19700101T000000" CRLF
	"END:STANDARD" CRLF
	"END:VTIMEZONE" CRLF;

static GPtrArray *parse_ok(const char *text)
{
	const char *error = NULL;
	GPtrArray *cals = ical_parse_calendars(text, strlen(text), NULL,
					       &error);

	if (cals == NULL)
		fail_msg("parse failed: %s", error);
	return cals;
}

static void calendars_free(GPtrArray *cals)
{
	if (cals == NULL)
		return;
	for (guint i = 0; i < cals->len; i++)
		icalcomponent_free(cals->pdata[i]);
	g_ptr_array_free(cals, TRUE);
}

static void objects_free(GPtrArray *objs)
{
	for (guint i = 0; i < objs->len; i++)
		ical_object_free(objs->pdata[i]);
	g_ptr_array_free(objs, TRUE);
}

static char *replace_all(const char *text, const char *from, const char *to)
{
	char **parts = g_strsplit(text, from, -1);
	char *joined = g_strjoinv(to, parts);

	g_strfreev(parts);
	return joined;
}

static const char simple_event[] =
	"BEGIN:VCALENDAR" CRLF
	"VERSION:2.0" CRLF
	"METHOD:REQUEST" CRLF
	"BEGIN:VEVENT" CRLF
	"UID:event1@example.com" CRLF
	"DTSTAMP:20141009T130000Z" CRLF
	"SEQUENCE:3" CRLF
	"DTSTART:20141126T150000Z" CRLF
	"DTEND:20141126T160000Z" CRLF
	"SUMMARY:A long summary that is folded across several physical lines "
	"so that the parser must unfold it" CRLF
	"ORGANIZER;SENT-BY=\"mailto:Calendar@Example.com\":mailto:Paul.Boddie@Example.COM" CRLF
	"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:vincent.vole@example.com" CRLF
	"ATTENDEE;PARTSTAT=ACCEPTED:MAILTO:harvey.horse@example.com" CRLF
	"END:VEVENT" CRLF
	"END:VCALENDAR" CRLF;

static void check_simple(GPtrArray *cals)
{
	icalcomponent *ev;

	assert_int_equal(cals->len, 1);
	assert_string_equal(ical_calendar_method(cals->pdata[0]), "REQUEST");
	ev = icalcomponent_get_first_component(cals->pdata[0],
					       ICAL_VEVENT_COMPONENT);
	assert_non_null(ev);
	assert_string_equal(icalcomponent_get_uid(ev), "event1@example.com");
	assert_string_equal(icalcomponent_get_summary(ev),
			    "A long summary that is folded across several "
			    "physical lines so that the parser must unfold it");
}

static void test_parse_line_ends(void **state)
{
	char *folded, *lf, *cr, *mixed;
	GPtrArray *cals;

	(void)state;
	/* fold the SUMMARY with CRLF + space and with CRLF + tab */
	folded = replace_all(simple_event, "several physical",
			     "several" CRLF "  physical");
	{
		char *tmp = replace_all(folded, "must unfold",
					"must" CRLF "\t unfold");
		g_free(folded);
		folded = tmp;
	}
	cals = parse_ok(folded);
	check_simple(cals);
	calendars_free(cals);

	lf = replace_all(folded, CRLF, "\n");
	cals = parse_ok(lf);
	check_simple(cals);
	calendars_free(cals);

	cr = replace_all(folded, CRLF, "\r");
	cals = parse_ok(cr);
	check_simple(cals);
	calendars_free(cals);

	/* mixed: first half LF, rest CRLF */
	mixed = replace_all(folded, "VERSION:2.0" CRLF "METHOD:REQUEST" CRLF,
			    "VERSION:2.0\nMETHOD:REQUEST\n");
	cals = parse_ok(mixed);
	check_simple(cals);
	calendars_free(cals);

	/* a byte order mark in front */
	{
		char *bom = g_strconcat("\xEF\xBB\xBF", simple_event, NULL);
		cals = parse_ok(bom);
		check_simple(cals);
		calendars_free(cals);
		g_free(bom);
	}
	g_free(folded);
	g_free(lf);
	g_free(cr);
	g_free(mixed);
}

/* The UID line of Cassandane's imip_invite_funky_uid: stray CRs before
   the CR LF, then the fold.  The CRs belong to the line end, so the
   continuation is still part of the UID. */
static void test_parse_stray_crs(void **state)
{
	char *funky = replace_all(simple_event, "UID:event1@example.com" CRLF,
				  "UID: event1@\r\r\r\n example.com" CRLF);
	char *lf_only = replace_all(funky, CRLF, "\n");
	/* a run of CRs without an LF after it is one (old Mac) line end */
	char *cr_run = replace_all(simple_event, CRLF, "\r\r");
	GPtrArray *cals;

	(void)state;
	cals = parse_ok(funky);
	check_simple(cals);
	calendars_free(cals);
	cals = parse_ok(lf_only);
	check_simple(cals);
	calendars_free(cals);
	cals = parse_ok(cr_run);
	check_simple(cals);
	calendars_free(cals);

	/* stray CRs before the fold of a SUMMARY of every length around
	   libical's line buffer, so that the line end also falls on the
	   boundary of the pieces the line is handed over in */
	for (size_t len = 1; len < 300; len++) {
		char *summary = g_strnfill(len, 'x');
		char *line = g_strdup_printf("SUMMARY:%s\r\r\r\n %s" CRLF,
					     summary, summary);
		char *text = replace_all(simple_event,
			"SUMMARY:A long summary that is folded across several "
			"physical lines so that the parser must unfold it" CRLF,
			line);
		char *want = g_strconcat(summary, summary, NULL);
		icalcomponent *ev;

		cals = parse_ok(text);
		ev = icalcomponent_get_first_component(cals->pdata[0],
						       ICAL_VEVENT_COMPONENT);
		assert_string_equal(icalcomponent_get_summary(ev), want);
		assert_string_equal(icalcomponent_get_uid(ev),
				    "event1@example.com");
		calendars_free(cals);
		g_free(want);
		g_free(text);
		g_free(line);
		g_free(summary);
	}
	g_free(funky);
	g_free(lf_only);
	g_free(cr_run);
}

static void test_parse_several_and_method(void **state)
{
	char *cancel = replace_all(simple_event, "METHOD:REQUEST",
				   "method:cancel");
	char *two = g_strconcat(simple_event, "garbage between\r\n", cancel,
				NULL);
	GPtrArray *cals;

	(void)state;
	cals = parse_ok(two);
	assert_int_equal(cals->len, 2);
	assert_string_equal(ical_calendar_method(cals->pdata[0]), "REQUEST");
	assert_string_equal(ical_calendar_method(cals->pdata[1]), "CANCEL");
	calendars_free(cals);
	g_free(two);
	g_free(cancel);

	cals = parse_ok("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VEVENT\n"
			"END:VCALENDAR\n");
	assert_null(ical_calendar_method(cals->pdata[0]));
	calendars_free(cals);
}

static void test_parse_errors(void **state)
{
	const char *error = NULL;
	const char *truncated =
		"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:a\r\n";
	const char *bare_event = "BEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n";

	(void)state;
	assert_null(ical_parse_calendars("hello world", 11, NULL, &error));
	assert_string_equal(error, "no VCALENDAR");
	error = NULL;
	assert_null(ical_parse_calendars("", 0, NULL, &error));
	assert_string_equal(error, "no VCALENDAR");
	error = NULL;
	assert_null(ical_parse_calendars(bare_event, strlen(bare_event), NULL,
					 &error));
	assert_string_equal(error, "no VCALENDAR");
	error = NULL;
	assert_null(ical_parse_calendars(truncated, strlen(truncated), NULL,
					 &error));
	assert_non_null(strstr(error, "truncated"));
	error = NULL;
	assert_null(ical_parse_calendars(NULL, 0, NULL, &error));
	assert_non_null(error);

	/* END before BEGIN and stray lines are ignored, not fatal */
	{
		GPtrArray *cals;
		char *t = g_strconcat("END:VEVENT\r\nEND:VCALENDAR\r\nfoo\r\n",
				      simple_event, NULL);
		cals = parse_ok(t);
		check_simple(cals);
		calendars_free(cals);
		g_free(t);
	}
	/* the length is honoured: the text after it is not read */
	{
		char *t = g_strconcat(simple_event, "BEGIN:VCALENDAR\r\n"
				      "END:VCALENDAR\r\n", NULL);
		GPtrArray *cals = ical_parse_calendars(t, strlen(simple_event),
						       NULL, &error);
		assert_non_null(cals);
		assert_int_equal(cals->len, 1);
		calendars_free(cals);
		g_free(t);
	}
}

static void test_parse_limits(void **state)
{
	struct imip_limits limits;
	const char *error = NULL;
	GString *text = g_string_new("BEGIN:VCALENDAR\r\n");
	GPtrArray *cals;

	(void)state;
	memset(&limits, 0, sizeof(limits));
	limits.components = 3;
	limits.attendees = 2;
	for (int i = 0; i < 4; i++)
		g_string_append_printf(text, "BEGIN:VEVENT\r\nUID:u%d\r\n"
				       "END:VEVENT\r\n", i);
	g_string_append(text, "END:VCALENDAR\r\n");
	assert_null(ical_parse_calendars(text->str, text->len, &limits,
					 &error));
	assert_string_equal(error, "more than 3 components (limit_components)");

	limits.components = 4;
	error = NULL;
	cals = ical_parse_calendars(text->str, text->len, &limits, &error);
	assert_non_null(cals);
	calendars_free(cals);

	/* the limit is per VCALENDAR */
	{
		char *two = g_strconcat(text->str, text->str, NULL);
		cals = ical_parse_calendars(two, strlen(two), &limits, &error);
		assert_non_null(cals);
		assert_int_equal(cals->len, 2);
		calendars_free(cals);
		g_free(two);
	}

	g_string_assign(text, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n"
			"ATTENDEE:mailto:a@example.com\r\n"
			"ATTENDEE:mailto:b@example.com\r\n"
			"ATTENDEE:mailto:c@example.com\r\n"
			"END:VEVENT\r\nEND:VCALENDAR\r\n");
	error = NULL;
	assert_null(ical_parse_calendars(text->str, text->len, &limits,
					 &error));
	assert_string_equal(error, "more than 2 attendees (limit_attendees)");
	limits.attendees = 3;
	cals = ical_parse_calendars(text->str, text->len, &limits, &error);
	assert_non_null(cals);
	calendars_free(cals);

	/* nesting */
	g_string_assign(text, "BEGIN:VCALENDAR\r\n");
	for (int i = 0; i < 50; i++)
		g_string_append(text, "BEGIN:X-DEEP\r\n");
	for (int i = 0; i < 50; i++)
		g_string_append(text, "END:X-DEEP\r\n");
	g_string_append(text, "END:VCALENDAR\r\n");
	error = NULL;
	assert_null(ical_parse_calendars(text->str, text->len, NULL, &error));
	assert_non_null(strstr(error, "nested"));
	g_string_free(text, TRUE);
}

static void test_parse_garbage(void **state)
{
	GRand *rand = g_rand_new_with_seed(4711);
	const char *error;
	char buf[4096];

	(void)state;
	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)g_rand_int_range(rand, 0, sizeof(buf));
		GPtrArray *cals;

		for (size_t i = 0; i < len; i++)
			buf[i] = (char)g_rand_int_range(rand, 0, 256);
		/* sometimes give it a calendar frame around the noise */
		if (round % 2 == 0 && len > 40) {
			memcpy(buf, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", 31);
		}
		error = NULL;
		cals = ical_parse_calendars(buf, len, NULL, &error);
		if (cals == NULL)
			assert_non_null(error);
		else
			calendars_free(cals);
	}
	/* every prefix of a real calendar */
	for (size_t len = 0; len <= strlen(simple_event); len += 7) {
		GPtrArray *cals;
		error = NULL;
		cals = ical_parse_calendars(simple_event, len, NULL, &error);
		if (cals == NULL) {
			assert_non_null(error);
		} else {
			GPtrArray *objs = ical_objects_from_calendar(
				cals->pdata[0], NULL);
			objects_free(objs);
			calendars_free(cals);
		}
	}
	g_rand_free(rand);
}

static void test_wild_vtimezone_dropped(void **state)
{
	const char *text =
		"BEGIN:VCALENDAR\r\n"
		"BEGIN:VTIMEZONE\r\nTZID:Evil\r\n"
		"BEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
		"DTSTART:16010101T000000\r\nRRULE:FREQ=SECONDLY\r\n"
		"END:STANDARD\r\nEND:VTIMEZONE\r\n"
		"BEGIN:VEVENT\r\nUID:e\r\n"
		"RECURRENCE-ID;TZID=Evil:20141114T100000\r\n"
		"DTSTART;TZID=Evil:20141114T100000\r\nEND:VEVENT\r\n"
		"END:VCALENDAR\r\n";
	GPtrArray *cals = parse_ok(text);
	icalcomponent *ev;
	time_t t0 = time(NULL);
	char *rid;

	(void)state;
	assert_null(icalcomponent_get_first_component(cals->pdata[0],
		ICAL_VTIMEZONE_COMPONENT));
	ev = icalcomponent_get_first_component(cals->pdata[0],
					       ICAL_VEVENT_COMPONENT);
	/* the unknown zone leaves the value floating */
	rid = ical_rid_of(ev);
	assert_string_equal(rid, "20141114T100000");
	g_free(rid);
	assert_true(time(NULL) - t0 < 2);
	calendars_free(cals);

	/* a yearly rule no date satisfies (the 7th Sunday of March) */
	{
		char *impossible = replace_all(text, "RRULE:FREQ=SECONDLY",
			"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-7SU");
		cals = parse_ok(impossible);
		assert_null(icalcomponent_get_first_component(cals->pdata[0],
			ICAL_VTIMEZONE_COMPONENT));
		calendars_free(cals);
		g_free(impossible);
	}
	/* while an ordinary one stays */
	{
		char *fine = replace_all(text, "RRULE:FREQ=SECONDLY",
			"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU");
		cals = parse_ok(fine);
		assert_non_null(icalcomponent_get_first_component(cals->pdata[0],
			ICAL_VTIMEZONE_COMPONENT));
		calendars_free(cals);
		g_free(fine);
	}
}

/* ---- RECURRENCE-ID normalisation -------------------------------------- */

static char *rid_of_line(const char *rid_line, const char *vtimezones)
{
	char *text = g_strdup_printf(
		"BEGIN:VCALENDAR\r\n%sBEGIN:VEVENT\r\nUID:r\r\n%s\r\n"
		"DTSTART:20141114T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		vtimezones, rid_line);
	GPtrArray *cals = parse_ok(text);
	icalcomponent *ev = icalcomponent_get_first_component(
		cals->pdata[0], ICAL_VEVENT_COMPONENT);
	char *rid = ical_rid_of(ev);

	calendars_free(cals);
	g_free(text);
	return rid;
}

static void assert_rid(const char *line, const char *vtz, const char *want)
{
	char *rid = rid_of_line(line, vtz);

	if (want == NULL)
		assert_null(rid);
	else
		assert_string_equal(rid, want);
	g_free(rid);
}

static void test_rid_table(void **state)
{
	(void)state;
	/* reference imip-agent.md section 7 */
	assert_rid("RECURRENCE-ID:20141114", "", "20141114");
	assert_rid("RECURRENCE-ID;VALUE=DATE:20141114", "", "20141114");
	assert_rid("RECURRENCE-ID:20141114T000000", "", "20141114T000000");
	assert_rid("RECURRENCE-ID;TZID=Europe/Oslo;VALUE=DATE:20141114", "",
		   "20141113T230000Z");
	assert_rid("RECURRENCE-ID;TZID=Europe/Oslo:20141114T000000", "",
		   "20141113T230000Z");
	assert_rid("RECURRENCE-ID:20141114T000000Z", "", "20141114T000000Z");
	/* summer time */
	assert_rid("RECURRENCE-ID;TZID=Europe/Oslo:20140614T120000", "",
		   "20140614T100000Z");
	/* zone from the message */
	assert_rid("RECURRENCE-ID;TZID=My Zone:20141114T053000",
		   my_zone_vtimezone, "20141114T000000Z");
	/* libical-style prefix and Windows names */
	assert_rid("RECURRENCE-ID;TZID=/freeassociation.sourceforge.net/Europe/Oslo:20141114T000000",
		   "", "20141113T230000Z");
	assert_rid("RECURRENCE-ID;TZID=\"W. Europe Standard Time\":20141114T000000",
		   "", "20141113T230000Z");
	/* no RECURRENCE-ID */
	assert_rid("SUMMARY:none", "", NULL);
}

static void test_rid_from_time(void **state)
{
	struct icaltimetype t = icaltime_from_string("20141114T000000");
	char *rid;

	(void)state;
	rid = ical_rid_from_time(t);
	assert_string_equal(rid, "20141114T000000");
	g_free(rid);
	t = icaltime_set_timezone(&t,
		icaltimezone_get_builtin_timezone("Europe/Oslo"));
	rid = ical_rid_from_time(t);
	assert_string_equal(rid, "20141113T230000Z");
	g_free(rid);
	rid = ical_rid_from_time(icaltime_null_time());
	assert_null(rid);
}

/* ---- zones and times -------------------------------------------------- */

static void test_zone_lookup(void **state)
{
	char *text = g_strconcat("BEGIN:VCALENDAR\r\n", my_zone_vtimezone,
				 "END:VCALENDAR\r\n", NULL);
	GPtrArray *cals = parse_ok(text);
	icaltimezone *oslo = icaltimezone_get_builtin_timezone("Europe/Oslo");
	icaltimezone *z;

	(void)state;
	assert_non_null(oslo);
	assert_ptr_equal(ical_zone_lookup(NULL, "Europe/Oslo"), oslo);
	assert_ptr_equal(ical_zone_lookup(NULL,
		"/freeassociation.sourceforge.net/Europe/Oslo"), oslo);
	assert_ptr_equal(ical_zone_lookup(NULL,
		"/mozilla.org/20050126_1/Europe/Oslo"), oslo);
	assert_ptr_equal(ical_zone_lookup(NULL, "Romance Standard Time"),
			 icaltimezone_get_builtin_timezone("Europe/Paris"));
	assert_null(ical_zone_lookup(NULL, "My Zone"));
	z = ical_zone_lookup(cals->pdata[0], "My Zone");
	assert_non_null(z);
	assert_string_equal(icaltimezone_get_tzid(z), "My Zone");
	assert_null(ical_zone_lookup(NULL, "Nowhere/Land"));
	assert_null(ical_zone_lookup(NULL, "../../../etc/passwd"));
	assert_null(ical_zone_lookup(NULL, ""));
	assert_null(ical_zone_lookup(NULL, NULL));
	assert_ptr_equal(ical_zone_for_user("Nowhere/Land"),
			 icaltimezone_get_utc_timezone());
	assert_ptr_equal(ical_zone_for_user(NULL),
			 icaltimezone_get_utc_timezone());
	assert_ptr_equal(ical_zone_for_user("Europe/Oslo"), oslo);

	/* a message VTIMEZONE wins over the system zone of that name:
	   here "Europe/Oslo" defined as UTC+05:30 */
	{
		char *fake = replace_all(my_zone_vtimezone, "My Zone",
					 "Europe/Oslo");
		char *t2 = g_strconcat("BEGIN:VCALENDAR\r\n", fake,
				       "BEGIN:VEVENT\r\nUID:x\r\n"
				       "DTSTART;TZID=Europe/Oslo:20141114T053000\r\n"
				       "END:VEVENT\r\nEND:VCALENDAR\r\n", NULL);
		GPtrArray *c2 = parse_ok(t2);
		icalcomponent *ev = icalcomponent_get_first_component(
			c2->pdata[0], ICAL_VEVENT_COMPONENT);
		char *start = ical_dtstart_text(ev, NULL);
		assert_string_equal(start, "20141114T000000Z");
		g_free(start);
		calendars_free(c2);
		g_free(t2);
		g_free(fake);
	}
	calendars_free(cals);
	g_free(text);
}

static void test_windows_table_resolves(void **state)
{
	static const char *names[] = {
		"Pacific Standard Time", "Eastern Standard Time",
		"GMT Standard Time", "FLE Standard Time",
		"India Standard Time", "Nepal Standard Time",
		"Greenland Standard Time", "Argentina Standard Time",
		"US Eastern Standard Time", "Tokyo Standard Time",
		"AUS Eastern Standard Time", "UTC",
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		if (ical_zone_lookup(NULL, names[i]) == NULL)
			fail_msg("Windows zone %s does not resolve", names[i]);
	}
}

static void test_time_helpers(void **state)
{
	icaltimezone *oslo = icaltimezone_get_builtin_timezone("Europe/Oslo");
	struct icaltimetype t = icaltime_from_string("20141114T000000");
	const char *text =
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n"
		"DTSTART:20141114T120000\r\nDTSTAMP:20141009T130000Z\r\n"
		"END:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\n"
		"DTSTART;VALUE=DATE:20141114\r\nSEQUENCE:-4\r\n"
		"END:VEVENT\r\nEND:VCALENDAR\r\n";
	GPtrArray *cals = parse_ok(text);
	icalcomponent *a, *b;
	char *s;

	(void)state;
	assert_int_equal(ical_time_to_utc(t, oslo), 1415919600);
	assert_int_equal(ical_time_to_utc(t, NULL), 1415923200);
	t = icaltime_from_string("20141114");
	assert_int_equal(ical_time_to_utc(t, oslo), 1415919600);
	assert_int_equal(ical_time_to_utc(icaltime_null_time(), oslo), 0);

	a = icalcomponent_get_first_component(cals->pdata[0],
					      ICAL_VEVENT_COMPONENT);
	b = icalcomponent_get_next_component(cals->pdata[0],
					     ICAL_VEVENT_COMPONENT);
	s = ical_dtstart_text(a, oslo);
	assert_string_equal(s, "20141114T110000Z");
	g_free(s);
	s = ical_dtstart_text(b, oslo);
	assert_string_equal(s, "20141114");
	g_free(s);
	assert_int_equal(ical_dtstamp_of(a), 1412859600);
	assert_int_equal(ical_dtstamp_of(b), 0);
	assert_int_equal(ical_sequence_of(a), -1);
	assert_int_equal(ical_sequence_of(b), 0);
	calendars_free(cals);
}

static void test_addresses(void **state)
{
	GPtrArray *cals = parse_ok(simple_event);
	icalcomponent *ev = icalcomponent_get_first_component(
		cals->pdata[0], ICAL_VEVENT_COMPONENT);
	icalproperty *att;
	char *s;

	(void)state;
	assert_int_equal(ical_sequence_of(ev), 3);
	assert_int_equal(ical_dtstamp_of(ev), 1412859600);
	s = ical_organizer_of(ev);
	assert_string_equal(s, "paul.boddie@example.com");
	g_free(s);
	s = ical_organizer_sent_by(ev);
	assert_string_equal(s, "calendar@example.com");
	g_free(s);
	att = ical_find_attendee(ev, "mailto:Harvey.Horse@example.com");
	assert_non_null(att);
	s = ical_property_address(att);
	assert_string_equal(s, "harvey.horse@example.com");
	g_free(s);
	assert_null(ical_property_sent_by(att));
	assert_non_null(ical_find_attendee(ev, "vincent.vole@example.com"));
	assert_null(ical_find_attendee(ev, "paul.boddie@example.com"));
	assert_null(ical_find_attendee(ev, "not an address"));
	calendars_free(cals);

	/* RFC 7986 EMAIL parameter with a non-mailto address */
	cals = parse_ok("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n"
			"ATTENDEE;EMAIL=Vincent.Vole@example.com:urn:uuid:123\r\n"
			"END:VEVENT\r\nEND:VCALENDAR\r\n");
	ev = icalcomponent_get_first_component(cals->pdata[0],
					       ICAL_VEVENT_COMPONENT);
	assert_non_null(ical_find_attendee(ev, "vincent.vole@example.com"));
	assert_null(ical_organizer_of(ev));
	calendars_free(cals);
}

/* ---- objects ---------------------------------------------------------- */

static const char grouped[] =
	"BEGIN:VCALENDAR" CRLF
	"METHOD:REQUEST" CRLF
	"BEGIN:VTODO" CRLF "UID:todo" CRLF "END:VTODO" CRLF
	"BEGIN:VEVENT" CRLF
	"UID:weekly" CRLF
	"RECURRENCE-ID;TZID=Europe/Oslo:20141027T100000" CRLF
	"DTSTART;TZID=Europe/Oslo:20141027T110000" CRLF
	"SUMMARY:first override" CRLF
	"END:VEVENT" CRLF
	"BEGIN:VEVENT" CRLF
	"UID:weekly" CRLF
	"DTSTART;TZID=Europe/Oslo:20141020T100000" CRLF
	"RRULE:FREQ=WEEKLY" CRLF
	"SUMMARY:master" CRLF
	"END:VEVENT" CRLF
	"BEGIN:VEVENT" CRLF
	"UID:other" CRLF
	"DTSTART:20141020T100000Z" CRLF
	"END:VEVENT" CRLF
	"BEGIN:VEVENT" CRLF
	"UID:weekly" CRLF
	"RECURRENCE-ID:20141103T090000Z" CRLF
	"DTSTART;TZID=Europe/Oslo:20141103T120000" CRLF
	"SUMMARY:second override" CRLF
	"END:VEVENT" CRLF
	"BEGIN:VEVENT" CRLF
	"UID:weekly" CRLF
	"RECURRENCE-ID;TZID=Europe/Oslo:20141103T100000" CRLF
	"SUMMARY:duplicate of the second (same instance)" CRLF
	"END:VEVENT" CRLF
	"BEGIN:VEVENT" CRLF
	"UID:weekly" CRLF
	"SUMMARY:duplicate master" CRLF
	"END:VEVENT" CRLF
	"BEGIN:VFREEBUSY" CRLF
	"UID:fb" CRLF
	"END:VFREEBUSY" CRLF
	"BEGIN:VEVENT" CRLF
	"DTSTART:20141020T100000Z" CRLF
	"END:VEVENT" CRLF
	"BEGIN:VJOURNAL" CRLF "UID:j" CRLF "END:VJOURNAL" CRLF
	"END:VCALENDAR" CRLF;

static void test_objects_grouping(void **state)
{
	char *text = g_strconcat("BEGIN:VCALENDAR\r\n", oslo_vtimezone,
				 grouped + strlen("BEGIN:VCALENDAR\r\n"), NULL);
	GPtrArray *cals = parse_ok(text);
	unsigned int skipped = 99;
	GPtrArray *objs = ical_objects_from_calendar(cals->pdata[0], &skipped);
	struct ical_object *weekly, *fb, *nouid;

	(void)state;
	assert_int_equal(skipped, 2);
	assert_int_equal(objs->len, 4);
	weekly = objs->pdata[0];
	assert_string_equal(weekly->uid, "weekly");
	assert_int_equal(weekly->kind, ICAL_VEVENT_COMPONENT);
	assert_non_null(weekly->master);
	assert_string_equal(icalcomponent_get_summary(weekly->master), "master");
	assert_int_equal(weekly->overrides->len, 2);
	assert_string_equal(icalcomponent_get_summary(
		ical_object_find_override(weekly, "20141103T090000Z")),
		"second override");
	assert_string_equal(icalcomponent_get_summary(
		ical_object_find_override(weekly, "20141027T090000Z")),
		"first override");
	assert_null(ical_object_find_override(weekly, "20141110T090000Z"));
	assert_string_equal(ical_calendar_method(weekly->vcal), "REQUEST");
	/* the object's own VCALENDAR has the zone */
	assert_non_null(icalcomponent_get_first_component(weekly->vcal,
		ICAL_VTIMEZONE_COMPONENT));
	assert_ptr_equal(icalcomponent_get_parent(weekly->master),
			 weekly->vcal);

	assert_string_equal(((struct ical_object *)objs->pdata[1])->uid,
			    "other");
	fb = objs->pdata[2];
	assert_int_equal(fb->kind, ICAL_VFREEBUSY_COMPONENT);
	assert_string_equal(fb->uid, "fb");
	assert_non_null(fb->master);
	nouid = objs->pdata[3];
	assert_null(nouid->uid);
	assert_non_null(nouid->master);

	/* the source calendar is untouched */
	assert_int_equal(icalcomponent_count_components(cals->pdata[0],
		ICAL_VEVENT_COMPONENT), 7);

	/* copy is deep and keeps the roles */
	{
		struct ical_object *copy = ical_object_copy(weekly);
		assert_ptr_not_equal(copy->vcal, weekly->vcal);
		assert_ptr_not_equal(copy->master, weekly->master);
		assert_string_equal(icalcomponent_get_summary(copy->master),
				    "master");
		assert_int_equal(copy->overrides->len, 2);
		assert_ptr_equal(icalcomponent_get_parent(copy->overrides->pdata[1]),
				 copy->vcal);
		assert_non_null(ical_object_find_override(copy,
							  "20141027T090000Z"));
		ical_object_free(copy);
	}
	objects_free(objs);
	calendars_free(cals);
	g_free(text);
}

static void test_object_texts(void **state)
{
	char *text = g_strconcat("BEGIN:VCALENDAR\r\n", oslo_vtimezone,
				 my_zone_vtimezone,
				 grouped + strlen("BEGIN:VCALENDAR\r\n"), NULL);
	GPtrArray *cals = parse_ok(text);
	GPtrArray *objs = ical_objects_from_calendar(cals->pdata[0], NULL);
	struct ical_object *weekly = objs->pdata[0], *back;
	char *out, *master_text, *override_text;
	GPtrArray *override_texts;

	(void)state;
	out = ical_object_to_text(weekly, "REQUEST");
	assert_non_null(strstr(out, "BEGIN:VCALENDAR\r\n"));
	assert_non_null(strstr(out, "VERSION:2.0\r\n"));
	assert_non_null(strstr(out, "PRODID:-//imip-agent//imip-agent 0.1//EN\r\n"));
	assert_non_null(strstr(out, "METHOD:REQUEST\r\n"));
	assert_non_null(strstr(out, "TZID:Europe/Oslo\r\n"));
	/* only the zones referred to */
	assert_null(strstr(out, "My Zone"));
	assert_null(strstr(out, "\n\n"));
	{
		/* master first, then overrides */
		const char *m = strstr(out, "SUMMARY:master");
		const char *o = strstr(out, "SUMMARY:first override");
		assert_non_null(m);
		assert_non_null(o);
		assert_true(m < o);
	}
	g_free(out);

	master_text = ical_component_to_text(weekly->master, NULL,
					     weekly->vcal);
	assert_null(strstr(master_text, "METHOD"));
	assert_non_null(strstr(master_text, "BEGIN:VTIMEZONE"));
	override_text = ical_component_to_text(weekly->overrides->pdata[0],
					       "CANCEL", NULL);
	assert_non_null(strstr(override_text, "METHOD:CANCEL\r\n"));
	/* the tz source defaults to the component's VCALENDAR */
	assert_non_null(strstr(override_text, "BEGIN:VTIMEZONE"));

	override_texts = g_ptr_array_new();
	g_ptr_array_add(override_texts, override_text);
	g_ptr_array_add(override_texts, override_text);	/* duplicate */
	g_ptr_array_add(override_texts, (char *)"garbage");
	back = ical_object_from_texts(master_text, override_texts);
	assert_non_null(back);
	assert_string_equal(back->uid, "weekly");
	assert_non_null(back->master);
	assert_int_equal(back->overrides->len, 1);
	assert_non_null(ical_object_find_override(back, "20141027T090000Z"));
	ical_object_free(back);

	/* overrides alone */
	back = ical_object_from_texts(NULL, override_texts);
	assert_non_null(back);
	assert_null(back->master);
	assert_int_equal(back->overrides->len, 1);
	ical_object_free(back);
	assert_null(ical_object_from_texts("garbage", NULL));
	assert_null(ical_object_from_texts(NULL, NULL));

	g_ptr_array_free(override_texts, TRUE);
	g_free(master_text);
	g_free(override_text);
	objects_free(objs);
	calendars_free(cals);
	g_free(text);
}

/* The single object of a text with one UID. */
static struct ical_object *one_object(const char *text, GPtrArray **cals_r)
{
	GPtrArray *objs;
	struct ical_object *obj;

	*cals_r = parse_ok(text);
	objs = ical_objects_from_calendar((*cals_r)->pdata[0], NULL);
	assert_int_equal(objs->len, 1);
	obj = objs->pdata[0];
	g_ptr_array_free(objs, TRUE);
	return obj;
}

static bool has_x_lic_error(icalcomponent *comp)
{
	icalcompiter it;

	if (icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY))
		return true;
	for (it = icalcomponent_begin_component(comp, ICAL_ANY_COMPONENT);
	     icalcompiter_deref(&it) != NULL; icalcompiter_next(&it)) {
		if (has_x_lic_error(icalcompiter_deref(&it)))
			return true;
	}
	return false;
}

/* The invalid_property the object of `text` gets, NULL or the name;
   its components never carry X-LIC-ERROR. */
static void check_invalid(const char *text, const char *expected)
{
	GPtrArray *cals;
	struct ical_object *obj = one_object(text, &cals), *copy;

	if (expected == NULL) {
		assert_null(obj->invalid_property);
	} else {
		assert_non_null(obj->invalid_property);
		assert_string_equal(obj->invalid_property, expected);
	}
	assert_false(has_x_lic_error(obj->vcal));
	copy = ical_object_copy(obj);
	assert_ptr_equal(copy->invalid_property, obj->invalid_property);
	ical_object_free(copy);
	ical_object_free(obj);
	calendars_free(cals);
}

static char *with_line(const char *after, const char *line)
{
	char *anchor = g_strconcat(after, CRLF, NULL);
	char *to = g_strconcat(after, CRLF, line, CRLF, NULL);
	char *text = replace_all(simple_event, anchor, to);

	g_free(anchor);
	g_free(to);
	return text;
}

static char *with_replaced(const char *from, const char *to)
{
	return replace_all(simple_event, from, to);
}

static void test_x_lic_error(void **state)
{
	static const struct {
		const char *from, *to, *expected;
	} cases[] = {
		/* RFC 5546 4.2.1, 4.7.2, libical's complex-mime.txt */
		{ "DTEND:20141126T160000Z", "DTEND:19970701T2100000Z", "DTEND" },
		{ "DTEND:20141126T160000Z", "DTEND:199706211T173000Z", "DTEND" },
		{ "DTEND:20141126T160000Z",
		  "RDATE;VALUE=PERIOD:19970819T210000Z/199700819T220000Z",
		  "RDATE" },
		/* the second value of a list: the first stays, still lost */
		{ "DTEND:20141126T160000Z",
		  "EXDATE:20141127T150000Z,garbage", "EXDATE" },
		{ "DTSTART:20141126T150000Z", "DTSTART:tomorrow", "DTSTART" },
		{ "DTEND:20141126T160000Z", "DURATION:PT1Hx", "DURATION" },
		{ "DTEND:20141126T160000Z", "RRULE:FREQ=FORTNIGHTLY", "RRULE" },
		{ "DTEND:20141126T160000Z",
		  "RECURRENCE-ID:20141126T1500000Z", "RECURRENCE-ID" },
		{ "SEQUENCE:3", "SEQUENCE:", "SEQUENCE" },
		/* DTSTAMP only orders replies: read as absent */
		{ "DTSTAMP:20141009T130000Z", "DTSTAMP:**ANY**", NULL },
		{ "DTSTAMP:20141009T130000Z",
		  "DTSTAMP:20141009T130000Z" CRLF "CREATED:yesterday", NULL },
		{ "DTSTAMP:20141009T130000Z",
		  "DTSTAMP:20141009T130000Z" CRLF "BEGIN:VALARM" CRLF
		  "ACTION:DISPLAY" CRLF "TRIGGER:soon" CRLF "END:VALARM",
		  NULL },
	};
	char *text;

	(void)state;
	check_invalid(simple_event, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		text = with_replaced(cases[i].from, cases[i].to);
		check_invalid(text, cases[i].expected);
		g_free(text);
	}

	/* a sender's X-LIC-ERROR (Cassandane imip_strip_x_lic_error, Cyrus
	   output) is not read at all: not data, and not a claim that
	   libical lost something here */
	text = with_line("SEQUENCE:3",
			 "X-LIC-ERROR;X-LIC-ERRORTYPE=VALUE-PARSE-ERROR:Can't "
			 "parse as DATE-TIME value in DTEND property. Removing "
			 "entire property: x");
	{
		GPtrArray *cals = parse_ok(text);

		assert_false(has_x_lic_error(cals->pdata[0]));
		calendars_free(cals);
	}
	check_invalid(text, NULL);
	g_free(text);

	/* an override whose RECURRENCE-ID libical dropped reads as a
	   second master, and is dropped as such: still noted */
	{
		char *master = replace_all(simple_event, "END:VEVENT" CRLF
					   "END:VCALENDAR" CRLF, "");
		char *override = g_strconcat(master, "END:VEVENT" CRLF,
			"BEGIN:VEVENT" CRLF "UID:event1@example.com" CRLF
			"RECURRENCE-ID:20141126T1500000Z" CRLF
			"DTSTART:20141126T170000Z" CRLF "END:VEVENT" CRLF
			"END:VCALENDAR" CRLF, NULL);

		check_invalid(override, "RECURRENCE-ID");
		g_free(override);
		g_free(master);
	}

	/* a free/busy period libical cannot read */
	check_invalid("BEGIN:VCALENDAR" CRLF "METHOD:REPLY" CRLF
		      "BEGIN:VFREEBUSY" CRLF "UID:fb" CRLF
		      "DTSTART:20141126T000000Z" CRLF
		      "DTEND:20141127T000000Z" CRLF
		      "FREEBUSY:20141126T150000Z/20141126T1600000Z" CRLF
		      "END:VFREEBUSY" CRLF "END:VCALENDAR" CRLF, "FREEBUSY");

	/* a stored text is read without libical's notes too */
	{
		char *stored = with_line("SEQUENCE:3",
					 "X-LIC-ERROR:an old note");
		struct ical_object *obj = ical_object_from_texts(stored, NULL);

		assert_non_null(obj);
		assert_false(has_x_lic_error(obj->vcal));
		assert_null(obj->invalid_property);
		ical_object_free(obj);
		g_free(stored);
	}
}

static void test_text_adds_system_vtimezone(void **state)
{
	icalcomponent *ev = icalcomponent_new_vevent();
	icalproperty *p;
	struct icaltimetype t = icaltime_from_string("20141114T100000");
	char *out;
	GPtrArray *cals;
	icalcomponent *back;
	char *start;

	(void)state;
	icalcomponent_set_uid(ev, "sys");
	p = icalproperty_new_dtstart(t);
	icalproperty_add_parameter(p, icalparameter_new_tzid("Europe/Oslo"));
	icalcomponent_add_property(ev, p);
	out = ical_component_to_text(ev, "PUBLISH", NULL);
	assert_non_null(strstr(out, "BEGIN:VTIMEZONE\r\nTZID:Europe/Oslo\r\n"));
	cals = parse_ok(out);
	back = icalcomponent_get_first_component(cals->pdata[0],
						 ICAL_VEVENT_COMPONENT);
	start = ical_dtstart_text(back, NULL);
	assert_string_equal(start, "20141114T090000Z");
	g_free(start);
	calendars_free(cals);
	g_free(out);
	icalcomponent_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line_ends),
		cmocka_unit_test(test_parse_stray_crs),
		cmocka_unit_test(test_parse_several_and_method),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_wild_vtimezone_dropped),
		cmocka_unit_test(test_rid_table),
		cmocka_unit_test(test_rid_from_time),
		cmocka_unit_test(test_zone_lookup),
		cmocka_unit_test(test_windows_table_resolves),
		cmocka_unit_test(test_time_helpers),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_objects_grouping),
		cmocka_unit_test(test_object_texts),
		cmocka_unit_test(test_x_lic_error),
		cmocka_unit_test(test_text_adds_system_vtimezone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
