/* imip-admin copy-store [--replace] FROM TO [ADDR...]: copy user stores
   from the store FROM's imip.conf names to the one TO's names, in either
   direction between the file store and PostgreSQL (docs/postgresql.md
   section 7), or between two of a kind.

   Everything the store interface holds is copied, through that
   interface only, so any pair of backends works: calendar objects in
   both states with their overrides, counter-proposals, the request
   list, the three free/busy tables (own, every other party, offers),
   preferences, the seen list (with the outcome and reason of each
   entry), both outbox queues, and the published free/busy.  When no
   ADDR is named (the whole store), the quota journals go too
   (admin-copy-quotas.c): they follow store_backend as the store does.

   Each user is first read whole in one read-only session of FROM (one
   consistent state, and FROM's lock is never held while TO is written),
   then written in one writer session of TO, committed with
   store_user_commit().  On PostgreSQL a failed write leaves nothing of
   that user (the transaction is not committed); a file store may keep
   what was written before the failure (copy again with --replace).

   TO must not hold any of the users yet: then nothing is copied at all.
   With --replace, a user TO holds is first emptied through the
   interface (objects, counters, free/busy tables, preferences, outbox,
   the seen list and published free/busy of TO that FROM does not have
   go): a message only TO processed must not stay "already processed"
   once what it did is replaced, or its next copy would change nothing.

   One line per user copied (tab-separated): "copied", the user, then
   name=count fields.  Errors name the user and the item; the run goes
   on with the next user, and the exit status is 74 if any failed. */

#include "admin.h"
#include "admin-copy.h"

#include "address.h"
#include "config.h"
#include "freebusy.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

/* --- what one user's store holds ------------------------------------------ */

struct copy_object {
	char *uid;
	char *rid;		/* NULL: the master */
	enum store_state state;
	char *text;
};

struct copy_fb_other {
	char *other;
	struct fb_list *list;
};

struct copy_pref {
	char *name;
	char *value;
};

struct copy_outbox_entry {
	char *name;
	char *data;
	size_t len;
};

struct copy_user {
	GPtrArray *objects;		/* struct copy_object * */
	GPtrArray *counters;		/* struct store_counter * */
	GPtrArray *requests;		/* struct store_request * */
	struct fb_list *own, *offers;
	GPtrArray *others;		/* struct copy_fb_other * */
	GPtrArray *prefs;		/* struct copy_pref * */
	GPtrArray *seen;		/* struct store_seen *, oldest first */
	GPtrArray *outbox[2];		/* struct copy_outbox_entry *, per
					   enum store_outbox_queue */
	char *published;		/* NULL: nothing published */
};

static void copy_object_free(void *p)
{
	struct copy_object *o = p;

	g_free(o->uid);
	g_free(o->rid);
	g_free(o->text);
	g_free(o);
}

static void copy_fb_other_free(void *p)
{
	struct copy_fb_other *o = p;

	g_free(o->other);
	fb_list_free(&o->list);
	g_free(o);
}

static void copy_pref_free(void *p)
{
	struct copy_pref *pref = p;

	g_free(pref->name);
	g_free(pref->value);
	g_free(pref);
}

static void copy_outbox_entry_free(void *p)
{
	struct copy_outbox_entry *e = p;

	g_free(e->name);
	g_free(e->data);
	g_free(e);
}

static struct copy_user *copy_user_new(void)
{
	struct copy_user *cu = g_new0(struct copy_user, 1);

	cu->objects = g_ptr_array_new_with_free_func(copy_object_free);
	cu->counters = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_counter_free);
	cu->requests = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_request_free);
	cu->own = fb_list_new();
	cu->offers = fb_list_new();
	cu->others = g_ptr_array_new_with_free_func(copy_fb_other_free);
	cu->prefs = g_ptr_array_new_with_free_func(copy_pref_free);
	cu->seen = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_seen_free);
	for (unsigned int q = 0; q < G_N_ELEMENTS(cu->outbox); q++)
		cu->outbox[q] = g_ptr_array_new_with_free_func(
			copy_outbox_entry_free);
	return cu;
}

