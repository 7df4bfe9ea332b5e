/* Scheduling functions of resources: see scheduling.h.  Names and arguments
   are the original imip-agent's (reference imip-agent.md 8 and 9), plus
   the knobs Exchange and Google resources have (docs/resources.md). */

#include "scheduling.h"
#include "address.h"
#include "clock.h"
#include "config.h"
#include "freebusy.h"
#include "handler.h"
#include "ical-object.h"
#include "journal.h"
#include "prefs.h"
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sched_verdict {
	SCHED_CONTINUE,		/* accepted so far: later lines judge too */
	SCHED_DONE,		/* res holds the decision */
	SCHED_FAIL,		/* store or journal error */
};

struct sched_ctx {
	const struct sched_request *req;
	GHashTable *quotas;
	struct sched_result *res;
	struct fb_list *busy;	/* bookings and held offers of other UIDs */
	time_t busy_start;	/* the window busy was read for */
	time_t busy_end;
	const char *error;
};

typedef enum sched_verdict sched_func_t(struct sched_ctx *c, char **args,
					unsigned int argc);

void sched_result_init(struct sched_result *res)
{
	memset(res, 0, sizeof(*res));
	res->decision = SCHED_ACCEPT;
	res->declined_rids = g_ptr_array_new_with_free_func(g_free);
	res->quotas = g_ptr_array_new_with_free_func(g_free);
}

void sched_result_clear(struct sched_result *res)
{
	g_free(res->reason);
	g_free(res->delegate);
	if (res->declined_rids != NULL)
		g_ptr_array_free(res->declined_rids, TRUE);
	if (res->quotas != NULL)
		g_ptr_array_free(res->quotas, TRUE);
	memset(res, 0, sizeof(*res));
}

static enum sched_verdict G_GNUC_PRINTF(2, 3)
sched_decline(struct sched_ctx *c, const char *fmt, ...)
{
	va_list args;

	c->res->decision = SCHED_DECLINE;
	g_free(c->res->reason);
	va_start(args, fmt);
	c->res->reason = g_strdup_vprintf(fmt, args);
	va_end(args);
	return SCHED_DONE;
}

static const char *sched_time_text(time_t t, char buf[static 17])
{
	return imip_clock_format_utc(t, buf);
}

/* --- busy time --------------------------------------------------------- */

/* The resource's bookings and the offers it holds in [start, end),
   without those of the request's own UID: an update never conflicts with
   itself.  Only that window is read: a decision costs the same whatever
   the size of the resource's calendar. */
static int sched_busy_read(struct sched_ctx *c, time_t start, time_t end)
{
	struct handler *h = c->req->h;
	struct fb_list *busy = fb_list_new(), *offers = fb_list_new();

	if (store_fb_read_window(h->su, STORE_FB_OWN, NULL, start, end, busy,
				 &c->error) < 0 ||
	    store_fb_read_window(h->su, STORE_FB_OFFERS, NULL, start, end,
				 offers, &c->error) < 0) {
		fb_list_free(&busy);
		fb_list_free(&offers);
		return -1;
	}
	fb_list_expire(offers, h->ctx->now);
	fb_list_merge(busy, offers);
	fb_list_free(&offers);
	fb_list_remove(busy, c->req->obj->uid, NULL);
	fb_list_free(&c->busy);
	c->busy = busy;
	c->busy_start = start;
	c->busy_end = end;
	return 0;
}

/* Make c->busy cover [start, end).  A search moving forward (next
   available time) widens the window by at least its own length each
   time, so it reads O(log) times. */
static int sched_busy_cover(struct sched_ctx *c, time_t start, time_t end)
{
	if (c->busy != NULL && start >= c->busy_start && end <= c->busy_end)
		return 0;
	if (c->busy != NULL) {
		time_t span = c->busy_end - c->busy_start;

		start = MIN(start, c->busy_start);
		end = MAX(end, c->busy_end + MAX(span, (time_t)86400));
	}
	return sched_busy_read(c, start, end);
}

/* The busy time around the requested instances. */
static int sched_busy(struct sched_ctx *c)
{
	const GPtrArray *periods = c->req->periods->periods;
	time_t start = 0, end = 0;

	for (unsigned int i = 0; i < periods->len; i++) {
		const struct fb_period *p = g_ptr_array_index(periods, i);

		start = i == 0 ? p->start : MIN(start, p->start);
		end = i == 0 ? p->end : MAX(end, p->end);
	}
	return sched_busy_cover(c, start, end);
}

