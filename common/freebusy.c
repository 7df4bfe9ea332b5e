/* Busy periods: the free/busy line files, their computation from calendar
   objects (recurrence through libical's iterator) and VFREEBUSY text.
   See freebusy.h. */

#include "freebusy.h"

#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "clock.h"
#include "ical-internal.h"
#include "ical-object.h"

#define FB_PRODID "-//imip-agent//imip-agent 0.1//EN"
#define FB_DAY 86400
/* Nominal durations longer than this are not a meeting; reading them as
   exact seconds avoids libical's month-by-month icaltime_adjust loop. */
#define FB_MAX_NOMINAL_DAYS 3660
/* See fb_rule_search_is_bounded(): well under a second of libical. */
#define FB_MAX_SEARCH_STEPS 250000
#define FB_COSTLY_RULE "recurrence rule too costly to expand"
/* The line format holds four-digit years from 1970 on: 9999-12-31
   23:59:59Z is the last time it can write. */
#define FB_TIME_MAX ((time_t)253402300799LL)

/* ---- periods and lists ------------------------------------------------ */

void fb_period_free(struct fb_period *p)
{
	if (p == NULL)
		return;
	g_free(p->uid);
	g_free(p->rid);
	g_free(p->transp);
	g_free(p->summary);
	g_free(p->organiser);
	g_free(p);
}

static struct fb_period *fb_period_copy(const struct fb_period *p)
{
	struct fb_period *copy = g_new0(struct fb_period, 1);

	copy->start = p->start;
	copy->end = p->end;
	copy->uid = g_strdup(p->uid);
	copy->rid = g_strdup(p->rid);
	copy->transp = g_strdup(p->transp);
	copy->summary = g_strdup(p->summary);
	copy->organiser = g_strdup(p->organiser);
	copy->expires = p->expires;
	return copy;
}

