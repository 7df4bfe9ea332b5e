#ifndef IMIP_JOURNAL_PRIVATE_H
#define IMIP_JOURNAL_PRIVATE_H

/* What journal.c and the journal's backends share, as store-private.h
   for the store.  journal.c checks and normalises every argument (names,
   addresses, reservations) once and formats what imip-admin prints; a
   backend only keeps rows: journal-file.c in files below journal_dir,
   journal-pg.c in the database (store_backend = postgresql).  A backend
   embeds struct journal / struct journal_quota as the first member of
   its own structures. */

#include "journal.h"

/* One limit as a backend hands it out: subject, seconds >= 0. */
struct journal_limit {
	char *subject;
	long seconds;
};

/* One membership: a user (normalised address) and its group. */
struct journal_member {
	char *user;
	char *group;
};

void journal_limit_free(struct journal_limit *l);
void journal_member_free(struct journal_member *m);

struct journal_vfuncs {
	const char *name;
	void (*deinit)(struct journal *j);

	/* every quota (char *, any order: journal.c sorts) */
	int (*list_quotas)(struct journal *j, GPtrArray *quotas_r,
			   char **error_r);
	/* Allocates and locks the quota `name` (normalised, not open in
	   this process yet); 1, 0 when missing and !create, -1 error.
	   q->j and q->name are filled in by journal.c afterwards. */
	int (*quota_open)(struct journal *j, const char *name, bool create,
			  struct journal_quota **q_r, char **error_r);
	/* Keeps what is not committed yet unless a call failed since the
	   last commit (q->failed), releases the lock, frees the backend's
	   part of q. */
	void (*quota_close)(struct journal_quota *q);
	/* Keep the changes so far, the lock kept (journal_quota_commit);
	   NULL when every write is kept as it is made (files). */
	int (*quota_commit)(struct journal_quota *q);

	/* 1 with the seconds, 0 no (readable) limit */
	int (*limit_get)(struct journal_quota *q, const char *subject,
			 long *seconds_r);
	/* seconds < 0 removes */
	int (*limit_set)(struct journal_quota *q, const char *subject,
			 long seconds);
	/* struct journal_limit *, any order (journal.c sorts) */
	int (*limits_list)(struct journal_quota *q, GPtrArray *limits_r);

	int (*group_get)(struct journal_quota *q, const char *user,
			 char **group_r);
	/* group NULL removes */
	int (*group_set)(struct journal_quota *q, const char *user,
			 const char *group);
	/* struct journal_member *, any order (journal.c sorts) */
	int (*groups_list)(struct journal_quota *q, GPtrArray *members_r);

	/* normalised addresses in the pool's order, no duplicates */
	int (*delegates_get)(struct journal_quota *q, GPtrArray *delegates_r);
	int (*delegates_set)(struct journal_quota *q,
			     const GPtrArray *delegates);

	/* struct journal_reservation *, any order (journal.c sorts) */
	int (*reservations_read)(struct journal_quota *q, GPtrArray *out);
	/* `fresh`: checked, normalised reservations of exactly (resource,
	   uid); replaces that pair's rows */
	int (*reservations_replace)(struct journal_quota *q,
				    const char *resource, const char *uid,
				    const GPtrArray *fresh);
	int (*expire)(struct journal_quota *q, time_t now,
		      unsigned int *removed_r);
};

struct journal {
	const struct journal_vfuncs *v;
	/* normalised names of the quotas open through this journal: a
	   second lock of the same quota from this process would wait for
	   itself ("Room@x" and "room@x" are one quota) */
	GHashTable *open;
};

struct journal_quota {
	struct journal *j;
	char *name;		/* as normalised */
	/* the last error, handed out through const char **error_r */
	char *error;
	/* a call failed since the last commit: close keeps nothing more */
	bool failed;
};

/* Set q's error; returns -1. */
int journal_quota_error(struct journal_quota *q, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);
/* The same, taking over an allocated message. */
int journal_quota_error_take(struct journal_quota *q, char *error);

/* The order of journal_reservations_read() (start, end, resource, uid,
   rid; bytes, NULL rid first), whatever the backend. */
gint journal_reservation_cmp(gconstpointer a, gconstpointer b);

/* A name that is not an address (a group, a non-address quota). */
bool journal_name_is_valid(const char *name);

int journal_file_init(const struct imip_config *config, struct journal **j_r,
		      char **error_r);
#ifdef IMIP_HAVE_POSTGRESQL
int journal_pg_init(const struct imip_config *config, struct journal **j_r,
		    char **error_r);
#endif

#endif
