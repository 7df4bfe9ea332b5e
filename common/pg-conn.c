/* A connection to the PostgreSQL store: see pg-conn.h. */

#include "pg-conn.h"

#include <string.h>

/* A session waits at most this long for a lock: a delivery that cannot
   get the user's lock (another host hangs inside a processing) ends with
   the outcome error and the mail is delivered all the same (DESIGN.md
   rule 1), instead of holding the MTA's delivery up.  The server ends a
   session of ours that sits idle inside a transaction for longer, which
   releases its locks for the other hosts; the store never waits for the
   MTA inside a transaction (store-pg.h), so only a hung host meets it. */
#define PG_CONN_LOCK_TIMEOUT "60s"
#define PG_CONN_IDLE_IN_TRANSACTION_TIMEOUT "60s"

struct pg_conn {
	PGconn *pg;
};

static void pg_conn_set_error(char **error_r, char *error)
{
	if (error_r != NULL)
		*error_r = error;
	else
		g_free(error);
}

/* libpq's messages end with a newline and may have several lines. */
static char *pg_conn_message(const char *prefix, const char *message)
{
	char *text = g_strdup(message != NULL && *message != '\0' ?
			      message : "unknown error");
	char *error;

	g_strstrip(text);
	for (char *p = text; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	}
	error = g_strconcat(prefix, text, NULL);
	g_free(text);
	return error;
}

int pg_conn_open(const char *conninfo, struct pg_conn **conn_r,
		 char **error_r)
{
	/* expand_dbname: the first "dbname" is the whole conninfo; the keys
	   after it override what it says, so the session always speaks
	   UTF-8 (the schema stores text as UTF-8). */
	const char *const keys[] = {
		"dbname", "fallback_application_name", "client_encoding", NULL,
	};
	const char *const values[] = {
		conninfo != NULL ? conninfo : "", "imip-agent", "UTF8", NULL,
	};
	struct pg_conn *conn;
	char *error = NULL;

	*conn_r = NULL;
	if (pg_lib_load(&error) < 0) {
		pg_conn_set_error(error_r, error);
		return -1;
	}
	conn = g_new0(struct pg_conn, 1);
	conn->pg = PQconnectdbParams(keys, values, 1);
	if (conn->pg == NULL) {
		g_free(conn);
		pg_conn_set_error(error_r, g_strdup(
			"cannot connect to PostgreSQL: out of memory"));
		return -1;
	}
	if (PQstatus(conn->pg) != CONNECTION_OK) {
		pg_conn_set_error(error_r, pg_conn_message(
			"cannot connect to PostgreSQL: ",
			PQerrorMessage(conn->pg)));
		pg_conn_close(&conn);
		return -1;
	}
	if (pg_conn_exec_script(conn,
		"SET lock_timeout = '" PG_CONN_LOCK_TIMEOUT "'; "
		"SET idle_in_transaction_session_timeout = '"
		PG_CONN_IDLE_IN_TRANSACTION_TIMEOUT "'", &error) < 0) {
		pg_conn_set_error(error_r, error);
		pg_conn_close(&conn);
		return -1;
	}
	*conn_r = conn;
	return 0;
}

void pg_conn_close(struct pg_conn **conn)
{
	if (conn == NULL || *conn == NULL)
		return;
	/* Closing the connection ends an open transaction without committing
	   it: the server rolls it back. */
	PQfinish((*conn)->pg);
	g_free(*conn);
	*conn = NULL;
}

bool pg_conn_is_open(const struct pg_conn *conn)
{
	return PQstatus(conn->pg) == CONNECTION_OK;
}

/* Turn a finished statement into 0, or -1 with the error and SQLSTATE;
   res (possibly NULL: no memory, connection lost) is consumed on error. */
static int pg_conn_check(struct pg_conn *conn, PGresult *res,
			 PGresult **res_r, char **error_r)
{
	ExecStatusType status = res != NULL ? PQresultStatus(res) :
		PGRES_FATAL_ERROR;
	const char *state;

	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
		if (res_r != NULL)
			*res_r = res;
		else
			PQclear(res);
		return 0;
	}
	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (res != NULL && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
		char *message = pg_conn_message("PostgreSQL: ",
			PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));

		pg_conn_set_error(error_r, g_strdup_printf("%s (SQLSTATE %s)",
			message, state != NULL ? state : "unknown"));
		g_free(message);
	} else {
		pg_conn_set_error(error_r, pg_conn_message("PostgreSQL: ",
			PQerrorMessage(conn->pg)));
	}
	PQclear(res);
	return -1;
}

