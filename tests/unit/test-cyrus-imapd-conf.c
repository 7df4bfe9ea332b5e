/* cyrus-imapd-conf: what the annotator reads from Cyrus's imapd.conf, and
   whether Cyrus will accept our two message annotations (an annotation it
   does not know makes it bounce the mail, so "yes" must be sure). */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "cyrus-imapd-conf.h"
#include "test-tmp.h"

static const char *const entries[] = {
	"/vendor/imip-agent/outcome",
	"/vendor/imip-agent/reason",
	NULL,
};

/* What conf/cyrus/annotations.conf ships */
#define SHIPPED \
	"/vendor/imip-agent/outcome,message,string,backend,value.shared,\n" \
	"/vendor/imip-agent/reason,message,string,backend,value.shared,\n"

struct fixture {
	char *root;
	char *conf;	/* <root>/imapd.conf */
	char *defs;	/* <root>/annotations.conf */
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);

	f->root = g_dir_make_tmp("test-cyrus-imapd-conf-XXXXXX", NULL);
	assert_non_null(f->root);
	f->conf = g_build_filename(f->root, "imapd.conf", NULL);
	f->defs = g_build_filename(f->root, "annotations.conf", NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	test_rm_rf(f->root);
	g_free(f->root);
	g_free(f->conf);
	g_free(f->defs);
	g_free(f);
	return 0;
}

static struct cyrus_imapd_conf *read_conf(const struct fixture *f,
					  const char *text)
{
	struct cyrus_imapd_conf *conf;
	char *error = NULL;

	assert_true(g_file_set_contents(f->conf, text, -1, NULL));
	conf = cyrus_imapd_conf_read(f->conf, &error);
	if (conf == NULL)
		fail_msg("reading imapd.conf failed: %s", error);
	assert_null(error);
	return conf;
}

static void test_values(void **state)
{
	struct fixture *f = *state;
	struct cyrus_imapd_conf *conf = read_conf(f,
		"# Cyrus IMAP configuration\n"
		"configdirectory: /var/lib/cyrus\n"
		"partition-default: /var/spool/cyrus/mail\n"
		"\n"
		"   # indented comment: unixhierarchysep: no\n"
		"unixhierarchysep: yes\n"
		"defaultdomain:   Example.COM   \n"
		"annotation_definitions: /etc/cyrus/annotations.conf\n"
		"annotation_allow_undefined: no\n"
		"annotation_callout: /run/imip-agent/cyrus-annotator.sock\n"
		"line without a colon\n"
		": no key\n");

	assert_int_equal(conf->unixhierarchysep, 1);
	assert_string_equal(conf->defaultdomain, "example.com");
	assert_string_equal(conf->annotation_definitions,
			    "/etc/cyrus/annotations.conf");
	assert_false(conf->annotation_allow_undefined);
	cyrus_imapd_conf_free(&conf);
	assert_null(conf);
	cyrus_imapd_conf_free(&conf);
}

static void test_unset_values(void **state)
{
	struct fixture *f = *state;
	struct cyrus_imapd_conf *conf;

	conf = read_conf(f, "");
	assert_int_equal(conf->unixhierarchysep, -1);
	assert_null(conf->defaultdomain);
	assert_null(conf->annotation_definitions);
	assert_false(conf->annotation_allow_undefined);
	cyrus_imapd_conf_free(&conf);

	/* commented out, or another option that merely contains the name */
	conf = read_conf(f, "#unixhierarchysep: no\n"
			 "# defaultdomain: example.com\n"
			 "x_defaultdomain: example.org\n"
			 "annotation_definitions_old: /x\n"
			 "defaultdomain:\n"
			 "annotation_definitions:   \n");
	assert_int_equal(conf->unixhierarchysep, -1);
	assert_null(conf->defaultdomain);
	assert_null(conf->annotation_definitions);
	cyrus_imapd_conf_free(&conf);
}

static void test_crlf_and_last_wins(void **state)
{
	struct fixture *f = *state;
	struct cyrus_imapd_conf *conf;

	conf = read_conf(f, "unixhierarchysep: no\r\n"
			 "defaultdomain: a.example\r\n"
			 "defaultdomain: b.example\r\n"
			 "annotation_definitions: /etc/a:b.conf\r\n");
	assert_int_equal(conf->unixhierarchysep, 0);
	assert_string_equal(conf->defaultdomain, "b.example");
	/* only the first colon separates key and value */
	assert_string_equal(conf->annotation_definitions, "/etc/a:b.conf");
	cyrus_imapd_conf_free(&conf);
}

