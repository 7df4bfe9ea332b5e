/* callout-wire: reading Cyrus's framed annotation_callout request from a
   socket (chunks, limits, deadline, peer going away), decoding it, and the
   exact bytes of the reply. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <glib.h>

#include "callout-wire.h"
#include "cyrus-list.h"

#define MS 1000		/* g_get_monotonic_time() units per millisecond */

#define REAL_REQUEST \
	"(FILENAME \"/srv/cyrus/data/uuid/i/n/inpy3c494tit5z78crv3j5bu/17.\" " \
	"ANNOTATIONS () FLAGS ($imip_added) BODY ((\"TEXT\" \"PLAIN\" " \
	"(\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 18 1 NIL NIL NIL NIL " \
	"(OFFSET 579 HEADERSIZE 43))(\"TEXT\" \"CALENDAR\" (\"CHARSET\" " \
	"\"utf-8\" \"METHOD\" \"REQUEST\") NIL NIL \"7BIT\" 414 16 NIL NIL " \
	"NIL NIL (OFFSET 707 HEADERSIZE 95)) \"ALTERNATIVE\" (\"BOUNDARY\" " \
	"\"BOUNDARY1\") NIL NIL NIL) " \
	"GUID d6afda3cb379e54d03f3eb7f33793188931e0f11)"

/* --- reading ------------------------------------------------------------ */

static void make_pair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    fds), 0);
}

