#ifndef IMIP_PG_POOL_H
#define IMIP_PG_POOL_H

/* A few idle PostgreSQL connections kept per process for the next
   session (the store's sessions, store-pg.c, and the quota journal's,
   journal-pg.c): connecting costs a server process each time, and one
   delivery opens several sessions (the user's, a delegator's, each
   quota's).  A connection goes back only clean: no transaction open
   and, when asked, no advisory lock held; otherwise it is closed, which
   ends both on the server.

   Built only with libpq (IMIP_HAVE_POSTGRESQL). */

#include <stdbool.h>
#include <glib.h>

#include "pg-conn.h"

struct pg_pool;

/* Keeps at most `max_idle` connections to `conninfo` (copied). */
struct pg_pool *pg_pool_new(const char *conninfo, unsigned int max_idle);
void pg_pool_free(struct pg_pool **pool);

/* What starts a session on a connection: BEGIN, then its lock and the
   lookup of its row.  Returns 1 with *id_r, 0 when the row does not
   exist, -1 with *error_r (g_free it). */
typedef int pg_pool_begin_func(struct pg_conn *conn, void *context,
			       gint64 *id_r, char **error_r);

/* A connection, idle or new, with `begin` run on it.  A pooled
   connection the server closed while it sat idle (a restart, an idle
   timeout) is replaced by a fresh one, which gets the same chance as on
   a first session.  Returns begin's result; only on 1 is *conn_r the
   caller's (give it back with pg_pool_release()). */
int pg_pool_begin(struct pg_pool *pool, pg_pool_begin_func *begin,
		  void *context, bool unlock, struct pg_conn **conn_r,
		  gint64 *id_r, char **error_r);

/* Back to the pool: its transaction rolled back if one is still open
   and, with `unlock`, its session-level advisory locks released.  A
   connection for which any of that fails is closed instead. */
void pg_pool_release(struct pg_pool *pool, struct pg_conn *conn,
		     bool unlock);

/* A connection for a single statement outside any session (listing the
   users or the quotas), idle or new; give it back with
   pg_pool_release(). */
int pg_pool_take(struct pg_pool *pool, struct pg_conn **conn_r,
		 char **error_r);

#endif
