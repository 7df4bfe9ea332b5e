#ifndef IMIP_SEND_H
#define IMIP_SEND_H

/* Sending the agent's own messages (replies, REFRESH, VFREEBUSY replies)
   the way the site already sends mail: sendmail_path (default), or SMTP
   submission to submission_host when set.  Used by every adapter that has
   no sending of its own (shim, Cyrus hook); the Dovecot plugin uses
   Dovecot's submission settings instead. */

#include <glib.h>

struct imip_config;
struct imip_outgoing;

/* Returns 0 when the message was handed over, -1 with *error_r (newly
   allocated) otherwise. */
int send_outgoing(const struct imip_config *config,
		  const struct imip_outgoing *out, char **error_r);

#endif
