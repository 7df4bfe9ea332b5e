/* imip-admin check FILE...: how each message would be processed, shown
   without changing anything.  The role, user and envelope sender come from
   the message (check.h) unless given; the message is then processed as
   imip-shim processes it (the trigger script, then imip_process() with the
   default options), but against a throw-away copy of the user's store,
   preferences and quota journals in a temporary directory, which is
   removed afterwards.  Nothing is sent: the replies the agent would send
   are listed. */

#include "admin.h"
#include "admin-copy.h"
#include "address.h"
#include "check.h"
#include "config.h"
#include "imip.h"
#include "mime-read.h"
#include "outcome.h"
#include "store.h"
#include "store-name.h"
#include "trigger.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <glib.h>
#include <glib/gstdio.h>

struct check_args {
	struct check_given given;
	GPtrArray *files;	/* const char * from argv */
};

/* A copy of the configured directories that processing may change at
   will: root (mode 0700) holds store/, preferences/, journal/, static/. */
struct check_sandbox {
	char *root;
	struct imip_config *config;
	struct store *store;
};

static bool check_usable_sender(const char *value)
{
	char *addr;

	if (*value == '\0' || strcmp(value, "<>") == 0)
		return true;
	addr = address_normalize(value);
	g_free(addr);
	return addr != NULL;
}

static int check_option_value(struct admin *a, int *i, struct check_args *c)
{
	const char *name = a->argv[*i], *value = a->argv[++*i];

	if (strcmp(name, "--role") == 0) {
		if (!check_role_parse(value, &c->given.role)) {
			admin_error("unknown role %s (person, resource or "
				    "outgoing)", value);
			return ADMIN_EX_USAGE;
		}
		c->given.has_role = true;
	} else if (strcmp(name, "--user") == 0) {
		char *addr = address_normalize(value);

		g_free(addr);
		if (addr == NULL) {
			admin_error("not a usable address: %s", value);
			return ADMIN_EX_USAGE;
		}
		c->given.user = value;
	} else {
		if (!check_usable_sender(value)) {
			admin_error("not a usable sender: %s", value);
			return ADMIN_EX_USAGE;
		}
		c->given.sender = value;
	}
	return ADMIN_EX_OK;
}

static int check_parse_args(struct admin *a, struct check_args *c)
{
	bool options = true;

	for (int i = 0; i < a->argc; i++) {
		const char *arg = a->argv[i];
		int ret;

		if (options && strcmp(arg, "--") == 0) {
			options = false;
		} else if (options && (strcmp(arg, "--role") == 0 ||
				       strcmp(arg, "--user") == 0 ||
				       strcmp(arg, "--sender") == 0)) {
			if (i + 1 >= a->argc)
				return ADMIN_EX_USAGE;
			ret = check_option_value(a, &i, c);
			if (ret != ADMIN_EX_OK)
				return ret;
		} else if (options && arg[0] == '-' && arg[1] != '\0') {
			admin_error("unknown option %s", arg);
			return ADMIN_EX_USAGE;
		} else {
			g_ptr_array_add(c->files, (char *)arg);
		}
	}
	return c->files->len == 0 ? ADMIN_EX_USAGE : ADMIN_EX_OK;
}

/* --- the throw-away copy ------------------------------------------------- */

/* Copy the tree `from` to `to`: directories and regular files.  Names
   starting with '.' are never data (docs/store.md: the lock, temporary
   files), and symbolic links inside the tree are not followed (`from`
   itself may be one, as a configured directory may). */
