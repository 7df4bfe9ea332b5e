/* The outbox: the stored form of an entry, a flush against a fake
   sending function (sent, deferred, refused, expired, damaged), and
   imip_process() with ctx.send: a reply not sent makes the outcome error
   and stays queued, a duplicate reports the first outcome and sends
   nothing, the next message sends what is queued. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>

#include "test-tmp.h"
#include "imip.h"
#include "clock.h"
#include "config.h"
#include "mime-read.h"
#include "outbox.h"
#include "store.h"

#define VINCENT "vincent.vole@example.com"
#define PAUL "paul.boddie@example.com"
#define T0 "20141120T120000Z"

/* The sending function's script: what it answers, what it saw. */
struct fake_sender {
	enum imip_send_status answer;
	unsigned int calls;
	GString *sent;		/* recipients, one per line */
	GBytes *last;
};

static enum imip_send_status fake_send(void *context,
				       const struct imip_outgoing *out,
				       char **error_r)
{
	struct fake_sender *s = context;

	s->calls++;
	g_string_append_printf(s->sent, "%s\n", out->recipient);
	if (s->last != NULL)
		g_bytes_unref(s->last);
	s->last = g_bytes_ref(out->data);
	if (s->answer != IMIP_SEND_OK)
		*error_r = g_strdup(s->answer == IMIP_SEND_TEMPFAIL ?
				    "sendmail exited with status 75" :
				    "sendmail exited with status 1");
	return s->answer;
}

struct fixture {
	char *root;
	struct imip_config *config;
	struct imip_ctx ctx;
	struct store_user *su;	/* open only inside the outbox tests */
	struct fake_sender sender;
	time_t t0;
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	char *error = NULL;

	umask(007);
	f->config = test_tmp_config("test-outbox", &f->root);
	g_free(f->config->calendar_sender);
	f->config->calendar_sender = g_strdup("calendar@example.com");
	f->config->outbox_lifetime = 2 * 86400;
	f->ctx.config = f->config;
	assert_int_equal(store_open(f->config, &f->ctx.store, &error), 0);
	assert_true(imip_clock_parse_utc(T0, &f->t0));
	f->ctx.now = f->t0;
	f->ctx.send = fake_send;
	f->ctx.send_context = &f->sender;
	f->sender.sent = g_string_new(NULL);
	mime_init();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->su != NULL)
		store_user_close(&f->su);
	store_close(&f->ctx.store);
	imip_config_free(&f->config);
	test_rm_rf(f->root);
	g_free(f->root);
	g_string_free(f->sender.sent, TRUE);
	if (f->sender.last != NULL)
		g_bytes_unref(f->sender.last);
	g_free(f);
	return 0;
}

static void open_user(struct fixture *f)
{
	char *error = NULL;

	assert_int_equal(store_user_open(f->ctx.store, VINCENT,
					 STORE_OPEN_CREATE, &f->su, &error), 1);
}

static struct imip_outgoing *reply_to(const char *rcpt, const char *body)
{
	struct imip_outgoing *out = g_new0(struct imip_outgoing, 1);

	out->envelope_from = g_strdup("calendar@example.com");
	out->recipient = g_strdup(rcpt);
	out->data = g_bytes_new(body, strlen(body));
	return out;
}

static unsigned int count(struct fixture *f, enum store_outbox_queue q)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *error;
	unsigned int n;

	assert_int_equal(store_outbox_list(f->su, q, names, &error), 0);
	n = names->len;
	g_ptr_array_free(names, TRUE);
	return n;
}

static GPtrArray *flush(struct fixture *f, time_t now)
{
	struct outbox_sender s = {
		.send = fake_send, .context = &f->sender, .now = now,
		.lifetime = f->config->outbox_lifetime,
	};
	GPtrArray *reports = g_ptr_array_new_with_free_func(
		(GDestroyNotify)outbox_report_free);
	const char *error;

	assert_int_equal(outbox_flush(f->su, &s, reports, &error), 0);
	return reports;
}

