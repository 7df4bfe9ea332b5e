/* imip.conf(5): defaults, every key, and errors naming file, line, key. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"

static struct imip_config *parse_ok(const char *text)
{
	struct imip_config *config = NULL;
	char *error = NULL;

	if (imip_config_parse(text, strlen(text), "test.conf", &config,
			      &error) < 0)
		fail_msg("unexpected error: %s", error);
	assert_non_null(config);
	return config;
}

/* The error must start with "test.conf:LINE: " and contain `needle`. */
static void parse_fails(const char *text, unsigned int line,
			const char *needle)
{
	struct imip_config *config = NULL;
	char *error = NULL, *prefix;

	assert_int_equal(imip_config_parse(text, strlen(text), "test.conf",
					   &config, &error), -1);
	assert_null(config);
	assert_non_null(error);
	prefix = g_strdup_printf("test.conf:%u: ", line);
	if (!g_str_has_prefix(error, prefix) || strstr(error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" or \"%s\"", error, prefix,
			 needle);
	g_free(prefix);
	g_free(error);
}

static void test_defaults(void **state)
{
	struct imip_config *c = parse_ok("");
	char *sender = g_strconcat("calendar@", g_get_host_name(), NULL);
	char *lower = g_ascii_strdown(sender, -1);

	(void)state;
	assert_string_equal(c->store_dir, "/var/lib/imip-agent/store");
	assert_string_equal(c->preferences_dir,
			    "/var/lib/imip-agent/preferences");
	assert_string_equal(c->journal_dir, "/var/lib/imip-agent/journal");
	assert_string_equal(c->static_dir, "/var/www/imip-agent/static");
	assert_string_equal(c->calendar_sender, lower);
	assert_string_equal(c->sendmail_path, "/usr/sbin/sendmail");
	assert_null(c->submission_host);
	assert_int_equal(c->local_domains->len, 0);
	assert_non_null(c->default_tzid);
	assert_int_equal(c->freebusy_horizon_days, 365);
	assert_true(c->counter_as_request);
	assert_int_equal(c->log_target, IMIP_LOG_TARGET_SYSLOG);
	assert_string_equal(c->syslog_facility, "mail");
	assert_int_equal(c->limits.message_size, 10485760);
	assert_int_equal(c->limits.mime_parts, 100);
	assert_int_equal(c->limits.mime_depth, 20);
	assert_int_equal(c->limits.calendar_size, 1048576);
	assert_int_equal(c->limits.components, 1000);
	assert_int_equal(c->limits.attendees, 1000);
	assert_int_equal(c->limits.instances, 10000);
	assert_int_equal(g_hash_table_size(c->pref_defaults), 0);
	g_free(sender);
	g_free(lower);
	imip_config_free(&c);
	assert_null(c);
}

static void test_default_tzid_from_system(void **state)
{
	struct imip_config *c = imip_config_new_defaults();
	char *text = NULL;

	(void)state;
	if (g_file_get_contents("/etc/timezone", &text, NULL, NULL) &&
	    g_strstrip(text)[0] != '\0' &&
	    strcmp(c->default_tzid, "UTC") != 0)
		assert_string_equal(c->default_tzid, text);
	else
		assert_string_equal(c->default_tzid, "UTC");
	g_free(text);
	imip_config_free(&c);
}

static void test_every_key(void **state)
{
	static const char text[] =
		"# a comment\n"
		"\n"
		"store_dir = /srv/imip/store\n"
		"preferences_dir=/srv/imip/prefs\n"
		"  journal_dir   =   /srv/imip/journal  \n"
		"static_dir = \"/srv/www/static dir\"\n"
		"calendar_sender = Calendar@Example.COM\n"
		"sendmail_path = /usr/lib/sendmail\n"
		"submission_host = mail.example.com:587\n"
		"local_domains = Example.com, example.org  example.net,\n"
		"default_tzid = Europe/Oslo\n"
		"freebusy_horizon_days = 100\n"
		"counter_as_request = no\n"
		"log_target = stderr\n"
		"syslog_facility = local3\n"
		"limit_message_size = 20M\n"
		"limit_mime_parts = 50\n"
		"limit_mime_depth = 5\n"
		"limit_calendar_size = 512k\n"
		"limit_components = 10\n"
		"limit_attendees = 20\n"
		"limit_instances = 30\n"
		"default_LANG = de\r\n"
		"default_freebusy_sharing = share\n"
		"default_freebusy_offers = PT10M\n"
		"default_acl = \"reject\\naccept organiser paul.boddie@example.com\"\n"
		"default_scheduling_function = schedule_in_freebusy\\nsame_domain_only\n"
		"default_permitted_times = 8,10:0,30\n";
	struct imip_config *c = parse_ok(text);

	(void)state;
	assert_string_equal(c->store_dir, "/srv/imip/store");
	assert_string_equal(c->preferences_dir, "/srv/imip/prefs");
	assert_string_equal(c->journal_dir, "/srv/imip/journal");
	assert_string_equal(c->static_dir, "/srv/www/static dir");
	assert_string_equal(c->calendar_sender, "calendar@example.com");
	assert_string_equal(c->sendmail_path, "/usr/lib/sendmail");
	assert_string_equal(c->submission_host, "mail.example.com:587");
	assert_int_equal(c->local_domains->len, 3);
	assert_string_equal(g_ptr_array_index(c->local_domains, 0),
			    "example.com");
	assert_string_equal(g_ptr_array_index(c->local_domains, 1),
			    "example.org");
	assert_string_equal(g_ptr_array_index(c->local_domains, 2),
			    "example.net");
	assert_string_equal(c->default_tzid, "Europe/Oslo");
	assert_int_equal(c->freebusy_horizon_days, 100);
	assert_false(c->counter_as_request);
	assert_int_equal(c->log_target, IMIP_LOG_TARGET_STDERR);
	assert_string_equal(c->syslog_facility, "local3");
	assert_int_equal(c->limits.message_size, 20 * 1024 * 1024);
	assert_int_equal(c->limits.mime_parts, 50);
	assert_int_equal(c->limits.mime_depth, 5);
	assert_int_equal(c->limits.calendar_size, 512 * 1024);
	assert_int_equal(c->limits.components, 10);
	assert_int_equal(c->limits.attendees, 20);
	assert_int_equal(c->limits.instances, 30);
	assert_string_equal(g_hash_table_lookup(c->pref_defaults, "LANG"),
			    "de");
	assert_string_equal(g_hash_table_lookup(c->pref_defaults,
						"freebusy_sharing"), "share");
	assert_string_equal(g_hash_table_lookup(c->pref_defaults,
						"freebusy_offers"), "PT10M");
	assert_string_equal(g_hash_table_lookup(c->pref_defaults, "acl"),
			    "reject\naccept organiser paul.boddie@example.com");
	assert_string_equal(g_hash_table_lookup(c->pref_defaults,
						"scheduling_function"),
			    "schedule_in_freebusy\nsame_domain_only");
	assert_string_equal(g_hash_table_lookup(c->pref_defaults,
						"permitted_times"),
			    "8,10:0,30");
	imip_config_free(&c);
}

static void test_booleans(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES" };
	static const char *const no[] = { "no", "false", "off", "0", "Off" };

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		char *t = g_strdup_printf("counter_as_request = %s\n", no[i]);
		struct imip_config *c = parse_ok(t);

		assert_false(c->counter_as_request);
		imip_config_free(&c);
		g_free(t);
		t = g_strdup_printf("counter_as_request = %s\n", yes[i]);
		c = parse_ok(t);
		assert_true(c->counter_as_request);
		imip_config_free(&c);
		g_free(t);
	}
	parse_fails("counter_as_request = maybe\n", 1, "counter_as_request");
}

