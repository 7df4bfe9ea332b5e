/* The quota journal's front end (journal.h): checks and normalises every
   argument once, keeps the order of every list the same whatever the
   backend, and formats what imip-admin prints; the rows themselves are
   kept by a backend (journal-private.h): files below journal_dir
   (journal-file.c) or the database of store_backend = postgresql
   (journal-pg.c), so that several delivery hosts share the quotas. */

#include "journal-private.h"
#include "address.h"
#include "config.h"
#include "ical-internal.h"
#include "store-name.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <libical/ical.h>

/* Group names and quota names: short words, like addresses. */
#define JOURNAL_NAME_MAX 320

int journal_quota_error(struct journal_quota *q, const char *fmt, ...)
{
	va_list args;

	g_free(q->error);
	va_start(args, fmt);
	q->error = g_strdup_vprintf(fmt, args);
	va_end(args);
	return -1;
}

int journal_quota_error_take(struct journal_quota *q, char *error)
{
	g_free(q->error);
	q->error = error != NULL ? error : g_strdup("unknown error");
	return -1;
}

/* The result of a public call: a failure hands out q's error and marks
   the quota failed, so that closing it keeps nothing more. */
static int journal_quota_result(struct journal_quota *q, int ret,
				const char **error_r)
{
	if (ret < 0) {
		if (q->error == NULL)
			q->error = g_strdup("unknown error");
		q->failed = true;
		*error_r = q->error;
	}
	return ret;
}

void journal_limit_free(struct journal_limit *l)
{
	if (l == NULL)
		return;
	g_free(l->subject);
	g_free(l);
}

void journal_member_free(struct journal_member *m)
{
	if (m == NULL)
		return;
	g_free(m->user);
	g_free(m->group);
	g_free(m);
}

/* --- names ------------------------------------------------------------- */

/* One word of printable text, since limits and scheduling_function lines
   are split on white space. */
bool journal_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > JOURNAL_NAME_MAX ||
	    !g_utf8_validate(name, (gssize)len, NULL))
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* A subject of a limit (address, group or "*"), a quota name: anything
   holding '@' is an address and compared in normal form, so
   "mailto:Room@Example.com" and "room@example.com" are one; other names
   are kept as given.  NULL when unusable. */
static char *journal_name_normalize(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strchr(name, '@') != NULL)
		return address_normalize(name);
	return journal_name_is_valid(name) ? g_strdup(name) : NULL;
}

/* --- the journal and its quotas ----------------------------------------- */

int journal_open(const struct imip_config *config, struct journal **j_r,
		 char **error_r)
{
	int ret;

	*j_r = NULL;
	ical_library_init();
	if (config->store_backend == IMIP_STORE_BACKEND_POSTGRESQL) {
#ifdef IMIP_HAVE_POSTGRESQL
		ret = journal_pg_init(config, j_r, error_r);
#else
		/* as store_open(): never quietly count quotas per host */
		*error_r = g_strdup("store_backend = postgresql, but this "
				    "imip-agent was built without libpq "
				    "(meson option postgresql)");
		ret = -1;
#endif
	} else {
		ret = journal_file_init(config, j_r, error_r);
	}
	if (ret < 0)
		return -1;
	(*j_r)->open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     NULL);
	return 0;
}

void journal_close(struct journal **j)
{
	if (j == NULL || *j == NULL)
		return;
	g_hash_table_destroy((*j)->open);
	(*j)->v->deinit(*j);
	*j = NULL;
}

static gint journal_strcmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int journal_list_quotas(struct journal *j, GPtrArray *quotas_r,
			char **error_r)
{
	guint start = quotas_r->len;

	if (j->v->list_quotas(j, quotas_r, error_r) < 0)
		return -1;
	if (quotas_r->len > start)
		qsort(quotas_r->pdata + start, quotas_r->len - start,
		      sizeof(gpointer), journal_strcmp);
	return 0;
}

int journal_quota_open(struct journal *j, const char *quota, bool create,
		       struct journal_quota **q_r, char **error_r)
{
	struct journal_quota *q;
	char *name, *enc;
	bool too_long;
	int r;

