/*
 * NAME
 *	imip-freebusy-cgi 8
 * SUMMARY
 *	serve published free/busy from the PostgreSQL store
 * SYNOPSIS
 *	GET /cgi-bin/imip-freebusy-cgi/ADDR
 *	GET /cgi-bin/imip-freebusy-cgi?ADDR
 *	GET /cgi-bin/imip-freebusy-cgi?user=ADDR
 * DESCRIPTION
 *	A CGI program (RFC 3875) for sites whose calendars are in PostgreSQL
 *	(store_backend = postgresql, docs/postgresql.md): it prints the
 *	VFREEBUSY the agent published for ADDR (table published_freebusy)
 *	with Content-Type text/calendar, so that every web server sees the
 *	same free/busy whichever delivery host wrote it.  ADDR is taken
 *	from PATH_INFO ("/ADDR"), else from QUERY_STRING ("ADDR" or
 *	"user=ADDR"), percent-decoded, and must be a plain address
 *	(local@domain: letters, digits and the atom characters of RFC 5322
 *	but '/', one '@', a domain of letters, digits, '-' and '.', at most
 *	254 bytes); it reaches the database only as a statement parameter.
 *
 *	Answers: 200 with the text; 404 when the user has published
 *	nothing (or has no store); 400 for a missing or unusable address;
 *	405 for a method other than GET or HEAD; 503 when the database
 *	cannot be read (the reason goes to standard error, the web server's
 *	error log, never to the client).
 * ENVIRONMENT
 *	IMIP_FREEBUSY_CONNINFO: the libpq connection string (as
 *	store_conninfo in imip.conf(5)); unset or empty means libpq's
 *	defaults and PG* variables (PGSERVICE, PGHOST, ...).  Give the web
 *	server a role of its own that may only read, and no password in the
 *	web server's configuration: peer authentication, or a service file
 *	and .pgpass readable only by the web server's user.
 *	REQUEST_METHOD, PATH_INFO, QUERY_STRING: set by the web server.
 * SECURITY
 *	The role needs SELECT on users and published_freebusy only
 *	(docs/postgresql.md section 6).
 * SEE ALSO
 *	imip-admin(8) (published, publish), imip.conf(5)
 */

#include "address.h"
#include "pg-conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CGI_ADDRESS_MAX 254

static void cgi_status(const char *status, const char *body)
{
	printf("Status: %s\nContent-Type: text/plain; charset=utf-8\n\n%s\n",
	       status, body);
}

static int cgi_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = g_ascii_tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode `in` (len bytes); NULL when an escape is malformed or
   decodes to a NUL byte. */
static char *cgi_unescape(const char *in, size_t len)
{
	GString *out = g_string_sized_new(len);

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (in[i] != '%') {
			g_string_append_c(out, in[i]);
			continue;
		}
		if (i + 2 >= len) {
			g_string_free(out, TRUE);
			return NULL;
		}
		hi = cgi_hex(in[i + 1]);
		lo = cgi_hex(in[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			g_string_free(out, TRUE);
			return NULL;
		}
		g_string_append_c(out, (char)(hi * 16 + lo));
		i += 2;
	}
	return g_string_free(out, FALSE);
}

static bool cgi_local_char(char c)
{
	return g_ascii_isalnum(c) || (c != '\0' &&
				      strchr("!#$%&'*+=?^_`{|}~.-", c) != NULL);
}

static bool cgi_domain_char(char c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '.';
}

/* local@domain as the synopsis says: what a calendar address published
   on the web looks like, and nothing that could be read as a path, a
   header or a second parameter. */
static bool cgi_address_ok(const char *addr)
{
	const char *at = strchr(addr, '@');
	size_t len = strlen(addr);

	if (len == 0 || len > CGI_ADDRESS_MAX || at == NULL || at == addr ||
	    at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return false;
	for (const char *p = addr; p < at; p++) {
		if (!cgi_local_char(*p))
			return false;
	}
	for (const char *p = at + 1; *p != '\0'; p++) {
		if (!cgi_domain_char(*p))
			return false;
	}
	return true;
}

/* The raw (still escaped) address of the request, or NULL. */
static const char *cgi_raw_address(size_t *len_r)
{
	const char *path = getenv("PATH_INFO");
	const char *query = getenv("QUERY_STRING");

	if (path != NULL && path[0] == '/' && path[1] != '\0') {
		*len_r = strlen(path + 1);
		return path + 1;
	}
	if (query != NULL && *query != '\0') {
		if (strncmp(query, "user=", 5) == 0)
			query += 5;
		/* one parameter only */
		*len_r = strcspn(query, "&;");
		if (query[*len_r] != '\0')
			return NULL;
		return query;
	}
	return NULL;
}

/* The normalised address asked for, or NULL. */
static char *cgi_address(void)
{
	size_t len = 0;
	const char *raw = cgi_raw_address(&len);
	char *decoded, *addr = NULL;

	if (raw == NULL || len > CGI_ADDRESS_MAX * 3)
		return NULL;
	decoded = cgi_unescape(raw, len);
	if (decoded != NULL && cgi_address_ok(decoded))
		addr = address_normalize(decoded);
	g_free(decoded);
	return addr;
}

/* 1 with the published text, 0 when there is none, -1 on error (the
   reason on standard error). */
static int cgi_read_published(const char *user, char **text_r)
{
	static const char sql[] =
		"SELECT p.data FROM published_freebusy p "
		"JOIN users u ON u.id = p.user_id WHERE u.address = $1";
	const char *conninfo = getenv("IMIP_FREEBUSY_CONNINFO");
	const char *params[] = { user };
	struct pg_conn *conn;
	PGresult *res;
	char *error = NULL;
	int ret = 0;

	*text_r = NULL;
	if (pg_conn_open(conninfo != NULL ? conninfo : "", &conn, &error) < 0 ||
	    pg_conn_exec(conn, sql, 1, params, &res, &error) < 0) {
		fprintf(stderr, "imip-freebusy-cgi: %s\n", error);
		g_free(error);
		pg_conn_close(&conn);
		return -1;
	}
	if (PQntuples(res) > 0) {
		*text_r = g_strdup(PQgetvalue(res, 0, 0));
		ret = 1;
	}
	PQclear(res);
	pg_conn_close(&conn);
	return ret;
}

int main(void)
{
	const char *method = getenv("REQUEST_METHOD");
	bool head = method != NULL && strcmp(method, "HEAD") == 0;
	char *user, *text;
	int r;

	if (method == NULL || (strcmp(method, "GET") != 0 && !head)) {
		printf("Allow: GET, HEAD\n");
		cgi_status("405 Method Not Allowed", "GET or HEAD only");
		return 0;
	}
	user = cgi_address();
	if (user == NULL) {
		cgi_status("400 Bad Request", "no usable calendar address");
		return 0;
	}
	r = cgi_read_published(user, &text);
	if (r < 0) {
		cgi_status("503 Service Unavailable",
			   "free/busy cannot be read now");
	} else if (r == 0) {
		cgi_status("404 Not Found", "no published free/busy");
	} else {
		printf("Content-Type: text/calendar; charset=utf-8\n"
		       "Content-Length: %zu\n"
		       "Cache-Control: no-cache\n\n", strlen(text));
		if (!head)
			fputs(text, stdout);
	}
	g_free(text);
	g_free(user);
	return 0;
}