static void test_sizes_and_numbers(void **state)
{
	struct imip_config *c = parse_ok("limit_message_size = 1048576\n"
					 "limit_calendar_size = 2K\n");

	(void)state;
	assert_int_equal(c->limits.message_size, 1048576);
	assert_int_equal(c->limits.calendar_size, 2048);
	imip_config_free(&c);

	parse_fails("limit_mime_parts = 0\n", 1, "limit_mime_parts");
	parse_fails("limit_mime_parts = -1\n", 1, "limit_mime_parts");
	parse_fails("limit_mime_parts = 12abc\n", 1, "not a number");
	parse_fails("limit_mime_parts = 4294967296\n", 1, "too large");
	parse_fails("limit_instances = 99999999999999999999999\n", 1,
		    "too large");
	parse_fails("limit_message_size = 0k\n", 1, "limit_message_size");
	parse_fails("limit_message_size = 99999999999999999M\n", 1,
		    "too large");
	parse_fails("limit_message_size = k\n", 1, "limit_message_size");
	parse_fails("limit_message_size = 10 M\n", 1, "limit_message_size");
	parse_fails("freebusy_horizon_days = 0\n", 1, "freebusy_horizon_days");
	parse_fails("freebusy_horizon_days = 1000000\n", 1, "too large");
	parse_fails("limit_attendees =\n", 1, "empty value");
}

