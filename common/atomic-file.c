/* Atomic whole-file replacement (atomic-file.h). */

#include "atomic-file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib.h>
#include <stdio.h>

int atomic_file_sync_dir(const char *dir, char **error_r)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		*error_r = g_strdup_printf("cannot open directory %s: %s",
					   dir, g_strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0) {
		int saved = errno;

		close(fd);
		*error_r = g_strdup_printf("cannot fsync directory %s: %s",
					   dir, g_strerror(saved));
		return -1;
	}
	close(fd);
	return 0;
}

static int atomic_file_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int atomic_file_write(const char *path, const char *data, size_t len,
		      mode_t mode, enum atomic_file_sync sync, char **error_r)
{
	char *dir = g_path_get_dirname(path);
	char *tmp = g_build_filename(dir, ATOMIC_FILE_TMP_TEMPLATE, NULL);
	int fd, ret = -1;

	/* g_mkstemp_full() creates with `mode` minus the umask, unlike
	   mkstemp()'s fixed 0600: the web server's group must read. */
	fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, (int)mode);
	if (fd < 0) {
		*error_r = g_strdup_printf("cannot create a file in %s: %s",
					   dir, g_strerror(errno));
		goto out;
	}
	if (atomic_file_write_all(fd, data, len) < 0) {
		*error_r = g_strdup_printf("cannot write %s: %s", tmp,
					   g_strerror(errno));
		goto out_unlink;
	}
	if (sync == ATOMIC_FILE_SYNC && fsync(fd) < 0) {
		*error_r = g_strdup_printf("cannot fsync %s: %s", tmp,
					   g_strerror(errno));
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		*error_r = g_strdup_printf("cannot write %s: %s", tmp,
					   g_strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		*error_r = g_strdup_printf("cannot rename %s to %s: %s", tmp,
					   path, g_strerror(errno));
		goto out_unlink;
	}
	ret = sync == ATOMIC_FILE_SYNC ? atomic_file_sync_dir(dir, error_r) : 0;
	goto out;
out_unlink:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
out:
	g_free(tmp);
	g_free(dir);
	return ret;
}

/* A name g_mkstemp_full() makes of ATOMIC_FILE_TMP_TEMPLATE: the prefix,
   then as many characters as the X's. */
static bool atomic_file_is_temporary(const char *name)
{
	const char *x = strchr(ATOMIC_FILE_TMP_TEMPLATE, 'X');
	size_t prefix = (size_t)(x - ATOMIC_FILE_TMP_TEMPLATE);

	return strlen(name) == strlen(ATOMIC_FILE_TMP_TEMPLATE) &&
	       strncmp(name, ATOMIC_FILE_TMP_TEMPLATE, prefix) == 0;
}

int atomic_file_remove_temporaries(const char *dir, bool recursive,
				   unsigned int *removed_r, char **error_r)
{
	GError *gerror = NULL;
	GDir *d = g_dir_open(dir, 0, &gerror);
	const char *name;
	bool removed = false;
	int ret = 0;

	if (d == NULL) {
		if (g_error_matches(gerror, G_FILE_ERROR, G_FILE_ERROR_NOENT) ||
		    g_error_matches(gerror, G_FILE_ERROR, G_FILE_ERROR_NOTDIR)) {
			g_error_free(gerror);
			return 0;
		}
		*error_r = g_strdup(gerror->message);
		g_error_free(gerror);
		return -1;
	}
	while (ret == 0 && (name = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, name, NULL);
		struct stat st;

		if (lstat(path, &st) < 0) {
			/* gone meanwhile: nothing to remove */
		} else if (S_ISREG(st.st_mode) && atomic_file_is_temporary(name)) {
			if (unlink(path) < 0 && errno != ENOENT) {
				*error_r = g_strdup_printf("cannot remove %s: %s",
							   path, g_strerror(errno));
				ret = -1;
			} else {
				(*removed_r)++;
				removed = true;
			}
		} else if (recursive && S_ISDIR(st.st_mode) && name[0] != '.') {
			ret = atomic_file_remove_temporaries(path, true,
							     removed_r, error_r);
		}
		g_free(path);
	}
	g_dir_close(d);
	if (ret == 0 && removed)
		ret = atomic_file_sync_dir(dir, error_r);
	return ret;
}
