#ifndef IMIP_AUTHRES_H
#define IMIP_AUTHRES_H

/* Authentication-Results (RFC 8601): reading the header fields a
   receiving MTA adds, and deciding whether a message's sender is
   authenticated (imip.conf require_authentication = dmarc, DESIGN.md rule
   4).

   Which header counts.  The headers are read from the top of the message
   down.  Only the "trace block" at the top counts: headers that receiving
   systems prepend (authres_header_is_trace()).  The first header that is
   not one of those starts what the sender wrote, and nothing below it is
   looked at, so an Authentication-Results header the sender put among its
   own headers is ignored.  Within the trace block, Authentication-Results
   headers whose authserv-id is not trusted are ignored, and the first one
   whose authserv-id is trusted is THE result: later (lower, older) ones
   are not consulted.  This relies on what RFC 8601 section 5 asks of the
   MTA: it adds its own header to every message and removes any header
   claiming its authserv-id that arrived with the message. */

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* Longest header value parsed; longer ones are refused (not read). */
#define AUTHRES_MAX_VALUE_LEN 65536

struct authres_prop {
	char *ptype;		/* "header", "smtp", "policy", ..., lower case */
	char *property;		/* "from", "mailfrom", ..., lower case */
	char *value;		/* as written (quotes removed) */
};

struct authres_result {
	char *method;		/* "dmarc", "spf", ..., lower case, no version */
	char *result;		/* "pass", "fail", ..., lower case */
	char *reason;		/* reason= value, or NULL */
	GPtrArray *props;	/* struct authres_prop * */
};

struct authres {
	char *authserv_id;	/* as written (quotes removed) */
	GPtrArray *results;	/* struct authres_result *; empty for "none" */
};

/* Parse the value of one Authentication-Results header (what follows the
   colon, folding allowed).  Returns NULL with *error_r set (a static
   string) when the value is not well formed: unterminated comment or
   quoted string, missing authserv-id, a resinfo without method=result,
   a value longer than AUTHRES_MAX_VALUE_LEN. */
struct authres *authres_parse(const char *value, const char **error_r);
void authres_free(struct authres **ar);

/* The value of ptype.property of a result (case-insensitive names), or
   NULL. */
const char *authres_result_prop(const struct authres_result *result,
				const char *ptype, const char *property);

/* Trace headers: those receiving systems prepend (Return-Path, Received,
   Authentication-Results, ARC-*, DKIM-Signature, Received-SPF,
   Delivered-To, X-Original-To, X-Spam-*, X-Virus-*).  `extra`, when not
   NULL, names one more (the trusted submission marker). */
bool authres_header_is_trace(const char *name, const char *extra);

/* Every refusal reason of authres_sender_is_authenticated() begins so. */
#define AUTHRES_REASON_PREFIX "sender not authenticated"

struct authres_policy {
	const GPtrArray *trusted_ids;	/* char *: authserv-ids trusted */
	const char *submission_name;	/* marker header name, or NULL */
	const char *submission_value;	/* its value (trimmed), or NULL */
};

/* Is the message authenticated for `from_address` (the From address used
   as the sender's identity)?  `headers` are struct mime_header * of the
   message, top first.  True when the trace block holds the trusted
   submission marker, or when THE trusted Authentication-Results header
   reports dmarc=pass with header.from equal (case-insensitive) to the
   domain of from_address.  Otherwise false, with *reason_r set to a
   sentence (caller frees). */
bool authres_sender_is_authenticated(const GPtrArray *headers,
				     const char *from_address,
				     const struct authres_policy *policy,
				     char **reason_r);

#endif
