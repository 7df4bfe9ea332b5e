#ifndef IMIP_ADDRESS_H
#define IMIP_ADDRESS_H

/* Calendar addresses.  On the wire they are CAL-ADDRESS URIs
   ("mailto:Paul.Boddie@Example.com") or mail addresses; inside the agent
   every address is the bare mail address, lower-cased (domains are
   case-insensitive, RFC 5321, and calendar practice compares local parts
   case-insensitively too).  Comparison is always on this form. */

#include <stdbool.h>

/* Returns a newly allocated normalised address, or NULL if `value` holds no
   usable address (empty, no '@', control characters, longer than 320
   bytes).  Accepts "mailto:" in any case, surrounding white space and
   angle brackets. */
char *address_normalize(const char *value);

/* true if both values normalise to the same address. */
bool address_equal(const char *a, const char *b);

/* "mailto:" + normalised address, newly allocated, or NULL. */
char *address_to_uri(const char *value);

/* The domain part of a normalised address (points into it), or NULL. */
const char *address_domain(const char *address);

#endif