/* Bookings overlapping [start, end); the first one's start in *at_r.
   -1 when the store cannot be read. */
static int sched_overlaps(struct sched_ctx *c, time_t start, time_t end,
			  time_t *at_r)
{
	GPtrArray *found;
	unsigned int n;

	if (sched_busy_cover(c, start, end) < 0)
		return -1;
	found = g_ptr_array_new();
	fb_list_overlapping(c->busy, start, end, NULL, found);
	n = found->len;
	if (n > 0 && at_r != NULL)
		*at_r = ((struct fb_period *)g_ptr_array_index(found, 0))->start;
	g_ptr_array_free(found, TRUE);
	return (int)MIN(n, (unsigned int)G_MAXINT);
}

/* The latest end of the bookings overlapping [start, end) (after
   sched_overlaps() on the same window). */
static time_t sched_overlap_end(struct sched_ctx *c, time_t start, time_t end)
{
	GPtrArray *found = g_ptr_array_new();
	time_t last = end;

	fb_list_overlapping(c->busy, start, end, NULL, found);
	for (unsigned int i = 0; i < found->len; i++) {
		const struct fb_period *p = g_ptr_array_index(found, i);

		if (p->end > last || i == 0)
			last = MAX(last, p->end);
	}
	g_ptr_array_free(found, TRUE);
	return last;
}

static unsigned int sched_capacity(char **args, unsigned int argc)
{
	long n = argc > 0 ? strtol(args[0], NULL, 10) : 1;

	return n >= 1 && n <= 100000 ? (unsigned int)n : 1;
}

/* recurring_conflicts = "COUNT PERCENT": how many instances of a series
   may be declined while the rest is accepted. */
static bool sched_series_tolerates(struct sched_ctx *c, unsigned int conflicts,
				   unsigned int total)
{
	char *value = handler_pref(c->req->h, "recurring_conflicts");
	unsigned long count = 0, percent = 0;
	bool ok;

	if (value != NULL)
		(void)sscanf(value, "%lu %lu", &count, &percent);
	g_free(value);
	ok = conflicts < total && conflicts <= count &&
	     (unsigned long)conflicts * 100 <= percent * total;
	return ok;
}

static enum sched_verdict sched_in_freebusy(struct sched_ctx *c, char **args,
					    unsigned int argc)
{
	const GPtrArray *periods = c->req->periods->periods;
	unsigned int capacity = sched_capacity(args, argc);
	GPtrArray *conflicting = g_ptr_array_new();
	time_t first_at = 0;
	char when[17];

	if (sched_busy(c) < 0) {
		g_ptr_array_free(conflicting, TRUE);
		return SCHED_FAIL;
	}
	for (unsigned int i = 0; i < periods->len; i++) {
		const struct fb_period *p = g_ptr_array_index(periods, i);

		int n = sched_overlaps(c, p->start, p->end, NULL);

		if (n < 0) {
			g_ptr_array_free(conflicting, TRUE);
			return SCHED_FAIL;
		}
		if ((unsigned int)n >= capacity) {
			if (conflicting->len == 0)
				first_at = p->start;
			g_ptr_array_add(conflicting, (void *)p);
		}
	}
	if (conflicting->len == 0) {
		g_ptr_array_free(conflicting, TRUE);
		return SCHED_CONTINUE;
	}
	if (c->req->recurring &&
	    sched_series_tolerates(c, conflicting->len, periods->len)) {
		for (unsigned int i = 0; i < conflicting->len; i++) {
			const struct fb_period *p = g_ptr_array_index(conflicting, i);

			if (p->rid != NULL)
				g_ptr_array_add(c->res->declined_rids, g_strdup(p->rid));
		}
		g_ptr_array_free(conflicting, TRUE);
		return SCHED_CONTINUE;
	}
	g_ptr_array_free(conflicting, TRUE);
	return sched_decline(c, "the resource is already booked at %s",
			     sched_time_text(first_at, when));
}

/* --- permitted_times ----------------------------------------------------- */

struct sched_times {
	bool any_hour, any_minute, any_second;
	bool hours[24], minutes[60], seconds[60];
};

