/* The file store's free/busy tables (store-file-fb.c, docs/store.md 3.3):
   month files and the UID index, replace_uid across months, long
   periods, window reads at month edges, tables of the earlier
   one-file layout, and the reverse index of the freebusy-other tables
   (which tables hold a UID), also in a store written without it. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <glib.h>

#include "test-tmp.h"
#include "clock.h"
#include "config.h"
#include "store.h"
#include "freebusy.h"

#define USER "vincent.vole@example.com"

struct fixture {
	char *root;
	char *table;		/* <user>/freebusy */
	struct imip_config *config;
	struct store *store;
	struct store_user *su;
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	char *error = NULL;

	umask(007);
	f->config = test_tmp_config("test-store-fb", &f->root);
	f->table = g_build_filename(f->config->store_dir, USER, "freebusy",
				    NULL);
	assert_int_equal(store_open(f->config, &f->store, &error), 0);
	assert_int_equal(store_user_open(f->store, USER, STORE_OPEN_CREATE,
					 &f->su, &error), 1);
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
	g_free(f->table);
	g_free(f);
	return 0;
}

static time_t t_of(const char *text)
{
	time_t t;

	assert_true(imip_clock_parse_utc(text, &t));
	return t;
}

static void add(struct fb_list *l, const char *uid, const char *start,
		const char *end)
{
	struct fb_period p = { .start = t_of(start), .end = t_of(end),
			       .uid = (char *)uid, .transp = (char *)"OPAQUE" };

	fb_list_add(l, &p);
}

/* The periods as "start-end uid" lines. */
static char *summary(const struct fb_list *l)
{
	GString *out = g_string_new(NULL);
	char a[17], b[17];

	for (guint i = 0; i < l->periods->len; i++) {
		const struct fb_period *p = l->periods->pdata[i];

		g_string_append_printf(out, "%s-%s %s\n",
				       imip_clock_format_utc(p->start, a),
				       imip_clock_format_utc(p->end, b),
				       p->uid != NULL ? p->uid : "(none)");
	}
	return g_string_free(out, FALSE);
}

static char *window(struct fixture *f, const char *start, const char *end)
{
	struct fb_list *l = fb_list_new();
	const char *error;
	char *s;

	assert_int_equal(store_fb_read_window(f->su, STORE_FB_OWN, NULL,
					      t_of(start), t_of(end), l,
					      &error), 0);
	s = summary(l);
	fb_list_free(&l);
	return s;
}

static bool exists(struct fixture *f, const char *name)
{
	char *path = g_build_filename(f->table, name, NULL);
	bool ret = g_file_test(path, G_FILE_TEST_EXISTS);

	g_free(path);
	return ret;
}

static char *read_file(struct fixture *f, const char *name)
{
	char *path = g_build_filename(f->table, name, NULL), *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		text = NULL;
	g_free(path);
	return text;
}

static char *shard_of(const char *uid)
{
	char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, uid, -1);
	char *name = g_strconcat("uids/", NULL);
	char *path = g_strdup_printf("%s%.2s", name, sum);

	g_free(sum);
	g_free(name);
	return path;
}

static int replace(struct fixture *f, const char *uid, struct fb_list *l)
{
	const char *error;

	return store_fb_replace_uid(f->su, STORE_FB_OWN, NULL, uid, l, &error);
}

static void test_replace_uid_across_months(void **state)
{
	struct fixture *f = *state;
	struct fb_list *a = fb_list_new(), *b = fb_list_new();
	char *s, *ix, *shard = shard_of("a");

	add(a, "a", "20200131T230000Z", "20200201T010000Z");	/* 2 months */
	add(a, "a", "20200315T100000Z", "20200315T110000Z");
	add(b, "b", "20200201T090000Z", "20200201T100000Z");
	assert_int_equal(replace(f, "a", a), 1);
	assert_int_equal(replace(f, "b", b), 1);
	/* the same periods again change nothing */
	assert_int_equal(replace(f, "a", a), 0);
	assert_true(exists(f, "2020-01"));
	assert_true(exists(f, "2020-02"));
	assert_true(exists(f, "2020-03"));
	ix = read_file(f, shard);
	assert_non_null(strstr(ix, "a\t2020-01\t2020-02\t2020-03\n"));
	g_free(ix);
	/* a period in two month files is read once */
	s = window(f, "20200101T000000Z", "20200401T000000Z");
	assert_string_equal(s,
		"20200131T230000Z-20200201T010000Z a\n"
		"20200201T090000Z-20200201T100000Z b\n"
		"20200315T100000Z-20200315T110000Z a\n");
	g_free(s);
	/* a moves to April only: its old months lose it, b stays */
	fb_list_clear(a);
	add(a, "a", "20200401T100000Z", "20200401T110000Z");
	assert_int_equal(replace(f, "a", a), 1);
	assert_false(exists(f, "2020-01"));
	assert_false(exists(f, "2020-03"));
	assert_true(exists(f, "2020-02"));
	s = window(f, "20000101T000000Z", "20300101T000000Z");
	assert_string_equal(s,
		"20200201T090000Z-20200201T100000Z b\n"
		"20200401T100000Z-20200401T110000Z a\n");
	g_free(s);
	/* removing a UID's last period removes its index line */
	fb_list_clear(a);
	assert_int_equal(replace(f, "a", a), 1);
	ix = read_file(f, shard);
	assert_true(ix == NULL || strstr(ix, "a\t") == NULL);
	g_free(ix);
	assert_false(exists(f, "2020-04"));
	assert_int_equal(replace(f, "a", a), 0);
	/* and the last period of the table its directory */
	fb_list_clear(b);
	assert_int_equal(replace(f, "b", b), 1);
	assert_false(g_file_test(f->table, G_FILE_TEST_EXISTS));
	g_free(shard);
	fb_list_free(&a);
	fb_list_free(&b);
}

