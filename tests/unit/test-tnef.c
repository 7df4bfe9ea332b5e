/* tnef: Outlook's TNEF meeting messages turned into iCalendar, on real
   Outlook/Exchange samples and on synthetic ones (tests/tnef/mktnef.py);
   the mime-read.c hook; broken input; libytnef kept off stdout. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "mime-read.h"
#include "tnef.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/unit/data"
#endif

/* the synthetic files' global object id, instance date cleared, in hex */
#define EXAMPLE_UID \
	"040000008200E00074C5B7101A82E0080000000000DC298EA404D0010000000000" \
	"00000010000000" "00CC90FBB0AF5E4084B8519538A2DF6D"

static const struct imip_limits test_limits = {
	.message_size = 1024 * 1024,
	.mime_parts = 100,
	.mime_depth = 100,
	.calendar_size = 64 * 1024,
	.components = 100,
	.attendees = 100,
	.instances = 100,
};

static struct tnef_mailbox paul = {
	(char *)"paul.boddie@example.com", (char *)"Paul Boddie" };
static struct tnef_mailbox vincent = {
	(char *)"vincent.vole@example.com", (char *)"Vincent Vole" };
static struct tnef_mailbox harvey = {
	(char *)"harvey.horse@example.com", NULL };

static GBytes *read_data(const char *name)
{
	char *path = g_build_filename(TEST_DATA_DIR, "tnef", name, NULL);
	char *data = NULL;
	gsize len = 0;

	assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_free(path);
	return g_bytes_new_take(data, len);
}

