#ifndef IMIP_STORE_H
#define IMIP_STORE_H

/* The store interface (DESIGN.md section 5).  Two backends: files
   (store-file.c, docs/store.md) and PostgreSQL (store-pg.c,
   docs/postgresql.md); store-private.h holds the vtable.

   Everything happens inside a user session: store_user_open() takes the
   user's lock (an exclusive one for writers) and holds it for the whole
   read-decide-write of one message; store_user_close() releases it.
   A writer's changes are kept by store_user_commit() (and by
   store_user_close()): the file store keeps each write as it is made,
   PostgreSQL keeps a session's writes in one transaction until then.
   Stored calendar objects are the truth; free/busy tables and the request
   list are derived (imip-admin rebuild recomputes them).

   Return convention: -1 error (with *error_r, a static or store-owned
   string valid until the next call on the same session), 0 not found /
   nothing, 1 found. */

#include <stdbool.h>
#include <time.h>
#include <glib.h>

struct imip_config;
struct fb_list;

struct store;
struct store_user;

enum store_state {
	STORE_STATE_ACTIVE,	/* objects/, recurrences/ */
	STORE_STATE_CANCELLED,	/* cancellations/ */
};

enum store_fb_table {
	STORE_FB_OWN,		/* freebusy: the user's own busy time */
	STORE_FB_OTHER,		/* freebusy-other/<other> */
	STORE_FB_OFFERS,	/* freebusy-offers: held for counter-proposals */
};

enum store_open_flags {
	STORE_OPEN_CREATE = 0x01,	/* create the user's directories */
	STORE_OPEN_READONLY = 0x02,	/* shared lock; no writes allowed */
};

struct store_request {
	char *uid;
	char *rid;		/* normalised RECURRENCE-ID or NULL */
	char *kind;		/* "request", "counter", "add", "refresh" */
};

struct store_counter {
	char *uid;
	char *rid;		/* NULL for the whole event */
	char *attendee;		/* normalised address */
	char *text;		/* the COUNTER's VCALENDAR text */
};

/* Load what the configured backend needs at run time (PostgreSQL:
   libpq, common/pg-lib.h) before a daemon forks its workers, so that
   each worker does not load it again for every message.  Nothing for
   the file store.  Returns 0, or -1 with *error_r (allocated); a store
   opened later reports the same error. */
int store_prepare(const struct imip_config *config, char **error_r);

/* Open the configured backend.  Does not create anything yet. */
int store_open(const struct imip_config *config, struct store **store_r,
	       char **error_r);
void store_close(struct store **store);

/* Every user that has a store (for rebuild --all, refresh-freebusy). */
int store_list_users(struct store *store, GPtrArray *users_r,
		     char **error_r);

/* `user` is a normalised address.  Returns 1 when opened, 0 when the user
   has no store and STORE_OPEN_CREATE was not given, -1 on error.
   Blocks until the lock is free (a lock of a killed process is released by
   the kernel: flock(2), or by PostgreSQL with the connection). */
int store_user_open(struct store *store, const char *user,
		    enum store_open_flags flags, struct store_user **su_r,
		    char **error_r);
/* Ends the session: a writer's changes not committed yet are committed
   (a failure there is not reported: call store_user_commit() first when
   it matters) unless a call of the session failed after the last
   commit: then they are dropped, so a caller that gives up half way
   (imip-admin copy-store) leaves nothing half done in PostgreSQL; the
   file store has kept each write already.  A reader's transaction
   ends. */
void store_user_close(struct store_user **su);
const char *store_user_name(const struct store_user *su);

/* Keep what this writer session changed so far, before telling anyone
   about it (a reply, an exit status): PostgreSQL commits the
   session's transaction and opens the next one, keeping the user's
   lock.  -1 when the changes were not kept (a statement of the session
   failed earlier, the database went away): nothing written since the
   previous commit is stored.  0 for a reader and for the file store,
   whose writes are kept as they are made. */
int store_user_commit(struct store_user *su, const char **error_r);

/* true in a writer session (not STORE_OPEN_READONLY) when the previous
   writer of this user did not close its session: it was killed, or the
   system stopped, maybe between two writes of one message.  Opening such
   a session has already removed the temporary files the killed writer
   left (store_user_remove_temporaries()); derived data that is not
   rebuilt by re-processing (the published free/busy) is the caller's to
   refresh. */
