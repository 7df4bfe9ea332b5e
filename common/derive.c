/* Derived free/busy and requests: see derive.h.  One function computes
   what the store should hold for a UID; the handlers call it after every
   change and `imip-admin rebuild` calls it for every UID, so both always
   agree. */

#include "derive.h"
#include "address.h"
#include "calstore.h"
#include "config.h"
#include "freebusy.h"
#include "ical-object.h"
#include "itip.h"
#include "prefs.h"
#include "store.h"

#include <string.h>
#include <glib.h>


struct derive_tables {
	struct fb_list *own;
	GHashTable *others;	/* address -> struct fb_list * */
};

static void derive_fb_list_destroy(void *list)
{
	struct fb_list *l = list;

	fb_list_free(&l);
}

static struct fb_list *derive_other(struct derive_tables *t,
				    const char *address)
{
	struct fb_list *list = g_hash_table_lookup(t->others, address);

	if (list == NULL) {
		list = fb_list_new();
		g_hash_table_insert(t->others, g_strdup(address), list);
	}
	return list;
}

void derive_window(const struct derive_params *p, const struct ical_object *obj,
		   time_t *start_r, time_t *end_r)
{
	time_t horizon = (time_t)p->config->freebusy_horizon_days * 86400;

	*start_r = 0;
	*end_r = DERIVE_TIME_MAX;
	if (calstore_is_endless(obj)) {
		*start_r = p->now - horizon;
		*end_r = p->now + horizon;
	}
}

int derive_object_periods(const struct derive_params *p,
			  const struct ical_object *obj, struct fb_list *out,
			  const char **error_r)
{
	time_t start, end;
	bool endless = false;

	derive_window(p, obj, &start, &end);
	return fb_periods_of_object(obj, p->user_zone, start, end,
				    p->config->limits.instances, true, out,
				    &endless, error_r);
}

static bool derive_partstat_is_busy(icalparameter_partstat partstat);

static bool derive_is_self(const struct derive_params *p, const char *address)
{
	if (address == NULL)
		return false;
	if (strcmp(address, p->user) == 0)
		return true;
	for (unsigned int i = 0; p->aliases != NULL && i < p->aliases->len; i++) {
		if (strcmp(address, g_ptr_array_index(p->aliases, i)) == 0)
			return true;
	}
	return false;
}

/* The user's PARTSTAT under any of the user's addresses. */
static bool derive_self_is_busy(const struct derive_params *p,
				icalcomponent *comp)
{
	if (derive_partstat_is_busy(itip_partstat_of(comp, p->user)))
		return true;
	for (unsigned int i = 0; p->aliases != NULL && i < p->aliases->len; i++) {
		if (derive_partstat_is_busy(itip_partstat_of(
			comp, g_ptr_array_index(p->aliases, i))))
			return true;
	}
	return false;
}

static bool derive_partstat_is_busy(icalparameter_partstat partstat)
{
	return partstat == ICAL_PARTSTAT_ACCEPTED ||
	       partstat == ICAL_PARTSTAT_TENTATIVE;
}

/* The component that describes an instance: its override, else the
   master. */
static icalcomponent *derive_instance_comp(const struct ical_object *obj,
					   const struct fb_period *period)
{
	icalcomponent *comp = NULL;

	if (period->rid != NULL)
		comp = ical_object_find_override(obj, period->rid);
	if (comp == NULL)
		comp = obj->master != NULL ? obj->master : itip_object_first(obj);
	return comp;
}

static void derive_attendee_periods(struct derive_tables *t,
				    const struct derive_params *p, icalcomponent *comp,
				    const struct fb_period *period)
{
	icalproperty *prop;

	for (prop = icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY);
	     prop != NULL;
	     prop = icalcomponent_get_next_property(comp, ICAL_ATTENDEE_PROPERTY)) {
		char *address = ical_property_address(prop);
		icalparameter *param = icalproperty_get_first_parameter(
			prop, ICAL_PARTSTAT_PARAMETER);

		if (address != NULL && !derive_is_self(p, address) &&
		    param != NULL &&
		    derive_partstat_is_busy(icalparameter_get_partstat(param)))
			fb_list_add(derive_other(t, address), period);
		g_free(address);
	}
}

