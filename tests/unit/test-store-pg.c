/* The PostgreSQL store (store-pg.c) against a real server: the same
   round trips as the file store's test (objects in both states, sorted
   lists, counters, the request list, preferences, seen with its
   outcome, the outbox's bytes), hostile UIDs as data, and what only a
   database has: a session's changes are one transaction (a reader sees
   none of a writer's uncommitted changes; store_user_commit() keeps
   them; a failed statement loses the transaction and the commit says
   so), the writer's advisory lock (a second writer on another
   connection waits for the first to close), and the connection pool (a
   connection the server ended is not used again).

   Needs IMIP_TEST_PG_CONNINFO: a database that `imip-admin db-upgrade`
   has brought to the current schema; its users are deleted by every
   test.  tests/integration/postgresql-store.sh runs it against a
   private server.  Not in the meson suite "unit" for that reason. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <glib.h>

#include "test-tmp.h"
#include "config.h"
#include "pg-conn.h"
#include "store.h"
#include "store-pg.h"

#define USER "vincent.vole@example.com"

static const char *conninfo;

struct fixture {
	char *root;
	struct imip_config *config;
	struct store *store;
	struct store_user *su;	/* USER, a writer */
};

/* A connection of the test's own, beside the store's. */
static struct pg_conn *admin_conn(void)
{
	struct pg_conn *conn = NULL;
	char *error = NULL;

	if (pg_conn_open(conninfo, &conn, &error) < 0)
		fail_msg("connect: %s", error);
	return conn;
}

static void admin_sql(const char *sql)
{
	struct pg_conn *conn = admin_conn();
	char *error = NULL;

	if (pg_conn_exec_script(conn, sql, &error) < 0)
		fail_msg("%s: %s", sql, error);
	pg_conn_close(&conn);
}

/* The first value of a query's first row, or NULL when no row. */
static char *admin_value(const char *sql, const char *param)
{
	struct pg_conn *conn = admin_conn();
	const char *params[] = { param };
	char *error = NULL, *value = NULL;
	PGresult *res;

	if (pg_conn_exec(conn, sql, param != NULL ? 1 : 0, params, &res,
			 &error) < 0)
		fail_msg("%s: %s", sql, error);
	if (PQntuples(res) > 0)
		value = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	pg_conn_close(&conn);
	return value;
}

static struct store *open_store(const struct imip_config *config)
{
	struct store *store = NULL;
	char *error = NULL;

	if (store_open(config, &store, &error) < 0)
		fail_msg("store_open: %s", error);
	return store;
}

static struct store_user *open_user(struct store *store, const char *user,
				    enum store_open_flags flags)
{
	struct store_user *su = NULL;
	char *error = NULL;
	int r = store_user_open(store, user, flags, &su, &error);

	if (r != 1)
		fail_msg("store_user_open(%s): %d %s", user, r,
			 error != NULL ? error : "");
	return su;
}

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);

	admin_sql("DELETE FROM users");
	f->config = test_tmp_config("test-store-pg", &f->root);
	f->config->store_backend = IMIP_STORE_BACKEND_POSTGRESQL;
	f->config->store_conninfo = g_strdup(conninfo);
	f->store = open_store(f->config);
	f->su = open_user(f->store, USER, STORE_OPEN_CREATE);
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

