/* Free/busy tables of the file backend as directories of month buckets
   with a per-UID index: see store-file-fb.h and docs/store.md 3.3. */

#include "store-file-fb.h"
#include "store-file.h"
#include "store-private.h"
#include "store-name.h"
#include "atomic-file.h"
#include "freebusy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define FB_DIR_MODE 02770
#define FB_FILE_MODE 0660
/* A period overlapping more months than this goes to "long" rather than
   into each month: one hostile event from 1970 to 9999 must not make
   96,000 files. */
#define FB_MAX_MONTHS 12
/* Window reads longer than this list the directory instead of trying
   each month's file. */
#define FB_PROBE_MONTHS 240
#define FB_LONG "long"
#define FB_UIDS "uids"
#define FB_LEGACY_SUFFIX ".v1"

/* --- months ---------------------------------------------------------------- */

/* Months since year 0 (year * 12 + month - 1) of a UTC time. */
static long fb_month_of(time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return 0;
	return ((long)tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static char *fb_month_name(long month)
{
	return g_strdup_printf("%04ld-%02ld", month / 12, month % 12 + 1);
}

/* -1 for a name that is not YYYY-MM. */
static long fb_month_parse(const char *name)
{
	if (strlen(name) != 7 || name[4] != '-')
		return -1;
	for (int i = 0; i < 7; i++) {
		if (i != 4 && !g_ascii_isdigit(name[i]))
			return -1;
	}
	long year = strtol(name, NULL, 10), mon = strtol(name + 5, NULL, 10);
	if (mon < 1 || mon > 12)
		return -1;
	return year * 12 + mon - 1;
}

/* The months a period is filed under; false when it goes to "long". */
static bool fb_period_months(const struct fb_period *p, long *first_r,
			     long *last_r)
{
	*first_r = fb_month_of(p->start);
	*last_r = p->end > p->start ? fb_month_of(p->end - 1) : *first_r;
	return *last_r - *first_r < FB_MAX_MONTHS;
}

/* The bucket names of a period (char *), appended. */
static void fb_period_buckets(const struct fb_period *p, GPtrArray *out)
{
	long first, last;

	if (!fb_period_months(p, &first, &last)) {
		g_ptr_array_add(out, g_strdup(FB_LONG));
		return;
	}
	for (long m = first; m <= last; m++)
		g_ptr_array_add(out, fb_month_name(m));
}

static bool fb_period_in_bucket(const struct fb_period *p, const char *bucket)
{
	long first, last, m;

	if (!fb_period_months(p, &first, &last))
		return strcmp(bucket, FB_LONG) == 0;
	m = fb_month_parse(bucket);
	return m >= first && m <= last;
}

static gint fb_strcmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates (names are char *, owned). */
static void fb_names_uniq(GPtrArray *names)
{
	guint out = 0;

	g_ptr_array_sort(names, fb_strcmp);
	for (guint i = 0; i < names->len; i++) {
		if (out > 0 && strcmp(names->pdata[out - 1], names->pdata[i]) == 0) {
			g_free(names->pdata[i]);
			continue;
		}
		names->pdata[out++] = names->pdata[i];
	}
	names->len = out;
}

static bool fb_names_equal(const GPtrArray *a, const GPtrArray *b)
{
	if (a->len != b->len)
		return false;
	for (guint i = 0; i < a->len; i++) {
		if (strcmp(a->pdata[i], b->pdata[i]) != 0)
			return false;
	}
	return true;
}

/* --- files ------------------------------------------------------------------ */

/* 1 and the content, 0 if missing, -1 on error. */
static int fb_file_read(struct store_user *su, const char *path, char **text_r)
{
	GError *error = NULL;

	*text_r = NULL;
	if (g_file_get_contents(path, text_r, NULL, &error))
		return 1;
	if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ||
	    g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR)) {
		g_error_free(error);
		return 0;
	}
	store_user_set_error(su, "%s", error->message);
	g_error_free(error);
	return -1;
}

/* The tables are derived: their renames and removals wait for the disk
   only with store_fsync = always (store-file.h). */
static int fb_sync_dir(struct store_user *su, const char *dir)
{
	char *error = NULL;

	if (store_file_sync_for(su, STORE_FILE_DERIVED) == ATOMIC_FILE_NO_SYNC)
		return 0;
	if (atomic_file_sync_dir(dir, &error) < 0) {
		store_user_set_error(su, "%s", error);
		g_free(error);
		return -1;
	}
	return 0;
}

/* Write `text` to dir/name atomically, or remove the file when text is
   empty (a missing file reads as empty). */