static int check_copy_tree(const char *from, const char *to, bool top,
			   char **error_r)
{
	GError *gerror = NULL;
	struct stat st;
	const char *name;
	GDir *dir;
	int ret = 0;

	if ((top ? stat(from, &st) : lstat(from, &st)) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = g_strdup_printf("cannot access %s: %s", from,
					   g_strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		char *data = NULL;
		gsize len;

		if (!g_file_get_contents(from, &data, &len, &gerror) ||
		    !g_file_set_contents_full(to, data, (gssize)len,
					      G_FILE_SET_CONTENTS_NONE, 0600,
					      &gerror)) {
			*error_r = g_strdup(gerror->message);
			g_clear_error(&gerror);
			ret = -1;
		}
		g_free(data);
		return ret;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (g_mkdir(to, 0700) < 0 && errno != EEXIST) {
		*error_r = g_strdup_printf("cannot create %s: %s", to,
					   g_strerror(errno));
		return -1;
	}
	dir = g_dir_open(from, 0, &gerror);
	if (dir == NULL) {
		*error_r = g_strdup(gerror->message);
		g_error_free(gerror);
		return -1;
	}
	while (ret == 0 && (name = g_dir_read_name(dir)) != NULL) {
		char *sub_from, *sub_to;

		if (name[0] == '.')
			continue;
		sub_from = g_build_filename(from, name, NULL);
		sub_to = g_build_filename(to, name, NULL);
		ret = check_copy_tree(sub_from, sub_to, false, error_r);
		g_free(sub_from);
		g_free(sub_to);
	}
	g_dir_close(dir);
	return ret;
}

static int check_remove_entry(const char *path, const struct stat *st,
			      int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	/* keep going: whatever cannot be removed is left, not fatal */
	(void)remove(path);
	return 0;
}

/* Only ever the directory check_sandbox_open() created. */
static void check_sandbox_close(struct check_sandbox *sb)
{
	if (sb->store != NULL)
		store_close(&sb->store);
	imip_config_free(&sb->config);
	if (sb->root != NULL)
		(void)nftw(sb->root, check_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	g_clear_pointer(&sb->root, g_free);
}

/* The site's store is a database: the user's state goes into the
   sandbox's files through the store interface (copy-store's code, one
   read-only transaction: one consistent state), and the quota journals
   with it.  A user without a store starts from nothing. */
static int check_copy_user_from_store(struct admin *a,
				      struct check_sandbox *sb,
				      const char *user, char **error_r)
{
	struct copy_quotas quotas = { .quiet = true };
	struct store_user *su;
	int r = store_user_open(a->store, user, STORE_OPEN_READONLY, &su,
				error_r);

	if (r <= 0)
		return r;
	store_user_close(&su);
	r = copy_store_user(a->store, sb->store, user, false, false);
	if (r == 0 &&
	    (copy_quotas_prepare(&quotas, a->config, sb->config, false) < 0 ||
	     copy_quotas_run(&quotas) < 0))
		r = -1;
	copy_quotas_deinit(&quotas);
	if (r < 0)
		*error_r = g_strdup("the user's state could not be copied "
				    "into the sandbox (see above)");
	return r;
}

/* The copy of a user's directories, taken under the user's shared lock so
   that it is one consistent state (a delivery in progress finishes first).
   A user without a store starts from nothing, as on first delivery. */
static int check_copy_user(struct admin *a, struct check_sandbox *sb,
			   const char *user, char **error_r)
{
	struct store_user *su;
	char *enc, *from, *to;
	int r;

	if (a->config->store_backend != IMIP_STORE_BACKEND_FILE)
		return check_copy_user_from_store(a, sb, user, error_r);
	r = store_user_open(a->store, user, STORE_OPEN_READONLY, &su, error_r);
	if (r <= 0)
		return r;
	enc = store_name_encode(user);
	from = g_build_filename(a->config->store_dir, enc, NULL);
	to = g_build_filename(sb->config->store_dir, enc, NULL);
	r = check_copy_tree(from, to, true, error_r);
	g_free(from);
	g_free(to);
	from = g_build_filename(a->config->preferences_dir, enc, NULL);
	to = g_build_filename(sb->config->preferences_dir, enc, NULL);
	if (r == 0)
		r = check_copy_tree(from, to, true, error_r);
	/* the quota journals a resource's decision reads */
	if (r == 0 && a->config->journal_dir != NULL)
		r = check_copy_tree(a->config->journal_dir,
				    sb->config->journal_dir, true, error_r);
	g_free(from);
	g_free(to);
	g_free(enc);
	store_user_close(&su);
	return r;
}

static void check_sandbox_dir(char **field, const char *root, const char *name)
{
	g_free(*field);
	*field = g_build_filename(root, name, NULL);
	(void)g_mkdir(*field, 0700);
}

/* Returns 0, or -1 with *error_r. */
static int check_sandbox_open(struct admin *a, const char *user,
			      struct check_sandbox *sb, char **error_r)
{
	GError *gerror = NULL;

	memset(sb, 0, sizeof(*sb));
	sb->root = g_dir_make_tmp("imip-check-XXXXXX", &gerror);
	if (sb->root == NULL) {
		*error_r = g_strdup(gerror->message);
		g_error_free(gerror);
		return -1;
	}
	/* the same settings (limits, preferences' site defaults, trigger,
	   calendar address), other directories */
	if (imip_config_load(a->config_path, &sb->config, error_r) < 0) {
		check_sandbox_close(sb);
		return -1;
	}
	/* the sandbox is files, whatever the site's store: a check must
	   never write into the site's database */
	sb->config->store_backend = IMIP_STORE_BACKEND_FILE;
	check_sandbox_dir(&sb->config->store_dir, sb->root, "store");
	check_sandbox_dir(&sb->config->preferences_dir, sb->root, "preferences");
	check_sandbox_dir(&sb->config->journal_dir, sb->root, "journal");
	check_sandbox_dir(&sb->config->static_dir, sb->root, "static");
	/* no usable user: nothing to copy (the processing says why) */
	if (store_open(sb->config, &sb->store, error_r) < 0 ||
	    (user != NULL && strchr(user, '@') != NULL &&
	     check_copy_user(a, sb, user, error_r) < 0)) {
		check_sandbox_close(sb);
		return -1;
	}
	return 0;
}

/* --- one file ------------------------------------------------------------ */

static void check_library_log(void *context, enum imip_log_level level,
			      const char *message)
{
	if (level >= IMIP_LOG_WARNING)
		admin_error("%s: %s", (const char *)context, message);
}

static char *check_sender_text(const char *sender)
{
	if (sender != NULL && *sender == '\0')
		return g_strdup("<>");
	return imip_log_value(sender, false);
}

/* " (to ADDR METHOD, ...)" for the replies the agent would send. */
static void check_append_replies(GString *line, const struct imip_result *result,
				 const struct imip_limits *limits)
{
	g_string_append_printf(line, " replies=%u", result->outgoing->len);
	for (unsigned int i = 0; i < result->outgoing->len; i++) {
		const struct imip_outgoing *out = g_ptr_array_index(result->outgoing, i);
		char *method = check_outgoing_method(out, limits);
		char *to = imip_log_value(out->recipient, false);

		g_string_append(line, i == 0 ? " (" : ", ");
		g_string_append_printf(line, "to %s %s", to,
				       method != NULL ? method : "-");
		g_free(method);
		g_free(to);
	}
	if (result->outgoing->len > 0)
		g_string_append_c(line, ')');
}

static void check_print(const char *file, const struct check_identity *id,
			const struct imip_result *result,
			const struct imip_limits *limits)
{
	GString *line = g_string_new(NULL);
	char *user = imip_log_value(id->user, false);
	char *sender = check_sender_text(id->sender);
	char *methods = imip_result_methods(result);
	char *uid = imip_result_first_uid(result);
	char *uid_text = imip_log_value(uid, false);
	char *reason = imip_log_value(result->reason, true);

	g_string_printf(line, "%s: role=%s user=%s sender=%s method=%s uid=%s "
			"outcome=%s reason=%s", file, check_role_name(id->role),
			user, sender, methods, uid_text,
			imip_outcome_name(result->code), reason);
	check_append_replies(line, result, limits);
	puts(line->str);
	fflush(stdout);
	g_string_free(line, TRUE);
	g_free(user);
	g_free(sender);
	g_free(methods);
	g_free(uid);
	g_free(uid_text);
	g_free(reason);
}

/* As imip-shim's per-recipient step: the trigger script, then the
   library with the default options. */
static struct imip_result *check_process(struct admin *a,
					 struct check_sandbox *sb,
					 const char *file,
					 const struct mime_message *msg,
					 const struct check_identity *id)
{
	struct imip_ctx ctx = {
		.config = sb->config, .store = sb->store,
		.log = check_library_log, .log_context = (void *)file,
		.now = a->now,
	};
	bool trigger_failed = false;
	struct imip_result *result;

	result = trigger_check(&ctx, msg->raw, id->sender,
			       id->role == IMIP_ROLE_OUTGOING ? NULL : id->user,
			       &trigger_failed);
	if (result == NULL) {
		result = imip_process(&ctx, msg, id->sender, id->user, id->role);
		if (trigger_failed)
			trigger_mark_failed(result);
	}
	return result;
}

static GBytes *check_read_file(const char *file)
{
	GError *gerror = NULL;
	char *data;
	gsize len;

	if (strcmp(file, "-") == 0) {
		GByteArray *buf = g_byte_array_new();
		guint8 chunk[65536];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			g_byte_array_append(buf, chunk, (guint)n);
		if (!ferror(stdin))
			return g_byte_array_free_to_bytes(buf);
		g_byte_array_unref(buf);
		admin_error("%s: cannot read standard input", file);
		return NULL;
	}
	if (!g_file_get_contents(file, &data, &len, &gerror)) {
		admin_error("%s", gerror->message);
		g_error_free(gerror);
		return NULL;
	}
	return g_bytes_new_take(data, len);
}

static int check_file(struct admin *a, const struct check_given *given,
		      const char *file)
{
	GBytes *data = check_read_file(file);
	struct check_identity id;
	struct check_sandbox sb;
	struct mime_message *msg;
	struct imip_result *result;
	char *error = NULL;
	gsize len;
	const void *bytes;

	if (data == NULL)
		return ADMIN_EX_NOTFOUND;
	bytes = g_bytes_get_data(data, &len);
	if (check_is_calendar_object(bytes, len)) {
		GBytes *wrapped = check_wrap_calendar(bytes, len, &a->config->limits);

		g_bytes_unref(data);
		data = wrapped;
		bytes = g_bytes_get_data(data, &len);
	}
	msg = mime_message_read(bytes, len, &a->config->limits);
	g_bytes_unref(data);
	check_derive(msg, &a->config->limits, given, &id);
	if (id.user == NULL)
		admin_error("%s: the message names no calendar user; give --user",
			    file);
	if (check_sandbox_open(a, id.user, &sb, &error) < 0) {
		admin_error("%s: no throw-away copy of the store: %s", file, error);
		g_free(error);
		check_identity_clear(&id);
		mime_message_free(&msg);
		return ADMIN_EX_IOERR;
	}
	result = check_process(a, &sb, file, msg, &id);
	check_print(file, &id, result, &sb.config->limits);
	imip_result_free(&result);
	check_sandbox_close(&sb);
	check_identity_clear(&id);
	mime_message_free(&msg);
	return ADMIN_EX_OK;
}

int cmd_check(struct admin *a)
{
	struct check_args c = { .files = g_ptr_array_new() };
	int ret = check_parse_args(a, &c);

	if (ret == ADMIN_EX_OK) {
		for (unsigned int i = 0; i < c.files->len; i++) {
			int r = check_file(a, &c.given, g_ptr_array_index(c.files, i));

			/* a store failure outweighs an unreadable file */
			if (r != ADMIN_EX_OK && ret != ADMIN_EX_IOERR)
				ret = r;
		}
	}
	g_ptr_array_free(c.files, TRUE);
	return ret;
}
