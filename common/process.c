/* imip_process(): the one entry point every adapter calls (DESIGN.md
   section 3).  parse → for each calendar object: validate, check
   idempotence, hand to the role's handler → combine outcomes → compose
   what the mailbox receives.  Nothing in here may fail the delivery: every
   problem ends as an outcome. */

#include "imip.h"
#include "address.h"
#include "authres.h"
#include "compose.h"
#include "config.h"
#include "derive.h"
#include "handler.h"
#include "ical-object.h"
#include "calstore.h"
#include "mime-read.h"
#include "outbox.h"
#include "outcome.h"
#include "prefs.h"
#include "store.h"
#include "summary.h"

#include <string.h>

void imip_outgoing_free(struct imip_outgoing *out)
{
	if (out == NULL)
		return;
	g_free(out->envelope_from);
	g_free(out->recipient);
	if (out->data != NULL)
		g_bytes_unref(out->data);
	g_free(out);
}

static void imip_part_result_free(struct imip_part_result *pr)
{
	g_free(pr->method);
	g_free(pr->uid);
	g_free(pr->reason);
	g_free(pr->summary);
	g_free(pr);
}

static struct imip_result *imip_result_new(void)
{
	struct imip_result *result = g_new0(struct imip_result, 1);

	result->parts = g_ptr_array_new_with_free_func(
		(GDestroyNotify)imip_part_result_free);
	result->outgoing = g_ptr_array_new_with_free_func(
		(GDestroyNotify)imip_outgoing_free);
	result->mailbox = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_bytes_unref);
	return result;
}

void imip_result_free(struct imip_result **result)
{
	struct imip_result *r = *result;

	if (r == NULL)
		return;
	*result = NULL;
	g_ptr_array_free(r->parts, TRUE);
	g_ptr_array_free(r->outgoing, TRUE);
	g_ptr_array_free(r->mailbox, TRUE);
	g_free(r->reason);
	g_free(r);
}

static struct imip_part_result *
imip_part_new(struct imip_result *result, const char *method, const char *uid)
{
	struct imip_part_result *pr = g_new0(struct imip_part_result, 1);

	pr->code = IMIP_OUTCOME_NO_ACTION;
	pr->method = g_strdup(method);
	pr->uid = g_strdup(uid);
	g_ptr_array_add(result->parts, pr);
	return pr;
}

/* A whole-message outcome with no calendar object to name. */
static void imip_result_set(struct imip_result *result,
			    enum imip_outcome_code code, const char *reason)
{
	struct imip_part_result *pr = imip_part_new(result, NULL, NULL);

	pr->code = code;
	pr->reason = g_strdup(reason);
}

/* The outcome and the reasons of result->parts[first, end): the
   message's (all of them), or one calendar part's. */
static void imip_parts_outcome(const struct imip_result *result,
			       unsigned int first, unsigned int end,
			       enum imip_outcome_code *code_r, char **reason_r)
{
	GString *reason = g_string_new(NULL);
	enum imip_outcome_code code = IMIP_OUTCOME_NO_ACTION;

	for (unsigned int i = first; i < end; i++) {
		const struct imip_part_result *pr =
			g_ptr_array_index(result->parts, i);

		code = i == first ? pr->code : imip_outcome_combine(code, pr->code);
		if (pr->reason != NULL && *pr->reason != '\0') {
			if (reason->len > 0)
				g_string_append(reason, "; ");
			g_string_append(reason, pr->reason);
		}
	}
	*code_r = code;
	*reason_r = g_string_free(reason, FALSE);
}

static void imip_result_combine(struct imip_result *result)
{
	imip_parts_outcome(result, 0, result->parts->len, &result->code,
			   &result->reason);
}

static const char *imip_digest_skip_reason = "already processed";

/* A calendar part processed by this message: what its replies and its
   idempotence record need once every part is done. */
struct imip_part_done {
	char *digest;
	unsigned int first_result, end_result;	/* in result->parts */
	unsigned int first_out, end_out;	/* in result->outgoing */
	bool remembered;			/* in the seen record */
};

/* This message's replies on their way out (ctx->send set). */
struct imip_replies {
	GPtrArray *done;	/* struct imip_part_done * */
	/* per result->outgoing: its outbox entry name, or NULL when it
	   could not be queued (then it is sent directly, once) */
	GPtrArray *names;
};

static void imip_part_done_free(struct imip_part_done *d)
{
	g_free(d->digest);
	g_free(d);
}

static char *imip_part_digest(const struct mime_calendar_part *part,
			      const char *user, enum imip_role role,
			      const GPtrArray *senders)
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	char *digest;
	char r = (char)('0' + role);

	/* The role is part of the key: a user's own copy of a message and
	   the same message received are different events for the store. */
	g_checksum_update(sum, (const guchar *)&r, 1);
	g_checksum_update(sum, (const guchar *)user, (gssize)strlen(user));
	g_checksum_update(sum, (const guchar *)part->text, (gssize)part->len);
	/* So are the senders: what a message may do depends on who sent it,
	   so the same calendar text forwarded by someone else first (and
	   refused) must not make the organiser's own copy "already
	   processed".  A retried delivery has the same senders. */
	for (unsigned int i = 0; i < senders->len; i++) {
		const char *sender = g_ptr_array_index(senders, i);

		g_checksum_update(sum, (const guchar *)"", 1);
		g_checksum_update(sum, (const guchar *)sender, (gssize)strlen(sender));
	}
	digest = g_strdup(g_checksum_get_string(sum));
	g_checksum_free(sum);
	return digest;
}

