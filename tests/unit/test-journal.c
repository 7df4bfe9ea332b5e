/* The quota journal: table round trips, normalisation, replace and expire
   semantics, hostile names kept inside journal_dir, the lock. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "test-tmp.h"
#include "clock.h"
#include "config.h"
#include "journal.h"
#include "store-name.h"

#define ROOM "room@example.com"
#define ROOM2 "room2@example.com"
#define PAUL "paul.boddie@example.com"
#define VINCENT "vincent.vole@example.com"

struct fixture {
	char *root;
	struct imip_config *config;
	struct journal *j;
	struct journal_quota *q;
	char *qdir;
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	char *error = NULL;

	umask(007);
	f->config = test_tmp_config("test-journal", &f->root);
	assert_int_equal(journal_open(f->config, &f->j, &error), 0);
	assert_int_equal(journal_quota_open(f->j, ROOM, true, &f->q, &error),
			 1);
	f->qdir = g_build_filename(f->config->journal_dir, ROOM, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	journal_quota_close(&f->q);
	journal_close(&f->j);
	imip_config_free(&f->config);
	test_rm_rf(f->root);
	g_free(f->root);
	g_free(f->qdir);
	g_free(f);
	return 0;
}

static GPtrArray *strings(void)
{
	return g_ptr_array_new_with_free_func(g_free);
}

static GPtrArray *reservations(void)
{
	return g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
}

static char *read_table(struct fixture *f, const char *name)
{
	char *path = g_build_filename(f->qdir, name, NULL);
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		text = NULL;
	g_free(path);
	return text;
}

static void write_table(struct fixture *f, const char *name,
			const char *text)
{
	char *path = g_build_filename(f->qdir, name, NULL);

	assert_true(g_file_set_contents(path, text, -1, NULL));
	g_free(path);
}

static time_t t(const char *text)
{
	time_t v;

	assert_true(imip_clock_parse_utc(text, &v));
	return v;
}

static struct journal_reservation *resv(const char *resource,
					const char *uid, const char *rid,
					const char *organiser,
					const char *start, const char *end)
{
	struct journal_reservation *r = g_new0(struct journal_reservation, 1);

	r->resource = g_strdup(resource);
	r->uid = g_strdup(uid);
	r->rid = g_strdup(rid);
	r->organiser = g_strdup(organiser);
	r->start = t(start);
	r->end = t(end);
	return r;
}

/* --- limits, groups, delegates ----------------------------------------- */

static void test_limits_round_trip(void **state)
{
	struct fixture *f = *state;
	GPtrArray *lines = strings();
	const char *error;
	long secs;
	char *text;

	/* missing file: no limit at all */
	assert_int_equal(journal_limit_get(f->q, PAUL, &secs, &error), 0);
	assert_int_equal(journal_limits_list(f->q, lines, &error), 0);
	assert_int_equal(lines->len, 0);

	assert_int_equal(journal_limit_set(f->q, "mailto:Paul.Boddie@Example.com",
					   36000, &error), 0);
	assert_int_equal(journal_limit_set(f->q, "*", 7200, &error), 0);
	assert_int_equal(journal_limit_set(f->q, "staff", 90000, &error), 0);

	assert_int_equal(journal_limit_get(f->q, PAUL, &secs, &error), 1);
	assert_int_equal(secs, 36000);
	assert_int_equal(journal_limit_get(f->q, "<" PAUL ">", &secs, &error),
			 1);
	assert_int_equal(journal_limit_get(f->q, "*", &secs, &error), 1);
	assert_int_equal(secs, 7200);
	assert_int_equal(journal_limit_get(f->q, VINCENT, &secs, &error), 0);

	/* the file: normalised subjects, seconds, sorted */
	text = read_table(f, "limits");
	assert_string_equal(text, "*\t7200\n" PAUL "\t36000\nstaff\t90000\n");
	g_free(text);

	/* listing: RFC 5545 durations */
	assert_int_equal(journal_limits_list(f->q, lines, &error), 0);
	assert_int_equal(lines->len, 3);
	assert_string_equal(g_ptr_array_index(lines, 0), "*\tPT2H");
	assert_string_equal(g_ptr_array_index(lines, 1), PAUL "\tPT10H");
	assert_string_equal(g_ptr_array_index(lines, 2), "staff\tP1DT1H");

	/* replacing and removing */
	assert_int_equal(journal_limit_set(f->q, PAUL, 3600, &error), 0);
	assert_int_equal(journal_limit_get(f->q, PAUL, &secs, &error), 1);
	assert_int_equal(secs, 3600);
	assert_int_equal(journal_limit_set(f->q, PAUL, -1, &error), 0);
	assert_int_equal(journal_limit_get(f->q, PAUL, &secs, &error), 0);
	assert_int_equal(journal_limit_set(f->q, VINCENT, -1, &error), 0);
	text = read_table(f, "limits");
	assert_string_equal(text, "*\t7200\nstaff\t90000\n");
	g_free(text);
	g_ptr_array_free(lines, TRUE);
}

