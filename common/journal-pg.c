/* The quota journal in PostgreSQL (store_backend = postgresql; tables
   quotas and quota_* of conf/postgresql/001-initial.sql), so that the
   delivery hosts of a site share every quota without a shared file
   system.  Built only with libpq (IMIP_HAVE_POSTGRESQL).

   An open quota is one connection and one transaction holding the lock
   on the quota's row of `quotas` (pg_conn_lock_quota: SELECT ... FOR NO
   KEY UPDATE, created first when asked).  A resource opens its quotas
   after its store session has taken the user's advisory lock, never the
   other way round (journal.h), so no two hosts wait for each other in a
   circle.  Each quota has its own connection, not the store's: the
   store commits on its own schedule (store_user_commit()), a decision
   may hold several quotas at once, and the row lock ends with the
   transaction that took it.  The transaction is READ COMMITTED: once the
   row lock is had, every statement sees what the previous holder
   committed.  A killed process's connection ends and the server rolls
   its transaction back whole and releases the lock.

   journal.c hands over checked, normalised values; rows are read back
   in any order and journal.c sorts them as the file journal does.
   Times are whole seconds (to_timestamp / extract(epoch)). */

#include "journal-private.h"
#include "config.h"
#include "pg-conn.h"
#include "pg-pool.h"

#include <stdlib.h>
#include <string.h>

/* Idle connections kept per journal (pg-pool.h): a decision rarely
   holds more than two quotas, imip-admin update-quotas one at a time. */
#define JOURNAL_PG_POOL_MAX 4

struct journal_pg {
	struct journal j;	/* first: journal.c's view */
	struct pg_pool *pool;
};

struct journal_pg_quota {
	struct journal_quota q;	/* first: journal.c's view */
	struct pg_conn *conn;
	char id_text[24];	/* the quota's id as a statement parameter */
};

static inline struct journal_pg *journal_pg_of(struct journal *j)
{
	return (struct journal_pg *)j;
}

static inline struct journal_pg_quota *
journal_pg_quota_of(struct journal_quota *q)
{
	return (struct journal_pg_quota *)q;
}

/* --- the journal and its quotas ------------------------------------------ */

static void journal_pg_deinit(struct journal *j)
{
	struct journal_pg *jp = journal_pg_of(j);

	pg_pool_free(&jp->pool);
	g_free(jp);
}

static int journal_pg_list_quotas(struct journal *j, GPtrArray *quotas_r,
				  char **error_r)
{
	struct journal_pg *jp = journal_pg_of(j);
	struct pg_conn *conn;
	PGresult *res;
	int ret;

	if (pg_pool_take(jp->pool, &conn, error_r) < 0)
		return -1;
	ret = pg_conn_exec(conn, "SELECT name FROM quotas", 0, NULL, &res,
			   error_r);
	if (ret == 0) {
		for (int i = 0; i < PQntuples(res); i++)
			g_ptr_array_add(quotas_r,
					g_strdup(PQgetvalue(res, i, 0)));
		PQclear(res);
	}
	pg_pool_release(jp->pool, conn, false);
	return ret;
}

struct journal_pg_open {
	const char *name;
	bool create;
};

/* BEGIN, then the quota's row lock (made first when `create`): 1 with
   the id, 0 when there is no such quota, -1 error. */
static int journal_pg_begin_locked(struct pg_conn *conn, void *context,
				   gint64 *id_r, char **error_r)
{
	const struct journal_pg_open *o = context;

	if (pg_conn_begin(conn, error_r) < 0)
		return -1;
	return pg_conn_lock_quota(conn, o->name,
				  o->create ? PG_LOCK_CREATE : 0, id_r,
				  error_r);
}

static int journal_pg_quota_open(struct journal *j, const char *name,
				 bool create, struct journal_quota **q_r,
				 char **error_r)
{
	struct journal_pg *jp = journal_pg_of(j);
	struct journal_pg_open open = { .name = name, .create = create };
	struct journal_pg_quota *pq;
	struct pg_conn *conn;
	gint64 id = 0;
	int ret;

	ret = pg_pool_begin(jp->pool, journal_pg_begin_locked, &open, false,
			    &conn, &id, error_r);
	if (ret <= 0)
		return ret;
	pq = g_new0(struct journal_pg_quota, 1);
	pq->conn = conn;
	g_snprintf(pq->id_text, sizeof(pq->id_text), "%" G_GINT64_FORMAT, id);
	*q_r = &pq->q;
	return 1;
}

