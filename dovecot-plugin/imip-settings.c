/* plugin { imip_config, imip_role, imip_trigger, imip_address }.

   mail_user_plugin_getenv() is enough for per-user overrides: every userdb
   extra field that is not a known setting becomes plugin/<key>
   (mail-storage-service.c set_line()), so a userdb field imip_trigger=sieve
   beats the plugin {} value for that user alone. */

#include "imip-plugin.h"

const char *imip_trigger_name(enum imip_trigger trigger)
{
	return trigger == IMIP_TRIGGER_SIEVE ? "sieve" : "auto";
}

static const char *
imip_settings_get(struct mail_user *user, const char *name)
{
	const char *value = mail_user_plugin_getenv(user, name);

	return value == NULL || *value == '\0' ? NULL : value;
}

void imip_settings_read(struct mail_user *user, struct event *event,
			pool_t pool, struct imip_settings *set_r)
{
	const char *value;

	i_zero(set_r);
	value = imip_settings_get(user, "imip_config");
	set_r->config_path = p_strdup(pool, value != NULL ? value :
				      IMIP_CONFIG_DEFAULT);

	/* "resource" is handed to the library as it is: until resources
	   exist there, it answers no_action with a reason saying so. */
	value = imip_settings_get(user, "imip_role");
	if (value == NULL || strcasecmp(value, "person") == 0)
		set_r->role = "person";
	else if (strcasecmp(value, "resource") == 0)
		set_r->role = "resource";
	else {
		e_warning(event, "imip_role=%s is neither person nor resource: "
			  "using person", value);
		set_r->role = "person";
	}

	value = imip_settings_get(user, "imip_trigger");
	if (value == NULL || strcasecmp(value, "auto") == 0)
		set_r->trigger = IMIP_TRIGGER_AUTO;
	else if (strcasecmp(value, "sieve") == 0)
		set_r->trigger = IMIP_TRIGGER_SIEVE;
	else {
		e_warning(event, "imip_trigger=%s is neither auto nor sieve: "
			  "using auto", value);
		set_r->trigger = IMIP_TRIGGER_AUTO;
	}

	value = imip_settings_get(user, "imip_address");
	if (value != NULL) {
		if (strncasecmp(value, "mailto:", 7) == 0)
			value += 7;
		set_r->address = p_strdup(pool, t_str_lcase(value));
	}
}
