/* check.c: the role, user and sender `imip-admin check` derives from a
   message, the wrapping of bare iCalendar objects, and the METHOD of what
   the agent would send. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "check.h"
#include "compose.h"
#include "config.h"
#include "imip.h"
#include "mime-read.h"

#define PAUL "paul.boddie@example.com"
#define VINCENT "vincent.vole@example.com"
#define HARVEY "harvey.horse@example.com"

static struct imip_limits limits = {
	.message_size = 1 << 20, .mime_parts = 100, .mime_depth = 10,
	.calendar_size = 1 << 20, .components = 100, .attendees = 100,
	.instances = 1000,
};

/* A message: headers, then one text/calendar part (method= when given)
   holding `ical`, or a text/plain body when ical is NULL. */
static struct mime_message *message(const char *headers, const char *param,
				    const char *ical)
{
	char *text = g_strdup_printf(
		"%sSubject: test\r\nMIME-Version: 1.0\r\n"
		"Content-Type: %s%s%s\r\n\r\n%s",
		headers, ical != NULL ? "text/calendar; charset=utf-8" : "text/plain",
		param != NULL ? "; method=" : "", param != NULL ? param : "",
		ical != NULL ? ical : "Hello.\r\n");
	struct mime_message *msg = mime_message_read(text, strlen(text), &limits);

	g_free(text);
	return msg;
}

/* A VCALENDAR with METHOD (NULL: none) around one component. */
static char *calendar(const char *method, const char *kind, const char *props)
{
	return g_strdup_printf(
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n%s%s%s"
		"BEGIN:%s\r\nUID:u1@example.com\r\nDTSTAMP:20141120T100000Z\r\n"
		"DTSTART:20141126T150000Z\r\n%sEND:%s\r\nEND:VCALENDAR\r\n",
		method != NULL ? "METHOD:" : "", method != NULL ? method : "",
		method != NULL ? "\r\n" : "", kind, props, kind);
}

#define ORGANISER_PAUL "ORGANIZER:mailto:" PAUL "\r\n"
#define ATTENDEES "ATTENDEE;ROLE=CHAIR:mailto:" PAUL "\r\n" \
	"ATTENDEE:MAILTO:Vincent.Vole@Example.com\r\n" \
	"ATTENDEE:mailto:" HARVEY "\r\n"

static void derive(const char *headers, const char *param, const char *method,
		   const char *props, const struct check_given *given,
		   struct check_identity *id)
{
	char *ical = props == NULL ? NULL : calendar(method, "VEVENT", props);
	struct mime_message *msg = message(headers, param, ical);

	check_derive(msg, &limits, given, id);
	mime_message_free(&msg);
	g_free(ical);
}

static void test_request_to_an_attendee(void **state)
{
	struct check_identity id;

	(void)state;
	/* the first recipient that is an ATTENDEE, not the first recipient */
	derive("From: Paul <" PAUL ">\r\nTo: mallory@evil.example, " HARVEY
	       "\r\nCc: " VINCENT "\r\n", "REQUEST", "REQUEST",
	       ORGANISER_PAUL ATTENDEES, NULL, &id);
	assert_int_equal(id.role, IMIP_ROLE_PERSON);
	assert_string_equal(id.user, HARVEY);
	assert_string_equal(id.sender, PAUL);
	check_identity_clear(&id);
}

static void test_forwarded_request(void **state)
{
	struct check_identity id;

	(void)state;
	/* no recipient is invited: the first ATTENDEE but the organiser */
	derive("From: " PAUL "\r\nTo: mallory@evil.example\r\n", "REQUEST",
	       "REQUEST", ORGANISER_PAUL ATTENDEES, NULL, &id);
	assert_string_equal(id.user, VINCENT);
	check_identity_clear(&id);
}

static void test_publish_without_attendees(void **state)
{
	struct check_identity id;

	(void)state;
	derive("From: " PAUL "\r\nTo: Readers <list@example.com>\r\n", NULL,
	       "PUBLISH", ORGANISER_PAUL, NULL, &id);
	assert_string_equal(id.user, "list@example.com");
	check_identity_clear(&id);
	/* METHOD-less data is published data too */
	derive("From: " PAUL "\r\nTo: list@example.com\r\n", NULL, NULL,
	       ORGANISER_PAUL ATTENDEES, NULL, &id);
	assert_string_equal(id.user, VINCENT);
	check_identity_clear(&id);
}