static void copy_user_free(struct copy_user **_cu)
{
	struct copy_user *cu = *_cu;

	if (cu == NULL)
		return;
	*_cu = NULL;
	g_ptr_array_free(cu->objects, TRUE);
	g_ptr_array_free(cu->counters, TRUE);
	g_ptr_array_free(cu->requests, TRUE);
	fb_list_free(&cu->own);
	fb_list_free(&cu->offers);
	g_ptr_array_free(cu->others, TRUE);
	g_ptr_array_free(cu->prefs, TRUE);
	g_ptr_array_free(cu->seen, TRUE);
	for (unsigned int q = 0; q < G_N_ELEMENTS(cu->outbox); q++)
		g_ptr_array_free(cu->outbox[q], TRUE);
	g_free(cu->published);
	g_free(cu);
}

/* --- errors ---------------------------------------------------------------- */

/* "copy-store: USER: ITEM: ERROR"; returns -1. */
static int copy_fail(const char *user, const char *item, const char *error)
{
	admin_error("copy-store: %s: %s: %s", user, item, error);
	return -1;
}

static int copy_fail_named(const char *user, const char *what,
			   const char *name, const char *error)
{
	char *item = g_strdup_printf("%s %s", what, name);

	copy_fail(user, item, error);
	g_free(item);
	return -1;
}

static const char *copy_queue_name(enum store_outbox_queue queue)
{
	return queue == STORE_OUTBOX_FAILED ? "outbox/failed" : "outbox";
}

/* --- reading from FROM ----------------------------------------------------- */

static int copy_load_one_object(struct store_user *su, struct copy_user *cu,
				const char *uid, const char *rid)
{
	struct copy_object *o;
	enum store_state state;
	const char *error;
	char *text = NULL;
	int r = store_object_get(su, uid, rid, &state, &text, &error);

	if (r < 0)
		return copy_fail_named(store_user_name(su), "object",
				       rid == NULL ? uid : rid, error);
	/* a UID may have overrides and no master */
	if (r == 0)
		return 0;
	o = g_new0(struct copy_object, 1);
	o->uid = g_strdup(uid);
	o->rid = g_strdup(rid);
	o->state = state;
	o->text = text;
	g_ptr_array_add(cu->objects, o);
	return 0;
}

static int copy_load_objects(struct store_user *su, struct copy_user *cu)
{
	GPtrArray *uids = g_ptr_array_new_with_free_func(g_free);
	const char *error, *user = store_user_name(su);
	int ret = 0;

	if (store_object_list_uids(su, uids, &error) < 0)
		ret = copy_fail(user, "objects", error);
	for (unsigned int i = 0; i < uids->len && ret == 0; i++) {
		const char *uid = g_ptr_array_index(uids, i);
		GPtrArray *rids = g_ptr_array_new_with_free_func(g_free);

		ret = copy_load_one_object(su, cu, uid, NULL);
		if (ret == 0 &&
		    (store_object_list_rids(su, uid, STORE_STATE_ACTIVE, rids,
					    &error) < 0 ||
		     store_object_list_rids(su, uid, STORE_STATE_CANCELLED,
					    rids, &error) < 0))
			ret = copy_fail_named(user, "object", uid, error);
		for (unsigned int j = 0; j < rids->len && ret == 0; j++)
			ret = copy_load_one_object(su, cu, uid,
						   g_ptr_array_index(rids, j));
		g_ptr_array_free(rids, TRUE);
	}
	g_ptr_array_free(uids, TRUE);
	return ret;
}

