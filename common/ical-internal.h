#ifndef IMIP_ICAL_INTERNAL_H
#define IMIP_ICAL_INTERNAL_H

/* Helpers shared by ical-object.c, freebusy.c, handler.c and journal.c,
   not part of the public contract of ical-object.h. */

#include <stdbool.h>
#include <libical/ical.h>

/* Makes libical's errors non-fatal (it may be built to abort on them);
   called by every entry point that hands input to libical. */
void ical_library_init(void);

/* The value of a DATE/DATE-TIME property with its zone attached, the
   zone found with ical_zone_lookup() from the property's component
   upwards (message VTIMEZONE, system zone, libical-prefixed and Windows
   names).  An unknown TZID leaves the value floating.  Null time when
   the property is absent or not a DATE/DATE-TIME. */
struct icaltimetype ical_property_time(icalproperty *prop);

/* false when no date can satisfy the rule's BYMONTH/BYMONTHDAY/BYDAY
   parts (libical would search until the year 2582 to find out). */
bool ical_rule_may_match(const struct icalrecurrencetype *r);

#endif
