#ifndef IMIP_CALLOUT_WIRE_H
#define IMIP_CALLOUT_WIRE_H

/* Cyrus's annotation_callout exchange (imap/append.c, Cyrus 3.6; see
   docs/cyrus.md).  Request: "<decimal length>\n" and that many bytes,
   repeated, ended by a zero-length chunk "0\n"; the bytes are one list
   (FILENAME "..." ANNOTATIONS (...) FLAGS (...) BODY (...) GUID ...).
   Reply: one list of +FLAGS/ANNOTATION items and a byte after it (Cyrus
   drops a reply whose stream ends right after the closing bracket). */

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* Far above any real request (BODYSTRUCTURE of limit_mime_parts parts)
   and far below anything that could hurt. */
#define CALLOUT_REQUEST_MAX (4 * 1024 * 1024)

struct callout_request {
	char *filename;		/* absolute path of the stored message */
	GPtrArray *flags;	/* char *, as Cyrus sent them */
	char *guid;		/* may be NULL */
};

/* Read one framed request from fd until the zero-length chunk, giving
   up at `deadline` (g_get_monotonic_time() microseconds) or after `max`
   bytes.  Returns the payload, or NULL with *error_r (caller frees). */
GByteArray *callout_read_request(int fd, gint64 deadline, size_t max,
				 char **error_r);

/* Decode the payload.  Returns NULL with *error_r (static) when it is not
   a list with a FILENAME string. */
struct callout_request *callout_request_decode(const guint8 *data,
					       size_t len,
					       const char **error_r);
void callout_request_free(struct callout_request **request);

/* true if the request's FLAGS has `flag` (compared case-insensitively,
   as Cyrus does). */
bool callout_request_has_flag(const struct callout_request *request,
			      const char *flag);

/* A reply being built.  Only flags that are IMAP atoms and not system
   flags are accepted: Cyrus fails the whole delivery (451) for a flag it
   cannot store. */
struct callout_reply;

struct callout_reply *callout_reply_new(void);
void callout_reply_add_flag(struct callout_reply *reply, const char *flag);
/* value.shared of a message annotation; control characters in `value`
   are replaced and it is cut to CALLOUT_ANNOTATION_MAX bytes (at a UTF-8
   character boundary). */
void callout_reply_add_annotation(struct callout_reply *reply,
				  const char *entry, const char *value);
/* The bytes to send, trailing newline included.  "()\n" when nothing was
   added: Cyrus stores the message unchanged. */
GString *callout_reply_format(const struct callout_reply *reply);
void callout_reply_free(struct callout_reply **reply);

#define CALLOUT_ANNOTATION_MAX 1000
#define CALLOUT_REPLY_NO_CHANGE "()\n"

/* true if Cyrus accepts `flag` as a user flag (an IMAP atom without
   "\" at the start). */
bool callout_flag_is_valid(const char *flag);

/* Write all of data to fd, giving up at `deadline`.  0 or -1 (errno). */
int callout_write_all(int fd, const char *data, size_t len, gint64 deadline);

#endif
