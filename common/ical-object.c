/* iCalendar helpers over libical: parsing within the limits, scheduling
   objects (one UID: master and overrides), RECURRENCE-ID normalisation,
   zones.  See ical-object.h.

   libical keeps iterator state inside components (get_first/get_next), so
   the helpers here iterate children with icalcompiter where they can and
   never hold a property iteration across calls into other helpers. */

#include "ical-object.h"
#include "ical-internal.h"

#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "clock.h"
#include "config.h"

#define ICAL_PRODID "-//imip-agent//imip-agent 0.1//EN"

/* VCALENDAR > VEVENT > VALARM is 3 and VCALENDAR > VTIMEZONE > STANDARD
   is 3; nothing legitimate nests deeper than a few levels, while libical
   frees components recursively, so a deep nest is a stack hazard. */
#define ICAL_MAX_DEPTH 8

/* TZIDs naming system zones are Olson names; anything longer or with
   other characters is not one, and must not reach libical's zoneinfo
   file lookup (which builds a path from it). */
#define ICAL_MAX_TZID_LEN 64

/* Outlook/Exchange send Windows zone names (landscape.md 5.5).  CLDR
   windowsZones.xml, territory 001, the common part. */
static const struct {
	const char *windows;
	const char *olson;
} ical_windows_zones[] = {
	{ "Dateline Standard Time", "Etc/GMT+12" },
	{ "UTC-11", "Etc/GMT+11" },
	{ "Hawaiian Standard Time", "Pacific/Honolulu" },
	{ "Alaskan Standard Time", "America/Anchorage" },
	{ "Pacific Standard Time", "America/Los_Angeles" },
	{ "Pacific Standard Time (Mexico)", "America/Tijuana" },
	{ "US Mountain Standard Time", "America/Phoenix" },
	{ "Mountain Standard Time", "America/Denver" },
	{ "Central America Standard Time", "America/Guatemala" },
	{ "Central Standard Time", "America/Chicago" },
	{ "Central Standard Time (Mexico)", "America/Mexico_City" },
	{ "Canada Central Standard Time", "America/Regina" },
	{ "SA Pacific Standard Time", "America/Bogota" },
	{ "Eastern Standard Time", "America/New_York" },
	{ "US Eastern Standard Time", "America/Indiana/Indianapolis" },
	{ "Venezuela Standard Time", "America/Caracas" },
	{ "Atlantic Standard Time", "America/Halifax" },
	{ "SA Western Standard Time", "America/La_Paz" },
	{ "Pacific SA Standard Time", "America/Santiago" },
	{ "Newfoundland Standard Time", "America/St_Johns" },
	{ "E. South America Standard Time", "America/Sao_Paulo" },
	{ "Argentina Standard Time", "America/Argentina/Buenos_Aires" },
	{ "SA Eastern Standard Time", "America/Cayenne" },
	{ "Greenland Standard Time", "America/Nuuk" },
	{ "UTC-02", "Etc/GMT+2" },
	{ "Azores Standard Time", "Atlantic/Azores" },
	{ "Cape Verde Standard Time", "Atlantic/Cape_Verde" },
	{ "UTC", "UTC" },
	{ "Coordinated Universal Time", "UTC" },
	{ "GMT Standard Time", "Europe/London" },
	{ "Greenwich Standard Time", "Atlantic/Reykjavik" },
	{ "W. Europe Standard Time", "Europe/Berlin" },
	{ "Central Europe Standard Time", "Europe/Budapest" },
	{ "Romance Standard Time", "Europe/Paris" },
	{ "Central European Standard Time", "Europe/Warsaw" },
	{ "W. Central Africa Standard Time", "Africa/Lagos" },
	{ "GTB Standard Time", "Europe/Bucharest" },
	{ "E. Europe Standard Time", "Europe/Chisinau" },
	{ "Egypt Standard Time", "Africa/Cairo" },
	{ "FLE Standard Time", "Europe/Kyiv" },
	{ "Israel Standard Time", "Asia/Jerusalem" },
	{ "South Africa Standard Time", "Africa/Johannesburg" },
	{ "Turkey Standard Time", "Europe/Istanbul" },
	{ "Arabic Standard Time", "Asia/Baghdad" },
	{ "Arab Standard Time", "Asia/Riyadh" },
	{ "Russian Standard Time", "Europe/Moscow" },
	{ "E. Africa Standard Time", "Africa/Nairobi" },
	{ "Iran Standard Time", "Asia/Tehran" },
	{ "Arabian Standard Time", "Asia/Dubai" },
	{ "Pakistan Standard Time", "Asia/Karachi" },
	{ "India Standard Time", "Asia/Kolkata" },
	{ "Nepal Standard Time", "Asia/Kathmandu" },
	{ "Bangladesh Standard Time", "Asia/Dhaka" },
	{ "SE Asia Standard Time", "Asia/Bangkok" },
	{ "China Standard Time", "Asia/Shanghai" },
	{ "Singapore Standard Time", "Asia/Singapore" },
	{ "W. Australia Standard Time", "Australia/Perth" },
	{ "Taipei Standard Time", "Asia/Taipei" },
	{ "Tokyo Standard Time", "Asia/Tokyo" },
	{ "Korea Standard Time", "Asia/Seoul" },
	{ "Cen. Australia Standard Time", "Australia/Adelaide" },
	{ "AUS Central Standard Time", "Australia/Darwin" },
	{ "E. Australia Standard Time", "Australia/Brisbane" },
	{ "AUS Eastern Standard Time", "Australia/Sydney" },
	{ "Tasmania Standard Time", "Australia/Hobart" },
	{ "New Zealand Standard Time", "Pacific/Auckland" },
	{ "Tonga Standard Time", "Pacific/Tongatapu" },
};