static int copy_load_freebusy(struct store_user *su, struct copy_user *cu)
{
	GPtrArray *others = g_ptr_array_new_with_free_func(g_free);
	const char *error, *user = store_user_name(su);
	int ret = 0;

	if (store_fb_read(su, STORE_FB_OWN, NULL, cu->own, &error) < 0)
		ret = copy_fail(user, "freebusy", error);
	else if (store_fb_read(su, STORE_FB_OFFERS, NULL, cu->offers,
			       &error) < 0)
		ret = copy_fail(user, "freebusy-offers", error);
	else if (store_fb_list_others(su, others, &error) < 0)
		ret = copy_fail(user, "freebusy-other", error);
	for (unsigned int i = 0; i < others->len && ret == 0; i++) {
		struct copy_fb_other *o = g_new0(struct copy_fb_other, 1);

		o->other = g_strdup(g_ptr_array_index(others, i));
		o->list = fb_list_new();
		g_ptr_array_add(cu->others, o);
		if (store_fb_read(su, STORE_FB_OTHER, o->other, o->list,
				  &error) < 0)
			ret = copy_fail_named(user, "freebusy-other",
					      o->other, error);
	}
	g_ptr_array_free(others, TRUE);
	return ret;
}

static int copy_load_prefs(struct store_user *su, struct copy_user *cu)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *error, *user = store_user_name(su);
	int ret = 0;

	if (store_pref_list(su, names, &error) < 0)
		ret = copy_fail(user, "preferences", error);
	for (unsigned int i = 0; i < names->len && ret == 0; i++) {
		const char *name = g_ptr_array_index(names, i);
		char *value = NULL;
		int r = store_pref_get(su, name, &value, &error);

		if (r < 0) {
			ret = copy_fail_named(user, "preference", name, error);
		} else if (r > 0) {
			struct copy_pref *pref = g_new0(struct copy_pref, 1);

			pref->name = g_strdup(name);
			pref->value = value;
			g_ptr_array_add(cu->prefs, pref);
		}
	}
	g_ptr_array_free(names, TRUE);
	return ret;
}

static int copy_load_outbox(struct store_user *su, struct copy_user *cu,
			    enum store_outbox_queue queue)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *error, *user = store_user_name(su);
	int ret = 0;

	if (store_outbox_list(su, queue, names, &error) < 0)
		ret = copy_fail(user, copy_queue_name(queue), error);
	for (unsigned int i = 0; i < names->len && ret == 0; i++) {
		struct copy_outbox_entry *e = g_new0(struct copy_outbox_entry, 1);
		int r;

		e->name = g_strdup(g_ptr_array_index(names, i));
		r = store_outbox_get(su, queue, e->name, &e->data, &e->len,
				     &error);
		if (r < 0)
			ret = copy_fail_named(user, copy_queue_name(queue),
					      e->name, error);
		/* sent by a delivery since the listing: nothing to copy */
		if (r <= 0) {
			copy_outbox_entry_free(e);
			continue;
		}
		g_ptr_array_add(cu->outbox[queue], e);
	}
	g_ptr_array_free(names, TRUE);
	return ret;
}

/* Everything of one user, in one read-only session of FROM. */
static int copy_load(struct store_user *su, struct copy_user *cu)
{
	const char *error, *user = store_user_name(su);

	if (copy_load_objects(su, cu) < 0)
		return -1;
	if (store_counter_list(su, cu->counters, &error) < 0)
		return copy_fail(user, "counters", error);
	if (store_requests_read(su, cu->requests, &error) < 0)
		return copy_fail(user, "requests", error);
	if (copy_load_freebusy(su, cu) < 0 || copy_load_prefs(su, cu) < 0)
		return -1;
	if (store_seen_list(su, cu->seen, &error) < 0)
		return copy_fail(user, "seen", error);
	if (copy_load_outbox(su, cu, STORE_OUTBOX_QUEUED) < 0 ||
	    copy_load_outbox(su, cu, STORE_OUTBOX_FAILED) < 0)
		return -1;
	if (store_static_read(su, &cu->published, &error) < 0)
		return copy_fail(user, "published", error);
	return 0;
}

/* --- emptying a user of TO (--replace) ------------------------------------ */

