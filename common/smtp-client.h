#ifndef IMIP_SMTP_CLIENT_H
#define IMIP_SMTP_CLIENT_H

/* A small blocking SMTP/LMTP client (RFC 5321, RFC 2033) for handing one
   message to a mail store or an MTA: enough for the shim's hand-back and
   for submission to a local MTA port, with timeouts, dot-stuffing and
   per-recipient LMTP replies. */

#include <stdbool.h>
#include <glib.h>

enum smtp_client_status {
	SMTP_CLIENT_OK = 0,
	SMTP_CLIENT_TEMPFAIL = -1,	/* 4xx, connection trouble, timeout */
	SMTP_CLIENT_PERMFAIL = -2,	/* 5xx */
};

struct smtp_client_target {
	bool lmtp;		/* LHLO and one reply per recipient */
	const char *unix_path;	/* UNIX socket, or NULL for host:port */
	const char *host;
	unsigned int port;
	unsigned int timeout_secs;	/* per command; 0 = 60 */
	const char *helo_name;	/* NULL: the host name */
};

/* Parse "HOST:PORT", "[IPv6]:PORT" or "/path/to/socket" into target
   (pointers into a newly allocated copy returned in *storage_r, which the
   caller frees).  false on a malformed spec. */
bool smtp_client_parse_target(const char *spec, bool lmtp,
			      struct smtp_client_target *target,
			      char **storage_r);

/* Send `data` (an RFC 5322 message, CRLF or LF line ends) from
   `envelope_from` ("" for <>) to the recipients.  Returns the worst status
   over all recipients; *error_r (newly allocated) describes the first
   failure, with the server's reply text. */
enum smtp_client_status
smtp_client_send(const struct smtp_client_target *target,
		 const char *envelope_from, const char *const *recipients,
		 unsigned int recipients_count, GBytes *data, char **error_r);

#endif