/* libical may be built to abort on its own errors; the library must never
   abort on input (DESIGN.md rule 3). */
void ical_library_init(void)
{
	static gsize done = 0;

	if (g_once_init_enter(&done)) {
		icalerror_set_errors_are_fatal(0);
		g_once_init_leave(&done, 1);
	}
}

static const char *ical_limit_error(const char *fmt, unsigned int n)
{
	/* error_r strings are not freed by callers; interning keeps one
	   copy per distinct limit value (a handful per process). */
	char *text = g_strdup_printf(fmt, n);
	const char *interned = g_intern_string(text);

	g_free(text);
	return interned;
}

/* ---- parsing ---------------------------------------------------------- */

struct ical_line_source {
	const char *pos;
	const char *end;
};

/* Where the line starting at `p` ends: the content ends at *content_end_r
   and the next line starts at the return value.  A line end is a run of
   CRs with or without an LF after it, or an LF alone: CR LF is the rule,
   a lone CR ends a line in old Mac / Kerio output even when other lines
   use LF, and a stray CR or two before the CR LF (damaged Cyrus/Fastmail
   output, Cassandane imip_invite_funky_uid) must not end the line early
   and lose its folded continuation.  The search for a line end stops
   after `limit` octets of content, so that a long line handed over in
   pieces is scanned once; NULL when no line end starts within it. */
