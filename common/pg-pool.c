/* The connection pool of the PostgreSQL store and quota journal
   (pg-pool.h). */

#include "pg-pool.h"

struct pg_pool {
	char *conninfo;
	unsigned int max_idle;
	/* struct pg_conn *: connected, no transaction, no lock held */
	GPtrArray *idle;
};

static void pg_pool_conn_free(gpointer conn)
{
	struct pg_conn *c = conn;

	pg_conn_close(&c);
}

struct pg_pool *pg_pool_new(const char *conninfo, unsigned int max_idle)
{
	struct pg_pool *pool = g_new0(struct pg_pool, 1);

	pool->conninfo = g_strdup(conninfo);
	pool->max_idle = max_idle;
	pool->idle = g_ptr_array_new_with_free_func(pg_pool_conn_free);
	return pool;
}

void pg_pool_free(struct pg_pool **poolp)
{
	struct pg_pool *pool = *poolp;

	if (pool == NULL)
		return;
	*poolp = NULL;
	g_ptr_array_free(pool->idle, TRUE);
	g_free(pool->conninfo);
	g_free(pool);
}

/* An idle connection (newest first), or a new one; *pooled_r says
   which. */
static int pg_pool_take_any(struct pg_pool *pool, struct pg_conn **conn_r,
			    bool *pooled_r, char **error_r)
{
	*pooled_r = pool->idle->len > 0;
	if (*pooled_r) {
		*conn_r = g_ptr_array_steal_index(pool->idle,
						  pool->idle->len - 1);
		return 0;
	}
	return pg_conn_open(pool->conninfo, conn_r, error_r);
}

int pg_pool_take(struct pg_pool *pool, struct pg_conn **conn_r,
		 char **error_r)
{
	bool pooled;

	return pg_pool_take_any(pool, conn_r, &pooled, error_r);
}

int pg_pool_begin(struct pg_pool *pool, pg_pool_begin_func *begin,
		  void *context, bool unlock, struct pg_conn **conn_r,
		  gint64 *id_r, char **error_r)
{
	struct pg_conn *conn;
	bool pooled;
	int ret;

	*conn_r = NULL;
	for (;;) {
		if (pg_pool_take_any(pool, &conn, &pooled, error_r) < 0)
			return -1;
		ret = begin(conn, context, id_r, error_r);
		if (ret >= 0 || !pooled || pg_conn_is_open(conn))
			break;
		pg_conn_close(&conn);
		g_clear_pointer(error_r, g_free);
	}
	if (ret <= 0) {
		pg_pool_release(pool, conn, unlock);
		return ret;
	}
	*conn_r = conn;
	return 1;
}

void pg_pool_release(struct pg_pool *pool, struct pg_conn *conn, bool unlock)
{
	bool reusable = pg_conn_is_open(conn);

	if (reusable && pg_conn_in_transaction(conn))
		reusable = pg_conn_rollback(conn, NULL) == 0;
	if (reusable && unlock)
		reusable = pg_conn_exec(conn, "SELECT pg_advisory_unlock_all()",
					0, NULL, NULL, NULL) == 0;
	if (reusable && pg_conn_is_open(conn) &&
	    pool->idle->len < pool->max_idle)
		g_ptr_array_add(pool->idle, conn);
	else
		pg_conn_close(&conn);
}
