/* imip.conf(5) reader.  Every key is in config_keys[] below with its type;
   the man page lists the same keys in the same order. */

#include "config.h"
#include "prefs.h"
#include "address.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>

enum config_type {
	CONFIG_TYPE_PATH,	/* absolute path */
	CONFIG_TYPE_PATH_OR_NONE,	/* absolute path, or empty for none */
	CONFIG_TYPE_ADDRESS,	/* a mail address, normalised */
	CONFIG_TYPE_HOSTPORT,	/* host:port, or empty for unset */
	CONFIG_TYPE_DOMAINS,	/* list separated by commas and/or spaces */
	CONFIG_TYPE_TZID,
	CONFIG_TYPE_UINT,	/* unsigned int, >= 1 */
	CONFIG_TYPE_SIZE,	/* size_t, >= 1, suffix k/K m/M g/G */
	CONFIG_TYPE_BOOL,
	CONFIG_TYPE_CHOICE,	/* one of key->choices, its index */
	CONFIG_TYPE_FACILITY,
	CONFIG_TYPE_TRISTATE,	/* yes/no into an int, -1 when unset */
	CONFIG_TYPE_DOMAIN,	/* one domain name */
	CONFIG_TYPE_LIST,	/* comma-separated, items trimmed */
	CONFIG_TYPE_ADDRESSES,	/* addresses separated by commas/spaces */
	CONFIG_TYPE_AUTHSERV_IDS,	/* tokens separated by commas/spaces */
	CONFIG_TYPE_HEADER,	/* "Name: value" */
	CONFIG_TYPE_PORTS,	/* TCP ports separated by commas/spaces */
	CONFIG_TYPE_CONNINFO,	/* a libpq connection string */
	CONFIG_TYPE_DURATION,	/* seconds; suffix s m h d w, default d */
};

struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	unsigned long long max;	/* UINT/SIZE: largest accepted value */
	/* CHOICE: the names, in the order of the field's enum, NULL ended,
	   and the error for any other value */
	const char *const *choices;
	const char *choices_error;
};

#define CONFIG_KEY(name, type, field, max) \
	{ name, type, offsetof(struct imip_config, field), max, NULL, NULL }
/* An enum field whose values are 0, 1, ... in the order of `choices`. */
#define CONFIG_CHOICE(name, field, choices, error) \
	{ name, CONFIG_TYPE_CHOICE, offsetof(struct imip_config, field), 0, \
	  choices, error }

static const char *const config_store_backends[] = {
	"file", "postgresql", NULL	/* enum imip_store_backend */
};
static const char *const config_store_fsyncs[] = {
	"optimized", "always", NULL	/* enum imip_store_fsync */
};
static const char *const config_log_targets[] = {
	"syslog", "stderr", NULL	/* enum imip_log_target */
};
static const char *const config_require_auths[] = {
	"none", "dmarc", NULL		/* enum imip_require_auth */
};
_Static_assert(sizeof(enum imip_store_backend) == sizeof(unsigned int) &&
	       sizeof(enum imip_store_fsync) == sizeof(unsigned int) &&
	       sizeof(enum imip_log_target) == sizeof(unsigned int) &&
	       sizeof(enum imip_require_auth) == sizeof(unsigned int),
	       "config_parse_choice() stores an unsigned int");

/* freebusy_horizon_days is multiplied into seconds by callers: a century
   is plenty and keeps that product far from overflow. */
#define CONFIG_MAX_HORIZON_DAYS 36500

/* outbox_lifetime: a year at most (an MTA bounces after days) */
#define CONFIG_MAX_OUTBOX_LIFETIME (366U * 24 * 3600)

