/* Per-user preferences: the original imip-agent's table (imip-agent.md
   section 4.2) and the lookup order user > site default > built-in. */

#include "prefs.h"
#include "config.h"
#include "store.h"

#include <string.h>
#include <libical/ical.h>

static const char *const prefs_add_method_response[] = {
	"add", "ignore", "refresh", NULL };
static const char *const prefs_never_always[] = { "never", "always", NULL };
static const char *const prefs_forwarded_invitations[] = {
	"ignore", "record", NULL };
static const char *const prefs_freebusy_messages[] = { "none", "notify", NULL };
static const char *const prefs_freebusy_publishing[] = { "no", "publish", NULL };
static const char *const prefs_freebusy_sharing[] = { "no", "share", NULL };
static const char *const prefs_incoming[] = {
	"message-only", "summary-wraps-message", "summary-then-message",
	"message-then-summary", "summary-only", NULL };
static const char *const prefs_organiser_replacement[] = {
	"attendee", "any", "never", NULL };
static const char *const prefs_participating[] = { "participate", "no", NULL };
static const char *const prefs_trusted_sent_by[] = {
	"known", "same-domain", NULL };

const struct prefs_def prefs_table[] = {
	{ "CN", PREFS_KIND_TEXT, NULL, NULL },
	{ "LANG", PREFS_KIND_LANG, "en", NULL },
	/* NULL: imip.conf's default_tzid (the system zone). */
	{ "TZID", PREFS_KIND_TZID, NULL, NULL },
	{ "acl", PREFS_KIND_LINES, NULL, NULL },
	{ "add_method_response", PREFS_KIND_ENUM, "refresh",
	  prefs_add_method_response },
	{ "event_refreshing", PREFS_KIND_ENUM, "never", prefs_never_always },
	/* ours: an invitation that does not name the user (forwarded, or
	   sent to a list) is recorded as information only with "record";
	   the original only ever ignored it */
	{ "forwarded_invitations", PREFS_KIND_ENUM, "ignore",
	  prefs_forwarded_invitations },
	{ "freebusy_bundling", PREFS_KIND_ENUM, "never", prefs_never_always },
	{ "freebusy_messages", PREFS_KIND_ENUM, "none",
	  prefs_freebusy_messages },
	{ "freebusy_offers", PREFS_KIND_DURATION, NULL, NULL },
	{ "freebusy_publishing", PREFS_KIND_ENUM, "no",
	  prefs_freebusy_publishing },
	{ "freebusy_sharing", PREFS_KIND_ENUM, "no", prefs_freebusy_sharing },
	{ "incoming", PREFS_KIND_ENUM, "summary-wraps-message",
	  prefs_incoming },
	{ "organiser_replacement", PREFS_KIND_ENUM, "attendee",
	  prefs_organiser_replacement },
	{ "participating", PREFS_KIND_ENUM, "participate",
	  prefs_participating },
	{ "permitted_times", PREFS_KIND_TIMES, NULL, NULL },
	/* ours: "COUNT PERCENT" of a series' instances a resource may
	   decline while accepting the rest (docs/resources.md) */
	{ "recurring_conflicts", PREFS_KIND_TEXT, "0 0", NULL },
	{ "scheduling_function", PREFS_KIND_LINES, "schedule_in_freebusy",
	  NULL },
	/* ours: which SENT-BY of an incoming message speaks for its
	   organiser or attendee (handler_sent_by_init(), security.md 2.1) */
	{ "trusted_sent_by", PREFS_KIND_ENUM, "known", prefs_trusted_sent_by },
	{ NULL, 0, NULL, NULL },
};

/* Values are short; anything longer is a mistake or an attack. */
#define PREFS_MAX_VALUE_LEN 65536

const struct prefs_def *prefs_lookup(const char *name)
{
	if (name == NULL)
		return NULL;
	for (const struct prefs_def *d = prefs_table; d->name != NULL; d++) {
		if (strcmp(d->name, name) == 0)
			return d;
	}
	return NULL;
}

static bool prefs_has_control(const char *value, bool allow_newline)
{
	for (const char *p = value; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n' && allow_newline)
			continue;
		if (c < 0x20 && c != '\t')
			return true;
		if (c == 0x7f)
			return true;
	}
	return false;
}

/* [a-zA-Z]{2,3}([_-][A-Za-z0-9]+)*  (en, de, fr_FR, pt-BR, sr-Latn-RS) */
static bool prefs_lang_is_valid(const char *value)
{
	const char *p = value;
	size_t n = 0;

	while (g_ascii_isalpha(*p)) {
		p++;
		n++;
	}
	if (n < 2 || n > 3)
		return false;
	while (*p != '\0') {
		if (*p != '_' && *p != '-')
			return false;
		p++;
		n = 0;
		while (g_ascii_isalnum(*p)) {
			p++;
			n++;
		}
		if (n == 0)
			return false;
	}
	return true;
}

