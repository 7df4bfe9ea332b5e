/* libFuzzer harness: calendar text through ical_parse_calendars(),
   ical_objects_from_calendar() and what the handlers do with an object:
   the iTIP comparisons and organiser checks, free/busy expansion
   (fb_periods_of_object, fb_instances_of_object, fb_periods_of_vfreebusy)
   and the free/busy text round trip (fb_vfreebusy_text, fb_list_format,
   fb_list_parse), and serialising the object again. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <glib.h>
#include <libical/ical.h>

#include "clock.h"
#include "config.h"
#include "freebusy.h"
#include "ical-object.h"
#include "itip.h"

static struct imip_config *config;
static icaltimezone *utc;
static time_t now;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("IMIP_NOW", "20141120T120000Z", 1);
	config = imip_config_new_defaults();
	utc = icaltimezone_get_utc_timezone();
	if (!imip_clock_parse_utc("20141120T120000Z", &now))
		abort();
	return 0;
}

/* The identity checks with a SENT-BY: counted when the previous object
   (the "stored copy") names it, as handler.c's trust does. */
static bool fuzz_sent_by_counts(icalproperty_kind kind, const char *party,
				const char *sent_by, void *data)
{
	(void)kind;
	return itip_object_names_sent_by(data, party, sent_by);
}

static void object(const struct ical_object *obj, const struct ical_object *prev)
{
	struct itip_sent_by trust = { fuzz_sent_by_counts, (void *)prev };
	GPtrArray *senders = g_ptr_array_new();
	GPtrArray *props = g_ptr_array_new();
	struct fb_list *list = fb_list_new(), *parsed = fb_list_new();
	icalcomponent *first = itip_object_first(obj);
	const char *error = NULL;
	char *other = NULL, *org, *text;
	bool endless = false;
	GString *s;

	g_ptr_array_add(senders, "paul.boddie@example.com");
	org = itip_object_organiser(obj, &other);
	(void)itip_sender_organises(obj, &trust, senders);
	(void)itip_object_is_organised_by(obj, "paul.boddie@example.com");
	(void)itip_object_has_attendee(obj, "vincent.vole@example.com");
	(void)ical_calendar_method(obj->vcal);
	if (first != NULL) {
		(void)itip_sender_is_organiser(first, &trust, senders);
		itip_sender_attendees(first, &trust, senders, props);
		(void)itip_attendee_delegated_to(first, "vincent.vole@example.com",
						  "harvey.horse@example.com");
		(void)itip_partstat_of(first, "vincent.vole@example.com");
		(void)ical_sequence_of(first);
		(void)ical_dtstamp_of(first);
		g_free(ical_rid_of(first));
		g_free(ical_organizer_sent_by(first));
		g_free(ical_dtstart_text(first, utc));
		if (prev != NULL && itip_object_first(prev) != NULL) {
			icalcomponent *p = itip_object_first(prev);

			(void)itip_compare(first, p, false);
			(void)itip_compare(first, p, true);
		}
	}
	if (obj->kind == ICAL_VFREEBUSY_COMPONENT && obj->master != NULL) {
		(void)fb_periods_of_vfreebusy(obj->master, list, &error);
	} else if (obj->invalid_property == NULL) {
		(void)fb_periods_of_object(obj, utc, now - 86400 * 30,
					   now + 86400 * 400,
					   config->limits.instances, true,
					   list, &endless, &error);
		(void)fb_instances_of_object(obj, utc, now - 86400 * 30,
					     now + 86400 * 400,
					     config->limits.instances,
					     list, &error);
	}
	s = fb_list_format(list);
	fb_list_parse(parsed, s->str, NULL);
	g_string_free(s, TRUE);
	text = fb_vfreebusy_text(list, now, now + 86400 * 400, "REPLY", NULL,
				 org, "vincent.vole@example.com", NULL, now);
	g_free(text);
	text = ical_object_to_text(obj, "REQUEST");
	g_free(text);
	if (obj->uid != NULL)
		(void)fb_list_remove(list, obj->uid, NULL);
	fb_list_free(&parsed);
	fb_list_free(&list);
	g_free(org);
	g_free(other);
	g_ptr_array_free(props, TRUE);
	g_ptr_array_free(senders, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the text the MIME reader hands on is NUL-terminated */
	char *text = g_strndup((const char *)data, size);
	const char *error = NULL;
	GPtrArray *cals = ical_parse_calendars(text, size, &config->limits,
					       &error);

	if (cals != NULL) {
		for (guint i = 0; i < cals->len; i++) {
			unsigned int skipped = 0;
			GPtrArray *objs = ical_objects_from_calendar(
				cals->pdata[i], &skipped);

			for (guint j = 0; objs != NULL && j < objs->len; j++)
				object(objs->pdata[j],
				       j > 0 ? objs->pdata[j - 1] : NULL);
			if (objs != NULL) {
				for (guint j = 0; j < objs->len; j++)
					ical_object_free(objs->pdata[j]);
				g_ptr_array_free(objs, TRUE);
			}
			/* the caller owns the VCALENDARs */
			icalcomponent_free(cals->pdata[i]);
		}
		g_ptr_array_free(cals, TRUE);
	}
	g_free(text);
	return 0;
}