static const struct config_key config_keys[] = {
	CONFIG_CHOICE("store_backend", store_backend, config_store_backends,
		      "expected file or postgresql"),
	CONFIG_KEY("store_conninfo", CONFIG_TYPE_CONNINFO, store_conninfo, 0),
	CONFIG_KEY("store_dir", CONFIG_TYPE_PATH, store_dir, 0),
	CONFIG_CHOICE("store_fsync", store_fsync, config_store_fsyncs,
		      "expected optimized or always"),
	CONFIG_KEY("preferences_dir", CONFIG_TYPE_PATH, preferences_dir, 0),
	CONFIG_KEY("journal_dir", CONFIG_TYPE_PATH, journal_dir, 0),
	CONFIG_KEY("static_dir", CONFIG_TYPE_PATH_OR_NONE, static_dir, 0),
	CONFIG_KEY("calendar_sender", CONFIG_TYPE_ADDRESS, calendar_sender, 0),
	CONFIG_KEY("sendmail_path", CONFIG_TYPE_PATH, sendmail_path, 0),
	CONFIG_KEY("submission_host", CONFIG_TYPE_HOSTPORT, submission_host,
		   0),
	CONFIG_KEY("outbox_lifetime", CONFIG_TYPE_DURATION, outbox_lifetime,
		   CONFIG_MAX_OUTBOX_LIFETIME),
	CONFIG_KEY("local_domains", CONFIG_TYPE_DOMAINS, local_domains, 0),
	CONFIG_KEY("default_tzid", CONFIG_TYPE_TZID, default_tzid, 0),
	CONFIG_KEY("freebusy_horizon_days", CONFIG_TYPE_UINT,
		   freebusy_horizon_days, CONFIG_MAX_HORIZON_DAYS),
	CONFIG_KEY("counter_as_request", CONFIG_TYPE_BOOL, counter_as_request,
		   0),
	CONFIG_KEY("trigger_sieve", CONFIG_TYPE_PATH, trigger_sieve, 0),
	CONFIG_CHOICE("require_authentication", require_authentication,
		      config_require_auths, "expected none or dmarc"),
	CONFIG_KEY("trusted_authserv_ids", CONFIG_TYPE_AUTHSERV_IDS,
		   trusted_authserv_ids, 0),
	CONFIG_KEY("trusted_submission_header", CONFIG_TYPE_HEADER,
		   trusted_submission_name, 0),
	CONFIG_KEY("trusted_submission_ports", CONFIG_TYPE_PORTS,
		   trusted_submission_ports, 0),
	CONFIG_CHOICE("log_target", log_target, config_log_targets,
		      "expected syslog or stderr"),
	CONFIG_KEY("syslog_facility", CONFIG_TYPE_FACILITY, syslog_facility,
		   0),
	CONFIG_KEY("limit_message_size", CONFIG_TYPE_SIZE,
		   limits.message_size, SIZE_MAX),
	CONFIG_KEY("limit_mime_parts", CONFIG_TYPE_UINT, limits.mime_parts,
		   UINT_MAX),
	CONFIG_KEY("limit_mime_depth", CONFIG_TYPE_UINT, limits.mime_depth,
		   UINT_MAX),
	CONFIG_KEY("limit_calendar_size", CONFIG_TYPE_SIZE,
		   limits.calendar_size, SIZE_MAX),
	CONFIG_KEY("limit_components", CONFIG_TYPE_UINT, limits.components,
		   UINT_MAX),
	CONFIG_KEY("limit_attendees", CONFIG_TYPE_UINT, limits.attendees,
		   UINT_MAX),
	CONFIG_KEY("limit_instances", CONFIG_TYPE_UINT, limits.instances,
		   UINT_MAX),
	CONFIG_KEY("cyrus_socket", CONFIG_TYPE_PATH, cyrus.socket_path, 0),
	CONFIG_KEY("cyrus_imapd_conf", CONFIG_TYPE_PATH, cyrus.imapd_conf, 0),
	CONFIG_KEY("cyrus_unixhierarchysep", CONFIG_TYPE_TRISTATE,
		   cyrus.unixhierarchysep, 0),
	CONFIG_KEY("cyrus_default_domain", CONFIG_TYPE_DOMAIN,
		   cyrus.default_domain, 0),
	CONFIG_KEY("cyrus_folders", CONFIG_TYPE_LIST, cyrus.folders, 0),
	CONFIG_KEY("cyrus_resources", CONFIG_TYPE_ADDRESSES, cyrus.resources,
		   0),
	/* Cyrus stops waiting for the first byte after 10 s */
	CONFIG_KEY("cyrus_answer_timeout", CONFIG_TYPE_UINT,
		   cyrus.answer_timeout, 9),
	CONFIG_KEY("cyrus_max_workers", CONFIG_TYPE_UINT, cyrus.max_workers,
		   1000),
};

static const char *const config_facilities[] = {
	"mail", "daemon", "user", "auth", "authpriv", "local0", "local1",
	"local2", "local3", "local4", "local5", "local6", "local7", NULL,
};
static const int config_facility_values[] = {
	LOG_MAIL, LOG_DAEMON, LOG_USER, LOG_AUTH, LOG_AUTHPRIV, LOG_LOCAL0,
	LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5,
	LOG_LOCAL6, LOG_LOCAL7,
};

