/* The person role's hand-back (mta.md section 7): the mailbox version of
   the message goes on to an mbox file, an LMTP store or an MTA
   re-injection port.  This is the one place where the shim may return a
   temporary failure (DESIGN.md rule 1): anything transient becomes
   EX_TEMPFAIL so the MTA retries, only a definite 5xx bounces. */

#include "shim-deliver.h"

#include "compose.h"
#include "smtp-client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum shim_target_kind {
	SHIM_TARGET_NONE,
	SHIM_TARGET_MBOX,
	SHIM_TARGET_LMTP,
	SHIM_TARGET_SMTP,
};

struct shim_target {
	enum shim_target_kind kind;
	const char *mbox_path;		/* points into the target string */
	struct smtp_client_target smtp;
	char *storage;			/* owned by the caller of parse */
};

static bool shim_target_parse(const char *spec, struct shim_target *t)
{
	memset(t, 0, sizeof(*t));
	if (spec == NULL)
		return false;
	if (strcmp(spec, "none") == 0) {
		t->kind = SHIM_TARGET_NONE;
		return true;
	}
	if (strncmp(spec, "mbox:", 5) == 0) {
		/* The MTA runs the pipe in a directory of its choosing:
		   only an absolute path names a predictable file. */
		if (spec[5] != '/' || spec[6] == '\0')
			return false;
		t->kind = SHIM_TARGET_MBOX;
		t->mbox_path = spec + 5;
		return true;
	}
	if (strncmp(spec, "lmtp:", 5) == 0) {
		t->kind = SHIM_TARGET_LMTP;
		return smtp_client_parse_target(spec + 5, true, &t->smtp,
						&t->storage);
	}
	if (strncmp(spec, "smtp:", 5) == 0) {
		t->kind = SHIM_TARGET_SMTP;
		/* SMTP re-injection goes to an MTA port (HOST:PORT) only. */
		if (spec[5] == '/')
			return false;
		return smtp_client_parse_target(spec + 5, false, &t->smtp,
						&t->storage);
	}
	return false;
}

gboolean shim_deliver_target_is_valid(const char *target)
{
	struct shim_target t;
	bool ok = shim_target_parse(target, &t);

	g_free(t.storage);
	return ok ? TRUE : FALSE;
}

/* --- mbox ---------------------------------------------------------------- */

static bool shim_mbox_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t ret = write(fd, data, len);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			if (ret == 0)
				errno = EIO;
			return false;
		}
		data += ret;
		len -= (size_t)ret;
	}
	return true;
}

