/* The quota journal, file backend (journal.h; reference imip-agent.md 5.4
   and 9; layout documented in docs/store.md section 7):

   <journal_dir>/<quota>/
       .lock          flock(2), held from journal_quota_open() to close
       limits         subject<TAB>seconds
       groups         user<TAB>group
       delegates      address
       reservations   start<TAB>end<TAB>resource<TAB>uid<TAB>rid<TAB>organiser

   <quota> is the quota name encoded with store_name_encode(), so a
   hostile name cannot leave journal_dir.  Fields are escaped with
   store_name_field_append() like the store's requests file.  Every table
   is rewritten whole with atomic_file_write(); a missing file reads as
   empty.

   journal.c has checked and normalised every value it hands over.

   The original keeps a consolidated free/busy per user or group
   (freebusy-other/) and the events behind it; one reservations table
   holds the same facts and lets a CANCEL remove exactly what one
   (resource, UID) added, in one write (the "single transaction" of
   reference 5.7). */

#include "journal-private.h"
#include "address.h"
#include "atomic-file.h"
#include "clock.h"
#include "config.h"
#include "store-name.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <libical/ical.h>

/* As the store (store-file.c): group-shared, the umask decides the rest. */
#define JOURNAL_DIR_MODE 02770
#define JOURNAL_FILE_MODE 0660

#define JOURNAL_LOCK_NAME ".lock"
#define JOURNAL_LIMITS "limits"
#define JOURNAL_GROUPS "groups"
#define JOURNAL_DELEGATES "delegates"
#define JOURNAL_RESERVATIONS "reservations"

struct journal_file {
	struct journal j;	/* first: journal.c's view */
	char *dir;
};

struct journal_file_quota {
	struct journal_quota q;	/* first: journal.c's view */
	char *dir;		/* <journal_dir>/<encoded name> */
	int lock_fd;
};

static inline struct journal_file *journal_file_of(struct journal *j)
{
	return (struct journal_file *)j;
}

static inline struct journal_file_quota *
journal_file_quota_of(struct journal_quota *q)
{
	return (struct journal_file_quota *)q;
}

/* A (subject or user, value) row of limits or groups. */
struct journal_pair {
	char *key;
	char *value;
};

/* --- file primitives ---------------------------------------------------- */

static char *journal_quota_path(struct journal_quota *q, const char *name)
{
	return g_build_filename(journal_file_quota_of(q)->dir, name, NULL);
}

/* The lines of a table (without empty lines; a CR before the LF, from a
   hand edit, is dropped).  A missing file is empty. */
static int journal_read_lines(struct journal_quota *q, const char *name,
			      char ***lines_r)
{
	char *path = journal_quota_path(q, name);
	GError *error = NULL;
	char *text = NULL;
	char **lines;
	guint n = 0;

	if (!g_file_get_contents(path, &text, NULL, &error)) {
		int ret = 0;

		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			*lines_r = g_new0(char *, 1);
		else
			ret = journal_quota_error(q, "%s", error->message);
		g_error_free(error);
		g_free(path);
		return ret;
	}
	g_free(path);
	lines = g_strsplit(text, "\n", -1);
	g_free(text);
	for (guint i = 0; lines[i] != NULL; i++) {
		size_t len = strlen(lines[i]);

		if (len > 0 && lines[i][len - 1] == '\r')
			lines[i][--len] = '\0';
		if (len == 0)
			g_free(lines[i]);
		else
			lines[n++] = lines[i];
	}
	lines[n] = NULL;
	*lines_r = lines;
	return 0;
}

static int journal_write(struct journal_quota *q, const char *name,
			 const GString *text)
{
	char *path = journal_quota_path(q, name);
	char *error = NULL;
	int ret = atomic_file_write(path, text->str, text->len,
				    JOURNAL_FILE_MODE, ATOMIC_FILE_SYNC, &error);

	g_free(path);
	return ret < 0 ? journal_quota_error_take(q, error) : 0;
}

