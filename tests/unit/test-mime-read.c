/* mime-read: calendar parts at any depth, decoding, charsets, limits,
   headers, hostile input. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "mime-read.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/unit/data"
#endif

#define VCAL(uid) \
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n" \
	"METHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:" uid "\r\n" \
	"DTSTAMP:20141120T090000Z\r\nDTSTART:20141125T150000Z\r\n" \
	"SUMMARY:Meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

static const struct imip_limits test_limits = {
	.message_size = 1024 * 1024,
	.mime_parts = 100,
	.mime_depth = 100,
	.calendar_size = 64 * 1024,
	.components = 100,
	.attendees = 100,
	.instances = 100,
};

static struct mime_message *read_text(const char *text)
{
	struct mime_message *msg =
		mime_message_read(text, strlen(text), &test_limits);

	assert_non_null(msg);
	return msg;
}

static struct mime_message *read_file(const char *name)
{
	char *path = g_build_filename(TEST_DATA_DIR, name, NULL);
	char *data = NULL;
	gsize len = 0;
	struct mime_message *msg;

	assert_true(g_file_get_contents(path, &data, &len, NULL));
	msg = mime_message_read(data, len, &test_limits);
	assert_non_null(msg);
	g_free(data);
	g_free(path);
	return msg;
}

static const struct mime_calendar_part *part_at(const struct mime_message *msg,
						guint i)
{
	assert_true(i < msg->calendar_parts->len);
	return msg->calendar_parts->pdata[i];
}

static char *to_crlf(const char *lf)
{
	GString *s = g_string_new(NULL);

	for (const char *p = lf; *p != '\0'; p++) {
		if (*p == '\n')
			g_string_append_c(s, '\r');
		g_string_append_c(s, *p);
	}
	return g_string_free(s, FALSE);
}

static void test_nested_depth5_qp(void **state)
{
	struct mime_message *msg = read_file("mime-nested-depth5.eml");
	const struct mime_calendar_part *part;

	(void)state;
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	part = part_at(msg, 0);
	assert_string_equal(part->content_type, "text/calendar");
	assert_string_equal(part->method_param, "REQUEST");
	assert_false(part->is_attachment);
	/* quoted-printable undone: soft break joined, =3D, UTF-8 kept */
	assert_non_null(strstr(part->text,
		"SUMMARY:Besprechung über Pläne und eine sehr lange Zeile, "
		"die weich umbrochen wird\r\n"));
	assert_non_null(strstr(part->text,
		"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:vincent.vole@example.com"));
	assert_int_equal(part->len, strlen(part->text));
	/* headers */
	assert_string_equal(msg->from, "paul.boddie@example.com");
	assert_string_equal(msg->subject, "Besprechung über Pläne");
	assert_string_equal(msg->message_id, "nested5@example.com");
	assert_non_null(msg->date);
	assert_non_null(strstr(msg->date, "20 Nov 2014"));
	assert_false(msg->auto_submitted);
	mime_message_free(&msg);
	assert_null(msg);
}

static void test_nested_depth5_crlf(void **state)
{
	char *path = g_build_filename(TEST_DATA_DIR, "mime-nested-depth5.eml",
				      NULL);
	char *data = NULL, *crlf;
	struct mime_message *msg;

	(void)state;
	assert_true(g_file_get_contents(path, &data, NULL, NULL));
	crlf = to_crlf(data);
	msg = read_text(crlf);
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_non_null(strstr(part_at(msg, 0)->text, "UID:event1@example.com"));
	mime_message_free(&msg);
	g_free(crlf);
	g_free(data);
	g_free(path);
}

