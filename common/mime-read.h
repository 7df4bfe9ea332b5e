#ifndef IMIP_MIME_READ_H
#define IMIP_MIME_READ_H

/* Reading a message (RFC 6047 iMIP) with GMime: every calendar part at any
   depth, decoded and converted to UTF-8, and the addresses that identify
   the sender.  The message itself is never changed. */

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

struct imip_limits;

struct mime_calendar_part {
	char *text;		/* decoded body, UTF-8, NUL-terminated */
	size_t len;
	char *content_type;	/* "text/calendar", lower case */
	char *method_param;	/* Content-Type method=, upper case, or NULL */
	bool is_attachment;	/* Content-Disposition: attachment */
};

/* A header of the message itself, as written (name and unparsed value,
   folding kept), in the order of the message. */
struct mime_header {
	char *name;
	char *value;
};

struct mime_message {
	GBytes *raw;			/* the message as received */
	GPtrArray *calendar_parts;	/* struct mime_calendar_part *, with
					   duplicates (same decoded text)
					   removed: an inline part plus the
					   same .ics attachment counts once */
	/* normalised addresses (address_normalize), NULL when absent */
	char *from;
	char *sender;
	char *reply_to;
	/* Return-Path, which a delivery agent (Cyrus lmtpd) puts first:
	   NULL when absent, "" for the null sender <> */
	char *return_path;
	char *subject;			/* decoded (RFC 2047), UTF-8 */
	char *message_id;		/* without angle brackets */
	char *date;			/* as written */
	/* struct mime_header *: the top-level headers from the first line
	   down (Authentication-Results and trace headers are read in order,
	   authres.h).  Empty when the message could not be parsed. */
	GPtrArray *headers;
	/* Auto-Submitted present with a value other than "no" (RFC 3834). */
	bool auto_submitted;
	/* A delivery status notification (bounce, RFC 3464 multipart/report):
	   whatever calendar parts it embeds are the reported message's, not
	   calendar data to act on. */
	bool delivery_report;
	/* Set when the message could not be looked at completely: a limit was
	   exceeded (the text names the limit key) or the MIME structure is
	   unusable.  calendar_parts then holds what was found before (may be
	   empty); the caller decides the outcome. */
	char *problem;
	/* true when `problem` is a limit (rejected) rather than bad data. */
	bool problem_is_limit;
};

/* Read a message.  Never fails on content: bad MIME gives an empty or
   partial result with `problem` set.  Returns NULL only on a bug-level
   failure (GMime unusable). */
struct mime_message *mime_message_read(const void *data, size_t size,
				       const struct imip_limits *limits);
/* The same, except that a message naming no calendar type at all (no
   Content-Type or Content-Disposition field with one of the names a
   calendar part can have) is not parsed: no calendar parts, no problem,
   and no headers or senders either.  For adapters that deliver such mail
   untouched anyway (the Dovecot plugin, the Cyrus hook): the parse is
   most of what ordinary mail would cost them. */
struct mime_message *mime_message_read_if_calendar(const void *data,
						   size_t size,
						   const struct imip_limits *limits);
/* The test mime_message_read_if_calendar() makes, one line (without its
   line end) at a time, for an adapter that reads the message as a stream:
   true when the line is part of a Content-* field (*in_field, false at the
   first line) naming a calendar type.  A message none of whose lines
   does is not calendar data. */
bool mime_line_names_calendar(const unsigned char *line, size_t len,
			      bool *in_field);
void mime_message_free(struct mime_message **msg);

/* Every sender address of the message (envelope sender first, then From,
   Sender, Reply-To), normalised, without duplicates.  `envelope_sender`
   may be NULL or empty ("<>").  Appends char * to `out` (caller frees). */
void mime_message_senders(const struct mime_message *msg,
			  const char *envelope_sender, GPtrArray *out);

/* GMime's global state: call once before the first read (idempotent). */
void mime_init(void);

#endif
