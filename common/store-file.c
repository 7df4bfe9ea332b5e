/* The file backend of the store: the layout of DESIGN.md section 5,
   documented byte for byte in docs/store.md (administrators read and back
   up these files, so the formats are a contract).

   Every name taken from a message goes through store_name_encode() before
   it names a file.  Every write replaces a whole file (atomic_file_write():
   temporary file in the same directory, fsync, rename, fsync of the
   directory), so a crash leaves either the old or the new content.  The per-user lock is
   flock(2) on <store_dir>/<user>/.lock; a writer keeps one byte in it
   while its session lasts, so the next writer knows when one was killed
   and removes the temporary files it left (docs/store.md section 6). */

#include "store-private.h"
#include "store-name.h"
#include "atomic-file.h"
#include "config.h"
#include "clock.h"
#include "freebusy.h"
#include "store-file.h"
#include "store-file-fb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <libical/ical.h>

/* Modes of what the agent creates, before the umask (the original's
   DEFAULT_DIR_PERMISSIONS / DEFAULT_PERMISSIONS).  The set-group-ID bit of
   directories is inherited from the parent on Linux, so setting it on the
   top directories once (install guide) keeps the group shared with the
   web server. */
#define STORE_FILE_DIR_MODE 02770
#define STORE_FILE_MODE 0660

#define STORE_FILE_LOCK_NAME ".lock"
/* which freebusy-other tables hold each UID (store-file-fb.h) */
#define STORE_FILE_FB_OTHERS "freebusy-other-uids"

struct store_file {
	struct store store;
	char *store_dir;
	char *prefs_dir;
	char *static_dir;
	bool fsync_derived;	/* store_fsync = always */
};

struct store_file_user {
	struct store_user su;
	char *user_enc;		/* the user's directory name */
	char *dir;		/* <store_dir>/<user_enc> */
	int lock_fd;
};

static inline struct store_file *store_file_of(struct store_user *su)
{
	return (struct store_file *)su->store;
}

static inline struct store_file_user *store_file_user_of(struct store_user *su)
{
	return (struct store_file_user *)su;
}

/* --- names --------------------------------------------------------------- */

/* Encode a value that must be decodable later from the file name alone
   (addresses, RECURRENCE-IDs, preference names): their files hold nothing
   that names them, so a hashed long name would lose them.  No legitimate
   value comes close to the limit (a normalised RECURRENCE-ID has at most
   16 characters). */
static int store_file_encode_short(struct store_user *su, const char *what,
				   const char *raw, char **enc_r)
{
	char *enc = store_name_encode(raw);

	if (g_str_has_prefix(enc, "%%")) {
		g_free(enc);
		*enc_r = NULL;
		if (su == NULL)
			return -1;
		return store_user_set_error(su, "%s too long to store "
					    "(%zu bytes)", what, strlen(raw));
	}
	*enc_r = enc;
	return 0;
}

/* --- file primitives ----------------------------------------------------- */

/* 1 and the content, 0 if the file does not exist, -1 on error. */
static int store_file_read(struct store_user *su, const char *path,
			   char **text_r, gsize *len_r)
{
	GError *error = NULL;
	gsize len;

	*text_r = NULL;
	if (!g_file_get_contents(path, text_r, &len, &error)) {
		int ret = 0;

		if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT) &&
		    !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR))
			ret = store_user_set_error(su, "%s", error->message);
		g_error_free(error);
		*text_r = NULL;
		return ret;
	}
	if (len_r != NULL)
		*len_r = len;
	return 1;
}

static int store_file_mkdirs(struct store_user *su, const char *dir)
{
	if (g_mkdir_with_parents(dir, STORE_FILE_DIR_MODE) < 0)
		return store_user_set_error(su, "cannot create directory %s: %s",
					    dir, g_strerror(errno));
	return 0;
}

/* The rename (or unlink) is durable only once the directory is synced. */
static int store_file_sync_dir(struct store_user *su, const char *dir)
{
	char *error = NULL;

	if (atomic_file_sync_dir(dir, &error) < 0) {
		store_user_set_error(su, "%s", error);
		g_free(error);
		return -1;
	}
	return 0;
}

/* Whether a write must reach the disk before the call returns: always for
   what cannot be rebuilt (objects, counter-proposals, the outbox,
   preferences); for derived data (the request list, free/busy tables, the
   published file) and the advisory seen list only with store_fsync =
   always -- a machine crash may leave them stale, which the next message
   for the UID or `imip-admin rebuild` repairs (docs/store.md 6). */
enum atomic_file_sync store_file_sync_for(struct store_user *su,
					  enum store_file_data kind)
{
	const struct store_file *fs = (const struct store_file *)su->store;

	return kind == STORE_FILE_TRUTH || fs->fsync_derived ?
		ATOMIC_FILE_SYNC : ATOMIC_FILE_NO_SYNC;
}

/* Replace `path` with `data` atomically, creating its directory. */
static int store_file_write(struct store_user *su, const char *path,
			    const char *data, size_t len,
			    enum store_file_data kind)
{
	char *dir = g_path_get_dirname(path);
	char *error = NULL;
	int ret = store_file_mkdirs(su, dir);

	g_free(dir);
	if (ret < 0)
		return -1;
	if (atomic_file_write(path, data, len, STORE_FILE_MODE,
			      store_file_sync_for(su, kind), &error) < 0) {
		store_user_set_error(su, "%s", error);
		g_free(error);
		return -1;
	}
	return 0;
}

/* 1 removed, 0 was not there, -1 error. */
static int store_file_unlink(struct store_user *su, const char *path)
{
	char *dir;
	int ret;

	if (unlink(path) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return store_user_set_error(su, "cannot remove %s: %s", path,
					    g_strerror(errno));
	}
	dir = g_path_get_dirname(path);
	ret = store_file_sync_dir(su, dir);
	g_free(dir);
	return ret < 0 ? -1 : 1;
}

/* Directories named after a UID or RECURRENCE-ID go when they empty. */
static int store_file_rmdir_if_empty(struct store_user *su, const char *dir)
{
	if (rmdir(dir) == 0 || errno == ENOENT || errno == ENOTEMPTY ||
	    errno == EEXIST || errno == ENOTDIR)
		return 0;
	return store_user_set_error(su, "cannot remove directory %s: %s", dir,
				    g_strerror(errno));
}

/* The entries of `dir` (raw names, not starting with '.', which are the
   lock and temporary files).  A missing directory lists as empty. */