static int copy_clear_objects(struct store_user *su)
{
	GPtrArray *uids = g_ptr_array_new_with_free_func(g_free);
	const char *error, *user = store_user_name(su);
	int ret = 0;

	if (store_object_list_uids(su, uids, &error) < 0)
		ret = copy_fail(user, "objects", error);
	for (unsigned int i = 0; i < uids->len && ret == 0; i++) {
		const char *uid = g_ptr_array_index(uids, i);
		GPtrArray *rids = g_ptr_array_new_with_free_func(g_free);

		if (store_object_list_rids(su, uid, STORE_STATE_ACTIVE, rids,
					   &error) < 0 ||
		    store_object_list_rids(su, uid, STORE_STATE_CANCELLED, rids,
					   &error) < 0)
			ret = copy_fail_named(user, "object", uid, error);
		/* overrides first, the master last: a UID is listed while
		   anything of it remains */
		g_ptr_array_add(rids, NULL);
		for (unsigned int j = 0; j < rids->len && ret == 0; j++) {
			if (store_object_delete(su, uid,
						g_ptr_array_index(rids, j),
						&error) < 0)
				ret = copy_fail_named(user, "object", uid,
						      error);
		}
		g_ptr_array_free(rids, TRUE);
	}
	g_ptr_array_free(uids, TRUE);
	return ret;
}

static int copy_clear_counters(struct store_user *su)
{
	GPtrArray *counters = g_ptr_array_new_with_free_func(
		(GDestroyNotify)store_counter_free);
	const char *error, *user = store_user_name(su);
	int ret = 0;

	if (store_counter_list(su, counters, &error) < 0)
		ret = copy_fail(user, "counters", error);
	for (unsigned int i = 0; i < counters->len && ret == 0; i++) {
		const struct store_counter *c = g_ptr_array_index(counters, i);

		if (store_counter_delete(su, c->uid, c->rid, c->attendee,
					 &error) < 0)
			ret = copy_fail_named(user, "counter", c->uid, error);
	}
	g_ptr_array_free(counters, TRUE);
	return ret;
}

/* The other parties' tables TO has: written empty (FROM's are written
   afterwards). */
static int copy_clear_fb_others(struct store_user *su)
{
	GPtrArray *others = g_ptr_array_new_with_free_func(g_free);
	struct fb_list *empty = fb_list_new();
	const char *error, *user = store_user_name(su);
	int ret = 0;

	if (store_fb_list_others(su, others, &error) < 0)
		ret = copy_fail(user, "freebusy-other", error);
	for (unsigned int i = 0; i < others->len && ret == 0; i++) {
		const char *other = g_ptr_array_index(others, i);

		if (store_fb_write(su, STORE_FB_OTHER, other, empty,
				   &error) < 0)
			ret = copy_fail_named(user, "freebusy-other", other,
					      error);
	}
	fb_list_free(&empty);
	g_ptr_array_free(others, TRUE);
	return ret;
}

static int copy_clear_prefs(struct store_user *su)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *error, *user = store_user_name(su);
	int ret = 0;

	if (store_pref_list(su, names, &error) < 0)
		ret = copy_fail(user, "preferences", error);
	for (unsigned int i = 0; i < names->len && ret == 0; i++) {
		const char *name = g_ptr_array_index(names, i);

		if (store_pref_unset(su, name, &error) < 0)
			ret = copy_fail_named(user, "preference", name, error);
	}
	g_ptr_array_free(names, TRUE);
	return ret;
}

static int copy_clear_outbox(struct store_user *su,
			     enum store_outbox_queue queue)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *error, *user = store_user_name(su);
	int ret = 0;

	if (store_outbox_list(su, queue, names, &error) < 0)
		ret = copy_fail(user, copy_queue_name(queue), error);
	for (unsigned int i = 0; i < names->len && ret == 0; i++) {
		const char *name = g_ptr_array_index(names, i);

		if (store_outbox_remove(su, queue, name, &error) < 0)
			ret = copy_fail_named(user, copy_queue_name(queue),
					      name, error);
	}
	g_ptr_array_free(names, TRUE);
	return ret;
}

/* What copy_save() does not overwrite anyway: the request list, the own
   and offers tables and the published text are written whole. */
static int copy_clear(struct store_user *su)
{
	const char *error;

	if (copy_clear_objects(su) < 0 || copy_clear_counters(su) < 0 ||
	    copy_clear_fb_others(su) < 0 || copy_clear_prefs(su) < 0 ||
	    copy_clear_outbox(su, STORE_OUTBOX_QUEUED) < 0 ||
	    copy_clear_outbox(su, STORE_OUTBOX_FAILED) < 0)
		return -1;
	if (store_seen_clear(su, &error) < 0)
		return copy_fail(store_user_name(su), "seen", error);
	return 0;
}

