#ifndef IMIP_TEST_ICAL_H
#define IMIP_TEST_ICAL_H

/* What the unit tests that build scheduling objects from text share. */

#include <string.h>
#include <glib.h>

#include "ical-object.h"

/* The one scheduling object of `body` (components, CRLF lines) wrapped
   in a VCALENDAR; the test fails when it does not parse or holds more. */
static inline struct ical_object *test_object_of(const char *body)
{
	char *text = g_strconcat("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", body,
				 "END:VCALENDAR\r\n", NULL);
	const char *error = NULL;
	GPtrArray *cals = ical_parse_calendars(text, strlen(text), NULL,
					       &error);
	GPtrArray *objs;
	struct ical_object *obj;

	if (cals == NULL)
		fail_msg("parse: %s", error);
	objs = ical_objects_from_calendar(cals->pdata[0], NULL);
	assert_int_equal(objs->len, 1);
	obj = objs->pdata[0];
	g_ptr_array_free(objs, TRUE);
	icalcomponent_free(cals->pdata[0]);
	g_ptr_array_free(cals, TRUE);
	g_free(text);
	return obj;
}

#endif