static GPtrArray *strings(void)
{
	return g_ptr_array_new_with_free_func(g_free);
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void assert_strings(const GPtrArray *got, const char *const *want,
			   unsigned int n)
{
	assert_int_equal(got->len, n);
	for (unsigned int i = 0; i < n; i++)
		assert_string_equal(g_ptr_array_index(got, i), want[i]);
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

/* --- sessions ------------------------------------------------------------ */

static void test_open_missing_user(void **state)
{
	struct fixture *f = *state;
	struct store_user *su = NULL;
	char *error = NULL, *id;
	GPtrArray *users = strings();

	assert_int_equal(store_user_open(f->store, "nobody@example.com", 0,
					 &su, &error), 0);
	assert_null(su);
	assert_int_equal(store_user_open(f->store, "nobody@example.com",
					 STORE_OPEN_READONLY, &su, &error), 0);
	assert_null(error);
	/* nothing was created by looking */
	assert_null(admin_value("SELECT id FROM users WHERE address = $1",
				"nobody@example.com"));
	/* the writer of the fixture created its user; not committed yet,
	   so another connection does not see it */
	assert_null(admin_value("SELECT id FROM users WHERE address = $1",
				USER));
	assert_int_equal(store_user_commit(f->su, NULL), 0);
	id = admin_value("SELECT id FROM users WHERE address = $1", USER);
	assert_non_null(id);
	g_free(id);
	/* a second CREATE of an existing user is the same user */
	su = open_user(f->store, "a@example.com", STORE_OPEN_CREATE);
	store_user_close(&su);
	su = open_user(f->store, "a@example.com", STORE_OPEN_CREATE);
	store_user_close(&su);
	assert_int_equal(store_list_users(f->store, users, &error), 0);
	assert_int_equal(users->len, 2);
	assert_string_equal(g_ptr_array_index(users, 0), "a@example.com");
	assert_string_equal(g_ptr_array_index(users, 1), USER);
	assert_false(store_user_interrupted(f->su));
	g_ptr_array_free(users, TRUE);
}

static void test_remove_temporaries_is_nothing(void **state)
{
	struct fixture *f = *state;
	unsigned int removed = 0;
	const char *error;

	assert_int_equal(store_user_remove_temporaries(f->su, &removed,
						       &error), 0);
	assert_int_equal(removed, 0);
}

/* --- calendar objects ---------------------------------------------------- */

static void test_objects_states(void **state)
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

	/* an override, then cancelled: in one state at a time */
	assert_int_equal(store_object_put(f->su, "event1@example.com",
					  "20141127T150000Z",
					  STORE_STATE_ACTIVE, "override",
					  &error), 0);
	assert_int_equal(store_object_put(f->su, "event1@example.com",
					  "20141127T150000Z",
					  STORE_STATE_CANCELLED, "cancelled",
					  &error), 0);
	assert_int_equal(store_object_get(f->su, "event1@example.com",
					  "20141127T150000Z", &st, &got,
					  &error), 1);
	assert_int_equal(st, STORE_STATE_CANCELLED);
	assert_string_equal(got, "cancelled");
	g_free(got);
	assert_int_equal(store_object_list_rids(f->su, "event1@example.com",
						STORE_STATE_ACTIVE, list,
						&error), 0);
	assert_int_equal(list->len, 0);
	assert_int_equal(store_object_list_rids(f->su, "event1@example.com",
						STORE_STATE_CANCELLED, list,
						&error), 0);
	assert_strings(list, (const char *[]){ "20141127T150000Z" }, 1);
	g_ptr_array_set_size(list, 0);
	/* and back: active again, cancelled no more */
	assert_int_equal(store_object_put(f->su, "event1@example.com",
					  "20141127T150000Z",
					  STORE_STATE_ACTIVE, "again", &error), 0);
	assert_int_equal(store_object_list_rids(f->su, "event1@example.com",
						STORE_STATE_CANCELLED, list,
						&error), 0);
	assert_int_equal(list->len, 0);

	/* the master is not an rid */
	assert_int_equal(store_object_list_uids(f->su, list, &error), 0);
	assert_strings(list, (const char *[]){ "event1@example.com" }, 1);
	g_ptr_array_set_size(list, 0);

	assert_int_equal(store_object_delete(f->su, "event1@example.com",
					     "20141127T150000Z", &error), 1);
	assert_int_equal(store_object_delete(f->su, "event1@example.com",
					     "20141127T150000Z", &error), 0);
	assert_int_equal(store_object_delete(f->su, "event1@example.com",
					     NULL, &error), 1);
	assert_int_equal(store_object_list_uids(f->su, list, &error), 0);
	assert_int_equal(list->len, 0);
	/* a UID only cancelled is still listed */
	assert_int_equal(store_object_put(f->su, "gone@example.com", NULL,
					  STORE_STATE_CANCELLED, text,
					  &error), 0);
	assert_int_equal(store_object_list_uids(f->su, list, &error), 0);
	assert_strings(list, (const char *[]){ "gone@example.com" }, 1);
	g_ptr_array_free(list, TRUE);
	g_free(text);
}

/* Byte order, as the file store's strcmp(), whatever the database's
   collation would say (upper case before lower, UTF-8 last). */
static void test_lists_sorted_in_byte_order(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
		"b", "B", "a", "\xc3\xa9t\xc3\xa9", "Z", "_x", "a b", "10", "9",
		"A",
	};
	static const char *const rids[] = {
		"20141201T100000Z", "20141127", "20141127T090000Z",
		"20141126T150000",
	};
	GPtrArray *want = strings(), *got = strings();
	const char *error;

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		assert_int_equal(store_object_put(f->su, names[i], NULL,
						  STORE_STATE_ACTIVE, "x",
						  &error), 0);
		g_ptr_array_add(want, g_strdup(names[i]));
	}
	/* one UID with overrides only: listed once */
	for (size_t i = 0; i < G_N_ELEMENTS(rids); i++)
		assert_int_equal(store_object_put(f->su, "b", rids[i],
						  STORE_STATE_ACTIVE, "x",
						  &error), 0);
	g_ptr_array_sort(want, compare_strings);
	assert_int_equal(store_object_list_uids(f->su, got, &error), 0);
	assert_strings(got, (const char *const *)want->pdata, want->len);

	g_ptr_array_set_size(want, 0);
	g_ptr_array_set_size(got, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(rids); i++)
		g_ptr_array_add(want, g_strdup(rids[i]));
	g_ptr_array_sort(want, compare_strings);
	assert_int_equal(store_object_list_rids(f->su, "b", STORE_STATE_ACTIVE,
						got, &error), 0);
	assert_strings(got, (const char *const *)want->pdata, want->len);

	/* preferences too */
	g_ptr_array_set_size(got, 0);
	assert_int_equal(store_pref_set(f->su, "participating", "no",
					&error), 0);
	assert_int_equal(store_pref_set(f->su, "TZID", "Europe/Oslo",
					&error), 0);
	assert_int_equal(store_pref_set(f->su, "LANG", "de", &error), 0);
	assert_int_equal(store_pref_list(f->su, got, &error), 0);
	assert_strings(got, (const char *[]){ "LANG", "TZID",
					      "participating" }, 3);
	g_ptr_array_free(want, TRUE);
	g_ptr_array_free(got, TRUE);
}

