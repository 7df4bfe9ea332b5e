/*
 * NAME
 *	imip-admin 8
 * SUMMARY
 *	imip-agent store administration
 * SYNOPSIS
 *	imip-admin [-c FILE] COMMAND [ARGS]
 * DESCRIPTION
 *	Reads and maintains the imip-agent store.  Output is tab-separated,
 *	one record per line; times are UTC YYYYMMDDTHHMMSSZ, dates
 *	YYYYMMDD, a missing value is "-".
 *
 *	init-user ADDR
 *	pref ADDR [NAME [VALUE | --unset]]
 *	events ADDR	uid rid status sequence dtstart summary
 *	show ADDR UID [RID]
 *	requests ADDR	uid rid kind
 *	freebusy ADDR [--other ADDR] [--from T] [--to T]
 *			start end uid rid
 *	counters ADDR	uid rid attendee
 *	rebuild ADDR | --all
 *	refresh-freebusy
 *	publish ADDR
 *	published ADDR	the published VFREEBUSY text
 *	quota Q limits	subject duration
 *	quota Q limit SUBJECT DURATION | --unset
 *	quota Q groups	user group
 *	quota Q group USER GROUP | --unset
 *	quota Q delegates [ADDR... | --none]	address
 *	quota Q reservations	start end resource uid rid organiser
 *	update-quotas [Q...]
 *	outbox [ADDR...]	user queue name queued attempts last-attempt
 *			recipient error
 *	send-queued [ADDR...]	user name fate recipient error
 *	outbox-show ADDR NAME	the entry as stored
 *	outbox-retry ADDR NAME...	user name queued
 *	outbox-remove ADDR NAME...	user name removed queue
 *	check [--role ROLE] [--user ADDR] [--sender ADDR] FILE...
 *		FILE: role= user= sender= method= uid= outcome= reason=
 *		replies=N [(to ADDR METHOD, ...)]
 *	db-upgrade [--schema-dir DIR]	applied version file; version N
 *	copy-store [--replace] FROM TO [ADDR...]	copied user name=count...
 *		(FROM and TO are imip.conf files; -c is not read)
 * DIAGNOSTICS
 *	Exit status: 0 success; 1 not found; 64 usage error; 74 store or
 *	journal error; 78 configuration error.
 * ENVIRONMENT
 *	IMIP_NOW (YYYYMMDDTHHMMSSZ) replaces the current time, for tests.
 * SEE ALSO
 *	imip-shim(8), imip.conf(5), imip-preferences(5)
 */

