/* cyrus-mailbox: the cyrus.header next to a stored message (type and
   internal name), the user, domain and folder of an internal name, and
   the cyrus_folders filter. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "cyrus-mailbox.h"
#include "test-tmp.h"

/* imap/mailbox.c MAILBOX_HEADER_MAGIC: the first line and a quotation */
#define MAGIC "\xa1\x02\x8b\x0d" "Cyrus mailbox header\n" \
	"\"The best thing about this system was that it had lots of goals.\"\n" \
	"\t--Jim Morris on Andrew\n"

#define ALICE_DLIST \
	"%(Q user.alice T e N user.alice I 6c9f5a3e-6a2b-4c1e-9d0f-2b1a8e7c4d51 " \
	"A %(alice lrswipkxtecdan admin lrswipkxtecda) U ())\n"

struct fixture {
	char *root;
	char *dir;	/* <root>/uuid/6/c/<uniqueid> */
	char *message;	/* <dir>/17. */
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);

	f->root = g_dir_make_tmp("test-cyrus-mailbox-XXXXXX", NULL);
	assert_non_null(f->root);
	f->dir = g_build_filename(f->root, "uuid", "6", "c",
				  "6c9f5a3e-6a2b-4c1e-9d0f-2b1a8e7c4d51",
				  NULL);
	assert_int_equal(g_mkdir_with_parents(f->dir, 0700), 0);
	f->message = g_build_filename(f->dir, "17.", NULL);
	assert_true(g_file_set_contents(f->message,
		"Return-Path: <paul.boddie@example.com>\r\n"
		"Received: from localhost by test with LMTPA;\r\n"
		"From: paul.boddie@example.com\r\n"
		"Subject: x\r\n\r\nbody\r\n", -1, NULL));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	test_rm_rf(f->root);
	g_free(f->root);
	g_free(f->dir);
	g_free(f->message);
	g_free(f);
	return 0;
}

static void write_header_len(const struct fixture *f, const char *data,
			     gssize len)
{
	char *path = g_build_filename(f->dir, "cyrus.header", NULL);

	g_unlink(path);
	assert_true(g_file_set_contents(path, data, len, NULL));
	g_free(path);
}

static void write_header(const struct fixture *f, const char *dlist)
{
	char *text = g_strconcat(MAGIC, dlist, NULL);

	write_header_len(f, text, -1);
	g_free(text);
}

static struct cyrus_mailbox *read_ok(const struct fixture *f)
{
	char *error = NULL;
	struct cyrus_mailbox *mb = cyrus_mailbox_of_message(f->message,
							    &error);

	if (mb == NULL)
		fail_msg("reading the header failed: %s", error);
	assert_null(error);
	return mb;
}

