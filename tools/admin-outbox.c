/* imip-admin outbox and send-queued: the replies waiting in the users'
   outboxes (outbox.h, docs/store.md 3.4).

   send-queued is what a cron job or a systemd timer runs
   (conf/systemd/imip-send-queued.timer): each user's lock is taken in
   turn, exactly as a delivery takes it, so a reply is never sent by the
   timer and a delivery at once.  It prints one line per entry tried and
   nothing when every outbox is empty, so that cron mails only news.

   outbox-show, outbox-retry and outbox-remove are the administrator's
   hands on single entries: read a reply, send a given-up one again once
   its cause is mended, or drop one that must not go out.  They change
   the store under the user's lock, as a delivery would, so nobody
   removes files by hand under a running agent. */

#include "admin.h"

#include "clock.h"
#include "config.h"
#include "outbox.h"
#include "send.h"
#include "store.h"

#include <stdio.h>

/* The users named, or every user with a store. */
static GPtrArray *admin_outbox_users(struct admin *a, int *ret_r)
{
	GPtrArray *users = g_ptr_array_new_with_free_func(g_free);
	char *error = NULL;

	*ret_r = ADMIN_EX_OK;
	for (int i = 0; i < a->argc; i++)
		g_ptr_array_add(users, g_strdup(a->argv[i]));
	if (a->argc == 0 && store_list_users(a->store, users, &error) < 0) {
		admin_error("%s", error);
		g_free(error);
		*ret_r = ADMIN_EX_IOERR;
	}
	return users;
}

static const char *admin_queue_name(enum store_outbox_queue queue)
{
	return queue == STORE_OUTBOX_FAILED ? "failed" : "queued";
}

static void admin_time_field(GString *line, time_t t)
{
	char stamp[17];

	admin_field(line, t == 0 ? NULL : imip_clock_format_utc(t, stamp));
}

static int admin_outbox_print(struct store_user *su,
			      enum store_outbox_queue queue)
{
	GPtrArray *entries = g_ptr_array_new_with_free_func(
		(GDestroyNotify)outbox_entry_free);
	GString *line = g_string_new(NULL);
	const char *error;
	int ret = ADMIN_EX_OK;

	if (outbox_list(su, queue, entries, &error) < 0) {
		admin_error("%s", error);
		ret = ADMIN_EX_IOERR;
	}
	for (unsigned int i = 0; i < entries->len; i++) {
		const struct outbox_entry *e = g_ptr_array_index(entries, i);
		char attempts[16];

		g_snprintf(attempts, sizeof(attempts), "%u", e->attempts);
		admin_field(line, store_user_name(su));
		admin_field(line, admin_queue_name(queue));
		admin_field(line, e->name);
		admin_time_field(line, e->queued);
		admin_field(line, attempts);
		admin_time_field(line, e->last_attempt);
		admin_field(line, e->recipient);
		admin_field(line, e->last_error);
		admin_line(line);
	}
	g_string_free(line, TRUE);
	g_ptr_array_free(entries, TRUE);
	return ret;
}

/* outbox [ADDR...]: user queue name queued attempts last-attempt
   recipient error, queued entries first, each queue oldest first. */
int cmd_outbox(struct admin *a)
{
	int ret;
	GPtrArray *users = admin_outbox_users(a, &ret);

	for (unsigned int i = 0; i < users->len; i++) {
		struct store_user *su;
		int r = admin_user_open(a, g_ptr_array_index(users, i),
					STORE_OPEN_READONLY, &su);

		if (r == ADMIN_EX_OK) {
			r = admin_outbox_print(su, STORE_OUTBOX_QUEUED);
			if (r == ADMIN_EX_OK)
				r = admin_outbox_print(su, STORE_OUTBOX_FAILED);
			store_user_close(&su);
		}
		if (r != ADMIN_EX_OK)
			ret = r;
	}
	g_ptr_array_free(users, TRUE);
	return ret;
}