#include "admin.h"
#include "address.h"
#include "clock.h"
#include "config.h"
#include "derive.h"
#include "freebusy.h"
#include "ical-object.h"
#include "journal.h"
#include "prefs.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void admin_error(const char *fmt, ...)
{
	va_list args;

	fputs("imip-admin: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

/* A field of tab-separated output: never a tab or a line break inside,
   and "-" for a missing value. */
void admin_field(GString *line, const char *value)
{
	if (line->len > 0)
		g_string_append_c(line, '\t');
	if (value == NULL || *value == '\0') {
		g_string_append_c(line, '-');
		return;
	}
	for (const char *p = value; *p != '\0'; p++)
		g_string_append_c(line, (*p == '\t' || *p == '\n' || *p == '\r') ?
				  ' ' : *p);
}

void admin_line(GString *line)
{
	fputs(line->str, stdout);
	fputc('\n', stdout);
	g_string_truncate(line, 0);
}

/* Open a user's store; returns an exit status. */
int admin_user_open(struct admin *a, const char *address,
			   enum store_open_flags flags, struct store_user **su_r)
{
	char *user = address_normalize(address);
	char *error = NULL;
	int r;

	if (user == NULL) {
		admin_error("not a usable address: %s", address);
		return ADMIN_EX_USAGE;
	}
	r = store_user_open(a->store, user, flags, su_r, &error);
	if (r < 0) {
		admin_error("%s", error);
		g_free(error);
		g_free(user);
		return ADMIN_EX_IOERR;
	}
	if (r == 0) {
		admin_error("no store for %s", user);
		g_free(user);
		return ADMIN_EX_NOTFOUND;
	}
	g_free(user);
	return ADMIN_EX_OK;
}

int admin_user_close(struct store_user **su, int ret)
{
	const char *error;

	if (*su != NULL && store_user_commit(*su, &error) < 0) {
		admin_error("%s: changes not kept: %s", store_user_name(*su),
			    error);
		ret = ADMIN_EX_IOERR;
	}
	store_user_close(su);
	return ret;
}

static icaltimezone *admin_user_zone(struct admin *a, struct store_user *su)
{
	char *tzid = prefs_get(a->config, su, "TZID");
	icaltimezone *zone = ical_zone_for_user(tzid);

	g_free(tzid);
	return zone;
}

static int admin_store_failed(const char *error)
{
	admin_error("%s", error);
	return ADMIN_EX_IOERR;
}

static int cmd_init_user(struct admin *a)
{
	struct store_user *su;
	int ret;

	if (a->argc != 1)
		return ADMIN_EX_USAGE;
	ret = admin_user_open(a, a->argv[0], STORE_OPEN_CREATE, &su);
	if (ret == ADMIN_EX_OK)
		ret = admin_user_close(&su, ret);
	return ret;
}

/* The source of a preference's effective value, for `pref ADDR`. */
static const char *admin_pref_source(struct admin *a, struct store_user *su,
				     const struct prefs_def *def, char **value_r)
{
	const char *error, *site;

	*value_r = NULL;
	if (store_pref_get(su, def->name, value_r, &error) > 0)
		return "user";
	site = g_hash_table_lookup(a->config->pref_defaults, def->name);
	if (site != NULL || strcmp(def->name, "TZID") == 0) {
		*value_r = g_strdup(site != NULL ? site : a->config->default_tzid);
		return "site";
	}
	*value_r = g_strdup(def->default_value);
	return "default";
}

static int cmd_pref_list(struct admin *a, struct store_user *su)
{
	GString *line = g_string_new(NULL);

	for (const struct prefs_def *def = prefs_table; def->name != NULL; def++) {
		char *value, *escaped;
		const char *source = admin_pref_source(a, su, def, &value);

		/* multi-line values (acl, scheduling_function) stay on one
		   record */
		escaped = value == NULL ? NULL : g_strescape(value, "");
		admin_field(line, def->name);
		admin_field(line, escaped);
		admin_field(line, source);
		admin_line(line);
		g_free(escaped);
		g_free(value);
	}
	g_string_free(line, TRUE);
	return ADMIN_EX_OK;
}

static int cmd_pref(struct admin *a)
{
	const struct prefs_def *def = NULL;
	struct store_user *su;
	const char *error, *reason;
	int ret;

	if (a->argc < 1 || a->argc > 3)
		return ADMIN_EX_USAGE;
	if (a->argc >= 2 && (def = prefs_lookup(a->argv[1])) == NULL) {
		admin_error("unknown preference %s", a->argv[1]);
		return ADMIN_EX_USAGE;
	}
	if (a->argc == 3 && strcmp(a->argv[2], "--unset") != 0 &&
	    !prefs_value_is_valid(def, a->argv[2], &reason)) {
		admin_error("invalid value for %s: %s", def->name, reason);
		return ADMIN_EX_USAGE;
	}
	ret = admin_user_open(a, a->argv[0], a->argc == 3 ? STORE_OPEN_CREATE :
			      STORE_OPEN_READONLY, &su);
	if (ret != ADMIN_EX_OK)
		return ret;
	if (a->argc == 1) {
		ret = cmd_pref_list(a, su);
	} else if (a->argc == 2) {
		char *value = prefs_get(a->config, su, def->name);

		printf("%s\n", value != NULL ? value : "-");
		g_free(value);
	} else if (strcmp(a->argv[2], "--unset") == 0) {
		if (store_pref_unset(su, def->name, &error) < 0)
			ret = admin_store_failed(error);
	} else if (store_pref_set(su, def->name, a->argv[2], &error) < 0) {
		ret = admin_store_failed(error);
	}
	return admin_user_close(&su, ret);
}

/* The first VEVENT (or VFREEBUSY) of a stored text, with its VCALENDAR. */
static icalcomponent *admin_parse_stored(const char *text, icalcomponent **root_r)
{
	icalcomponent *root = icalparser_parse_string(text);
	icalcomponent *comp = NULL;

	*root_r = root;
	if (root == NULL)
		return NULL;
	if (icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT) {
		comp = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT);
		if (comp == NULL)
			comp = icalcomponent_get_first_component(root, ICAL_VFREEBUSY_COMPONENT);
	} else {
		comp = root;
	}
	return comp;
}

static void admin_event_line(GString *line, const char *uid, const char *rid,
			     enum store_state state, const char *text,
			     icaltimezone *zone)
{
	icalcomponent *root, *comp = admin_parse_stored(text, &root);
	char *sequence = NULL, *dtstart = NULL;
	const char *summary = NULL;

	if (comp != NULL) {
		int seq = ical_sequence_of(comp);

		if (seq >= 0)
			sequence = g_strdup_printf("%d", seq);
		dtstart = ical_dtstart_text(comp, zone);
		summary = icalcomponent_get_summary(comp);
	}
	admin_field(line, uid);
	admin_field(line, rid);
	admin_field(line, state == STORE_STATE_CANCELLED ? "cancelled" : "active");
	admin_field(line, sequence);
	admin_field(line, dtstart);
	admin_field(line, summary);
	admin_line(line);
	g_free(sequence);
	g_free(dtstart);
	if (root != NULL)
		icalcomponent_free(root);
}

static int admin_print_one(struct store_user *su, GString *line,
			   const char *uid, const char *rid, icaltimezone *zone)
{
	enum store_state state;
	const char *error;
	char *text = NULL;
	int r = store_object_get(su, uid, rid, &state, &text, &error);

	if (r < 0)
		return admin_store_failed(error);
	if (r > 0)
		admin_event_line(line, uid, rid, state, text, zone);
	g_free(text);
	return ADMIN_EX_OK;
}

static int admin_compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int admin_print_uid(struct store_user *su, GString *line,
			   const char *uid, icaltimezone *zone)
{
	GPtrArray *rids = g_ptr_array_new_with_free_func(g_free);
	const char *error;
	int ret = admin_print_one(su, line, uid, NULL, zone);

	if (ret == ADMIN_EX_OK &&
	    (store_object_list_rids(su, uid, STORE_STATE_ACTIVE, rids, &error) < 0 ||
	     store_object_list_rids(su, uid, STORE_STATE_CANCELLED, rids, &error) < 0))
		ret = admin_store_failed(error);
	g_ptr_array_sort(rids, admin_compare_strings);
	for (unsigned int i = 0; i < rids->len && ret == ADMIN_EX_OK; i++)
		ret = admin_print_one(su, line, uid, g_ptr_array_index(rids, i), zone);
	g_ptr_array_free(rids, TRUE);
	return ret;
}

static int cmd_events(struct admin *a)
{
	GPtrArray *uids = g_ptr_array_new_with_free_func(g_free);
	GString *line = g_string_new(NULL);
	struct store_user *su;
	const char *error;
	icaltimezone *zone;
	int ret;

	if (a->argc != 1)
		ret = ADMIN_EX_USAGE;
	else
		ret = admin_user_open(a, a->argv[0], STORE_OPEN_READONLY, &su);
	if (ret == ADMIN_EX_OK) {
		zone = admin_user_zone(a, su);
		if (store_object_list_uids(su, uids, &error) < 0)
			ret = admin_store_failed(error);
		g_ptr_array_sort(uids, admin_compare_strings);
		for (unsigned int i = 0; i < uids->len && ret == ADMIN_EX_OK; i++)
			ret = admin_print_uid(su, line, g_ptr_array_index(uids, i), zone);
		store_user_close(&su);
	}
	g_string_free(line, TRUE);
	g_ptr_array_free(uids, TRUE);
	return ret;
}

static int cmd_show(struct admin *a)
{
	struct store_user *su;
	enum store_state state;
	const char *error;
	char *text = NULL;
	int ret, r;

	if (a->argc < 2 || a->argc > 3)
		return ADMIN_EX_USAGE;
	ret = admin_user_open(a, a->argv[0], STORE_OPEN_READONLY, &su);
	if (ret != ADMIN_EX_OK)
		return ret;
	r = store_object_get(su, a->argv[1], a->argc == 3 ? a->argv[2] : NULL,
			     &state, &text, &error);
	if (r < 0)
		ret = admin_store_failed(error);
	else if (r == 0)
		ret = ADMIN_EX_NOTFOUND;
	else
		fputs(text, stdout);
	g_free(text);
	store_user_close(&su);
	return ret;
}

typedef int admin_read_func_t(struct store_user *su, GPtrArray *items_r,
			      const char **error_r);
typedef void admin_row_func_t(GString *line, const void *item);

/* The commands that print one of a user's tables, one record per line. */
static int admin_list_user_table(struct admin *a, admin_read_func_t *read,
				 admin_row_func_t *row, GDestroyNotify free_item)
{
	GPtrArray *items = g_ptr_array_new_with_free_func(free_item);
	GString *line = g_string_new(NULL);
	struct store_user *su;
	const char *error;
	int ret = a->argc != 1 ? ADMIN_EX_USAGE :
		admin_user_open(a, a->argv[0], STORE_OPEN_READONLY, &su);

	if (ret == ADMIN_EX_OK) {
		if (read(su, items, &error) < 0)
			ret = admin_store_failed(error);
		for (unsigned int i = 0; i < items->len; i++) {
			row(line, g_ptr_array_index(items, i));
			admin_line(line);
		}
		store_user_close(&su);
	}
	g_string_free(line, TRUE);
	g_ptr_array_free(items, TRUE);
	return ret;
}

static void admin_request_row(GString *line, const void *item)
{
	const struct store_request *r = item;

	admin_field(line, r->uid);
	admin_field(line, r->rid);
	admin_field(line, r->kind);
}

static void admin_counter_row(GString *line, const void *item)
{
	const struct store_counter *c = item;

	admin_field(line, c->uid);
	admin_field(line, c->rid);
	admin_field(line, c->attendee);
}

static int cmd_requests(struct admin *a)
{
	return admin_list_user_table(a, store_requests_read, admin_request_row,
				     (GDestroyNotify)store_request_free);
}

static int cmd_counters(struct admin *a)
{
	return admin_list_user_table(a, store_counter_list, admin_counter_row,
				     (GDestroyNotify)store_counter_free);
}

struct admin_fb_args {
	const char *address;
	char *other;
	time_t from, to;
};

static int admin_parse_fb_args(struct admin *a, struct admin_fb_args *f)
{
	memset(f, 0, sizeof(*f));
	f->to = DERIVE_TIME_MAX;
	for (int i = 0; i < a->argc; i++) {
		const char *arg = a->argv[i];

		if (strcmp(arg, "--other") == 0 && i + 1 < a->argc) {
			f->other = address_normalize(a->argv[++i]);
			if (f->other == NULL)
				return ADMIN_EX_USAGE;
		} else if (strcmp(arg, "--from") == 0 && i + 1 < a->argc) {
			if (!imip_clock_parse_utc(a->argv[++i], &f->from))
				return ADMIN_EX_USAGE;
		} else if (strcmp(arg, "--to") == 0 && i + 1 < a->argc) {
			if (!imip_clock_parse_utc(a->argv[++i], &f->to))
				return ADMIN_EX_USAGE;
		} else if (f->address == NULL && arg[0] != '-') {
			f->address = arg;
		} else {
			return ADMIN_EX_USAGE;
		}
	}
	return f->address == NULL ? ADMIN_EX_USAGE : ADMIN_EX_OK;
}

static int cmd_freebusy(struct admin *a)
{
	struct admin_fb_args f;
	struct fb_list *list = fb_list_new();
	GString *line = g_string_new(NULL);
	struct store_user *su;
	const char *error;
	int ret = admin_parse_fb_args(a, &f);

	if (ret == ADMIN_EX_OK)
		ret = admin_user_open(a, f.address, STORE_OPEN_READONLY, &su);
	if (ret == ADMIN_EX_OK) {
		/* the store reads only the months of --from/--to */
		if (store_fb_read_window(su, f.other != NULL ? STORE_FB_OTHER :
					 STORE_FB_OWN, f.other, f.from, f.to,
					 list, &error) < 0)
			ret = admin_store_failed(error);
		for (unsigned int i = 0; i < list->periods->len; i++) {
			const struct fb_period *p = g_ptr_array_index(list->periods, i);
			char start[17], end[17];

			admin_field(line, imip_clock_format_utc(p->start, start));
			admin_field(line, imip_clock_format_utc(p->end, end));
			admin_field(line, p->uid);
			admin_field(line, p->rid);
			admin_line(line);
		}
		store_user_close(&su);
	}
	g_free(f.other);
	fb_list_free(&list);
	g_string_free(line, TRUE);
	return ret;
}

static int admin_rebuild_user(struct admin *a, const char *address, bool publish_only)
{
	struct store_user *su;
	struct derive_params p = { .aliases = NULL };
	const char *error;
	unsigned int removed = 0;
	int r, ret = admin_user_open(a, address, STORE_OPEN_CREATE, &su);

	if (ret != ADMIN_EX_OK)
		return ret;
	p.config = a->config;
	p.su = su;
	p.user = store_user_name(su);
	p.user_zone = admin_user_zone(a, su);
	p.now = a->now;
	if (publish_only)
		r = derive_publish(&p, &error);
	else
		/* the temporary files of a writer killed when the byte in
		   the lock file did not survive (a system crash) */
		r = store_user_remove_temporaries(su, &removed, &error) < 0 ? -1 :
			derive_rebuild(&p, &error);
	if (r < 0)
		ret = admin_store_failed(error);
	return admin_user_close(&su, ret);
}

static int admin_rebuild_all(struct admin *a)
{
	GPtrArray *users = g_ptr_array_new_with_free_func(g_free);
	char *error = NULL;
	int ret = ADMIN_EX_OK;

	if (store_list_users(a->store, users, &error) < 0) {
		admin_error("%s", error);
		g_free(error);
		ret = ADMIN_EX_IOERR;
	}
	for (unsigned int i = 0; i < users->len; i++) {
		/* one broken user must not stop the nightly run for all */
		int r = admin_rebuild_user(a, g_ptr_array_index(users, i), false);
		if (r != ADMIN_EX_OK)
			ret = r;
	}
	g_ptr_array_free(users, TRUE);
	return ret;
}

static int cmd_rebuild(struct admin *a)
{
	if (a->argc != 1)
		return ADMIN_EX_USAGE;
	if (strcmp(a->argv[0], "--all") == 0)
		return admin_rebuild_all(a);
	return admin_rebuild_user(a, a->argv[0], false);
}

/* Endless recurrences are expanded to now + freebusy_horizon_days; a
   daily run moves that window (reference imip-agent.md 6.7). */
static int cmd_refresh_freebusy(struct admin *a)
{
	if (a->argc != 0)
		return ADMIN_EX_USAGE;
	return admin_rebuild_all(a);
}

static int cmd_publish(struct admin *a)
{
	if (a->argc != 1)
		return ADMIN_EX_USAGE;
	return admin_rebuild_user(a, a->argv[0], true);
}

/* published ADDR: what the web server serves for ADDR (static_dir, or
   the database's published_freebusy), as the store has it; 1 when
   nothing is published. */
static int cmd_published(struct admin *a)
{
	struct store_user *su;
	const char *error;
	char *text = NULL;
	int r, ret;

	if (a->argc != 1)
		return ADMIN_EX_USAGE;
	ret = admin_user_open(a, a->argv[0], STORE_OPEN_READONLY, &su);
	if (ret != ADMIN_EX_OK)
		return ret;
	r = store_static_read(su, &text, &error);
	if (r < 0)
		ret = admin_store_failed(error);
	else if (r == 0)
		ret = ADMIN_EX_NOTFOUND;
	else
		fputs(text, stdout);
	g_free(text);
	store_user_close(&su);
	return ret;
}

/* --- quota journals (reference imip-agent.md 9) --- */

/* A quota name or limit subject as the journal keeps it: an address in
   normal form, "*" (subjects only), or one word of printable text (a
   group or a quota named by the site).  NULL when unusable. */
static char *admin_journal_name(const char *value, bool allow_star)
{
	if (allow_star && strcmp(value, "*") == 0)
		return g_strdup("*");
	if (strchr(value, '@') != NULL)
		return address_normalize(value);
	if (*value == '\0' || strcmp(value, "*") == 0 ||
	    !g_utf8_validate(value, -1, NULL))
		return NULL;
	for (const char *p = value; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return NULL;
	}
	return g_strdup(value);
}

/* Open quota Q (creating it when asked); returns an exit status. */
static int admin_quota_open(struct admin *a, const char *quota, bool create,
			    struct journal_quota **q_r)
{
	char *name = admin_journal_name(quota, false);
	char *error = NULL;
	int r;

	*q_r = NULL;
	if (name == NULL) {
		admin_error("not a usable quota name: %s", quota);
		return ADMIN_EX_USAGE;
	}
	if (a->journal == NULL &&
	    journal_open(a->config, &a->journal, &error) < 0) {
		admin_error("%s", error);
		g_free(error);
		g_free(name);
		return ADMIN_EX_CONFIG;
	}
	r = journal_quota_open(a->journal, name, create, q_r, &error);
	if (r < 0) {
		admin_error("%s", error);
		g_free(error);
	} else if (r == 0) {
		admin_error("no quota journal %s", name);
	}
	g_free(name);
	return r < 0 ? ADMIN_EX_IOERR : r == 0 ? ADMIN_EX_NOTFOUND :
		ADMIN_EX_OK;
}

static void admin_print_lines(const GPtrArray *lines)
{
	for (unsigned int i = 0; i < lines->len; i++)
		printf("%s\n", (const char *)g_ptr_array_index(lines, i));
}

/* quota Q limits | groups: the journal formats the lines. */
static int admin_quota_list(struct journal_quota *q,
			    int (*list)(struct journal_quota *, GPtrArray *,
					const char **))
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	const char *error;
	int ret = ADMIN_EX_OK;

	if (list(q, lines, &error) < 0)
		ret = admin_store_failed(error);
	else
		admin_print_lines(lines);
	g_ptr_array_free(lines, TRUE);
	return ret;
}