static bool sched_times_part(const char *text, bool *set, unsigned int max,
			     bool *any_r)
{
	char **items;

	*any_r = *text == '\0';
	if (*any_r)
		return true;
	items = g_strsplit(text, ",", -1);
	for (unsigned int i = 0; items[i] != NULL; i++) {
		char *end;
		long v = strtol(items[i], &end, 10);

		if (end == items[i] || *end != '\0' || v < 0 || v >= (long)max) {
			g_strfreev(items);
			return false;
		}
		set[v] = true;
	}
	g_strfreev(items);
	return true;
}

/* "minutes" | "hours:minutes" | "hours:minutes:seconds" (reference
   imip-agent.md 4.2); an omitted or empty part allows any value. */
static bool sched_times_parse(const char *value, struct sched_times *t)
{
	char **parts;
	unsigned int n;
	bool ok;

	memset(t, 0, sizeof(*t));
	t->any_hour = t->any_minute = t->any_second = true;
	if (value == NULL)
		return true;
	parts = g_strsplit(value, ":", -1);
	n = g_strv_length(parts);
	if (n == 1)
		ok = sched_times_part(g_strstrip(parts[0]), t->minutes, 60, &t->any_minute);
	else if (n == 2)
		ok = sched_times_part(g_strstrip(parts[0]), t->hours, 24, &t->any_hour) &&
		     sched_times_part(g_strstrip(parts[1]), t->minutes, 60, &t->any_minute);
	else if (n == 3)
		ok = sched_times_part(g_strstrip(parts[0]), t->hours, 24, &t->any_hour) &&
		     sched_times_part(g_strstrip(parts[1]), t->minutes, 60, &t->any_minute) &&
		     sched_times_part(g_strstrip(parts[2]), t->seconds, 60, &t->any_second);
	else
		ok = false;
	g_strfreev(parts);
	return ok;
}

/* The first permitted time at or after t, in the resource's zone.  With
   seconds unrestricted a move to another minute lands on second 0: a
   meeting "moved to 10:15" starts at 10:15:00. */
static time_t sched_times_correct(const struct sched_times *t, time_t when,
				  icaltimezone *zone)
{
	struct icaltimetype tt = icaltime_from_timet_with_zone(when, 0, zone);

	/* two days of minutes is more than any permitted_times needs */
	for (unsigned int i = 0; i < 2 * 24 * 60 * 60; i++) {
		bool hour_ok = t->any_hour || t->hours[tt.hour];
		bool minute_ok = t->any_minute || t->minutes[tt.minute];
		bool second_ok = t->any_second || t->seconds[tt.second];

		if (hour_ok && minute_ok && second_ok)
			return icaltime_as_timet_with_zone(tt, zone);
		if (hour_ok && minute_ok) {
			icaltime_adjust(&tt, 0, 0, 0, 1);
		} else if (hour_ok) {
			icaltime_adjust(&tt, 0, 0, 1, -tt.second);
		} else {
			icaltime_adjust(&tt, 0, 1, -tt.minute, -tt.second);
		}
	}
	return when;
}

static bool sched_single_period(struct sched_ctx *c, time_t *start_r,
				time_t *end_r)
{
	const GPtrArray *periods = c->req->periods->periods;
	const struct fb_period *p;

	if (c->req->recurring || periods->len != 1)
		return false;
	p = g_ptr_array_index(periods, 0);
	*start_r = p->start;
	*end_r = p->end;
	return true;
}

static enum sched_verdict sched_counter(struct sched_ctx *c, time_t start,
					time_t end)
{
	char a[17], b[17];

	c->res->decision = SCHED_COUNTER;
	c->res->counter_start = start;
	c->res->counter_end = end;
	g_free(c->res->reason);
	c->res->reason = g_strdup_printf("proposed %s to %s instead",
					 sched_time_text(start, a),
					 sched_time_text(end, b));
	return SCHED_DONE;
}