static void test_limits_bad_subjects_and_hand_edits(void **state)
{
	struct fixture *f = *state;
	GPtrArray *lines = strings();
	const char *error = NULL;
	long secs;

	assert_int_equal(journal_limit_set(f->q, "two words", 60, &error), -1);
	assert_non_null(strstr(error, "two words"));
	assert_int_equal(journal_limit_set(f->q, "", 60, &error), -1);
	assert_int_equal(journal_limit_set(f->q, "tab\there", 60, &error), -1);
	assert_int_equal(journal_limit_set(f->q, "broken@", 60, &error), -1);
	assert_int_equal(journal_limit_set(f->q, "a\nb", 60, &error), -1);
	assert_null(read_table(f, "limits"));

	/* the original's duration form and CRLF read too; junk is no limit
	   rather than an error */
	write_table(f, "limits", PAUL "\tPT10H\r\n*\tgarbage\nno-tab-here\n"
		    "staff\t600\n");
	assert_int_equal(journal_limit_get(f->q, PAUL, &secs, &error), 1);
	assert_int_equal(secs, 36000);
	assert_int_equal(journal_limit_get(f->q, "*", &secs, &error), 0);
	assert_int_equal(journal_limit_get(f->q, "staff", &secs, &error), 1);
	assert_int_equal(secs, 600);
	assert_int_equal(journal_limits_list(f->q, lines, &error), 0);
	assert_int_equal(lines->len, 2);
	assert_string_equal(g_ptr_array_index(lines, 0), PAUL "\tPT10H");
	assert_string_equal(g_ptr_array_index(lines, 1), "staff\tPT10M");
	g_ptr_array_free(lines, TRUE);
}

static void test_groups_round_trip(void **state)
{
	struct fixture *f = *state;
	GPtrArray *lines = strings();
	const char *error;
	char *group = NULL, *text;

	assert_int_equal(journal_group_get(f->q, PAUL, &group, &error), 0);
	assert_null(group);
	assert_int_equal(journal_group_set(f->q, "MAILTO:" PAUL, "staff",
					   &error), 0);
	assert_int_equal(journal_group_set(f->q, VINCENT, "students",
					   &error), 0);
	assert_int_equal(journal_group_get(f->q, PAUL, &group, &error), 1);
	assert_string_equal(group, "staff");
	g_free(group);
	/* at most one group per user: setting again moves them */
	assert_int_equal(journal_group_set(f->q, PAUL, "admins", &error), 0);
	assert_int_equal(journal_groups_list(f->q, lines, &error), 0);
	assert_int_equal(lines->len, 2);
	assert_string_equal(g_ptr_array_index(lines, 0), PAUL "\tadmins");
	assert_string_equal(g_ptr_array_index(lines, 1), VINCENT "\tstudents");
	text = read_table(f, "groups");
	assert_string_equal(text, PAUL "\tadmins\n" VINCENT "\tstudents\n");
	g_free(text);

	assert_int_equal(journal_group_set(f->q, PAUL, NULL, &error), 0);
	assert_int_equal(journal_group_get(f->q, PAUL, &group, &error), 0);
	/* bad users and group names change nothing */
	assert_int_equal(journal_group_set(f->q, "nobody", "staff", &error),
			 -1);
	assert_int_equal(journal_group_set(f->q, PAUL, "two words", &error),
			 -1);
	assert_int_equal(journal_group_set(f->q, PAUL, "x@example.com",
					   &error), -1);
	assert_int_equal(journal_group_set(f->q, PAUL, "*", &error), -1);
	text = read_table(f, "groups");
	assert_string_equal(text, VINCENT "\tstudents\n");
	g_free(text);
	g_ptr_array_free(lines, TRUE);
}

