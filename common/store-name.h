#ifndef IMIP_STORE_NAME_H
#define IMIP_STORE_NAME_H

/* Names from the wire never become paths unescaped (DESIGN.md rule 5).
   A UID, RECURRENCE-ID or address is encoded into one file name component
   that cannot be "", ".", "..", contain '/', start with '.', or exceed
   NAME_MAX; the mapping is injective so two different UIDs never share a
   file. */

#include <stdbool.h>
#include <glib.h>

/* Newly allocated file name for `raw` (any bytes but NUL). */
char *store_name_encode(const char *raw);
/* The inverse; NULL when `name` is not something store_name_encode made
   (e.g. a hashed long name, whose original is read from inside the file). */
char *store_name_decode(const char *name);

/* Fields of tab-separated line files (the store's requests, the quota
   journal's tables): '%', control bytes (TAB, LF, CR, ...) and DEL become
   %XX (upper-case hex), so a hostile value cannot add a field or a line,
   and a readable value stays readable.  NULL is written "-" (and a value
   that is literally "-" as "%2D"). */
void store_name_field_append(GString *out, const char *value);
/* The inverse: a newly allocated value, or NULL for "-" (when
   dash_is_null) or for a bad escape (then *ok_r is false). */
char *store_name_field_decode(const char *field, bool dash_is_null,
			      bool *ok_r);

#endif