/* Unfolded (RFC 5545 3.1), LF line ends: easy to search. */
static char *unfold(const char *text)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p != '\0'; p++) {
		if (p[0] == '\r' && p[1] == '\n')
			continue;
		if (p[0] == '\n' && (p[1] == ' ' || p[1] == '\t')) {
			p++;
			continue;
		}
		g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

static void assert_has(const char *text, const char *line)
{
	if (strstr(text, line) == NULL) {
		print_error("missing \"%s\" in:\n%s\n", line, text);
		fail();
	}
}

/* Every line of a NULL-terminated list. */
static void assert_has_all(const char *text, const char *const *lines)
{
	for (; *lines != NULL; lines++)
		assert_has(text, *lines);
}

static void assert_lacks(const char *text, const char *what)
{
	if (strstr(text, what) != NULL) {
		print_error("unexpected \"%s\" in:\n%s\n", what, text);
		fail();
	}
}

struct converted {
	enum tnef_status status;
	char *text;		/* unfolded */
	char *method;
	char *problem;
};

static struct converted convert_bytes(GBytes *data,
				      const struct tnef_envelope *env)
{
	struct converted c;
	gsize len;
	const void *p = g_bytes_get_data(data, &len);
	char *text;

	c.status = tnef_to_icalendar(p, len, env, &text, &c.method,
				     &c.problem);
	c.text = text != NULL ? unfold(text) : NULL;
	if (text != NULL) {
		assert_true(g_utf8_validate(text, -1, NULL));
		assert_non_null(strstr(text, "\r\n"));
	}
	g_free(text);
	return c;
}

/* Paul's mail to Vincent (To) and Harvey (Cc). */
static struct converted convert(const char *name)
{
	GPtrArray *to = g_ptr_array_new(), *cc = g_ptr_array_new();
	struct tnef_envelope env = { .from = &paul, .to = to, .cc = cc };
	GBytes *data = read_data(name);
	struct converted c;

	g_ptr_array_add(to, &vincent);
	g_ptr_array_add(cc, &harvey);
	c = convert_bytes(data, &env);
	g_bytes_unref(data);
	g_ptr_array_free(to, TRUE);
	g_ptr_array_free(cc, TRUE);
	return c;
}

static void converted_clear(struct converted *c)
{
	g_free(c->text);
	g_free(c->method);
	g_free(c->problem);
}

static void assert_meeting(const struct converted *c, const char *method)
{
	if (c->status != TNEF_MEETING)
		print_error("problem: %s\n", c->problem);
	assert_int_equal(c->status, TNEF_MEETING);
	assert_string_equal(c->method, method);
	assert_null(c->problem);
}

/* ---- real Outlook/Exchange samples ---------------------------------- */

static void test_real_request(void **state)
{
	struct converted c = convert("winmail2.dat");

	(void)state;
	assert_meeting(&c, "REQUEST");
	assert_has_all(c.text, (const char *const[]){
		"METHOD:REQUEST\n",
		"UID:040000008200E00074C5B7101A82E0080000000070D004D7863AD001"
		"00000000000000001000000000CC90FBB0AF5E4084B8519538A2DF6D\n",
		"DTSTART:20150128T130000Z\n", "DTEND:20150128T133000Z\n",
		"DTSTAMP:20150128T041320Z\n", "SUMMARY:Test Meeting\n",
		"LOCATION:Clayton\\, NJ\n", "SEQUENCE:0\n",
		/* this TNEF names no sender: From: is the organiser */
		"ORGANIZER;CN=Paul Boddie:mailto:paul.boddie@example.com\n",
		"ATTENDEE;CN=Vincent Vole;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-"
		"ACTION;RSVP=TRUE:mailto:vincent.vole@example.com\n",
		"ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:"
		"mailto:harvey.horse@example.com\n",
		NULL });
	converted_clear(&c);
}

/* A weekly series: libytnef hands the pattern over as raw bytes, so the
   first occurrence is what is converted. */
static void test_real_recurring_request(void **state)
{
	GBytes *b64 = read_data("TnefMeetingRequest.txt");
	char *text = g_strndup(g_bytes_get_data(b64, NULL),
			       g_bytes_get_size(b64));
	gsize len;
	guchar *raw = g_base64_decode(text, &len);
	GBytes *data = g_bytes_new_take(raw, len);
	struct tnef_envelope env = { .from = &paul };
	struct converted c = convert_bytes(data, &env);

	(void)state;
	assert_meeting(&c, "REQUEST");
	assert_has_all(c.text, (const char *const[]){
		"UID:040000008200E00074C5B7101A82E00800000000805A86260DFFCE01"
		"0000000000000000100000006C6D150A04101E4DBEEE3BA5CF7206CC\n",
		"DTSTART:20131223T170000Z\n", "DTEND:20131223T173000Z\n",
		"SUMMARY:Meeting\n", "LOCATION:Office\n", NULL });
	assert_lacks(c.text, "RRULE");
	converted_clear(&c);
	g_bytes_unref(data);
	g_bytes_unref(b64);
	g_free(text);
}

static struct mime_message *read_eml(const char *name,
				     const struct imip_limits *limits)
{
	GBytes *data = read_data(name);
	struct mime_message *msg = mime_message_read(
		g_bytes_get_data(data, NULL), g_bytes_get_size(data), limits);

	assert_non_null(msg);
	g_bytes_unref(data);
	return msg;
}

/* The one calendar part of a message read without a problem. */
static const struct mime_calendar_part *only_part(
	const struct mime_message *msg)
{
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 1);
	return g_ptr_array_index(msg->calendar_parts, 0);
}

/* Exchange's acceptance of an invitation that came from iCalendar, read
   as mail: the UID is the organiser's, the responder its ATTENDEE, the
   To: recipient the ORGANIZER. */
static void test_real_reply_mail(void **state)
{
	struct mime_message *msg = read_eml("Itip_Reply.eml", &test_limits);
	const struct mime_calendar_part *part;
	char *text;

	(void)state;
	part = only_part(msg);
	assert_string_equal(part->content_type, "application/ms-tnef");
	assert_string_equal(part->method_param, "REPLY");
	assert_true(part->is_attachment);
	assert_int_equal(part->len, strlen(part->text));
	text = unfold(part->text);
	assert_has_all(text, (const char *const[]){
		"METHOD:REPLY\n",
		"UID:20150113143519.trPhO6SrBAGURICFhR5NMg5@www.nachthell.net\n",
		/* Outlook's To: 'Jens Meier' <...>, quotes dropped */
		"ORGANIZER;CN=Jens Meier:mailto:jens.meier@nachthell.net\n",
		"ATTENDEE;CN=\"Meier, Jens\";PARTSTAT=ACCEPTED:"
		"mailto:j.meier@medizin.uni-leipzig.de\n",
		"SUMMARY:Infoveranstaltung VDI/VDE Jena "
		"\"Digitalisierung Medizintechnik\"\n",
		"DTSTAMP:20150114T090501Z\n", NULL });
	g_free(text);
	mime_message_free(&msg);
}