/* What iTIP needs of a VEVENT before any handler looks at it. */
static bool imip_object_is_usable(enum itip_method method,
				  const struct ical_object *obj,
				  struct imip_part_result *pr)
{
	GPtrArray *comps;
	bool needs_start = method == ITIP_METHOD_REQUEST ||
			   method == ITIP_METHOD_PUBLISH ||
			   method == ITIP_METHOD_ADD ||
			   method == ITIP_METHOD_COUNTER;
	bool ok = true;

	if (obj->uid == NULL || *obj->uid == '\0') {
		handler_outcome(pr, IMIP_OUTCOME_ERROR,
				"calendar object has no UID");
		return false;
	}
	/* libical dropped a property that says when the event is or which
	   instance or version this is: acting on what is left would store
	   (or cancel) something the sender did not send */
	if (obj->invalid_property != NULL) {
		handler_outcome(pr, IMIP_OUTCOME_ERROR,
				"%s %s has an invalid %s value",
				obj->kind == ICAL_VFREEBUSY_COMPONENT ?
				"free/busy" : "event", obj->uid,
				obj->invalid_property);
		return false;
	}
	if (obj->kind != ICAL_VEVENT_COMPONENT || !needs_start)
		return true;
	comps = ical_object_components(obj);
	for (unsigned int i = 0; i < comps->len && ok; i++) {
		struct icaltimetype start =
			icalcomponent_get_dtstart(g_ptr_array_index(comps, i));

		if (icaltime_is_null_time(start) || !icaltime_is_valid_time(start)) {
			handler_outcome(pr, IMIP_OUTCOME_ERROR,
					"event %s has no valid DTSTART", obj->uid);
			ok = false;
		}
	}
	g_ptr_array_free(comps, TRUE);
	return ok;
}

/* The RFC 9671 filters a Sieve script may ask for.  Returns false with
   the outcome set when the object is to be left alone. */
static bool imip_object_passes_options(struct handler *h,
				       enum itip_method method,
				       const struct ical_object *obj,
				       struct imip_part_result *pr)
{
	const struct imip_options *o = h->options;
	struct ical_object *stored = NULL;
	const char *error;
	char *organiser;
	bool pass = true;
	int r;

	if (method == ITIP_METHOD_PUBLISH && !o->allow_public) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"published data is processed only with :allowpublic");
		return false;
	}
	if (o->organizers != NULL && itip_method_is_organiser(method)) {
		organiser = ical_organizer_of(itip_object_first(obj));
		pass = false;
		for (unsigned int i = 0; organiser != NULL && o->organizers[i] != NULL; i++) {
			char *allowed = address_normalize(o->organizers[i]);

			pass = pass || g_strcmp0(allowed, organiser) == 0;
			g_free(allowed);
		}
		if (!pass)
			handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
					"organiser %s is not one of :organizers",
					organiser != NULL ? organiser : "(none)");
		g_free(organiser);
		if (!pass)
			return false;
	}
	if (!o->invites_only && !o->updates_only)
		return true;
	r = calstore_load(h->su, obj->uid, &stored, &error);
	if (r < 0) {
		handler_store_error(h, pr, "reading the event", error);
		return false;
	}
	if (stored != NULL)
		ical_object_free(stored);
	if (o->updates_only && r == 0) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"not stored yet, and only updates are processed "
				"(:updatesonly)");
		pass = false;
	} else if (o->invites_only &&
		   (r > 0 || (method != ITIP_METHOD_REQUEST &&
			      method != ITIP_METHOD_PUBLISH))) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"not a new invitation, and only those are "
				"processed (:invitesonly)");
		pass = false;
	}
	return pass;
}

/* The methods an organiser or an attendee sends (RFC 5546 1.4). */
static bool imip_method_needs_authentication(enum itip_method method)
{
	switch (method) {
	case ITIP_METHOD_PUBLISH:
	case ITIP_METHOD_REQUEST:
	case ITIP_METHOD_ADD:
	case ITIP_METHOD_CANCEL:
	case ITIP_METHOD_DECLINECOUNTER:
	case ITIP_METHOD_REPLY:
	case ITIP_METHOD_COUNTER:
	case ITIP_METHOD_REFRESH:
		return true;
	case ITIP_METHOD_NONE:
	case ITIP_METHOD_UNKNOWN:
		break;
	}
	return false;
}

