/* pg-conn.h against a real server: values travel as parameters, errors
   carry their SQLSTATE, transactions, and the quota lock that serialises
   the writers of one quota journal.

   Needs IMIP_TEST_CONNINFO (a database that `imip-admin db-upgrade` has
   brought to PG_SCHEMA_VERSION); tests/integration/postgresql-schema.sh
   runs it against a private server.  Not a meson test for that reason. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

#include "pg-conn.h"
#include "pg-schema.h"

static const char *conninfo;

static struct pg_conn *connect_ok(void)
{
	struct pg_conn *conn = NULL;
	char *error = NULL;

	if (pg_conn_open(conninfo, &conn, &error) < 0)
		fail_msg("connect: %s", error);
	return conn;
}

/* A call that must succeed; `error` is the caller's error string. */
#define ok(call) do { \
		if ((call) < 0) \
			fail_msg("%s", error != NULL ? error : "(no error)"); \
	} while (0)

/* In a second session, give up on a lock after 200 ms instead of the
   long production timeout. */
static void begin_impatient(struct pg_conn *conn)
{
	char *error = NULL;

	ok(pg_conn_begin(conn, &error));
	ok(pg_conn_exec(conn, "SET LOCAL lock_timeout = '200ms'", 0, NULL,
			NULL, &error));
}

static void test_connect_error_hides_conninfo(void **state)
{
	struct pg_conn *conn = NULL;
	char *error = NULL;

	(void)state;
	assert_int_equal(pg_conn_open("host=/nonexistent/imip port=5432 "
				      "user=imip password=secret-word", &conn,
				      &error), -1);
	assert_null(conn);
	assert_true(g_str_has_prefix(error, "cannot connect to PostgreSQL: "));
	assert_null(strstr(error, "secret-word"));
	assert_null(strchr(error, '\n'));
	g_free(error);
}

/* Hostile values are data, not SQL; NULL is SQL NULL. */
static void test_parameters(void **state)
{
	static const char *const values[] = {
		"'; DROP TABLE users; --", "a\\b\"c'd", "événement \xf0\x9f\x93\x85",
		"", "line\r\nbreak\ttab",
	};
	struct pg_conn *conn = connect_ok();
	char *error = NULL;
	PGresult *res;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
		const char *params[] = { values[i] };

		ok(pg_conn_exec(conn, "SELECT $1::text", 1, params, &res,
				&error));
		assert_string_equal(PQgetvalue(res, 0, 0), values[i]);
		PQclear(res);
	}
	{
		const char *params[] = { NULL };

		ok(pg_conn_exec(conn, "SELECT $1::text IS NULL", 1, params,
				&res, &error));
		assert_string_equal(PQgetvalue(res, 0, 0), "t");
		PQclear(res);
	}
	pg_conn_close(&conn);
	assert_null(conn);
}

/* bytea in binary format keeps every byte, NUL included. */
static void test_binary_parameter(void **state)
{
	static const char bytes[] = { 0x00, (char)0xff, '\r', '\n', 'x' };
	const char *params[] = { bytes };
	const int lengths[] = { sizeof(bytes) };
	const int formats[] = { 1 };
	struct pg_conn *conn = connect_ok();
	char *error = NULL;
	PGresult *res;

	(void)state;
	ok(pg_conn_exec_binary(conn, "SELECT encode($1::bytea, 'hex')", 1,
			       params, lengths, formats, &res, &error));
	assert_string_equal(PQgetvalue(res, 0, 0), "00ff0d0a78");
	PQclear(res);
	pg_conn_close(&conn);
}

