/* The quota journal in PostgreSQL (journal-pg.c, store_backend =
   postgresql) against a real server: limits, groups, delegates and
   reservations round trip, every list comes out exactly as the file
   journal gives it (the same calls run on both and are compared), times
   to the second, hostile names and UIDs as data; and what only a
   database has: an open quota is one transaction holding the quota's
   row lock (a second open of the same quota waits for the first to
   close; another quota does not), a failed statement rolls the quota's
   changes back at close and its commit says so, and a process killed
   before committing leaves nothing.

   Needs IMIP_TEST_PG_CONNINFO: a database that `imip-admin db-upgrade`
   has brought to the current schema; its quotas are deleted by every
   test.  tests/integration/postgresql-store.sh runs it against a
   private server (with an ICU collation, so that byte order must be
   asked for).  Suite "postgresql": without a server it reports a skip. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <glib.h>

#include "test-tmp.h"
#include "clock.h"
#include "config.h"
#include "journal.h"
#include "pg-conn.h"

#define ROOM "room@example.com"
#define ROOM2 "room2@example.com"
#define PAUL "paul.boddie@example.com"
#define VINCENT "vincent.vole@example.com"

static const char *conninfo;

struct fixture {
	char *file_root, *pg_root;
	struct imip_config *file_config;	/* store_backend = file */
	struct imip_config *pg_config;		/* = postgresql */
};

static struct pg_conn *admin_conn(void)
{
	struct pg_conn *conn = NULL;
	char *error = NULL;

	if (pg_conn_open(conninfo, &conn, &error) < 0)
		fail_msg("connect: %s", error);
	return conn;
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

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	struct pg_conn *conn = admin_conn();
	char *error = NULL;

	if (pg_conn_exec_script(conn, "DELETE FROM quotas", &error) < 0)
		fail_msg("%s", error);
	pg_conn_close(&conn);
	f->file_config = test_tmp_config("test-journal-pg-file",
					 &f->file_root);
	/* journal_dir stays unused on PostgreSQL, which a test checks */
	f->pg_config = test_tmp_config("test-journal-pg", &f->pg_root);
	f->pg_config->store_backend = IMIP_STORE_BACKEND_POSTGRESQL;
	f->pg_config->store_conninfo = g_strdup(conninfo);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	imip_config_free(&f->file_config);
	imip_config_free(&f->pg_config);
	test_rm_rf(f->file_root);
	test_rm_rf(f->pg_root);
	g_free(f->file_root);
	g_free(f->pg_root);
	g_free(f);
	return 0;
}

static struct journal *open_journal(const struct imip_config *config)
{
	struct journal *j = NULL;
	char *error = NULL;

	if (journal_open(config, &j, &error) < 0)
		fail_msg("journal_open: %s", error);
	return j;
}

static struct journal_quota *open_quota(struct journal *j, const char *name,
					bool create)
{
	struct journal_quota *q = NULL;
	char *error = NULL;
	int r = journal_quota_open(j, name, create, &q, &error);

	if (r != 1)
		fail_msg("journal_quota_open(%s): %d %s", name, r,
			 error != NULL ? error : "");
	return q;
}

#define ok(call) do { \
		const char *error_ = NULL; \
		if ((call) < 0) \
			fail_msg("%s: %s", #call, error_ != NULL ? error_ : \
				 "(error)"); \
	} while (0)

static struct journal_reservation *
reservation(const char *rid, const char *start, const char *end,
	    const char *organiser)
{
	struct journal_reservation *r = g_new0(struct journal_reservation, 1);

	r->rid = g_strdup(rid);
	r->organiser = g_strdup(organiser);
	assert_true(imip_clock_parse_utc(start, &r->start));
	assert_true(imip_clock_parse_utc(end, &r->end));
	return r;
}

static GPtrArray *reservations(void)
{
	return g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
}

static void replace(struct journal_quota *q, const char *resource,
		    const char *uid, GPtrArray *list)
{
	const char *error = NULL;

	if (journal_reservations_replace(q, resource, uid, list, &error) < 0)
		fail_msg("replace %s: %s", uid, error);
}

/* What imip-admin quota Q reservations prints, as one text. */
static char *reservations_text(struct journal_quota *q)
{
	GPtrArray *list = reservations();
	GString *out = g_string_new(NULL);
	const char *error = NULL;

	if (journal_reservations_read(q, list, &error) < 0)
		fail_msg("read: %s", error);
	for (guint i = 0; i < list->len; i++) {
		const struct journal_reservation *r =
			g_ptr_array_index(list, i);
		char start[17], end[17];

		g_string_append_printf(out, "%s|%s|%s|%s|%s|%s\n",
				       imip_clock_format_utc(r->start, start),
				       imip_clock_format_utc(r->end, end),
				       r->resource, r->uid,
				       r->rid != NULL ? r->rid : "(none)",
				       r->organiser);
	}
	g_ptr_array_free(list, TRUE);
	return g_string_free(out, FALSE);
}