static void journal_pg_quota_close(struct journal_quota *q)
{
	struct journal_pg_quota *pq = journal_pg_quota_of(q);

	/* what was written since the last commit is kept unless a call
	   failed since (the caller gave up half way); a failure of this
	   commit has no one left to tell: a caller that cares committed
	   first.  pg_pool_release() rolls back whatever is left. */
	if (!q->failed && pg_conn_in_transaction(pq->conn))
		(void)pg_conn_commit(pq->conn, NULL);
	pg_pool_release(journal_pg_of(q->j)->pool, pq->conn, false);
	g_free(pq);
}

/* COMMIT, then a new transaction holding the row lock again, so that
   the quota stays usable until it is closed.  Also after a failed
   commit, so that the caller can go on (the failure is what it
   reports).  The lock is not held between the two: a caller commits
   once it has finished deciding with the quota. */
static int journal_pg_quota_commit(struct journal_quota *q)
{
	struct journal_pg_quota *pq = journal_pg_quota_of(q);
	struct journal_pg_open again = { .name = q->name, .create = false };
	char *error = NULL, *relock_error = NULL;
	gint64 id;
	int ret = pg_conn_commit(pq->conn, &error);

	if (journal_pg_begin_locked(pq->conn, &again, &id,
				    &relock_error) <= 0 && ret == 0) {
		ret = -1;
		error = relock_error != NULL ? relock_error :
			g_strdup_printf("quota %s has gone", q->name);
		relock_error = NULL;
	}
	g_free(relock_error);
	return ret < 0 ? journal_quota_error_take(q, error) : 0;
}

/* --- statements ---------------------------------------------------------- */

/* Run a statement of the quota's transaction; $1 is always the quota's
   id.  q's error on failure. */
static int journal_pg_exec(struct journal_quota *q, const char *sql,
			   int nparams, const char *const *params,
			   PGresult **res_r)
{
	struct journal_pg_quota *pq = journal_pg_quota_of(q);
	char *error = NULL;

	if (pg_conn_exec(pq->conn, sql, nparams, params, res_r, &error) < 0)
		return journal_quota_error_take(q, error);
	return 0;
}

static const char *journal_pg_id(struct journal_quota *q)
{
	return journal_pg_quota_of(q)->id_text;
}

/* --- limits -------------------------------------------------------------- */

static int journal_pg_limit_get(struct journal_quota *q, const char *subject,
				long *seconds_r)
{
	const char *params[] = { journal_pg_id(q), subject };
	PGresult *res;
	int ret;

	if (journal_pg_exec(q, "SELECT seconds FROM quota_limits "
			    "WHERE quota_id = $1 AND subject = $2", 2, params,
			    &res) < 0)
		return -1;
	ret = PQntuples(res) == 1 ? 1 : 0;
	if (ret == 1)
		*seconds_r = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return ret;
}

static int journal_pg_limit_set(struct journal_quota *q, const char *subject,
				long seconds)
{
	char text[24];
	const char *params[] = { journal_pg_id(q), subject, text };

	if (seconds < 0)
		return journal_pg_exec(q, "DELETE FROM quota_limits "
				       "WHERE quota_id = $1 AND subject = $2",
				       2, params, NULL);
	g_snprintf(text, sizeof(text), "%ld", seconds);
	return journal_pg_exec(q, "INSERT INTO quota_limits "
			       "(quota_id, subject, seconds) "
			       "VALUES ($1, $2, $3) "
			       "ON CONFLICT (quota_id, subject) "
			       "DO UPDATE SET seconds = EXCLUDED.seconds",
			       3, params, NULL);
}

static int journal_pg_limits_list(struct journal_quota *q, GPtrArray *limits_r)
{
	const char *params[] = { journal_pg_id(q) };
	PGresult *res;

	if (journal_pg_exec(q, "SELECT subject, seconds FROM quota_limits "
			    "WHERE quota_id = $1", 1, params, &res) < 0)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct journal_limit *l = g_new0(struct journal_limit, 1);

		l->subject = g_strdup(PQgetvalue(res, i, 0));
		l->seconds = strtol(PQgetvalue(res, i, 1), NULL, 10);
		g_ptr_array_add(limits_r, l);
	}
	PQclear(res);
	return 0;
}

