/* The PostgreSQL backend of the store (store-pg.h, docs/postgresql.md,
   conf/postgresql/001-initial.sql): sessions, calendar objects,
   counter-proposals, the request list, preferences, the published
   free/busy, the seen list and the outbox.  The free/busy tables are in
   store-pg-fb.c.

   Every value goes to the server as a statement parameter.  The schema
   keeps "no RECURRENCE-ID" as rid '' (a key column cannot be NULL);
   this file turns NULL into '' on the way in and back on the way out.
   Lists come back in byte order (COLLATE "C"), as the file store's
   strcmp() sorts them, whatever the database's collation. */

#include "store-pg.h"
#include "pg-pool.h"
#include "store-file.h"
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Idle connections kept per store (pg-pool.h).  A process rarely has
   more than two sessions open at once (a resource reading its
   delegator); a few more would only hold server slots. */
#define STORE_PG_POOL_MAX 4

/* The advisory lock of a writer (store-pg.h).  hashtextextended gives
   64 bits, so two users share a lock only by a rare collision, which
   makes them wait for each other and nothing worse. */
#define STORE_PG_LOCK_SQL \
	"SELECT pg_advisory_lock(hashtextextended('imip-user:' || $1, 0))"

struct store_pg {
	struct store store;
	char *conninfo;
	/* the published file as well (store_file_publish); NULL: only the
	   table */
	char *static_dir;
	enum atomic_file_sync static_sync;
	struct pg_pool *pool;
};

static inline struct store_pg *store_pg_of(struct store *store)
{
	return (struct store_pg *)store;
}

static bool store_pg_is_writer(const struct store_user *su)
{
	return (su->flags & STORE_OPEN_READONLY) == 0;
}

int store_pg_fail(struct store_user *su, char *error)
{
	store_user_set_error(su, "%s", error != NULL ? error :
			     "PostgreSQL: unknown error");
	g_free(error);
	return -1;
}

/* --- the store and its users --------------------------------------------- */

static void store_pg_deinit(struct store *store)
{
	struct store_pg *sp = store_pg_of(store);

	pg_pool_free(&sp->pool);
	g_free(sp->conninfo);
	g_free(sp->static_dir);
	g_free(sp);
}

static int store_pg_list_users(struct store *store, GPtrArray *users_r,
			       char **error_r)
{
	struct store_pg *sp = store_pg_of(store);
	struct pg_conn *conn;
	PGresult *res;

	if (pg_pool_take(sp->pool, &conn, error_r) < 0)
		return -1;
	if (pg_conn_exec(conn, "SELECT address FROM users "
			 "ORDER BY address COLLATE \"C\"", 0, NULL, &res,
			 error_r) < 0) {
		pg_pool_release(sp->pool, conn, false);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(users_r, g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);
	pg_pool_release(sp->pool, conn, false);
	return 0;
}

/* The user's id, 1; 0 when the user has no row. */
static int store_pg_user_id(struct pg_conn *conn, const char *user,
			    gint64 *id_r, char **error_r)
{
	const char *params[] = { user };
	PGresult *res;
	int ret = 0;

	if (pg_conn_exec(conn, "SELECT id FROM users WHERE address = $1", 1,
			 params, &res, error_r) < 0)
		return -1;
	if (PQntuples(res) == 1) {
		*id_r = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		ret = 1;
	}
	PQclear(res);
	return ret;
}

/* A writer: the user's lock, then the first transaction.  The lock
   first, so that the transaction's statements see what the previous
   writer committed (READ COMMITTED takes a snapshot per statement). */
static int store_pg_begin_writer(struct pg_conn *conn, const char *user,
				 bool create, gint64 *id_r, char **error_r)
{
	const char *params[] = { user };

	if (pg_conn_exec(conn, STORE_PG_LOCK_SQL, 1, params, NULL,
			 error_r) < 0 ||
	    pg_conn_begin(conn, error_r) < 0)
		return -1;
	/* a first delivery makes the user's store; the lock keeps any
	   other writer of this user out, so nothing races the insert */
	if (create &&
	    pg_conn_exec(conn, "INSERT INTO users (address) VALUES ($1) "
			 "ON CONFLICT (address) DO NOTHING", 1, params, NULL,
			 error_r) < 0)
		return -1;
	return store_pg_user_id(conn, user, id_r, error_r);
}

/* A reader: no lock, one consistent committed state. */
static int store_pg_begin_reader(struct pg_conn *conn, const char *user,
				 gint64 *id_r, char **error_r)
{
	if (pg_conn_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ "
			 "READ ONLY", 0, NULL, NULL, error_r) < 0)
		return -1;
	return store_pg_user_id(conn, user, id_r, error_r);
}