static enum outbox_fate fate(GPtrArray *reports, unsigned int i)
{
	return ((struct outbox_report *)g_ptr_array_index(reports, i))->fate;
}

/* --- the stored form ----------------------------------------------------- */

/* Hostile values cannot add a header line; the message, blank lines and
   all, comes back byte for byte. */
static void test_entry_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *body = "From: calendar@example.com\r\n\r\nline\r\n\r\n"
		"queued 19700101T000000Z\r\n";
	struct outbox_entry e = {
		.name = (char *)"00ff", .envelope_from = (char *)"",
		.recipient = (char *)"a\tb\nqueued 1@example.com",
		.queued = f->t0, .attempts = 3, .last_attempt = f->t0 + 60,
		.last_error = (char *)"exit 75:\nsecond line %",
		.data = g_bytes_new_static(body, strlen(body)),
	};
	GString *text = outbox_entry_format(&e);
	const char *error = NULL;
	struct outbox_entry *back = outbox_entry_parse("00ff", text->str,
						       text->len, &error);
	gsize len;

	assert_non_null(back);
	assert_string_equal(back->envelope_from, "");
	assert_string_equal(back->recipient, e.recipient);
	assert_int_equal(back->queued, f->t0);
	assert_int_equal(back->attempts, 3);
	assert_int_equal(back->last_attempt, f->t0 + 60);
	assert_string_equal(back->last_error, e.last_error);
	assert_memory_equal(g_bytes_get_data(back->data, &len), body,
			    strlen(body));
	assert_int_equal(len, strlen(body));
	outbox_entry_free(back);

	/* no end of the header block, or no recipient: damaged */
	assert_null(outbox_entry_parse("00ff", "from a\nto b\n", 12, &error));
	assert_non_null(error);
	assert_null(outbox_entry_parse("00ff", "from a\nqueued " T0 "\n\nx",
				       strlen("from a\nqueued " T0 "\n\nx"),
				       &error));
	g_string_free(text, TRUE);
	g_bytes_unref(e.data);
}

/* The same part processed again names the same entry; another reply or
   another part does not. */
static void test_entry_name(void **state)
{
	char *a = outbox_entry_name("digest1", 0);
	char *b = outbox_entry_name("digest1", 0);
	char *c = outbox_entry_name("digest1", 1);
	char *d = outbox_entry_name("digest2", 0);

	(void)state;
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	g_free(a);
	g_free(b);
	g_free(c);
	g_free(d);
}

/* --- flushing ------------------------------------------------------------ */

static void test_flush_sends_and_removes(void **state)
{
	struct fixture *f = *state;
	struct imip_outgoing *out = reply_to(PAUL, "hello\r\n");
	const char *error;
	GPtrArray *reports;
	gsize len;

	open_user(f);
	assert_int_equal(outbox_queue(f->su, "0a", out, f->t0, &error), 0);
	assert_int_equal(count(f, STORE_OUTBOX_QUEUED), 1);
	reports = flush(f, f->t0);
	assert_int_equal(reports->len, 1);
	assert_int_equal(fate(reports, 0), OUTBOX_SENT);
	assert_int_equal(f->sender.calls, 1);
	assert_memory_equal(g_bytes_get_data(f->sender.last, &len), "hello\r\n", 7);
	assert_int_equal(count(f, STORE_OUTBOX_QUEUED), 0);
	assert_int_equal(count(f, STORE_OUTBOX_FAILED), 0);
	g_ptr_array_free(reports, TRUE);

	/* sent once: nothing left to send */
	reports = flush(f, f->t0);
	assert_int_equal(reports->len, 0);
	assert_int_equal(f->sender.calls, 1);
	g_ptr_array_free(reports, TRUE);
	imip_outgoing_free(out);
}

/* A temporary failure keeps the entry, counting attempts, until the
   lifetime is over; then it is given up and never tried again. */