static enum sched_verdict sched_corrected_common(struct sched_ctx *c,
						 bool search_next)
{
	struct handler *h = c->req->h;
	char *value = handler_pref(h, "permitted_times");
	struct sched_times times;
	time_t start, end, s, e, length, limit, at;
	int overlaps;
	char when[17];

	if (!sched_single_period(c, &start, &end)) {
		g_free(value);
		return sched_in_freebusy(c, NULL, 0);
	}
	if (!sched_times_parse(value, &times)) {
		g_free(value);
		return sched_decline(c, "the resource's permitted_times cannot "
				     "be read");
	}
	g_free(value);
	if (sched_busy(c) < 0)
		return SCHED_FAIL;
	s = sched_times_correct(&times, start, h->user_zone);
	e = sched_times_correct(&times, end, h->user_zone);
	if (e <= s)
		return sched_decline(c, "the requested period is not valid");
	length = e - s;
	limit = h->ctx->now + (time_t)h->config->freebusy_horizon_days * 86400;
	while ((overlaps = sched_overlaps(c, s, e, &at)) > 0) {
		if (!search_next)
			return sched_decline(c, "the resource is already booked "
					     "at %s", sched_time_text(at, when));
		/* past the end of the bookings in the way, then to a
		   permitted time: every step moves past one booking */
		s = sched_times_correct(&times, sched_overlap_end(c, s, e),
					h->user_zone);
		e = sched_times_correct(&times, s + length, h->user_zone);
		if (s > limit)
			return sched_decline(c, "no free period within %u days",
					     h->config->freebusy_horizon_days);
	}
	if (overlaps < 0)
		return SCHED_FAIL;
	if (s != start || e != end)
		return sched_counter(c, s, e);
	return SCHED_CONTINUE;
}

static enum sched_verdict sched_corrected(struct sched_ctx *c, char **args,
					  unsigned int argc)
{
	(void)args;
	(void)argc;
	return sched_corrected_common(c, false);
}

static enum sched_verdict sched_next_available(struct sched_ctx *c, char **args,
					       unsigned int argc)
{
	(void)args;
	(void)argc;
	return sched_corrected_common(c, true);
}

/* --- identity ------------------------------------------------------------ */

static enum sched_verdict sched_same_domain(struct sched_ctx *c, char **args,
					    unsigned int argc)
{
	const char *mine = address_domain(c->req->h->user);
	const char *theirs = address_domain(c->req->organiser);

	(void)args;
	(void)argc;
	if (mine != NULL && theirs != NULL && strcmp(mine, theirs) == 0)
		return SCHED_CONTINUE;
	return sched_decline(c, "only organisers of %s may book this resource",
			     mine != NULL ? mine : "its domain");
}

static enum sched_verdict sched_allowed_domains(struct sched_ctx *c,
						char **args, unsigned int argc)
{
	const char *theirs = address_domain(c->req->organiser);
	const char *mine = address_domain(c->req->h->user);

	if (theirs != NULL && g_strcmp0(theirs, mine) == 0)
		return SCHED_CONTINUE;
	for (unsigned int i = 0; theirs != NULL && i < argc; i++) {
		if (g_ascii_strcasecmp(args[i], theirs) == 0)
			return SCHED_CONTINUE;
	}
	return sched_decline(c, "organisers from %s may not book this resource",
			     theirs != NULL ? theirs : "this domain");
}

static bool sched_identity_matches(const char *pattern, const char *address)
{
	if (address == NULL)
		return false;
	if (strcmp(pattern, "*") == 0)
		return true;
	if (pattern[0] == '@')
		return g_ascii_strcasecmp(pattern + 1, address_domain(address)) == 0;
	return address_equal(pattern, address);
}

static bool sched_acl_rule_matches(struct sched_ctx *c, const char *role,
				   const char *identity)
{
	icalcomponent *comp;
	icalproperty *prop;
	bool match = false;

	if (strcmp(role, "organiser") == 0 || strcmp(role, "organizer") == 0)
		return sched_identity_matches(identity, c->req->organiser);
	if (strcmp(role, "attendee") != 0)
		return false;
	comp = itip_object_first(c->req->obj);
	for (prop = icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY);
	     prop != NULL && !match;
	     prop = icalcomponent_get_next_property(comp, ICAL_ATTENDEE_PROPERTY)) {
		char *address = ical_property_address(prop);

		match = sched_identity_matches(identity, address);
		g_free(address);
	}
	return match;
}

/* The acl preference: a default (accept | decline), then rules
   "accept|decline organiser|attendee IDENTITY"; the first match decides.
   An acceptance is provisional: later functions still judge. */
