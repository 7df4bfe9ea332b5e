/* The identity a message implies for `imip-admin check`: see check.h.
   The iCalendar data is read as process.c reads it (ical_parse_calendars,
   ical_calendar_method, itip_method_parse with the Content-Type method=
   as the fallback) and its parties with the ical-object.h accessors
   (ical_organizer_of, ical_property_address, ical_find_attendee), so the
   user shown is the one the processing would recognise. */

#include "check.h"
#include "address.h"
#include "compose.h"
#include "config.h"
#include "ical-object.h"
#include "itip.h"
#include "mime-read.h"

#include <string.h>
#include <gmime/gmime.h>

static const char *const check_role_names[] = {
	[IMIP_ROLE_PERSON] = "person",
	[IMIP_ROLE_OUTGOING] = "outgoing",
	[IMIP_ROLE_RESOURCE] = "resource",
};

const char *check_role_name(enum imip_role role)
{
	if ((unsigned int)role >= G_N_ELEMENTS(check_role_names))
		return "person";
	return check_role_names[role];
}

bool check_role_parse(const char *name, enum imip_role *role_r)
{
	for (unsigned int i = 0; name != NULL && i < G_N_ELEMENTS(check_role_names); i++) {
		if (strcmp(name, check_role_names[i]) == 0) {
			*role_r = (enum imip_role)i;
			return true;
		}
	}
	return false;
}

/* --- the calendar data the derivation goes by ---------------------------- */

/* The first VCALENDAR of a calendar text that holds a component other
   than VTIMEZONE, with the METHOD the processing would act on.  Every
   component counts, VTODO and VJOURNAL included: the processing leaves
   those alone, but their ORGANIZER and ATTENDEEs still tell whom the data
   is for. */
struct check_calendar {
	enum itip_method method;
	icalcomponent *vcal;	/* owned; NULL: no usable calendar data */
	GPtrArray *comps;	/* icalcomponent * of vcal, in order */
};

static void check_calendar_clear(struct check_calendar *cal)
{
	if (cal->comps != NULL)
		g_ptr_array_free(cal->comps, TRUE);
	if (cal->vcal != NULL)
		icalcomponent_free(cal->vcal);
	cal->comps = NULL;
	cal->vcal = NULL;
	cal->method = ITIP_METHOD_NONE;
}

