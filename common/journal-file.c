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

   The original keeps a consolidated free/busy per user or group
   (freebusy-other/) and the events behind it; one reservations table
   holds the same facts and lets a CANCEL remove exactly what one
   (resource, UID) added, in one write (the "single transaction" of
   reference 5.7). */

#include "journal.h"
#include "address.h"
#include "atomic-file.h"
#include "clock.h"
#include "config.h"
#include "ical-internal.h"
#include "store-name.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
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

/* Group names and quota names: short words, like addresses. */
#define JOURNAL_NAME_MAX 320

struct journal {
	char *dir;
	/* normalised names of the quotas open through this journal: a
	   second flock of the same file from this process would wait for
	   itself forever ("Room@x" and "room@x" are one quota) */
	GHashTable *open;
};

struct journal_quota {
	struct journal *j;
	char *name;		/* as normalised */
	char *dir;		/* <journal_dir>/<encoded name> */
	int lock_fd;
	/* the last error, handed out through const char **error_r */
	char *error;
};

/* A (subject or user, value) row of limits or groups. */
struct journal_pair {
	char *key;
	char *value;
};

static int journal_quota_error(struct journal_quota *q, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);
static int journal_quota_error(struct journal_quota *q, const char *fmt, ...)
{
	va_list args;

	g_free(q->error);
	va_start(args, fmt);
	q->error = g_strdup_vprintf(fmt, args);
	va_end(args);
	return -1;
}

/* Take over an allocated message (from atomic_file_write() etc.). */
static int journal_quota_error_take(struct journal_quota *q, char *error)
{
	g_free(q->error);
	q->error = error;
	return -1;
}

/* --- names ------------------------------------------------------------- */

/* A name that is not an address (a group, a non-address quota): one word
   of printable text, since limits and scheduling_function lines are split
   on white space. */
static bool journal_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > JOURNAL_NAME_MAX ||
	    !g_utf8_validate(name, (gssize)len, NULL))
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* A subject of a limit (address, group or "*"), a quota name: anything
   holding '@' is an address and compared in normal form, so
   "mailto:Room@Example.com" and "room@example.com" are one; other names
   are kept as given.  NULL when unusable. */
static char *journal_name_normalize(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strchr(name, '@') != NULL)
		return address_normalize(name);
	return journal_name_is_valid(name) ? g_strdup(name) : NULL;
}

/* --- file primitives ---------------------------------------------------- */

static char *journal_quota_path(struct journal_quota *q, const char *name)
{
	return g_build_filename(q->dir, name, NULL);
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

int journal_open(const struct imip_config *config, struct journal **j_r,
		 char **error_r)
{
	struct journal *j;

	*j_r = NULL;
	if (config->journal_dir == NULL || *config->journal_dir == '\0') {
		*error_r = g_strdup("journal_dir must be set");
		return -1;
	}
	ical_library_init();
	j = g_new0(struct journal, 1);
	j->dir = g_strdup(config->journal_dir);
	j->open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	*j_r = j;
	return 0;
}

void journal_close(struct journal **j)
{
	if (*j == NULL)
		return;
	g_free((*j)->dir);
	g_hash_table_destroy((*j)->open);
	g_free(*j);
	*j = NULL;
}

static gint journal_strcmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int journal_list_quotas(struct journal *j, GPtrArray *quotas_r,
			char **error_r)
{
	GError *error = NULL;
	GDir *d = g_dir_open(j->dir, 0, &error);
	const char *name;
	guint start = quotas_r->len;

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
		path = g_build_filename(j->dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_DIR))
			g_ptr_array_add(quotas_r, quota);
		else
			g_free(quota);
		g_free(path);
	}
	g_dir_close(d);
	if (quotas_r->len > start)
		qsort(quotas_r->pdata + start, quotas_r->len - start,
		      sizeof(gpointer), journal_strcmp);
	return 0;
}

/* flock(2) like the store: the kernel drops it when the process dies, so
   a killed delivery never leaves a stale lock; close-on-exec so that
   sendmail does not inherit it.  Every writer of the quota's files holds
   it, so a temporary file found once it is taken was left by a killed
   writer and goes (the directory is a handful of files: no need to know
   first whether one was killed).  Failing to remove one is no reason to
   refuse the booking. */
