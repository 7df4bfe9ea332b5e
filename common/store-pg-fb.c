/* The free/busy tables of the PostgreSQL store (store-pg.h): one row of
   busy_periods per period, keyed by (user, table, other party) and
   indexed by window and by UID (conf/postgresql/001-initial.sql), so a
   message's two operations, "the periods in this window" and "replace
   this UID's periods", cost an index lookup however large the table.

   Times are whole seconds: they go in as to_timestamp(<seconds>) and
   come out as extract(epoch ...), exact for every time_t the store
   accepts (STORE_FB_TIME_MIN .. STORE_FB_TIME_MAX).  Optional text
   fields are '' in the table and NULL in struct fb_period, as in the
   file backend's lines.

   A UID's periods are written by one INSERT whose columns are arrays
   (unnest), not one statement per period: a daily booking over ten
   years is thousands of periods, and a round trip each would make the
   cost of a message grow with the length of a recurrence. */

#include "store-pg.h"
#include "freebusy.h"

#include <stdlib.h>
#include <string.h>

/* Matches the CHECK on busy_periods.fb_table. */
static const char *store_pg_fb_table_name(enum store_fb_table table)
{
	switch (table) {
	case STORE_FB_OWN:
		return "own";
	case STORE_FB_OTHER:
		return "other";
	case STORE_FB_OFFERS:
		return "offers";
	}
	return "own";
}

static const char *store_pg_text_or_empty(const char *value)
{
	return value != NULL ? value : "";
}

static char *store_pg_dup_or_null(const PGresult *res, int row, int col)
{
	const char *value = PQgetvalue(res, row, col);

	return *value != '\0' ? g_strdup(value) : NULL;
}