/* outbox_lifetime reads like Postfix's maximal_queue_lifetime: a unit
   s, m, h, d or w, days without one. */
static void test_outbox_lifetime(void **state)
{
	struct imip_config *c = parse_ok("");

	(void)state;
	assert_int_equal(c->outbox_lifetime, 5 * 86400);
	imip_config_free(&c);
	c = parse_ok("outbox_lifetime = 12h\n");
	assert_int_equal(c->outbox_lifetime, 12 * 3600);
	imip_config_free(&c);
	c = parse_ok("outbox_lifetime = 3\n");
	assert_int_equal(c->outbox_lifetime, 3 * 86400);
	imip_config_free(&c);
	c = parse_ok("outbox_lifetime = 1w\n");
	assert_int_equal(c->outbox_lifetime, 7 * 86400);
	imip_config_free(&c);
	c = parse_ok("outbox_lifetime = 90s\n");
	assert_int_equal(c->outbox_lifetime, 90);
	imip_config_free(&c);
	parse_fails("outbox_lifetime = 0d\n", 1, "outbox_lifetime");
	parse_fails("outbox_lifetime = 5x\n", 1, "time span");
	parse_fails("outbox_lifetime = d\n", 1, "outbox_lifetime");
	parse_fails("outbox_lifetime = 400d\n", 1, "too large");
}

static void test_errors_name_line_and_key(void **state)
{
	(void)state;
	parse_fails("# c\n\nstore_dri = /x\n", 3, "store_dri");
	parse_fails("store_dir = /a\nstore_dir = /b\n", 2,
		    "duplicate key (first set on line 1)");
	parse_fails("store_dir /a\n", 1, "expected key = value");
	parse_fails(" = x\n", 1, "expected key = value");
	parse_fails("store_dir = relative/path\n", 1, "absolute path");
	parse_fails("log_target = file\n", 1, "log_target");
	parse_fails("syslog_facility = mailx\n", 1, "syslog_facility");
	parse_fails("calendar_sender = not an address\n", 1,
		    "calendar_sender");
	parse_fails("default_tzid = Mars/Olympus_Mons\n", 1, "default_tzid");
	parse_fails("submission_host = mail.example.com\n", 1,
		    "submission_host");
	parse_fails("submission_host = mail:99999\n", 1, "submission_host");
	parse_fails("local_domains = user@example.com\n", 1, "local_domains");
	parse_fails("static_dir = \"/unterminated\n", 1, "double quote");
	parse_fails("static_dir = \"/a\\qb\"\n", 1, "escape");
	/* preference defaults are validated against the preference table */
	parse_fails("default_incoming = sometimes\n", 1, "default_incoming");
	parse_fails("default_nosuchpref = x\n", 1, "unknown preference");
	parse_fails("default_freebusy_offers = ten minutes\n", 1,
		    "default_freebusy_offers");
	parse_fails("default_TZID = Nowhere/Town\n", 1, "default_TZID");
	parse_fails("default_LANG = e\n", 1, "default_LANG");
	parse_fails("default_CN = \"a\\nb\"\n", 1, "default_CN");
	parse_fails("default_permitted_times = 61\n", 1,
		    "default_permitted_times");
}

