#ifndef IMIP_COMPOSE_H
#define IMIP_COMPOSE_H

/* Composing the messages the agent sends and the mailbox versions of an
   incoming message, with GMime.  Every agent message comes from the
   calendar address and carries Auto-Submitted: auto-replied (RFC 3834),
   which is also how the agent recognises and never answers its own mail
   (DESIGN.md rule 8). */

#include <stdbool.h>
#include <time.h>
#include <glib.h>

struct mime_message;

/* An iMIP message (RFC 6047): From calendar_sender, To `to`, Subject
   `subject` (RFC 2047 encoded when needed; "Calendar system message" when
   NULL), Date from `now`, a Message-ID, In-Reply-To/References when
   `in_reply_to` is not NULL, Auto-Submitted: auto-replied, MIME-Version,
   and one text/calendar; charset=utf-8; method=<method> part, base64,
   whose content is `ical_text`.  CRLF line ends.  Newly allocated. */
GBytes *compose_imip_message(const char *calendar_sender, const char *to,
			     const char *subject, const char *in_reply_to,
			     const char *method, const char *ical_text,
			     time_t now);

enum compose_incoming {
	COMPOSE_INCOMING_MESSAGE_ONLY,
	COMPOSE_INCOMING_SUMMARY_WRAPS_MESSAGE,
	COMPOSE_INCOMING_SUMMARY_THEN_MESSAGE,
	COMPOSE_INCOMING_MESSAGE_THEN_SUMMARY,
	COMPOSE_INCOMING_SUMMARY_ONLY,
};

/* The `incoming` preference value -> enum; false if unknown. */
bool compose_incoming_parse(const char *value, enum compose_incoming *r);

/* What the person's mailbox receives (imip-preferences(5), incoming):
   - MESSAGE_ONLY: empty array (deliver the original unchanged);
   - SUMMARY_WRAPS_MESSAGE: one multipart/mixed message: the summary as
     text/plain, then the original as message/rfc822; its From, To, Date,
     Subject and Message-ID headers come from the original (Subject
     unchanged, so threading and filters keep working);
   - SUMMARY_THEN_MESSAGE / MESSAGE_THEN_SUMMARY: the summary message
     (From the calendar address, To the user, Subject "Calendar: " + the
     original subject, In-Reply-To the original) and the original, in that
     order;
   - SUMMARY_ONLY: the summary message alone.
   Every generated message carries X-iMIP-Outcome: <outcome> so a mail
   client or Sieve can see what happened.  Returns GBytes *. */
GPtrArray *compose_mailbox_messages(enum compose_incoming mode,
				    const struct mime_message *original,
				    const char *summary_text,
				    const char *outcome_name,
				    const char *user,
				    const char *calendar_sender, time_t now);

/* Append one message to an mbox stream: a "From <sender> <asctime>" line,
   the message with CRLF turned into LF and lines starting with "From "
   (after any number of '>') quoted with '>' (mboxrd), then an empty line. */
void compose_mbox_append(GString *out, const char *envelope_from,
			 GBytes *message, time_t now);

/* A GMime message or part serialised with CRLF line ends: what SMTP,
   LMTP and sendmail -i expect (RFC 5322 section 2.1).  `obj` is a
   GMimeObject * (kept opaque here so that users of this header need not
   include GMime). */
typedef struct _GMimeObject GMimeObject;
GBytes *compose_to_bytes(GMimeObject *obj);

#endif
