/* compose: iMIP messages (round trip through mime-read), mailbox versions
   of an incoming message, mbox output. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <gmime/gmime.h>

#include "compose.h"
#include "config.h"
#include "mime-read.h"

#define NOW ((time_t)1416484800)	/* 20141120T120000Z, a Thursday */

#define ICAL_REPLY \
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//imip-agent//EN\r\n" \
	"METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:event1@example.com\r\n" \
	"DTSTAMP:20141120T120000Z\r\n" \
	"ATTENDEE;PARTSTAT=ACCEPTED:mailto:vincent.vole@example.com\r\n" \
	"END:VEVENT\r\nEND:VCALENDAR\r\n"

static const char original_text[] =
	"From: Paul Boddie <paul.boddie@example.com>\r\n"
	"To: vincent.vole@example.com\r\n"
	"Subject: =?utf-8?q?Treffen_am_Gr=C3=BCnen_Tisch?=\r\n"
	"Date: Thu, 20 Nov 2014 10:00:00 +0100\r\n"
	"Message-ID: <orig-1@example.com>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/calendar; method=REQUEST; charset=utf-8\r\n"
	"\r\n"
	"BEGIN:VCALENDAR\r\n"
	"METHOD:REQUEST\r\n"
	"BEGIN:VEVENT\r\n"
	"UID:event1@example.com\r\n"
	"END:VEVENT\r\n"
	"END:VCALENDAR\r\n";

static const char *bytes_str(GBytes *bytes, gsize *len_r)
{
	return g_bytes_get_data(bytes, len_r);
}

static char *bytes_dup(GBytes *bytes)
{
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);

	return g_strndup(data, len);
}

/* Every LF is preceded by CR. */
static void assert_crlf_only(GBytes *bytes)
{
	gsize len;
	const char *data = bytes_str(bytes, &len);

	assert_true(len > 0);
	for (gsize i = 0; i < len; i++) {
		if (data[i] == '\n')
			assert_true(i > 0 && data[i - 1] == '\r');
	}
}

static bool has_header_line(GBytes *bytes, const char *line)
{
	char *text = bytes_dup(bytes);
	char *needle = g_strconcat("\r\n", line, "\r\n", NULL);
	bool found = g_str_has_prefix(text, line) || strstr(text, needle);

	g_free(needle);
	g_free(text);
	return found;
}

static GMimeMessage *gmime_parse(GBytes *bytes)
{
	gsize len;
	const char *data = bytes_str(bytes, &len);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	assert_non_null(message);
	return message;
}

static void test_imip_round_trip(void **state)
{
	GBytes *bytes;
	struct mime_message *msg;
	const struct mime_calendar_part *part;
	gsize len;
	const char *data;

	(void)state;
	bytes = compose_imip_message("Calendar@Example.com",
				     "mailto:Paul.Boddie@example.com",
				     "Antwort: Grüße", "<orig-1@example.com>",
				     "reply", ICAL_REPLY, NOW);
	assert_non_null(bytes);
	assert_crlf_only(bytes);
	assert_true(has_header_line(bytes, "Auto-Submitted: auto-replied"));
	assert_true(has_header_line(bytes, "MIME-Version: 1.0"));
	assert_true(has_header_line(bytes, "Content-Transfer-Encoding: base64"));
	assert_true(has_header_line(bytes, "To: paul.boddie@example.com"));
	assert_true(has_header_line(bytes, "From: calendar@example.com"));
	assert_true(has_header_line(bytes, "In-Reply-To: <orig-1@example.com>"));
	assert_true(has_header_line(bytes, "References: <orig-1@example.com>"));
	assert_true(has_header_line(bytes,
				    "Date: Thu, 20 Nov 2014 12:00:00 +0000"));
	/* the calendar text itself is not visible: base64 */
	data = bytes_str(bytes, &len);
	assert_null(g_strstr_len(data, (gssize)len, "BEGIN:VCALENDAR"));

	msg = mime_message_read(data, len, NULL);
	assert_non_null(msg);
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	part = msg->calendar_parts->pdata[0];
	assert_string_equal(part->text, ICAL_REPLY);
	assert_string_equal(part->content_type, "text/calendar");
	assert_string_equal(part->method_param, "REPLY");
	assert_true(msg->auto_submitted);
	assert_string_equal(msg->from, "calendar@example.com");
	assert_string_equal(msg->subject, "Antwort: Grüße");
	assert_non_null(msg->message_id);
	assert_true(g_str_has_suffix(msg->message_id, "@example.com"));
	mime_message_free(&msg);
	g_bytes_unref(bytes);
}