static void test_base64_single_part(void **state)
{
	struct mime_message *msg = read_text(
		"From: paul.boddie@example.com\n"
		"To: vincent.vole@example.com\n"
		"MIME-Version: 1.0\n"
		"Content-Type: Text/Calendar; method=\"Reply\"; charset=UTF-8\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"QkVHSU46VkNBTEVOREFSDQpNRVRIT0Q6UkVQTFkNCkVORDpWQ0FMRU5EQVINCg==\n");

	(void)state;
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_string_equal(part_at(msg, 0)->text,
			    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n");
	assert_string_equal(part_at(msg, 0)->content_type, "text/calendar");
	assert_string_equal(part_at(msg, 0)->method_param, "REPLY");
	mime_message_free(&msg);
}

static void test_charset_iso8859_1(void **state)
{
	/* "SUMMARY:Caf\xe9" in ISO-8859-1, quoted-printable */
	struct mime_message *msg = read_text(
		"From: a@example.com\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/calendar; charset=ISO-8859-1; method=REQUEST\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"BEGIN:VCALENDAR\n"
		"SUMMARY:Caf=E9 cr=E8me\n"
		"END:VCALENDAR\n");

	(void)state;
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_non_null(strstr(part_at(msg, 0)->text,
				"SUMMARY:Caf\xc3\xa9 cr\xc3\xa8me\n"));
	assert_true(g_utf8_validate(part_at(msg, 0)->text, -1, NULL));
	mime_message_free(&msg);
}

static void test_charset_windows1252(void **state)
{
	/* 0x80 is the euro sign in windows-1252 (a C1 control in Latin-1);
	   0x93/0x94 are curly quotes. */
	struct mime_message *msg = read_text(
		"From: a@example.com\n"
		"MIME-Version: 1.0\n"
		"Content-Type: application/ics; charset=windows-1252\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"BEGIN:VCALENDAR\n"
		"SUMMARY:10 \x80 \x93lunch\x94\n"
		"END:VCALENDAR\n");

	(void)state;
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_string_equal(part_at(msg, 0)->content_type, "application/ics");
	assert_null(part_at(msg, 0)->method_param);
	assert_non_null(strstr(part_at(msg, 0)->text,
		"SUMMARY:10 \xe2\x82\xac \xe2\x80\x9clunch\xe2\x80\x9d\n"));
	mime_message_free(&msg);
}

static void test_charset_undeclared_latin1(void **state)
{
	/* No charset and not UTF-8: read as ISO-8859-1. */
	struct mime_message *msg = read_text(
		"From: a@example.com\n"
		"Content-Type: text/calendar\n"
		"\n"
		"BEGIN:VCALENDAR\nSUMMARY:M\xfcller\nEND:VCALENDAR\n");

	(void)state;
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_non_null(strstr(part_at(msg, 0)->text, "SUMMARY:M\xc3\xbcller"));
	mime_message_free(&msg);
}

static void test_charset_bad_utf8_made_valid(void **state)
{
	/* Declared UTF-8 but broken, with a NUL: the result is still valid
	   UTF-8 and a C string of the announced length. */
	static const char text[] =
		"From: a@example.com\n"
		"Content-Type: text/calendar; charset=utf-8\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		/* "BEGIN:\xc3\x28\x00X\n" */
		"QkVHSU46wygAWAo=\n";
	struct mime_message *msg = read_text(text);
	const struct mime_calendar_part *part;

	(void)state;
	assert_int_equal(msg->calendar_parts->len, 1);
	part = part_at(msg, 0);
	assert_true(g_utf8_validate(part->text, (gssize)part->len, NULL));
	assert_int_equal(strlen(part->text), part->len);
	assert_true(g_str_has_prefix(part->text, "BEGIN:"));
	assert_non_null(strstr(part->text, "X\n"));
	mime_message_free(&msg);
}

static void test_unknown_charset(void **state)
{
	struct mime_message *msg = read_text(
		"From: a@example.com\n"
		"Content-Type: text/calendar; charset=x-no-such-charset\n"
		"\n"
		"BEGIN:VCALENDAR\nEND:VCALENDAR\n");

	(void)state;
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_string_equal(part_at(msg, 0)->text,
			    "BEGIN:VCALENDAR\nEND:VCALENDAR\n");
	mime_message_free(&msg);
}

/* Outlook and others send the object inline and again as an attachment;
   here the copies differ in transfer encoding and line ends only. */
static void test_duplicate_inline_and_attachment(void **state)
{
	struct mime_message *msg = read_text(
		"From: paul.boddie@example.com\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=XX\n"
		"\n"
		"--XX\n"
		"Content-Type: multipart/alternative; boundary=YY\n"
		"\n"
		"--YY\n"
		"Content-Type: text/plain\n"
		"\n"
		"Invitation\n"
		"--YY\n"
		"Content-Type: text/calendar; method=REQUEST; charset=utf-8\n"
		"\n"
		"BEGIN:VCALENDAR\n"
		"UID:dup@example.com\n"
		"END:VCALENDAR\n"
		"--YY--\n"
		"--XX\n"
		"Content-Type: application/ics; name=invite.ics\n"
		"Content-Disposition: attachment; filename=invite.ics\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		/* same text with CRLF */
		"QkVHSU46VkNBTEVOREFSDQpVSUQ6ZHVwQGV4YW1wbGUuY29tDQpFTkQ6VkNBTEVOREFSDQo=\n"
		"--XX--\n");

	(void)state;
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_string_equal(part_at(msg, 0)->content_type, "text/calendar");
	assert_false(part_at(msg, 0)->is_attachment);
	mime_message_free(&msg);
}

static void test_two_different_parts_kept(void **state)
{
	struct mime_message *msg = read_text(
		"From: paul.boddie@example.com\n"
		"Content-Type: multipart/mixed; boundary=XX\n"
		"\n"
		"--XX\n"
		"Content-Type: text/calendar; method=request\n"
		"Content-Disposition: attachment; filename=one.ics\n"
		"\n"
		VCAL("one@example.com")
		"--XX\n"
		"Content-Type: text/x-vcalendar; method=cancel\n"
		"\n"
		VCAL("two@example.com")
		"--XX\n"
		"Content-Type: application/octet-stream; name=\"Invite.ICS\"\n"
		"Content-Transfer-Encoding: 7bit\n"
		"\n"
		VCAL("three@example.com")
		"--XX\n"
		"Content-Type: application/octet-stream; name=\"notes.txt\"\n"
		"\n"
		VCAL("four@example.com")
		"--XX--\n");

	(void)state;
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 3);
	assert_string_equal(part_at(msg, 0)->method_param, "REQUEST");
	assert_true(part_at(msg, 0)->is_attachment);
	assert_non_null(strstr(part_at(msg, 0)->text, "UID:one@example.com"));
	assert_string_equal(part_at(msg, 1)->content_type, "text/x-vcalendar");
	assert_string_equal(part_at(msg, 1)->method_param, "CANCEL");
	assert_string_equal(part_at(msg, 2)->content_type,
			    "application/octet-stream");
	assert_non_null(strstr(part_at(msg, 2)->text, "UID:three@example.com"));
	mime_message_free(&msg);
}

static void test_forwarded_rfc822(void **state)
{
	struct mime_message *msg = read_file("mime-forwarded.eml");

	(void)state;
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_non_null(strstr(part_at(msg, 0)->text,
			       "UID:fwd-event@example.com\r\n"));
	assert_string_equal(part_at(msg, 0)->method_param, "REQUEST");
	/* the senders are the outer message's */
	assert_string_equal(msg->from, "harvey.horse@example.com");
	assert_string_equal(msg->message_id, "fwd1@example.com");
	mime_message_free(&msg);
}

/* RFC 6047's own examples 4.3/4.6 have an empty line after the boundary. */
static void test_blank_line_after_boundary(void **state)
{
	struct mime_message *msg =
		read_file("mime-blank-line-after-boundary.eml");

	(void)state;
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_true(g_str_has_prefix(part_at(msg, 0)->text, "BEGIN:VCALENDAR"));
	assert_non_null(strstr(part_at(msg, 0)->text,
			       "UID:blank-line@example.com"));
	assert_string_equal(part_at(msg, 0)->method_param, "REQUEST");
	assert_true(part_at(msg, 0)->is_attachment);
	mime_message_free(&msg);
}

static char *nested_multiparts(unsigned int levels)
{
	GString *s = g_string_new("From: a@example.com\nMIME-Version: 1.0\n");

	for (unsigned int i = 0; i < levels; i++) {
		g_string_append_printf(s,
			"Content-Type: multipart/mixed; boundary=b%u\n\n--b%u\n",
			i, i);
	}
	g_string_append(s, "Content-Type: text/calendar; method=REQUEST\n\n"
			VCAL("deep@example.com"));
	for (unsigned int i = levels; i-- > 0;)
		g_string_append_printf(s, "--b%u--\n", i);
	return g_string_free(s, FALSE);
}

static void test_depth_limit(void **state)
{
	char *ok = nested_multiparts(100);
	char *deep = nested_multiparts(101);
	struct mime_message *msg;

	(void)state;
	msg = read_text(ok);
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	mime_message_free(&msg);

	msg = read_text(deep);
	assert_non_null(msg->problem);
	assert_true(msg->problem_is_limit);
	assert_string_equal(msg->problem,
			    "MIME nesting deeper than 100 (limit_mime_depth)");
	assert_int_equal(msg->calendar_parts->len, 0);
	assert_string_equal(msg->from, "a@example.com");
	mime_message_free(&msg);
	g_free(ok);
	g_free(deep);
}

/* Mail that names no calendar type anywhere (mime_calendar_markers) is not
   parsed beyond its header (mime_message_read_if_calendar(): not at all):
   a nesting that would break limit_mime_depth goes unnoticed, the senders
   are still read; the same nesting with a
   calendar part, or with one only named as an octet-stream attachment,
   or with "application/ics" in odd case, is parsed. */
static char *nested_plain(unsigned int levels, const char *leaf)
{
	GString *s = g_string_new("From: a@example.com\nSubject: statistics"
				  " (topics)\nMIME-Version: 1.0\n");

	for (unsigned int i = 0; i < levels; i++) {
		g_string_append_printf(s,
			"Content-Type: multipart/mixed; boundary=b%u\n\n--b%u\n",
			i, i);
	}
	g_string_append(s, leaf);
	for (unsigned int i = levels; i-- > 0;)
		g_string_append_printf(s, "--b%u--\n", i);
	return g_string_free(s, FALSE);
}

static void test_no_marker_not_parsed(void **state)
{
	static const char *const parsed[] = {
		"Content-Type: APPLICATION/ICS\n\n" VCAL("m1@example.com"),
		"Content-Type: application/octet-stream; name=\"x\"\n\nabc\n",
		"Content-Type: text/x-vcalendar\n\nabc\n",
	};
	char *text = nested_plain(101, "Content-Type: text/plain\n\nhi\n");
	struct mime_message *msg;

	(void)state;
	msg = read_text(text);
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 0);
	assert_string_equal(msg->from, "a@example.com");
	mime_message_free(&msg);
	/* the adapters' reader does not even look at the header */
	msg = mime_message_read_if_calendar(text, strlen(text), &test_limits);
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 0);
	assert_null(msg->from);
	mime_message_free(&msg);
	g_free(text);
	for (unsigned int i = 0; i < G_N_ELEMENTS(parsed); i++) {
		text = nested_plain(101, parsed[i]);
		msg = read_text(text);
		assert_non_null(msg->problem);
		assert_true(msg->problem_is_limit);
		mime_message_free(&msg);
		msg = mime_message_read_if_calendar(text, strlen(text),
						    &test_limits);
		assert_non_null(msg->problem);
		assert_string_equal(msg->from, "a@example.com");
		mime_message_free(&msg);
		g_free(text);
	}
}

