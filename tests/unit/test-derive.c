/* derive.c: free/busy and the request list are derived data (DESIGN.md
   rule 6).  What the handlers write incrementally (derive_uid per changed
   UID) must equal what `imip-admin rebuild` computes from the objects and
   counter-proposals alone, and each table must follow the rules of
   derive.h. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <string.h>

#include "test-tmp.h"
#include "calstore.h"
#include "clock.h"
#include "config.h"
#include "derive.h"
#include "freebusy.h"
#include "ical-object.h"
#include "store.h"

#define USER "vincent.vole@example.com"

struct fixture {
	char *root;
	struct imip_config *config;
	struct store *store;
	struct store_user *su;
	struct derive_params p;
};

/* Paul organises; Vincent accepted. */
static const char *event_attended =
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:attended\r\n"
	"DTSTAMP:20141120T100000Z\r\nDTSTART:20141126T150000Z\r\n"
	"DTEND:20141126T160000Z\r\nORGANIZER:mailto:paul.boddie@example.com\r\n"
	"ATTENDEE;PARTSTAT=ACCEPTED:mailto:vincent.vole@example.com\r\n"
	"END:VEVENT\r\nEND:VCALENDAR\r\n";
/* Vincent organises; Harvey accepted, Paul declined. */
static const char *event_organised =
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:organised\r\n"
	"DTSTAMP:20141120T100000Z\r\nDTSTART:20141127T090000Z\r\n"
	"DTEND:20141127T100000Z\r\nORGANIZER:mailto:vincent.vole@example.com\r\n"
	"ATTENDEE;PARTSTAT=ACCEPTED:mailto:harvey.horse@example.com\r\n"
	"ATTENDEE;PARTSTAT=DECLINED:mailto:paul.boddie@example.com\r\n"
	"END:VEVENT\r\nEND:VCALENDAR\r\n";
/* Paul organises three weekly instances; Vincent has not answered; the
   second instance is cancelled. */
static const char *event_weekly =
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:weekly\r\n"
	"DTSTAMP:20141120T100000Z\r\nDTSTART:20141201T080000Z\r\n"
	"DTEND:20141201T083000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"
	"ORGANIZER:mailto:paul.boddie@example.com\r\n"
	"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:vincent.vole@example.com\r\n"
	"END:VEVENT\r\nEND:VCALENDAR\r\n";
static const char *event_weekly_cancelled =
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:weekly\r\n"
	"DTSTAMP:20141121T100000Z\r\nRECURRENCE-ID:20141208T080000Z\r\n"
	"DTSTART:20141208T080000Z\r\nDTEND:20141208T083000Z\r\n"
	"STATUS:CANCELLED\r\nORGANIZER:mailto:paul.boddie@example.com\r\n"
	"END:VEVENT\r\nEND:VCALENDAR\r\n";

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	char *error = NULL;

	f->config = test_tmp_config("test-derive", &f->root);
	assert_int_equal(store_open(f->config, &f->store, &error), 0);
	assert_int_equal(store_user_open(f->store, USER, STORE_OPEN_CREATE,
					 &f->su, &error), 1);
	f->p.config = f->config;
	f->p.su = f->su;
	f->p.user = USER;
	f->p.user_zone = icaltimezone_get_utc_timezone();
	assert_true(imip_clock_parse_utc("20141120T120000Z", &f->p.now));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_user_close(&f->su);
	store_close(&f->store);
	imip_config_free(&f->config);
	test_rm_rf(f->root);
	g_free(f->root);
	g_free(f);
	return 0;
}

static void put(struct fixture *f, const char *text, enum store_state state)
{
	icalcomponent *root = icalparser_parse_string(text);
	icalcomponent *comp = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT);
	const char *error;

	assert_int_equal(calstore_put(f->su, icalcomponent_get_uid(comp), comp,
				      state, root, &error), 0);
	icalcomponent_free(root);
}

static char *table_text(struct fixture *f, enum store_fb_table table,
			const char *other)
{
	struct fb_list *list = fb_list_new();
	const char *error;
	GString *text;

	assert_int_equal(store_fb_read(f->su, table, other, list, &error), 0);
	text = fb_list_format(list);
	fb_list_free(&list);
	return g_string_free(text, FALSE);
}

