/* The file store: round trips, hostile names kept inside the user's
   directory, active/cancelled exclusivity, derived tables, the lock. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "test-tmp.h"
#include "config.h"
#include "store.h"
#include "store-name.h"
#include "freebusy.h"

#define USER "vincent.vole@example.com"
/* the first two hex digits of SHA-256("event1") */
#define FB_SHARD_EVENT1 "29"

struct fixture {
	char *root;
	char *user_dir;
	struct imip_config *config;
	struct store *store;
	struct store_user *su;
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	char *error = NULL;

	umask(007);
	f->config = test_tmp_config("test-store", &f->root);
	f->user_dir = g_build_filename(f->config->store_dir, USER, NULL);
	assert_int_equal(store_open(f->config, &f->store, &error), 0);
	assert_int_equal(store_user_open(f->store, USER, STORE_OPEN_CREATE,
					 &f->su, &error), 1);
	assert_string_equal(store_user_name(f->su), USER);
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
	g_free(f->user_dir);
	g_free(f);
	return 0;
}

static char *event_text(const char *uid, const char *summary)
{
	return g_strdup_printf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
			       "PRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
			       "UID:%s\r\nSUMMARY:%s\r\n"
			       "DTSTART:20141126T150000Z\r\n"
			       "DTEND:20141126T160000Z\r\nEND:VEVENT\r\n"
			       "END:VCALENDAR\r\n", uid, summary);
}

static GPtrArray *strings(void)
{
	return g_ptr_array_new_with_free_func(g_free);
}

static bool path_exists(const char *a, const char *b, const char *c)
{
	char *p = g_build_filename(a, b, c, NULL);
	bool exists = g_file_test(p, G_FILE_TEST_EXISTS);

	g_free(p);
	return exists;
}

/* Every file and directory below `dir`, as paths. */
static void walk(const char *dir, GPtrArray *out)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	if (d == NULL)
		return;
	while ((name = g_dir_read_name(d)) != NULL) {
		char *sub = g_build_filename(dir, name, NULL);

		g_ptr_array_add(out, g_strdup(sub));
		walk(sub, out);
		g_free(sub);
	}
	g_dir_close(d);
}

static void test_object_round_trip(void **state)
{
	struct fixture *f = *state;
	char *text = event_text("event1@example.com", "Meeting");
	char *got = NULL;
	enum store_state st = STORE_STATE_CANCELLED;
	const char *error = NULL;
	GPtrArray *list = strings();

	assert_int_equal(store_object_get(f->su, "event1@example.com", NULL,
					  &st, &got, &error), 0);
	assert_null(got);
	assert_int_equal(store_object_put(f->su, "event1@example.com", NULL,
					  STORE_STATE_ACTIVE, text, &error), 0);
	assert_int_equal(store_object_get(f->su, "event1@example.com", NULL,
					  &st, &got, &error), 1);
	assert_int_equal(st, STORE_STATE_ACTIVE);
	assert_string_equal(got, text);
	g_free(got);
	/* stored exactly, at the documented place */
	assert_true(path_exists(f->user_dir, "objects", "event1@example.com"));

	assert_int_equal(store_object_put(f->su, "event1@example.com",
					  "20141127T150000Z",
					  STORE_STATE_ACTIVE, "override",
					  &error), 0);
	assert_int_equal(store_object_put(f->su, "event1@example.com",
					  "20141128", STORE_STATE_ACTIVE,
					  "override2", &error), 0);
	assert_int_equal(store_object_get(f->su, "event1@example.com",
					  "20141127T150000Z", &st, &got,
					  &error), 1);
	assert_string_equal(got, "override");
	g_free(got);
	assert_int_equal(store_object_list_rids(f->su, "event1@example.com",
						STORE_STATE_ACTIVE, list,
						&error), 0);
	assert_int_equal(list->len, 2);
	assert_string_equal(g_ptr_array_index(list, 0), "20141127T150000Z");
	assert_string_equal(g_ptr_array_index(list, 1), "20141128");
	g_ptr_array_set_size(list, 0);
	assert_int_equal(store_object_list_rids(f->su, "event1@example.com",
						STORE_STATE_CANCELLED, list,
						&error), 0);
	assert_int_equal(list->len, 0);

	/* removing the last override removes recurrences/<uid> */
	assert_int_equal(store_object_delete(f->su, "event1@example.com",
					     "20141127T150000Z", &error), 1);
	assert_true(path_exists(f->user_dir, "recurrences",
				"event1@example.com"));
	assert_int_equal(store_object_delete(f->su, "event1@example.com",
					     "20141128", &error), 1);
	assert_false(path_exists(f->user_dir, "recurrences",
				 "event1@example.com"));
	assert_int_equal(store_object_delete(f->su, "event1@example.com",
					     "20141128", &error), 0);
	/* the master is untouched */
	assert_int_equal(store_object_get(f->su, "event1@example.com", NULL,
					  &st, &got, &error), 1);
	g_free(got);
	assert_int_equal(store_object_delete(f->su, "event1@example.com", NULL,
					     &error), 1);
	assert_int_equal(store_object_get(f->su, "event1@example.com", NULL,
					  &st, &got, &error), 0);
	g_ptr_array_free(list, TRUE);
	g_free(text);
}