/* --- counters, requests, preferences ------------------------------------- */

static void test_counters(void **state)
{
	struct fixture *f = *state;
	struct store_counter c1 = {
		"ev@example.com", NULL, "a@example.com", "COUNTER 1",
	};
	struct store_counter c2 = {
		"ev@example.com", "20141127T150000Z", "b@example.com",
		"COUNTER 2",
	};
	struct store_counter c3 = {
		"ev@example.com", NULL, "b@example.com", "COUNTER 3",
	};
	struct store_counter c1b = {
		"ev@example.com", NULL, "a@example.com", "COUNTER 1 again",
	};
	GPtrArray *list = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_counter_free);
	const struct store_counter *c;
	const char *error;

	assert_int_equal(store_counter_put(f->su, &c2, &error), 0);
	assert_int_equal(store_counter_put(f->su, &c3, &error), 0);
	assert_int_equal(store_counter_put(f->su, &c1, &error), 0);
	/* a later COUNTER of the same attendee replaces the first */
	assert_int_equal(store_counter_put(f->su, &c1b, &error), 0);
	assert_int_equal(store_counter_list(f->su, list, &error), 0);
	assert_int_equal(list->len, 3);
	/* the master's first (by attendee), then the instance's */
	c = g_ptr_array_index(list, 0);
	assert_null(c->rid);
	assert_string_equal(c->attendee, "a@example.com");
	assert_string_equal(c->text, "COUNTER 1 again");
	c = g_ptr_array_index(list, 1);
	assert_null(c->rid);
	assert_string_equal(c->attendee, "b@example.com");
	c = g_ptr_array_index(list, 2);
	assert_string_equal(c->rid, "20141127T150000Z");
	assert_string_equal(c->uid, "ev@example.com");
	assert_string_equal(c->text, "COUNTER 2");
	g_ptr_array_set_size(list, 0);

	assert_int_equal(store_counter_delete(f->su, "ev@example.com", NULL,
					      "a@example.com", &error), 1);
	assert_int_equal(store_counter_delete(f->su, "ev@example.com", NULL,
					      "a@example.com", &error), 0);
	/* every attendee's of the master; the instance's stay */
	assert_int_equal(store_counter_delete(f->su, "ev@example.com", NULL,
					      NULL, &error), 1);
	assert_int_equal(store_counter_list(f->su, list, &error), 0);
	assert_int_equal(list->len, 1);
	g_ptr_array_free(list, TRUE);
}

static struct store_request *request(const char *uid, const char *rid,
				     const char *kind)
{
	struct store_request *r = g_new0(struct store_request, 1);

	r->uid = g_strdup(uid);
	r->rid = g_strdup(rid);
	r->kind = g_strdup(kind);
	return r;
}

