/* Reading an incoming message with GMime (RFC 6047 iMIP): find every
   calendar part at any depth, decode it to UTF-8, and collect the header
   addresses that identify the sender.  GMime does all MIME decoding; this
   file only walks the tree under the configured limits (DESIGN.md rule 3). */

#include "mime-read.h"
#include "address.h"
#include "config.h"
#include "tnef.h"

#include <string.h>
#include <gmime/gmime.h>

/* Used when the caller passes no limits, or a limit of 0: hostile input must
   stay bounded even when nobody configured anything. */
#define MIME_DEFAULT_MESSAGE_SIZE (10u * 1024u * 1024u)
#define MIME_DEFAULT_PARTS 100u
#define MIME_DEFAULT_DEPTH 100u
#define MIME_DEFAULT_CALENDAR_SIZE (1024u * 1024u)

struct mime_walk_limits {
	size_t message_size;
	unsigned int parts;
	unsigned int depth;
	size_t calendar_size;
};

struct mime_walk {
	struct mime_message *msg;
	GMimeMessage *message;	/* whose body is walked (From/To/Cc for TNEF) */
	struct mime_walk_limits limits;
	unsigned int parts;	/* body parts seen, the top-level entity not
				   counted */
	GHashTable *seen;	/* normalised calendar text -> itself */
	bool stop;
};

static void mime_walk_object(struct mime_walk *walk, GMimeObject *obj,
			     unsigned int depth, bool may_rescue);

void mime_init(void)
{
	static gsize initialised = 0;

	if (g_once_init_enter(&initialised)) {
		g_mime_init();
		g_once_init_leave(&initialised, 1);
	}
}

static void mime_limits_resolve(const struct imip_limits *in,
				struct mime_walk_limits *out)
{
	out->message_size = MIME_DEFAULT_MESSAGE_SIZE;
	out->parts = MIME_DEFAULT_PARTS;
	out->depth = MIME_DEFAULT_DEPTH;
	out->calendar_size = MIME_DEFAULT_CALENDAR_SIZE;
	if (in == NULL)
		return;
	if (in->message_size != 0)
		out->message_size = in->message_size;
	if (in->mime_parts != 0)
		out->parts = in->mime_parts;
	if (in->mime_depth != 0)
		out->depth = in->mime_depth;
	if (in->calendar_size != 0)
		out->calendar_size = in->calendar_size;
}

/* Only the first problem is kept: it is the one that stopped or first
   degraded the reading. */
static void mime_set_problem(struct mime_walk *walk, bool is_limit,
			     char *text)
{
	if (walk->msg->problem != NULL) {
		g_free(text);
		return;
	}
	walk->msg->problem = text;
	walk->msg->problem_is_limit = is_limit;
}

static void mime_calendar_part_free(gpointer data)
{
	struct mime_calendar_part *part = data;

	g_free(part->text);
	g_free(part->content_type);
	g_free(part->method_param);
	g_free(part);
}

static bool mime_is_calendar_type(GMimeObject *obj, char **type_r)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *type, *subtype;
	const char *filename;

	if (ct == NULL)
		return false;
	type = g_mime_content_type_get_media_type(ct);
	subtype = g_mime_content_type_get_media_subtype(ct);
	if (type == NULL || subtype == NULL)
		return false;
	if ((g_ascii_strcasecmp(type, "text") == 0 &&
	     (g_ascii_strcasecmp(subtype, "calendar") == 0 ||
	      g_ascii_strcasecmp(subtype, "x-vcalendar") == 0)) ||
	    (g_ascii_strcasecmp(type, "application") == 0 &&
	     g_ascii_strcasecmp(subtype, "ics") == 0)) {
		*type_r = g_strdup_printf("%s/%s", type, subtype);
		return true;
	}
	/* Some clients attach the invitation as a generic file; the name is
	   then the only hint. */
	if (g_ascii_strcasecmp(type, "application") == 0 &&
	    g_ascii_strcasecmp(subtype, "octet-stream") == 0 &&
	    GMIME_IS_PART(obj)) {
		filename = g_mime_part_get_filename(GMIME_PART(obj));
		if (filename != NULL && strlen(filename) >= 4 &&
		    g_ascii_strcasecmp(filename + strlen(filename) - 4,
				       ".ics") == 0) {
			*type_r = g_strdup_printf("%s/%s", type, subtype);
			return true;
		}
	}
	return false;
}

