/* Extension "processcalendar" (RFC 9671)
 * --------------------------------------
 *
 * Specification: RFC 9671, plus the :invitesonly tag of Cyrus IMAP.
 * Deviation: :organizers takes a string list of addresses, not an
 * RFC 6134 external list name (Pigeonhole has no "extlists").
 * Implementation: the command; the calendar work is the delivery plugin's
 * (lib95_imip_plugin.so, imip-sieve-api.h).
 */

#include "lib.h"

#include "sieve-common.h"
#include "sieve-extensions.h"
#include "sieve-validator.h"
#include "sieve-ext-variables.h"

#include "ext-processcalendar.h"

static bool
ext_processcalendar_load(const struct sieve_extension *ext, void **context);
static void ext_processcalendar_unload(const struct sieve_extension *ext);
static bool
ext_processcalendar_validator_load(const struct sieve_extension *ext,
				   struct sieve_validator *valdtr);

const struct sieve_extension_def processcalendar_extension = {
	.name = "processcalendar",
	.load = ext_processcalendar_load,
	.unload = ext_processcalendar_unload,
	.validator_load = ext_processcalendar_validator_load,
	SIEVE_EXT_DEFINE_OPERATION(processcalendar_operation),
};

static bool
ext_processcalendar_load(const struct sieve_extension *ext, void **context)
{
	struct ext_processcalendar_context *ectx;

	/* load is called again when the extension is reconfigured */
	if (*context != NULL) {
		ext_processcalendar_unload(ext);
		*context = NULL;
	}

	ectx = i_new(struct ext_processcalendar_context, 1);
	/* Registers "variables" if nobody has yet; whether a script may use
	   :outcome/:reason is decided per script at validation time
	   (require "variables"). */
	ectx->var_ext = sieve_ext_variables_get_extension(ext->svinst);
	*context = ectx;
	return TRUE;
}

static void ext_processcalendar_unload(const struct sieve_extension *ext)
{
	struct ext_processcalendar_context *ectx = ext->context;

	i_free(ectx);
}

static bool
ext_processcalendar_validator_load(const struct sieve_extension *ext,
				   struct sieve_validator *valdtr)
{
	sieve_validator_register_command(valdtr, ext, &processcalendar_command);
	return TRUE;
}
