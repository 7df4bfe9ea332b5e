/* Outlook's TNEF meeting messages turned into iCalendar.  libytnef parses
   the stream: attributes, MAPI properties, named properties with their
   property-set GUIDs.  This file picks the meeting properties of
   [MS-OXOCAL] out of what libytnef found and builds the VCALENDAR with
   libical, the way Outlook itself maps them to iCalendar ([MS-OXCICAL]):
   the UID from the global object id, DTSTART/DTEND from the start and end
   "whole" times, SEQUENCE, DTSTAMP from the critical-change times. */

#include "tnef.h"
#include "address.h"
#include "mime-read.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <libical/ical.h>
/* After <stdio.h> (tnef-types.h uses FILE); libytnef's headers define
   BYTE, WORD and DWORD as macros, so they stay in this one file. */
#include <ytnef.h>
#include <tnef-errors.h>

/* The property sets of the named properties ([MS-OXPROPS] 1.3.2), as the
   GUIDs are stored in the stream (first three fields little-endian). */
static const guint8 psetid_meeting[16] = {
	0x90, 0xDA, 0xD8, 0x6E, 0x0B, 0x45, 0x1B, 0x10,
	0x98, 0xDA, 0x00, 0xAA, 0x00, 0x3F, 0x13, 0x05,
};
static const guint8 psetid_appointment[16] = {
	0x02, 0x20, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
};
static const guint8 psetid_common[16] = {
	0x08, 0x20, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
};

/* PSETID_Meeting */
#define LID_ATTENDEE_CRITICAL_CHANGE 0x0001
#define LID_WHERE 0x0002
#define LID_GLOBAL_OBJECT_ID 0x0003
#define LID_IS_EXCEPTION 0x000A
#define LID_OWNER_CRITICAL_CHANGE 0x001A
#define LID_CLEAN_GLOBAL_OBJECT_ID 0x0023
/* PSETID_Appointment */
#define LID_APPOINTMENT_SEQUENCE 0x8201
#define LID_LOCATION 0x8208
#define LID_START_WHOLE 0x820D
#define LID_END_WHOLE 0x820E
#define LID_SUB_TYPE 0x8215		/* all-day */
#define LID_INTENDED_BUSY_STATUS 0x8224
#define LID_EXCEPTION_REPLACE_TIME 0x8228
#define LID_TIME_ZONE_STRUCT 0x8233
#define LID_TIME_ZONE_DEFINITION 0x825E	/* ...StartDisplay */
/* PSETID_Common */
#define LID_COMMON_START 0x8516
#define LID_COMMON_END 0x8517
/* tags not in libytnef's mapidefs.h */
#define PR_START_DATE_ID 0x0060
#define PR_END_DATE_ID 0x0061

/* The global object id ([MS-OXOCAL] 2.2.1.27): class id (16 bytes),
   instance date (4), creation time (8), reserved (8), size (4), data. */
#define GOID_INSTANCE_DATE 16
#define GOID_SIZE 36
#define GOID_DATA 40
/* Data of an id Outlook made from an iCalendar UID: the marker, a
   version (4 bytes), the UID with a NUL. */
#define GOID_VCAL_MARKER "vCal-Uid"
#define GOID_VCAL_HEADER 12

/* FILETIME: 100 ns ticks since 1601-01-01.  Outlook writes 4501-01-01 for
   "no date". */
#define FILETIME_UNIX_EPOCH G_GINT64_CONSTANT(116444736000000000)
#define FILETIME_TICKS G_GINT64_CONSTANT(10000000)
#define FILETIME_NONE G_GUINT64_CONSTANT(0x0CB34557A3DD4000)

#define SECONDS_PER_DAY 86400
#define ZONE_OFFSETS_MAX 16
#define TZ_RULE_SIZE 66			/* a TZRULE of a TZDEFINITION */
#define TZ_RULE_BIAS 22			/* lBias within a TZRULE */

struct tnef_class {
	const char *legacy;		/* attMessageClass ([MS-OXTNEF]) */
	const char *mapi;		/* PR_MESSAGE_CLASS */
	icalproperty_method method;
	icalparameter_partstat partstat;	/* of a response */
};

static const struct tnef_class tnef_classes[] = {
	{ "IPM.Microsoft Schedule.MtgReq", "IPM.Schedule.Meeting.Request",
	  ICAL_METHOD_REQUEST, ICAL_PARTSTAT_NONE },
	{ "IPM.Microsoft Schedule.MtgRespP", "IPM.Schedule.Meeting.Resp.Pos",
	  ICAL_METHOD_REPLY, ICAL_PARTSTAT_ACCEPTED },
	{ "IPM.Microsoft Schedule.MtgRespN", "IPM.Schedule.Meeting.Resp.Neg",
	  ICAL_METHOD_REPLY, ICAL_PARTSTAT_DECLINED },
	{ "IPM.Microsoft Schedule.MtgRespA", "IPM.Schedule.Meeting.Resp.Tent",
	  ICAL_METHOD_REPLY, ICAL_PARTSTAT_TENTATIVE },
	{ "IPM.Microsoft Schedule.MtgCncl", "IPM.Schedule.Meeting.Canceled",
	  ICAL_METHOD_CANCEL, ICAL_PARTSTAT_NONE },
};