/* Every table, as one text, for comparing two ways of computing them. */
static char *all_tables(struct fixture *f)
{
	GPtrArray *others = g_ptr_array_new_with_free_func(g_free);
	GString *all = g_string_new(NULL);
	const char *error;
	char *text;

	text = table_text(f, STORE_FB_OWN, NULL);
	g_string_append_printf(all, "[own]\n%s", text);
	g_free(text);
	assert_int_equal(store_fb_list_others(f->su, others, &error), 0);
	for (unsigned int i = 0; i < others->len; i++) {
		text = table_text(f, STORE_FB_OTHER, g_ptr_array_index(others, i));
		if (*text != '\0')
			g_string_append_printf(all, "[%s]\n%s",
					       (char *)g_ptr_array_index(others, i), text);
		g_free(text);
	}
	g_ptr_array_free(others, TRUE);
	return g_string_free(all, FALSE);
}

static void store_everything(struct fixture *f)
{
	put(f, event_attended, STORE_STATE_ACTIVE);
	put(f, event_organised, STORE_STATE_ACTIVE);
	put(f, event_weekly, STORE_STATE_ACTIVE);
	put(f, event_weekly_cancelled, STORE_STATE_CANCELLED);
}

static void test_rules(void **state)
{
	struct fixture *f = *state;
	const char *uids[] = { "attended", "organised", "weekly" };
	const char *error;
	bool own_changed;
	char *own, *paul, *harvey;

	store_everything(f);
	for (unsigned int i = 0; i < G_N_ELEMENTS(uids); i++)
		assert_int_equal(derive_uid(&f->p, uids[i], &own_changed, &error), 0);
	own = table_text(f, STORE_FB_OWN, NULL);
	paul = table_text(f, STORE_FB_OTHER, "paul.boddie@example.com");
	harvey = table_text(f, STORE_FB_OTHER, "harvey.horse@example.com");
	/* own: accepted and organised events; not the unanswered weekly one */
	assert_non_null(strstr(own, "20141126T150000Z\t20141126T160000Z\tattended"));
	assert_non_null(strstr(own, "20141127T090000Z\t20141127T100000Z\torganised"));
	assert_null(strstr(own, "weekly"));
	/* the organiser is presumed busy for his events, minus the cancelled
	   instance; a declining attendee is not busy */
	assert_non_null(strstr(paul, "attended"));
	assert_non_null(strstr(paul, "20141201T080000Z\t20141201T083000Z\tweekly"));
	assert_null(strstr(paul, "20141208T080000Z"));
	assert_non_null(strstr(paul, "20141215T080000Z\t20141215T083000Z\tweekly"));
	assert_null(strstr(paul, "organised"));
	assert_non_null(strstr(harvey, "organised"));
	g_free(own);
	g_free(paul);
	g_free(harvey);
}

static void test_incremental_equals_rebuild(void **state)
{
	struct fixture *f = *state;
	struct fb_list *empty = fb_list_new();
	GPtrArray *others = g_ptr_array_new_with_free_func(g_free);
	const char *error;
	bool own_changed;
	char *incremental, *rebuilt;

	/* the order a mailbox would see: each change derived as it lands */
	put(f, event_weekly, STORE_STATE_ACTIVE);
	assert_int_equal(derive_uid(&f->p, "weekly", &own_changed, &error), 0);
	put(f, event_attended, STORE_STATE_ACTIVE);
	assert_int_equal(derive_uid(&f->p, "attended", &own_changed, &error), 0);
	assert_true(own_changed);
	put(f, event_organised, STORE_STATE_ACTIVE);
	assert_int_equal(derive_uid(&f->p, "organised", &own_changed, &error), 0);
	put(f, event_weekly_cancelled, STORE_STATE_CANCELLED);
	assert_int_equal(derive_uid(&f->p, "weekly", &own_changed, &error), 0);
	assert_false(own_changed);
	incremental = all_tables(f);

	/* lose every derived table, then rebuild from the objects alone */
	assert_int_equal(store_fb_list_others(f->su, others, &error), 0);
	for (unsigned int i = 0; i < others->len; i++)
		assert_int_equal(store_fb_write(f->su, STORE_FB_OTHER,
						g_ptr_array_index(others, i), empty, &error), 0);
	assert_int_equal(store_fb_write(f->su, STORE_FB_OWN, NULL, empty, &error), 0);
	assert_int_equal(derive_rebuild(&f->p, &error), 0);
	rebuilt = all_tables(f);
	assert_string_equal(incremental, rebuilt);
	g_free(incremental);
	g_free(rebuilt);
	g_ptr_array_free(others, TRUE);
	fb_list_free(&empty);
}