/* The part's content with the transfer encoding undone. */
static GByteArray *mime_part_decoded(GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *bytes;

	if (content == NULL)
		return NULL;
	bytes = g_byte_array_new();
	mem = g_mime_stream_mem_new_with_byte_array(bytes);
	/* The array belongs to us, not to the stream. */
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	if (g_mime_data_wrapper_write_to_stream(content, mem) < 0) {
		g_object_unref(mem);
		g_byte_array_free(bytes, TRUE);
		return NULL;
	}
	g_object_unref(mem);
	return bytes;
}

static bool mime_charset_is_utf8(const char *charset)
{
	return g_ascii_strcasecmp(charset, "utf-8") == 0 ||
		g_ascii_strcasecmp(charset, "utf8") == 0 ||
		g_ascii_strcasecmp(charset, "us-ascii") == 0 ||
		g_ascii_strcasecmp(charset, "ascii") == 0;
}

/* RFC 5545 3.1: a simple folder may split a multi-octet UTF-8 character
   across a fold, and unfolding restores it.  Text whose only invalid
   sequences are such splits is UTF-8, not Latin-1: it is returned with
   the folds taken out (the iCalendar parser removes them anyway), or
   NULL when it is not valid UTF-8 even then. */
static char *mime_utf8_unfolded(const guint8 *data, gsize len, gsize *len_r)
{
	GString *out = g_string_sized_new(len);

	for (gsize i = 0; i < len; i++) {
		if (data[i] == '\r' && i + 2 < len && data[i + 1] == '\n' &&
		    (data[i + 2] == ' ' || data[i + 2] == '\t')) {
			i += 2;
			continue;
		}
		if (data[i] == '\n' && i + 1 < len &&
		    (data[i + 1] == ' ' || data[i + 1] == '\t')) {
			i++;
			continue;
		}
		g_string_append_c(out, (char)data[i]);
	}
	if (!g_utf8_validate(out->str, (gssize)out->len, NULL)) {
		g_string_free(out, TRUE);
		return NULL;
	}
	*len_r = out->len;
	return g_string_free(out, FALSE);
}

/* Decoded bytes -> valid UTF-8.  The declared charset is honoured through
   iconv (GMime maps the MIME names); data that does not convert and is not
   UTF-8 is taken as ISO-8859-1, which every byte sequence is.  The result
   never holds invalid sequences or NUL bytes (g_utf8_make_valid replaces
   them), so later code can treat it as a C string. */
static char *mime_to_utf8(const guint8 *data, gsize len, const char *charset,
			  gsize *len_r)
{
	char *converted = NULL, *valid;
	gsize written = 0;

	if (len == 0 || data == NULL) {
		*len_r = 0;
		return g_strdup("");
	}
	if (charset != NULL && *charset != '\0' &&
	    !mime_charset_is_utf8(charset)) {
		converted = g_convert((const char *)data, (gssize)len, "UTF-8",
				      g_mime_charset_iconv_name(charset),
				      NULL, &written, NULL);
	}
	if (converted == NULL &&
	    !g_utf8_validate((const char *)data, (gssize)len, NULL)) {
		bool has_nul = memchr(data, '\0', len) != NULL;

		/* Embedded NULs make g_utf8_validate fail on otherwise good
		   UTF-8; let make_valid replace them instead of reading the
		   whole text as Latin-1. */
		if (!has_nul)
			converted = mime_utf8_unfolded(data, len, &written);
		if (!has_nul && converted == NULL)
			converted = g_convert((const char *)data, (gssize)len,
					      "UTF-8", "ISO-8859-1", NULL,
					      &written, NULL);
	}
	if (converted != NULL) {
		valid = g_utf8_make_valid(converted, (gssize)written);
		g_free(converted);
	} else {
		valid = g_utf8_make_valid((const char *)data, (gssize)len);
	}
	*len_r = strlen(valid);
	return valid;
}