static void test_delegates_round_trip(void **state)
{
	struct fixture *f = *state;
	GPtrArray *in = strings(), *out = strings();
	const char *error;
	char *text;

	assert_int_equal(journal_delegates_get(f->q, out, &error), 0);
	assert_int_equal(out->len, 0);
	g_ptr_array_add(in, g_strdup("mailto:Room2@Example.com"));
	g_ptr_array_add(in, g_strdup(ROOM));
	g_ptr_array_add(in, g_strdup(ROOM2));
	assert_int_equal(journal_delegates_set(f->q, in, &error), 0);
	assert_int_equal(journal_delegates_get(f->q, out, &error), 0);
	/* normalised, duplicates dropped, order kept */
	assert_int_equal(out->len, 2);
	assert_string_equal(g_ptr_array_index(out, 0), ROOM2);
	assert_string_equal(g_ptr_array_index(out, 1), ROOM);
	text = read_table(f, "delegates");
	assert_string_equal(text, ROOM2 "\n" ROOM "\n");
	g_free(text);

	/* a bad address refuses the whole list */
	g_ptr_array_add(in, g_strdup("not an address"));
	assert_int_equal(journal_delegates_set(f->q, in, &error), -1);
	assert_non_null(strstr(error, "not an address"));
	g_ptr_array_set_size(out, 0);
	assert_int_equal(journal_delegates_get(f->q, out, &error), 0);
	assert_int_equal(out->len, 2);

	/* replace with nothing */
	g_ptr_array_set_size(in, 0);
	assert_int_equal(journal_delegates_set(f->q, in, &error), 0);
	g_ptr_array_set_size(out, 0);
	assert_int_equal(journal_delegates_get(f->q, out, &error), 0);
	assert_int_equal(out->len, 0);
	g_ptr_array_free(in, TRUE);
	g_ptr_array_free(out, TRUE);
}

/* --- reservations ------------------------------------------------------ */