static void derive_add_object(const struct derive_params *p,
			      struct derive_tables *t,
			      const struct ical_object *obj,
			      const struct fb_list *periods)
{
	for (unsigned int i = 0; i < periods->periods->len; i++) {
		const struct fb_period *period =
			g_ptr_array_index(periods->periods, i);
		icalcomponent *comp = derive_instance_comp(obj, period);
		char *organiser = comp == NULL ? NULL : ical_organizer_of(comp);
		bool own_event = derive_is_self(p, organiser);

		if (comp == NULL) {
			g_free(organiser);
			continue;
		}
		if (own_event || derive_self_is_busy(p, comp))
			fb_list_add(t->own, period);
		if (own_event)
			derive_attendee_periods(t, p, comp, period);
		else if (organiser != NULL)
			fb_list_add(derive_other(t, organiser), period);
		g_free(organiser);
	}
}

/* Read every table, dropping the UID's periods (uid NULL: keep all). */
static int derive_tables_read(const struct derive_params *p,
			      struct derive_tables *t, GPtrArray *others,
			      const char **error_r)
{
	t->own = fb_list_new();
	t->others = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  derive_fb_list_destroy);
	if (store_fb_read(p->su, STORE_FB_OWN, NULL, t->own, error_r) < 0 ||
	    store_fb_list_others(p->su, others, error_r) < 0)
		return -1;
	for (unsigned int i = 0; i < others->len; i++) {
		const char *other = g_ptr_array_index(others, i);

		if (store_fb_read(p->su, STORE_FB_OTHER, other,
				  derive_other(t, other), error_r) < 0)
			return -1;
	}
	return 0;
}

static void derive_tables_free(struct derive_tables *t)
{
	fb_list_free(&t->own);
	if (t->others != NULL)
		g_hash_table_destroy(t->others);
}

/* Rebuild writes every table (the store rewrites only files whose content
   changes, and converts tables of an earlier layout); *changed_r tells
   whether the content changed. */
static int derive_write_if_changed(const struct derive_params *p,
				   enum store_fb_table table,
				   const char *other, const struct fb_list *list,
				   const char *before, bool *changed_r,
				   const char **error_r)
{
	GString *after = fb_list_format(list);
	bool changed = strcmp(after->str, before) != 0;
	int ret = store_fb_write(p->su, table, other, list, error_r);

	if (changed_r != NULL)
		*changed_r = changed;
	g_string_free(after, TRUE);
	return ret;
}

struct derive_snapshot {
	char *own;
	GHashTable *others;	/* address -> formatted text */
};

static void derive_snapshot_take(struct derive_tables *t,
				 struct derive_snapshot *s)
{
	GHashTableIter iter;
	void *key, *value;

	s->own = g_string_free(fb_list_format(t->own), FALSE);
	s->others = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_iter_init(&iter, t->others);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		g_hash_table_insert(s->others, g_strdup(key),
				    g_string_free(fb_list_format(value), FALSE));
	}
}

static void derive_snapshot_free(struct derive_snapshot *s)
{
	g_free(s->own);
	if (s->others != NULL)
		g_hash_table_destroy(s->others);
}

static int derive_tables_write(const struct derive_params *p,
			       struct derive_tables *t,
			       const struct derive_snapshot *s,
			       bool *own_changed_r, const char **error_r)
{
	GHashTableIter iter;
	void *key, *value;

	if (derive_write_if_changed(p, STORE_FB_OWN, NULL, t->own, s->own,
				    own_changed_r, error_r) < 0)
		return -1;
	g_hash_table_iter_init(&iter, t->others);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		const char *before = g_hash_table_lookup(s->others, key);

		if (derive_write_if_changed(p, STORE_FB_OTHER, key, value,
					    before != NULL ? before : "",
					    NULL, error_r) < 0)
			return -1;
	}
	return 0;
}

static void derive_list_remove_set(struct fb_list *list, GHashTable *uids)
{
	guint out = 0;

	for (guint i = 0; i < list->periods->len; i++) {
		struct fb_period *p = list->periods->pdata[i];

		if (p->uid != NULL && g_hash_table_contains(uids, p->uid))
			fb_period_free(p);
		else
			list->periods->pdata[out++] = p;
	}
	g_ptr_array_set_size(list->periods, out);
}

