#ifndef IMIP_STORE_NAME_H
#define IMIP_STORE_NAME_H

/* Names from the wire never become paths unescaped (DESIGN.md rule 5).
   A UID, RECURRENCE-ID or address is encoded into one file name component
   that cannot be "", ".", "..", contain '/', start with '.', or exceed
   NAME_MAX; the mapping is injective so two different UIDs never share a
   file. */

#include <stdbool.h>

/* Newly allocated file name for `raw` (any bytes but NUL). */
char *store_name_encode(const char *raw);
/* The inverse; NULL when `name` is not something store_name_encode made
   (e.g. a hashed long name, whose original is read from inside the file). */
char *store_name_decode(const char *name);

#endif
