#ifndef IMIP_CALSTORE_H
#define IMIP_CALSTORE_H

/* Calendar objects in the store: a UID's master and overrides, active
   and cancelled, loaded into one ical_object and written back component by
   component.  Cancelled components are stored with STATUS:CANCELLED so
   free/busy computed from a loaded object never counts them. */

#include <stdbool.h>
#include <libical/ical.h>
#include "store.h"

struct ical_object;

/* Everything stored for uid (both states).  Returns 1 and *obj_r, 0 when
   nothing is stored, -1 on error. */
int calstore_load(struct store_user *su, const char *uid,
		  struct ical_object **obj_r, const char **error_r);

/* The state of (uid, rid): 1 found (with *state_r), 0 not stored. */
int calstore_state(struct store_user *su, const char *uid, const char *rid,
		   enum store_state *state_r, const char **error_r);

/* The mark of a stored component that waits for the user's answer: an
   invitation to the user stores its new components with it, the user's
   answer (or anything else rewriting the component) stores them without.
   The "request" entries of `requests` are derived from it (derive.h,
   docs/store.md 3.1).  It lives in the component's own file, so the
   component and whether it awaits an answer change in one rename: no
   crash can separate them.  The agent owns it: a mark in a message is
   never stored as such. */
#define CALSTORE_AWAITING_PROPERTY "X-IMIP-AGENT-REQUEST"

/* Write one component (its RECURRENCE-ID decides master or override) with
   the VTIMEZONEs it needs from tz_source, without the awaiting mark. */
int calstore_put(struct store_user *su, const char *uid, icalcomponent *comp,
		 enum store_state state, icalcomponent *tz_source,
		 const char **error_r);
/* The same, with the awaiting mark when `awaiting` (comp itself is not
   changed). */
int calstore_put_awaiting(struct store_user *su, const char *uid,
			  icalcomponent *comp, enum store_state state,
			  icalcomponent *tz_source, bool awaiting,
			  const char **error_r);
/* true if comp (a stored component) carries the awaiting mark. */
bool calstore_is_awaiting(icalcomponent *comp);
/* The user answered (uid, rid): rewrite the active stored component
   without its mark.  1 when a mark was removed, 0 when there was none,
   -1 on error. */
int calstore_clear_awaiting(struct store_user *su, const char *uid,
			    const char *rid, const char **error_r);

/* true when the master recurs without end (RRULE without COUNT/UNTIL):
   its free/busy is expanded only up to the horizon. */
bool calstore_is_endless(const struct ical_object *obj);

#endif