static enum sched_verdict sched_acl(struct sched_ctx *c, char **args,
				    unsigned int argc)
{
	char *value = handler_pref(c->req->h, "acl");
	char **lines = g_strsplit(value != NULL ? value : "decline", "\n", -1);
	const char *decision = NULL;
	enum sched_verdict verdict;

	(void)args;
	(void)argc;
	for (unsigned int i = 1; lines[i] != NULL && decision == NULL; i++) {
		char **words = g_strsplit_set(g_strstrip(lines[i]), " \t", -1);
		unsigned int n = 0;
		char *w[3];

		for (unsigned int j = 0; words[j] != NULL && n < 3; j++) {
			if (*words[j] != '\0')
				w[n++] = words[j];
		}
		if (n == 3 && sched_acl_rule_matches(c, w[1], w[2]))
			decision = strcmp(w[0], "accept") == 0 ? "accept" : "decline";
		g_strfreev(words);
	}
	if (decision == NULL)
		decision = strcmp(g_strstrip(lines[0]), "accept") == 0 ?
			"accept" : "decline";
	/* "reject" (the original's third word) declines too: a resource
	   always answers, so the organiser learns the room is not theirs */
	verdict = strcmp(decision, "accept") == 0 ? SCHED_CONTINUE :
		sched_decline(c, "refused by the resource's access control list");
	g_strfreev(lines);
	g_free(value);
	return verdict;
}

/* --- knobs beyond the original ------------------------------------------ */

static enum sched_verdict sched_booking_window(struct sched_ctx *c, char **args,
					       unsigned int argc)
{
	long days = argc > 0 ? strtol(args[0], NULL, 10) : 0;
	time_t limit = c->req->h->ctx->now + (time_t)days * 86400;
	const GPtrArray *periods = c->req->periods->periods;

	for (unsigned int i = 0; days > 0 && i < periods->len; i++) {
		const struct fb_period *p = g_ptr_array_index(periods, i);

		if (p->start > limit)
			return sched_decline(c, "bookings are taken at most %ld "
					     "days ahead", days);
	}
	return SCHED_CONTINUE;
}

static long sched_duration(const char *text)
{
	struct icaldurationtype d;

	if (text == NULL || strcmp(text, "-") == 0)
		return -1;
	d = icaldurationtype_from_string(text);
	return icaldurationtype_is_bad_duration(d) ? -1 :
		(long)icaldurationtype_as_int(d);
}

static enum sched_verdict sched_duration_limits(struct sched_ctx *c,
						char **args, unsigned int argc)
{
	long min = argc > 0 ? sched_duration(args[0]) : -1;
	long max = argc > 1 ? sched_duration(args[1]) : -1;
	const GPtrArray *periods = c->req->periods->periods;

	for (unsigned int i = 0; i < periods->len; i++) {
		const struct fb_period *p = g_ptr_array_index(periods, i);
		long length = (long)(p->end - p->start);

		if (min >= 0 && length < min)
			return sched_decline(c, "bookings last at least %s", args[0]);
		if (max >= 0 && length > max)
			return sched_decline(c, "bookings last at most %s", args[1]);
	}
	return SCHED_CONTINUE;
}

static enum sched_verdict sched_no_recurring(struct sched_ctx *c, char **args,
					     unsigned int argc)
{
	(void)args;
	(void)argc;
	if (c->req->recurring)
		return sched_decline(c, "recurring bookings are not taken");
	return SCHED_CONTINUE;
}

static int sched_weekday(const char *name)
{
	static const char *const days[] = {
		"sun", "mon", "tue", "wed", "thu", "fri", "sat",
	};

	for (int i = 0; i < 7; i++) {
		if (g_ascii_strncasecmp(name, days[i], 3) == 0)
			return i;
	}
	return -1;
}

/* "mon-fri", "mon,wed,sat" or "sat-mon" (wrapping) */
static bool sched_parse_days(const char *text, bool days[7])
{
	char **items = g_strsplit(text, ",", -1);
	bool ok = true;

	memset(days, 0, 7 * sizeof(bool));
	for (unsigned int i = 0; items[i] != NULL && ok; i++) {
		char **range = g_strsplit(items[i], "-", 2);
		int from = sched_weekday(range[0]);
		int to = range[1] != NULL ? sched_weekday(range[1]) : from;

		ok = from >= 0 && to >= 0;
		for (int d = from; ok; d = (d + 1) % 7) {
			days[d] = true;
			if (d == to)
				break;
		}
		g_strfreev(range);
	}
	g_strfreev(items);
	return ok;
}