static void test_flush_deferred_then_expired(void **state)
{
	struct fixture *f = *state;
	struct imip_outgoing *out = reply_to(PAUL, "hello\r\n");
	GPtrArray *reports, *entries;
	const struct outbox_entry *e;
	const char *error;

	open_user(f);
	f->sender.answer = IMIP_SEND_TEMPFAIL;
	assert_int_equal(outbox_queue(f->su, "0a", out, f->t0, &error), 0);
	reports = flush(f, f->t0 + 86400);
	assert_int_equal(fate(reports, 0), OUTBOX_DEFERRED);
	assert_non_null(strstr(((struct outbox_report *)
				g_ptr_array_index(reports, 0))->error, "75"));
	g_ptr_array_free(reports, TRUE);
	entries = g_ptr_array_new_with_free_func((GDestroyNotify)outbox_entry_free);
	assert_int_equal(outbox_list(f->su, STORE_OUTBOX_QUEUED, entries, &error), 0);
	assert_int_equal(entries->len, 1);
	e = g_ptr_array_index(entries, 0);
	assert_int_equal(e->attempts, 1);
	assert_int_equal(e->queued, f->t0);
	assert_int_equal(e->last_attempt, f->t0 + 86400);
	assert_string_equal(e->recipient, PAUL);
	g_ptr_array_free(entries, TRUE);

	/* the lifetime (2 days) is over: one last attempt, then failed/ */
	reports = flush(f, f->t0 + 2 * 86400);
	assert_int_equal(fate(reports, 0), OUTBOX_EXPIRED);
	assert_non_null(strstr(((struct outbox_report *)
				g_ptr_array_index(reports, 0))->error,
			       "outbox_lifetime"));
	g_ptr_array_free(reports, TRUE);
	assert_int_equal(f->sender.calls, 2);
	assert_int_equal(count(f, STORE_OUTBOX_QUEUED), 0);
	assert_int_equal(count(f, STORE_OUTBOX_FAILED), 1);

	f->sender.answer = IMIP_SEND_OK;
	reports = flush(f, f->t0 + 3 * 86400);
	assert_int_equal(reports->len, 0);
	assert_int_equal(f->sender.calls, 2);
	g_ptr_array_free(reports, TRUE);
	imip_outgoing_free(out);
}

/* A refusal is not retried: failed/ at once, with its error. */
static void test_flush_refused(void **state)
{
	struct fixture *f = *state;
	struct imip_outgoing *out = reply_to(PAUL, "hello\r\n");
	GPtrArray *reports, *entries;
	const char *error;

	open_user(f);
	f->sender.answer = IMIP_SEND_PERMFAIL;
	assert_int_equal(outbox_queue(f->su, "0a", out, f->t0, &error), 0);
	reports = flush(f, f->t0);
	assert_int_equal(fate(reports, 0), OUTBOX_REFUSED);
	g_ptr_array_free(reports, TRUE);
	assert_int_equal(count(f, STORE_OUTBOX_QUEUED), 0);
	entries = g_ptr_array_new_with_free_func((GDestroyNotify)outbox_entry_free);
	assert_int_equal(outbox_list(f->su, STORE_OUTBOX_FAILED, entries, &error), 0);
	assert_int_equal(entries->len, 1);
	assert_string_equal(((struct outbox_entry *)g_ptr_array_index(
		entries, 0))->last_error, "sendmail exited with status 1");
	g_ptr_array_free(entries, TRUE);
	imip_outgoing_free(out);
}