/* Drop the periods of every UID in `uids` from the tables in one pass
   (rebuild: removing them one UID at a time costs N^2). */
static void derive_tables_remove_uids(struct derive_tables *t,
				      const GPtrArray *uids)
{
	GHashTable *set = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter iter;
	void *value;

	for (guint i = 0; i < uids->len; i++)
		g_hash_table_add(set, g_ptr_array_index(uids, i));
	derive_list_remove_set(t->own, set);
	g_hash_table_iter_init(&iter, t->others);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		derive_list_remove_set(value, set);
	g_hash_table_destroy(set);
}

/* The tables must hold nothing of uid yet (derive_uid starts empty,
   rebuild removes the stored UIDs first). */
static int derive_uid_into(const struct derive_params *p,
			   struct derive_tables *t, const char *uid,
			   const char **error_r)
{
	struct ical_object *obj = NULL;
	struct fb_list *periods;
	int r;

	r = calstore_load(p->su, uid, &obj, error_r);
	if (r <= 0)
		return r;
	periods = fb_list_new();
	r = derive_object_periods(p, obj, periods, error_r);
	if (r == 0)
		derive_add_object(p, t, obj, periods);
	fb_list_free(&periods);
	ical_object_free(obj);
	return r;
}

/* Replace the UID's periods in every table that holds or will hold
   some: the own table, and the freebusy-other tables the store names
   for the UID (those it leaves get an empty list) and those it enters.
   Only those: a message must not cost more because the user knows many
   parties. */
static int derive_tables_replace(const struct derive_params *p,
				 struct derive_tables *t, const char *uid,
				 bool *own_changed_r, const char **error_r)
{
	GPtrArray *others = g_ptr_array_new_with_free_func(g_free);
	struct fb_list *none = fb_list_new();
	GHashTableIter iter;
	gpointer key, value;
	int ret = store_fb_replace_uid(p->su, STORE_FB_OWN, NULL, uid, t->own,
				       error_r);

	*own_changed_r = ret > 0;
	if (ret >= 0)
		ret = store_fb_others_of_uid(p->su, uid, others, error_r);
	for (guint i = 0; ret >= 0 && i < others->len; i++) {
		const char *other = g_ptr_array_index(others, i);

		if (g_hash_table_lookup(t->others, other) == NULL)
			ret = store_fb_replace_uid(p->su, STORE_FB_OTHER, other,
						   uid, none, error_r);
	}
	g_hash_table_iter_init(&iter, t->others);
	while (ret >= 0 && g_hash_table_iter_next(&iter, &key, &value))
		ret = store_fb_replace_uid(p->su, STORE_FB_OTHER, key, uid,
					   value, error_r);
	fb_list_free(&none);
	g_ptr_array_free(others, TRUE);
	return ret < 0 ? -1 : 0;
}

/* --- the request list ---------------------------------------------------- */

static void derive_request_destroy(void *r)
{
	store_request_free(r);
}

gint derive_request_compare(gconstpointer a, gconstpointer b)
{
	const struct store_request *x = *(const struct store_request *const *)a;
	const struct store_request *y = *(const struct store_request *const *)b;
	int c = strcmp(x->uid, y->uid);

	if (c == 0)
		c = g_strcmp0(x->rid, y->rid);
	if (c == 0)
		c = strcmp(x->kind, y->kind);
	return c;
}

static void derive_request_add(GPtrArray *out, const char *uid,
			       const char *rid, const char *kind)
{
	struct store_request *r = g_new0(struct store_request, 1);

	r->uid = g_strdup(uid);
	r->rid = g_strdup(rid);
	r->kind = g_strdup(kind);
	g_ptr_array_add(out, r);
}

static void derive_awaiting_requests(const struct ical_object *obj,
				     GPtrArray *out)
{
	GPtrArray *comps = ical_object_components(obj);

	for (unsigned int i = 0; i < comps->len; i++) {
		icalcomponent *comp = g_ptr_array_index(comps, i);
		char *rid;

		/* a cancelled component is stored without the mark */
		if (!calstore_is_awaiting(comp))
			continue;
		rid = ical_rid_of(comp);
		derive_request_add(out, obj->uid, rid, "request");
		g_free(rid);
	}
	g_ptr_array_free(comps, TRUE);
}

