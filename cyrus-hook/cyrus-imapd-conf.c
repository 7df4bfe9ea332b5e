/* Cyrus's imapd.conf and annotation definitions (cyrus-imapd-conf.h).
   Formats: lib/imapoptions (imapd.conf(5)) and imap/annotate.c
   (annotation_definitions: "name, scope, type, proxy, attributes, acl"). */

#include "cyrus-imapd-conf.h"

#include <string.h>
#include <glib.h>

/* Cyrus's switch values (lib/libconfig.c config_parse_switch()): it
   goes by the first letter ("n", "no", "never" are all no; "on"/"off"
   by the second). */
static int cyrus_imapd_conf_switch(const char *value)
{
	char c = g_ascii_tolower(value[0]);
	char d = c != '\0' ? g_ascii_tolower(value[1]) : '\0';

	if (c == '0' || c == 'n' || c == 'f' || (c == 'o' && d == 'f'))
		return 0;
	if (c == '1' || c == 'y' || c == 't' || (c == 'o' && d == 'n'))
		return 1;
	return -1;
}

static void cyrus_imapd_conf_line(struct cyrus_imapd_conf *conf, char *line)
{
	char *colon, *key, *value;

	g_strstrip(line);
	if (*line == '\0' || *line == '#')
		return;
	colon = strchr(line, ':');
	if (colon == NULL)
		return;
	*colon = '\0';
	/* Cyrus lower-cases option names */
	key = g_ascii_strdown(g_strstrip(line), -1);
	value = g_strstrip(colon + 1);
	if (strcmp(key, "unixhierarchysep") == 0) {
		conf->unixhierarchysep = cyrus_imapd_conf_switch(value);
	} else if (strcmp(key, "defaultdomain") == 0 && *value != '\0') {
		g_free(conf->defaultdomain);
		conf->defaultdomain = g_ascii_strdown(value, -1);
	} else if (strcmp(key, "annotation_definitions") == 0 &&
		   *value != '\0') {
		g_free(conf->annotation_definitions);
		conf->annotation_definitions = g_strdup(value);
	} else if (strcmp(key, "annotation_allow_undefined") == 0) {
		conf->annotation_allow_undefined =
			cyrus_imapd_conf_switch(value) == 1;
	}
	g_free(key);
}

struct cyrus_imapd_conf *cyrus_imapd_conf_read(const char *path,
					       char **error_r)
{
	struct cyrus_imapd_conf *conf;
	GError *error = NULL;
	char *text, **lines;

	if (!g_file_get_contents(path, &text, NULL, &error)) {
		*error_r = g_strdup(error->message);
		g_error_free(error);
		return NULL;
	}
	conf = g_new0(struct cyrus_imapd_conf, 1);
	conf->unixhierarchysep = -1;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l != NULL; l++)
		cyrus_imapd_conf_line(conf, *l);
	g_strfreev(lines);
	g_free(text);
	return conf;
}

void cyrus_imapd_conf_free(struct cyrus_imapd_conf **conf)
{
	if (*conf == NULL)
		return;
	g_free((*conf)->defaultdomain);
	g_free((*conf)->annotation_definitions);
	g_clear_pointer(conf, g_free);
}

static bool cyrus_word_chars_ok(const char *s, const char *extra)
{
	for (; *s != '\0'; s++) {
		if (!g_ascii_isalnum(*s) && strchr(extra, *s) == NULL)
			return false;
	}
	return true;
}

/* The proxy-type field: Cyrus stores the annotation on a backend only
   with "backend" (or proxy_and_backend); an unknown word drops the line. */
static bool cyrus_definition_proxy_ok(const char *field)
{
	char **words = g_strsplit(field, " ", -1);
	bool backend = false, known = true;

	for (char **w = words; *w != NULL && known; w++) {
		if (**w == '\0')
			continue;
		if (g_ascii_strcasecmp(*w, "backend") == 0 ||
		    g_ascii_strcasecmp(*w, "proxy_and_backend") == 0)
			backend = true;
		else
			known = g_ascii_strcasecmp(*w, "proxy") == 0;
	}
	g_strfreev(words);
	return known && backend;
}

/* The attribute field: all words known to Cyrus, value.shared among
   them (or "value", which means both). */
static bool cyrus_definition_attributes_ok(const char *field)
{
	static const char *const known[] = {
		"value", "value.shared", "value.priv", "size", "size.shared",
		"size.priv", "modifiedsince", "modifiedsince.shared",
		"modifiedsince.priv", "content-type", "content-type.shared",
		"content-type.priv", NULL,
	};
	char **words = g_strsplit(field, " ", -1);
	bool shared = false, ok = true;

	for (char **w = words; *w != NULL && ok; w++) {
		char *lower;

		if (**w == '\0')
			continue;
		lower = g_ascii_strdown(*w, -1);
		ok = g_strv_contains(known, lower);
		shared = shared || strcmp(lower, "value") == 0 ||
			strcmp(lower, "value.shared") == 0;
		g_free(lower);
	}
	g_strfreev(words);
	return ok && shared;
}

/* One line of annotation_definitions, judged as Cyrus 3.6 reads it
   (imap/annotate.c init_annotation_definitions()): exactly six fields,
   our entry, scope message, type string (our values are text), a proxy
   type that stores on the backend, known attributes with value.shared.
   Cyrus skips a line it cannot read, and then refuses our annotation:
   anything less than that is "not declared". */
static bool cyrus_definition_declares(const char *line, const char *entry)
{
	char **f = g_strsplit(line, ",", -1);
	bool ok = false;

	if (g_strv_length(f) == 6) {
		for (char **x = f; *x != NULL; x++)
			g_strstrip(*x);
		ok = g_ascii_strcasecmp(f[0], entry) == 0 &&
			g_ascii_strcasecmp(f[1], "message") == 0 &&
			g_ascii_strcasecmp(f[2], "string") == 0 &&
			cyrus_word_chars_ok(f[3], ".-_/ ") &&
			cyrus_word_chars_ok(f[4], ".-_/ ") &&
			cyrus_word_chars_ok(f[5], "") &&
			cyrus_definition_proxy_ok(f[3]) &&
			cyrus_definition_attributes_ok(f[4]);
	}
	g_strfreev(f);
	return ok;
}

bool cyrus_imapd_conf_accepts_annotations(const struct cyrus_imapd_conf *conf,
					  const char *const *entries,
					  char **why_r)
{
	GError *error = NULL;
	char *text, **lines;
	bool all = true;

	if (conf->annotation_allow_undefined)
		return true;
	if (conf->annotation_definitions == NULL) {
		*why_r = g_strdup("imapd.conf sets no annotation_definitions");
		return false;
	}
	if (!g_file_get_contents(conf->annotation_definitions, &text, NULL,
				 &error)) {
		*why_r = g_strdup(error->message);
		g_error_free(error);
		return false;
	}
	lines = g_strsplit(text, "\n", -1);
	g_free(text);
	for (const char *const *e = entries; *e != NULL && all; e++) {
		bool found = false;

		for (char **l = lines; *l != NULL && !found; l++)
			found = **l != '#' && cyrus_definition_declares(*l, *e);
		if (!found) {
			*why_r = g_strdup_printf("%s does not declare %s",
						 conf->annotation_definitions,
						 *e);
			all = false;
		}
	}
	g_strfreev(lines);
	return all;
}