static void test_switches(void **state)
{
	static const char *const yes[] = {
		"yes", "on", "1", "true", "t",
	};
	static const char *const no[] = {
		"no", "off", "0", "false", "f",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		char *text = g_strdup_printf("unixhierarchysep: %s\n"
					     "annotation_allow_undefined: %s\n",
					     yes[i], yes[i]);
		struct cyrus_imapd_conf *conf = read_conf(f, text);

		if (conf->unixhierarchysep != 1 ||
		    !conf->annotation_allow_undefined)
			fail_msg("\"%s\" not read as yes", yes[i]);
		cyrus_imapd_conf_free(&conf);
		g_free(text);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(no); i++) {
		char *text = g_strdup_printf("unixhierarchysep: %s\n"
					     "annotation_allow_undefined: %s\n",
					     no[i], no[i]);
		struct cyrus_imapd_conf *conf = read_conf(f, text);

		if (conf->unixhierarchysep != 0 ||
		    conf->annotation_allow_undefined)
			fail_msg("\"%s\" not read as no", no[i]);
		cyrus_imapd_conf_free(&conf);
		g_free(text);
	}
}

static void test_switch_garbage(void **state)
{
	struct fixture *f = *state;
	struct cyrus_imapd_conf *conf;

	/* Cyrus refuses to start with these; we just do not know */
	conf = read_conf(f, "unixhierarchysep: maybe\n"
			 "annotation_allow_undefined: sure\n");
	assert_int_equal(conf->unixhierarchysep, -1);
	assert_false(conf->annotation_allow_undefined);
	cyrus_imapd_conf_free(&conf);
}

/* Cyrus (lib/libconfig.c config_parse_switch()) decides a switch by its
   first letter: "y"/"n" are as good as "yes"/"no" there. */
static void test_switches_as_cyrus_reads_them(void **state)
{
	struct fixture *f = *state;
	struct cyrus_imapd_conf *conf;
	int sep_n, sep_y;
	bool allow_y;

	conf = read_conf(f, "unixhierarchysep: n\n"
			 "annotation_allow_undefined: y\n");
	sep_n = conf->unixhierarchysep;
	allow_y = conf->annotation_allow_undefined;
	cyrus_imapd_conf_free(&conf);
	conf = read_conf(f, "unixhierarchysep: y\n");
	sep_y = conf->unixhierarchysep;
	cyrus_imapd_conf_free(&conf);
	assert_int_equal(sep_n, 0);
	assert_true(allow_y);
	assert_int_equal(sep_y, 1);
}

/* Cyrus lower-cases option names (config_read_file()). */
static void test_option_names_any_case(void **state)
{
	struct fixture *f = *state;
	struct cyrus_imapd_conf *conf;
	int sep;
	bool domain_ok;

	conf = read_conf(f, "UnixHierarchySep: no\n"
			 "DefaultDomain: example.com\n");
	sep = conf->unixhierarchysep;
	domain_ok = g_strcmp0(conf->defaultdomain, "example.com") == 0;
	cyrus_imapd_conf_free(&conf);
	assert_int_equal(sep, 0);
	assert_true(domain_ok);
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	char *error = NULL;
	char *missing = g_build_filename(f->root, "nope.conf", NULL);

	assert_null(cyrus_imapd_conf_read(missing, &error));
	assert_non_null(error);
	assert_non_null(strstr(error, "nope.conf"));
	g_free(error);
	g_free(missing);
}

/* --- annotation_definitions ---------------------------------------------- */

static struct cyrus_imapd_conf *conf_with_defs(const struct fixture *f,
					       const char *defs)
{
	char *text = g_strdup_printf("annotation_definitions: %s\n", f->defs);
	struct cyrus_imapd_conf *conf = read_conf(f, text);

	g_free(text);
	if (defs != NULL)
		assert_true(g_file_set_contents(f->defs, defs, -1, NULL));
	return conf;
}

/* Whether the annotations are accepted with `defs` as the definitions
   file; *why_r as the function set it.  Everything else is freed before
   the caller asserts, so a failing check leaks nothing. */
static bool accepts(const struct fixture *f, const char *defs, char **why_r)
{
	struct cyrus_imapd_conf *conf = conf_with_defs(f, defs);
	bool ok;

	*why_r = NULL;
	ok = cyrus_imapd_conf_accepts_annotations(conf, entries, why_r);
	cyrus_imapd_conf_free(&conf);
	return ok;
}

static void assert_accepted(const struct fixture *f, const char *defs)
{
	char *why = NULL;
	bool ok = accepts(f, defs, &why);
	bool why_set = why != NULL;

	if (!ok)
		print_error("not accepted (%s):\n%s\n", why, defs);
	g_free(why);
	assert_true(ok);
	assert_false(why_set);
}