	*q_r = NULL;
	name = journal_name_normalize(quota);
	if (name == NULL) {
		*error_r = g_strdup_printf("not a usable quota name: %s",
					   quota == NULL ? "(null)" : quota);
		return -1;
	}
	if (g_hash_table_contains(j->open, name)) {
		*error_r = g_strdup_printf("quota %s is already open", name);
		g_free(name);
		return -1;
	}
	/* A name the file journal would have to hash could not be listed
	   back from its directory; no sensible quota name is that long,
	   and both backends take the same names, so that a journal can
	   move from one to the other. */
	enc = store_name_encode(name);
	too_long = g_str_has_prefix(enc, "%%");
	g_free(enc);
	if (too_long) {
		*error_r = g_strdup_printf("quota name too long (%zu bytes)",
					   strlen(name));
		g_free(name);
		return -1;
	}
	r = j->v->quota_open(j, name, create, &q, error_r);
	if (r <= 0) {
		g_free(name);
		return r;
	}
	q->j = j;
	q->name = name;
	g_hash_table_add(j->open, g_strdup(name));
	*q_r = q;
	return 1;
}

int journal_quota_commit(struct journal_quota *q, const char **error_r)
{
	int ret = 0;

	if (q->j->v->quota_commit != NULL)
		ret = q->j->v->quota_commit(q);
	if (ret == 0)
		q->failed = false;
	return journal_quota_result(q, ret, error_r);
}

void journal_quota_close(struct journal_quota **qp)
{
	struct journal_quota *q = *qp;

	if (q == NULL)
		return;
	g_hash_table_remove(q->j->open, q->name);
	g_free(q->name);
	q->name = NULL;
	g_free(q->error);
	q->error = NULL;
	q->j->v->quota_close(q);
	*qp = NULL;
}

/* --- limits ------------------------------------------------------------- */

static char *journal_subject_of(struct journal_quota *q, const char *subject)
{
	char *norm;

	if (subject != NULL && strcmp(subject, "*") == 0)
		return g_strdup("*");
	norm = journal_name_normalize(subject);
	if (norm == NULL)
		journal_quota_error(q, "not a usable limit subject: %s",
				    subject == NULL ? "(null)" : subject);
	return norm;
}

int journal_limit_get(struct journal_quota *q, const char *subject,
		      long *seconds_r, const char **error_r)
{
	char *key = journal_subject_of(q, subject);
	int ret = -1;

	*seconds_r = 0;
	if (key != NULL)
		ret = q->j->v->limit_get(q, key, seconds_r);
	if (ret <= 0)
		*seconds_r = 0;
	g_free(key);
	return journal_quota_result(q, ret, error_r);
}

int journal_limit_set(struct journal_quota *q, const char *subject,
		      long seconds, const char **error_r)
{
	char *key = journal_subject_of(q, subject);
	int ret = -1;

	/* imip-admin prints limits through libical's int durations */
	if (key != NULL && seconds > INT_MAX)
		journal_quota_error(q, "limit too large: %ld seconds", seconds);
	else if (key != NULL)
		ret = q->j->v->limit_set(q, key, seconds < 0 ? -1 : seconds);
	g_free(key);
	return journal_quota_result(q, ret, error_r);
}

static gint journal_limit_cmp(gconstpointer a, gconstpointer b)
{
	const struct journal_limit *la = *(struct journal_limit *const *)a;
	const struct journal_limit *lb = *(struct journal_limit *const *)b;

	return strcmp(la->subject, lb->subject);
}

int journal_limits_list(struct journal_quota *q, GPtrArray *lines_r,
			const char **error_r)
{
	GPtrArray *limits = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_limit_free);
	int ret = q->j->v->limits_list(q, limits);

	g_ptr_array_sort(limits, journal_limit_cmp);
	for (guint i = 0; ret == 0 && i < limits->len; i++) {
		const struct journal_limit *l = g_ptr_array_index(limits, i);
		char *dur;

		if (l->seconds < 0 || l->seconds > INT_MAX)
			continue;
		dur = icaldurationtype_as_ical_string_r(
			icaldurationtype_from_int((int)l->seconds));
		g_ptr_array_add(lines_r, g_strdup_printf("%s\t%s", l->subject,
							 dur));
		icalmemory_free_buffer(dur);
	}
	g_ptr_array_free(limits, TRUE);
	return journal_quota_result(q, ret, error_r);
}

/* --- groups ------------------------------------------------------------- */

