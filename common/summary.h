#ifndef IMIP_SUMMARY_H
#define IMIP_SUMMARY_H

/* The short readable text a person's mailbox gets with a calendar message
   (the `incoming` preference): what arrived and what was recorded.  English,
   with the user's LANG where a translation exists (de, fr, nb ship). */

#include <glib.h>

struct imip_result;

/* Newly allocated UTF-8 text, lines ending in "\n".  `lang` may be NULL
   (English).  `from` is the message's sender address (may be NULL). */
char *summary_text(const struct imip_result *result, const char *lang,
		   const char *from);

#endif
