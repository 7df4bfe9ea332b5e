#ifndef IMIP_PG_LIB_H
#define IMIP_PG_LIB_H

/* libpq, loaded when the first PostgreSQL connection is made, not linked
   at build time: every program of a site that keeps the file store
   would otherwise map libpq and all it pulls in (OpenSSL, GSSAPI, LDAP,
   SASL: 19 more shared objects) at each start.  Measured: imip-shim
   started in 11.2 ms with libpq linked, 5.5 ms without
   (bench/RESULTS.md).

   The PostgreSQL code includes this header (through pg-conn.h), never
   <libpq-fe.h> alone: each libpq function it uses is redirected below
   to a table that pg_lib_load() fills from libpq.so.5.  Only
   pg_conn_open() loads it; every other libpq call is made on a result
   or a connection, so after it.  Built only with libpq's headers
   (IMIP_HAVE_POSTGRESQL); the package needs libpq5 only where
   store_backend = postgresql. */

#include <libpq-fe.h>

/* The library loaded, by its SONAME (Debian: libpq5). */
#define PG_LIB_SONAME "libpq.so.5"

/* The libpq functions used, once: the table's fields and the names
   pg_lib_load() looks up both come from this list. */
#define PG_LIB_FUNCTIONS(X) \
	X(PQconnectdbParams) X(PQstatus) X(PQerrorMessage) X(PQfinish) \
	X(PQtransactionStatus) X(PQexec) X(PQexecParams) X(PQresultStatus) \
	X(PQresultErrorField) X(PQntuples) X(PQgetvalue) X(PQgetisnull) \
	X(PQcmdTuples) X(PQcmdStatus) X(PQclear) X(PQunescapeBytea) \
	X(PQfreemem)

#define PG_LIB_FIELD(name) __typeof__(name) *name;
struct pg_lib {
	PG_LIB_FUNCTIONS(PG_LIB_FIELD)
};
#undef PG_LIB_FIELD

/* Filled by pg_lib_load(); its entries are NULL before. */
extern struct pg_lib pg_lib_fn;

/* Load libpq once per process (thread-safe; later calls are cheap).
   Returns 0, or -1 with *error_r (allocated) naming the library and
   dlopen's reason. */
int pg_lib_load(char **error_r);

/* Each name of PG_LIB_FUNCTIONS to its entry (a macro cannot define
   macros, so they are listed again). */
#ifndef PG_LIB_NO_REDIRECT
#define PQconnectdbParams (pg_lib_fn.PQconnectdbParams)
#define PQstatus (pg_lib_fn.PQstatus)
#define PQerrorMessage (pg_lib_fn.PQerrorMessage)
#define PQfinish (pg_lib_fn.PQfinish)
#define PQtransactionStatus (pg_lib_fn.PQtransactionStatus)
#define PQexec (pg_lib_fn.PQexec)
#define PQexecParams (pg_lib_fn.PQexecParams)
#define PQresultStatus (pg_lib_fn.PQresultStatus)
#define PQresultErrorField (pg_lib_fn.PQresultErrorField)
#define PQntuples (pg_lib_fn.PQntuples)
#define PQgetvalue (pg_lib_fn.PQgetvalue)
#define PQgetisnull (pg_lib_fn.PQgetisnull)
#define PQcmdTuples (pg_lib_fn.PQcmdTuples)
#define PQcmdStatus (pg_lib_fn.PQcmdStatus)
#define PQclear (pg_lib_fn.PQclear)
#define PQunescapeBytea (pg_lib_fn.PQunescapeBytea)
#define PQfreemem (pg_lib_fn.PQfreemem)
#endif

#endif