static void test_hostport_forms(void **state)
{
	struct imip_config *c = parse_ok("submission_host = [::1]:10025\n");

	(void)state;
	assert_string_equal(c->submission_host, "[::1]:10025");
	imip_config_free(&c);
	c = parse_ok("submission_host = 127.0.0.1:25\n");
	assert_string_equal(c->submission_host, "127.0.0.1:25");
	imip_config_free(&c);
	c = parse_ok("submission_host =\n");
	assert_null(c->submission_host);
	imip_config_free(&c);
	/* no published files (the PostgreSQL store keeps them in the
	   database); the other directories have no "none" */
	c = parse_ok("static_dir =\n");
	assert_null(c->static_dir);
	imip_config_free(&c);
	parse_fails("store_dir =\n", 1, "empty value");
	parse_fails("static_dir = relative\n", 1, "absolute path");
}

static void test_quoting(void **state)
{
	struct imip_config *c = parse_ok(
		"sendmail_path = \"/opt/a \\\"b\\\"\\\\c\"\n"
		"static_dir = /a#b\n");

	(void)state;
	assert_string_equal(c->sendmail_path, "/opt/a \"b\"\\c");
	/* '#' only starts a comment at the start of a line */
	assert_string_equal(c->static_dir, "/a#b");
	imip_config_free(&c);
}

static void test_binary_input_rejected(void **state)
{
	struct imip_config *c = NULL;
	char *error = NULL;

	(void)state;
	assert_int_equal(imip_config_parse("store_dir = /a\0b\n", 16, "bin",
					   &c, &error), -1);
	assert_non_null(strstr(error, "NUL"));
	g_free(error);
	error = NULL;
	assert_int_equal(imip_config_parse("store_dir = /\xff\n", 15, "bin",
					   &c, &error), -1);
	assert_non_null(strstr(error, "UTF-8"));
	g_free(error);
}

static void test_load_file(void **state)
{
	char *dir = g_dir_make_tmp("test-config-XXXXXX", NULL);
	char *path = g_build_filename(dir, "imip.conf", NULL);
	char *missing = g_build_filename(dir, "missing.conf", NULL);
	struct imip_config *c = NULL;
	char *error = NULL, *prefix;

	(void)state;
	assert_true(g_file_set_contents(path, "limit_mime_parts = 7\n"
					"bogus = 1\n", -1, NULL));
	assert_int_equal(imip_config_load(path, &c, &error), -1);
	prefix = g_strconcat(path, ":2: bogus: ", NULL);
	assert_true(g_str_has_prefix(error, prefix));
	g_free(prefix);
	g_free(error);
	error = NULL;

	assert_true(g_file_set_contents(path, "limit_mime_parts = 7\n", -1,
					NULL));
	assert_int_equal(imip_config_load(path, &c, &error), 0);
	assert_int_equal(c->limits.mime_parts, 7);
	imip_config_free(&c);

	assert_int_equal(imip_config_load(missing, &c, &error), -1);
	assert_non_null(strstr(error, "missing.conf"));
	g_free(error);

	g_unlink(path);
	g_rmdir(dir);
	g_free(missing);
	g_free(path);
	g_free(dir);
}

static void test_local_addresses(void **state)
{
	struct imip_config *c = parse_ok("local_domains = example.com\n");
	struct imip_config *none = parse_ok("");

	(void)state;
	assert_true(imip_config_is_local_address(c,
						 "paul.boddie@example.com"));
	assert_true(imip_config_is_local_address(c,
						 "mailto:Vincent.Vole@EXAMPLE.COM"));
	assert_false(imip_config_is_local_address(c, "x@example.org"));
	assert_false(imip_config_is_local_address(c, "x@sub.example.com"));
	assert_false(imip_config_is_local_address(c, "example.com"));
	assert_false(imip_config_is_local_address(c, NULL));
	assert_false(imip_config_is_local_address(none,
						  "paul.boddie@example.com"));
	imip_config_free(&c);
	imip_config_free(&none);
}

static void test_cyrus_defaults(void **state)
{
	struct imip_config *c = parse_ok("");

	(void)state;
	assert_string_equal(c->cyrus.socket_path,
			    "/run/imip-agent/cyrus-annotator.sock");
	assert_string_equal(c->cyrus.imapd_conf, "/etc/imapd.conf");
	/* unset: taken from imapd.conf at run time */
	assert_int_equal(c->cyrus.unixhierarchysep, -1);
	assert_null(c->cyrus.default_domain);
	assert_int_equal(c->cyrus.folders->len, 1);
	assert_string_equal(g_ptr_array_index(c->cyrus.folders, 0), "INBOX");
	assert_int_equal(c->cyrus.resources->len, 0);
	assert_int_equal(c->cyrus.answer_timeout, 5);
	assert_int_equal(c->cyrus.max_workers, 16);
	imip_config_free(&c);
}

