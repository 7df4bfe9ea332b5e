#ifndef IMIP_HANDLER_H
#define IMIP_HANDLER_H

/* What the handlers (handler-person.c, handler-outgoing.c) share: the
   state of processing one message for one user, and the steps every
   method uses (store newer components, derive, send). */

#include <stdbool.h>
#include <glib.h>
#include <libical/ical.h>

#include "imip.h"
#include "itip.h"

struct ical_object;
struct store_user;

struct handler {
	struct imip_ctx *ctx;
	const struct imip_config *config;
	struct store_user *su;
	const char *user;		/* normalised calendar address */
	const GPtrArray *senders;	/* normalised sender addresses */
	const struct mime_message *msg;
	enum imip_role role;
	/* false for auto-submitted mail and mail from the calendar address:
	   the agent records but never answers it (DESIGN.md rule 8) */
	bool may_send;
	icaltimezone *user_zone;	/* the user's TZID preference */
	struct imip_result *result;
	/* set when the user's own free/busy changed: republish at the end */
	bool own_fb_changed;
	/* handler_derive() ran for the current object */
	bool derived;
	const struct imip_options *options;	/* never NULL */
	/* an object of the current part was left alone because of the
	   options: the part is not remembered as processed */
	bool filtered;
	/* the user's other addresses (:addresses), normalised; the user's
	   own address is not in it */
	const GPtrArray *aliases;
};

typedef void handler_func_t(struct handler *h, enum itip_method method,
			    struct ical_object *obj,
			    struct imip_part_result *pr);

handler_func_t handler_person;
handler_func_t handler_outgoing;
handler_func_t handler_resource;

/* true if address (normalised) is the user: the calendar address or one
   of the aliases. */
bool handler_is_self(const struct handler *h, const char *address);
/* The user is an ATTENDEE of the master or an override / the ORGANIZER. */
bool handler_object_has_self_attendee(const struct handler *h,
				      const struct ical_object *obj);
bool handler_object_is_self_organised(const struct handler *h,
				      const struct ical_object *obj);