static int shim_mbox_lock(int fd, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0;
	for (;;) {
		if (fcntl(fd, F_SETLKW, &fl) == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* A delivery killed with SIGKILL cannot cut the file back, and the kernel
   may end its write(2) short, leaving part of a message at the end of the
   mbox.  So before writing, the shim notes in PATH.imip-append where its
   append begins and how long it is, and removes the note once the append
   is synced.  The next delivery, under the same lock, finds a note left
   behind and cuts the file back to where that append began: the killed
   delivery was never acknowledged, so the MTA delivers that message
   again.  Nothing is cut unless the file is still the one noted (inode)
   and ends within the noted append: a writer that ignores our lock and
   appended after it keeps its mail, and the torn part stays. */
#define SHIM_MBOX_NOTE_SUFFIX ".imip-append"

static bool shim_mbox_note_parse(const char *text, struct stat *st,
				 off_t *start_r)
{
	unsigned long long start, len, ino;

	if (sscanf(text, "%llu %llu %llu", &start, &len, &ino) != 3)
		return false;
	if ((ino_t)ino != st->st_ino || (off_t)start > st->st_size ||
	    (unsigned long long)st->st_size > start + len)
		return false;
	*start_r = (off_t)start;
	return true;
}

static int shim_mbox_recover(int fd, const char *note_path, struct stat *st)
{
	char text[96];
	off_t start;
	ssize_t n;
	int note_fd = open(note_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (note_fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(note_fd, text, sizeof(text) - 1);
	close(note_fd);
	if (n < 0)
		return -1;
	text[n] = '\0';
	if (shim_mbox_note_parse(text, st, &start) && start < st->st_size) {
		while (ftruncate(fd, start) < 0) {
			if (errno != EINTR)
				return -1;
		}
		st->st_size = start;
	}
	if (unlink(note_path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

static int shim_mbox_note_write(const char *note_path, const struct stat *st,
				size_t len)
{
	char *text = g_strdup_printf("%llu %llu %llu\n",
				     (unsigned long long)st->st_size,
				     (unsigned long long)len,
				     (unsigned long long)st->st_ino);
	int fd = open(note_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		      O_NOCTTY, 0600);
	bool ok = fd >= 0 && shim_mbox_write_all(fd, text, strlen(text));
	int err = errno;

	if (fd >= 0 && close(fd) < 0 && ok) {
		err = errno;
		ok = false;
	}
	g_free(text);
	errno = err;
	return ok ? 0 : -1;
}

/* All messages go in under one lock and one fsync; if anything fails the
   file is cut back to its old size, so a retried delivery does not leave
   half a message (or a duplicate first one) behind; a kill is handled by
   the note above. */
static enum shim_deliver_status
shim_deliver_mbox(const char *path, const char *envelope_sender,
		  const GPtrArray *messages, time_t now, char **error_r)
{
	GString *buf = g_string_new(NULL);
	struct stat st;
	const char *from = envelope_sender != NULL && *envelope_sender != '\0'
		? envelope_sender : "MAILER-DAEMON";
	char *note_path = g_strconcat(path, SHIM_MBOX_NOTE_SUFFIX, NULL);
	const char *stage;
	int fd, err;

	for (guint i = 0; i < messages->len; i++)
		compose_mbox_append(buf, from, g_ptr_array_index(messages, i),
				    now);

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
		  0600);
	if (fd < 0) {
		*error_r = g_strdup_printf("open(%s) failed: %s", path,
					   g_strerror(errno));
		g_free(note_path);
		g_string_free(buf, TRUE);
		return SHIM_DELIVER_TEMPFAIL;
	}
	if (shim_mbox_lock(fd, F_WRLCK) < 0) {
		stage = "locking";
		goto fail_unlocked;
	}
	if (fstat(fd, &st) < 0) {
		stage = "fstat";
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		stage = "not a regular file";
		goto fail;
	}
	if (shim_mbox_recover(fd, note_path, &st) < 0) {
		stage = "cutting off an interrupted delivery";
		goto fail;
	}
	if (st.st_size > 0) {
		char last = '\n';
		ssize_t ret;

		/* A file that does not end in a newline would glue our
		   "From " line to its last line. */
		do {
			ret = pread(fd, &last, 1, st.st_size - 1);
		} while (ret < 0 && errno == EINTR);
		if (ret < 0) {
			stage = "read";
			goto fail;
		}
		if (last != '\n')
			g_string_prepend(buf, "\n\n");
	}
	if (shim_mbox_note_write(note_path, &st, buf->len) < 0) {
		stage = "writing " SHIM_MBOX_NOTE_SUFFIX;
		goto fail;
	}
	if (!shim_mbox_write_all(fd, buf->str, buf->len)) {
		stage = "write";
		goto fail_truncate;
	}
	if (fsync(fd) < 0) {
		stage = "fsync";
		goto fail_truncate;
	}
	/* a note that stays behind only makes the next delivery cut off
	   this complete append, which the MTA then delivers again */
	(void)unlink(note_path);
	g_free(note_path);
	(void)shim_mbox_lock(fd, F_UNLCK);
	if (close(fd) < 0) {
		*error_r = g_strdup_printf("close(%s) failed: %s", path,
					   g_strerror(errno));
		g_string_free(buf, TRUE);
		return SHIM_DELIVER_TEMPFAIL;
	}
	g_string_free(buf, TRUE);
	return SHIM_DELIVER_OK;

fail_truncate:
	err = errno;
	while (ftruncate(fd, st.st_size) < 0 && errno == EINTR)
		;
	(void)unlink(note_path);
	errno = err;
fail:
	err = errno;
	(void)shim_mbox_lock(fd, F_UNLCK);
	errno = err;
fail_unlocked:
	*error_r = g_strdup_printf("mbox %s: %s: %s", path, stage,
				   g_strerror(errno));
	g_free(note_path);
	close(fd);
	g_string_free(buf, TRUE);
	return SHIM_DELIVER_TEMPFAIL;
}

/* --- LMTP / SMTP -------------------------------------------------------- */

static enum shim_deliver_status
shim_deliver_smtp(const struct shim_target *t, const char *envelope_sender,
		  const char *recipient, const GPtrArray *messages,
		  char **error_r)
{
	const char *rcpts[1] = { recipient };

	if (recipient == NULL || *recipient == '\0') {
		*error_r = g_strdup("no recipient to deliver to");
		return SHIM_DELIVER_PERMFAIL;
	}
	/* Each message is its own transaction, in order; stop at the first
	   failure so the MTA's retry sees the same sequence again. */
	for (guint i = 0; i < messages->len; i++) {
		char *error = NULL;
		enum smtp_client_status status;

		status = smtp_client_send(&t->smtp, envelope_sender, rcpts, 1,
					  g_ptr_array_index(messages, i),
					  &error);
		if (status == SMTP_CLIENT_OK) {
			g_free(error);
			continue;
		}
		*error_r = g_strdup_printf("%s delivery of message %u of %u "
					   "failed: %s",
					   t->kind == SHIM_TARGET_LMTP ?
					   "LMTP" : "SMTP", i + 1,
					   messages->len,
					   error != NULL ? error : "unknown");
		g_free(error);
		return status == SMTP_CLIENT_PERMFAIL ?
			SHIM_DELIVER_PERMFAIL : SHIM_DELIVER_TEMPFAIL;
	}
	return SHIM_DELIVER_OK;
}

enum shim_deliver_status
shim_deliver(const char *target, const char *envelope_sender,
	     const char *recipient, const GPtrArray *messages, time_t now,
	     char **error_r)
{
	struct shim_target t;
	enum shim_deliver_status status;

	*error_r = NULL;
	if (!shim_target_parse(target, &t)) {
		g_free(t.storage);
		*error_r = g_strdup_printf("invalid delivery target: %s",
					   target != NULL ? target : "(null)");
		return SHIM_DELIVER_PERMFAIL;
	}
	if (envelope_sender == NULL)
		envelope_sender = "";

	switch (t.kind) {
	case SHIM_TARGET_NONE:
		status = SHIM_DELIVER_OK;
		break;
	case SHIM_TARGET_MBOX:
		status = messages == NULL || messages->len == 0 ?
			SHIM_DELIVER_OK :
			shim_deliver_mbox(t.mbox_path, envelope_sender,
					  messages, now, error_r);
		break;
	case SHIM_TARGET_LMTP:
	case SHIM_TARGET_SMTP:
	default:
		status = messages == NULL || messages->len == 0 ?
			SHIM_DELIVER_OK :
			shim_deliver_smtp(&t, envelope_sender, recipient,
					  messages, error_r);
		break;
	}
	g_free(t.storage);
	return status;
}