/* Split a line into exactly `n` decoded fields; false if it is damaged. */
static bool journal_split(const char *line, guint n, bool dash_is_null,
			  char **fields_r)
{
	char **raw = g_strsplit(line, "\t", -1);
	bool ok = g_strv_length(raw) == n;

	for (guint i = 0; i < n; i++)
		fields_r[i] = NULL;
	for (guint i = 0; ok && i < n; i++) {
		fields_r[i] = store_name_field_decode(raw[i], dash_is_null, &ok);
		if (ok && fields_r[i] != NULL && *fields_r[i] == '\0')
			ok = false;
	}
	g_strfreev(raw);
	if (!ok) {
		for (guint i = 0; i < n; i++) {
			g_free(fields_r[i]);
			fields_r[i] = NULL;
		}
	}
	return ok;
}

/* --- the journal and its quotas ----------------------------------------- */

static void journal_file_deinit(struct journal *j)
{
	struct journal_file *jf = journal_file_of(j);

	g_free(jf->dir);
	g_free(jf);
}

static int journal_file_list_quotas(struct journal *j, GPtrArray *quotas_r,
				    char **error_r)
{
	const char *dir = journal_file_of(j)->dir;
	GError *error = NULL;
	GDir *d = g_dir_open(dir, 0, &error);
	const char *name;

	if (d == NULL) {
		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_error_free(error);
			return 0;
		}
		*error_r = g_strdup(error->message);
		g_error_free(error);
		return -1;
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		char *path, *quota;

		/* dot files are never data; a name encoding could not have
		   made (dropped there by hand) names nothing */
		if (name[0] == '.' || (quota = store_name_decode(name)) == NULL)
			continue;
		path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_DIR))
			g_ptr_array_add(quotas_r, quota);
		else
			g_free(quota);
		g_free(path);
	}
	g_dir_close(d);
	return 0;
}

/* flock(2) like the store: the kernel drops it when the process dies, so
   a killed delivery never leaves a stale lock; close-on-exec so that
   sendmail does not inherit it.  Every writer of the quota's files holds
   it, so a temporary file found once it is taken was left by a killed
   writer and goes (the directory is a handful of files: no need to know
   first whether one was killed).  Failing to remove one is no reason to
   refuse the booking. */
static int journal_quota_lock(struct journal_file_quota *q, char **error_r)
{
	char *path = g_build_filename(q->dir, JOURNAL_LOCK_NAME, NULL);
	unsigned int removed = 0;
	char *error = NULL;

	q->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			  JOURNAL_FILE_MODE);
	if (q->lock_fd < 0) {
		*error_r = g_strdup_printf("cannot open lock file %s: %s",
					   path, g_strerror(errno));
		g_free(path);
		return -1;
	}
	while (flock(q->lock_fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		*error_r = g_strdup_printf("cannot lock %s: %s", path,
					   g_strerror(errno));
		close(q->lock_fd);
		q->lock_fd = -1;
		g_free(path);
		return -1;
	}
	g_free(path);
	if (atomic_file_remove_temporaries(q->dir, false, &removed, &error) < 0)
		g_free(error);
	return 0;
}

/* 1 exists, 0 missing (created when `create`), -1 error. */
static int journal_quota_dir(const char *dir, bool create, char **error_r)
{
	struct stat st;

	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 1;
		*error_r = g_strdup_printf("%s is not a directory", dir);
		return -1;
	}
	if (errno != ENOENT) {
		*error_r = g_strdup_printf("cannot access %s: %s", dir,
					   g_strerror(errno));
		return -1;
	}
	if (!create)
		return 0;
	if (g_mkdir_with_parents(dir, JOURNAL_DIR_MODE) < 0) {
		*error_r = g_strdup_printf("cannot create directory %s: %s",
					   dir, g_strerror(errno));
		return -1;
	}
	return 1;
}

static int journal_file_quota_open(struct journal *j, const char *name,
				   bool create, struct journal_quota **q_r,
				   char **error_r)
{
	struct journal_file_quota *fq;
	char *enc = store_name_encode(name);
	char *dir = g_build_filename(journal_file_of(j)->dir, enc, NULL);
	int r;

	g_free(enc);
	r = journal_quota_dir(dir, create, error_r);
	if (r <= 0) {
		g_free(dir);
		return r;
	}
	fq = g_new0(struct journal_file_quota, 1);
	fq->dir = dir;
	if (journal_quota_lock(fq, error_r) < 0) {
		g_free(fq->dir);
		g_free(fq);
		return -1;
	}
	*q_r = &fq->q;
	return 1;
}

