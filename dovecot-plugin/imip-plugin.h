#ifndef IMIP_PLUGIN_H
#define IMIP_PLUGIN_H

/* What the files of lib95_imip_plugin.so share: the per-user context, the
   settings and the functions one file offers the others.  Dovecot headers
   only: libimip is reached through imip-bridge.h (see there why). */

#include "lib.h"
#include "array.h"
#include "buffer.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage.h"
#include "mail-deliver.h"

#include "imip-bridge.h"

/* The plugin is built with -fvisibility=hidden: only what Dovecot and the
   Sieve plugin look up by name is exported. */
#define IMIP_EXPORT __attribute__((visibility("default")))

/* Module entry points (module-dir.c looks them up by name) */
IMIP_EXPORT void imip_plugin_init(struct module *module);
IMIP_EXPORT void imip_plugin_deinit(void);

#define IMIP_CONFIG_DEFAULT "/etc/imip-agent/imip.conf"
#define IMIP_KEYWORD "$iMIP"
#define IMIP_KEYWORD_PREFIX "$iMIP-"

enum imip_trigger {
	/* the deliver hook processes every message */
	IMIP_TRIGGER_AUTO,
	/* only a Sieve processcalendar processes */
	IMIP_TRIGGER_SIEVE,
};

/* plugin { imip_* } with userdb extra fields overriding them per user */
struct imip_settings {
	const char *config_path;	/* imip_config */
	const char *role;		/* imip_role: "person" or "resource" */
	enum imip_trigger trigger;	/* imip_trigger */
	const char *address;		/* imip_address, lower case, or NULL */
};

struct imip_user {
	union mail_user_module_context module_ctx;
	struct mail_user *user;
	struct event *event;		/* category "imip", prefix "imip: " */
	struct imip_settings set;

	/* imip.conf and the store, opened on first use */
	struct imip_bridge *bridge;
	const char *bridge_error;	/* why opening failed, or NULL */
	bool bridge_tried;

	/* Per delivery.  In LDA and LMTP alike every recipient gets a mail_user
	   of its own, so this never mixes two recipients; it is reset at the
	   start of each deliver hook call all the same. */
	pool_t delivery_pool;
	/* the deliver context, only while the deliver hook runs (the Sieve
	   plugin's processcalendar needs its smtp_set) */
	struct mail_deliver_context *dctx;
	/* child of dctx->event while the hook runs; NULL otherwise */
	struct event *delivery_event;
	/* imip_address, else ORCPT, else the final recipient, lower case */
	const char *calendar_address;
	/* Keywords for every copy of the message saved for this user: set by
	   processing, applied by the v.copy override (imip-keywords.c).  Not
	   cleared when the hook returns: LDA's default save comes after. */
	ARRAY_TYPE(const_string) keywords;
	/* the outcome processing reached (auto: in the hook), for Sieve */
	const char *outcome, *reason;
	bool processed;
};

extern MODULE_CONTEXT_DEFINE(imip_user_module, &mail_user_module_register);
#define IMIP_USER_CONTEXT(obj) MODULE_CONTEXT(obj, imip_user_module)

/* imip-plugin.c */
/* a child of PARENT with category "imip" and log prefix "imip: " */
struct event *imip_event_create(struct event *parent);
/* the event to log on: the delivery's while the hook runs, else the user's */
struct event *imip_user_event(struct imip_user *iuser);
/* the bridge, opened on first use; NULL with *error_r when imip_config
   cannot be loaded (the error is remembered: no second attempt) */
struct imip_bridge *imip_user_bridge(struct imip_user *iuser,
				     const char **error_r);
/* forget the previous delivery's state */
void imip_user_delivery_reset(struct imip_user *iuser);
/* remember the outcome for Sieve (copied into the delivery pool) */
void imip_user_set_outcome(struct imip_user *iuser, const char *outcome,
			   const char *reason);

/* imip-settings.c */
void imip_settings_read(struct mail_user *user, struct event *event,
			pool_t pool, struct imip_settings *set_r);
const char *imip_trigger_name(enum imip_trigger trigger);

/* imip-keywords.c */
void imip_keywords_mailbox_allocated(struct mailbox *box);
/* replace the pending keywords with $iMIP and $iMIP-<outcome> */
void imip_keywords_set(struct imip_user *iuser, const char *outcome);
/* the pending keywords as a NULL-terminated list (data stack), or NULL */
const char *const *imip_keywords_get(struct imip_user *iuser);

/* imip-send.c */
/* An imip_bridge_send_func_t (context: the struct imip_user, whose dctx
   and its smtp_set must be set): one reply through Dovecot's submission
   settings.  The library calls it while it processes, so the outcome
   says whether the replies left, and queues what did not (outbox). */
int imip_send_reply(void *context, const char *from, const char *rcpt,
		    const void *data, size_t size, const char **error_r);
/* Without a delivery in progress (DCTX or its smtp_set NULL) the replies
   of a result cannot be sent: logs that they were not. */
void imip_send_replies(struct imip_user *iuser,
		       struct mail_deliver_context *dctx,
		       const struct imip_bridge_result *result);

/* imip-deliver.c */
void imip_deliver_hooks_init(void);
void imip_deliver_hooks_deinit(void);
/* Read MAIL, run the library for ADDRESS, then log the outcome line, set
   the pending keywords, remember the outcome and send the replies (through
   iuser->dctx).  Returns the result, or NULL when imip_config cannot be
   loaded (logged; the outcome "error" is remembered).  *data_r gets the
   bytes the library saw (free with buffer_free()), *truncated_r whether
   the message was longer than the library's limit. */
struct imip_bridge_result *
imip_process_mail(struct imip_user *iuser, struct mail *mail,
		  const char *envelope_sender, const char *address,
		  const struct imip_bridge_options *options,
		  buffer_t **data_r, bool *truncated_r);

/* imip-sieve.c: the table the Sieve plugin finds with dlsym() */
struct imip_sieve_api;
IMIP_EXPORT extern const struct imip_sieve_api imip_plugin_sieve_api;

#endif