/* quota Q limit SUBJECT DURATION|--unset */
static int admin_quota_limit(struct admin *a)
{
	struct journal_quota *q;
	const char *error;
	char *subject;
	long seconds = -1;
	int ret;

	if (a->argc != 4)
		return ADMIN_EX_USAGE;
	subject = admin_journal_name(a->argv[2], true);
	if (subject == NULL) {
		admin_error("not a usable subject (address, group or *): %s",
			    a->argv[2]);
		return ADMIN_EX_USAGE;
	}
	if (strcmp(a->argv[3], "--unset") != 0) {
		struct icaldurationtype d =
			icaldurationtype_from_string(a->argv[3]);

		if (icaldurationtype_is_bad_duration(d) || d.is_neg) {
			admin_error("not an RFC 5545 duration (e.g. PT10H): %s",
				    a->argv[3]);
			g_free(subject);
			return ADMIN_EX_USAGE;
		}
		seconds = icaldurationtype_as_int(d);
	}
	ret = admin_quota_open(a, a->argv[0], true, &q);
	if (ret == ADMIN_EX_OK) {
		/* kept (committed) before the exit status says so */
		if (journal_limit_set(q, subject, seconds, &error) < 0 ||
		    journal_quota_commit(q, &error) < 0)
			ret = admin_store_failed(error);
		journal_quota_close(&q);
	}
	g_free(subject);
	return ret;
}

