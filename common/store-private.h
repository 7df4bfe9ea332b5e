#ifndef IMIP_STORE_PRIVATE_H
#define IMIP_STORE_PRIVATE_H

/* What store.c and the backends share.  store.c checks arguments and the
   session mode once, then calls the backend through `v`; a backend only
   implements storage.  A backend embeds struct store / struct store_user
   as the first member of its own structures. */

#include "store.h"

struct store_vfuncs {
	const char *name;
	void (*deinit)(struct store *store);

	int (*list_users)(struct store *store, GPtrArray *users_r,
			  char **error_r);
	/* Allocates the session (su->store, su->user and su->flags are
	   filled in by store.c afterwards). */
	int (*user_open)(struct store *store, const char *user,
			 enum store_open_flags flags,
			 struct store_user **su_r, char **error_r);
	/* Ends the session (a writer's changes kept, a reader's
	   transaction ended), releases the lock and frees the backend's
	   part of su.  su->user is already freed. */
	void (*user_close)(struct store_user *su);
	/* Keep what the writer session changed so far (store_user_commit);
	   NULL when every write is kept as it is made (the file store). */
	int (*commit)(struct store_user *su);

	int (*object_get)(struct store_user *su, const char *uid,
			  const char *rid, enum store_state *state_r,
			  char **text_r);
	int (*object_put)(struct store_user *su, const char *uid,
			  const char *rid, enum store_state state,
			  const char *text);
	int (*object_delete)(struct store_user *su, const char *uid,
			     const char *rid);
	int (*object_list_rids)(struct store_user *su, const char *uid,
				enum store_state state, GPtrArray *rids_r);
	int (*object_list_uids)(struct store_user *su, GPtrArray *uids_r);

	int (*counter_put)(struct store_user *su,
			   const struct store_counter *c);
	int (*counter_delete)(struct store_user *su, const char *uid,
			      const char *rid, const char *attendee);
	int (*counter_list)(struct store_user *su, GPtrArray *counters_r);

	int (*requests_read)(struct store_user *su, GPtrArray *requests_r);
	int (*requests_write)(struct store_user *su,
			      const GPtrArray *requests);

	int (*fb_read_window)(struct store_user *su, enum store_fb_table table,
			      const char *other, time_t start, time_t end,
			      struct fb_list *list);
	int (*fb_read_uid)(struct store_user *su, enum store_fb_table table,
			   const char *other, const char *uid,
			   struct fb_list *list);
	/* 1 changed, 0 unchanged (uid NULL for "no UID") */
	int (*fb_replace_uid)(struct store_user *su, enum store_fb_table table,
			      const char *other, const char *uid,
			      const struct fb_list *periods);
	int (*fb_write)(struct store_user *su, enum store_fb_table table,
			const char *other, const struct fb_list *list);
	int (*fb_list_others)(struct store_user *su, GPtrArray *others_r);
	int (*fb_others_of_uid)(struct store_user *su, const char *uid,
				GPtrArray *others_r);

	int (*pref_get)(struct store_user *su, const char *name,
			char **value_r);
	int (*pref_set)(struct store_user *su, const char *name,
			const char *value);
	int (*pref_unset)(struct store_user *su, const char *name);
	int (*pref_list)(struct store_user *su, GPtrArray *names_r);

	int (*static_write)(struct store_user *su, const char *text);
	int (*static_read)(struct store_user *su, char **text_r);

	/* outcome_r/reason_r may be NULL */
	int (*seen_check)(struct store_user *su, const char *digest,
			  char **outcome_r, char **reason_r);
	/* outcome and reason may be NULL */
	int (*seen_add)(struct store_user *su, const char *digest,
			time_t now, const char *outcome, const char *reason);
	/* struct store_seen *, oldest first */
	int (*seen_list)(struct store_user *su, GPtrArray *entries_r);
	int (*seen_clear)(struct store_user *su);

	int (*outbox_put)(struct store_user *su,
			  enum store_outbox_queue queue, const char *name,
			  const char *data, size_t len);
	int (*outbox_get)(struct store_user *su,
			  enum store_outbox_queue queue, const char *name,
			  char **data_r, size_t *len_r);
	int (*outbox_list)(struct store_user *su,
			   enum store_outbox_queue queue, GPtrArray *names_r);
	int (*outbox_remove)(struct store_user *su,
			     enum store_outbox_queue queue, const char *name);

	int (*remove_temporaries)(struct store_user *su,
				  unsigned int *removed_r);
};

struct store {
	const struct store_vfuncs *v;
};

struct store_user {
	struct store *store;
	char *user;
	enum store_open_flags flags;
	/* Set by the backend's user_open: the last writer session of this
	   user ended without closing (store_user_interrupted()). */
	bool interrupted;
	/* A call of this session failed since its last store_user_commit():
	   closing it then keeps nothing more (a backend with transactions
	   rolls back), so a caller that gives up half way leaves no half
	   of its work behind. */
	bool failed;
	/* The last error of this session: what the public calls hand out
	   through *error_r, valid until the next call. */
	char *error;
	/* What this session read of the calendar objects, per UID (store.c):
	   one message reads the same UID's files several times (identity
	   checks, newness, derivation), and nobody else can change them
	   while the session holds the user's lock. */
	GHashTable *object_cache;
	/* The preferences read in this session, name -> value, or -> NULL
	   for "not set" (store.c): one message asks for the same few
	   several times, and each ask is a file open or a round trip. */
	GHashTable *pref_cache;
};

/* Backends report errors with this: replaces su->error, returns -1. */
int store_user_set_error(struct store_user *su, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

/* Entries older than this are dropped from the seen list (store.h). */
#define STORE_SEEN_MAX_AGE_SECS (90 * 24 * 3600)

/* The file backend (store-file.c). */
int store_file_init(const struct imip_config *config, struct store **store_r,
		    char **error_r);
/* The PostgreSQL backend (store-pg.c, store-pg.h), with libpq only. */
#ifdef IMIP_HAVE_POSTGRESQL
int store_pg_init(const struct imip_config *config, struct store **store_r,
		  char **error_r);
#endif

#endif
