#ifndef IMIP_FREEBUSY_H
#define IMIP_FREEBUSY_H

/* Busy periods: the lines of store/<user>/freebusy, freebusy-other/<x> and
   freebusy-offers, and how they are computed from calendar objects.

   Line format (docs/store.md), tab-separated, sorted by start then end:
     start  end  uid  transp  recurrence-id  summary  organiser  [expires]
   start/end UTC YYYYMMDDTHHMMSSZ; empty fields are empty strings; tabs and
   newlines inside summary are replaced by spaces. */

#include <stdbool.h>
#include <time.h>
#include <glib.h>
#include <libical/ical.h>

struct ical_object;

struct fb_period {
	time_t start;		/* UTC */
	time_t end;		/* UTC, > start (>= start for the
				   instances of fb_instances_of_object()) */
	char *uid;
	char *rid;		/* normalised RECURRENCE-ID of the instance
				   (also for generated instances), or NULL
				   for a non-recurring event */
	char *transp;		/* "OPAQUE" / "TRANSPARENT" or NULL */
	char *summary;		/* or NULL */
	char *organiser;	/* normalised address or NULL */
	time_t expires;		/* offers only; 0 = none */
};

struct fb_list {
	GPtrArray *periods;	/* struct fb_period *, sorted */
};

struct fb_list *fb_list_new(void);
void fb_list_free(struct fb_list **list);
void fb_list_clear(struct fb_list *list);

/* Insert a copy of p, keeping the order. */
void fb_list_add(struct fb_list *list, const struct fb_period *p);
/* Move every period of `from` into `list` (from is left empty). */
void fb_list_merge(struct fb_list *list, struct fb_list *from);
/* Remove the periods of uid; rid NULL removes every instance of the uid,
   otherwise only the instance rid.  Returns the number removed. */
unsigned int fb_list_remove(struct fb_list *list, const char *uid,
			    const char *rid);
/* Remove periods with expires != 0 && expires <= now. */
unsigned int fb_list_expire(struct fb_list *list, time_t now);
/* Periods overlapping [start, end) (pointers into list; do not free),
   optionally ignoring those of uid `except_uid`. */
void fb_list_overlapping(const struct fb_list *list, time_t start, time_t end,
			 const char *except_uid, GPtrArray *out);

/* Text form, one line per period (see above). */
GString *fb_list_format(const struct fb_list *list);
/* Lines that do not parse are skipped (counted in *bad_lines_r if not
   NULL): derived data must not stop processing. */
void fb_list_parse(struct fb_list *list, const char *text,
		   unsigned int *bad_lines_r);

/* Busy periods of a calendar object (master and overrides) in
   [window_start, window_end):
   - DTSTART/DTEND/DURATION; an all-day DATE without DTEND lasts one day;
   - RRULE through libical's recurrence iterator, RDATE, EXDATE;
   - an override replaces the instance named by its RECURRENCE-ID;
   - TRANSP:TRANSPARENT and STATUS:CANCELLED give nothing when
     `busy_only` (the own free/busy), else they are listed with transp set;
   - floating times and dates are read in `floating_zone` (the user's TZID);
   - zones come from the object's VTIMEZONEs, else the system database.
   Expansion stops at `max_instances` instances: then -1 and *error_r
   ("recurrence has more than N instances (limit_instances)").
   *endless_r is set when the recurrence has no end (RRULE without
   COUNT/UNTIL), i.e. the result was cut at window_end.  Returns 0. */
int fb_periods_of_object(const struct ical_object *obj,
			 icaltimezone *floating_zone, time_t window_start,
			 time_t window_end, unsigned int max_instances,
			 bool busy_only, struct fb_list *out, bool *endless_r,
			 const char **error_r);

/* The instances of a calendar object in [window_start, window_end), as
   fb_periods (rid set as above), for telling whether a RECURRENCE-ID
   names one: unlike fb_periods_of_object(), an instance that ends where
   it starts (DTSTART without DTEND or DURATION, RFC 5545 3.6.1: it is
   still an instance) is listed, with end == start, and so are
   transparent and cancelled ones.  A zero-length instance is listed when
   it starts in the window.  Same limit and errors; 0 or -1. */
int fb_instances_of_object(const struct ical_object *obj,
			   icaltimezone *floating_zone, time_t window_start,
			   time_t window_end, unsigned int max_instances,
			   struct fb_list *out, const char **error_r);

/* A VCALENDAR (METHOD given, or none if NULL) with one VFREEBUSY holding
   the periods of `list` that overlap [start, end), clipped and merged,
   FBTYPE=BUSY.  organizer/attendee may be NULL; uid NULL generates one.
   `attendee_sent_by` adds SENT-BY to the ATTENDEE.  Newly allocated
   iCalendar text, CRLF. */
char *fb_vfreebusy_text(const struct fb_list *list, time_t start, time_t end,
			const char *method, const char *uid,
			const char *organizer, const char *attendee,
			const char *attendee_sent_by, time_t dtstamp);

/* The FREEBUSY periods of a received VFREEBUSY component (REPLY/PUBLISH),
   as fb_periods with uid = the VFREEBUSY's UID (or NULL). */
int fb_periods_of_vfreebusy(icalcomponent *vfreebusy, struct fb_list *out,
			    const char **error_r);

void fb_period_free(struct fb_period *p);

#endif
