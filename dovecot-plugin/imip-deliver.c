/* The deliver_mail hook: once per recipient, before Sieve, in LDA and LMTP.

   Rule one: nothing here makes a delivery fail or tempfail.  Every path
   ends by handing over to the previous hook (Sieve's) and returns what it
   returned; our own problems are logged and the message goes on unchanged.

   The mailbox copy (the `incoming` preference).  The library may give
   messages that the mailbox receives instead of the original: a wrapper,
   a summary, or a summary next to the original.  Exactly one of them goes
   through the rest of the delivery (Sieve, then the default save), so
   Sieve filters it as it would have filtered the original:
     - the original itself, when it is among them (summary-then-message,
       message-then-summary): src_mail is left alone;
     - else the last one (summary-wraps-message, summary-only): it is
       opened as a raw mail and becomes dctx->src_mail while Sieve runs.
   The others are saved straight into the default mailbox, those before it
   before the hook runs and those after it after, so that a plain keep
   leaves them in the mailbox in the library's order.  All carry the $iMIP
   keywords.  If the replacement cannot be set up the original is delivered
   (logged). */

#include "imip-plugin.h"
#include "istream.h"
#include "istream-concat.h"
#include "str.h"
#include "str-sanitize.h"
#include "smtp-address.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "raw-storage.h"
#include "lda-settings.h"

#include <sys/stat.h>

/* Mail processes run with umask 0077 (mail_storage_service_init()), which
   would turn the store's 2770/0660 (docs/installation.md) into 2700/0600
   and lock imip-shim and imip-admin, running as imip-agent, out of what
   the plugin creates.  The library runs with this one instead; group
   access is then up to the store directories' group and set-group-ID
   bit, and mail_access_groups. */
#define IMIP_UMASK 0007

static deliver_mail_func_t *imip_next_deliver_mail;

/* One delivery's state outside the data stack: it lives across the call
   of the next hook. */
struct imip_delivery {
	struct imip_user *iuser;
	struct mail_deliver_context *dctx;
	struct imip_bridge_result *result;
	buffer_t *data;
	bool truncated;

	/* the mailbox copy: messages [0, pass) are saved before the next
	   hook, [pass+1, count) after it; pass goes through the delivery */
	unsigned int count, pass;
	bool use_mailbox;
	/* LMTP's Return-Path and Delivered-To of the original, for the
	   messages the library composed (delivery pool) */
	const char *trace;

	/* the replacement src_mail (pass is not the original) */
	struct mail_user *raw_user;
	struct mailbox *raw_box;
	struct mailbox_transaction_context *raw_trans;
	struct mail *raw_mail;
};

/* --- reading the message and running the library ------------------------ */

static void imip_library_log(void *context, enum imip_bridge_log_level level,
			     const char *message)
{
	struct imip_user *iuser = context;
	struct event *event = imip_user_event(iuser);

	switch (level) {
	case IMIP_BRIDGE_LOG_DEBUG:
		e_debug(event, "%s", message);
		break;
	case IMIP_BRIDGE_LOG_INFO:
		e_info(event, "%s", message);
		break;
	case IMIP_BRIDGE_LOG_WARNING:
		e_warning(event, "%s", message);
		break;
	case IMIP_BRIDGE_LOG_ERROR:
	default:
		e_error(event, "%s", message);
		break;
	}
}

/* At most LIMIT + 1 bytes: enough for the library to see the message is
   over limit_message_size and say so, without reading a huge message. */
static int imip_read_mail(struct mail *mail, size_t limit, buffer_t **data_r,
			  bool *truncated_r, const char **error_r)
{
	struct istream *input;
	const unsigned char *p;
	size_t size, max;
	buffer_t *data;
	ssize_t ret;

	*truncated_r = FALSE;
	if (mail_get_stream_because(mail, NULL, NULL, "imip", &input) < 0) {
		*error_r = mailbox_get_last_internal_error(mail->box, NULL);
		return -1;
	}
	max = limit < SIZE_MAX ? limit + 1 : limit;
	data = buffer_create_dynamic(default_pool, I_MIN(max, 65536));
	while ((ret = i_stream_read_more(input, &p, &size)) > 0) {
		if (size > max - data->used)
			size = max - data->used;
		buffer_append(data, p, size);
		i_stream_skip(input, size);
		if (data->used >= max)
			break;
	}
	if (input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s",
					   i_stream_get_name(input),
					   i_stream_get_error(input));
		buffer_free(&data);
		return -1;
	}
	*truncated_r = data->used > limit;
	*data_r = data;
	return 0;
}