/* ---- parsing ---------------------------------------------------------- */

static ssize_t tnef_discard(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	(void)buf;
	return (ssize_t)size;
}

/* libytnef prints its complaints about bad data with printf(): on
   standard output, which is imip-shim's --dry-run stream and, in the Cyrus
   hook's executable mode, the answer to Cyrus.  So stdout points at a sink
   while libytnef parses (glibc's stdout is an assignable variable).  The
   library runs single-threaded here: mime_message_read() is called before
   any thread of ours starts. */
static int tnef_parse_quietly(const void *data, size_t len, TNEFStruct *tnef)
{
	cookie_io_functions_t io = { .write = tnef_discard };
	FILE *sink = fopencookie(NULL, "w", io);
	FILE *saved = stdout;
	int rc;

	if (sink != NULL)
		stdout = sink;
	rc = TNEFParseMemory((BYTE *)data, (long)len, tnef);
	if (sink != NULL) {
		stdout = saved;
		fclose(sink);
	}
	return rc;
}

static const char *tnef_parse_error(int rc)
{
	switch (rc) {
	case YTNEF_NOT_TNEF_STREAM:
		return "not a TNEF stream (no TNEF signature)";
	case YTNEF_ERROR_READING_DATA:
	case YTNEF_NO_KEY:
		return "truncated";
	case YTNEF_BAD_CHECKSUM:
		return "checksum mismatch";
	case YTNEF_ERROR_IN_HANDLER:
		return "an attribute libytnef cannot read (corrupt, or over "
			"its size limits)";
	default:
		return "an attribute larger than libytnef accepts";
	}
}

/* ---- properties ------------------------------------------------------- */

/* The first value of a property, or NULL.  `guid` NULL: a tagged property;
   else a named one with a numeric id, matched on its property set too:
   libytnef's MAPIFindUserProp compares the id alone, and ids of different
   sets collide. */
static const variableLength *tnef_find(const TNEFStruct *t,
				       const guint8 *guid, unsigned int id,
				       unsigned int type)
{
	const MAPIProps *props = &t->MapiProperties;

	for (DWORD i = 0; i < props->count; i++) {
		const MAPIProperty *p = &props->properties[i];

		if (PROP_ID(p->id) != id || PROP_TYPE(p->id) != type ||
		    p->count < 1 || p->data == NULL)
			continue;
		if (guid == NULL ? p->custom != 0 :
		    (p->custom == 0 || p->namedproperty != 0 ||
		     memcmp(p->guid, guid, sizeof(p->guid)) != 0))
			continue;
		return &p->data[0];
	}
	return NULL;
}

static bool tnef_long(const TNEFStruct *t, const guint8 *guid,
		      unsigned int id, unsigned int type, gint32 *out)
{
	const variableLength *v = tnef_find(t, guid, id, type);

	/* libytnef stores 4-byte values in host order */
	if (v == NULL || v->data == NULL || v->size < 4)
		return false;
	memcpy(out, v->data, sizeof(*out));
	return true;
}

static bool tnef_bool(const TNEFStruct *t, const guint8 *guid,
		      unsigned int id)
{
	gint32 value;

	return tnef_long(t, guid, id, PT_BOOLEAN, &value) && value != 0;
}

/* A PT_SYSTIME as Unix time.  libytnef's MAPISysTimetoDTR is not used: it
   puts the first day of a month after the last of the previous one (the
   31st day of January comes out as January 32nd). */
static bool tnef_time(const TNEFStruct *t, const guint8 *guid,
		      unsigned int id, gint64 *out)
{
	const variableLength *v = tnef_find(t, guid, id, PT_SYSTIME);
	guint64 ticks;

	if (v == NULL || v->data == NULL || v->size < 8)
		return false;
	memcpy(&ticks, v->data, sizeof(ticks));
	if (ticks == 0 || ticks >= FILETIME_NONE)
		return false;
	*out = ((gint64)ticks - FILETIME_UNIX_EPOCH) / FILETIME_TICKS;
	return true;
}

/* An 8-bit string in the stream's code page (attOemCodepage, Windows-1252
   when absent) -> valid UTF-8. */
static char *tnef_string8(const TNEFStruct *t, const BYTE *data, size_t len)
{
	guint32 codepage = 1252;
	char charset[16], *converted = NULL, *valid;
	gsize written = 0;

	len = strnlen((const char *)data, len);
	if (t->CodePage.data != NULL && t->CodePage.size >= 4)
		codepage = (guint32)t->CodePage.data[0] |
			(guint32)t->CodePage.data[1] << 8 |
			(guint32)t->CodePage.data[2] << 16 |
			(guint32)t->CodePage.data[3] << 24;
	if (codepage != 65001) {	/* 65001 is UTF-8 */
		g_snprintf(charset, sizeof(charset), "CP%u", codepage);
		converted = g_convert((const char *)data, (gssize)len, "UTF-8",
				      charset, NULL, &written, NULL);
		if (converted == NULL)
			converted = g_convert((const char *)data, (gssize)len,
					      "UTF-8", "ISO-8859-1", NULL,
					      &written, NULL);
	}
	if (converted == NULL)
		return g_utf8_make_valid((const char *)data, (gssize)len);
	valid = g_utf8_make_valid(converted, (gssize)written);
	g_free(converted);
	return valid;
}

