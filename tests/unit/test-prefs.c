/* Preferences: the original's table, value checks, and the precedence
   user > site default (imip.conf) > built-in. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "test-tmp.h"
#include "config.h"
#include "prefs.h"
#include "store.h"

static void assert_valid(const char *name, const char *value)
{
	const char *reason = "unset";

	if (!prefs_value_is_valid(prefs_lookup(name), value, &reason))
		fail_msg("%s = \"%s\" refused: %s", name, value, reason);
	assert_null(reason);
}

static void assert_invalid(const char *name, const char *value)
{
	const char *reason = NULL;

	if (prefs_value_is_valid(prefs_lookup(name), value, &reason))
		fail_msg("%s = \"%s\" accepted", name, value);
	assert_non_null(reason);
}

static void test_table(void **state)
{
	static const struct {
		const char *name, *def;
	} expected[] = {
		{ "CN", NULL }, { "LANG", "en" }, { "TZID", NULL },
		{ "acl", NULL }, { "add_method_response", "refresh" },
		{ "event_refreshing", "never" },
		{ "forwarded_invitations", "ignore" },
		{ "freebusy_bundling", "never" },
		{ "freebusy_messages", "none" }, { "freebusy_offers", NULL },
		{ "freebusy_publishing", "no" }, { "freebusy_sharing", "no" },
		{ "incoming", "summary-wraps-message" },
		{ "organiser_replacement", "attendee" },
		{ "participating", "participate" },
		{ "permitted_times", NULL },
		{ "recurring_conflicts", "0 0" },
		{ "scheduling_function", "schedule_in_freebusy" },
		{ "trusted_sent_by", "known" },
	};
	size_t n = 0;

	(void)state;
	while (prefs_table[n].name != NULL)
		n++;
	assert_int_equal(n, G_N_ELEMENTS(expected));
	for (size_t i = 0; i < n; i++) {
		const struct prefs_def *def = prefs_lookup(expected[i].name);

		assert_non_null(def);
		assert_string_equal(def->name, expected[i].name);
		if (expected[i].def == NULL)
			assert_null(def->default_value);
		else
			assert_string_equal(def->default_value,
					    expected[i].def);
		/* every built-in default passes its own check */
		if (def->default_value != NULL)
			assert_valid(def->name, def->default_value);
	}
	assert_null(prefs_lookup("cn"));
	assert_null(prefs_lookup("nosuch"));
	assert_null(prefs_lookup(NULL));
	assert_int_equal(prefs_lookup("acl")->kind, PREFS_KIND_LINES);
	assert_int_equal(prefs_lookup("scheduling_function")->kind,
			 PREFS_KIND_LINES);
}

static void test_enums(void **state)
{
	(void)state;
	assert_valid("add_method_response", "add");
	assert_valid("add_method_response", "ignore");
	assert_invalid("add_method_response", "Add");
	assert_valid("event_refreshing", "always");
	assert_invalid("event_refreshing", "sometimes");
	assert_valid("freebusy_messages", "notify");
	assert_valid("freebusy_publishing", "publish");
	assert_invalid("freebusy_publishing", "yes");
	assert_valid("freebusy_sharing", "share");
	assert_valid("incoming", "message-only");
	assert_valid("incoming", "summary-then-message");
	assert_valid("incoming", "message-then-summary");
	assert_valid("incoming", "summary-only");
	assert_invalid("incoming", "summary");
	assert_valid("organiser_replacement", "any");
	assert_valid("organiser_replacement", "never");
	assert_valid("trusted_sent_by", "same-domain");
	assert_valid("participating", "no");
	assert_invalid("participating", "");
	assert_invalid("participating", "no\n");
}

static void test_kinds(void **state)
{
	(void)state;
	assert_valid("CN", "Paul Boddie");
	assert_valid("CN", "J\xc3\xbcrgen");
	assert_invalid("CN", "");
	assert_invalid("CN", "two\nlines");
	assert_invalid("CN", "bad \xff utf8");

	assert_valid("LANG", "en");
	assert_valid("LANG", "fr_FR");
	assert_valid("LANG", "pt-BR");
	assert_valid("LANG", "sr-Latn-RS");
	assert_invalid("LANG", "e");
	assert_invalid("LANG", "engl");
	assert_invalid("LANG", "en_");
	assert_invalid("LANG", "en_US.UTF-8");
	assert_invalid("LANG", "../x");

	assert_valid("TZID", "Europe/Oslo");
	assert_valid("TZID", "UTC");
	assert_valid("TZID", "America/New_York");
	assert_invalid("TZID", "Europe/Nowhere");
	assert_invalid("TZID", "../../etc/passwd");

	assert_valid("freebusy_offers", "PT10M");
	assert_valid("freebusy_offers", "P1D");
	assert_invalid("freebusy_offers", "10 minutes");
	assert_invalid("freebusy_offers", "PT0S");
	assert_invalid("freebusy_offers", "-PT10M");

	assert_valid("permitted_times", "0,15,30,45");
	assert_valid("permitted_times", "10,12,14,16:0,30");
	assert_valid("permitted_times", ":0,30");
	assert_valid("permitted_times", "8:0:0");
	assert_valid("permitted_times", "8::");
	assert_valid("permitted_times", "23:59:59");
	assert_invalid("permitted_times", "60");
	assert_invalid("permitted_times", "24:0");
	assert_invalid("permitted_times", "1:2:3:4");
	assert_invalid("permitted_times", "0,,15");
	assert_invalid("permitted_times", "a");
	assert_invalid("permitted_times", "-1");
	assert_invalid("permitted_times", "::");

	assert_valid("acl", "reject\naccept organiser paul.boddie@example.com");
	assert_valid("scheduling_function",
		     "schedule_in_freebusy\nsame_domain_only");
	assert_invalid("acl", "accept\x01");

	assert_invalid("nosuch", "x");
}

