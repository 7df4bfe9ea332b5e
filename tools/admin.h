#ifndef IMIP_ADMIN_H
#define IMIP_ADMIN_H

/* What the imip-admin commands share: the exit statuses of imip-admin(8)
   and the state main() prepares for a command. */

#include <time.h>

#define ADMIN_EX_OK 0
#define ADMIN_EX_NOTFOUND 1
#define ADMIN_EX_USAGE 64
#define ADMIN_EX_IOERR 74
#define ADMIN_EX_CONFIG 78

#include <glib.h>
#include "store.h"

struct imip_config;
struct journal;

struct admin {
	const char *config_path;	/* the imip.conf in use */
	struct imip_config *config;
	struct store *store;
	time_t now;
	int argc;
	char **argv;		/* after the command name */
	struct journal *journal;	/* opened by the quota commands */
};

/* "imip-admin: " + the message on standard error. */
void admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open a user's store (exclusively unless flags say
   STORE_OPEN_READONLY); returns an exit status, errors printed. */
int admin_user_open(struct admin *a, const char *address,
		    enum store_open_flags flags, struct store_user **su_r);
/* Close a session, keeping a writer's changes first (store_user_commit:
   the PostgreSQL store's transaction); returns `ret`, or ADMIN_EX_IOERR
   with the error printed when the changes could not be kept. */
int admin_user_close(struct store_user **su, int ret);

/* A field of tab-separated output ("-" for a missing value, no tab or
   line break inside), and the line ended and printed. */
void admin_field(GString *line, const char *value);
void admin_line(GString *line);

/* check FILE... (admin-check.c) */
int cmd_check(struct admin *a);

/* db-upgrade [--schema-dir DIR] (admin-db.c) */
int cmd_db_upgrade(struct admin *a);
/* copy-store [--replace] FROM TO [ADDR...] (admin-copy.c) */
int cmd_copy_store(struct admin *a);
/* outbox, send-queued, outbox-show, -retry, -remove (admin-outbox.c) */
int cmd_outbox(struct admin *a);
int cmd_send_queued(struct admin *a);
int cmd_outbox_show(struct admin *a);
int cmd_outbox_retry(struct admin *a);
int cmd_outbox_remove(struct admin *a);

#endif