static void tnef_append_unit(GString *out, gunichar *high, gunichar unit)
{
	if (unit >= 0xDC00 && unit < 0xE000 && *high != 0) {
		g_string_append_unichar(out, 0x10000 + ((*high - 0xD800) << 10) +
					(unit - 0xDC00));
		*high = 0;
		return;
	}
	if (*high != 0)
		g_string_append_unichar(out, 0xFFFD);	/* a lone surrogate */
	*high = 0;
	if (unit >= 0xD800 && unit < 0xDC00)
		*high = unit;
	else
		g_string_append_unichar(out, unit >= 0xDC00 && unit < 0xE000 ?
					0xFFFD : unit);
}

/* libytnef's UTF-16 conversion (to_utf8) writes every UTF-16 code unit as
   a sequence of its own: a character outside the BMP comes out as two
   encoded surrogates (CESU-8, not UTF-8), U+07FF as an overlong sequence.
   Reading the units back and pairing the surrogates gives the text. */
static char *tnef_units_to_utf8(const guint8 *p, size_t len)
{
	GString *out = g_string_sized_new(len);
	gunichar high = 0, unit;

	for (size_t i = 0; i < len;) {
		if (p[i] < 0x80) {
			unit = p[i];
			i += 1;
		} else if ((p[i] & 0xE0) == 0xC0 && i + 1 < len) {
			unit = (gunichar)(p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F);
			i += 2;
		} else if ((p[i] & 0xF0) == 0xE0 && i + 2 < len) {
			unit = (gunichar)(p[i] & 0x0F) << 12 |
				(gunichar)(p[i + 1] & 0x3F) << 6 |
				(p[i + 2] & 0x3F);
			i += 3;
		} else {
			unit = 0xFFFD;
			i += 1;
		}
		tnef_append_unit(out, &high, unit);
	}
	if (high != 0)
		g_string_append_unichar(out, 0xFFFD);	/* a lone surrogate */
	return g_string_free(out, FALSE);
}

/* A string property, Unicode or 8-bit, as trimmed UTF-8; NULL when absent
   or empty. */
static char *tnef_string(const TNEFStruct *t, const guint8 *guid,
			 unsigned int id)
{
	const variableLength *v = tnef_find(t, guid, id, PT_UNICODE);
	char *text = NULL;

	if (v != NULL && v->data != NULL && v->size > 0) {
		/* libytnef's buffer: 3 * size / 2 + 1 bytes, NUL-terminated */
		size_t max = 3 * (size_t)v->size / 2 + 1;

		text = tnef_units_to_utf8(v->data,
					  strnlen((const char *)v->data, max));
	} else {
		v = tnef_find(t, guid, id, PT_STRING8);
		if (v != NULL && v->data != NULL && v->size > 0)
			text = tnef_string8(t, v->data, (size_t)v->size);
	}
	if (text != NULL && *g_strstrip(text) == '\0') {
		g_free(text);
		text = NULL;
	}
	return text;
}

/* ---- what the meeting is ---------------------------------------------- */

static const struct tnef_class *tnef_class_named(const char *name)
{
	for (size_t i = 0; name != NULL && i < G_N_ELEMENTS(tnef_classes);
	     i++) {
		if (g_ascii_strcasecmp(name, tnef_classes[i].legacy) == 0 ||
		    g_ascii_strcasecmp(name, tnef_classes[i].mapi) == 0)
			return &tnef_classes[i];
	}
	return NULL;
}

/* attMessageClass holds the legacy name; PR_MESSAGE_CLASS, when present,
   the MAPI one. */
static const struct tnef_class *tnef_class(const TNEFStruct *t)
{
	char legacy[sizeof(t->messageClass) + 1];
	const struct tnef_class *cls;
	char *mapi;

	memcpy(legacy, t->messageClass, sizeof(t->messageClass));
	legacy[sizeof(t->messageClass)] = '\0';
	cls = tnef_class_named(g_strstrip(legacy));
	if (cls != NULL)
		return cls;
	mapi = tnef_string(t, NULL, PR_MESSAGE_CLASS);
	cls = tnef_class_named(mapi);
	g_free(mapi);
	return cls;
}

/* Data of an id Outlook made from an iCalendar UID: that UID, so that a
   response to an invitation from elsewhere names the organiser's event. */