static char *lines_text(struct journal_quota *q,
			int (*list)(struct journal_quota *, GPtrArray *,
				    const char **))
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	GString *out = g_string_new(NULL);
	const char *error = NULL;

	if (list(q, lines, &error) < 0)
		fail_msg("list: %s", error);
	for (guint i = 0; i < lines->len; i++)
		g_string_append_printf(out, "%s\n",
				       (char *)g_ptr_array_index(lines, i));
	g_ptr_array_free(lines, TRUE);
	return g_string_free(out, FALSE);
}

/* Everything imip-admin prints of a quota, in one text. */
static char *quota_text(struct journal_quota *q)
{
	GPtrArray *delegates = g_ptr_array_new_with_free_func(g_free);
	char *limits = lines_text(q, journal_limits_list);
	char *groups = lines_text(q, journal_groups_list);
	char *res = reservations_text(q);
	const char *error = NULL;
	GString *out = g_string_new(NULL);

	if (journal_delegates_get(q, delegates, &error) < 0)
		fail_msg("delegates: %s", error);
	g_string_append_printf(out, "limits:\n%sgroups:\n%sdelegates:\n",
			       limits, groups);
	for (guint i = 0; i < delegates->len; i++)
		g_string_append_printf(out, "%s\n",
				       (char *)g_ptr_array_index(delegates, i));
	g_string_append_printf(out, "reservations:\n%s", res);
	g_free(limits);
	g_free(groups);
	g_free(res);
	g_ptr_array_free(delegates, TRUE);
	return g_string_free(out, FALSE);
}

/* The same calls, on any backend: limits, groups, delegates and
   reservations with hostile values, sorted by byte order (an ICU
   database would sort "a" before "B"). */