static void test_depth_limit_message_rfc822(void **state)
{
	/* forwarded messages nest too */
	GString *s = g_string_new("From: a@example.com\n");
	struct imip_limits limits = test_limits;
	struct mime_message *msg;

	(void)state;
	for (int i = 0; i < 5; i++)
		g_string_append(s, "Content-Type: message/rfc822\n\n"
				   "From: b@example.com\n");
	g_string_append(s, "Content-Type: text/calendar\n\nBEGIN:VCALENDAR\n");
	limits.mime_depth = 4;
	msg = mime_message_read(s->str, s->len, &limits);
	assert_true(msg->problem_is_limit);
	assert_non_null(strstr(msg->problem, "limit_mime_depth"));
	assert_int_equal(msg->calendar_parts->len, 0);
	mime_message_free(&msg);

	limits.mime_depth = 5;
	msg = mime_message_read(s->str, s->len, &limits);
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	mime_message_free(&msg);
	g_string_free(s, TRUE);
}

static char *many_parts(unsigned int count)
{
	GString *s = g_string_new("From: a@example.com\nMIME-Version: 1.0\n"
				  "Content-Type: multipart/mixed; boundary=P\n\n");

	/* the calendar part first: what was found before the limit stays */
	g_string_append(s, "--P\nContent-Type: text/calendar\n\n"
			VCAL("first@example.com"));
	for (unsigned int i = 1; i < count; i++)
		g_string_append_printf(s, "--P\nContent-Type: text/plain\n\n"
				       "part %u\n", i);
	g_string_append(s, "--P--\n");
	return g_string_free(s, FALSE);
}

