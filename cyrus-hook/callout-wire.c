/* Cyrus's annotation_callout exchange (callout-wire.h). */

#include "callout-wire.h"
#include "cyrus-list.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* --- reading ------------------------------------------------------------ */

/* Wait until fd is readable or writable, or the deadline passed.
   1 ready, 0 timed out, -1 error. */
static int callout_wait(int fd, short events, gint64 deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		gint64 left = deadline - g_get_monotonic_time();
		int ret;

		if (left <= 0)
			return 0;
		ret = poll(&pfd, 1, (int)MIN(left / 1000 + 1, G_MAXINT));
		if (ret > 0)
			return 1;
		if (ret < 0 && errno != EINTR)
			return -1;
	}
}

struct callout_reader {
	int fd;
	gint64 deadline;
	guint8 buf[8192];
	size_t pos, len;
	char *error;
};

/* One byte, or -1 with r->error set. */
static int callout_getc(struct callout_reader *r)
{
	ssize_t n;

	if (r->pos < r->len)
		return r->buf[r->pos++];
	for (;;) {
		int ready = callout_wait(r->fd, POLLIN, r->deadline);

		if (ready == 0) {
			r->error = g_strdup("timed out reading the request");
			return -1;
		}
		if (ready < 0) {
			r->error = g_strdup_printf("poll: %s", g_strerror(errno));
			return -1;
		}
		n = read(r->fd, r->buf, sizeof(r->buf));
		if (n > 0)
			break;
		if (n == 0) {
			r->error = g_strdup("connection closed in the middle "
					    "of the request");
			return -1;
		}
		if (errno != EINTR && errno != EAGAIN) {
			r->error = g_strdup_printf("read: %s", g_strerror(errno));
			return -1;
		}
	}
	r->len = (size_t)n;
	r->pos = 1;
	return r->buf[0];
}

/* "<digits>\n" */
static bool callout_read_length(struct callout_reader *r, size_t *len_r)
{
	guint64 len = 0;
	unsigned int digits = 0;
	int c;

	while ((c = callout_getc(r)) >= 0 && g_ascii_isdigit(c)) {
		if (++digits > 10) {
			r->error = g_strdup("chunk length too long");
			return false;
		}
		len = len * 10 + (guint64)(c - '0');
	}
	if (c < 0)
		return false;
	if (c != '\n' || digits == 0) {
		r->error = g_strdup("malformed chunk length");
		return false;
	}
	*len_r = (size_t)len;
	return true;
}

GByteArray *callout_read_request(int fd, gint64 deadline, size_t max,
				 char **error_r)
{
	struct callout_reader *r = g_new0(struct callout_reader, 1);
	GByteArray *payload = g_byte_array_new();
	size_t chunk;

	r->fd = fd;
	r->deadline = deadline;
	while (callout_read_length(r, &chunk)) {
		if (chunk == 0) {
			g_free(r);
			return payload;
		}
		if (chunk > max - payload->len) {
			r->error = g_strdup_printf("request larger than %zu "
						   "bytes", max);
			break;
		}
		while (chunk > 0) {
			size_t take;
			int c;

			if (r->pos == r->len) {
				if ((c = callout_getc(r)) < 0)
					break;
				r->pos--;
			}
			take = MIN(chunk, r->len - r->pos);
			g_byte_array_append(payload, r->buf + r->pos,
					    (guint)take);
			r->pos += take;
			chunk -= take;
		}
		if (r->error != NULL)
			break;
	}
	*error_r = r->error;
	g_free(r);
	g_byte_array_unref(payload);
	return NULL;
}

/* --- the request -------------------------------------------------------- */

void callout_request_free(struct callout_request **request)
{
	struct callout_request *req = *request;

	if (req == NULL)
		return;
	*request = NULL;
	g_free(req->filename);
	g_ptr_array_unref(req->flags);
	g_free(req->guid);
	g_free(req);
}

static void callout_request_take_flags(struct callout_request *req,
				       const struct cyrus_list_value *flags)
{
	if (flags == NULL || flags->kind != CYRUS_LIST_LIST)
		return;
	for (guint i = 0; i < flags->items->len; i++) {
		const char *flag = cyrus_list_text(
			g_ptr_array_index(flags->items, i));

		if (flag != NULL)
			g_ptr_array_add(req->flags, g_strdup(flag));
	}
}