/* Set the object's outcome and reason (printf-like). */
void handler_outcome(struct imip_part_result *pr, enum imip_outcome_code code,
		     const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* The same for a store failure (outcome error). */
void handler_store_error(struct handler *h, struct imip_part_result *pr,
			 const char *what, const char *error);

/* Counts of handler_store_newer(). */
struct handler_store_stats {
	unsigned int stored;	/* components written */
	unsigned int same;	/* duplicates of what is stored */
	unsigned int stale;	/* older than what is stored */
	unsigned int blocked;	/* not newer than a stored cancellation */
	bool existed;		/* anything was stored for the UID before */
	/* rids ("" for the master) of components stored with the user's
	   answer kept (keep_answers), or NULL; handler_store_stats_clear() */
	GPtrArray *answered;
};

/* Store each component of `in` that is newer than the stored one for its
   RECURRENCE-ID (DESIGN.md rule 7), as active.  A newer master (a whole
   event) removes stored overrides the message does not carry, in both
   states.  With keep_answers (an organiser's update reaching an
   attendee), a component whose SEQUENCE equals the stored one's (for a
   new override: the stored master's) keeps the user's answer from the
   stored copy (itip_keep_answer(): no new answer is needed) and is noted
   in stats->answered; keep_answers also means the message asks for the
   user's answer: any other component it stores is marked awaiting it
   (calstore.h), the overrides only when the message has no master.
   Returns -1 on a store error (*error_r). */
int handler_store_newer(struct handler *h, const struct ical_object *in,
			bool keep_answers, struct handler_store_stats *stats,
			const char **error_r);
void handler_store_stats_clear(struct handler_store_stats *stats);

/* Recompute the derived free/busy and request entries of a UID
   (derive_uid()), noting own changes. */
int handler_derive(struct handler *h, const char *uid, const char **error_r);

/* Queue an iMIP message for `to` unless the message may not be answered.
   Returns true if queued. */
bool handler_send(struct handler *h, const char *to, const char *method,
		  const char *ical_text);

/* Reject objects the store could not derive free/busy from (a recurrence
   beyond limit_instances).  Returns false with the outcome set. */
bool handler_check_expandable(struct handler *h, const struct ical_object *obj,
			      struct imip_part_result *pr);

/* A preference's effective value (newly allocated). */
char *handler_pref(struct handler *h, const char *name);

/* The address the log and reasons name as "the sender": From, else the
   first sender. */
const char *handler_sender_name(const struct handler *h);

/* Which SENT-BY of an incoming message speaks for its party (the trust
   of itip_sender_*()): one the stored copy of the object already names
   for that party; the calendar address for an attendee of this site (the
   agent's own answers for its users and resources); and, with the
   preference trusted_sent_by = same-domain, one in the party's domain.
   `stored` (may be NULL) must outlive the use of sb_r->trust. */
struct handler_sent_by {
	struct handler *h;
	const struct ical_object *stored;
	bool same_domain;
	struct itip_sent_by trust;
};
void handler_sent_by_init(struct handler *h, const struct ical_object *stored,
			  struct handler_sent_by *sb_r);

/* itip_sender_attendees() / itip_sender_organises() with that trust. */
void handler_sender_attendees(struct handler *h,
			      const struct ical_object *stored,
			      icalcomponent *comp, GPtrArray *props_r);
bool handler_sender_organises(struct handler *h, const struct ical_object *obj,
			      const struct ical_object *stored);

/* Identity of an organiser method (DESIGN.md rule 4): the ORGANIZER, or
   a SENT-BY handler_sent_by_init() trusts (judged against the user's
   stored copy of the object), must be a sender.  Returns false with the
   outcome set. */
bool handler_check_organiser(struct handler *h, const struct ical_object *obj,
			     struct imip_part_result *pr);

/* The object's ORGANIZER must be the stored event's (no outside party can
   take over or cancel an event by naming itself organiser).  false with
   the outcome set. */
bool handler_check_stored_organiser(struct handler *h,
				    const struct ical_object *obj,
				    const struct ical_object *stored,
				    struct imip_part_result *pr);

/* A copy of the master for the instance at `rid_prop`'s time, added to
   stored (its vcal and overrides).  RRULE/RDATE/EXDATE are dropped.  The
   RECURRENCE-ID and DTSTART are the instant rid_prop names (its zone
   looked up from rid_prop's calendar), written in the form of the
   master's DTSTART (same TZID, UTC or floating; floating values read in
   floating_zone); DTEND keeps the master's length and form.  NULL when
   rid_prop holds no time. */
icalcomponent *handler_instance_from_master(struct ical_object *stored,
					    icalproperty *rid_prop,
					    icaltimezone *floating_zone);

/* true if rid names an instance of the stored recurrence set. */
bool handler_is_instance(struct handler *h, const struct ical_object *stored,
			 const char *rid);

/* Merge the attendee properties `props` (from one REPLY component `in`)
   into the stored copy, instance by instance (a new override is created
   for an instance of the recurrence set, and only kept when the reply
   changes it).  With allow_delegates, an attendee who is not stored is
   added if handler_is_confirmed_delegate() in the target component;
   otherwise (a party
   crasher) the outcome is rejected.  Returns -1 on store error, 0 when
   the outcome was set and this component is not applied (no such
   instance, a cancelled event, an older version: no_action; a party
   crasher: rejected), 1 when merged; *changed_r tells whether the stored
   copy changed.  The caller goes on with the other components of the
   REPLY after a 0. */
int handler_merge_reply(struct handler *h, struct ical_object *stored,
			icalcomponent *in, const GPtrArray *props,
			bool allow_delegates, struct imip_part_result *pr,
			bool *changed_r, const char **error_r);

/* A REPLY's ATTENDEE `delegate_prop`, one of the sender's `props` in the
   REPLY component `in`, is a delegate (RFC 5546 3.2.2.3): one of its
   DELEGATED-FROM names an attendee of the stored event whose ATTENDEE
   has DELEGATED-TO naming the delegate, either in the stored copy
   (`target`, or any component of `stored` when target is NULL) or in
   `in` itself when that delegator's entry is one of `props` (the sender
   speaks for the delegator too). */
bool handler_is_confirmed_delegate(const struct ical_object *stored,
				   icalcomponent *target, icalcomponent *in,
				   const GPtrArray *props,
				   icalproperty *delegate_prop);

/* Cancel what a CANCEL object names (whole event or instances) in the
   store: components move to cancellations with STATUS:CANCELLED and the
   CANCEL's SEQUENCE/DTSTAMP; free/busy and requests derived.
   `stored` may be NULL (the cancellation is recorded for later stale
   REQUESTs).  Sets the outcome; returns -1 on store error. */
int handler_cancel(struct handler *h, const struct ical_object *cancel,
		   struct ical_object *stored, struct imip_part_result *pr,
		   const char **error_r);

/* ADD (RFC 5546 3.2.4): store the new instances as overrides of the stored
   event and name them in the master's RDATE; with queue, the new
   instances await the user's answer.  Sets the outcome; -1 on store
   error. */
int handler_apply_add(struct handler *h, const struct ical_object *add,
		      bool queue, struct imip_part_result *pr,
		      const char **error_r);

#endif