static void test_parts_limit(void **state)
{
	char *ok = many_parts(100);
	char *over = many_parts(101);
	struct mime_message *msg;

	(void)state;
	msg = read_text(ok);
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	mime_message_free(&msg);

	msg = read_text(over);
	assert_non_null(msg->problem);
	assert_true(msg->problem_is_limit);
	assert_string_equal(msg->problem,
			    "more than 100 MIME parts (limit_mime_parts)");
	assert_int_equal(msg->calendar_parts->len, 1);
	mime_message_free(&msg);
	g_free(ok);
	g_free(over);
}

static void test_calendar_size_limit(void **state)
{
	struct imip_limits limits = test_limits;
	GString *s = g_string_new("From: a@example.com\n"
				  "Content-Type: multipart/mixed; boundary=P\n\n"
				  "--P\nContent-Type: text/calendar\n\n");
	struct mime_message *msg;

	(void)state;
	for (int i = 0; i < 100; i++)
		g_string_append(s, "X-FILLER:0123456789012345678901234567890\n");
	g_string_append(s, "--P\nContent-Type: text/calendar\n\n"
			   "BEGIN:VCALENDAR\nEND:VCALENDAR\n--P--\n");
	limits.calendar_size = 1000;
	msg = mime_message_read(s->str, s->len, &limits);
	assert_non_null(msg->problem);
	assert_true(msg->problem_is_limit);
	assert_non_null(strstr(msg->problem, "limit_calendar_size"));
	assert_non_null(strstr(msg->problem, "1000"));
	/* the big part is skipped, the small one still read */
	assert_int_equal(msg->calendar_parts->len, 1);
	/* the line end before the boundary belongs to the boundary */
	assert_string_equal(part_at(msg, 0)->text,
			    "BEGIN:VCALENDAR\nEND:VCALENDAR");
	mime_message_free(&msg);
	g_string_free(s, TRUE);
}