static void test_imip_defaults_and_lf_text(void **state)
{
	GBytes *bytes;
	struct mime_message *msg;
	GMimeMessage *gm;
	GMimeObject *body;

	(void)state;
	/* LF-only input: RFC 5545 wants CRLF inside the part */
	bytes = compose_imip_message("calendar@example.com",
				     "vincent.vole@example.com", NULL, NULL,
				     "CANCEL",
				     "BEGIN:VCALENDAR\nMETHOD:CANCEL\nEND:VCALENDAR\n",
				     NOW);
	assert_true(has_header_line(bytes, "Subject: Calendar system message"));
	assert_false(has_header_line(bytes, "In-Reply-To: <>"));

	gm = gmime_parse(bytes);
	assert_null(g_mime_object_get_header(GMIME_OBJECT(gm), "In-Reply-To"));
	body = g_mime_message_get_mime_part(gm);
	assert_string_equal(g_mime_object_get_content_type_parameter(body,
		"charset"), "utf-8");
	assert_string_equal(g_mime_object_get_content_type_parameter(body,
		"method"), "CANCEL");
	g_object_unref(gm);

	msg = mime_message_read(g_bytes_get_data(bytes, NULL),
				g_bytes_get_size(bytes), NULL);
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_string_equal(((struct mime_calendar_part *)
			     msg->calendar_parts->pdata[0])->text,
			    "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n");
	mime_message_free(&msg);
	g_bytes_unref(bytes);
}

static void test_imip_unique_message_ids(void **state)
{
	GBytes *a, *b;
	struct mime_message *ma, *mb;

	(void)state;
	a = compose_imip_message("calendar@example.com", "x@example.com",
				 NULL, NULL, "REPLY", ICAL_REPLY, NOW);
	b = compose_imip_message("calendar@example.com", "x@example.com",
				 NULL, NULL, "REPLY", ICAL_REPLY, NOW);
	ma = mime_message_read(g_bytes_get_data(a, NULL), g_bytes_get_size(a),
			       NULL);
	mb = mime_message_read(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
			       NULL);
	assert_non_null(ma->message_id);
	assert_non_null(mb->message_id);
	assert_string_not_equal(ma->message_id, mb->message_id);
	mime_message_free(&ma);
	mime_message_free(&mb);
	g_bytes_unref(a);
	g_bytes_unref(b);
}

static void test_incoming_parse(void **state)
{
	enum compose_incoming mode;

	(void)state;
	assert_true(compose_incoming_parse("message-only", &mode));
	assert_int_equal(mode, COMPOSE_INCOMING_MESSAGE_ONLY);
	assert_true(compose_incoming_parse("summary-wraps-message", &mode));
	assert_int_equal(mode, COMPOSE_INCOMING_SUMMARY_WRAPS_MESSAGE);
	assert_true(compose_incoming_parse("summary-then-message", &mode));
	assert_int_equal(mode, COMPOSE_INCOMING_SUMMARY_THEN_MESSAGE);
	assert_true(compose_incoming_parse("message-then-summary", &mode));
	assert_int_equal(mode, COMPOSE_INCOMING_MESSAGE_THEN_SUMMARY);
	assert_true(compose_incoming_parse("summary-only", &mode));
	assert_int_equal(mode, COMPOSE_INCOMING_SUMMARY_ONLY);
	mode = COMPOSE_INCOMING_SUMMARY_ONLY;
	assert_false(compose_incoming_parse("summary", &mode));
	assert_false(compose_incoming_parse("", &mode));
	assert_false(compose_incoming_parse(NULL, &mode));
	assert_int_equal(mode, COMPOSE_INCOMING_SUMMARY_ONLY);
}