static void test_errors_carry_sqlstate(void **state)
{
	struct pg_conn *conn = connect_ok();
	char *error = NULL;
	PGresult *res = (PGresult *)&res;

	(void)state;
	assert_int_equal(pg_conn_exec(conn, "SELECT 1/0", 0, NULL, &res,
				      &error), -1);
	assert_null(res);
	assert_string_equal(error, "PostgreSQL: division by zero "
			    "(SQLSTATE 22012)");
	g_free(error);
	/* error_r may be NULL */
	assert_int_equal(pg_conn_exec(conn, "SELECT nosuchcolumn", 0, NULL,
				      NULL, NULL), -1);
	ok(pg_conn_exec(conn, "SELECT 1", 0, NULL, NULL, &error));
	/* several statements in one script; a failure stops it */
	ok(pg_conn_exec_script(conn, "SELECT 1; SELECT 2", &error));
	assert_int_equal(pg_conn_exec_script(conn, "SELECT 1; SELEC 2",
					     &error), -1);
	assert_non_null(strstr(error, "(SQLSTATE 42601)"));
	g_free(error);
	pg_conn_close(&conn);
}

static void test_transactions(void **state)
{
	struct pg_conn *conn = connect_ok();
	char *error = NULL;
	gint64 id;

	(void)state;
	assert_false(pg_conn_in_transaction(conn));
	assert_int_equal(pg_conn_commit(conn, &error), -1);
	g_free(error);
	assert_int_equal(pg_conn_rollback(conn, &error), -1);
	g_free(error);

	/* a rolled-back creation leaves no quota */
	ok(pg_conn_begin(conn, &error));
	assert_true(pg_conn_in_transaction(conn));
	assert_int_equal(pg_conn_begin(conn, &error), -1);
	assert_string_equal(error, "PostgreSQL: a transaction is already open");
	g_free(error);
	assert_int_equal(pg_conn_lock_quota(conn, "rolled.back@example.com",
					   PG_LOCK_CREATE, &id, &error), 1);
	ok(pg_conn_rollback(conn, &error));
	assert_false(pg_conn_in_transaction(conn));
	ok(pg_conn_begin(conn, &error));
	assert_int_equal(pg_conn_lock_quota(conn, "rolled.back@example.com", 0,
					   &id, &error), 0);
	assert_int_equal(id, 0);
	ok(pg_conn_rollback(conn, &error));

	/* COMMIT after a failed statement rolls back, and says so */
	ok(pg_conn_begin(conn, &error));
	assert_int_equal(pg_conn_lock_quota(conn, "failed.tx@example.com",
					   PG_LOCK_CREATE, &id, &error), 1);
	assert_int_equal(pg_conn_exec(conn, "SELECT 1/0", 0, NULL, NULL,
				      NULL), -1);
	assert_int_equal(pg_conn_commit(conn, &error), -1);
	assert_non_null(strstr(error, "rolled back"));
	g_free(error);
	assert_false(pg_conn_in_transaction(conn));
	ok(pg_conn_begin(conn, &error));
	assert_int_equal(pg_conn_lock_quota(conn, "failed.tx@example.com", 0,
					   &id, &error), 0);
	ok(pg_conn_commit(conn, &error));

	/* a lock outside a transaction would end with its statement */
	assert_int_equal(pg_conn_lock_quota(conn, "x@example.com",
					   PG_LOCK_CREATE, &id, &error), -1);
	assert_non_null(strstr(error, "outside a transaction"));
	g_free(error);
	pg_conn_close(&conn);
}

/* Writers of one quota exclude each other; other quotas go on. */
static void test_quota_lock_exclusive(void **state)
{
	struct pg_conn *a = connect_ok(), *b = connect_ok();
	char *error = NULL;
	gint64 id_a, id_b;

	(void)state;
	ok(pg_conn_begin(a, &error));
	assert_int_equal(pg_conn_lock_quota(a, "vincent.vole@example.com",
					   PG_LOCK_CREATE, &id_a, &error), 1);
	assert_true(id_a > 0);

	begin_impatient(b);
	assert_int_equal(pg_conn_lock_quota(b, "vincent.vole@example.com",
					   PG_LOCK_CREATE, &id_b, &error), -1);
	assert_non_null(strstr(error, "(SQLSTATE 55P03)"));
	g_free(error);
	ok(pg_conn_rollback(b, &error));

	begin_impatient(b);
	assert_int_equal(pg_conn_lock_quota(b, "paul.boddie@example.com",
					   PG_LOCK_CREATE, &id_b, &error), 1);
	assert_true(id_b != id_a);
	ok(pg_conn_commit(b, &error));

	ok(pg_conn_commit(a, &error));
	begin_impatient(b);
	assert_int_equal(pg_conn_lock_quota(b, "vincent.vole@example.com", 0,
					   &id_b, &error), 1);
	assert_int_equal(id_b, id_a);
	ok(pg_conn_commit(b, &error));
	pg_conn_close(&a);
	pg_conn_close(&b);
}