/* Oldest first; a damaged entry is set aside as is, the others still go. */
static void test_flush_order_and_damage(void **state)
{
	struct fixture *f = *state;
	struct imip_outgoing *late = reply_to("late@example.com", "x\r\n");
	struct imip_outgoing *early = reply_to("early@example.com", "y\r\n");
	GPtrArray *reports;
	const char *error;
	char *text = NULL;
	size_t len;

	open_user(f);
	assert_int_equal(outbox_queue(f->su, "01", late, f->t0 + 60, &error), 0);
	assert_int_equal(outbox_queue(f->su, "ff", early, f->t0, &error), 0);
	assert_int_equal(store_outbox_put(f->su, STORE_OUTBOX_QUEUED, "0b",
					  "garbage", 7, &error), 0);
	reports = flush(f, f->t0 + 120);
	assert_int_equal(reports->len, 3);
	assert_int_equal(fate(reports, 0), OUTBOX_UNREADABLE);
	assert_string_equal(f->sender.sent->str,
			    "early@example.com\nlate@example.com\n");
	assert_int_equal(count(f, STORE_OUTBOX_QUEUED), 0);
	assert_int_equal(store_outbox_get(f->su, STORE_OUTBOX_FAILED, "0b",
					  &text, &len, &error), 1);
	assert_memory_equal(text, "garbage", 7);
	g_free(text);
	g_ptr_array_free(reports, TRUE);

	/* names are hex: nothing else can name a file */
	assert_int_equal(store_outbox_put(f->su, STORE_OUTBOX_QUEUED, "../x",
					  "a", 1, &error), -1);
	imip_outgoing_free(late);
	imip_outgoing_free(early);
}

/* outbox_retry(): a given-up entry goes back to the queue as new (the
   lifetime starts again), once; a damaged one stays where it is. */
static void test_retry_failed(void **state)
{
	struct fixture *f = *state;
	struct imip_outgoing *out = reply_to(PAUL, "hello\r\n");
	GPtrArray *reports, *entries;
	const struct outbox_entry *e;
	const char *error;

	open_user(f);
	f->sender.answer = IMIP_SEND_PERMFAIL;
	assert_int_equal(outbox_queue(f->su, "0a", out, f->t0, &error), 0);
	g_ptr_array_free(flush(f, f->t0), TRUE);
	assert_int_equal(count(f, STORE_OUTBOX_FAILED), 1);

	assert_int_equal(outbox_retry(f->su, "0a", f->t0 + 86400, &error), 1);
	assert_int_equal(count(f, STORE_OUTBOX_FAILED), 0);
	entries = g_ptr_array_new_with_free_func((GDestroyNotify)outbox_entry_free);
	assert_int_equal(outbox_list(f->su, STORE_OUTBOX_QUEUED, entries,
				     &error), 0);
	assert_int_equal(entries->len, 1);
	e = g_ptr_array_index(entries, 0);
	assert_int_equal(e->queued, f->t0 + 86400);
	assert_int_equal(e->attempts, 0);
	assert_int_equal(e->last_attempt, 0);
	assert_null(e->last_error);
	assert_string_equal(e->recipient, PAUL);
	g_ptr_array_free(entries, TRUE);
	/* not in failed/ any more */
	assert_int_equal(outbox_retry(f->su, "0a", f->t0, &error), 0);

	/* the fresh start counts: lifetime 2 days from the retry, not from
	   the first queueing */
	f->sender.answer = IMIP_SEND_TEMPFAIL;
	reports = flush(f, f->t0 + 2 * 86400);
	assert_int_equal(fate(reports, 0), OUTBOX_DEFERRED);
	g_ptr_array_free(reports, TRUE);
	f->sender.answer = IMIP_SEND_OK;
	reports = flush(f, f->t0 + 2 * 86400 + 60);
	assert_int_equal(fate(reports, 0), OUTBOX_SENT);
	g_ptr_array_free(reports, TRUE);
	assert_int_equal(count(f, STORE_OUTBOX_QUEUED), 0);

	/* a damaged entry cannot be sent: an error, and it stays */
	assert_int_equal(store_outbox_put(f->su, STORE_OUTBOX_FAILED, "0b",
					  "garbage", 7, &error), 0);
	assert_int_equal(outbox_retry(f->su, "0b", f->t0, &error), -1);
	assert_non_null(error);
	imip_outgoing_free(out);
	store_user_close(&f->su);
	open_user(f);
	assert_int_equal(count(f, STORE_OUTBOX_FAILED), 1);
	assert_int_equal(count(f, STORE_OUTBOX_QUEUED), 0);
}

