#ifndef IMIP_ICAL_OBJECT_H
#define IMIP_ICAL_OBJECT_H

/* iCalendar helpers over libical: parsing a calendar part within the
   limits, grouping its components into scheduling objects (one UID: a
   master and its overrides), RECURRENCE-ID normalisation, the values iTIP
   compares, and zones. */

#include <stdbool.h>
#include <time.h>
#include <glib.h>
#include <libical/ical.h>

struct imip_limits;

/* One scheduling object: every component of one UID in one VCALENDAR.
   All components belong to `vcal` (the object owns vcal); `master` and
   the overrides point into it. */
struct ical_object {
	icalcomponent *vcal;	/* VCALENDAR: METHOD, VTIMEZONEs, comps */
	icalcomponent_kind kind;/* ICAL_VEVENT_COMPONENT or VFREEBUSY */
	char *uid;		/* NULL only for VFREEBUSY without UID */
	icalcomponent *master;	/* no RECURRENCE-ID, or NULL */
	GPtrArray *overrides;	/* icalcomponent * with RECURRENCE-ID */
	/* A property that says when the object is, or which instance or
	   version a component is (DTSTART, DTEND, DUE, DURATION, RDATE,
	   RRULE, EXDATE, EXRULE, RECURRENCE-ID, SEQUENCE, FREEBUSY), whose
	   value libical could not read in some component: libical drops
	   such a property, so the object as parsed is not what was sent and
	   must not be acted on.  NULL when every value was read. */
	const char *invalid_property;
};

/* Parse one calendar part (UTF-8 text).  Returns a GPtrArray of
   VCALENDAR icalcomponent * (a part may hold several; each is a root
   component, freed with icalcomponent_free), or NULL with *error_r when the
   text holds no VCALENDAR or exceeds a limit (components per VCALENDAR,
   attendees per component; the error names the limit key).  CRLF, LF,
   lone CR and folded lines are all accepted; stray CRs before a line
   end are part of the line end.  X-LIC-ERROR lines in the text (notes
   of the sender's parser) are not read: every X-LIC-ERROR in the result
   is libical's own note about this text. */
GPtrArray *ical_parse_calendars(const char *text, size_t len,
				const struct imip_limits *limits,
				const char **error_r);

/* The METHOD of a VCALENDAR, upper case, or NULL. */
const char *ical_calendar_method(icalcomponent *vcal);

/* Split a VCALENDAR into objects: VEVENTs grouped by UID (master and
   overrides), and each VFREEBUSY on its own.  Other component kinds
   (VTODO, VJOURNAL) are skipped and counted in *skipped_r.  Components
   without UID become an object with uid NULL.  Each object gets its own
   VCALENDAR copy holding METHOD, the VTIMEZONEs and its components; vcal
   itself is not modified.  Two VEVENTs of one UID with the same (or no)
   RECURRENCE-ID: the later one is dropped.  The objects' components
   carry no X-LIC-ERROR (libical's parse notes); what they said about
   lost time properties is in invalid_property.  Returns struct
   ical_object *. */
GPtrArray *ical_objects_from_calendar(icalcomponent *vcal,
				      unsigned int *skipped_r);

/* An object from stored texts: the master text (may be NULL) and override
   texts (VCALENDARs of one VEVENT each).  NULL if nothing parses. */
struct ical_object *ical_object_from_texts(const char *master_text,
					   const GPtrArray *override_texts);

/* A deep copy. */
struct ical_object *ical_object_copy(const struct ical_object *obj);
void ical_object_free(struct ical_object *obj);

/* Every component of the object, master first (a new array that does not
   own the components). */
GPtrArray *ical_object_components(const struct ical_object *obj);

/* The override with this normalised rid, or NULL. */
icalcomponent *ical_object_find_override(const struct ical_object *obj,
					 const char *rid);

/* A VCALENDAR text (CRLF) with VERSION, PRODID, the given METHOD (NULL:
   none), the VTIMEZONEs the component refers to (taken from `tz_source`,
   which may be NULL), and a copy of `comp`. */
char *ical_component_to_text(icalcomponent *comp, const char *method,
			     icalcomponent *tz_source);

/* The same for a whole object (master then overrides). */
char *ical_object_to_text(const struct ical_object *obj, const char *method);

/* RECURRENCE-ID normalisation (reference imip-agent.md section 7):
   with a TZID (or a zone from a VTIMEZONE of `vcal`) the value is converted
   to UTC "YYYYMMDDTHHMMSSZ" (a DATE with TZID is that zone's midnight);
   UTC stays UTC; floating date-times "YYYYMMDDTHHMMSS" and dates
   "YYYYMMDD" stay as they are.  NULL when the component has no
   RECURRENCE-ID.  Newly allocated. */
char *ical_rid_of(icalcomponent *comp);
/* The same for any icaltimetype (used for generated instances). */
char *ical_rid_from_time(struct icaltimetype t);

/* SEQUENCE, or -1 when absent. */
int ical_sequence_of(icalcomponent *comp);
/* DTSTAMP as UTC time_t, or 0 when absent or invalid. */
time_t ical_dtstamp_of(icalcomponent *comp);

/* ORGANIZER as a normalised address (newly allocated) or NULL; the SENT-BY
   of the ORGANIZER likewise. */
char *ical_organizer_of(icalcomponent *comp);
char *ical_organizer_sent_by(icalcomponent *comp);

/* The ATTENDEE property whose address is `address` (normalised
   comparison), or NULL. */
icalproperty *ical_find_attendee(icalcomponent *comp, const char *address);
/* Address of an ATTENDEE/ORGANIZER property, normalised, newly allocated. */
char *ical_property_address(icalproperty *prop);
/* SENT-BY parameter of a property, normalised, or NULL. */
char *ical_property_sent_by(icalproperty *prop);

/* Zone by TZID: a Windows zone name (Outlook) is its IANA zone (CLDR
   mapping), whatever VTIMEZONE comes with it; any other TZID is a
   VTIMEZONE of `vcal` (may be NULL) first, then the system zone
   database.  NULL when unknown. */
icaltimezone *ical_zone_lookup(icalcomponent *vcal, const char *tzid);
/* UTC zone shortcut and the zone for the user's TZID (UTC if unknown). */
icaltimezone *ical_zone_for_user(const char *tzid);

/* An icaltimetype (possibly floating/date) as UTC time_t, using
   floating_zone for floating values and dates. */
time_t ical_time_to_utc(struct icaltimetype t, icaltimezone *floating_zone);

/* DTSTART of a component as text for imip-admin events: a date-time in
   UTC "YYYYMMDDTHHMMSSZ" (floating ones read in floating_zone), a date
   "YYYYMMDD".  NULL when absent. */
char *ical_dtstart_text(icalcomponent *comp, icaltimezone *floating_zone);

#endif