bool store_user_interrupted(const struct store_user *su);

/* Remove the temporary files of interrupted writes from the user's store,
   preferences and published free/busy (docs/store.md section 6).  A
   writer session only.  Adds to *removed_r. */
int store_user_remove_temporaries(struct store_user *su,
				  unsigned int *removed_r,
				  const char **error_r);

/* Calendar objects: one VCALENDAR text per (uid, rid); rid NULL is the
   master (or the whole non-recurring event).  A (uid, rid) is either
   active or cancelled, never both: putting it in one state removes it from
   the other. */
int store_object_get(struct store_user *su, const char *uid, const char *rid,
		     enum store_state *state_r, char **text_r,
		     const char **error_r);
int store_object_put(struct store_user *su, const char *uid, const char *rid,
		     enum store_state state, const char *text,
		     const char **error_r);
/* Remove (uid, rid) in both states.  Returns 1 if something was removed. */
int store_object_delete(struct store_user *su, const char *uid,
			const char *rid, const char **error_r);
/* The rids stored for uid in `state` (char *, sorted). */
int store_object_list_rids(struct store_user *su, const char *uid,
			   enum store_state state, GPtrArray *rids_r,
			   const char **error_r);
/* Every uid with a master or an override in either state (char *, sorted). */
int store_object_list_uids(struct store_user *su, GPtrArray *uids_r,
			   const char **error_r);

/* Counter-proposals received (the user is the organiser). */
int store_counter_put(struct store_user *su, const struct store_counter *c,
		      const char **error_r);
/* attendee NULL: every counter for (uid, rid). */
int store_counter_delete(struct store_user *su, const char *uid,
			 const char *rid, const char *attendee,
			 const char **error_r);
int store_counter_list(struct store_user *su, GPtrArray *counters_r,
		       const char **error_r);

/* The request queue, read and written whole (it is short). */
int store_requests_read(struct store_user *su, GPtrArray *requests_r,
			const char **error_r);
int store_requests_write(struct store_user *su, const GPtrArray *requests,
			 const char **error_r);

/* Free/busy tables.  `other` names the other party for STORE_FB_OTHER and
   must be NULL otherwise.  A missing table reads as empty.  Every message
   touches the periods of one UID and reads the window its decision needs,
   so those are the operations (a backend keeps them cheap however large
   the table: the file store keeps month files and a UID index, an SQL
   store indexes uid and start/end); whole-table reads and writes are for
   imip-admin (rebuild, listing) only.  A uid NULL or "" means the periods
   that have none (received VFREEBUSY data).  Lists are cleared, then
   filled sorted. */

/* The periods overlapping [start, end). */
int store_fb_read_window(struct store_user *su, enum store_fb_table table,
			 const char *other, time_t start, time_t end,
			 struct fb_list *list, const char **error_r);
/* The periods of one UID. */
int store_fb_read_uid(struct store_user *su, enum store_fb_table table,
		      const char *other, const char *uid,
		      struct fb_list *list, const char **error_r);
/* Replace every period of `uid` by `periods` (each of that UID; an empty
   list removes the UID).  Returns 1 if the table changed, 0 if it held
   exactly these already. */
int store_fb_replace_uid(struct store_user *su, enum store_fb_table table,
			 const char *other, const char *uid,
			 const struct fb_list *periods, const char **error_r);

/* The whole table: a window over all time.  The write replaces the table
   (imip-admin rebuild). */
#define STORE_FB_TIME_MIN ((time_t)-62135596800LL)	/* 0001-01-01 */
#define STORE_FB_TIME_MAX ((time_t)253402300800LL)	/* 10000-01-01 */
int store_fb_read(struct store_user *su, enum store_fb_table table,
		  const char *other, struct fb_list *list,
		  const char **error_r);
int store_fb_write(struct store_user *su, enum store_fb_table table,
		   const char *other, const struct fb_list *list,
		   const char **error_r);
/* The parties with a freebusy-other table (char *, sorted). */
int store_fb_list_others(struct store_user *su, GPtrArray *others_r,
			 const char **error_r);
/* The parties whose freebusy-other table may hold periods of `uid`
   (char *, sorted): at least every one that does, perhaps a few more;
   never all of them because the user knows many.  A message replaces the
   periods of its UID in these tables and in those it adds (an indexed
   lookup: the cost of a message must not grow with the number of
   parties). */
