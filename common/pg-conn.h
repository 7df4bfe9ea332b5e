#ifndef IMIP_PG_CONN_H
#define IMIP_PG_CONN_H

/* A connection to the PostgreSQL store (docs/postgresql.md), a thin layer
   over libpq: statements always take their values as parameters (never
   pasted into SQL text), errors come back as strings, transactions and
   the quota journal's row lock.  The store's sessions (store-pg.h) lock
   a user with an advisory lock instead, which can outlive a commit
   (conf/postgresql/001-initial.sql explains the locks).

   Built only with libpq (meson option postgresql; IMIP_HAVE_POSTGRESQL).
   Return convention as in store.h: -1 error with *error_r (g_free it),
   0 nothing / not found, 1 found; error_r may be NULL. */

#include <stdbool.h>
#include <glib.h>
#include "pg-lib.h"

struct pg_conn;

/* Open a connection with a libpq conninfo string (store_conninfo: "key=value
   ..." or a postgresql:// URI; an empty string means libpq's defaults and
   PG* environment).  The session speaks UTF-8 and gives up on a lock or
   an idle transaction after the timeouts of pg-conn.c, so that a stuck
   client cannot hold mail up for ever.  Errors never repeat the conninfo
   (it may hold a password). */
int pg_conn_open(const char *conninfo, struct pg_conn **conn_r,
		 char **error_r);
/* Close; an open transaction is rolled back. */
void pg_conn_close(struct pg_conn **conn);
/* false once the connection is lost (server gone, session ended by the
   server): such a connection is closed, never used again. */
bool pg_conn_is_open(const struct pg_conn *conn);

/* Run one statement with `nparams` text parameters ($1 ...; a NULL value
   is SQL NULL).  On success returns 0 and, if res_r is not NULL, the
   result (PQclear it); the result of a query that returned rows is
   PGRES_TUPLES_OK, of a command PGRES_COMMAND_OK. */
int pg_conn_exec(struct pg_conn *conn, const char *sql, int nparams,
		 const char *const *params, PGresult **res_r, char **error_r);
/* The same with lengths and formats per parameter (format 1: binary, for
   bytea values that may hold any byte); NULL lengths/formats mean text. */
int pg_conn_exec_binary(struct pg_conn *conn, const char *sql, int nparams,
			const char *const *params, const int *lengths,
			const int *formats, PGresult **res_r, char **error_r);
/* Several statements in one string, without parameters (a schema file). */
int pg_conn_exec_script(struct pg_conn *conn, const char *sql,
			char **error_r);

/* Add one element to a PostgreSQL array literal being built in `array`
   (started with "{"; the caller closes it with "}"): double-quoted, with
   '"' and '\' escaped by a backslash (the array input syntax), so any
   text (commas, braces, quotes, "NULL") reaches the row unchanged.  One
   statement with array parameters (unnest) writes many rows in one
   round trip. */
void pg_conn_array_append(GString *array, const char *value);

/* Transactions (READ COMMITTED, see 001-initial.sql).  begin refuses a
   nested transaction; commit and rollback refuse when none is open.  A
   failed commit leaves no transaction open. */
int pg_conn_begin(struct pg_conn *conn, char **error_r);
int pg_conn_commit(struct pg_conn *conn, char **error_r);
int pg_conn_rollback(struct pg_conn *conn, char **error_r);
bool pg_conn_in_transaction(const struct pg_conn *conn);

enum pg_lock_flags {
	PG_LOCK_CREATE = 0x01,	/* add the quota if missing */
};

/* Lock a quota journal's row of `quotas` until the transaction ends
   (inside pg_conn_begin/commit; journal-pg.c): exclusive.  `quota` is a
   normalised quota name.  Returns 1 with the quota's id, 0 when it does
   not exist and PG_LOCK_CREATE was not given, -1 on error (also when
   the lock was not had within the lock timeout).  Blocks while another
   transaction holds it.  Take it after the user's store lock, never
   before. */
int pg_conn_lock_quota(struct pg_conn *conn, const char *quota,
		       enum pg_lock_flags flags, gint64 *quota_id_r,
		       char **error_r);

#endif