static void test_requests_keep_order(void **state)
{
	struct fixture *f = *state;
	GPtrArray *in = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_request_free);
	GPtrArray *out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_request_free);
	const struct store_request *r;
	const char *error;

	assert_int_equal(store_requests_read(f->su, out, &error), 0);
	assert_int_equal(out->len, 0);
	/* not sorted, and one (uid, rid) twice with two kinds */
	g_ptr_array_add(in, request("zz@example.com", NULL, "request"));
	g_ptr_array_add(in, request("aa@example.com", "20141127", "counter"));
	g_ptr_array_add(in, request("aa@example.com", "20141127", "request"));
	g_ptr_array_add(in, request("mm@example.com", NULL, "refresh"));
	assert_int_equal(store_requests_write(f->su, in, &error), 0);
	assert_int_equal(store_requests_read(f->su, out, &error), 0);
	assert_int_equal(out->len, 4);
	for (unsigned int i = 0; i < in->len; i++) {
		const struct store_request *a = g_ptr_array_index(in, i);

		r = g_ptr_array_index(out, i);
		assert_string_equal(r->uid, a->uid);
		assert_true(g_strcmp0(r->rid, a->rid) == 0);
		assert_string_equal(r->kind, a->kind);
	}
	/* written whole: a shorter list replaces it */
	g_ptr_array_remove_range(in, 0, 3);
	g_ptr_array_set_size(out, 0);
	assert_int_equal(store_requests_write(f->su, in, &error), 0);
	assert_int_equal(store_requests_read(f->su, out, &error), 0);
	assert_int_equal(out->len, 1);
	r = g_ptr_array_index(out, 0);
	assert_string_equal(r->uid, "mm@example.com");
	assert_null(r->rid);
	g_ptr_array_free(in, TRUE);
	g_ptr_array_free(out, TRUE);
}

static void test_prefs(void **state)
{
	struct fixture *f = *state;
	const char *error;
	char *value = NULL;
	GPtrArray *names = strings();

	assert_int_equal(store_pref_get(f->su, "TZID", &value, &error), 0);
	assert_null(value);
	assert_int_equal(store_pref_set(f->su, "TZID", "Europe/Oslo",
					&error), 0);
	assert_int_equal(store_pref_set(f->su, "TZID", "Europe/Berlin",
					&error), 0);
	assert_int_equal(store_pref_get(f->su, "TZID", &value, &error), 1);
	assert_string_equal(value, "Europe/Berlin");
	g_free(value);
	/* several lines kept as they are */
	assert_int_equal(store_pref_set(f->su, "scheduling_function",
					"schedule_in_freebusy\n"
					"check_quota 'q'\n", &error), 0);
	assert_int_equal(store_pref_get(f->su, "scheduling_function", &value,
					&error), 1);
	assert_string_equal(value, "schedule_in_freebusy\ncheck_quota 'q'\n");
	g_free(value);
	assert_int_equal(store_pref_unset(f->su, "TZID", &error), 1);
	assert_int_equal(store_pref_unset(f->su, "TZID", &error), 0);
	assert_int_equal(store_pref_list(f->su, names, &error), 0);
	assert_strings(names, (const char *[]){ "scheduling_function" }, 1);
	g_ptr_array_free(names, TRUE);
}

/* --- seen, outbox, published free/busy ----------------------------------- */

static void test_seen_with_outcome(void **state)
{
	struct fixture *f = *state;
	const char *error;
	time_t t0 = 1416999600;	/* 20141126T110000Z */
	char *outcome = NULL, *reason = NULL;

	assert_int_equal(store_seen_check(f->su, "aaaa", &error), 0);
	assert_int_equal(store_seen_record(f->su, "aaaa", t0, "added",
					   "event added: it's \"new\"\t\\",
					   &error), 0);
	assert_int_equal(store_seen_get(f->su, "aaaa", &outcome, &reason,
					&error), 1);
	assert_string_equal(outcome, "added");
	assert_string_equal(reason, "event added: it's \"new\"\t\\");
	g_free(outcome);
	g_free(reason);
	/* the same digest again replaces it */
	assert_int_equal(store_seen_record(f->su, "aaaa", t0 + 60, "error",
					   "reply not sent", &error), 0);
	assert_int_equal(store_seen_get(f->su, "aaaa", &outcome, &reason,
					&error), 1);
	assert_string_equal(outcome, "error");
	assert_string_equal(reason, "reply not sent");
	g_free(outcome);
	g_free(reason);
	/* without an outcome: seen, nothing to report */
	assert_int_equal(store_seen_add(f->su, "bbbb", t0 + 3600, &error), 0);
	assert_int_equal(store_seen_get(f->su, "bbbb", &outcome, &reason,
					&error), 1);
	assert_null(outcome);
	assert_null(reason);
	assert_int_equal(store_seen_check(f->su, "aaa", &error), 0);
	/* 90 days after the first, it goes when another is added */
	assert_int_equal(store_seen_add(f->su, "cccc",
					t0 + 60 + 90 * 86400 + 1800, &error),
			 0);
	assert_int_equal(store_seen_check(f->su, "aaaa", &error), 0);
	assert_int_equal(store_seen_check(f->su, "bbbb", &error), 1);
	assert_int_equal(store_seen_check(f->su, "cccc", &error), 1);
	/* copy-store --replace forgets them all */
	assert_int_equal(store_seen_clear(f->su, &error), 0);
	assert_int_equal(store_seen_check(f->su, "bbbb", &error), 0);
	assert_int_equal(store_seen_check(f->su, "cccc", &error), 0);
	assert_int_equal(store_seen_check(f->su, "a\tb", &error), -1);
}