int store_file_list_dir(struct store_user *su, const char *dir,
			GPtrArray *names)
{
	GError *error = NULL;
	GDir *d = g_dir_open(dir, 0, &error);
	const char *name;

	if (d == NULL) {
		int ret = 0;

		if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT) &&
		    !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR))
			ret = store_user_set_error(su, "%s", error->message);
		g_error_free(error);
		return ret;
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		if (name[0] != '.')
			g_ptr_array_add(names, g_strdup(name));
	}
	g_dir_close(d);
	return 0;
}

static gint store_file_strcmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Decode each raw name of `names` into `out` (skipping names that encoding
   could not have produced, e.g. dropped there by hand), sorted. */
static void store_file_decode_names(GPtrArray *names, GPtrArray *out)
{
	guint start = out->len;

	for (guint i = 0; i < names->len; i++) {
		char *raw = store_name_decode(g_ptr_array_index(names, i));

		if (raw != NULL)
			g_ptr_array_add(out, raw);
	}
	if (out->len > start)
		qsort(out->pdata + start, out->len - start, sizeof(gpointer),
		      store_file_strcmp);
}

/* --- the store and its users --------------------------------------------- */

static void store_file_deinit(struct store *store)
{
	struct store_file *fs = (struct store_file *)store;

	g_free(fs->store_dir);
	g_free(fs->prefs_dir);
	g_free(fs->static_dir);
	g_free(fs);
}

static int store_file_list_users(struct store *store, GPtrArray *users_r,
				 char **error_r)
{
	struct store_file *fs = (struct store_file *)store;
	GError *error = NULL;
	GDir *d = g_dir_open(fs->store_dir, 0, &error);
	GPtrArray *names;
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
	names = g_ptr_array_new_with_free_func(g_free);
	while ((name = g_dir_read_name(d)) != NULL) {
		char *path;

		if (name[0] == '.')
			continue;
		path = g_build_filename(fs->store_dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_DIR))
			g_ptr_array_add(names, g_strdup(name));
		g_free(path);
	}
	g_dir_close(d);
	store_file_decode_names(names, users_r);
	g_ptr_array_free(names, TRUE);
	return 0;
}

static int store_file_lock(struct store_file_user *fu, const char *path,
			   bool shared, char **error_r)
{
	int flags = (shared ? O_RDONLY : O_RDWR) | O_CREAT | O_CLOEXEC |
		O_NOFOLLOW;

	fu->lock_fd = open(path, flags, STORE_FILE_MODE);
	if (fu->lock_fd < 0 && shared && (errno == EACCES || errno == EROFS))
		fu->lock_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fu->lock_fd < 0) {
		*error_r = g_strdup_printf("cannot open lock file %s: %s",
					   path, g_strerror(errno));
		return -1;
	}
	/* flock(2): released by the kernel when the process dies, so a
	   killed delivery never leaves a stale lock behind. */
	while (flock(fu->lock_fd, shared ? LOCK_SH : LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		*error_r = g_strdup_printf("cannot lock %s: %s", path,
					   g_strerror(errno));
		close(fu->lock_fd);
		fu->lock_fd = -1;
		return -1;
	}
	return 0;
}

/* Every directory of the user that only writers holding the user's lock
   write: the store, the preferences, the published free/busy. */
static int store_file_remove_temporaries_in(struct store_file *fs,
					    struct store_file_user *fu,
					    unsigned int *removed_r,
					    char **error_r)
{
	char *prefs = g_build_filename(fs->prefs_dir, fu->user_enc, NULL);
	char *stat_dir = g_build_filename(fs->static_dir, fu->user_enc, NULL);
	int ret = 0;

	if (atomic_file_remove_temporaries(fu->dir, true, removed_r, error_r) < 0 ||
	    atomic_file_remove_temporaries(prefs, false, removed_r, error_r) < 0 ||
	    atomic_file_remove_temporaries(stat_dir, false, removed_r, error_r) < 0)
		ret = -1;
	g_free(prefs);
	g_free(stat_dir);
	return ret;
}

/* A writer's session begins: a byte left in the lock file by the last
   writer means it never reached store_file_user_close(); its temporary
   files go now (no writer can be using them: this one holds the lock).
   Then this session's byte.  Neither is fsynced: after a system crash
   the byte may be lost, which `imip-admin rebuild` makes up for. */
static void store_file_writer_begins(struct store_file *fs,
				     struct store_file_user *fu)
{
	struct stat st;
	unsigned int removed = 0;
	char *error = NULL;

	if (fstat(fu->lock_fd, &st) == 0 && st.st_size > 0) {
		fu->su.interrupted = true;
		if (store_file_remove_temporaries_in(fs, fu, &removed, &error) < 0) {
			/* kept for the next writer: the byte stays */
			g_free(error);
			return;
		}
	}
	(void)!pwrite(fu->lock_fd, "w", 1, 0);
}

static int store_file_remove_temporaries(struct store_user *su,
					 unsigned int *removed_r)
{
	char *error = NULL;

	if (store_file_remove_temporaries_in(store_file_of(su),
					     store_file_user_of(su),
					     removed_r, &error) < 0) {
		store_user_set_error(su, "%s", error);
		g_free(error);
		return -1;
	}
	return 0;
}

static int store_file_user_open(struct store *store, const char *user,
				enum store_open_flags flags,
				struct store_user **su_r, char **error_r)
{
	struct store_file *fs = (struct store_file *)store;
	struct store_file_user *fu;
	struct stat st;
	char *enc, *dir, *lock_path;

	if (store_file_encode_short(NULL, "address", user, &enc) < 0) {
		*error_r = g_strdup_printf("address too long for a store "
					   "(%zu bytes)", strlen(user));
		return -1;
	}
	dir = g_build_filename(fs->store_dir, enc, NULL);
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT) {
			*error_r = g_strdup_printf("cannot access %s: %s", dir,
						   g_strerror(errno));
			goto fail;
		}
		if ((flags & STORE_OPEN_CREATE) == 0) {
			g_free(enc);
			g_free(dir);
			return 0;
		}
		if (g_mkdir_with_parents(dir, STORE_FILE_DIR_MODE) < 0) {
			*error_r = g_strdup_printf("cannot create directory "
						   "%s: %s", dir,
						   g_strerror(errno));
			goto fail;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		*error_r = g_strdup_printf("%s is not a directory", dir);
		goto fail;
	}

	fu = g_new0(struct store_file_user, 1);
	fu->user_enc = enc;
	fu->dir = dir;
	lock_path = g_build_filename(dir, STORE_FILE_LOCK_NAME, NULL);
	if (store_file_lock(fu, lock_path,
			    (flags & STORE_OPEN_READONLY) != 0, error_r) < 0) {
		g_free(lock_path);
		g_free(fu->user_enc);
		g_free(fu->dir);
		g_free(fu);
		return -1;
	}
	g_free(lock_path);
	if ((flags & STORE_OPEN_READONLY) == 0)
		store_file_writer_begins(fs, fu);
	*su_r = &fu->su;
	return 1;
