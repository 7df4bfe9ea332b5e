/* imip-admin db-upgrade: bring the PostgreSQL store's schema up to date
   (docs/postgresql.md, pg-schema.h).  With store_backend = file there is
   nothing to do; a build without libpq says so. */

#include "admin.h"
#include "config.h"

#include <stdio.h>
#include <string.h>

#ifdef IMIP_HAVE_POSTGRESQL
#include "pg-schema.h"

static void admin_db_applied(const struct pg_schema_file *file,
			     void *context)
{
	(void)context;
	printf("applied\t%u\t%s\n", file->version, file->name);
	fflush(stdout);
}

static int admin_db_upgrade(struct admin *a, const char *dir)
{
	struct pg_conn *conn;
	unsigned int version;
	char *error = NULL;
	int ret;

	if (pg_conn_open(a->config->store_conninfo, &conn, &error) < 0) {
		admin_error("%s", error);
		g_free(error);
		return ADMIN_EX_IOERR;
	}
	ret = pg_schema_upgrade(conn, dir, admin_db_applied, NULL, &version,
				&error);
	pg_conn_close(&conn);
	if (ret < 0) {
		admin_error("%s (the database stays at schema version %u)",
			    error, version);
		g_free(error);
		return ADMIN_EX_IOERR;
	}
	printf("version\t%u\n", version);
	return ADMIN_EX_OK;
}
#endif

int cmd_db_upgrade(struct admin *a)
{
	const char *dir = IMIP_PG_SCHEMA_DIR;

	if (a->argc == 2 && strcmp(a->argv[0], "--schema-dir") == 0)
		dir = a->argv[1];
	else if (a->argc != 0)
		return ADMIN_EX_USAGE;
	if (a->config->store_backend == IMIP_STORE_BACKEND_FILE) {
		puts("store_backend is file: nothing to do");
		return ADMIN_EX_OK;
	}
#ifdef IMIP_HAVE_POSTGRESQL
	return admin_db_upgrade(a, dir);
#else
	(void)dir;
	admin_error("store_backend = postgresql, but this imip-admin was "
		    "built without PostgreSQL support (libpq)");
	return ADMIN_EX_CONFIG;
#endif
}