static void journal_file_quota_close(struct journal_quota *q)
{
	struct journal_file_quota *fq = journal_file_quota_of(q);

	/* closing the descriptor drops the flock; every write was kept as
	   it was made */
	if (fq->lock_fd >= 0)
		close(fq->lock_fd);
	g_free(fq->dir);
	g_free(fq);
}

/* --- pair tables: limits, groups --------------------------------------- */

static void journal_pair_free(struct journal_pair *p)
{
	g_free(p->key);
	g_free(p->value);
	g_free(p);
}

static gint journal_pair_cmp(gconstpointer a, gconstpointer b)
{
	const struct journal_pair *pa = *(struct journal_pair *const *)a;
	const struct journal_pair *pb = *(struct journal_pair *const *)b;

	return strcmp(pa->key, pb->key);
}

/* Rows of a two-column table, one per key (a later duplicate, from a hand
   edit, wins), sorted by key.  Damaged lines are skipped. */
static int journal_pairs_read(struct journal_quota *q, const char *name,
			      GPtrArray *pairs)
{
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	char **lines;

	if (journal_read_lines(q, name, &lines) < 0) {
		g_hash_table_destroy(seen);
		return -1;
	}
	for (char **l = lines; *l != NULL; l++) {
		char *f[2];
		struct journal_pair *p, *old;

		if (!journal_split(*l, 2, false, f))
			continue;
		old = g_hash_table_lookup(seen, f[0]);
		if (old != NULL) {
			g_free(old->value);
			old->value = f[1];
			g_free(f[0]);
			continue;
		}
		p = g_new0(struct journal_pair, 1);
		p->key = f[0];
		p->value = f[1];
		g_hash_table_insert(seen, p->key, p);
		g_ptr_array_add(pairs, p);
	}
	g_strfreev(lines);
	g_hash_table_destroy(seen);
	g_ptr_array_sort(pairs, journal_pair_cmp);
	return 0;
}

static int journal_pairs_write(struct journal_quota *q, const char *name,
			       GPtrArray *pairs)
{
	GString *out = g_string_new(NULL);
	int ret;

	g_ptr_array_sort(pairs, journal_pair_cmp);
	for (guint i = 0; i < pairs->len; i++) {
		const struct journal_pair *p = g_ptr_array_index(pairs, i);

		store_name_field_append(out, p->key);
		g_string_append_c(out, '\t');
		store_name_field_append(out, p->value);
		g_string_append_c(out, '\n');
	}
	ret = journal_write(q, name, out);
	g_string_free(out, TRUE);
	return ret;
}

static GPtrArray *journal_pairs_new(void)
{
	return g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_pair_free);
}

static struct journal_pair *journal_pairs_find(GPtrArray *pairs,
					       const char *key, guint *index_r)
{
	for (guint i = 0; i < pairs->len; i++) {
		struct journal_pair *p = g_ptr_array_index(pairs, i);

		if (strcmp(p->key, key) == 0) {
			if (index_r != NULL)
				*index_r = i;
			return p;
		}
	}
	return NULL;
}

/* Set (value non-NULL) or remove the row of `key`; the table is written
   only when it changes. */
static int journal_pairs_set(struct journal_quota *q, const char *name,
			     const char *key, const char *value)
{
	GPtrArray *pairs = journal_pairs_new();
	struct journal_pair *p;
	guint index;
	bool changed = true;
	int ret = journal_pairs_read(q, name, pairs);

	if (ret < 0)
		goto out;
	p = journal_pairs_find(pairs, key, &index);
	if (value == NULL && p == NULL) {
		changed = false;
	} else if (value == NULL) {
		g_ptr_array_remove_index(pairs, index);
	} else if (p != NULL) {
		changed = strcmp(p->value, value) != 0;
		g_free(p->value);
		p->value = g_strdup(value);
	} else {
		p = g_new0(struct journal_pair, 1);
		p->key = g_strdup(key);
		p->value = g_strdup(value);
		g_ptr_array_add(pairs, p);
	}
	if (changed)
		ret = journal_pairs_write(q, name, pairs);
out:
	g_ptr_array_free(pairs, TRUE);
	return ret;
}