int imip_config_syslog_facility(const struct imip_config *config)
{
	for (size_t i = 0; config_facilities[i] != NULL; i++) {
		if (g_strcmp0(config->syslog_facility,
			      config_facilities[i]) == 0)
			return config_facility_values[i];
	}
	return LOG_MAIL;
}

#define CONFIG_PREF_PREFIX "default_"

/* The zone of the system (Debian keeps its name in /etc/timezone), the
   original's default for TZID. */
static char *config_system_tzid(void)
{
	const struct prefs_def *def = prefs_lookup("TZID");
	char *text = NULL;

	if (g_file_get_contents("/etc/timezone", &text, NULL, NULL)) {
		g_strstrip(text);
		if (def != NULL && prefs_value_is_valid(def, text, NULL))
			return text;
		g_free(text);
	}
	return g_strdup("UTC");
}

struct imip_config *imip_config_new_defaults(void)
{
	struct imip_config *config = g_new0(struct imip_config, 1);
	char *host = g_ascii_strdown(g_get_host_name(), -1);

	config->store_backend = IMIP_STORE_BACKEND_FILE;
	config->store_conninfo = NULL;
	config->store_dir = g_strdup("/var/lib/imip-agent/store");
	config->preferences_dir = g_strdup("/var/lib/imip-agent/preferences");
	config->journal_dir = g_strdup("/var/lib/imip-agent/journal");
	config->static_dir = g_strdup("/var/www/imip-agent/static");
	config->calendar_sender = g_strconcat("calendar@", host, NULL);
	config->sendmail_path = g_strdup("/usr/sbin/sendmail");
	config->submission_host = NULL;
	config->outbox_lifetime = 5 * 24 * 3600;
	config->local_domains = g_ptr_array_new_with_free_func(g_free);
	config->default_tzid = config_system_tzid();
	config->freebusy_horizon_days = 365;
	config->counter_as_request = true;
	config->require_authentication = IMIP_REQUIRE_AUTH_NONE;
	config->trusted_authserv_ids = g_ptr_array_new_with_free_func(g_free);
	config->trusted_submission_ports =
		g_array_new(FALSE, FALSE, sizeof(unsigned int));
	config->log_target = IMIP_LOG_TARGET_SYSLOG;
	config->syslog_facility = g_strdup("mail");
	config->limits.message_size = 10485760;
	config->limits.mime_parts = 100;
	config->limits.mime_depth = 20;
	config->limits.calendar_size = 1048576;
	config->limits.components = 1000;
	config->limits.attendees = 1000;
	config->limits.instances = 10000;
	config->cyrus.socket_path =
		g_strdup("/run/imip-agent/cyrus-annotator.sock");
	config->cyrus.imapd_conf = g_strdup("/etc/imapd.conf");
	config->cyrus.unixhierarchysep = -1;
	config->cyrus.folders = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(config->cyrus.folders, g_strdup("INBOX"));
	config->cyrus.resources = g_ptr_array_new_with_free_func(g_free);
	config->cyrus.answer_timeout = 5;
	config->cyrus.max_workers = 16;
	config->pref_defaults = g_hash_table_new_full(g_str_hash, g_str_equal,
						      g_free, g_free);
	g_free(host);
	return config;
}

void imip_config_free(struct imip_config **config)
{
	struct imip_config *c;

	if (config == NULL || *config == NULL)
		return;
	c = *config;
	*config = NULL;
	g_free(c->store_conninfo);
	g_free(c->store_dir);
	g_free(c->preferences_dir);
	g_free(c->journal_dir);
	g_free(c->static_dir);
	g_free(c->calendar_sender);
	g_free(c->sendmail_path);
	g_free(c->submission_host);
	g_free(c->trigger_sieve);
	g_ptr_array_unref(c->local_domains);
	g_free(c->default_tzid);
	g_free(c->syslog_facility);
	g_ptr_array_unref(c->trusted_authserv_ids);
	g_free(c->trusted_submission_name);
	g_free(c->trusted_submission_value);
	g_array_unref(c->trusted_submission_ports);
	g_free(c->cyrus.socket_path);
	g_free(c->cyrus.imapd_conf);
	g_free(c->cyrus.default_domain);
	g_ptr_array_unref(c->cyrus.folders);
	g_ptr_array_unref(c->cyrus.resources);
	g_hash_table_unref(c->pref_defaults);
	g_free(c);
}

/* --- values -------------------------------------------------------------- */