static char *tnef_vcal_uid(const guint8 *goid, size_t len)
{
	guint32 size;
	char *uid;

	if (len < GOID_DATA + GOID_VCAL_HEADER)
		return NULL;
	memcpy(&size, goid + GOID_SIZE, sizeof(size));
	size = GUINT32_FROM_LE(size);
	if (size <= GOID_VCAL_HEADER || size > len - GOID_DATA ||
	    memcmp(goid + GOID_DATA, GOID_VCAL_MARKER,
		   strlen(GOID_VCAL_MARKER)) != 0)
		return NULL;
	uid = g_strndup((const char *)goid + GOID_DATA + GOID_VCAL_HEADER,
			size - GOID_VCAL_HEADER);
	if (*uid == '\0' || !g_utf8_validate(uid, -1, NULL)) {
		g_free(uid);
		return NULL;
	}
	return uid;
}

/* The UID: the embedded iCalendar UID, else the global object id in
   upper-case hex with the instance date cleared, as Outlook writes it (all
   instances of a series share it). */
static char *tnef_uid(const TNEFStruct *t)
{
	const variableLength *v = tnef_find(t, psetid_meeting,
					    LID_CLEAN_GLOBAL_OBJECT_ID,
					    PT_BINARY);
	GString *hex;
	char *uid;

	if (v == NULL || v->data == NULL)
		v = tnef_find(t, psetid_meeting, LID_GLOBAL_OBJECT_ID,
			      PT_BINARY);
	if (v == NULL || v->data == NULL || v->size < GOID_INSTANCE_DATE)
		return NULL;
	uid = tnef_vcal_uid(v->data, (size_t)v->size);
	if (uid != NULL)
		return uid;
	hex = g_string_sized_new(2 * (gsize)v->size);
	for (int i = 0; i < v->size; i++) {
		bool instance_date = i >= GOID_INSTANCE_DATE &&
			i < GOID_INSTANCE_DATE + 4;

		g_string_append_printf(hex, "%02X",
				       instance_date ? 0 : v->data[i]);
	}
	return g_string_free(hex, FALSE);
}

/* ---- times ------------------------------------------------------------ */

static void tnef_zone_add(gint32 *offsets, guint *n, const BYTE *biases)
{
	gint32 bias, standard, daylight;

	memcpy(&bias, biases, sizeof(bias));
	memcpy(&standard, biases + 4, sizeof(standard));
	memcpy(&daylight, biases + 8, sizeof(daylight));
	bias = GINT32_FROM_LE(bias);
	standard = GINT32_FROM_LE(standard);
	daylight = GINT32_FROM_LE(daylight);
	/* Windows: UTC = local + bias (minutes) */
	if (*n + 2 <= ZONE_OFFSETS_MAX) {
		offsets[(*n)++] = -(bias + standard);
		offsets[(*n)++] = -(bias + daylight);
	}
}

/* The UTC offsets (minutes) the organiser's zone can have, from the
   zone structure and the rules of the zone definition ([MS-OXOCAL]
   2.2.1.39 and 2.2.1.41). */
static guint tnef_zone_offsets(const TNEFStruct *t, gint32 *offsets)
{
	const variableLength *v;
	guint n = 0;

	v = tnef_find(t, psetid_appointment, LID_TIME_ZONE_STRUCT, PT_BINARY);
	if (v != NULL && v->data != NULL && v->size >= 12)
		tnef_zone_add(offsets, &n, v->data);
	v = tnef_find(t, psetid_appointment, LID_TIME_ZONE_DEFINITION,
		      PT_BINARY);
	if (v != NULL && v->data != NULL && v->size >= 4) {
		size_t header = (size_t)(v->data[2] | v->data[3] << 8);
		size_t len = (size_t)v->size;

		for (size_t r = 4 + header; r + TZ_RULE_SIZE <= len;
		     r += TZ_RULE_SIZE)
			tnef_zone_add(offsets, &n, v->data + r + TZ_RULE_BIAS);
	}
	return n;
}

/* An all-day meeting starts and ends at the organiser's midnight, stored
   in UTC: the date is the one for which some offset of the organiser's
   zone gives midnight exactly. */
static bool tnef_local_date(gint64 utc, const gint32 *offsets, guint n,
			    struct icaltimetype *date)
{
	for (guint i = 0; i < n; i++) {
		gint64 local = utc + (gint64)offsets[i] * 60;

		if (local % SECONDS_PER_DAY == 0) {
			*date = icaltime_from_timet_with_zone((time_t)local, 1,
							      NULL);
			return true;
		}
	}
	return false;
}

struct tnef_times {
	bool all_day;
	gint32 offsets[ZONE_OFFSETS_MAX];
	guint n_offsets;
};

static struct icaltimetype tnef_ical_time(const struct tnef_times *times,
					  gint64 utc)
{
	struct icaltimetype value;

	if (times->all_day &&
	    tnef_local_date(utc, times->offsets, times->n_offsets, &value))
		return value;
	return icaltime_from_timet_with_zone((time_t)utc, 0,
					     icaltimezone_get_utc_timezone());
}

static bool tnef_first_time(const TNEFStruct *t, unsigned int lid_whole,
			    unsigned int lid_common, unsigned int tag,
			    gint64 *out)
{
	return tnef_time(t, psetid_appointment, lid_whole, out) ||
		tnef_time(t, psetid_common, lid_common, out) ||
		tnef_time(t, NULL, tag, out);
}

