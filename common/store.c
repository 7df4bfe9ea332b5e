/* The store interface: argument and mode checks shared by every backend,
   then dispatch through struct store_vfuncs (store-private.h). */

#include "store-private.h"
#include "config.h"
#include "freebusy.h"
#ifdef IMIP_HAVE_POSTGRESQL
#include "pg-lib.h"
#endif

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int store_user_set_error(struct store_user *su, const char *fmt, ...)
{
	va_list args;

	g_free(su->error);
	va_start(args, fmt);
	su->error = g_strdup_vprintf(fmt, args);
	va_end(args);
	return -1;
}

/* Hand the session's error to the caller when the backend failed. */
static int store_user_result(struct store_user *su, int ret,
			     const char **error_r)
{
	if (ret < 0)
		su->failed = true;
	if (ret < 0 && error_r != NULL)
		*error_r = su->error != NULL ? su->error : "store error";
	return ret;
}

static int store_user_fail(struct store_user *su, const char **error_r,
			   const char *message)
{
	store_user_set_error(su, "%s", message);
	return store_user_result(su, -1, error_r);
}

static bool store_user_writable(struct store_user *su, const char **error_r)
{
	if ((su->flags & STORE_OPEN_READONLY) == 0)
		return true;
	store_user_set_error(su, "store of %s opened read-only", su->user);
	if (error_r != NULL)
		*error_r = su->error;
	return false;
}

int store_prepare(const struct imip_config *config, char **error_r)
{
#ifdef IMIP_HAVE_POSTGRESQL
	if (config->store_backend == IMIP_STORE_BACKEND_POSTGRESQL)
		return pg_lib_load(error_r);
#else
	(void)config;
	(void)error_r;
#endif
	return 0;
}

int store_open(const struct imip_config *config, struct store **store_r,
	       char **error_r)
{
	if (config->store_backend == IMIP_STORE_BACKEND_POSTGRESQL) {
#ifdef IMIP_HAVE_POSTGRESQL
		return store_pg_init(config, store_r, error_r);
#else
		/* refuse rather than quietly keep the calendars in files on
		   one host while the administrator believes every host
		   shares them */
		*error_r = g_strdup("store_backend = postgresql, but this "
				    "imip-agent was built without libpq "
				    "(meson option postgresql)");
		*store_r = NULL;
		return -1;
#endif
	}
	return store_file_init(config, store_r, error_r);
}

void store_close(struct store **store)
{
	if (store == NULL || *store == NULL)
		return;
	(*store)->v->deinit(*store);
	*store = NULL;
}

int store_list_users(struct store *store, GPtrArray *users_r, char **error_r)
{
	return store->v->list_users(store, users_r, error_r);
}

/* --- the session's read cache of calendar objects ------------------------ */

/* One object file as read: the backend's result (1 found, 0 not found),
   its state and text. */
struct store_cache_object {
	int found;
	enum store_state state;
	char *text;
};

/* What the session read of one UID.  Any write of the UID drops it all:
   simpler than keeping each entry right, and a message writes a UID
   only after it read it. */
struct store_cache_uid {
	GHashTable *objects;		/* rid ("" master) -> cache_object */
	GPtrArray *rids[2];		/* per state, NULL until listed */
};

static void store_cache_object_free(void *p)
{
	struct store_cache_object *o = p;

	g_free(o->text);
	g_free(o);
}

static void store_cache_uid_free(void *p)
{
	struct store_cache_uid *u = p;

	g_hash_table_destroy(u->objects);
	for (unsigned int i = 0; i < G_N_ELEMENTS(u->rids); i++) {
		if (u->rids[i] != NULL)
			g_ptr_array_free(u->rids[i], TRUE);
	}
	g_free(u);
}

static struct store_cache_uid *store_cache_uid(struct store_user *su,
					       const char *uid)
{
	struct store_cache_uid *u = g_hash_table_lookup(su->object_cache, uid);

	if (u == NULL) {
		u = g_new0(struct store_cache_uid, 1);
		u->objects = g_hash_table_new_full(g_str_hash, g_str_equal,
						   g_free,
						   store_cache_object_free);
		g_hash_table_insert(su->object_cache, g_strdup(uid), u);
	}
	return u;
}