/* The counter-proposal's event is active: its instance's own override if
   stored, else the master. */
static int derive_counter_is_live(const struct derive_params *p,
				  const char *uid, const char *rid,
				  const char **error_r)
{
	enum store_state state;
	int r = calstore_state(p->su, uid, rid, &state, error_r);

	if (r == 0 && rid != NULL)
		r = calstore_state(p->su, uid, NULL, &state, error_r);
	if (r <= 0)
		return r;
	return state == STORE_STATE_ACTIVE ? 1 : 0;
}

static bool derive_has_request(const GPtrArray *out, unsigned int from,
			       const char *rid, const char *kind)
{
	for (unsigned int i = from; i < out->len; i++) {
		const struct store_request *r = g_ptr_array_index(out, i);

		if (g_strcmp0(r->rid, rid) == 0 && strcmp(r->kind, kind) == 0)
			return true;
	}
	return false;
}

static int derive_counter_requests(const struct derive_params *p,
				   const char *uid, const GPtrArray *counters,
				   GPtrArray *out, const char **error_r)
{
	unsigned int from = out->len;

	for (unsigned int i = 0; i < counters->len; i++) {
		const struct store_counter *c = g_ptr_array_index(counters, i);
		int r;

		/* one entry per instance, however many attendees proposed */
		if (strcmp(c->uid, uid) != 0 ||
		    derive_has_request(out, from, c->rid, "counter"))
			continue;
		r = derive_counter_is_live(p, uid, c->rid, error_r);
		if (r < 0)
			return -1;
		if (r > 0)
			derive_request_add(out, uid, c->rid, "counter");
	}
	return 0;
}

int derive_requests_of_uid(const struct derive_params *p, const char *uid,
			   const GPtrArray *counters, GPtrArray *out,
			   const char **error_r)
{
	struct ical_object *obj = NULL;
	unsigned int from = out->len;
	int r = calstore_load(p->su, uid, &obj, error_r);

	if (r < 0)
		return -1;
	if (obj != NULL) {
		derive_awaiting_requests(obj, out);
		ical_object_free(obj);
	}
	if (derive_counter_requests(p, uid, counters, out, error_r) < 0)
		return -1;
	if (out->len > from)
		qsort(out->pdata + from, out->len - from, sizeof(gpointer),
		      derive_request_compare);
	return 0;
}

static bool derive_requests_equal(const GPtrArray *a, const GPtrArray *b)
{
	if (a->len != b->len)
		return false;
	for (unsigned int i = 0; i < a->len; i++) {
		if (derive_request_compare(&a->pdata[i], &b->pdata[i]) != 0)
			return false;
	}
	return true;
}

/* Write the list sorted, when it is not what is stored already. */
static int derive_requests_write(const struct derive_params *p,
				 const GPtrArray *before, GPtrArray *after,
				 const char **error_r)
{
	g_ptr_array_sort(after, derive_request_compare);
	if (derive_requests_equal(before, after))
		return 0;
	return store_requests_write(p->su, after, error_r);
}

/* Replace the entries of `uids` (char *; every stored UID when all) in
   the request list by what the store says they are. */
static int derive_requests(const struct derive_params *p, const GPtrArray *uids,
			   bool all, const char **error_r)
{
	GPtrArray *before = g_ptr_array_new_with_free_func(derive_request_destroy);
	GPtrArray *after = g_ptr_array_new_with_free_func(derive_request_destroy);
	GPtrArray *counters = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_counter_free);
	int ret = -1;

	if (store_requests_read(p->su, before, error_r) < 0 ||
	    store_counter_list(p->su, counters, error_r) < 0)
		goto out;
	for (unsigned int i = 0; !all && i < before->len; i++) {
		struct store_request *r = g_ptr_array_index(before, i);
		bool derived_here = false;

		for (unsigned int j = 0; j < uids->len && !derived_here; j++)
			derived_here = strcmp(r->uid, g_ptr_array_index(uids, j)) == 0;
		if (!derived_here)
			derive_request_add(after, r->uid, r->rid, r->kind);
	}
	ret = 0;
	for (unsigned int i = 0; i < uids->len && ret == 0; i++)
		ret = derive_requests_of_uid(p, g_ptr_array_index(uids, i),
					     counters, after, error_r);
	if (ret == 0)
		ret = derive_requests_write(p, before, after, error_r);