/* quota Q group USER GROUP|--unset */
static int admin_quota_group(struct admin *a)
{
	struct journal_quota *q;
	const char *error, *group = NULL;
	char *user;
	int ret;

	if (a->argc != 4)
		return ADMIN_EX_USAGE;
	user = address_normalize(a->argv[2]);
	if (user == NULL) {
		admin_error("not a usable address: %s", a->argv[2]);
		return ADMIN_EX_USAGE;
	}
	if (strcmp(a->argv[3], "--unset") != 0) {
		char *check = admin_journal_name(a->argv[3], false);

		/* a group is a name: an address is looked up as a person */
		if (check == NULL || strchr(check, '@') != NULL) {
			admin_error("not a usable group name: %s", a->argv[3]);
			g_free(check);
			g_free(user);
			return ADMIN_EX_USAGE;
		}
		g_free(check);
		group = a->argv[3];
	}
	ret = admin_quota_open(a, a->argv[0], true, &q);
	if (ret == ADMIN_EX_OK) {
		if (journal_group_set(q, user, group, &error) < 0 ||
		    journal_quota_commit(q, &error) < 0)
			ret = admin_store_failed(error);
		journal_quota_close(&q);
	}
	g_free(user);
	return ret;
}

/* quota Q delegates [ADDR...|--none] */
static int admin_quota_delegates(struct admin *a)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
	struct journal_quota *q;
	const char *error;
	bool set = a->argc > 2;
	/* "--none" replaces the pool with the empty list */
	bool none = a->argc == 3 && strcmp(a->argv[2], "--none") == 0;
	int ret = ADMIN_EX_OK;

	for (int i = 2; !none && i < a->argc && ret == ADMIN_EX_OK; i++) {
		char *addr = address_normalize(a->argv[i]);

		if (addr == NULL) {
			admin_error("not a usable address: %s", a->argv[i]);
			ret = ADMIN_EX_USAGE;
		} else {
			g_ptr_array_add(list, addr);
		}
	}
	if (ret == ADMIN_EX_OK)
		ret = admin_quota_open(a, a->argv[0], set, &q);
	if (ret == ADMIN_EX_OK) {
		if (set) {
			if (journal_delegates_set(q, list, &error) < 0 ||
			    journal_quota_commit(q, &error) < 0)
				ret = admin_store_failed(error);
		} else if (journal_delegates_get(q, list, &error) < 0) {
			ret = admin_store_failed(error);
		} else {
			admin_print_lines(list);
		}
		journal_quota_close(&q);
	}
	g_ptr_array_free(list, TRUE);
	return ret;
}