/* One part of permitted_times: empty (any value) or a comma-separated
   list of numbers in [0, max]. */
static bool prefs_times_part_is_valid(const char *part, unsigned int max)
{
	char **items;
	bool ok = true;

	if (*part == '\0')
		return true;
	items = g_strsplit(part, ",", -1);
	for (char **i = items; *i != NULL && ok; i++) {
		guint64 v;
		char *item = g_strstrip(g_strdup(*i));

		ok = g_ascii_string_to_unsigned(item, 10, 0, max, &v, NULL);
		g_free(item);
	}
	g_strfreev(items);
	return ok;
}

/* "minutes", "hours:minutes" or "hours:minutes:seconds". */
static bool prefs_times_is_valid(const char *value)
{
	static const unsigned int max1[] = { 59 };
	static const unsigned int max2[] = { 23, 59 };
	static const unsigned int max3[] = { 23, 59, 59 };
	char **parts = g_strsplit(value, ":", -1);
	guint n = g_strv_length(parts);
	const unsigned int *max = max1;
	bool ok = true, any = true;

	if (n == 1)
		max = max1;
	else if (n == 2)
		max = max2;
	else if (n == 3)
		max = max3;
	else
		ok = false;
	for (guint i = 0; ok && i < n; i++) {
		ok = prefs_times_part_is_valid(parts[i], max[i]);
		if (parts[i][0] != '\0')
			any = false;
	}
	g_strfreev(parts);
	/* "" or "::" would permit everything: say nothing instead. */
	return ok && !any;
}

bool prefs_value_is_valid(const struct prefs_def *def, const char *value,
			  const char **reason_r)
{
	const char *reason = NULL;
	struct icaldurationtype dur;

	if (def == NULL)
		reason = "unknown preference";
	else if (value == NULL || *value == '\0')
		reason = "empty value";
	else if (strlen(value) > PREFS_MAX_VALUE_LEN)
		reason = "value too long";
	else if (!g_utf8_validate(value, -1, NULL))
		reason = "not valid UTF-8";
	else if (prefs_has_control(value, def->kind == PREFS_KIND_LINES))
		reason = def->kind == PREFS_KIND_LINES ?
			"control characters in value" :
			"line breaks or control characters in value";
	if (reason != NULL)
		goto out;

	switch (def->kind) {
	case PREFS_KIND_TEXT:
	case PREFS_KIND_LINES:
		break;
	case PREFS_KIND_ENUM:
		if (!g_strv_contains(def->values, value))
			reason = "not one of the permitted values";
		break;
	case PREFS_KIND_DURATION:
		dur = icaldurationtype_from_string(value);
		if (icaldurationtype_is_bad_duration(dur))
			reason = "not an RFC 5545 duration (e.g. PT10M)";
		else if (icaldurationtype_is_null_duration(dur) || dur.is_neg)
			reason = "duration must be positive";
		break;
	case PREFS_KIND_TZID:
		/* libical's zone database (the system's zoneinfo). */
		if (strcmp(value, "UTC") != 0 &&
		    icaltimezone_get_builtin_timezone(value) == NULL)
			reason = "unknown time zone";
		break;
	case PREFS_KIND_LANG:
		if (!prefs_lang_is_valid(value))
			reason = "not a language tag (e.g. en, de, fr_FR)";
		break;
	case PREFS_KIND_TIMES:
		if (!prefs_times_is_valid(value))
			reason = "expected minutes, hours:minutes or "
				"hours:minutes:seconds, each a "
				"comma-separated list";
		break;
	}
out:
	if (reason_r != NULL)
		*reason_r = reason;
	return reason == NULL;
}

char *prefs_get(const struct imip_config *config, struct store_user *su,
		const char *name)
{
	const struct prefs_def *def = prefs_lookup(name);
	const char *site;

	if (def == NULL)
		return NULL;
	if (su != NULL) {
		char *value = NULL;
		const char *error;

		/* A store error or a bad hand edit falls back to the
		   default: preferences must not stop processing. */
		if (store_pref_get(su, def->name, &value, &error) > 0 &&
		    prefs_value_is_valid(def, value, NULL))
			return value;
		g_free(value);
	}
	if (config != NULL) {
		site = g_hash_table_lookup(config->pref_defaults, def->name);
		if (site != NULL)
			return g_strdup(site);
		if (def->kind == PREFS_KIND_TZID)
			return g_strdup(config->default_tzid);
	}
	if (def->kind == PREFS_KIND_TZID)
		return g_strdup("UTC");
	return g_strdup(def->default_value);
}

bool prefs_is(const struct imip_config *config, struct store_user *su,
	      const char *name, const char *value)
{
	char *v = prefs_get(config, su, name);
	bool is = v != NULL && value != NULL && strcmp(v, value) == 0;

	g_free(v);
	return is;
}