fail:
	g_free(enc);
	g_free(dir);
	return -1;
}

static void store_file_user_close(struct store_user *su)
{
	struct store_file_user *fu = store_file_user_of(su);

	/* The session ends whole: its byte goes (store_file_writer_begins()).
	   Closing the descriptor drops the flock. */
	if (fu->lock_fd >= 0) {
		if ((su->flags & STORE_OPEN_READONLY) == 0)
			(void)!ftruncate(fu->lock_fd, 0);
		close(fu->lock_fd);
	}
	g_free(fu->user_enc);
	g_free(fu->dir);
	g_free(fu);
}

/* --- calendar objects ---------------------------------------------------- */

static const char *store_file_state_prefix(enum store_state state)
{
	return state == STORE_STATE_CANCELLED ? "cancellations" : NULL;
}

/* <dir>[/cancellations]/objects/<uid> or .../recurrences/<uid>/<rid>;
   with uid_dir, the recurrences/<uid> directory instead. */
static int store_file_object_path(struct store_user *su,
				  enum store_state state, const char *uid,
				  const char *rid, bool uid_dir,
				  char **path_r)
{
	struct store_file_user *fu = store_file_user_of(su);
	const char *prefix = store_file_state_prefix(state);
	char *uid_enc = store_name_encode(uid), *rid_enc = NULL;
	const char *base = prefix == NULL ? fu->dir : NULL;
	char *cbase = NULL;

	if (rid != NULL &&
	    store_file_encode_short(su, "RECURRENCE-ID", rid, &rid_enc) < 0) {
		g_free(uid_enc);
		return -1;
	}
	if (base == NULL)
		base = cbase = g_build_filename(fu->dir, prefix, NULL);
	if (uid_dir)
		*path_r = g_build_filename(base, "recurrences", uid_enc, NULL);
	else if (rid == NULL)
		*path_r = g_build_filename(base, "objects", uid_enc, NULL);
	else
		*path_r = g_build_filename(base, "recurrences", uid_enc,
					   rid_enc, NULL);
	g_free(cbase);
	g_free(uid_enc);
	g_free(rid_enc);
	return 0;
}

/* 1 with *mtime_r, 0 absent, -1 error. */
static int store_file_stat(struct store_user *su, const char *path,
			   struct timespec *mtime_r)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return store_user_set_error(su, "cannot access %s: %s", path,
					    g_strerror(errno));
	}
	*mtime_r = st.st_mtim;
	return 1;
}

static bool store_file_timespec_after(const struct timespec *a,
				      const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
		(a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static int store_file_object_get(struct store_user *su, const char *uid,
				 const char *rid, enum store_state *state_r,
				 char **text_r)
{
	char *active = NULL, *cancelled = NULL;
	struct timespec mt_active = { 0, 0 }, mt_cancelled = { 0, 0 };
	int ret = -1, has_active, has_cancelled;
	enum store_state state;

	if (store_file_object_path(su, STORE_STATE_ACTIVE, uid, rid, false,
				   &active) < 0 ||
	    store_file_object_path(su, STORE_STATE_CANCELLED, uid, rid, false,
				   &cancelled) < 0)
		goto out;
	if ((has_active = store_file_stat(su, active, &mt_active)) < 0 ||
	    (has_cancelled = store_file_stat(su, cancelled,
					     &mt_cancelled)) < 0)
		goto out;
	if (!has_active && !has_cancelled) {
		ret = 0;
		goto out;
	}
	/* Both exist only after a crash between writing one state and
	   removing the other: the later write is the intended state. */
	if (has_active && has_cancelled)
		state = store_file_timespec_after(&mt_cancelled, &mt_active) ?
			STORE_STATE_CANCELLED : STORE_STATE_ACTIVE;
	else
		state = has_active ? STORE_STATE_ACTIVE : STORE_STATE_CANCELLED;
	ret = store_file_read(su, state == STORE_STATE_ACTIVE ? active :
			      cancelled, text_r, NULL);
	if (ret > 0 && state_r != NULL)
		*state_r = state;
out:
	g_free(active);
	g_free(cancelled);
	return ret;
}

/* Remove (uid, rid) in one state; 1 if something was removed. */
static int store_file_object_remove(struct store_user *su,
				    enum store_state state, const char *uid,
				    const char *rid)
{
	char *path = NULL, *uid_dir = NULL;
	int ret = -1;

	if (store_file_object_path(su, state, uid, rid, false, &path) < 0)
		goto out;
	ret = store_file_unlink(su, path);
	if (ret > 0 && rid != NULL) {
		if (store_file_object_path(su, state, uid, NULL, true,
					   &uid_dir) < 0 ||
		    store_file_rmdir_if_empty(su, uid_dir) < 0)
			ret = -1;
	}
out:
	g_free(path);
	g_free(uid_dir);
	return ret;
}

static int store_file_object_put(struct store_user *su, const char *uid,
				 const char *rid, enum store_state state,
				 const char *text)
{
	enum store_state other = state == STORE_STATE_ACTIVE ?
		STORE_STATE_CANCELLED : STORE_STATE_ACTIVE;
	char *path;
	int ret;

	if (store_file_object_path(su, state, uid, rid, false, &path) < 0)
		return -1;
	/* Write first, then remove the other state: a crash in between
	   leaves both, and store_file_object_get() picks the newer. */
	ret = store_file_write(su, path, text, strlen(text), STORE_FILE_TRUTH);
	g_free(path);
	if (ret < 0)
		return -1;
	return store_file_object_remove(su, other, uid, rid) < 0 ? -1 : 0;
}

static int store_file_object_delete(struct store_user *su, const char *uid,
				    const char *rid)
{
	int a, c;

	a = store_file_object_remove(su, STORE_STATE_ACTIVE, uid, rid);
	if (a < 0)
		return -1;
	c = store_file_object_remove(su, STORE_STATE_CANCELLED, uid, rid);
	if (c < 0)
		return -1;
	return a > 0 || c > 0 ? 1 : 0;
}

static int store_file_object_list_rids(struct store_user *su, const char *uid,
				       enum store_state state,
				       GPtrArray *rids_r)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	char *dir;
	int ret;

	if (store_file_object_path(su, state, uid, NULL, true, &dir) < 0) {
		g_ptr_array_free(names, TRUE);
		return -1;
	}
	ret = store_file_list_dir(su, dir, names);
	if (ret == 0)
		store_file_decode_names(names, rids_r);
	g_ptr_array_free(names, TRUE);
	g_free(dir);
	return ret;
}

/* The UID inside a stored VCALENDAR (or COUNTER), for files whose name is a
   hash.  libical unfolds and unescapes exactly as it did when the caller
   got the UID, so the result re-encodes to the same name; anything else
   (a file edited by hand) is ignored. */
static char *store_file_uid_from_file(struct store_user *su, const char *path,
				      const char *name)
{
	icalcomponent *comp;
	char *text, *uid = NULL;

	if (store_file_read(su, path, &text, NULL) <= 0)
		return NULL;
	comp = icalcomponent_new_from_string(text);
	g_free(text);
	if (comp != NULL) {
		const char *value = icalcomponent_get_uid(comp);

		if (value != NULL) {
			char *enc = store_name_encode(value);

			if (strcmp(enc, name) == 0)
				uid = g_strdup(value);
			g_free(enc);
		}
		icalcomponent_free(comp);
	}
	return uid;
}

/* The UID a name under objects/ (is_dir false) or recurrences/ (is_dir
   true: read any file inside) stands for. */
static char *store_file_uid_of_name(struct store_user *su, const char *parent,
				    const char *name, bool is_dir)
{
	char *uid = store_name_decode(name), *path;

	if (uid != NULL)
		return uid;
	path = g_build_filename(parent, name, NULL);
	if (!is_dir) {
		uid = store_file_uid_from_file(su, path, name);
	} else {
		GPtrArray *files = g_ptr_array_new_with_free_func(g_free);

		if (store_file_list_dir(su, path, files) == 0) {
			for (guint i = 0; i < files->len && uid == NULL; i++) {
				char *file = g_build_filename(
					path, g_ptr_array_index(files, i),
					NULL);
				GPtrArray *sub = NULL;

				/* counters/recurrences/<uid>/<rid>/<att> */
				if (g_file_test(file, G_FILE_TEST_IS_DIR)) {
					sub = g_ptr_array_new_with_free_func(
						g_free);
					if (store_file_list_dir(su, file,
								sub) == 0 &&
					    sub->len > 0) {
						char *f2 = g_build_filename(
							file,
							g_ptr_array_index(sub, 0),
							NULL);
						g_free(file);
						file = f2;
					}
					g_ptr_array_free(sub, TRUE);
				}
				uid = store_file_uid_from_file(su, file, name);
				g_free(file);
			}
		}
		g_ptr_array_free(files, TRUE);
	}
	g_free(path);
	return uid;
}

static int store_file_collect_uids(struct store_user *su, const char *dir,
				   bool is_dir, GHashTable *uids)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	int ret = store_file_list_dir(su, dir, names);

	for (guint i = 0; ret == 0 && i < names->len; i++) {
		char *uid = store_file_uid_of_name(su, dir,
						   g_ptr_array_index(names, i),
						   is_dir);
		if (uid != NULL)
			g_hash_table_add(uids, uid);
	}
	g_ptr_array_free(names, TRUE);
	return ret;
}

