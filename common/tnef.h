#ifndef IMIP_TNEF_H
#define IMIP_TNEF_H

/* Outlook's TNEF ("winmail.dat", application/ms-tnef): when it holds a
   meeting message (request, response, cancellation), the message is read
   with libytnef and written as iCalendar with libical, so that the rest of
   the library processes it like any iMIP calendar part.

   What TNEF does not say is taken from the mail that carries it: the
   ORGANIZER of a request or cancellation is the TNEF's sender (its SMTP
   address), else From:; its ATTENDEEs are the To: (required) and Cc:
   (optional) recipients; a response's ATTENDEE is its sender and its
   ORGANIZER the first To: recipient.  A recurring meeting is taken as its
   first occurrence only: libytnef hands the recurrence pattern over as
   undecoded bytes. */

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include <gmime/gmime.h>

struct mime_calendar_part;

/* One mailbox of the carrying message's headers. */
struct tnef_mailbox {
	char *address;		/* normalised (address_normalize) */
	char *name;		/* display name, or NULL */
};

/* What the carrying message says about the people and the time. */
struct tnef_envelope {
	const struct tnef_mailbox *from;	/* From:, or NULL */
	GPtrArray *to;		/* struct tnef_mailbox *, or NULL */
	GPtrArray *cc;		/* struct tnef_mailbox *, or NULL */
	gint64 date;		/* Date: as Unix time, 0 when unknown */
};

enum tnef_status {
	TNEF_NO_MEETING,	/* readable, but no meeting message in it */
	TNEF_MEETING,		/* *text_r and *method_r set */
	TNEF_BROKEN,		/* *problem_r set */
};

/* Convert one TNEF stream.  On TNEF_MEETING, *text_r is a VCALENDAR
   (UTF-8, CRLF line ends) and *method_r its METHOD ("REQUEST", "REPLY" or
   "CANCEL"); on TNEF_BROKEN, *problem_r says why.  The caller frees what
   it gets with g_free.  libytnef's own complaints about bad data (it
   prints them on standard output) never reach the process's output. */
enum tnef_status tnef_to_icalendar(const void *data, size_t len,
				   const struct tnef_envelope *env,
				   char **text_r, char **method_r,
				   char **problem_r);

/* mime-read.c's hook.  Returns false when `part` is not TNEF (neither
   application/ms-tnef nor application/vnd.ms-tnef nor named winmail.dat).
   Otherwise returns true and sets *cal_r to a calendar part
   (content_type "application/ms-tnef", method_param from the message
   class) when the TNEF holds a meeting message, or *problem_r when it is
   unreadable (*is_limit_r false) or its calendar text is larger than
   `calendar_size` (*is_limit_r true); neither for a TNEF without a
   meeting (Outlook's rich text mail).  `message` is the message the part
   belongs to (its From:, To:, Cc:, Date:). */
bool tnef_read_part(GMimeMessage *message, GMimePart *part,
		    size_t calendar_size, struct mime_calendar_part **cal_r,
		    char **problem_r, bool *is_limit_r);

#endif