/* A task in TNEF is not a meeting: no calendar data, no problem. */
static void test_real_task_mail(void **state)
{
	struct mime_message *msg = read_eml("tnef_task.eml", &test_limits);

	(void)state;
	assert_null(msg->problem);
	assert_int_equal(msg->calendar_parts->len, 0);
	mime_message_free(&msg);
}

/* ---- synthetic ------------------------------------------------------ */

/* What a synthetic file (tests/tnef/make-unit-data.py) must convert to:
   lines present in the unfolded text, and strings absent from it. */
struct expectation {
	const char *file;
	const char *why;
	const char *method;
	bool reply;		/* Vincent's answer to Paul, not Paul's mail */
	const char *present[8];
	const char *absent[3];
};

static const struct expectation synthetic[] = {
	{ "cancel-string8.tnef", "a cancellation; Windows-1252 strings",
	  "CANCEL", false,
	  { "METHOD:CANCEL\n", "UID:" EXAMPLE_UID "\n", "STATUS:CANCELLED\n",
	    "SEQUENCE:2\n", "DTSTAMP:20141121T080000Z\n",
	    "SUMMARY:Caf\xc3\xa9 meeting\n", "LOCATION:Salle \xc3\xa0 manger\n",
	    "ATTENDEE;CN=Vincent Vole;ROLE=REQ-PARTICIPANT:"
	    "mailto:vincent.vole@example.com\n" },
	  { "PARTSTAT" } },
	{ "allday-berlin.tnef", "all-day: the organiser's dates", "REQUEST",
	  false,
	  { "DTSTART;VALUE=DATE:20141126\n", "DTEND;VALUE=DATE:20141127\n" },
	  { NULL } },
	{ "allday-nozone.tnef", "all-day without a zone: the times stay",
	  "REQUEST", false,
	  { "DTSTART:20141125T230000Z\n", "DTEND:20141126T230000Z\n" },
	  { "VALUE=DATE" } },
	{ "tentative-vcal-uid.tnef", "a response: the embedded UID, the "
	  "sender's PARTSTAT, To: organises", "REPLY", true,
	  { "UID:event1@example.com\n",
	    "ORGANIZER;CN=Paul Boddie:mailto:paul.boddie@example.com\n",
	    "ATTENDEE;CN=Vincent Vole;PARTSTAT=TENTATIVE:"
	    "mailto:vincent.vole@example.com\n",
	    "SUMMARY:Meeting at 4pm\n", "DTSTAMP:20141121T090000Z\n" },
	  { "Tentative:" } },
	{ "exception.tnef", "one occurrence: the series' UID, the original "
	  "start", "REQUEST", false,
	  { "UID:" EXAMPLE_UID "\n", "RECURRENCE-ID:20141203T150000Z\n",
	    "DTSTART:20141203T160000Z\n", "SEQUENCE:1\n" },
	  { NULL } },
	{ "recurring.tnef", "a series: its first occurrence", "REQUEST", false,
	  { "DTSTART:20141126T150000Z\n" },
	  { "RRULE", "RECURRENCE-ID" } },
	{ "free-ex-sender.tnef", "an Exchange-internal sender: From: "
	  "organises; free: TRANSP; no response requested: no RSVP",
	  "REQUEST", false,
	  { "ORGANIZER;CN=Paul Boddie:mailto:paul.boddie@example.com\n",
	    "TRANSP:TRANSPARENT\n" },
	  { "/O=EXAMPLE", "RSVP" } },
	{ "non-bmp.tnef", "a surrogate pair (libytnef writes CESU-8)",
	  "REQUEST", false,
	  { "SUMMARY:Party \xf0\x9f\x8e\x89 time\n" },
	  { NULL } },
};

static struct converted convert_reply(const char *name)
{
	GPtrArray *to = g_ptr_array_new();
	struct tnef_envelope env = { .from = &vincent, .to = to };
	GBytes *data = read_data(name);
	struct converted c;

