#ifndef IMIP_SEND_H
#define IMIP_SEND_H

/* Sending the agent's own messages (replies, REFRESH, VFREEBUSY replies)
   the way the site already sends mail: sendmail_path (default), or SMTP
   submission to submission_host when set.  Used by every adapter that has
   no sending of its own (shim, Cyrus hook); the Dovecot plugin uses
   Dovecot's submission settings instead. */

#include <glib.h>
#include "imip.h"

struct imip_config;

/* Returns IMIP_SEND_OK when the message was handed over, otherwise
   whether trying again may help, with *error_r (newly allocated).
   Temporary: sendmail's exit status 75 (EX_TEMPFAIL) or 71 (EX_OSERR),
   sendmail killed, timed out or not executable, SMTP 4xx or no
   connection (an MTA that is down or a path being fixed).  Permanent:
   any other exit status, SMTP 5xx, an envelope address that cannot be
   used. */
enum imip_send_status send_outgoing(const struct imip_config *config,
				    const struct imip_outgoing *out,
				    char **error_r);

/* send_outgoing() as an imip_send_func_t: context is the
   struct imip_config. */
enum imip_send_status send_outgoing_func(void *context,
					 const struct imip_outgoing *out,
					 char **error_r);

#endif