/* Not accepted; the reason names `needle`. */
static void assert_refused(const struct fixture *f, const char *defs,
			   const char *needle)
{
	char *why = NULL;
	bool ok = accepts(f, defs, &why);
	bool named = why != NULL &&
		(needle == NULL || strstr(why, needle) != NULL);

	if (ok)
		print_error("accepted, but Cyrus would not know them:\n%s\n",
			    defs);
	else if (!named)
		print_error("reason \"%s\" lacks \"%s\"\n",
			    why != NULL ? why : "(none)", needle);
	g_free(why);
	assert_false(ok);
	assert_true(named);
}

static void test_definitions_shipped(void **state)
{
	struct fixture *f = *state;

	assert_accepted(f, SHIPPED);
	/* comments, blank lines, spaces around fields, CRLF, other
	   entries, both attributes, "value" (= both), any order */
	assert_accepted(f,
		"# imip-agent\n"
		"\n"
		"  # indented comment\n"
		"/vendor/acme/x,mailbox,string,backend,value.shared,\n"
		" /vendor/imip-agent/reason , message , string , backend , "
		"value.priv value.shared , \r\n"
		"/vendor/imip-agent/outcome,MESSAGE,string,proxy_and_backend,"
		"value,\n");
}

static void test_allow_undefined(void **state)
{
	struct fixture *f = *state;
	struct cyrus_imapd_conf *conf;
	char *why = NULL;

	/* no definitions at all, but anything goes */
	conf = read_conf(f, "annotation_allow_undefined: yes\n");
	assert_true(cyrus_imapd_conf_accepts_annotations(conf, entries, &why));
	assert_null(why);
	cyrus_imapd_conf_free(&conf);
	/* even with a definitions file that lacks them, or is missing */
	conf = read_conf(f, "annotation_allow_undefined: on\n"
			 "annotation_definitions: /nonexistent/defs.conf\n");
	assert_true(cyrus_imapd_conf_accepts_annotations(conf, entries, &why));
	assert_null(why);
	cyrus_imapd_conf_free(&conf);
}

static void test_no_definitions_option(void **state)
{
	struct fixture *f = *state;
	struct cyrus_imapd_conf *conf = read_conf(f, "unixhierarchysep: yes\n");
	char *why = NULL;

	assert_false(cyrus_imapd_conf_accepts_annotations(conf, entries,
							  &why));
	assert_non_null(why);
	assert_non_null(strstr(why, "annotation_definitions"));
	g_free(why);
	cyrus_imapd_conf_free(&conf);
}

static void test_definitions_file_missing(void **state)
{
	struct fixture *f = *state;
	struct cyrus_imapd_conf *conf = conf_with_defs(f, NULL);
	char *why = NULL;

	assert_false(cyrus_imapd_conf_accepts_annotations(conf, entries,
							  &why));
	assert_non_null(why);
	assert_non_null(strstr(why, "annotations.conf"));
	g_free(why);
	cyrus_imapd_conf_free(&conf);
}

static void test_definitions_incomplete(void **state)
{
	struct fixture *f = *state;

	/* one of the two */
	assert_refused(f, "/vendor/imip-agent/outcome,message,string,"
		       "backend,value.shared,\n", "/vendor/imip-agent/reason");
	assert_refused(f, "/vendor/imip-agent/reason,message,string,"
		       "backend,value.shared,\n", "/vendor/imip-agent/outcome");
	/* empty file */
	assert_refused(f, "", "/vendor/imip-agent/outcome");
	/* commented out */
	assert_refused(f, "#/vendor/imip-agent/outcome,message,string,"
		       "backend,value.shared,\n"
		       "/vendor/imip-agent/reason,message,string,backend,"
		       "value.shared,\n", "/vendor/imip-agent/outcome");
	/* a prefix or a longer name is another entry */
	assert_refused(f, "/vendor/imip-agent/outcom,message,string,backend,"
		       "value.shared,\n"
		       "/vendor/imip-agent/reasons,message,string,backend,"
		       "value.shared,\n", NULL);
}

static void test_definitions_wrong_scope(void **state)
{
	struct fixture *f = *state;

	assert_refused(f, "/vendor/imip-agent/outcome,mailbox,string,"
		       "backend,value.shared,\n"
		       "/vendor/imip-agent/reason,message,string,backend,"
		       "value.shared,\n", "/vendor/imip-agent/outcome");
	assert_refused(f, "/vendor/imip-agent/outcome,server,string,"
		       "backend,value.shared,\n"
		       "/vendor/imip-agent/reason,server,string,backend,"
		       "value.shared,\n", NULL);
}

