/* Composing what the agent sends (iMIP replies, RFC 6047) and the mailbox
   versions of an incoming message (the `incoming` preference), with GMime.
   Every header encoding, transfer encoding and line-end conversion is
   GMime's; this file only decides what goes where. */

#include "compose.h"
#include "address.h"
#include "mime-read.h"

#include <string.h>
#include <gmime/gmime.h>

#define COMPOSE_DEFAULT_SUBJECT "Calendar system message"
#define COMPOSE_SUMMARY_SUBJECT_PREFIX "Calendar: "
#define COMPOSE_OUTCOME_HEADER "X-iMIP-Outcome"

static const char *const compose_incoming_names[] = {
	[COMPOSE_INCOMING_MESSAGE_ONLY] = "message-only",
	[COMPOSE_INCOMING_SUMMARY_WRAPS_MESSAGE] = "summary-wraps-message",
	[COMPOSE_INCOMING_SUMMARY_THEN_MESSAGE] = "summary-then-message",
	[COMPOSE_INCOMING_MESSAGE_THEN_SUMMARY] = "message-then-summary",
	[COMPOSE_INCOMING_SUMMARY_ONLY] = "summary-only",
};

bool compose_incoming_parse(const char *value, enum compose_incoming *r)
{
	if (value == NULL)
		return false;
	for (unsigned int i = 0; i < G_N_ELEMENTS(compose_incoming_names);
	     i++) {
		if (g_ascii_strcasecmp(value, compose_incoming_names[i]) == 0) {
			*r = (enum compose_incoming)i;
			return true;
		}
	}
	return false;
}

/* Serialise with CRLF line ends: what SMTP, LMTP and sendmail -i expect
   (RFC 5322 section 2.1). */
GBytes *compose_to_bytes(GMimeObject *obj)
{
	GMimeFormatOptions *options = g_mime_format_options_new();
	GByteArray *array = g_byte_array_new();
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(array);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	g_mime_format_options_set_newline_format(options,
						 GMIME_NEWLINE_FORMAT_DOS);
	g_mime_object_write_to_stream(obj, options, stream);
	g_mime_stream_flush(stream);
	g_object_unref(stream);
	g_mime_format_options_free(options);
	return g_byte_array_free_to_bytes(array);
}

static void compose_add_mailbox(GMimeMessage *message, GMimeAddressType type,
				const char *value)
{
	InternetAddress *mailbox;
	char *addr;

	if (value == NULL || *value == '\0')
		return;
	addr = address_normalize(value);
	mailbox = internet_address_mailbox_new(NULL,
					       addr != NULL ? addr : value);
	/* the list takes its own reference */
	internet_address_list_add(g_mime_message_get_addresses(message, type),
				  mailbox);
	g_object_unref(mailbox);
	g_free(addr);
}

static void compose_set_date(GMimeMessage *message, time_t now)
{
	GDateTime *date = g_date_time_new_from_unix_utc((gint64)now);

	if (date != NULL) {
		g_mime_message_set_date(message, date);
		g_date_time_unref(date);
	}
}

static void compose_set_message_id(GMimeMessage *message, const char *sender)
{
	char *addr = address_normalize(sender);
	const char *domain = address_domain(addr);
	char *id = g_mime_utils_generate_message_id(
		domain != NULL ? domain : "localhost");

	g_mime_message_set_message_id(message, id);
	g_free(id);
	g_free(addr);
}

/* In-Reply-To and References carry the id in angle brackets; accept it
   with or without them. */
static void compose_set_in_reply_to(GMimeMessage *message, const char *id)
{
	char *bare, *bracketed;

	if (id == NULL)
		return;
	bare = g_strstrip(g_strdup(id));
	if (*bare == '<') {
		size_t len = strlen(bare);

		memmove(bare, bare + 1, len);
		if (len > 1 && bare[len - 2] == '>')
			bare[len - 2] = '\0';
	}
	if (*bare != '\0') {
		bracketed = g_strdup_printf("<%s>", bare);
		g_mime_object_set_header(GMIME_OBJECT(message), "In-Reply-To",
					 bracketed, NULL);
		g_mime_object_set_header(GMIME_OBJECT(message), "References",
					 bracketed, NULL);
		g_free(bracketed);
	}
	g_free(bare);
}