static void test_cyrus_keys(void **state)
{
	struct imip_config *c = parse_ok(
		"cyrus_socket = /run/cyrus/annotator.sock\n"
		"cyrus_imapd_conf = \"/etc/cyrus imapd.conf\"\n"
		"cyrus_unixhierarchysep = no\n"
		"cyrus_default_domain = Mail.Example.COM\n"
		"cyrus_folders = INBOX ,  Work/Invites,My Folder/Sub ,*\n"
		"cyrus_resources = Room-1@Example.com, mailto:projector@example.com"
		"\t<van@example.org>\n"
		"cyrus_answer_timeout = 9\n"
		"cyrus_max_workers = 1000\n");

	(void)state;
	assert_string_equal(c->cyrus.socket_path, "/run/cyrus/annotator.sock");
	assert_string_equal(c->cyrus.imapd_conf, "/etc/cyrus imapd.conf");
	assert_int_equal(c->cyrus.unixhierarchysep, 0);
	assert_string_equal(c->cyrus.default_domain, "mail.example.com");
	/* folder names keep their case and inner spaces */
	assert_int_equal(c->cyrus.folders->len, 4);
	assert_string_equal(g_ptr_array_index(c->cyrus.folders, 0), "INBOX");
	assert_string_equal(g_ptr_array_index(c->cyrus.folders, 1),
			    "Work/Invites");
	assert_string_equal(g_ptr_array_index(c->cyrus.folders, 2),
			    "My Folder/Sub");
	assert_string_equal(g_ptr_array_index(c->cyrus.folders, 3), "*");
	/* addresses normalised */
	assert_int_equal(c->cyrus.resources->len, 3);
	assert_string_equal(g_ptr_array_index(c->cyrus.resources, 0),
			    "room-1@example.com");
	assert_string_equal(g_ptr_array_index(c->cyrus.resources, 1),
			    "projector@example.com");
	assert_string_equal(g_ptr_array_index(c->cyrus.resources, 2),
			    "van@example.org");
	assert_int_equal(c->cyrus.answer_timeout, 9);
	assert_int_equal(c->cyrus.max_workers, 1000);
	imip_config_free(&c);

	/* the other switch values, one folder, no resources, the minimum */
	c = parse_ok("cyrus_unixhierarchysep = on\n"
		     "cyrus_folders = Calendar\n"
		     "cyrus_resources =\n"
		     "cyrus_answer_timeout = 1\n"
		     "cyrus_max_workers = 1\n");
	assert_int_equal(c->cyrus.unixhierarchysep, 1);
	assert_int_equal(c->cyrus.folders->len, 1);
	assert_string_equal(g_ptr_array_index(c->cyrus.folders, 0),
			    "Calendar");
	assert_int_equal(c->cyrus.resources->len, 0);
	assert_int_equal(c->cyrus.answer_timeout, 1);
	assert_int_equal(c->cyrus.max_workers, 1);
	imip_config_free(&c);

	c = parse_ok("cyrus_unixhierarchysep = 0\n");
	assert_int_equal(c->cyrus.unixhierarchysep, 0);
	imip_config_free(&c);
	c = parse_ok("cyrus_unixhierarchysep = TRUE\n");
	assert_int_equal(c->cyrus.unixhierarchysep, 1);
	imip_config_free(&c);
}