static int fb_file_put(struct store_user *su, const char *dir,
		       const char *name, const GString *text)
{
	char *path = g_build_filename(dir, name, NULL);
	char *error = NULL;
	int ret = 0;

	if (text->len == 0) {
		if (unlink(path) < 0 && errno != ENOENT)
			ret = store_user_set_error(su, "cannot remove %s: %s",
						   path, g_strerror(errno));
		else
			ret = fb_sync_dir(su, dir);
	} else if (g_mkdir_with_parents(dir, FB_DIR_MODE) < 0) {
		ret = store_user_set_error(su, "cannot create directory %s: %s",
					   dir, g_strerror(errno));
	} else if (atomic_file_write(path, text->str, text->len, FB_FILE_MODE,
				     store_file_sync_for(su, STORE_FILE_DERIVED),
				     &error) < 0) {
		ret = store_user_set_error(su, "%s", error);
		g_free(error);
	}
	g_free(path);
	return ret;
}

/* Read one bucket file's periods into `out` (appended, unsorted). */
static int fb_bucket_read(struct store_user *su, const char *dir,
			  const char *name, struct fb_list *out)
{
	char *path = g_build_filename(dir, name, NULL), *text;
	int ret = fb_file_read(su, path, &text);

	g_free(path);
	if (ret > 0)
		fb_list_parse(out, text, NULL);
	g_free(text);
	return ret < 0 ? -1 : 0;
}

/* --- tables of an earlier version ------------------------------------------- */

static char *fb_legacy_pending(const char *path)
{
	char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
	char *name = g_strconcat(".", base, FB_LEGACY_SUFFIX, NULL);
	char *pending = g_build_filename(dir, name, NULL);

	g_free(dir);
	g_free(base);
	g_free(name);
	return pending;
}

/* The one-file table to read instead of the directory, or NULL. */
static char *fb_legacy_file(const char *path)
{
	struct stat st;
	char *pending;

	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
		return g_strdup(path);
	pending = fb_legacy_pending(path);
	if (lstat(pending, &st) == 0 && S_ISREG(st.st_mode))
		return pending;
	g_free(pending);
	return NULL;
}

static int fb_legacy_read(struct store_user *su, const char *file,
			  struct fb_list *list)
{
	char *text;
	int ret = fb_file_read(su, file, &text);

	if (ret > 0)
		fb_list_parse(list, text, NULL);
	g_free(text);
	return ret < 0 ? -1 : 0;
}

/* Convert a one-file table into the directory before writing to it
   (store_file_fb_table_write() moves the file aside and removes it). */
static int fb_legacy_convert(struct store_user *su, const char *path)
{
	char *file = fb_legacy_file(path);
	struct fb_list *list;
	int ret;

	if (file == NULL)
		return 0;
	list = fb_list_new();
	ret = fb_legacy_read(su, file, list);
	if (ret == 0)
		ret = store_file_fb_table_write(su, path, list);
	fb_list_free(&list);
	g_free(file);
	return ret;
}

/* The one-file table at `path` moves to .<name>.v1 (readers use it until
   the directory is complete). */
static int fb_legacy_set_aside(struct store_user *su, const char *path)
{
	char *pending = fb_legacy_pending(path), *dir;
	struct stat st;
	int ret = 0;

	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		dir = g_path_get_dirname(path);
		if (rename(path, pending) < 0)
			ret = store_user_set_error(su, "cannot rename %s: %s",
						   path, g_strerror(errno));
		else
			ret = fb_sync_dir(su, dir);
		g_free(dir);
	}
	g_free(pending);
	return ret;
}

static int fb_legacy_remove(struct store_user *su, const char *path)
{
	char *pending = fb_legacy_pending(path), *dir;
	int ret = 0;

	if (unlink(pending) == 0) {
		dir = g_path_get_dirname(path);
		ret = fb_sync_dir(su, dir);
		g_free(dir);
	} else if (errno != ENOENT) {
		ret = store_user_set_error(su, "cannot remove %s: %s", pending,
					   g_strerror(errno));
	}
	g_free(pending);
	return ret;
}

/* --- the UID index ---------------------------------------------------------- */

/* uids/XX: one line per UID, "uid<TAB>bucket[<TAB>bucket...]", uid
   escaped as in the requests file ("-" for periods without a UID),
   sorted by that field. */
struct fb_index {
	char *dir;		/* <table>/uids */
	char *name;		/* XX */
	char *field;		/* the escaped UID */
	GPtrArray *lines;	/* char *, without LF */
	int line;		/* index of the UID's line, or -1 */
};

static char *fb_uid_field(const char *uid)
{
	GString *out = g_string_new(NULL);

	store_name_field_append(out, uid);
	return g_string_free(out, FALSE);
}

static char *fb_index_shard(const char *uid)
{
	char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
						  uid != NULL ? uid : "", -1);
	char *name = g_strndup(sum, 2);

	g_free(sum);
	return name;
}

static char *fb_field_shard(const char *field)
{
	bool ok;
	char *uid = store_name_field_decode(field, true, &ok);
	char *shard = fb_index_shard(uid);

	g_free(uid);
	return shard;
}

/* The text kept under `key` in `texts` (name -> GString), a new empty
   one the first time. */
static GString *fb_text_of(GHashTable *texts, const char *key)
{
	GString *text = g_hash_table_lookup(texts, key);

	if (text == NULL) {
		text = g_string_new(NULL);
		g_hash_table_insert(texts, g_strdup(key), text);
	}
	return text;
}