/* A text part whose content is exactly `text` as UTF-8: set through a
   stream, because g_mime_text_part_set_text() would pick (and convert to)
   a narrower charset of its own. */
static GMimeTextPart *compose_text_part(const char *subtype, const char *text,
					bool crlf)
{
	GMimeTextPart *part = g_mime_text_part_new_with_subtype(subtype);
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeDataWrapper *content;

	if (crlf) {
		/* RFC 5545 section 3.1: content lines end in CRLF. */
		GMimeStream *filtered = g_mime_stream_filter_new(mem);
		GMimeFilter *unix2dos = g_mime_filter_unix2dos_new(FALSE);

		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered),
					 unix2dos);
		g_object_unref(unix2dos);
		g_mime_stream_write_string(filtered, text);
		g_mime_stream_flush(filtered);
		g_object_unref(filtered);
	} else {
		g_mime_stream_write_string(mem, text);
	}
	g_mime_stream_reset(mem);
	content = g_mime_data_wrapper_new_with_stream(
		mem, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(GMIME_PART(part), content);
	g_object_unref(content);
	g_object_unref(mem);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
						 "charset", "utf-8");
	return part;
}

/* Headers every message the agent writes on its own behalf carries. */
static GMimeMessage *compose_agent_message(const char *calendar_sender,
					   const char *to, const char *subject,
					   const char *in_reply_to,
					   time_t now)
{
	GMimeMessage *message = g_mime_message_new(TRUE);

	compose_add_mailbox(message, GMIME_ADDRESS_TYPE_FROM, calendar_sender);
	compose_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, to);
	g_mime_message_set_subject(message, subject, "utf-8");
	compose_set_date(message, now);
	compose_set_message_id(message, calendar_sender);
	compose_set_in_reply_to(message, in_reply_to);
	/* RFC 3834 section 5; also how the agent recognises its own mail. */
	g_mime_object_set_header(GMIME_OBJECT(message), "Auto-Submitted",
				 "auto-replied", NULL);
	return message;
}

GBytes *compose_imip_message(const char *calendar_sender, const char *to,
			     const char *subject, const char *in_reply_to,
			     const char *method, const char *ical_text,
			     time_t now)
{
	GMimeMessage *message;
	GMimeTextPart *part;
	GBytes *bytes;

	mime_init();
	message = compose_agent_message(calendar_sender, to,
		subject != NULL ? subject : COMPOSE_DEFAULT_SUBJECT,
		in_reply_to, now);
	part = compose_text_part("calendar",
				 ical_text != NULL ? ical_text : "", true);
	if (method != NULL && *method != '\0') {
		char *upper = g_ascii_strup(method, -1);

		g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
							 "method", upper);
		g_free(upper);
	}
	/* RFC 6047 section 2.2.1 recommends base64 (or QP) so that line ends
	   and long lines survive transport unchanged. */
	g_mime_part_set_content_encoding(GMIME_PART(part),
					 GMIME_CONTENT_ENCODING_BASE64);
	g_mime_message_set_mime_part(message, GMIME_OBJECT(part));
	g_object_unref(part);
	bytes = compose_to_bytes(GMIME_OBJECT(message));
	g_object_unref(message);
	return bytes;
}

static GMimeMessage *compose_parse_original(GBytes *raw)
{
	gsize size;
	const void *data = g_bytes_get_data(raw, &size);
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *message;

	if (size == 0)
		return NULL;
	stream = g_mime_stream_mem_new_with_buffer(data, size);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	message = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	return message;
}

static GMimeTextPart *compose_summary_part(const char *summary_text)
{
	GMimeTextPart *part = compose_text_part(
		"plain", summary_text != NULL ? summary_text : "", false);

	g_mime_part_set_content_encoding(GMIME_PART(part),
		g_mime_part_get_best_content_encoding(GMIME_PART(part),
			GMIME_ENCODING_CONSTRAINT_7BIT));
	return part;
}

/* The original as the second part of the wrapper.  An original GMime cannot
   read at all is attached byte for byte (8bit, the widest encoding
   message/rfc822 allows, RFC 2046 section 5.2.1): never lose mail. */