static void test_outbox_binary(void **state)
{
	struct fixture *f = *state;
	/* NUL bytes, high bytes, CRLF: an entry is bytes */
	static const char data[] = "To: x\r\n\0\xff\xfe\x01 body\0end";
	const size_t len = sizeof(data);	/* with the final NUL */
	const char *error;
	char *got = NULL;
	size_t got_len = 0;
	GPtrArray *names = strings();

	assert_int_equal(store_outbox_get(f->su, STORE_OUTBOX_QUEUED, "ab01",
					  &got, &got_len, &error), 0);
	assert_int_equal(store_outbox_put(f->su, STORE_OUTBOX_QUEUED, "ab01",
					  data, len, &error), 0);
	assert_int_equal(store_outbox_put(f->su, STORE_OUTBOX_QUEUED, "0f",
					  "", 0, &error), 0);
	assert_int_equal(store_outbox_put(f->su, STORE_OUTBOX_FAILED, "ab01",
					  "failed", 6, &error), 0);
	assert_int_equal(store_outbox_get(f->su, STORE_OUTBOX_QUEUED, "ab01",
					  &got, &got_len, &error), 1);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	g_free(got);
	assert_int_equal(store_outbox_get(f->su, STORE_OUTBOX_QUEUED, "0f",
					  &got, &got_len, &error), 1);
	assert_int_equal(got_len, 0);
	assert_string_equal(got, "");
	g_free(got);
	/* replaced in place */
	assert_int_equal(store_outbox_put(f->su, STORE_OUTBOX_QUEUED, "0f",
					  "x\0y", 3, &error), 0);
	assert_int_equal(store_outbox_get(f->su, STORE_OUTBOX_QUEUED, "0f",
					  &got, &got_len, &error), 1);
	assert_int_equal(got_len, 3);
	assert_memory_equal(got, "x\0y", 3);
	g_free(got);
	assert_int_equal(store_outbox_list(f->su, STORE_OUTBOX_QUEUED, names,
					   &error), 0);
	assert_strings(names, (const char *[]){ "0f", "ab01" }, 2);
	g_ptr_array_set_size(names, 0);
	assert_int_equal(store_outbox_list(f->su, STORE_OUTBOX_FAILED, names,
					   &error), 0);
	assert_strings(names, (const char *[]){ "ab01" }, 1);
	assert_int_equal(store_outbox_remove(f->su, STORE_OUTBOX_QUEUED,
					     "ab01", &error), 1);
	assert_int_equal(store_outbox_remove(f->su, STORE_OUTBOX_QUEUED,
					     "ab01", &error), 0);
	/* the other queue's entry of that name stays */
	assert_int_equal(store_outbox_get(f->su, STORE_OUTBOX_FAILED, "ab01",
					  &got, &got_len, &error), 1);
	assert_string_equal(got, "failed");
	g_free(got);
	g_ptr_array_free(names, TRUE);
}