static const char *ical_line_end(const char *p, const char *end,
				 size_t limit, const char **content_end_r)
{
	const char *stop = (size_t)(end - p) > limit ? p + limit : end;

	for (; p < stop; p++) {
		if (*p == '\n' || *p == '\r')
			break;
	}
	if (p == stop)
		return NULL;
	*content_end_r = p;
	while (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	return p;
}

/* Hands libical one physical line (or a piece of it) at a time, always
   ending a line with a single LF (see ical_line_end).  Unlike libical's
   string generator it is bounded by the length given.  libical takes a
   piece that fills the buffer as an unfinished line, so a piece is
   either a whole line with its LF or exactly size - 1 octets. */
static char *ical_line_gen(char *out, size_t size, void *data)
{
	struct ical_line_source *src = data;
	const char *content_end = NULL, *next;
	size_t n;

	out[0] = '\0';
	if (src->pos >= src->end || size < 2)
		return NULL;
	next = ical_line_end(src->pos, src->end, size - 1, &content_end);
	if (next != NULL) {
		/* the content is at most size - 2 octets: room for the LF */
		n = (size_t)(content_end - src->pos);
		memcpy(out, src->pos, n);
		out[n] = '\n';
		out[n + 1] = '\0';
		src->pos = next;
		return out;
	}
	/* no line end within the buffer: a piece of the line, or the
	   last line without a line end */
	n = (size_t)(src->end - src->pos);
	if (n > size - 1)
		n = size - 1;
	memcpy(out, src->pos, n);
	out[n] = '\0';
	src->pos += n;
	return out;
}

struct ical_scan {
	int depth;
	unsigned int components;	/* children of the current root */
	unsigned int attendees[ICAL_MAX_DEPTH + 1];
};

enum ical_scan_verdict {
	ICAL_SCAN_PASS,
	ICAL_SCAN_SKIP,
	ICAL_SCAN_FAIL,
};

/* Watch the unfolded lines before libical builds anything from them, so
   that a hostile part is refused before it costs memory. */
static enum ical_scan_verdict
ical_scan_line(struct ical_scan *scan, const char *line,
	       const struct imip_limits *limits, const char **error_r)
{
	size_t name_len = strcspn(line, ";:");

	/* the same test libical makes: a name ends at ';' or ':', and a
	   line without either is not a BEGIN/END at all */
	if (line[name_len] == '\0')
		return ICAL_SCAN_PASS;
	if (name_len == 5 && g_ascii_strncasecmp(line, "BEGIN", 5) == 0) {
		if (scan->depth >= ICAL_MAX_DEPTH) {
			*error_r = ical_limit_error(
				"components nested more than %u deep",
				ICAL_MAX_DEPTH);
			return ICAL_SCAN_FAIL;
		}
		if (scan->depth == 0)
			scan->components = 0;
		else if (scan->depth == 1) {
			scan->components++;
			if (limits != NULL && limits->components != 0 &&
			    scan->components > limits->components) {
				*error_r = ical_limit_error(
					"more than %u components (limit_components)",
					limits->components);
				return ICAL_SCAN_FAIL;
			}
		}
		scan->depth++;
		scan->attendees[scan->depth] = 0;
	} else if (name_len == 3 && g_ascii_strncasecmp(line, "END", 3) == 0) {
		/* libical prints a warning to stderr for END before BEGIN;
		   the library must not print, and the line means nothing */
		if (scan->depth == 0)
			return ICAL_SCAN_SKIP;
		scan->depth--;
	} else if (name_len == 11 &&
		   g_ascii_strncasecmp(line, "X-LIC-ERROR", 11) == 0) {
		/* a note the sender's parser left (Cassandane
		   imip_strip_x_lic_error), never data: not read, so that
		   every X-LIC-ERROR in the parsed tree is libical's own
		   finding about this text and a sender cannot pass one off */
		return ICAL_SCAN_SKIP;
	} else if (name_len == 8 &&
		   g_ascii_strncasecmp(line, "ATTENDEE", 8) == 0 &&
		   scan->depth > 0) {
		scan->attendees[scan->depth]++;
		if (limits != NULL && limits->attendees != 0 &&
		    scan->attendees[scan->depth] > limits->attendees) {
			*error_r = ical_limit_error(
				"more than %u attendees (limit_attendees)",
				limits->attendees);
			return ICAL_SCAN_FAIL;
		}
	}
	return ICAL_SCAN_PASS;
}

/* A rule no date can satisfy (30 February, the 6th Sunday of March)
   makes libical search until the year 2582 before giving up. */
bool ical_rule_may_match(const struct icalrecurrencetype *r)
{
	static const int days[] = { 31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31 };
	bool in_month = r->freq == ICAL_MONTHLY_RECURRENCE ||
		(r->freq == ICAL_YEARLY_RECURRENCE &&
		 r->by_month[0] != ICAL_RECURRENCE_ARRAY_MAX);
	bool day_ok = false;
	int i;

	if (in_month && r->by_day[0] != ICAL_RECURRENCE_ARRAY_MAX) {
		/* a month has at most five of each weekday */
		for (i = 0; i < ICAL_BY_DAY_SIZE &&
		     r->by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
			if (abs(icalrecurrencetype_day_position(r->by_day[i])) <= 5)
				day_ok = true;
		}
		if (!day_ok)
			return false;
	}
	if (r->by_month[0] == ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_month_day[0] == ICAL_RECURRENCE_ARRAY_MAX)
		return true;
	for (i = 0; i < ICAL_BY_MONTH_SIZE &&
	     r->by_month[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
		int month = r->by_month[i];

		if (month < 1 || month > 12)
			continue;
		for (int d = 0; d < ICAL_BY_MONTHDAY_SIZE &&
		     r->by_month_day[d] != ICAL_RECURRENCE_ARRAY_MAX; d++) {
			if (abs(r->by_month_day[d]) <= days[month - 1])
				return true;
		}
	}
	return false;
}

/* A VTIMEZONE is expanded by libical up to the year 2582 whenever a time
   in it is converted; a sub-yearly rule there (FREQ=SECONDLY from 1601)
   would take hours and gigabytes.  Real zones use yearly rules only. */
static bool ical_vtimezone_is_tame(icalcomponent *vtz)
{
	icalcompiter it;

	for (it = icalcomponent_begin_component(vtz, ICAL_ANY_COMPONENT);
	     icalcompiter_deref(&it) != NULL; icalcompiter_next(&it)) {
		icalcomponent *sub = icalcompiter_deref(&it);
		icalproperty *prop;

		for (prop = icalcomponent_get_first_property(sub, ICAL_RRULE_PROPERTY);
		     prop != NULL;
		     prop = icalcomponent_get_next_property(sub, ICAL_RRULE_PROPERTY)) {
			struct icalrecurrencetype r = icalproperty_get_rrule(prop);

			if (r.freq != ICAL_YEARLY_RECURRENCE ||
			    r.by_second[0] != ICAL_RECURRENCE_ARRAY_MAX ||
			    r.by_minute[0] != ICAL_RECURRENCE_ARRAY_MAX ||
			    r.by_hour[0] != ICAL_RECURRENCE_ARRAY_MAX ||
			    r.by_year_day[0] != ICAL_RECURRENCE_ARRAY_MAX ||
			    r.by_week_no[0] != ICAL_RECURRENCE_ARRAY_MAX ||
			    !ical_rule_may_match(&r))
				return false;
		}
	}
	return true;
}

static void ical_drop_wild_vtimezones(icalcomponent *vcal)
{
	GPtrArray *drop = g_ptr_array_new();
	icalcompiter it;

	for (it = icalcomponent_begin_component(vcal, ICAL_VTIMEZONE_COMPONENT);
	     icalcompiter_deref(&it) != NULL; icalcompiter_next(&it)) {
		if (!ical_vtimezone_is_tame(icalcompiter_deref(&it)))
			g_ptr_array_add(drop, icalcompiter_deref(&it));
	}
	for (guint i = 0; i < drop->len; i++) {
		icalcomponent_remove_component(vcal, drop->pdata[i]);
		icalcomponent_free(drop->pdata[i]);
	}
	g_ptr_array_free(drop, TRUE);
}

static void ical_calendars_free(gpointer data)
{
	icalcomponent_free(data);
}

GPtrArray *ical_parse_calendars(const char *text, size_t len,
				const struct imip_limits *limits,
				const char **error_r)
{
	struct ical_line_source src;
	struct ical_scan scan;
	icalparser *parser;
	GPtrArray *calendars;
	const char *nul;
	char *line;
	bool failed = false;

	ical_library_init();
	*error_r = NULL;
	if (text == NULL) {
		*error_r = "no VCALENDAR";
		return NULL;
	}
	/* libical works on C strings: a NUL ends the text */
	nul = memchr(text, '\0', len);
	if (nul != NULL)
		len = (size_t)(nul - text);
	src.pos = text;
	src.end = text + len;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		src.pos += 3;
	memset(&scan, 0, sizeof(scan));

	parser = icalparser_new();
	if (parser == NULL) {
		*error_r = "out of memory parsing the calendar";
		return NULL;
	}
	icalparser_set_gen_data(parser, &src);
	calendars = g_ptr_array_new_with_free_func(ical_calendars_free);

	while ((line = icalparser_get_line(parser, ical_line_gen)) != NULL) {
		enum ical_scan_verdict verdict;
		icalcomponent *root = NULL;

		verdict = ical_scan_line(&scan, line, limits, error_r);
		if (verdict == ICAL_SCAN_PASS)
			root = icalparser_add_line(parser, line);
		icalmemory_free_buffer(line);
		if (verdict == ICAL_SCAN_FAIL) {
			failed = true;
			break;
		}
		if (root == NULL)
			continue;
		if (icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT) {
			ical_drop_wild_vtimezones(root);
			g_ptr_array_add(calendars, root);
		} else {
			/* a bare VEVENT outside any VCALENDAR is not iMIP */
			icalcomponent_free(root);
		}
	}
	/* an unfinished VCALENDAR stays with the parser and is freed with it:
	   a truncated part may have lost attendees or overrides, so it is
	   not acted on */
	icalparser_free(parser);

	if (!failed && calendars->len == 0)
		*error_r = scan.depth > 0 ?
			"calendar truncated (missing END:VCALENDAR)" :
			"no VCALENDAR";
	if (*error_r != NULL) {
		g_ptr_array_free(calendars, TRUE);
		return NULL;
	}
	/* the caller owns the components; the array no longer frees them */
	g_ptr_array_set_free_func(calendars, NULL);
	return calendars;
}

const char *ical_calendar_method(icalcomponent *vcal)
{
	icalproperty *prop;
	icalproperty_method method;

	if (vcal == NULL)
		return NULL;
	prop = icalcomponent_get_first_property(vcal, ICAL_METHOD_PROPERTY);
	if (prop == NULL)
		return NULL;
	method = icalproperty_get_method(prop);
	if (method == ICAL_METHOD_NONE || method == ICAL_METHOD_X)
		return NULL;
	return icalproperty_method_to_string(method);
}

/* ---- zones and times -------------------------------------------------- */

static bool ical_tzid_is_plain(const char *tzid)
{
	size_t len = strlen(tzid);

	if (len == 0 || len > ICAL_MAX_TZID_LEN || tzid[0] == '/' ||
	    strstr(tzid, "..") != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = tzid[i];
		if (!g_ascii_isalnum(c) && c != '/' && c != '_' &&
		    c != '-' && c != '+')
			return false;
	}
	return true;
}

static icaltimezone *ical_zone_builtin(const char *tzid)
{
	if (!ical_tzid_is_plain(tzid))
		return NULL;
	return icaltimezone_get_builtin_timezone(tzid);
}

/* "/freeassociation.sourceforge.net/Tzfile/Europe/Oslo",
   "/mozilla.org/20050126_1/Europe/Oslo" and the like: try each tail
   after a slash until one names a system zone. */
static icaltimezone *ical_zone_prefixed(const char *tzid)
{
	const char *p;

	if (tzid[0] != '/' || strlen(tzid) > 2 * ICAL_MAX_TZID_LEN)
		return NULL;
	for (p = strchr(tzid + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		icaltimezone *zone = ical_zone_builtin(p + 1);
		if (zone != NULL)
			return zone;
	}
	return NULL;
}

static icaltimezone *ical_zone_windows(const char *tzid)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ical_windows_zones); i++) {
		if (g_ascii_strcasecmp(tzid, ical_windows_zones[i].windows) == 0)
			return ical_zone_builtin(ical_windows_zones[i].olson);
	}
	return NULL;
}

