#ifndef IMIP_ITIP_H
#define IMIP_ITIP_H

/* iTIP semantics (RFC 5546) that every handler shares: which party may
   send a method, who the sender is in calendar terms, and whether an
   incoming component is newer than what is stored (DESIGN.md rules 4
   and 7). */

#include <stdbool.h>
#include <glib.h>
#include <libical/ical.h>

struct ical_object;

enum itip_method {
	ITIP_METHOD_NONE,
	ITIP_METHOD_PUBLISH,
	ITIP_METHOD_REQUEST,
	ITIP_METHOD_REPLY,
	ITIP_METHOD_ADD,
	ITIP_METHOD_CANCEL,
	ITIP_METHOD_REFRESH,
	ITIP_METHOD_COUNTER,
	ITIP_METHOD_DECLINECOUNTER,
	ITIP_METHOD_UNKNOWN,
};

/* How an incoming component compares with the stored one. */
enum itip_newness {
	ITIP_OLDER = -1,	/* stale: must not overwrite */
	ITIP_SAME = 0,		/* same SEQUENCE and DTSTAMP */
	ITIP_NEWER = 1,
};

enum itip_method itip_method_parse(const char *name);
const char *itip_method_name(enum itip_method method);

/* RFC 5546 section 1.4: methods only an organiser sends.  REQUEST is one,
   even though an attendee may send it to delegate or (buggy clients) to
   counter; the handlers deal with that explicitly. */
bool itip_method_is_organiser(enum itip_method method);

/* Newness by SEQUENCE, then DTSTAMP.  `stored` NULL: newer.
   A missing SEQUENCE is 0 (RFC 5545 3.8.7.4).  A missing DTSTAMP on the
   incoming side never wins a tie.  With `lenient`, an equal SEQUENCE is
   enough (used for REPLY: some clients rewrite DTSTAMP). */
enum itip_newness itip_compare(icalcomponent *incoming, icalcomponent *stored,
			       bool lenient);

/* Whether `sent_by`, the SENT-BY an incoming message writes on the
   ORGANIZER or ATTENDEE (`kind`) `party` (both normalised), speaks for
   party.
   RFC 5546 3.2 and RFC 6047 3 make SENT-BY a delegate acting for the
   party, but say nothing of how the delegate is known; the message
   itself cannot say, since anyone can write any SENT-BY.  The handlers
   decide (handler_sent_by_counts()). */
typedef bool itip_sent_by_fn(icalproperty_kind kind, const char *party,
			     const char *sent_by, void *data);

struct itip_sent_by {
	itip_sent_by_fn *counts;
	void *data;
};

/* true if some component of `stored` names `sent_by` as the SENT-BY of
   its ORGANIZER or of an ATTENDEE whose address is `party` (normalised
   addresses): the party's delegate is known from the copy already held.
   false when stored is NULL. */
bool itip_object_names_sent_by(const struct ical_object *stored,
			       const char *party, const char *sent_by);

/* true if the component's ORGANIZER is one of `senders` (normalised
   addresses), or its SENT-BY is and `trust` accepts that SENT-BY (trust
   NULL: a SENT-BY never counts). */
bool itip_sender_is_organiser(icalcomponent *comp,
			      const struct itip_sent_by *trust,
			      const GPtrArray *senders);

/* The ATTENDEE properties of comp whose address is one of senders, or
   whose SENT-BY is one and `trust` accepts it for that attendee
   (pointers into comp). */
void itip_sender_attendees(icalcomponent *comp,
			   const struct itip_sent_by *trust,
			   const GPtrArray *senders, GPtrArray *props_r);

/* true if `delegator`'s ATTENDEE in comp has a DELEGATED-TO naming
   `delegate` (normalised addresses; RFC 5546 3.2.2.3). */
bool itip_attendee_delegated_to(icalcomponent *comp, const char *delegator,
				const char *delegate);

/* true if `address` is an ATTENDEE of the master or of any override. */
bool itip_object_has_attendee(const struct ical_object *obj,
			      const char *address);

/* The one organiser of an object: the ORGANIZER (normalised, newly
   allocated) its components name, or NULL when none names one.  An
   event has one Organizer (the role of RFC 5546 1.4; sabre/dav refuses
   an object whose components name different ones,
   SameOrganizerForAllComponentsException): when another component names
   a different ORGANIZER
   (or one without a usable address), *other_r (if not NULL) gets that
   one, newly allocated, else NULL.  A component without ORGANIZER is the
   object's (some clients leave it out of overrides). */
char *itip_object_organiser(const struct ical_object *obj, char **other_r);

/* true if every component that names an ORGANIZER names one of
   `senders` as that ORGANIZER or as a SENT-BY `trust` accepts, and at
   least one does (DESIGN.md rule 4, for each component an organiser
   method carries). */
bool itip_sender_organises(const struct ical_object *obj,
			   const struct itip_sent_by *trust,
			   const GPtrArray *senders);

/* true if `address` is the organiser of the object: the ORGANIZER every
   component naming one names (itip_object_organiser() without another). */
bool itip_object_is_organised_by(const struct ical_object *obj,
				 const char *address);

/* The first component of the object (master, else the first override). */
icalcomponent *itip_object_first(const struct ical_object *obj);

/* PARTSTAT of `address` in comp, or ICAL_PARTSTAT_NONE when absent. */
icalparameter_partstat itip_partstat_of(icalcomponent *comp,
					const char *address);

/* An organiser's update at the same SEQUENCE needs no new answer (RFC
   5545 3.8.7.4): when `incoming` has the SEQUENCE of `stored` and
   `stored` holds an answer of `address` (a PARTSTAT other than
   NEEDS-ACTION), that answer (PARTSTAT, DELEGATED-TO) replaces the one
   of address's ATTENDEE in `incoming`, and true is returned.  false,
   leaving incoming alone, when the SEQUENCE differs, address has not
   answered in stored, or incoming does not name address. */
bool itip_keep_answer(icalcomponent *incoming, icalcomponent *stored,
		      const char *address);

#endif