/* Whether the message may hold calendar data: the test of
   mime_message_read_if_calendar(), run line by line over Dovecot's own
   stream, so that ordinary mail -- nearly all of it -- is neither copied
   nor parsed (bench/dovecot.sh measures what that saves).  Errors, and a
   line longer than the stream's buffer, answer "maybe": the full read
   then reports them or looks properly.  Leaves the stream at offset 0. */
static bool imip_mail_may_hold_calendar(struct mail *mail)
{
	struct istream *input;
	const unsigned char *p, *nl;
	size_t size, used;
	ssize_t ret;
	bool in_field = FALSE, found = FALSE;

	if (mail_get_stream_because(mail, NULL, NULL, "imip", &input) < 0)
		return TRUE;
	while (!found && (ret = i_stream_read_more(input, &p, &size)) > 0) {
		used = 0;
		while (!found &&
		       (nl = memchr(p + used, '\n', size - used)) != NULL) {
			found = imip_bridge_line_names_calendar(
				p + used, (size_t)(nl - (p + used)), &in_field);
			used = (size_t)(nl - p) + 1;
		}
		i_stream_skip(input, used);
	}
	/* -2: a line longer than the stream's buffer; 0: a stream that
	   would block (delivery streams are complete and blocking, so this
	   is not expected): either way the rest was not seen, and unseen
	   mail is treated as calendar mail, never skipped */
	if (!found && (ret == -2 || ret == 0 || input->stream_errno != 0))
		found = TRUE;
	else if (!found) {
		/* the last line, without a line end */
		p = i_stream_get_data(input, &size);
		found = size > 0 &&
			imip_bridge_line_names_calendar(p, size, &in_field);
	}
	i_stream_seek(input, 0);
	return found;
}

/* The local TCP port of the LMTP connection that brought the message
   (trusted_submission_ports).  LMTP gives each recipient's mail_user the
   session's connection data; a UNIX socket leaves the port 0, and so does
   dovecot-lda, which has no connection at all. */
static unsigned int imip_local_port(const struct imip_user *iuser)
{
	return iuser->user->conn.local_port;
}

struct imip_bridge_result *
imip_process_mail(struct imip_user *iuser, struct mail *mail,
		  const char *envelope_sender, const char *address,
		  const struct imip_bridge_options *options,
		  buffer_t **data_r, bool *truncated_r)
{
	struct event *event = imip_user_event(iuser);
	struct imip_bridge *bridge;
	struct imip_bridge_result *result;
	const char *error, *outcome, *reason;
	buffer_t *data;
	mode_t old_umask;
	bool can_send;

	*data_r = NULL;
	*truncated_r = FALSE;
	if (!imip_mail_may_hold_calendar(mail)) {
		e_debug(event, "recipient=%s outcome=no_action "
			"reason=no calendar data", address);
		imip_user_set_outcome(iuser, "no_action", "no calendar data");
		return NULL;
	}
	old_umask = umask(IMIP_UMASK);
	bridge = imip_user_bridge(iuser, &error);
	(void)umask(old_umask);
	if (bridge == NULL) {
		e_error(event, "%s: %s (message delivered unprocessed)",
			address, error);
		imip_user_set_outcome(iuser, "error", error);
		return NULL;
	}
	if (imip_read_mail(mail, imip_bridge_message_limit(bridge), &data,
			   truncated_r, &error) < 0) {
		e_error(event, "%s: cannot read the message: %s "
			"(message delivered unprocessed)", address, error);
		imip_user_set_outcome(iuser, "error", t_strconcat(
			"cannot read the message: ", error, NULL));
		return NULL;
	}

	/* with a delivery in progress, replies leave through its
	   submission settings while the library holds the user's lock */
	can_send = iuser->dctx != NULL && iuser->dctx->smtp_set != NULL;
	old_umask = umask(IMIP_UMASK);
	result = imip_bridge_process(bridge, data->data, data->used,
				     envelope_sender, address, iuser->set.role,
				     imip_local_port(iuser), options,
				     imip_library_log, iuser,
				     can_send ? imip_send_reply : NULL, iuser);
	(void)umask(old_umask);
	outcome = imip_bridge_result_outcome(result);
	reason = imip_bridge_result_reason(result);
	imip_user_set_outcome(iuser, outcome, reason);

	if (imip_bridge_result_is_calendar(result)) {
		e_info(event, "recipient=%s method=%s uid=%s outcome=%s "
		       "reason=%s", address,
		       str_sanitize(imip_bridge_result_methods(result), 40),
		       str_sanitize(imip_bridge_result_uid(result), 200),
		       outcome, str_sanitize(reason, 300));
		imip_keywords_set(iuser, outcome);
	} else {
		e_debug(event, "recipient=%s outcome=%s reason=%s", address,
			outcome, str_sanitize(reason, 300));
	}
	if (!can_send)
		imip_send_replies(iuser, iuser->dctx, result);
	*data_r = data;
	return result;
}