static void test_definitions_without_value_shared(void **state)
{
	struct fixture *f = *state;

	assert_refused(f, "/vendor/imip-agent/outcome,message,string,"
		       "backend,value.priv,\n"
		       "/vendor/imip-agent/reason,message,string,backend,"
		       "value.shared,\n", "/vendor/imip-agent/outcome");
	assert_refused(f, "/vendor/imip-agent/outcome,message,string,"
		       "backend,size.shared,\n"
		       "/vendor/imip-agent/reason,message,string,backend,"
		       "value.shared,\n", "/vendor/imip-agent/outcome");
	/* too few fields to have any attribute */
	assert_refused(f, "/vendor/imip-agent/outcome,message,string,"
		       "backend\n"
		       "/vendor/imip-agent/reason,message\n", NULL);
	assert_refused(f, "/vendor/imip-agent/outcome\n"
		       "/vendor/imip-agent/reason\n", NULL);
}

/* Cyrus 3.6 (imap/annotate.c init_annotation_definitions()) ignores a
   line that does not have exactly six comma-separated fields ("short
   line" / "junk at end of line"), an unknown attribute type or proxy
   type, or a character other than a letter, digit or ". - _ /" in the
   type (so "content-type" too) and other than those or a space in the
   proxy and attribute fields (a tab).  An entry that only we believe
   declared makes Cyrus bounce every processed message (550), so such
   lines must not count. */
static void test_definitions_cyrus_would_ignore(void **state)
{
	static const char *const bad_outcome[] = {
		/* no sixth field: the trailing comma is missing */
		"/vendor/imip-agent/outcome,message,string,backend,"
		"value.shared\n",
		"/vendor/imip-agent/outcome,message,string,backend,"
		"value.shared",
		/* a seventh field */
		"/vendor/imip-agent/outcome,message,string,backend,"
		"value.shared,,x\n",
		"/vendor/imip-agent/outcome,message,string,backend,"
		"value.shared,,\n",
		/* unknown attribute type */
		"/vendor/imip-agent/outcome,message,text,backend,"
		"value.shared,\n",
		/* "content-type": the '-' is refused by Cyrus 3.6's reader */
		"/vendor/imip-agent/outcome,message,content-type,backend,"
		"value.shared,\n",
		/* unknown proxy type */
		"/vendor/imip-agent/outcome,message,string,local,"
		"value.shared,\n",
		/* tab between attribute names */
		"/vendor/imip-agent/outcome,message,string,backend,"
		"value.priv\tvalue.shared,\n",
		/* an unknown attribute name spoils the line */
		"/vendor/imip-agent/outcome,message,string,backend,"
		"value.shared value.public,\n",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < G_N_ELEMENTS(bad_outcome); i++) {
		const char *bad = bad_outcome[i];
		char defs[512];

		g_snprintf(defs, sizeof(defs), "%s%s%s", bad,
			   bad[strlen(bad) - 1] == '\n' ? "" : "\n",
			   "/vendor/imip-agent/reason,message,string,"
			   "backend,value.shared,\n");
		assert_refused(f, defs, "/vendor/imip-agent/outcome");
	}
	/* Cyrus compares type and proxy type names case-insensitively, and
	   a proxy field may name both */
	assert_accepted(f, "/vendor/imip-agent/outcome,message,String,"
			"proxy backend,value.shared,\n"
			"/vendor/imip-agent/reason,message,string,backend,"
			"value.shared,");
}

/* Cyrus checks a value against the entry's type (annotate_canon_value()):
   our values are text, so only "string" entries can take them; "int",
   "uint" and "boolean" would refuse "added" and fail the delivery.  A
   "proxy"-only entry is never stored on a backend (the value would be
   dropped without a word). */
static void test_definitions_type_and_proxy(void **state)
{
	static const char *const bad_outcome[] = {
		"/vendor/imip-agent/outcome,message,int,backend,"
		"value.shared,\n",
		"/vendor/imip-agent/outcome,message,uint,backend,"
		"value.shared,\n",
		"/vendor/imip-agent/outcome,message,boolean,backend,"
		"value.shared,\n",
		"/vendor/imip-agent/outcome,message,string,proxy,"
		"value.shared,\n",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < G_N_ELEMENTS(bad_outcome); i++) {
		char defs[512];

		g_snprintf(defs, sizeof(defs), "%s%s", bad_outcome[i],
			   "/vendor/imip-agent/reason,message,string,"
			   "backend,value.shared,\n");
		assert_refused(f, defs, "/vendor/imip-agent/outcome");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_values),
		T(test_unset_values),
		T(test_crlf_and_last_wins),
		T(test_switches),
		T(test_switch_garbage),
		T(test_switches_as_cyrus_reads_them),
		T(test_option_names_any_case),
		T(test_missing_file),
		T(test_definitions_shipped),
		T(test_allow_undefined),
		T(test_no_definitions_option),
		T(test_definitions_file_missing),
		T(test_definitions_incomplete),
		T(test_definitions_wrong_scope),
		T(test_definitions_without_value_shared),
		T(test_definitions_cyrus_would_ignore),
		T(test_definitions_type_and_proxy),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