	g_ptr_array_add(to, &paul);
	c = convert_bytes(data, &env);
	g_bytes_unref(data);
	g_ptr_array_free(to, TRUE);
	return c;
}

static void test_synthetic(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(synthetic); i++) {
		const struct expectation *e = &synthetic[i];
		struct converted c = e->reply ? convert_reply(e->file) :
			convert(e->file);

		print_message("%s: %s\n", e->file, e->why);
		assert_meeting(&c, e->method);
		for (size_t j = 0; j < G_N_ELEMENTS(e->present) &&
		     e->present[j] != NULL; j++)
			assert_has(c.text, e->present[j]);
		for (size_t j = 0; j < G_N_ELEMENTS(e->absent) &&
		     e->absent[j] != NULL; j++)
			assert_lacks(c.text, e->absent[j]);
		converted_clear(&c);
	}
}

/* Files that give no calendar text: broken ones (with the reason) and
   TNEF that is no meeting (rich text mail). */
static void test_no_calendar(void **state)
{
	static const struct {
		const char *file;
		enum tnef_status status;
		const char *problem;	/* its beginning */
	} cases[] = {
		{ "corrupt.tnef", TNEF_BROKEN,
		  "TNEF (winmail.dat) unreadable: checksum mismatch" },
		/* libytnef misses the short read (it compares -1 with an
		   unsigned size) and ends on the checksum */
		{ "truncated.tnef", TNEF_BROKEN,
		  "TNEF (winmail.dat) unreadable: " },
		{ "LICENSE-NOTE.md", TNEF_BROKEN, "TNEF (winmail.dat) unreadable: "
		  "not a TNEF stream (no TNEF signature)" },
		{ "no-goid.tnef", TNEF_BROKEN, "TNEF (winmail.dat) meeting message "
		  "without a global object ID (no UID)" },
		{ "note.tnef", TNEF_NO_MEETING, NULL },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct converted c = convert(cases[i].file);

		assert_int_equal(c.status, cases[i].status);
		assert_null(c.text);
		assert_null(c.method);
		if (cases[i].problem == NULL)
			assert_null(c.problem);
		else
			assert_true(g_str_has_prefix(c.problem,
						     cases[i].problem));
		converted_clear(&c);
	}
}

static void test_empty_and_null(void **state)
{
	char *text, *method, *problem;

	(void)state;
	assert_int_equal(tnef_to_icalendar("", 0, NULL, &text, &method,
					   &problem), TNEF_BROKEN);
	assert_non_null(problem);
	g_free(problem);
	assert_int_equal(tnef_to_icalendar(NULL, 0, NULL, &text, &method,
					   &problem), TNEF_BROKEN);
	g_free(problem);
}

/* libytnef prints "ERROR: Checksum mismatch..." with printf(): not one
   byte may reach standard output. */
static void test_stdout_untouched(void **state)
{
	GBytes *data = read_data("corrupt.tnef");
	char path[] = "/tmp/test-tnef-stdout-XXXXXX";
	int fd = mkstemp(path), saved;
	struct converted c;
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	c = convert_bytes(data, NULL);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	assert_int_equal(c.status, TNEF_BROKEN);
	assert_int_equal(st.st_size, 0);
	converted_clear(&c);
	g_bytes_unref(data);
}

/* ---- through mime_message_read -------------------------------------- */

static char *mail_with_tnef(const char *from, const char *to,
			    const char *type, const char *file)
{
	GBytes *data = read_data(file);
	char *b64 = g_base64_encode(g_bytes_get_data(data, NULL),
				    g_bytes_get_size(data));
	char *mail = g_strdup_printf(
		"From: %s\nTo: %s\nSubject: Meeting\n"
		"Date: Thu, 20 Nov 2014 11:00:00 +0000\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"b\"\n\n"
		"--b\nContent-Type: text/plain\n\nSee the attachment.\n"
		"--b\nContent-Type: %s; name=\"winmail.dat\"\n"
		"Content-Disposition: attachment; filename=\"winmail.dat\"\n"
		"Content-Transfer-Encoding: base64\n\n%s\n--b--\n",
		from, to, type, b64);

	g_free(b64);
	g_bytes_unref(data);
	return mail;
}