static void test_file_mode_honours_umask(void **state)
{
	struct fixture *f = *state;
	const char *error;
	struct stat st;
	char *path = g_build_filename(f->user_dir, "objects", "m", NULL);

	assert_int_equal(store_object_put(f->su, "m", NULL, STORE_STATE_ACTIVE,
					  "x", &error), 0);
	assert_int_equal(stat(path, &st), 0);
	/* 0660 minus umask 007 */
	assert_int_equal(st.st_mode & 07777, 0660);
	g_free(path);
	path = g_build_filename(f->user_dir, "objects", NULL);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0770);
	g_free(path);
}

static void test_hostile_uids(void **state)
{
	struct fixture *f = *state;
	char *long_uid = g_strnfill(1000, 'u');
	const char *uids[] = {
		"../../x", "a/b", ".hidden", "", long_uid,
		"\xc3\xa9v\xc3\xa9nement@example.com", "%41", "A", ".",
		"..", "x\ty", "-",
	};
	GPtrArray *listed = strings(), *all = strings();
	char *user_prefix = g_strconcat(f->user_dir, G_DIR_SEPARATOR_S, NULL);
	char *prefs_dir = g_build_filename(f->config->preferences_dir, NULL);
	const char *error = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(uids); i++) {
		char *text = event_text(uids[i], "hostile");

		if (store_object_put(f->su, uids[i], NULL, STORE_STATE_ACTIVE,
				     text, &error) != 0)
			fail_msg("put \"%s\": %s", uids[i], error);
		g_free(text);
	}
	/* a long UID known only through an override, and one cancelled */
	{
		char *uid2 = g_strnfill(300, 'v');
		char *uid3 = g_strnfill(300, 'w');
		char *t2 = event_text(uid2, "override only");
		char *t3 = event_text(uid3, "cancelled override");

		assert_int_equal(store_object_put(f->su, uid2,
						  "20141127T150000Z",
						  STORE_STATE_ACTIVE, t2,
						  &error), 0);
		assert_int_equal(store_object_put(f->su, uid3, "20141127",
						  STORE_STATE_CANCELLED, t3,
						  &error), 0);
		g_free(t2);
		g_free(t3);
		g_free(uid2);
		g_free(uid3);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(uids); i++) {
		char *got = NULL, *text = event_text(uids[i], "hostile");
		enum store_state st;

		assert_int_equal(store_object_get(f->su, uids[i], NULL, &st,
						  &got, &error), 1);
		assert_string_equal(got, text);
		g_free(got);
		g_free(text);
	}
	/* nothing outside the user's directory */
	walk(f->root, all);
	for (guint i = 0; i < all->len; i++) {
		const char *p = g_ptr_array_index(all, i);

		if (g_str_has_prefix(p, user_prefix) ||
		    strcmp(p, f->config->store_dir) == 0 ||
		    strcmp(p, f->user_dir) == 0)
			continue;
		fail_msg("file outside the user's store: %s", p);
	}
	/* the names are single safe components */
	assert_false(path_exists(f->root, "x", NULL));
	assert_false(path_exists(f->user_dir, "objects", ".hidden"));

	assert_int_equal(store_object_list_uids(f->su, listed, &error), 0);
	assert_int_equal(listed->len, G_N_ELEMENTS(uids) + 2);
	for (size_t i = 0; i < G_N_ELEMENTS(uids); i++) {
		bool found = false;

		for (guint j = 0; j < listed->len; j++)
			found |= strcmp(g_ptr_array_index(listed, j),
					uids[i]) == 0;
		if (!found)
			fail_msg("UID \"%.40s\" not listed", uids[i]);
	}
	/* sorted */
	for (guint j = 1; j < listed->len; j++)
		assert_true(strcmp(g_ptr_array_index(listed, j - 1),
				   g_ptr_array_index(listed, j)) < 0);
	g_ptr_array_free(listed, TRUE);
	g_ptr_array_free(all, TRUE);
	g_free(user_prefix);
	g_free(prefs_dir);
	g_free(long_uid);
}