static void test_window_edges(void **state)
{
	struct fixture *f = *state;
	struct fb_list *l = fb_list_new();
	char *s;

	add(l, "e", "20200131T230000Z", "20200201T000000Z");	/* ends at the edge */
	add(l, "e", "20200201T000000Z", "20200201T010000Z");	/* starts at it */
	add(l, "e", "20200115T000000Z", "20200415T000000Z");	/* spans four */
	assert_int_equal(replace(f, "e", l), 1);
	/* the month after the edge only */
	s = window(f, "20200201T000000Z", "20200301T000000Z");
	assert_string_equal(s,
		"20200115T000000Z-20200415T000000Z e\n"
		"20200201T000000Z-20200201T010000Z e\n");
	g_free(s);
	/* the month before it */
	s = window(f, "20200101T000000Z", "20200201T000000Z");
	assert_string_equal(s,
		"20200115T000000Z-20200415T000000Z e\n"
		"20200131T230000Z-20200201T000000Z e\n");
	g_free(s);
	/* a window inside a long period's last month */
	s = window(f, "20200410T000000Z", "20200411T000000Z");
	assert_string_equal(s, "20200115T000000Z-20200415T000000Z e\n");
	g_free(s);
	/* empty windows and windows after everything */
	s = window(f, "20200415T000000Z", "20200501T000000Z");
	assert_string_equal(s, "");
	g_free(s);
	s = window(f, "20200201T000000Z", "20200201T000000Z");
	assert_string_equal(s, "");
	g_free(s);
	fb_list_free(&l);
}

static void test_long_period(void **state)
{
	struct fixture *f = *state;
	struct fb_list *l = fb_list_new();
	char *s;
	GPtrArray *names;
	GDir *d;

	/* longer than 12 months: one "long" file, not a file per month */
	add(l, "forever", "19700101T000000Z", "99991231T235959Z");
	assert_int_equal(replace(f, "forever", l), 1);
	assert_true(exists(f, "long"));
	names = g_ptr_array_new();
	d = g_dir_open(f->table, 0, NULL);
	assert_non_null(d);
	while (g_dir_read_name(d) != NULL)
		g_ptr_array_add(names, NULL);
	g_dir_close(d);
	assert_int_equal(names->len, 2);	/* long, uids */
	g_ptr_array_free(names, TRUE);
	s = window(f, "20200101T000000Z", "20200102T000000Z");
	assert_string_equal(s, "19700101T000000Z-99991231T235959Z forever\n");
	g_free(s);
	fb_list_clear(l);
	assert_int_equal(replace(f, "forever", l), 1);
	assert_false(exists(f, "long"));
	fb_list_free(&l);
}