/* DTSTART, DTEND, RECURRENCE-ID of an exception.  The recurrence pattern
   itself is not converted (see tnef.h). */
static bool tnef_add_times(icalcomponent *event, const TNEFStruct *t)
{
	struct tnef_times times = { 0 };
	gint64 start, end, replaced;

	times.all_day = tnef_bool(t, psetid_appointment, LID_SUB_TYPE);
	if (times.all_day)
		times.n_offsets = tnef_zone_offsets(t, times.offsets);
	if (!tnef_first_time(t, LID_START_WHOLE, LID_COMMON_START,
			     PR_START_DATE_ID, &start))
		return false;
	icalcomponent_add_property(event, icalproperty_new_dtstart(
		tnef_ical_time(&times, start)));
	if (tnef_first_time(t, LID_END_WHOLE, LID_COMMON_END, PR_END_DATE_ID,
			    &end) && end >= start)
		icalcomponent_add_property(event, icalproperty_new_dtend(
			tnef_ical_time(&times, end)));
	if (tnef_bool(t, psetid_meeting, LID_IS_EXCEPTION) &&
	    tnef_time(t, psetid_appointment, LID_EXCEPTION_REPLACE_TIME,
		      &replaced))
		icalcomponent_add_property(event, icalproperty_new_recurrenceid(
			tnef_ical_time(&times, replaced)));
	return true;
}

/* DTSTAMP: when the organiser (request, cancellation) or the attendee
   (response) sent it, else the submit time, else the mail's Date:. */
static void tnef_add_stamp(icalcomponent *event, const TNEFStruct *t,
			   const struct tnef_class *cls,
			   const struct tnef_envelope *env)
{
	bool reply = cls->method == ICAL_METHOD_REPLY;
	gint64 stamp = env->date;

	if (!tnef_time(t, psetid_meeting, reply ? LID_ATTENDEE_CRITICAL_CHANGE :
		       LID_OWNER_CRITICAL_CHANGE, &stamp) &&
	    !tnef_time(t, psetid_meeting, reply ? LID_OWNER_CRITICAL_CHANGE :
		       LID_ATTENDEE_CRITICAL_CHANGE, &stamp) &&
	    !tnef_time(t, NULL, PR_CLIENT_SUBMIT_TIME, &stamp) &&
	    env->date == 0)
		return;
	icalcomponent_add_property(event, icalproperty_new_dtstamp(
		icaltime_from_timet_with_zone((time_t)stamp, 0,
					      icaltimezone_get_utc_timezone())));
}

/* ---- text ------------------------------------------------------------- */

/* SUMMARY: the conversation topic is the subject without "Accepted:" and
   the like; else the subject less its prefix. */
static char *tnef_summary(const TNEFStruct *t)
{
	char *topic = tnef_string(t, NULL, PR_CONVERSATION_TOPIC);
	char *subject, *prefix, *summary;

	if (topic != NULL)
		return topic;
	subject = tnef_string(t, NULL, PR_SUBJECT);
	prefix = tnef_string(t, NULL, PR_SUBJECT_PREFIX);
	if (subject != NULL && prefix != NULL &&
	    g_str_has_prefix(subject, prefix) &&
	    subject[strlen(prefix)] != '\0') {
		summary = g_strdup(subject + strlen(prefix));
		g_free(subject);
		subject = g_strstrip(summary);
	}
	g_free(prefix);
	return subject;
}

/* The plain text body: PR_BODY, else the down-level attBody (8-bit). */
static char *tnef_description(const TNEFStruct *t)
{
	char *body = tnef_string(t, NULL, PR_BODY);

	if (body == NULL && t->body.data != NULL && t->body.size > 0) {
		body = tnef_string8(t, t->body.data, (size_t)t->body.size);
		if (*g_strstrip(body) == '\0') {
			g_free(body);
			body = NULL;
		}
	}
	return body;
}

static void tnef_add_text(icalcomponent *event, const TNEFStruct *t,
			  const struct tnef_class *cls)
{
	char *summary = tnef_summary(t);
	char *location = tnef_string(t, psetid_appointment, LID_LOCATION);
	char *description = tnef_description(t);
	gint32 sequence, busy;

	if (location == NULL)
		location = tnef_string(t, psetid_meeting, LID_WHERE);
	if (summary != NULL)
		icalcomponent_add_property(event,
					   icalproperty_new_summary(summary));
	if (location != NULL)
		icalcomponent_add_property(event,
					   icalproperty_new_location(location));
	if (description != NULL)
		icalcomponent_add_property(event,
			icalproperty_new_description(description));
	if (tnef_long(t, psetid_appointment, LID_APPOINTMENT_SEQUENCE,
		      PT_LONG, &sequence) && sequence >= 0)
		icalcomponent_add_property(event,
					   icalproperty_new_sequence(sequence));
	/* the organiser's intended free/busy status: 0 is "free" */
	if (cls->method == ICAL_METHOD_REQUEST &&
	    tnef_long(t, psetid_appointment, LID_INTENDED_BUSY_STATUS,
		      PT_LONG, &busy) && busy == 0)
		icalcomponent_add_property(event, icalproperty_new_transp(
			ICAL_TRANSP_TRANSPARENT));
	if (cls->method == ICAL_METHOD_CANCEL)
		icalcomponent_add_property(event, icalproperty_new_status(
			ICAL_STATUS_CANCELLED));
	g_free(summary);
	g_free(location);
	g_free(description);
}