static enum sched_verdict sched_working_hours(struct sched_ctx *c, char **args,
					      unsigned int argc)
{
	icaltimezone *zone = c->req->h->user_zone;
	const GPtrArray *periods = c->req->periods->periods;
	int fh, fm, th, tm;
	bool days[7];

	if (argc < 1 || sscanf(args[0], "%d:%d-%d:%d", &fh, &fm, &th, &tm) != 4 ||
	    !sched_parse_days(argc > 1 ? args[1] : "mon-fri", days))
		return sched_decline(c, "working_hours is not set up correctly");
	for (unsigned int i = 0; i < periods->len; i++) {
		const struct fb_period *p = g_ptr_array_index(periods, i);
		struct icaltimetype s = icaltime_from_timet_with_zone(p->start, 0, zone);
		struct icaltimetype e = icaltime_from_timet_with_zone(p->end, 0, zone);
		int from = s.hour * 60 + s.minute, to = e.hour * 60 + e.minute;
		bool same_day = s.year == e.year && s.month == e.month &&
				s.day == e.day;

		if (!days[icaltime_day_of_week(s) - 1] ||
		    from < fh * 60 + fm ||
		    (same_day ? to : 24 * 60) > th * 60 + tm || !same_day)
			return sched_decline(c, "outside the working hours %s %s",
					     args[0], argc > 1 ? args[1] : "mon-fri");
	}
	return SCHED_CONTINUE;
}

/* --- quotas -------------------------------------------------------------- */

static const char *sched_quota_name(struct sched_ctx *c, char **args,
				    unsigned int argc)
{
	return argc > 0 ? args[0] : c->req->h->user;
}

static struct journal_quota *sched_quota(struct sched_ctx *c, const char *name)
{
	struct journal_quota *q = g_hash_table_lookup(c->quotas, name);

	if (q == NULL)
		c->error = "quota group not open";
	return q;
}

static void sched_record_quota(struct sched_ctx *c, const char *name)
{
	for (unsigned int i = 0; i < c->res->quotas->len; i++) {
		if (strcmp(g_ptr_array_index(c->res->quotas, i), name) == 0)
			return;
	}
	g_ptr_array_add(c->res->quotas, g_strdup(name));
}

/* The organiser's group in the quota, or the organiser. */
static char *sched_quota_subject(struct journal_quota *q, const char *organiser,
				 const char **error_r, bool *is_group_r)
{
	char *group = NULL;

	*is_group_r = false;
	if (journal_group_get(q, organiser, &group, error_r) < 0)
		return NULL;
	if (group != NULL) {
		*is_group_r = true;
		return group;
	}
	return g_strdup(organiser);
}

static bool sched_reservation_is_subjects(struct journal_quota *q,
					  const struct journal_reservation *r,
					  const char *subject, bool is_group)
{
	char *group = NULL;
	const char *error;
	bool match;

	if (!is_group)
		return g_strcmp0(r->organiser, subject) == 0;
	if (journal_group_get(q, r->organiser, &group, &error) < 0)
		return false;
	match = g_strcmp0(group, subject) == 0;
	g_free(group);
	return match;
}

static long sched_requested_seconds(struct sched_ctx *c)
{
	const GPtrArray *periods = c->req->periods->periods;
	long total = 0;

	for (unsigned int i = 0; i < periods->len; i++) {
		const struct fb_period *p = g_ptr_array_index(periods, i);

		total += (long)(p->end - p->start);
	}
	return total;
}

static enum sched_verdict sched_check_quota(struct sched_ctx *c, char **args,
					    unsigned int argc)
{
	const char *name = sched_quota_name(c, args, argc);
	struct journal_quota *q = sched_quota(c, name);
	GPtrArray *reservations;
	char *subject;
	bool is_group;
	long limit = -1, booked = 0;
	int r = -1;

	if (q == NULL)
		return SCHED_FAIL;
	subject = sched_quota_subject(q, c->req->organiser, &c->error, &is_group);
	if (subject == NULL)
		return SCHED_FAIL;
	/* the organiser's own limit, else their group's, else "*" */
	if ((r = journal_limit_get(q, c->req->organiser, &limit, &c->error)) == 0 &&
	    is_group)
		r = journal_limit_get(q, subject, &limit, &c->error);
	if (r == 0)
		r = journal_limit_get(q, "*", &limit, &c->error);
	reservations = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	if (r >= 0 && journal_reservations_read(q, reservations, &c->error) < 0)
		r = -1;
	for (unsigned int i = 0; r > 0 && i < reservations->len; i++) {
		const struct journal_reservation *res = g_ptr_array_index(reservations, i);

		/* an update replaces its own earlier reservation */
		if (g_strcmp0(res->uid, c->req->obj->uid) == 0 &&
		    g_strcmp0(res->resource, c->req->h->user) == 0)
			continue;
		if (sched_reservation_is_subjects(q, res, subject, is_group))
			booked += (long)(res->end - res->start);
	}
	g_ptr_array_free(reservations, TRUE);
	g_free(subject);
	if (r < 0)
		return SCHED_FAIL;
	sched_record_quota(c, name);
	if (r > 0 && booked + sched_requested_seconds(c) > limit)
		return sched_decline(c, "quota %s exceeded", name);
	return SCHED_CONTINUE;
}