static void test_read_uid_and_whole(void **state)
{
	struct fixture *f = *state;
	struct fb_list *l = fb_list_new(), *out = fb_list_new();
	const char *error;
	char *s;

	add(l, "u", "20200131T230000Z", "20200201T010000Z");
	add(l, "u", "20210601T100000Z", "20210601T110000Z");
	assert_int_equal(replace(f, "u", l), 1);
	fb_list_clear(l);
	add(l, NULL, "20200201T050000Z", "20200201T060000Z");
	assert_int_equal(replace(f, NULL, l), 1);
	assert_int_equal(store_fb_read_uid(f->su, STORE_FB_OWN, NULL, "u", out,
					   &error), 0);
	s = summary(out);
	assert_string_equal(s,
		"20200131T230000Z-20200201T010000Z u\n"
		"20210601T100000Z-20210601T110000Z u\n");
	g_free(s);
	assert_int_equal(store_fb_read_uid(f->su, STORE_FB_OWN, NULL, "", out,
					   &error), 0);
	s = summary(out);
	assert_string_equal(s, "20200201T050000Z-20200201T060000Z (none)\n");
	g_free(s);
	/* a period of another UID is refused */
	assert_int_equal(replace(f, "v", l), -1);
	/* the whole table: every period once */
	assert_int_equal(store_fb_read(f->su, STORE_FB_OWN, NULL, out, &error),
			 0);
	assert_int_equal(out->periods->len, 3);
	/* a whole write replaces all and leaves no stale month */
	fb_list_clear(l);
	add(l, "w", "20220101T100000Z", "20220101T110000Z");
	assert_int_equal(store_fb_write(f->su, STORE_FB_OWN, NULL, l, &error),
			 0);
	assert_false(exists(f, "2020-01"));
	assert_false(exists(f, "2021-06"));
	assert_int_equal(store_fb_read(f->su, STORE_FB_OWN, NULL, out, &error),
			 0);
	s = summary(out);
	assert_string_equal(s, "20220101T100000Z-20220101T110000Z w\n");
	g_free(s);
	fb_list_free(&l);
	fb_list_free(&out);
}

static void test_old_layout_converted(void **state)
{
	struct fixture *f = *state;
	static const char old[] =
		"20200101T100000Z\t20200101T110000Z\tx\tOPAQUE\t\t\t\n"
		"20200301T100000Z\t20200301T110000Z\ty\tOPAQUE\t\t\t\n";
	struct fb_list *l = fb_list_new();
	char *s, *pending;

	/* the one-file table of an earlier version reads as before */
	assert_true(g_file_set_contents(f->table, old, -1, NULL));
	s = window(f, "20200201T000000Z", "20200401T000000Z");
	assert_string_equal(s, "20200301T100000Z-20200301T110000Z y\n");
	g_free(s);
	/* a crash during conversion: .freebusy.v1 is read */
	pending = g_build_filename(f->config->store_dir, USER, ".freebusy.v1",
				   NULL);
	assert_int_equal(rename(f->table, pending), 0);
	assert_int_equal(g_mkdir(f->table, 0770), 0);
	s = window(f, "20200101T000000Z", "20200401T000000Z");
	assert_string_equal(s,
		"20200101T100000Z-20200101T110000Z x\n"
		"20200301T100000Z-20200301T110000Z y\n");
	g_free(s);
	/* the first write converts */
	add(l, "x", "20200102T100000Z", "20200102T110000Z");
	assert_int_equal(replace(f, "x", l), 1);
	assert_false(g_file_test(pending, G_FILE_TEST_EXISTS));
	assert_true(g_file_test(f->table, G_FILE_TEST_IS_DIR));
	s = window(f, "20200101T000000Z", "20200401T000000Z");
	assert_string_equal(s,
		"20200102T100000Z-20200102T110000Z x\n"
		"20200301T100000Z-20200301T110000Z y\n");
	g_free(s);
	g_free(pending);
	fb_list_free(&l);
}

/* --- the reverse index of freebusy-other ---------------------------------- */

#define A "anna.ant@example.com"
#define B "bill.bee@example.com"
#define C "carl.crab@example.com"

static char *user_file(struct fixture *f, const char *name)
{
	char *path = g_build_filename(f->config->store_dir, USER, name, NULL);
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		text = NULL;
	g_free(path);
	return text;
}

/* The reverse index file of a UID (freebusy-other-uids/XX). */
static char *others_shard(const char *uid)
{
	char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, uid, -1);
	char *name = g_strdup_printf("freebusy-other-uids/%.2s", sum);

	g_free(sum);
	return name;
}

/* store_fb_others_of_uid() as "a,b". */
static char *others_of(struct fixture *f, const char *uid)
{
	GPtrArray *others = g_ptr_array_new_with_free_func(g_free);
	const char *error;
	char *s;

	assert_int_equal(store_fb_others_of_uid(f->su, uid, others, &error), 0);
	g_ptr_array_add(others, NULL);
	s = g_strjoinv(",", (char **)others->pdata);
	g_ptr_array_free(others, TRUE);
	return s;
}

static void other_replace(struct fixture *f, const char *other,
			  const char *uid, const char *start, const char *end)
{
	struct fb_list *l = fb_list_new();
	const char *error;

	if (start != NULL)
		add(l, uid, start, end);
	assert_true(store_fb_replace_uid(f->su, STORE_FB_OTHER, other, uid, l,
					 &error) >= 0);
	fb_list_free(&l);
}

static void assert_user_file(struct fixture *f, const char *name,
			     const char *want)
{
	char *text = user_file(f, name);

	if (want == NULL)
		assert_null(text);
	else
		assert_string_equal(text, want);
	g_free(text);
}