/* --- groups -------------------------------------------------------------- */

static int journal_pg_group_get(struct journal_quota *q, const char *user,
				char **group_r)
{
	const char *params[] = { journal_pg_id(q), user };
	PGresult *res;
	int ret;

	if (journal_pg_exec(q, "SELECT group_name FROM quota_groups "
			    "WHERE quota_id = $1 AND member = $2", 2, params,
			    &res) < 0)
		return -1;
	ret = PQntuples(res) == 1 ? 1 : 0;
	if (ret == 1)
		*group_r = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return ret;
}

static int journal_pg_group_set(struct journal_quota *q, const char *user,
				const char *group)
{
	const char *params[] = { journal_pg_id(q), user, group };

	if (group == NULL)
		return journal_pg_exec(q, "DELETE FROM quota_groups "
				       "WHERE quota_id = $1 AND member = $2",
				       2, params, NULL);
	return journal_pg_exec(q, "INSERT INTO quota_groups "
			       "(quota_id, member, group_name) "
			       "VALUES ($1, $2, $3) "
			       "ON CONFLICT (quota_id, member) "
			       "DO UPDATE SET group_name = EXCLUDED.group_name",
			       3, params, NULL);
}

static int journal_pg_groups_list(struct journal_quota *q,
				  GPtrArray *members_r)
{
	const char *params[] = { journal_pg_id(q) };
	PGresult *res;

	if (journal_pg_exec(q, "SELECT member, group_name FROM quota_groups "
			    "WHERE quota_id = $1", 1, params, &res) < 0)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct journal_member *m = g_new0(struct journal_member, 1);

		m->user = g_strdup(PQgetvalue(res, i, 0));
		m->group = g_strdup(PQgetvalue(res, i, 1));
		g_ptr_array_add(members_r, m);
	}
	PQclear(res);
	return 0;
}

/* --- delegates ----------------------------------------------------------- */

static int journal_pg_delegates_get(struct journal_quota *q,
				    GPtrArray *delegates_r)
{
	const char *params[] = { journal_pg_id(q) };
	PGresult *res;

	if (journal_pg_exec(q, "SELECT address FROM quota_delegates "
			    "WHERE quota_id = $1 ORDER BY ordinal", 1, params,
			    &res) < 0)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(delegates_r, g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);
	return 0;
}

static int journal_pg_delegates_set(struct journal_quota *q,
				    const GPtrArray *delegates)
{
	const char *params[] = { journal_pg_id(q), NULL, NULL };
	char ordinal[16];

	if (journal_pg_exec(q, "DELETE FROM quota_delegates "
			    "WHERE quota_id = $1", 1, params, NULL) < 0)
		return -1;
	for (guint i = 0; i < delegates->len; i++) {
		g_snprintf(ordinal, sizeof(ordinal), "%u", i + 1);
		params[1] = g_ptr_array_index(delegates, i);
		params[2] = ordinal;
		if (journal_pg_exec(q, "INSERT INTO quota_delegates "
				    "(quota_id, address, ordinal) "
				    "VALUES ($1, $2, $3)", 3, params,
				    NULL) < 0)
			return -1;
	}
	return 0;
}

/* --- reservations -------------------------------------------------------- */

static int journal_pg_reservations_read(struct journal_quota *q,
					GPtrArray *out)
{
	const char *params[] = { journal_pg_id(q) };
	PGresult *res;

	if (journal_pg_exec(q, "SELECT extract(epoch FROM start_at)::bigint, "
			    "extract(epoch FROM end_at)::bigint, "
			    "resource, uid, rid, organiser "
			    "FROM quota_reservations WHERE quota_id = $1",
			    1, params, &res) < 0)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct journal_reservation *r =
			g_new0(struct journal_reservation, 1);
		const char *rid = PQgetvalue(res, i, 4);

		r->start = (time_t)g_ascii_strtoll(PQgetvalue(res, i, 0),
						   NULL, 10);
		r->end = (time_t)g_ascii_strtoll(PQgetvalue(res, i, 1),
						 NULL, 10);
		r->resource = g_strdup(PQgetvalue(res, i, 2));
		r->uid = g_strdup(PQgetvalue(res, i, 3));
		/* '' is "no RECURRENCE-ID" (a normalised one is never
		   empty), NULL in the API as in the file journal */
		r->rid = *rid == '\0' ? NULL : g_strdup(rid);
		r->organiser = g_strdup(PQgetvalue(res, i, 5));
		g_ptr_array_add(out, r);
	}
	PQclear(res);
	return 0;
}