static void fill_quota(struct journal_quota *q)
{
	GPtrArray *list = reservations(), *delegates;
	GString *long_uid = g_string_new("long-");
	const char *error = NULL;
	long seconds;
	char *group;

	if (journal_limit_set(q, "*", 36000, &error) < 0 ||
	    journal_limit_set(q, "Paul.Boddie@Example.COM", 7200, &error) < 0 ||
	    journal_limit_set(q, "staff", 0, &error) < 0 ||
	    journal_limit_set(q, "Zeta", 60, &error) < 0 ||
	    journal_limit_set(q, "alpha", 90, &error) < 0 ||
	    journal_limit_set(q, "gone", 90, &error) < 0 ||
	    journal_limit_set(q, "gone", -1, &error) < 0 ||
	    journal_limit_set(q, "alpha", 120, &error) < 0)
		fail_msg("limit_set: %s", error);
	assert_int_equal(journal_limit_get(q, "mailto:PAUL.BODDIE@example.com",
					   &seconds, &error), 1);
	assert_int_equal(seconds, 7200);
	assert_int_equal(journal_limit_get(q, "staff", &seconds, &error), 1);
	assert_int_equal(seconds, 0);
	assert_int_equal(journal_limit_get(q, "gone", &seconds, &error), 0);
	assert_int_equal(journal_limit_set(q, "two words", 5, &error), -1);
	assert_int_equal(journal_limit_set(q, "x", 1L << 40, &error), -1);

	if (journal_group_set(q, VINCENT, "staff", &error) < 0 ||
	    journal_group_set(q, "mailto:" PAUL, "Board\xc3\xa9", &error) < 0 ||
	    journal_group_set(q, "Andy@example.com", "staff", &error) < 0 ||
	    journal_group_set(q, "zed@example.com", "x", &error) < 0 ||
	    journal_group_set(q, "zed@example.com", NULL, &error) < 0)
		fail_msg("group_set: %s", error);
	assert_int_equal(journal_group_get(q, PAUL, &group, &error), 1);
	assert_string_equal(group, "Board\xc3\xa9");
	g_free(group);
	assert_int_equal(journal_group_get(q, "zed@example.com", &group,
					   &error), 0);
	assert_null(group);
	assert_int_equal(journal_group_set(q, VINCENT, "a@b", &error), -1);

	delegates = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(delegates, g_strdup("mailto:Room2@example.com"));
	g_ptr_array_add(delegates, g_strdup(ROOM));
	g_ptr_array_add(delegates, g_strdup("ROOM2@example.com"));
	g_ptr_array_add(delegates, g_strdup("a-room@example.com"));
	if (journal_delegates_set(q, delegates, &error) < 0)
		fail_msg("delegates_set: %s", error);
	g_ptr_array_free(delegates, TRUE);

	/* out of order on purpose; the same instance twice counts once */
	g_ptr_array_add(list, reservation("20141126T100000Z",
					  "20141126T100000Z",
					  "20141126T110001Z", VINCENT));
	g_ptr_array_add(list, reservation(NULL, "20141125T100000Z",
					  "20141125T110000Z", "mailto:" PAUL));
	g_ptr_array_add(list, reservation("20141126T100000Z",
					  "20141126T100000Z",
					  "20141126T110001Z", VINCENT));
	replace(q, "mailto:Room@Example.com", "b-uid", list);
	g_ptr_array_set_size(list, 0);
	/* hostile UIDs: tab, newline, backslash, quote, NUL-free bytes of
	   UTF-8, a percent, SQL text; and a UID longer than an index entry */
	g_ptr_array_add(list, reservation(NULL, "20141125T100000Z",
					  "20141125T110000Z", PAUL));
	replace(q, ROOM, "A-uid\t\n\\'\"%; DROP TABLE quotas; --\xe2\x82\xac",
		list);
	replace(q, ROOM2, "a-uid", list);
	replace(q, ROOM2, "B-uid", list);
	for (int i = 0; i < 600; i++)
		g_string_append(long_uid, "0123456789");
	replace(q, ROOM2, long_uid->str, list);
	/* replaced by nothing: gone */
	replace(q, ROOM2, "to-cancel", list);
	replace(q, ROOM2, "to-cancel", NULL);
	/* a past instance, for expire */
	g_ptr_array_set_size(list, 0);
	g_ptr_array_add(list, reservation("19700101T000001Z",
					  "19700101T000001Z",
					  "19700101T000002Z", PAUL));
	g_ptr_array_add(list, reservation("20141120T110000Z",
					  "20141120T110000Z",
					  "20141120T115959Z", PAUL));
	replace(q, ROOM, "past", list);

	/* a refused reservation changes nothing */
	g_ptr_array_set_size(list, 0);
	g_ptr_array_add(list, reservation(NULL, "20141125T110000Z",
					  "20141125T100000Z", PAUL));
	assert_int_equal(journal_reservations_replace(q, ROOM, "b-uid", list,
						      &error), -1);
	g_string_free(long_uid, TRUE);
	g_ptr_array_free(list, TRUE);
}

/* The file journal and the database give the same text, before and
   after update-quotas' expiry. */
static void test_same_as_file_journal(void **state)
{
	struct fixture *f = *state;
	struct journal *jf = open_journal(f->file_config);
	struct journal *jp = open_journal(f->pg_config);
	struct journal_quota *qf = open_quota(jf, "Rooms\xc3\xa9", true);
	struct journal_quota *qp = open_quota(jp, "Rooms\xc3\xa9", true);
	const char *error = NULL;
	unsigned int removed_f = 0, removed_p = 0;
	time_t now;
	char *tf, *tp;

	fill_quota(qf);
	fill_quota(qp);
	ok(journal_quota_commit(qp, &error_));
	tf = quota_text(qf);
	tp = quota_text(qp);
	assert_string_equal(tp, tf);
	/* byte order, times to the second, rid NULL as none */
	assert_non_null(strstr(tp, "limits:\n*\tPT10H\nZeta\tPT1M\n"
			       "alpha\tPT2M\npaul.boddie@example.com\tPT2H\n"
			       "staff\tPT0S\ngroups:\nandy@example.com\tstaff\n"
			       "paul.boddie@example.com\tBoard\xc3\xa9\n"
			       "vincent.vole@example.com\tstaff\ndelegates:\n"
			       "room2@example.com\nroom@example.com\n"
			       "a-room@example.com\nreservations:\n"
			       "19700101T000001Z|19700101T000002Z|"
			       "room@example.com|past|19700101T000001Z|"));
	assert_non_null(strstr(tp, "20141126T100000Z|20141126T110001Z|"
			       "room@example.com|b-uid|20141126T100000Z|"
			       "vincent.vole@example.com\n"));
	assert_null(strstr(tp, "to-cancel"));
	g_free(tp);

	assert_true(imip_clock_parse_utc("20141120T115959Z", &now));
	if (journal_expire(qf, now, &removed_f, &error) < 0 ||
	    journal_expire(qp, now, &removed_p, &error) < 0 ||
	    journal_quota_commit(qp, &error) < 0)
		fail_msg("expire: %s", error);
	assert_int_equal(removed_f, 2);
	assert_int_equal(removed_p, 2);
	g_free(tf);
	tf = quota_text(qf);
	tp = quota_text(qp);
	assert_string_equal(tp, tf);
	assert_null(strstr(tp, "|past|"));
	g_free(tf);
	g_free(tp);

	/* the rows are in the database; journal_dir was not touched */
	tp = admin_value("SELECT count(*) FROM quota_reservations r "
			 "JOIN quotas q ON q.id = r.quota_id WHERE q.name = $1",
			 "Rooms\xc3\xa9");
	assert_string_equal(tp, "6");
	g_free(tp);
	tp = admin_value("SELECT extract(epoch FROM start_at)::bigint "
			 "FROM quota_reservations WHERE uid = $1", "b-uid");
	assert_non_null(tp);
	assert_false(g_file_test(f->pg_config->journal_dir,
				 G_FILE_TEST_EXISTS));
	g_free(tp);

	journal_quota_close(&qf);
	journal_quota_close(&qp);
	journal_close(&jf);
	journal_close(&jp);
}