static int journal_quota_lock(struct journal_quota *q, char **error_r)
{
	char *path = journal_quota_path(q, JOURNAL_LOCK_NAME);
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

int journal_quota_open(struct journal *j, const char *quota, bool create,
		       struct journal_quota **q_r, char **error_r)
{
	struct journal_quota *q;
	char *name, *enc, *dir;
	int r;

	*q_r = NULL;
	name = journal_name_normalize(quota);
	if (name == NULL) {
		*error_r = g_strdup_printf("not a usable quota name: %s",
					   quota == NULL ? "(null)" : quota);
		return -1;
	}
	if (g_hash_table_contains(j->open, name)) {
		*error_r = g_strdup_printf("quota %s is already open", name);
		g_free(name);
		return -1;
	}
	enc = store_name_encode(name);
	/* A hashed name could not be listed back (journal_list_quotas());
	   no sensible quota name is that long. */
	if (g_str_has_prefix(enc, "%%")) {
		*error_r = g_strdup_printf("quota name too long (%zu bytes)",
					   strlen(name));
		g_free(enc);
		g_free(name);
		return -1;
	}
	dir = g_build_filename(j->dir, enc, NULL);
	g_free(enc);
	r = journal_quota_dir(dir, create, error_r);
	if (r <= 0) {
		g_free(dir);
		g_free(name);
		return r;
	}
	q = g_new0(struct journal_quota, 1);
	q->j = j;
	q->name = name;
	q->dir = dir;
	if (journal_quota_lock(q, error_r) < 0) {
		journal_quota_close(&q);
		return -1;
	}
	g_hash_table_add(j->open, g_strdup(name));
	*q_r = q;
	return 1;
}

void journal_quota_close(struct journal_quota **qp)
{
	struct journal_quota *q = *qp;

	if (q == NULL)
		return;
	/* closing the descriptor drops the flock */
	if (q->lock_fd >= 0) {
		close(q->lock_fd);
		g_hash_table_remove(q->j->open, q->name);
	}
	g_free(q->name);
	g_free(q->dir);
	g_free(q->error);
	g_free(q);
	*qp = NULL;
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

static char *journal_subject_of(struct journal_quota *q, const char *subject)
{
	char *norm;

	if (subject != NULL && strcmp(subject, "*") == 0)
		return g_strdup("*");
	norm = journal_name_normalize(subject);
	if (norm == NULL)
		journal_quota_error(q, "not a usable limit subject: %s",
				    subject == NULL ? "(null)" : subject);
	return norm;
}

int journal_limit_get(struct journal_quota *q, const char *subject,
		      long *seconds_r, const char **error_r)
{
	GPtrArray *pairs = journal_pairs_new();
	char *key = journal_subject_of(q, subject);
	struct journal_pair *p;
	int ret = -1;

	*seconds_r = 0;
	if (key == NULL || journal_pairs_read(q, JOURNAL_LIMITS, pairs) < 0)
		goto out;
	p = journal_pairs_find(pairs, key, NULL);
	ret = 0;
	/* an unreadable value is no limit, as a missing one: a bad hand
	   edit must not block every booking */
	if (p != NULL && journal_limit_parse(p->value, seconds_r))
		ret = 1;
out:
	if (ret < 0)
		*error_r = q->error;
	g_free(key);
	g_ptr_array_free(pairs, TRUE);
	return ret;
}

int journal_limit_set(struct journal_quota *q, const char *subject,
		      long seconds, const char **error_r)
{
	char *key = journal_subject_of(q, subject);
	char *value = NULL;
	int ret = -1;

	if (key == NULL)
		goto out;
	/* imip-admin prints limits through libical's int durations */
	if (seconds > INT_MAX) {
		journal_quota_error(q, "limit too large: %ld seconds", seconds);
		goto out;
	}
	if (seconds >= 0)
		value = g_strdup_printf("%ld", seconds);
	ret = journal_pairs_set(q, JOURNAL_LIMITS, key, value);
out:
	if (ret < 0)
		*error_r = q->error;
	g_free(value);
	g_free(key);
	return ret;
}

int journal_limits_list(struct journal_quota *q, GPtrArray *lines_r,
			const char **error_r)
{
	GPtrArray *pairs = journal_pairs_new();

	if (journal_pairs_read(q, JOURNAL_LIMITS, pairs) < 0) {
		*error_r = q->error;
		g_ptr_array_free(pairs, TRUE);
		return -1;
	}
	for (guint i = 0; i < pairs->len; i++) {
		const struct journal_pair *p = g_ptr_array_index(pairs, i);
		long seconds;
		char *dur;

		if (!journal_limit_parse(p->value, &seconds) ||
		    seconds > INT_MAX)
			continue;
		dur = icaldurationtype_as_ical_string_r(
			icaldurationtype_from_int((int)seconds));
		g_ptr_array_add(lines_r, g_strdup_printf("%s\t%s", p->key,
							 dur));
		icalmemory_free_buffer(dur);
	}
	g_ptr_array_free(pairs, TRUE);
	return 0;
}

/* --- groups ------------------------------------------------------------- */

static char *journal_user_of(struct journal_quota *q, const char *user)
{
	char *norm = address_normalize(user);

	if (norm == NULL)
		journal_quota_error(q, "not a usable address: %s",
				    user == NULL ? "(null)" : user);
	return norm;
}

int journal_group_get(struct journal_quota *q, const char *user,
		      char **group_r, const char **error_r)
{
	GPtrArray *pairs = journal_pairs_new();
	char *key = journal_user_of(q, user);
	struct journal_pair *p;
	int ret = -1;

	*group_r = NULL;
	if (key == NULL || journal_pairs_read(q, JOURNAL_GROUPS, pairs) < 0)
		goto out;
	p = journal_pairs_find(pairs, key, NULL);
	ret = 0;
	if (p != NULL) {
		*group_r = g_strdup(p->value);
		ret = 1;
	}
out:
	if (ret < 0)
		*error_r = q->error;
	g_free(key);
	g_ptr_array_free(pairs, TRUE);
	return ret;
}

int journal_group_set(struct journal_quota *q, const char *user,
		      const char *group, const char **error_r)
{
	char *key = journal_user_of(q, user);
	int ret = -1;

	if (key == NULL)
		goto out;
	/* a group is a name, never an address: limits look a subject up as
	   the organiser first, so the two must not be confused */
	if (group != NULL && (!journal_name_is_valid(group) ||
			      strchr(group, '@') != NULL ||
			      strcmp(group, "*") == 0)) {
		journal_quota_error(q, "not a usable group name: %s", group);
		goto out;
	}
	ret = journal_pairs_set(q, JOURNAL_GROUPS, key, group);
out:
	if (ret < 0)
		*error_r = q->error;
	g_free(key);
	return ret;
}

int journal_groups_list(struct journal_quota *q, GPtrArray *lines_r,
			const char **error_r)
{
	GPtrArray *pairs = journal_pairs_new();

	if (journal_pairs_read(q, JOURNAL_GROUPS, pairs) < 0) {
		*error_r = q->error;
		g_ptr_array_free(pairs, TRUE);
		return -1;
	}
	for (guint i = 0; i < pairs->len; i++) {
		const struct journal_pair *p = g_ptr_array_index(pairs, i);

		g_ptr_array_add(lines_r, g_strdup_printf("%s\t%s", p->key,
							 p->value));
	}
	g_ptr_array_free(pairs, TRUE);
	return 0;
}

/* --- delegates ---------------------------------------------------------- */

int journal_delegates_get(struct journal_quota *q, GPtrArray *delegates_r,
			  const char **error_r)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	char **lines;

	if (journal_read_lines(q, JOURNAL_DELEGATES, &lines) < 0) {
		*error_r = q->error;
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

/* The order is kept: it is the order in which schedule_for_delegate
   tries the pool. */
int journal_delegates_set(struct journal_quota *q, const GPtrArray *delegates,
			  const char **error_r)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	GString *out = g_string_new(NULL);
	int ret = 0;

	for (guint i = 0; delegates != NULL && i < delegates->len; i++) {
		const char *value = g_ptr_array_index(delegates, i);
		char *addr = address_normalize(value);

		if (addr == NULL) {
			ret = journal_quota_error(q, "not a usable address: "
						  "%s", value == NULL ?
						  "(null)" : value);
			break;
		}
		if (!g_hash_table_contains(seen, addr)) {
			store_name_field_append(out, addr);
			g_string_append_c(out, '\n');
			g_hash_table_add(seen, addr);
		} else {
			g_free(addr);
		}
	}
	if (ret == 0)
		ret = journal_write(q, JOURNAL_DELEGATES, out);
	if (ret < 0)
		*error_r = q->error;
	g_string_free(out, TRUE);
	g_hash_table_destroy(seen);
	return ret;
}

/* --- reservations ------------------------------------------------------- */

void journal_reservation_free(struct journal_reservation *r)
{
	if (r == NULL)
		return;
	g_free(r->resource);
	g_free(r->uid);
	g_free(r->rid);
	g_free(r->organiser);
	g_free(r);
}

static gint journal_reservation_cmp(gconstpointer a, gconstpointer b)
{
	const struct journal_reservation *ra =
		*(struct journal_reservation *const *)a;
	const struct journal_reservation *rb =
		*(struct journal_reservation *const *)b;
	gint c;

	if (ra->start != rb->start)
		return ra->start < rb->start ? -1 : 1;
	if (ra->end != rb->end)
		return ra->end < rb->end ? -1 : 1;
	if ((c = g_strcmp0(ra->resource, rb->resource)) != 0)
		return c;
	if ((c = g_strcmp0(ra->uid, rb->uid)) != 0)
		return c;
	return g_strcmp0(ra->rid, rb->rid);
}

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

int journal_reservations_read(struct journal_quota *q, GPtrArray *out,
			      const char **error_r)
{
	GPtrArray *list = g_ptr_array_new();

	if (journal_reservations_load(q, list) < 0) {
		*error_r = q->error;
		g_ptr_array_free(list, TRUE);
		return -1;
	}
	for (guint i = 0; i < list->len; i++)
		g_ptr_array_add(out, g_ptr_array_index(list, i));
	g_ptr_array_free(list, TRUE);
	return 0;
}

/* A checked, normalised copy of one new reservation of (resource, uid);
   its own resource and uid may be NULL, meaning those. */
static struct journal_reservation *
journal_reservation_check(struct journal_quota *q, const char *resource,
			  const char *uid,
			  const struct journal_reservation *in)
{
	struct journal_reservation *r;
	char *res;

	if (in == NULL || in->start >= in->end) {
		journal_quota_error(q, "reservation of %s without a positive "
				    "duration", uid);
		return NULL;
	}
	if (in->uid != NULL && strcmp(in->uid, uid) != 0) {
		journal_quota_error(q, "reservation of UID %s given for %s",
				    in->uid, uid);
		return NULL;
	}
	if (in->rid != NULL && *in->rid == '\0') {
		journal_quota_error(q, "empty RECURRENCE-ID in a reservation "
				    "of %s", uid);
		return NULL;
	}
	if (in->resource != NULL) {
		res = address_normalize(in->resource);
		if (res == NULL || strcmp(res, resource) != 0) {
			journal_quota_error(q, "reservation of %s given for "
					    "%s", in->resource, resource);
			g_free(res);
			return NULL;
		}
		g_free(res);
	}
	r = g_new0(struct journal_reservation, 1);
	r->organiser = address_normalize(in->organiser);
	if (r->organiser == NULL) {
		journal_quota_error(q, "not a usable organiser address: %s",
				    in->organiser == NULL ? "(null)" :
				    in->organiser);
		g_free(r);
		return NULL;
	}
	r->resource = g_strdup(resource);
	r->uid = g_strdup(uid);
	r->rid = g_strdup(in->rid);
	r->start = in->start;
	r->end = in->end;
	return r;
}

int journal_reservations_replace(struct journal_quota *q,
				 const char *resource, const char *uid,
				 const GPtrArray *list, const char **error_r)
{
	GPtrArray *all = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	GPtrArray *fresh = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	char *res = address_normalize(resource);
	bool changed = false;
	int ret = -1;

	if (res == NULL) {
		journal_quota_error(q, "not a usable resource address: %s",
				    resource == NULL ? "(null)" : resource);
		goto out;
	}
	if (uid == NULL || *uid == '\0') {
		journal_quota_error(q, "reservation without a UID");
		goto out;
	}
	/* check everything before touching the table: all or nothing */
	for (guint i = 0; list != NULL && i < list->len; i++) {
		struct journal_reservation *r = journal_reservation_check(
			q, res, uid, g_ptr_array_index(list, i));

		if (r == NULL)
			goto out;
		g_ptr_array_add(fresh, r);
	}
	if (journal_reservations_load(q, all) < 0)
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
	while (fresh->len > 0)
		g_ptr_array_add(all, g_ptr_array_steal_index(fresh, 0));
	ret = changed ? journal_reservations_store(q, all) : 0;
out:
	if (ret < 0)
		*error_r = q->error;
	g_free(res);
	g_ptr_array_free(fresh, TRUE);
	g_ptr_array_free(all, TRUE);
	return ret;
}

int journal_expire(struct journal_quota *q, time_t now,
		   unsigned int *removed_r, const char **error_r)
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
	if (ret < 0)
		*error_r = q->error;
	if (removed_r != NULL)
		*removed_r = ret < 0 ? 0 : removed;
	g_ptr_array_free(all, TRUE);
	return ret;
}