static int fb_strcmp0(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int fb_period_cmp(const struct fb_period *a, const struct fb_period *b)
{
	int r;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	if ((r = fb_strcmp0(a->uid, b->uid)) != 0)
		return r;
	return fb_strcmp0(a->rid, b->rid);
}

static gint fb_period_sort_func(gconstpointer a, gconstpointer b)
{
	return fb_period_cmp(*(struct fb_period *const *)a,
			     *(struct fb_period *const *)b);
}

struct fb_list *fb_list_new(void)
{
	struct fb_list *list = g_new0(struct fb_list, 1);

	/* no free func: fb_list_merge moves pointers between lists */
	list->periods = g_ptr_array_new();
	return list;
}

void fb_list_clear(struct fb_list *list)
{
	for (guint i = 0; i < list->periods->len; i++)
		fb_period_free(list->periods->pdata[i]);
	g_ptr_array_set_size(list->periods, 0);
}

void fb_list_free(struct fb_list **list)
{
	if (*list == NULL)
		return;
	fb_list_clear(*list);
	g_ptr_array_free((*list)->periods, TRUE);
	g_free(*list);
	*list = NULL;
}

/* Insert p (taking it), after any equal period. */
static void fb_list_insert(struct fb_list *list, struct fb_period *p)
{
	guint lo = 0, hi = list->periods->len;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		if (fb_period_cmp(list->periods->pdata[mid], p) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	g_ptr_array_insert(list->periods, (gint)lo, p);
}

void fb_list_add(struct fb_list *list, const struct fb_period *p)
{
	fb_list_insert(list, fb_period_copy(p));
}

void fb_list_merge(struct fb_list *list, struct fb_list *from)
{
	if (from == NULL || from == list)
		return;
	for (guint i = 0; i < from->periods->len; i++)
		g_ptr_array_add(list->periods, from->periods->pdata[i]);
	g_ptr_array_set_size(from->periods, 0);
	g_ptr_array_sort(list->periods, fb_period_sort_func);
}

unsigned int fb_list_remove(struct fb_list *list, const char *uid,
			    const char *rid)
{
	unsigned int removed = 0;
	guint i = 0;

	while (i < list->periods->len) {
		struct fb_period *p = list->periods->pdata[i];

		if (g_strcmp0(p->uid, uid) == 0 &&
		    (rid == NULL || g_strcmp0(p->rid, rid) == 0)) {
			fb_period_free(g_ptr_array_steal_index(list->periods, i));
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

unsigned int fb_list_expire(struct fb_list *list, time_t now)
{
	unsigned int removed = 0;
	guint i = 0;

	while (i < list->periods->len) {
		struct fb_period *p = list->periods->pdata[i];

		if (p->expires != 0 && p->expires <= now) {
			fb_period_free(g_ptr_array_steal_index(list->periods, i));
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

void fb_list_overlapping(const struct fb_list *list, time_t start, time_t end,
			 const char *except_uid, GPtrArray *out)
{
	for (guint i = 0; i < list->periods->len; i++) {
		struct fb_period *p = list->periods->pdata[i];

		if (p->start >= end)
			break;	/* sorted by start */
		if (p->end <= start)
			continue;
		if (except_uid != NULL && g_strcmp0(p->uid, except_uid) == 0)
			continue;
		g_ptr_array_add(out, p);
	}
}

/* ---- line format ------------------------------------------------------ */

/* Field separators and line ends inside a value would break the line
   format; any control character is replaced by a space. */
static void fb_append_field(GString *out, const char *value)
{
	if (value == NULL)
		return;
	for (const char *s = value; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		g_string_append_c(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
}

GString *fb_list_format(const struct fb_list *list)
{
	GString *out = g_string_new(NULL);
	char buf[17];

	for (guint i = 0; i < list->periods->len; i++) {
		const struct fb_period *p = list->periods->pdata[i];

		g_string_append(out, imip_clock_format_utc(p->start, buf));
		g_string_append_c(out, '\t');
		g_string_append(out, imip_clock_format_utc(p->end, buf));
		g_string_append_c(out, '\t');
		fb_append_field(out, p->uid);
		g_string_append_c(out, '\t');
		fb_append_field(out, p->transp);
		g_string_append_c(out, '\t');
		fb_append_field(out, p->rid);
		g_string_append_c(out, '\t');
		fb_append_field(out, p->summary);
		g_string_append_c(out, '\t');
		fb_append_field(out, p->organiser);
		if (p->expires != 0) {
			g_string_append_c(out, '\t');
			g_string_append(out, imip_clock_format_utc(p->expires,
								   buf));
		}
		g_string_append_c(out, '\n');
	}
	return out;
}

static char *fb_field_dup(char **fields, guint n, guint i)
{
	return i < n && fields[i][0] != '\0' ? g_strdup(fields[i]) : NULL;
}

/* One line: at least start and end (older files may carry fewer
   fields), at most the eight of the format. */
static bool fb_parse_line(const char *line, struct fb_period **p_r)
{
	char **fields = g_strsplit(line, "\t", 10);
	guint n = g_strv_length(fields);
	struct fb_period *p;
	time_t start, end, expires = 0;

	if (n < 2 || n > 8 ||
	    !imip_clock_parse_utc(fields[0], &start) ||
	    !imip_clock_parse_utc(fields[1], &end) || end <= start ||
	    (n == 8 && fields[7][0] != '\0' &&
	     !imip_clock_parse_utc(fields[7], &expires))) {
		g_strfreev(fields);
		return false;
	}
	p = g_new0(struct fb_period, 1);
	p->start = start;
	p->end = end;
	p->uid = fb_field_dup(fields, n, 2);
	p->transp = fb_field_dup(fields, n, 3);
	p->rid = fb_field_dup(fields, n, 4);
	p->summary = fb_field_dup(fields, n, 5);
	p->organiser = fb_field_dup(fields, n, 6);
	p->expires = expires;
	g_strfreev(fields);
	*p_r = p;
	return true;
}

void fb_list_parse(struct fb_list *list, const char *text,
		   unsigned int *bad_lines_r)
{
	unsigned int bad = 0;
	const char *line = text;

	while (line != NULL && *line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		struct fb_period *p;
		char *copy;

		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > 0) {
			copy = g_strndup(line, len);
			if (fb_parse_line(copy, &p))
				g_ptr_array_add(list->periods, p);
			else
				bad++;
			g_free(copy);
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	/* files are written sorted, but a hand-edited one need not be */
	g_ptr_array_sort(list->periods, fb_period_sort_func);
	if (bad_lines_r != NULL)
		*bad_lines_r = bad;
}

/* ---- periods of calendar objects -------------------------------------- */

/* Keeps a period inside what the line format can write; false when
   nothing of it is left. */
static bool fb_clamp(time_t *start, time_t *end)
{
	if (*start < 0)
		*start = 0;
	if (*end > FB_TIME_MAX)
		*end = FB_TIME_MAX;
	return *end > *start;
}

/* How long each instance lasts (RFC 5545 3.8.5.3): a DTEND gives the
   exact duration of every instance, a DURATION (or the one day of an
   all-day event) a nominal one, added in the instance's own zone. */
struct fb_length {
	bool nominal;
	struct icaldurationtype dur;	/* nominal */
	gint64 seconds;			/* exact */
};

struct fb_expand {
	const struct ical_object *obj;
	icaltimezone *floating_zone;
	time_t window_start;
	time_t window_end;
	unsigned int max_instances;
	unsigned int iterations;
	bool busy_only;
	/* every instance, also one that ends where it starts (instance
	   lookup, fb_instances_of_object()), rather than busy time */
	bool instances;
	struct fb_list *out;
	bool endless;
	const char *error;
	/* instances not to generate: normalised rid -> 1, and their UTC
	   start times (an EXDATE or override in another zone form) */
	GHashTable *skip_rids;
	GHashTable *skip_times;
	GHashTable *seen_times;	/* generated starts, to drop repeats */
};

static gint64 fb_duration_seconds(struct icaldurationtype d)
{
	gint64 s = (gint64)d.weeks * 7 * FB_DAY + (gint64)d.days * FB_DAY +
		(gint64)d.hours * 3600 + (gint64)d.minutes * 60 +
		(gint64)d.seconds;

	return d.is_neg ? -s : s;
}

static bool fb_length_of(icalcomponent *comp, struct icaltimetype start,
			 icaltimezone *floating_zone, struct fb_length *len_r)
{
	icalproperty *dtend = icalcomponent_get_first_property(
		comp, ICAL_DTEND_PROPERTY);
	icalproperty *dur = icalcomponent_get_first_property(
		comp, ICAL_DURATION_PROPERTY);

	memset(len_r, 0, sizeof(*len_r));
	if (dur != NULL && icalproperty_get_value(dur) != NULL) {
		struct icaldurationtype d = icalproperty_get_duration(dur);
		gint64 secs = fb_duration_seconds(d);

		if (icaldurationtype_is_bad_duration(d))
			return false;
		if (!d.is_neg && secs <= (gint64)FB_MAX_NOMINAL_DAYS * FB_DAY &&
		    (d.weeks != 0 || d.days != 0)) {
			len_r->nominal = true;
			len_r->dur = d;
		} else {
			len_r->seconds = secs;
		}
		return true;
	}
	if (dtend != NULL) {
		struct icaltimetype end = ical_property_time(dtend);

		if (icaltime_is_null_time(end))
			return false;
		if (start.is_date && end.is_date) {
			/* whole days, nominal: a day across a DST change is
			   still the whole day */
			gint64 days = ((gint64)ical_time_to_utc(end, NULL) -
				       (gint64)ical_time_to_utc(start, NULL)) /
				FB_DAY;
			if (days <= 0)
				return false;
			if (days <= FB_MAX_NOMINAL_DAYS) {
				len_r->nominal = true;
				len_r->dur = icaldurationtype_null_duration();
				len_r->dur.days = (unsigned int)days;
			} else {
				len_r->seconds = days * FB_DAY;
			}
			return true;
		}
		len_r->seconds = (gint64)ical_time_to_utc(end, floating_zone) -
			(gint64)ical_time_to_utc(start, floating_zone);
		return true;
	}
	if (start.is_date) {
		len_r->nominal = true;
		len_r->dur = icaldurationtype_null_duration();
		len_r->dur.days = 1;
		return true;
	}
	len_r->seconds = 0;	/* ends where it starts: nothing busy */
	return true;
}

static time_t fb_end_of(struct icaltimetype start, time_t start_utc,
			const struct fb_length *len, icaltimezone *floating_zone)
{
	if (len->nominal)
		return ical_time_to_utc(icaltime_add(start, len->dur),
					floating_zone);
	return (time_t)((gint64)start_utc + len->seconds);
}

static const char *fb_transp_of(icalcomponent *comp, bool *busy_r)
{
	icalproperty *tp = icalcomponent_get_first_property(
		comp, ICAL_TRANSP_PROPERTY);
	bool transparent = tp != NULL && icalproperty_get_value(tp) != NULL &&
		(icalproperty_get_transp(tp) == ICAL_TRANSP_TRANSPARENT ||
		 icalproperty_get_transp(tp) == ICAL_TRANSP_TRANSPARENTNOCONFLICT);
	bool cancelled = icalcomponent_get_status(comp) ==
		ICAL_STATUS_CANCELLED;

	*busy_r = !transparent && !cancelled;
	return *busy_r ? "OPAQUE" : "TRANSPARENT";
}

/* Whether an instance is listed, clamped to what the line format holds.
   Busy time needs a length; an instance is one even without (RFC 5545
   3.6.1: an event with DTSTART and no DTEND or DURATION ends where it
   starts), so instance lookup keeps zero-length ones that start in the
   window. */
static bool fb_emit_in_window(const struct fb_expand *ex, time_t *start,
			      time_t *end)
{
	if (!ex->instances)
		return *end > *start && *end > ex->window_start &&
		       *start < ex->window_end && fb_clamp(start, end);
	if (*end < *start)
		*end = *start;	/* a negative length: the start still names it */
	if (*start >= ex->window_end ||
	    (*end <= ex->window_start && *start < ex->window_start))
		return false;
	return true;
}

static void fb_emit(struct fb_expand *ex, icalcomponent *comp,
		    time_t start, time_t end, const char *rid)
{
	struct fb_period *p;
	const char *summary;
	const char *transp;
	bool busy;

	if (!fb_emit_in_window(ex, &start, &end))
		return;
	transp = fb_transp_of(comp, &busy);
	if (ex->busy_only && !busy)
		return;
	p = g_new0(struct fb_period, 1);
	p->start = start;
	p->end = end;
	p->uid = g_strdup(ex->obj->uid);
	p->rid = g_strdup(rid);
	p->transp = g_strdup(transp);
	summary = icalcomponent_get_summary(comp);
	p->summary = summary != NULL && *summary != '\0' ?
		g_strdup(summary) : NULL;
	p->organiser = ical_organizer_of(comp);
	fb_list_insert(ex->out, p);
}

static bool fb_count_instance(struct fb_expand *ex)
{
	if (ex->max_instances != 0 && ++ex->iterations > ex->max_instances) {
		char *text = g_strdup_printf(
			"recurrence has more than %u instances (limit_instances)",
			ex->max_instances);
		/* callers do not free error_r; one copy per limit value */
		ex->error = g_intern_string(text);
		g_free(text);
		return false;
	}
	return true;
}

/* One generated instance of the master (DTSTART, RRULE, RDATE). */
static void fb_instance(struct fb_expand *ex, icalcomponent *master,
			struct icaltimetype start, const struct fb_length *len,
			bool recurring)
{
	time_t start_utc = ical_time_to_utc(start, ex->floating_zone);
	gint64 key = (gint64)start_utc;
	char *rid;

	if (g_hash_table_contains(ex->seen_times, &key))
		return;
	g_hash_table_add(ex->seen_times, g_memdup2(&key, sizeof(key)));
	if (g_hash_table_contains(ex->skip_times, &key))
		return;
	rid = recurring ? ical_rid_from_time(start) : NULL;
	if (rid == NULL || !g_hash_table_contains(ex->skip_rids, rid))
		fb_emit(ex, master, start_utc,
			fb_end_of(start, start_utc, len, ex->floating_zone),
			rid);
	g_free(rid);
}

static void fb_skip_time(struct fb_expand *ex, struct icaltimetype t)
{
	gint64 key;
	char *rid;

	if (icaltime_is_null_time(t))
		return;
	key = (gint64)ical_time_to_utc(t, ex->floating_zone);
	g_hash_table_add(ex->skip_times, g_memdup2(&key, sizeof(key)));
	rid = ical_rid_from_time(t);
	if (rid != NULL)
		g_hash_table_add(ex->skip_rids, rid);
}

/* The last local time worth generating: instances starting at or after
   window_end are not wanted.  Given as UNTIL to libical, whose iterator
   then stops searching there even for a rule that never matches. */
static struct icaltimetype fb_until_of(struct fb_expand *ex,
				       struct icaltimetype dtstart)
{
	time_t limit = ex->window_end + FB_DAY;
	struct icaltimetype t;

	if (icaltime_is_utc(dtstart) || dtstart.zone != NULL) {
		t = icaltime_from_timet_with_zone(limit, 0,
			icaltimezone_get_utc_timezone());
	} else {
		t = icaltime_from_timet_with_zone(limit, 0,
			ex->floating_zone != NULL ? ex->floating_zone :
			icaltimezone_get_utc_timezone());
		t.zone = NULL;
	}
	if (dtstart.is_date) {
		t.is_date = 1;
		t.hour = t.minute = t.second = 0;
		t.zone = NULL;
	}
	return t;
}

/* Where to jump when DTSTART lies long before the window: far enough
   back that an instance overlapping window_start is still produced. */
static struct icaltimetype fb_jump_of(struct fb_expand *ex,
				      struct icaltimetype dtstart,
				      const struct fb_length *len)
{
	gint64 back = len->nominal ? fb_duration_seconds(len->dur) :
		len->seconds;
	time_t target = (time_t)((gint64)ex->window_start - back - 2 * FB_DAY);
	icaltimezone *zone = dtstart.zone != NULL ?
		(icaltimezone *)dtstart.zone :
		(ex->floating_zone != NULL ? ex->floating_zone :
		 icaltimezone_get_utc_timezone());
	struct icaltimetype t = icaltime_from_timet_with_zone(target,
							     dtstart.is_date,
							     zone);
	if (dtstart.zone == NULL)
		t.zone = NULL;
	return t;
}

static bool fb_freq_is_sub_daily(icalrecurrencetype_frequency freq)
{
	return freq == ICAL_SECONDLY_RECURRENCE ||
		freq == ICAL_MINUTELY_RECURRENCE ||
		freq == ICAL_HOURLY_RECURRENCE;
}

static bool fb_rule_has_day_parts(const struct icalrecurrencetype *r)
{
	return r->by_day[0] != ICAL_RECURRENCE_ARRAY_MAX ||
		r->by_month_day[0] != ICAL_RECURRENCE_ARRAY_MAX ||
		r->by_year_day[0] != ICAL_RECURRENCE_ARRAY_MAX ||
		r->by_week_no[0] != ICAL_RECURRENCE_ARRAY_MAX ||
		r->by_month[0] != ICAL_RECURRENCE_ARRAY_MAX ||
		r->by_set_pos[0] != ICAL_RECURRENCE_ARRAY_MAX;
}

/* libical walks sub-daily rules second by second (or minute by minute)
   testing the day and month parts; with BYMONTH=2;BYMONTHDAY=31 such a
   walk never ends within a window, one next() call at a time. */
static bool fb_rule_is_tame(const struct icalrecurrencetype *r)
{
	if (r->freq != ICAL_SECONDLY_RECURRENCE &&
	    r->freq != ICAL_MINUTELY_RECURRENCE)
		return true;
	for (int i = 0; i < ICAL_BY_SECOND_SIZE &&
	     r->by_second[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
		if (r->by_second[i] > 59)
			return false;
	}
	return !fb_rule_has_day_parts(r);
}

/* Daily and hourly rules with day or month parts may match rarely or
   never (the first Monday on the 20th); libical then steps day by day
   or hour by hour inside one next() call, about 2-3 microseconds a
   step, up to UNTIL.  The steps between where the iterator starts and
   where it must stop are therefore bounded. */
static bool fb_rule_search_is_bounded(const struct icalrecurrencetype *r,
				      time_t from, time_t until)
{
	gint64 unit;

	if (!fb_rule_has_day_parts(r))
		return true;
	if (r->freq == ICAL_DAILY_RECURRENCE)
		unit = FB_DAY;
	else if (r->freq == ICAL_HOURLY_RECURRENCE)
		unit = 3600;
	else
		return true;	/* weeks, months, years: few steps anyway */
	return ((gint64)until - (gint64)from) / unit <= FB_MAX_SEARCH_STEPS;
}

static int fb_expand_rrule(struct fb_expand *ex, icalcomponent *master,
			   icalproperty *prop, struct icaltimetype dtstart,
			   const struct fb_length *len)
{
	struct icalrecurrencetype rule = icalproperty_get_rrule(prop);
	struct icaltimetype until, next;
	icalrecur_iterator *it;
	time_t from_utc;

	if (rule.freq == ICAL_NO_RECURRENCE)
		return 0;
	if (rule.count == 0 && icaltime_is_null_time(rule.until))
		ex->endless = true;
	if (!fb_rule_is_tame(&rule)) {
		ex->error = FB_COSTLY_RULE
			" (sub-daily frequency with day or month parts)";
		return -1;
	}
	if (!ical_rule_may_match(&rule))
		return 0;
	until = fb_until_of(ex, dtstart);
	if (icaltime_is_null_time(rule.until) ||
	    icaltime_compare(rule.until, until) > 0)
		rule.until = until;

	it = icalrecur_iterator_new(rule, dtstart);
	if (it == NULL)
		return 0;	/* a rule libical refuses: DTSTART alone */
	from_utc = ical_time_to_utc(dtstart, ex->floating_zone);
	/* libical 3.0's set_start loses the phase of a sub-daily INTERVAL
	   (FREQ=HOURLY;INTERVAL=5 restarts at the jump time), so those
	   walk from DTSTART; COUNT rules cannot jump at all */
	if (rule.count == 0 &&
	    !(fb_freq_is_sub_daily(rule.freq) && rule.interval > 1) &&
	    (gint64)from_utc < (gint64)ex->window_start - 3 * FB_DAY) {
		struct icaltimetype jump = fb_jump_of(ex, dtstart, len);

		if (icaltime_compare(jump, dtstart) <= 0) {
			/* DTSTART is already as late as it can be */
		} else if (icalrecur_iterator_set_start(it, jump)) {
			from_utc = ical_time_to_utc(jump, ex->floating_zone);
		} else {
			/* cannot jump: walk from DTSTART, within the cap */
			icalrecur_iterator_free(it);
			it = icalrecur_iterator_new(rule, dtstart);
			if (it == NULL)
				return 0;
		}
	}
	if (!fb_rule_search_is_bounded(&rule, from_utc,
			ical_time_to_utc(rule.until, ex->floating_zone))) {
		icalrecur_iterator_free(it);
		ex->error = FB_COSTLY_RULE
			" (sparse daily or hourly rule over a long span)";
		return -1;
	}
	while (!icaltime_is_null_time(next = icalrecur_iterator_next(it))) {
		/* DTSTART, which the iterator yields first, was counted
		   already (fb_expand_master()) */
		if (icaltime_compare(next, dtstart) != 0 &&
		    !fb_count_instance(ex)) {
			icalrecur_iterator_free(it);
			return -1;
		}
		if (ical_time_to_utc(next, ex->floating_zone) >= ex->window_end)
			break;
		fb_instance(ex, master, next, len, true);
	}
	icalrecur_iterator_free(it);
	return 0;
}

/* RDATE values are DATE, DATE-TIME or PERIOD; libical hands all three
   back as a DATETIMEPERIOD.  A PERIOD carries its own length. */
static int fb_expand_rdate(struct fb_expand *ex, icalcomponent *master,
			   icalproperty *prop, const struct fb_length *len)
{
	struct icaldatetimeperiodtype dp;
	struct icaltimetype start;
	struct fb_length own;
	icalparameter *param;
	icaltimezone *zone = NULL;

	if (icalproperty_get_value(prop) == NULL)
		return 0;
	if (!fb_count_instance(ex))
		return -1;
	dp = icalproperty_get_rdate(prop);
	param = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
	if (param != NULL)
		zone = ical_zone_lookup(master, icalparameter_get_tzid(param));
	start = icaltime_is_null_time(dp.time) ? dp.period.start : dp.time;
	if (icaltime_is_null_time(start) || !icaltime_is_valid_time(start))
		return 0;
	if (zone != NULL && !icaltime_is_utc(start))
		start.zone = zone;
	if (!icaltime_is_null_time(dp.time)) {
		fb_instance(ex, master, start, len, true);
		return 0;
	}
	memset(&own, 0, sizeof(own));
	if (!icaltime_is_null_time(dp.period.end)) {
		struct icaltimetype end = dp.period.end;

		if (zone != NULL && !icaltime_is_utc(end))
			end.zone = zone;
		own.seconds = (gint64)ical_time_to_utc(end, ex->floating_zone) -
			(gint64)ical_time_to_utc(start, ex->floating_zone);
	} else {
		own.seconds = fb_duration_seconds(dp.period.duration);
	}
	fb_instance(ex, master, start, &own, true);
	return 0;
}

static void fb_collect_exdates(struct fb_expand *ex, icalcomponent *master)
{
	icalproperty *prop;
	GPtrArray *times = g_ptr_array_new();

	/* collect first: ical_property_time may walk properties of the
	   same component through libical's single iterator */
	for (prop = icalcomponent_get_first_property(master, ICAL_EXDATE_PROPERTY);
	     prop != NULL;
	     prop = icalcomponent_get_next_property(master, ICAL_EXDATE_PROPERTY))
		g_ptr_array_add(times, prop);
	for (guint i = 0; i < times->len; i++)
		fb_skip_time(ex, ical_property_time(times->pdata[i]));
	g_ptr_array_free(times, TRUE);
}

static GPtrArray *fb_properties(icalcomponent *comp, icalproperty_kind kind)
{
	GPtrArray *props = g_ptr_array_new();

	for (icalproperty *p = icalcomponent_get_first_property(comp, kind);
	     p != NULL; p = icalcomponent_get_next_property(comp, kind))
		g_ptr_array_add(props, p);
	return props;
}

static int fb_expand_master(struct fb_expand *ex, icalcomponent *master)
{
	struct icaltimetype dtstart;
	struct fb_length len;
	GPtrArray *rrules, *rdates;
	bool recurring;
	int ret = 0;

	dtstart = ical_property_time(icalcomponent_get_first_property(
		master, ICAL_DTSTART_PROPERTY));
	if (icaltime_is_null_time(dtstart))
		return 0;	/* nothing iTIP can schedule */
	if (!fb_length_of(master, dtstart, ex->floating_zone, &len)) {
		/* an end before the start is no busy time, but the
		   instances are still there to be named */
		if (!ex->instances)
			return 0;
		memset(&len, 0, sizeof(len));
	}
	rrules = fb_properties(master, ICAL_RRULE_PROPERTY);
	rdates = fb_properties(master, ICAL_RDATE_PROPERTY);
	recurring = rrules->len > 0 || rdates->len > 0;

	fb_collect_exdates(ex, master);
	/* DTSTART is always the first instance (RFC 5545 3.8.5.3) */
	if (!fb_count_instance(ex)) {
		ret = -1;
	} else if (ical_time_to_utc(dtstart, ex->floating_zone) <
		   ex->window_end) {
		fb_instance(ex, master, dtstart, &len, recurring);
	}
	/* several RRULEs are deprecated but still define one recurrence
	   set together (RFC 5545 3.8.5.3); an instance two rules produce
	   counts once (fb_instance()) */
	for (guint i = 0; ret == 0 && i < rrules->len; i++)
		ret = fb_expand_rrule(ex, master, rrules->pdata[i], dtstart,
				      &len);
	for (guint i = 0; ret == 0 && i < rdates->len; i++)
		ret = fb_expand_rdate(ex, master, rdates->pdata[i], &len);
	g_ptr_array_free(rrules, TRUE);
	g_ptr_array_free(rdates, TRUE);
	return ret;
}

static struct fb_length fb_master_length(struct fb_expand *ex,
					 icalcomponent *master)
{
	struct fb_length len;
	struct icaltimetype dtstart;

	memset(&len, 0, sizeof(len));
	if (master == NULL)
		return len;
	dtstart = ical_property_time(icalcomponent_get_first_property(
		master, ICAL_DTSTART_PROPERTY));
	if (icaltime_is_null_time(dtstart) ||
	    !fb_length_of(master, dtstart, ex->floating_zone, &len))
		memset(&len, 0, sizeof(len));
	return len;
}

/* An override is busy at its own times, wherever its RECURRENCE-ID
   points: one moved into the window counts, one moved out of it does
   not. */
static void fb_expand_override(struct fb_expand *ex, icalcomponent *comp)
{
	struct icaltimetype start;
	struct fb_length len;
	char *rid = ical_rid_of(comp);
	time_t start_utc;

	if (rid == NULL)
		return;
	start = ical_property_time(icalcomponent_get_first_property(
		comp, ICAL_DTSTART_PROPERTY));
	if (icaltime_is_null_time(start)) {
		/* a partial override (some REPLYs): the instance's time */
		start = ical_property_time(icalcomponent_get_first_property(
			comp, ICAL_RECURRENCEID_PROPERTY));
		len = fb_master_length(ex, ex->obj->master);
	} else if (icalcomponent_get_first_property(comp, ICAL_DTEND_PROPERTY) == NULL &&
		   icalcomponent_get_first_property(comp, ICAL_DURATION_PROPERTY) == NULL &&
		   !start.is_date && ex->obj->master != NULL) {
		len = fb_master_length(ex, ex->obj->master);
	} else if (!fb_length_of(comp, start, ex->floating_zone, &len)) {
		if (!ex->instances) {
			g_free(rid);
			return;
		}
		memset(&len, 0, sizeof(len));
	}
	if (!icaltime_is_null_time(start)) {
		start_utc = ical_time_to_utc(start, ex->floating_zone);
		fb_emit(ex, comp, start_utc,
			fb_end_of(start, start_utc, &len, ex->floating_zone),
			rid);
	}
	g_free(rid);
}

static void fb_expand_free(struct fb_expand *ex)
{
	g_hash_table_destroy(ex->skip_rids);
	g_hash_table_destroy(ex->skip_times);
	g_hash_table_destroy(ex->seen_times);
}

/* The expansion both public functions share; the caller has set the
   window, the limit and the mode in `ex`. */
static int fb_expand_object(struct fb_expand *ex, const struct ical_object *obj,
			    icaltimezone *floating_zone, struct fb_list *out,
			    bool *endless_r, const char **error_r)
{
	int ret = 0;

	ical_library_init();
	if (endless_r != NULL)
		*endless_r = false;
	if (error_r != NULL)
		*error_r = NULL;
	if (obj == NULL)
		return 0;
	ex->obj = obj;
	ex->floating_zone = floating_zone != NULL ? floating_zone :
		icaltimezone_get_utc_timezone();
	ex->out = out;
	ex->skip_rids = g_hash_table_new_full(g_str_hash, g_str_equal,
					      g_free, NULL);
	ex->skip_times = g_hash_table_new_full(g_int64_hash, g_int64_equal,
					       g_free, NULL);
	ex->seen_times = g_hash_table_new_full(g_int64_hash, g_int64_equal,
					       g_free, NULL);

	/* overrides replace the instances they name */
	for (guint i = 0; i < obj->overrides->len; i++) {
		icalcomponent *comp = obj->overrides->pdata[i];
		fb_skip_time(ex, ical_property_time(
			icalcomponent_get_first_property(
				comp, ICAL_RECURRENCEID_PROPERTY)));
	}
	if (ex->window_end > ex->window_start) {
		if (obj->master != NULL)
			ret = fb_expand_master(ex, obj->master);
		for (guint i = 0; ret == 0 && i < obj->overrides->len; i++)
			fb_expand_override(ex, obj->overrides->pdata[i]);
	}
	if (endless_r != NULL)
		*endless_r = ex->endless;
	if (ret != 0 && error_r != NULL)
		*error_r = ex->error;
	fb_expand_free(ex);
	return ret;
}

int fb_periods_of_object(const struct ical_object *obj,
			 icaltimezone *floating_zone, time_t window_start,
			 time_t window_end, unsigned int max_instances,
			 bool busy_only, struct fb_list *out, bool *endless_r,
			 const char **error_r)
{
	struct fb_expand ex;

	if (obj != NULL && obj->kind == ICAL_VFREEBUSY_COMPONENT) {
		ical_library_init();
		if (endless_r != NULL)
			*endless_r = false;
		if (obj->master == NULL) {
			if (error_r != NULL)
				*error_r = NULL;
			return 0;
		}
		return fb_periods_of_vfreebusy(obj->master, out, error_r);
	}
	memset(&ex, 0, sizeof(ex));
	ex.window_start = window_start;
	ex.window_end = window_end;
	ex.max_instances = max_instances;
	ex.busy_only = busy_only;
	return fb_expand_object(&ex, obj, floating_zone, out, endless_r,
				error_r);
}

int fb_instances_of_object(const struct ical_object *obj,
			   icaltimezone *floating_zone, time_t window_start,
			   time_t window_end, unsigned int max_instances,
			   struct fb_list *out, const char **error_r)
{
	struct fb_expand ex;

	if (obj != NULL && obj->kind == ICAL_VFREEBUSY_COMPONENT) {
		if (error_r != NULL)
			*error_r = NULL;
		return 0;	/* a VFREEBUSY has busy time, no instances */
	}
	memset(&ex, 0, sizeof(ex));
	ex.window_start = window_start;
	ex.window_end = window_end;
	ex.max_instances = max_instances;
	ex.instances = true;
	return fb_expand_object(&ex, obj, floating_zone, out, NULL, error_r);
}

/* ---- VFREEBUSY -------------------------------------------------------- */

static icalproperty *fb_address_property(icalproperty_kind kind,
					 const char *address)
{
	char *uri = address_to_uri(address);
	icalproperty *prop;

	if (uri == NULL)
		return NULL;
	prop = kind == ICAL_ORGANIZER_PROPERTY ?
		icalproperty_new_organizer(uri) :
		icalproperty_new_attendee(uri);
	g_free(uri);
	return prop;
}

struct fb_span {
	time_t start;
	time_t end;
};

static struct icaltimetype fb_utc_time(time_t t)
{
	return icaltime_from_timet_with_zone(t, 0,
		icaltimezone_get_utc_timezone());
}

char *fb_vfreebusy_text(const struct fb_list *list, time_t start, time_t end,
			const char *method, const char *uid,
			const char *organizer, const char *attendee,
			const char *attendee_sent_by, time_t dtstamp)
{
	icalcomponent *vcal, *vfb;
	icalproperty *prop;
	GArray *merged = g_array_new(FALSE, FALSE, sizeof(struct fb_span));
	char *generated = NULL, *raw, *text;

	ical_library_init();
	vcal = icalcomponent_new_vcalendar();
	icalcomponent_add_property(vcal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(vcal, icalproperty_new_prodid(FB_PRODID));
	if (method != NULL) {
		icalproperty_method m = icalproperty_string_to_method(method);
		if (m != ICAL_METHOD_NONE && m != ICAL_METHOD_X)
			icalcomponent_add_property(vcal,
						   icalproperty_new_method(m));
	}
	vfb = icalcomponent_new_vfreebusy();
	if ((prop = fb_address_property(ICAL_ORGANIZER_PROPERTY,
					organizer)) != NULL)
		icalcomponent_add_property(vfb, prop);
	if ((prop = fb_address_property(ICAL_ATTENDEE_PROPERTY,
					attendee)) != NULL) {
		char *sent_by = address_to_uri(attendee_sent_by);
		if (sent_by != NULL)
			icalproperty_add_parameter(prop,
				icalparameter_new_sentby(sent_by));
		g_free(sent_by);
		icalcomponent_add_property(vfb, prop);
	}
	if (uid == NULL) {
		char *rand = g_uuid_string_random();
		generated = g_strconcat(rand, "@imip-agent", NULL);
		g_free(rand);
		uid = generated;
	}
	icalcomponent_add_property(vfb, icalproperty_new_uid(uid));
	icalcomponent_add_property(vfb,
		icalproperty_new_dtstamp(fb_utc_time(dtstamp)));
	icalcomponent_add_property(vfb,
		icalproperty_new_dtstart(fb_utc_time(start)));
	icalcomponent_add_property(vfb,
		icalproperty_new_dtend(fb_utc_time(end)));

	/* clip to the window and merge overlapping or adjacent periods;
	   transparent ones are not busy (RFC 5545 3.8.2.7) */
	for (guint i = 0; list != NULL && i < list->periods->len; i++) {
		const struct fb_period *p = list->periods->pdata[i];
		time_t s = p->start < start ? start : p->start;
		time_t e = p->end > end ? end : p->end;

		if (e <= s || g_strcmp0(p->transp, "TRANSPARENT") == 0)
			continue;
		if (merged->len > 0) {
			struct fb_span *last = &g_array_index(
				merged, struct fb_span, merged->len - 1);
			if (s <= last->end) {
				if (e > last->end)
					last->end = e;
				continue;
			}
		}
		struct fb_span span = { s, e };
		g_array_append_val(merged, span);
	}
	for (guint i = 0; i < merged->len; i++) {
		struct fb_span *span = &g_array_index(merged, struct fb_span, i);
		struct icalperiodtype period = icalperiodtype_null_period();

		period.start = fb_utc_time(span->start);
		period.end = fb_utc_time(span->end);
		prop = icalproperty_new_freebusy(period);
		icalproperty_add_parameter(prop,
			icalparameter_new_fbtype(ICAL_FBTYPE_BUSY));
		icalcomponent_add_property(vfb, prop);
	}
	icalcomponent_add_component(vcal, vfb);

	raw = icalcomponent_as_ical_string_r(vcal);
	text = g_strdup(raw != NULL ? raw : "");
	free(raw);
	icalcomponent_free(vcal);
	g_array_free(merged, TRUE);
	g_free(generated);
	return text;
}

int fb_periods_of_vfreebusy(icalcomponent *vfreebusy, struct fb_list *out,
			    const char **error_r)
{
	GPtrArray *props;
	const char *uid;
	char *organiser;

	ical_library_init();
	if (error_r != NULL)
		*error_r = NULL;
	if (vfreebusy == NULL ||
	    icalcomponent_isa(vfreebusy) != ICAL_VFREEBUSY_COMPONENT) {
		if (error_r != NULL)
			*error_r = "not a VFREEBUSY component";
		return -1;
	}
	uid = icalcomponent_get_uid(vfreebusy);
	if (uid != NULL && *uid == '\0')
		uid = NULL;
	organiser = ical_organizer_of(vfreebusy);
	props = fb_properties(vfreebusy, ICAL_FREEBUSY_PROPERTY);
	for (guint i = 0; i < props->len; i++) {
		icalproperty *prop = props->pdata[i];
		icalparameter *fbtype = icalproperty_get_first_parameter(
			prop, ICAL_FBTYPE_PARAMETER);
		struct icalperiodtype period;
		struct fb_period p;
		time_t s, e;

		/* FBTYPE defaults to BUSY (RFC 5545 3.2.9) */
		if (fbtype != NULL &&
		    icalparameter_get_fbtype(fbtype) == ICAL_FBTYPE_FREE)
			continue;
		if (icalproperty_get_value(prop) == NULL)
			continue;
		period = icalproperty_get_freebusy(prop);
		if (icaltime_is_null_time(period.start))
			continue;
		/* FREEBUSY values are UTC; a floating one is read as UTC */
		s = ical_time_to_utc(period.start, NULL);
		if (!icaltime_is_null_time(period.end))
			e = ical_time_to_utc(period.end, NULL);
		else
			e = (time_t)((gint64)s +
				     fb_duration_seconds(period.duration));
		if (e <= s || !fb_clamp(&s, &e))
			continue;
		memset(&p, 0, sizeof(p));
		p.start = s;
		p.end = e;
		p.uid = (char *)uid;
		p.transp = (char *)"OPAQUE";
		p.organiser = organiser;
		fb_list_add(out, &p);
	}
	g_ptr_array_free(props, TRUE);
	g_free(organiser);
	return 0;
}
