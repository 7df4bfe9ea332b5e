#ifndef IMIP_ADMIN_COPY_H
#define IMIP_ADMIN_COPY_H

/* imip-admin copy-store: the quota journals' part (admin-copy-quotas.c),
   run by cmd_copy_store() (admin-copy.c) when the whole store is copied. */

#include <stdbool.h>
#include <glib.h>

#include "admin.h"

struct imip_config;
struct journal;

struct copy_quotas {
	struct journal *from, *to;
	GPtrArray *names;		/* FROM's quotas (char *) */
	bool replace;
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