int store_fb_others_of_uid(struct store_user *su, const char *uid,
			   GPtrArray *others_r, const char **error_r);

/* Preferences (preferences_dir/<user>/<name>).  The value is the file's
   content without its final newline. */
int store_pref_get(struct store_user *su, const char *name, char **value_r,
		   const char **error_r);
int store_pref_set(struct store_user *su, const char *name, const char *value,
		   const char **error_r);
int store_pref_unset(struct store_user *su, const char *name,
		     const char **error_r);
int store_pref_list(struct store_user *su, GPtrArray *names_r,
		    const char **error_r);

/* Published free/busy: static_dir/<user>/freebusy, readable by the web
   server.  text NULL removes the file. */
int store_static_write(struct store_user *su, const char *text,
		       const char **error_r);
/* The published text as the last store_static_write() left it: 1 with
   *text_r allocated, 0 when nothing is published (imip-admin published,
   copy-store). */
int store_static_read(struct store_user *su, char **text_r,
		      const char **error_r);

/* Idempotence (DESIGN.md rule 2): digests (hex SHA-256) of the calendar
   parts already processed for this user, so a message delivered twice
   (MTA retry, LMTP replay) changes nothing and sends no second reply.
   Entries older than 90 days are dropped when one is added. */
int store_seen_check(struct store_user *su, const char *digest,
		     const char **error_r);
int store_seen_add(struct store_user *su, const char *digest, time_t now,
		   const char **error_r);
/* The same with what the first processing of the part gave: its outcome
   name and reason are kept with the digest, so that a duplicate can report
   them (a retried delivery shows what was done, not "no_action").
   store_seen_get() returns 1 with *outcome_r and *reason_r newly
   allocated, or NULL when the entry predates them; outcome_r and
   reason_r may be NULL.  store_seen_record() replaces the entry of the
   same digest. */
int store_seen_get(struct store_user *su, const char *digest,
		   char **outcome_r, char **reason_r, const char **error_r);
int store_seen_record(struct store_user *su, const char *digest, time_t now,
		      const char *outcome, const char *reason,
		      const char **error_r);

/* One entry of the seen list, as store_seen_list() gives it. */
struct store_seen {
	char *digest;
	time_t processed;	/* the `now` it was recorded with */
	char *outcome;		/* NULL when the entry has none */
	char *reason;		/* NULL with outcome */
};
/* Every entry (struct store_seen *, oldest first), for imip-admin
   copy-store: recording them again in this order with
   store_seen_record() and their own times gives the same list. */
int store_seen_list(struct store_user *su, GPtrArray *entries_r,
		    const char **error_r);
/* Forget every message processed (imip-admin copy-store --replace, which
   makes the user's store what another store holds: a message this store
   alone processed must not stay "already processed" once its effect is
   replaced).  The session must be writable. */
int store_seen_clear(struct store_user *su, const char **error_r);

/* The outbox (outbox.h): replies waiting to be sent, and those given up.
   One opaque entry per name; names are what outbox.c makes (hex digits),
   listed sorted.  A missing entry reads as 0 from get and remove. */
enum store_outbox_queue {
	STORE_OUTBOX_QUEUED,	/* outbox/<name> */
	STORE_OUTBOX_FAILED,	/* outbox/failed/<name> */
};
/* Outbox names are made by outbox.c: hex digits only, so a name is
   always one plain path component.  The calls below refuse others (a
   failed call); imip-admin checks what an administrator typed first. */
bool store_outbox_name_ok(const char *name);
int store_outbox_put(struct store_user *su, enum store_outbox_queue queue,
		     const char *name, const char *data, size_t len,
		     const char **error_r);
int store_outbox_get(struct store_user *su, enum store_outbox_queue queue,
		     const char *name, char **data_r, size_t *len_r,
		     const char **error_r);
int store_outbox_list(struct store_user *su, enum store_outbox_queue queue,
		      GPtrArray *names_r, const char **error_r);
int store_outbox_remove(struct store_user *su, enum store_outbox_queue queue,
			const char *name, const char **error_r);

void store_request_free(struct store_request *r);
void store_counter_free(struct store_counter *c);
void store_seen_free(struct store_seen *s);

#endif
