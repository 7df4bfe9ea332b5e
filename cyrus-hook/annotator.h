#ifndef IMIP_ANNOTATOR_H
#define IMIP_ANNOTATOR_H

/* imip-cyrus-annotator: what every request needs (the configuration and
   what Cyrus's imapd.conf says), and its logging. */

#include <stdbool.h>
#include <glib.h>

struct imip_config;

/* The annotations answered with every processed message; conf/cyrus/
   annotations.conf declares them to Cyrus. */
#define ANNOTATOR_ENTRY_OUTCOME "/vendor/imip-agent/outcome"
#define ANNOTATOR_ENTRY_REASON "/vendor/imip-agent/reason"
/* The same keywords the Dovecot plugin sets */
#define ANNOTATOR_FLAG "$iMIP"
#define ANNOTATOR_FLAG_PREFIX "$iMIP-"

struct annotator {
	struct imip_config *config;
	/* imip.conf, else imapd.conf, else Cyrus 3.6's default (yes) */
	bool unixhierarchysep;
	/* for users without a virtual domain: imip.conf
	   cyrus_default_domain, imapd.conf defaultdomain, the first of
	   local_domains; NULL when none is known */
	char *default_domain;
	/* Cyrus declared our annotations (else flags only) */
	bool send_annotations;
};

/* Load imip.conf and the imapd.conf it names.  -1 with *error_r (caller
   frees) when imip.conf is unusable; problems with imapd.conf are logged
   and give the safe choice (no annotations). */
int annotator_load(struct annotator *annotator, const char *config_path,
		   char **error_r);
void annotator_unload(struct annotator *annotator);

/* syslog or stderr, as imip.conf log_target says (stderr until
   annotator_log_open()). */
void annotator_log_open(const struct imip_config *config);
/* What the store backend needs loaded (store_prepare(): libpq), once in
   the process that forks the workers rather than in each worker (one
   per message); a failure is logged, and each message then reports it. */
void annotator_prepare_store(const struct annotator *a);
void annotator_log(int priority, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
