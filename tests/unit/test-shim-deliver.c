/* shim_deliver: mbox appends (format, locking, cut-back on failure),
   LMTP/SMTP hand-back mapped to exit codes, one transaction per message. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "shim-deliver.h"
#include "fake-smtp.h"

#include <fcntl.h>
#include <sys/stat.h>

/* 2024-03-01 12:00:00 UTC */
#define NOW ((time_t)1709294400)

static GPtrArray *messages_new(const char *first, const char *second)
{
	GPtrArray *m = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_bytes_unref);

	g_ptr_array_add(m, g_bytes_new(first, strlen(first)));
	if (second != NULL)
		g_ptr_array_add(m, g_bytes_new(second, strlen(second)));
	return m;
}

static void test_target_validity(void **state)
{
	const char *good[] = {
		"none", "mbox:/var/mail/vincent", "lmtp:/run/dovecot/lmtp",
		"lmtp:127.0.0.1:24", "lmtp:[::1]:24", "smtp:localhost:2527",
	};
	const char *bad[] = {
		"", "None", "mbox:", "mbox:relative", "lmtp:", "lmtp:host",
		"smtp:/run/socket", "smtp:host:0", "maildir:/x", "lmtp:[::1]",
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
		assert_true(shim_deliver_target_is_valid(good[i]));
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		assert_false(shim_deliver_target_is_valid(bad[i]));
	assert_false(shim_deliver_target_is_valid(NULL));
}

static void test_none(void **state)
{
	GPtrArray *m = messages_new("x\r\n", NULL);
	char *error = NULL;

	(void)state;
	assert_int_equal(shim_deliver("none", "a@example.com",
				      "vincent.vole@example.com", m, NOW,
				      &error), SHIM_DELIVER_OK);
	assert_null(error);
	assert_int_equal(shim_deliver("bogus:x", "a@example.com",
				      "vincent.vole@example.com", m, NOW,
				      &error), SHIM_DELIVER_PERMFAIL);
	assert_non_null(error);
	g_free(error);
	g_ptr_array_unref(m);
}

/* Two messages in order, mboxrd quoting, 0600 on creation, appended to
   an existing file that lacked its final newline. */
static void test_mbox(void **state)
{
	char *dir = g_dir_make_tmp("shim-mbox-XXXXXX", NULL);
	char *path = g_build_filename(dir, "mbox", NULL);
	char *target = g_strconcat("mbox:", path, NULL);
	GPtrArray *m = messages_new("Subject: summary\r\n\r\nFrom here\r\n",
				    "Subject: original\r\n\r\n>From x\r\n");
	char *error = NULL, *text;
	struct stat st;

	(void)state;
	assert_int_equal(shim_deliver(target, "paul.boddie@example.com",
				      "vincent.vole@example.com", m, NOW,
				      &error), SHIM_DELIVER_OK);
	assert_null(error);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_string_equal(text,
		"From paul.boddie@example.com Fri Mar  1 12:00:00 2024\n"
		"Subject: summary\n\n>From here\n\n"
		"From paul.boddie@example.com Fri Mar  1 12:00:00 2024\n"
		"Subject: original\n\n>>From x\n\n");
	g_free(text);

	/* a file whose last line has no newline, and a null sender */
	assert_true(g_file_set_contents(path, "junk", -1, NULL));
	g_ptr_array_set_size(m, 1);
	assert_int_equal(shim_deliver(target, "", "vincent.vole@example.com",
				      m, NOW, &error), SHIM_DELIVER_OK);
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	assert_string_equal(text,
		"junk\n\n"
		"From MAILER-DAEMON Fri Mar  1 12:00:00 2024\n"
		"Subject: summary\n\n>From here\n\n");
	g_free(text);

	/* an unwritable place is a temporary failure, with the path */
	char *bad = g_strconcat("mbox:", dir, "/no/such/dir/mbox", NULL);
	assert_int_equal(shim_deliver(bad, NULL, "vincent.vole@example.com",
				      m, NOW, &error), SHIM_DELIVER_TEMPFAIL);
	assert_non_null(strstr(error, "/no/such/dir/mbox"));
	g_free(error);
	g_free(bad);

	/* a directory is not an mbox */
	bad = g_strconcat("mbox:", dir, NULL);
	assert_int_equal(shim_deliver(bad, NULL, "vincent.vole@example.com",
				      m, NOW, &error), SHIM_DELIVER_TEMPFAIL);
	g_free(error);
	g_free(bad);

	g_ptr_array_unref(m);
	g_unlink(path);
	g_rmdir(dir);
	g_free(target);
	g_free(path);
	g_free(dir);
}

/* A delivery killed during its append (SIGKILL can end a write(2) short)
   left part of a message and its note PATH.imip-append: the next
   delivery cuts the part off before appending.  A note that does not
   describe the file (another inode, or mail appended after the noted
   append by a writer that ignores the lock) cuts nothing. */
static void test_mbox_interrupted(void **state)
{
	static const char complete[] =
		"From a@example.com Fri Mar  1 11:00:00 2024\n"
		"Subject: one\n\nbody\n\n";
	static const char torn[] =
		"From b@example.com Fri Mar  1 11:30:00 2024\nSubject: tw";
	static const char ours[] =
		"From paul.boddie@example.com Fri Mar  1 12:00:00 2024\n"
		"Subject: summary\n\n>From here\n\n";
	char *dir = g_dir_make_tmp("shim-mbox-XXXXXX", NULL);
	char *path = g_build_filename(dir, "mbox", NULL);
	char *note = g_strconcat(path, ".imip-append", NULL);
	char *target = g_strconcat("mbox:", path, NULL);
	GPtrArray *m = messages_new("Subject: summary\r\n\r\nFrom here\r\n",
				    NULL);
	char *error = NULL, *text, *expected, *note_text;
	struct stat st;
	const struct {
		size_t noted_len;
		bool same_inode;
		bool cut;
	} cases[] = {
		{ sizeof(torn) + 200, true, true },
		{ sizeof(torn) + 200, false, false },
		{ sizeof(torn) - 10, true, false },	/* mail after it */
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *both = g_strconcat(complete, torn, NULL);

		assert_true(g_file_set_contents(path, both, -1, NULL));
		assert_int_equal(stat(path, &st), 0);
		note_text = g_strdup_printf("%zu %zu %llu\n",
			strlen(complete), cases[i].noted_len,
			(unsigned long long)st.st_ino +
			(cases[i].same_inode ? 0 : 1));
		assert_true(g_file_set_contents(note, note_text, -1, NULL));
		assert_int_equal(shim_deliver(target, "paul.boddie@example.com",
					      "vincent.vole@example.com", m,
					      NOW, &error), SHIM_DELIVER_OK);
		assert_null(error);
		assert_true(g_file_get_contents(path, &text, NULL, NULL));
		expected = cases[i].cut ? g_strconcat(complete, ours, NULL) :
			g_strconcat(both, "\n\n", ours, NULL);
		assert_string_equal(text, expected);
		assert_false(g_file_test(note, G_FILE_TEST_EXISTS));
		g_free(expected);
		g_free(text);
		g_free(note_text);
		g_free(both);
	}
	g_ptr_array_unref(m);
	g_unlink(path);
	g_rmdir(dir);
	g_free(target);
	g_free(note);
	g_free(path);
	g_free(dir);
}

/* The append waits for another process's fcntl lock. */
static void test_mbox_lock(void **state)
{
	char *dir = g_dir_make_tmp("shim-mbox-XXXXXX", NULL);
	char *path = g_build_filename(dir, "mbox", NULL);
	char *target = g_strconcat("mbox:", path, NULL);
	GPtrArray *m = messages_new("Subject: a\r\n\r\nb\r\n", NULL);
	int pipefd[2];
	pid_t pid;
	char c;
	char *error = NULL;
	gint64 start;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CREAT, 0600);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		if (fd < 0 || fcntl(fd, F_SETLKW, &fl) < 0)
			_exit(1);
		if (write(pipefd[1], "L", 1) != 1)
			_exit(1);
		g_usleep(700000);
		_exit(0);	/* releases the lock */
	}
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	start = g_get_monotonic_time();
	assert_int_equal(shim_deliver(target, "a@example.com", "b@example.com",
				      m, NOW, &error), SHIM_DELIVER_OK);
	assert_true(g_get_monotonic_time() - start >= 400000);
	waitpid(pid, NULL, 0);
	close(pipefd[0]);
	close(pipefd[1]);

	g_ptr_array_unref(m);
	g_unlink(path);
	g_rmdir(dir);
	g_free(target);
	g_free(path);
	g_free(dir);
}