struct store_pg_open {
	const char *user;
	enum store_open_flags flags;
};

static int store_pg_begin(struct pg_conn *conn, void *context, gint64 *id_r,
			  char **error_r)
{
	const struct store_pg_open *o = context;

	if ((o->flags & STORE_OPEN_READONLY) != 0)
		return store_pg_begin_reader(conn, o->user, id_r, error_r);
	return store_pg_begin_writer(conn, o->user,
				     (o->flags & STORE_OPEN_CREATE) != 0,
				     id_r, error_r);
}

static int store_pg_user_open(struct store *store, const char *user,
			      enum store_open_flags flags,
			      struct store_user **su_r, char **error_r)
{
	struct store_pg *sp = store_pg_of(store);
	struct store_pg_open open = { .user = user, .flags = flags };
	bool writer = (flags & STORE_OPEN_READONLY) == 0;
	struct store_pg_user *pu;
	struct pg_conn *conn;
	gint64 id = 0;
	int ret;

	ret = pg_pool_begin(sp->pool, store_pg_begin, &open, writer, &conn,
			    &id, error_r);
	if (ret <= 0)
		return ret;
	pu = g_new0(struct store_pg_user, 1);
	pu->conn = conn;
	pu->user_id = id;
	g_snprintf(pu->user_id_text, sizeof(pu->user_id_text),
		   "%" G_GINT64_FORMAT, id);
	/* a killed writer's transaction was rolled back whole: nothing of
	   it is left to repair */
	pu->su.interrupted = false;
	*su_r = &pu->su;
	return 1;
}

static void store_pg_user_close(struct store_user *su)
{
	struct store_pg_user *pu = store_pg_user_of(su);
	struct store_pg *sp = store_pg_of(su->store);
	bool writer = store_pg_is_writer(su);

	/* A writer's last changes (after its last store_user_commit()) are
	   kept unless one of its calls failed since (su->failed: the caller
	   gave up half way); a failure of this commit has no one left to
	   tell: the caller that cares committed first.  Whatever is not
	   committed here is rolled back by pg_pool_release(). */
	if (writer && !su->failed && pg_conn_in_transaction(pu->conn))
		(void)pg_conn_commit(pu->conn, NULL);
	pg_pool_release(sp->pool, pu->conn, writer);
	g_free(pu);
}

/* The session goes on, the lock kept: the replies are sent and the
   outbox updated under it, in a transaction that begins with the next
   statement (store_pg_conn()).  A commit with nothing begun since the
   last has nothing to keep; a lost connection may have lost something,
   so it fails. */
static int store_pg_commit(struct store_user *su)
{
	struct store_pg_user *pu = store_pg_user_of(su);
	char *error = NULL;

	if (!pg_conn_is_open(pu->conn))
		return store_pg_fail(su, g_strdup("PostgreSQL: the connection "
						  "to the server was lost"));
	if (!pg_conn_in_transaction(pu->conn))
		return 0;
	if (pg_conn_commit(pu->conn, &error) < 0)
		return store_pg_fail(su, error);
	return 0;
}

static int store_pg_remove_temporaries(struct store_user *su,
				       unsigned int *removed_r)
{
	/* a transaction leaves no temporary anything */
	(void)su;
	(void)removed_r;
	return 0;
}