static struct mime_message *original(void)
{
	return mime_message_read(original_text, strlen(original_text), NULL);
}

static GPtrArray *mailbox(enum compose_incoming mode,
			  const struct mime_message *orig)
{
	return compose_mailbox_messages(mode, orig,
		"A calendar message from paul.boddie@example.com was processed.\n"
		"Zürich meeting: invitation — added.\n",
		"added", "vincent.vole@example.com", "calendar@example.com",
		NOW);
}

static void test_mailbox_message_only(void **state)
{
	struct mime_message *orig = original();
	GPtrArray *out = mailbox(COMPOSE_INCOMING_MESSAGE_ONLY, orig);

	(void)state;
	assert_int_equal(out->len, 0);
	g_ptr_array_free(out, TRUE);
	mime_message_free(&orig);
}

static void assert_summary_message(GBytes *bytes)
{
	struct mime_message *msg;
	GMimeMessage *gm;
	GMimeObject *body;
	char *text;

	assert_crlf_only(bytes);
	assert_true(has_header_line(bytes, "X-iMIP-Outcome: added"));
	assert_true(has_header_line(bytes, "To: vincent.vole@example.com"));
	assert_true(has_header_line(bytes, "In-Reply-To: <orig-1@example.com>"));
	assert_true(has_header_line(bytes, "Auto-Submitted: auto-replied"));

	msg = mime_message_read(g_bytes_get_data(bytes, NULL),
				g_bytes_get_size(bytes), NULL);
	assert_string_equal(msg->from, "calendar@example.com");
	assert_string_equal(msg->subject, "Calendar: Treffen am Grünen Tisch");
	assert_int_equal(msg->calendar_parts->len, 0);
	assert_string_not_equal(msg->message_id, "orig-1@example.com");
	mime_message_free(&msg);

	gm = gmime_parse(bytes);
	body = g_mime_message_get_mime_part(gm);
	assert_true(GMIME_IS_TEXT_PART(body));
	assert_string_equal(g_mime_object_get_content_type_parameter(body,
		"charset"), "utf-8");
	text = g_mime_text_part_get_text(GMIME_TEXT_PART(body));
	assert_non_null(strstr(text, "Zürich meeting: invitation — added."));
	g_free(text);
	g_object_unref(gm);
}

static void test_mailbox_summary_then_message(void **state)
{
	struct mime_message *orig = original();
	GPtrArray *out = mailbox(COMPOSE_INCOMING_SUMMARY_THEN_MESSAGE, orig);

	(void)state;
	assert_int_equal(out->len, 2);
	assert_summary_message(out->pdata[0]);
	/* the original, byte for byte */
	assert_true(g_bytes_equal(out->pdata[1], orig->raw));
	g_ptr_array_free(out, TRUE);
	mime_message_free(&orig);
}

static void test_mailbox_message_then_summary(void **state)
{
	struct mime_message *orig = original();
	GPtrArray *out = mailbox(COMPOSE_INCOMING_MESSAGE_THEN_SUMMARY, orig);

	(void)state;
	assert_int_equal(out->len, 2);
	assert_true(g_bytes_equal(out->pdata[0], orig->raw));
	assert_summary_message(out->pdata[1]);
	g_ptr_array_free(out, TRUE);
	mime_message_free(&orig);
}

static void test_mailbox_summary_only(void **state)
{
	struct mime_message *orig = original();
	GPtrArray *out = mailbox(COMPOSE_INCOMING_SUMMARY_ONLY, orig);

	(void)state;
	assert_int_equal(out->len, 1);
	assert_summary_message(out->pdata[0]);
	g_ptr_array_free(out, TRUE);
	mime_message_free(&orig);
}