/* Append each of `lines` (sorted; the first field an escaped UID) to the
   text of its index shard in `shards` (name -> GString). */
static void fb_shards_add_lines(GHashTable *shards, const GPtrArray *lines)
{
	for (guint i = 0; i < lines->len; i++) {
		const char *line = lines->pdata[i];
		char *field = g_strndup(line, strcspn(line, "\t"));
		char *name = fb_field_shard(field);

		g_string_append_printf(fb_text_of(shards, name), "%s\n", line);
		g_free(name);
		g_free(field);
	}
}

static bool fb_line_is(const char *line, const char *field)
{
	size_t len = strlen(field);

	return strncmp(line, field, len) == 0 &&
	       (line[len] == '\t' || line[len] == '\0');
}

/* The non-empty lines of an index file (char *, without LF). */
static void fb_lines_parse(const char *text, GPtrArray *lines)
{
	char **split = g_strsplit(text, "\n", -1);

	for (char **l = split; *l != NULL; l++) {
		g_strchomp(*l);	/* a CR of a hand edit */
		if (**l != '\0')
			g_ptr_array_add(lines, g_strdup(*l));
	}
	g_strfreev(split);
}

/* The position of the line of `field`, or -1. */
static int fb_lines_find(const GPtrArray *lines, const char *field)
{
	for (guint i = 0; i < lines->len; i++) {
		if (fb_line_is(lines->pdata[i], field))
			return (int)i;
	}
	return -1;
}

static int fb_index_open(struct store_user *su, const char *path,
			 const char *uid, struct fb_index *ix)
{
	char *file, *text;
	int ret;

	ix->dir = g_build_filename(path, FB_UIDS, NULL);
	ix->name = fb_index_shard(uid);
	ix->field = fb_uid_field(uid);
	ix->lines = g_ptr_array_new_with_free_func(g_free);
	ix->line = -1;
	file = g_build_filename(ix->dir, ix->name, NULL);
	ret = fb_file_read(su, file, &text);
	g_free(file);
	if (ret <= 0)
		return ret;
	fb_lines_parse(text, ix->lines);
	g_free(text);
	ix->line = fb_lines_find(ix->lines, ix->field);
	return 0;
}

static void fb_index_close(struct fb_index *ix)
{
	g_free(ix->dir);
	g_free(ix->name);
	g_free(ix->field);
	g_ptr_array_free(ix->lines, TRUE);
}

/* The buckets the index names for the UID (char *, sorted). */
static void fb_index_buckets(const struct fb_index *ix, GPtrArray *out)
{
	char **fields;

	if (ix->line < 0)
		return;
	fields = g_strsplit(ix->lines->pdata[ix->line], "\t", -1);
	for (guint i = 1; fields[i] != NULL; i++) {
		if (strcmp(fields[i], FB_LONG) == 0 ||
		    fb_month_parse(fields[i]) >= 0)
			g_ptr_array_add(out, g_strdup(fields[i]));
	}
	g_strfreev(fields);
	fb_names_uniq(out);
}

/* Record `buckets` (sorted; empty removes the line) and write the file. */
static int fb_index_set(struct store_user *su, struct fb_index *ix,
			const GPtrArray *buckets)
{
	GString *text = g_string_new(NULL);
	int ret;

	if (ix->line >= 0)
		g_ptr_array_remove_index(ix->lines, (guint)ix->line);
	ix->line = -1;
	if (buckets->len > 0) {
		GString *line = g_string_new(ix->field);
		guint at = 0;

		for (guint i = 0; i < buckets->len; i++)
			g_string_append_printf(line, "\t%s",
					       (char *)buckets->pdata[i]);
		while (at < ix->lines->len &&
		       strcmp(ix->lines->pdata[at], line->str) < 0)
			at++;
		g_ptr_array_insert(ix->lines, (gint)at,
				   g_string_free(line, FALSE));
		ix->line = (int)at;
	}
	for (guint i = 0; i < ix->lines->len; i++)
		g_string_append_printf(text, "%s\n", (char *)ix->lines->pdata[i]);
	ret = fb_file_put(su, ix->dir, ix->name, text);
	g_string_free(text, TRUE);
	return ret;
}

/* --- reading ---------------------------------------------------------------- */

static bool fb_overlaps(const struct fb_period *p, time_t start, time_t end)
{
	return p->start < end && p->end > start;
}

/* Move the periods of `from` that `keep` accepts into `to`; free the
   rest. */
static void fb_move_if(struct fb_list *to, struct fb_list *from,
		       bool (*keep)(const struct fb_period *p, void *ctx),
		       void *ctx)
{
	for (guint i = 0; i < from->periods->len; i++) {
		struct fb_period *p = from->periods->pdata[i];

		if (keep(p, ctx))
			g_ptr_array_add(to->periods, p);
		else
			fb_period_free(p);
	}
	g_ptr_array_set_size(from->periods, 0);
}

struct fb_window {
	time_t start, end;
	long first_month;	/* of the window */
	long bucket;		/* month of the bucket read, -1 for long */
};

