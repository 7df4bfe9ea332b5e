#ifndef IMIP_JOURNAL_H
#define IMIP_JOURNAL_H

/* The quota journal (reference imip-agent.md 5.4 and 9): per quota group,
   the limits of booking time per organiser, group or "*", which organisers
   form which group, the resources that delegate to each other, and the
   reservations counted against the quota.  Shared by several resources,
   so each quota has a lock of its own, always taken after the resource's
   store lock and never the other way round: flock on
   journal_dir/<quota>/.lock (store_backend = file), or the quota's row
   in the database, locked inside the quota's transaction (store_backend
   = postgresql: several delivery hosts share the journal). */

#include <stdbool.h>
#include <time.h>
#include <glib.h>

struct imip_config;

struct journal;
struct journal_quota;

struct journal_reservation {
	char *resource;		/* the resource that accepted (normalised) */
	char *uid;
	char *rid;		/* instance, or NULL */
	char *organiser;	/* normalised address */
	time_t start, end;	/* UTC */
};

int journal_open(const struct imip_config *config, struct journal **j_r,
		 char **error_r);
void journal_close(struct journal **j);
/* Every quota group that exists (char *, sorted). */
int journal_list_quotas(struct journal *j, GPtrArray *quotas_r,
			char **error_r);

/* Open (and with create, make) a quota group, taking its lock until
   journal_quota_close().  Returns 1, 0 when it does not exist and create
   is false, -1 on error.  Quota names are encoded like store names. */
int journal_quota_open(struct journal *j, const char *quota, bool create,
		       struct journal_quota **q_r, char **error_r);
/* Keep what was written to the quota so far; the quota stays open
   (PostgreSQL: a new transaction takes the quota's lock again at once,
   so commit once the decision is written).  Call it before anything
   that was written is
   reported (a reply, imip-admin's exit status): on PostgreSQL the
   writes are one transaction, and the commit is where it can fail
   (then nothing since the last commit is kept).  The file journal
   keeps every write as it is made: always 0 there. */
int journal_quota_commit(struct journal_quota *q, const char **error_r);
/* Close, releasing the lock.  What was written since the last commit is
   kept unless a call failed since (its error was reported: the caller
   gave up half way), in which case it is rolled back (PostgreSQL; the
   file journal has kept what it wrote).  A failure here is not
   reported: callers that care commit first. */
void journal_quota_close(struct journal_quota **q);

/* Limits: subject is an organiser address, a group name or "*"; seconds
   of booked time (over all current reservations).  get returns 1 and the
   value, 0 when no limit is set for that subject. */
int journal_limit_get(struct journal_quota *q, const char *subject,
		      long *seconds_r, const char **error_r);
/* seconds < 0 removes the limit */
int journal_limit_set(struct journal_quota *q, const char *subject,
		      long seconds, const char **error_r);
/* "subject\tDURATION" lines as imip-admin prints them (char *) */
int journal_limits_list(struct journal_quota *q, GPtrArray *lines_r,
			const char **error_r);

/* Groups: an organiser belongs to at most one group per quota. */
int journal_group_get(struct journal_quota *q, const char *user,
		      char **group_r, const char **error_r);
/* group NULL removes the user from any group */
int journal_group_set(struct journal_quota *q, const char *user,
		      const char *group, const char **error_r);
int journal_groups_list(struct journal_quota *q, GPtrArray *lines_r,
			const char **error_r);

/* Delegates: the resources of a pool (addresses, char *). */
int journal_delegates_get(struct journal_quota *q, GPtrArray *delegates_r,
			  const char **error_r);
int journal_delegates_set(struct journal_quota *q, const GPtrArray *delegates,
			  const char **error_r);

/* Reservations (struct journal_reservation *, sorted by start). */
int journal_reservations_read(struct journal_quota *q, GPtrArray *out,
			      const char **error_r);
/* Replaces every reservation of (resource, uid) by `list` (may be empty:
   that removes them). */
int journal_reservations_replace(struct journal_quota *q,
				 const char *resource, const char *uid,
				 const GPtrArray *list, const char **error_r);
/* Drop reservations that ended before now (imip-admin update-quotas). */
int journal_expire(struct journal_quota *q, time_t now,
		   unsigned int *removed_r, const char **error_r);

void journal_reservation_free(struct journal_reservation *r);

#endif