static void test_hostile_rids_and_limits(void **state)
{
	struct fixture *f = *state;
	char *long_rid = g_strnfill(300, '1');
	GPtrArray *list = strings();
	const char *error = NULL;

	assert_int_equal(store_object_put(f->su, "u", "../../../x",
					  STORE_STATE_ACTIVE, "r", &error), 0);
	assert_int_equal(store_object_list_rids(f->su, "u", STORE_STATE_ACTIVE,
						list, &error), 0);
	assert_int_equal(list->len, 1);
	assert_string_equal(g_ptr_array_index(list, 0), "../../../x");
	/* a RECURRENCE-ID cannot be recovered from a hashed name: refused */
	assert_int_equal(store_object_put(f->su, "u", long_rid,
					  STORE_STATE_ACTIVE, "r", &error),
			 -1);
	assert_non_null(strstr(error, "RECURRENCE-ID too long"));
	assert_int_equal(store_object_put(f->su, NULL, NULL,
					  STORE_STATE_ACTIVE, "r", &error),
			 -1);
	g_ptr_array_free(list, TRUE);
	g_free(long_rid);
}

static void test_cancel_active_exclusive(void **state)
{
	struct fixture *f = *state;
	const char *error;
	enum store_state st;
	char *got;
	GPtrArray *list = strings();

	assert_int_equal(store_object_put(f->su, "e", NULL, STORE_STATE_ACTIVE,
					  "active", &error), 0);
	assert_int_equal(store_object_put(f->su, "e", NULL,
					  STORE_STATE_CANCELLED, "cancelled",
					  &error), 0);
	assert_int_equal(store_object_get(f->su, "e", NULL, &st, &got, &error),
			 1);
	assert_int_equal(st, STORE_STATE_CANCELLED);
	assert_string_equal(got, "cancelled");
	g_free(got);
	assert_false(path_exists(f->user_dir, "objects", "e"));
	assert_true(path_exists(f->user_dir, "cancellations/objects", "e"));

	assert_int_equal(store_object_put(f->su, "e", NULL, STORE_STATE_ACTIVE,
					  "again", &error), 0);
	assert_int_equal(store_object_get(f->su, "e", NULL, &st, &got, &error),
			 1);
	assert_int_equal(st, STORE_STATE_ACTIVE);
	assert_string_equal(got, "again");
	g_free(got);
	assert_false(path_exists(f->user_dir, "cancellations/objects", "e"));

	/* per instance: cancelling an override leaves the master active */
	assert_int_equal(store_object_put(f->su, "e", "20141127",
					  STORE_STATE_ACTIVE, "o", &error), 0);
	assert_int_equal(store_object_put(f->su, "e", "20141127",
					  STORE_STATE_CANCELLED, "oc", &error),
			 0);
	assert_false(path_exists(f->user_dir, "recurrences", "e"));
	assert_int_equal(store_object_get(f->su, "e", "20141127", &st, &got,
					  &error), 1);
	assert_int_equal(st, STORE_STATE_CANCELLED);
	g_free(got);
	assert_int_equal(store_object_get(f->su, "e", NULL, &st, &got, &error),
			 1);
	assert_int_equal(st, STORE_STATE_ACTIVE);
	g_free(got);
	assert_int_equal(store_object_list_rids(f->su, "e",
						STORE_STATE_CANCELLED, list,
						&error), 0);
	assert_int_equal(list->len, 1);
	g_ptr_array_set_size(list, 0);
	assert_int_equal(store_object_list_uids(f->su, list, &error), 0);
	assert_int_equal(list->len, 1);
	assert_string_equal(g_ptr_array_index(list, 0), "e");

	/* delete removes both states */
	assert_int_equal(store_object_delete(f->su, "e", "20141127", &error),
			 1);
	assert_false(path_exists(f->user_dir, "cancellations/recurrences",
				 "e"));
	g_ptr_array_free(list, TRUE);
}

