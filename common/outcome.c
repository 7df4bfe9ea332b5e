/* Outcome names and how per-object outcomes combine into the message's
   outcome (DESIGN.md section 3). */

#include "imip.h"
#include "outcome.h"

#include <glib.h>

static const char *const outcome_names[] = {
	[IMIP_OUTCOME_NO_ACTION] = "no_action",
	[IMIP_OUTCOME_ADDED] = "added",
	[IMIP_OUTCOME_UPDATED] = "updated",
	[IMIP_OUTCOME_CANCELLED] = "cancelled",
	[IMIP_OUTCOME_REPLIED] = "replied",
	[IMIP_OUTCOME_REJECTED] = "rejected",
	[IMIP_OUTCOME_ERROR] = "error",
};

const char *imip_outcome_name(enum imip_outcome_code code)
{
	if ((unsigned int)code >= G_N_ELEMENTS(outcome_names))
		return "error";
	return outcome_names[code];
}

bool imip_outcome_parse(const char *name, enum imip_outcome_code *code_r)
{
	for (unsigned int i = 0; i < G_N_ELEMENTS(outcome_names); i++) {
		if (g_strcmp0(name, outcome_names[i]) == 0) {
			*code_r = (enum imip_outcome_code)i;
			return true;
		}
	}
	return false;
}

/* Rank for combining: a message that changed the calendar reports that
   change (the strongest one), so Sieve and keywords tell the user what
   happened; a refusal is reported over a failure to process and both over
   "nothing to do". */
static int outcome_rank(enum imip_outcome_code code)
{
	switch (code) {
	case IMIP_OUTCOME_NO_ACTION: return 0;
	case IMIP_OUTCOME_ERROR: return 1;
	case IMIP_OUTCOME_REJECTED: return 2;
	case IMIP_OUTCOME_ADDED: return 3;
	case IMIP_OUTCOME_UPDATED: return 4;
	case IMIP_OUTCOME_CANCELLED: return 5;
	case IMIP_OUTCOME_REPLIED: return 6;
	}
	return 1;
}

enum imip_outcome_code imip_outcome_combine(enum imip_outcome_code a,
					    enum imip_outcome_code b)
{
	return outcome_rank(b) > outcome_rank(a) ? b : a;
}