int store_user_open(struct store *store, const char *user,
		    enum store_open_flags flags, struct store_user **su_r,
		    char **error_r)
{
	struct store_user *su = NULL;
	int ret;

	*su_r = NULL;
	if (user == NULL || *user == '\0') {
		*error_r = g_strdup("store_user_open: no user given");
		return -1;
	}
	if ((flags & STORE_OPEN_CREATE) != 0 &&
	    (flags & STORE_OPEN_READONLY) != 0) {
		*error_r = g_strdup("store_user_open: cannot create a store "
				    "read-only");
		return -1;
	}
	ret = store->v->user_open(store, user, flags, &su, error_r);
	if (ret <= 0)
		return ret;
	su->store = store;
	su->user = g_strdup(user);
	su->flags = flags;
	su->error = NULL;
	su->object_cache = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, store_cache_uid_free);
	su->pref_cache = g_hash_table_new_full(g_str_hash, g_str_equal,
					       g_free, g_free);
	*su_r = su;
	return 1;
}

void store_user_close(struct store_user **su)
{
	struct store_user *s;

	if (su == NULL || *su == NULL)
		return;
	s = *su;
	*su = NULL;
	g_free(s->user);
	g_free(s->error);
	g_hash_table_destroy(s->object_cache);
	g_hash_table_destroy(s->pref_cache);
	s->store->v->user_close(s);
}

const char *store_user_name(const struct store_user *su)
{
	return su->user;
}

int store_user_commit(struct store_user *su, const char **error_r)
{
	int ret;

	if ((su->flags & STORE_OPEN_READONLY) != 0 ||
	    su->store->v->commit == NULL)
		return 0;
	ret = su->store->v->commit(su);
	/* what the cache holds may be what was just rolled back */
	if (ret < 0) {
		g_hash_table_remove_all(su->object_cache);
		g_hash_table_remove_all(su->pref_cache);
	}
	ret = store_user_result(su, ret, error_r);
	/* kept or lost, that transaction is over: what the session writes
	   next starts clean */
	su->failed = false;
	return ret;
}

bool store_user_interrupted(const struct store_user *su)
{
	return su->interrupted;
}

int store_user_remove_temporaries(struct store_user *su,
				  unsigned int *removed_r,
				  const char **error_r)
{
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->remove_temporaries(su,
		removed_r), error_r);
}

int store_object_get(struct store_user *su, const char *uid, const char *rid,
		     enum store_state *state_r, char **text_r,
		     const char **error_r)
{
	struct store_cache_uid *u;
	struct store_cache_object *o;
	int ret;

	*text_r = NULL;
	if (uid == NULL)
		return store_user_fail(su, error_r, "no UID given");
	u = store_cache_uid(su, uid);
	o = g_hash_table_lookup(u->objects, rid != NULL ? rid : "");
	if (o == NULL) {
		o = g_new0(struct store_cache_object, 1);
		ret = su->store->v->object_get(su, uid, rid, &o->state,
					       &o->text);
		if (ret < 0) {
			g_free(o);
			return store_user_result(su, ret, error_r);
		}
		o->found = ret;
		g_hash_table_insert(u->objects, g_strdup(rid != NULL ? rid : ""),
				    o);
	}
	if (o->found > 0) {
		*state_r = o->state;
		*text_r = g_strdup(o->text);
	}
	return o->found;
}

int store_object_put(struct store_user *su, const char *uid, const char *rid,
		     enum store_state state, const char *text,
		     const char **error_r)
{
	if (uid == NULL || text == NULL)
		return store_user_fail(su, error_r, "no UID or text given");
	if (!store_user_writable(su, error_r))
		return -1;
	g_hash_table_remove(su->object_cache, uid);
	return store_user_result(su, su->store->v->object_put(su, uid, rid,
							       state, text),
				 error_r);
}

int store_object_delete(struct store_user *su, const char *uid,
			const char *rid, const char **error_r)
{
	if (uid == NULL)
		return store_user_fail(su, error_r, "no UID given");
	if (!store_user_writable(su, error_r))
		return -1;
	g_hash_table_remove(su->object_cache, uid);
	return store_user_result(su, su->store->v->object_delete(su, uid, rid),
				 error_r);
}