/* A period of several months is in each of their buckets: it is taken
   from the first of them that the window covers. */
static bool fb_window_keeps(const struct fb_period *p, void *ctx)
{
	const struct fb_window *w = ctx;

	if (!fb_overlaps(p, w->start, w->end))
		return false;
	return w->bucket < 0 ||
	       MAX(fb_month_of(p->start), w->first_month) == w->bucket;
}

static bool fb_window_keeps_any(const struct fb_period *p, void *ctx)
{
	const struct fb_window *w = ctx;

	return fb_overlaps(p, w->start, w->end);
}

/* The month buckets of [first, last]: each month's name when there are
   few, else the names found in the directory. */
static int fb_window_buckets(struct store_user *su, const char *path,
			     long first, long last, GPtrArray *out)
{
	GPtrArray *names;
	int ret;

	if (last - first < FB_PROBE_MONTHS) {
		for (long m = first; m <= last; m++)
			g_ptr_array_add(out, fb_month_name(m));
		return 0;
	}
	names = g_ptr_array_new_with_free_func(g_free);
	ret = store_file_list_dir(su, path, names);
	for (guint i = 0; i < names->len; i++) {
		long m = fb_month_parse(names->pdata[i]);

		if (m >= first && m <= last)
			g_ptr_array_add(out, g_strdup(names->pdata[i]));
	}
	g_ptr_array_free(names, TRUE);
	return ret;
}

int store_file_fb_table_read_window(struct store_user *su, const char *path,
			      time_t start, time_t end, struct fb_list *list)
{
	struct fb_window w = { start, end, fb_month_of(start), -1 };
	char *legacy = fb_legacy_file(path);
	struct fb_list *tmp = fb_list_new(), *found = fb_list_new();
	GPtrArray *buckets = g_ptr_array_new_with_free_func(g_free);
	int ret = 0;

	fb_list_clear(list);
	if (legacy != NULL) {
		ret = fb_legacy_read(su, legacy, tmp);
		fb_move_if(found, tmp, fb_window_keeps_any, &w);
	} else if (end > start) {
		ret = fb_window_buckets(su, path, w.first_month,
					fb_month_of(end - 1), buckets);
		for (guint i = 0; ret == 0 && i < buckets->len; i++) {
			w.bucket = fb_month_parse(buckets->pdata[i]);
			ret = fb_bucket_read(su, path, buckets->pdata[i], tmp);
			fb_move_if(found, tmp, fb_window_keeps, &w);
		}
		w.bucket = -1;
		if (ret == 0)
			ret = fb_bucket_read(su, path, FB_LONG, tmp);
		fb_move_if(found, tmp, fb_window_keeps, &w);
	}
	fb_list_merge(list, found);
	fb_list_free(&tmp);
	fb_list_free(&found);
	g_ptr_array_free(buckets, TRUE);
	g_free(legacy);
	return ret;
}

struct fb_uid_filter {
	const char *uid;
	long bucket;		/* -1 for long, else the month */
};

/* The UID's periods, each from the bucket of its first month. */
static bool fb_uid_keeps(const struct fb_period *p, void *ctx)
{
	const struct fb_uid_filter *f = ctx;

	if (g_strcmp0(p->uid, f->uid) != 0)
		return false;
	return f->bucket < 0 || fb_month_of(p->start) == f->bucket;
}

int store_file_fb_table_read_uid(struct store_user *su, const char *path,
			   const char *uid, struct fb_list *list)
{
	struct fb_uid_filter f = { uid, -1 };
	char *legacy = fb_legacy_file(path);
	struct fb_list *tmp = fb_list_new(), *found = fb_list_new();
	GPtrArray *buckets = g_ptr_array_new_with_free_func(g_free);
	struct fb_index ix;
	int ret = 0;

	fb_list_clear(list);
	if (legacy != NULL) {
		ret = fb_legacy_read(su, legacy, tmp);
		fb_move_if(found, tmp, fb_uid_keeps, &f);
	} else if ((ret = fb_index_open(su, path, uid, &ix)) == 0) {
		fb_index_buckets(&ix, buckets);
		for (guint i = 0; ret == 0 && i < buckets->len; i++) {
			f.bucket = fb_month_parse(buckets->pdata[i]);
			ret = fb_bucket_read(su, path, buckets->pdata[i], tmp);
			fb_move_if(found, tmp, fb_uid_keeps, &f);
		}
		fb_index_close(&ix);
	} else {
		fb_index_close(&ix);
	}
	fb_list_merge(list, found);
	fb_list_free(&tmp);
	fb_list_free(&found);
	g_ptr_array_free(buckets, TRUE);
	g_free(legacy);
	return ret;
}

/* --- writing ---------------------------------------------------------------- */

/* Rewrite one bucket with the UID's periods replaced; *changed_r set
   when its content changed. */