static const char *admin_fate_name(enum outbox_fate fate)
{
	switch (fate) {
	case OUTBOX_SENT: return "sent";
	case OUTBOX_DEFERRED: return "deferred";
	case OUTBOX_REFUSED: return "refused";
	case OUTBOX_EXPIRED: return "expired";
	case OUTBOX_UNREADABLE: return "unreadable";
	}
	return "unknown";
}

static int admin_send_user(struct admin *a, const char *address)
{
	struct outbox_sender sender = {
		.send = send_outgoing_func, .context = a->config,
		.now = a->now, .lifetime = a->config->outbox_lifetime,
	};
	GPtrArray *reports = g_ptr_array_new_with_free_func(
		(GDestroyNotify)outbox_report_free);
	GString *line = g_string_new(NULL);
	struct store_user *su;
	const char *error;
	int ret = admin_user_open(a, address, 0, &su);

	if (ret != ADMIN_EX_OK) {
		g_string_free(line, TRUE);
		g_ptr_array_free(reports, TRUE);
		return ret;
	}
	if (outbox_flush(su, &sender, reports, &error) < 0) {
		admin_error("%s: %s", store_user_name(su), error);
		ret = ADMIN_EX_IOERR;
	}
	for (unsigned int i = 0; i < reports->len; i++) {
		const struct outbox_report *r = g_ptr_array_index(reports, i);

		admin_field(line, store_user_name(su));
		admin_field(line, r->name);
		admin_field(line, admin_fate_name(r->fate));
		admin_field(line, r->recipient);
		admin_field(line, r->error);
		admin_line(line);
	}
	/* the lines above say what was sent; a failure here means the
	   outbox does not know it, and the next run sends those again */
	ret = admin_user_close(&su, ret);
	g_string_free(line, TRUE);
	g_ptr_array_free(reports, TRUE);
	return ret;
}

/* send-queued [ADDR...]: user name fate recipient error, one line per
   entry tried; fate sent, deferred (still queued), refused or expired
   (moved to outbox/failed), unreadable (likewise).  Exit 0 unless a
   store could not be read or changed: a deferred reply is the normal
   case the timer exists for. */
int cmd_send_queued(struct admin *a)
{
	int ret;
	GPtrArray *users = admin_outbox_users(a, &ret);

	for (unsigned int i = 0; i < users->len; i++) {
		int r = admin_send_user(a, g_ptr_array_index(users, i));

		/* one broken user must not stop the run for all */
		if (r != ADMIN_EX_OK)
			ret = r;
	}
	g_ptr_array_free(users, TRUE);
	return ret;
}

/* The entry names from argv[first] on, as `outbox` prints them. */
static bool admin_outbox_names_ok(struct admin *a, int first)
{
	for (int i = first; i < a->argc; i++) {
		if (!store_outbox_name_ok(a->argv[i])) {
			admin_error("not an outbox entry name: %s",
				    a->argv[i]);
			return false;
		}
	}
	return true;
}

/* outbox-show ADDR NAME: the entry as stored (its header block, an empty
   line, the message), from the queue or else from failed/. */
int cmd_outbox_show(struct admin *a)
{
	static const enum store_outbox_queue queues[] = {
		STORE_OUTBOX_QUEUED, STORE_OUTBOX_FAILED,
	};
	struct store_user *su;
	const char *error;
	char *text = NULL;
	size_t len = 0;
	int ret, r = 0;

	if (a->argc != 2 || !admin_outbox_names_ok(a, 1)) {
		admin_error("usage: outbox-show ADDR NAME");
		return ADMIN_EX_USAGE;
	}
	ret = admin_user_open(a, a->argv[0], STORE_OPEN_READONLY, &su);
	if (ret != ADMIN_EX_OK)
		return ret;
	for (unsigned int i = 0; r == 0 && i < G_N_ELEMENTS(queues); i++)
		r = store_outbox_get(su, queues[i], a->argv[1], &text, &len,
				     &error);
	if (r < 0) {
		admin_error("%s: %s", store_user_name(su), error);
		ret = ADMIN_EX_IOERR;
	} else if (r == 0) {
		admin_error("%s: no outbox entry %s", store_user_name(su),
			    a->argv[1]);
		ret = ADMIN_EX_NOTFOUND;
	} else if (fwrite(text, 1, len, stdout) != len) {
		ret = ADMIN_EX_IOERR;
	}
	g_free(text);
	store_user_close(&su);
	return ret;
}