static char *journal_user_of(struct journal_quota *q, const char *user)
{
	char *norm = address_normalize(user);

	if (norm == NULL)
		journal_quota_error(q, "not a usable address: %s",
				    user == NULL ? "(null)" : user);
	return norm;
}

int journal_group_get(struct journal_quota *q, const char *user,
		      char **group_r, const char **error_r)
{
	char *key = journal_user_of(q, user);
	int ret = -1;

	*group_r = NULL;
	if (key != NULL)
		ret = q->j->v->group_get(q, key, group_r);
	g_free(key);
	return journal_quota_result(q, ret, error_r);
}

int journal_group_set(struct journal_quota *q, const char *user,
		      const char *group, const char **error_r)
{
	char *key = journal_user_of(q, user);
	int ret = -1;

	/* a group is a name, never an address: limits look a subject up as
	   the organiser first, so the two must not be confused */
	if (key != NULL && group != NULL &&
	    (!journal_name_is_valid(group) || strchr(group, '@') != NULL ||
	     strcmp(group, "*") == 0))
		journal_quota_error(q, "not a usable group name: %s", group);
	else if (key != NULL)
		ret = q->j->v->group_set(q, key, group);
	g_free(key);
	return journal_quota_result(q, ret, error_r);
}

static gint journal_member_cmp(gconstpointer a, gconstpointer b)
{
	const struct journal_member *ma = *(struct journal_member *const *)a;
	const struct journal_member *mb = *(struct journal_member *const *)b;

	return strcmp(ma->user, mb->user);
}

int journal_groups_list(struct journal_quota *q, GPtrArray *lines_r,
			const char **error_r)
{
	GPtrArray *members = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_member_free);
	int ret = q->j->v->groups_list(q, members);

	g_ptr_array_sort(members, journal_member_cmp);
	for (guint i = 0; ret == 0 && i < members->len; i++) {
		const struct journal_member *m = g_ptr_array_index(members, i);

		g_ptr_array_add(lines_r, g_strdup_printf("%s\t%s", m->user,
							 m->group));
	}
	g_ptr_array_free(members, TRUE);
	return journal_quota_result(q, ret, error_r);
}

/* --- delegates ---------------------------------------------------------- */

int journal_delegates_get(struct journal_quota *q, GPtrArray *delegates_r,
			  const char **error_r)
{
	return journal_quota_result(q, q->j->v->delegates_get(q, delegates_r),
				    error_r);
}

/* The order is kept: it is the order in which schedule_for_delegate
   tries the pool.  A repeated address counts once, where first given. */
int journal_delegates_set(struct journal_quota *q, const GPtrArray *delegates,
			  const char **error_r)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	int ret = 0;

	for (guint i = 0; delegates != NULL && i < delegates->len; i++) {
		const char *value = g_ptr_array_index(delegates, i);
		char *addr = address_normalize(value);

		if (addr == NULL) {
			ret = journal_quota_error(q, "not a usable address: "
						  "%s", value == NULL ?
						  "(null)" : value);
			break;
		}
		if (g_hash_table_contains(seen, addr)) {
			g_free(addr);
			continue;
		}
		g_hash_table_add(seen, addr);
		g_ptr_array_add(list, addr);
	}
	if (ret == 0)
		ret = q->j->v->delegates_set(q, list);
	g_hash_table_destroy(seen);
	g_ptr_array_free(list, TRUE);
	return journal_quota_result(q, ret, error_r);
}

/* --- reservations ------------------------------------------------------- */

void journal_reservation_free(struct journal_reservation *r)
{
	if (r == NULL)
		return;
	g_free(r->resource);
	g_free(r->uid);
	g_free(r->rid);
	g_free(r->organiser);
	g_free(r);
}

gint journal_reservation_cmp(gconstpointer a, gconstpointer b)
{
	const struct journal_reservation *ra =
		*(struct journal_reservation *const *)a;
	const struct journal_reservation *rb =
		*(struct journal_reservation *const *)b;
	gint c;

	if (ra->start != rb->start)
		return ra->start < rb->start ? -1 : 1;
	if (ra->end != rb->end)
		return ra->end < rb->end ? -1 : 1;
	if ((c = g_strcmp0(ra->resource, rb->resource)) != 0)
		return c;
	if ((c = g_strcmp0(ra->uid, rb->uid)) != 0)
		return c;
	return g_strcmp0(ra->rid, rb->rid);
}