int store_object_list_rids(struct store_user *su, const char *uid,
			   enum store_state state, GPtrArray *rids_r,
			   const char **error_r)
{
	struct store_cache_uid *u;
	GPtrArray *listed;
	int ret;

	if (uid == NULL)
		return store_user_fail(su, error_r, "no UID given");
	u = store_cache_uid(su, uid);
	if (u->rids[state] == NULL) {
		listed = g_ptr_array_new_with_free_func(g_free);
		ret = su->store->v->object_list_rids(su, uid, state, listed);
		if (ret < 0) {
			g_ptr_array_free(listed, TRUE);
			return store_user_result(su, ret, error_r);
		}
		u->rids[state] = listed;
	}
	for (unsigned int i = 0; i < u->rids[state]->len; i++)
		g_ptr_array_add(rids_r, g_strdup(g_ptr_array_index(u->rids[state],
								    i)));
	return 0;
}

int store_object_list_uids(struct store_user *su, GPtrArray *uids_r,
			   const char **error_r)
{
	return store_user_result(su, su->store->v->object_list_uids(su, uids_r),
				 error_r);
}

int store_counter_put(struct store_user *su, const struct store_counter *c,
		      const char **error_r)
{
	if (c == NULL || c->uid == NULL || c->attendee == NULL ||
	    *c->attendee == '\0' || c->text == NULL)
		return store_user_fail(su, error_r,
				       "counter without UID, attendee or text");
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->counter_put(su, c),
				 error_r);
}

int store_counter_delete(struct store_user *su, const char *uid,
			 const char *rid, const char *attendee,
			 const char **error_r)
{
	if (uid == NULL)
		return store_user_fail(su, error_r, "no UID given");
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->counter_delete(su, uid, rid,
								   attendee),
				 error_r);
}

int store_counter_list(struct store_user *su, GPtrArray *counters_r,
		       const char **error_r)
{
	return store_user_result(su, su->store->v->counter_list(su,
								 counters_r),
				 error_r);
}

int store_requests_read(struct store_user *su, GPtrArray *requests_r,
			const char **error_r)
{
	return store_user_result(su, su->store->v->requests_read(su,
								  requests_r),
				 error_r);
}

int store_requests_write(struct store_user *su, const GPtrArray *requests,
			 const char **error_r)
{
	for (guint i = 0; i < requests->len; i++) {
		const struct store_request *r = g_ptr_array_index(requests, i);

		if (r == NULL || r->uid == NULL || r->kind == NULL ||
		    *r->kind == '\0')
			return store_user_fail(su, error_r,
					       "request without UID or kind");
	}
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->requests_write(su,
								   requests),
				 error_r);
}

static bool store_fb_args_ok(struct store_user *su, enum store_fb_table table,
			     const char *other, const char **error_r)
{
	bool ok;

	switch (table) {
	case STORE_FB_OTHER:
		ok = other != NULL && *other != '\0';
		break;
	case STORE_FB_OWN:
	case STORE_FB_OFFERS:
		ok = other == NULL;
		break;
	default:
		ok = false;
		break;
	}
	if (!ok)
		store_user_fail(su, error_r, "free/busy table and other party "
				"do not match");
	return ok;
}

int store_fb_read_window(struct store_user *su, enum store_fb_table table,
			 const char *other, time_t start, time_t end,
			 struct fb_list *list, const char **error_r)
{
	if (!store_fb_args_ok(su, table, other, error_r))
		return -1;
	return store_user_result(su, su->store->v->fb_read_window(
		su, table, other, start, end, list), error_r);
}

int store_fb_read(struct store_user *su, enum store_fb_table table,
		  const char *other, struct fb_list *list,
		  const char **error_r)
{
	return store_fb_read_window(su, table, other, STORE_FB_TIME_MIN,
				    STORE_FB_TIME_MAX, list, error_r);
}

static int store_fb_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The line format writes no UID as an empty field: "" and NULL are the
   same UID. */