static void test_static_write_table_and_file(void **state)
{
	struct fixture *f = *state;
	char *path = g_build_filename(f->config->static_dir, USER, "freebusy",
				      NULL);
	const char *error;
	char *text = NULL, *value;

	assert_int_equal(store_static_write(f->su, "BEGIN:VCALENDAR\r\n",
					    &error), 0);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_string_equal(text, "BEGIN:VCALENDAR\r\n");
	g_free(text);
	assert_int_equal(store_user_commit(f->su, &error), 0);
	value = admin_value("SELECT data FROM published_freebusy p "
			    "JOIN users u ON u.id = p.user_id "
			    "WHERE u.address = $1", USER);
	assert_string_equal(value, "BEGIN:VCALENDAR\r\n");
	g_free(value);
	assert_int_equal(store_static_write(f->su, NULL, &error), 0);
	assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	assert_int_equal(store_static_write(f->su, NULL, &error), 0);
	assert_int_equal(store_user_commit(f->su, &error), 0);
	assert_null(admin_value("SELECT data FROM published_freebusy", NULL));
	g_free(path);
}

/* --- transactions -------------------------------------------------------- */

static void test_reader_sees_only_commits(void **state)
{
	struct fixture *f = *state;
	struct store_user *early, *late;
	GPtrArray *uids = strings();
	enum store_state st;
	const char *error;
	char *text = NULL;

	assert_int_equal(store_user_commit(f->su, &error), 0);
	assert_int_equal(store_object_put(f->su, "ev@example.com", NULL,
					  STORE_STATE_ACTIVE, "one", &error),
			 0);
	/* a reader is not held up by the writer, and sees none of its
	   uncommitted changes */
	early = open_user(f->store, USER, STORE_OPEN_READONLY);
	assert_int_equal(store_object_get(early, "ev@example.com", NULL, &st,
					  &text, &error), 0);
	assert_int_equal(store_user_commit(f->su, &error), 0);
	/* after the commit: a new reader sees it; the early one keeps its
	   one consistent state (REPEATABLE READ) */
	late = open_user(f->store, USER, STORE_OPEN_READONLY);
	assert_int_equal(store_object_get(late, "ev@example.com", NULL, &st,
					  &text, &error), 1);
	assert_string_equal(text, "one");
	g_free(text);
	text = NULL;
	assert_int_equal(store_object_list_uids(early, uids, &error), 0);
	assert_int_equal(uids->len, 0);
	g_ptr_array_free(uids, TRUE);
	/* a reader writes nothing, and its commit keeps nothing */
	assert_int_equal(store_object_put(late, "x", NULL, STORE_STATE_ACTIVE,
					  "x", &error), -1);
	assert_int_equal(store_user_commit(late, &error), 0);
	store_user_close(&early);
	store_user_close(&late);
}

static void test_failed_statement_loses_transaction(void **state)
{
	struct fixture *f = *state;
	struct store_user *reader;
	enum store_state st;
	const char *error = NULL;
	char *text = NULL;

	assert_int_equal(store_user_commit(f->su, &error), 0);
	assert_int_equal(store_object_put(f->su, "kept@example.com", NULL,
					  STORE_STATE_ACTIVE, "kept", &error),
			 0);
	assert_int_equal(store_user_commit(f->su, &error), 0);
	assert_int_equal(store_object_put(f->su, "lost@example.com", NULL,
					  STORE_STATE_ACTIVE, "lost", &error),
			 0);
	/* the schema refuses this name: the statement fails, and with it
	   the transaction */
	assert_int_equal(store_pref_set(f->su, "no such-name", "x", &error),
			 -1);
	assert_non_null(strstr(error, "PostgreSQL"));
	/* ... so the later statements fail too, and the commit says so */
	assert_int_equal(store_pref_set(f->su, "TZID", "UTC", &error), -1);
	assert_int_equal(store_user_commit(f->su, &error), -1);
	assert_non_null(strstr(error, "rolled back"));
	/* the session goes on in a new transaction */
	assert_int_equal(store_object_get(f->su, "lost@example.com", NULL,
					  &st, &text, &error), 0);
	assert_int_equal(store_object_put(f->su, "after@example.com", NULL,
					  STORE_STATE_ACTIVE, "after", &error),
			 0);
	/* close keeps a writer's last changes */
	store_user_close(&f->su);
	reader = open_user(f->store, USER, STORE_OPEN_READONLY);
	assert_int_equal(store_object_get(reader, "kept@example.com", NULL,
					  &st, &text, &error), 1);
	g_free(text);
	assert_int_equal(store_object_get(reader, "lost@example.com", NULL,
					  &st, &text, &error), 0);
	assert_int_equal(store_object_get(reader, "after@example.com", NULL,
					  &st, &text, &error), 1);
	g_free(text);
	store_user_close(&reader);
}

/* How long the child waited for the writer's lock, in ms; or -1 when it
   did not get it at all. */