static void test_cyrus_bad_values(void **state)
{
	(void)state;
	/* PATH */
	parse_fails("cyrus_socket = run/annotator.sock\n", 1, "cyrus_socket");
	parse_fails("cyrus_socket =\n", 1, "empty value");
	parse_fails("cyrus_imapd_conf = imapd.conf\n", 1, "absolute path");
	/* TRISTATE */
	parse_fails("cyrus_unixhierarchysep = maybe\n", 1,
		    "cyrus_unixhierarchysep");
	parse_fails("cyrus_unixhierarchysep =\n", 1, "empty value");
	parse_fails("cyrus_unixhierarchysep = unset\n", 1, "yes or no");
	/* DOMAIN */
	parse_fails("cyrus_default_domain = alice@example.com\n", 1,
		    "cyrus_default_domain");
	parse_fails("cyrus_default_domain = .example.com\n", 1,
		    "not a domain name");
	parse_fails("cyrus_default_domain = -example.com\n", 1,
		    "not a domain name");
	parse_fails("cyrus_default_domain = example.com example.org\n", 1,
		    "not a domain name");
	parse_fails("cyrus_default_domain = exa_mple.com\n", 1,
		    "not a domain name");
	parse_fails("cyrus_default_domain = example.com!\n", 1,
		    "not a domain name");
	parse_fails("cyrus_default_domain =\n", 1, "empty value");
	/* LIST */
	parse_fails("cyrus_folders = INBOX,,Work\n", 1, "empty item");
	parse_fails("cyrus_folders = INBOX,\n", 1, "empty item");
	parse_fails("cyrus_folders = , INBOX\n", 1, "empty item");
	parse_fails("cyrus_folders = INBOX, ,Work\n", 1, "empty item");
	parse_fails("cyrus_folders =\n", 1, "empty value");
	/* ADDRESSES */
	parse_fails("cyrus_resources = room@example.com, projector\n", 1,
		    "not a mail address");
	parse_fails("cyrus_resources = room@\n", 1, "cyrus_resources");
	/* UINT with a maximum: Cyrus gives up after 10 s */
	parse_fails("cyrus_answer_timeout = 10\n", 1, "too large");
	parse_fails("cyrus_answer_timeout = 0\n", 1, "at least 1");
	parse_fails("cyrus_answer_timeout = 5s\n", 1, "not a number");
	parse_fails("cyrus_answer_timeout = -1\n", 1, "cyrus_answer_timeout");
	parse_fails("cyrus_max_workers = 1001\n", 1, "too large");
	parse_fails("cyrus_max_workers = 0\n", 1, "at least 1");
	/* the line number is the key's */
	parse_fails("cyrus_folders = INBOX\ncyrus_answer_timeout = 99\n", 2,
		    "cyrus_answer_timeout");
	parse_fails("cyrus_folders = INBOX\ncyrus_folders = Work\n", 2,
		    "duplicate key");
}

static void test_authentication_keys(void **state)
{
	struct imip_config *c = parse_ok("");

	(void)state;
	assert_int_equal(c->require_authentication, IMIP_REQUIRE_AUTH_NONE);
	assert_int_equal(c->trusted_authserv_ids->len, 0);
	assert_null(c->trusted_submission_name);
	assert_null(c->trusted_submission_value);
	imip_config_free(&c);

	c = parse_ok("require_authentication = dmarc\n"
		     "trusted_authserv_ids = mx1.example.com, mx2.example.com "
		     "Mx3.Example.Com\n"
		     "trusted_submission_header = X-Imip-Submitted:  local \n");
	assert_int_equal(c->require_authentication, IMIP_REQUIRE_AUTH_DMARC);
	assert_int_equal(c->trusted_authserv_ids->len, 3);
	assert_string_equal(g_ptr_array_index(c->trusted_authserv_ids, 0),
			    "mx1.example.com");
	assert_string_equal(g_ptr_array_index(c->trusted_authserv_ids, 2),
			    "Mx3.Example.Com");
	assert_string_equal(c->trusted_submission_name, "X-Imip-Submitted");
	assert_string_equal(c->trusted_submission_value, "local");
	imip_config_free(&c);

	/* ids may be listed without requiring authentication */
	c = parse_ok("trusted_authserv_ids = mx.example.com\n"
		     "require_authentication = none\n");
	assert_int_equal(c->require_authentication, IMIP_REQUIRE_AUTH_NONE);
	assert_int_equal(c->trusted_authserv_ids->len, 1);
	imip_config_free(&c);
}

static unsigned int port_at(const struct imip_config *c, guint i)
{
	return g_array_index(c->trusted_submission_ports, unsigned int, i);
}

