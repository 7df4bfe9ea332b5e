#ifndef IMIP_DERIVE_H
#define IMIP_DERIVE_H

/* Derived data (DESIGN.md rule 6): free/busy tables and the request list
   computed from the stored objects and counter-proposals.  The handlers
   and `imip-admin rebuild` use the same functions, so an incremental
   update always equals a rebuild. */

#include <stdbool.h>
#include <time.h>
#include <glib.h>
#include <libical/ical.h>

struct imip_config;
struct store_user;
struct ical_object;
struct fb_list;

struct derive_params {
	const struct imip_config *config;
	struct store_user *su;
	const char *user;
	icaltimezone *user_zone;
	time_t now;
	/* other addresses of the user (char *), or NULL; rebuilds know only
	   the calendar address */
	const GPtrArray *aliases;
};

/* Recompute, for one UID, the user's own free/busy and every
   freebusy-other table from what is stored:
   - own: instances of events the user organises, or where the user's
     PARTSTAT is ACCEPTED or TENTATIVE;
   - freebusy-other/<organiser>: instances of events organised by someone
     else (the organiser is presumed busy);
   - freebusy-other/<attendee>: for events the user organises, instances
     where that attendee is ACCEPTED or TENTATIVE.
   Transparent and cancelled instances are never busy.
   Then the UID's entries of the request list (derive_requests_of_uid()).
   Recomputing what is already right writes nothing, so calling it again
   (a retried message) is cheap and repairs what a crash left undone. */
int derive_uid(const struct derive_params *p, const char *uid,
	       bool *own_changed_r, const char **error_r);

/* The request entries (struct store_request *) that follow from what is
   stored for uid, sorted (derive_request_compare()):
   - "request" for each active component with the awaiting mark
     (calstore.h: an invitation the user has not answered);
   - "counter" for each (uid, rid) with a stored counter-proposal whose
     event (the instance's override, else the master) is active.
   `counters` is every stored counter (store_counter_list()). */
int derive_requests_of_uid(const struct derive_params *p, const char *uid,
			   const GPtrArray *counters, GPtrArray *out,
			   const char **error_r);

/* The order of the request list: uid, then rid (the whole event first),
   then kind.  For g_ptr_array_sort(). */
gint derive_request_compare(gconstpointer a, gconstpointer b);

/* The end of time as far as finite recurrences go (9999-12-31, the last
   instant the free/busy line format can write). */
#define DERIVE_TIME_MAX ((time_t)253402300799LL)

/* The window an object's instances are expanded in: the whole recurrence,
   or now - freebusy_horizon_days .. now + freebusy_horizon_days for one
   without end. */
void derive_window(const struct derive_params *p, const struct ical_object *obj,
		   time_t *start_r, time_t *end_r);

/* Busy periods of an object as the store records them (window: the whole
   recurrence, or the horizon around now for endless ones). */
int derive_object_periods(const struct derive_params *p,
			  const struct ical_object *obj, struct fb_list *out,
			  const char **error_r);

/* Write or remove static_dir/<user>/freebusy per the preferences
   freebusy_publishing and freebusy_sharing. */
int derive_publish(const struct derive_params *p, const char **error_r);

/* Rebuild all derived data of the user (imip-admin rebuild and
   refresh-freebusy): free/busy (received VFREEBUSY data, periods whose
   UID is not a stored object, is kept) and the whole request list (lines
   that no stored object or counter explains are dropped). */
int derive_rebuild(const struct derive_params *p, const char **error_r);

#endif