/* --- statements ---------------------------------------------------------- */

int store_pg_conn(struct store_user *su, struct pg_conn **conn_r)
{
	struct store_pg_user *pu = store_pg_user_of(su);
	char *error = NULL;

	*conn_r = pu->conn;
	/* a reader's one transaction is never committed */
	if (!store_pg_is_writer(su) || pg_conn_in_transaction(pu->conn))
		return 0;
	if (pg_conn_begin(pu->conn, &error) < 0)
		return store_pg_fail(su, error);
	return 0;
}

int store_pg_exec(struct store_user *su, const char *sql, int nparams,
		  const char *const *params, PGresult **res_r)
{
	struct pg_conn *conn;
	char *error = NULL;

	if (res_r != NULL)
		*res_r = NULL;
	if (store_pg_conn(su, &conn) < 0)
		return -1;
	if (pg_conn_exec(conn, sql, nparams, params, res_r, &error) < 0)
		return store_pg_fail(su, error);
	return 0;
}

/* A statement that changes rows: 1 if it changed any, 0 if none. */
static int store_pg_exec_changed(struct store_user *su, const char *sql,
				 int nparams, const char *const *params)
{
	PGresult *res;
	int ret;

	if (store_pg_exec(su, sql, nparams, params, &res) < 0)
		return -1;
	ret = atoi(PQcmdTuples(res)) > 0 ? 1 : 0;
	PQclear(res);
	return ret;
}

/* The first column of every row, appended to out. */
static int store_pg_list_strings(struct store_user *su, const char *sql,
				 int nparams, const char *const *params,
				 GPtrArray *out)
{
	PGresult *res;

	if (store_pg_exec(su, sql, nparams, params, &res) < 0)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(out, g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);
	return 0;
}

static const char *store_pg_uid_param(struct store_user *su)
{
	return store_pg_user_of(su)->user_id_text;
}

/* NULL (no RECURRENCE-ID) is '' in the tables. */
static const char *store_pg_rid_in(const char *rid)
{
	return rid != NULL ? rid : "";
}

static char *store_pg_rid_out(const PGresult *res, int row, int col)
{
	const char *rid = PQgetvalue(res, row, col);

	return *rid != '\0' ? g_strdup(rid) : NULL;
}

/* A nullable column as an allocated string or NULL. */
static char *store_pg_value_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL :
		g_strdup(PQgetvalue(res, row, col));
}

static const char *store_pg_state_name(enum store_state state)
{
	return state == STORE_STATE_CANCELLED ? "cancelled" : "active";
}

/* --- calendar objects ---------------------------------------------------- */

/* A UID is found through its key (001-initial.sql: a UID may be longer
   than an index entry); comparing the UID too costs nothing. */
#define STORE_PG_UID_IS(n) "uid_key = imip_key($" #n ") AND uid = $" #n

static int store_pg_object_get(struct store_user *su, const char *uid,
			       const char *rid, enum store_state *state_r,
			       char **text_r)
{
	const char *params[] = {
		store_pg_uid_param(su), uid, store_pg_rid_in(rid),
	};
	PGresult *res;
	int ret = 0;

	if (store_pg_exec(su, "SELECT state, data FROM objects "
			  "WHERE user_id = $1 AND " STORE_PG_UID_IS(2)
			  " AND rid = $3", 3, params, &res) < 0)
		return -1;
	if (PQntuples(res) == 1) {
		*state_r = strcmp(PQgetvalue(res, 0, 0), "cancelled") == 0 ?
			STORE_STATE_CANCELLED : STORE_STATE_ACTIVE;
		*text_r = g_strdup(PQgetvalue(res, 0, 1));
		ret = 1;
	}
	PQclear(res);
	return ret;
}

/* One row per (uid, rid): putting it in one state takes it out of the
   other (the primary key makes that so). */