/* --- imip_process() with ctx.send ---------------------------------------- */

static char *message(const char *method, const char *uid, const char *id)
{
	return g_strdup_printf(
		"From: Paul Boddie <" PAUL ">\r\n"
		"To: Vincent Vole <" VINCENT ">\r\n"
		"Subject: test\r\n"
		"Message-ID: <%s@example.com>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/calendar; charset=utf-8; method=%s\r\n"
		"\r\n"
		"BEGIN:VCALENDAR\r\nPRODID:-//test//EN\r\nVERSION:2.0\r\n"
		"METHOD:%s\r\nBEGIN:VEVENT\r\nUID:%s\r\nSEQUENCE:0\r\n"
		"DTSTAMP:20141120T110000Z\r\nDTSTART:20141126T150000Z\r\n"
		"DTEND:20141126T160000Z\r\nSUMMARY:Test\r\n"
		"ORGANIZER:mailto:" PAUL "\r\n"
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:" PAUL "\r\n"
		"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:" VINCENT "\r\n"
		"END:VEVENT\r\nEND:VCALENDAR\r\n", id, method, method, uid);
}

static struct imip_result *process(struct fixture *f, const char *text)
{
	struct mime_message *msg = mime_message_read(text, strlen(text),
						     &f->config->limits);
	struct imip_result *r = imip_process(&f->ctx, msg, PAUL, VINCENT,
					     IMIP_ROLE_PERSON);

	mime_message_free(&msg);
	return r;
}