static void test_rebuild_keeps_received_freebusy(void **state)
{
	struct fixture *f = *state;
	struct fb_list *received = fb_list_new();
	struct fb_period period = { 0 };
	const char *error;
	char *text;

	/* periods from a VFREEBUSY reply have no stored object behind them */
	assert_true(imip_clock_parse_utc("20141130T100000Z", &period.start));
	assert_true(imip_clock_parse_utc("20141130T110000Z", &period.end));
	period.uid = (char *)"fb1@example.com";
	fb_list_add(received, &period);
	assert_int_equal(store_fb_write(f->su, STORE_FB_OTHER, "harvey.horse@example.com",
					received, &error), 0);
	store_everything(f);
	assert_int_equal(derive_rebuild(&f->p, &error), 0);
	text = table_text(f, STORE_FB_OTHER, "harvey.horse@example.com");
	assert_non_null(strstr(text, "fb1@example.com"));
	assert_non_null(strstr(text, "organised"));
	g_free(text);
	fb_list_free(&received);
}

/* --- the request list --- */

static void put_awaiting(struct fixture *f, const char *text, bool awaiting)
{
	icalcomponent *root = icalparser_parse_string(text);
	icalcomponent *comp = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT);
	const char *error;

	assert_int_equal(calstore_put_awaiting(f->su, icalcomponent_get_uid(comp),
					       comp, STORE_STATE_ACTIVE, root,
					       awaiting, &error), 0);
	icalcomponent_free(root);
}

static void put_counter(struct fixture *f, const char *uid, const char *rid,
			const char *attendee)
{
	struct store_counter c = {
		.uid = (char *)uid, .rid = (char *)rid,
		.attendee = (char *)attendee, .text = (char *)event_organised,
	};
	const char *error;

	assert_int_equal(store_counter_put(f->su, &c, &error), 0);
}

static void write_requests(struct fixture *f, const char *const *lines,
			   unsigned int n)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_request_free);
	const char *error;

	for (unsigned int i = 0; i < n; i += 3) {
		struct store_request *r = g_new0(struct store_request, 1);

		r->uid = g_strdup(lines[i]);
		r->rid = g_strdup(lines[i + 1]);
		r->kind = g_strdup(lines[i + 2]);
		g_ptr_array_add(list, r);
	}
	assert_int_equal(store_requests_write(f->su, list, &error), 0);
	g_ptr_array_free(list, TRUE);
}

/* The list as "uid rid kind" lines. */
static char *requests_text(struct fixture *f)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_request_free);
	GString *text = g_string_new(NULL);
	const char *error;

	assert_int_equal(store_requests_read(f->su, list, &error), 0);
	for (unsigned int i = 0; i < list->len; i++) {
		const struct store_request *r = g_ptr_array_index(list, i);

		g_string_append_printf(text, "%s %s %s\n", r->uid,
				       r->rid != NULL ? r->rid : "-", r->kind);
	}
	g_ptr_array_free(list, TRUE);
	return g_string_free(text, FALSE);
}

/* Vincent has not answered the weekly invitation (marked) and answered
   the attended one (not marked); an instance of the weekly one is
   cancelled; Harvey proposed another time for Vincent's own event, twice
   for one instance (two attendees), and for an event Vincent has
   cancelled since. */
