/* libFuzzer harness: the preference value parsers.  The input is a value
   checked against every preference of prefs_table (prefs_value_is_valid);
   an input "name=value" whose name is a preference is also looked up. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "prefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* values come from files and the command line: NUL-terminated */
	char *value = g_strndup((const char *)data, size);
	const char *reason = NULL, *eq;

	for (const struct prefs_def *d = prefs_table; d->name != NULL; d++)
		(void)prefs_value_is_valid(d, value, &reason);
	eq = strchr(value, '=');
	if (eq != NULL) {
		char *name = g_strndup(value, (gsize)(eq - value));
		const struct prefs_def *d = prefs_lookup(name);

		if (d != NULL)
			(void)prefs_value_is_valid(d, eq + 1, &reason);
		g_free(name);
	}
	g_free(value);
	return 0;
}