/* --- writing to TO ----------------------------------------------------------- */

static int copy_save_objects(struct store_user *su, const struct copy_user *cu)
{
	const char *error;

	for (unsigned int i = 0; i < cu->objects->len; i++) {
		const struct copy_object *o = g_ptr_array_index(cu->objects, i);

		if (store_object_put(su, o->uid, o->rid, o->state, o->text,
				     &error) < 0)
			return copy_fail_named(store_user_name(su), "object",
					       o->rid == NULL ? o->uid :
					       o->rid, error);
	}
	return 0;
}

static int copy_save_counters(struct store_user *su,
			      const struct copy_user *cu)
{
	const char *error;

	for (unsigned int i = 0; i < cu->counters->len; i++) {
		const struct store_counter *c = g_ptr_array_index(cu->counters,
								  i);

		if (store_counter_put(su, c, &error) < 0)
			return copy_fail_named(store_user_name(su), "counter",
					       c->uid, error);
	}
	return 0;
}

static int copy_save_freebusy(struct store_user *su,
			      const struct copy_user *cu)
{
	const char *error, *user = store_user_name(su);

	if (store_fb_write(su, STORE_FB_OWN, NULL, cu->own, &error) < 0)
		return copy_fail(user, "freebusy", error);
	if (store_fb_write(su, STORE_FB_OFFERS, NULL, cu->offers, &error) < 0)
		return copy_fail(user, "freebusy-offers", error);
	for (unsigned int i = 0; i < cu->others->len; i++) {
		const struct copy_fb_other *o = g_ptr_array_index(cu->others, i);

		if (store_fb_write(su, STORE_FB_OTHER, o->other, o->list,
				   &error) < 0)
			return copy_fail_named(user, "freebusy-other",
					       o->other, error);
	}
	return 0;
}

static int copy_save_prefs(struct store_user *su, const struct copy_user *cu)
{
	const char *error;

	for (unsigned int i = 0; i < cu->prefs->len; i++) {
		const struct copy_pref *pref = g_ptr_array_index(cu->prefs, i);

		if (store_pref_set(su, pref->name, pref->value, &error) < 0)
			return copy_fail_named(store_user_name(su),
					       "preference", pref->name, error);
	}
	return 0;
}

/* In the order they were recorded, each with its own time: a backend
   drops entries more than 90 days older than the one it records, which
   then drops nothing the source still had. */
static int copy_save_seen(struct store_user *su, const struct copy_user *cu)
{
	const char *error;

	for (unsigned int i = 0; i < cu->seen->len; i++) {
		const struct store_seen *e = g_ptr_array_index(cu->seen, i);

		if (store_seen_record(su, e->digest, e->processed, e->outcome,
				      e->reason, &error) < 0)
			return copy_fail_named(store_user_name(su), "seen",
					       e->digest, error);
	}
	return 0;
}

static int copy_save_outbox(struct store_user *su, const struct copy_user *cu)
{
	const char *error;

	for (unsigned int q = 0; q < G_N_ELEMENTS(cu->outbox); q++) {
		for (unsigned int i = 0; i < cu->outbox[q]->len; i++) {
			const struct copy_outbox_entry *e =
				g_ptr_array_index(cu->outbox[q], i);

			if (store_outbox_put(su, q, e->name, e->data, e->len,
					     &error) < 0)
				return copy_fail_named(store_user_name(su),
						       copy_queue_name(q),
						       e->name, error);
		}
	}
	return 0;
}

/* The truth first (objects, counters, preferences), then what is
   derived from it, then the published text made from the free/busy. */
static int copy_save(struct store_user *su, const struct copy_user *cu)
{
	const char *error, *user = store_user_name(su);

	if (copy_save_objects(su, cu) < 0 || copy_save_counters(su, cu) < 0 ||
	    copy_save_prefs(su, cu) < 0)
		return -1;
	if (store_requests_write(su, cu->requests, &error) < 0)
		return copy_fail(user, "requests", error);
	if (copy_save_freebusy(su, cu) < 0 || copy_save_seen(su, cu) < 0 ||
	    copy_save_outbox(su, cu) < 0)
		return -1;
	if (store_static_write(su, cu->published, &error) < 0)
		return copy_fail(user, "published", error);
	return 0;
}