static void test_mailbox_summary_wraps_message(void **state)
{
	struct mime_message *orig = original();
	GPtrArray *out = mailbox(COMPOSE_INCOMING_SUMMARY_WRAPS_MESSAGE, orig);
	struct mime_message *wrapped;
	GMimeMessage *gm, *inner;
	GMimeObject *body, *first, *second;
	char *text;

	(void)state;
	assert_int_equal(out->len, 1);
	assert_crlf_only(out->pdata[0]);
	assert_true(has_header_line(out->pdata[0], "X-iMIP-Outcome: added"));
	/* the original has no Cc or Reply-To: none, not empty ones */
	assert_false(has_header_line(out->pdata[0], "Cc: "));
	assert_false(has_header_line(out->pdata[0], "Reply-To: "));

	/* same identity as the original; its calendar part still readable
	   (inside message/rfc822) */
	wrapped = mime_message_read(g_bytes_get_data(out->pdata[0], NULL),
				    g_bytes_get_size(out->pdata[0]), NULL);
	assert_string_equal(wrapped->from, "paul.boddie@example.com");
	assert_string_equal(wrapped->subject, "Treffen am Grünen Tisch");
	assert_string_equal(wrapped->message_id, "orig-1@example.com");
	assert_non_null(wrapped->date);
	assert_non_null(strstr(wrapped->date, "10:00:00 +0100"));
	assert_false(wrapped->auto_submitted);
	assert_int_equal(wrapped->calendar_parts->len, 1);
	mime_message_free(&wrapped);

	gm = gmime_parse(out->pdata[0]);
	assert_int_equal(internet_address_list_length(
		g_mime_message_get_to(gm)), 1);
	body = g_mime_message_get_mime_part(gm);
	assert_true(GMIME_IS_MULTIPART(body));
	assert_true(g_mime_content_type_is_type(
		g_mime_object_get_content_type(body), "multipart", "mixed"));
	assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(body)), 2);
	first = g_mime_multipart_get_part(GMIME_MULTIPART(body), 0);
	second = g_mime_multipart_get_part(GMIME_MULTIPART(body), 1);
	assert_true(g_mime_content_type_is_type(
		g_mime_object_get_content_type(first), "text", "plain"));
	assert_string_equal(g_mime_object_get_content_type_parameter(first,
		"charset"), "utf-8");
	text = g_mime_text_part_get_text(GMIME_TEXT_PART(first));
	assert_true(g_str_has_prefix(text, "A calendar message from "));
	g_free(text);
	assert_true(GMIME_IS_MESSAGE_PART(second));
	inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(second));
	assert_string_equal(g_mime_message_get_message_id(inner),
			    "orig-1@example.com");
	g_object_unref(gm);

	g_ptr_array_free(out, TRUE);
	mime_message_free(&orig);
}

static void test_mailbox_wraps_unparseable(void **state)
{
	static const char junk[] = "\x01\x02 not a message \xff\n";
	struct mime_message *orig =
		mime_message_read(junk, sizeof(junk) - 1, NULL);
	GPtrArray *out;
	char *text;

	(void)state;
	assert_non_null(orig->problem);
	out = compose_mailbox_messages(COMPOSE_INCOMING_SUMMARY_WRAPS_MESSAGE,
				       orig, "Could not read.\n", "error",
				       "vincent.vole@example.com",
				       "calendar@example.com", NOW);
	assert_int_equal(out->len, 1);
	assert_true(has_header_line(out->pdata[0], "X-iMIP-Outcome: error"));
	assert_true(has_header_line(out->pdata[0],
				    "Content-Type: message/rfc822"));
	text = bytes_dup(out->pdata[0]);
	/* the original bytes travel inside, not lost */
	assert_non_null(strstr(text, "\x01\x02 not a message \xff\r\n"));
	assert_non_null(strstr(text, "Date: Thu, 20 Nov 2014 12:00:00 +0000"));
	g_free(text);
	g_ptr_array_free(out, TRUE);

	/* the summary message needs no subject from the original */
	out = compose_mailbox_messages(COMPOSE_INCOMING_SUMMARY_ONLY, orig,
				       NULL, "error", "vincent.vole@example.com",
				       "calendar@example.com", NOW);
	assert_int_equal(out->len, 1);
	assert_true(has_header_line(out->pdata[0],
				    "Subject: Calendar system message"));
	g_ptr_array_free(out, TRUE);
	mime_message_free(&orig);
}