static int store_pg_object_put(struct store_user *su, const char *uid,
			       const char *rid, enum store_state state,
			       const char *text)
{
	const char *params[] = {
		store_pg_uid_param(su), uid, store_pg_rid_in(rid),
		store_pg_state_name(state), text,
	};

	return store_pg_exec(su, "INSERT INTO objects (user_id, uid, rid, "
			     "state, data) VALUES ($1, $2, $3, $4, $5) "
			     "ON CONFLICT (user_id, uid_key, rid) DO UPDATE "
			     "SET state = EXCLUDED.state, data = EXCLUDED.data, "
			     "modified = now()", 5, params, NULL);
}

static int store_pg_object_delete(struct store_user *su, const char *uid,
				  const char *rid)
{
	const char *params[] = {
		store_pg_uid_param(su), uid, store_pg_rid_in(rid),
	};

	return store_pg_exec_changed(su, "DELETE FROM objects "
				     "WHERE user_id = $1 AND "
				     STORE_PG_UID_IS(2) " AND rid = $3",
				     3, params);
}

static int store_pg_object_list_rids(struct store_user *su, const char *uid,
				     enum store_state state, GPtrArray *rids_r)
{
	const char *params[] = {
		store_pg_uid_param(su), uid, store_pg_state_name(state),
	};

	return store_pg_list_strings(su, "SELECT rid FROM objects "
				     "WHERE user_id = $1 AND "
				     STORE_PG_UID_IS(2) " AND state = $3 "
				     "AND rid <> '' ORDER BY rid COLLATE \"C\"",
				     3, params, rids_r);
}

static int store_pg_object_list_uids(struct store_user *su,
				     GPtrArray *uids_r)
{
	const char *params[] = { store_pg_uid_param(su) };

	return store_pg_list_strings(su, "SELECT DISTINCT uid COLLATE \"C\" "
				     "FROM objects WHERE user_id = $1 "
				     "ORDER BY 1", 1, params, uids_r);
}

/* --- counter-proposals --------------------------------------------------- */

static int store_pg_counter_put(struct store_user *su,
				const struct store_counter *c)
{
	const char *params[] = {
		store_pg_uid_param(su), c->uid, store_pg_rid_in(c->rid),
		c->attendee, c->text,
	};

	return store_pg_exec(su, "INSERT INTO counters (user_id, uid, rid, "
			     "attendee, data) VALUES ($1, $2, $3, $4, $5) "
			     "ON CONFLICT (user_id, uid_key, rid, attendee) "
			     "DO UPDATE SET data = EXCLUDED.data, "
			     "received = now()", 5, params, NULL);
}

static int store_pg_counter_delete(struct store_user *su, const char *uid,
				   const char *rid, const char *attendee)
{
	const char *params[] = {
		store_pg_uid_param(su), uid, store_pg_rid_in(rid), attendee,
	};

	/* $4 NULL: every attendee's */
	return store_pg_exec_changed(su, "DELETE FROM counters "
				     "WHERE user_id = $1 AND "
				     STORE_PG_UID_IS(2) " AND rid = $3 "
				     "AND ($4::text IS NULL OR attendee = $4)",
				     4, params);
}

static int store_pg_counter_list(struct store_user *su, GPtrArray *counters_r)
{
	const char *params[] = { store_pg_uid_param(su) };
	PGresult *res;

	/* the file store's order: the masters' (counters/objects/), then
	   the instances' (counters/recurrences/), each by uid, rid,
	   attendee */
	if (store_pg_exec(su, "SELECT uid, rid, attendee, data FROM counters "
			  "WHERE user_id = $1 ORDER BY rid <> '', "
			  "uid COLLATE \"C\", rid COLLATE \"C\", "
			  "attendee COLLATE \"C\"", 1, params, &res) < 0)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct store_counter *c = g_new0(struct store_counter, 1);

		c->uid = g_strdup(PQgetvalue(res, i, 0));
		c->rid = store_pg_rid_out(res, i, 1);
		c->attendee = g_strdup(PQgetvalue(res, i, 2));
		c->text = g_strdup(PQgetvalue(res, i, 3));
		g_ptr_array_add(counters_r, c);
	}
	PQclear(res);
	return 0;
}