icaltimezone *ical_zone_lookup(icalcomponent *vcal, const char *tzid)
{
	icaltimezone *zone;

	ical_library_init();
	if (tzid == NULL || *tzid == '\0')
		return NULL;
	/* A Windows zone name means that zone, whatever VTIMEZONE comes
	   with it: Outlook writes only the rule in force today, dated 1601,
	   so a time before the zone's last change would convert wrongly,
	   while the IANA zone has the history (landscape.md 5.5).  Custom
	   names ("Customized Time Zone") are not in the table and keep
	   their VTIMEZONE. */
	zone = ical_zone_windows(tzid);
	if (zone != NULL)
		return zone;
	for (icalcomponent *c = vcal; c != NULL; c = icalcomponent_get_parent(c)) {
		zone = icalcomponent_get_timezone(c, tzid);
		if (zone != NULL)
			return zone;
	}
	zone = ical_zone_builtin(tzid);
	if (zone == NULL)
		zone = ical_zone_prefixed(tzid);
	return zone;
}

icaltimezone *ical_zone_for_user(const char *tzid)
{
	icaltimezone *zone = ical_zone_lookup(NULL, tzid);

	return zone != NULL ? zone : icaltimezone_get_utc_timezone();
}

time_t ical_time_to_utc(struct icaltimetype t, icaltimezone *floating_zone)
{
	icaltimezone *zone;

	if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t))
		return 0;
	if (icaltime_is_utc(t))
		zone = icaltimezone_get_utc_timezone();
	else if (t.zone != NULL)
		zone = (icaltimezone *)t.zone;
	else if (floating_zone != NULL)
		zone = floating_zone;
	else
		zone = icaltimezone_get_utc_timezone();
	return icaltime_as_timet_with_zone(t, zone);
}

/* The value of a DATE/DATE-TIME property with its zone attached, found
   with ical_zone_lookup (so message VTIMEZONEs, libical-style prefixes and
   Windows names all work).  An unknown TZID leaves the value floating: it
   is then read in the user's zone rather than refused (landscape.md). */
struct icaltimetype ical_property_time(icalproperty *prop)
{
	icalvalue *value;
	icalvalue_kind kind;
	icalparameter *param;
	struct icaltimetype t;

	if (prop == NULL || (value = icalproperty_get_value(prop)) == NULL)
		return icaltime_null_time();
	kind = icalvalue_isa(value);
	if (kind != ICAL_DATETIME_VALUE && kind != ICAL_DATE_VALUE)
		return icaltime_null_time();
	t = icalvalue_get_datetime(value);
	if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t))
		return icaltime_null_time();
	if (icaltime_is_utc(t))
		return t;
	t.zone = NULL;
	param = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
	if (param != NULL) {
		icaltimezone *zone = ical_zone_lookup(
			icalproperty_get_parent(prop),
			icalparameter_get_tzid(param));
		/* set directly: icaltime_set_timezone() ignores DATEs, and a
		   DATE with a TZID is that zone's midnight (section 7) */
		if (zone != NULL)
			t.zone = zone;
	}
	return t;
}

