/* derive.c: free/busy is derived data (DESIGN.md rule 6).  What the
   handlers write incrementally (derive_uid per changed UID) must equal what
   `imip-admin rebuild` computes from the objects alone, and each table must
   follow the participation rules of derive.h. */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incremental_equals_rebuild,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_keeps_received_freebusy,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