static void read_fails(const struct fixture *f, const char *needle)
{
	char *error = NULL;
	struct cyrus_mailbox *mb = cyrus_mailbox_of_message(f->message,
							    &error);

	if (mb != NULL)
		fail_msg("header of type %c, name %s accepted", mb->type,
			 mb->name);
	assert_non_null(error);
	/* the error names the file */
	assert_non_null(strstr(error, "cyrus.header"));
	if (strstr(error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", error, needle);
	g_free(error);
}

static void test_read_header(void **state)
{
	struct fixture *f = *state;
	struct cyrus_mailbox *mb;

	write_header(f, ALICE_DLIST);
	mb = read_ok(f);
	assert_int_equal(mb->type, 'e');
	assert_string_equal(mb->name, "user.alice");
	cyrus_mailbox_free(&mb);
	assert_null(mb);
	cyrus_mailbox_free(&mb);

	/* the message file itself is not needed, only its directory */
	g_unlink(f->message);
	write_header(f, "%(T e N example.com!user.bob.Work I x A %() U ())\n");
	mb = read_ok(f);
	assert_int_equal(mb->type, 'e');
	assert_string_equal(mb->name, "example.com!user.bob.Work");
	cyrus_mailbox_free(&mb);
}

static void test_read_header_variants(void **state)
{
	struct fixture *f = *state;
	struct cyrus_mailbox *mb;

	/* keys in another order and case, type with flag letters, a name
	   Cyrus writes quoted (it has a space) */
	write_header(f, "%(i x n \"user.alice.My Folder\" t ed)\n");
	mb = read_ok(f);
	assert_int_equal(mb->type, 'e');
	assert_string_equal(mb->name, "user.alice.My Folder");
	cyrus_mailbox_free(&mb);

	/* ... or as a literal (8-bit), without a final newline */
	write_header(f, "%(T e N {19}\r\nuser.alice.Pl\xc3\xa4ne^x I y)");
	mb = read_ok(f);
	assert_string_equal(mb->name, "user.alice.Pl\xc3\xa4ne^x");
	cyrus_mailbox_free(&mb);

	/* whatever follows the dlist line is not looked at */
	write_header(f, ALICE_DLIST "trailing junk\n");
	mb = read_ok(f);
	assert_string_equal(mb->name, "user.alice");
	cyrus_mailbox_free(&mb);
}

static void test_calendar_mailbox(void **state)
{
	struct fixture *f = *state;
	struct cyrus_mailbox *mb;

	write_header(f, "%(T c N user.alice.#calendars.Default I u "
		     "A %(alice lrswipkxtecdan9) U ())\n");
	mb = read_ok(f);
	assert_int_equal(mb->type, 'c');
	assert_string_equal(mb->name, "user.alice.#calendars.Default");
	cyrus_mailbox_free(&mb);
}

static void test_symlink_refused(void **state)
{
	struct fixture *f = *state;
	char *real = g_build_filename(f->root, "elsewhere.header", NULL);
	char *text = g_strconcat(MAGIC, ALICE_DLIST, NULL);
	char *link = g_build_filename(f->dir, "cyrus.header", NULL);

	assert_true(g_file_set_contents(real, text, -1, NULL));
	g_unlink(link);
	assert_int_equal(symlink(real, link), 0);
	/* a valid header behind the link: still refused (O_NOFOLLOW) */
	read_fails(f, "open(");
	g_unlink(link);
	g_free(link);
	g_free(text);
	g_free(real);
}

static void test_missing_header(void **state)
{
	struct fixture *f = *state;
	char *error = NULL;

	read_fails(f, "open(");
	/* nor a missing directory */
	assert_null(cyrus_mailbox_of_message("/nonexistent/dir/17.", &error));
	assert_non_null(error);
	g_free(error);
}

static void test_header_is_directory(void **state)
{
	struct fixture *f = *state;
	char *path = g_build_filename(f->dir, "cyrus.header", NULL);
	char *error = NULL;
	struct cyrus_mailbox *mb;

	assert_int_equal(g_mkdir(path, 0700), 0);
	mb = cyrus_mailbox_of_message(f->message, &error);
	assert_null(mb);
	assert_non_null(error);
	g_free(error);
	g_rmdir(path);
	g_free(path);
}

static void test_bad_magic(void **state)
{
	struct fixture *f = *state;

	write_header_len(f, "", 0);
	read_fails(f, "not a Cyrus mailbox header");
	write_header_len(f, "\xa1\x02\x8b", 3);
	read_fails(f, "not a Cyrus mailbox header");
	/* first byte wrong */
	write_header_len(f, "\xa0\x02\x8b\x0d" "Cyrus mailbox header\n"
			 "q\nq\n" ALICE_DLIST, -1);
	read_fails(f, "not a Cyrus mailbox header");
	/* a text file that names a mailbox is not a header */
	write_header_len(f, ALICE_DLIST, -1);
	read_fails(f, "not a Cyrus mailbox header");
}

static void test_old_or_broken_header(void **state)
{
	struct fixture *f = *state;

	/* Cyrus 2.x: no dlist, just lines (quota root, unique id, flags) */
	write_header_len(f, "\xa1\x02\x8b\x0d" "Cyrus mailbox header\n"
			 "\"quote\"\n", -1);
	read_fails(f, "no mailbox list");
	write_header_len(f, "\xa1\x02\x8b\x0d" "Cyrus mailbox header\n", -1);
	read_fails(f, "no mailbox list");
	/* empty fourth line */
	write_header(f, "");
	read_fails(f, "cyrus.header");
	write_header(f, "\n");
	read_fails(f, "cyrus.header");
	/* unterminated dlist */
	write_header(f, "%(T e N user.alice I x\n");
	read_fails(f, "cyrus.header");
	/* no type, no name, empty ones, NIL, a list */
	write_header(f, "%(N user.alice I x)\n");
	read_fails(f, "no mailbox type or name");
	write_header(f, "%(T e I x)\n");
	read_fails(f, "no mailbox type or name");
	write_header(f, "%(T \"\" N user.alice)\n");
	read_fails(f, "no mailbox type or name");
	write_header(f, "%(T e N \"\")\n");
	read_fails(f, "no mailbox type or name");
	write_header(f, "%(T e N NIL)\n");
	read_fails(f, "no mailbox type or name");
	write_header(f, "%(T e N (user alice))\n");
	read_fails(f, "no mailbox type or name");
}

static void test_nul_in_name_refused(void **state)
{
	struct fixture *f = *state;
	static const char text[] = MAGIC "%(T e N {13}\r\nuser.alice\0.x I y)\n";

	write_header_len(f, text, sizeof(text) - 1);
	read_fails(f, "no mailbox type or name");
}

static void test_large_header(void **state)
{
	struct fixture *f = *state;
	GString *s = g_string_new(MAGIC "%(T e N user.alice I x U (");
	struct cyrus_mailbox *mb;

	/* 128 user flags with long names: still read whole */
	for (int i = 0; i < 128; i++)
		g_string_append_printf(s, "$flag-%03d-%0100d ", i, 0);
	g_string_append(s, "))\n");
	write_header_len(f, s->str, (gssize)s->len);
	mb = read_ok(f);
	assert_string_equal(mb->name, "user.alice");
	cyrus_mailbox_free(&mb);
	g_string_free(s, TRUE);
}

/* --- names ---------------------------------------------------------------- */

static void assert_user_folder(const char *name, bool sep,
			       const char *userid, const char *domain,
			       const char *folder)
{
	struct cyrus_user_folder uf;

	if (!cyrus_user_folder_parse(name, sep, &uf))
		fail_msg("\"%s\" is not taken as a user's mailbox", name);
	assert_string_equal(uf.userid, userid);
	if (domain == NULL)
		assert_null(uf.domain);
	else
		assert_string_equal(uf.domain, domain);
	assert_string_equal(uf.folder, folder);
	cyrus_user_folder_clear(&uf);
	assert_null(uf.userid);
	assert_null(uf.domain);
	assert_null(uf.folder);
	cyrus_user_folder_clear(&uf);
}

static void assert_not_user(const char *name)
{
	struct cyrus_user_folder uf;

	for (int sep = 0; sep <= 1; sep++) {
		if (cyrus_user_folder_parse(name, sep, &uf))
			fail_msg("\"%s\" taken as user %s, folder %s", name,
				 uf.userid, uf.folder);
		assert_null(uf.userid);
		assert_null(uf.domain);
		assert_null(uf.folder);
		cyrus_user_folder_clear(&uf);
	}
}

static void test_user_names(void **state)
{
	(void)state;
	assert_user_folder("user.alice", true, "alice", NULL, "INBOX");
	assert_user_folder("user.alice", false, "alice", NULL, "INBOX");
	assert_user_folder("user.alice.Work", true, "alice", NULL, "Work");
	assert_user_folder("user.alice.Work.Invites", true, "alice", NULL,
			   "Work/Invites");
	assert_user_folder("example.com!user.alice.Work.Invites", true,
			   "alice", "example.com", "Work/Invites");
	assert_user_folder("example.com!user.alice", true, "alice",
			   "example.com", "INBOX");
	/* domains are case-insensitive: lower case */
	assert_user_folder("Example.COM!user.alice", true, "alice",
			   "example.com", "INBOX");
	/* a folder with a space, 8-bit, '#' */
	assert_user_folder("user.alice.My Folder.Pl\xc3\xa4ne", true, "alice",
			   NULL, "My Folder/Pl\xc3\xa4ne");
}

static void test_unixhierarchysep(void **state)
{
	(void)state;
	/* with unixhierarchysep a '.' in a name is stored as '^' */
	assert_user_folder("user.john^doe", true, "john.doe", NULL, "INBOX");
	assert_user_folder("user.john^doe", false, "john^doe", NULL, "INBOX");
	assert_user_folder("example.org!user.john^doe.Team^2026.Q^1", true,
			   "john.doe", "example.org", "Team.2026/Q.1");
	assert_user_folder("example.org!user.john^doe.Team^2026.Q^1", false,
			   "john^doe", "example.org", "Team^2026/Q^1");
}

static void test_not_user_mailboxes(void **state)
{
	(void)state;
	assert_not_user("shared.x");
	assert_not_user("shared");
	assert_not_user("example.com!shared.x");
	assert_not_user("DELETED.user.alice.x.5F3A2B1C");
	assert_not_user("DELETED.user.alice");
	assert_not_user("example.com!DELETED.user.alice.x");
	assert_not_user("!user.x");
	assert_not_user("!user.alice");
	assert_not_user("user.");
	assert_not_user("user");
	assert_not_user("users.alice");
	assert_not_user("User.alice");
	assert_not_user("");
	assert_not_user("example.com!");
	assert_not_user("example.com!user");
	assert_not_user("example.com!user.");
	assert_not_user("user..x");
	assert_not_user("user.alice..x");
	assert_not_user("user.alice.");
	assert_not_user(".user.alice");
}

/* --- folder filter ------------------------------------------------------- */

static GPtrArray *patterns(const char *first, ...)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	va_list ap;

	va_start(ap, first);
	for (const char *p = first; p != NULL; p = va_arg(ap, const char *))
		g_ptr_array_add(a, g_strdup(p));
	va_end(ap);
	return a;
}

static void test_folder_filter(void **state)
{
	GPtrArray *inbox = patterns("INBOX", NULL);
	GPtrArray *lower = patterns("inbox", NULL);
	GPtrArray *any = patterns("*", NULL);
	GPtrArray *work = patterns("Work/Invites", "Calendar", NULL);
	GPtrArray *none = patterns(NULL, NULL);

	(void)state;
	/* INBOX in any case */
	assert_true(cyrus_folder_is_selected("INBOX", inbox));
	assert_true(cyrus_folder_is_selected("INBOX", lower));
	assert_false(cyrus_folder_is_selected("Work", inbox));
	assert_false(cyrus_folder_is_selected("INBOX/Work", inbox));
	assert_false(cyrus_folder_is_selected("Sent", lower));
	/* a folder below INBOX that someone named "inbox" is not the INBOX */
	assert_false(cyrus_folder_is_selected("inbox", inbox));
	assert_false(cyrus_folder_is_selected("inbox", lower));

	assert_true(cyrus_folder_is_selected("INBOX", any));
	assert_true(cyrus_folder_is_selected("Sent", any));
	assert_true(cyrus_folder_is_selected("Work/Invites", any));

	/* a folder path matches exactly, case included */
	assert_true(cyrus_folder_is_selected("Work/Invites", work));
	assert_true(cyrus_folder_is_selected("Calendar", work));
	assert_false(cyrus_folder_is_selected("work/invites", work));
	assert_false(cyrus_folder_is_selected("Work", work));
	assert_false(cyrus_folder_is_selected("Work/Invites/Old", work));
	assert_false(cyrus_folder_is_selected("Calendars", work));
	assert_false(cyrus_folder_is_selected("INBOX", work));

	assert_false(cyrus_folder_is_selected("INBOX", none));
	g_ptr_array_unref(inbox);
	g_ptr_array_unref(lower);
	g_ptr_array_unref(any);
	g_ptr_array_unref(work);
	g_ptr_array_unref(none);
}

/* From an internal name to the decision, as the annotator makes it. */
static void test_name_to_filter(void **state)
{
	GPtrArray *inbox = patterns("INBOX", NULL);
	GPtrArray *work = patterns("INBOX", "Work/Invites", NULL);
	struct cyrus_user_folder uf;

	(void)state;
	assert_true(cyrus_user_folder_parse("user.alice", true, &uf));
	assert_true(cyrus_folder_is_selected(uf.folder, inbox));
	cyrus_user_folder_clear(&uf);
	assert_true(cyrus_user_folder_parse("example.com!user.alice.Work."
					    "Invites", true, &uf));
	assert_false(cyrus_folder_is_selected(uf.folder, inbox));
	assert_true(cyrus_folder_is_selected(uf.folder, work));
	cyrus_user_folder_clear(&uf);
	assert_true(cyrus_user_folder_parse("user.alice.Sent", true, &uf));
	assert_false(cyrus_folder_is_selected(uf.folder, work));
	cyrus_user_folder_clear(&uf);
	g_ptr_array_unref(inbox);
	g_ptr_array_unref(work);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_header, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_header_variants,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_calendar_mailbox, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_header, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_header_is_directory,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_old_or_broken_header,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_in_name_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_header, setup,
						teardown),
		cmocka_unit_test(test_user_names),
		cmocka_unit_test(test_unixhierarchysep),
		cmocka_unit_test(test_not_user_mailboxes),
		cmocka_unit_test(test_folder_filter),
		cmocka_unit_test(test_name_to_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