char *ical_rid_from_time(struct icaltimetype t)
{
	char buf[17];

	if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t))
		return NULL;
	if (icaltime_is_utc(t) || t.zone != NULL) {
		/* a DATE with a zone is that zone's midnight (section 7) */
		time_t utc = ical_time_to_utc(t, NULL);
		return g_strdup(imip_clock_format_utc(utc, buf));
	}
	if (t.is_date)
		return g_strdup_printf("%04d%02d%02d", t.year, t.month, t.day);
	return g_strdup_printf("%04d%02d%02dT%02d%02d%02d", t.year, t.month,
			       t.day, t.hour, t.minute, t.second);
}

char *ical_rid_of(icalcomponent *comp)
{
	icalproperty *prop;

	if (comp == NULL)
		return NULL;
	prop = icalcomponent_get_first_property(comp,
						ICAL_RECURRENCEID_PROPERTY);
	if (prop == NULL)
		return NULL;
	return ical_rid_from_time(ical_property_time(prop));
}

int ical_sequence_of(icalcomponent *comp)
{
	icalproperty *prop;
	int seq;

	if (comp == NULL)
		return -1;
	prop = icalcomponent_get_first_property(comp, ICAL_SEQUENCE_PROPERTY);
	if (prop == NULL || icalproperty_get_value(prop) == NULL)
		return -1;
	seq = icalproperty_get_sequence(prop);
	/* a negative SEQUENCE is invalid (RFC 5545 3.8.7.4); it must not
	   read as "absent" */
	return seq < 0 ? 0 : seq;
}

time_t ical_dtstamp_of(icalcomponent *comp)
{
	icalproperty *prop;
	struct icaltimetype t;

	if (comp == NULL)
		return 0;
	prop = icalcomponent_get_first_property(comp, ICAL_DTSTAMP_PROPERTY);
	t = ical_property_time(prop);
	if (icaltime_is_null_time(t))
		return 0;
	/* DTSTAMP is UTC by definition; a floating one is read as UTC */
	return ical_time_to_utc(t, NULL);
}

char *ical_dtstart_text(icalcomponent *comp, icaltimezone *floating_zone)
{
	struct icaltimetype t;
	char buf[17];

	if (comp == NULL)
		return NULL;
	t = ical_property_time(icalcomponent_get_first_property(
		comp, ICAL_DTSTART_PROPERTY));
	if (icaltime_is_null_time(t))
		return NULL;
	if (t.is_date)
		return g_strdup_printf("%04d%02d%02d", t.year, t.month, t.day);
	return g_strdup(imip_clock_format_utc(ical_time_to_utc(t, floating_zone),
					      buf));
}

/* ---- addresses -------------------------------------------------------- */

char *ical_property_address(icalproperty *prop)
{
	char *value, *address;
	const char *email;

	if (prop == NULL)
		return NULL;
	value = icalproperty_get_value_as_string_r(prop);
	address = address_normalize(value);
	free(value);
	if (address != NULL)
		return address;
	/* a non-mailto CAL-ADDRESS (urn:uuid:...) with the RFC 7986 EMAIL
	   parameter, as some servers send */
	email = icalproperty_get_parameter_as_string(prop, "EMAIL");
	return address_normalize(email);
}

char *ical_property_sent_by(icalproperty *prop)
{
	icalparameter *param;

	if (prop == NULL)
		return NULL;
	param = icalproperty_get_first_parameter(prop, ICAL_SENTBY_PARAMETER);
	if (param == NULL)
		return NULL;
	return address_normalize(icalparameter_get_sentby(param));
}

char *ical_organizer_of(icalcomponent *comp)
{
	if (comp == NULL)
		return NULL;
	return ical_property_address(icalcomponent_get_first_property(
		comp, ICAL_ORGANIZER_PROPERTY));
}

char *ical_organizer_sent_by(icalcomponent *comp)
{
	if (comp == NULL)
		return NULL;
	return ical_property_sent_by(icalcomponent_get_first_property(
		comp, ICAL_ORGANIZER_PROPERTY));
}

icalproperty *ical_find_attendee(icalcomponent *comp, const char *address)
{
	icalproperty *prop;
	char *wanted;

	if (comp == NULL)
		return NULL;
	wanted = address_normalize(address);
	if (wanted == NULL)
		return NULL;
	for (prop = icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY);
	     prop != NULL;
	     prop = icalcomponent_get_next_property(comp, ICAL_ATTENDEE_PROPERTY)) {
		char *addr = ical_property_address(prop);
		bool match = addr != NULL && strcmp(addr, wanted) == 0;

		g_free(addr);
		if (match)
			break;
	}
	g_free(wanted);
	return prop;
}

/* ---- objects ---------------------------------------------------------- */

/* The properties whose loss changes when an event is, which instance or
   version a component is, or when someone is busy.  DTSTAMP is not one:
   it only orders replies, and an unreadable one counts as absent (as
   ical_dtstamp_of() reads it; the sabre tests send DTSTAMP:**ANY**).  UID
   is not one either: a component whose UID libical could not read has
   none, and an object without UID is refused as such. */
static const char *const ical_vital_properties[] = {
	"DTSTART", "DTEND", "DUE", "DURATION", "RDATE", "RRULE", "EXDATE",
	"EXRULE", "RECURRENCE-ID", "SEQUENCE", "FREEBUSY",
};

/* The vital property an X-LIC-ERROR stands for, or NULL.  When libical
   cannot read a value it removes the whole property and records why in
   an X-LIC-ERROR of type VALUE-PARSE-ERROR, whose text is its own
   message followed by the value: "Can't parse as DATE-TIME value in
   DTEND property. Removing entire property: ..." or "No value for
   SEQUENCE property. ..." (icalparser.c, libical 3 and 4).  The property
   name is the word before the first " property"; the value, which comes
   later, cannot be mistaken for it.  Other error types (an unknown
   parameter value, a bad property name) leave the value read. */