int journal_reservations_read(struct journal_quota *q, GPtrArray *out,
			      const char **error_r)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	int ret = q->j->v->reservations_read(q, list);

	if (ret == 0) {
		g_ptr_array_sort(list, journal_reservation_cmp);
		for (guint i = 0; i < list->len; i++)
			g_ptr_array_add(out, list->pdata[i]);
		/* the reservations now belong to `out` */
		g_ptr_array_set_free_func(list, NULL);
	}
	g_ptr_array_free(list, TRUE);
	return journal_quota_result(q, ret, error_r);
}

/* A checked, normalised copy of one new reservation of (resource, uid);
   its own resource and uid may be NULL, meaning those. */
static struct journal_reservation *
journal_reservation_check(struct journal_quota *q, const char *resource,
			  const char *uid,
			  const struct journal_reservation *in)
{
	struct journal_reservation *r;
	char *res;

	if (in == NULL || in->start >= in->end) {
		journal_quota_error(q, "reservation of %s without a positive "
				    "duration", uid);
		return NULL;
	}
	if (in->uid != NULL && strcmp(in->uid, uid) != 0) {
		journal_quota_error(q, "reservation of UID %s given for %s",
				    in->uid, uid);
		return NULL;
	}
	if (in->rid != NULL && *in->rid == '\0') {
		journal_quota_error(q, "empty RECURRENCE-ID in a reservation "
				    "of %s", uid);
		return NULL;
	}
	if (in->resource != NULL) {
		res = address_normalize(in->resource);
		if (res == NULL || strcmp(res, resource) != 0) {
			journal_quota_error(q, "reservation of %s given for "
					    "%s", in->resource, resource);
			g_free(res);
			return NULL;
		}
		g_free(res);
	}
	r = g_new0(struct journal_reservation, 1);
	r->organiser = address_normalize(in->organiser);
	if (r->organiser == NULL) {
		journal_quota_error(q, "not a usable organiser address: %s",
				    in->organiser == NULL ? "(null)" :
				    in->organiser);
		g_free(r);
		return NULL;
	}
	r->resource = g_strdup(resource);
	r->uid = g_strdup(uid);
	r->rid = g_strdup(in->rid);
	r->start = in->start;
	r->end = in->end;
	return r;
}

/* `list` holds a reservation of the same booking with r's instance and
   period. */
static bool journal_reservation_is_in(const GPtrArray *list,
				      const struct journal_reservation *r)
{
	for (guint i = 0; i < list->len; i++) {
		const struct journal_reservation *o =
			g_ptr_array_index(list, i);

		if (o->start == r->start && o->end == r->end &&
		    g_strcmp0(o->rid, r->rid) == 0)
			return true;
	}
	return false;
}

int journal_reservations_replace(struct journal_quota *q,
				 const char *resource, const char *uid,
				 const GPtrArray *list, const char **error_r)
{
	GPtrArray *fresh = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	char *res = address_normalize(resource);
	int ret = -1;

	if (res == NULL) {
		journal_quota_error(q, "not a usable resource address: %s",
				    resource == NULL ? "(null)" : resource);
		goto out;
	}
	if (uid == NULL || *uid == '\0') {
		journal_quota_error(q, "reservation without a UID");
		goto out;
	}
	/* check everything before touching the table: all or nothing */
	for (guint i = 0; list != NULL && i < list->len; i++) {
		struct journal_reservation *r = journal_reservation_check(
			q, res, uid, g_ptr_array_index(list, i));

		if (r == NULL)
			goto out;
		/* the same instance twice counts once: both backends keep
		   one row per (rid, start, end) of a booking */
		if (journal_reservation_is_in(fresh, r))
			journal_reservation_free(r);
		else
			g_ptr_array_add(fresh, r);
	}
	ret = q->j->v->reservations_replace(q, res, uid, fresh);
out:
	g_free(res);
	g_ptr_array_free(fresh, TRUE);
	return journal_quota_result(q, ret, error_r);
}

int journal_expire(struct journal_quota *q, time_t now,
		   unsigned int *removed_r, const char **error_r)
{
	unsigned int removed = 0;
	int ret = q->j->v->expire(q, now, &removed);

	if (removed_r != NULL)
		*removed_r = ret < 0 ? 0 : removed;
	return journal_quota_result(q, ret, error_r);
}
