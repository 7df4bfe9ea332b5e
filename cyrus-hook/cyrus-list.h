#ifndef IMIP_CYRUS_LIST_H
#define IMIP_CYRUS_LIST_H

/* Cyrus's list syntax, as it writes annotation_callout requests (IMAP
   style, imap/append.c callout_encode_args()) and the fourth line of
   cyrus.header (a dlist, imap/dlist.c): atoms, "quoted" strings,
   {n}CRLF literals, NIL, ( lists ) and %( key-value lists ).  Both come
   from Cyrus itself, but a request is still data from a socket: the
   parser bounds depth and never reads past the buffer. */

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

enum cyrus_list_kind {
	CYRUS_LIST_ATOM,
	CYRUS_LIST_STRING,	/* quoted or literal; may contain NUL */
	CYRUS_LIST_NIL,
	CYRUS_LIST_LIST,	/* ( ... ) and %( ... ) */
};

struct cyrus_list_value {
	enum cyrus_list_kind kind;
	char *text;		/* ATOM, STRING: NUL-terminated copy */
	size_t len;
	GPtrArray *items;	/* LIST: struct cyrus_list_value * */
};

/* Deeper nesting is refused: BODYSTRUCTURE nests about two levels per
   MIME level and limit_mime_depth defaults to 20. */
#define CYRUS_LIST_MAX_DEPTH 200

/* Parse one value at the start of data.  Returns it and sets *end_r to
   the first byte after it, or returns NULL with *error_r (static text). */
struct cyrus_list_value *cyrus_list_parse(const char *data, size_t len,
					  size_t *end_r,
					  const char **error_r);
void cyrus_list_free(struct cyrus_list_value *value);

/* In a LIST of alternating keys and values (KEY value KEY value ...): the
   value after the atom `key` (compared case-insensitively), or NULL. */
const struct cyrus_list_value *
cyrus_list_lookup(const struct cyrus_list_value *list, const char *key);

/* The text of an ATOM or STRING, NULL for anything else. */
const char *cyrus_list_text(const struct cyrus_list_value *value);

#endif
