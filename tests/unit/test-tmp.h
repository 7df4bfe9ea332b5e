#ifndef IMIP_TEST_TMP_H
#define IMIP_TEST_TMP_H

/* What the unit tests that need a real store share: a configuration whose
   directories all live under a new temporary directory, and its removal. */

#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"

/* Defaults, with store_dir, preferences_dir, journal_dir and static_dir
   under *root_r (a new directory named after `prefix`; caller frees). */
static inline struct imip_config *test_tmp_config(const char *prefix,
						  char **root_r)
{
	char *pattern = g_strconcat(prefix, "-XXXXXX", NULL);
	struct imip_config *config = imip_config_new_defaults();
	char *root = g_dir_make_tmp(pattern, NULL);

	g_free(pattern);
	g_free(config->store_dir);
	g_free(config->preferences_dir);
	g_free(config->journal_dir);
	g_free(config->static_dir);
	config->store_dir = g_build_filename(root, "store", NULL);
	config->preferences_dir = g_build_filename(root, "prefs", NULL);
	config->journal_dir = g_build_filename(root, "journal", NULL);
	config->static_dir = g_build_filename(root, "static", NULL);
	*root_r = root;
	return config;
}

static inline void test_rm_rf(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	if (d == NULL) {
		g_unlink(path);
		return;
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		char *sub = g_build_filename(path, name, NULL);

		test_rm_rf(sub);
		g_free(sub);
	}
	g_dir_close(d);
	g_rmdir(path);
}

#endif