static const char *ical_error_property(icalproperty *error)
{
	icalparameter *type = icalproperty_get_first_parameter(
		error, ICAL_XLICERRORTYPE_PARAMETER);
	const char *text = icalproperty_get_xlicerror(error);
	const char *end, *start;

	if (type == NULL || text == NULL ||
	    icalparameter_get_xlicerrortype(type) !=
	    ICAL_XLICERRORTYPE_VALUEPARSEERROR)
		return NULL;
	end = strstr(text, " property");
	if (end == NULL)
		return NULL;
	for (start = end; start > text && start[-1] != ' '; start--)
		;
	for (size_t i = 0; i < G_N_ELEMENTS(ical_vital_properties); i++) {
		const char *name = ical_vital_properties[i];

		if (strlen(name) == (size_t)(end - start) &&
		    strncmp(start, name, (size_t)(end - start)) == 0)
			return name;
	}
	return NULL;
}

/* The first vital property of comp (not of its VALARMs) that libical
   dropped, or NULL. */
static const char *ical_component_invalid_property(icalcomponent *comp)
{
	const char *name = NULL;
	icalproperty *prop;

	for (prop = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY);
	     prop != NULL && name == NULL;
	     prop = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY))
		name = ical_error_property(prop);
	return name;
}

static struct ical_object *ical_object_new(icalcomponent_kind kind,
					   const char *uid)
{
	struct ical_object *obj = g_new0(struct ical_object, 1);

	obj->vcal = icalcomponent_new_vcalendar();
	obj->kind = kind;
	obj->uid = g_strdup(uid);
	obj->overrides = g_ptr_array_new();
	icalcomponent_add_property(obj->vcal, icalproperty_new_version("2.0"));
	return obj;
}

void ical_object_free(struct ical_object *obj)
{
	if (obj == NULL)
		return;
	if (obj->vcal != NULL)
		icalcomponent_free(obj->vcal);
	g_ptr_array_free(obj->overrides, TRUE);
	g_free(obj->uid);
	g_free(obj);
}

static bool ical_object_has_vtimezone(const struct ical_object *obj,
				      const char *tzid)
{
	icalcompiter it;

	for (it = icalcomponent_begin_component(obj->vcal, ICAL_VTIMEZONE_COMPONENT);
	     icalcompiter_deref(&it) != NULL; icalcompiter_next(&it)) {
		icalproperty *p = icalcomponent_get_first_property(
			icalcompiter_deref(&it), ICAL_TZID_PROPERTY);
		const char *have = p == NULL ? NULL : icalproperty_get_tzid(p);

		if (have != NULL && strcmp(have, tzid) == 0)
			return true;
	}
	return false;
}

/* Copy the VTIMEZONEs of `from` into the object (first TZID wins). */
static void ical_object_add_vtimezones(struct ical_object *obj,
				       icalcomponent *from)
{
	icalcompiter it;

	for (it = icalcomponent_begin_component(from, ICAL_VTIMEZONE_COMPONENT);
	     icalcompiter_deref(&it) != NULL; icalcompiter_next(&it)) {
		icalcomponent *vtz = icalcompiter_deref(&it);
		icalproperty *p = icalcomponent_get_first_property(
			vtz, ICAL_TZID_PROPERTY);
		const char *tzid = p == NULL ? NULL : icalproperty_get_tzid(p);

		if (tzid == NULL || ical_object_has_vtimezone(obj, tzid))
			continue;
		vtz = icalcomponent_new_clone(vtz);
		icalcomponent_strip_errors(vtz);
		icalcomponent_add_component(obj->vcal, vtz);
	}
}

/* Adds a clone of comp to the object as master or override, without
   libical's X-LIC-ERROR notes: they are not the sender's data, and a
   stored event or a message built from it must not carry them (Cyrus
   strips them too).  Returns false (and adds nothing) when that instance
   is already present. */
static bool ical_object_add_component(struct ical_object *obj,
				      icalcomponent *comp, const char *rid)
{
	icalcomponent *copy;

	if (rid == NULL) {
		if (obj->master != NULL)
			return false;
	} else if (ical_object_find_override(obj, rid) != NULL) {
		return false;
	}
	copy = icalcomponent_new_clone(comp);
	icalcomponent_strip_errors(copy);
	icalcomponent_add_component(obj->vcal, copy);
	if (rid == NULL)
		obj->master = copy;
	else
		g_ptr_array_add(obj->overrides, copy);
	return true;
}

icalcomponent *ical_object_find_override(const struct ical_object *obj,
					 const char *rid)
{
	if (obj == NULL || rid == NULL)
		return NULL;
	for (guint i = 0; i < obj->overrides->len; i++) {
		icalcomponent *comp = obj->overrides->pdata[i];
		char *have = ical_rid_of(comp);
		bool match = have != NULL && strcmp(have, rid) == 0;

		g_free(have);
		if (match)
			return comp;
	}
	return NULL;
}

static void ical_object_copy_calendar_props(struct ical_object *obj,
					    icalcomponent *vcal)
{
	icalproperty_kind kinds[] = { ICAL_PRODID_PROPERTY,
				      ICAL_METHOD_PROPERTY };

	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
		icalproperty *p = icalcomponent_get_first_property(vcal,
								   kinds[i]);
		if (p != NULL)
			icalcomponent_add_property(obj->vcal,
						   icalproperty_new_clone(p));
	}
}