static const char *store_fb_uid(const char *uid)
{
	return uid != NULL && *uid != '\0' ? uid : NULL;
}

int store_fb_read_uid(struct store_user *su, enum store_fb_table table,
		      const char *other, const char *uid,
		      struct fb_list *list, const char **error_r)
{
	if (!store_fb_args_ok(su, table, other, error_r))
		return -1;
	return store_user_result(su, su->store->v->fb_read_uid(
		su, table, other, store_fb_uid(uid), list), error_r);
}

int store_fb_replace_uid(struct store_user *su, enum store_fb_table table,
			 const char *other, const char *uid,
			 const struct fb_list *periods, const char **error_r)
{
	uid = store_fb_uid(uid);
	if (!store_fb_args_ok(su, table, other, error_r) ||
	    !store_user_writable(su, error_r))
		return -1;
	for (guint i = 0; i < periods->periods->len; i++) {
		const struct fb_period *p = periods->periods->pdata[i];

		if (g_strcmp0(store_fb_uid(p->uid), uid) != 0) {
			store_user_fail(su, error_r, "free/busy period of "
					"another UID");
			return -1;
		}
	}
	return store_user_result(su, su->store->v->fb_replace_uid(
		su, table, other, uid, periods), error_r);
}

int store_fb_write(struct store_user *su, enum store_fb_table table,
		   const char *other, const struct fb_list *list,
		   const char **error_r)
{
	if (!store_fb_args_ok(su, table, other, error_r))
		return -1;
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->fb_write(su, table, other,
							     list),
				 error_r);
}

int store_fb_list_others(struct store_user *su, GPtrArray *others_r,
			 const char **error_r)
{
	return store_user_result(su, su->store->v->fb_list_others(su,
								   others_r),
				 error_r);
}

int store_fb_others_of_uid(struct store_user *su, const char *uid,
			   GPtrArray *others_r, const char **error_r)
{
	guint start = others_r->len;
	int ret = store_user_result(su, su->store->v->fb_others_of_uid(
		su, store_fb_uid(uid), others_r), error_r);

	if (ret == 0 && others_r->len > start + 1)
		qsort(others_r->pdata + start, others_r->len - start,
		      sizeof(gpointer), store_fb_strcmp);
	return ret;
}

int store_pref_get(struct store_user *su, const char *name, char **value_r,
		   const char **error_r)
{
	gpointer cached;
	int ret;

	*value_r = NULL;
	if (name == NULL || *name == '\0')
		return store_user_fail(su, error_r, "no preference name given");
	if (g_hash_table_lookup_extended(su->pref_cache, name, NULL,
					 &cached)) {
		*value_r = g_strdup(cached);
		return cached != NULL ? 1 : 0;
	}
	ret = su->store->v->pref_get(su, name, value_r);
	if (ret >= 0)
		g_hash_table_insert(su->pref_cache, g_strdup(name),
				    g_strdup(*value_r));
	return store_user_result(su, ret, error_r);
}

int store_pref_set(struct store_user *su, const char *name, const char *value,
		   const char **error_r)
{
	if (name == NULL || *name == '\0' || value == NULL)
		return store_user_fail(su, error_r,
				       "no preference name or value given");
	if (!store_user_writable(su, error_r))
		return -1;
	/* whatever happens, the next get asks the backend */
	g_hash_table_remove(su->pref_cache, name);
	return store_user_result(su, su->store->v->pref_set(su, name, value),
				 error_r);
}

int store_pref_unset(struct store_user *su, const char *name,
		     const char **error_r)
{
	if (name == NULL || *name == '\0')
		return store_user_fail(su, error_r, "no preference name given");
	if (!store_user_writable(su, error_r))
		return -1;
	g_hash_table_remove(su->pref_cache, name);
	return store_user_result(su, su->store->v->pref_unset(su, name),
				 error_r);
}

int store_pref_list(struct store_user *su, GPtrArray *names_r,
		    const char **error_r)
{
	return store_user_result(su, su->store->v->pref_list(su, names_r),
				 error_r);
}

int store_static_write(struct store_user *su, const char *text,
		       const char **error_r)
{
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->static_write(su, text),
				 error_r);
}