/* --- the request list ---------------------------------------------------- */

static int store_pg_requests_read(struct store_user *su, GPtrArray *requests_r)
{
	const char *params[] = { store_pg_uid_param(su) };
	PGresult *res;

	if (store_pg_exec(su, "SELECT uid, rid, kind FROM requests "
			  "WHERE user_id = $1 ORDER BY position", 1, params,
			  &res) < 0)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct store_request *r = g_new0(struct store_request, 1);

		r->uid = g_strdup(PQgetvalue(res, i, 0));
		r->rid = store_pg_rid_out(res, i, 1);
		r->kind = g_strdup(PQgetvalue(res, i, 2));
		g_ptr_array_add(requests_r, r);
	}
	PQclear(res);
	return 0;
}

/* The list is short and written whole: replaced row by row, in order. */
static int store_pg_requests_write(struct store_user *su,
				   const GPtrArray *requests)
{
	GString *uids = g_string_new("{"), *rids = g_string_new("{"),
		*kinds = g_string_new("{");
	const char *params[] = {
		store_pg_uid_param(su), NULL, NULL, NULL,
	};
	int ret;

	/* every message re-derives the list: one DELETE and one INSERT of
	   arrays, not a round trip per request */
	for (guint i = 0; i < requests->len; i++) {
		const struct store_request *r = g_ptr_array_index(requests, i);

		pg_conn_array_append(uids, r->uid);
		pg_conn_array_append(rids, store_pg_rid_in(r->rid));
		pg_conn_array_append(kinds, r->kind);
	}
	g_string_append_c(uids, '}');
	g_string_append_c(rids, '}');
	g_string_append_c(kinds, '}');
	params[1] = uids->str;
	params[2] = rids->str;
	params[3] = kinds->str;
	ret = store_pg_exec(su, "DELETE FROM requests WHERE user_id = $1", 1,
			    params, NULL);
	if (ret == 0 && requests->len > 0)
		ret = store_pg_exec(su, "INSERT INTO requests (user_id, "
				    "position, uid, rid, kind) "
				    "SELECT $1, n - 1, u, r, k FROM "
				    "unnest($2::text[], $3::text[], $4::text[]) "
				    "WITH ORDINALITY AS t(u, r, k, n)", 4,
				    params, NULL);
	g_string_free(uids, TRUE);
	g_string_free(rids, TRUE);
	g_string_free(kinds, TRUE);
	return ret < 0 ? -1 : 0;
}

/* --- preferences --------------------------------------------------------- */

static int store_pg_pref_get(struct store_user *su, const char *name,
			     char **value_r)
{
	const char *params[] = { store_pg_uid_param(su), name };
	PGresult *res;
	int ret = 0;

	if (store_pg_exec(su, "SELECT value FROM preferences "
			  "WHERE user_id = $1 AND name = $2", 2, params,
			  &res) < 0)
		return -1;
	if (PQntuples(res) == 1) {
		*value_r = g_strdup(PQgetvalue(res, 0, 0));
		ret = 1;
	}
	PQclear(res);
	return ret;
}

static int store_pg_pref_set(struct store_user *su, const char *name,
			     const char *value)
{
	const char *params[] = { store_pg_uid_param(su), name, value };

	return store_pg_exec(su, "INSERT INTO preferences (user_id, name, "
			     "value) VALUES ($1, $2, $3) "
			     "ON CONFLICT (user_id, name) DO UPDATE "
			     "SET value = EXCLUDED.value", 3, params, NULL);
}

static int store_pg_pref_unset(struct store_user *su, const char *name)
{
	const char *params[] = { store_pg_uid_param(su), name };

	return store_pg_exec_changed(su, "DELETE FROM preferences "
				     "WHERE user_id = $1 AND name = $2", 2,
				     params);
}