GPtrArray *ical_objects_from_calendar(icalcomponent *vcal,
				      unsigned int *skipped_r)
{
	GPtrArray *objects = g_ptr_array_new();
	GHashTable *by_uid = g_hash_table_new(g_str_hash, g_str_equal);
	struct ical_object *no_uid = NULL;
	unsigned int skipped = 0;
	icalcompiter it;

	ical_library_init();
	if (vcal == NULL)
		goto out;
	for (it = icalcomponent_begin_component(vcal, ICAL_ANY_COMPONENT);
	     icalcompiter_deref(&it) != NULL; icalcompiter_next(&it)) {
		icalcomponent *comp = icalcompiter_deref(&it);
		icalcomponent_kind kind = icalcomponent_isa(comp);
		const char *uid = icalcomponent_get_uid(comp);
		struct ical_object *obj;
		char *rid = NULL;

		if (kind == ICAL_VTIMEZONE_COMPONENT)
			continue;
		if (uid != NULL && *uid == '\0')
			uid = NULL;
		if (kind == ICAL_VFREEBUSY_COMPONENT) {
			obj = ical_object_new(kind, uid);
			ical_object_copy_calendar_props(obj, vcal);
			ical_object_add_vtimezones(obj, vcal);
			obj->invalid_property =
				ical_component_invalid_property(comp);
			ical_object_add_component(obj, comp, NULL);
			g_ptr_array_add(objects, obj);
			continue;
		}
		if (kind != ICAL_VEVENT_COMPONENT) {
			skipped++;
			continue;
		}
		if (icalcomponent_get_first_property(
			    comp, ICAL_RECURRENCEID_PROPERTY) != NULL) {
			rid = ical_rid_of(comp);
			if (rid == NULL) {
				/* RECURRENCE-ID that names no time */
				skipped++;
				continue;
			}
		}
		obj = uid == NULL ? no_uid : g_hash_table_lookup(by_uid, uid);
		if (obj == NULL) {
			obj = ical_object_new(kind, uid);
			ical_object_copy_calendar_props(obj, vcal);
			ical_object_add_vtimezones(obj, vcal);
			g_ptr_array_add(objects, obj);
			if (uid == NULL)
				no_uid = obj;
			else
				g_hash_table_insert(by_uid, obj->uid, obj);
		}
		/* noted before a duplicate is dropped: an override whose
		   RECURRENCE-ID libical dropped reads as a second master */
		if (obj->invalid_property == NULL)
			obj->invalid_property =
				ical_component_invalid_property(comp);
		/* the later duplicate is dropped */
		(void)ical_object_add_component(obj, comp, rid);
		g_free(rid);
	}
out:
	g_hash_table_destroy(by_uid);
	if (skipped_r != NULL)
		*skipped_r = skipped;
	return objects;
}

/* Every VEVENT of a stored text: no RECURRENCE-ID -> master, else an
   override; the first of each instance wins. */
static void ical_object_take_text(struct ical_object **obj_r,
				  const char *text)
{
	icalcomponent *root;
	icalcompiter it;

	if (text == NULL)
		return;
	root = icalparser_parse_string(text);
	if (root == NULL)
		return;
	if (icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
		icalcomponent_free(root);
		return;
	}
	for (it = icalcomponent_begin_component(root, ICAL_VEVENT_COMPONENT);
	     icalcompiter_deref(&it) != NULL; icalcompiter_next(&it)) {
		icalcomponent *comp = icalcompiter_deref(&it);
		const char *uid = icalcomponent_get_uid(comp);
		char *rid = NULL;

		if (icalcomponent_get_first_property(
			    comp, ICAL_RECURRENCEID_PROPERTY) != NULL &&
		    (rid = ical_rid_of(comp)) == NULL)
			continue;
		if (*obj_r == NULL)
			*obj_r = ical_object_new(ICAL_VEVENT_COMPONENT,
						 uid != NULL && *uid != '\0' ?
						 uid : NULL);
		ical_object_add_vtimezones(*obj_r, root);
		(void)ical_object_add_component(*obj_r, comp, rid);
		g_free(rid);
	}
	icalcomponent_free(root);
}

struct ical_object *ical_object_from_texts(const char *master_text,
					   const GPtrArray *override_texts)
{
	struct ical_object *obj = NULL;

	ical_library_init();
	ical_object_take_text(&obj, master_text);
	if (override_texts != NULL) {
		for (guint i = 0; i < override_texts->len; i++)
			ical_object_take_text(&obj, override_texts->pdata[i]);
	}
	if (obj != NULL)
		icalcomponent_add_property(obj->vcal,
					   icalproperty_new_prodid(ICAL_PRODID));
	return obj;
}

struct ical_object *ical_object_copy(const struct ical_object *obj)
{
	struct ical_object *copy;
	icalcompiter a, b;

	if (obj == NULL)
		return NULL;
	copy = g_new0(struct ical_object, 1);
	copy->vcal = icalcomponent_new_clone(obj->vcal);
	copy->kind = obj->kind;
	copy->uid = g_strdup(obj->uid);
	copy->invalid_property = obj->invalid_property;
	copy->overrides = g_ptr_array_new();
	/* a clone keeps the order of children: map by position */
	for (a = icalcomponent_begin_component(obj->vcal, ICAL_ANY_COMPONENT),
	     b = icalcomponent_begin_component(copy->vcal, ICAL_ANY_COMPONENT);
	     icalcompiter_deref(&a) != NULL && icalcompiter_deref(&b) != NULL;
	     icalcompiter_next(&a), icalcompiter_next(&b)) {
		icalcomponent *orig = icalcompiter_deref(&a);

		if (orig == obj->master)
			copy->master = icalcompiter_deref(&b);
		else if (g_ptr_array_find(obj->overrides, orig, NULL))
			g_ptr_array_add(copy->overrides,
					icalcompiter_deref(&b));
	}
	return copy;
}

/* ---- serialisation ---------------------------------------------------- */

