/* imip_plugin_sieve_api: what the Sieve plugin's processcalendar calls
   (imip-sieve-api.h).  It runs inside the next deliver hook (Sieve's),
   which imip-deliver.c calls, so the user context still holds this
   delivery's state: the deliver context (for sending replies), the
   calendar address and, with imip_trigger = auto, the outcome reached.

   With imip_trigger = sieve the mailbox copy stays the original: the
   `incoming` preference needs the message replaced before Sieve runs,
   and here Sieve is already running.  The keywords still apply, through
   the v.copy override, to whatever the script keeps or files. */

#include "imip-plugin.h"
#include "str-sanitize.h"

#include "imip-sieve-api.h"

/* RFC 9671 :reason explains why nothing (or not the expected thing)
   happened; a plain success leaves it empty, as docs/dovecot.md says. */
static bool imip_sieve_outcome_is_success(const char *outcome)
{
	return strcmp(outcome, "added") == 0 ||
		strcmp(outcome, "updated") == 0 ||
		strcmp(outcome, "cancelled") == 0 ||
		strcmp(outcome, "replied") == 0;
}

static void imip_sieve_respond(pool_t pool, struct imip_sieve_response *resp,
			       const char *outcome, const char *reason)
{
	resp->outcome = p_strdup(pool, outcome);
	resp->reason = p_strdup(pool, reason == NULL ||
				imip_sieve_outcome_is_success(outcome) ?
				"" : reason);
}

/* The address processcalendar acts for: :calendarid when it names one of
   the user's addresses, else the one the deliver hook worked out. */
static const char *
imip_sieve_address(struct imip_user *iuser,
		   const struct imip_sieve_request *req, const char **error_r)
{
	const char *address = iuser->calendar_address;
	unsigned int i;

	if (address == NULL)
		address = iuser->set.address;
	if (address == NULL && req->recipient != NULL)
		address = t_str_lcase(req->recipient);
	if (req->calendar_id == NULL || *req->calendar_id == '\0') {
		if (address == NULL)
			*error_r = "no calendar address for this delivery";
		return address;
	}
	if (address != NULL && strcasecmp(req->calendar_id, address) == 0)
		return address;
	for (i = 0; req->addresses != NULL && req->addresses[i] != NULL; i++) {
		if (strcasecmp(req->calendar_id, req->addresses[i]) == 0)
			return t_str_lcase(req->calendar_id);
	}
	*error_r = t_strdup_printf("calendarid %s is not one of the user's "
				   "addresses", str_sanitize(req->calendar_id, 80));
	return NULL;
}

static void imip_sieve_process_now(struct imip_user *iuser,
				   const struct imip_sieve_request *req,
				   pool_t pool,
				   struct imip_sieve_response *resp)
{
	struct imip_bridge_options options;
	struct imip_bridge_result *result;
	const char *address, *error = NULL;
	const char *prev_outcome = iuser->outcome;
	buffer_t *data;
	bool truncated;

	address = imip_sieve_address(iuser, req, &error);
	if (address == NULL) {
		e_error(imip_user_event(iuser), "processcalendar: %s", error);
		imip_sieve_respond(pool, resp, "error", error);
		return;
	}

	i_zero(&options);
	options.allow_public = req->allow_public;
	options.invites_only = req->invites_only;
	options.updates_only = req->updates_only;
	options.delete_cancelled = req->delete_cancelled;
	options.addresses = req->addresses;
	options.organizers = req->organizers;

	/* A script calling processcalendar twice gets "already processed"
	   (no_action) the second time: keep the keywords of the first. */
	if (prev_outcome != NULL && array_count(&iuser->keywords) > 0) {
		ARRAY_TYPE(const_string) saved;

		t_array_init(&saved, 2);
		array_append_array(&saved, &iuser->keywords);
		result = imip_process_mail(iuser, req->mail,
					   req->envelope_sender, address,
					   &options, &data, &truncated);
		if (result != NULL &&
		    strcmp(imip_bridge_result_outcome(result), "no_action") == 0) {
			array_clear(&iuser->keywords);
			array_append_array(&iuser->keywords, &saved);
		}
	} else {
		result = imip_process_mail(iuser, req->mail,
					   req->envelope_sender, address,
					   &options, &data, &truncated);
	}
	imip_sieve_respond(pool, resp, iuser->outcome, iuser->reason);
	imip_bridge_result_free(&result);
	if (data != NULL)
		buffer_free(&data);
}

static void imip_sieve_process(const struct imip_sieve_request *req,
			       pool_t pool, struct imip_sieve_response *resp)
{
	struct imip_user *iuser =
		req->user == NULL ? NULL : IMIP_USER_CONTEXT(req->user);

	if (iuser == NULL) {
		imip_sieve_respond(pool, resp, "error", "the imip mail plugin "
				   "is not enabled for this user");
		return;
	}
	if (iuser->set.trigger == IMIP_TRIGGER_AUTO) {
		/* processed once, in the deliver hook */
		if (iuser->processed) {
			imip_sieve_respond(pool, resp, iuser->outcome,
					   iuser->reason);
		} else {
			imip_sieve_respond(pool, resp, "error",
				"the message was not processed at delivery");
		}
		return;
	}
	if (req->mail == NULL) {
		imip_sieve_respond(pool, resp, "error", "no message");
		return;
	}
	T_BEGIN {
		imip_sieve_process_now(iuser, req, pool, resp);
	} T_END;
}

const struct imip_sieve_api imip_plugin_sieve_api = {
	.version = IMIP_SIEVE_API_VERSION,
	.process = imip_sieve_process,
};