static int store_file_object_list_uids(struct store_user *su,
				       GPtrArray *uids_r)
{
	static const struct {
		const char *path;
		bool per_uid_dir;	/* recurrences/<uid>/<rid> */
	} subdirs[] = {
		{ "objects", false }, { "recurrences", true },
		{ "cancellations/objects", false },
		{ "cancellations/recurrences", true },
	};
	struct store_file_user *fu = store_file_user_of(su);
	GHashTable *uids = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	GHashTableIter iter;
	gpointer key;
	guint start = uids_r->len;
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < G_N_ELEMENTS(subdirs); i++) {
		char *dir = g_build_filename(fu->dir, subdirs[i].path, NULL);

		ret = store_file_collect_uids(su, dir, subdirs[i].per_uid_dir,
					      uids);
		g_free(dir);
	}
	if (ret == 0) {
		g_hash_table_iter_init(&iter, uids);
		while (g_hash_table_iter_next(&iter, &key, NULL)) {
			g_hash_table_iter_steal(&iter);
			g_ptr_array_add(uids_r, key);
		}
		if (uids_r->len > start)
			qsort(uids_r->pdata + start, uids_r->len - start,
			      sizeof(gpointer), store_file_strcmp);
	}
	g_hash_table_destroy(uids);
	return ret;
}

/* --- counter-proposals --------------------------------------------------- */

/* counters/objects/<uid>[/<attendee>] or
   counters/recurrences/<uid>/<rid>[/<attendee>]. */
static int store_file_counter_path(struct store_user *su, const char *uid,
				   const char *rid, const char *attendee,
				   char **path_r)
{
	struct store_file_user *fu = store_file_user_of(su);
	char *uid_enc = store_name_encode(uid), *rid_enc = NULL;
	char *att_enc = NULL;
	int ret = -1;

	if (rid != NULL &&
	    store_file_encode_short(su, "RECURRENCE-ID", rid, &rid_enc) < 0)
		goto out;
	if (attendee != NULL &&
	    store_file_encode_short(su, "attendee address", attendee,
				    &att_enc) < 0)
		goto out;
	if (rid == NULL)
		*path_r = g_build_filename(fu->dir, "counters", "objects",
					   uid_enc, att_enc, NULL);
	else
		*path_r = g_build_filename(fu->dir, "counters", "recurrences",
					   uid_enc, rid_enc, att_enc, NULL);
	ret = 0;
out:
	g_free(uid_enc);
	g_free(rid_enc);
	g_free(att_enc);
	return ret;
}

static int store_file_counter_put(struct store_user *su,
				  const struct store_counter *c)
{
	char *path;
	int ret;

	if (store_file_counter_path(su, c->uid, c->rid, c->attendee,
				    &path) < 0)
		return -1;
	ret = store_file_write(su, path, c->text, strlen(c->text), STORE_FILE_TRUTH);
	g_free(path);
	return ret < 0 ? -1 : 0;
}

static int store_file_counter_delete(struct store_user *su, const char *uid,
				     const char *rid, const char *attendee)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	char *dir = NULL, *uid_dir = NULL;
	int ret = -1, removed = 0;

	if (store_file_counter_path(su, uid, rid, NULL, &dir) < 0)
		goto out;
	if (attendee != NULL) {
		char *enc;

		if (store_file_encode_short(su, "attendee address", attendee,
					    &enc) < 0)
			goto out;
		g_ptr_array_add(names, enc);
	} else if (store_file_list_dir(su, dir, names) < 0) {
		goto out;
	}
	for (guint i = 0; i < names->len; i++) {
		char *path = g_build_filename(dir, g_ptr_array_index(names, i),
					      NULL);
		int r = store_file_unlink(su, path);

		g_free(path);
		if (r < 0)
			goto out;
		removed |= r;
	}
	if (store_file_rmdir_if_empty(su, dir) < 0)
		goto out;
	if (rid != NULL) {
		uid_dir = g_path_get_dirname(dir);
		if (store_file_rmdir_if_empty(su, uid_dir) < 0)
			goto out;
	}
	ret = removed;