static void store_requests_truth(struct fixture *f)
{
	put_awaiting(f, event_weekly, true);
	put(f, event_weekly_cancelled, STORE_STATE_CANCELLED);
	put_awaiting(f, event_attended, false);
	put(f, event_organised, STORE_STATE_ACTIVE);
	put_counter(f, "organised", NULL, "harvey.horse@example.com");
	put_counter(f, "organised", "20141127T090000Z", "harvey.horse@example.com");
	put_counter(f, "organised", "20141127T090000Z", "paul.boddie@example.com");
	put(f, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:gone\r\n"
	    "DTSTAMP:20141120T100000Z\r\nDTSTART:20141128T090000Z\r\n"
	    "DTEND:20141128T100000Z\r\nSTATUS:CANCELLED\r\n"
	    "ORGANIZER:mailto:vincent.vole@example.com\r\n"
	    "END:VEVENT\r\nEND:VCALENDAR\r\n", STORE_STATE_CANCELLED);
	put_counter(f, "gone", NULL, "harvey.horse@example.com");
}

static const char *requests_expected =
	"organised - counter\n"
	"organised 20141127T090000Z counter\n"
	"weekly - request\n";

static void test_requests_rebuilt(void **state)
{
	struct fixture *f = *state;
	const char *stale[] = {
		/* a line the truth does not explain: a lost answer's */
		"attended", NULL, "request",
		/* the original imip-agent's kinds, nothing stored behind */
		"legacy", NULL, "add",
	};
	const char *error;
	char *text;

	store_requests_truth(f);
	/* `requests` lost (removed by hand, or never written) */
	assert_int_equal(derive_rebuild(&f->p, &error), 0);
	text = requests_text(f);
	assert_string_equal(text, requests_expected);
	g_free(text);
	/* stale lines go, the right ones stay */
	write_requests(f, stale, G_N_ELEMENTS(stale));
	assert_int_equal(derive_rebuild(&f->p, &error), 0);
	text = requests_text(f);
	assert_string_equal(text, requests_expected);
	g_free(text);
}

static void test_requests_incremental_equals_rebuild(void **state)
{
	struct fixture *f = *state;
	const char *other[] = { "legacy", NULL, "add" };
	const char *uids[] = { "weekly", "attended", "organised", "gone" };
	const char *error;
	bool own_changed;
	char *text;

	store_requests_truth(f);
	write_requests(f, other, G_N_ELEMENTS(other));
	for (unsigned int i = 0; i < G_N_ELEMENTS(uids); i++)
		assert_int_equal(derive_uid(&f->p, uids[i], &own_changed, &error), 0);
	/* derive_uid() recomputes its UID's entries only, in the one order */
	text = requests_text(f);
	assert_string_equal(text, "legacy - add\n"
			    "organised - counter\n"
			    "organised 20141127T090000Z counter\n"
			    "weekly - request\n");
	g_free(text);
	/* once answered (the mark cleared), the request goes */
	assert_int_equal(calstore_clear_awaiting(f->su, "weekly", NULL, &error), 1);
	assert_int_equal(calstore_clear_awaiting(f->su, "weekly", NULL, &error), 0);
	assert_int_equal(derive_uid(&f->p, "weekly", &own_changed, &error), 0);
	text = requests_text(f);
	assert_null(strstr(text, "weekly"));
	g_free(text);
}

static void test_awaiting_mark_is_the_agents(void **state)
{
	struct fixture *f = *state;
	/* a message that carries the mark itself */
	char *forged = g_strdup(event_attended);
	char *at = strstr(forged, "END:VEVENT");
	char *text_in = g_strdup_printf("%.*sX-IMIP-AGENT-REQUEST:PENDING\r\n%s",
					(int)(at - forged), forged, at);
	enum store_state st;
	char *text = NULL;
	const char *error;

	put(f, text_in, STORE_STATE_ACTIVE);
	assert_int_equal(store_object_get(f->su, "attended", NULL, &st, &text,
					  &error), 1);
	assert_null(strstr(text, "X-IMIP-AGENT-REQUEST"));
	g_free(text);
	/* marked twice over: stored with one mark */
	put_awaiting(f, text_in, true);
	assert_int_equal(store_object_get(f->su, "attended", NULL, &st, &text,
					  &error), 1);
	at = strstr(text, "X-IMIP-AGENT-REQUEST");
	assert_non_null(at);
	assert_null(strstr(at + 1, "X-IMIP-AGENT-REQUEST"));
	g_free(text);
	g_free(text_in);
	g_free(forged);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incremental_equals_rebuild,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_keeps_received_freebusy,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_rebuilt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_incremental_equals_rebuild,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_awaiting_mark_is_the_agents,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