static void test_requests_round_trip(void **state)
{
	struct fixture *f = *state;
	GPtrArray *in = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_request_free);
	GPtrArray *out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_request_free);
	static const char *const rows[][3] = {
		{ "event1@example.com", NULL, "request" },
		{ "event2", "20141127T150000Z", "counter" },
		{ "evil\tuid\nwith lines%", "-", "add" },
		{ "", "x\ty", "refresh" },
	};
	const char *error;
	char *path, *text;

	/* missing file reads as empty */
	assert_int_equal(store_requests_read(f->su, out, &error), 0);
	assert_int_equal(out->len, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		struct store_request *r = g_new0(struct store_request, 1);

		r->uid = g_strdup(rows[i][0]);
		r->rid = g_strdup(rows[i][1]);
		r->kind = g_strdup(rows[i][2]);
		g_ptr_array_add(in, r);
	}
	assert_int_equal(store_requests_write(f->su, in, &error), 0);
	assert_int_equal(store_requests_read(f->su, out, &error), 0);
	assert_int_equal(out->len, G_N_ELEMENTS(rows));
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		struct store_request *r = g_ptr_array_index(out, i);

		assert_string_equal(r->uid, rows[i][0]);
		if (rows[i][1] == NULL)
			assert_null(r->rid);
		else
			assert_string_equal(r->rid, rows[i][1]);
		assert_string_equal(r->kind, rows[i][2]);
	}
	/* the documented text: one line per request, three fields */
	path = g_build_filename(f->user_dir, "requests", NULL);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_string_equal(text,
			    "event1@example.com\t-\trequest\n"
			    "event2\t20141127T150000Z\tcounter\n"
			    "evil%09uid%0Awith lines%25\t%2D\tadd\n"
			    "\tx%09y\trefresh\n");
	g_free(text);
	/* the original's shorter lines, and junk, are tolerated */
	assert_true(g_file_set_contents(path, "old1\nold2\t20141127\n"
					"a\tb\tc\td\nbad%zz\t-\trequest\n",
					-1, NULL));
	g_ptr_array_set_size(out, 0);
	assert_int_equal(store_requests_read(f->su, out, &error), 0);
	assert_int_equal(out->len, 2);
	assert_string_equal(((struct store_request *)
			     g_ptr_array_index(out, 0))->uid, "old1");
	assert_null(((struct store_request *)g_ptr_array_index(out, 0))->rid);
	assert_string_equal(((struct store_request *)
			     g_ptr_array_index(out, 0))->kind, "request");
	assert_string_equal(((struct store_request *)
			     g_ptr_array_index(out, 1))->rid, "20141127");
	g_free(path);
	g_ptr_array_free(in, TRUE);
	g_ptr_array_free(out, TRUE);
}

static void test_seen_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *error;
	time_t t0 = 1416999600;	/* 20141126T110000Z */
	char *path, *text;

	assert_int_equal(store_seen_check(f->su, "aaaa", &error), 0);
	assert_int_equal(store_seen_add(f->su, "aaaa", t0, &error), 0);
	assert_int_equal(store_seen_check(f->su, "aaaa", &error), 1);
	assert_int_equal(store_seen_check(f->su, "aaa", &error), 0);
	assert_int_equal(store_seen_add(f->su, "bbbb", t0 + 3600, &error), 0);
	/* adding again does not duplicate */
	assert_int_equal(store_seen_add(f->su, "bbbb", t0 + 3600, &error), 0);
	path = g_build_filename(f->user_dir, "seen", NULL);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_string_equal(text, "aaaa\t20141126T110000Z\n"
			    "bbbb\t20141126T120000Z\n");
	g_free(text);
	/* 90 days later the first entry is dropped */
	assert_int_equal(store_seen_add(f->su, "cccc",
					t0 + 90 * 86400 + 1800, &error), 0);
	assert_int_equal(store_seen_check(f->su, "aaaa", &error), 0);
	assert_int_equal(store_seen_check(f->su, "bbbb", &error), 1);
	assert_int_equal(store_seen_check(f->su, "cccc", &error), 1);
	assert_int_equal(store_seen_check(f->su, "a\tb", &error), -1);
	assert_int_equal(store_seen_add(f->su, "", t0, &error), -1);
	g_free(path);
}

/* store_seen_list() gives what copy-store records again elsewhere: every
   entry, oldest first, with its time, outcome and reason. */
static void test_seen_list(void **state)
{
	struct fixture *f = *state;
	GPtrArray *list = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_seen_free);
	time_t t0 = 1416999600;	/* 20141126T110000Z */
	const struct store_seen *e;
	const char *error;

	assert_int_equal(store_seen_list(f->su, list, &error), 0);
	assert_int_equal(list->len, 0);
	assert_int_equal(store_seen_add(f->su, "aaaa", t0, &error), 0);
	assert_int_equal(store_seen_record(f->su, "bbbb", t0 + 60, "added",
					   "stored\tfirst", &error), 0);
	assert_int_equal(store_seen_list(f->su, list, &error), 0);
	assert_int_equal(list->len, 2);
	e = g_ptr_array_index(list, 0);
	assert_string_equal(e->digest, "aaaa");
	assert_int_equal(e->processed, t0);
	assert_null(e->outcome);
	assert_null(e->reason);
	e = g_ptr_array_index(list, 1);
	assert_string_equal(e->digest, "bbbb");
	assert_int_equal(e->processed, t0 + 60);
	assert_string_equal(e->outcome, "added");
	assert_string_equal(e->reason, "stored\tfirst");
	g_ptr_array_set_size(list, 0);

	/* copy-store --replace forgets them all */
	assert_int_equal(store_seen_clear(f->su, &error), 0);
	assert_int_equal(store_seen_check(f->su, "bbbb", &error), 0);
	assert_int_equal(store_seen_list(f->su, list, &error), 0);
	assert_int_equal(list->len, 0);
	assert_int_equal(store_seen_clear(f->su, &error), 0);
	g_ptr_array_free(list, TRUE);
}