out:
	g_ptr_array_free(names, TRUE);
	g_free(dir);
	g_free(uid_dir);
	return ret;
}

/* Add the counters found in `dir` (holding <attendee> files). */
static int store_file_counter_collect(struct store_user *su, const char *dir,
				      const char *uid, const char *rid,
				      GPtrArray *counters_r)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	int ret = store_file_list_dir(su, dir, names);

	g_ptr_array_sort(names, store_file_strcmp);
	for (guint i = 0; ret == 0 && i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		char *attendee = store_name_decode(name), *path, *text;
		struct store_counter *c;
		int r;

		if (attendee == NULL)
			continue;
		path = g_build_filename(dir, name, NULL);
		r = store_file_read(su, path, &text, NULL);
		g_free(path);
		if (r <= 0) {
			g_free(attendee);
			ret = r < 0 ? -1 : 0;
			continue;
		}
		c = g_new0(struct store_counter, 1);
		c->uid = g_strdup(uid);
		c->rid = g_strdup(rid);
		c->attendee = attendee;
		c->text = text;
		g_ptr_array_add(counters_r, c);
	}
	g_ptr_array_free(names, TRUE);
	return ret;
}

static int store_file_counter_list(struct store_user *su,
				   GPtrArray *counters_r)
{
	struct store_file_user *fu = store_file_user_of(su);
	char *objects = g_build_filename(fu->dir, "counters", "objects", NULL);
	char *recurs = g_build_filename(fu->dir, "counters", "recurrences",
					NULL);
	GPtrArray *uids = g_ptr_array_new_with_free_func(g_free);
	int ret;

	ret = store_file_list_dir(su, objects, uids);
	g_ptr_array_sort(uids, store_file_strcmp);
	for (guint i = 0; ret == 0 && i < uids->len; i++) {
		const char *name = g_ptr_array_index(uids, i);
		char *uid = store_file_uid_of_name(su, objects, name, true);
		char *dir = g_build_filename(objects, name, NULL);

		if (uid != NULL)
			ret = store_file_counter_collect(su, dir, uid, NULL,
							 counters_r);
		g_free(uid);
		g_free(dir);
	}
	g_ptr_array_set_size(uids, 0);
	if (ret == 0)
		ret = store_file_list_dir(su, recurs, uids);
	g_ptr_array_sort(uids, store_file_strcmp);
	for (guint i = 0; ret == 0 && i < uids->len; i++) {
		const char *name = g_ptr_array_index(uids, i);
		char *uid = store_file_uid_of_name(su, recurs, name, true);
		char *udir = g_build_filename(recurs, name, NULL);
		GPtrArray *rids = g_ptr_array_new_with_free_func(g_free);

		if (uid != NULL)
			ret = store_file_list_dir(su, udir, rids);
		g_ptr_array_sort(rids, store_file_strcmp);
		for (guint j = 0; ret == 0 && j < rids->len; j++) {
			const char *rname = g_ptr_array_index(rids, j);
			char *rid = store_name_decode(rname);
			char *rdir = g_build_filename(udir, rname, NULL);

			if (rid != NULL)
				ret = store_file_counter_collect(
					su, rdir, uid, rid, counters_r);
			g_free(rid);
			g_free(rdir);
		}
		g_ptr_array_free(rids, TRUE);
		g_free(uid);
		g_free(udir);
	}
	g_ptr_array_free(uids, TRUE);
	g_free(objects);
	g_free(recurs);
	return ret;
}

/* --- line files: requests, seen ------------------------------------------ */

/* Fields of the requests file are escaped with store_name_field_append()
   (store-name.h): a UID holding a tab or a newline cannot add a field or
   a line. */

static char *store_file_user_path(struct store_user *su, const char *name)
{
	return g_build_filename(store_file_user_of(su)->dir, name, NULL);
}

static int store_file_requests_read(struct store_user *su,
				    GPtrArray *requests_r)
{
	char *path = store_file_user_path(su, "requests"), *text;
	char **lines;
	int ret = store_file_read(su, path, &text, NULL);

	g_free(path);
	if (ret <= 0)
		return ret;
	lines = g_strsplit(text, "\n", -1);
	g_free(text);
	for (char **l = lines; *l != NULL; l++) {
		char **f;
		guint n;
		struct store_request *r;
		bool ok1, ok2 = true, ok3 = true;

		if (**l == '\0')
			continue;
		f = g_strsplit(*l, "\t", -1);
		n = g_strv_length(f);
		if (n > 3) {
			/* derived data: a damaged line is skipped, not fatal */
			g_strfreev(f);
			continue;
		}
		r = g_new0(struct store_request, 1);
		r->uid = store_name_field_decode(f[0], false, &ok1);
		/* The original's "uid" and "uid<TAB>rid" lines (no kind)
		   read as requests. */
		if (n >= 2)
			r->rid = store_name_field_decode(f[1], true, &ok2);
		r->kind = n >= 3 ? store_name_field_decode(f[2], false, &ok3) :
			g_strdup("request");
		g_strfreev(f);
		if (!ok1 || !ok2 || !ok3 || r->kind == NULL ||
		    *r->kind == '\0') {
			store_request_free(r);
			continue;
		}
		g_ptr_array_add(requests_r, r);
	}
	g_strfreev(lines);
	return 0;
}

static int store_file_requests_write(struct store_user *su,
				     const GPtrArray *requests)
{
	char *path = store_file_user_path(su, "requests");
	GString *out = g_string_new(NULL);
	int ret;

	for (guint i = 0; i < requests->len; i++) {
		const struct store_request *r = g_ptr_array_index(requests, i);

		store_name_field_append(out, r->uid);
		g_string_append_c(out, '\t');
		store_name_field_append(out, r->rid);
		g_string_append_c(out, '\t');
		store_name_field_append(out, r->kind);
		g_string_append_c(out, '\n');
	}
	ret = store_file_write(su, path, out->str, out->len, STORE_FILE_DERIVED);
	g_string_free(out, TRUE);
	g_free(path);
	return ret < 0 ? -1 : 0;
}

/* seen: "digest<TAB>YYYYMMDDTHHMMSSZ[<TAB>outcome<TAB>reason]" lines; the
   last two fields escaped like those of requests ("-" for none).  Lines
   without them (written before they existed) still count as seen. */
static int store_file_seen_read(struct store_user *su, char ***lines_r)
{
	char *path = store_file_user_path(su, "seen"), *text;
	int ret = store_file_read(su, path, &text, NULL);

	g_free(path);
	*lines_r = NULL;
	if (ret <= 0)
		return ret;
	*lines_r = g_strsplit(text, "\n", -1);
	g_free(text);
	return 1;
}