/* Quotas exist once created, are listed in byte order, are found under
   any spelling of their address; a missing one is 0, not created. */
static void test_quota_open_and_list(void **state)
{
	struct fixture *f = *state;
	struct journal *j = open_journal(f->pg_config);
	struct journal_quota *q = NULL, *q2;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	char *error = NULL;

	assert_int_equal(journal_quota_open(j, "missing", false, &q, &error),
			 0);
	assert_null(q);
	q = open_quota(j, "mailto:Room@Example.COM", true);
	/* the same quota twice from one process would wait for itself */
	assert_int_equal(journal_quota_open(j, ROOM, false, &q2, &error), -1);
	assert_non_null(strstr(error, "already open"));
	g_free(error);
	error = NULL;
	journal_quota_close(&q);
	q = open_quota(j, "b", true);
	journal_quota_close(&q);
	q = open_quota(j, "B", true);
	journal_quota_close(&q);
	assert_int_equal(journal_quota_open(j, "two words", true, &q, &error),
			 -1);
	g_free(error);
	error = NULL;
	assert_int_equal(journal_list_quotas(j, names, &error), 0);
	assert_int_equal(names->len, 3);
	assert_string_equal(g_ptr_array_index(names, 0), "B");
	assert_string_equal(g_ptr_array_index(names, 1), "b");
	assert_string_equal(g_ptr_array_index(names, 2), ROOM);
	q = open_quota(j, ROOM, false);
	journal_quota_close(&q);
	g_ptr_array_free(names, TRUE);
	journal_close(&j);
}

struct opener {
	const struct imip_config *config;
	const char *quota;
	gint64 waited_us;
	long seen;		/* the limit found once the lock was had */
	int ret;
};

static gpointer opener_run(gpointer data)
{
	struct opener *o = data;
	struct journal *j = NULL;
	struct journal_quota *q = NULL;
	const char *lerror = NULL;
	char *error = NULL;
	gint64 start = g_get_monotonic_time();

	if (journal_open(o->config, &j, &error) < 0) {
		o->ret = -1;
		g_free(error);
		return NULL;
	}
	o->ret = journal_quota_open(j, o->quota, true, &q, &error);
	o->waited_us = g_get_monotonic_time() - start;
	if (o->ret == 1 &&
	    journal_limit_get(q, "*", &o->seen, &lerror) < 0)
		o->ret = -1;
	g_free(error);
	journal_quota_close(&q);
	journal_close(&j);
	return NULL;
}

/* A second open of the same quota (another host, here another
   connection) waits until the first closes, then sees what it
   committed; another quota is not held up. */
static void test_second_open_waits(void **state)
{
	struct fixture *f = *state;
	struct journal *j = open_journal(f->pg_config);
	struct journal_quota *q = open_quota(j, ROOM, true);
	struct opener same = { f->pg_config, "mailto:" ROOM, 0, 0, 0 };
	struct opener other = { f->pg_config, ROOM2, 0, 0, 0 };
	const char *error = NULL;
	GThread *t_same, *t_other;

	ok(journal_quota_commit(q, &error_));
	t_same = g_thread_new("same", opener_run, &same);
	t_other = g_thread_new("other", opener_run, &other);
	g_thread_join(t_other);
	assert_int_equal(other.ret, 1);
	assert_true(other.waited_us < 400000);
	g_usleep(500000);
	if (journal_limit_set(q, "*", 3600, &error) < 0)
		fail_msg("%s", error);
	journal_quota_close(&q);
	g_thread_join(t_same);
	assert_int_equal(same.ret, 1);
	assert_true(same.waited_us >= 400000);
	assert_int_equal(same.seen, 3600);
	journal_close(&j);
}

