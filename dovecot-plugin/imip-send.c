/* Replies the library wants sent (REFRESH answers, VFREEBUSY replies, the
   REFRESH for an ADD of an unknown event) leave through Dovecot's own
   submission settings, exactly like Sieve's vacation and redirect: the
   deliver context's smtp_set (submission_host, else sendmail_path), so an
   administrator configures nothing new for the plugin. */

#include "imip-plugin.h"
#include "ostream.h"
#include "smtp-address.h"
#include "smtp-submit.h"
#include "iostream-ssl.h"
#include "str-sanitize.h"

static int imip_send_one(struct imip_user *iuser,
			 struct mail_deliver_context *dctx,
			 const char *from, const char *rcpt,
			 const void *data, size_t size, const char **error_r)
{
	struct smtp_address *mail_from, *rcpt_to;
	struct ssl_iostream_settings ssl_set;
	struct smtp_submit_input input;
	struct smtp_submit *submit;
	struct ostream *output;
	const char *error;
	int ret;

	if (smtp_address_parse_mailbox(pool_datastack_create(), from, 0,
				       &mail_from, &error) < 0) {
		*error_r = t_strdup_printf("invalid sender <%s>: %s",
					   str_sanitize(from, 80), error);
		return 0;
	}
	if (smtp_address_parse_mailbox(pool_datastack_create(), rcpt, 0,
				       &rcpt_to, &error) < 0) {
		*error_r = t_strdup_printf("invalid recipient <%s>: %s",
					   str_sanitize(rcpt, 80), error);
		return 0;
	}

	i_zero(&ssl_set);
	mail_user_init_ssl_client_settings(iuser->user, &ssl_set);
	i_zero(&input);
	input.ssl = &ssl_set;
	input.event_parent = imip_user_event(iuser);

	submit = smtp_submit_init_simple(&input, dctx->smtp_set, mail_from);
	smtp_submit_add_rcpt(submit, rcpt_to);
	output = smtp_submit_send(submit);
	o_stream_nsend(output, data, size);
	ret = smtp_submit_run(submit, &error);
	smtp_submit_deinit(&submit);
	if (ret <= 0)
		*error_r = error != NULL ? error : "unknown error";
	return ret;
}

int imip_send_reply(void *context, const char *from, const char *rcpt,
		    const void *data, size_t size, const char **error_r)
{
	struct imip_user *iuser = context;
	int ret = imip_send_one(iuser, iuser->dctx, from, rcpt, data, size,
				error_r);

	if (ret > 0)
		e_info(imip_user_event(iuser), "sent reply from <%s> to <%s>",
		       str_sanitize(from, 80), str_sanitize(rcpt, 80));
	return ret;
}

void imip_send_replies(struct imip_user *iuser,
		       struct mail_deliver_context *dctx,
		       const struct imip_bridge_result *result)
{
	unsigned int count = imip_bridge_result_outgoing_count(result);

	if (count == 0 || (dctx != NULL && dctx->smtp_set != NULL))
		return;
	e_warning(imip_user_event(iuser),
		  "%u repl%s not sent: no delivery in progress "
		  "(no submission settings)", count, count == 1 ? "y" : "ies");
}