/* --- the mailbox copy --------------------------------------------------- */

static const char *imip_envelope_sender(struct mail_deliver_context *dctx)
{
	if (dctx->mail_from == NULL || smtp_address_isnull(dctx->mail_from))
		return NULL;
	return smtp_address_encode(dctx->mail_from);
}

/* imip_address, else the original recipient, else the final one */
static const char *
imip_calendar_address(struct imip_user *iuser, struct mail_deliver_context *dctx)
{
	const struct smtp_address *addr;

	if (iuser->set.address != NULL)
		return iuser->set.address;
	addr = dctx->rcpt_params.orcpt.addr;
	if (addr == NULL || smtp_address_isnull(addr))
		addr = dctx->rcpt_to;
	if (addr == NULL || smtp_address_isnull(addr))
		return iuser->user->username;
	return t_str_lcase(smtp_address_encode(addr));
}

/* The trace header fields LMTP prepends (lmtp_local_add_headers()): the
   library's own messages get them too, as the original would have. */
static const char *imip_trace_headers(struct mail *mail)
{
	static const char *const names[] = { "Return-Path", "Delivered-To" };
	string_t *str = t_str_new(128);
	const char *value;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(names); i++) {
		if (mail_get_first_header(mail, names[i], &value) > 0)
			str_printfa(str, "%s: %s\r\n", names[i], value);
	}
	return str_c(str);
}

/* Mailbox message I with the trace header fields in front.  The data
   belongs to d->result and d->trace: both outlive the stream. */
static struct istream *
imip_mailbox_stream(struct imip_delivery *d, unsigned int i)
{
	struct istream *inputs[3], *input;
	const void *data;
	size_t size;

	imip_bridge_result_mailbox(d->result, i, &data, &size);
	inputs[0] = i_stream_create_from_data(d->trace, strlen(d->trace));
	inputs[1] = i_stream_create_from_data(data, size);
	inputs[2] = NULL;
	input = i_stream_create_concat(inputs);
	i_stream_unref(&inputs[0]);
	i_stream_unref(&inputs[1]);
	return input;
}

static int imip_save_direct(struct imip_delivery *d, unsigned int i)
{
	struct mail_deliver_context *dctx = d->dctx;
	struct event *event = imip_user_event(d->iuser);
	struct mail_deliver_save_open_context open_ctx;
	struct mailbox *box;
	struct mailbox_transaction_context *trans;
	struct mail_save_context *save_ctx;
	struct mail_keywords *kw;
	const char *const *keywords, *errstr;
	struct istream *input;
	enum mail_error error;
	bool failed = FALSE;
	ssize_t ret;

	i_zero(&open_ctx);
	open_ctx.user = dctx->rcpt_user;
	open_ctx.lda_mailbox_autocreate = dctx->set->lda_mailbox_autocreate;
	open_ctx.lda_mailbox_autosubscribe =
		dctx->set->lda_mailbox_autosubscribe;
	if (mail_deliver_save_open(&open_ctx, dctx->rcpt_default_mailbox,
				   &box, &error, &errstr) < 0) {
		e_error(event, "cannot open %s to save mailbox message %u: %s",
			str_sanitize(dctx->rcpt_default_mailbox, 80), i + 1,
			errstr);
		if (box != NULL)
			mailbox_free(&box);
		return -1;
	}

	trans = mailbox_transaction_begin(box, MAILBOX_TRANSACTION_FLAG_EXTERNAL,
					  __func__);
	save_ctx = mailbox_save_alloc(trans);
	keywords = imip_keywords_get(d->iuser);
	kw = keywords == NULL ? NULL :
		mailbox_keywords_create_valid(box, keywords);
	mailbox_save_set_flags(save_ctx, 0, kw);
	if (kw != NULL)
		mailbox_keywords_unref(&kw);
	if (dctx->mail_from != NULL) {
		mailbox_save_set_from_envelope(save_ctx,
			smtp_address_encode(dctx->mail_from));
	}

	input = imip_mailbox_stream(d, i);
	if (mailbox_save_begin(&save_ctx, input) < 0)
		failed = TRUE;
	else {
		do {
			if (mailbox_save_continue(save_ctx) < 0) {
				failed = TRUE;
				break;
			}
		} while ((ret = i_stream_read(input)) > 0);
		if (!failed && mailbox_save_finish(&save_ctx) < 0)
			failed = TRUE;
	}
	if (save_ctx != NULL)
		mailbox_save_cancel(&save_ctx);
	if (!failed && mailbox_transaction_commit(&trans) < 0)
		failed = TRUE;
	if (trans != NULL)
		mailbox_transaction_rollback(&trans);
	i_stream_unref(&input);

	if (failed) {
		e_error(event, "cannot save mailbox message %u to %s: %s",
			i + 1, str_sanitize(dctx->rcpt_default_mailbox, 80),
			mailbox_get_last_internal_error(box, NULL));
	} else {
		e_debug(event, "saved mailbox message %u of %u to %s", i + 1,
			d->count, str_sanitize(dctx->rcpt_default_mailbox, 80));
	}
	mailbox_free(&box);
	return failed ? -1 : 0;
}

