/* libFuzzer harness: a mail message through mime_message_read() and
   imip_process() (person role), as imip-shim delivers it.  One store in a
   temporary directory (under $TMPDIR) per process; the clock is fixed
   (IMIP_NOW) so that runs are reproducible. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "clock.h"
#include "config.h"
#include "imip.h"
#include "mime-read.h"
#include "store.h"

static struct imip_config *config;
static struct imip_ctx ctx;

static void discard_log(void *context, enum imip_log_level level,
			const char *message)
{
	(void)context;
	(void)level;
	(void)message;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *root, *error = NULL;

	(void)argc;
	(void)argv;
	setenv("IMIP_NOW", "20141120T120000Z", 1);
	root = g_dir_make_tmp("imip-fuzz-message-XXXXXX", NULL);
	if (root == NULL)
		abort();
	config = imip_config_new_defaults();
	g_free(config->store_dir);
	g_free(config->preferences_dir);
	g_free(config->journal_dir);
	g_free(config->static_dir);
	config->store_dir = g_build_filename(root, "store", NULL);
	config->preferences_dir = g_build_filename(root, "prefs", NULL);
	config->journal_dir = g_build_filename(root, "journal", NULL);
	config->static_dir = g_build_filename(root, "static", NULL);
	g_free(root);
	ctx.config = config;
	ctx.log = discard_log;
	if (store_open(config, &ctx.store, &error) != 0)
		abort();
	if (!imip_clock_parse_utc("20141120T120000Z", &ctx.now))
		abort();
	mime_init();
	return 0;
}

/* mime_line_names_calendar() line by line, the way imip-deliver.c feeds
   it from Dovecot's stream (the last line may lack its line end). */
static void fuzz_line_scan(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	bool in_field = false, found = false;

	while (!found && p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *eol = nl != NULL ? nl : end;

		found = mime_line_names_calendar(p, (size_t)(eol - p), &in_field);
		p = eol + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_message *msg = mime_message_read(data, size,
						     &config->limits);
	struct imip_result *r;

	if (msg == NULL)
		return 0;
	r = imip_process(&ctx, msg, "paul.boddie@example.com",
			 "vincent.vole@example.com", IMIP_ROLE_PERSON);
	imip_result_free(&r);
	mime_message_free(&msg);
	/* the adapters' reader, and its line test as the Dovecot plugin runs
	   it over a stream */
	msg = mime_message_read_if_calendar(data, size, &config->limits);
	mime_message_free(&msg);
	fuzz_line_scan(data, size);
	return 0;
}
