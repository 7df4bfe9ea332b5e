#ifndef IMIP_PG_SCHEMA_H
#define IMIP_PG_SCHEMA_H

/* The versioned schema of the PostgreSQL store (conf/postgresql/, installed
   in share/imip-agent/postgresql): numbered files NNN-what.sql, applied in
   order by `imip-admin db-upgrade`, each in its own transaction that also
   records its version in the table schema_version.  Built only with libpq.
   Return convention as in pg-conn.h. */

#include "pg-conn.h"

/* The schema version the code of this build reads and writes; the store
   refuses any other, and db-upgrade refuses a schema directory that stops
   short of it. */
#define PG_SCHEMA_VERSION 1

struct pg_schema_file {
	unsigned int version;	/* NNN */
	char *name;		/* NNN-what.sql */
	char *path;
};

/* The schema files of `dir`, by version.  Other files (README, ...) are
   skipped, but a *.sql whose name is not NNN-what.sql, a version 0, two
   files of one version or a missing version (1, 2, 4) is an error: a
   mistake in the installation, not something to guess around.  The array
   frees its elements. */
int pg_schema_list(const char *dir, GPtrArray **files_r, char **error_r);

/* The database's schema version: the highest in schema_version, 0 when
   nothing has been applied yet (no such table). */
int pg_schema_version(struct pg_conn *conn, unsigned int *version_r,
		      char **error_r);

/* Called after each file is committed. */
typedef void pg_schema_applied_func(const struct pg_schema_file *file,
				    void *context);

/* Bring the database up to the last file of `dir`.  A database newer than
   that is refused and left alone, as is a directory that stops short of
   PG_SCHEMA_VERSION.  Each file runs in its own transaction (a failing
   file changes nothing, the ones before it stay); concurrent upgrades
   wait for each other (an advisory lock) and never apply a file twice.
   *version_r is the version afterwards (also on error, if known). */
int pg_schema_upgrade(struct pg_conn *conn, const char *dir,
		      pg_schema_applied_func *applied, void *context,
		      unsigned int *version_r, char **error_r);

#endif