static void test_counters(void **state)
{
	struct fixture *f = *state;
	GPtrArray *list = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_counter_free);
	char *long_uid = g_strnfill(400, 'c');
	char *long_text = event_text(long_uid, "counter");
	struct store_counter c1 = { "ev", NULL, "harvey.horse@example.com",
				    "counter1" };
	struct store_counter c2 = { "ev", NULL, "vincent.vole@example.com",
				    "counter2" };
	struct store_counter c3 = { "ev", "20141127T150000Z",
				    "harvey.horse@example.com", "counter3" };
	struct store_counter c4 = { long_uid, "20141128",
				    "harvey.horse@example.com", long_text };
	const char *error;

	assert_int_equal(store_counter_put(f->su, &c1, &error), 0);
	assert_int_equal(store_counter_put(f->su, &c2, &error), 0);
	assert_int_equal(store_counter_put(f->su, &c3, &error), 0);
	assert_int_equal(store_counter_put(f->su, &c4, &error), 0);
	assert_true(path_exists(f->user_dir, "counters/objects/ev",
				"harvey.horse@example.com"));
	assert_true(path_exists(f->user_dir,
				"counters/recurrences/ev/20141127T150000Z",
				"harvey.horse@example.com"));
	assert_int_equal(store_counter_list(f->su, list, &error), 0);
	assert_int_equal(list->len, 4);
	{
		struct store_counter *a = g_ptr_array_index(list, 0);
		struct store_counter *b = g_ptr_array_index(list, 1);
		struct store_counter *c = g_ptr_array_index(list, 2);
		struct store_counter *d = g_ptr_array_index(list, 3);

		assert_string_equal(a->uid, "ev");
		assert_null(a->rid);
		assert_string_equal(a->attendee, "harvey.horse@example.com");
		assert_string_equal(a->text, "counter1");
		assert_string_equal(b->attendee, "vincent.vole@example.com");
		/* the hashed UID is recovered from the COUNTER's text */
		if (strcmp(c->uid, "ev") == 0) {
			struct store_counter *t = c;
			c = d;
			d = t;
		}
		assert_string_equal(c->uid, long_uid);
		assert_string_equal(c->rid, "20141128");
		assert_string_equal(d->rid, "20141127T150000Z");
		assert_string_equal(d->text, "counter3");
	}
	assert_int_equal(store_counter_delete(f->su, "ev", NULL,
					      "harvey.horse@example.com",
					      &error), 1);
	assert_int_equal(store_counter_delete(f->su, "ev", NULL,
					      "harvey.horse@example.com",
					      &error), 0);
	assert_int_equal(store_counter_delete(f->su, "ev", "20141127T150000Z",
					      NULL, &error), 1);
	assert_false(path_exists(f->user_dir, "counters/recurrences", "ev"));
	assert_int_equal(store_counter_delete(f->su, "ev", NULL, NULL,
					      &error), 1);
	assert_false(path_exists(f->user_dir, "counters/objects", "ev"));
	g_ptr_array_set_size(list, 0);
	assert_int_equal(store_counter_list(f->su, list, &error), 0);
	assert_int_equal(list->len, 1);
	g_ptr_array_free(list, TRUE);
	g_free(long_uid);
	g_free(long_text);
}

static struct fb_list *fb_of(const char *text)
{
	struct fb_list *l = fb_list_new();

	fb_list_parse(l, text, NULL);
	return l;
}