/* require_authentication = dmarc (DESIGN.md rule 4, authres.h): NULL when
   the message may be acted on, else why not.  The outgoing role is a
   local user's own sent copy, routed to it by the MTA: trusted.  So is
   a message that arrived on one of trusted_submission_ports: the site
   routes only mail from its authenticated submission service there (the
   port marker, the counterpart of trusted_submission_header for hosts
   that can tell the port, docs/security.md 3.2). */
static char *imip_authentication_refusal(const struct handler *h,
					 enum itip_method method)
{
	const struct imip_config *c = h->config;
	struct authres_policy policy = {
		.trusted_ids = c->trusted_authserv_ids,
		.submission_name = c->trusted_submission_name,
		.submission_value = c->trusted_submission_value,
	};
	char *reason = NULL;

	if (c->require_authentication == IMIP_REQUIRE_AUTH_NONE ||
	    h->role == IMIP_ROLE_OUTGOING ||
	    !imip_method_needs_authentication(method))
		return NULL;
	if (imip_config_is_submission_port(c, h->ctx->local_port))
		return NULL;
	if (authres_sender_is_authenticated(h->msg->headers, h->msg->from,
					    &policy, &reason))
		return NULL;
	return reason;
}

/* The derived data of the object's UID is recomputed even when the
   handler changed nothing: a delivery killed after it wrote an event but
   before it derived from it is retried by the MTA, and the retry finds
   the event up to date.  Deriving what is already right writes nothing.
   Received VFREEBUSY data is no stored object's: nothing to derive. */
static void imip_derive_object(struct handler *h, const struct ical_object *obj,
			       struct imip_part_result *pr)
{
	const char *error;

	if (h->derived || obj->kind != ICAL_VEVENT_COMPONENT ||
	    (pr->code == IMIP_OUTCOME_ERROR && pr->reason != NULL &&
	     g_str_has_prefix(pr->reason, "store failure")))
		return;
	if (handler_derive(h, obj->uid, &error) < 0)
		handler_store_error(h, pr, "deriving free/busy and requests",
				    error);
}

static void imip_process_object(struct handler *h, enum itip_method method,
				struct ical_object *obj)
{
	unsigned int pr_index = h->result->parts->len;
	struct imip_part_result *pr =
		imip_part_new(h->result, itip_method_name(method), obj->uid);
	icalcomponent *first = itip_object_first(obj);
	const char *summary = first == NULL ? NULL : icalcomponent_get_summary(first);
	unsigned int out_before;
	char *refusal;

	pr->summary = g_strdup(summary);
	pr->freebusy = obj->kind == ICAL_VFREEBUSY_COMPONENT;
	/* RFC 9671 3: calendar data without METHOD is published data */
	if (method == ITIP_METHOD_NONE && h->options->allow_public) {
		method = ITIP_METHOD_PUBLISH;
		g_free(pr->method);
		pr->method = g_strdup(itip_method_name(method));
	}
	if (method == ITIP_METHOD_NONE) {
		h->filtered = true;
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"calendar data without METHOD is published "
				"data, processed only with :allowpublic");
		return;
	}
	if (!imip_object_is_usable(method, obj, pr))
		return;
	refusal = imip_authentication_refusal(h, method);
	if (refusal != NULL) {
		/* not remembered as processed: the same message may be
		   accepted once the configuration trusts its authserv-id */
		h->filtered = true;
		imip_log(h->ctx, IMIP_LOG_WARNING, "%s: %s: %s", h->user,
			 itip_method_name(method), refusal);
		handler_outcome(pr, IMIP_OUTCOME_REJECTED, "%s", refusal);
		g_free(refusal);
		return;
	}
	if (!imip_object_passes_options(h, method, obj, pr)) {
		/* left alone by this caller's choice, not processed: another
		   delivery with other options may still act on it */
		h->filtered = true;
		return;
	}
	out_before = h->result->outgoing->len;
	h->derived = false;
	switch (h->role) {
	case IMIP_ROLE_OUTGOING:
		handler_outgoing(h, method, obj, pr);
		break;
	case IMIP_ROLE_RESOURCE:
		handler_resource(h, method, obj, pr);
		break;
	case IMIP_ROLE_PERSON:
		handler_person(h, method, obj, pr);
		break;
	}
	/* which object a reply answers: its outcome changes if the reply
	   cannot be sent */
	for (unsigned int i = out_before; i < h->result->outgoing->len; i++)
		((struct imip_outgoing *)g_ptr_array_index(h->result->outgoing,
							   i))->part = pr_index;
	imip_derive_object(h, obj, pr);
}

static bool imip_error_is_limit(const char *error)
{
	return error != NULL && strstr(error, "(limit_") != NULL;
}

/* RFC 6047 2.4: the Content-Type's method= and the METHOD property must
   agree.  When they do not, iTIP acts on the body (the parameter is a
   label that software gets wrong or strips, landscape.md 5.5), and the
   mismatch is named in the reason and logged.  NULL when they agree or
   either is absent.  The parameter comes from the wire: only a short
   token is quoted. */