static bool store_file_seen_line(const char *line, const char *digest)
{
	size_t len = strlen(digest);

	return strncmp(line, digest, len) == 0 && line[len] == '\t';
}

/* The outcome and reason fields of a seen line (NULL when absent or
   damaged: the entry still means "seen"). */
static void store_file_seen_note(const char *line, char **outcome_r,
				 char **reason_r)
{
	char **f = g_strsplit(line, "\t", -1);
	bool ok1 = true, ok2 = true;
	char *outcome = NULL, *reason = NULL;

	if (g_strv_length(f) == 4) {
		outcome = store_name_field_decode(f[2], true, &ok1);
		reason = store_name_field_decode(f[3], true, &ok2);
		if (!ok1 || !ok2)
			g_clear_pointer(&outcome, g_free);
		if (outcome == NULL)
			g_clear_pointer(&reason, g_free);
	}
	g_strfreev(f);
	if (outcome_r != NULL)
		*outcome_r = outcome;
	else
		g_free(outcome);
	if (reason_r != NULL)
		*reason_r = reason;
	else
		g_free(reason);
}

static int store_file_seen_check(struct store_user *su, const char *digest,
				 char **outcome_r, char **reason_r)
{
	char **lines;
	int ret = store_file_seen_read(su, &lines);

	if (ret <= 0)
		return ret;
	ret = 0;
	for (char **l = lines; *l != NULL && ret == 0; l++) {
		if (store_file_seen_line(*l, digest)) {
			store_file_seen_note(*l, outcome_r, reason_r);
			ret = 1;
		}
	}
	g_strfreev(lines);
	return ret;
}

/* The time field of a seen line: the second one, ended by a tab or the
   end of the line. */
static bool store_file_seen_time(const char *line, time_t *t_r)
{
	const char *tab = strchr(line, '\t');
	char when[17];

	if (tab == NULL || strlen(tab + 1) < 16 ||
	    (tab[17] != '\0' && tab[17] != '\t'))
		return false;
	memcpy(when, tab + 1, 16);
	when[16] = '\0';
	return imip_clock_parse_utc(when, t_r);
}