static int fb_bucket_replace(struct store_user *su, const char *path,
			     const char *bucket, const char *uid,
			     const struct fb_list *periods, bool *changed_r)
{
	char *file = g_build_filename(path, bucket, NULL), *before;
	struct fb_list *list = fb_list_new();
	GString *after;
	int ret = fb_file_read(su, file, &before);

	g_free(file);
	if (ret < 0) {
		fb_list_free(&list);
		return -1;
	}
	if (before != NULL)
		fb_list_parse(list, before, NULL);
	fb_list_remove(list, uid, NULL);
	for (guint i = 0; i < periods->periods->len; i++) {
		const struct fb_period *p = periods->periods->pdata[i];

		if (fb_period_in_bucket(p, bucket))
			fb_list_add(list, p);
	}
	after = fb_list_format(list);
	ret = 0;
	if (strcmp(after->str, before != NULL ? before : "") != 0) {
		*changed_r = true;
		ret = fb_file_put(su, path, bucket, after);
	}
	g_string_free(after, TRUE);
	g_free(before);
	fb_list_free(&list);
	return ret;
}

int store_file_fb_table_replace_uid(struct store_user *su, const char *path,
			      const char *uid, const struct fb_list *periods)
{
	GPtrArray *old = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *now = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *all = g_ptr_array_new_with_free_func(g_free);
	struct fb_index ix;
	bool changed = false;
	int ret;

	if (fb_legacy_convert(su, path) < 0)
		return -1;
	ret = fb_index_open(su, path, uid, &ix);
	fb_index_buckets(&ix, old);
	for (guint i = 0; i < periods->periods->len; i++)
		fb_period_buckets(periods->periods->pdata[i], now);
	fb_names_uniq(now);
	for (guint i = 0; i < old->len; i++)
		g_ptr_array_add(all, g_strdup(old->pdata[i]));
	for (guint i = 0; i < now->len; i++)
		g_ptr_array_add(all, g_strdup(now->pdata[i]));
	fb_names_uniq(all);
	/* The index names at least every bucket that holds the UID, also
	   after a crash in the middle: widen it before the buckets, narrow
	   it after. */
	if (ret == 0 && all->len > old->len)
		ret = fb_index_set(su, &ix, all);
	for (guint i = 0; ret == 0 && i < all->len; i++)
		ret = fb_bucket_replace(su, path, all->pdata[i], uid, periods,
					&changed);
	if (ret == 0 && !fb_names_equal(now, all))
		ret = fb_index_set(su, &ix, now);
	if (ret == 0 && now->len == 0 && old->len > 0) {
		/* the table's directory goes with its last period */
		(void)rmdir(ix.dir);
		(void)rmdir(path);
	}
	fb_index_close(&ix);
	g_ptr_array_free(old, TRUE);
	g_ptr_array_free(now, TRUE);
	g_ptr_array_free(all, TRUE);
	if (ret < 0)
		return -1;
	return changed ? 1 : 0;
}

static void fb_list_destroy(gpointer list)
{
	struct fb_list *l = list;

	fb_list_free(&l);
}

/* Write the files of `wanted` (name -> GString text) into dir, remove
   the other data files found there. */
static int fb_files_sync(struct store_user *su, const char *dir,
			 GHashTable *wanted, bool buckets_only)
{
	GPtrArray *found = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer key, value;
	GString *empty = g_string_new(NULL);
	int ret = store_file_list_dir(su, dir, found);

	for (guint i = 0; ret == 0 && i < found->len; i++) {
		const char *name = found->pdata[i];
		bool data = !buckets_only || strcmp(name, FB_LONG) == 0 ||
			    fb_month_parse(name) >= 0;

		if (data && g_hash_table_lookup(wanted, name) == NULL)
			ret = fb_file_put(su, dir, name, empty);
	}
	g_hash_table_iter_init(&iter, wanted);
	while (ret == 0 && g_hash_table_iter_next(&iter, &key, &value)) {
		char *file = g_build_filename(dir, key, NULL), *before;

		ret = fb_file_read(su, file, &before);
		g_free(file);
		if (ret >= 0 &&
		    g_strcmp0(before, ((GString *)value)->str) != 0)
			ret = fb_file_put(su, dir, key, value);
		g_free(before);
		ret = ret < 0 ? -1 : 0;
	}
	g_string_free(empty, TRUE);
	g_ptr_array_free(found, TRUE);
	return ret;
}

static void fb_gstring_destroy(gpointer s)
{
	g_string_free(s, TRUE);
}