int pg_conn_exec_binary(struct pg_conn *conn, const char *sql, int nparams,
			const char *const *params, const int *lengths,
			const int *formats, PGresult **res_r, char **error_r)
{
	PGresult *res;

	if (res_r != NULL)
		*res_r = NULL;
	res = PQexecParams(conn->pg, sql, nparams, NULL, params, lengths,
			   formats, 0);
	return pg_conn_check(conn, res, res_r, error_r);
}

int pg_conn_exec(struct pg_conn *conn, const char *sql, int nparams,
		 const char *const *params, PGresult **res_r, char **error_r)
{
	return pg_conn_exec_binary(conn, sql, nparams, params, NULL, NULL,
				   res_r, error_r);
}

int pg_conn_exec_script(struct pg_conn *conn, const char *sql,
			char **error_r)
{
	/* PQexec (the simple query protocol) is the call that accepts
	   several statements; with several, only the last result is
	   returned, and a failure stops at the failing statement. */
	return pg_conn_check(conn, PQexec(conn->pg, sql), NULL, error_r);
}

bool pg_conn_in_transaction(const struct pg_conn *conn)
{
	PGTransactionStatusType status = PQtransactionStatus(conn->pg);

	return status == PQTRANS_INTRANS || status == PQTRANS_INERROR ||
		status == PQTRANS_ACTIVE;
}

int pg_conn_begin(struct pg_conn *conn, char **error_r)
{
	if (pg_conn_in_transaction(conn)) {
		pg_conn_set_error(error_r, g_strdup(
			"PostgreSQL: a transaction is already open"));
		return -1;
	}
	return pg_conn_exec(conn, "BEGIN ISOLATION LEVEL READ COMMITTED", 0,
			    NULL, NULL, error_r);
}

int pg_conn_commit(struct pg_conn *conn, char **error_r)
{
	PGresult *res;
	bool rolled_back;

	if (!pg_conn_in_transaction(conn)) {
		pg_conn_set_error(error_r, g_strdup(
			"PostgreSQL: commit without a transaction"));
		return -1;
	}
	/* COMMIT of a transaction in which a statement failed succeeds and
	   rolls back: only its command tag tells. */
	if (pg_conn_exec(conn, "COMMIT", 0, NULL, &res, error_r) < 0)
		return -1;
	rolled_back = strcmp(PQcmdStatus(res), "COMMIT") != 0;
	PQclear(res);
	if (rolled_back) {
		pg_conn_set_error(error_r, g_strdup(
			"PostgreSQL: the transaction failed earlier and was "
			"rolled back"));
		return -1;
	}
	return 0;
}

int pg_conn_rollback(struct pg_conn *conn, char **error_r)
{
	if (!pg_conn_in_transaction(conn)) {
		pg_conn_set_error(error_r, g_strdup(
			"PostgreSQL: rollback without a transaction"));
		return -1;
	}
	return pg_conn_exec(conn, "ROLLBACK", 0, NULL, NULL, error_r);
}

/* The lock of a quota journal (journal-pg.c): its row of `quotas`, FOR
   NO KEY UPDATE (001-initial.sql), made first when asked. */
int pg_conn_lock_quota(struct pg_conn *conn, const char *quota,
		       enum pg_lock_flags flags, gint64 *quota_id_r,
		       char **error_r)
{
	const char *params[] = { quota };
	PGresult *res;
	int ret = 0;

	*quota_id_r = 0;
	if (quota == NULL || *quota == '\0') {
		pg_conn_set_error(error_r, g_strdup(
			"PostgreSQL: cannot lock an empty quota name"));
		return -1;
	}
	/* Outside a transaction the lock would end with the statement. */
	if (!pg_conn_in_transaction(conn)) {
		pg_conn_set_error(error_r, g_strdup(
			"PostgreSQL: quota lock outside a transaction"));
		return -1;
	}
	/* A quota created by a transaction that has not committed yet is
	   not there for the others: a creating opener waits on the insert
	   for that transaction to end, a plain open sees no row. */
	if ((flags & PG_LOCK_CREATE) != 0 &&
	    pg_conn_exec(conn, "INSERT INTO quotas (name) VALUES ($1) "
			 "ON CONFLICT (name) DO NOTHING", 1, params, NULL,
			 error_r) < 0)
		return -1;
	if (pg_conn_exec(conn, "SELECT id FROM quotas WHERE name = $1 "
			 "FOR NO KEY UPDATE", 1, params, &res, error_r) < 0)
		return -1;
	if (PQntuples(res) == 1) {
		*quota_id_r = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		ret = 1;
	}
	PQclear(res);
	return ret;
}

void pg_conn_array_append(GString *array, const char *value)
{
	if (array->len > 1)
		g_string_append_c(array, ',');
	g_string_append_c(array, '"');
	for (const char *s = value; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			g_string_append_c(array, '\\');
		g_string_append_c(array, *s);
	}
	g_string_append_c(array, '"');
}
