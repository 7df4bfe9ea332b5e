/* libFuzzer harness: imip.conf text through imip_config_parse(), and the
   lookups made on a configuration it accepts. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a buffer of exactly the input (one byte for an empty input:
	   callers never pass NULL) */
	guint8 *copy = g_malloc0(size > 0 ? size : 1);
	struct imip_config *config = NULL;
	char *error = NULL;

	memcpy(copy, data, size);
	if (imip_config_parse((const char *)copy, size, "fuzz", &config,
			      &error) == 0) {
		(void)imip_config_syslog_facility(config);
		(void)imip_config_is_local_address(config,
						   "vincent.vole@example.com");
		imip_config_free(&config);
	}
	g_free(error);
	g_free(copy);
	return 0;
}