/* summary-then-message: two LMTP transactions on two connections, in
   order, from the envelope sender to the recipient. */
static void test_lmtp_two_messages(void **state)
{
	struct fake_smtp_script s = { .connections = 2 };
	struct fake_smtp f;
	GPtrArray *m = messages_new("Subject: first\r\n\r\n1\r\n",
				    "Subject: second\r\n\r\n2\r\n");
	char *target, *error = NULL, *transcript;
	const char *one =
		"MAIL FROM:<paul.boddie@example.com>\r\n"
		"RCPT TO:<vincent.vole@example.com>\r\n"
		"DATA\r\n";

	(void)state;
	fake_smtp_start_unix(&f, &s);
	target = g_strconcat("lmtp:", f.socket_path, NULL);
	assert_int_equal(shim_deliver(target, "paul.boddie@example.com",
				      "vincent.vole@example.com", m, NOW,
				      &error), SHIM_DELIVER_OK);
	assert_null(error);
	transcript = fake_smtp_stop(&f, true);

	const char *first = strstr(transcript, "Subject: first\r\n");
	const char *second = strstr(transcript, "Subject: second\r\n");
	assert_non_null(first);
	assert_non_null(second);
	assert_true(first < second);
	assert_true(g_str_has_prefix(transcript, "LHLO "));
	/* two complete transactions */
	const char *p = strstr(transcript, one);
	assert_non_null(p);
	assert_non_null(strstr(p + 1, one));
	assert_non_null(strstr(second, "QUIT\r\n"));
	g_free(transcript);
	g_free(target);
	g_ptr_array_unref(m);
}

