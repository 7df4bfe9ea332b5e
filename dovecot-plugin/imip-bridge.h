#ifndef IMIP_BRIDGE_H
#define IMIP_BRIDGE_H

/* The Dovecot plugins' only door into libimip.  Dovecot's headers and
   GLib's cannot share a translation unit (both define TRUE, FALSE, MIN,
   MAX, N_ELEMENTS, ...), so the plugin files include Dovecot's headers and
   this one, and imip-bridge.c includes only libimip.  Nothing here uses
   either library's types; strings are plain C strings owned by whoever the
   comment names. */

#include <stdbool.h>
#include <stddef.h>

enum imip_bridge_log_level {
	IMIP_BRIDGE_LOG_DEBUG,
	IMIP_BRIDGE_LOG_INFO,
	IMIP_BRIDGE_LOG_WARNING,
	IMIP_BRIDGE_LOG_ERROR,
};

typedef void imip_bridge_log_func_t(void *context,
				    enum imip_bridge_log_level level,
				    const char *message);

/* Sends one reply (from, rcpt: envelope; data/size: the message).
   Returns 1 sent, 0 refused for good, -1 try again later (the convention
   of Dovecot's smtp_submit_run()); on failure *error_r says why (only
   read before the function is called again). */
typedef int imip_bridge_send_func_t(void *context, const char *from,
				    const char *rcpt, const void *data,
				    size_t size, const char **error_r);

struct imip_bridge;		/* a loaded imip.conf and an open store */
struct imip_bridge_result;

/* RFC 9671 processcalendar tags (see struct imip_options in imip.h). */
struct imip_bridge_options {
	bool allow_public;
	bool invites_only;
	bool updates_only;
	bool delete_cancelled;
	const char *const *addresses;	/* NULL-terminated, or NULL */
	const char *const *organizers;	/* NULL-terminated, or NULL: any */
};

/* The bridge for an imip.conf (NULL: the default path), shared by every
   user of this process with that file: it is loaded once and again only
   when the file changes (its inode, size or times), so a delivery does not
   parse the configuration each time, and an edited file still takes
   effect at the next delivery.  Returns 0, or -1 with an error (free it
   with imip_bridge_free_string()).  Release it with imip_bridge_unref(). */
int imip_bridge_get(const char *config_path, struct imip_bridge **bridge_r,
		    char **error_r);
void imip_bridge_unref(struct imip_bridge **bridge);
/* Drop the cached bridges (plugin deinit). */
void imip_bridge_cache_clear(void);

/* mime_line_names_calendar(): one line of the message (without its line
   end), *in_field false before the first.  True when the line names a
   calendar type; a message none of whose lines does has no calendar
   data, and the plugin then neither copies nor parses it. */
bool imip_bridge_line_names_calendar(const unsigned char *line, size_t len,
				     bool *in_field);

/* calendar_sender of imip.conf: the From of every message the agent sends */
const char *imip_bridge_calendar_sender(const struct imip_bridge *bridge);
/* limit_message_size: a message larger than this is not looked at, so the
   caller need not read more than this + 1 bytes of it */
size_t imip_bridge_message_limit(const struct imip_bridge *bridge);

/* Process one message (data/size, the whole RFC 5322 message) for one
   calendar user.  role: "person" or "resource".  local_port: the local
   TCP port of the LMTP connection the message came in on, 0 when unknown
   or not TCP (a UNIX socket, dovecot-lda); see trusted_submission_ports.
   options NULL: the defaults.  Never fails: every problem is an outcome.
   The log callback receives the library's own log lines.  send non-NULL:
   the replies are queued in the user's outbox and sent with it during
   processing (a reply not sent makes the outcome error; one refused for
   now is retried later); the caller must not send them again.  send
   NULL: nothing is sent or queued, the replies are only listed. */
struct imip_bridge_result *
imip_bridge_process(struct imip_bridge *bridge, const void *data, size_t size,
		    const char *envelope_sender, const char *user,
		    const char *role, unsigned int local_port,
		    const struct imip_bridge_options *options,
		    imip_bridge_log_func_t *log, void *log_context,
		    imip_bridge_send_func_t *send, void *send_context);

/* "added", "updated", "cancelled", "replied", "no_action", "rejected",
   "error" */
const char *imip_bridge_result_outcome(const struct imip_bridge_result *r);
/* a short sentence; never NULL */
const char *imip_bridge_result_reason(const struct imip_bridge_result *r);
/* the methods seen, e.g. "REQUEST" or "REQUEST,CANCEL", or "-" */
const char *imip_bridge_result_methods(const struct imip_bridge_result *r);
/* the first UID, or "-" */
const char *imip_bridge_result_uid(const struct imip_bridge_result *r);
/* true when the message carried calendar data (or tried to: a part over a
   limit counts), i.e. when the $iMIP keywords apply */
bool imip_bridge_result_is_calendar(const struct imip_bridge_result *r);

/* The replies made, each from the calendar address to one recipient
   (already sent or queued when imip_bridge_process() had a send
   function). */
unsigned int imip_bridge_result_outgoing_count(const struct imip_bridge_result *r);
void imip_bridge_result_outgoing(const struct imip_bridge_result *r,
				 unsigned int i, const char **from_r,
				 const char **rcpt_r, const void **data_r,
				 size_t *size_r);

/* What the mailbox receives instead of the original (the `incoming`
   preference), in order; 0 messages: the original, unchanged. */
unsigned int imip_bridge_result_mailbox_count(const struct imip_bridge_result *r);
void imip_bridge_result_mailbox(const struct imip_bridge_result *r,
				unsigned int i, const void **data_r,
				size_t *size_r);

void imip_bridge_result_free(struct imip_bridge_result **r);
void imip_bridge_free_string(char *s);

#endif