static int store_file_seen_add(struct store_user *su, const char *digest,
			       time_t now, const char *outcome,
			       const char *reason)
{
	char **lines = NULL, *path;
	GString *out = g_string_new(NULL);
	char stamp[17];
	int ret = store_file_seen_read(su, &lines);

	if (ret < 0) {
		g_string_free(out, TRUE);
		return -1;
	}
	for (char **l = lines; l != NULL && *l != NULL; l++) {
		time_t t;

		/* Keep well-formed, recent entries of other digests. */
		if (store_file_seen_line(*l, digest) ||
		    !store_file_seen_time(*l, &t) ||
		    now - t > STORE_SEEN_MAX_AGE_SECS)
			continue;
		g_string_append(out, *l);
		g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	g_string_append_printf(out, "%s\t%s", digest,
			       imip_clock_format_utc(now, stamp));
	if (outcome != NULL) {
		g_string_append_c(out, '\t');
		store_name_field_append(out, outcome);
		g_string_append_c(out, '\t');
		store_name_field_append(out, reason);
	}
	g_string_append_c(out, '\n');
	path = store_file_user_path(su, "seen");
	ret = store_file_write(su, path, out->str, out->len, STORE_FILE_DERIVED);
	g_free(path);
	g_string_free(out, TRUE);
	return ret < 0 ? -1 : 0;
}

/* The entries in file order, which is the order they were recorded in
   (seen_add appends); damaged lines are left out, as seen_add drops
   them. */
static int store_file_seen_list(struct store_user *su, GPtrArray *entries_r)
{
	char **lines;
	int ret = store_file_seen_read(su, &lines);

	if (ret <= 0)
		return ret;
	for (char **l = lines; *l != NULL; l++) {
		const char *tab = strchr(*l, '\t');
		struct store_seen *e;
		time_t t;

		if (tab == NULL || tab == *l || !store_file_seen_time(*l, &t))
			continue;
		e = g_new0(struct store_seen, 1);
		e->digest = g_strndup(*l, tab - *l);
		e->processed = t;
		store_file_seen_note(*l, &e->outcome, &e->reason);
		g_ptr_array_add(entries_r, e);
	}
	g_strfreev(lines);
	return 0;
}

static int store_file_seen_clear(struct store_user *su)
{
	char *path = store_file_user_path(su, "seen");
	int ret = store_file_unlink(su, path);

	g_free(path);
	return ret < 0 ? -1 : 0;
}

/* --- outbox -------------------------------------------------------------- */

/* outbox/<name> and outbox/failed/<name>; names are hex (store.c checks),
   so they need no encoding and "failed" cannot be one of them. */
static char *store_file_outbox_path(struct store_user *su,
				    enum store_outbox_queue queue,
				    const char *name)
{
	return g_build_filename(store_file_user_of(su)->dir, "outbox",
				queue == STORE_OUTBOX_FAILED ? "failed" : name,
				queue == STORE_OUTBOX_FAILED ? name : NULL,
				NULL);
}

static int store_file_outbox_put(struct store_user *su,
				 enum store_outbox_queue queue,
				 const char *name, const char *data, size_t len)
{
	char *path = store_file_outbox_path(su, queue, name);
	int ret = store_file_write(su, path, data, len, STORE_FILE_TRUTH);

	g_free(path);
	return ret < 0 ? -1 : 0;
}

static int store_file_outbox_get(struct store_user *su,
				 enum store_outbox_queue queue,
				 const char *name, char **data_r, size_t *len_r)
{
	char *path = store_file_outbox_path(su, queue, name);
	gsize len = 0;
	int ret = store_file_read(su, path, data_r, &len);

	g_free(path);
	*len_r = ret > 0 ? len : 0;
	return ret;
}

static int store_file_outbox_list(struct store_user *su,
				  enum store_outbox_queue queue,
				  GPtrArray *names_r)
{
	char *dir = g_build_filename(store_file_user_of(su)->dir, "outbox",
				     queue == STORE_OUTBOX_FAILED ? "failed" :
				     NULL, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	guint start = names_r->len;
	int ret = store_file_list_dir(su, dir, names);

	for (guint i = 0; ret == 0 && i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		bool hex = *name != '\0';

		/* "failed" and anything put there by hand are not entries */
		for (const char *p = name; *p != '\0' && hex; p++)
			hex = g_ascii_isxdigit(*p);
		if (hex)
			g_ptr_array_add(names_r, g_strdup(name));
	}
	if (names_r->len > start)
		qsort(names_r->pdata + start, names_r->len - start,
		      sizeof(gpointer), store_file_strcmp);
	g_ptr_array_free(names, TRUE);
	g_free(dir);
	return ret;
}

static int store_file_outbox_remove(struct store_user *su,
				    enum store_outbox_queue queue,
				    const char *name)
{
	char *path = store_file_outbox_path(su, queue, name);
	int ret = store_file_unlink(su, path);

	g_free(path);
	return ret;
}

/* --- free/busy ----------------------------------------------------------- */

static int store_file_fb_path(struct store_user *su, enum store_fb_table table,
			      const char *other, char **path_r)
{
	char *enc;

	switch (table) {
	case STORE_FB_OWN:
		*path_r = store_file_user_path(su, "freebusy");
		return 0;
	case STORE_FB_OFFERS:
		*path_r = store_file_user_path(su, "freebusy-offers");
		return 0;
	case STORE_FB_OTHER:
		break;
	}
	if (store_file_encode_short(su, "address", other, &enc) < 0)
		return -1;
	*path_r = g_build_filename(store_file_user_of(su)->dir,
				   "freebusy-other", enc, NULL);
	g_free(enc);
	return 0;
}

static int store_file_fb_read_window(struct store_user *su,
				     enum store_fb_table table,
				     const char *other, time_t start,
				     time_t end, struct fb_list *list)
{
	char *path;
	int ret;

	if (store_file_fb_path(su, table, other, &path) < 0)
		return -1;
	ret = store_file_fb_table_read_window(su, path, start, end, list);
	g_free(path);
	return ret;
}

static int store_file_fb_read_uid(struct store_user *su,
				  enum store_fb_table table, const char *other,
				  const char *uid, struct fb_list *list)
{
	char *path;
	int ret;

	if (store_file_fb_path(su, table, other, &path) < 0)
		return -1;
	ret = store_file_fb_table_read_uid(su, path, uid, list);
	g_free(path);
	return ret;
}

static int store_file_fb_replace_uid(struct store_user *su,
				     enum store_fb_table table,
				     const char *other, const char *uid,
				     const struct fb_list *periods)
{
	char *path;
	int ret;

	if (store_file_fb_path(su, table, other, &path) < 0)
		return -1;
	if (table == STORE_FB_OTHER) {
		char *dir = store_file_user_path(su, STORE_FILE_FB_OTHERS);

		ret = store_file_fb_other_replace_uid(su, dir, path, other,
						      uid, periods);
		g_free(dir);
	} else {
		ret = store_file_fb_table_replace_uid(su, path, uid, periods);
	}
	g_free(path);
	return ret;
}

static int store_file_fb_write(struct store_user *su,
			       enum store_fb_table table, const char *other,
			       const struct fb_list *list)
{
	char *path;
	int ret;

	if (store_file_fb_path(su, table, other, &path) < 0)
		return -1;
	if (table == STORE_FB_OTHER) {
		char *dir = store_file_user_path(su, STORE_FILE_FB_OTHERS);

		ret = store_file_fb_other_write(su, dir, path, other, list);
		g_free(dir);
	} else {
		ret = store_file_fb_table_write(su, path, list);
	}
	g_free(path);
	return ret;
}

/* A table of an earlier version being converted (store-file-fb.h) is
   at .<name>.v1 until its directory is complete. */
static void store_file_fb_add_converting(const char *dir, GPtrArray *names)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	if (d == NULL)
		return;
	while ((name = g_dir_read_name(d)) != NULL) {
		if (name[0] == '.' && g_str_has_suffix(name, ".v1") &&
		    strlen(name) > 4)
			g_ptr_array_add(names, g_strndup(name + 1,
							 strlen(name) - 4));
	}
	g_dir_close(d);
}

static int store_file_fb_list_others(struct store_user *su,
				     GPtrArray *others_r)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	char *dir = store_file_user_path(su, "freebusy-other");
	int ret = store_file_list_dir(su, dir, names);
	guint start = others_r->len, out;

	store_file_fb_add_converting(dir, names);
	if (ret == 0)
		store_file_decode_names(names, others_r);
	/* sorted: a name both converting and converted is listed once */
	out = start;
	for (guint i = start; i < others_r->len; i++) {
		if (out > start && strcmp(others_r->pdata[out - 1],
					  others_r->pdata[i]) == 0) {
			g_free(others_r->pdata[i]);
			continue;
		}
		others_r->pdata[out++] = others_r->pdata[i];
	}
	others_r->len = out;
	g_ptr_array_free(names, TRUE);
	g_free(dir);
	return ret;
}

/* The reverse index is missing in a store written before it existed:
   made from the tables once, by the first writer that needs it (a
   reader gets every party). */
static int store_file_fb_others_scan(struct store_user *su, const char *dir,
				     GPtrArray *others_r)
{
	GPtrArray *others = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
	int ret = store_file_fb_list_others(su, others);

	for (guint i = 0; ret == 0 && i < others->len; i++) {
		char *path;

		ret = store_file_fb_path(su, STORE_FB_OTHER, others->pdata[i],
					 &path);
		if (ret == 0)
			g_ptr_array_add(paths, path);
	}
	if (ret == 0 && (su->flags & STORE_OPEN_READONLY) != 0) {
		for (guint i = 0; i < others->len; i++)
			g_ptr_array_add(others_r, g_strdup(others->pdata[i]));
		ret = 1;
	} else if (ret == 0) {
		ret = store_file_fb_others_build(su, dir, others, paths);
	}
	g_ptr_array_free(others, TRUE);
	g_ptr_array_free(paths, TRUE);
	return ret;
}

static int store_file_fb_uid_others(struct store_user *su, const char *uid,
				    GPtrArray *others_r)
{
	char *dir = store_file_user_path(su, STORE_FILE_FB_OTHERS);
	int ret = store_file_fb_others_of_uid(su, dir, uid, others_r);

	if (ret == 0)
		ret = store_file_fb_others_scan(su, dir, others_r);
	if (ret == 0)
		ret = store_file_fb_others_of_uid(su, dir, uid, others_r);
	g_free(dir);
	return ret < 0 ? -1 : 0;
}

/* --- preferences and published free/busy --------------------------------- */

static int store_file_pref_path(struct store_user *su, const char *name,
				char **path_r)
{
	struct store_file_user *fu = store_file_user_of(su);
	char *enc = NULL;

	if (name != NULL &&
	    store_file_encode_short(su, "preference name", name, &enc) < 0)
		return -1;
	*path_r = g_build_filename(store_file_of(su)->prefs_dir, fu->user_enc,
				   enc, NULL);
	g_free(enc);
	return 0;
}