/* --- limits ------------------------------------------------------------- */

/* Seconds as written by journal_limit_set(); an RFC 5545 duration
   ("PT10H", the original's limits format) is read too, so a file carried
   over or written by hand works. */
static bool journal_limit_parse(const char *text, long *seconds_r)
{
	char *end;
	long v;

	if (text[0] == 'P' || text[0] == 'p' ||
	    ((text[0] == '+') && (text[1] == 'P' || text[1] == 'p'))) {
		struct icaldurationtype d = icaldurationtype_from_string(text);
		int secs;

		/* libical reports a syntax error through its global error
		   state as well; leave it clean for the next caller */
		icalerror_clear_errno();
		if (icaldurationtype_is_bad_duration(d) || d.is_neg)
			return false;
		secs = icaldurationtype_as_int(d);
		if (secs < 0)
			return false;
		*seconds_r = secs;
		return true;
	}
	if (!g_ascii_isdigit(text[0]))
		return false;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return false;
	*seconds_r = v;
	return true;
}

static int journal_file_limit_get(struct journal_quota *q,
				  const char *subject, long *seconds_r)
{
	GPtrArray *pairs = journal_pairs_new();
	struct journal_pair *p;
	int ret = journal_pairs_read(q, JOURNAL_LIMITS, pairs);

	if (ret == 0) {
		p = journal_pairs_find(pairs, subject, NULL);
		/* an unreadable value is no limit, as a missing one: a bad
		   hand edit must not block every booking */
		if (p != NULL && journal_limit_parse(p->value, seconds_r))
			ret = 1;
	}
	g_ptr_array_free(pairs, TRUE);
	return ret;
}

static int journal_file_limit_set(struct journal_quota *q,
				  const char *subject, long seconds)
{
	char *value = seconds < 0 ? NULL : g_strdup_printf("%ld", seconds);
	int ret = journal_pairs_set(q, JOURNAL_LIMITS, subject, value);

	g_free(value);
	return ret;
}

static int journal_file_limits_list(struct journal_quota *q,
				    GPtrArray *limits_r)
{
	GPtrArray *pairs = journal_pairs_new();

	if (journal_pairs_read(q, JOURNAL_LIMITS, pairs) < 0) {
		g_ptr_array_free(pairs, TRUE);
		return -1;
	}
	for (guint i = 0; i < pairs->len; i++) {
		const struct journal_pair *p = g_ptr_array_index(pairs, i);
		struct journal_limit *l;
		long seconds;

		if (!journal_limit_parse(p->value, &seconds))
			continue;
		l = g_new0(struct journal_limit, 1);
		l->subject = g_strdup(p->key);
		l->seconds = seconds;
		g_ptr_array_add(limits_r, l);
	}
	g_ptr_array_free(pairs, TRUE);
	return 0;
}

/* --- groups ------------------------------------------------------------- */

static int journal_file_group_get(struct journal_quota *q, const char *user,
				  char **group_r)
{
	GPtrArray *pairs = journal_pairs_new();
	struct journal_pair *p;
	int ret = journal_pairs_read(q, JOURNAL_GROUPS, pairs);

	if (ret == 0 && (p = journal_pairs_find(pairs, user, NULL)) != NULL) {
		*group_r = g_strdup(p->value);
		ret = 1;
	}
	g_ptr_array_free(pairs, TRUE);
	return ret;
}

static int journal_file_group_set(struct journal_quota *q, const char *user,
				  const char *group)
{
	return journal_pairs_set(q, JOURNAL_GROUPS, user, group);
}