static void test_reservations_round_trip(void **state)
{
	struct fixture *f = *state;
	GPtrArray *list = reservations(), *out = reservations();
	const struct journal_reservation *r;
	const char *error;
	char *text;

	assert_int_equal(journal_reservations_read(f->q, out, &error), 0);
	assert_int_equal(out->len, 0);

	/* given out of order, with a hostile UID and an odd rid */
	g_ptr_array_add(list, resv(ROOM, "ev\t1%\n", "20141127T150000Z",
				   "mailto:Paul.Boddie@example.com",
				   "20141127T150000Z", "20141127T160000Z"));
	g_ptr_array_add(list, resv(NULL, NULL, NULL, PAUL,
				   "20141126T150000Z", "20141126T160000Z"));
	assert_int_equal(journal_reservations_replace(f->q, "MAILTO:" ROOM,
						      "ev\t1%\n", list,
						      &error), 0);
	text = read_table(f, "reservations");
	assert_string_equal(text,
			    "20141126T150000Z\t20141126T160000Z\t" ROOM
			    "\tev%091%25%0A\t-\t" PAUL "\n"
			    "20141127T150000Z\t20141127T160000Z\t" ROOM
			    "\tev%091%25%0A\t20141127T150000Z\t" PAUL "\n");
	g_free(text);

	assert_int_equal(journal_reservations_read(f->q, out, &error), 0);
	assert_int_equal(out->len, 2);
	r = g_ptr_array_index(out, 0);
	assert_string_equal(r->resource, ROOM);
	assert_string_equal(r->uid, "ev\t1%\n");
	assert_null(r->rid);
	assert_string_equal(r->organiser, PAUL);
	assert_int_equal(r->start, t("20141126T150000Z"));
	assert_int_equal(r->end, t("20141126T160000Z"));
	r = g_ptr_array_index(out, 1);
	assert_string_equal(r->rid, "20141127T150000Z");
	g_ptr_array_free(list, TRUE);
	g_ptr_array_free(out, TRUE);
}

static unsigned int count_of(struct fixture *f, const char *resource,
			     const char *uid)
{
	GPtrArray *out = reservations();
	const char *error;
	unsigned int n = 0;

	assert_int_equal(journal_reservations_read(f->q, out, &error), 0);
	for (guint i = 0; i < out->len; i++) {
		const struct journal_reservation *r = g_ptr_array_index(out, i);

		if ((resource == NULL || strcmp(r->resource, resource) == 0) &&
		    (uid == NULL || strcmp(r->uid, uid) == 0))
			n++;
	}
	g_ptr_array_free(out, TRUE);
	return n;
}

static void test_reservations_replace_semantics(void **state)
{
	struct fixture *f = *state;
	GPtrArray *list = reservations();
	const char *error = NULL;
	char *before, *after;

	g_ptr_array_add(list, resv(ROOM, "a", NULL, PAUL,
				   "20141126T090000Z", "20141126T100000Z"));
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "a", list,
						      &error), 0);
	g_ptr_array_set_size(list, 0);
	/* the same UID at another resource of the quota is another booking */
	g_ptr_array_add(list, resv(ROOM2, "a", NULL, PAUL,
				   "20141126T090000Z", "20141126T100000Z"));
	assert_int_equal(journal_reservations_replace(f->q, ROOM2, "a", list,
						      &error), 0);
	g_ptr_array_set_size(list, 0);
	g_ptr_array_add(list, resv(ROOM, "b", NULL, VINCENT,
				   "20141126T110000Z", "20141126T120000Z"));
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "b", list,
						      &error), 0);
	assert_int_equal(count_of(f, NULL, NULL), 3);

	/* an update replaces all of (ROOM, a), nothing else */
	g_ptr_array_set_size(list, 0);
	g_ptr_array_add(list, resv(ROOM, "a", "20141201T090000Z", PAUL,
				   "20141201T090000Z", "20141201T100000Z"));
	g_ptr_array_add(list, resv(ROOM, "a", "20141202T090000Z", PAUL,
				   "20141202T090000Z", "20141202T100000Z"));
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "a", list,
						      &error), 0);
	assert_int_equal(count_of(f, ROOM, "a"), 2);
	assert_int_equal(count_of(f, ROOM2, "a"), 1);
	assert_int_equal(count_of(f, ROOM, "b"), 1);

	/* an empty list removes (a CANCEL) */
	g_ptr_array_set_size(list, 0);
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "a", list,
						      &error), 0);
	assert_int_equal(count_of(f, ROOM, "a"), 0);
	assert_int_equal(count_of(f, NULL, NULL), 2);
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "a", NULL,
						      &error), 0);

	/* all or nothing: one bad entry changes nothing */
	before = read_table(f, "reservations");
	g_ptr_array_add(list, resv(ROOM, "b", NULL, VINCENT,
				   "20141203T090000Z", "20141203T100000Z"));
	g_ptr_array_add(list, resv(ROOM, "b", NULL, "no organiser",
				   "20141204T090000Z", "20141204T100000Z"));
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "b", list,
						      &error), -1);
	assert_non_null(strstr(error, "no organiser"));
	g_ptr_array_set_size(list, 0);
	g_ptr_array_add(list, resv(ROOM, "b", NULL, VINCENT,
				   "20141203T100000Z", "20141203T100000Z"));
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "b", list,
						      &error), -1);
	g_ptr_array_set_size(list, 0);
	g_ptr_array_add(list, resv(ROOM2, "b", NULL, VINCENT,
				   "20141203T090000Z", "20141203T100000Z"));
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "b", list,
						      &error), -1);
	g_ptr_array_set_size(list, 0);
	g_ptr_array_add(list, resv(ROOM, "c", NULL, VINCENT,
				   "20141203T090000Z", "20141203T100000Z"));
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "b", list,
						      &error), -1);
	assert_int_equal(journal_reservations_replace(f->q, "room", "b", list,
						      &error), -1);
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "", list,
						      &error), -1);
	after = read_table(f, "reservations");
	assert_string_equal(before, after);
	g_free(before);
	g_free(after);
	g_ptr_array_free(list, TRUE);
}