out:
	g_ptr_array_free(before, TRUE);
	g_ptr_array_free(after, TRUE);
	g_ptr_array_free(counters, TRUE);
	return ret;
}

int derive_uid(const struct derive_params *p, const char *uid,
	       bool *own_changed_r, const char **error_r)
{
	struct derive_tables t;
	int ret = -1;

	*own_changed_r = false;
	/* only this UID's periods: the store replaces them in place */
	t.own = fb_list_new();
	t.others = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 derive_fb_list_destroy);
	if (derive_uid_into(p, &t, uid, error_r) >= 0 &&
	    derive_tables_replace(p, &t, uid, own_changed_r, error_r) == 0)
		ret = 0;
	if (ret == 0) {
		GPtrArray *one = g_ptr_array_new();

		g_ptr_array_add(one, (char *)uid);
		ret = derive_requests(p, one, false, error_r);
		g_ptr_array_free(one, TRUE);
	}
	derive_tables_free(&t);
	return ret;
}

int derive_rebuild(const struct derive_params *p, const char **error_r)
{
	struct derive_tables t = { NULL, NULL };
	struct derive_snapshot s = { NULL, NULL };
	GPtrArray *others = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *uids = g_ptr_array_new_with_free_func(g_free);
	bool own_changed;
	int ret = -1;

	if (derive_tables_read(p, &t, others, error_r) == 0 &&
	    store_object_list_uids(p->su, uids, error_r) >= 0) {
		derive_snapshot_take(&t, &s);
		derive_tables_remove_uids(&t, uids);
		ret = 0;
		for (unsigned int i = 0; i < uids->len && ret == 0; i++) {
			/* An object whose recurrence is beyond the limits was
			   never accepted; if one was put there by hand it
			   gives no free/busy rather than stopping the
			   rebuild. */
			const char *err;
			if (derive_uid_into(p, &t, g_ptr_array_index(uids, i),
					    &err) < 0 &&
			    strstr(err, "(limit_") == NULL) {
				*error_r = err;
				ret = -1;
			}
		}
		if (ret == 0)
			ret = derive_tables_write(p, &t, &s, &own_changed,
						  error_r);
		if (ret == 0)
			ret = derive_requests(p, uids, true, error_r);
		if (ret == 0)
			ret = derive_publish(p, error_r);
	}
	derive_snapshot_free(&s);
	derive_tables_free(&t);
	g_ptr_array_free(others, TRUE);
	g_ptr_array_free(uids, TRUE);
	return ret;
}

int derive_publish(const struct derive_params *p, const char **error_r)
{
	struct fb_list *own;
	char *text, *uid;
	time_t horizon = (time_t)p->config->freebusy_horizon_days * 86400;
	int ret;

	/* imip-preferences(5): publishing needs both preferences, so a user
	   who stops sharing also stops publishing. */
	if (!prefs_is(p->config, p->su, "freebusy_publishing", "publish") ||
	    !prefs_is(p->config, p->su, "freebusy_sharing", "share"))
		return store_static_write(p->su, NULL, error_r);
	own = fb_list_new();
	if (store_fb_read_window(p->su, STORE_FB_OWN, NULL, p->now,
				 p->now + horizon, own, error_r) < 0) {
		fb_list_free(&own);
		return -1;
	}
	/* A stable UID: clients that subscribe see one object updated. */
	uid = g_strconcat("freebusy-", p->user, NULL);
	text = fb_vfreebusy_text(own, p->now, p->now + horizon, "PUBLISH", uid,
				 p->user, NULL, NULL, p->now);
	ret = store_static_write(p->su, text, error_r);
	g_free(uid);
	g_free(text);
	fb_list_free(&own);
	return ret;
}