static time_t store_pg_time_value(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return (time_t)g_ascii_strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* The columns every read selects, in this order. */
#define STORE_PG_FB_COLUMNS \
	"extract(epoch FROM start_at)::bigint, " \
	"extract(epoch FROM end_at)::bigint, uid, rid, transp, summary, " \
	"organiser, extract(epoch FROM expires)::bigint"

static void store_pg_fb_add_rows(const PGresult *res, struct fb_list *list)
{
	int rows = PQntuples(res);

	for (int i = 0; i < rows; i++) {
		struct fb_period p = {
			.start = store_pg_time_value(res, i, 0),
			.end = store_pg_time_value(res, i, 1),
			.uid = store_pg_dup_or_null(res, i, 2),
			.rid = store_pg_dup_or_null(res, i, 3),
			.transp = store_pg_dup_or_null(res, i, 4),
			.summary = store_pg_dup_or_null(res, i, 5),
			.organiser = store_pg_dup_or_null(res, i, 6),
			.expires = store_pg_time_value(res, i, 7),
		};

		fb_list_add(list, &p);
		g_free(p.uid);
		g_free(p.rid);
		g_free(p.transp);
		g_free(p.summary);
		g_free(p.organiser);
	}
}

/* Run a query of STORE_PG_FB_COLUMNS and fill `list` (cleared first). */
static int store_pg_fb_query(struct store_user *su, const char *sql,
			     int nparams, const char *const *params,
			     struct fb_list *list)
{
	PGresult *res;

	fb_list_clear(list);
	if (store_pg_exec(su, sql, nparams, params, &res) < 0)
		return -1;
	store_pg_fb_add_rows(res, list);
	PQclear(res);
	return 0;
}

static void store_pg_time_param(char buf[32], time_t t)
{
	g_snprintf(buf, 32, "%" G_GINT64_FORMAT, (gint64)t);
}

int store_pg_fb_read_window(struct store_user *su, enum store_fb_table table,
			    const char *other, time_t start, time_t end,
			    struct fb_list *list)
{
	char start_text[32], end_text[32];
	const char *params[] = {
		store_pg_user_of(su)->user_id_text,
		store_pg_fb_table_name(table), store_pg_text_or_empty(other),
		start_text, end_text,
	};

	store_pg_time_param(start_text, start);
	store_pg_time_param(end_text, end);
	return store_pg_fb_query(su,
		"SELECT " STORE_PG_FB_COLUMNS " FROM busy_periods "
		"WHERE user_id = $1 AND fb_table = $2 AND other = $3 "
		"AND start_at < to_timestamp($5::bigint) "
		"AND end_at > to_timestamp($4::bigint) "
		"ORDER BY start_at, end_at",
		G_N_ELEMENTS(params), params, list);
}

int store_pg_fb_read_uid(struct store_user *su, enum store_fb_table table,
			 const char *other, const char *uid,
			 struct fb_list *list)
{
	const char *params[] = {
		store_pg_user_of(su)->user_id_text,
		store_pg_fb_table_name(table), store_pg_text_or_empty(other),
		store_pg_text_or_empty(uid),
	};

	return store_pg_fb_query(su,
		"SELECT " STORE_PG_FB_COLUMNS " FROM busy_periods "
		"WHERE user_id = $1 AND fb_table = $2 AND other = $3 "
		"AND uid = $4 ORDER BY start_at, end_at",
		G_N_ELEMENTS(params), params, list);
}

/* --- writing ------------------------------------------------------------- */

enum store_pg_fb_column {
	FB_COL_START, FB_COL_END, FB_COL_UID, FB_COL_RID, FB_COL_TRANSP,
	FB_COL_SUMMARY, FB_COL_ORGANISER, FB_COL_EXPIRES,
	FB_COL_COUNT
};

/* The periods as one array literal per column. */
static void store_pg_fb_arrays(const struct fb_list *list,
			       GString *columns[FB_COL_COUNT])
{
	char num[32];

	for (unsigned int c = 0; c < FB_COL_COUNT; c++)
		columns[c] = g_string_new("{");
	for (guint i = 0; i < list->periods->len; i++) {
		const struct fb_period *p = list->periods->pdata[i];

		store_pg_time_param(num, p->start);
		pg_conn_array_append(columns[FB_COL_START], num);
		store_pg_time_param(num, p->end);
		pg_conn_array_append(columns[FB_COL_END], num);
		pg_conn_array_append(columns[FB_COL_UID],
				      store_pg_text_or_empty(p->uid));
		pg_conn_array_append(columns[FB_COL_RID],
				      store_pg_text_or_empty(p->rid));
		pg_conn_array_append(columns[FB_COL_TRANSP],
				      store_pg_text_or_empty(p->transp));
		pg_conn_array_append(columns[FB_COL_SUMMARY],
				      store_pg_text_or_empty(p->summary));
		pg_conn_array_append(columns[FB_COL_ORGANISER],
				      store_pg_text_or_empty(p->organiser));
		/* 0: no expiry, NULL in the row (nullif below) */
		store_pg_time_param(num, p->expires);
		pg_conn_array_append(columns[FB_COL_EXPIRES], num);
	}
	for (unsigned int c = 0; c < FB_COL_COUNT; c++)
		g_string_append_c(columns[c], '}');
}

/* Insert every period of `list` into (table, other). */
static int store_pg_fb_insert(struct store_user *su, const char *table_name,
			      const char *other, const struct fb_list *list)
{
	GString *columns[FB_COL_COUNT];
	const char *params[3 + FB_COL_COUNT];
	int ret;

	if (list->periods->len == 0)
		return 0;
	store_pg_fb_arrays(list, columns);
	params[0] = store_pg_user_of(su)->user_id_text;
	params[1] = table_name;
	params[2] = other;
	for (unsigned int c = 0; c < FB_COL_COUNT; c++)
		params[3 + c] = columns[c]->str;
	ret = store_pg_exec(su,
		"INSERT INTO busy_periods (user_id, fb_table, other, start_at, "
		"end_at, uid, rid, transp, summary, organiser, expires) "
		"SELECT $1, $2, $3, to_timestamp(s), to_timestamp(e), u, r, t, "
		"sm, o, to_timestamp(nullif(x, 0)) "
		"FROM unnest($4::bigint[], $5::bigint[], $6::text[], "
		"$7::text[], $8::text[], $9::text[], $10::text[], "
		"$11::bigint[]) AS p(s, e, u, r, t, sm, o, x)",
		G_N_ELEMENTS(params), params, NULL);
	for (unsigned int c = 0; c < FB_COL_COUNT; c++)
		g_string_free(columns[c], TRUE);
	return ret < 0 ? -1 : 0;
}

/* The same periods in the same order, compared in the text form the
   file backend stores and imip-admin prints: "unchanged" then means the
   same thing for both backends. */
static bool store_pg_fb_lists_equal(const struct fb_list *a,
				    const struct fb_list *b)
{
	GString *ta, *tb;
	bool equal;

	if (a->periods->len != b->periods->len)
		return false;
	ta = fb_list_format(a);
	tb = fb_list_format(b);
	equal = strcmp(ta->str, tb->str) == 0;
	g_string_free(ta, TRUE);
	g_string_free(tb, TRUE);
	return equal;
}

int store_pg_fb_replace_uid(struct store_user *su, enum store_fb_table table,
			    const char *other, const char *uid,
			    const struct fb_list *periods)
{
	struct fb_list *old = fb_list_new();
	const char *params[] = {
		store_pg_user_of(su)->user_id_text,
		store_pg_fb_table_name(table), store_pg_text_or_empty(other),
		store_pg_text_or_empty(uid),
	};
	int ret;

	ret = store_pg_fb_read_uid(su, table, other, uid, old);
	if (ret == 0 && store_pg_fb_lists_equal(old, periods)) {
		fb_list_free(&old);
		return 0;
	}
	fb_list_free(&old);
	if (ret < 0)
		return -1;
	if (store_pg_exec(su, "DELETE FROM busy_periods WHERE user_id = $1 "
			  "AND fb_table = $2 AND other = $3 AND uid = $4",
			  G_N_ELEMENTS(params), params, NULL) < 0)
		return -1;
	if (store_pg_fb_insert(su, params[1], params[2], periods) < 0)
		return -1;
	return 1;
}

int store_pg_fb_write(struct store_user *su, enum store_fb_table table,
		      const char *other, const struct fb_list *list)
{
	const char *params[] = {
		store_pg_user_of(su)->user_id_text,
		store_pg_fb_table_name(table), store_pg_text_or_empty(other),
	};

	if (store_pg_exec(su, "DELETE FROM busy_periods WHERE user_id = $1 "
			  "AND fb_table = $2 AND other = $3",
			  G_N_ELEMENTS(params), params, NULL) < 0)
		return -1;
	return store_pg_fb_insert(su, params[1], params[2], list);
}

/* --- the other parties --------------------------------------------------- */

static int store_pg_fb_others(struct store_user *su, const char *sql,
			      int nparams, const char *const *params,
			      GPtrArray *others_r)
{
	PGresult *res;
	int rows;

	if (store_pg_exec(su, sql, nparams, params, &res) < 0)
		return -1;
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++)
		g_ptr_array_add(others_r, g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);
	return 0;
}

/* Sorted byte by byte (COLLATE "C"), as the file backend's listing. */
int store_pg_fb_list_others(struct store_user *su, GPtrArray *others_r)
{
	const char *params[] = { store_pg_user_of(su)->user_id_text };

	return store_pg_fb_others(su,
		"SELECT DISTINCT other COLLATE \"C\" FROM busy_periods "
		"WHERE user_id = $1 AND fb_table = 'other' "
		"ORDER BY 1", G_N_ELEMENTS(params), params, others_r);
}

int store_pg_fb_others_of_uid(struct store_user *su, const char *uid,
			      GPtrArray *others_r)
{
	const char *params[] = {
		store_pg_user_of(su)->user_id_text,
		store_pg_text_or_empty(uid),
	};

	return store_pg_fb_others(su,
		"SELECT DISTINCT other COLLATE \"C\" FROM busy_periods "
		"WHERE user_id = $1 AND uid = $2 AND fb_table = 'other' "
		"ORDER BY 1", G_N_ELEMENTS(params), params, others_r);
}