static void ical_collect_tzids(icalcomponent *comp, GPtrArray *tzids)
{
	icalproperty *prop;
	icalcompiter it;

	for (prop = icalcomponent_get_first_property(comp, ICAL_ANY_PROPERTY);
	     prop != NULL;
	     prop = icalcomponent_get_next_property(comp, ICAL_ANY_PROPERTY)) {
		icalparameter *param = icalproperty_get_first_parameter(
			prop, ICAL_TZID_PARAMETER);
		const char *tzid = param == NULL ? NULL :
			icalparameter_get_tzid(param);

		if (tzid != NULL && *tzid != '\0' &&
		    !g_ptr_array_find_with_equal_func(tzids, tzid,
						      g_str_equal, NULL))
			g_ptr_array_add(tzids, (char *)tzid);
	}
	for (it = icalcomponent_begin_component(comp, ICAL_ANY_COMPONENT);
	     icalcompiter_deref(&it) != NULL; icalcompiter_next(&it))
		ical_collect_tzids(icalcompiter_deref(&it), tzids);
}

static icalcomponent *ical_find_vtimezone(icalcomponent *source,
					  const char *tzid)
{
	icalcompiter it;

	if (source == NULL)
		return NULL;
	for (it = icalcomponent_begin_component(source, ICAL_VTIMEZONE_COMPONENT);
	     icalcompiter_deref(&it) != NULL; icalcompiter_next(&it)) {
		icalproperty *p = icalcomponent_get_first_property(
			icalcompiter_deref(&it), ICAL_TZID_PROPERTY);
		const char *have = p == NULL ? NULL : icalproperty_get_tzid(p);

		if (have != NULL && strcmp(have, tzid) == 0)
			return icalcompiter_deref(&it);
	}
	return NULL;
}

/* A VTIMEZONE for tzid: the source's own, else the system zone's
   definition renamed to the TZID the components use (RFC 5545 3.6.5:
   every TZID must have its VTIMEZONE). */
static icalcomponent *ical_vtimezone_for(icalcomponent *source,
					 const char *tzid)
{
	icalcomponent *vtz = ical_find_vtimezone(source, tzid);
	icaltimezone *zone;
	icalproperty *p;

	if (vtz != NULL)
		return icalcomponent_new_clone(vtz);
	zone = ical_zone_lookup(NULL, tzid);
	if (zone == NULL || zone == icaltimezone_get_utc_timezone() ||
	    (vtz = icaltimezone_get_component(zone)) == NULL)
		return NULL;
	vtz = icalcomponent_new_clone(vtz);
	p = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
	if (p != NULL)
		icalproperty_set_tzid(p, tzid);
	return vtz;
}

static bool ical_is_token(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return false;
	for (; *s != '\0'; s++) {
		if (!g_ascii_isalnum(*s) && *s != '-')
			return false;
	}
	return true;
}

static icalcomponent *ical_text_calendar(const char *method)
{
	icalcomponent *vcal = icalcomponent_new_vcalendar();

	icalcomponent_add_property(vcal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(vcal, icalproperty_new_prodid(ICAL_PRODID));
	if (method != NULL) {
		icalproperty_method m = icalproperty_string_to_method(method);
		icalproperty *prop = NULL;

		if (m != ICAL_METHOD_NONE && m != ICAL_METHOD_X) {
			prop = icalproperty_new_method(m);
		} else if (ical_is_token(method)) {
			/* an X- or IANA method libical does not know */
			char *line = g_strconcat("METHOD:", method, NULL);
			prop = icalproperty_new_from_string(line);
			g_free(line);
		}
		if (prop != NULL)
			icalcomponent_add_property(vcal, prop);
	}
	return vcal;
}

static char *ical_calendar_to_text(icalcomponent *vcal, GPtrArray *comps,
				   icalcomponent *tz_source)
{
	GPtrArray *tzids = g_ptr_array_new();
	char *raw, *text;

	for (guint i = 0; i < comps->len; i++)
		ical_collect_tzids(comps->pdata[i], tzids);
	for (guint i = 0; i < tzids->len; i++) {
		icalcomponent *vtz = ical_vtimezone_for(tz_source,
							tzids->pdata[i]);
		if (vtz != NULL)
			icalcomponent_add_component(vcal, vtz);
	}
	g_ptr_array_free(tzids, TRUE);
	for (guint i = 0; i < comps->len; i++)
		icalcomponent_add_component(vcal,
			icalcomponent_new_clone(comps->pdata[i]));
	/* libical writes CRLF line ends and folds at 75 octets */
	raw = icalcomponent_as_ical_string_r(vcal);
	text = g_strdup(raw != NULL ? raw : "");
	free(raw);
	icalcomponent_free(vcal);
	return text;
}

char *ical_component_to_text(icalcomponent *comp, const char *method,
			     icalcomponent *tz_source)
{
	GPtrArray *comps = g_ptr_array_new();
	char *text;

	ical_library_init();
	if (comp != NULL)
		g_ptr_array_add(comps, comp);
	if (tz_source == NULL && comp != NULL)
		tz_source = icalcomponent_get_parent(comp);
	text = ical_calendar_to_text(ical_text_calendar(method), comps,
				     tz_source);
	g_ptr_array_free(comps, TRUE);
	return text;
}

GPtrArray *ical_object_components(const struct ical_object *obj)
{
	GPtrArray *comps = g_ptr_array_new();

	if (obj->master != NULL)
		g_ptr_array_add(comps, obj->master);
	for (guint i = 0; i < obj->overrides->len; i++)
		g_ptr_array_add(comps, obj->overrides->pdata[i]);
	return comps;
}

char *ical_object_to_text(const struct ical_object *obj, const char *method)
{
	GPtrArray *comps = ical_object_components(obj);
	char *text;

	ical_library_init();
	text = ical_calendar_to_text(ical_text_calendar(method), comps,
				     obj->vcal);
	g_ptr_array_free(comps, TRUE);
	return text;
}
