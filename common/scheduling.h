#ifndef IMIP_SCHEDULING_H
#define IMIP_SCHEDULING_H

/* Scheduling functions: how a resource decides on a request (reference
   imip-agent.md section 8, docs/resources.md).  The `scheduling_function`
   preference holds one call per line, `name [args...]`; the calls are
   evaluated in order and the first result that is not an acceptance
   decides.  Acceptances are provisional until the last line. */

#include <stdbool.h>
#include <time.h>
#include <glib.h>

struct handler;
struct ical_object;
struct fb_list;
struct journal;

enum sched_decision {
	SCHED_ACCEPT,
	SCHED_DECLINE,
	SCHED_COUNTER,		/* propose counter_start/counter_end */
	SCHED_DELEGATE,		/* hand over to `delegate` */
};

struct sched_request {
	struct handler *h;		/* the resource's processing context */
	const struct ical_object *obj;	/* the incoming request */
	const char *organiser;		/* normalised ORGANIZER */
	/* the instances asked for (busy periods of obj, with rids) */
	const struct fb_list *periods;
	bool recurring;
};

struct sched_result {
	enum sched_decision decision;
	char *reason;			/* why (for a decline: the COMMENT) */
	/* accepted series: instances declined because they conflict */
	GPtrArray *declined_rids;	/* char * */
	time_t counter_start, counter_end;
	char *delegate;			/* normalised address */
	/* quota groups the accepted booking is recorded in (char *) */
	GPtrArray *quotas;
};

void sched_result_init(struct sched_result *res);
void sched_result_clear(struct sched_result *res);

/* The quota groups named by a scheduling_function text (sorted, without
   duplicates): to lock them in one order, and to release a booking's
   reservations on CANCEL.  `resource` is the default quota name. */
GPtrArray *sched_quotas_of(const char *functions, const char *resource);

/* Evaluate the functions (the preference's text) for the request.  The
   quota groups the functions name must be open in `quotas` (name ->
   struct journal_quota *).  Returns -1 with *error_r on a store or
   journal failure, 0 with the decision in res. */
int sched_evaluate(const struct sched_request *req, const char *functions,
		   GHashTable *quotas, struct sched_result *res,
		   const char **error_r);

#endif