/* Undo the quoting of a value: "..." with \\ \" \n \t inside.  Unquoted
   values are taken literally, except that `lines_escapes` (defaults of
   multi-line preferences) turns \n into a newline and \\ into \ there
   too, since a configuration line cannot hold a newline. */
static char *config_unquote(const char *value, bool lines_escapes,
			    const char **error_r)
{
	size_t len = strlen(value);
	bool quoted = len > 0 && value[0] == '"';
	GString *out;

	if (quoted) {
		if (len < 2 || value[len - 1] != '"') {
			*error_r = "missing closing double quote";
			return NULL;
		}
		value++;
		len -= 2;
	} else if (!lines_escapes) {
		return g_strdup(value);
	}
	out = g_string_sized_new(len);
	for (size_t i = 0; i < len; i++) {
		char c = value[i];

		if (quoted && c == '"') {
			*error_r = "unescaped double quote inside quotes";
			goto bad;
		}
		if (c != '\\') {
			g_string_append_c(out, c);
			continue;
		}
		if (i + 1 >= len) {
			if (!quoted) {
				g_string_append_c(out, c);
				continue;
			}
			*error_r = "backslash at the end of a quoted value";
			goto bad;
		}
		switch (value[++i]) {
		case 'n': g_string_append_c(out, '\n'); break;
		case 't': g_string_append_c(out, '\t'); break;
		case '\\': g_string_append_c(out, '\\'); break;
		case '"': g_string_append_c(out, '"'); break;
		default:
			if (quoted) {
				*error_r = "unknown escape sequence "
					"(use \\n \\t \\\\ \\\")";
				goto bad;
			}
			g_string_append_c(out, '\\');
			g_string_append_c(out, value[i]);
			break;
		}
	}
	return g_string_free(out, FALSE);
bad:
	g_string_free(out, TRUE);
	return NULL;
}

static bool config_parse_number(const char *value, bool size_suffix,
				unsigned long long max,
				unsigned long long *value_r,
				const char **error_r)
{
	unsigned long long mult = 1;
	guint64 v;
	char *digits;
	size_t len = strlen(value);
	GError *error = NULL;
	bool ok;

	if (size_suffix && len > 0) {
		switch (value[len - 1]) {
		case 'k': case 'K': mult = 1024ULL; len--; break;
		case 'm': case 'M': mult = 1024ULL * 1024; len--; break;
		case 'g': case 'G': mult = 1024ULL * 1024 * 1024; len--; break;
		default: break;
		}
	}
	digits = g_strndup(value, len);
	/* g_ascii_string_to_unsigned() refuses signs, spaces, overflow. */
	ok = g_ascii_string_to_unsigned(digits, 10, 0, G_MAXUINT64, &v,
					&error);
	g_free(digits);
	if (!ok) {
		bool range = g_error_matches(error, G_NUMBER_PARSER_ERROR,
					     G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS);

		g_error_free(error);
		*error_r = range ? "number too large" : size_suffix ?
			"not a number (digits, optionally followed by k, m "
			"or g)" : "not a number";
		return false;
	}
	if (v == 0) {
		*error_r = "must be at least 1";
		return false;
	}
	if (v > max / mult) {
		*error_r = "number too large";
		return false;
	}
	*value_r = v * mult;
	return true;
}

static bool config_parse_bool(const char *value, bool *bool_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };

	for (size_t i = 0; yes[i] != NULL; i++) {
		if (g_ascii_strcasecmp(value, yes[i]) == 0) {
			*bool_r = true;
			return true;
		}
		if (g_ascii_strcasecmp(value, no[i]) == 0) {
			*bool_r = false;
			return true;
		}
	}
	return false;
}

/* host:port with a numeric port; an IPv6 host goes in brackets. */
static bool config_hostport_is_valid(const char *value)
{
	const char *colon;
	guint64 port;

	if (value[0] == '[') {
		const char *close = strchr(value, ']');

		if (close == NULL || close == value + 1 || close[1] != ':')
			return false;
		colon = close + 1;
	} else {
		colon = strchr(value, ':');
		if (colon == NULL || colon == value ||
		    strchr(colon + 1, ':') != NULL)
			return false;
	}
	for (const char *p = value; p < colon; p++) {
		if (g_ascii_isspace(*p) || (unsigned char)*p < 0x20)
			return false;
	}
	return g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port,
					  NULL);
}