/* Reservations in the quota of other resources overlapping the request
   and belonging to `subject` (NULL: anybody) or to `resource` (NULL:
   any resource). */
static int sched_quota_overlaps(struct sched_ctx *c, struct journal_quota *q,
				const char *subject, bool is_group,
				const char *resource, bool *overlap_r)
{
	GPtrArray *reservations = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	const GPtrArray *periods = c->req->periods->periods;

	*overlap_r = false;
	if (journal_reservations_read(q, reservations, &c->error) < 0) {
		g_ptr_array_free(reservations, TRUE);
		return -1;
	}
	for (unsigned int i = 0; i < reservations->len && !*overlap_r; i++) {
		const struct journal_reservation *r = g_ptr_array_index(reservations, i);

		if (g_strcmp0(r->uid, c->req->obj->uid) == 0 ||
		    (resource != NULL && g_strcmp0(r->resource, resource) != 0) ||
		    (resource == NULL && g_strcmp0(r->resource, c->req->h->user) == 0) ||
		    (subject != NULL &&
		     !sched_reservation_is_subjects(q, r, subject, is_group)))
			continue;
		for (unsigned int j = 0; j < periods->len && !*overlap_r; j++) {
			const struct fb_period *p = g_ptr_array_index(periods, j);

			*overlap_r = r->start < p->end && r->end > p->start;
		}
	}
	g_ptr_array_free(reservations, TRUE);
	return 0;
}

/* Collective scheduling: one organiser (or group) cannot hold two
   resources of the quota at the same time. */
static enum sched_verdict sched_across_quota(struct sched_ctx *c, char **args,
					     unsigned int argc)
{
	const char *name = sched_quota_name(c, args, argc);
	struct journal_quota *q = sched_quota(c, name);
	char *subject;
	bool is_group, overlap;
	int r;

	if (q == NULL)
		return SCHED_FAIL;
	subject = sched_quota_subject(q, c->req->organiser, &c->error, &is_group);
	if (subject == NULL)
		return SCHED_FAIL;
	r = sched_quota_overlaps(c, q, subject, is_group, NULL, &overlap);
	g_free(subject);
	if (r < 0)
		return SCHED_FAIL;
	sched_record_quota(c, name);
	if (overlap)
		return sched_decline(c, "%s already holds another resource of "
				     "%s at that time", c->req->organiser, name);
	return SCHED_CONTINUE;
}

/* A pool: when this resource is taken, hand the request to a free member
   of the quota's delegates. */
static enum sched_verdict sched_for_delegate(struct sched_ctx *c, char **args,
					     unsigned int argc)
{
	const char *name = sched_quota_name(c, args, argc);
	struct journal_quota *q = sched_quota(c, name);
	GPtrArray *delegates;
	const GPtrArray *periods = c->req->periods->periods;
	bool taken = false;

	if (q == NULL || sched_busy(c) < 0)
		return SCHED_FAIL;
	for (unsigned int i = 0; i < periods->len && !taken; i++) {
		const struct fb_period *p = g_ptr_array_index(periods, i);

		int n = sched_overlaps(c, p->start, p->end, NULL);

		if (n < 0)
			return SCHED_FAIL;
		taken = n > 0;
	}
	sched_record_quota(c, name);
	if (!taken)
		return SCHED_CONTINUE;
	delegates = g_ptr_array_new_with_free_func(g_free);
	if (journal_delegates_get(q, delegates, &c->error) < 0) {
		g_ptr_array_free(delegates, TRUE);
		return SCHED_FAIL;
	}
	for (unsigned int i = 0; i < delegates->len; i++) {
		const char *other = g_ptr_array_index(delegates, i);
		bool overlap;

		if (strcmp(other, c->req->h->user) == 0)
			continue;
		if (sched_quota_overlaps(c, q, NULL, false, other, &overlap) < 0) {
			g_ptr_array_free(delegates, TRUE);
			return SCHED_FAIL;
		}
		if (!overlap) {
			c->res->decision = SCHED_DELEGATE;
			c->res->delegate = g_strdup(other);
			g_free(c->res->reason);
			c->res->reason = g_strdup_printf("delegated to %s", other);
			g_ptr_array_free(delegates, TRUE);
			return SCHED_DONE;
		}
	}
	g_ptr_array_free(delegates, TRUE);
	return sched_decline(c, "the resource and every other resource of %s "
			     "are booked at that time", name);
}