static char *imip_method_mismatch(const char *body, const char *param)
{
	bool token = param != NULL && *param != '\0' && strlen(param) <= 32;

	if (body == NULL || param == NULL || g_ascii_strcasecmp(body, param) == 0)
		return NULL;
	for (const char *p = param; token && *p != '\0'; p++)
		token = g_ascii_isalnum(*p) || *p == '-';
	return g_strdup_printf("Content-Type method=%s disagrees with METHOD:%s "
			       "(METHOD used)", token ? param : "(invalid)", body);
}

static void imip_reason_append(struct imip_part_result *pr, const char *note)
{
	char *reason = pr->reason == NULL || *pr->reason == '\0' ?
		g_strdup(note) : g_strdup_printf("%s; %s", pr->reason, note);

	g_free(pr->reason);
	pr->reason = reason;
}

/* One calendar part: every VCALENDAR in it, every object in those.
   Returns false if a part failed in a way that must not be remembered as
   processed (a store error: a retry may succeed). */
static bool imip_process_part(struct handler *h,
			      const struct mime_calendar_part *part)
{
	const char *error = NULL;
	GPtrArray *calendars = ical_parse_calendars(part->text, part->len,
						    &h->config->limits, &error);
	bool remember = true;

	h->filtered = false;
	if (calendars == NULL) {
		struct imip_part_result *pr = imip_part_new(h->result, NULL, NULL);

		handler_outcome(pr, imip_error_is_limit(error) ?
				IMIP_OUTCOME_REJECTED : IMIP_OUTCOME_ERROR,
				"unusable calendar data: %s",
				error != NULL ? error : "parse error");
		return true;
	}
	for (unsigned int i = 0; i < calendars->len; i++) {
		icalcomponent *vcal = g_ptr_array_index(calendars, i);
		const char *name = ical_calendar_method(vcal);
		enum itip_method method;
		unsigned int skipped = 0, before = h->result->parts->len;
		GPtrArray *objects;
		char *mismatch = imip_method_mismatch(name, part->method_param);

		/* the body is what iTIP acts on; the parameter is only a
		   fallback for a body without METHOD */
		method = itip_method_parse(name != NULL ? name : part->method_param);
		objects = ical_objects_from_calendar(vcal, &skipped);
		for (unsigned int j = 0; j < objects->len; j++)
			imip_process_object(h, method, g_ptr_array_index(objects, j));
		if (objects->len == 0) {
			struct imip_part_result *pr =
				imip_part_new(h->result, itip_method_name(method), NULL);

			handler_outcome(pr, IMIP_OUTCOME_NO_ACTION, skipped > 0 ?
					"only components other than VEVENT and "
					"VFREEBUSY (not handled)" :
					"calendar holds no event or free/busy");
		}
		if (mismatch != NULL) {
			imip_log(h->ctx, IMIP_LOG_WARNING, "%s: %s", h->user, mismatch);
			imip_reason_append(g_ptr_array_index(h->result->parts, before),
					   mismatch);
			g_free(mismatch);
		}
		for (unsigned int j = before; j < h->result->parts->len; j++) {
			const struct imip_part_result *pr =
				g_ptr_array_index(h->result->parts, j);
			if (pr->code == IMIP_OUTCOME_ERROR &&
			    g_str_has_prefix(pr->reason, "store failure"))
				remember = false;
		}
		g_ptr_array_foreach(objects, (GFunc)(void (*)(void))ical_object_free, NULL);
		g_ptr_array_free(objects, TRUE);
	}
	g_ptr_array_foreach(calendars, (GFunc)(void (*)(void))icalcomponent_free, NULL);
	g_ptr_array_free(calendars, TRUE);
	return remember && !h->filtered;
}

/* A part already processed is not acted on again, but the log line still
   names its method and UID, so an administrator can tell a retry from
   something else. */
static void imip_name_seen_part(struct handler *h,
				const struct mime_calendar_part *part,
				struct imip_part_result *pr)
{
	const char *error;
	GPtrArray *calendars = ical_parse_calendars(part->text, part->len,
						    &h->config->limits, &error);
	GPtrArray *objects;
	unsigned int skipped;
	const char *name;

	if (calendars == NULL)
		return;
	if (calendars->len > 0) {
		icalcomponent *vcal = g_ptr_array_index(calendars, 0);

		name = ical_calendar_method(vcal);
		pr->method = g_strdup(itip_method_name(itip_method_parse(
			name != NULL ? name : part->method_param)));
		objects = ical_objects_from_calendar(vcal, &skipped);
		if (objects->len > 0)
			pr->uid = g_strdup(((struct ical_object *)
					    g_ptr_array_index(objects, 0))->uid);
		g_ptr_array_foreach(objects, (GFunc)(void (*)(void))ical_object_free, NULL);
		g_ptr_array_free(objects, TRUE);
	}
	g_ptr_array_foreach(calendars, (GFunc)(void (*)(void))icalcomponent_free, NULL);
	g_ptr_array_free(calendars, TRUE);
}

/* A part processed before: reported with the outcome of that first
   processing (so a copy delivered by a retry says what was done), its
   reason marked as not done again. */
