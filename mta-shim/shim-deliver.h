#ifndef IMIP_SHIM_DELIVER_H
#define IMIP_SHIM_DELIVER_H

/* The person role's hand-back: after processing, the mailbox version of
   the message goes to --deliver TARGET. */

#include <time.h>
#include <glib.h>

enum shim_deliver_status {
	SHIM_DELIVER_OK = 0,
	SHIM_DELIVER_TEMPFAIL = 75,	/* EX_TEMPFAIL: the MTA retries */
	SHIM_DELIVER_PERMFAIL = 69,	/* EX_UNAVAILABLE: bounce */
};

/* Deliver each message of `messages` (GBytes *) to `recipient` at
   `target`: "mbox:PATH" (append with an fcntl lock, mboxrd), "lmtp:PATH",
   "lmtp:HOST:PORT", "smtp:HOST:PORT", or "none".  For smtp the recipient
   is given as is (the MTA configuration turns a local+ address or a
   re-injection port into a final delivery without looping). */
enum shim_deliver_status
shim_deliver(const char *target, const char *envelope_sender,
	     const char *recipient, const GPtrArray *messages, time_t now,
	     char **error_r);

/* true if `target` has a valid form (checked before reading stdin so a
   usage error is exit 64, not a delivery failure). */
gboolean shim_deliver_target_is_valid(const char *target);

#endif