int store_file_fb_table_write(struct store_user *su, const char *path,
			const struct fb_list *list)
{
	GHashTable *buckets = g_hash_table_new_full(g_str_hash, g_str_equal,
						    g_free, fb_list_destroy);
	GHashTable *uids = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	GHashTable *texts = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, fb_gstring_destroy);
	GHashTable *shards = g_hash_table_new_full(g_str_hash, g_str_equal,
						   g_free, fb_gstring_destroy);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer key, value;
	char *uids_dir = g_build_filename(path, FB_UIDS, NULL);
	int ret = fb_legacy_set_aside(su, path);
	/* bucket -> periods, uid field -> its line */
	for (guint i = 0; ret == 0 && i < list->periods->len; i++) {
		const struct fb_period *p = list->periods->pdata[i];
		char *field = fb_uid_field(p->uid);
		GString *line = fb_text_of(uids, field);

		g_ptr_array_set_size(names, 0);
		fb_period_buckets(p, names);
		for (guint b = 0; b < names->len; b++) {
			struct fb_list *bl = g_hash_table_lookup(buckets,
								 names->pdata[b]);

			if (bl == NULL) {
				bl = fb_list_new();
				g_hash_table_insert(buckets,
						    g_strdup(names->pdata[b]), bl);
			}
			g_ptr_array_add(bl->periods, (gpointer)p);
		}
		for (guint b = 0; b < names->len; b++)
			g_string_append_printf(line, "\t%s",
					       (char *)names->pdata[b]);
		g_free(field);
	}
	/* texts: the bucket files (the lists borrow the periods of `list`,
	   already sorted) */
	g_hash_table_iter_init(&iter, buckets);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		g_hash_table_insert(texts, g_strdup(key), fb_list_format(value));
		g_ptr_array_set_size(((struct fb_list *)value)->periods, 0);
	}
	/* shards: one line per UID, its buckets sorted and unique */
	g_hash_table_iter_init(&iter, uids);
	g_ptr_array_set_size(lines, 0);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		GString *buckets_text = value;
		char **fields = g_strsplit(buckets_text->str + 1, "\t", -1);
		GPtrArray *b = g_ptr_array_new_with_free_func(g_free);
		GString *line = g_string_new(key);

		for (guint i = 0; fields[i] != NULL; i++)
			g_ptr_array_add(b, g_strdup(fields[i]));
		fb_names_uniq(b);
		for (guint i = 0; i < b->len; i++)
			g_string_append_printf(line, "\t%s", (char *)b->pdata[i]);
		g_ptr_array_add(lines, g_string_free(line, FALSE));
		g_ptr_array_free(b, TRUE);
		g_strfreev(fields);
		g_string_free(buckets_text, TRUE);
	}
	g_hash_table_remove_all(uids);	/* values freed above */
	g_ptr_array_sort(lines, fb_strcmp);
	fb_shards_add_lines(shards, lines);
	/* the index first: it must name every bucket holding a UID */
	if (ret == 0)
		ret = fb_files_sync(su, uids_dir, shards, false);
	if (ret == 0)
		ret = fb_files_sync(su, path, texts, true);
	if (ret == 0 && g_hash_table_size(shards) == 0)
		(void)rmdir(uids_dir);
	if (ret == 0 && g_hash_table_size(texts) == 0)
		(void)rmdir(path);
	if (ret == 0)
		ret = fb_legacy_remove(su, path);
	g_hash_table_destroy(buckets);
	g_hash_table_destroy(uids);
	g_hash_table_destroy(texts);
	g_hash_table_destroy(shards);
	g_ptr_array_free(names, TRUE);
	g_ptr_array_free(lines, TRUE);
	g_free(uids_dir);
	return ret;
}

/* --- the reverse index of freebusy-other ------------------------------------ */

/* <dir>/XX: one line per UID, "uid<TAB>other[<TAB>other...]", both
   escaped like the fields of uids/XX, the others sorted, the lines sorted;
   <dir>/version ("1") once the index names every table (store-file-fb.h). */
#define FB_OTHERS_VERSION "version"
#define FB_OTHERS_VERSION_TEXT "1\n"

struct fb_shard {
	char *name;		/* XX */
	GPtrArray *lines;	/* char *, without LF, sorted */
	bool changed;
};

static int fb_shard_open(struct store_user *su, const char *dir,
			 const char *name, struct fb_shard *s)
{
	char *file = g_build_filename(dir, name, NULL), *text;
	int ret = fb_file_read(su, file, &text);

	s->name = g_strdup(name);
	s->lines = g_ptr_array_new_with_free_func(g_free);
	s->changed = false;
	g_free(file);
	if (ret > 0)
		fb_lines_parse(text, s->lines);
	g_free(text);
	return ret < 0 ? -1 : 0;
}

static void fb_shard_close(struct fb_shard *s)
{
	g_free(s->name);
	g_ptr_array_free(s->lines, TRUE);
}

static int fb_shard_write(struct store_user *su, const char *dir,
			  const struct fb_shard *s)
{
	GString *text;
	int ret;

	if (!s->changed)
		return 0;
	text = g_string_new(NULL);
	for (guint i = 0; i < s->lines->len; i++)
		g_string_append_printf(text, "%s\n", (char *)s->lines->pdata[i]);
	ret = fb_file_put(su, dir, s->name, text);
	g_string_free(text, TRUE);
	return ret;
}

/* The fields after the first of line `at` (char *, escaped), appended. */
static void fb_shard_values(const struct fb_shard *s, int at, GPtrArray *out)
{
	char **fields;

	if (at < 0)
		return;
	fields = g_strsplit(s->lines->pdata[at], "\t", -1);
	for (guint i = 1; fields[i] != NULL; i++)
		g_ptr_array_add(out, g_strdup(fields[i]));
	g_strfreev(fields);
}