/* ---- people ----------------------------------------------------------- */

static void tnef_mailbox_free(gpointer data)
{
	struct tnef_mailbox *mb = data;

	g_free(mb->address);
	g_free(mb->name);
	g_free(mb);
}

/* Who sent the TNEF: its "sent representing" (on whose behalf) or sender
   SMTP address; an Exchange-internal address (type EX) is no use.  Else
   the mail's From:. */
static struct tnef_mailbox *tnef_sender(const TNEFStruct *t,
					const struct tnef_envelope *env)
{
	static const struct {
		unsigned int address, addrtype, name;
	} sources[] = {
		{ PR_SENT_REPRESENTING_SMTP_ADDRESS, 0,
		  PR_SENT_REPRESENTING_NAME },
		{ PR_SENT_REPRESENTING_EMAIL_ADDRESS,
		  PR_SENT_REPRESENTING_ADDRTYPE, PR_SENT_REPRESENTING_NAME },
		{ PR_SENDER_SMTP_ADDRESS, 0, PR_SENDER_NAME },
		{ PR_SENDER_EMAIL_ADDRESS, PR_SENDER_ADDRTYPE, PR_SENDER_NAME },
	};
	struct tnef_mailbox *mb = g_new0(struct tnef_mailbox, 1);

	for (size_t i = 0; i < G_N_ELEMENTS(sources) && mb->address == NULL;
	     i++) {
		char *type = sources[i].addrtype == 0 ? NULL :
			tnef_string(t, NULL, sources[i].addrtype);
		char *value;

		if (sources[i].addrtype != 0 &&
		    (type == NULL || g_ascii_strcasecmp(type, "SMTP") != 0)) {
			g_free(type);
			continue;
		}
		g_free(type);
		value = tnef_string(t, NULL, sources[i].address);
		mb->address = address_normalize(value);
		g_free(value);
		if (mb->address != NULL)
			mb->name = tnef_string(t, NULL, sources[i].name);
	}
	if (mb->address == NULL && env->from != NULL &&
	    env->from->address != NULL) {
		mb->address = g_strdup(env->from->address);
		mb->name = g_strdup(env->from->name);
	}
	if (mb->address == NULL) {
		tnef_mailbox_free(mb);
		return NULL;
	}
	return mb;
}

/* CN without what would break the parameter (quotes, controls), and
   without the single quotes Outlook puts around some names ('Jens Meier'
   <jens.meier@...>). */
static void tnef_add_cn(icalproperty *prop, const char *name)
{
	char *clean;
	size_t len;

	if (name == NULL)
		return;
	clean = g_strdup(name);
	for (char *c = clean; *c != '\0'; c++) {
		if (*c == '"' || (unsigned char)*c < 0x20)
			*c = ' ';
	}
	len = strlen(g_strstrip(clean));
	if (len >= 2 && clean[0] == '\'' && clean[len - 1] == '\'') {
		clean[len - 1] = ' ';
		clean[0] = ' ';
		g_strstrip(clean);
	}
	if (*clean != '\0')
		icalproperty_add_parameter(prop, icalparameter_new_cn(clean));
	g_free(clean);
}

static icalproperty *tnef_organizer(const struct tnef_mailbox *mb)
{
	char *uri = g_strconcat("mailto:", mb->address, NULL);
	icalproperty *prop = icalproperty_new_organizer(uri);

	g_free(uri);
	tnef_add_cn(prop, mb->name);
	return prop;
}

static icalproperty *tnef_attendee(const struct tnef_mailbox *mb,
				   icalparameter_role role,
				   icalparameter_partstat partstat, bool rsvp)
{
	char *uri = g_strconcat("mailto:", mb->address, NULL);
	icalproperty *prop = icalproperty_new_attendee(uri);

	g_free(uri);
	tnef_add_cn(prop, mb->name);
	if (role != ICAL_ROLE_NONE)
		icalproperty_add_parameter(prop, icalparameter_new_role(role));
	if (partstat != ICAL_PARTSTAT_NONE)
		icalproperty_add_parameter(prop,
					   icalparameter_new_partstat(partstat));
	if (rsvp)
		icalproperty_add_parameter(prop,
					   icalparameter_new_rsvp(ICAL_RSVP_TRUE));
	return prop;
}

/* A request's or cancellation's attendees: the recipients, To: required
   and Cc: optional, each once, the organiser left out. */