/* The single-entry commands that change the store: one NAME at a time
   under one session, one output line per entry done. */
typedef int admin_outbox_change_t(struct admin *a, struct store_user *su,
				  const char *name, GString *line);

static int admin_outbox_change(struct admin *a, const char *usage,
			       admin_outbox_change_t *change)
{
	GString *line = g_string_new(NULL);
	struct store_user *su = NULL;
	int ret;

	if (a->argc < 2 || !admin_outbox_names_ok(a, 1)) {
		admin_error("usage: %s", usage);
		g_string_free(line, TRUE);
		return ADMIN_EX_USAGE;
	}
	ret = admin_user_open(a, a->argv[0], 0, &su);
	for (int i = 1; ret != ADMIN_EX_IOERR && su != NULL && i < a->argc;
	     i++) {
		int r = change(a, su, a->argv[i], line);

		if (r != ADMIN_EX_OK)
			ret = r;
	}
	if (su != NULL)
		ret = admin_user_close(&su, ret);
	g_string_free(line, TRUE);
	return ret;
}

static int admin_outbox_retry_one(struct admin *a, struct store_user *su,
				  const char *name, GString *line)
{
	const char *error;
	int r = outbox_retry(su, name, a->now, &error);

	if (r < 0) {
		admin_error("%s: %s: %s", store_user_name(su), name, error);
		return ADMIN_EX_IOERR;
	}
	if (r == 0) {
		admin_error("%s: no entry %s in outbox/failed",
			    store_user_name(su), name);
		return ADMIN_EX_NOTFOUND;
	}
	admin_field(line, store_user_name(su));
	admin_field(line, name);
	admin_field(line, "queued");
	admin_line(line);
	return ADMIN_EX_OK;
}

/* outbox-retry ADDR NAME...: user name queued, per entry moved back. */
int cmd_outbox_retry(struct admin *a)
{
	return admin_outbox_change(a, "outbox-retry ADDR NAME...",
				   admin_outbox_retry_one);
}

static int admin_outbox_remove_one(struct admin *a, struct store_user *su,
				   const char *name, GString *line)
{
	static const enum store_outbox_queue queues[] = {
		STORE_OUTBOX_QUEUED, STORE_OUTBOX_FAILED,
	};
	const char *error;
	bool removed = false;

	(void)a;
	/* from both: a crash while giving up can leave it in both */
	for (unsigned int i = 0; i < G_N_ELEMENTS(queues); i++) {
		int r = store_outbox_remove(su, queues[i], name, &error);

		if (r < 0) {
			admin_error("%s: %s: %s", store_user_name(su), name,
				    error);
			return ADMIN_EX_IOERR;
		}
		if (r == 0)
			continue;
		removed = true;
		admin_field(line, store_user_name(su));
		admin_field(line, name);
		admin_field(line, "removed");
		admin_field(line, admin_queue_name(queues[i]));
		admin_line(line);
	}
	if (!removed) {
		admin_error("%s: no outbox entry %s", store_user_name(su),
			    name);
		return ADMIN_EX_NOTFOUND;
	}
	return ADMIN_EX_OK;
}

/* outbox-remove ADDR NAME...: user name removed queue, per entry. */
int cmd_outbox_remove(struct admin *a)
{
	return admin_outbox_change(a, "outbox-remove ADDR NAME...",
				   admin_outbox_remove_one);
}