static void test_reply_is_for_the_organiser(void **state)
{
	struct check_identity id;

	(void)state;
	derive("Return-Path: <bounces@example.net>\r\nFrom: " VINCENT
	       "\r\nTo: someone@example.com\r\n", "REPLY", "REPLY",
	       ORGANISER_PAUL "ATTENDEE;PARTSTAT=ACCEPTED:mailto:" VINCENT "\r\n",
	       NULL, &id);
	assert_string_equal(id.user, PAUL);
	/* Return-Path, as a delivery agent records the envelope sender */
	assert_string_equal(id.sender, "bounces@example.net");
	check_identity_clear(&id);
}

static void test_reply_without_organiser(void **state)
{
	struct check_identity id;

	(void)state;
	/* Outlook: the organiser is the one the reply was sent to */
	derive("From: " VINCENT "\r\nTo: Paul <" PAUL ">\r\n", "REPLY", "REPLY",
	       "ATTENDEE;PARTSTAT=ACCEPTED:mailto:" VINCENT "\r\n", NULL, &id);
	assert_string_equal(id.user, PAUL);
	check_identity_clear(&id);
}

static void test_method_from_the_parameter(void **state)
{
	struct check_identity id;

	(void)state;
	/* no METHOD in the body: the Content-Type method= says REPLY */
	derive("From: " VINCENT "\r\nTo: " HARVEY "\r\n", "REPLY", NULL,
	       ORGANISER_PAUL "ATTENDEE:mailto:" VINCENT "\r\n", NULL, &id);
	assert_string_equal(id.user, PAUL);
	check_identity_clear(&id);
}

static void test_no_calendar_data(void **state)
{
	struct check_identity id;

	(void)state;
	derive("Return-Path: <>\r\nFrom: MAILER-DAEMON@example.com\r\n"
	       "To: Group: " VINCENT ", " HARVEY ";\r\n", NULL, NULL, NULL,
	       NULL, &id);
	/* group members count as recipients */
	assert_string_equal(id.user, VINCENT);
	/* <> is the null sender */
	assert_string_equal(id.sender, "");
	check_identity_clear(&id);
	derive("From: " PAUL "\r\n", NULL, NULL, NULL, NULL, &id);
	assert_null(id.user);
	check_identity_clear(&id);
}

static void test_other_components_name_the_user(void **state)
{
	char *ical = calendar("REQUEST", "VTODO", ORGANISER_PAUL ATTENDEES);
	struct mime_message *msg = message("From: " PAUL "\r\n", NULL, ical);
	struct check_identity id;

	(void)state;
	check_derive(msg, &limits, NULL, &id);
	assert_string_equal(id.user, VINCENT);
	check_identity_clear(&id);
	mime_message_free(&msg);
	g_free(ical);
}

static void test_given_wins(void **state)
{
	struct check_given given = {
		.has_role = true, .role = IMIP_ROLE_RESOURCE,
		.user = "MAILTO:Room@Example.com", .sender = "<>",
	};
	struct check_identity id;

	(void)state;
	derive("From: " PAUL "\r\nTo: " VINCENT "\r\n", "REQUEST", "REQUEST",
	       ORGANISER_PAUL ATTENDEES, &given, &id);
	assert_int_equal(id.role, IMIP_ROLE_RESOURCE);
	assert_string_equal(id.user, "room@example.com");
	assert_string_equal(id.sender, "");
	check_identity_clear(&id);

	/* the outgoing role records the user's own mail: for the sender */
	memset(&given, 0, sizeof(given));
	given.has_role = true;
	given.role = IMIP_ROLE_OUTGOING;
	derive("From: " VINCENT "\r\nTo: " PAUL "\r\n", "REPLY", "REPLY",
	       ORGANISER_PAUL "ATTENDEE:mailto:" VINCENT "\r\n", &given, &id);
	assert_string_equal(id.user, VINCENT);
	assert_string_equal(id.sender, VINCENT);
	check_identity_clear(&id);
}

static void test_is_calendar_object(void **state)
{
	static const char *const objects[] = {
		"BEGIN:VCALENDAR\r\n", "\xEF\xBB\xBF\r\n begin:vcalendar\n",
		"BEGIN:VCALENDAR",
	};
	static const char *const messages[] = {
		"From: a@b.example\r\n", "BEGIN:VCAL", "", " \r\n",
		"Subject: x\r\n\r\nBEGIN:VCALENDAR\r\n",
	};

	(void)state;
	for (unsigned int i = 0; i < G_N_ELEMENTS(objects); i++)
		assert_true(check_is_calendar_object(objects[i], strlen(objects[i])));
	for (unsigned int i = 0; i < G_N_ELEMENTS(messages); i++)
		assert_false(check_is_calendar_object(messages[i], strlen(messages[i])));
}

