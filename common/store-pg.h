#ifndef IMIP_STORE_PG_H
#define IMIP_STORE_PG_H

/* What the PostgreSQL backend's files share: store-pg.c (sessions,
   objects, counters, requests, preferences, seen, outbox, published
   free/busy) and store-pg-fb.c (the free/busy tables, busy_periods).
   Built only with libpq (IMIP_HAVE_POSTGRESQL).

   A session is one connection (pooled per store: a resource's session
   may open a delegator's read-only while its own is open) and one
   transaction.  A writer first takes a session-level advisory lock on
   the user (pg_advisory_lock), which outlives the commit of
   store_user_commit(), so the replies sent after that commit are still
   sent by one host at a time; a killed process's connection ends and
   the server releases the lock.  After a commit the writer's next
   transaction begins with its next statement (store_pg_conn()).  Readers take no lock: a REPEATABLE READ
   READ ONLY transaction sees one consistent state. */

#include "store-private.h"
#include "pg-conn.h"

struct store_pg_user {
	struct store_user su;		/* first: store.c's view */
	struct pg_conn *conn;
	gint64 user_id;
	char user_id_text[24];		/* user_id as a statement parameter */
};

static inline struct store_pg_user *store_pg_user_of(struct store_user *su)
{
	return (struct store_pg_user *)su;
}

/* Sets su's error from an allocated libpq/pg-conn error (freed here);
   returns -1. */
int store_pg_fail(struct store_user *su, char *error);

/* The session's connection, inside its transaction: a writer's next
   transaction begins here, at its first statement after a commit, not
   at the commit itself, so that none stays open and idle while replies
   are handed to the MTA (the server ends a transaction idle longer than
   idle_in_transaction_session_timeout, and the session with it).  -1
   with su's error if it cannot begin. */
int store_pg_conn(struct store_user *su, struct pg_conn **conn_r);

/* Run a statement of the session (store_pg_conn()); su's error on
   failure.  res_r may be NULL. */
int store_pg_exec(struct store_user *su, const char *sql, int nparams,
		  const char *const *params, PGresult **res_r);

/* store-pg.c: the backend (store_open() calls it for
   store_backend = postgresql). */
int store_pg_init(const struct imip_config *config, struct store **store_r,
		  char **error_r);

/* store-pg-fb.c: the free/busy operations of the vtable. */
int store_pg_fb_read_window(struct store_user *su, enum store_fb_table table,
			    const char *other, time_t start, time_t end,
			    struct fb_list *list);
int store_pg_fb_read_uid(struct store_user *su, enum store_fb_table table,
			 const char *other, const char *uid,
			 struct fb_list *list);
int store_pg_fb_replace_uid(struct store_user *su, enum store_fb_table table,
			    const char *other, const char *uid,
			    const struct fb_list *periods);
int store_pg_fb_write(struct store_user *su, enum store_fb_table table,
		      const char *other, const struct fb_list *list);
int store_pg_fb_list_others(struct store_user *su, GPtrArray *others_r);
int store_pg_fb_others_of_uid(struct store_user *su, const char *uid,
			      GPtrArray *others_r);

#endif