static void imip_replacement_free(struct imip_delivery *d)
{
	if (d->raw_mail != NULL)
		mail_free(&d->raw_mail);
	if (d->raw_trans != NULL)
		mailbox_transaction_rollback(&d->raw_trans);
	if (d->raw_box != NULL)
		mailbox_free(&d->raw_box);
	if (d->raw_user != NULL)
		mail_user_unref(&d->raw_user);
}

/* Open mailbox message PASS as a raw mail, like lda/lmtp open the
   incoming message (lda_raw_mail_open(), lmtp_local_open_raw_mail()). */
static int imip_replacement_open(struct imip_delivery *d)
{
	struct mail_deliver_context *dctx = d->dctx;
	struct istream *input;
	void **sets;
	int ret;

	sets = master_service_settings_get_others(master_service);
	d->raw_user = raw_storage_create_from_set(dctx->rcpt_user->set_info,
						  sets[0]);
	/* the data belongs to d->result, which outlives the raw mail */
	input = imip_mailbox_stream(d, d->pass);
	i_stream_set_name(input, "imip mailbox message");
	ret = raw_mailbox_alloc_stream(d->raw_user, input, (time_t)-1,
				       imip_envelope_sender(dctx), &d->raw_box);
	i_stream_unref(&input);
	if (ret < 0) {
		e_error(imip_user_event(d->iuser),
			"cannot open the mailbox message as raw mail: %s "
			"(delivering the original)",
			mailbox_get_last_internal_error(d->raw_box, NULL));
		imip_replacement_free(d);
		return -1;
	}
	d->raw_trans = mailbox_transaction_begin(d->raw_box, 0, __func__);
	d->raw_mail = mail_alloc(d->raw_trans, 0, NULL);
	mail_set_seq(d->raw_mail, 1);
	return 0;
}

/* Decide which mailbox message goes through the delivery and save the
   ones before it. */
static void imip_mailbox_prepare(struct imip_delivery *d)
{
	const void *data;
	size_t size;
	unsigned int i;

	d->count = imip_bridge_result_mailbox_count(d->result);
	if (d->count == 0)
		return;
	if (d->truncated) {
		/* built from part of the message: never store that */
		e_warning(imip_user_event(d->iuser), "message over the size "
			  "limit: delivering the original");
		return;
	}
	d->trace = p_strdup(d->iuser->delivery_pool,
			    imip_trace_headers(d->dctx->src_mail));
	d->pass = d->count - 1;
	for (i = 0; i < d->count; i++) {
		imip_bridge_result_mailbox(d->result, i, &data, &size);
		if (size == d->data->used && memcmp(data, d->data->data, size) == 0) {
			d->pass = i;
			break;
		}
	}
	if (i == d->count && imip_replacement_open(d) < 0)
		return;
	d->use_mailbox = TRUE;
	for (i = 0; i < d->pass; i++)
		(void)imip_save_direct(d, i);
}

static void imip_mailbox_finish(struct imip_delivery *d)
{
	unsigned int i;

	if (!d->use_mailbox)
		return;
	for (i = d->pass + 1; i < d->count; i++)
		(void)imip_save_direct(d, i);
}

