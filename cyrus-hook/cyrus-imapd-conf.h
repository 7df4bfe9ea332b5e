#ifndef IMIP_CYRUS_IMAPD_CONF_H
#define IMIP_CYRUS_IMAPD_CONF_H

/* What imip-cyrus-annotator needs to know from Cyrus's own imapd.conf(5):
   how it names mailboxes and which annotations it will accept.  Reading
   them from there (unless imip.conf overrides) keeps the two from
   disagreeing. */

#include <stdbool.h>

struct cyrus_imapd_conf {
	int unixhierarchysep;		/* -1 when the file does not say */
	char *defaultdomain;		/* NULL when unset */
	char *annotation_definitions;	/* path, NULL when unset */
	bool annotation_allow_undefined;
};

/* Read `path` ("key: value" lines, "#" comments).  Returns NULL with
   *error_r (caller frees) when it cannot be read. */
struct cyrus_imapd_conf *cyrus_imapd_conf_read(const char *path,
					       char **error_r);
void cyrus_imapd_conf_free(struct cyrus_imapd_conf **conf);

/* true if Cyrus will accept value.shared of each message annotation in
   `entries` (NULL-terminated): annotation_allow_undefined, or every
   entry declared with scope "message" and attribute value.shared in the
   annotation_definitions file.  Otherwise *why_r says what is missing
   (caller frees).  Cyrus bounces a message (550) whose callout reply
   sets an annotation it does not know: never send one unless this
   holds. */
bool cyrus_imapd_conf_accepts_annotations(const struct cyrus_imapd_conf *conf,
					  const char *const *entries,
					  char **why_r);

#endif