struct callout_request *callout_request_decode(const guint8 *data,
					       size_t len,
					       const char **error_r)
{
	struct cyrus_list_value *list;
	struct callout_request *req;
	const char *filename, *guid;
	size_t end;

	list = cyrus_list_parse((const char *)data, len, &end, error_r);
	if (list == NULL)
		return NULL;
	filename = cyrus_list_text(cyrus_list_lookup(list, "FILENAME"));
	if (list->kind != CYRUS_LIST_LIST || filename == NULL ||
	    strlen(filename) == 0) {
		*error_r = "no FILENAME in the request";
		cyrus_list_free(list);
		return NULL;
	}
	if (memchr(cyrus_list_lookup(list, "FILENAME")->text, '\0',
		   cyrus_list_lookup(list, "FILENAME")->len) != NULL) {
		*error_r = "NUL byte in FILENAME";
		cyrus_list_free(list);
		return NULL;
	}
	req = g_new0(struct callout_request, 1);
	req->filename = g_strdup(filename);
	req->flags = g_ptr_array_new_with_free_func(g_free);
	callout_request_take_flags(req, cyrus_list_lookup(list, "FLAGS"));
	guid = cyrus_list_text(cyrus_list_lookup(list, "GUID"));
	req->guid = g_strdup(guid);
	cyrus_list_free(list);
	return req;
}

bool callout_request_has_flag(const struct callout_request *request,
			      const char *flag)
{
	for (guint i = 0; i < request->flags->len; i++) {
		if (g_ascii_strcasecmp(g_ptr_array_index(request->flags, i),
				       flag) == 0)
			return true;
	}
	return false;
}

/* --- the reply ----------------------------------------------------------- */

struct callout_reply {
	GPtrArray *flags;		/* char * */
	GPtrArray *annotations;		/* char *: entry, value, entry, ... */
};

/* RFC 3501 atom-char minus "\": no CTL, SP, ( ) { % * " \ ]; shorter
   than 1024 bytes (Cyrus's imparse_isatom()) */
bool callout_flag_is_valid(const char *flag)
{
	if (flag == NULL || *flag == '\0' || *flag == '\\' ||
	    strlen(flag) >= 1024)
		return false;
	for (const char *p = flag; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

struct callout_reply *callout_reply_new(void)
{
	struct callout_reply *reply = g_new0(struct callout_reply, 1);

	reply->flags = g_ptr_array_new_with_free_func(g_free);
	reply->annotations = g_ptr_array_new_with_free_func(g_free);
	return reply;
}

void callout_reply_free(struct callout_reply **reply)
{
	if (*reply == NULL)
		return;
	g_ptr_array_unref((*reply)->flags);
	g_ptr_array_unref((*reply)->annotations);
	g_clear_pointer(reply, g_free);
}

void callout_reply_add_flag(struct callout_reply *reply, const char *flag)
{
	/* our flags are constants: a bad one is a bug, and sending it would
	   make Cyrus refuse the mail */
	g_return_if_fail(callout_flag_is_valid(flag));
	g_ptr_array_add(reply->flags, g_strdup(flag));
}

/* Annotation entries are paths of atom characters ("/vendor/x/y"). */
static bool callout_entry_is_valid(const char *entry)
{
	return entry != NULL && entry[0] == '/' &&
		callout_flag_is_valid(entry);
}

static char *callout_annotation_value(const char *value)
{
	GString *s = g_string_new(NULL);
	const char *end;

	for (const char *p = value != NULL ? value : ""; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		g_string_append_c(s, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
	if (!g_utf8_validate(s->str, (gssize)s->len, &end))
		g_string_truncate(s, (gsize)(end - s->str));
	if (s->len > CALLOUT_ANNOTATION_MAX) {
		const char *cut = g_utf8_find_prev_char(s->str,
			s->str + CALLOUT_ANNOTATION_MAX + 1);

		g_string_truncate(s, cut != NULL ? (gsize)(cut - s->str) : 0);
	}
	return g_string_free(s, FALSE);
}

void callout_reply_add_annotation(struct callout_reply *reply,
				  const char *entry, const char *value)
{
	g_return_if_fail(callout_entry_is_valid(entry));
	g_ptr_array_add(reply->annotations, g_strdup(entry));
	g_ptr_array_add(reply->annotations, callout_annotation_value(value));
}

GString *callout_reply_format(const struct callout_reply *reply)
{
	GString *out = g_string_new("(");

	if (reply->flags->len > 0) {
		g_string_append(out, "+FLAGS (");
		for (guint i = 0; i < reply->flags->len; i++) {
			if (i > 0)
				g_string_append_c(out, ' ');
			g_string_append(out, g_ptr_array_index(reply->flags, i));
		}
		g_string_append_c(out, ')');
	}
	for (guint i = 0; i + 1 < reply->annotations->len; i += 2) {
		const char *value = g_ptr_array_index(reply->annotations, i + 1);

		if (out->len > 1)
			g_string_append_c(out, ' ');
		/* a literal carries any text without quoting rules */
		g_string_append_printf(out, "ANNOTATION (%s (value.shared "
				       "{%zu}\r\n%s))",
				       (const char *)g_ptr_array_index(
					       reply->annotations, i),
				       strlen(value), value);
	}
	g_string_append(out, ")\n");
	return out;
}

int callout_write_all(int fd, const char *data, size_t len, gint64 deadline)
{
	while (len > 0) {
		ssize_t n;
		int ready = callout_wait(fd, POLLOUT, deadline);

		if (ready <= 0) {
			if (ready == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}
