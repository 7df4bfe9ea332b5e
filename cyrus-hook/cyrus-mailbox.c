/* Mailbox, user and folder of a stored Cyrus message (cyrus-mailbox.h). */

#include "cyrus-mailbox.h"
#include "cyrus-list.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* imap/mailbox.c MAILBOX_HEADER_MAGIC: the first line, then a two-line
   quotation, then the dlist. */
#define CYRUS_HEADER_MAGIC "\xa1\x02\x8b\x0d" "Cyrus mailbox header\n"
/* ACLs and up to 128 user flag names: far below this */
#define CYRUS_HEADER_MAX (256 * 1024)

void cyrus_mailbox_free(struct cyrus_mailbox **mailbox)
{
	if (*mailbox == NULL)
		return;
	g_free((*mailbox)->name);
	g_clear_pointer(mailbox, g_free);
}

static char *cyrus_header_read(const char *path, size_t *len_r,
			       char **error_r)
{
	GString *s;
	char buf[8192];
	ssize_t n;
	int fd;

	/* never follow a link planted where the header should be */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*error_r = g_strdup_printf("open(%s): %s", path,
					   g_strerror(errno));
		return NULL;
	}
	s = g_string_new(NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0 &&
	       s->len < CYRUS_HEADER_MAX)
		g_string_append_len(s, buf, n);
	if (n < 0) {
		*error_r = g_strdup_printf("read(%s): %s", path,
					   g_strerror(errno));
		close(fd);
		g_string_free(s, TRUE);
		return NULL;
	}
	close(fd);
	*len_r = s->len;
	return g_string_free(s, FALSE);
}

/* Start of the fourth line, or NULL. */
static const char *cyrus_header_dlist(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	for (int line = 1; line < 4; line++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			return NULL;
		p++;
	}
	return p;
}

struct cyrus_mailbox *cyrus_mailbox_of_message(const char *message_path,
					       char **error_r)
{
	char *dir = g_path_get_dirname(message_path);
	char *path = g_build_filename(dir, "cyrus.header", NULL);
	struct cyrus_list_value *list = NULL;
	struct cyrus_mailbox *mailbox = NULL;
	const char *dlist, *type, *name, *error = NULL;
	size_t len, end;
	char *text;

	g_free(dir);
	text = cyrus_header_read(path, &len, error_r);
	if (text == NULL) {
		g_free(path);
		return NULL;
	}
	if (len < strlen(CYRUS_HEADER_MAGIC) ||
	    memcmp(text, CYRUS_HEADER_MAGIC, strlen(CYRUS_HEADER_MAGIC)) != 0) {
		error = "not a Cyrus mailbox header";
	} else if ((dlist = cyrus_header_dlist(text, len)) == NULL) {
		error = "no mailbox list (Cyrus before 3.0?)";
	} else if ((list = cyrus_list_parse(dlist, len - (size_t)(dlist - text),
					    &end, &error)) != NULL) {
		type = cyrus_list_text(cyrus_list_lookup(list, "T"));
		name = cyrus_list_text(cyrus_list_lookup(list, "N"));
		if (type == NULL || *type == '\0' || name == NULL ||
		    *name == '\0' || strlen(name) != cyrus_list_lookup(
			    list, "N")->len) {
			error = "no mailbox type or name";
		} else {
			mailbox = g_new0(struct cyrus_mailbox, 1);
			mailbox->type = type[0];
			mailbox->name = g_strdup(name);
		}
	}
	if (mailbox == NULL)
		*error_r = g_strdup_printf("%s: %s", path, error);
	cyrus_list_free(list);
	g_free(text);
	g_free(path);
	return mailbox;
}

/* --- names ---------------------------------------------------------------- */

void cyrus_user_folder_clear(struct cyrus_user_folder *uf)
{
	g_clear_pointer(&uf->userid, g_free);
	g_clear_pointer(&uf->domain, g_free);
	g_clear_pointer(&uf->folder, g_free);
}

static char *cyrus_name_decode(const char *component, bool unixhierarchysep)
{
	char *s = g_strdup(component);

	if (unixhierarchysep)
		g_strdelimit(s, "^", '.');
	return s;
}

bool cyrus_user_folder_parse(const char *name, bool unixhierarchysep,
			     struct cyrus_user_folder *out)
{
	const char *bang = strchr(name, '!');
	const char *local = bang != NULL ? bang + 1 : name;
	char **parts;
	GString *folder;
	guint n;

	memset(out, 0, sizeof(*out));
	if (bang == name)
		return false;	/* "!user.x": an empty domain */
	if (!g_str_has_prefix(local, "user."))
		return false;
	parts = g_strsplit(local + strlen("user."), ".", -1);
	n = g_strv_length(parts);
	if (n == 0 || *parts[0] == '\0') {
		g_strfreev(parts);
		return false;
	}
	folder = g_string_new(NULL);
	for (guint i = 1; i < n; i++) {
		char *c = cyrus_name_decode(parts[i], unixhierarchysep);

		if (*c == '\0') {
			g_free(c);
			g_string_free(folder, TRUE);
			g_strfreev(parts);
			return false;
		}
		if (folder->len > 0)
			g_string_append_c(folder, '/');
		g_string_append(folder, c);
		g_free(c);
	}
	out->userid = cyrus_name_decode(parts[0], unixhierarchysep);
	out->domain = bang != NULL ? g_ascii_strdown(name, bang - name) : NULL;
	if (folder->len == 0)
		g_string_append(folder, "INBOX");
	out->folder = g_string_free(folder, FALSE);
	g_strfreev(parts);
	return true;
}

bool cyrus_folder_is_selected(const char *folder, const GPtrArray *patterns)
{
	/* the INBOX itself is exactly "INBOX" (cyrus_user_folder_parse());
	   a folder below it that someone named "inbox" is not it */
	bool inbox = strcmp(folder, "INBOX") == 0;

	for (guint i = 0; i < patterns->len; i++) {
		const char *p = g_ptr_array_index(patterns, i);

		if (strcmp(p, "*") == 0)
			return true;
		/* "INBOX" in any case names the INBOX and nothing else */
		if (g_ascii_strcasecmp(p, "INBOX") == 0 ? inbox :
		    strcmp(p, folder) == 0)
			return true;
	}
	return false;
}