/* Duplicate detection ignores the line-end convention and trailing line
   ends: an inline part and the same object as an .ics attachment often
   differ only there (the line end before a boundary belongs to the
   boundary, RFC 2046 section 5.1.1, so a base64 copy keeps one more). */
static char *mime_dedupe_key(const char *text)
{
	GString *key = g_string_sized_new(strlen(text));

	for (const char *p = text; *p != '\0'; p++) {
		if (p[0] == '\r' && p[1] == '\n')
			continue;
		g_string_append_c(key, *p);
	}
	while (key->len > 0 && (key->str[key->len - 1] == '\n' ||
				key->str[key->len - 1] == '\r'))
		g_string_truncate(key, key->len - 1);
	return g_string_free(key, FALSE);
}

static void mime_take_calendar_part(struct mime_walk *walk, GMimePart *part,
				    char *content_type)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeContentDisposition *disp;
	struct mime_calendar_part *cal;
	GByteArray *decoded;
	const char *charset, *method;
	char *text, *key;
	gsize len;

	decoded = mime_part_decoded(part);
	if (decoded == NULL) {
		g_free(content_type);
		return;
	}
	if (decoded->len > walk->limits.calendar_size) {
		mime_set_problem(walk, true, g_strdup_printf(
			"calendar part larger than %zu bytes "
			"(limit_calendar_size)", walk->limits.calendar_size));
		g_byte_array_free(decoded, TRUE);
		g_free(content_type);
		return;
	}
	charset = g_mime_object_get_content_type_parameter(obj, "charset");
	text = mime_to_utf8(decoded->data, decoded->len, charset, &len);
	g_byte_array_free(decoded, TRUE);

	key = mime_dedupe_key(text);
	if (g_hash_table_contains(walk->seen, key)) {
		g_free(key);
		g_free(text);
		g_free(content_type);
		return;
	}
	g_hash_table_add(walk->seen, key);

	cal = g_new0(struct mime_calendar_part, 1);
	cal->text = text;
	cal->len = len;
	cal->content_type = g_ascii_strdown(content_type, -1);
	g_free(content_type);
	method = g_mime_object_get_content_type_parameter(obj, "method");
	if (method != NULL) {
		char *trimmed = g_strstrip(g_strdup(method));

		if (*trimmed != '\0' && g_utf8_validate(trimmed, -1, NULL))
			cal->method_param = g_ascii_strup(trimmed, -1);
		g_free(trimmed);
	}
	disp = g_mime_object_get_content_disposition(obj);
	cal->is_attachment = disp != NULL &&
		g_mime_content_disposition_is_attachment(disp);
	g_ptr_array_add(walk->msg->calendar_parts, cal);
}

/* RFC 6047's own examples 4.3 and 4.6 put an empty line between the
   boundary and the part headers, so a MIME reader sees a header-less
   text/plain part whose body begins with "Content-Type:".  When a part has
   no Content-Type header at all and its body looks like that, read the body
   again as a MIME entity (with GMime) so the invitation is not lost. */
static GMimeObject *mime_rescue_headerless(GMimePart *part)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GByteArray *decoded;
	GMimeObject *inner = NULL;
	const guint8 *p, *end;

	if (g_mime_object_get_header(obj, "Content-Type") != NULL)
		return NULL;
	decoded = mime_part_decoded(part);
	if (decoded == NULL)
		return NULL;
	/* an empty body has data NULL: no arithmetic on it (UBSan, fuzzing) */
	if (decoded->len == 0) {
		g_byte_array_free(decoded, TRUE);
		return NULL;
	}
	p = decoded->data;
	end = p + decoded->len;
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if ((size_t)(end - p) > 13 &&
	    g_ascii_strncasecmp((const char *)p, "Content-Type:", 13) == 0) {
		GMimeStream *stream = g_mime_stream_mem_new_with_buffer(
			(const char *)p, (size_t)(end - p));
		GMimeParser *parser = g_mime_parser_new_with_stream(stream);

		inner = g_mime_parser_construct_part(parser, NULL);
		g_object_unref(parser);
		g_object_unref(stream);
	}
	g_byte_array_free(decoded, TRUE);
	return inner;
}