static GPtrArray *check_components(icalcomponent *vcal)
{
	GPtrArray *comps = g_ptr_array_new();

	for (icalcomponent *c = icalcomponent_get_first_component(
		     vcal, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(
		     vcal, ICAL_ANY_COMPONENT)) {
		if (icalcomponent_isa(c) != ICAL_VTIMEZONE_COMPONENT)
			g_ptr_array_add(comps, c);
	}
	return comps;
}

static bool check_calendar_read(const char *text, size_t len,
				const char *method_param,
				const struct imip_limits *limits,
				struct check_calendar *cal)
{
	const char *error = NULL;
	GPtrArray *calendars = ical_parse_calendars(text, len, limits, &error);

	memset(cal, 0, sizeof(*cal));
	for (unsigned int i = 0; calendars != NULL && i < calendars->len; i++) {
		icalcomponent *vcal = g_ptr_array_index(calendars, i);
		GPtrArray *comps = check_components(vcal);
		const char *name = ical_calendar_method(vcal);

		if (cal->vcal != NULL || comps->len == 0) {
			g_ptr_array_free(comps, TRUE);
			icalcomponent_free(vcal);
			continue;
		}
		/* process.c: the body's METHOD, the parameter only as a
		   fallback */
		cal->method = itip_method_parse(name != NULL ? name : method_param);
		cal->vcal = vcal;
		cal->comps = comps;
	}
	if (calendars != NULL)
		g_ptr_array_free(calendars, TRUE);
	return cal->vcal != NULL;
}

/* The first part of the message whose calendar data is usable. */
static bool check_message_calendar(const struct mime_message *msg,
				   const struct imip_limits *limits,
				   struct check_calendar *cal)
{
	for (unsigned int i = 0; i < msg->calendar_parts->len; i++) {
		const struct mime_calendar_part *part =
			g_ptr_array_index(msg->calendar_parts, i);

		if (check_calendar_read(part->text, part->len, part->method_param,
					limits, cal))
			return true;
	}
	return false;
}

/* REPLY, COUNTER and REFRESH go from an attendee to the organiser. */
static bool check_method_is_attendee(enum itip_method method)
{
	return method == ITIP_METHOD_REPLY || method == ITIP_METHOD_COUNTER ||
	       method == ITIP_METHOD_REFRESH;
}

/* The organiser's methods; data without METHOD is published data (RFC
   9671 section 3), which the default processing takes as PUBLISH. */
static bool check_method_is_organiser(enum itip_method method)
{
	return method == ITIP_METHOD_NONE || itip_method_is_organiser(method);
}

/* The ORGANIZER of the first component that has one. */
static char *check_organiser(const struct check_calendar *cal)
{
	char *organiser = NULL;

	for (unsigned int i = 0; i < cal->comps->len && organiser == NULL; i++)
		organiser = ical_organizer_of(g_ptr_array_index(cal->comps, i));
	return organiser;
}

/* Takes addr (NULL: nothing). */
static void check_add_unique(GPtrArray *out, char *addr)
{
	for (unsigned int i = 0; addr != NULL && i < out->len; i++) {
		if (strcmp(g_ptr_array_index(out, i), addr) == 0) {
			g_free(addr);
			return;
		}
	}
	if (addr != NULL)
		g_ptr_array_add(out, addr);
}

/* Every ATTENDEE address, component by component, each once, except
   `except`.  Appends char * to `out`. */
static void check_attendees(const struct check_calendar *cal,
			    const char *except, GPtrArray *out)
{
	for (unsigned int i = 0; i < cal->comps->len; i++) {
		icalcomponent *comp = g_ptr_array_index(cal->comps, i);

		for (icalproperty *p = icalcomponent_get_first_property(
			     comp, ICAL_ATTENDEE_PROPERTY);
		     p != NULL; p = icalcomponent_get_next_property(
			     comp, ICAL_ATTENDEE_PROPERTY)) {
			char *addr = ical_property_address(p);

			if (g_strcmp0(addr, except) == 0)
				g_free(addr);
			else
				check_add_unique(out, addr);
		}
	}
}

static char *check_first_attendee(const struct check_calendar *cal,
				  const char *except)
{
	GPtrArray *attendees = g_ptr_array_new_with_free_func(g_free);
	char *first;

	check_attendees(cal, except, attendees);
	first = attendees->len > 0 ? g_strdup(g_ptr_array_index(attendees, 0)) :
		NULL;
	g_ptr_array_free(attendees, TRUE);
	return first;
}

/* The first recipient that is an ATTENDEE of one of the components. */
static char *check_recipient_attendee(const struct check_calendar *cal,
				      const GPtrArray *recipients)
{
	for (unsigned int i = 0; i < recipients->len; i++) {
		const char *r = g_ptr_array_index(recipients, i);

		for (unsigned int j = 0; j < cal->comps->len; j++) {
			if (ical_find_attendee(g_ptr_array_index(cal->comps, j),
					       r) != NULL)
				return g_strdup(r);
		}
	}
	return NULL;
}

/* --- recipients ------------------------------------------------------------ */

/* The header block of a message: up to the first empty line.  Only the
   header is given to GMime again, so that a message beyond
   limit_message_size costs no more here than its header. */
static gsize check_header_size(const char *data, gsize size)
{
	for (gsize i = 0; i + 1 < size; i++) {
		if (data[i] != '\n')
			continue;
		if (data[i + 1] == '\n')
			return i + 1;
		if (data[i + 1] == '\r' && i + 2 < size && data[i + 2] == '\n')
			return i + 1;
	}
	return size;
}

/* mime_message keeps the sender's addresses only; the recipients come
   from the header as GMime reads it. */
static GMimeMessage *check_parse_header(GBytes *raw)
{
	gsize size;
	const char *data = raw == NULL ? NULL : g_bytes_get_data(raw, &size);
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *message;

	if (data == NULL || size == 0)
		return NULL;
	size = check_header_size(data, size);
	mime_init();
	stream = g_mime_stream_mem_new_with_buffer(data, size);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	message = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	return message;
}

static void check_add_list(GPtrArray *out, InternetAddressList *list)
{
	int count = list == NULL ? 0 : internet_address_list_length(list);

	for (int i = 0; i < count; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			check_add_unique(out, address_normalize(
				internet_address_mailbox_get_addr(
					INTERNET_ADDRESS_MAILBOX(ia))));
		else if (INTERNET_ADDRESS_IS_GROUP(ia))
			check_add_list(out, internet_address_group_get_members(
				INTERNET_ADDRESS_GROUP(ia)));
	}
}

void check_message_recipients(const struct mime_message *msg, GPtrArray *out)
{
	GMimeMessage *gm = msg == NULL ? NULL : check_parse_header(msg->raw);

	if (gm == NULL)
		return;
	check_add_list(out, g_mime_message_get_addresses(gm, GMIME_ADDRESS_TYPE_TO));
	check_add_list(out, g_mime_message_get_addresses(gm, GMIME_ADDRESS_TYPE_CC));
	g_object_unref(gm);
}

/* --- derivation -------------------------------------------------------------- */

static char *check_first(const GPtrArray *list)
{
	return list->len > 0 ? g_strdup(g_ptr_array_index(list, 0)) : NULL;
}

/* The calendar user of the person (or resource) role. */
static char *check_user_of(const struct check_calendar *cal,
			   const GPtrArray *recipients)
{
	char *user = NULL, *organiser;

	if (cal->vcal == NULL || cal->method == ITIP_METHOD_UNKNOWN)
		return check_first(recipients);
	organiser = check_organiser(cal);
	if (check_method_is_attendee(cal->method)) {
		user = organiser;
		organiser = NULL;
	} else if (check_method_is_organiser(cal->method)) {
		user = check_recipient_attendee(cal, recipients);
		if (user == NULL)
			user = check_first_attendee(cal, organiser);
	}
	g_free(organiser);
	return user != NULL ? user : check_first(recipients);
}

/* An address as the administrator typed it: normalised when usable, else
   kept, so that the processing names what is wrong with it. */
static char *check_given_address(const char *value)
{
	char *addr = address_normalize(value);

	return addr != NULL ? addr : g_strdup(value);
}

static char *check_sender_of(const struct mime_message *msg,
			     const struct check_given *given)
{
	if (given != NULL && given->sender != NULL) {
		if (*given->sender == '\0' || strcmp(given->sender, "<>") == 0)
			return g_strdup("");
		return check_given_address(given->sender);
	}
	if (msg == NULL)
		return NULL;
	/* mime-read: "" is the null sender <> a delivery agent recorded */
	return g_strdup(msg->return_path != NULL ? msg->return_path : msg->from);
}

void check_derive(const struct mime_message *msg,
		  const struct imip_limits *limits,
		  const struct check_given *given,
		  struct check_identity *id_r)
{
	GPtrArray *recipients;
	struct check_calendar cal = { ITIP_METHOD_NONE, NULL, NULL };

	memset(id_r, 0, sizeof(*id_r));
	id_r->role = given != NULL && given->has_role ? given->role :
		IMIP_ROLE_PERSON;
	id_r->sender = check_sender_of(msg, given);
	if (given != NULL && given->user != NULL) {
		id_r->user = check_given_address(given->user);
		return;
	}
	if (id_r->role == IMIP_ROLE_OUTGOING) {
		/* imip-shim: the user's own sent mail is recorded for its
		   sender */
		id_r->user = id_r->sender != NULL && *id_r->sender != '\0' ?
			g_strdup(id_r->sender) : NULL;
		return;
	}
	if (msg == NULL)
		return;
	recipients = g_ptr_array_new_with_free_func(g_free);
	check_message_recipients(msg, recipients);
	(void)check_message_calendar(msg, limits, &cal);
	id_r->user = check_user_of(&cal, recipients);
	check_calendar_clear(&cal);
	g_ptr_array_free(recipients, TRUE);
}

void check_identity_clear(struct check_identity *id)
{
	g_clear_pointer(&id->user, g_free);
	g_clear_pointer(&id->sender, g_free);
}

/* --- bare iCalendar objects ------------------------------------------------ */

bool check_is_calendar_object(const void *data, size_t len)
{
	static const char begin[] = "BEGIN:VCALENDAR";
	const char *p = data, *end = p + len;

	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (p < end && g_ascii_isspace(*p))
		p++;
	return (size_t)(end - p) >= sizeof(begin) - 1 &&
	       g_ascii_strncasecmp(p, begin, sizeof(begin) - 1) == 0;
}

static void check_add_mailbox(GMimeMessage *message, GMimeAddressType type,
			      const char *addr)
{
	InternetAddress *mailbox;

	if (addr == NULL)
		return;
	mailbox = internet_address_mailbox_new(NULL, addr);
	internet_address_list_add(g_mime_message_get_addresses(message, type),
				  mailbox);
	g_object_unref(mailbox);
}

/* From and To of the wrapped object: who sends such an object to whom. */
static void check_wrap_addresses(GMimeMessage *message,
				 const struct check_calendar *cal)
{
	char *organiser = check_organiser(cal);

	if (check_method_is_attendee(cal->method)) {
		/* the organiser is often an ATTENDEE too (ROLE=CHAIR), but the
		   answer comes from one of the others */
		char *attendee = check_first_attendee(cal, organiser);

		if (attendee == NULL)
			attendee = check_first_attendee(cal, NULL);

		check_add_mailbox(message, GMIME_ADDRESS_TYPE_FROM, attendee);
		check_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, organiser);
		g_free(attendee);
	} else if (check_method_is_organiser(cal->method)) {
		GPtrArray *attendees = g_ptr_array_new_with_free_func(g_free);

		check_add_mailbox(message, GMIME_ADDRESS_TYPE_FROM, organiser);
		check_attendees(cal, organiser, attendees);
		for (unsigned int i = 0; i < attendees->len; i++)
			check_add_mailbox(message, GMIME_ADDRESS_TYPE_TO,
					  g_ptr_array_index(attendees, i));
		g_ptr_array_free(attendees, TRUE);
	}
	g_free(organiser);
}


