/* libFuzzer harness: the Cyrus hook's parsers of what Cyrus writes: the
   annotation_callout request (cyrus_list_parse, callout_request_decode)
   and, for an input starting with "%", the cyrus.header dlist
   (cyrus_mailbox_of_message on a header made of Cyrus's magic line, two
   quotation lines and the input), then the mailbox name it yields
   (cyrus_user_folder_parse). */

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib.h>

#include "callout-wire.h"
#include "cyrus-list.h"
#include "cyrus-mailbox.h"

#define MAGIC "\xa1\x02\x8b\x0d" "Cyrus mailbox header\n" \
	"\"The best thing about this system was that it had lots of goals.\"\n" \
	"\t--Jim Morris on Andrew\n"

static char *dir, *header_path, *message_path;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	dir = g_dir_make_tmp("imip-fuzz-cyrus-XXXXXX", NULL);
	if (dir == NULL)
		abort();
	header_path = g_build_filename(dir, "cyrus.header", NULL);
	message_path = g_build_filename(dir, "1.", NULL);
	return 0;
}

static void walk(const struct cyrus_list_value *v)
{
	(void)cyrus_list_text(v);
	if (v->kind == CYRUS_LIST_LIST) {
		(void)cyrus_list_lookup(v, "FILENAME");
		for (guint i = 0; i < v->items->len; i++)
			walk(v->items->pdata[i]);
	}
}

static void header(const uint8_t *data, size_t size)
{
	GString *s = g_string_new(MAGIC);
	struct cyrus_mailbox *mb;
	char *error = NULL;
	int fd;

	g_string_append_len(s, (const char *)data, (gssize)size);
	/* not g_file_set_contents(): its fsync() would dominate the run */
	fd = open(header_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, s->str, s->len) != (ssize_t)s->len ||
	    close(fd) != 0)
		abort();
	g_string_free(s, TRUE);
	mb = cyrus_mailbox_of_message(message_path, &error);
	if (mb != NULL) {
		struct cyrus_user_folder uf = { 0 };

		if (cyrus_user_folder_parse(mb->name, false, &uf))
			cyrus_user_folder_clear(&uf);
		if (cyrus_user_folder_parse(mb->name, true, &uf))
			cyrus_user_folder_clear(&uf);
		cyrus_mailbox_free(&mb);
	}
	g_free(error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly the input's bytes (one zeroed byte for an empty input:
	   callers never pass NULL), in a buffer of their own, so that
	   ASan sees any read past the end */
	guint8 *copy = g_malloc0(size > 0 ? size : 1);
	const char *error = NULL;
	struct cyrus_list_value *v;
	struct callout_request *req;
	size_t end = 0;

	memcpy(copy, data, size);
	v = cyrus_list_parse((const char *)copy, size, &end, &error);
	if (v != NULL) {
		if (end > size)
			abort();
		walk(v);
		cyrus_list_free(v);
	}
	error = NULL;
	req = callout_request_decode(copy, size, &error);
	if (req != NULL) {
		(void)callout_request_has_flag(req, "$imip_added");
		callout_request_free(&req);
	}
	g_free(copy);
	/* a dlist starts with %( : writing a file for everything else
	   would only slow the run down */
	if (size > 0 && data[0] == '%')
		header(data, size);
	return 0;
}
