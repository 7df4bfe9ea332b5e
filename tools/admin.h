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

struct imip_config;
struct store;
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

/* check FILE... (admin-check.c) */
int cmd_check(struct admin *a);

/* db-upgrade [--schema-dir DIR] (admin-db.c) */
int cmd_db_upgrade(struct admin *a);

#endif