/* --- precedence, with a real store in a temporary directory ------------ */

struct fixture {
	char *root;
	struct imip_config *config;
	struct store *store;
	struct store_user *su;
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	char *error = NULL;
	const char *text = "default_freebusy_sharing = share\n"
		"default_TZID = Europe/Oslo\n";

	f->root = g_dir_make_tmp("test-prefs-XXXXXX", NULL);
	assert_int_equal(imip_config_parse(text, strlen(text), "t", &f->config,
					   &error), 0);
	g_free(f->config->store_dir);
	g_free(f->config->preferences_dir);
	g_free(f->config->static_dir);
	f->config->store_dir = g_build_filename(f->root, "store", NULL);
	f->config->preferences_dir = g_build_filename(f->root, "prefs", NULL);
	f->config->static_dir = g_build_filename(f->root, "static", NULL);
	assert_int_equal(store_open(f->config, &f->store, &error), 0);
	assert_int_equal(store_user_open(f->store, "vincent.vole@example.com",
					 STORE_OPEN_CREATE, &f->su, &error),
			 1);
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

static void assert_pref(struct fixture *f, const char *name,
			const char *expected)
{
	char *v = prefs_get(f->config, f->su, name);

	if (expected == NULL)
		assert_null(v);
	else
		assert_string_equal(v, expected);
	g_free(v);
}

static void test_precedence(void **state)
{
	struct fixture *f = *state;
	const char *error;

	/* built-in */
	assert_pref(f, "incoming", "summary-wraps-message");
	assert_pref(f, "CN", NULL);
	/* site default beats built-in */
	assert_pref(f, "freebusy_sharing", "share");
	/* user beats site default */
	assert_int_equal(store_pref_set(f->su, "freebusy_sharing", "no",
					&error), 0);
	assert_pref(f, "freebusy_sharing", "no");
	assert_true(prefs_is(f->config, f->su, "freebusy_sharing", "no"));
	assert_false(prefs_is(f->config, f->su, "freebusy_sharing", "share"));
	/* user beats built-in */
	assert_int_equal(store_pref_set(f->su, "incoming", "summary-only",
					&error), 0);
	assert_pref(f, "incoming", "summary-only");
	assert_int_equal(store_pref_set(f->su, "CN", "Vincent Vole", &error),
			 0);
	assert_pref(f, "CN", "Vincent Vole");
	/* a bad hand edit falls back to the default */
	assert_int_equal(store_pref_set(f->su, "participating", "perhaps",
					&error), 0);
	assert_pref(f, "participating", "participate");
	/* without a user store: site default, then built-in */
	{
		char *v = prefs_get(f->config, NULL, "freebusy_sharing");

		assert_string_equal(v, "share");
		g_free(v);
		v = prefs_get(NULL, NULL, "freebusy_sharing");
		assert_string_equal(v, "no");
		g_free(v);
	}
	assert_pref(f, "nosuch", NULL);
	assert_false(prefs_is(f->config, f->su, "nosuch", "x"));
}

static void test_tzid_falls_back_to_config(void **state)
{
	struct fixture *f = *state;
	const char *error;
	char *v;

	/* default_TZID (site preference default) wins over default_tzid */
	assert_pref(f, "TZID", "Europe/Oslo");
	g_hash_table_remove(f->config->pref_defaults, "TZID");
	g_free(f->config->default_tzid);
	f->config->default_tzid = g_strdup("America/New_York");
	assert_pref(f, "TZID", "America/New_York");
	assert_int_equal(store_pref_set(f->su, "TZID", "Europe/Berlin",
					&error), 0);
	assert_pref(f, "TZID", "Europe/Berlin");
	v = prefs_get(NULL, NULL, "TZID");
	assert_string_equal(v, "UTC");
	g_free(v);
}

static void test_multiline_pref_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *error;

	assert_int_equal(store_pref_set(f->su, "scheduling_function",
					"schedule_in_freebusy 2\n"
					"same_domain_only", &error), 0);
	assert_pref(f, "scheduling_function",
		    "schedule_in_freebusy 2\nsame_domain_only");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test_setup_teardown(test_precedence, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tzid_falls_back_to_config,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiline_pref_round_trip,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