static GMimeObject *compose_original_part(GMimeMessage *parsed, GBytes *raw)
{
	GMimePart *part;
	GMimeStream *mem;
	GMimeDataWrapper *content;
	gsize size;
	const void *data;

	if (parsed != NULL)
		return GMIME_OBJECT(g_mime_message_part_new_with_message(
			"rfc822", parsed));
	part = g_mime_part_new_with_type("message", "rfc822");
	data = g_bytes_get_data(raw, &size);
	mem = size == 0 ? g_mime_stream_mem_new() :
		g_mime_stream_mem_new_with_buffer(data, size);
	content = g_mime_data_wrapper_new_with_stream(
		mem, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, content);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_8BIT);
	g_object_unref(content);
	g_object_unref(mem);
	return GMIME_OBJECT(part);
}

static void compose_copy_addresses(GMimeMessage *to, GMimeMessage *from,
				   GMimeAddressType type)
{
	InternetAddressList *list = g_mime_message_get_addresses(from, type);

	/* Appending even an empty list makes GMime write an empty header. */
	if (list != NULL && internet_address_list_length(list) > 0)
		internet_address_list_append(
			g_mime_message_get_addresses(to, type), list);
}

static void compose_copy_header(GMimeMessage *to, GMimeMessage *from,
				const char *name)
{
	const char *value = g_mime_object_get_header(GMIME_OBJECT(from), name);

	if (value != NULL)
		g_mime_object_set_header(GMIME_OBJECT(to), name, value, NULL);
}

/* The wrapper stands in for the original in the mailbox, so it keeps the
   original's identity: sender, recipients, date, subject, id and thread
   (a filter on From or Subject, or a threading client, sees the same
   message). */
static void compose_copy_identity(GMimeMessage *wrapper,
				  GMimeMessage *parsed,
				  const struct mime_message *original)
{
	if (parsed != NULL) {
		compose_copy_addresses(wrapper, parsed, GMIME_ADDRESS_TYPE_FROM);
		compose_copy_addresses(wrapper, parsed,
				       GMIME_ADDRESS_TYPE_REPLY_TO);
		compose_copy_addresses(wrapper, parsed, GMIME_ADDRESS_TYPE_TO);
		compose_copy_addresses(wrapper, parsed, GMIME_ADDRESS_TYPE_CC);
		compose_copy_header(wrapper, parsed, "Date");
		compose_copy_header(wrapper, parsed, "In-Reply-To");
		compose_copy_header(wrapper, parsed, "References");
	}
	if (original->subject != NULL)
		g_mime_message_set_subject(wrapper, original->subject, "utf-8");
	if (original->message_id != NULL)
		g_mime_message_set_message_id(wrapper, original->message_id);
}

static GBytes *compose_wrapper(const struct mime_message *original,
			       const char *summary_text,
			       const char *outcome_name, time_t now)
{
	GMimeMessage *parsed = compose_parse_original(original->raw);
	GMimeMessage *wrapper = g_mime_message_new(TRUE);
	GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
	GMimeTextPart *text = compose_summary_part(summary_text);
	GMimeObject *attached = compose_original_part(parsed, original->raw);
	GBytes *bytes;

	compose_copy_identity(wrapper, parsed, original);
	if (g_mime_object_get_header(GMIME_OBJECT(wrapper), "Date") == NULL)
		compose_set_date(wrapper, now);
	g_mime_object_set_header(GMIME_OBJECT(wrapper), COMPOSE_OUTCOME_HEADER,
				 outcome_name, NULL);
	g_mime_multipart_add(mixed, GMIME_OBJECT(text));
	g_mime_multipart_add(mixed, attached);
	g_mime_message_set_mime_part(wrapper, GMIME_OBJECT(mixed));
	bytes = compose_to_bytes(GMIME_OBJECT(wrapper));

	g_object_unref(text);
	g_object_unref(attached);
	g_object_unref(mixed);
	g_object_unref(wrapper);
	if (parsed != NULL)
		g_object_unref(parsed);
	return bytes;
}

static GBytes *compose_summary_message(const struct mime_message *original,
				       const char *summary_text,
				       const char *outcome_name,
				       const char *user,
				       const char *calendar_sender, time_t now)
{
	GMimeMessage *message;
	GMimeTextPart *text;
	GBytes *bytes;
	char *subject;

	subject = original->subject != NULL ?
		g_strconcat(COMPOSE_SUMMARY_SUBJECT_PREFIX, original->subject,
			    NULL) :
		g_strdup(COMPOSE_DEFAULT_SUBJECT);
	message = compose_agent_message(calendar_sender, user, subject,
					original->message_id, now);
	g_free(subject);
	g_mime_object_set_header(GMIME_OBJECT(message), COMPOSE_OUTCOME_HEADER,
				 outcome_name, NULL);
	text = compose_summary_part(summary_text);
	g_mime_message_set_mime_part(message, GMIME_OBJECT(text));
	g_object_unref(text);
	bytes = compose_to_bytes(GMIME_OBJECT(message));
	g_object_unref(message);
	return bytes;
}