static void tnef_add_recipients(icalcomponent *event, GPtrArray *list,
				icalparameter_role role, bool request,
				bool rsvp, GHashTable *seen)
{
	for (guint i = 0; list != NULL && i < list->len; i++) {
		const struct tnef_mailbox *mb = g_ptr_array_index(list, i);

		if (mb->address == NULL ||
		    !g_hash_table_add(seen, g_strdup(mb->address)))
			continue;
		icalcomponent_add_property(event, tnef_attendee(mb, role,
			request ? ICAL_PARTSTAT_NEEDSACTION : ICAL_PARTSTAT_NONE,
			request && rsvp));
	}
}

static void tnef_add_people(icalcomponent *event, const TNEFStruct *t,
			    const struct tnef_class *cls,
			    const struct tnef_envelope *env)
{
	struct tnef_mailbox *sender = tnef_sender(t, env);
	bool request = cls->method == ICAL_METHOD_REQUEST;
	gint32 rsvp = 1;	/* Outlook asks for a response by default */
	GHashTable *seen;

	if (cls->method == ICAL_METHOD_REPLY) {
		if (env->to != NULL && env->to->len > 0)
			icalcomponent_add_property(event, tnef_organizer(
				g_ptr_array_index(env->to, 0)));
		if (sender != NULL)
			icalcomponent_add_property(event, tnef_attendee(
				sender, ICAL_ROLE_NONE, cls->partstat, false));
		g_clear_pointer(&sender, tnef_mailbox_free);
		return;
	}
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (sender != NULL) {
		icalcomponent_add_property(event, tnef_organizer(sender));
		g_hash_table_add(seen, g_strdup(sender->address));
		tnef_mailbox_free(sender);
	}
	tnef_long(t, NULL, PR_RESPONSE_REQUESTED, PT_BOOLEAN, &rsvp);
	tnef_add_recipients(event, env->to, ICAL_ROLE_REQPARTICIPANT, request,
			    rsvp != 0, seen);
	tnef_add_recipients(event, env->cc, ICAL_ROLE_OPTPARTICIPANT, request,
			    rsvp != 0, seen);
	g_hash_table_destroy(seen);
}

/* ---- the calendar ----------------------------------------------------- */

static icalcomponent *tnef_event(const TNEFStruct *t,
				 const struct tnef_class *cls,
				 const struct tnef_envelope *env,
				 char **problem_r)
{
	icalcomponent *event;
	char *uid = tnef_uid(t);

	if (uid == NULL) {
		*problem_r = g_strdup("TNEF (winmail.dat) meeting message "
				      "without a global object ID (no UID)");
		return NULL;
	}
	event = icalcomponent_new(ICAL_VEVENT_COMPONENT);
	icalcomponent_add_property(event, icalproperty_new_uid(uid));
	g_free(uid);
	if (!tnef_add_times(event, t) && cls->method == ICAL_METHOD_REQUEST) {
		icalcomponent_free(event);
		*problem_r = g_strdup("TNEF (winmail.dat) meeting request "
				      "without a start time");
		return NULL;
	}
	tnef_add_stamp(event, t, cls, env);
	tnef_add_text(event, t, cls);
	tnef_add_people(event, t, cls, env);
	return event;
}

static enum tnef_status tnef_convert(const TNEFStruct *t,
				     const struct tnef_envelope *env,
				     char **text_r, char **method_r,
				     char **problem_r)
{
	const struct tnef_class *cls = tnef_class(t);
	icalcomponent *vcal, *event;
	char *raw;

	if (cls == NULL)
		return TNEF_NO_MEETING;
	event = tnef_event(t, cls, env, problem_r);
	if (event == NULL)
		return TNEF_BROKEN;
	vcal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
	icalcomponent_add_property(vcal, icalproperty_new_prodid(
		"-//imip-agent//TNEF meeting message//EN"));
	icalcomponent_add_property(vcal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(vcal, icalproperty_new_method(cls->method));
	icalcomponent_add_component(vcal, event);
	raw = icalcomponent_as_ical_string_r(vcal);
	*text_r = g_strdup(raw);
	icalmemory_free_buffer(raw);
	icalcomponent_free(vcal);
	*method_r = g_strdup(icalproperty_method_to_string(cls->method));
	return TNEF_MEETING;
}

enum tnef_status tnef_to_icalendar(const void *data, size_t len,
				   const struct tnef_envelope *env,
				   char **text_r, char **method_r,
				   char **problem_r)
{
	static const struct tnef_envelope none = { 0 };
	enum tnef_status status;
	TNEFStruct tnef;
	int rc;

	*text_r = *method_r = *problem_r = NULL;
	if (env == NULL)
		env = &none;
	/* TNEFInitialize leaves Debug unset, and Debug > 0 prints */
	memset(&tnef, 0, sizeof(tnef));
	TNEFInitialize(&tnef);
	tnef.Debug = 0;
	rc = data == NULL || len == 0 ? YTNEF_NOT_TNEF_STREAM :
		tnef_parse_quietly(data, len, &tnef);
	if (rc != 0) {
		*problem_r = g_strdup_printf("TNEF (winmail.dat) unreadable: %s",
					     tnef_parse_error(rc));
		status = TNEF_BROKEN;
	} else {
		status = tnef_convert(&tnef, env, text_r, method_r, problem_r);
	}
	TNEFFree(&tnef);
	return status;
}

/* ---- the MIME side ---------------------------------------------------- */

static bool tnef_is_tnef(GMimePart *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	const char *filename = g_mime_part_get_filename(part);

	if (ct != NULL &&
	    (g_mime_content_type_is_type(ct, "application", "ms-tnef") ||
	     g_mime_content_type_is_type(ct, "application", "vnd.ms-tnef")))
		return true;
	return filename != NULL && g_ascii_strcasecmp(filename,
						      "winmail.dat") == 0;
}

/* The part's bytes, transfer encoding undone. */
static GBytes *tnef_part_bytes(GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *stream;
	GBytes *bytes = NULL;

	if (content == NULL)
		return NULL;
	stream = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(content, stream) >= 0) {
		GByteArray *array = g_mime_stream_mem_get_byte_array(
			GMIME_STREAM_MEM(stream));

		bytes = g_bytes_new(array->data, array->len);
	}
	g_object_unref(stream);
	return bytes;
}