/* Name `other` (an escaped field) on the line of `field`, or take it
   off; the line goes with its last other. */
static void fb_shard_mark(struct fb_shard *s, const char *field,
			  const char *other, bool holds)
{
	GPtrArray *values = g_ptr_array_new_with_free_func(g_free);
	int at = fb_lines_find(s->lines, field);
	bool named = false;
	guint out = 0;

	fb_shard_values(s, at, values);
	for (guint i = 0; i < values->len; i++) {
		if (strcmp(values->pdata[i], other) != 0)
			values->pdata[out++] = values->pdata[i];
		else {
			named = true;
			g_free(values->pdata[i]);
		}
	}
	values->len = out;
	if (named != holds) {
		GString *line = g_string_new(field);
		guint pos = 0;

		if (holds)
			g_ptr_array_add(values, g_strdup(other));
		fb_names_uniq(values);
		for (guint i = 0; i < values->len; i++)
			g_string_append_printf(line, "\t%s",
					       (char *)values->pdata[i]);
		if (at >= 0)
			g_ptr_array_remove_index(s->lines, (guint)at);
		if (values->len > 0) {
			while (pos < s->lines->len &&
			       strcmp(s->lines->pdata[pos], line->str) < 0)
				pos++;
			g_ptr_array_insert(s->lines, (gint)pos,
					   g_strdup(line->str));
		}
		g_string_free(line, TRUE);
		s->changed = true;
	}
	g_ptr_array_free(values, TRUE);
}

/* The shard of an escaped UID field. */
static void fb_ptr_array_destroy(gpointer a)
{
	g_ptr_array_free(a, TRUE);
}

/* Name `other` on the lines of the UID fields `fields` (holds), or take
   it off; each shard is read and written once. */
static int fb_others_mark(struct store_user *su, const char *dir,
			  const char *other, GHashTable *fields, bool holds)
{
	GHashTable *shards = g_hash_table_new_full(g_str_hash, g_str_equal,
						   g_free,
						   fb_ptr_array_destroy);
	char *other_field = fb_uid_field(other);
	GHashTableIter iter;
	gpointer key, value;
	int ret = 0;

	g_hash_table_iter_init(&iter, fields);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		char *name = fb_field_shard(key);
		GPtrArray *in = g_hash_table_lookup(shards, name);

		if (in == NULL) {
			in = g_ptr_array_new();
			g_hash_table_insert(shards, g_strdup(name), in);
		}
		g_ptr_array_add(in, key);
		g_free(name);
	}
	g_hash_table_iter_init(&iter, shards);
	while (ret == 0 && g_hash_table_iter_next(&iter, &key, &value)) {
		GPtrArray *in = value;
		struct fb_shard s;

		ret = fb_shard_open(su, dir, key, &s);
		for (guint i = 0; ret == 0 && i < in->len; i++)
			fb_shard_mark(&s, in->pdata[i], other_field, holds);
		if (ret == 0)
			ret = fb_shard_write(su, dir, &s);
		fb_shard_close(&s);
	}
	g_free(other_field);
	g_hash_table_destroy(shards);
	return ret;
}

/* The UID fields (escaped) of the periods of `list`, added to `fields`. */
static void fb_list_fields(const struct fb_list *list, GHashTable *fields)
{
	for (guint i = 0; i < list->periods->len; i++) {
		const struct fb_period *p = list->periods->pdata[i];

		g_hash_table_add(fields, fb_uid_field(p->uid));
	}
}

/* The UID fields of the periods the table at `path` holds: its uids/
   shards, or the lines of a table of the one-file layout. */