static void test_submission_ports(void **state)
{
	struct imip_config *c = parse_ok("");

	(void)state;
	/* empty by default: no port vouches for anything, nor does port 0 */
	assert_int_equal(c->trusted_submission_ports->len, 0);
	assert_false(imip_config_is_submission_port(c, 0));
	assert_false(imip_config_is_submission_port(c, 24));
	imip_config_free(&c);

	c = parse_ok("trusted_submission_ports = 10024\n");
	assert_int_equal(c->trusted_submission_ports->len, 1);
	assert_int_equal(port_at(c, 0), 10024);
	assert_true(imip_config_is_submission_port(c, 10024));
	assert_false(imip_config_is_submission_port(c, 24));
	assert_false(imip_config_is_submission_port(c, 0));
	imip_config_free(&c);

	/* a list: commas and/or spaces, both ends of the range */
	c = parse_ok("require_authentication = dmarc\n"
		     "trusted_authserv_ids = mx.example.com\n"
		     "trusted_submission_ports = 1, 10024  65535,\n");
	assert_int_equal(c->trusted_submission_ports->len, 3);
	assert_int_equal(port_at(c, 0), 1);
	assert_int_equal(port_at(c, 1), 10024);
	assert_int_equal(port_at(c, 2), 65535);
	assert_true(imip_config_is_submission_port(c, 1));
	assert_true(imip_config_is_submission_port(c, 65535));
	assert_false(imip_config_is_submission_port(c, 10025));
	imip_config_free(&c);

	/* an empty value is an empty list (as for trusted_authserv_ids) */
	c = parse_ok("trusted_submission_ports =\n");
	assert_int_equal(c->trusted_submission_ports->len, 0);
	imip_config_free(&c);
}

static void test_submission_ports_errors(void **state)
{
	(void)state;
	parse_fails("trusted_submission_ports = 0\n", 1,
		    "trusted_submission_ports: not a TCP port (a number from "
		    "1 to 65535)");
	parse_fails("trusted_submission_ports = 65536\n", 1, "not a TCP port");
	parse_fails("trusted_submission_ports = 10024, 99999999999999999999\n",
		    1, "not a TCP port");
	parse_fails("trusted_submission_ports = -24\n", 1, "not a TCP port");
	parse_fails("trusted_submission_ports = +24\n", 1, "not a TCP port");
	parse_fails("trusted_submission_ports = lmtp\n", 1, "not a TCP port");
	parse_fails("trusted_submission_ports = 127.0.0.1:10024\n", 1,
		    "not a TCP port");
	parse_fails("trusted_submission_ports = 10024;10025\n", 1,
		    "not a TCP port");
	parse_fails("# ports\ntrusted_submission_ports = 24\n"
		    "trusted_submission_ports = 25\n", 3, "duplicate key");
}

static void test_authentication_errors(void **state)
{
	(void)state;
	parse_fails("require_authentication = spf\n", 1, "expected none or dmarc");
	parse_fails("require_authentication = DMARC\n", 1, "expected none or dmarc");
	/* dmarc without anyone to trust: the line of require_authentication */
	parse_fails("# site\nrequire_authentication = dmarc\n", 2,
		    "require_authentication: dmarc needs trusted_authserv_ids");
	parse_fails("require_authentication = dmarc\ntrusted_authserv_ids =\n",
		    1, "needs trusted_authserv_ids");
	parse_fails("trusted_authserv_ids = mx.example.com;evil\n", 1,
		    "trusted_authserv_ids: not an authserv-id");
	parse_fails("trusted_authserv_ids = (comment)\n", 1,
		    "not an authserv-id");
	parse_fails("trusted_submission_header = X-Imip-Submitted\n", 1,
		    "trusted_submission_header: expected Header-Name: value");
	parse_fails("trusted_submission_header = X-Imip-Submitted:\n", 1,
		    "expected Header-Name: value");
	parse_fails("trusted_submission_header = : local\n", 1,
		    "expected Header-Name: value");
	parse_fails("trusted_submission_header = X Imip: local\n", 1,
		    "expected Header-Name: value");
	parse_fails("trusted_submission_header =\n", 1, "empty value");
}