static void lock_child(const struct imip_config *config, int fd)
{
	struct store *store = NULL;
	struct store_user *su = NULL;
	char *error = NULL;
	char c = 'x';

	/* a store of its own: the parent's connections are the parent's */
	if (store_open(config, &store, &error) < 0 ||
	    store_user_open(store, USER, 0, &su, &error) != 1)
		_exit(2);
	/* the parent's uncommitted object is visible once we have the
	   lock: it closed, which committed */
	{
		enum store_state st;
		char *text = NULL;
		const char *e;

		if (store_object_get(su, "locked@example.com", NULL, &st,
				     &text, &e) != 1)
			_exit(3);
	}
	if (write(fd, &c, 1) != 1)
		_exit(4);
	_exit(0);
}

static void test_writers_wait_for_each_other(void **state)
{
	struct fixture *f = *state;
	const char *error;
	struct pollfd pfd;
	int fds[2], status;
	pid_t pid;
	char c;

	/* the user exists for the child */
	assert_int_equal(store_user_commit(f->su, &error), 0);
	assert_int_equal(store_object_put(f->su, "locked@example.com", NULL,
					  STORE_STATE_ACTIVE, "x", &error), 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		lock_child(f->config, fds[1]);
	}
	close(fds[1]);
	/* the child is blocked on the lock while our writer is open */
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 1500), 0);
	/* a commit keeps the lock */
	assert_int_equal(store_user_commit(f->su, &error), 0);
	assert_int_equal(poll(&pfd, 1, 500), 0);
	/* closing releases it */
	store_user_close(&f->su);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* and our next writer gets it back */
	f->su = open_user(f->store, USER, 0);
}

/* --- the connection pool ------------------------------------------------- */

static char *backend_pid(struct store_user *su)
{
	PGresult *res;
	char *error = NULL, *pid;

	if (pg_conn_exec(store_pg_user_of(su)->conn,
			 "SELECT pg_backend_pid()", 0, NULL, &res, &error) < 0)
		fail_msg("%s", error);
	pid = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return pid;
}

static void terminate_backend(const char *pid)
{
	char *done = admin_value("SELECT pg_terminate_backend($1::int)", pid);

	assert_string_equal(done, "t");
	g_free(done);
	/* pg_terminate_backend only signals: wait for the backend to go */
	for (int i = 0; i < 100; i++) {
		char *left = admin_value("SELECT 1 FROM pg_stat_activity "
					 "WHERE pid = $1::int", pid);

		if (left == NULL)
			return;
		g_free(left);
		g_usleep(20000);
	}
	fail_msg("backend %s did not end", pid);
}

static void test_pool_reuses_and_drops(void **state)
{
	struct fixture *f = *state;
	struct store_user *su;
	const char *error;
	char *first, *again, *third;

	/* a session's connection goes back to the pool at close */
	first = backend_pid(f->su);
	store_user_close(&f->su);
	f->su = open_user(f->store, USER, 0);
	again = backend_pid(f->su);
	assert_string_equal(first, again);

	/* one the server ended while in the pool: a fresh one is used */
	store_user_close(&f->su);
	terminate_backend(again);
	f->su = open_user(f->store, USER, 0);
	third = backend_pid(f->su);
	assert_string_not_equal(third, again);

	/* one that broke in a session is not pooled again */
	terminate_backend(third);
	assert_int_equal(store_object_put(f->su, "x", NULL, STORE_STATE_ACTIVE,
					  "x", &error), -1);
	assert_int_equal(store_user_commit(f->su, &error), -1);
	store_user_close(&f->su);
	su = open_user(f->store, USER, STORE_OPEN_READONLY);
	g_free(again);
	again = backend_pid(su);
	assert_string_not_equal(again, third);
	store_user_close(&su);
	f->su = open_user(f->store, USER, 0);
	g_free(first);
	g_free(again);
	g_free(third);
}

static void test_database_down(void **state)
{
	struct fixture *f = *state;
	struct imip_config *config = imip_config_new_defaults();
	struct store *store;
	struct store_user *su = NULL;
	char *error = NULL;

	(void)f;
	config->store_backend = IMIP_STORE_BACKEND_POSTGRESQL;
	config->store_conninfo = g_strdup("host=/nonexistent/imip-test "
					  "dbname=imip password=secret-word");
	/* opening the store connects nothing yet */
	store = open_store(config);
	assert_int_equal(store_user_open(store, USER, STORE_OPEN_CREATE, &su,
					 &error), -1);
	assert_true(g_str_has_prefix(error, "cannot connect to PostgreSQL"));
	assert_null(strstr(error, "secret-word"));
	g_free(error);
	store_close(&store);
	imip_config_free(&config);
}