struct waiter {
	struct pg_conn *conn;
	gint64 waited_us;
	int locked;
	char *error;
};

static gpointer waiter_run(gpointer data)
{
	struct waiter *w = data;
	gint64 start = g_get_monotonic_time(), id;

	if (pg_conn_begin(w->conn, &w->error) < 0)
		return NULL;
	w->locked = pg_conn_lock_quota(w->conn, "serial@example.com",
				      PG_LOCK_CREATE, &id, &w->error);
	w->waited_us = g_get_monotonic_time() - start;
	if (w->locked == 1)
		(void)pg_conn_commit(w->conn, &w->error);
	return NULL;
}

/* A second writer of a quota waits (with the normal timeout) until the
   first one commits, then goes on: the serial result of two
   deliveries. */
static void test_quota_lock_waits(void **state)
{
	struct waiter w = { .conn = connect_ok() };
	struct pg_conn *a = connect_ok();
	char *error = NULL;
	GThread *thread;
	gint64 id;

	(void)state;
	ok(pg_conn_begin(a, &error));
	assert_int_equal(pg_conn_lock_quota(a, "serial@example.com",
					   PG_LOCK_CREATE, &id, &error), 1);
	thread = g_thread_new("waiter", waiter_run, &w);
	g_usleep(500000);
	ok(pg_conn_commit(a, &error));
	g_thread_join(thread);
	if (w.locked != 1)
		fail_msg("waiter: %s", w.error);
	assert_true(w.waited_us >= 400000);
	pg_conn_close(&a);
	pg_conn_close(&w.conn);
}

static void test_quota_lock(void **state)
{
	struct pg_conn *a = connect_ok(), *b = connect_ok();
	char *error = NULL;
	gint64 id;

	(void)state;
	ok(pg_conn_begin(a, &error));
	assert_int_equal(pg_conn_lock_quota(a, "rooms", 0, &id, &error), 0);
	assert_int_equal(pg_conn_lock_quota(a, "rooms", PG_LOCK_CREATE, &id,
					    &error), 1);
	assert_int_equal(pg_conn_lock_quota(a, "", PG_LOCK_CREATE, &id,
					    &error), -1);
	g_free(error);
	begin_impatient(b);
	assert_int_equal(pg_conn_lock_quota(b, "rooms", PG_LOCK_CREATE, &id,
					    &error), -1);
	assert_non_null(strstr(error, "(SQLSTATE 55P03)"));
	g_free(error);
	ok(pg_conn_rollback(b, &error));
	ok(pg_conn_commit(a, &error));
	pg_conn_close(&a);
	pg_conn_close(&b);
}

static void test_schema_version(void **state)
{
	struct pg_conn *conn = connect_ok();
	unsigned int version = 0;
	char *error = NULL;

	(void)state;
	ok(pg_schema_version(conn, &version, &error));
	assert_int_equal(version, PG_SCHEMA_VERSION);
	pg_conn_close(&conn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_error_hides_conninfo),
		cmocka_unit_test(test_parameters),
		cmocka_unit_test(test_binary_parameter),
		cmocka_unit_test(test_errors_carry_sqlstate),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_quota_lock_exclusive),
		cmocka_unit_test(test_quota_lock_waits),
		cmocka_unit_test(test_quota_lock),
		cmocka_unit_test(test_schema_version),
	};

	conninfo = getenv("IMIP_TEST_CONNINFO");
	if (conninfo == NULL) {
		fprintf(stderr, "test-pg-conn: set IMIP_TEST_CONNINFO\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