static int store_pg_pref_list(struct store_user *su, GPtrArray *names_r)
{
	const char *params[] = { store_pg_uid_param(su) };

	return store_pg_list_strings(su, "SELECT name FROM preferences "
				     "WHERE user_id = $1 "
				     "ORDER BY name COLLATE \"C\"", 1, params,
				     names_r);
}

/* --- published free/busy ------------------------------------------------- */

/* The table first (the truth for a CGI or a query serving several
   hosts), then the file a web server on this host serves, as the file
   store writes it.  The file is written before the commit: should the
   commit fail, it shows a state the database does not keep until the
   next message or `imip-admin publish` writes it again -- derived data,
   like every published file. */
static int store_pg_static_write(struct store_user *su, const char *text)
{
	struct store_pg *sp = store_pg_of(su->store);
	const char *params[] = { store_pg_uid_param(su), text };
	char *error = NULL;
	int ret;

	if (text == NULL)
		ret = store_pg_exec(su, "DELETE FROM published_freebusy "
				    "WHERE user_id = $1", 1, params, NULL);
	else
		ret = store_pg_exec(su, "INSERT INTO published_freebusy "
				    "(user_id, data) VALUES ($1, $2) "
				    "ON CONFLICT (user_id) DO UPDATE "
				    "SET data = EXCLUDED.data, updated = now()",
				    2, params, NULL);
	if (ret < 0 || sp->static_dir == NULL)
		return ret;
	if (store_file_publish(sp->static_dir, su->user, text,
			       sp->static_sync, &error) < 0)
		return store_pg_fail(su, error);
	return 0;
}

static int store_pg_static_read(struct store_user *su, char **text_r)
{
	const char *params[] = { store_pg_uid_param(su) };
	PGresult *res;
	int ret = 0;

	if (store_pg_exec(su, "SELECT data FROM published_freebusy "
			  "WHERE user_id = $1", 1, params, &res) < 0)
		return -1;
	if (PQntuples(res) == 1) {
		*text_r = g_strdup(PQgetvalue(res, 0, 0));
		ret = 1;
	}
	PQclear(res);
	return ret;
}

/* --- the seen list ------------------------------------------------------- */

static int store_pg_seen_check(struct store_user *su, const char *digest,
			       char **outcome_r, char **reason_r)
{
	const char *params[] = { store_pg_uid_param(su), digest };
	PGresult *res;
	int ret = 0;

	if (store_pg_exec(su, "SELECT outcome, reason FROM seen "
			  "WHERE user_id = $1 AND digest = $2", 2, params,
			  &res) < 0)
		return -1;
	if (PQntuples(res) == 1) {
		if (outcome_r != NULL)
			*outcome_r = store_pg_value_or_null(res, 0, 0);
		/* a reason without an outcome says nothing (as in the file
		   store) */
		if (reason_r != NULL && !PQgetisnull(res, 0, 0))
			*reason_r = store_pg_value_or_null(res, 0, 1);
		ret = 1;
	}
	PQclear(res);
	return ret;
}

/* The entry replaces the digest's earlier one; entries that have grown
   older than STORE_SEEN_MAX_AGE_SECS at `now` go. */
static int store_pg_seen_add(struct store_user *su, const char *digest,
			     time_t now, const char *outcome,
			     const char *reason)
{
	char when[24], oldest[24];
	const char *expire[] = { store_pg_uid_param(su), digest, oldest };
	const char *row[] = {
		store_pg_uid_param(su), digest, when, outcome,
		outcome != NULL ? reason : NULL,
	};

	g_snprintf(when, sizeof(when), "%lld", (long long)now);
	g_snprintf(oldest, sizeof(oldest), "%lld",
		   (long long)now - STORE_SEEN_MAX_AGE_SECS);
	if (store_pg_exec(su, "DELETE FROM seen WHERE user_id = $1 AND "
			  "(digest = $2 OR processed < "
			  "to_timestamp($3::bigint))", 3, expire, NULL) < 0)
		return -1;
	return store_pg_exec(su, "INSERT INTO seen (user_id, digest, "
			     "processed, outcome, reason) VALUES ($1, $2, "
			     "to_timestamp($3::bigint), $4, $5)", 5, row,
			     NULL);
}