/* --- hostile values ------------------------------------------------------ */

static void test_hostile_uids_round_trip(void **state)
{
	struct fixture *f = *state;
	GString *long_uid = g_string_new(NULL);
	const char *uids[8];
	GPtrArray *want = strings(), *got = strings();
	GPtrArray *counters = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_counter_free);
	const char *error;
	size_t n = 0;

	/* longer than a btree index entry may be */
	for (int i = 0; g_utf8_strlen(long_uid->str, -1) < 20000; i++)
		g_string_append_printf(long_uid, "%d\xc3\xa9-", i * 7919);
	uids[n++] = "'; DROP TABLE objects; --";
	uids[n++] = "a\\b\"c'd\\\\x00";
	uids[n++] = "\xe2\x80\xae\xf0\x9f\x93\x85 \xef\xbf\xbf\x7f\x01\x1b[0m";
	uids[n++] = "line\r\nbreak\ttab";
	uids[n++] = "%%0123 ../../etc/passwd";
	uids[n++] = "$1 $2 ::text";
	uids[n++] = long_uid->str;
	for (size_t i = 0; i < n; i++) {
		struct store_counter c = {
			(char *)uids[i], (char *)"20141127", (char *)"a@example.com",
			(char *)uids[i],
		};
		char *text = NULL;
		enum store_state st;

		assert_int_equal(store_object_put(f->su, uids[i], NULL,
						  STORE_STATE_ACTIVE, uids[i],
						  &error), 0);
		assert_int_equal(store_object_put(f->su, uids[i], "20141127",
						  STORE_STATE_CANCELLED,
						  uids[i], &error), 0);
		assert_int_equal(store_counter_put(f->su, &c, &error), 0);
		assert_int_equal(store_object_get(f->su, uids[i], NULL, &st,
						  &text, &error), 1);
		assert_string_equal(text, uids[i]);
		g_free(text);
		g_ptr_array_add(want, g_strdup(uids[i]));
	}
	assert_int_equal(store_user_commit(f->su, &error), 0);
	g_ptr_array_sort(want, compare_strings);
	assert_int_equal(store_object_list_uids(f->su, got, &error), 0);
	assert_strings(got, (const char *const *)want->pdata, want->len);
	assert_int_equal(store_counter_list(f->su, counters, &error), 0);
	assert_int_equal(counters->len, n);
	for (size_t i = 0; i < n; i++) {
		const struct store_counter *c = g_ptr_array_index(counters, i);

		assert_string_equal(c->uid, want->pdata[i]);
		assert_string_equal(c->text, want->pdata[i]);
	}
	for (size_t i = 0; i < n; i++) {
		GPtrArray *rids = strings();

		assert_int_equal(store_object_list_rids(f->su, uids[i],
							STORE_STATE_CANCELLED,
							rids, &error), 0);
		assert_strings(rids, (const char *[]){ "20141127" }, 1);
		g_ptr_array_free(rids, TRUE);
		assert_int_equal(store_object_delete(f->su, uids[i], NULL,
						     &error), 1);
	}
	/* the tables are still there */
	g_ptr_array_set_size(got, 0);
	assert_int_equal(store_object_list_uids(f->su, got, &error), 0);
	assert_int_equal(got->len, n);
	g_string_free(long_uid, TRUE);
	g_ptr_array_free(want, TRUE);
	g_ptr_array_free(got, TRUE);
	g_ptr_array_free(counters, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_missing_user,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_remove_temporaries_is_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_objects_states, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_lists_sorted_in_byte_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_requests_keep_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seen_with_outcome, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_binary, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_static_write_table_and_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_sees_only_commits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_statement_loses_transaction, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_writers_wait_for_each_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_reuses_and_drops,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_database_down, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostile_uids_round_trip,
						setup, teardown),
	};

	/* meson's suite "postgresql" runs it without a server: a skip
	   (77) that says why, never a pass */
	conninfo = getenv("IMIP_TEST_PG_CONNINFO");
	if (conninfo == NULL || *conninfo == '\0') {
		fprintf(stderr, "test-store-pg: SKIPPED: set "
			"IMIP_TEST_PG_CONNINFO to a database brought up to "
			"date by imip-admin db-upgrade "
			"(tests/integration/postgresql-store.sh does)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