/* Wrap `ical` and read the result back as the processing would. */
static struct mime_message *wrap(const char *ical)
{
	GBytes *bytes = check_wrap_calendar(ical, strlen(ical), &limits);
	gsize len;
	const void *data = g_bytes_get_data(bytes, &len);
	struct mime_message *msg = mime_message_read(data, len, &limits);

	g_bytes_unref(bytes);
	return msg;
}

static void test_wrap_request(void **state)
{
	/* LF line ends on purpose: the object must arrive byte for byte */
	const char *ical =
		"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nMETHOD:REQUEST\n"
		"BEGIN:VEVENT\nUID:u1@example.com\nDTSTAMP:20141120T100000Z\n"
		"DTSTART:20141126T150000Z\nORGANIZER:mailto:" PAUL "\n" ATTENDEES
		"END:VEVENT\nEND:VCALENDAR\n";
	struct mime_message *msg = wrap(ical);
	const struct mime_calendar_part *part;
	struct check_identity id;

	(void)state;
	assert_null(msg->problem);
	assert_string_equal(msg->from, PAUL);
	assert_false(msg->auto_submitted);
	assert_int_equal(msg->calendar_parts->len, 1);
	part = g_ptr_array_index(msg->calendar_parts, 0);
	assert_string_equal(part->method_param, "REQUEST");
	assert_string_equal(part->text, ical);
	check_derive(msg, &limits, NULL, &id);
	/* To: the attendees but the organiser, so the first of them */
	assert_string_equal(id.user, VINCENT);
	assert_string_equal(id.sender, PAUL);
	check_identity_clear(&id);
	mime_message_free(&msg);
}

static void test_wrap_reply(void **state)
{
	char *ical = calendar("COUNTER", "VEVENT", ORGANISER_PAUL ATTENDEES);
	struct mime_message *msg = wrap(ical);
	GPtrArray *to = g_ptr_array_new_with_free_func(g_free);

	(void)state;
	/* from an attendee other than the organiser (who is also an
	   ATTENDEE here), to the organiser */
	assert_string_equal(msg->from, VINCENT);
	check_message_recipients(msg, to);
	assert_int_equal(to->len, 1);
	assert_string_equal(g_ptr_array_index(to, 0), PAUL);
	g_ptr_array_free(to, TRUE);
	mime_message_free(&msg);
	g_free(ical);
}

static void test_wrap_unusable(void **state)
{
	const char *ical = "BEGIN:VCALENDAR\r\nthis is not iCalendar\r\n";
	struct mime_message *msg = wrap(ical);
	const struct mime_calendar_part *part;

	(void)state;
	/* still a message: the processing names what is wrong */
	assert_null(msg->from);
	assert_int_equal(msg->calendar_parts->len, 1);
	part = g_ptr_array_index(msg->calendar_parts, 0);
	assert_null(part->method_param);
	assert_string_equal(part->text, ical);
	mime_message_free(&msg);
}

static void test_outgoing_method(void **state)
{
	char *ical = calendar("REFRESH", "VEVENT", ORGANISER_PAUL);
	struct imip_outgoing out = {
		.envelope_from = "calendar@example.com", .recipient = PAUL,
		.data = compose_imip_message("calendar@example.com", PAUL, NULL,
					     NULL, "REFRESH", ical, 0),
	};
	char *method = check_outgoing_method(&out, &limits);

	(void)state;
	assert_string_equal(method, "REFRESH");
	g_free(method);
	g_bytes_unref(out.data);
	g_free(ical);
}

static void test_role_names(void **state)
{
	enum imip_role role;

	(void)state;
	assert_true(check_role_parse("resource", &role));
	assert_int_equal(role, IMIP_ROLE_RESOURCE);
	assert_string_equal(check_role_name(role), "resource");
	assert_true(check_role_parse("outgoing", &role));
	assert_string_equal(check_role_name(role), "outgoing");
	assert_false(check_role_parse("boss", &role));
	assert_false(check_role_parse(NULL, &role));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_to_an_attendee),
		cmocka_unit_test(test_forwarded_request),
		cmocka_unit_test(test_publish_without_attendees),
		cmocka_unit_test(test_reply_is_for_the_organiser),
		cmocka_unit_test(test_reply_without_organiser),
		cmocka_unit_test(test_method_from_the_parameter),
		cmocka_unit_test(test_no_calendar_data),
		cmocka_unit_test(test_other_components_name_the_user),
		cmocka_unit_test(test_given_wins),
		cmocka_unit_test(test_is_calendar_object),
		cmocka_unit_test(test_wrap_request),
		cmocka_unit_test(test_wrap_reply),
		cmocka_unit_test(test_wrap_unusable),
		cmocka_unit_test(test_outgoing_method),
		cmocka_unit_test(test_role_names),
	};

	mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