/* --- the table and the evaluation ---------------------------------------- */

static const struct sched_function {
	const char *name;
	sched_func_t *func;
	bool uses_quota;
} sched_functions[] = {
	{ "schedule_in_freebusy", sched_in_freebusy, false },
	{ "schedule_corrected_in_freebusy", sched_corrected, false },
	{ "schedule_next_available_in_freebusy", sched_next_available, false },
	{ "same_domain_only", sched_same_domain, false },
	{ "access_control_list", sched_acl, false },
	{ "check_quota", sched_check_quota, true },
	{ "schedule_across_quota", sched_across_quota, true },
	{ "schedule_for_delegate", sched_for_delegate, true },
	{ "booking_window", sched_booking_window, false },
	{ "duration_limits", sched_duration_limits, false },
	{ "no_recurring", sched_no_recurring, false },
	{ "working_hours", sched_working_hours, false },
	{ "allowed_domains", sched_allowed_domains, false },
};

static const struct sched_function *sched_lookup(const char *name)
{
	for (unsigned int i = 0; i < G_N_ELEMENTS(sched_functions); i++) {
		if (strcmp(sched_functions[i].name, name) == 0)
			return &sched_functions[i];
	}
	return NULL;
}

/* One line "name arg..." split on white space, empty words dropped. */
static char **sched_split_line(const char *line, unsigned int *argc_r)
{
	char **words = g_strsplit_set(line, " \t\r", -1);
	unsigned int n = 0;

	for (unsigned int i = 0; words[i] != NULL; i++) {
		if (*words[i] != '\0')
			words[n++] = words[i];
		else
			g_free(words[i]);
	}
	words[n] = NULL;
	*argc_r = n;
	return words;
}

static int sched_compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *sched_quotas_of(const char *functions, const char *resource)
{
	GPtrArray *quotas = g_ptr_array_new_with_free_func(g_free);
	char **lines = g_strsplit(functions != NULL ? functions : "", "\n", -1);

	for (unsigned int i = 0; lines[i] != NULL; i++) {
		unsigned int argc;
		char **words = sched_split_line(lines[i], &argc);
		const struct sched_function *f = argc > 0 ? sched_lookup(words[0]) : NULL;

		if (f != NULL && f->uses_quota) {
			const char *name = argc > 1 ? words[1] : resource;
			bool seen = false;

			for (unsigned int j = 0; j < quotas->len && !seen; j++)
				seen = strcmp(g_ptr_array_index(quotas, j), name) == 0;
			if (!seen)
				g_ptr_array_add(quotas, g_strdup(name));
		}
		g_strfreev(words);
	}
	g_strfreev(lines);
	g_ptr_array_sort(quotas, sched_compare_strings);
	return quotas;
}

int sched_evaluate(const struct sched_request *req, const char *functions,
		   GHashTable *quotas, struct sched_result *res,
		   const char **error_r)
{
	struct sched_ctx c = { .req = req, .quotas = quotas, .res = res };
	char **lines = g_strsplit(functions != NULL ? functions : "", "\n", -1);
	enum sched_verdict verdict = SCHED_CONTINUE;

	for (unsigned int i = 0; lines[i] != NULL && verdict == SCHED_CONTINUE; i++) {
		unsigned int argc;
		char **words = sched_split_line(lines[i], &argc);
		const struct sched_function *f;

		if (argc == 0 || words[0][0] == '#') {
			g_strfreev(words);
			continue;
		}
		f = sched_lookup(words[0]);
		verdict = f == NULL ?
			sched_decline(&c, "unknown scheduling function %s", words[0]) :
			f->func(&c, words + 1, argc - 1);
		g_strfreev(words);
	}
	g_strfreev(lines);
	fb_list_free(&c.busy);
	if (verdict == SCHED_FAIL) {
		*error_r = c.error != NULL ? c.error : "scheduling failed";
		return -1;
	}
	if (verdict == SCHED_CONTINUE)
		res->decision = SCHED_ACCEPT;
	return 0;
}