static bool config_parse_domains(const char *value, GPtrArray *domains,
				 const char **error_r)
{
	char **parts = g_strsplit_set(value, ", \t", -1);
	bool ok = true;

	g_ptr_array_set_size(domains, 0);
	for (char **p = parts; *p != NULL; p++) {
		if (**p == '\0')
			continue;
		if (strchr(*p, '@') != NULL || (*p)[0] == '.') {
			*error_r = "not a domain name";
			ok = false;
			break;
		}
		g_ptr_array_add(domains, g_ascii_strdown(*p, -1));
	}
	g_strfreev(parts);
	return ok;
}

/* A time span the way Postfix writes its queue lifetimes: digits and one
   unit, s (seconds), m (minutes), h (hours), d (days) or w (weeks); no
   unit means days (maximal_queue_lifetime = 5d reads the same here). */
static bool config_parse_duration(const char *value, unsigned long long max,
				  unsigned long long *seconds_r,
				  const char **error_r)
{
	static const char units[] = "smhdw";
	static const unsigned long long unit_secs[] = {
		1, 60, 3600, 86400, 7 * 86400,
	};
	size_t len = strlen(value);
	unsigned long long mult = 86400;
	const char *unit = len > 0 ? strchr(units, value[len - 1]) : NULL;
	char *digits;
	bool ok;

	if (unit != NULL && *unit != '\0') {
		mult = unit_secs[unit - units];
		len--;
	}
	digits = g_strndup(value, len);
	ok = config_parse_number(digits, false, max / mult, seconds_r,
				 error_r);
	g_free(digits);
	if (!ok) {
		if (strcmp(*error_r, "not a number") == 0)
			*error_r = "not a time span (digits and a unit: s, m, "
				"h, d or w)";
		return false;
	}
	*seconds_r *= mult;
	return true;
}

static bool config_domain_is_valid(const char *value)
{
	if (*value == '\0' || *value == '.' || *value == '-')
		return false;
	for (const char *p = value; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '.' && *p != '-')
			return false;
	}
	return true;
}

/* Comma-separated items, white space around each trimmed, no empty item
   (a folder name may contain spaces). */
static bool config_parse_list(const char *value, GPtrArray *items,
			      const char **error_r)
{
	char **parts = g_strsplit(value, ",", -1);
	bool ok = true;

	g_ptr_array_set_size(items, 0);
	for (char **p = parts; *p != NULL; p++) {
		g_strstrip(*p);
		if (**p == '\0') {
			*error_r = "empty item in the list";
			ok = false;
			break;
		}
		g_ptr_array_add(items, g_strdup(*p));
	}
	g_strfreev(parts);
	return ok;
}

static bool config_parse_addresses(const char *value, GPtrArray *addresses,
				   const char **error_r)
{
	char **parts = g_strsplit_set(value, ", \t", -1);
	bool ok = true;

	g_ptr_array_set_size(addresses, 0);
	for (char **p = parts; *p != NULL; p++) {
		char *addr;

		if (**p == '\0')
			continue;
		addr = address_normalize(*p);
		if (addr == NULL) {
			*error_r = "not a mail address";
			ok = false;
			break;
		}
		g_ptr_array_add(addresses, addr);
	}
	g_strfreev(parts);
	return ok;
}

/* authserv-ids: RFC 8601 values as MTAs write them (host names, mostly):
   printable ASCII without white space, quotes, parentheses or ';'. */
static bool config_parse_authserv_ids(const char *value, GPtrArray *ids,
				      const char **error_r)
{
	char **parts = g_strsplit_set(value, ", \t", -1);
	bool ok = true;

	g_ptr_array_set_size(ids, 0);
	for (char **p = parts; *p != NULL && ok; p++) {
		if (**p == '\0')
			continue;
		for (const char *c = *p; *c != '\0' && ok; c++) {
			if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f ||
			    strchr("()\";=\\", *c) != NULL)
				ok = false;
		}
		if (!ok)
			*error_r = "not an authserv-id (a host name, as the MTA "
				"writes it in Authentication-Results)";
		else
			g_ptr_array_add(ids, g_strdup(*p));
	}
	g_strfreev(parts);
	return ok;
}

/* "Name: value": a header name (RFC 5322 ftext) and a non-empty value. */
static bool config_parse_header(struct imip_config *config, const char *value,
				const char **error_r)
{
	const char *colon = strchr(value, ':');
	char *name, *val;

	*error_r = "expected Header-Name: value";
	if (colon == NULL || colon == value)
		return false;
	for (const char *c = value; c < colon; c++) {
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return false;
	}
	val = g_strstrip(g_strdup(colon + 1));
	if (*val == '\0') {
		g_free(val);
		return false;
	}
	name = g_strndup(value, (gsize)(colon - value));
	g_free(config->trusted_submission_name);
	g_free(config->trusted_submission_value);
	config->trusted_submission_name = name;
	config->trusted_submission_value = val;
	return true;
}