/* A call that failed in the database loses the quota's transaction: the
   commit says so, and closing keeps nothing of it.  Without a failure,
   closing keeps what was written. */
static void test_failure_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct journal *j = open_journal(f->pg_config);
	struct journal_quota *q = open_quota(j, ROOM, true);
	GPtrArray *list = reservations();
	struct journal_reservation *bad;
	const char *error = NULL;
	long seconds;

	ok(journal_quota_commit(q, &error_));
	if (journal_limit_set(q, "*", 60, &error) < 0)
		fail_msg("%s", error);
	/* a time the database cannot hold (year 31 million) */
	bad = reservation(NULL, "20141125T100000Z", "20141125T110000Z", PAUL);
	bad->start = (time_t)1000000000000000LL;
	bad->end = bad->start + 60;
	g_ptr_array_add(list, bad);
	assert_int_equal(journal_reservations_replace(q, ROOM, "u", list,
						      &error), -1);
	assert_non_null(strstr(error, "PostgreSQL"));
	assert_int_equal(journal_limit_get(q, "*", &seconds, &error), -1);
	assert_int_equal(journal_quota_commit(q, &error), -1);
	assert_non_null(strstr(error, "rolled back"));
	/* the quota goes on in a new transaction */
	if (journal_limit_set(q, "*", 120, &error) < 0)
		fail_msg("%s", error);
	assert_int_equal(journal_reservations_replace(q, ROOM, "u", list,
						      &error), -1);
	journal_quota_close(&q);

	q = open_quota(j, ROOM, false);
	assert_int_equal(journal_limit_get(q, "*", &seconds, &error), 0);
	/* no failure: closing keeps what was written */
	if (journal_limit_set(q, "*", 180, &error) < 0)
		fail_msg("%s", error);
	journal_quota_close(&q);
	q = open_quota(j, ROOM, false);
	assert_int_equal(journal_limit_get(q, "*", &seconds, &error), 1);
	assert_int_equal(seconds, 180);
	journal_quota_close(&q);
	g_ptr_array_free(list, TRUE);
	journal_close(&j);
}

/* A process killed with a quota open and its changes not committed:
   the server rolls them back and releases the lock at once. */
static void test_killed_process_keeps_nothing(void **state)
{
	struct fixture *f = *state;
	struct journal *j;
	struct journal_quota *q;
	const char *error = NULL;
	long seconds;
	int status;
	pid_t pid;

	j = open_journal(f->pg_config);
	q = open_quota(j, ROOM, true);
	ok(journal_quota_commit(q, &error_));
	journal_quota_close(&q);
	journal_close(&j);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		j = open_journal(f->pg_config);
		q = open_quota(j, ROOM, false);
		if (journal_limit_set(q, "*", 60, &error) < 0)
			_exit(2);
		/* killed: no commit, no close */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	j = open_journal(f->pg_config);
	q = open_quota(j, ROOM, false);
	assert_int_equal(journal_limit_get(q, "*", &seconds, &error), 0);
	journal_quota_close(&q);
	journal_close(&j);
}

/* store_backend = postgresql needs store_conninfo for the journal too. */
static void test_needs_conninfo(void **state)
{
	struct fixture *f = *state;
	struct journal *j = NULL;
	char *error = NULL;

	g_clear_pointer(&f->pg_config->store_conninfo, g_free);
	assert_int_equal(journal_open(f->pg_config, &j, &error), -1);
	assert_non_null(strstr(error, "store_conninfo"));
	assert_null(j);
	g_free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_as_file_journal,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_open_and_list,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_waits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_rolls_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_killed_process_keeps_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_conninfo, setup,
						teardown),
	};

	/* meson's suite "postgresql" runs it without a server: a skip
	   (77) that says why, never a pass */
	conninfo = getenv("IMIP_TEST_PG_CONNINFO");
	if (conninfo == NULL || *conninfo == '\0') {
		fprintf(stderr, "test-journal-pg: SKIPPED: set "
			"IMIP_TEST_PG_CONNINFO to a database brought up to "
			"date by imip-admin db-upgrade "
			"(tests/integration/postgresql-store.sh does)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
