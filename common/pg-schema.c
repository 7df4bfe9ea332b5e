/* The versioned schema of the PostgreSQL store: see pg-schema.h. */

#include "pg-schema.h"

#include <string.h>

/* Key of the transaction-level advisory lock that serialises db-upgrade
   runs (the bytes "imip"): schema_version cannot be locked before it
   exists. */
#define PG_SCHEMA_LOCK_KEY "1768778096"

static void pg_schema_file_free(gpointer data)
{
	struct pg_schema_file *file = data;

	g_free(file->name);
	g_free(file->path);
	g_free(file);
}

static void pg_schema_set_error(char **error_r, char *error)
{
	if (error_r != NULL)
		*error_r = error;
	else
		g_free(error);
}

/* NNN-what.sql: three digits, a dash, letters, digits, '-' or '_'. */
static bool pg_schema_parse_name(const char *name, unsigned int *version_r)
{
	size_t len = strlen(name);

	if (len < 9 || !g_str_has_suffix(name, ".sql") ||
	    !g_ascii_isdigit(name[0]) || !g_ascii_isdigit(name[1]) ||
	    !g_ascii_isdigit(name[2]) || name[3] != '-')
		return false;
	for (size_t i = 4; i < len - 4; i++) {
		if (!g_ascii_isalnum(name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return false;
	}
	*version_r = (unsigned int)((name[0] - '0') * 100 +
				    (name[1] - '0') * 10 + (name[2] - '0'));
	return *version_r > 0;
}

static gint pg_schema_compare(gconstpointer a, gconstpointer b)
{
	const struct pg_schema_file *fa = *(struct pg_schema_file *const *)a;
	const struct pg_schema_file *fb = *(struct pg_schema_file *const *)b;

	return fa->version < fb->version ? -1 : fa->version > fb->version;
}

/* Versions must run 1, 2, 3 ... without a gap or a repeat. */
static int pg_schema_check_sequence(const char *dir, GPtrArray *files,
				    char **error_r)
{
	for (guint i = 0; i < files->len; i++) {
		const struct pg_schema_file *file = g_ptr_array_index(files, i);

		if (file->version == i + 1)
			continue;
		pg_schema_set_error(error_r, file->version <= i ?
			g_strdup_printf("%s: two schema files of version %u "
					"(%s)", dir, file->version, file->name) :
			g_strdup_printf("%s: schema version %u is missing "
					"(next file: %s)", dir, i + 1,
					file->name));
		return -1;
	}
	return 0;
}

int pg_schema_list(const char *dir, GPtrArray **files_r, char **error_r)
{
	GError *gerror = NULL;
	GDir *d = g_dir_open(dir, 0, &gerror);
	GPtrArray *files;
	const char *name;

	*files_r = NULL;
	if (d == NULL) {
		pg_schema_set_error(error_r, g_strdup_printf(
			"cannot read the schema directory: %s",
			gerror->message));
		g_error_free(gerror);
		return -1;
	}
	files = g_ptr_array_new_with_free_func(pg_schema_file_free);
	while ((name = g_dir_read_name(d)) != NULL) {
		struct pg_schema_file *file;
		unsigned int version;

		if (!g_str_has_suffix(name, ".sql"))
			continue;
		if (!pg_schema_parse_name(name, &version)) {
			pg_schema_set_error(error_r, g_strdup_printf(
				"%s/%s: not a schema file name (NNN-what.sql, "
				"NNN from 001)", dir, name));
			goto fail;
		}
		file = g_new0(struct pg_schema_file, 1);
		file->version = version;
		file->name = g_strdup(name);
		file->path = g_build_filename(dir, name, NULL);
		g_ptr_array_add(files, file);
	}
	g_ptr_array_sort(files, pg_schema_compare);
	if (files->len == 0) {
		pg_schema_set_error(error_r, g_strdup_printf(
			"%s: no schema files (NNN-what.sql)", dir));
		goto fail;
	}
	if (pg_schema_check_sequence(dir, files, error_r) < 0)
		goto fail;
	g_dir_close(d);
	*files_r = files;
	return 0;
fail:
	g_dir_close(d);
	g_ptr_array_unref(files);
	return -1;
}

int pg_schema_version(struct pg_conn *conn, unsigned int *version_r,
		      char **error_r)
{
	PGresult *res;
	bool exists;
	guint64 version;

	*version_r = 0;
	/* to_regclass looks the name up like the schema file created it:
	   through the search_path. */
	if (pg_conn_exec(conn, "SELECT to_regclass('schema_version') IS NOT "
			 "NULL", 0, NULL, &res, error_r) < 0)
		return -1;
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists)
		return 0;
	if (pg_conn_exec(conn, "SELECT coalesce(max(version), 0) FROM "
			 "schema_version", 0, NULL, &res, error_r) < 0)
		return -1;
	if (!g_ascii_string_to_unsigned(PQgetvalue(res, 0, 0), 10, 0,
					G_MAXUINT, &version, NULL)) {
		pg_schema_set_error(error_r, g_strdup_printf(
			"schema_version holds a version out of range: %s",
			PQgetvalue(res, 0, 0)));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	*version_r = (unsigned int)version;
	return 0;
}

/* The file's text for PQexec, which stops at a NUL byte: refuse one
   rather than run half a file. */
static char *pg_schema_read(const struct pg_schema_file *file,
			    char **error_r)
{
	GError *gerror = NULL;
	char *text;
	gsize len;

	if (!g_file_get_contents(file->path, &text, &len, &gerror)) {
		pg_schema_set_error(error_r, g_strdup(gerror->message));
		g_error_free(gerror);
		return NULL;
	}
	if (strlen(text) != len || !g_utf8_validate(text, (gssize)len, NULL)) {
		pg_schema_set_error(error_r, g_strdup_printf(
			"%s: not UTF-8 text", file->path));
		g_free(text);
		return NULL;
	}
	return text;
}

static char *pg_schema_newer_error(unsigned int version, unsigned int known)
{
	return g_strdup_printf("the database has schema version %u, newer "
			       "than this imip-agent knows (%u): upgrade "
			       "imip-agent, do not downgrade the database",
			       version, known);
}

/* Inside the transaction, under the advisory lock: the file's statements
   and its row in schema_version.  Returns 1 applied, 0 already there
   (another db-upgrade was quicker), -1 error. */
static int pg_schema_apply_locked(struct pg_conn *conn,
				  const struct pg_schema_file *file,
				  unsigned int known, char **error_r)
{
	char version_text[16];
	const char *params[2] = { version_text, file->name };
	unsigned int version;
	char *text, *error = NULL;
	int ret;

	if (pg_conn_exec(conn, "SELECT pg_advisory_xact_lock("
			 PG_SCHEMA_LOCK_KEY ")", 0, NULL, NULL, error_r) < 0 ||
	    pg_schema_version(conn, &version, error_r) < 0)
		return -1;
	if (version > known) {
		pg_schema_set_error(error_r,
				    pg_schema_newer_error(version, known));
		return -1;
	}
	if (version >= file->version)
		return 0;
	if (version + 1 != file->version) {
		pg_schema_set_error(error_r, g_strdup_printf(
			"%s: the database is at version %u, not %u",
			file->name, version, file->version - 1));
		return -1;
	}
	if ((text = pg_schema_read(file, error_r)) == NULL)
		return -1;
	ret = pg_conn_exec_script(conn, text, &error);
	g_free(text);
	if (ret < 0) {
		pg_schema_set_error(error_r, g_strdup_printf("%s: %s",
							     file->name, error));
		g_free(error);
		return -1;
	}
	g_snprintf(version_text, sizeof(version_text), "%u", file->version);
	if (pg_conn_exec(conn, "INSERT INTO schema_version (version, name) "
			 "VALUES ($1, $2)", 2, params, NULL, error_r) < 0)
		return -1;
	return 1;
}

/* One file, one transaction. */
static int pg_schema_apply(struct pg_conn *conn,
			   const struct pg_schema_file *file,
			   unsigned int known, char **error_r)
{
	int ret;

	if (pg_conn_begin(conn, error_r) < 0)
		return -1;
	ret = pg_schema_apply_locked(conn, file, known, error_r);
	if (ret < 0) {
		(void)pg_conn_rollback(conn, NULL);
		return -1;
	}
	if (pg_conn_commit(conn, error_r) < 0)
		return -1;
	return ret;
}

int pg_schema_upgrade(struct pg_conn *conn, const char *dir,
		      pg_schema_applied_func *applied, void *context,
		      unsigned int *version_r, char **error_r)
{
	GPtrArray *files;
	unsigned int known, version;
	int ret = 0;

	*version_r = 0;
	if (pg_schema_list(dir, &files, error_r) < 0)
		return -1;
	known = ((struct pg_schema_file *)
		 g_ptr_array_index(files, files->len - 1))->version;
	if (known < PG_SCHEMA_VERSION) {
		pg_schema_set_error(error_r, g_strdup_printf(
			"%s stops at schema version %u, this imip-agent needs "
			"%u (an incomplete installation?)", dir, known,
			PG_SCHEMA_VERSION));
		g_ptr_array_unref(files);
		return -1;
	}
	if (pg_schema_version(conn, &version, error_r) < 0) {
		g_ptr_array_unref(files);
		return -1;
	}
	*version_r = version;
	if (version > known) {
		pg_schema_set_error(error_r,
				    pg_schema_newer_error(version, known));
		g_ptr_array_unref(files);
		return -1;
	}
	for (guint i = version; i < files->len && ret >= 0; i++) {
		const struct pg_schema_file *file = g_ptr_array_index(files, i);

		ret = pg_schema_apply(conn, file, known, error_r);
		if (ret > 0 && applied != NULL)
			applied(file, context);
	}
	g_ptr_array_unref(files);
	/* the version also after a failure, for the message */
	if (pg_schema_version(conn, version_r, ret < 0 ? NULL : error_r) < 0)
		return -1;
	return ret < 0 ? -1 : 0;
}
