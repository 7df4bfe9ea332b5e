#ifndef IMIP_CONFIG_H
#define IMIP_CONFIG_H

/* imip.conf(5): one `key = value` per line, `#` starts a comment line,
   blank lines ignored, surrounding white space trimmed.  Unknown keys are a
   configuration error (a typo must not silently keep a default), except
   `default_<preference>` keys, which are checked against the preference
   table. */

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#define IMIP_CONFIG_DEFAULT_PATH "/etc/imip-agent/imip.conf"

/* Limits of DESIGN.md rule 3.  Exceeding one gives an outcome naming the
   key, never a crash; the mail is still delivered. */
struct imip_limits {
	size_t message_size;		/* limit_message_size, bytes */
	unsigned int mime_parts;	/* limit_mime_parts */
	unsigned int mime_depth;	/* limit_mime_depth */
	size_t calendar_size;		/* limit_calendar_size, bytes */
	unsigned int components;	/* limit_components (per VCALENDAR) */
	unsigned int attendees;		/* limit_attendees (per component) */
	unsigned int instances;		/* limit_instances (recurrence) */
};

/* The Cyrus annotation_callout hook (imip-cyrus-annotator(8)).  Settings
   left unset (-1, NULL) are taken from Cyrus's own imapd.conf at run
   time, so the two cannot disagree by accident. */
struct imip_cyrus_config {
	char *socket_path;		/* /run/imip-agent/cyrus-annotator.sock */
	char *imapd_conf;		/* /etc/imapd.conf */
	int unixhierarchysep;		/* -1 unset, else 0/1 */
	char *default_domain;		/* NULL unset */
	GPtrArray *folders;		/* char *: "INBOX", "Work/Invites", "*" */
	GPtrArray *resources;		/* char *: normalised addresses */
	unsigned int answer_timeout;	/* seconds, 5 (Cyrus waits 10) */
	unsigned int max_workers;	/* 16 */
};

enum imip_log_target {
	IMIP_LOG_TARGET_SYSLOG,
	IMIP_LOG_TARGET_STDERR,
};

/* require_authentication (DESIGN.md rule 4, authres.h) */
enum imip_require_auth {
	IMIP_REQUIRE_AUTH_NONE,
	IMIP_REQUIRE_AUTH_DMARC,
};

/* store_backend (docs/store.md, docs/postgresql.md) */
enum imip_store_backend {
	IMIP_STORE_BACKEND_FILE,
	IMIP_STORE_BACKEND_POSTGRESQL,
};

/* store_fsync (docs/store.md 6): which writes wait for the disk */
enum imip_store_fsync {
	IMIP_STORE_FSYNC_OPTIMIZED,	/* the truth; not derived files */
	IMIP_STORE_FSYNC_ALWAYS,	/* every file */
};

struct imip_config {
	/* Where calendar state lives: the files below store_dir (default)
	   or a PostgreSQL database reached with store_conninfo, a libpq
	   connection string (required with postgresql; NULL unset). */
	enum imip_store_backend store_backend;
	char *store_conninfo;
	char *store_dir;		/* /var/lib/imip-agent/store */
	enum imip_store_fsync store_fsync;	/* optimized */
	char *preferences_dir;		/* /var/lib/imip-agent/preferences */
	char *journal_dir;		/* /var/lib/imip-agent/journal */
	char *static_dir;		/* /var/www/imip-agent/static */
	char *calendar_sender;		/* calendar@<hostname> if unset */
	char *sendmail_path;		/* /usr/sbin/sendmail */
	char *submission_host;		/* NULL: use sendmail_path */
	/* outbox_lifetime: seconds a reply that could not be sent stays
	   queued for another attempt (outbox.h); 5 days */
	unsigned int outbox_lifetime;
	GPtrArray *local_domains;	/* char *, lower case; may be empty */
	char *default_tzid;		/* /etc/timezone, else UTC */
	unsigned int freebusy_horizon_days;	/* 365 */
	bool counter_as_request;	/* true */
	/* Sieve script deciding whether imip-shim (and the Cyrus hook)
	   process a message at all (trigger.h); absolute path, NULL unset */
	char *trigger_sieve;
	/* Sender authentication of incoming person and resource mail:
	   none (default) or dmarc, with the authserv-ids whose
	   Authentication-Results headers are believed (required, non-empty,
	   with dmarc), a header the local submission service adds
	   ("Name: value", both NULL when unset) and the local TCP ports on
	   which only mail from local submission reaches the delivery agent
	   (a dedicated Dovecot LMTP listener; may be empty). */
	enum imip_require_auth require_authentication;
	GPtrArray *trusted_authserv_ids;	/* char *, as written */
	char *trusted_submission_name;
	char *trusted_submission_value;
	GArray *trusted_submission_ports;	/* unsigned int, 1..65535 */
	enum imip_log_target log_target;	/* syslog */
	char *syslog_facility;		/* "mail" */
	struct imip_limits limits;
	struct imip_cyrus_config cyrus;
	/* Site defaults of per-user preferences: `default_<name> = value`.
	   name -> value, both owned by the table. */
	GHashTable *pref_defaults;
};

/* A config with every default filled in (what an empty file gives). */
struct imip_config *imip_config_new_defaults(void);

/* Read `path`.  Returns 0 and the config, or -1 with an error naming the
   file, line and key (caller frees *error_r with g_free). */
int imip_config_load(const char *path, struct imip_config **config_r,
		     char **error_r);

/* Parse an in-memory imip.conf text (used by imip_config_load and tests).
   `origin` names the text in errors. */
int imip_config_parse(const char *text, size_t len, const char *origin,
		      struct imip_config **config_r, char **error_r);

void imip_config_free(struct imip_config **config);

/* syslog_facility as the LOG_* value openlog(3) takes. */
int imip_config_syslog_facility(const struct imip_config *config);

/* true if `port`, the local TCP port a message reached the delivery agent
   on, is one of trusted_submission_ports.  Port 0 (unknown, or not a TCP
   connection) is never trusted. */
bool imip_config_is_submission_port(const struct imip_config *config,
				    unsigned int port);

/* true if the address's domain is one of local_domains (case-insensitive).
   An empty local_domains list means "no domain is known to be local". */
bool imip_config_is_local_address(const struct imip_config *config,
				  const char *address);

#endif