/* Oldest first; entries of one second in digest order (the table keeps
   no order of arrival, and none is needed: recording them again in this
   order expires nothing). */
static int store_pg_seen_list(struct store_user *su, GPtrArray *entries_r)
{
	const char *params[] = { store_pg_uid_param(su) };
	PGresult *res;

	if (store_pg_exec(su, "SELECT digest, "
			  "extract(epoch FROM processed)::bigint, outcome, "
			  "reason FROM seen WHERE user_id = $1 "
			  "ORDER BY processed, digest COLLATE \"C\"", 1, params,
			  &res) < 0)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct store_seen *e = g_new0(struct store_seen, 1);

		e->digest = g_strdup(PQgetvalue(res, i, 0));
		e->processed = (time_t)g_ascii_strtoll(PQgetvalue(res, i, 1),
						       NULL, 10);
		e->outcome = store_pg_value_or_null(res, i, 2);
		if (e->outcome != NULL)
			e->reason = store_pg_value_or_null(res, i, 3);
		g_ptr_array_add(entries_r, e);
	}
	PQclear(res);
	return 0;
}

static int store_pg_seen_clear(struct store_user *su)
{
	const char *params[] = { store_pg_uid_param(su) };

	return store_pg_exec(su, "DELETE FROM seen WHERE user_id = $1", 1,
			     params, NULL);
}

/* --- the outbox ---------------------------------------------------------- */

static const char *store_pg_queue_name(enum store_outbox_queue queue)
{
	return queue == STORE_OUTBOX_FAILED ? "failed" : "queued";
}

static int store_pg_outbox_put(struct store_user *su,
			       enum store_outbox_queue queue,
			       const char *name, const char *data, size_t len)
{
	const char *params[] = {
		store_pg_uid_param(su), store_pg_queue_name(queue), name, data,
	};
	/* the entry is bytes: a binary parameter, not text */
	const int lengths[] = { 0, 0, 0, (int)len };
	const int formats[] = { 0, 0, 0, 1 };
	struct pg_conn *conn;
	char *error = NULL;

	if (len > INT_MAX)
		return store_user_set_error(su, "outbox entry too large "
					    "(%zu bytes)", len);
	if (store_pg_conn(su, &conn) < 0)
		return -1;
	if (pg_conn_exec_binary(conn,
				"INSERT INTO outbox (user_id, queue, name, "
				"data) VALUES ($1, $2, $3, $4) "
				"ON CONFLICT (user_id, queue, name) DO UPDATE "
				"SET data = EXCLUDED.data, written = now()",
				4, params, lengths, formats, NULL,
				&error) < 0)
		return store_pg_fail(su, error);
	return 0;
}

static int store_pg_outbox_get(struct store_user *su,
			       enum store_outbox_queue queue,
			       const char *name, char **data_r, size_t *len_r)
{
	const char *params[] = {
		store_pg_uid_param(su), store_pg_queue_name(queue), name,
	};
	PGresult *res;
	unsigned char *bytes;
	size_t len;

	if (store_pg_exec(su, "SELECT data FROM outbox WHERE user_id = $1 "
			  "AND queue = $2 AND name = $3", 3, params,
			  &res) < 0)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	/* bytea in the text result format (hex) */
	bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0),
				&len);
	PQclear(res);
	if (bytes == NULL)
		return store_user_set_error(su, "outbox entry %s: cannot "
					    "decode it (out of memory)", name);
	/* NUL-terminated as a file read is, for callers that parse text */
	*data_r = g_malloc(len + 1);
	memcpy(*data_r, bytes, len);
	(*data_r)[len] = '\0';
	*len_r = len;
	PQfreemem(bytes);
	return 1;
}