static int fb_table_fields(struct store_user *su, const char *path,
			   GHashTable *fields)
{
	char *legacy = fb_legacy_file(path);
	char *dir = g_build_filename(path, FB_UIDS, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	int ret;

	if (legacy != NULL) {
		struct fb_list *list = fb_list_new();

		ret = fb_legacy_read(su, legacy, list);
		fb_list_fields(list, fields);
		fb_list_free(&list);
	} else {
		ret = store_file_list_dir(su, dir, names);
	}
	for (guint i = 0; ret == 0 && i < names->len; i++) {
		struct fb_shard s;

		ret = fb_shard_open(su, dir, names->pdata[i], &s);
		for (guint l = 0; ret == 0 && l < s.lines->len; l++) {
			const char *line = s.lines->pdata[l];

			g_hash_table_add(fields,
					 g_strndup(line, strcspn(line, "\t")));
		}
		fb_shard_close(&s);
	}
	g_ptr_array_free(names, TRUE);
	g_free(dir);
	g_free(legacy);
	return ret;
}

static GHashTable *fb_field_set_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

int store_file_fb_others_of_uid(struct store_user *su, const char *dir,
				const char *uid, GPtrArray *others_r)
{
	char *version = g_build_filename(dir, FB_OTHERS_VERSION, NULL);
	char *field = fb_uid_field(uid), *name = fb_index_shard(uid);
	GPtrArray *values = g_ptr_array_new_with_free_func(g_free);
	struct stat st;
	struct fb_shard s;
	int ret = 0;

	if (stat(version, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			ret = store_user_set_error(su, "cannot stat %s: %s",
						   version, g_strerror(errno));
	} else if (fb_shard_open(su, dir, name, &s) < 0) {
		ret = -1;
	} else {
		fb_shard_values(&s, fb_lines_find(s.lines, field), values);
		fb_shard_close(&s);
		ret = 1;
	}
	for (guint i = 0; i < values->len; i++) {
		bool ok;
		char *other = store_name_field_decode(values->pdata[i], false,
						      &ok);

		if (other != NULL && *other != '\0')
			g_ptr_array_add(others_r, other);
		else
			g_free(other);
	}
	g_ptr_array_free(values, TRUE);
	g_free(name);
	g_free(field);
	g_free(version);
	return ret;
}

int store_file_fb_others_build(struct store_user *su, const char *dir,
			       const GPtrArray *others, const GPtrArray *paths)
{
	/* uid field -> GString "<TAB>other<TAB>other..." */
	GHashTable *lines = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, fb_gstring_destroy);
	GHashTable *shards = g_hash_table_new_full(g_str_hash, g_str_equal,
						   g_free, fb_gstring_destroy);
	GPtrArray *sorted = g_ptr_array_new_with_free_func(g_free);
	GString *version = g_string_new(FB_OTHERS_VERSION_TEXT);
	GHashTableIter iter;
	gpointer key, value;
	int ret = 0;

	for (guint i = 0; ret == 0 && i < others->len; i++) {
		GHashTable *fields = fb_field_set_new();
		char *other_field = fb_uid_field(others->pdata[i]);

		ret = fb_table_fields(su, paths->pdata[i], fields);
		g_hash_table_iter_init(&iter, fields);
		while (g_hash_table_iter_next(&iter, &key, NULL))
			g_string_append_printf(fb_text_of(lines, key), "\t%s",
					       other_field);
		g_free(other_field);
		g_hash_table_destroy(fields);
	}
	/* each line's others sorted, then the lines sorted into shards */
	g_hash_table_iter_init(&iter, lines);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		char **fields = g_strsplit(((GString *)value)->str + 1, "\t", -1);
		GPtrArray *values = g_ptr_array_new_with_free_func(g_free);
		GString *line = g_string_new(key);

		for (guint i = 0; fields[i] != NULL; i++)
			g_ptr_array_add(values, g_strdup(fields[i]));
		fb_names_uniq(values);
		for (guint i = 0; i < values->len; i++)
			g_string_append_printf(line, "\t%s",
					       (char *)values->pdata[i]);
		g_ptr_array_add(sorted, g_string_free(line, FALSE));
		g_ptr_array_free(values, TRUE);
		g_strfreev(fields);
	}
	g_ptr_array_sort(sorted, fb_strcmp);
	fb_shards_add_lines(shards, sorted);
	/* the version last: until it is there the index is not used */
	if (ret == 0)
		ret = fb_files_sync(su, dir, shards, false);
	if (ret == 0)
		ret = fb_file_put(su, dir, FB_OTHERS_VERSION, version);
	g_string_free(version, TRUE);
	g_ptr_array_free(sorted, TRUE);
	g_hash_table_destroy(shards);
	g_hash_table_destroy(lines);
	return ret;
}

int store_file_fb_other_replace_uid(struct store_user *su, const char *dir,
				    const char *path, const char *other,
				    const char *uid,
				    const struct fb_list *periods)
{
	GHashTable *fields = fb_field_set_new();
	int ret = 0;

	g_hash_table_add(fields, fb_uid_field(uid));
	/* the reverse index names the table before it holds the UID, and
	   stops naming it after it no longer does */
	if (periods->periods->len > 0)
		ret = fb_others_mark(su, dir, other, fields, true);
	if (ret == 0)
		ret = store_file_fb_table_replace_uid(su, path, uid, periods);
	if (ret >= 0 && periods->periods->len == 0 &&
	    fb_others_mark(su, dir, other, fields, false) < 0)
		ret = -1;
	g_hash_table_destroy(fields);
	return ret;
}

int store_file_fb_other_write(struct store_user *su, const char *dir,
			      const char *path, const char *other,
			      const struct fb_list *list)
{
	GHashTable *before = fb_field_set_new(), *after = fb_field_set_new();
	GHashTableIter iter;
	gpointer key;
	int ret = fb_table_fields(su, path, before);

	fb_list_fields(list, after);
	/* every UID of the new table named (also repairs a line lost by a
	   hand edit), the UIDs that leave it unnamed after the write */
	if (ret == 0)
		ret = fb_others_mark(su, dir, other, after, true);
	if (ret == 0)
		ret = store_file_fb_table_write(su, path, list);
	g_hash_table_iter_init(&iter, after);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		g_hash_table_remove(before, key);
	if (ret == 0)
		ret = fb_others_mark(su, dir, other, before, false);
	g_hash_table_destroy(before);
	g_hash_table_destroy(after);
	return ret;
}