/* quota Q reservations */
static int admin_quota_reservations(struct journal_quota *q)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	GString *line = g_string_new(NULL);
	const char *error;
	int ret = ADMIN_EX_OK;

	if (journal_reservations_read(q, list, &error) < 0)
		ret = admin_store_failed(error);
	for (unsigned int i = 0; i < list->len; i++) {
		const struct journal_reservation *r = g_ptr_array_index(list, i);
		char start[17], end[17];

		admin_field(line, imip_clock_format_utc(r->start, start));
		admin_field(line, imip_clock_format_utc(r->end, end));
		admin_field(line, r->resource);
		admin_field(line, r->uid);
		admin_field(line, r->rid);
		admin_field(line, r->organiser);
		admin_line(line);
	}
	g_string_free(line, TRUE);
	g_ptr_array_free(list, TRUE);
	return ret;
}

/* The listing subcommands: Q must exist. */
static int admin_quota_show(struct admin *a, const char *what)
{
	struct journal_quota *q;
	int ret;

	if (a->argc != 2)
		return ADMIN_EX_USAGE;
	ret = admin_quota_open(a, a->argv[0], false, &q);
	if (ret != ADMIN_EX_OK)
		return ret;
	if (strcmp(what, "limits") == 0)
		ret = admin_quota_list(q, journal_limits_list);
	else if (strcmp(what, "groups") == 0)
		ret = admin_quota_list(q, journal_groups_list);
	else
		ret = admin_quota_reservations(q);
	journal_quota_close(&q);
	return ret;
}