static int journal_file_groups_list(struct journal_quota *q,
				    GPtrArray *members_r)
{
	GPtrArray *pairs = journal_pairs_new();

	if (journal_pairs_read(q, JOURNAL_GROUPS, pairs) < 0) {
		g_ptr_array_free(pairs, TRUE);
		return -1;
	}
	for (guint i = 0; i < pairs->len; i++) {
		const struct journal_pair *p = g_ptr_array_index(pairs, i);
		struct journal_member *m = g_new0(struct journal_member, 1);

		m->user = g_strdup(p->key);
		m->group = g_strdup(p->value);
		g_ptr_array_add(members_r, m);
	}
	g_ptr_array_free(pairs, TRUE);
	return 0;
}

/* --- delegates ---------------------------------------------------------- */

static int journal_file_delegates_get(struct journal_quota *q,
				      GPtrArray *delegates_r)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	char **lines;

	if (journal_read_lines(q, JOURNAL_DELEGATES, &lines) < 0) {
		g_hash_table_destroy(seen);
		return -1;
	}
	for (char **l = lines; *l != NULL; l++) {
		bool ok;
		char *raw = store_name_field_decode(*l, false, &ok);
		char *addr = ok ? address_normalize(raw) : NULL;

		g_free(raw);
		if (addr == NULL)
			continue;
		if (g_hash_table_contains(seen, addr)) {
			g_free(addr);
			continue;
		}
		g_hash_table_add(seen, g_strdup(addr));
		g_ptr_array_add(delegates_r, addr);
	}
	g_strfreev(lines);
	g_hash_table_destroy(seen);
	return 0;
}

static int journal_file_delegates_set(struct journal_quota *q,
				      const GPtrArray *delegates)
{
	GString *out = g_string_new(NULL);
	int ret;

	for (guint i = 0; i < delegates->len; i++) {
		store_name_field_append(out, g_ptr_array_index(delegates, i));
		g_string_append_c(out, '\n');
	}
	ret = journal_write(q, JOURNAL_DELEGATES, out);
	g_string_free(out, TRUE);
	return ret;
}

/* --- reservations ------------------------------------------------------- */

static struct journal_reservation *journal_reservation_parse(const char *line)
{
	struct journal_reservation *r;
	char *f[6];
	bool ok;

	/* rid alone may be "-" (none); every other field is required */
	if (!journal_split(line, 6, true, f))
		return NULL;
	ok = f[0] != NULL && f[1] != NULL && f[2] != NULL && f[3] != NULL &&
		f[5] != NULL;
	r = g_new0(struct journal_reservation, 1);
	if (ok)
		ok = imip_clock_parse_utc(f[0], &r->start) &&
			imip_clock_parse_utc(f[1], &r->end) &&
			r->start < r->end;
	if (ok) {
		r->resource = address_normalize(f[2]);
		r->organiser = address_normalize(f[5]);
		ok = r->resource != NULL && r->organiser != NULL;
	}
	r->uid = f[3];
	r->rid = f[4];
	f[3] = f[4] = NULL;
	for (guint i = 0; i < 6; i++)
		g_free(f[i]);
	if (!ok) {
		journal_reservation_free(r);
		return NULL;
	}
	return r;
}

/* Damaged lines (a bad hand edit) are skipped: they cannot be counted,
   and the next rewrite drops them. */
static int journal_reservations_load(struct journal_quota *q, GPtrArray *out)
{
	char **lines;

	if (journal_read_lines(q, JOURNAL_RESERVATIONS, &lines) < 0)
		return -1;
	for (char **l = lines; *l != NULL; l++) {
		struct journal_reservation *r = journal_reservation_parse(*l);

		if (r != NULL)
			g_ptr_array_add(out, r);
	}
	g_strfreev(lines);
	g_ptr_array_sort(out, journal_reservation_cmp);
	return 0;
}

