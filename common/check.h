#ifndef IMIP_CHECK_H
#define IMIP_CHECK_H

/* What `imip-admin check` (imip-admin(8)) needs before it can show how a
   message would be processed: a message handed over by an administrator
   has no envelope, so the role, the calendar user and the envelope sender
   are derived from the message's own data, and a bare iCalendar object is
   first wrapped into the minimal iMIP message that would carry it.  Every
   iCalendar value is read with the functions the processing itself uses
   (ical-object.h, itip.h), so the check and the processing cannot read a
   message differently. */

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "imip.h"

struct imip_limits;
struct mime_message;

/* What the administrator said (--role, --user, --sender); NULL or unset
   fields are derived. */
struct check_given {
	bool has_role;
	enum imip_role role;
	const char *user;
	const char *sender;	/* "" or "<>": the null sender */
};

struct check_identity {
	enum imip_role role;
	/* normalised calendar address, NULL when nothing names one */
	char *user;
	/* envelope sender: normalised address, "" for the null sender,
	   NULL when the message names none */
	char *sender;
};

/* true when `data` is a bare iCalendar object (its first line, after
   white space and a UTF-8 byte order mark, is BEGIN:VCALENDAR) rather
   than a mail message. */
bool check_is_calendar_object(const void *data, size_t len);

/* The minimal iMIP message (RFC 6047) carrying the bare iCalendar object
   `data` unchanged (base64, so line ends and bytes arrive as they are):
   text/calendar with method= from its METHOD; From its ORGANIZER for the
   organiser's methods (and data without METHOD, which is published
   data), its first ATTENDEE other than the ORGANIZER (else its first
   ATTENDEE) for REPLY, COUNTER and REFRESH; To the ATTENDEEs other than
   the ORGANIZER, respectively the ORGANIZER.  A
   header the object gives no address for is left out.  CRLF line ends. */
GBytes *check_wrap_calendar(const void *data, size_t len,
			    const struct imip_limits *limits);

/* The To addresses of the message, then its Cc addresses (group members
   included), normalised, without duplicates.  Appends char * to `out`. */
void check_message_recipients(const struct mime_message *msg, GPtrArray *out);

/* The role, user and sender the message implies, `given` (may be NULL)
   winning:
   - sender: --sender, else Return-Path, else From;
   - role: person (unless given);
   - user, from the first VCALENDAR holding a component (VTIMEZONEs
     aside; VTODO and VJOURNAL count) and its METHOD (else the
     Content-Type method=):
     organiser methods (REQUEST, ADD, CANCEL, DECLINECOUNTER, PUBLISH,
     and no METHOD, which is published data): the first To/Cc recipient
     that is an ATTENDEE, else the first ATTENDEE that is not the
     ORGANIZER, else the first To/Cc recipient;
     attendee methods (REPLY, COUNTER, REFRESH): the ORGANIZER, else (an
     Outlook REPLY has none) the first To/Cc recipient;
     no usable calendar data: the first To/Cc recipient;
     the outgoing role: the sender (the user's own sent mail).
   Fill *id_r; release it with check_identity_clear(). */
void check_derive(const struct mime_message *msg,
		  const struct imip_limits *limits,
		  const struct check_given *given,
		  struct check_identity *id_r);
void check_identity_clear(struct check_identity *id);

/* The METHOD of a message the agent would send (its first calendar
   part's VCALENDAR METHOD, else the Content-Type method=), or NULL.
   Newly allocated. */
char *check_outgoing_method(const struct imip_outgoing *out,
			    const struct imip_limits *limits);

/* The name of a role as the command line and the log lines write it. */
const char *check_role_name(enum imip_role role);
/* The role of a name; false when unknown. */
bool check_role_parse(const char *name, enum imip_role *role_r);

#endif