static void test_freebusy_tables(void **state)
{
	struct fixture *f = *state;
	static const char own[] = "20141126T150000Z\t20141126T160000Z\t"
		"event1\tOPAQUE\t\tMeeting\tpaul.boddie@example.com\n";
	struct fb_list *in = fb_of(own), *out = fb_of("stale line\n");
	GString *s;
	GPtrArray *others = strings();
	const char *error;
	char *path, *text;

	/* a missing table reads as empty (and replaces the list) */
	assert_int_equal(store_fb_read(f->su, STORE_FB_OWN, NULL, out, &error),
			 0);
	assert_int_equal(out->periods->len, 0);
	assert_int_equal(store_fb_write(f->su, STORE_FB_OWN, NULL, in, &error),
			 0);
	/* docs/store.md 3.3: a month file and the UID's index line */
	path = g_build_filename(f->user_dir, "freebusy", "2014-11", NULL);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_string_equal(text, own);
	g_free(text);
	g_free(path);
	path = g_build_filename(f->user_dir, "freebusy", "uids", FB_SHARD_EVENT1,
				NULL);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_string_equal(text, "event1\t2014-11\n");
	g_free(text);
	g_free(path);
	assert_int_equal(store_fb_read(f->su, STORE_FB_OWN, NULL, out, &error),
			 0);
	s = fb_list_format(out);
	assert_string_equal(s->str, own);
	g_string_free(s, TRUE);

	assert_int_equal(store_fb_write(f->su, STORE_FB_OTHER,
					"paul.boddie@example.com", in, &error),
			 0);
	assert_int_equal(store_fb_write(f->su, STORE_FB_OTHER, "../evil", in,
					&error), 0);
	assert_int_equal(store_fb_write(f->su, STORE_FB_OFFERS, NULL, in,
					&error), 0);
	assert_true(path_exists(f->user_dir, "freebusy-other",
				"paul.boddie@example.com"));
	assert_true(path_exists(f->user_dir, "freebusy-offers", NULL));
	assert_int_equal(store_fb_list_others(f->su, others, &error), 0);
	assert_int_equal(others->len, 2);
	assert_string_equal(g_ptr_array_index(others, 0), "../evil");
	assert_string_equal(g_ptr_array_index(others, 1),
			    "paul.boddie@example.com");
	/* table and other party must agree */
	assert_int_equal(store_fb_read(f->su, STORE_FB_OTHER, NULL, out,
				       &error), -1);
	assert_non_null(error);
	assert_int_equal(store_fb_write(f->su, STORE_FB_OWN, "x", in, &error),
			 -1);
	g_ptr_array_free(others, TRUE);
	fb_list_free(&in);
	fb_list_free(&out);
}

static void test_preferences_and_static(void **state)
{
	struct fixture *f = *state;
	GPtrArray *names = strings();
	const char *error;
	char *value, *path, *text;

	assert_int_equal(store_pref_get(f->su, "CN", &value, &error), 0);
	assert_null(value);
	assert_int_equal(store_pref_set(f->su, "CN", "Vincent Vole", &error),
			 0);
	assert_int_equal(store_pref_set(f->su, "acl", "reject\naccept x",
					&error), 0);
	path = g_build_filename(f->config->preferences_dir, USER, "CN", NULL);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_string_equal(text, "Vincent Vole\n");
	g_free(text);
	g_free(path);
	assert_int_equal(store_pref_get(f->su, "CN", &value, &error), 1);
	assert_string_equal(value, "Vincent Vole");
	g_free(value);
	assert_int_equal(store_pref_get(f->su, "acl", &value, &error), 1);
	assert_string_equal(value, "reject\naccept x");
	g_free(value);
	assert_int_equal(store_pref_list(f->su, names, &error), 0);
	assert_int_equal(names->len, 2);
	assert_string_equal(g_ptr_array_index(names, 0), "CN");
	assert_string_equal(g_ptr_array_index(names, 1), "acl");
	assert_int_equal(store_pref_unset(f->su, "CN", &error), 1);
	assert_int_equal(store_pref_unset(f->su, "CN", &error), 0);
	assert_int_equal(store_pref_get(f->su, "CN", &value, &error), 0);
	assert_int_equal(store_pref_set(f->su, "../../x", "v", &error), 0);
	assert_false(path_exists(f->root, "x", NULL));

	/* within a session a preference is read once (store.c's cache):
	   the file changed behind the session's back is not seen, a set
	   through the session is */
	assert_int_equal(store_pref_get(f->su, "acl", &value, &error), 1);
	g_free(value);
	path = g_build_filename(f->config->preferences_dir, USER, "acl", NULL);
	assert_true(g_file_set_contents(path, "changed\n", -1, NULL));
	assert_int_equal(store_pref_get(f->su, "acl", &value, &error), 1);
	assert_string_equal(value, "reject\naccept x");
	g_free(value);
	assert_int_equal(store_pref_set(f->su, "acl", "accept", &error), 0);
	assert_int_equal(store_pref_get(f->su, "acl", &value, &error), 1);
	assert_string_equal(value, "accept");
	g_free(value);
	assert_int_equal(store_pref_unset(f->su, "acl", &error), 1);
	assert_int_equal(store_pref_get(f->su, "acl", &value, &error), 0);
	assert_null(value);
	g_free(path);

	assert_int_equal(store_static_read(f->su, &text, &error), 0);
	assert_null(text);
	assert_int_equal(store_static_write(f->su, "BEGIN:VCALENDAR\r\n",
					    &error), 0);
	assert_true(path_exists(f->config->static_dir, USER, "freebusy"));
	assert_int_equal(store_static_read(f->su, &text, &error), 1);
	assert_string_equal(text, "BEGIN:VCALENDAR\r\n");
	g_free(text);
	assert_int_equal(store_static_write(f->su, NULL, &error), 0);
	assert_false(path_exists(f->config->static_dir, USER, "freebusy"));
	assert_int_equal(store_static_read(f->su, &text, &error), 0);
	assert_int_equal(store_static_write(f->su, NULL, &error), 0);
	g_ptr_array_free(names, TRUE);
}