/* Outlook's winmail.dat (TNEF) may hold a meeting message: tnef.c turns
   it into a calendar part. */
static bool mime_take_tnef_part(struct mime_walk *walk, GMimePart *part)
{
	struct mime_calendar_part *cal;
	char *problem;
	bool is_limit;

	if (!tnef_read_part(walk->message, part, walk->limits.calendar_size,
			    &cal, &problem, &is_limit))
		return false;
	if (problem != NULL)
		mime_set_problem(walk, is_limit, problem);
	if (cal != NULL)
		g_ptr_array_add(walk->msg->calendar_parts, cal);
	return true;
}

static void mime_walk_leaf(struct mime_walk *walk, GMimePart *part,
			   unsigned int depth, bool may_rescue)
{
	GMimeObject *rescued;
	char *type;

	if (mime_is_calendar_type(GMIME_OBJECT(part), &type)) {
		mime_take_calendar_part(walk, part, type);
		return;
	}
	if (mime_take_tnef_part(walk, part))
		return;
	if (!may_rescue)
		return;
	rescued = mime_rescue_headerless(part);
	if (rescued != NULL) {
		/* The rescued entity replaces the part, at the same depth; it
		   is never rescued again. */
		mime_walk_object(walk, rescued, depth, false);
		g_object_unref(rescued);
	}
}

/* Entering a container: its children are one level deeper. */
static bool mime_enter(struct mime_walk *walk, unsigned int child_depth)
{
	if (child_depth > walk->limits.depth) {
		mime_set_problem(walk, true, g_strdup_printf(
			"MIME nesting deeper than %u (limit_mime_depth)",
			walk->limits.depth));
		walk->stop = true;
		return false;
	}
	return true;
}

/* Counting a body part (anything below the top-level entity). */
static bool mime_count_part(struct mime_walk *walk)
{
	if (++walk->parts > walk->limits.parts) {
		mime_set_problem(walk, true, g_strdup_printf(
			"more than %u MIME parts (limit_mime_parts)",
			walk->limits.parts));
		walk->stop = true;
		return false;
	}
	return true;
}

static void mime_walk_multipart(struct mime_walk *walk, GMimeMultipart *mp,
				unsigned int depth)
{
	int count = g_mime_multipart_get_count(mp);

	if (count > 0 && !mime_enter(walk, depth + 1))
		return;
	for (int i = 0; i < count && !walk->stop; i++) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);

		if (!mime_count_part(walk))
			return;
		mime_walk_object(walk, child, depth + 1, true);
	}
}

/* A forwarded message (message/rfc822) may carry the invitation. */
static void mime_walk_message_part(struct mime_walk *walk,
				   GMimeMessagePart *mpart, unsigned int depth)
{
	GMimeMessage *inner = g_mime_message_part_get_message(mpart);
	GMimeMessage *outer = walk->message;
	GMimeObject *body;

	if (inner == NULL)
		return;
	body = g_mime_message_get_mime_part(inner);
	if (body == NULL)
		return;
	if (!mime_enter(walk, depth + 1) || !mime_count_part(walk))
		return;
	walk->message = inner;
	mime_walk_object(walk, body, depth + 1, true);
	walk->message = outer;
}

static void mime_walk_object(struct mime_walk *walk, GMimeObject *obj,
			     unsigned int depth, bool may_rescue)
{
	if (walk->stop || obj == NULL)
		return;
	if (GMIME_IS_MULTIPART(obj))
		mime_walk_multipart(walk, GMIME_MULTIPART(obj), depth);
	else if (GMIME_IS_MESSAGE_PART(obj))
		mime_walk_message_part(walk, GMIME_MESSAGE_PART(obj), depth);
	else if (GMIME_IS_PART(obj))
		mime_walk_leaf(walk, GMIME_PART(obj), depth, may_rescue);
}

