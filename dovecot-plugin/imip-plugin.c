/* lib95_imip_plugin.so: imip-agent inside Dovecot's LDA and LMTP.

   The file name sorts after lib90_sieve_plugin.so on purpose: plugins are
   initialised in file-name order, Pigeonhole's deliver hook does not call
   the one it replaces, so ours must be installed last and call Sieve's
   itself (reference dovecot.md 3.3). */

#include "imip-plugin.h"
#include "mail-storage-hooks.h"

/* module-dir.c reads <name>_version as a pointer, but
   <name>_binary_dependency as the string itself */
IMIP_EXPORT extern const char *imip_plugin_version;
IMIP_EXPORT extern const char imip_plugin_binary_dependency[];

const char *imip_plugin_version = DOVECOT_ABI_VERSION;
/* it uses lib-lda: doveadm, imap and friends must refuse to load it */
const char imip_plugin_binary_dependency[] = "lda lmtp";

struct imip_user_module imip_user_module =
	MODULE_CONTEXT_INIT(&mail_user_module_register);

static struct event_category event_category_imip = {
	.name = "imip",
};

struct event *imip_event_create(struct event *parent)
{
	struct event *event = event_create(parent);

	event_add_category(event, &event_category_imip);
	event_set_append_log_prefix(event, "imip: ");
	return event;
}

struct event *imip_user_event(struct imip_user *iuser)
{
	return iuser->delivery_event != NULL ? iuser->delivery_event :
		iuser->event;
}

struct imip_bridge *imip_user_bridge(struct imip_user *iuser,
				     const char **error_r)
{
	char *error = NULL;

	if (iuser->bridge != NULL || iuser->bridge_tried) {
		*error_r = iuser->bridge_error;
		return iuser->bridge;
	}
	iuser->bridge_tried = TRUE;
	if (imip_bridge_get(iuser->set.config_path, &iuser->bridge,
			     &error) < 0) {
		iuser->bridge_error = p_strdup_printf(iuser->user->pool,
			"cannot load imip_config %s: %s", iuser->set.config_path,
			error != NULL ? error : "unknown error");
		imip_bridge_free_string(error);
		iuser->bridge = NULL;
	}
	*error_r = iuser->bridge_error;
	return iuser->bridge;
}

void imip_user_delivery_reset(struct imip_user *iuser)
{
	if (iuser->delivery_pool != NULL)
		pool_unref(&iuser->delivery_pool);
	iuser->delivery_pool = pool_alloconly_create("imip delivery", 1024);
	p_array_init(&iuser->keywords, iuser->delivery_pool, 2);
	iuser->calendar_address = NULL;
	iuser->outcome = NULL;
	iuser->reason = NULL;
	iuser->processed = FALSE;
}

void imip_user_set_outcome(struct imip_user *iuser, const char *outcome,
			   const char *reason)
{
	iuser->outcome = p_strdup(iuser->delivery_pool, outcome);
	iuser->reason = p_strdup(iuser->delivery_pool,
				 reason != NULL ? reason : "");
	iuser->processed = TRUE;
}

static void imip_user_deinit(struct mail_user *user)
{
	struct imip_user *iuser = IMIP_USER_CONTEXT(user);

	i_assert(iuser != NULL);
	imip_bridge_unref(&iuser->bridge);
	if (iuser->delivery_pool != NULL)
		pool_unref(&iuser->delivery_pool);
	event_unref(&iuser->event);
	iuser->module_ctx.super.deinit(user);
}

static void imip_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct imip_user *iuser;

	/* Raw users (the message being delivered, our own replacement
	   message) and shared-mailbox users are not calendar users. */
	if (user->autocreated)
		return;

	iuser = p_new(user->pool, struct imip_user, 1);
	iuser->user = user;
	iuser->module_ctx.super = *v;
	user->vlast = &iuser->module_ctx.super;
	v->deinit = imip_user_deinit;

	iuser->event = imip_event_create(user->event);
	imip_settings_read(user, iuser->event, user->pool, &iuser->set);
	imip_user_delivery_reset(iuser);
	e_debug(iuser->event, "config=%s role=%s trigger=%s address=%s",
		iuser->set.config_path, iuser->set.role,
		imip_trigger_name(iuser->set.trigger),
		iuser->set.address != NULL ? iuser->set.address : "-");
	MODULE_CONTEXT_SET(user, imip_user_module, iuser);
}

static struct mail_storage_hooks imip_mail_storage_hooks = {
	.mail_user_created = imip_mail_user_created,
	.mailbox_allocated = imip_keywords_mailbox_allocated,
};

void imip_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &imip_mail_storage_hooks);
	imip_deliver_hooks_init();
}

void imip_plugin_deinit(void)
{
	imip_deliver_hooks_deinit();
	mail_storage_hooks_remove(&imip_mail_storage_hooks);
	imip_bridge_cache_clear();
}