static int cmd_quota(struct admin *a)
{
	const char *what;

	if (a->argc < 2)
		return ADMIN_EX_USAGE;
	what = a->argv[1];
	if (strcmp(what, "limits") == 0 || strcmp(what, "groups") == 0 ||
	    strcmp(what, "reservations") == 0)
		return admin_quota_show(a, what);
	if (strcmp(what, "limit") == 0)
		return admin_quota_limit(a);
	if (strcmp(what, "group") == 0)
		return admin_quota_group(a);
	if (strcmp(what, "delegates") == 0)
		return admin_quota_delegates(a);
	return ADMIN_EX_USAGE;
}

static int admin_expire_quota(struct admin *a, const char *quota)
{
	struct journal_quota *q;
	const char *error;
	int ret = admin_quota_open(a, quota, false, &q);

	if (ret != ADMIN_EX_OK)
		return ret;
	if (journal_expire(q, a->now, NULL, &error) < 0 ||
	    journal_quota_commit(q, &error) < 0)
		ret = admin_store_failed(error);
	journal_quota_close(&q);
	return ret;
}

/* Reservations that have ended no longer count: a daily run replenishes
   the quotas (the original's update_quotas.py). */
static int cmd_update_quotas(struct admin *a)
{
	GPtrArray *quotas = g_ptr_array_new_with_free_func(g_free);
	char *error = NULL;
	int ret = ADMIN_EX_OK;

	for (int i = 0; i < a->argc; i++)
		g_ptr_array_add(quotas, g_strdup(a->argv[i]));
	if (a->argc == 0) {
		if (journal_open(a->config, &a->journal, &error) < 0) {
			admin_error("%s", error);
			g_free(error);
			g_ptr_array_free(quotas, TRUE);
			return ADMIN_EX_CONFIG;
		}
		if (journal_list_quotas(a->journal, quotas, &error) < 0) {
			admin_error("%s", error);
			g_free(error);
			ret = ADMIN_EX_IOERR;
		}
	}
	for (unsigned int i = 0; i < quotas->len; i++) {
		/* one broken quota must not stop the nightly run for all */
		int r = admin_expire_quota(a, g_ptr_array_index(quotas, i));

		if (r != ADMIN_EX_OK)
			ret = r;
	}
	g_ptr_array_free(quotas, TRUE);
	return ret;
}