/* --- the hook ------------------------------------------------------------ */

static int imip_next(struct mail_deliver_context *dctx,
		     struct mail_storage **storage_r)
{
	return imip_next_deliver_mail != NULL ?
		imip_next_deliver_mail(dctx, storage_r) : 0;
}

/* mail_deliver.c's test, which is static there */
static bool imip_tempfailed(struct mail_deliver_context *dctx,
			    struct mail_storage *storage)
{
	enum mail_error error;

	if (dctx->tempfail_error != NULL)
		return TRUE;
	if (storage == NULL)
		return FALSE;
	(void)mail_storage_get_last_error(storage, &error);
	return error == MAIL_ERROR_TEMP;
}

/* Run the rest of the delivery for the mailbox copy: with the replacement
   as src_mail when there is one. */
static int imip_next_mailbox(struct imip_delivery *d,
			     struct mail_storage **storage_r)
{
	struct mail_deliver_context *dctx = d->dctx;
	struct mail *orig_mail = dctx->src_mail;
	bool orig_save_dest_mail = dctx->save_dest_mail;
	int ret;

	if (d->raw_mail != NULL) {
		/* LMTP copies the first recipient's saved mail (dest_mail)
		   for the later recipients: that must not be our replacement,
		   which is this recipient's alone.  Without dest_mail LMTP
		   gives them the raw incoming mail again. */
		dctx->save_dest_mail = FALSE;
		dctx->src_mail = d->raw_mail;
	}
	*storage_r = NULL;
	ret = imip_next(dctx, storage_r);
	if (ret <= 0 && !dctx->saved_mail && !dctx->tried_default_save &&
	    !imip_tempfailed(dctx, *storage_r)) {
		/* mail_do_deliver()'s fallback save would come after the
		   messages saved behind this one (and after the original is
		   back in src_mail): do it now, as it would */
		if (mail_deliver_save(dctx, dctx->rcpt_default_mailbox, 0,
				      NULL, storage_r) == 0)
			ret = 1;
	}
	dctx->src_mail = orig_mail;
	dctx->save_dest_mail = orig_save_dest_mail;
	return ret;
}

static void imip_deliver_auto(struct imip_delivery *d)
{
	struct imip_user *iuser = d->iuser;

	d->result = imip_process_mail(iuser, d->dctx->src_mail,
				      imip_envelope_sender(d->dctx),
				      iuser->calendar_address, NULL,
				      &d->data, &d->truncated);
	if (d->result != NULL)
		imip_mailbox_prepare(d);
}

static int imip_deliver_mail(struct mail_deliver_context *dctx,
			     struct mail_storage **storage_r)
{
	struct imip_user *iuser = IMIP_USER_CONTEXT(dctx->rcpt_user);
	struct imip_delivery d;
	int ret;

	if (iuser == NULL)
		return imip_next(dctx, storage_r);

	i_zero(&d);
	d.iuser = iuser;
	d.dctx = dctx;
	imip_user_delivery_reset(iuser);
	iuser->dctx = dctx;
	iuser->delivery_event = imip_event_create(dctx->event);
	T_BEGIN {
		iuser->calendar_address = p_strdup(iuser->delivery_pool,
			imip_calendar_address(iuser, dctx));
	} T_END;

	if (iuser->set.trigger == IMIP_TRIGGER_SIEVE) {
		/* processcalendar in the user's Sieve script does the work,
		   through imip_plugin_sieve_api, while the next hook runs */
		e_debug(iuser->delivery_event, "imip_trigger=sieve: "
			"%s is left to Sieve", iuser->calendar_address);
	} else T_BEGIN {
		imip_deliver_auto(&d);
	} T_END;

	if (d.use_mailbox)
		ret = imip_next_mailbox(&d, storage_r);
	else
		ret = imip_next(dctx, storage_r);

	T_BEGIN {
		imip_mailbox_finish(&d);
	} T_END;
	imip_replacement_free(&d);
	imip_bridge_result_free(&d.result);
	if (d.data != NULL)
		buffer_free(&d.data);
	iuser->dctx = NULL;
	event_unref(&iuser->delivery_event);
	return ret;
}

void imip_deliver_hooks_init(void)
{
	imip_next_deliver_mail = mail_deliver_hook_set(imip_deliver_mail);
}

void imip_deliver_hooks_deinit(void)
{
	mail_deliver_hook_set(imip_next_deliver_mail);
}