static int store_file_pref_get(struct store_user *su, const char *name,
			       char **value_r)
{
	char *path, *text;
	gsize len = 0;
	int ret;

	if (store_file_pref_path(su, name, &path) < 0)
		return -1;
	ret = store_file_read(su, path, &text, &len);
	g_free(path);
	if (ret <= 0)
		return ret;
	/* The file is the value plus a final newline (a hand edit may have
	   written CRLF). */
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (len > 0 && text[len - 1] == '\r')
		text[--len] = '\0';
	*value_r = text;
	return 1;
}

static int store_file_pref_set(struct store_user *su, const char *name,
			       const char *value)
{
	char *path, *data;
	int ret;

	if (store_file_pref_path(su, name, &path) < 0)
		return -1;
	data = g_strconcat(value, "\n", NULL);
	ret = store_file_write(su, path, data, strlen(data), STORE_FILE_TRUTH);
	g_free(data);
	g_free(path);
	return ret < 0 ? -1 : 0;
}

static int store_file_pref_unset(struct store_user *su, const char *name)
{
	char *path;
	int ret;

	if (store_file_pref_path(su, name, &path) < 0)
		return -1;
	ret = store_file_unlink(su, path);
	g_free(path);
	return ret;
}

static int store_file_pref_list(struct store_user *su, GPtrArray *names_r)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	char *dir;
	int ret;

	if (store_file_pref_path(su, NULL, &dir) < 0) {
		g_ptr_array_free(names, TRUE);
		return -1;
	}
	ret = store_file_list_dir(su, dir, names);
	if (ret == 0)
		store_file_decode_names(names, names_r);
	g_ptr_array_free(names, TRUE);
	g_free(dir);
	return ret;
}

static char *store_file_static_path(struct store_user *su)
{
	return g_build_filename(store_file_of(su)->static_dir,
				store_file_user_of(su)->user_enc, "freebusy",
				NULL);
}

static int store_file_static_read(struct store_user *su, char **text_r)
{
	char *path = store_file_static_path(su);
	int ret = store_file_read(su, path, text_r, NULL);

	g_free(path);
	return ret;
}

/* static_dir/<user>/freebusy, the file a web server serves: written
   (or removed when text is NULL) the same way by both backends, so that
   a site moving to PostgreSQL keeps its web server's setup. */
int store_file_publish(const char *static_dir, const char *user,
		       const char *text, enum atomic_file_sync sync,
		       char **error_r)
{
	char *enc, *dir, *path;
	int ret = 0;

	if (store_file_encode_short(NULL, "address", user, &enc) < 0) {
		*error_r = g_strdup_printf("address too long for a published "
					   "file (%zu bytes)", strlen(user));
		return -1;
	}
	dir = g_build_filename(static_dir, enc, NULL);
	path = g_build_filename(dir, "freebusy", NULL);
	if (text == NULL) {
		if (unlink(path) == 0)
			ret = atomic_file_sync_dir(dir, error_r);
		else if (errno != ENOENT && errno != ENOTDIR) {
			*error_r = g_strdup_printf("cannot remove %s: %s",
						   path, g_strerror(errno));
			ret = -1;
		}
	} else if (g_mkdir_with_parents(dir, STORE_FILE_DIR_MODE) < 0) {
		*error_r = g_strdup_printf("cannot create directory %s: %s",
					   dir, g_strerror(errno));
		ret = -1;
	} else {
		ret = atomic_file_write(path, text, strlen(text),
					STORE_FILE_MODE, sync, error_r);
	}
	g_free(enc);
	g_free(dir);
	g_free(path);
	return ret < 0 ? -1 : 0;
}

static int store_file_static_write(struct store_user *su, const char *text)
{
	char *error = NULL;

	if (store_file_publish(store_file_of(su)->static_dir, su->user, text,
			       store_file_sync_for(su, STORE_FILE_DERIVED),
			       &error) < 0) {
		store_user_set_error(su, "%s", error);
		g_free(error);
		return -1;
	}
	return 0;
}

/* --- registration -------------------------------------------------------- */

static const struct store_vfuncs store_file_vfuncs = {
	.name = "file",
	.deinit = store_file_deinit,
	.list_users = store_file_list_users,
	.user_open = store_file_user_open,
	.user_close = store_file_user_close,
	.object_get = store_file_object_get,
	.object_put = store_file_object_put,
	.object_delete = store_file_object_delete,
	.object_list_rids = store_file_object_list_rids,
	.object_list_uids = store_file_object_list_uids,
	.counter_put = store_file_counter_put,
	.counter_delete = store_file_counter_delete,
	.counter_list = store_file_counter_list,
	.requests_read = store_file_requests_read,
	.requests_write = store_file_requests_write,
	.fb_read_window = store_file_fb_read_window,
	.fb_read_uid = store_file_fb_read_uid,
	.fb_replace_uid = store_file_fb_replace_uid,
	.fb_write = store_file_fb_write,
	.fb_list_others = store_file_fb_list_others,
	.fb_others_of_uid = store_file_fb_uid_others,
	.pref_get = store_file_pref_get,
	.pref_set = store_file_pref_set,
	.pref_unset = store_file_pref_unset,
	.pref_list = store_file_pref_list,
	.static_write = store_file_static_write,
	.static_read = store_file_static_read,
	.seen_check = store_file_seen_check,
	.seen_add = store_file_seen_add,
	.seen_clear = store_file_seen_clear,
	.seen_list = store_file_seen_list,
	.outbox_put = store_file_outbox_put,
	.outbox_get = store_file_outbox_get,
	.outbox_list = store_file_outbox_list,
	.outbox_remove = store_file_outbox_remove,
	.remove_temporaries = store_file_remove_temporaries,
};

int store_file_init(const struct imip_config *config, struct store **store_r,
		    char **error_r)
{
	struct store_file *fs;

	if (config->store_dir == NULL || config->preferences_dir == NULL) {
		*error_r = g_strdup("store_dir and preferences_dir must be set");
		return -1;
	}
	/* the files are the only published free/busy this store has */
	if (config->static_dir == NULL) {
		*error_r = g_strdup("static_dir may be empty only with "
				    "store_backend = postgresql");
		return -1;
	}
	fs = g_new0(struct store_file, 1);
	fs->store.v = &store_file_vfuncs;
	/* Copies: the store may outlive a reloaded configuration. */
	fs->store_dir = g_strdup(config->store_dir);
	fs->prefs_dir = g_strdup(config->preferences_dir);
	fs->static_dir = g_strdup(config->static_dir);
	fs->fsync_derived = config->store_fsync == IMIP_STORE_FSYNC_ALWAYS;
	*store_r = &fs->store;
	return 0;
}