/* TCP port numbers, decimal, 1 to 65535; an empty value is an empty list. */
static bool config_parse_ports(const char *value, GArray *ports,
			       const char **error_r)
{
	char **parts = g_strsplit_set(value, ", \t", -1);
	bool ok = true;

	g_array_set_size(ports, 0);
	for (char **p = parts; *p != NULL && ok; p++) {
		guint64 port;

		if (**p == '\0')
			continue;
		/* refuses signs, spaces, 0 and anything above 65535 */
		ok = g_ascii_string_to_unsigned(*p, 10, 1, 65535, &port, NULL);
		if (ok) {
			unsigned int n = (unsigned int)port;

			g_array_append_val(ports, n);
		}
	}
	if (!ok)
		*error_r = "not a TCP port (a number from 1 to 65535)";
	g_strfreev(parts);
	return ok;
}

/* A libpq connection string ("host=/run/postgresql dbname=imip" or a
   postgresql:// URI) is checked by libpq when the store connects; here
   only that it is one line of text, so that a stray control character
   is reported with the line it is on. */
static bool config_parse_conninfo(char **field, const char *value,
				  const char **error_r)
{
	for (const char *p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*error_r = "control character in the connection string";
			return false;
		}
	}
	g_free(*field);
	*field = g_strdup(value);
	return true;
}

/* The enum fields CONFIG_CHOICE names are unsigned int sized: every enum
   of config.h has small non-negative values only. */
static bool config_parse_choice(const struct config_key *key,
				const char *value, void *field,
				const char **error_r)
{
	for (unsigned int i = 0; key->choices[i] != NULL; i++) {
		if (strcmp(value, key->choices[i]) == 0) {
			*(unsigned int *)field = i;
			return true;
		}
	}
	*error_r = key->choices_error;
	return false;
}

static bool config_set_value(struct imip_config *config,
			     const struct config_key *key, const char *value,
			     const char **error_r)
{
	void *field = (char *)config + key->offset;
	char **str_field = field;
	unsigned long long num;
	const struct prefs_def *tz;
	char *addr;

	if (*value == '\0' && key->type != CONFIG_TYPE_HOSTPORT &&
	    key->type != CONFIG_TYPE_PATH_OR_NONE &&
	    key->type != CONFIG_TYPE_DOMAINS &&
	    key->type != CONFIG_TYPE_ADDRESSES &&
	    key->type != CONFIG_TYPE_AUTHSERV_IDS &&
	    key->type != CONFIG_TYPE_PORTS) {
		*error_r = "empty value";
		return false;
	}
	switch (key->type) {
	case CONFIG_TYPE_PATH_OR_NONE:
		if (*value == '\0') {
			g_free(*str_field);
			*str_field = NULL;
			return true;
		}
		/* fall through */
	case CONFIG_TYPE_PATH:
		if (!g_path_is_absolute(value)) {
			*error_r = "must be an absolute path";
			return false;
		}
		g_free(*str_field);
		*str_field = g_strdup(value);
		return true;
	case CONFIG_TYPE_ADDRESS:
		addr = address_normalize(value);
		if (addr == NULL) {
			*error_r = "not a mail address";
			return false;
		}
		g_free(*str_field);
		*str_field = addr;
		return true;
	case CONFIG_TYPE_HOSTPORT:
		if (*value != '\0' && !config_hostport_is_valid(value)) {
			*error_r = "expected host:port";
			return false;
		}
		g_free(*str_field);
		*str_field = *value == '\0' ? NULL : g_strdup(value);
		return true;
	case CONFIG_TYPE_DOMAINS:
		return config_parse_domains(value, *(GPtrArray **)field,
					    error_r);
	case CONFIG_TYPE_TZID:
		tz = prefs_lookup("TZID");
		if (tz == NULL || !prefs_value_is_valid(tz, value, error_r))
			return false;
		g_free(*str_field);
		*str_field = g_strdup(value);
		return true;
	case CONFIG_TYPE_UINT:
		if (!config_parse_number(value, false, key->max, &num, error_r))
			return false;
		*(unsigned int *)field = (unsigned int)num;
		return true;
	case CONFIG_TYPE_SIZE:
		if (!config_parse_number(value, true, key->max, &num, error_r))
			return false;
		*(size_t *)field = (size_t)num;
		return true;
	case CONFIG_TYPE_BOOL:
		if (!config_parse_bool(value, (bool *)field)) {
			*error_r = "expected yes or no";
			return false;
		}
		return true;
	case CONFIG_TYPE_CHOICE:
		return config_parse_choice(key, value, field, error_r);
	case CONFIG_TYPE_FACILITY:
		if (!g_strv_contains(config_facilities, value)) {
			*error_r = "unknown syslog facility (mail, daemon, "
				"user, auth, authpriv, local0 ... local7)";
			return false;
		}
		g_free(*str_field);
		*str_field = g_strdup(value);
		return true;
	case CONFIG_TYPE_TRISTATE: {
		bool b;

		if (!config_parse_bool(value, &b)) {
			*error_r = "expected yes or no";
			return false;
		}
		*(int *)field = b ? 1 : 0;
		return true;
	}
	case CONFIG_TYPE_DOMAIN:
		if (!config_domain_is_valid(value)) {
			*error_r = "not a domain name";
			return false;
		}
		g_free(*str_field);
		*str_field = g_ascii_strdown(value, -1);
		return true;
	case CONFIG_TYPE_LIST:
		return config_parse_list(value, *(GPtrArray **)field, error_r);
	case CONFIG_TYPE_ADDRESSES:
		return config_parse_addresses(value, *(GPtrArray **)field,
					      error_r);
	case CONFIG_TYPE_AUTHSERV_IDS:
		return config_parse_authserv_ids(value, *(GPtrArray **)field,
						 error_r);
	case CONFIG_TYPE_HEADER:
		return config_parse_header(config, value, error_r);
	case CONFIG_TYPE_PORTS:
		return config_parse_ports(value, *(GArray **)field, error_r);
	case CONFIG_TYPE_CONNINFO:
		return config_parse_conninfo(str_field, value, error_r);
	case CONFIG_TYPE_DURATION:
		if (!config_parse_duration(value, key->max, &num, error_r))
			return false;
		*(unsigned int *)field = (unsigned int)num;
		return true;
	}
	*error_r = "internal error: unknown key type";
	return false;
}

