#ifndef IMIP_OUTBOX_H
#define IMIP_OUTBOX_H

/* The per-user outbox (docs/store.md 3.4): every reply the agent composes
   is written to the user's store, under the user's lock, before it is
   sent, and removed once the MTA has taken it.  A temporary failure
   (sendmail exit 75, SMTP 4xx) leaves it queued for the next message
   processed for that user or `imip-admin send-queued`; a refusal, or a
   reply still not sent after outbox_lifetime (like an MTA's
   maximal_queue_lifetime), is moved to outbox/failed/ and never tried
   again.  So a reply is neither lost when the MTA is briefly unavailable
   nor sent twice: a retried message is already recorded as processed
   (DESIGN.md rule 2) and queues nothing new.

   Nothing here logs: the caller gets one report per entry tried. */

#include <stdbool.h>
#include <time.h>
#include <glib.h>

#include "imip.h"
#include "store.h"

/* One queued reply, as stored. */
struct outbox_entry {
	char *name;		/* file name: hex digits */
	char *envelope_from;	/* the calendar address */
	char *recipient;
	time_t queued;		/* when the message that made it was processed */
	unsigned int attempts;	/* sending attempts that failed */
	time_t last_attempt;	/* 0: none yet */
	char *last_error;	/* NULL: none yet */
	GBytes *data;		/* the message, CRLF */
};

/* What one flush did with one entry. */
enum outbox_fate {
	OUTBOX_SENT,		/* handed over and removed */
	OUTBOX_DEFERRED,	/* temporary failure: stays queued */
	OUTBOX_REFUSED,		/* permanent failure: moved to failed/ */
	OUTBOX_EXPIRED,		/* older than the lifetime: moved to failed/ */
	OUTBOX_UNREADABLE,	/* a damaged entry: moved to failed/ as is */
};

struct outbox_report {
	char *name;
	char *recipient;	/* NULL for an unreadable entry */
	enum outbox_fate fate;
	char *error;		/* NULL when sent */
	time_t queued;
};

/* How a flush sends and when it gives up. */
struct outbox_sender {
	imip_send_func_t *send;
	void *context;
	time_t now;
	/* seconds a reply may stay queued (outbox_lifetime); an attempt
	   that fails when it is older than this gives it up */
	unsigned int lifetime;
};

/* The entry name of reply number `index` made for one processed calendar
   part (`key`: the part's idempotence digest): the same message
   processed again after a crash rewrites the same entry instead of
   queueing a second copy.  Caller frees. */
char *outbox_entry_name(const char *key, unsigned int index);

/* The stored form and back.  outbox_entry_parse() returns NULL with
   *error_r (static) for a damaged entry. */
GString *outbox_entry_format(const struct outbox_entry *entry);
struct outbox_entry *outbox_entry_parse(const char *name, const char *text,
					size_t len, const char **error_r);
void outbox_entry_free(struct outbox_entry *entry);

/* Queue `out` as entry `name` (replacing an entry of that name).  The
   session must be writable.  Returns 0, or -1 with *error_r from the
   store. */
int outbox_queue(struct store_user *su, const char *name,
		 const struct imip_outgoing *out, time_t now,
		 const char **error_r);

/* Try every queued entry once, oldest first; appends one
   struct outbox_report per entry to reports_r (free them with
   outbox_report_free).  Returns 0, or -1 with *error_r when the outbox
   cannot be read or changed (entries reported so far stay reported). */
int outbox_flush(struct store_user *su, const struct outbox_sender *sender,
		 GPtrArray *reports_r, const char **error_r);

/* The entries of one queue, oldest first (struct outbox_entry *; free
   with outbox_entry_free).  Damaged entries are listed with only their
   name and last_error set. */
int outbox_list(struct store_user *su, enum store_outbox_queue queue,
		GPtrArray *entries_r, const char **error_r);

/* An administrator's second chance for a given-up reply (imip-admin
   outbox-retry, after the cause was mended): entry `name` of failed/
   goes back to the queue as if just queued at `now` (attempts and error
   cleared, so outbox_lifetime starts again).  Queued first, then out of
   failed/: a crash in between leaves it in both, never in neither.
   Returns 1, 0 when failed/ has no such entry, or -1 with *error_r (a
   damaged entry cannot be sent: the store error, or why it is damaged). */
int outbox_retry(struct store_user *su, const char *name, time_t now,
		 const char **error_r);

void outbox_report_free(struct outbox_report *report);

#endif