GPtrArray *compose_mailbox_messages(enum compose_incoming mode,
				    const struct mime_message *original,
				    const char *summary_text,
				    const char *outcome_name,
				    const char *user,
				    const char *calendar_sender, time_t now)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_bytes_unref);

	mime_init();
	if (original == NULL || original->raw == NULL)
		return out;
	if (outcome_name == NULL)
		outcome_name = "no_action";

	switch (mode) {
	case COMPOSE_INCOMING_MESSAGE_ONLY:
		break;
	case COMPOSE_INCOMING_SUMMARY_WRAPS_MESSAGE:
		g_ptr_array_add(out, compose_wrapper(original, summary_text,
						     outcome_name, now));
		break;
	case COMPOSE_INCOMING_SUMMARY_THEN_MESSAGE:
		g_ptr_array_add(out, compose_summary_message(original,
			summary_text, outcome_name, user, calendar_sender,
			now));
		g_ptr_array_add(out, g_bytes_ref(original->raw));
		break;
	case COMPOSE_INCOMING_MESSAGE_THEN_SUMMARY:
		g_ptr_array_add(out, g_bytes_ref(original->raw));
		g_ptr_array_add(out, compose_summary_message(original,
			summary_text, outcome_name, user, calendar_sender,
			now));
		break;
	case COMPOSE_INCOMING_SUMMARY_ONLY:
		g_ptr_array_add(out, compose_summary_message(original,
			summary_text, outcome_name, user, calendar_sender,
			now));
		break;
	}
	return out;
}

/* asctime(3) layout in UTC, with English names whatever the locale: the
   mbox "From " line is a file format, not a display. */
static void compose_append_asctime(GString *out, time_t now)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL) {
		time_t zero = 0;

		gmtime_r(&zero, &tm);
	}
	g_string_append_printf(out, "%s %s %2d %02d:%02d:%02d %d",
			       days[tm.tm_wday % 7], months[tm.tm_mon % 12],
			       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			       tm.tm_year + 1900);
}

/* mboxrd: a line that is "From " after any number of '>' gets one more
   '>', so that readers can undo the quoting exactly. */
static bool compose_mbox_needs_quote(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && line[i] == '>')
		i++;
	return len - i >= 5 && memcmp(line + i, "From ", 5) == 0;
}

/* The envelope sender as given (the original wrote "From nobody"), without
   angle brackets; the null or an unprintable sender becomes MAILER-DAEMON,
   as in mbox files written by MTAs. */
static void compose_mbox_append_sender(GString *out, const char *sender)
{
	size_t len = sender == NULL ? 0 : strlen(sender);

	if (len >= 2 && sender[0] == '<' && sender[len - 1] == '>') {
		sender++;
		len -= 2;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)sender[i];

		if (c <= 0x20 || c == 0x7f) {
			len = 0;
			break;
		}
	}
	if (len == 0 || len > 320)
		g_string_append(out, "MAILER-DAEMON");
	else
		g_string_append_len(out, sender, (gssize)len);
}

void compose_mbox_append(GString *out, const char *envelope_from,
			 GBytes *message, time_t now)
{
	const char *data, *end, *line;
	gsize size = 0;

	g_string_append(out, "From ");
	compose_mbox_append_sender(out, envelope_from);
	g_string_append_c(out, ' ');
	compose_append_asctime(out, now);
	g_string_append_c(out, '\n');

	data = message == NULL ? NULL : g_bytes_get_data(message, &size);
	end = data == NULL ? NULL : data + size;
	for (line = data; line != NULL && line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *stop = nl != NULL ? nl : end;
		size_t len = (size_t)(stop - line);

		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (compose_mbox_needs_quote(line, len))
			g_string_append_c(out, '>');
		g_string_append_len(out, line, (gssize)len);
		g_string_append_c(out, '\n');
		line = nl != NULL ? nl + 1 : end;
	}
	g_string_append_c(out, '\n');
}
