#ifndef IMIP_ADMIN_COPY_H
#define IMIP_ADMIN_COPY_H

/* imip-admin copy-store (admin-copy.c, and the quota journals' part,
   admin-copy-quotas.c, run when the whole store is copied); imip-admin
   check uses both to fill its sandbox from a database. */

#include <stdbool.h>
#include <glib.h>

#include "admin.h"

struct imip_config;
struct journal;

struct store;

/* Copy one user's store from `from` to `to`: read whole in one read-only
   session, written in one writer session and committed; `replace`
   empties TO's user first (else a user TO holds is refused).  Errors
   printed as "copy-store: USER: ITEM: ...", -1; the line "copied USER
   name=count..." when `print_summary`.  Also what imip-admin check
   copies into its sandbox from a store that is not files. */
int copy_store_user(struct store *from, struct store *to, const char *user,
		    bool replace, bool print_summary);

struct copy_quotas {
	struct journal *from, *to;
	GPtrArray *names;		/* FROM's quotas (char *) */
	bool replace;
	bool quiet;			/* no "copied-quota" lines */
};

/* Open both journals and list FROM's quotas; without `replace`, refuse
   (naming every one) when TO already holds any of them.  0 or -1, the
   error printed.  copy_quotas_deinit() also after a failure. */
int copy_quotas_prepare(struct copy_quotas *cq,
			const struct imip_config *from,
			const struct imip_config *to, bool replace);
/* Copy every quota, one line "copied-quota" each; -1 if any failed (the
   others are still copied). */
int copy_quotas_run(struct copy_quotas *cq);
void copy_quotas_deinit(struct copy_quotas *cq);

#endif