static void imip_report_seen_part(struct handler *h,
				  const struct mime_calendar_part *part,
				  const char *outcome, const char *reason)
{
	enum imip_outcome_code code = IMIP_OUTCOME_NO_ACTION;
	char *text = NULL;

	if (outcome != NULL && imip_outcome_parse(outcome, &code))
		text = g_strdup_printf("%s: %s", imip_digest_skip_reason,
				       reason != NULL && *reason != '\0' ?
				       reason : outcome);
	else
		code = IMIP_OUTCOME_NO_ACTION;
	imip_result_set(h->result, code, text != NULL ? text :
			imip_digest_skip_reason);
	imip_name_seen_part(h, part, g_ptr_array_index(
		h->result->parts, h->result->parts->len - 1));
	g_free(text);
}

/* The idempotence record of a part, with its outcome as it stands. */
static void imip_remember_part(struct handler *h, struct imip_part_done *d)
{
	enum imip_outcome_code code;
	const char *error;
	char *reason;

	imip_parts_outcome(h->result, d->first_result, d->end_result, &code,
			   &reason);
	if (store_seen_record(h->su, d->digest, h->ctx->now,
			      imip_outcome_name(code), reason, &error) < 0)
		imip_log(h->ctx, IMIP_LOG_WARNING,
			 "cannot remember processed message for %s: %s",
			 h->user, error);
	else
		d->remembered = true;
	g_free(reason);
}

/* The replies a part made go to the outbox before the part is recorded
   as processed: a crash after this point leaves them queued (sent by the
   next flush), never lost; a crash before it makes the retry compose and
   queue them again under the same names. */
static void imip_queue_replies(struct handler *h, struct imip_replies *replies,
			       const struct imip_part_done *d)
{
	for (unsigned int i = d->first_out; i < d->end_out; i++) {
		const struct imip_outgoing *out =
			g_ptr_array_index(h->result->outgoing, i);
		char *name = outbox_entry_name(d->digest, i - d->first_out);
		const char *error;

		if (outbox_queue(h->su, name, out, h->ctx->now, &error) < 0) {
			imip_log(h->ctx, IMIP_LOG_WARNING, "%s: cannot queue "
				 "reply to %s: %s (sending it without a copy)",
				 h->user, out->recipient, error);
			g_clear_pointer(&name, g_free);
		}
		g_ptr_array_add(replies->names, name);
	}
}

static void imip_process_parts(struct handler *h, struct imip_replies *replies)
{
	const GPtrArray *parts = h->msg->calendar_parts;
	const char *error;

	for (unsigned int i = 0; i < parts->len; i++) {
		const struct mime_calendar_part *part = g_ptr_array_index(parts, i);
		struct imip_part_done *d = g_new0(struct imip_part_done, 1);
		char *outcome = NULL, *reason = NULL;
		int seen;

		d->digest = imip_part_digest(part, h->user, h->role, h->senders);
		seen = store_seen_get(h->su, d->digest, &outcome, &reason,
				      &error);
		d->first_result = h->result->parts->len;
		d->first_out = h->result->outgoing->len;
		d->end_result = d->first_result;
		d->end_out = d->first_out;
		if (seen < 0) {
			imip_result_set(h->result, IMIP_OUTCOME_ERROR, error);
		} else if (seen > 0) {
			imip_report_seen_part(h, part, outcome, reason);
		} else {
			bool remember = imip_process_part(h, part);

			d->end_result = h->result->parts->len;
			d->end_out = h->result->outgoing->len;
			if (replies != NULL)
				imip_queue_replies(h, replies, d);
			if (remember)
				imip_remember_part(h, d);
		}
		g_free(outcome);
		g_free(reason);
		if (replies != NULL)
			g_ptr_array_add(replies->done, d);
		else
			imip_part_done_free(d);
	}
}

static bool imip_senders_include(const GPtrArray *senders, const char *address)
{
	for (unsigned int i = 0; address != NULL && i < senders->len; i++) {
		if (strcmp(g_ptr_array_index(senders, i), address) == 0)
			return true;
	}
	return false;
}

/* freebusy_messages = none: received free/busy is recorded without a
   summary; the message itself is still delivered (DESIGN.md rule 1). */
static bool imip_only_freebusy_data(const struct imip_result *result)
{
	for (unsigned int i = 0; i < result->parts->len; i++) {
		const struct imip_part_result *pr = g_ptr_array_index(result->parts, i);
		const char *reason = pr->reason;

		/* a duplicate is reported with its first reason */
		if (reason != NULL && g_str_has_prefix(reason, imip_digest_skip_reason) &&
		    g_str_has_prefix(reason + strlen(imip_digest_skip_reason), ": "))
			reason += strlen(imip_digest_skip_reason) + 2;
		if (pr->code != IMIP_OUTCOME_UPDATED || reason == NULL ||
		    !g_str_has_prefix(reason, "free/busy of "))
			return false;
	}
	return result->parts->len > 0;
}

/* A message refused for want of sender authentication is delivered
   untouched: no summary written by us around what a stranger sent. */