static int journal_pg_reservations_replace(struct journal_quota *q,
					   const char *resource,
					   const char *uid,
					   const GPtrArray *fresh)
{
	const char *params[8] = { journal_pg_id(q), resource, uid };
	char start[24], end[24];

	if (journal_pg_exec(q, "DELETE FROM quota_reservations "
			    "WHERE quota_id = $1 AND resource = $2 "
			    "AND uid_key = imip_key($3)", 3, params,
			    NULL) < 0)
		return -1;
	for (guint i = 0; i < fresh->len; i++) {
		const struct journal_reservation *r =
			g_ptr_array_index(fresh, i);

		g_snprintf(start, sizeof(start), "%" G_GINT64_FORMAT,
			   (gint64)r->start);
		g_snprintf(end, sizeof(end), "%" G_GINT64_FORMAT,
			   (gint64)r->end);
		params[3] = r->rid != NULL ? r->rid : "";
		params[4] = start;
		params[5] = end;
		params[6] = r->organiser;
		if (journal_pg_exec(q, "INSERT INTO quota_reservations "
				    "(quota_id, resource, uid, rid, start_at, "
				    "end_at, organiser) VALUES ($1, $2, $3, "
				    "$4, to_timestamp($5::bigint), "
				    "to_timestamp($6::bigint), $7)", 7, params,
				    NULL) < 0)
			return -1;
	}
	return 0;
}

static int journal_pg_expire(struct journal_quota *q, time_t now,
			     unsigned int *removed_r)
{
	char text[24];
	const char *params[] = { journal_pg_id(q), text };
	PGresult *res;

	g_snprintf(text, sizeof(text), "%" G_GINT64_FORMAT, (gint64)now);
	/* an instance that has ended no longer uses the quota: this is
	   what replenishes it (reference 9) */
	if (journal_pg_exec(q, "DELETE FROM quota_reservations "
			    "WHERE quota_id = $1 "
			    "AND end_at <= to_timestamp($2::bigint)", 2, params,
			    &res) < 0)
		return -1;
	*removed_r = (unsigned int)strtoul(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

static const struct journal_vfuncs journal_pg_vfuncs = {
	.name = "postgresql",
	.deinit = journal_pg_deinit,
	.list_quotas = journal_pg_list_quotas,
	.quota_open = journal_pg_quota_open,
	.quota_close = journal_pg_quota_close,
	.quota_commit = journal_pg_quota_commit,
	.limit_get = journal_pg_limit_get,
	.limit_set = journal_pg_limit_set,
	.limits_list = journal_pg_limits_list,
	.group_get = journal_pg_group_get,
	.group_set = journal_pg_group_set,
	.groups_list = journal_pg_groups_list,
	.delegates_get = journal_pg_delegates_get,
	.delegates_set = journal_pg_delegates_set,
	.reservations_read = journal_pg_reservations_read,
	.reservations_replace = journal_pg_reservations_replace,
	.expire = journal_pg_expire,
};

int journal_pg_init(const struct imip_config *config, struct journal **j_r,
		    char **error_r)
{
	struct journal_pg *jp;

	*j_r = NULL;
	if (config->store_conninfo == NULL) {
		*error_r = g_strdup("store_backend = postgresql needs "
				    "store_conninfo");
		return -1;
	}
	jp = g_new0(struct journal_pg, 1);
	jp->j.v = &journal_pg_vfuncs;
	jp->pool = pg_pool_new(config->store_conninfo, JOURNAL_PG_POOL_MAX);
	*j_r = &jp->j;
	return 0;
}
