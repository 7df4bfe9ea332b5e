#ifndef IMIP_TRIGGER_H
#define IMIP_TRIGGER_H

/* The trigger script (imip.conf `trigger_sieve`): a Sieve script (RFC 5228)
   run with libsieve2 before a message is processed, deciding whether the
   agent looks at it at all.  It filters; it never delivers, files or
   answers anything itself:

     keep, fileinto, implicit keep      -> process
     discard (and no keep-like action)  -> do not process
     redirect, reject, vacation, notify -> process; a note says the action
                                           is not supported in a trigger
                                           (libsieve calls back for vacation
                                           only when it would answer: the
                                           recipient in To/Cc, not a list)
     script missing, unreadable, not
     compiling or failing at run time   -> process (as if there were no
                                           script), with an error

   Tests see the message's header (RFC 2047 decoded; address headers with
   their display names decoded), the envelope (`from` = the envelope sender,
   "" for the null sender; `to` = the recipient being processed) and the
   size.  Extensions: envelope, fileinto, reject, vacation, notify,
   subaddress (separator "+"), relational, regex, imap4flags.

   Used by imip-shim and the Cyrus hook; not by the Dovecot plugin, whose
   users have Pigeonhole's Sieve already.  libsieve2 keeps per-call state in
   its context only, but it is old code: call it from one thread at a
   time. */

#include <stdbool.h>
#include <glib.h>

struct trigger_result {
	/* false only when the script discarded the message */
	bool process;
	/* set when the script could not be used (then process is true):
	   one line naming the script and what failed */
	char *error;
	/* char *: actions the script took that a trigger does not perform
	   (redirect, reject, vacation, notify), one sentence each */
	GPtrArray *notes;
};

/* Run `script_path` on `message` (the raw message, header and body as
   received).  `envelope_from` NULL or "" or "<>" is the null sender;
   `envelope_to` may be NULL (then the envelope "to" is empty).
   Returns 0 when the script ran, -1 when it could not be used
   (result->error says why).  Either way *result is filled in and must be
   released with trigger_result_clear(). */
int trigger_evaluate(const char *script_path, GBytes *message,
		     const char *envelope_from, const char *envelope_to,
		     struct trigger_result *result);

void trigger_result_clear(struct trigger_result *result);

struct imip_config;
struct imip_ctx;
struct imip_result;

/* The trigger step for one recipient as the adapters take it: run
   config->trigger_sieve (nothing to do when unset), log its error and
   notes through ctx's log, and return NULL when the message is to be
   processed, or the result to report when the script discarded it
   (no_action, nothing sent, the mailbox keeps the original).
   *failed_r tells that the script could not be used (the message is
   then processed as if there were none). */
struct imip_result *trigger_check(const struct imip_ctx *ctx, GBytes *message,
				  const char *envelope_from,
				  const char *envelope_to, bool *failed_r);

/* Add "(trigger script failed)" to the reason of a processed result. */
void trigger_mark_failed(struct imip_result *result);

#endif