static bool imip_refused_unauthenticated(const struct imip_result *result)
{
	for (unsigned int i = 0; i < result->parts->len; i++) {
		const struct imip_part_result *pr = g_ptr_array_index(result->parts, i);

		if (pr->code == IMIP_OUTCOME_REJECTED && pr->reason != NULL &&
		    g_str_has_prefix(pr->reason, AUTHRES_REASON_PREFIX))
			return true;
	}
	return false;
}

static void imip_compose_mailbox(struct handler *h)
{
	enum compose_incoming mode = COMPOSE_INCOMING_SUMMARY_WRAPS_MESSAGE;
	char *incoming, *lang, *text;
	GPtrArray *messages;

	if (imip_refused_unauthenticated(h->result))
		return;
	if (imip_only_freebusy_data(h->result) &&
	    !prefs_is(h->config, h->su, "freebusy_messages", "notify"))
		return;
	incoming = handler_pref(h, "incoming");
	if (incoming != NULL)
		(void)compose_incoming_parse(incoming, &mode);
	g_free(incoming);
	if (mode == COMPOSE_INCOMING_MESSAGE_ONLY)
		return;
	lang = handler_pref(h, "LANG");
	text = summary_text(h->result, lang, handler_sender_name(h));
	messages = compose_mailbox_messages(mode, h->msg, text,
					    imip_outcome_name(h->result->code),
					    h->user, h->config->calendar_sender,
					    h->ctx->now);
	for (unsigned int i = 0; messages != NULL && i < messages->len; i++)
		g_ptr_array_add(h->result->mailbox,
				g_bytes_ref(g_ptr_array_index(messages, i)));
	if (messages != NULL)
		g_ptr_array_free(messages, TRUE);
	g_free(text);
	g_free(lang);
}

static void imip_publish_if_changed(struct handler *h)
{
	struct derive_params p = {
		.config = h->config, .su = h->su, .user = h->user,
		.user_zone = h->user_zone, .now = h->ctx->now,
	};
	const char *error;

	if (h->own_fb_changed && derive_publish(&p, &error) < 0)
		imip_log(h->ctx, IMIP_LOG_WARNING,
			 "cannot publish free/busy of %s: %s", h->user, error);
}

/* --- sending: the outbox (outbox.h) ------------------------------------- */

/* Reply number `i` of this message was not sent: the object it answers
   reports `error` (the calendar change itself stands, and its reason
   says so first), and the log names the failure and what became of the
   reply. */
static void imip_reply_not_sent(struct handler *h, unsigned int i,
				const char *error, const char *what)
{
	const struct imip_outgoing *out = g_ptr_array_index(h->result->outgoing, i);
	struct imip_part_result *pr = g_ptr_array_index(h->result->parts,
							out->part);
	const char *why = error != NULL ? error : "unknown error";
	char *note = g_strdup_printf("reply to %s not sent: %s; %s",
				     out->recipient, why, what);

	imip_log(h->ctx, IMIP_LOG_ERROR, "cannot send reply to %s: %s (%s)",
		 out->recipient, why, what);
	pr->code = IMIP_OUTCOME_ERROR;
	imip_reason_append(pr, note);
	g_free(note);
}

/* An entry queued by an earlier message, tried again now. */
static void imip_log_queued(struct handler *h, const struct outbox_report *r)
{
	const char *to = r->recipient != NULL ? r->recipient : "(unreadable)";

	switch (r->fate) {
	case OUTBOX_SENT:
		imip_log(h->ctx, IMIP_LOG_INFO, "%s: queued reply to %s sent",
			 h->user, to);
		break;
	case OUTBOX_DEFERRED:
		imip_log(h->ctx, IMIP_LOG_WARNING, "%s: queued reply to %s "
			 "still not sent: %s", h->user, to, r->error);
		break;
	case OUTBOX_REFUSED:
	case OUTBOX_EXPIRED:
	case OUTBOX_UNREADABLE:
		imip_log(h->ctx, IMIP_LOG_ERROR, "%s: queued reply to %s "
			 "given up (moved to outbox/failed): %s", h->user, to,
			 r->error);
		break;
	}
}

static int imip_reply_index(const struct imip_replies *replies,
			    const char *name)
{
	for (unsigned int i = 0; i < replies->names->len; i++) {
		if (g_strcmp0(g_ptr_array_index(replies->names, i), name) == 0)
			return (int)i;
	}
	return -1;
}

/* A reply that could not even be queued gets one direct attempt. */
static bool imip_send_unqueued(struct handler *h, unsigned int i)
{
	const struct imip_outgoing *out = g_ptr_array_index(h->result->outgoing, i);
	char *error = NULL;
	enum imip_send_status status = h->ctx->send(h->ctx->send_context, out,
						    &error);

	if (status != IMIP_SEND_OK)
		imip_reply_not_sent(h, i, error, "could not be queued, not "
				    "retried");
	g_free(error);
	return status == IMIP_SEND_OK;
}

/* A part whose reply failed records its changed outcome, so that a
   duplicate reports it. */