/* What main() prepares before a command runs. */
enum admin_needs {
	ADMIN_NEEDS_STORE,	/* -c's imip.conf and its store */
	ADMIN_NEEDS_CONFIG,	/* the imip.conf only (db-upgrade prepares
				   the database the store opens) */
	ADMIN_NEEDS_NOTHING,	/* the command names its own imip.conf files */
};

static const struct admin_command {
	const char *name;
	int (*run)(struct admin *a);
	const char *usage;
	enum admin_needs needs;
} admin_commands[] = {
	{ "init-user", cmd_init_user, "init-user ADDR", ADMIN_NEEDS_STORE },
	{ "pref", cmd_pref, "pref ADDR [NAME [VALUE | --unset]]",
	  ADMIN_NEEDS_STORE },
	{ "events", cmd_events, "events ADDR", ADMIN_NEEDS_STORE },
	{ "show", cmd_show, "show ADDR UID [RECURRENCE-ID]",
	  ADMIN_NEEDS_STORE },
	{ "requests", cmd_requests, "requests ADDR", ADMIN_NEEDS_STORE },
	{ "freebusy", cmd_freebusy,
	  "freebusy ADDR [--other ADDR] [--from T] [--to T]",
	  ADMIN_NEEDS_STORE },
	{ "counters", cmd_counters, "counters ADDR", ADMIN_NEEDS_STORE },
	{ "rebuild", cmd_rebuild, "rebuild ADDR | --all", ADMIN_NEEDS_STORE },
	{ "refresh-freebusy", cmd_refresh_freebusy, "refresh-freebusy",
	  ADMIN_NEEDS_STORE },
	{ "publish", cmd_publish, "publish ADDR", ADMIN_NEEDS_STORE },
	{ "published", cmd_published, "published ADDR", ADMIN_NEEDS_STORE },
	{ "quota", cmd_quota,
	  "quota Q limits\n"
	  "  quota Q limit SUBJECT DURATION | --unset\n"
	  "  quota Q groups\n"
	  "  quota Q group USER GROUP | --unset\n"
	  "  quota Q delegates [ADDR... | --none]\n"
	  "  quota Q reservations", ADMIN_NEEDS_STORE },
	{ "update-quotas", cmd_update_quotas, "update-quotas [Q...]",
	  ADMIN_NEEDS_STORE },
	{ "outbox", cmd_outbox, "outbox [ADDR...]", ADMIN_NEEDS_STORE },
	{ "send-queued", cmd_send_queued, "send-queued [ADDR...]",
	  ADMIN_NEEDS_STORE },
	{ "outbox-show", cmd_outbox_show, "outbox-show ADDR NAME",
	  ADMIN_NEEDS_STORE },
	{ "outbox-retry", cmd_outbox_retry, "outbox-retry ADDR NAME...",
	  ADMIN_NEEDS_STORE },
	{ "outbox-remove", cmd_outbox_remove, "outbox-remove ADDR NAME...",
	  ADMIN_NEEDS_STORE },
	{ "check", cmd_check,
	  "check [--role person|resource|outgoing] [--user ADDR] "
	  "[--sender ADDR] FILE...", ADMIN_NEEDS_STORE },
	{ "db-upgrade", cmd_db_upgrade, "db-upgrade [--schema-dir DIR]",
	  ADMIN_NEEDS_CONFIG },
	{ "copy-store", cmd_copy_store,
	  "copy-store [--replace] FROM-CONF TO-CONF [ADDR...]",
	  ADMIN_NEEDS_NOTHING },
};