static void send_bytes(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void send_str(int fd, const char *s)
{
	send_bytes(fd, s, strlen(s));
}

/* Read with a generous deadline; the peer's end closed first when
   `close_peer`.  Returns the payload or NULL with *error_r. */
static GByteArray *read_from(const void *wire, size_t len, size_t max,
			     bool close_peer, char **error_r)
{
	int fds[2];
	GByteArray *payload;

	make_pair(fds);
	send_bytes(fds[1], wire, len);
	if (close_peer)
		close(fds[1]);
	*error_r = NULL;
	payload = callout_read_request(fds[0],
				       g_get_monotonic_time() + 5000 * MS,
				       max, error_r);
	close(fds[0]);
	if (!close_peer)
		close(fds[1]);
	return payload;
}

static void read_ok(const char *wire, const void *expected, size_t elen)
{
	char *error = NULL;
	GByteArray *payload = read_from(wire, strlen(wire),
					CALLOUT_REQUEST_MAX, false, &error);

	if (payload == NULL)
		fail_msg("reading \"%s\" failed: %s", wire, error);
	assert_null(error);
	assert_int_equal(payload->len, elen);
	if (elen > 0)
		assert_memory_equal(payload->data, expected, elen);
	g_byte_array_unref(payload);
}

static void read_fails(const void *wire, size_t len, size_t max,
		       bool close_peer, const char *needle)
{
	char *error = NULL;
	GByteArray *payload = read_from(wire, len, max, close_peer, &error);

	if (payload != NULL)
		fail_msg("reading \"%.*s\" succeeded", (int)len,
			 (const char *)wire);
	assert_non_null(error);
	if (strstr(error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", error, needle);
	g_free(error);
}

static void test_read_single_chunk(void **state)
{
	char *wire = g_strdup_printf("%zu\n%s0\n", strlen(REAL_REQUEST),
				     REAL_REQUEST);

	(void)state;
	/* what Cyrus sends: one chunk, then "0\n" right after the data */
	read_ok(wire, REAL_REQUEST, strlen(REAL_REQUEST));
	g_free(wire);
	/* an empty request is just the terminator */
	read_ok("0\n", NULL, 0);
	/* leading zeros are still decimal */
	read_ok("003\nabc00\n", "abc", 3);
}

static void test_read_several_chunks(void **state)
{
	static const char binary[] = "3\na\0b2\n\r\n0\n";
	char *error = NULL;
	GByteArray *payload;

	(void)state;
	read_ok("3\nabc4\ndefg1\n)0\n", "abcdefg)", 8);
	/* chunk data is opaque: digits, newlines, NUL bytes */
	read_ok("2\n122\n\n\n0\n", "12\n\n", 4);
	payload = read_from(binary, sizeof(binary) - 1, CALLOUT_REQUEST_MAX,
			    false, &error);
	assert_non_null(payload);
	assert_int_equal(payload->len, 5);
	assert_memory_equal(payload->data, "a\0b\r\n", 5);
	g_byte_array_unref(payload);
}

static void test_read_bad_length_line(void **state)
{
	(void)state;
	read_fails("abc\n", 4, 100, false, "malformed");
	read_fails("\n", 1, 100, false, "malformed");
	read_fails("-1\n", 3, 100, false, "malformed");
	read_fails("+1\nx0\n", 6, 100, false, "malformed");
	read_fails("1 \nx0\n", 6, 100, false, "malformed");
	read_fails(" 1\nx0\n", 6, 100, false, "malformed");
	read_fails("1\r\nx0\n", 6, 100, false, "malformed");
	read_fails("0x10\n", 5, 100, false, "malformed");
	/* a good chunk, then garbage where the next length should be */
	read_fails("3\nabcxyz\n", 9, 100, false, "malformed");
	read_fails("99999999999\n", 12, 100, false, "too long");
}

static void test_read_over_max(void **state)
{
	(void)state;
	read_ok("5\nabcde0\n", "abcde", 5);
	/* exactly the limit is fine, one byte more is not */
	{
		char *error = NULL;
		GByteArray *p = read_from("5\nabcde0\n", 9, 5, false, &error);

		assert_non_null(p);
		assert_int_equal(p->len, 5);
		g_byte_array_unref(p);
	}
	read_fails("6\nabcdef0\n", 10, 5, false, "larger");
	/* the sum of the chunks counts */
	read_fails("3\nabc3\ndef0\n", 12, 5, false, "larger");
	/* refused from the length line alone, before any data arrives */
	read_fails("4294967295\n", 11, CALLOUT_REQUEST_MAX, false, "larger");
	read_fails("9999999999\n", 11, CALLOUT_REQUEST_MAX, false, "larger");
}

static void test_read_deadline(void **state)
{
	const char *wires[] = { "", "12", "10\nabc", "3\nabc" };

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(wires); i++) {
		int fds[2];
		char *error = NULL;
		gint64 start, elapsed;
		GByteArray *payload;

		make_pair(fds);
		send_str(fds[1], wires[i]);
		start = g_get_monotonic_time();
		/* the peer stays connected and sends nothing more */
		payload = callout_read_request(fds[0], start + 200 * MS,
					       CALLOUT_REQUEST_MAX, &error);
		elapsed = g_get_monotonic_time() - start;
		assert_null(payload);
		assert_non_null(error);
		assert_non_null(strstr(error, "timed out"));
		assert_true(elapsed >= 195 * MS);
		assert_true(elapsed < 3000 * MS);
		g_free(error);
		close(fds[0]);
		close(fds[1]);
	}
}

static void test_read_deadline_already_passed(void **state)
{
	int fds[2];
	char *error = NULL;
	GByteArray *payload;

	(void)state;
	make_pair(fds);
	send_str(fds[1], "1\nx0\n");
	payload = callout_read_request(fds[0], g_get_monotonic_time() - 1,
				       CALLOUT_REQUEST_MAX, &error);
	assert_null(payload);
	assert_non_null(strstr(error, "timed out"));
	g_free(error);
	close(fds[0]);
	close(fds[1]);
}

static void test_read_peer_closes(void **state)
{
	(void)state;
	read_fails("", 0, 100, true, "closed");
	read_fails("1", 1, 100, true, "closed");
	read_fails("10\nabc", 6, 100, true, "closed");
	read_fails("10\n", 3, 100, true, "closed");
	/* data complete but no terminating "0\n" */
	read_fails("3\nabc", 5, 100, true, "closed");
	read_fails("3\nabc0", 6, 100, true, "closed");
}

struct slow_writer {
	int fd;
	const guint8 *data;
	size_t len;
	size_t piece;
};

static gpointer slow_writer_run(gpointer data)
{
	struct slow_writer *w = data;

	for (size_t off = 0; off < w->len; off += w->piece) {
		size_t n = MIN(w->piece, w->len - off);
		const guint8 *p = w->data + off;

		while (n > 0) {
			ssize_t k = write(w->fd, p, n);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return NULL;
			p += k;
			n -= (size_t)k;
		}
		if (w->piece < 1000)
			g_usleep(1000);
	}
	return NULL;
}

/* A chunk far larger than the reader's buffer and than the socket
   buffer, and one that trickles in a few bytes at a time. */
static void test_read_large_and_trickling(void **state)
{
	const size_t big = 3 * 1024 * 1024 + 17;
	GByteArray *wire = g_byte_array_new();
	guint8 *data = g_malloc(big);
	char len_line[32];
	int fds[2];
	struct slow_writer w;
	GThread *thread;
	char *error = NULL;
	GByteArray *payload;

	(void)state;
	for (size_t i = 0; i < big; i++)
		data[i] = (guint8)(i * 7 + i / 251);
	/* two chunks, the split not on any buffer boundary */
	g_snprintf(len_line, sizeof(len_line), "%zu\n", big - 100001);
	g_byte_array_append(wire, (guint8 *)len_line, (guint)strlen(len_line));
	g_byte_array_append(wire, data, (guint)(big - 100001));
	g_snprintf(len_line, sizeof(len_line), "%d\n", 100001);
	g_byte_array_append(wire, (guint8 *)len_line, (guint)strlen(len_line));
	g_byte_array_append(wire, data + big - 100001, 100001);
	g_byte_array_append(wire, (guint8 *)"0\n", 2);

	make_pair(fds);
	w = (struct slow_writer){ fds[1], wire->data, wire->len, 65536 };
	thread = g_thread_new("writer", slow_writer_run, &w);
	payload = callout_read_request(fds[0],
				       g_get_monotonic_time() + 20000 * MS,
				       CALLOUT_REQUEST_MAX, &error);
	g_thread_join(thread);
	if (payload == NULL)
		fail_msg("large request: %s", error);
	assert_int_equal(payload->len, big);
	assert_memory_equal(payload->data, data, big);
	g_byte_array_unref(payload);
	close(fds[0]);
	close(fds[1]);

	/* the real request, 3 bytes per write */
	g_byte_array_set_size(wire, 0);
	g_snprintf(len_line, sizeof(len_line), "%zu\n", strlen(REAL_REQUEST));
	g_byte_array_append(wire, (guint8 *)len_line, (guint)strlen(len_line));
	g_byte_array_append(wire, (guint8 *)REAL_REQUEST,
			    (guint)strlen(REAL_REQUEST));
	g_byte_array_append(wire, (guint8 *)"0\n", 2);
	make_pair(fds);
	w = (struct slow_writer){ fds[1], wire->data, wire->len, 3 };
	thread = g_thread_new("writer", slow_writer_run, &w);
	payload = callout_read_request(fds[0],
				       g_get_monotonic_time() + 20000 * MS,
				       CALLOUT_REQUEST_MAX, &error);
	g_thread_join(thread);
	assert_non_null(payload);
	assert_int_equal(payload->len, strlen(REAL_REQUEST));
	assert_memory_equal(payload->data, REAL_REQUEST, payload->len);
	g_byte_array_unref(payload);
	close(fds[0]);
	close(fds[1]);

	g_byte_array_unref(wire);
	g_free(data);
}

static void test_read_bad_fd(void **state)
{
	char *error = NULL;
	int fds[2];

	(void)state;
	make_pair(fds);
	close(fds[0]);
	close(fds[1]);
	assert_null(callout_read_request(fds[0],
					 g_get_monotonic_time() + 200 * MS,
					 100, &error));
	assert_non_null(error);
	g_free(error);
}

/* --- decoding ------------------------------------------------------------ */

static struct callout_request *decode(const void *data, size_t len,
				      const char **error_r)
{
	guint8 *copy = g_malloc(len > 0 ? len : 1);
	struct callout_request *req;

	memcpy(copy, data, len);
	*error_r = NULL;
	req = callout_request_decode(copy, len, error_r);
	g_free(copy);
	return req;
}

static void decode_fails(const void *data, size_t len, const char *needle)
{
	const char *error = NULL;
	struct callout_request *req = decode(data, len, &error);

	if (req != NULL)
		fail_msg("decoding \"%.*s\" succeeded", (int)len,
			 (const char *)data);
	assert_non_null(error);
	if (needle != NULL && strstr(error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", error, needle);
}

#define DECODE_FAILS(s, needle) decode_fails(s, sizeof(s) - 1, needle)

static void test_decode_real_request(void **state)
{
	const char *error = NULL;
	struct callout_request *req = decode(REAL_REQUEST,
					     strlen(REAL_REQUEST), &error);

	(void)state;
	assert_non_null(req);
	assert_string_equal(req->filename, "/srv/cyrus/data/uuid/i/n/"
			    "inpy3c494tit5z78crv3j5bu/17.");
	assert_int_equal(req->flags->len, 1);
	assert_string_equal(g_ptr_array_index(req->flags, 0), "$imip_added");
	assert_string_equal(req->guid,
			    "d6afda3cb379e54d03f3eb7f33793188931e0f11");
	assert_true(callout_request_has_flag(req, "$imip_added"));
	assert_true(callout_request_has_flag(req, "$IMIP_ADDED"));
	assert_false(callout_request_has_flag(req, "$iMIP"));
	callout_request_free(&req);
	assert_null(req);
	callout_request_free(&req);
}

static void test_decode_minimal_and_literal(void **state)
{
	static const char lit[] =
		"(FILENAME {12}\r\n/a/\"b%\xc3\xa4\"/1. FLAGS NIL)";
	const char *error = NULL;
	struct callout_request *req;

	(void)state;
	req = decode("(FILENAME \"/x/1.\")", 18, &error);
	assert_non_null(req);
	assert_string_equal(req->filename, "/x/1.");
	assert_int_equal(req->flags->len, 0);
	assert_null(req->guid);
	assert_false(callout_request_has_flag(req, "$iMIP"));
	callout_request_free(&req);

	/* keys in any case and order; FILENAME as a literal */
	req = decode(lit, sizeof(lit) - 1, &error);
	assert_non_null(req);
	assert_string_equal(req->filename, "/a/\"b%\xc3\xa4\"/1.");
	assert_int_equal(req->flags->len, 0);
	callout_request_free(&req);

	req = decode("(guid abc flags (\\Answered $iMIP) filename /y/2.)",
		     strlen("(guid abc flags (\\Answered $iMIP) filename "
			    "/y/2.)"), &error);
	assert_non_null(req);
	assert_string_equal(req->filename, "/y/2.");
	assert_string_equal(req->guid, "abc");
	assert_int_equal(req->flags->len, 2);
	callout_request_free(&req);
}

static void test_decode_errors(void **state)
{
	static const char nul_filename[] =
		"(FILENAME {8}\r\n/a/\0b/1. FLAGS ())";
	static const char nul_first[] = "(FILENAME {4}\r\n\0/1. FLAGS ())";

	(void)state;
	decode_fails("", 0, NULL);
	DECODE_FAILS("(FLAGS ($iMIP) GUID abc)", "FILENAME");
	DECODE_FAILS("(FILENAME NIL FLAGS ())", "FILENAME");
	DECODE_FAILS("(FILENAME \"\" FLAGS ())", "FILENAME");
	DECODE_FAILS("(FILENAME (a b))", "FILENAME");
	DECODE_FAILS("(FILENAME)", "FILENAME");
	DECODE_FAILS("()", "FILENAME");
	DECODE_FAILS("FILENAME", "FILENAME");
	DECODE_FAILS("\"/x/1.\"", "FILENAME");
	/* a value, not a key, that happens to be FILENAME */
	DECODE_FAILS("(X FILENAME Y \"/x/1.\")", "FILENAME");
	/* unparsable */
	DECODE_FAILS("(FILENAME \"/x/1.\"", NULL);
	DECODE_FAILS("(FILENAME {100}\r\n/x)", NULL);
	/* a NUL byte would cut the path short: refused */
	decode_fails(nul_filename, sizeof(nul_filename) - 1, NULL);
	decode_fails(nul_first, sizeof(nul_first) - 1, NULL);
}

static void test_decode_nul_filename_names_nul(void **state)
{
	static const char nul_filename[] =
		"(FILENAME {8}\r\n/a/\0b/1. FLAGS ())";

	(void)state;
	decode_fails(nul_filename, sizeof(nul_filename) - 1, "NUL");
}

static void test_has_flag_case_insensitive(void **state)
{
	static const char req_text[] =
		"(FILENAME \"/x/1.\" FLAGS (\\seen $IMIP $iMIP-Added \"$q\" NIL "
		"(nested)))";
	const char *error = NULL;
	struct callout_request *req = decode(req_text, sizeof(req_text) - 1,
					     &error);

	(void)state;
	assert_non_null(req);
	/* atoms and strings are flags; NIL and lists are not */
	assert_int_equal(req->flags->len, 4);
	assert_true(callout_request_has_flag(req, "\\Seen"));
	assert_true(callout_request_has_flag(req, "\\SEEN"));
	assert_true(callout_request_has_flag(req, "$iMIP"));
	assert_true(callout_request_has_flag(req, "$imip"));
	assert_true(callout_request_has_flag(req, "$imip-added"));
	assert_true(callout_request_has_flag(req, "$Q"));
	assert_false(callout_request_has_flag(req, "$iMIP-"));
	assert_false(callout_request_has_flag(req, "$iMI"));
	assert_false(callout_request_has_flag(req, "\\Answered"));
	assert_false(callout_request_has_flag(req, "nested"));
	assert_false(callout_request_has_flag(req, ""));
	callout_request_free(&req);
}

/* --- the reply ----------------------------------------------------------- */

static void assert_reply(const struct callout_reply *reply,
			 const char *expected, size_t elen)
{
	GString *out = callout_reply_format(reply);

	if (out->len != elen || memcmp(out->str, expected, elen) != 0)
		fail_msg("reply \"%s\" is not \"%.*s\"", out->str, (int)elen,
			 expected);
	g_string_free(out, TRUE);
}

#define ASSERT_REPLY(r, s) assert_reply(r, s, sizeof(s) - 1)

/* The value.shared text of the n-th ANNOTATION of a formatted reply, as
   our own parser (the same grammar as Cyrus's dlist_parse) reads it. */
static char *reply_annotation(const struct callout_reply *reply, guint n,
			      size_t *len_r)
{
	GString *out = callout_reply_format(reply);
	struct cyrus_list_value *list;
	const char *error = NULL;
	size_t end = 0;
	char *value = NULL;
	guint seen = 0;

	assert_true(out->len > 0 && out->str[out->len - 1] == '\n');
	list = cyrus_list_parse(out->str, out->len, &end, &error);
	assert_non_null(list);
	/* exactly one list, then the newline Cyrus needs */
	assert_int_equal(end, out->len - 1);
	for (guint i = 0; i + 1 < list->items->len; i += 2) {
		const struct cyrus_list_value *k = list->items->pdata[i];
		const struct cyrus_list_value *v = list->items->pdata[i + 1];
		const struct cyrus_list_value *attr;

		if (g_strcmp0(cyrus_list_text(k), "ANNOTATION") != 0)
			continue;
		if (seen++ != n)
			continue;
		assert_int_equal(v->kind, CYRUS_LIST_LIST);
		assert_int_equal(v->items->len, 2);
		attr = v->items->pdata[1];
		assert_int_equal(attr->items->len, 2);
		assert_string_equal(cyrus_list_text(attr->items->pdata[0]),
				    "value.shared");
		*len_r = ((const struct cyrus_list_value *)
			  attr->items->pdata[1])->len;
		value = g_memdup2(cyrus_list_text(attr->items->pdata[1]),
				  *len_r + 1);
	}
	assert_non_null(value);
	cyrus_list_free(list);
	g_string_free(out, TRUE);
	return value;
}

static void test_reply_empty(void **state)
{
	struct callout_reply *reply = callout_reply_new();

	(void)state;
	ASSERT_REPLY(reply, "()\n");
	ASSERT_REPLY(reply, CALLOUT_REPLY_NO_CHANGE);
	callout_reply_free(&reply);
	assert_null(reply);
	callout_reply_free(&reply);
}

static void test_reply_flags_only(void **state)
{
	struct callout_reply *reply = callout_reply_new();

	(void)state;
	callout_reply_add_flag(reply, "$iMIP");
	ASSERT_REPLY(reply, "(+FLAGS ($iMIP))\n");
	callout_reply_add_flag(reply, "$iMIP-added");
	ASSERT_REPLY(reply, "(+FLAGS ($iMIP $iMIP-added))\n");
	callout_reply_free(&reply);
}

static void test_reply_flags_and_annotations(void **state)
{
	static const char expected[] =
		"(+FLAGS ($iMIP $iMIP-added) "
		"ANNOTATION (/vendor/imip-agent/outcome (value.shared "
		"{5}\r\nadded)) "
		"ANNOTATION (/vendor/imip-agent/reason (value.shared "
		"{35}\r\nEvent \"Plan\" (10:00) {x} added \\ %.)))\n";
	struct callout_reply *reply = callout_reply_new();
	size_t len;
	char *value;

	(void)state;
	callout_reply_add_flag(reply, "$iMIP");
	callout_reply_add_flag(reply, "$iMIP-added");
	callout_reply_add_annotation(reply, "/vendor/imip-agent/outcome",
				     "added");
	callout_reply_add_annotation(reply, "/vendor/imip-agent/reason",
				     "Event \"Plan\" (10:00) {x} added \\ %.");
	ASSERT_REPLY(reply, expected);
	/* and it reads back as one list */
	value = reply_annotation(reply, 1, &len);
	assert_string_equal(value, "Event \"Plan\" (10:00) {x} added \\ %.");
	g_free(value);
	callout_reply_free(&reply);
}

static void test_reply_annotations_only(void **state)
{
	struct callout_reply *reply = callout_reply_new();

	(void)state;
	callout_reply_add_annotation(reply, "/comment", "x");
	ASSERT_REPLY(reply, "(ANNOTATION (/comment (value.shared {1}\r\nx)))\n");
	/* an empty (or NULL) value is an empty literal */
	callout_reply_add_annotation(reply, "/vendor/a", "");
	callout_reply_add_annotation(reply, "/vendor/b", NULL);
	ASSERT_REPLY(reply, "(ANNOTATION (/comment (value.shared {1}\r\nx)) "
		     "ANNOTATION (/vendor/a (value.shared {0}\r\n)) "
		     "ANNOTATION (/vendor/b (value.shared {0}\r\n)))\n");
	callout_reply_free(&reply);
}

static void test_reply_control_chars_replaced(void **state)
{
	struct callout_reply *reply = callout_reply_new();
	size_t len;
	char *value;

	(void)state;
	callout_reply_add_annotation(reply, "/vendor/imip-agent/reason",
				     "a\tb\r\nc\x7f" "d\x01\x1f" "e");
	ASSERT_REPLY(reply, "(ANNOTATION (/vendor/imip-agent/reason "
		     "(value.shared {11}\r\na b  c d  e)))\n");
	value = reply_annotation(reply, 0, &len);
	assert_string_equal(value, "a b  c d  e");
	g_free(value);
	callout_reply_free(&reply);
}

/* Returns the value as the formatted reply carries it. */
static char *annotation_value_of(const char *value, size_t *len_r)
{
	struct callout_reply *reply = callout_reply_new();
	char *out;

	callout_reply_add_annotation(reply, "/vendor/imip-agent/reason",
				     value);
	out = reply_annotation(reply, 0, len_r);
	callout_reply_free(&reply);
	assert_true(g_utf8_validate(out, (gssize)*len_r, NULL));
	assert_true(*len_r <= CALLOUT_ANNOTATION_MAX);
	return out;
}

static void test_reply_value_cut_at_max(void **state)
{
	/* prefix of `n` ASCII bytes, then `tail` */
	static const struct {
		size_t ascii;
		const char *tail;
		size_t expected_len;
	} cases[] = {
		{ 1000, "", 1000 },
		{ 999, "", 999 },
		{ 1500, "", 1000 },
		{ 1000, "x", 1000 },
		/* a 2-byte character across the limit: dropped whole */
		{ 999, "\xc3\xa4", 999 },
		/* ... ending exactly at the limit: kept */
		{ 998, "\xc3\xa4" "x", 1000 },
		/* 3-byte character starting 1 or 2 bytes before the end */
		{ 998, "\xe2\x82\xac", 998 },
		{ 999, "\xe2\x82\xac", 999 },
		{ 997, "\xe2\x82\xac" "b", 1000 },
		/* 4-byte character */
		{ 997, "\xf0\x9f\x93\x85", 997 },
		{ 996, "\xf0\x9f\x93\x85" "z", 1000 },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *a = g_strnfill(cases[i].ascii, 'a');
		char *in = g_strconcat(a, cases[i].tail, NULL);
		size_t len;
		char *out = annotation_value_of(in, &len);

		if (len != cases[i].expected_len)
			fail_msg("case %zu: %zu bytes, expected %zu", i, len,
				 cases[i].expected_len);
		assert_memory_equal(out, in, len);
		g_free(out);
		g_free(in);
		g_free(a);
	}
}

static void test_reply_value_all_multibyte(void **state)
{
	GString *in = g_string_new(NULL);
	size_t len;
	char *out;

	(void)state;
	/* 2000 bytes of "ä": cut to 1000, an even number */
	for (int i = 0; i < 1000; i++)
		g_string_append(in, "\xc3\xa4");
	out = annotation_value_of(in->str, &len);
	assert_int_equal(len, 1000);
	g_free(out);
	/* 3-byte characters: 999 */
	g_string_truncate(in, 0);
	for (int i = 0; i < 600; i++)
		g_string_append(in, "\xe2\x82\xac");
	out = annotation_value_of(in->str, &len);
	assert_int_equal(len, 999);
	assert_memory_equal(out, in->str, 999);
	g_free(out);
	g_string_free(in, TRUE);
}

static void test_reply_invalid_utf8_cut(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "abc\xff" "def", "abc" },
		{ "caf\xc3", "caf" },
		{ "caf\xc3" "x", "caf" },
		{ "\x80" "abc", "" },
		{ "ok \xc3\xa4 \xed\xa0\x80 tail", "ok \xc3\xa4 " },
		{ "\xc0\xaf", "" },
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		size_t len;
		char *out = annotation_value_of(cases[i].in, &len);

		assert_string_equal(out, cases[i].out);
		assert_int_equal(len, strlen(cases[i].out));
		g_free(out);
	}
}

static void test_reply_long_invalid_value(void **state)
{
	char *a = g_strnfill(3000, 'a');
	char *in;
	size_t len;
	char *out;

	(void)state;
	/* invalid byte far beyond the limit: the limit cuts */
	a[2500] = '\xff';
	out = annotation_value_of(a, &len);
	assert_int_equal(len, 1000);
	g_free(out);
	/* invalid byte before the limit: cut there */
	a[2500] = 'a';
	a[10] = '\xfe';
	out = annotation_value_of(a, &len);
	assert_int_equal(len, 10);
	g_free(out);
	/* control characters are replaced, not removed: length kept */
	in = g_strnfill(1200, '\n');
	out = annotation_value_of(in, &len);
	assert_int_equal(len, 1000);
	assert_true(out[0] == ' ' && out[999] == ' ');
	g_free(out);
	g_free(in);
	g_free(a);
}

static void test_flag_is_valid(void **state)
{
	static const char *const good[] = {
		"$iMIP", "$iMIP-added", "$iMIP-no_action", "Junk", "a",
		"$Label1", "x.y", "a+b", "a/b", "a:b", "a[b", "~x", "a!b",
		"a#b", "a&b", "a'b", "a=b", "a?b", "a@b", "a^b", "a`b", "a|b",
		"a}b",
	};
	static const char *const bad[] = {
		"", "\\Seen", "\\Flagged", "\\", "\\iMIP", "a\\b", "a b",
		" a", "a ", "(a", "a)", "a(b", "%", "a%", "*", "a*b", "\"a\"",
		"a\"b", "]", "a]b", "{", "a{b", "a\tb", "a\rb", "a\nb",
		"a\x7f", "\x01", "\xc3\xa4", "caf\xc3\xa9", "\x80", "\xff",
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
		if (!callout_flag_is_valid(good[i]))
			fail_msg("\"%s\" refused", good[i]);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		if (callout_flag_is_valid(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
	}
	assert_false(callout_flag_is_valid(NULL));
}

/* Cyrus's imparse_isatom() refuses an atom of 1024 bytes or more: such a
   flag would make Cyrus fail the delivery (451). */
static void test_flag_length_limit(void **state)
{
	char flag[1025];
	bool ok, long_ok;

	(void)state;
	memset(flag, 'f', sizeof(flag) - 1);
	flag[1023] = '\0';
	ok = callout_flag_is_valid(flag);
	flag[1023] = 'f';
	flag[1024] = '\0';
	long_ok = callout_flag_is_valid(flag);
	assert_true(ok);
	assert_false(long_ok);
}

static unsigned int criticals;

static void count_criticals(const gchar *domain, GLogLevelFlags level,
			    const gchar *message, gpointer data)
{
	(void)domain;
	(void)message;
	(void)data;
	if ((level & G_LOG_LEVEL_CRITICAL) != 0)
		criticals++;
}

/* A flag or entry Cyrus would refuse is never put in a reply (Cyrus
   would fail the delivery): it is dropped with a critical message. */
static void test_reply_refuses_invalid_flag_and_entry(void **state)
{
	struct callout_reply *reply = callout_reply_new();
	GLogFunc old = g_log_set_default_handler(count_criticals, NULL);
	guint id = g_log_set_handler(NULL, G_LOG_LEVEL_CRITICAL,
				     count_criticals, NULL);

	(void)state;
	criticals = 0;
	callout_reply_add_flag(reply, "\\Seen");
	callout_reply_add_flag(reply, "two words");
	callout_reply_add_flag(reply, "");
	callout_reply_add_annotation(reply, "no-slash", "x");
	callout_reply_add_annotation(reply, "/with space", "x");
	callout_reply_add_annotation(reply, "/a(b", "x");
	g_log_remove_handler(NULL, id);
	g_log_set_default_handler(old, NULL);
	assert_int_equal(criticals, 6);
	ASSERT_REPLY(reply, "()\n");
	callout_reply_add_flag(reply, "$ok");
	ASSERT_REPLY(reply, "(+FLAGS ($ok))\n");
	callout_reply_free(&reply);
}

/* --- writing ------------------------------------------------------------- */

static void test_write_all(void **state)
{
	static const char text[] = "(+FLAGS ($iMIP))\n";
	char buf[64];
	int fds[2];
	ssize_t n;

	(void)state;
	make_pair(fds);
	assert_int_equal(callout_write_all(fds[0], text, sizeof(text) - 1,
					   g_get_monotonic_time() + 1000 * MS),
			 0);
	n = read(fds[1], buf, sizeof(buf));
	assert_int_equal(n, sizeof(text) - 1);
	assert_memory_equal(buf, text, sizeof(text) - 1);
	/* nothing to write: nothing done, even past the deadline */
	assert_int_equal(callout_write_all(fds[0], text, 0,
					   g_get_monotonic_time() - 1), 0);
	close(fds[0]);
	close(fds[1]);
}

static void test_write_all_deadline(void **state)
{
	size_t len = 8 * 1024 * 1024;
	char *data = g_malloc0(len);
	int fds[2], sndbuf = 4096;
	gint64 start, elapsed;

	(void)state;
	make_pair(fds);
	assert_int_equal(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
				    sizeof(sndbuf)), 0);
	assert_int_equal(fcntl(fds[0], F_SETFL,
			       fcntl(fds[0], F_GETFL) | O_NONBLOCK), 0);
	start = g_get_monotonic_time();
	/* the peer never reads */
	assert_int_equal(callout_write_all(fds[0], data, len,
					   start + 200 * MS), -1);
	elapsed = g_get_monotonic_time() - start;
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(elapsed >= 195 * MS);
	assert_true(elapsed < 3000 * MS);
	close(fds[0]);
	close(fds[1]);
	g_free(data);
}

static void test_write_all_peer_gone(void **state)
{
	int fds[2];

	(void)state;
	make_pair(fds);
	close(fds[1]);
	/* MSG_NOSIGNAL is not used: SIGPIPE must be ignored by the caller */
	{
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);

		assert_int_equal(callout_write_all(fds[0], "()\n", 3,
					g_get_monotonic_time() + 1000 * MS),
				 -1);
		assert_int_equal(errno, EPIPE);
		signal(SIGPIPE, old);
	}
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_single_chunk),
		cmocka_unit_test(test_read_several_chunks),
		cmocka_unit_test(test_read_bad_length_line),
		cmocka_unit_test(test_read_over_max),
		cmocka_unit_test(test_read_deadline),
		cmocka_unit_test(test_read_deadline_already_passed),
		cmocka_unit_test(test_read_peer_closes),
		cmocka_unit_test(test_read_large_and_trickling),
		cmocka_unit_test(test_read_bad_fd),
		cmocka_unit_test(test_decode_real_request),
		cmocka_unit_test(test_decode_minimal_and_literal),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_nul_filename_names_nul),
		cmocka_unit_test(test_has_flag_case_insensitive),
		cmocka_unit_test(test_reply_empty),
		cmocka_unit_test(test_reply_flags_only),
		cmocka_unit_test(test_reply_flags_and_annotations),
		cmocka_unit_test(test_reply_annotations_only),
		cmocka_unit_test(test_reply_control_chars_replaced),
		cmocka_unit_test(test_reply_value_cut_at_max),
		cmocka_unit_test(test_reply_value_all_multibyte),
		cmocka_unit_test(test_reply_invalid_utf8_cut),
		cmocka_unit_test(test_reply_long_invalid_value),
		cmocka_unit_test(test_flag_is_valid),
		cmocka_unit_test(test_flag_length_limit),
		cmocka_unit_test(test_reply_refuses_invalid_flag_and_entry),
		cmocka_unit_test(test_write_all),
		cmocka_unit_test(test_write_all_deadline),
		cmocka_unit_test(test_write_all_peer_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