static struct mime_message *read_mail(const char *mail,
				      const struct imip_limits *limits)
{
	struct mime_message *msg = mime_message_read(mail, strlen(mail),
						     limits);

	assert_non_null(msg);
	return msg;
}

/* A winmail.dat sent as application/octet-stream is found by its name. */
static void test_mime_by_name(void **state)
{
	char *mail = mail_with_tnef("Paul Boddie <paul.boddie@example.com>",
				    "vincent.vole@example.com",
				    "application/octet-stream",
				    "cancel-string8.tnef");
	struct mime_message *msg = read_mail(mail, &test_limits);
	const struct mime_calendar_part *part;

	(void)state;
	part = only_part(msg);
	assert_string_equal(part->content_type, "application/ms-tnef");
	assert_string_equal(part->method_param, "CANCEL");
	assert_non_null(strstr(part->text, "mailto:vincent.vole@example.com"));
	mime_message_free(&msg);
	g_free(mail);
}

/* TNEF parts that give no calendar part: a broken one (a problem, not a
   limit), one whose calendar text is over limit_calendar_size (a limit),
   rich text mail (nothing at all). */
static void test_mime_no_part(void **state)
{
	static const struct {
		const char *type, *file;
		size_t calendar_size;
		const char *problem;
		bool is_limit;
	} cases[] = {
		{ "application/ms-tnef", "corrupt.tnef", 64 * 1024,
		  "TNEF (winmail.dat) unreadable: checksum mismatch", false },
		{ "application/vnd.ms-tnef", "recurring.tnef", 200,
		  "calendar data from TNEF (winmail.dat) larger than 200 bytes "
		  "(limit_calendar_size)", true },
		{ "application/ms-tnef", "note.tnef", 64 * 1024, NULL, false },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *mail = mail_with_tnef("paul.boddie@example.com",
					    "vincent.vole@example.com",
					    cases[i].type, cases[i].file);
		struct imip_limits limits = test_limits;
		struct mime_message *msg;

		limits.calendar_size = cases[i].calendar_size;
		msg = read_mail(mail, &limits);
		assert_int_equal(msg->calendar_parts->len, 0);
		if (cases[i].problem == NULL)
			assert_null(msg->problem);
		else
			assert_string_equal(msg->problem, cases[i].problem);
		assert_int_equal(msg->problem_is_limit, cases[i].is_limit);
		mime_message_free(&msg);
		g_free(mail);
	}
}

/* Inside a forwarded message, the forwarded message's From: and To: are
   the ones that count. */
static void test_mime_forwarded(void **state)
{
	char *inner = mail_with_tnef("Paul Boddie <paul.boddie@example.com>",
				     "harvey.horse@example.com",
				     "application/ms-tnef",
				     "free-ex-sender.tnef");
	char *mail = g_strdup_printf(
		"From: vincent.vole@example.com\nTo: mallory@evil.example\n"
		"Subject: Fwd\nMIME-Version: 1.0\n"
		"Content-Type: message/rfc822\n\n%s", inner);
	struct mime_message *msg = read_mail(mail, &test_limits);
	const struct mime_calendar_part *part;
	char *text;

	(void)state;
	part = only_part(msg);
	text = unfold(part->text);
	assert_has(text, "ORGANIZER;CN=Paul Boddie:mailto:paul.boddie@example.com\n");
	assert_has(text, "mailto:harvey.horse@example.com\n");
	assert_lacks(text, "mallory");
	assert_lacks(text, "vincent");
	g_free(text);
	mime_message_free(&msg);
	g_free(mail);
	g_free(inner);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_request),
		cmocka_unit_test(test_real_recurring_request),
		cmocka_unit_test(test_real_reply_mail),
		cmocka_unit_test(test_real_task_mail),
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_no_calendar),
		cmocka_unit_test(test_empty_and_null),
		cmocka_unit_test(test_stdout_untouched),
		cmocka_unit_test(test_mime_by_name),
		cmocka_unit_test(test_mime_no_part),
		cmocka_unit_test(test_mime_forwarded),
	};

	mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