/* The first usable mailbox of an address header, group members included. */
static char *mime_first_address(InternetAddressList *list)
{
	int count;

	if (list == NULL)
		return NULL;
	count = internet_address_list_length(list);
	for (int i = 0; i < count; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		char *addr = NULL;

		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			addr = address_normalize(internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(ia)));
		} else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			addr = mime_first_address(internet_address_group_get_members(
				INTERNET_ADDRESS_GROUP(ia)));
		}
		if (addr != NULL)
			return addr;
	}
	return NULL;
}

static char *mime_header_utf8(const char *value)
{
	return value == NULL ? NULL : g_utf8_make_valid(value, -1);
}

/* RFC 3834 section 5: "no" is the only value meaning "not automatic";
   parameters may follow the keyword. */
static bool mime_is_auto_submitted(const char *value)
{
	char *keyword;
	bool automatic;

	if (value == NULL)
		return false;
	keyword = g_strdup(value);
	keyword[strcspn(keyword, ";")] = '\0';
	g_strstrip(keyword);
	automatic = g_ascii_strcasecmp(keyword, "no") != 0;
	g_free(keyword);
	return automatic;
}

/* Return-Path: <addr> as the delivery agent wrote it; <> is the null
   sender (""). */
static char *mime_return_path(const char *value)
{
	InternetAddressList *list;
	char *addr;

	if (value == NULL)
		return NULL;
	while (g_ascii_isspace(*value))
		value++;
	if (g_str_has_prefix(value, "<>"))
		return g_strdup("");
	list = internet_address_list_parse(NULL, value);
	addr = mime_first_address(list);
	if (list != NULL)
		g_object_unref(list);
	return addr;
}

static void mime_header_free(gpointer p)
{
	struct mime_header *h = p;

	g_free(h->name);
	g_free(h->value);
	g_free(h);
}

static void mime_read_header_list(struct mime_message *msg, GMimeObject *obj)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(obj);
	int count = list == NULL ? 0 : g_mime_header_list_get_count(list);

	for (int i = 0; i < count; i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at(list, i);
		const char *name = g_mime_header_get_name(header);
		const char *value = g_mime_header_get_raw_value(header);
		struct mime_header *h;

		if (name == NULL)
			continue;
		h = g_new0(struct mime_header, 1);
		h->name = g_strdup(name);
		h->value = g_strdup(value != NULL ? value : "");
		g_ptr_array_add(msg->headers, h);
	}
}

static void mime_read_headers(struct mime_message *msg, GMimeMessage *gm)
{
	GMimeObject *obj = GMIME_OBJECT(gm);

	mime_read_header_list(msg, obj);

	msg->from = mime_first_address(g_mime_message_get_from(gm));
	msg->sender = mime_first_address(g_mime_message_get_sender(gm));
	msg->reply_to = mime_first_address(g_mime_message_get_reply_to(gm));
	msg->subject = mime_header_utf8(g_mime_message_get_subject(gm));
	msg->message_id = mime_header_utf8(g_mime_message_get_message_id(gm));
	msg->date = mime_header_utf8(g_mime_object_get_header(obj, "Date"));
	msg->auto_submitted = mime_is_auto_submitted(
		g_mime_object_get_header(obj, "Auto-Submitted"));
	msg->return_path = mime_return_path(
		g_mime_object_get_header(obj, "Return-Path"));
}

/* RFC 3464 (RFC 6533 for internationalised mail): a delivery status
   notification is a multipart/report of report-type delivery-status, or
   at least one holding the machine-readable status part.  It may carry
   the message it reports on, calendar part and all (a bounce of one of
   our replies), but it is never calendar data of its own. */
static bool mime_is_delivery_report(GMimeMessage *gm)
{
	GMimeObject *body = g_mime_message_get_mime_part(gm);
	GMimeContentType *ct;
	const char *report_type;
	int count;

	if (body == NULL || !GMIME_IS_MULTIPART(body))
		return false;
	ct = g_mime_object_get_content_type(body);
	if (ct == NULL || !g_mime_content_type_is_type(ct, "multipart", "report"))
		return false;
	report_type = g_mime_content_type_get_parameter(ct, "report-type");
	if (report_type != NULL)
		return g_ascii_strcasecmp(report_type, "delivery-status") == 0 ||
		       g_ascii_strcasecmp(report_type, "global-delivery-status") == 0;
	count = g_mime_multipart_get_count(GMIME_MULTIPART(body));
	for (int i = 0; i < count; i++) {
		GMimeContentType *child = g_mime_object_get_content_type(
			g_mime_multipart_get_part(GMIME_MULTIPART(body), i));

		if (child != NULL &&
		    (g_mime_content_type_is_type(child, "message", "delivery-status") ||
		     g_mime_content_type_is_type(child, "message", "global-delivery-status")))
			return true;
	}
	return false;
}