static void test_reservations_damaged_lines_skipped(void **state)
{
	struct fixture *f = *state;
	GPtrArray *out = reservations();
	const char *error;

	write_table(f, "reservations",
		    "garbage\n"
		    "20141126T150000Z\t20141126T160000Z\t" ROOM "\tu1\t-\t"
		    PAUL "\r\n"
		    "20141126T160000Z\t20141126T150000Z\t" ROOM "\tu2\t-\t"
		    PAUL "\n"
		    "20141126T150000Z\t20141126T160000Z\tnobody\tu3\t-\t"
		    PAUL "\n"
		    "20141126T150000Z\t20141126T160000Z\t" ROOM "\tu%ZZ\t-\t"
		    PAUL "\n"
		    "20141126T150000Z\t20141126T160000Z\t" ROOM "\t-\t-\t"
		    PAUL "\n"
		    "20141126T150000Z\t20141126T160000Z\t" ROOM "\tu7\t-\t"
		    PAUL "\textra\n");
	assert_int_equal(journal_reservations_read(f->q, out, &error), 0);
	assert_int_equal(out->len, 1);
	assert_string_equal(((struct journal_reservation *)
			     g_ptr_array_index(out, 0))->uid, "u1");
	g_ptr_array_free(out, TRUE);
}

static void test_expire(void **state)
{
	struct fixture *f = *state;
	GPtrArray *list = reservations();
	const char *error;
	unsigned int removed = 99;
	char *text;

	/* nothing to expire: no file appears */
	assert_int_equal(journal_expire(f->q, t("20141126T120000Z"), &removed,
					&error), 0);
	assert_int_equal(removed, 0);
	assert_null(read_table(f, "reservations"));

	g_ptr_array_add(list, resv(ROOM, "a", "20141126T090000Z", PAUL,
				   "20141126T090000Z", "20141126T120000Z"));
	g_ptr_array_add(list, resv(ROOM, "a", "20141126T110000Z", PAUL,
				   "20141126T110000Z", "20141126T130000Z"));
	g_ptr_array_add(list, resv(ROOM, "a", "20141127T090000Z", PAUL,
				   "20141127T090000Z", "20141127T100000Z"));
	assert_int_equal(journal_reservations_replace(f->q, ROOM, "a", list,
						      &error), 0);
	/* ended exactly now: gone; running or future: kept */
	assert_int_equal(journal_expire(f->q, t("20141126T120000Z"), &removed,
					&error), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(journal_expire(f->q, t("20141126T120000Z"), &removed,
					&error), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(journal_expire(f->q, t("20141126T130001Z"), &removed,
					&error), 0);
	assert_int_equal(removed, 1);
	text = read_table(f, "reservations");
	assert_string_equal(text, "20141127T090000Z\t20141127T100000Z\t" ROOM
			    "\ta\t20141127T090000Z\t" PAUL "\n");
	g_free(text);
	g_ptr_array_free(list, TRUE);
}

/* --- quotas, names, files ---------------------------------------------- */

static void test_quota_open_and_list(void **state)
{
	struct fixture *f = *state;
	struct journal_quota *q = NULL;
	GPtrArray *quotas = strings();
	char *error = NULL;

	/* a missing quota without create is 0, and makes nothing */
	assert_int_equal(journal_quota_open(f->j, "rooms", false, &q, &error),
			 0);
	assert_null(q);
	{
		char *p = g_build_filename(f->config->journal_dir, "rooms",
					   NULL);

		assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
		g_free(p);
	}
	assert_int_equal(journal_quota_open(f->j, "rooms", true, &q, &error),
			 1);
	journal_quota_close(&q);
	assert_null(q);
	assert_int_equal(journal_quota_open(f->j, "rooms", false, &q, &error),
			 1);
	journal_quota_close(&q);
	/* one quota twice in one process: an error, not a wait for itself */
	assert_int_equal(journal_quota_open(f->j, "Room@Example.com", true,
					    &q, &error), -1);
	assert_null(q);
	assert_non_null(strstr(error, "already open"));
	g_free(error);
	error = NULL;
	/* an address quota is found however the address is written */
	journal_quota_close(&f->q);
	assert_int_equal(journal_quota_open(f->j, "MAILTO:Room@Example.COM",
					    false, &q, &error), 1);
	journal_quota_close(&q);

	/* a planted non-canonical directory and files are not quotas */
	{
		char *p = g_build_filename(f->config->journal_dir, "%41", NULL);
		char *p2 = g_build_filename(f->config->journal_dir, "file",
					    NULL);

		assert_int_equal(g_mkdir(p, 0700), 0);
		assert_true(g_file_set_contents(p2, "", 0, NULL));
		g_free(p);
		g_free(p2);
	}
	assert_int_equal(journal_list_quotas(f->j, quotas, &error), 0);
	assert_int_equal(quotas->len, 2);
	assert_string_equal(g_ptr_array_index(quotas, 0), ROOM);
	assert_string_equal(g_ptr_array_index(quotas, 1), "rooms");

	/* unusable names */
	assert_int_equal(journal_quota_open(f->j, "", true, &q, &error), -1);
	assert_non_null(error);
	g_free(error);
	error = NULL;
	assert_int_equal(journal_quota_open(f->j, "a b", true, &q, &error), -1);
	g_free(error);
	error = NULL;
	{
		char *longname = g_strnfill(300, '/');

		assert_int_equal(journal_quota_open(f->j, longname, true, &q,
						    &error), -1);
		g_free(longname);
		g_free(error);
		error = NULL;
	}
	g_ptr_array_free(quotas, TRUE);
}

static void test_empty_journal_dir(void **state)
{
	struct fixture *f = *state;
	struct imip_config *config = imip_config_new_defaults();
	struct journal *j = NULL;
	GPtrArray *quotas = strings();
	char *error = NULL;

	(void)f;
	g_free(config->journal_dir);
	config->journal_dir = g_strdup("");
	assert_int_equal(journal_open(config, &j, &error), -1);
	assert_non_null(error);
	g_free(error);
	error = NULL;
	/* a journal_dir that does not exist yet lists no quota */
	g_free(config->journal_dir);
	config->journal_dir = g_build_filename(f->root, "absent", NULL);
	assert_int_equal(journal_open(config, &j, &error), 0);
	assert_int_equal(journal_list_quotas(j, quotas, &error), 0);
	assert_int_equal(quotas->len, 0);
	journal_close(&j);
	assert_null(j);
	imip_config_free(&config);
	g_ptr_array_free(quotas, TRUE);
}

/* Every path below `dir`. */
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

static void test_hostile_quota_names(void **state)
{
	static const char *const hostile[] = {
		"..", ".", "../../escape", "/etc", ".lock", "%2E", "a/b",
		"..%2F", "\xc3\xa9v\xc3\xa9nement",
	};
	struct fixture *f = *state;
	GPtrArray *quotas = strings(), *paths = strings();
	char *error = NULL;
	char *escape = g_build_filename(f->root, "escape", NULL);

	for (guint i = 0; i < G_N_ELEMENTS(hostile); i++) {
		struct journal_quota *q = NULL;
		const char *err;

		assert_int_equal(journal_quota_open(f->j, hostile[i], true, &q,
						    &error), 1);
		assert_int_equal(journal_limit_set(q, "*", 60, &err), 0);
		journal_quota_close(&q);
	}
	assert_false(g_file_test(escape, G_FILE_TEST_EXISTS));
	/* everything stayed one level below journal_dir */
	walk(f->root, paths);
	for (guint i = 0; i < paths->len; i++) {
		const char *p = g_ptr_array_index(paths, i);

		assert_true(g_str_has_prefix(p, f->config->journal_dir));
	}
	/* and each lists back as itself */
	assert_int_equal(journal_list_quotas(f->j, quotas, &error), 0);
	assert_int_equal(quotas->len, G_N_ELEMENTS(hostile) + 1);
	for (guint i = 0; i < G_N_ELEMENTS(hostile); i++) {
		bool found = false;

		for (guint k = 0; k < quotas->len; k++)
			found = found || strcmp(g_ptr_array_index(quotas, k),
						hostile[i]) == 0;
		assert_true(found);
	}
	g_free(escape);
	g_ptr_array_free(paths, TRUE);
	g_ptr_array_free(quotas, TRUE);
}

static void test_modes(void **state)
{
	struct fixture *f = *state;
	const char *error;
	char *path = g_build_filename(f->qdir, "limits", NULL);
	char *lock = g_build_filename(f->qdir, ".lock", NULL);
	GPtrArray *paths = strings();
	struct stat st;

	assert_int_equal(journal_limit_set(f->q, "*", 60, &error), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(stat(lock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(stat(f->qdir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0770);
	/* no temporary file left behind */
	walk(f->qdir, paths);
	for (guint i = 0; i < paths->len; i++)
		assert_null(strstr(g_ptr_array_index(paths, i), ".tmp."));
	g_ptr_array_free(paths, TRUE);
	g_free(path);
	g_free(lock);
}

static void test_errors_name_the_path(void **state)
{
	struct fixture *f = *state;
	GPtrArray *out = reservations();
	const char *error = NULL;
	char *path = g_build_filename(f->qdir, "reservations", NULL);

	/* a directory where the table should be */
	assert_int_equal(g_mkdir(path, 0700), 0);
	assert_int_equal(journal_reservations_read(f->q, out, &error), -1);
	assert_non_null(error);
	assert_int_equal(journal_expire(f->q, 0, NULL, &error), -1);
	assert_non_null(strstr(error, "reservations"));
	g_ptr_array_free(out, TRUE);
	g_free(path);
}

/* A forked child shares the parent's open file descriptions (flock(2)
   locks belong to them), so a child standing for "another delivery" must
   not keep the parent's descriptors. */
static void close_inherited_fds(int keep)
{
	for (int fd = 3; fd < 1024; fd++) {
		if (fd != keep)
			close(fd);
	}
}

/* A second process blocks in journal_quota_open() until the first closes;
   then it sees what the first wrote. */
static void test_lock_serialises_processes(void **state)
{
	struct fixture *f = *state;
	struct pollfd pfd;
	const char *error;
	int fds[2], status;
	pid_t pid;
	char c;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct journal *j = NULL;
		struct journal_quota *q = NULL;
		char *err = NULL;
		const char *cerr;
		long secs = 0;

		close_inherited_fds(fds[1]);
		if (journal_open(f->config, &j, &err) < 0 ||
		    journal_quota_open(j, ROOM, false, &q, &err) != 1)
			_exit(2);
		if (journal_limit_get(q, "*", &secs, &cerr) != 1 ||
		    secs != 120)
			_exit(3);
		(void)!write(fds[1], "L", 1);
		journal_quota_close(&q);
		journal_close(&j);
		_exit(0);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	/* held by us: the child must still be waiting */
	assert_int_equal(poll(&pfd, 1, 500), 0);
	assert_int_equal(journal_limit_set(f->q, "*", 120, &error), 0);
	journal_quota_close(&f->q);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 'L');
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fds[0]);
}

/* Locks of different quotas are independent. */
static void test_other_quota_not_blocked(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct journal *j = NULL;
		struct journal_quota *q = NULL;
		char *err = NULL;

		close_inherited_fds(-1);
		alarm(10);
		if (journal_open(f->config, &j, &err) < 0 ||
		    journal_quota_open(j, "other", true, &q, &err) != 1)
			_exit(2);
		journal_quota_close(&q);
		journal_close(&j);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_field_escaping(void **state)
{
	GString *s = g_string_new(NULL);
	char *v;
	bool ok;

	(void)state;
	store_name_field_append(s, "a\tb%c\n\x7f");
	assert_string_equal(s->str, "a%09b%25c%0A%7F");
	v = store_name_field_decode(s->str, false, &ok);
	assert_true(ok);
	assert_string_equal(v, "a\tb%c\n\x7f");
	g_free(v);
	g_string_truncate(s, 0);
	store_name_field_append(s, NULL);
	store_name_field_append(s, "-");
	assert_string_equal(s->str, "-%2D");
	assert_null(store_name_field_decode("-", true, &ok));
	assert_true(ok);
	v = store_name_field_decode("%2D", true, &ok);
	assert_string_equal(v, "-");
	g_free(v);
	assert_null(store_name_field_decode("%00", false, &ok));
	assert_false(ok);
	assert_null(store_name_field_decode("%4", false, &ok));
	assert_false(ok);
	g_string_free(s, TRUE);
}

/* A writer killed between creating a temporary file and renaming it:
   the next one to lock the quota removes the file, and only that. */
static void test_killed_writer_temporaries(void **state)
{
	struct fixture *f = *state;
	char *tmp = g_build_filename(f->qdir, ".tmp.Ab12Cd", NULL);
	char *other = g_build_filename(f->qdir, ".tmp.not-one-of-ours", NULL);
	char *error = NULL;

	journal_quota_close(&f->q);
	assert_true(g_file_set_contents(tmp, "half", -1, NULL));
	assert_true(g_file_set_contents(other, "keep", -1, NULL));
	assert_int_equal(journal_quota_open(f->j, ROOM, false, &f->q, &error), 1);
	assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
	assert_true(g_file_test(other, G_FILE_TEST_EXISTS));
	g_free(tmp);
	g_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_limits_round_trip),
		T(test_limits_bad_subjects_and_hand_edits),
		T(test_groups_round_trip),
		T(test_delegates_round_trip),
		T(test_reservations_round_trip),
		T(test_reservations_replace_semantics),
		T(test_reservations_damaged_lines_skipped),
		T(test_expire),
		T(test_quota_open_and_list),
		T(test_empty_journal_dir),
		T(test_hostile_quota_names),
		T(test_modes),
		T(test_errors_name_the_path),
		T(test_lock_serialises_processes),
		T(test_other_quota_not_blocked),
		T(test_killed_writer_temporaries),
		cmocka_unit_test(test_field_escaping),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