static void admin_usage(FILE *out)
{
	fputs("usage: imip-admin [-c FILE] COMMAND [ARGS]\ncommands:\n", out);
	for (unsigned int i = 0; i < G_N_ELEMENTS(admin_commands); i++)
		fprintf(out, "  %s\n", admin_commands[i].usage);
}

int main(int argc, char **argv)
{
	struct admin a = { .config_path = NULL };
	const char *config_path = IMIP_CONFIG_DEFAULT_PATH;
	const struct admin_command *cmd = NULL;
	char *error = NULL;
	int i = 1, ret;

	umask(007);
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		admin_usage(stdout);
		return ADMIN_EX_OK;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		puts("imip-admin " IMIP_VERSION);
		return ADMIN_EX_OK;
	}
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		config_path = argv[2];
		i = 3;
	}
	for (unsigned int j = 0; i < argc && j < G_N_ELEMENTS(admin_commands); j++) {
		if (strcmp(argv[i], admin_commands[j].name) == 0)
			cmd = &admin_commands[j];
	}
	if (cmd == NULL) {
		admin_usage(stderr);
		return ADMIN_EX_USAGE;
	}
	a.config_path = config_path;
	if (cmd->needs != ADMIN_NEEDS_NOTHING &&
	    imip_config_load(config_path, &a.config, &error) < 0) {
		admin_error("%s", error);
		g_free(error);
		return ADMIN_EX_CONFIG;
	}
	if (cmd->needs == ADMIN_NEEDS_STORE &&
	    store_open(a.config, &a.store, &error) < 0) {
		admin_error("%s", error);
		g_free(error);
		imip_config_free(&a.config);
		return ADMIN_EX_IOERR;
	}
	a.now = imip_clock_now();
	a.argc = argc - i - 1;
	a.argv = argv + i + 1;
	ret = cmd->run(&a);
	if (ret == ADMIN_EX_USAGE)
		fprintf(stderr, "usage: imip-admin [-c FILE] %s\n", cmd->usage);
	journal_close(&a.journal);
	store_close(&a.store);
	imip_config_free(&a.config);
	return ret;
}