static GMimeMessage *mime_parse(const void *data, size_t size)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *gm;

	stream = g_mime_stream_mem_new_with_buffer(data, size);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	gm = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	return gm;
}

/* Byte sequences without which no part of a message can be calendar data
   to the rules of mime_is_calendar_type(), mime_rescue_headerless() and
   tnef_is_tnef().  Each of those rules reads a Content-Type or
   Content-Disposition field (a media type is a token, never transfer- or
   word-encoded; only its case may differ; "octet-stream" stands for the
   generic attachments whose file name, which may be encoded, is the only
   hint), and mime_rescue_headerless() a body line starting with
   "Content-Type:".  So only lines starting with "Content-" and their
   continuation lines are searched.  Most mail names none of these, and
   then only its header is parsed (for the senders and the delivery-report
   test): GMime's parse of the whole message is most of what ordinary mail
   costs a delivery (bench/dovecot.sh). */
static const char *const mime_calendar_markers[] = {
	"calendar",		/* text/calendar, text/x-vcalendar */
	"ics",			/* application/ics, checked as a word */
	"tnef",			/* application/ms-tnef, vnd.ms-tnef */
	"winmail.dat",
	"octet-stream",		/* application/octet-stream; name=x.ics */
	NULL
};

static bool mime_is_token_char(unsigned char c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '_';
}

static bool mime_marker_at(const unsigned char *p, const unsigned char *line,
			   const unsigned char *end, const char *marker)
{
	size_t len = strlen(marker);

	if ((size_t)(end - p) < len ||
	    g_ascii_strncasecmp((const char *)p, marker, len) != 0)
		return false;
	/* "ics" only as a word of its own: not "topics", "icsx" */
	if (strcmp(marker, "ics") == 0)
		return (p == line || !mime_is_token_char(p[-1])) &&
		       (p + len == end || !mime_is_token_char(p[len]));
	return true;
}

static bool mime_line_has_marker(const unsigned char *line,
				 const unsigned char *end)
{
	for (const unsigned char *p = line; p < end; p++) {
		for (unsigned int m = 0; mime_calendar_markers[m] != NULL; m++) {
			if (mime_marker_at(p, line, end, mime_calendar_markers[m]))
				return true;
		}
	}
	return false;
}

/* The length of the header block: up to and including the empty line
   that ends it (the whole message when there is none). */
static size_t mime_header_block_size(const unsigned char *data, size_t size)
{
	for (size_t i = 0; i + 1 < size; i++) {
		if (data[i] != '\n')
			continue;
		if (data[i + 1] == '\n')
			return i + 2;
		if (data[i + 1] == '\r' && i + 2 < size && data[i + 2] == '\n')
			return i + 3;
	}
	return size;
}

bool mime_line_names_calendar(const unsigned char *line, size_t len,
			      bool *in_field)
{
	const unsigned char *end = line + len;

	if ((*line == 'C' || *line == 'c') && len >= 8 &&
	    g_ascii_strncasecmp((const char *)line, "content-", 8) == 0)
		*in_field = true;
	else if (len == 0 || (*line != ' ' && *line != '\t'))
		*in_field = false;
	return *in_field && mime_line_has_marker(line, end);
}

/* Whether a "Content-" line (with its continuation lines) of the raw
   message names one of mime_calendar_markers. */
static bool mime_may_hold_calendar(const unsigned char *data, size_t size)
{
	const unsigned char *p = data, *end = data + size;
	bool in_field = false;

	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		const unsigned char *eol = nl != NULL ? nl : end;

		if (mime_line_names_calendar(p, (size_t)(eol - p), &in_field))
			return true;
		p = eol + 1;
	}
	return false;
}