/* --- one run ------------------------------------------------------------------ */

struct copy_run {
	struct imip_config *config[2];
	struct store *from, *to;
	bool replace;
};

static void copy_print_summary(const char *user, const struct copy_user *cu)
{
	unsigned int other_periods = 0;
	GString *line = g_string_new(NULL);

	for (unsigned int i = 0; i < cu->others->len; i++) {
		const struct copy_fb_other *o = g_ptr_array_index(cu->others, i);

		other_periods += o->list->periods->len;
	}
	admin_field(line, "copied");
	admin_field(line, user);
	g_string_append_printf(line,
		"\tobjects=%u\tcounters=%u\trequests=%u\tfreebusy=%u"
		"\tfreebusy-other=%u/%u\tfreebusy-offers=%u\tpreferences=%u"
		"\tseen=%u\toutbox=%u\toutbox-failed=%u\tpublished=%s",
		cu->objects->len, cu->counters->len, cu->requests->len,
		cu->own->periods->len, cu->others->len, other_periods,
		cu->offers->periods->len, cu->prefs->len, cu->seen->len,
		cu->outbox[STORE_OUTBOX_QUEUED]->len,
		cu->outbox[STORE_OUTBOX_FAILED]->len,
		cu->published != NULL ? "yes" : "no");
	admin_line(line);
	g_string_free(line, TRUE);
}

/* Open the user in TO for writing: created when missing, emptied when it
   exists and --replace was given. */
static int copy_open_to(struct store *to, bool replace, const char *user,
			struct store_user **su_r)
{
	char *error = NULL;
	int r = store_user_open(to, user, 0, su_r, &error);

	if (r == 0) {
		r = store_user_open(to, user, STORE_OPEN_CREATE, su_r,
				    &error);
	} else if (r > 0) {
		/* another copy or a delivery created it since the check */
		if (!replace) {
			store_user_close(su_r);
			return copy_fail(user, "store", "TO already holds "
					 "this user (--replace replaces it)");
		}
		if (copy_clear(*su_r) < 0) {
			store_user_close(su_r);
			return -1;
		}
	}
	if (r < 0) {
		copy_fail(user, "opening TO", error);
		g_free(error);
		return -1;
	}
	return 0;
}

int copy_store_user(struct store *from, struct store *to, const char *user,
		    bool replace, bool print_summary)
{
	struct copy_user *cu = copy_user_new();
	struct store_user *su;
	const char *cerror;
	char *error = NULL;
	int r, ret = 0;

	r = store_user_open(from, user, STORE_OPEN_READONLY, &su, &error);
	if (r <= 0) {
		ret = copy_fail(user, "opening FROM", r < 0 ? error :
				"no store");
		g_free(error);
		copy_user_free(&cu);
		return ret;
	}
	ret = copy_load(su, cu);
	store_user_close(&su);
	if (ret == 0)
		ret = copy_open_to(to, replace, user, &su);
	if (ret == 0) {
		ret = copy_save(su, cu);
		/* nothing of a failed copy is committed where the backend
		   can take it back */
		if (ret == 0 && store_user_commit(su, &cerror) < 0)
			ret = copy_fail(user, "commit", cerror);
		store_user_close(&su);
	}
	if (ret == 0 && print_summary)
		copy_print_summary(user, cu);
	copy_user_free(&cu);
	return ret;
}

/* Without --replace, TO must hold none of the users: checked for all
   before anything is written, so that a refused run changes nothing. */