static void imip_remember_failures(struct handler *h,
				   const struct imip_replies *replies,
				   const bool *failed)
{
	for (unsigned int k = 0; k < replies->done->len; k++) {
		struct imip_part_done *d = g_ptr_array_index(replies->done, k);
		bool any = false;

		for (unsigned int i = d->first_out; i < d->end_out; i++)
			any = any || failed[i];
		if (any && d->remembered)
			imip_remember_part(h, d);
	}
}

/* Under the user's lock, after every part: send what is queued (this
   message's replies and whatever earlier messages left), then let this
   message's outcome say which replies did not leave. */
static void imip_send_replies(struct handler *h, struct imip_replies *replies)
{
	struct outbox_sender sender = {
		.send = h->ctx->send, .context = h->ctx->send_context,
		.now = h->ctx->now, .lifetime = h->config->outbox_lifetime,
	};
	GPtrArray *reports = g_ptr_array_new_with_free_func(
		(GDestroyNotify)outbox_report_free);
	unsigned int n = replies->names->len;
	bool *failed = g_new0(bool, n + 1);
	const char *error;

	if (outbox_flush(h->su, &sender, reports, &error) < 0)
		imip_log(h->ctx, IMIP_LOG_ERROR, "%s: outbox: %s", h->user,
			 error);
	for (unsigned int k = 0; k < reports->len; k++) {
		const struct outbox_report *r = g_ptr_array_index(reports, k);
		int i = imip_reply_index(replies, r->name);

		if (i < 0) {
			imip_log_queued(h, r);
		} else if (r->fate != OUTBOX_SENT) {
			imip_reply_not_sent(h, (unsigned int)i, r->error,
					    r->fate == OUTBOX_DEFERRED ?
					    "queued for retry" :
					    "given up, kept in outbox/failed");
			failed[i] = true;
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		if (g_ptr_array_index(replies->names, i) == NULL)
			failed[i] = !imip_send_unqueued(h, i);
	}
	imip_remember_failures(h, replies, failed);
	g_free(failed);
	g_ptr_array_free(reports, TRUE);
}

/* Keep this message's changes before any reply leaves (PostgreSQL: the
   session's transaction is committed; the file store kept each write
   already): a reply must never announce a change the store then loses.
   When they cannot be kept, nothing of what the processing found
   stands: the outcome is error, no reply is sent, and a retry of the
   message processes it again (its parts were not recorded as seen). */
static bool imip_commit_changes(struct handler *h)
{
	const char *error;
	char *reason;

	if (store_user_commit(h->su, &error) == 0)
		return true;
	reason = g_strdup_printf("store: %s; the changes of this message "
				 "were not kept", error);
	imip_log(h->ctx, IMIP_LOG_ERROR, "%s: %s", h->user, reason);
	g_ptr_array_remove_range(h->result->outgoing, 0,
				 h->result->outgoing->len);
	g_ptr_array_remove_range(h->result->parts, 0, h->result->parts->len);
	imip_result_set(h->result, IMIP_OUTCOME_ERROR, reason);
	g_free(reason);
	return false;
}

/* After sending: what the sending changed (the outbox, the parts whose
   reply failed) is kept too.  If it is not, the replies stay queued and
   may be sent once more by the next flush; the message's outcome stands. */
static void imip_commit_sending(struct handler *h)
{
	const char *error;

	if (store_user_commit(h->su, &error) < 0)
		imip_log(h->ctx, IMIP_LOG_ERROR, "%s: store: %s; the outbox "
			 "changes of this delivery were not kept (replies may "
			 "be sent again)", h->user, error);
}

static void imip_process_user(struct imip_ctx *ctx, struct handler *h)
{
	struct imip_replies replies = { NULL, NULL };
	char *tzid, *participating;
	char *error = NULL;
	bool kept;
	int r;

	r = ctx->store == NULL ? -1 :
		store_user_open(ctx->store, h->user, STORE_OPEN_CREATE, &h->su, &error);
	if (r <= 0) {
		char *reason = g_strdup_printf("store unavailable: %s",
					       error != NULL ? error : "no store");
		imip_log(ctx, IMIP_LOG_ERROR, "%s: %s", h->user, reason);
		imip_result_set(h->result, IMIP_OUTCOME_ERROR, reason);
		g_free(reason);
		g_free(error);
		return;
	}
	if (ctx->send != NULL) {
		replies.done = g_ptr_array_new_with_free_func(
			(GDestroyNotify)imip_part_done_free);
		replies.names = g_ptr_array_new_with_free_func(g_free);
	}
	participating = handler_pref(h, "participating");
	if (g_strcmp0(participating, "no") == 0) {
		imip_result_set(h->result, IMIP_OUTCOME_NO_ACTION,
				"the user does not participate (participating = no)");
	} else {
		tzid = handler_pref(h, "TZID");
		h->user_zone = ical_zone_for_user(tzid);
		g_free(tzid);
		/* a killed delivery may have derived free/busy without
		   publishing it, and its retry finds nothing changed */
		if (store_user_interrupted(h->su))
			h->own_fb_changed = true;
		imip_process_parts(h, ctx->send != NULL ? &replies : NULL);

		imip_publish_if_changed(h);
	}
	kept = imip_commit_changes(h);
	/* also when this message made no reply: earlier ones may wait */
	if (kept && ctx->send != NULL) {
		imip_send_replies(h, &replies);
		imip_commit_sending(h);
	}
	if (g_strcmp0(participating, "no") != 0) {
		imip_result_combine(h->result);
		/* nothing kept: the message is delivered as it came, as
		   when the store cannot be opened */
		if (kept && h->role == IMIP_ROLE_PERSON)
			imip_compose_mailbox(h);
	}
	if (replies.done != NULL) {
		g_ptr_array_free(replies.done, TRUE);
		g_ptr_array_free(replies.names, TRUE);
	}
	g_free(participating);
	store_user_close(&h->su);
}

static const struct imip_options imip_default_options = {
	.allow_public = true,
};

static GPtrArray *imip_aliases_of(const struct imip_options *options,
				  const char *user)
{
	GPtrArray *aliases = g_ptr_array_new_with_free_func(g_free);

	for (unsigned int i = 0; options->addresses != NULL &&
	     options->addresses[i] != NULL; i++) {
		char *alias = address_normalize(options->addresses[i]);

		if (alias == NULL || g_strcmp0(alias, user) == 0)
			g_free(alias);
		else
			g_ptr_array_add(aliases, alias);
	}
	return aliases;
}

/* With require_authentication = dmarc, what DMARC authenticates is the
   From address, so only From may stand for the sender in the identity
   checks: the envelope sender, Sender and Reply-To are the sender's own
   words and would let a message that passes DMARC for its own domain
   speak for an organiser elsewhere.  The outgoing role is exempt, as from
   the check itself. */
static void imip_senders_authenticated_only(const struct handler *h,
					    GPtrArray *senders)
{
	if (h->config->require_authentication == IMIP_REQUIRE_AUTH_NONE ||
	    h->role == IMIP_ROLE_OUTGOING)
		return;
	g_ptr_array_set_size(senders, 0);
	if (h->msg->from != NULL)
		g_ptr_array_add(senders, g_strdup(h->msg->from));
}

struct imip_result *
imip_process_with(struct imip_ctx *ctx, const struct mime_message *msg,
		  const char *envelope_sender, const char *user_in,
		  enum imip_role role, const struct imip_options *options)
{
	struct imip_result *result = imip_result_new();
	GPtrArray *senders = g_ptr_array_new_with_free_func(g_free);
	char *user = address_normalize(user_in);
	const struct imip_options *o = options != NULL ? options :
		&imip_default_options;
	GPtrArray *aliases = imip_aliases_of(o, user);
	struct handler h = {
		.ctx = ctx, .config = ctx->config, .user = user,
		.senders = senders, .msg = msg, .role = role,
		.result = result, .options = o, .aliases = aliases,
	};
	if (msg == NULL) {
		imip_result_set(result, IMIP_OUTCOME_ERROR,
				"the message could not be read");
		imip_result_combine(result);
		g_ptr_array_free(senders, TRUE);
		g_ptr_array_free(aliases, TRUE);
		g_free(user);
		return result;
	}
	mime_message_senders(msg, envelope_sender, senders);
	/* DESIGN.md rule 8: never answer automatic mail, nor our own */
	h.may_send = !msg->auto_submitted &&
		     !imip_senders_include(senders, ctx->config->calendar_sender);
	imip_senders_authenticated_only(&h, senders);
	if (user == NULL) {
		imip_result_set(result, IMIP_OUTCOME_ERROR,
				"the calendar user's address is not usable");
	} else if (msg->delivery_report) {
		/* a bounce, perhaps of one of our own replies, embedding it:
		   acting on it would process our own message again, and
		   answering it could loop */
		imip_result_set(result, IMIP_OUTCOME_NO_ACTION,
				"delivery status notification (bounce): not "
				"processed as calendar data, not answered");
	} else if (msg->calendar_parts->len == 0 && msg->problem != NULL) {
		imip_result_set(result, msg->problem_is_limit ?
				IMIP_OUTCOME_REJECTED : IMIP_OUTCOME_ERROR,
				msg->problem);
	} else if (msg->calendar_parts->len == 0) {
		imip_result_set(result, IMIP_OUTCOME_NO_ACTION,
				"no calendar data");
	} else {
		imip_process_user(ctx, &h);
		if (msg->problem != NULL)
			imip_result_set(result, msg->problem_is_limit ?
					IMIP_OUTCOME_REJECTED : IMIP_OUTCOME_ERROR,
					msg->problem);
	}
	if (result->reason != NULL) {
		g_free(result->reason);
		result->reason = NULL;
	}
	imip_result_combine(result);
	g_ptr_array_free(senders, TRUE);
	g_ptr_array_free(aliases, TRUE);
	g_free(user);
	return result;
}

struct imip_result *
imip_process(struct imip_ctx *ctx, const struct mime_message *msg,
	     const char *envelope_sender, const char *user,
	     enum imip_role role)
{
	return imip_process_with(ctx, msg, envelope_sender, user, role, NULL);
}