/* The object as the one text/calendar part, its bytes untouched. */
static GMimePart *check_calendar_part(const void *data, size_t len,
				      enum itip_method method, bool usable)
{
	GMimePart *part = g_mime_part_new_with_type("text", "calendar");
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(
		mem, GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_object_unref(mem);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
						 "charset", "utf-8");
	if (usable && method != ITIP_METHOD_NONE && method != ITIP_METHOD_UNKNOWN)
		g_mime_object_set_content_type_parameter(
			GMIME_OBJECT(part), "method", itip_method_name(method));
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	return part;
}

GBytes *check_wrap_calendar(const void *data, size_t len,
			    const struct imip_limits *limits)
{
	struct check_calendar cal;
	bool usable = check_calendar_read(data, len, NULL, limits, &cal);
	GMimeMessage *message;
	GMimePart *part;
	GBytes *bytes;

	mime_init();
	message = g_mime_message_new(TRUE);
	if (usable)
		check_wrap_addresses(message, &cal);
	g_mime_message_set_subject(message, "iCalendar object", "utf-8");
	part = check_calendar_part(data, len, cal.method, usable);
	g_mime_message_set_mime_part(message, GMIME_OBJECT(part));
	g_object_unref(part);
	bytes = compose_to_bytes(GMIME_OBJECT(message));
	g_object_unref(message);
	check_calendar_clear(&cal);
	return bytes;
}

/* --- what would be sent -------------------------------------------------- */

char *check_outgoing_method(const struct imip_outgoing *out,
			    const struct imip_limits *limits)
{
	gsize size;
	const void *data = g_bytes_get_data(out->data, &size);
	struct mime_message *msg = mime_message_read(data, size, limits);
	char *method = NULL;

	for (unsigned int i = 0; msg != NULL && i < msg->calendar_parts->len &&
	     method == NULL; i++) {
		const struct mime_calendar_part *part =
			g_ptr_array_index(msg->calendar_parts, i);
		struct check_calendar cal;

		if (check_calendar_read(part->text, part->len, part->method_param,
					limits, &cal))
			method = g_strdup(itip_method_name(cal.method));
		else if (part->method_param != NULL)
			method = g_strdup(part->method_param);
		check_calendar_clear(&cal);
	}
	mime_message_free(&msg);
	return method;
}