static enum shim_deliver_status
deliver_scripted(const struct fake_smtp_script *s, const char *proto,
		 char **error_r)
{
	struct fake_smtp f;
	GPtrArray *m = messages_new("Subject: x\r\n\r\nx\r\n", NULL);
	enum shim_deliver_status status;
	char *target;

	if (!fake_smtp_start_tcp(&f, false, s)) {
		g_ptr_array_unref(m);
		g_free(fake_smtp_stop(&f, false));
		*error_r = g_strdup("no IPv4 loopback");
		return SHIM_DELIVER_TEMPFAIL;
	}
	target = g_strdup_printf("%s:127.0.0.1:%u", proto, f.port);
	status = shim_deliver(target, "paul.boddie@example.com",
			      "vincent.vole@example.com", m, NOW, error_r);
	g_free(fake_smtp_stop(&f, true));
	g_free(target);
	g_ptr_array_unref(m);
	return status;
}

static void test_status_mapping(void **state)
{
	struct fake_smtp_script temp = {
		.final = "451 4.3.0 <vincent.vole@example.com> try later\r\n",
	};
	struct fake_smtp_script perm = {
		.rcpt = { "550 5.1.1 <vincent.vole@example.com> User doesn't "
			  "exist\r\n" },
	};
	struct fake_smtp_script ok = { 0 };
	char *error = NULL;

	(void)state;
	assert_int_equal(deliver_scripted(&temp, "lmtp", &error),
			 SHIM_DELIVER_TEMPFAIL);
	assert_non_null(strstr(error, "451 4.3.0"));
	g_free(error);

	assert_int_equal(deliver_scripted(&perm, "lmtp", &error),
			 SHIM_DELIVER_PERMFAIL);
	assert_non_null(strstr(error, "550 5.1.1"));
	g_free(error);

	assert_int_equal(deliver_scripted(&perm, "smtp", &error),
			 SHIM_DELIVER_PERMFAIL);
	g_free(error);

	assert_int_equal(deliver_scripted(&ok, "smtp", &error),
			 SHIM_DELIVER_OK);
	assert_null(error);

	/* nobody listening: temporary */
	GPtrArray *m = messages_new("x\r\n", NULL);
	assert_int_equal(shim_deliver("lmtp:/nonexistent/lmtp", "a@example.com",
				      "b@example.com", m, NOW, &error),
			 SHIM_DELIVER_TEMPFAIL);
	assert_non_null(strstr(error, "/nonexistent/lmtp"));
	g_free(error);

	/* a hostile recipient is refused, and permanently */
	assert_int_equal(shim_deliver("lmtp:/nonexistent/lmtp", "a@example.com",
				      "b@example.com>\r\nDATA", m, NOW,
				      &error), SHIM_DELIVER_PERMFAIL);
	g_free(error);
	g_ptr_array_unref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_validity),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_mbox),
		cmocka_unit_test(test_mbox_interrupted),
		cmocka_unit_test(test_mbox_lock),
		cmocka_unit_test(test_lmtp_two_messages),
		cmocka_unit_test(test_status_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
