/* Cyrus's imapd.conf and annotation definitions (cyrus-imapd-conf.h).
   Formats: lib/imapoptions (imapd.conf(5)) and imap/annotate.c
   (annotation_definitions: "name, scope, type, proxy, attributes, acl"). */

#include "cyrus-imapd-conf.h"

#include <string.h>
#include <glib.h>

/* Cyrus's switch values (lib/libconfig.c) */
static int cyrus_imapd_conf_switch(const char *value)
{
	static const char *const yes[] = { "1", "yes", "on", "t", "true", NULL };
	static const char *const no[] = { "0", "no", "off", "f", "false", NULL };
	char *lower = g_ascii_strdown(value, -1);
	int result = g_strv_contains(yes, lower) ? 1 :
		g_strv_contains(no, lower) ? 0 : -1;

	g_free(lower);
	return result;
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
	key = g_strstrip(line);
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

/* One definition line: does it declare `entry` for messages with a
   value.shared attribute? */
static bool cyrus_definition_declares(const char *line, const char *entry)
{
	char **fields = g_strsplit(line, ",", -1);
	bool ok = false;

	if (g_strv_length(fields) >= 5) {
		char **attribs;

		for (char **f = fields; *f != NULL; f++)
			g_strstrip(*f);
		attribs = g_strsplit_set(fields[4], " \t", -1);
		ok = strcmp(fields[0], entry) == 0 &&
			g_ascii_strcasecmp(fields[1], "message") == 0 &&
			(g_strv_contains((const char *const *)attribs,
					 "value.shared") ||
			 g_strv_contains((const char *const *)attribs,
					 "value"));
		g_strfreev(attribs);
	}
	g_strfreev(fields);
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
