#ifndef IMIP_H
#define IMIP_H

/* The library contract (DESIGN.md section 3): one entry point that every
   adapter calls, host-independent.  The adapter reads the message and the
   envelope out of its host, calls imip_process() once per calendar user, and
   turns the result into what its host understands. */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <glib.h>

struct imip_config;
struct store;
struct mime_message;

enum imip_role {
	IMIP_ROLE_PERSON,	/* incoming mail for a calendar user */
	IMIP_ROLE_OUTGOING,	/* a copy of mail a local calendar user sent */
	IMIP_ROLE_RESOURCE,	/* an autonomous resource (resources issue) */
};

/* Few and stable: every adapter reports these the same way.  The order
   matters only to imip_outcome_combine(). */
enum imip_outcome_code {
	IMIP_OUTCOME_NO_ACTION,
	IMIP_OUTCOME_ADDED,
	IMIP_OUTCOME_UPDATED,
	IMIP_OUTCOME_CANCELLED,
	IMIP_OUTCOME_REPLIED,
	IMIP_OUTCOME_REJECTED,
	IMIP_OUTCOME_ERROR,
};

enum imip_log_level {
	IMIP_LOG_DEBUG,
	IMIP_LOG_INFO,
	IMIP_LOG_WARNING,
	IMIP_LOG_ERROR,
};

typedef void imip_log_func_t(void *context, enum imip_log_level level,
			     const char *message);

/* One message the agent wants sent.  The adapter sends it with its host's
   usual means (sendmail, SMTP submission) or prints it (--dry-run). */
struct imip_outgoing {
	char *envelope_from;	/* the calendar address (calendar_sender) */
	char *recipient;	/* one envelope recipient */
	GBytes *data;		/* the whole RFC 5322 message, CRLF */
	/* index in result->parts of the object whose handling made it */
	unsigned int part;
};

/* What became of a message handed to the adapter's sending function:
   sent, refused for now (sendmail exit 75, SMTP 4xx, no connection: the
   outbox tries again later) or refused for good (any other exit status,
   SMTP 5xx: not retried). */
enum imip_send_status {
	IMIP_SEND_OK,
	IMIP_SEND_TEMPFAIL,
	IMIP_SEND_PERMFAIL,
};

/* Sends one message; on failure *error_r is a newly allocated (g_free)
   text naming the cause. */
typedef enum imip_send_status
imip_send_func_t(void *context, const struct imip_outgoing *out,
		 char **error_r);

/* What happened to one calendar object (one UID) of the message. */
struct imip_part_result {
	enum imip_outcome_code code;
	char *method;		/* METHOD as read, upper case, or NULL */
	char *uid;		/* NULL when the object had none */
	char *reason;		/* short human sentence */
	char *summary;		/* SUMMARY of the object, for the mailbox text */
	bool freebusy;		/* a VFREEBUSY rather than a VEVENT */
};

struct imip_result {
	enum imip_outcome_code code;	/* combined over all parts */
	char *reason;			/* combined reason */
	GPtrArray *parts;		/* struct imip_part_result * */
	GPtrArray *outgoing;		/* struct imip_outgoing * */
	/* What the mailbox receives instead of the original (person role,
	   by the `incoming` preference): zero, one or two messages, in order.
	   An empty array means "deliver the original unchanged". */
	GPtrArray *mailbox;		/* GBytes * */
	/* true when the mailbox must receive nothing at all
	   (never for the person role: rule 1 of DESIGN.md) */
	bool suppress_delivery;
};

struct imip_ctx {
	const struct imip_config *config;
	struct store *store;
	imip_log_func_t *log;
	void *log_context;
	time_t now;		/* imip_clock_now() unless the adapter says */
	/* The local TCP port the message reached the delivery agent on (the
	   port of Dovecot LMTP's inet_listener), 0 when unknown or not TCP
	   (a UNIX socket, dovecot-lda, a pipe from the MTA).  With
	   require_authentication = dmarc, one of trusted_submission_ports
	   vouches that the message comes from local authenticated
	   submission. */
	unsigned int local_port;
	/* How replies leave.  Set: imip_process() queues every reply in the
	   user's outbox (outbox.h) together with the store changes, sends
	   it with this function while it holds the user's lock, and also
	   retries what earlier messages left queued; a reply not sent makes
	   its object's outcome `error`.  The replies stay listed in
	   result->outgoing, for the log; the adapter must not send them
	   again.  NULL (a dry run, `imip-admin check`): nothing is queued or
	   sent, and result->outgoing is for the adapter to print. */
	imip_send_func_t *send;
	void *send_context;
};

/* How far to go with a message (RFC 9671 processcalendar tags).  The
   defaults (imip_process(), or a zeroed struct with allow_public set) are
   what the MTA shim and the Dovecot plugin's automatic processing use. */
struct imip_options {
	/* PUBLISH, and calendar data without any METHOD (then taken as
	   PUBLISH), are acted on (:allowpublic) */
	bool allow_public;
	/* only messages that create an object not stored yet (:invitesonly) */
	bool invites_only;
	/* only messages about objects already stored (:updatesonly) */
	bool updates_only;
	/* a CANCEL of a whole event removes it from the store instead of
	   keeping it as cancelled (:deletecancelled) */
	bool delete_cancelled;
	/* other addresses of the user, matched like the calendar address
	   when finding the user among ATTENDEEs or as ORGANIZER
	   (:addresses); NULL-terminated, may be NULL */
	const char *const *addresses;
	/* only messages whose ORGANIZER is one of these (:organizers);
	   NULL-terminated, NULL means any organiser */
	const char *const *organizers;
};

/* Returns the stable name of an outcome ("added", "no_action", ...). */
const char *imip_outcome_name(enum imip_outcome_code code);

/* Process one already-read message for one calendar user.  Never fails:
   everything that goes wrong becomes an outcome (error/rejected) in the
   result.  `user` is a calendar address (with or without "mailto:"),
   `envelope_sender` may be NULL, `msg` NULL gives outcome error.  The
   caller frees the result. */
struct imip_result *
imip_process(struct imip_ctx *ctx, const struct mime_message *msg,
	     const char *envelope_sender, const char *user,
	     enum imip_role role);

/* The same with options (NULL: the defaults). */
struct imip_result *
imip_process_with(struct imip_ctx *ctx, const struct mime_message *msg,
		  const char *envelope_sender, const char *user,
		  enum imip_role role, const struct imip_options *options);

void imip_result_free(struct imip_result **result);
void imip_outgoing_free(struct imip_outgoing *out);

/* Logging through the adapter's callback; printf-like. */
void imip_log(const struct imip_ctx *ctx, enum imip_log_level level,
	      const char *fmt, ...) G_GNUC_PRINTF(3, 4);

#endif