static int store_pg_outbox_list(struct store_user *su,
				enum store_outbox_queue queue,
				GPtrArray *names_r)
{
	const char *params[] = {
		store_pg_uid_param(su), store_pg_queue_name(queue),
	};

	return store_pg_list_strings(su, "SELECT name FROM outbox "
				     "WHERE user_id = $1 AND queue = $2 "
				     "ORDER BY name COLLATE \"C\"", 2, params,
				     names_r);
}

static int store_pg_outbox_remove(struct store_user *su,
				  enum store_outbox_queue queue,
				  const char *name)
{
	const char *params[] = {
		store_pg_uid_param(su), store_pg_queue_name(queue), name,
	};

	return store_pg_exec_changed(su, "DELETE FROM outbox WHERE "
				     "user_id = $1 AND queue = $2 AND "
				     "name = $3", 3, params);
}

/* --- registration -------------------------------------------------------- */

static const struct store_vfuncs store_pg_vfuncs = {
	.name = "postgresql",
	.deinit = store_pg_deinit,
	.list_users = store_pg_list_users,
	.user_open = store_pg_user_open,
	.user_close = store_pg_user_close,
	.commit = store_pg_commit,
	.object_get = store_pg_object_get,
	.object_put = store_pg_object_put,
	.object_delete = store_pg_object_delete,
	.object_list_rids = store_pg_object_list_rids,
	.object_list_uids = store_pg_object_list_uids,
	.counter_put = store_pg_counter_put,
	.counter_delete = store_pg_counter_delete,
	.counter_list = store_pg_counter_list,
	.requests_read = store_pg_requests_read,
	.requests_write = store_pg_requests_write,
	.fb_read_window = store_pg_fb_read_window,
	.fb_read_uid = store_pg_fb_read_uid,
	.fb_replace_uid = store_pg_fb_replace_uid,
	.fb_write = store_pg_fb_write,
	.fb_list_others = store_pg_fb_list_others,
	.fb_others_of_uid = store_pg_fb_others_of_uid,
	.pref_get = store_pg_pref_get,
	.pref_set = store_pg_pref_set,
	.pref_unset = store_pg_pref_unset,
	.pref_list = store_pg_pref_list,
	.static_write = store_pg_static_write,
	.static_read = store_pg_static_read,
	.seen_check = store_pg_seen_check,
	.seen_add = store_pg_seen_add,
	.seen_list = store_pg_seen_list,
	.seen_clear = store_pg_seen_clear,
	.outbox_put = store_pg_outbox_put,
	.outbox_get = store_pg_outbox_get,
	.outbox_list = store_pg_outbox_list,
	.outbox_remove = store_pg_outbox_remove,
	.remove_temporaries = store_pg_remove_temporaries,
};

/* Connects nothing yet: the first session does, so that a database that
   is down makes each message's outcome error (DESIGN.md rule 1) rather
   than stopping the program that opens the store. */
int store_pg_init(const struct imip_config *config, struct store **store_r,
		  char **error_r)
{
	struct store_pg *sp;

	*store_r = NULL;
	if (config->store_conninfo == NULL) {
		*error_r = g_strdup("store_backend = postgresql needs "
				    "store_conninfo");
		return -1;
	}
	sp = g_new0(struct store_pg, 1);
	sp->store.v = &store_pg_vfuncs;
	/* copies: the store may outlive a reloaded configuration */
	sp->conninfo = g_strdup(config->store_conninfo);
	if (config->static_dir != NULL && *config->static_dir != '\0')
		sp->static_dir = g_strdup(config->static_dir);
	sp->static_sync = config->store_fsync == IMIP_STORE_FSYNC_ALWAYS ?
		ATOMIC_FILE_SYNC : ATOMIC_FILE_NO_SYNC;
	sp->pool = pg_pool_new(sp->conninfo, STORE_PG_POOL_MAX);
	*store_r = &sp->store;
	return 0;
}
