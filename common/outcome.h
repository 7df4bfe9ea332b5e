#ifndef IMIP_OUTCOME_H
#define IMIP_OUTCOME_H

#include <stdbool.h>
#include "imip.h"

bool imip_outcome_parse(const char *name, enum imip_outcome_code *code_r);

/* The outcome reported for a message whose objects gave a and b. */
enum imip_outcome_code imip_outcome_combine(enum imip_outcome_code a,
					    enum imip_outcome_code b);

/* For the one log line per message every adapter writes: the METHODs of
   the result's parts, each once, comma-separated ("-" when none), and
   the first part's UID ("-" when none).  Caller frees both. */
char *imip_result_methods(const struct imip_result *result);
char *imip_result_first_uid(const struct imip_result *result);

/* A value from the wire made safe for one `key=value` log line: control
   characters and double quotes become '?', and it is put in double quotes
   when it has a space, is empty or quote_always is set; NULL gives "-".
   Caller frees. */
char *imip_log_value(const char *value, bool quote_always);

#endif