static void test_users_and_modes(void **state)
{
	struct fixture *f = *state;
	GPtrArray *users = strings();
	struct store_user *other = NULL, *ro = NULL;
	char *error = NULL;
	const char *err;
	char *long_user = g_strnfill(300, 'z');
	char *value;

	/* no store, no creation: 0 and nothing created */
	assert_int_equal(store_user_open(f->store, "harvey.horse@example.com",
					 0, &other, &error), 0);
	assert_null(other);
	assert_false(path_exists(f->config->store_dir,
				 "harvey.horse@example.com", NULL));
	assert_int_equal(store_user_open(f->store, "harvey.horse@example.com",
					 STORE_OPEN_READONLY, &other, &error),
			 0);
	assert_int_equal(store_user_open(f->store, "harvey.horse@example.com",
					 STORE_OPEN_CREATE, &other, &error),
			 1);
	store_user_close(&other);
	assert_null(other);
	assert_int_equal(store_user_open(f->store, long_user,
					 STORE_OPEN_CREATE, &other, &error),
			 -1);
	assert_non_null(strstr(error, "too long"));
	g_free(error);
	error = NULL;

	assert_int_equal(store_list_users(f->store, users, &error), 0);
	assert_int_equal(users->len, 2);
	assert_string_equal(g_ptr_array_index(users, 0),
			    "harvey.horse@example.com");
	assert_string_equal(g_ptr_array_index(users, 1), USER);

	/* read-only sessions refuse writes, with a reason */
	store_user_close(&f->su);
	assert_int_equal(store_user_open(f->store, USER, STORE_OPEN_READONLY,
					 &ro, &error), 1);
	assert_int_equal(store_pref_set(ro, "CN", "x", &err), -1);
	assert_non_null(strstr(err, "read-only"));
	assert_int_equal(store_object_put(ro, "u", NULL, STORE_STATE_ACTIVE,
					  "x", &err), -1);
	assert_int_equal(store_pref_get(ro, "CN", &value, &err), 0);
	store_user_close(&ro);
	g_ptr_array_free(users, TRUE);
	g_free(long_user);
}

static void test_errors_name_the_path(void **state)
{
	struct fixture *f = *state;
	char *blocker = g_build_filename(f->user_dir, "objects", NULL);
	const char *error = NULL;

	/* a file where the objects directory should be */
	assert_true(g_file_set_contents(blocker, "", 0, NULL));
	assert_int_equal(store_object_put(f->su, "u", NULL, STORE_STATE_ACTIVE,
					  "x", &error), -1);
	assert_non_null(error);
	if (strstr(error, blocker) == NULL)
		fail_msg("error does not name the path: %s", error);
	g_free(blocker);
}

/* A forked child shares the parent's open lock description (flock(2)
   locks belong to it, not to the process), so a child standing for
   "another delivery" must not keep the parent's descriptors. */
static void close_inherited_fds(int keep)
{
	for (int fd = 3; fd < 1024; fd++) {
		if (fd != keep)
			close(fd);
	}
}

/* A second process blocks in store_user_open() until the first closes. */
static void test_lock_serialises_processes(void **state)
{
	struct fixture *f = *state;
	struct pollfd pfd;
	int fds[2], status;
	pid_t pid;
	char c;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s = NULL;
		struct store_user *su = NULL;
		char *error = NULL;

		close_inherited_fds(fds[1]);
		if (store_open(f->config, &s, &error) < 0 ||
		    store_user_open(s, USER, 0, &su, &error) != 1)
			_exit(2);
		(void)!write(fds[1], "L", 1);
		store_user_close(&su);
		store_close(&s);
		_exit(0);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	/* held by us: the child must still be waiting */
	assert_int_equal(poll(&pfd, 1, 500), 0);
	store_user_close(&f->su);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 'L');
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fds[0]);
}

