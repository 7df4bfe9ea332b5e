/* The schema files of the PostgreSQL store (pg-schema.h): which files of a
   directory are schema files, in which order, and the installation
   mistakes that are refused.  No server needed (test-pg-conn.c and
   tests/integration/postgresql-schema.sh apply them). */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

#include "pg-schema.h"
#include "test-tmp.h"

/* A directory holding the named (empty) files; caller removes it. */
static char *make_dir(const char *const *names)
{
	char *dir = g_dir_make_tmp("imip-pg-schema-XXXXXX", NULL);

	assert_non_null(dir);
	for (const char *const *n = names; *n != NULL; n++) {
		char *path = g_build_filename(dir, *n, NULL);

		assert_true(g_file_set_contents(path, "", 0, NULL));
		g_free(path);
	}
	return dir;
}

static void list_fails(const char *const *names, const char *needle)
{
	char *dir = make_dir(names), *error = NULL;
	GPtrArray *files = NULL;

	assert_int_equal(pg_schema_list(dir, &files, &error), -1);
	assert_null(files);
	assert_non_null(error);
	if (strstr(error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", error, needle);
	g_free(error);
	test_rm_rf(dir);
	g_free(dir);
}

/* The shipped directory: starts at 001, reaches PG_SCHEMA_VERSION. */
static void test_shipped_schema(void **state)
{
	GPtrArray *files = NULL;
	char *error = NULL;
	const struct pg_schema_file *first, *last;

	(void)state;
	if (pg_schema_list(TEST_SCHEMA_DIR, &files, &error) < 0)
		fail_msg("%s", error);
	assert_true(files->len >= 1);
	first = g_ptr_array_index(files, 0);
	last = g_ptr_array_index(files, files->len - 1);
	assert_string_equal(first->name, "001-initial.sql");
	assert_int_equal(first->version, 1);
	assert_int_equal(last->version, PG_SCHEMA_VERSION);
	assert_true(g_str_has_suffix(first->path, "/001-initial.sql"));
	g_ptr_array_unref(files);
}

/* Sorted by version whatever the directory order; other files skipped. */
static void test_order_and_other_files(void **state)
{
	static const char *const names[] = {
		"010-ten.sql", "002-two_b.sql", "README", "001-one.sql",
		"003-three.sql", "004-four.sql", "005-five.sql", "006-six.sql",
		"007-seven.sql", "008-eight.sql", "009-nine.sql",
		"meson.build", "001-one.sql~", NULL,
	};
	char *dir = make_dir(names), *error = NULL;
	GPtrArray *files = NULL;

	(void)state;
	if (pg_schema_list(dir, &files, &error) < 0)
		fail_msg("%s", error);
	assert_int_equal(files->len, 10);
	for (guint i = 0; i < files->len; i++) {
		const struct pg_schema_file *f = g_ptr_array_index(files, i);

		assert_int_equal(f->version, i + 1);
	}
	assert_string_equal(((struct pg_schema_file *)
			     g_ptr_array_index(files, 1))->name,
			    "002-two_b.sql");
	g_ptr_array_unref(files);
	test_rm_rf(dir);
	g_free(dir);
}

static void test_mistakes_refused(void **state)
{
	static const char *const gap[] = {
		"001-a.sql", "002-b.sql", "004-d.sql", NULL,
	};
	static const char *const twice[] = {
		"001-a.sql", "002-b.sql", "002-c.sql", NULL,
	};
	static const char *const late_start[] = { "002-b.sql", NULL };
	static const char *const zero[] = { "000-a.sql", "001-b.sql", NULL };
	static const char *const bad_names[][3] = {
		{ "001-a.sql", "02-b.sql", NULL },
		{ "001-a.sql", "002_b.sql", NULL },
		{ "001-a.sql", "002-.sql", NULL },
		{ "001-a.sql", "002-b c.sql", NULL },
		{ "001-a.sql", "0002-b.sql", NULL },
	};
	static const char *const none[] = { "README", NULL };

	(void)state;
	list_fails(gap, "schema version 3 is missing (next file: 004-d.sql)");
	list_fails(twice, "two schema files of version 2");
	list_fails(late_start, "schema version 1 is missing");
	list_fails(zero, "000-a.sql: not a schema file name");
	for (size_t i = 0; i < G_N_ELEMENTS(bad_names); i++)
		list_fails(bad_names[i], "not a schema file name");
	list_fails(none, "no schema files");
}

static void test_missing_directory(void **state)
{
	GPtrArray *files = NULL;
	char *error = NULL;

	(void)state;
	assert_int_equal(pg_schema_list("/nonexistent/imip-schema", &files,
					&error), -1);
	assert_non_null(strstr(error, "cannot read the schema directory"));
	g_free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_schema),
		cmocka_unit_test(test_order_and_other_files),
		cmocka_unit_test(test_mistakes_refused),
		cmocka_unit_test(test_missing_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