static struct mime_message *
mime_message_read_as(const void *data, size_t size,
		     const struct imip_limits *limits, bool header_anyway)
{
	struct mime_message *msg;
	struct mime_walk walk;
	GMimeMessage *gm;
	bool may_hold;

	mime_init();
	msg = g_new0(struct mime_message, 1);
	msg->raw = g_bytes_new(data, size);
	msg->calendar_parts = g_ptr_array_new_with_free_func(
		mime_calendar_part_free);
	msg->headers = g_ptr_array_new_with_free_func(mime_header_free);

	memset(&walk, 0, sizeof(walk));
	walk.msg = msg;
	mime_limits_resolve(limits, &walk.limits);

	/* The line test first, and before the size: an ordinary message
	   over limit_message_size is no calendar mail at all (no_action,
	   as the Dovecot plugin's stream test finds it), not a rejected
	   one; only mail that may hold calendar data is refused for its
	   size, and neither is parsed. */
	may_hold = mime_may_hold_calendar(data, size);
	if (size > walk.limits.message_size) {
		if (!may_hold)
			return msg;
		msg->problem = g_strdup_printf(
			"message larger than %zu bytes (limit_message_size)",
			walk.limits.message_size);
		msg->problem_is_limit = true;
		return msg;
	}
	if (size > 0 && !may_hold && !header_anyway)
		return msg;
	gm = size == 0 ? NULL : mime_parse(data, may_hold ? size :
					   mime_header_block_size(data, size));
	if (gm == NULL) {
		msg->problem = g_strdup("unreadable MIME structure");
		return msg;
	}
	mime_read_headers(msg, gm);
	msg->delivery_report = mime_is_delivery_report(gm);
	if (!may_hold) {
		g_object_unref(gm);
		return msg;
	}

	walk.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  NULL);
	walk.message = gm;
	mime_walk_object(&walk, g_mime_message_get_mime_part(gm), 0, true);
	g_hash_table_destroy(walk.seen);
	g_object_unref(gm);
	return msg;
}

struct mime_message *mime_message_read(const void *data, size_t size,
				       const struct imip_limits *limits)
{
	return mime_message_read_as(data, size, limits, true);
}

struct mime_message *mime_message_read_if_calendar(const void *data,
						   size_t size,
						   const struct imip_limits *limits)
{
	return mime_message_read_as(data, size, limits, false);
}

void mime_message_free(struct mime_message **msgp)
{
	struct mime_message *msg = *msgp;

	if (msg == NULL)
		return;
	*msgp = NULL;
	if (msg->raw != NULL)
		g_bytes_unref(msg->raw);
	if (msg->calendar_parts != NULL)
		g_ptr_array_free(msg->calendar_parts, TRUE);
	if (msg->headers != NULL)
		g_ptr_array_free(msg->headers, TRUE);
	g_free(msg->from);
	g_free(msg->sender);
	g_free(msg->reply_to);
	g_free(msg->return_path);
	g_free(msg->subject);
	g_free(msg->message_id);
	g_free(msg->date);
	g_free(msg->problem);
	g_free(msg);
}

static void mime_add_sender(GPtrArray *out, const char *value)
{
	char *addr = address_normalize(value);

	if (addr == NULL)
		return;
	for (guint i = 0; i < out->len; i++) {
		if (strcmp(out->pdata[i], addr) == 0) {
			g_free(addr);
			return;
		}
	}
	g_ptr_array_add(out, addr);
}

void mime_message_senders(const struct mime_message *msg,
			  const char *envelope_sender, GPtrArray *out)
{
	/* "<>" is the null reverse-path (bounces): no sender.  address_normalize
	   refuses it, as it refuses "". */
	if (envelope_sender != NULL)
		mime_add_sender(out, envelope_sender);
	if (msg == NULL)
		return;
	mime_add_sender(out, msg->from);
	mime_add_sender(out, msg->sender);
	mime_add_sender(out, msg->reply_to);
}