static void test_message_size_limit(void **state)
{
	struct imip_limits limits = test_limits;
	static const char text[] = "From: a@example.com\n"
		"Content-Type: text/calendar\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n";
	struct mime_message *msg;
	gsize raw_len;

	(void)state;
	limits.message_size = 20;
	msg = mime_message_read(text, strlen(text), &limits);
	assert_non_null(msg->problem);
	assert_true(msg->problem_is_limit);
	assert_non_null(strstr(msg->problem, "limit_message_size"));
	assert_int_equal(msg->calendar_parts->len, 0);
	assert_null(msg->from);		/* not parsed at all */
	/* the raw message is still kept for delivery */
	assert_memory_equal(g_bytes_get_data(msg->raw, &raw_len), text,
			    strlen(text));
	assert_int_equal(raw_len, strlen(text));
	mime_message_free(&msg);

	/* over the limit but naming no calendar type: no calendar mail,
	   not a refused one (the Dovecot plugin's stream test agrees) */
	msg = mime_message_read("From: a@example.com\nSubject: big\n\n"
				"a large ordinary body\n", 56, &limits);
	assert_null(msg->problem);
	assert_false(msg->problem_is_limit);
	assert_int_equal(msg->calendar_parts->len, 0);
	mime_message_free(&msg);
}