/* --- lines --------------------------------------------------------------- */

struct config_parser {
	struct imip_config *config;
	const char *origin;
	unsigned int line;
	GHashTable *seen;	/* key -> first line (GUINT_TO_POINTER) */
	char *error;
};

static bool config_error(struct config_parser *p, const char *key,
			 const char *message)
{
	if (key != NULL)
		p->error = g_strdup_printf("%s:%u: %s: %s", p->origin, p->line,
					   key, message);
	else
		p->error = g_strdup_printf("%s:%u: %s", p->origin, p->line,
					   message);
	return false;
}

static bool config_key_name_ok(const char *key)
{
	for (const char *k = key; *k != '\0'; k++) {
		if (!g_ascii_isalnum(*k) && *k != '_')
			return false;
	}
	return *key != '\0';
}

static bool config_parse_pref_default(struct config_parser *p,
				      const char *key, const char *raw)
{
	const char *name = key + strlen(CONFIG_PREF_PREFIX);
	const struct prefs_def *def = prefs_lookup(name);
	const char *reason = NULL;
	char *value;

	if (def == NULL)
		return config_error(p, key, "unknown preference (see "
				    "imip-preferences(5))");
	value = config_unquote(raw, def->kind == PREFS_KIND_LINES, &reason);
	if (value == NULL)
		return config_error(p, key, reason);
	if (!prefs_value_is_valid(def, value, &reason)) {
		g_free(value);
		return config_error(p, key, reason != NULL ? reason :
				    "invalid value");
	}
	g_hash_table_replace(p->config->pref_defaults, g_strdup(def->name),
			     value);
	return true;
}