static void assert_others(struct fixture *f, const char *uid,
			  const char *want)
{
	char *s = others_of(f, uid);

	assert_string_equal(s, want);
	g_free(s);
}

static void test_others_index_follows_uid(void **state)
{
	struct fixture *f = *state;
	char *shard = others_shard("e1");

	other_replace(f, A, "e1", "20200101T100000Z", "20200101T110000Z");
	other_replace(f, C, "e2", "20200101T100000Z", "20200101T110000Z");
	assert_others(f, "e1", A);
	assert_user_file(f, "freebusy-other-uids/version", "1\n");
	assert_user_file(f, shard, "e1\t" A "\n");
	/* the UID moves from A to B: both named while it moves, then B */
	other_replace(f, B, "e1", "20200201T100000Z", "20200201T110000Z");
	assert_user_file(f, shard, "e1\t" A "\t" B "\n");
	other_replace(f, A, "e1", NULL, NULL);
	assert_others(f, "e1", B);
	assert_user_file(f, shard, "e1\t" B "\n");
	/* A's table went with its last period */
	{
		char *a = g_build_filename(f->config->store_dir, USER,
					   "freebusy-other", A, NULL);

		assert_false(g_file_test(a, G_FILE_TEST_EXISTS));
		g_free(a);
	}
	/* removed everywhere: no line, no file; other UIDs unaffected */
	other_replace(f, B, "e1", NULL, NULL);
	assert_others(f, "e1", "");
	assert_user_file(f, shard, NULL);
	assert_others(f, "e2", C);
	assert_user_file(f, "freebusy-other-uids/version", "1\n");
	g_free(shard);
}

static void test_others_index_whole_write(void **state)
{
	struct fixture *f = *state;
	struct fb_list *l = fb_list_new();
	const char *error;

	assert_others(f, "e1", "");
	add(l, "e1", "20200101T100000Z", "20200101T110000Z");
	add(l, "e2", "20200102T100000Z", "20200102T110000Z");
	assert_int_equal(store_fb_write(f->su, STORE_FB_OTHER, A, l, &error), 0);
	assert_int_equal(store_fb_write(f->su, STORE_FB_OTHER, B, l, &error), 0);
	assert_others(f, "e1", A "," B);
	fb_list_clear(l);
	add(l, "e2", "20200102T100000Z", "20200102T110000Z");
	assert_int_equal(store_fb_write(f->su, STORE_FB_OTHER, A, l, &error), 0);
	assert_others(f, "e1", B);
	assert_others(f, "e2", A "," B);
	fb_list_clear(l);
	assert_int_equal(store_fb_write(f->su, STORE_FB_OTHER, B, l, &error), 0);
	assert_others(f, "e1", "");
	assert_others(f, "e2", A);
	fb_list_free(&l);
}

/* A store written before the reverse index existed: directory tables
   and a one-file table of the earlier layout, no freebusy-other-uids/. */
static void test_others_index_missing(void **state)
{
	struct fixture *f = *state;
	char *index = g_build_filename(f->config->store_dir, USER,
				       "freebusy-other-uids", NULL);
	char *one_file = g_build_filename(f->config->store_dir, USER,
					  "freebusy-other", C, NULL);
	char *error = NULL;

	other_replace(f, A, "e1", "20200101T100000Z", "20200101T110000Z");
	other_replace(f, B, "e2", "20200101T100000Z", "20200101T110000Z");
	test_rm_rf(index);
	assert_true(g_file_set_contents(one_file,
		"20200301T100000Z\t20200301T110000Z\te1\tOPAQUE\t\t\t\n",
		-1, NULL));
	/* a reader gets every party, and writes nothing */
	store_user_close(&f->su);
	assert_int_equal(store_user_open(f->store, USER, STORE_OPEN_READONLY,
					 &f->su, &error), 1);
	assert_others(f, "e1", A "," B "," C);
	assert_false(g_file_test(index, G_FILE_TEST_EXISTS));
	store_user_close(&f->su);
	/* the first writer makes the index from the tables */
	assert_int_equal(store_user_open(f->store, USER, 0, &f->su, &error), 1);
	assert_others(f, "e1", A "," C);
	assert_others(f, "e2", B);
	assert_user_file(f, "freebusy-other-uids/version", "1\n");
	/* and keeps it from then on: e1 leaves the one-file table */
	other_replace(f, C, "e1", NULL, NULL);
	assert_others(f, "e1", A);
	g_free(index);
	g_free(one_file);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_replace_uid_across_months),
		T(test_window_edges),
		T(test_long_period),
		T(test_read_uid_and_whole),
		T(test_old_layout_converted),
		T(test_others_index_follows_uid),
		T(test_others_index_whole_write),
		T(test_others_index_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
