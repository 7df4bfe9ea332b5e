/* lib90_sieve_imip_plugin.so: Pigeonhole plugin registering the RFC 9671
   "processcalendar" extension.  Loaded by every Pigeonhole user (LDA, LMTP,
   sievec, sieve-test, managesieve, imapsieve), so it links nothing of
   imip-agent's and finds the delivery plugin only at run time. */

#include "lib.h"
#include "sieve-common.h"
#include "sieve-extensions.h"

#include "ext-processcalendar.h"

/* Built with -fvisibility=hidden: only Pigeonhole's module symbols are
   exported, so nothing of ours can collide with the host or the delivery
   plugin (both are dlopen()ed RTLD_GLOBAL). */
#define SIEVE_IMIP_EXPORT __attribute__((visibility("default")))

struct sieve_imip_plugin_context {
	const struct sieve_extension *ext;
};

SIEVE_IMIP_EXPORT const char *sieve_imip_plugin_version =
	PIGEONHOLE_ABI_VERSION;

/* Called once per Sieve instance.  load = FALSE: the extension stays
   disabled until the administrator adds +processcalendar to
   sieve_extensions (or sieve_global_extensions), like the extprograms
   plugin does: a script should not change calendars on a server whose
   administrator did not ask for it. */
SIEVE_IMIP_EXPORT void
sieve_imip_plugin_load(struct sieve_instance *svinst, void **context)
{
	struct sieve_imip_plugin_context *pctx =
		i_new(struct sieve_imip_plugin_context, 1);

	pctx->ext = sieve_extension_register(svinst, &processcalendar_extension,
					     FALSE);
	if (svinst->debug) {
		e_debug(svinst->event, "Sieve imip plugin (processcalendar) "
			"for %s version %s loaded",
			PIGEONHOLE_NAME, PIGEONHOLE_VERSION_FULL);
	}
	*context = pctx;
}

SIEVE_IMIP_EXPORT void
sieve_imip_plugin_unload(struct sieve_instance *svinst ATTR_UNUSED,
			 void *context)
{
	struct sieve_imip_plugin_context *pctx = context;

	if (pctx->ext != NULL)
		sieve_extension_unregister(pctx->ext);
	i_free(pctx);
}

/* module_dir_load() insists on these (require_init_funcs), but
   sieve_plugins_load() never calls them: all work happens in _load. */
SIEVE_IMIP_EXPORT void sieve_imip_plugin_init(void)
{
}

SIEVE_IMIP_EXPORT void sieve_imip_plugin_deinit(void)
{
}