static void tnef_mailboxes(InternetAddressList *list, GPtrArray *out,
			   unsigned int depth)
{
	int count = list == NULL ? 0 : internet_address_list_length(list);

	for (int i = 0; i < count; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		const char *name = internet_address_get_name(ia);
		struct tnef_mailbox *mb;

		if (INTERNET_ADDRESS_IS_GROUP(ia) && depth == 0) {
			tnef_mailboxes(internet_address_group_get_members(
				INTERNET_ADDRESS_GROUP(ia)), out, depth + 1);
			continue;
		}
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		mb = g_new0(struct tnef_mailbox, 1);
		mb->address = address_normalize(internet_address_mailbox_get_addr(
			INTERNET_ADDRESS_MAILBOX(ia)));
		if (mb->address == NULL) {
			g_free(mb);
			continue;
		}
		mb->name = name == NULL || *name == '\0' ? NULL :
			g_utf8_make_valid(name, -1);
		g_ptr_array_add(out, mb);
	}
}

static enum tnef_status tnef_read_bytes(GMimeMessage *message, GBytes *bytes,
					char **text_r, char **method_r,
					char **problem_r)
{
	GPtrArray *from = g_ptr_array_new_with_free_func(tnef_mailbox_free);
	GPtrArray *to = g_ptr_array_new_with_free_func(tnef_mailbox_free);
	GPtrArray *cc = g_ptr_array_new_with_free_func(tnef_mailbox_free);
	struct tnef_envelope env = { .to = to, .cc = cc };
	enum tnef_status status;
	GDateTime *date = NULL;
	gsize len;
	const void *data = g_bytes_get_data(bytes, &len);

	if (message != NULL) {
		tnef_mailboxes(g_mime_message_get_from(message), from, 0);
		tnef_mailboxes(g_mime_message_get_addresses(message,
			GMIME_ADDRESS_TYPE_TO), to, 0);
		tnef_mailboxes(g_mime_message_get_addresses(message,
			GMIME_ADDRESS_TYPE_CC), cc, 0);
		date = g_mime_message_get_date(message);
	}
	env.from = from->len > 0 ? g_ptr_array_index(from, 0) : NULL;
	env.date = date != NULL ? g_date_time_to_unix(date) : 0;
	status = tnef_to_icalendar(data, len, &env, text_r, method_r,
				   problem_r);
	g_ptr_array_free(from, TRUE);
	g_ptr_array_free(to, TRUE);
	g_ptr_array_free(cc, TRUE);
	return status;
}

bool tnef_read_part(GMimeMessage *message, GMimePart *part,
		    size_t calendar_size, struct mime_calendar_part **cal_r,
		    char **problem_r, bool *is_limit_r)
{
	GMimeContentDisposition *disp;
	struct mime_calendar_part *cal;
	char *text = NULL, *method = NULL;
	GBytes *bytes;

	*cal_r = NULL;
	*problem_r = NULL;
	*is_limit_r = false;
	if (!tnef_is_tnef(part))
		return false;
	bytes = tnef_part_bytes(part);
	if (bytes == NULL) {
		*problem_r = g_strdup("TNEF (winmail.dat) part not decodable");
		return true;
	}
	if (tnef_read_bytes(message, bytes, &text, &method, problem_r) !=
	    TNEF_MEETING) {
		g_bytes_unref(bytes);
		return true;
	}
	g_bytes_unref(bytes);
	if (strlen(text) > calendar_size) {
		*problem_r = g_strdup_printf(
			"calendar data from TNEF (winmail.dat) larger than "
			"%zu bytes (limit_calendar_size)", calendar_size);
		*is_limit_r = true;
		g_free(text);
		g_free(method);
		return true;
	}
	cal = g_new0(struct mime_calendar_part, 1);
	cal->text = text;
	cal->len = strlen(text);
	cal->content_type = g_strdup("application/ms-tnef");
	cal->method_param = method;
	disp = g_mime_object_get_content_disposition(GMIME_OBJECT(part));
	cal->is_attachment = disp != NULL &&
		g_mime_content_disposition_is_attachment(disp);
	*cal_r = cal;
	return true;
}