/* store_backend and store_conninfo (docs/postgresql.md): the file store
   by default; postgresql with a libpq connection string, kept as written
   (quoted or not; libpq checks it when connecting). */
static void test_store_backend(void **state)
{
	struct imip_config *c = parse_ok("");

	(void)state;
	assert_int_equal(c->store_backend, IMIP_STORE_BACKEND_FILE);
	assert_null(c->store_conninfo);
	imip_config_free(&c);

	c = parse_ok("store_backend = file\n");
	assert_int_equal(c->store_backend, IMIP_STORE_BACKEND_FILE);
	imip_config_free(&c);

	c = parse_ok("store_backend = postgresql\n"
		     "store_conninfo = host=/run/postgresql dbname=imip "
		     "user=imip application_name='imip agent'\n");
	assert_int_equal(c->store_backend, IMIP_STORE_BACKEND_POSTGRESQL);
	assert_string_equal(c->store_conninfo,
			    "host=/run/postgresql dbname=imip user=imip "
			    "application_name='imip agent'");
	imip_config_free(&c);

	c = parse_ok("store_conninfo = \"postgresql://imip@db.example.com/"
		     "imip?sslmode=verify-full\"\nstore_backend = postgresql\n");
	assert_string_equal(c->store_conninfo,
			    "postgresql://imip@db.example.com/imip?"
			    "sslmode=verify-full");
	imip_config_free(&c);

	/* a conninfo beside the file store is kept (and unused) */
	c = parse_ok("store_conninfo = dbname=imip\n");
	assert_int_equal(c->store_backend, IMIP_STORE_BACKEND_FILE);
	assert_string_equal(c->store_conninfo, "dbname=imip");
	imip_config_free(&c);
}

/* store_fsync: which writes wait for the disk (docs/store.md 6) */
static void test_store_fsync(void **state)
{
	struct imip_config *c = parse_ok("");

	(void)state;
	assert_int_equal(c->store_fsync, IMIP_STORE_FSYNC_OPTIMIZED);
	imip_config_free(&c);
	c = parse_ok("store_fsync = always\n");
	assert_int_equal(c->store_fsync, IMIP_STORE_FSYNC_ALWAYS);
	imip_config_free(&c);
	c = parse_ok("store_fsync = optimized\n");
	assert_int_equal(c->store_fsync, IMIP_STORE_FSYNC_OPTIMIZED);
	imip_config_free(&c);
	parse_fails("store_fsync = never\n", 1,
		    "store_fsync: expected optimized or always");
	parse_fails("store_fsync = Always\n", 1,
		    "store_fsync: expected optimized or always");
	parse_fails("store_fsync =\n", 1, "store_fsync: empty value");
}

static void test_store_backend_errors(void **state)
{
	(void)state;
	parse_fails("store_backend = pgsql\n", 1,
		    "store_backend: expected file or postgresql");
	parse_fails("store_backend = PostgreSQL\n", 1,
		    "expected file or postgresql");
	parse_fails("store_backend =\n", 1, "store_backend: empty value");
	/* postgresql without a database: the line of store_backend */
	parse_fails("# site\nstore_backend = postgresql\n", 2,
		    "store_backend: postgresql needs store_conninfo");
	parse_fails("store_conninfo =\nstore_backend = postgresql\n", 1,
		    "store_conninfo: empty value");
	parse_fails("store_conninfo = \"dbname=imip\\tuser=x\"\n", 1,
		    "store_conninfo: control character");
	parse_fails("store_conninfo = dbname=a\nstore_conninfo = dbname=b\n",
		    2, "duplicate key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_backend),
		cmocka_unit_test(test_store_backend_errors),
		cmocka_unit_test(test_store_fsync),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_authentication_keys),
		cmocka_unit_test(test_authentication_errors),
		cmocka_unit_test(test_submission_ports),
		cmocka_unit_test(test_submission_ports_errors),
		cmocka_unit_test(test_default_tzid_from_system),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_sizes_and_numbers),
		cmocka_unit_test(test_outbox_lifetime),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_hostport_forms),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_binary_input_rejected),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_local_addresses),
		cmocka_unit_test(test_cyrus_defaults),
		cmocka_unit_test(test_cyrus_keys),
		cmocka_unit_test(test_cyrus_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