static bool config_parse_line(struct config_parser *p, char *line)
{
	char *eq, *key, *raw, *value;
	const char *reason = NULL;
	gpointer first;
	bool ok;

	g_strstrip(line);
	if (*line == '\0' || *line == '#')
		return true;
	eq = strchr(line, '=');
	if (eq == NULL)
		return config_error(p, NULL, "expected key = value");
	*eq = '\0';
	key = g_strstrip(line);
	raw = g_strstrip(eq + 1);
	if (!config_key_name_ok(key))
		return config_error(p, NULL, "expected key = value");
	if (g_hash_table_lookup_extended(p->seen, key, NULL, &first)) {
		char *msg = g_strdup_printf("duplicate key (first set on line "
					    "%u)", GPOINTER_TO_UINT(first));

		ok = config_error(p, key, msg);
		g_free(msg);
		return ok;
	}
	g_hash_table_insert(p->seen, g_strdup(key),
			    GUINT_TO_POINTER(p->line));

	if (g_str_has_prefix(key, CONFIG_PREF_PREFIX) &&
	    strcmp(key, "default_tzid") != 0)
		return config_parse_pref_default(p, key, raw);

	for (size_t i = 0; i < G_N_ELEMENTS(config_keys); i++) {
		if (strcmp(config_keys[i].name, key) != 0)
			continue;
		value = config_unquote(raw, false, &reason);
		if (value == NULL)
			return config_error(p, key, reason);
		ok = config_set_value(p->config, &config_keys[i], value,
				      &reason);
		g_free(value);
		return ok ? true : config_error(p, key, reason);
	}
	return config_error(p, key, "unknown key");
}

int imip_config_parse(const char *text, size_t len, const char *origin,
		      struct imip_config **config_r, char **error_r)
{
	struct config_parser p = {
		.origin = origin != NULL ? origin : "(config)",
	};
	char *copy, **lines;
	bool ok = true;

	*config_r = NULL;
	if (memchr(text, '\0', len) != NULL) {
		*error_r = g_strdup_printf("%s: contains a NUL byte", p.origin);
		return -1;
	}
	if (!g_utf8_validate(text, (gssize)len, NULL)) {
		*error_r = g_strdup_printf("%s: not valid UTF-8", p.origin);
		return -1;
	}
	p.config = imip_config_new_defaults();
	p.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	copy = g_strndup(text, len);
	lines = g_strsplit(copy, "\n", -1);
	g_free(copy);
	for (char **l = lines; *l != NULL && ok; l++) {
		p.line++;
		ok = config_parse_line(&p, *l);
	}
	g_strfreev(lines);
	if (ok && p.config->require_authentication == IMIP_REQUIRE_AUTH_DMARC &&
	    p.config->trusted_authserv_ids->len == 0) {
		p.line = GPOINTER_TO_UINT(g_hash_table_lookup(
			p.seen, "require_authentication"));
		ok = config_error(&p, "require_authentication",
				  "dmarc needs trusted_authserv_ids (the "
				  "authserv-id your MTA writes in "
				  "Authentication-Results)");
	}
	if (ok && p.config->store_backend == IMIP_STORE_BACKEND_POSTGRESQL &&
	    p.config->store_conninfo == NULL) {
		p.line = GPOINTER_TO_UINT(g_hash_table_lookup(p.seen,
							      "store_backend"));
		ok = config_error(&p, "store_backend",
				  "postgresql needs store_conninfo (a libpq "
				  "connection string, e.g. \"host=/run/"
				  "postgresql dbname=imip\")");
	}
	g_hash_table_destroy(p.seen);
	if (!ok) {
		imip_config_free(&p.config);
		*error_r = p.error;
		return -1;
	}
	*config_r = p.config;
	return 0;
}

int imip_config_load(const char *path, struct imip_config **config_r,
		     char **error_r)
{
	GError *error = NULL;
	char *text;
	gsize len;
	int ret;

	*config_r = NULL;
	if (!g_file_get_contents(path, &text, &len, &error)) {
		*error_r = g_strdup_printf("cannot read configuration: %s",
					   error->message);
		g_error_free(error);
		return -1;
	}
	ret = imip_config_parse(text, len, path, config_r, error_r);
	g_free(text);
	return ret;
}

bool imip_config_is_local_address(const struct imip_config *config,
				  const char *address)
{
	char *addr = address_normalize(address);
	const char *domain = address_domain(addr);
	bool local = false;

	for (guint i = 0; domain != NULL && i < config->local_domains->len;
	     i++) {
		if (g_ascii_strcasecmp(domain,
				       g_ptr_array_index(config->local_domains,
							 i)) == 0)
			local = true;
	}
	g_free(addr);
	return local;
}

bool imip_config_is_submission_port(const struct imip_config *config,
				    unsigned int port)
{
	const GArray *ports = config->trusted_submission_ports;

	for (guint i = 0; port != 0 && i < ports->len; i++) {
		if (g_array_index(ports, unsigned int, i) == port)
			return true;
	}
	return false;
}