static void process_expect(struct fixture *f, const char *text,
			   const char *outcome, const char *reason_part)
{
	struct imip_result *r = process(f, text);

	assert_string_equal(imip_outcome_name(r->code), outcome);
	if (reason_part != NULL && strstr(r->reason, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", r->reason, reason_part);
	imip_result_free(&r);
}

static unsigned int queued_now(struct fixture *f)
{
	unsigned int n;

	open_user(f);
	n = count(f, STORE_OUTBOX_QUEUED);
	store_user_close(&f->su);
	return n;
}

/* An ADD for a stored event answers with a REFRESH: sendmail refusing
   for now makes the outcome error (not replied), the reply waits in the
   outbox, a duplicate reports the first outcome without a new attempt
   of its own, and the next message sends the queued reply once. */
static void test_process_reply_queued(void **state)
{
	struct fixture *f = *state;
	char *request = message("REQUEST", "ev1@example.com", "r1");
	char *add = message("ADD", "ev1@example.com", "a1");
	char *other = message("REQUEST", "ev2@example.com", "r2");

	process_expect(f, request, "added", NULL);
	assert_int_equal(f->sender.calls, 0);

	f->sender.answer = IMIP_SEND_TEMPFAIL;
	process_expect(f, add, "error", "not sent: sendmail exited with "
		       "status 75; queued for retry");
	assert_int_equal(f->sender.calls, 1);
	assert_int_equal(queued_now(f), 1);

	/* the same message again: the queued reply is tried (still 75),
	   nothing new is queued, and the first outcome is reported */
	process_expect(f, add, "error", "already processed: ");
	assert_int_equal(f->sender.calls, 2);
	assert_int_equal(queued_now(f), 1);

	/* sendmail works again: the next message sends it */
	f->sender.answer = IMIP_SEND_OK;
	process_expect(f, other, "added", NULL);
	assert_int_equal(f->sender.calls, 3);
	assert_int_equal(queued_now(f), 0);
	assert_string_equal(f->sender.sent->str, PAUL "\n" PAUL "\n" PAUL "\n");

	/* and never again */
	process_expect(f, add, "error", "already processed: ");
	assert_int_equal(f->sender.calls, 3);
	g_free(request);
	g_free(add);
	g_free(other);
}

/* A reply sent at once: outcome as before, outbox empty; a duplicate
   reports the first outcome, "already processed", and sends nothing. */
static void test_process_reply_sent(void **state)
{
	struct fixture *f = *state;
	char *request = message("REQUEST", "ev1@example.com", "r1");
	char *add = message("ADD", "ev1@example.com", "a1");

	process_expect(f, request, "added", NULL);
	process_expect(f, add, "replied", NULL);
	assert_int_equal(f->sender.calls, 1);
	assert_int_equal(queued_now(f), 0);
	process_expect(f, request, "added", "already processed: invitation");
	process_expect(f, add, "replied", "already processed: ");
	assert_int_equal(f->sender.calls, 1);
	g_free(request);
	g_free(add);
}

/* A refused reply: error, moved to failed/, not tried by later messages. */
static void test_process_reply_refused(void **state)
{
	struct fixture *f = *state;
	char *request = message("REQUEST", "ev1@example.com", "r1");
	char *add = message("ADD", "ev1@example.com", "a1");
	char *other = message("REQUEST", "ev2@example.com", "r2");

	process_expect(f, request, "added", NULL);
	f->sender.answer = IMIP_SEND_PERMFAIL;
	process_expect(f, add, "error", "given up");
	f->sender.answer = IMIP_SEND_OK;
	process_expect(f, other, "added", NULL);
	assert_int_equal(f->sender.calls, 1);
	open_user(f);
	assert_int_equal(count(f, STORE_OUTBOX_QUEUED), 0);
	assert_int_equal(count(f, STORE_OUTBOX_FAILED), 1);
	g_free(request);
	g_free(add);
	g_free(other);
}

/* Without a sending function (a dry run) nothing is queued: the replies
   are the caller's to print. */
static void test_process_without_sender(void **state)
{
	struct fixture *f = *state;
	char *request = message("REQUEST", "ev1@example.com", "r1");
	char *add = message("ADD", "ev1@example.com", "a1");
	struct imip_result *r;

	f->ctx.send = NULL;
	process_expect(f, request, "added", NULL);
	r = process(f, add);
	assert_int_equal(r->outgoing->len, 1);
	imip_result_free(&r);
	assert_int_equal(queued_now(f), 0);
	assert_int_equal(f->sender.calls, 0);
	g_free(request);
	g_free(add);
}

/* The idempotence record keeps outcome and reason (tabs and line breaks
   escaped); entries of the older two-field form still count as seen. */
static void test_seen_keeps_outcome(void **state)
{
	struct fixture *f = *state;
	char *outcome = NULL, *reason = NULL, *path;
	const char *error;

	open_user(f);
	assert_int_equal(store_seen_record(f->su, "aaaa", f->t0, "replied",
					   "a\tb\nc", &error), 0);
	assert_int_equal(store_seen_get(f->su, "aaaa", &outcome, &reason,
					&error), 1);
	assert_string_equal(outcome, "replied");
	assert_string_equal(reason, "a\tb\nc");
	g_free(outcome);
	g_free(reason);
	store_user_close(&f->su);

	path = g_build_filename(f->config->store_dir, VINCENT, "seen", NULL);
	assert_true(g_file_set_contents(path, "bbbb\t" T0 "\n", -1, NULL));
	open_user(f);
	assert_int_equal(store_seen_get(f->su, "bbbb", &outcome, &reason,
					&error), 1);
	assert_null(outcome);
	assert_null(reason);
	/* adding keeps the old entry */
	assert_int_equal(store_seen_add(f->su, "cccc", f->t0, &error), 0);
	assert_int_equal(store_seen_check(f->su, "bbbb", &error), 1);
	g_free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_entry_round_trip),
		T(test_entry_name),
		T(test_flush_sends_and_removes),
		T(test_flush_deferred_then_expired),
		T(test_flush_refused),
		T(test_flush_order_and_damage),
		T(test_retry_failed),
		T(test_process_reply_queued),
		T(test_process_reply_sent),
		T(test_process_reply_refused),
		T(test_process_without_sender),
		T(test_seen_keeps_outcome),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
