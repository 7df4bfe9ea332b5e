/* Test driver for shim_deliver() until `imip-shim --deliver` exists:
     deliver-driver TARGET SENDER RECIPIENT FILE [FILE...]
   delivers each FILE as one message, in order, and exits with the
   shim_deliver status (0, 75 or 69); the error goes to stderr. */

#include "shim-deliver.h"

#include <stdio.h>
#include <time.h>
#include <glib.h>

int main(int argc, char **argv)
{
	GPtrArray *messages;
	enum shim_deliver_status status;
	char *error = NULL;

	if (argc < 5) {
		fprintf(stderr, "usage: %s TARGET SENDER RECIPIENT FILE...\n",
			argv[0]);
		return 64;
	}
	if (!shim_deliver_target_is_valid(argv[1])) {
		fprintf(stderr, "invalid target: %s\n", argv[1]);
		return 64;
	}
	messages = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_bytes_unref);
	for (int i = 4; i < argc; i++) {
		char *text;
		gsize len;
		GError *gerr = NULL;

		if (!g_file_get_contents(argv[i], &text, &len, &gerr)) {
			fprintf(stderr, "%s\n", gerr->message);
			g_error_free(gerr);
			g_ptr_array_unref(messages);
			return 66;
		}
		g_ptr_array_add(messages, g_bytes_new_take(text, len));
	}
	status = shim_deliver(argv[1], argv[2], argv[3], messages,
			      time(NULL), &error);
	if (error != NULL)
		fprintf(stderr, "deliver: %s\n", error);
	g_free(error);
	g_ptr_array_unref(messages);
	return (int)status;
}
