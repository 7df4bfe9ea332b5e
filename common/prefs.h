#ifndef IMIP_PREFS_H
#define IMIP_PREFS_H

/* Per-user preferences with the original imip-agent's names, values and
   defaults (imip-preferences(5)).  The value a handler sees is, in order:
   the user's own preference (store), the site default from imip.conf
   (`default_<name>`), the built-in default below. */

#include <stdbool.h>
#include <glib.h>

struct imip_config;
struct store_user;

enum prefs_kind {
	PREFS_KIND_TEXT,	/* free text (CN) */
	PREFS_KIND_ENUM,	/* one of `values` */
	PREFS_KIND_DURATION,	/* RFC 5545 duration, e.g. PT10M */
	PREFS_KIND_LINES,	/* several lines (acl, scheduling_function) */
	PREFS_KIND_TZID,	/* an Olson zone name */
	PREFS_KIND_LANG,	/* a language tag (en, de, fr_FR, ...) */
	PREFS_KIND_TIMES,	/* permitted_times syntax */
};

struct prefs_def {
	const char *name;
	enum prefs_kind kind;
	const char *default_value;	/* NULL: no value */
	const char *const *values;	/* NULL-terminated, for ENUM */
};

/* The table, NULL-name terminated: CN, LANG, TZID, acl,
   add_method_response, event_refreshing, freebusy_bundling,
   freebusy_messages, freebusy_offers, freebusy_publishing,
   freebusy_sharing, incoming, organiser_replacement, participating,
   permitted_times, recurring_conflicts (ours), scheduling_function. */
extern const struct prefs_def prefs_table[];

const struct prefs_def *prefs_lookup(const char *name);

/* Check a value against its definition.  Returns true if acceptable, else
   false with a static reason. */
bool prefs_value_is_valid(const struct prefs_def *def, const char *value,
			  const char **reason_r);

/* The effective value of `name` for the user (see above).  Returns a newly
   allocated string or NULL when no value applies.  A stored value that is
   invalid is ignored (and the default used) so a bad hand edit cannot stop
   processing. */
char *prefs_get(const struct imip_config *config, struct store_user *su,
		const char *name);

/* Convenience: prefs_get() compared with `value` (case-sensitive). */
bool prefs_is(const struct imip_config *config, struct store_user *su,
	      const char *name, const char *value);

#endif