/* Readers share the lock; a writer waits for them. */
static void test_shared_lock_for_readers(void **state)
{
	struct fixture *f = *state;
	struct store_user *ro = NULL;
	struct pollfd pfd;
	char *error = NULL;
	int fds[2], status;
	pid_t pid;

	store_user_close(&f->su);
	assert_int_equal(store_user_open(f->store, USER, STORE_OPEN_READONLY,
					 &ro, &error), 1);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s = NULL;
		struct store_user *su = NULL;

		close_inherited_fds(fds[1]);
		if (store_open(f->config, &s, &error) < 0 ||
		    store_user_open(s, USER, STORE_OPEN_READONLY, &su,
				    &error) != 1)
			_exit(2);
		(void)!write(fds[1], "R", 1);
		store_user_close(&su);
		if (store_user_open(s, USER, 0, &su, &error) != 1)
			_exit(3);
		(void)!write(fds[1], "W", 1);
		store_user_close(&su);
		store_close(&s);
		_exit(0);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 10000), 1);	/* reader got in */
	{
		char c;

		assert_int_equal(read(fds[0], &c, 1), 1);
		assert_int_equal(c, 'R');
	}
	assert_int_equal(poll(&pfd, 1, 500), 0);	/* writer waits */
	store_user_close(&ro);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fds[0]);
}

static char *touch(const char *dir, const char *name)
{
	char *path = g_build_filename(dir, name, NULL);

	assert_int_equal(g_mkdir_with_parents(dir, 0770), 0);
	assert_true(g_file_set_contents(path, "half", -1, NULL));
	return path;
}

/* A writer killed between creating a temporary file and renaming it
   leaves the file; the byte it kept in the lock tells the next writer,
   which removes every such file of the user (store, preferences, static)
   and nothing else. */
static void test_killed_writer_temporaries(void **state)
{
	struct fixture *f = *state;
	char *prefs = g_build_filename(f->config->preferences_dir, USER, NULL);
	char *stat_dir = g_build_filename(f->config->static_dir, USER, NULL);
	char *objects = g_build_filename(f->user_dir, "objects", NULL);
	char *lock = g_build_filename(f->user_dir, ".lock", NULL);
	char *temps[4], *other, *error = NULL;
	const char *err;
	unsigned int removed = 0;
	struct stat st;

	assert_false(store_user_interrupted(f->su));
	store_user_close(&f->su);
	assert_int_equal(stat(lock, &st), 0);
	assert_int_equal(st.st_size, 0);	/* a session that ended */
	temps[0] = touch(f->user_dir, ".tmp.Ab12Cd");
	temps[1] = touch(objects, ".tmp.Ef34Gh");
	temps[2] = touch(prefs, ".tmp.Ij56Kl");
	temps[3] = touch(stat_dir, ".tmp.Mn78Op");
	other = touch(objects, ".tmp.not-one-of-ours");
	/* no writer was killed: nothing looked for */
	assert_int_equal(store_user_open(f->store, USER, 0, &f->su, &error), 1);
	assert_false(store_user_interrupted(f->su));
	assert_true(g_file_test(temps[1], G_FILE_TEST_EXISTS));
	/* killed: its byte is still in the lock file */
	assert_int_equal(stat(lock, &st), 0);
	assert_int_equal(st.st_size, 1);
	store_user_close(&f->su);
	assert_true(g_file_set_contents(lock, "w", 1, NULL));
	/* a reader changes nothing */
	assert_int_equal(store_user_open(f->store, USER, STORE_OPEN_READONLY,
					 &f->su, &error), 1);
	assert_false(store_user_interrupted(f->su));
	assert_int_equal(store_user_remove_temporaries(f->su, &removed, &err), -1);
	store_user_close(&f->su);
	assert_true(g_file_test(temps[0], G_FILE_TEST_EXISTS));
	/* the next writer cleans up */
	assert_int_equal(store_user_open(f->store, USER, 0, &f->su, &error), 1);
	assert_true(store_user_interrupted(f->su));
	for (unsigned int i = 0; i < G_N_ELEMENTS(temps); i++) {
		assert_false(g_file_test(temps[i], G_FILE_TEST_EXISTS));
		g_free(temps[i]);
	}
	assert_true(g_file_test(other, G_FILE_TEST_EXISTS));
	/* imip-admin rebuild's sweep, whatever the lock file says */
	temps[0] = touch(objects, ".tmp.Qr90St");
	assert_int_equal(store_user_remove_temporaries(f->su, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_false(g_file_test(temps[0], G_FILE_TEST_EXISTS));
	g_free(temps[0]);
	g_free(other);
	g_free(lock);
	g_free(objects);
	g_free(stat_dir);
	g_free(prefs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_object_round_trip),
		T(test_file_mode_honours_umask),
		T(test_hostile_uids),
		T(test_hostile_rids_and_limits),
		T(test_cancel_active_exclusive),
		T(test_requests_round_trip),
		T(test_seen_round_trip),
		T(test_seen_list),
		T(test_counters),
		T(test_freebusy_tables),
		T(test_preferences_and_static),
		T(test_users_and_modes),
		T(test_errors_name_the_path),
		T(test_lock_serialises_processes),
		T(test_shared_lock_for_readers),
		T(test_killed_writer_temporaries),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