static int journal_reservations_store(struct journal_quota *q,
				      GPtrArray *list)
{
	GString *out = g_string_new(NULL);
	int ret;

	g_ptr_array_sort(list, journal_reservation_cmp);
	for (guint i = 0; i < list->len; i++) {
		const struct journal_reservation *r =
			g_ptr_array_index(list, i);
		char start[17], end[17];

		g_string_append(out, imip_clock_format_utc(r->start, start));
		g_string_append_c(out, '\t');
		g_string_append(out, imip_clock_format_utc(r->end, end));
		g_string_append_c(out, '\t');
		store_name_field_append(out, r->resource);
		g_string_append_c(out, '\t');
		store_name_field_append(out, r->uid);
		g_string_append_c(out, '\t');
		store_name_field_append(out, r->rid);
		g_string_append_c(out, '\t');
		store_name_field_append(out, r->organiser);
		g_string_append_c(out, '\n');
	}
	ret = journal_write(q, JOURNAL_RESERVATIONS, out);
	g_string_free(out, TRUE);
	return ret;
}

static int journal_file_reservations_read(struct journal_quota *q,
					  GPtrArray *out)
{
	return journal_reservations_load(q, out);
}

static int journal_file_reservations_replace(struct journal_quota *q,
					     const char *res, const char *uid,
					     const GPtrArray *fresh)
{
	GPtrArray *all = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	bool changed = false;
	int ret = journal_reservations_load(q, all);

	if (ret < 0)
		goto out;
	for (guint i = all->len; i > 0; i--) {
		const struct journal_reservation *r =
			g_ptr_array_index(all, i - 1);

		if (strcmp(r->resource, res) == 0 &&
		    strcmp(r->uid, uid) == 0) {
			g_ptr_array_remove_index(all, i - 1);
			changed = true;
		}
	}
	changed = changed || fresh->len > 0;
	for (guint i = 0; i < fresh->len; i++) {
		const struct journal_reservation *in =
			g_ptr_array_index(fresh, i);
		struct journal_reservation *r =
			g_new0(struct journal_reservation, 1);

		r->resource = g_strdup(in->resource);
		r->uid = g_strdup(in->uid);
		r->rid = g_strdup(in->rid);
		r->organiser = g_strdup(in->organiser);
		r->start = in->start;
		r->end = in->end;
		g_ptr_array_add(all, r);
	}
	ret = changed ? journal_reservations_store(q, all) : 0;
out:
	g_ptr_array_free(all, TRUE);
	return ret;
}

static int journal_file_expire(struct journal_quota *q, time_t now,
			       unsigned int *removed_r)
{
	GPtrArray *all = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	unsigned int removed = 0;
	int ret = journal_reservations_load(q, all);

	if (ret == 0) {
		/* an instance that has ended no longer uses the quota:
		   this is what replenishes it (reference 9) */
		for (guint i = all->len; i > 0; i--) {
			const struct journal_reservation *r =
				g_ptr_array_index(all, i - 1);

			if (r->end <= now) {
				g_ptr_array_remove_index(all, i - 1);
				removed++;
			}
		}
		if (removed > 0)
			ret = journal_reservations_store(q, all);
	}
	*removed_r = ret < 0 ? 0 : removed;
	g_ptr_array_free(all, TRUE);
	return ret;
}

static const struct journal_vfuncs journal_file_vfuncs = {
	.name = "file",
	.deinit = journal_file_deinit,
	.list_quotas = journal_file_list_quotas,
	.quota_open = journal_file_quota_open,
	.quota_close = journal_file_quota_close,
	.quota_commit = NULL,
	.limit_get = journal_file_limit_get,
	.limit_set = journal_file_limit_set,
	.limits_list = journal_file_limits_list,
	.group_get = journal_file_group_get,
	.group_set = journal_file_group_set,
	.groups_list = journal_file_groups_list,
	.delegates_get = journal_file_delegates_get,
	.delegates_set = journal_file_delegates_set,
	.reservations_read = journal_file_reservations_read,
	.reservations_replace = journal_file_reservations_replace,
	.expire = journal_file_expire,
};

int journal_file_init(const struct imip_config *config, struct journal **j_r,
		      char **error_r)
{
	struct journal_file *jf;

	*j_r = NULL;
	if (config->journal_dir == NULL || *config->journal_dir == '\0') {
		*error_r = g_strdup("journal_dir must be set");
		return -1;
	}
	jf = g_new0(struct journal_file, 1);
	jf->j.v = &journal_file_vfuncs;
	jf->dir = g_strdup(config->journal_dir);
	*j_r = &jf->j;
	return 0;
}