static int copy_check_absent(struct copy_run *run, const GPtrArray *users)
{
	GPtrArray *present = g_ptr_array_new_with_free_func(g_free);
	GHashTable *set = g_hash_table_new(g_str_hash, g_str_equal);
	char *error = NULL;
	int ret = 0;

	if (store_list_users(run->to, present, &error) < 0) {
		admin_error("copy-store: listing the users of TO: %s", error);
		g_free(error);
		ret = -1;
	}
	for (unsigned int i = 0; i < present->len; i++)
		g_hash_table_add(set, g_ptr_array_index(present, i));
	/* every such user named, not only the first */
	for (unsigned int i = 0; i < users->len && present != NULL; i++) {
		const char *user = g_ptr_array_index(users, i);

		if (g_hash_table_contains(set, user)) {
			copy_fail(user, "store", "TO already holds this user "
				  "(--replace replaces it); nothing copied");
			ret = -1;
		}
	}
	g_hash_table_destroy(set);
	g_ptr_array_free(present, TRUE);
	return ret;
}

static int copy_open_store(struct copy_run *run, unsigned int i,
			   const char *path, struct store **store_r)
{
	char *error = NULL;

	if (imip_config_load(path, &run->config[i], &error) < 0) {
		admin_error("copy-store: %s", error);
		g_free(error);
		return ADMIN_EX_CONFIG;
	}
	if (store_open(run->config[i], store_r, &error) < 0) {
		admin_error("copy-store: %s: %s", path, error);
		g_free(error);
		return ADMIN_EX_IOERR;
	}
	return ADMIN_EX_OK;
}

/* The users to copy: those named (normalised), or every user of FROM. */
static int copy_users(struct copy_run *run, int argc, char **argv,
		      GPtrArray *users)
{
	char *error = NULL;

	for (int i = 0; i < argc; i++) {
		char *user = address_normalize(argv[i]);

		if (user == NULL) {
			admin_error("not a usable address: %s", argv[i]);
			return ADMIN_EX_USAGE;
		}
		g_ptr_array_add(users, user);
	}
	if (argc == 0 && store_list_users(run->from, users, &error) < 0) {
		admin_error("copy-store: listing the users of FROM: %s", error);
		g_free(error);
		return ADMIN_EX_IOERR;
	}
	return ADMIN_EX_OK;
}

int cmd_copy_store(struct admin *a)
{
	struct copy_run run = { .replace = false };
	struct copy_quotas quotas = { .names = NULL };
	GPtrArray *users = g_ptr_array_new_with_free_func(g_free);
	int argc = a->argc, ret;
	char **argv = a->argv;

	if (argc > 0 && strcmp(argv[0], "--replace") == 0) {
		run.replace = true;
		argc--;
		argv++;
	}
	if (argc < 2) {
		g_ptr_array_free(users, TRUE);
		return ADMIN_EX_USAGE;
	}
	ret = copy_open_store(&run, 0, argv[0], &run.from);
	if (ret == ADMIN_EX_OK)
		ret = copy_open_store(&run, 1, argv[1], &run.to);
	if (ret == ADMIN_EX_OK)
		ret = copy_users(&run, argc - 2, argv + 2, users);
	if (ret == ADMIN_EX_OK && !run.replace &&
	    copy_check_absent(&run, users) < 0)
		ret = ADMIN_EX_IOERR;
	/* the journals only with the whole store: a quota is shared by
	   resources, copying it for one named user would be half of it */
	if (ret == ADMIN_EX_OK && argc == 2 &&
	    copy_quotas_prepare(&quotas, run.config[0], run.config[1],
				run.replace) < 0)
		ret = ADMIN_EX_IOERR;
	if (ret == ADMIN_EX_OK) {
		for (unsigned int i = 0; i < users->len; i++) {
			/* one broken user must not stop the copy of the
			   others */
			if (copy_store_user(run.from, run.to,
					    g_ptr_array_index(users, i),
					    run.replace, true) < 0)
				ret = ADMIN_EX_IOERR;
			fflush(stdout);
		}
		if (argc == 2 && copy_quotas_run(&quotas) < 0)
			ret = ADMIN_EX_IOERR;
	}
	copy_quotas_deinit(&quotas);
	g_ptr_array_free(users, TRUE);
	store_close(&run.from);
	store_close(&run.to);
	imip_config_free(&run.config[0]);
	imip_config_free(&run.config[1]);
	return ret;
}