static void test_garbage(void **state)
{
	static const unsigned char garbage[] = {
		0x00, 0xff, 0xfe, 0x01, 0x02, '\n', 0x80, 0x81, '\n', '\n',
		0x9c, 'x', 0x00
	};
	struct mime_message *msg;

	(void)state;
	msg = mime_message_read(garbage, sizeof(garbage), &test_limits);
	assert_non_null(msg);
	assert_string_equal(msg->problem, "unreadable MIME structure");
	assert_false(msg->problem_is_limit);
	assert_int_equal(msg->calendar_parts->len, 0);
	assert_int_equal(g_bytes_get_size(msg->raw), sizeof(garbage));
	mime_message_free(&msg);
}

static void test_empty(void **state)
{
	struct mime_message *msg;

	(void)state;
	msg = mime_message_read("", 0, &test_limits);
	assert_non_null(msg);
	assert_non_null(msg->problem);
	assert_false(msg->problem_is_limit);
	assert_int_equal(msg->calendar_parts->len, 0);
	assert_null(msg->from);
	mime_message_free(&msg);
}

static void test_broken_boundaries(void **state)
{
	/* no close delimiter, boundary never used, truncated base64 */
	struct mime_message *msg = read_text(
		"From: a@example.com\n"
		"Content-Type: multipart/mixed; boundary=NEVER\n"
		"\n"
		"--OTHER\n"
		"Content-Type: text/calendar\n"
		"\n"
		"BEGIN:VCALENDAR\n");
	struct mime_message *msg2 = read_text(
		"From: a@example.com\n"
		"Content-Type: multipart/mixed; boundary=B\n"
		"\n"
		"--B\n"
		"Content-Type: text/calendar; method=REQUEST\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"QkVHSU46VkNBTEVOREFSDQpVSU");

	(void)state;
	assert_string_equal(msg->from, "a@example.com");
	assert_int_equal(msg->calendar_parts->len, 0);
	assert_int_equal(msg2->calendar_parts->len, 1);
	assert_true(g_str_has_prefix(part_at(msg2, 0)->text,
				     "BEGIN:VCALENDAR\r\n"));
	mime_message_free(&msg);
	mime_message_free(&msg2);
}

static void test_empty_calendar_part(void **state)
{
	struct mime_message *msg = read_text(
		"From: a@example.com\n"
		"Content-Type: text/calendar; charset=utf-16\n"
		"Content-Transfer-Encoding: base64\n"
		"\n");

	(void)state;
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_string_equal(part_at(msg, 0)->text, "");
	assert_int_equal(part_at(msg, 0)->len, 0);
	mime_message_free(&msg);
}

static void test_utf16_charset(void **state)
{
	struct mime_message *msg = read_text(
		"From: a@example.com\n"
		"Content-Type: text/calendar; charset=UTF-16LE\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		/* "BEGIN:VCALENDAR\r\n" in UTF-16LE */
		"QgBFAEcASQBOADoAVgBDAEEATABFAE4ARABBAFIADQAKAA==\n");

	(void)state;
	assert_int_equal(msg->calendar_parts->len, 1);
	assert_string_equal(part_at(msg, 0)->text, "BEGIN:VCALENDAR\r\n");
	mime_message_free(&msg);
}

static void test_no_calendar_is_no_problem(void **state)
{
	struct mime_message *msg = read_text(
		"From: a@example.com\nSubject: hello\n\nJust text.\n");

	(void)state;
	assert_null(msg->problem);
	assert_false(msg->problem_is_limit);
	assert_int_equal(msg->calendar_parts->len, 0);
	assert_string_equal(msg->subject, "hello");
	mime_message_free(&msg);
}

static void test_headers_and_senders(void **state)
{
	struct mime_message *msg = read_text(
		"From: =?iso-8859-1?q?J=F6rg?= <Joerg@Example.COM>\n"
		"Sender: \"Secretary\" <secretary@example.com>\n"
		"Reply-To: list: joerg@example.com, other@example.com;\n"
		"Message-ID:   <abc.123@example.com>\n"
		"Subject: =?utf-8?b?w4RuZGVydW5n?= of plan\n"
		"Auto-Submitted: Auto-Replied; owner-email=\"x@example.com\"\n"
		"\n"
		"body\n");
	GPtrArray *senders = g_ptr_array_new_with_free_func(g_free);

	(void)state;
	assert_string_equal(msg->from, "joerg@example.com");
	assert_string_equal(msg->sender, "secretary@example.com");
	assert_string_equal(msg->reply_to, "joerg@example.com");
	assert_string_equal(msg->message_id, "abc.123@example.com");
	assert_string_equal(msg->subject, "Änderung of plan");
	assert_null(msg->date);
	assert_true(msg->auto_submitted);

	mime_message_senders(msg, "Bounce@Example.com", senders);
	assert_int_equal(senders->len, 3);
	assert_string_equal(senders->pdata[0], "bounce@example.com");
	assert_string_equal(senders->pdata[1], "joerg@example.com");
	assert_string_equal(senders->pdata[2], "secretary@example.com");
	g_ptr_array_set_size(senders, 0);

	/* the null reverse-path is no sender */
	mime_message_senders(msg, "<>", senders);
	assert_int_equal(senders->len, 2);
	assert_string_equal(senders->pdata[0], "joerg@example.com");
	g_ptr_array_set_size(senders, 0);
	mime_message_senders(msg, "", senders);
	assert_int_equal(senders->len, 2);
	g_ptr_array_set_size(senders, 0);
	mime_message_senders(msg, "secretary@example.com", senders);
	assert_int_equal(senders->len, 2);
	assert_string_equal(senders->pdata[0], "secretary@example.com");
	assert_string_equal(senders->pdata[1], "joerg@example.com");

	g_ptr_array_free(senders, TRUE);
	mime_message_free(&msg);
}

static void test_auto_submitted_values(void **state)
{
	struct mime_message *no = read_text(
		"From: a@example.com\nAuto-Submitted: No\n\nx\n");
	struct mime_message *gen = read_text(
		"From: a@example.com\nAuto-Submitted: auto-generated\n\nx\n");
	struct mime_message *none = read_text("From: a@example.com\n\nx\n");

	(void)state;
	assert_false(no->auto_submitted);
	assert_true(gen->auto_submitted);
	assert_false(none->auto_submitted);
	mime_message_free(&no);
	mime_message_free(&gen);
	mime_message_free(&none);
}

static void test_no_from(void **state)
{
	struct mime_message *msg = read_text(
		"To: vincent.vole@example.com\n"
		"Content-Type: text/calendar; method=PUBLISH\n\n"
		VCAL("nofrom@example.com"));
	GPtrArray *senders = g_ptr_array_new_with_free_func(g_free);

	(void)state;
	assert_null(msg->problem);
	assert_null(msg->from);
	assert_null(msg->sender);
	assert_null(msg->reply_to);
	assert_null(msg->subject);
	assert_null(msg->message_id);
	assert_int_equal(msg->calendar_parts->len, 1);
	mime_message_senders(msg, NULL, senders);
	assert_int_equal(senders->len, 0);
	mime_message_senders(msg, "paul.boddie@example.com", senders);
	assert_int_equal(senders->len, 1);
	g_ptr_array_free(senders, TRUE);
	mime_message_free(&msg);
}

static void test_unusable_from(void **state)
{
	struct mime_message *msg = read_text(
		"From: undisclosed-recipients:;\nSender: <>\n\nx\n");

	(void)state;
	assert_null(msg->from);
	assert_null(msg->sender);
	mime_message_free(&msg);
}

static void test_null_limits_use_defaults(void **state)
{
	char *deep = nested_multiparts(150);
	struct mime_message *msg = mime_message_read(deep, strlen(deep), NULL);

	(void)state;
	assert_true(msg->problem_is_limit);
	assert_non_null(strstr(msg->problem, "limit_mime_depth"));
	mime_message_free(&msg);
	g_free(deep);
}

static void test_free_null(void **state)
{
	struct mime_message *msg = NULL;

	(void)state;
	mime_message_free(&msg);
	assert_null(msg);
}

/* Return-Path, as Cyrus lmtpd (or any delivery agent) puts it first */
static void test_return_path(void **state)
{
	static const struct {
		const char *headers;
		const char *expected;	/* NULL: absent */
	} cases[] = {
		{ "From: a@example.com\n", NULL },
		{ "Return-Path: <>\nFrom: a@example.com\n", "" },
		{ "Return-Path:<>\r\nFrom: a@example.com\r\n", "" },
		{ "Return-Path: <a@b>\nFrom: x@example.com\n", "a@b" },
		{ "Return-Path: <Paul.Boddie@Example.COM>\n", "paul.boddie@example.com" },
		{ "Return-Path:   <bounce+x=y@lists.example.org>  \n",
		  "bounce+x=y@lists.example.org" },
		/* the first of two: the one the delivery agent added */
		{ "Return-Path: <first@example.com>\n"
		  "Received: by mx.example.com\n"
		  "Return-Path: <second@example.net>\n", "first@example.com" },
		{ "Return-Path: <>\nReturn-Path: <second@example.net>\n", "" },
		/* folded over two lines */
		{ "Return-Path:\n <folded@example.com>\n", "folded@example.com" },
		/* after other headers, and in any case */
		{ "From: a@example.com\nreturn-path: <late@example.com>\n",
		  "late@example.com" },
		/* nothing usable: not a sender */
		{ "Return-Path: not an address\n", NULL },
		{ "Return-Path:\n", NULL },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = g_strconcat(cases[i].headers, "Subject: x\n\nbody\n",
					 NULL);
		struct mime_message *msg = read_text(text);

		if (cases[i].expected == NULL) {
			if (msg->return_path != NULL)
				fail_msg("case %zu: \"%s\", expected none", i,
					 msg->return_path);
		} else if (g_strcmp0(msg->return_path, cases[i].expected) != 0) {
			fail_msg("case %zu: \"%s\", expected \"%s\"", i,
				 msg->return_path != NULL ? msg->return_path :
				 "(none)", cases[i].expected);
		}
		/* the other headers are not disturbed by it */
		assert_string_equal(msg->subject, "x");
		mime_message_free(&msg);
		g_free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_depth5_qp),
		cmocka_unit_test(test_nested_depth5_crlf),
		cmocka_unit_test(test_base64_single_part),
		cmocka_unit_test(test_charset_iso8859_1),
		cmocka_unit_test(test_charset_windows1252),
		cmocka_unit_test(test_charset_undeclared_latin1),
		cmocka_unit_test(test_charset_bad_utf8_made_valid),
		cmocka_unit_test(test_unknown_charset),
		cmocka_unit_test(test_duplicate_inline_and_attachment),
		cmocka_unit_test(test_two_different_parts_kept),
		cmocka_unit_test(test_forwarded_rfc822),
		cmocka_unit_test(test_blank_line_after_boundary),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_no_marker_not_parsed),
		cmocka_unit_test(test_depth_limit_message_rfc822),
		cmocka_unit_test(test_parts_limit),
		cmocka_unit_test(test_calendar_size_limit),
		cmocka_unit_test(test_message_size_limit),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_broken_boundaries),
		cmocka_unit_test(test_empty_calendar_part),
		cmocka_unit_test(test_utf16_charset),
		cmocka_unit_test(test_no_calendar_is_no_problem),
		cmocka_unit_test(test_headers_and_senders),
		cmocka_unit_test(test_auto_submitted_values),
		cmocka_unit_test(test_no_from),
		cmocka_unit_test(test_unusable_from),
		cmocka_unit_test(test_null_limits_use_defaults),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_return_path),
	};

	mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
