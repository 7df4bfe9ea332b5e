/* Outcome names and how per-object outcomes combine into the message's
   outcome (DESIGN.md section 3). */

#include "imip.h"
#include "outcome.h"

#include <glib.h>
#include <string.h>

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

char *imip_result_methods(const struct imip_result *result)
{
	GString *methods = g_string_new(NULL);

	for (unsigned int i = 0; i < result->parts->len; i++) {
		const struct imip_part_result *pr =
			g_ptr_array_index(result->parts, i);
		char **seen;
		bool again;

		if (pr->method == NULL)
			continue;
		seen = g_strsplit(methods->str, ",", -1);
		again = g_strv_contains((const char *const *)seen, pr->method);
		g_strfreev(seen);
		if (again)
			continue;
		if (methods->len > 0)
			g_string_append_c(methods, ',');
		g_string_append(methods, pr->method);
	}
	if (methods->len == 0)
		g_string_append_c(methods, '-');
	return g_string_free(methods, FALSE);
}

char *imip_result_first_uid(const struct imip_result *result)
{
	for (unsigned int i = 0; i < result->parts->len; i++) {
		const struct imip_part_result *pr =
			g_ptr_array_index(result->parts, i);

		if (pr->uid != NULL)
			return g_strdup(pr->uid);
	}
	return g_strdup("-");
}

char *imip_log_value(const char *value, bool quote_always)
{
	GString *s;
	bool quote = quote_always || value == NULL || *value == '\0';

	if (value == NULL)
		return g_strdup("-");
	s = g_string_new(NULL);
	for (const char *p = value; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || c == '"')
			g_string_append_c(s, '?');
		else
			g_string_append_c(s, (char)c);
		if (c == ' ')
			quote = true;
	}
	if (quote) {
		g_string_prepend_c(s, '"');
		g_string_append_c(s, '"');
	}
	return g_string_free(s, FALSE);
}
