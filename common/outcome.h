#ifndef IMIP_OUTCOME_H
#define IMIP_OUTCOME_H

#include <stdbool.h>
#include "imip.h"

bool imip_outcome_parse(const char *name, enum imip_outcome_code *code_r);

/* The outcome reported for a message whose objects gave a and b. */
enum imip_outcome_code imip_outcome_combine(enum imip_outcome_code a,
					    enum imip_outcome_code b);

#endif