int store_static_read(struct store_user *su, char **text_r,
		      const char **error_r)
{
	*text_r = NULL;
	return store_user_result(su, su->store->v->static_read(su, text_r),
				 error_r);
}

/* A digest is one field of a tab-separated line. */
static bool store_digest_ok(const char *digest)
{
	if (digest == NULL || *digest == '\0' || strlen(digest) > 512)
		return false;
	for (const char *p = digest; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

int store_seen_check(struct store_user *su, const char *digest,
		     const char **error_r)
{
	return store_seen_get(su, digest, NULL, NULL, error_r);
}

int store_seen_add(struct store_user *su, const char *digest, time_t now,
		   const char **error_r)
{
	return store_seen_record(su, digest, now, NULL, NULL, error_r);
}

int store_seen_get(struct store_user *su, const char *digest,
		   char **outcome_r, char **reason_r, const char **error_r)
{
	if (outcome_r != NULL)
		*outcome_r = NULL;
	if (reason_r != NULL)
		*reason_r = NULL;
	if (!store_digest_ok(digest))
		return store_user_fail(su, error_r, "invalid message digest");
	return store_user_result(su, su->store->v->seen_check(su, digest,
							       outcome_r,
							       reason_r),
				 error_r);
}

int store_seen_record(struct store_user *su, const char *digest, time_t now,
		      const char *outcome, const char *reason,
		      const char **error_r)
{
	if (!store_digest_ok(digest))
		return store_user_fail(su, error_r, "invalid message digest");
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->seen_add(su, digest, now,
							     outcome, reason),
				 error_r);
}

int store_seen_list(struct store_user *su, GPtrArray *entries_r,
		    const char **error_r)
{
	return store_user_result(su, su->store->v->seen_list(su, entries_r),
				 error_r);
}

int store_seen_clear(struct store_user *su, const char **error_r)
{
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->seen_clear(su), error_r);
}

bool store_outbox_name_ok(const char *name)
{
	if (name == NULL || *name == '\0' || strlen(name) > 128)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if (!g_ascii_isxdigit(*p))
			return false;
	}
	return true;
}

int store_outbox_put(struct store_user *su, enum store_outbox_queue queue,
		     const char *name, const char *data, size_t len,
		     const char **error_r)
{
	if (!store_outbox_name_ok(name) || data == NULL)
		return store_user_fail(su, error_r, "invalid outbox entry");
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->outbox_put(su, queue, name,
							       data, len),
				 error_r);
}

int store_outbox_get(struct store_user *su, enum store_outbox_queue queue,
		     const char *name, char **data_r, size_t *len_r,
		     const char **error_r)
{
	*data_r = NULL;
	*len_r = 0;
	if (!store_outbox_name_ok(name))
		return store_user_fail(su, error_r, "invalid outbox entry name");
	return store_user_result(su, su->store->v->outbox_get(su, queue, name,
							       data_r, len_r),
				 error_r);
}

int store_outbox_list(struct store_user *su, enum store_outbox_queue queue,
		      GPtrArray *names_r, const char **error_r)
{
	return store_user_result(su, su->store->v->outbox_list(su, queue,
								names_r),
				 error_r);
}

int store_outbox_remove(struct store_user *su, enum store_outbox_queue queue,
			const char *name, const char **error_r)
{
	if (!store_outbox_name_ok(name))
		return store_user_fail(su, error_r, "invalid outbox entry name");
	if (!store_user_writable(su, error_r))
		return -1;
	return store_user_result(su, su->store->v->outbox_remove(su, queue,
								  name),
				 error_r);
}

void store_request_free(struct store_request *r)
{
	if (r == NULL)
		return;
	g_free(r->uid);
	g_free(r->rid);
	g_free(r->kind);
	g_free(r);
}

void store_counter_free(struct store_counter *c)
{
	if (c == NULL)
		return;
	g_free(c->uid);
	g_free(c->rid);
	g_free(c->attendee);
	g_free(c->text);
	g_free(c);
}

void store_seen_free(struct store_seen *s)
{
	if (s == NULL)
		return;
	g_free(s->digest);
	g_free(s->outcome);
	g_free(s->reason);
	g_free(s);
}
