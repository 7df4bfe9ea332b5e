#ifndef EXT_PROCESSCALENDAR_H
#define EXT_PROCESSCALENDAR_H

/* What the files of lib90_sieve_imip_plugin.so share: the Pigeonhole
   "processcalendar" extension (RFC 9671).  The plugin carries no calendar
   logic; the command hands its options to the delivery plugin
   (imip-sieve-api.h) and reports the outcome in Sieve variables. */

#include "sieve-common.h"

/* Per Sieve instance (a delivery creates one and destroys it again, so
   nothing here may outlive the instance, reference dovecot.md 12.3). */
struct ext_processcalendar_context {
	/* :outcome and :reason are variable names (RFC 5229) */
	const struct sieve_extension *var_ext;
};

extern const struct sieve_extension_def processcalendar_extension;
extern const struct sieve_command_def processcalendar_command;
extern const struct sieve_operation_def processcalendar_operation;

/* The Pigeonhole module interface of lib90_sieve_imip_plugin.so
   (module name "sieve_imip_plugin", sieve-plugins.c). */
extern const char *sieve_imip_plugin_version;
void sieve_imip_plugin_load(struct sieve_instance *svinst, void **context);
void sieve_imip_plugin_unload(struct sieve_instance *svinst, void *context);
void sieve_imip_plugin_init(void);
void sieve_imip_plugin_deinit(void);

#endif