static void test_mailbox_empty_original(void **state)
{
	struct mime_message *orig = mime_message_read(NULL, 0, NULL);
	GPtrArray *out;

	(void)state;
	for (int mode = COMPOSE_INCOMING_MESSAGE_ONLY;
	     mode <= COMPOSE_INCOMING_SUMMARY_ONLY; mode++) {
		out = mailbox((enum compose_incoming)mode, orig);
		assert_true(out->len <= 2);
		for (guint i = 0; i < out->len; i++)
			assert_non_null(out->pdata[i]);
		g_ptr_array_free(out, TRUE);
	}
	out = mailbox(COMPOSE_INCOMING_SUMMARY_WRAPS_MESSAGE, NULL);
	assert_int_equal(out->len, 0);
	g_ptr_array_free(out, TRUE);
	mime_message_free(&orig);
}

static void test_mbox_append(void **state)
{
	static const char message[] =
		"From: paul.boddie@example.com\r\n"
		"Subject: x\r\n"
		"\r\n"
		"From here\r\n"
		">From there\r\n"
		">>From x\r\n"
		"Fromage\r\n"
		" From not at start\r\n"
		"last line without end";
	GBytes *bytes = g_bytes_new_static(message, sizeof(message) - 1);
	GString *out = g_string_new("earlier\n");

	(void)state;
	compose_mbox_append(out, "calendar@example.com", bytes, NOW);
	assert_string_equal(out->str,
		"earlier\n"
		"From calendar@example.com Thu Nov 20 12:00:00 2014\n"
		"From: paul.boddie@example.com\n"
		"Subject: x\n"
		"\n"
		">From here\n"
		">>From there\n"
		">>>From x\n"
		"Fromage\n"
		" From not at start\n"
		"last line without end\n"
		"\n");
	g_string_truncate(out, 0);

	/* single-digit day padded as asctime does; null sender */
	compose_mbox_append(out, "<>", bytes, (time_t)1414915509);
	assert_true(g_str_has_prefix(out->str,
		"From MAILER-DAEMON Sun Nov  2 08:05:09 2014\n"));
	g_string_truncate(out, 0);
	compose_mbox_append(out, NULL, NULL, NOW);
	assert_string_equal(out->str,
		"From MAILER-DAEMON Thu Nov 20 12:00:00 2014\n\n");
	g_string_truncate(out, 0);
	compose_mbox_append(out, "nobody", bytes, NOW);
	assert_true(g_str_has_prefix(out->str,
		"From nobody Thu Nov 20 12:00:00 2014\n"));

	g_string_free(out, TRUE);
	g_bytes_unref(bytes);
}

static void test_mbox_of_composed_message(void **state)
{
	GBytes *bytes = compose_imip_message("calendar@example.com",
					     "paul.boddie@example.com", NULL,
					     NULL, "REPLY", ICAL_REPLY, NOW);
	GString *out = g_string_new(NULL);

	(void)state;
	compose_mbox_append(out, "calendar@example.com", bytes, NOW);
	assert_null(strchr(out->str, '\r'));
	assert_non_null(strstr(out->str, "\nFrom: calendar@example.com\n"));
	assert_true(g_str_has_suffix(out->str, "\n\n"));
	g_string_free(out, TRUE);
	g_bytes_unref(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imip_round_trip),
		cmocka_unit_test(test_imip_defaults_and_lf_text),
		cmocka_unit_test(test_imip_unique_message_ids),
		cmocka_unit_test(test_incoming_parse),
		cmocka_unit_test(test_mailbox_message_only),
		cmocka_unit_test(test_mailbox_summary_then_message),
		cmocka_unit_test(test_mailbox_message_then_summary),
		cmocka_unit_test(test_mailbox_summary_only),
		cmocka_unit_test(test_mailbox_summary_wraps_message),
		cmocka_unit_test(test_mailbox_wraps_unparseable),
		cmocka_unit_test(test_mailbox_empty_original),
		cmocka_unit_test(test_mbox_append),
		cmocka_unit_test(test_mbox_of_composed_message),
	};

	mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
