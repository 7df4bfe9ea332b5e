/* The resource handler: rooms, cars and projectors that answer on their
   own (reference imip-agent.md 6.4, docs/resources.md).  A REQUEST is
   judged by the resource's scheduling functions (scheduling.c) and
   answered at once; everything the decision reads and writes (the
   resource's store, the quota groups) is locked for the whole decision,
   so two simultaneous requests for one slot never both get ACCEPTED.
   A resource never organises. */

#include "handler.h"
#include "address.h"
#include "calstore.h"
#include "config.h"
#include "derive.h"
#include "freebusy.h"
#include "ical-object.h"
#include "journal.h"
#include "prefs.h"
#include "scheduling.h"
#include "store.h"

#include <string.h>

/* The quota groups a decision may read and write, opened (locked) in
   name order so that two resources never wait for each other. */
struct resource_quotas {
	struct journal *journal;
	GHashTable *open;	/* name -> struct journal_quota * */
	GPtrArray *names;
};

static void resource_quota_close(void *q)
{
	struct journal_quota *quota = q;

	journal_quota_close(&quota);
}

static int resource_quotas_open(struct handler *h, const char *functions,
				struct resource_quotas *rq, char **error_r)
{
	memset(rq, 0, sizeof(*rq));
	rq->names = sched_quotas_of(functions, h->user);
	rq->open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 resource_quota_close);
	if (rq->names->len == 0)
		return 0;
	if (journal_open(h->config, &rq->journal, error_r) < 0)
		return -1;
	for (unsigned int i = 0; i < rq->names->len; i++) {
		const char *name = g_ptr_array_index(rq->names, i);
		struct journal_quota *q;

		if (journal_quota_open(rq->journal, name, true, &q, error_r) <= 0)
			return -1;
		g_hash_table_insert(rq->open, g_strdup(name), q);
	}
	return 0;
}

/* Keep what the decision wrote to its quotas, before the answer is
   queued: an answer must never announce a booking the journal then
   loses (PostgreSQL commits here; the file journal kept each write). */
static int resource_quotas_commit(struct resource_quotas *rq,
				  const char **error_r)
{
	GHashTableIter iter;
	void *value;

	g_hash_table_iter_init(&iter, rq->open);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (journal_quota_commit(value, error_r) < 0)
			return -1;
	}
	return 0;
}

static void resource_quotas_close(struct resource_quotas *rq)
{
	if (rq->open != NULL)
		g_hash_table_destroy(rq->open);
	if (rq->names != NULL)
		g_ptr_array_free(rq->names, TRUE);
	journal_close(&rq->journal);
}

/* --- answers ---------------------------------------------------------- */

/* The resource's own ATTENDEE line in comp (under any of its addresses). */
static icalproperty *resource_self_attendee(struct handler *h,
					    icalcomponent *comp)
{
	icalproperty *prop = ical_find_attendee(comp, h->user);

	for (unsigned int i = 0; prop == NULL && h->aliases != NULL &&
	     i < h->aliases->len; i++)
		prop = ical_find_attendee(comp, g_ptr_array_index(h->aliases, i));
	return prop;
}

static void resource_set_partstat(struct handler *h, icalcomponent *comp,
				  icalparameter_partstat partstat,
				  const char *delegate)
{
	icalproperty *prop = resource_self_attendee(h, comp);
	icalparameter *param;

	if (prop == NULL)
		return;
	while ((param = icalproperty_get_first_parameter(prop, ICAL_PARTSTAT_PARAMETER)) != NULL)
		icalproperty_remove_parameter_by_ref(prop, param);
	while ((param = icalproperty_get_first_parameter(prop, ICAL_DELEGATEDTO_PARAMETER)) != NULL)
		icalproperty_remove_parameter_by_ref(prop, param);
	icalproperty_add_parameter(prop, icalparameter_new_partstat(partstat));
	if (delegate != NULL) {
		char *uri = address_to_uri(delegate);

		icalproperty_add_parameter(prop, icalparameter_new_delegatedto(uri));
		g_free(uri);
	}
}

/* A copy of comp as the resource answers it: only its own ATTENDEE
   (RFC 5546 3.2.3), SENT-BY the calendar address, a new DTSTAMP, and the
   reason as COMMENT when it declines. */
static icalcomponent *resource_answer_comp(struct handler *h,
					   icalcomponent *comp,
					   icalparameter_partstat partstat,
					   const char *delegate,
					   const char *comment)
{
	icalcomponent *answer = icalcomponent_new_clone(comp);
	icalproperty *prop, *next, *self;
	char *sent_by = address_to_uri(h->config->calendar_sender);

	self = resource_self_attendee(h, answer);
	for (prop = icalcomponent_get_first_property(answer, ICAL_ATTENDEE_PROPERTY);
	     prop != NULL; prop = next) {
		next = icalcomponent_get_next_property(answer, ICAL_ATTENDEE_PROPERTY);
		if (prop != self) {
			icalcomponent_remove_property(answer, prop);
			icalproperty_free(prop);
		}
	}
	resource_set_partstat(h, answer, partstat, delegate);
	if (self != NULL) {
		icalparameter *rsvp;

		/* an answer asks for no answer */
		while ((rsvp = icalproperty_get_first_parameter(self, ICAL_RSVP_PARAMETER)) != NULL)
			icalproperty_remove_parameter_by_ref(self, rsvp);
	}
	if (self != NULL && sent_by != NULL &&
	    icalproperty_get_first_parameter(self, ICAL_SENTBY_PARAMETER) == NULL)
		icalproperty_add_parameter(self, icalparameter_new_sentby(sent_by));
	icalcomponent_set_dtstamp(answer, icaltime_from_timet_with_zone(
		h->ctx->now, 0, icaltimezone_get_utc_timezone()));
	while ((prop = icalcomponent_get_first_property(answer, ICAL_COMMENT_PROPERTY)) != NULL) {
		icalcomponent_remove_property(answer, prop);
		icalproperty_free(prop);
	}
	if (comment != NULL)
		icalcomponent_add_property(answer, icalproperty_new_comment(comment));
	g_free(sent_by);
	return answer;
}

/* An instance the resource declines inside an accepted series. */
static icalcomponent *resource_declined_instance(struct handler *h,
						 const struct ical_object *obj,
						 const char *rid)
{
	icalcomponent *base = obj->master != NULL ? obj->master :
		itip_object_first(obj);
	icalcomponent *inst = icalcomponent_new_vevent();
	struct icaltimetype t = icaltime_from_string(rid);
	icalproperty *prop;
	const icalproperty_kind keep[] = {
		ICAL_ORGANIZER_PROPERTY, ICAL_SEQUENCE_PROPERTY,
		ICAL_SUMMARY_PROPERTY,
	};
	icalcomponent *answer;

	icalcomponent_set_uid(inst, obj->uid);
	for (unsigned int i = 0; i < G_N_ELEMENTS(keep); i++) {
		prop = icalcomponent_get_first_property(base, keep[i]);
		if (prop != NULL)
			icalcomponent_add_property(inst, icalproperty_new_clone(prop));
	}
	prop = resource_self_attendee(h, base);
	if (prop != NULL)
		icalcomponent_add_property(inst, icalproperty_new_clone(prop));
	icalcomponent_add_property(inst, icalproperty_new_recurrenceid(t));
	icalcomponent_add_property(inst, icalproperty_new_dtstart(t));
	answer = resource_answer_comp(h, inst, ICAL_PARTSTAT_DECLINED, NULL,
				      "the resource is already booked at this time");
	icalcomponent_free(inst);
	return answer;
}

/* The answer's components in a VCALENDAR with the request's VTIMEZONEs. */
static char *resource_answer_text(const struct ical_object *obj,
				  const char *method, GPtrArray *comps)
{
	struct ical_object answer = {
		.vcal = obj->vcal, .kind = ICAL_VEVENT_COMPONENT,
		.uid = obj->uid, .master = NULL, .overrides = comps,
	};

	return ical_object_to_text(&answer, method);
}

static void resource_free_comps(GPtrArray *comps)
{
	g_ptr_array_foreach(comps, (GFunc)(void (*)(void))icalcomponent_free, NULL);
	g_ptr_array_free(comps, TRUE);
}

/* REPLY (RFC 5546 3.2.3) to the organiser. */
static bool resource_send_reply(struct handler *h, const struct ical_object *obj,
				const struct sched_result *res,
				icalparameter_partstat partstat)
{
	GPtrArray *comps = g_ptr_array_new();
	GPtrArray *source = ical_object_components(obj);
	char *organiser = ical_organizer_of(itip_object_first(obj));
	const char *comment = partstat == ICAL_PARTSTAT_DECLINED ? res->reason : NULL;
	char *text;
	bool sent;

	for (unsigned int i = 0; i < source->len; i++) {
		icalcomponent *comp = g_ptr_array_index(source, i);
		char *rid = ical_rid_of(comp);
		bool declined = false;

		for (unsigned int j = 0; rid != NULL && j < res->declined_rids->len; j++)
			declined = strcmp(rid, g_ptr_array_index(res->declined_rids, j)) == 0;
		g_ptr_array_add(comps, resource_answer_comp(
			h, comp, declined ? ICAL_PARTSTAT_DECLINED : partstat,
			res->delegate, declined ? "the resource is already "
			"booked at this time" : comment));
		g_free(rid);
	}
	for (unsigned int j = 0; j < res->declined_rids->len; j++) {
		const char *rid = g_ptr_array_index(res->declined_rids, j);

		if (ical_object_find_override(obj, rid) == NULL)
			g_ptr_array_add(comps, resource_declined_instance(h, obj, rid));
	}
	text = resource_answer_text(obj, "REPLY", comps);
	sent = handler_send(h, organiser, "REPLY", text);
	g_free(text);
	g_free(organiser);
	g_ptr_array_free(source, TRUE);
	resource_free_comps(comps);
	return sent;
}

/* COUNTER (RFC 5546 3.2.7): the same event at the period the resource
   can offer. */
static bool resource_send_counter(struct handler *h, const struct ical_object *obj,
				  const struct sched_result *res)
{
	icalcomponent *base = itip_object_first(obj);
	icalcomponent *counter = resource_answer_comp(h, base, ICAL_PARTSTAT_NEEDSACTION,
						      NULL, res->reason);
	icaltimezone *utc = icaltimezone_get_utc_timezone();
	icalproperty *prop;
	GPtrArray *comps = g_ptr_array_new();
	char *organiser = ical_organizer_of(base);
	char *text;
	bool sent;

	while ((prop = icalcomponent_get_first_property(counter, ICAL_DURATION_PROPERTY)) != NULL) {
		icalcomponent_remove_property(counter, prop);
		icalproperty_free(prop);
	}
	icalcomponent_set_dtstart(counter, icaltime_from_timet_with_zone(res->counter_start, 0, utc));
	icalcomponent_set_dtend(counter, icaltime_from_timet_with_zone(res->counter_end, 0, utc));
	g_ptr_array_add(comps, counter);
	text = resource_answer_text(obj, "COUNTER", comps);
	sent = handler_send(h, organiser, "COUNTER", text);
	g_free(text);
	g_free(organiser);
	resource_free_comps(comps);
	return sent;
}

/* RFC 5546 3.2.2.3: the delegate receives the request with itself added,
   DELEGATED-FROM the resource. */
static void resource_send_delegation(struct handler *h, const struct ical_object *obj,
				     const char *delegate)
{
	GPtrArray *comps = g_ptr_array_new();
	GPtrArray *source = ical_object_components(obj);
	char *delegate_uri = address_to_uri(delegate);
	char *self_uri = address_to_uri(h->user);
	char *text;

	for (unsigned int i = 0; i < source->len; i++) {
		icalcomponent *comp = icalcomponent_new_clone(g_ptr_array_index(source, i));
		icalproperty *att = icalproperty_new_attendee(delegate_uri);

		resource_set_partstat(h, comp, ICAL_PARTSTAT_DELEGATED, delegate);
		icalproperty_add_parameter(att, icalparameter_new_delegatedfrom(self_uri));
		icalproperty_add_parameter(att, icalparameter_new_partstat(ICAL_PARTSTAT_NEEDSACTION));
		icalproperty_add_parameter(att, icalparameter_new_rsvp(ICAL_RSVP_TRUE));
		icalcomponent_add_property(comp, att);
		g_ptr_array_add(comps, comp);
	}
	text = resource_answer_text(obj, "REQUEST", comps);
	(void)handler_send(h, delegate, "REQUEST", text);
	g_free(text);
	g_free(delegate_uri);
	g_free(self_uri);
	g_ptr_array_free(source, TRUE);
	resource_free_comps(comps);
}

/* --- the decision's effects --------------------------------------------- */

static bool resource_rid_declined(const struct sched_result *res, const char *rid)
{
	for (unsigned int i = 0; res != NULL && rid != NULL &&
	     i < res->declined_rids->len; i++) {
		if (strcmp(rid, g_ptr_array_index(res->declined_rids, i)) == 0)
			return true;
	}
	return false;
}

/* Record the resource's answer in its copy of the event: its PARTSTAT in
   every component, and declined instances of a series as overrides. */
static void resource_mark(struct handler *h, struct ical_object *obj,
			  const struct sched_result *res,
			  icalparameter_partstat partstat)
{
	GPtrArray *comps = ical_object_components(obj);

	for (unsigned int i = 0; i < comps->len; i++) {
		icalcomponent *comp = g_ptr_array_index(comps, i);
		char *rid = ical_rid_of(comp);

		resource_set_partstat(h, comp, resource_rid_declined(res, rid) ?
				      ICAL_PARTSTAT_DECLINED : partstat,
				      partstat == ICAL_PARTSTAT_DELEGATED ?
				      res->delegate : NULL);
		g_free(rid);
	}
	g_ptr_array_free(comps, TRUE);
	for (unsigned int i = 0; i < res->declined_rids->len; i++) {
		const char *rid = g_ptr_array_index(res->declined_rids, i);
		icalproperty *rid_prop;
		icalcomponent *inst;

		if (obj->master == NULL || ical_object_find_override(obj, rid) != NULL)
			continue;
		rid_prop = icalproperty_new_recurrenceid(icaltime_from_string(rid));
		inst = handler_instance_from_master((struct ical_object *)obj, rid_prop,
						    h->user_zone);
		icalproperty_free(rid_prop);
		if (inst != NULL)
			resource_set_partstat(h, inst, ICAL_PARTSTAT_DECLINED, NULL);
	}
}

/* Reservations of the booking in every quota the decision named: the
   accepted instances, or none (declined, cancelled). */
static int resource_record_quotas(struct handler *h, struct resource_quotas *rq,
				  const char *uid, const char *organiser,
				  const struct fb_list *periods,
				  const struct sched_result *res, bool accepted,
				  const char **error_r)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	GPtrArray *none = g_ptr_array_new();
	GHashTableIter iter;
	void *key, *value;
	int ret = 0;

	for (unsigned int i = 0; accepted && i < periods->periods->len; i++) {
		const struct fb_period *p = g_ptr_array_index(periods->periods, i);
		struct journal_reservation *r;

		if (resource_rid_declined(res, p->rid))
			continue;
		r = g_new0(struct journal_reservation, 1);
		r->resource = g_strdup(h->user);
		r->uid = g_strdup(uid);
		r->rid = g_strdup(p->rid);
		r->organiser = g_strdup(organiser);
		r->start = p->start;
		r->end = p->end;
		g_ptr_array_add(list, r);
	}
	g_hash_table_iter_init(&iter, rq->open);
	while (ret == 0 && g_hash_table_iter_next(&iter, &key, &value)) {
		bool named = false;

		/* without a decision (a cancellation) every quota the
		   functions name holds what is still booked */
		named = res == NULL;
		for (unsigned int i = 0; res != NULL && i < res->quotas->len; i++)
			named = named || strcmp(g_ptr_array_index(res->quotas, i), key) == 0;
		ret = journal_reservations_replace(value, h->user, uid,
						   accepted && named ? list : none,
						   error_r);
	}
	g_ptr_array_free(list, TRUE);
	g_ptr_array_free(none, TRUE);
	return ret;
}

/* Offers held for this UID: gone once the organiser's request is
   answered; a COUNTER holds the new one. */
static int resource_hold_offer(struct handler *h, const struct ical_object *obj,
			       const struct sched_result *res,
			       const char **error_r)
{
	struct fb_list *offers = fb_list_new();
	char *hold = handler_pref(h, "freebusy_offers");
	int ret;

	if (res->decision == SCHED_COUNTER) {
		struct fb_period p = {
			.start = res->counter_start, .end = res->counter_end,
			.uid = obj->uid, .transp = (char *)"OPAQUE",
		};

		if (hold != NULL) {
			struct icaldurationtype d = icaldurationtype_from_string(hold);

			if (!icaldurationtype_is_bad_duration(d))
				p.expires = h->ctx->now + icaldurationtype_as_int(d);
		}
		fb_list_add(offers, &p);
	}
	ret = store_fb_replace_uid(h->su, STORE_FB_OFFERS, NULL, obj->uid,
				   offers, error_r);
	g_free(hold);
	fb_list_free(&offers);
	return ret;
}

static icalparameter_partstat resource_partstat(enum sched_decision d)
{
	switch (d) {
	case SCHED_ACCEPT: return ICAL_PARTSTAT_ACCEPTED;
	case SCHED_DECLINE: return ICAL_PARTSTAT_DECLINED;
	case SCHED_DELEGATE: return ICAL_PARTSTAT_DELEGATED;
	case SCHED_COUNTER: return ICAL_PARTSTAT_NEEDSACTION;
	}
	return ICAL_PARTSTAT_NEEDSACTION;
}

/* Store the answered request, derive free/busy, book quotas, answer. */
static int resource_apply(struct handler *h, struct ical_object *obj,
			  struct resource_quotas *rq, const struct fb_list *periods,
			  const char *organiser, const struct sched_result *res,
			  struct imip_part_result *pr, const char **error_r)
{
	icalparameter_partstat partstat = resource_partstat(res->decision);
	struct handler_store_stats stats;
	bool sent = false;

	resource_mark(h, obj, res, partstat);
	if (handler_store_newer(h, obj, false, &stats, error_r) < 0 ||
	    handler_derive(h, obj->uid, error_r) < 0 ||
	    resource_record_quotas(h, rq, obj->uid, organiser, periods, res,
				   res->decision == SCHED_ACCEPT, error_r) < 0 ||
	    resource_hold_offer(h, obj, res, error_r) < 0 ||
	    resource_quotas_commit(rq, error_r) < 0)
		return -1;
	switch (res->decision) {
	case SCHED_ACCEPT:
	case SCHED_DECLINE:
	case SCHED_DELEGATE:
		sent = resource_send_reply(h, obj, res, partstat);
		if (res->decision == SCHED_DELEGATE && sent)
			resource_send_delegation(h, obj, res->delegate);
		break;
	case SCHED_COUNTER:
		sent = resource_send_counter(h, obj, res);
		break;
	}
	handler_outcome(pr, sent ? IMIP_OUTCOME_REPLIED : IMIP_OUTCOME_NO_ACTION,
			"%s%s%s%s",
			res->decision == SCHED_ACCEPT ? "accepted" :
			res->decision == SCHED_DECLINE ? "declined" :
			res->decision == SCHED_COUNTER ? "counter-proposal" :
			"delegated",
			res->reason != NULL ? ": " : "",
			res->reason != NULL ? res->reason : "",
			sent ? "" : " (not sent: automatic message)");
	if (res->decision == SCHED_ACCEPT && res->declined_rids->len > 0) {
		char *reason = g_strdup_printf("%s; %u conflicting occurrence(s) "
					       "declined", pr->reason,
					       res->declined_rids->len);
		g_free(pr->reason);
		pr->reason = reason;
	}
	return 0;
}

/* --- REQUEST ------------------------------------------------------------ */

static bool resource_is_newer(struct handler *h, const struct ical_object *obj,
			      struct imip_part_result *pr)
{
	struct ical_object *stored = NULL;
	GPtrArray *comps;
	const char *error;
	bool newer = false, cancelled = false;
	int r = calstore_load(h->su, obj->uid, &stored, &error);

	if (r < 0) {
		handler_store_error(h, pr, "reading the booking", error);
		return false;
	}
	if (r == 0)
		return true;
	/* a booking belongs to its organiser: nobody else updates it */
	if (!handler_check_stored_organiser(h, obj, stored, pr)) {
		ical_object_free(stored);
		return false;
	}
	comps = ical_object_components(obj);
	for (unsigned int i = 0; i < comps->len && !newer; i++) {
		icalcomponent *comp = g_ptr_array_index(comps, i);
		char *rid = ical_rid_of(comp);
		icalcomponent *old = rid == NULL ? stored->master :
			ical_object_find_override(stored, rid);

		if (old != NULL && icalcomponent_get_status(old) == ICAL_STATUS_CANCELLED)
			cancelled = true;
		newer = itip_compare(comp, old, false) == ITIP_NEWER;
		g_free(rid);
	}
	g_ptr_array_free(comps, TRUE);
	ical_object_free(stored);
	if (!newer)
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION, cancelled ?
				"the booking was cancelled by a message that "
				"is not older" :
				"not newer than the request already answered");
	return newer;
}

static bool resource_is_recurring(const struct ical_object *obj,
				  const struct fb_list *periods)
{
	return periods->periods->len > 1 || obj->overrides->len > 0 ||
	       (obj->master != NULL &&
		(icalcomponent_get_first_property(obj->master, ICAL_RRULE_PROPERTY) != NULL ||
		 icalcomponent_get_first_property(obj->master, ICAL_RDATE_PROPERTY) != NULL));
}

/* Outlook/Exchange mark a meeting whose organiser takes no proposals of
   a new time with X-MICROSOFT-DISALLOW-COUNTER:TRUE (landscape.md 5.5):
   a COUNTER would not be acted on, so the resource declines instead and
   says in the COMMENT what it would have proposed. */
static bool resource_counter_disallowed(const struct ical_object *obj)
{
	icalcomponent *comp = itip_object_first(obj);
	icalproperty *prop;
	bool disallowed = false;

	for (prop = comp == NULL ? NULL :
		    icalcomponent_get_first_property(comp, ICAL_X_PROPERTY);
	     prop != NULL && !disallowed;
	     prop = icalcomponent_get_next_property(comp, ICAL_X_PROPERTY)) {
		const char *name = icalproperty_get_x_name(prop);
		const char *value = icalproperty_get_x(prop);

		disallowed = name != NULL && value != NULL &&
			g_ascii_strcasecmp(name, "X-MICROSOFT-DISALLOW-COUNTER") == 0 &&
			g_ascii_strcasecmp(value, "TRUE") == 0;
	}
	return disallowed;
}

static void resource_honour_disallow_counter(const struct ical_object *obj,
					     struct sched_result *res)
{
	char *reason;

	if (res->decision != SCHED_COUNTER || !resource_counter_disallowed(obj))
		return;
	reason = g_strdup_printf("the organiser accepts no counter-proposals "
				 "(X-MICROSOFT-DISALLOW-COUNTER); it would have %s",
				 res->reason != NULL ? res->reason :
				 "proposed another time");
	g_free(res->reason);
	res->reason = reason;
	res->decision = SCHED_DECLINE;
}

static void resource_decide(struct handler *h, struct ical_object *obj,
			    const char *organiser, struct imip_part_result *pr)
{
	struct derive_params p = {
		.config = h->config, .su = h->su, .user = h->user,
		.user_zone = h->user_zone, .now = h->ctx->now,
		.aliases = h->aliases,
	};
	struct fb_list *periods = fb_list_new();
	char *functions = handler_pref(h, "scheduling_function");
	struct resource_quotas rq;
	struct sched_result res;
	struct sched_request req;
	const char *error = NULL;
	char *open_error = NULL;

	sched_result_init(&res);
	if (derive_object_periods(&p, obj, periods, &error) < 0) {
		handler_outcome(pr, IMIP_OUTCOME_REJECTED, "%s", error);
	} else if (periods->periods->len == 0) {
		/* nothing bookable: an end not after the start (or only
		   transparent instances) is declined, never "corrected" */
		res.decision = SCHED_DECLINE;
		res.reason = g_strdup("the requested period is not valid: "
				      "it does not end after it starts");
		memset(&rq, 0, sizeof(rq));
		rq.open = g_hash_table_new(g_str_hash, g_str_equal);
		if (resource_apply(h, obj, &rq, periods, organiser, &res, pr,
				   &error) < 0)
			handler_store_error(h, pr, "declining the booking", error);
		resource_quotas_close(&rq);
	} else if (resource_quotas_open(h, functions, &rq, &open_error) < 0) {
		handler_outcome(pr, IMIP_OUTCOME_ERROR, "quota journal: %s",
				open_error != NULL ? open_error : "cannot open");
		resource_quotas_close(&rq);
	} else {
		req.h = h;
		req.obj = obj;
		req.organiser = organiser;
		req.periods = periods;
		req.recurring = resource_is_recurring(obj, periods);
		if (sched_evaluate(&req, functions, rq.open, &res, &error) < 0) {
			handler_store_error(h, pr, "deciding on the booking", error);
		} else {
			resource_honour_disallow_counter(obj, &res);
			if (resource_apply(h, obj, &rq, periods, organiser,
					   &res, pr, &error) < 0)
				handler_store_error(h, pr, "deciding on the booking",
						    error);
		}
		resource_quotas_close(&rq);
	}
	g_free(open_error);
	sched_result_clear(&res);
	g_free(functions);
	fb_list_free(&periods);
}

/* The delegator X's own copy says it delegated uid to this resource. */
static bool resource_delegator_confirms(struct handler *h, const char *delegator,
					const char *uid)
{
	struct store_user *su = NULL;
	struct ical_object *stored = NULL;
	icalproperty *prop;
	icalparameter *param;
	const char *error;
	char *open_error = NULL;
	bool confirmed = false;

	if (store_user_open(h->ctx->store, delegator, STORE_OPEN_READONLY, &su,
			    &open_error) <= 0) {
		g_free(open_error);
		return false;
	}
	if (calstore_load(su, uid, &stored, &error) > 0 && stored->master != NULL &&
	    (prop = ical_find_attendee(stored->master, delegator)) != NULL &&
	    itip_partstat_of(stored->master, delegator) == ICAL_PARTSTAT_DELEGATED) {
		for (param = icalproperty_get_first_parameter(prop, ICAL_DELEGATEDTO_PARAMETER);
		     param != NULL && !confirmed;
		     param = icalproperty_get_next_parameter(prop, ICAL_DELEGATEDTO_PARAMETER))
			confirmed = address_equal(icalparameter_get_delegatedto(param), h->user);
	}
	if (stored != NULL)
		ical_object_free(stored);
	store_user_close(&su);
	return confirmed;
}

/* RFC 5546 3.2.2.3: a delegate gets the request from the delegator, not
   from the organiser.  The agent sends that REQUEST for a resource of
   its own (schedule_for_delegate) from the calendar address; it is
   believed only when the delegating resource's stored copy says so, which
   a forger cannot arrange.  The delegate then answers the organiser. */
static bool resource_is_verified_delegation(struct handler *h,
					    const struct ical_object *obj)
{
	icalcomponent *comp = itip_object_first(obj);
	icalproperty *self = comp == NULL ? NULL : resource_self_attendee(h, comp);
	icalparameter *param;
	bool from_agent = false;

	for (unsigned int i = 0; i < h->senders->len; i++)
		from_agent = from_agent || address_equal(g_ptr_array_index(h->senders, i),
							 h->config->calendar_sender);
	if (!from_agent || self == NULL)
		return false;
	for (param = icalproperty_get_first_parameter(self, ICAL_DELEGATEDFROM_PARAMETER);
	     param != NULL;
	     param = icalproperty_get_next_parameter(self, ICAL_DELEGATEDFROM_PARAMETER)) {
		char *delegator = address_normalize(icalparameter_get_delegatedfrom(param));
		bool ok = delegator != NULL && !handler_is_self(h, delegator) &&
			  resource_delegator_confirms(h, delegator, obj->uid);

		g_free(delegator);
		if (ok)
			return true;
	}
	return false;
}

static void resource_request(struct handler *h, struct ical_object *obj,
			     struct imip_part_result *pr)
{
	char *organiser = ical_organizer_of(itip_object_first(obj));
	bool delegated = resource_is_verified_delegation(h, obj);
	bool may_send = h->may_send;

	/* the answer of a verified delegation goes to the organiser, not
	   back to the agent: no loop (DESIGN.md rule 8) */
	if (delegated && !address_equal(organiser, h->config->calendar_sender))
		h->may_send = true;
	if (handler_is_self(h, organiser))
		handler_outcome(pr, IMIP_OUTCOME_REJECTED,
				"a resource never organises: the ORGANIZER is "
				"the resource %s itself", h->user);
	else if (!delegated && !handler_check_organiser(h, obj, pr))
		;
	else if (!handler_object_has_self_attendee(h, obj))
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"the resource %s is not an attendee", h->user);
	else if (handler_check_expandable(h, obj, pr) &&
		 resource_is_newer(h, obj, pr))
		resource_decide(h, obj, organiser, pr);
	h->may_send = may_send;
	g_free(organiser);
}

/* --- CANCEL ------------------------------------------------------------- */

/* What is still booked of a UID after a change: its periods in the
   resource's own free/busy (derived from the stored booking). */
static int resource_booked_periods(struct handler *h, const char *uid,
				   struct fb_list *out, const char **error_r)
{
	struct fb_list *own = fb_list_new();
	int ret = store_fb_read_uid(h->su, STORE_FB_OWN, NULL, uid, own,
				    error_r);

	fb_list_merge(out, own);
	fb_list_free(&own);
	return ret;
}

static void resource_cancel(struct handler *h, struct ical_object *obj,
			    struct imip_part_result *pr)
{
	char *functions = handler_pref(h, "scheduling_function");
	char *organiser = ical_organizer_of(itip_object_first(obj));
	struct ical_object *stored = NULL;
	struct resource_quotas rq;
	struct fb_list *booked = fb_list_new();
	const char *error = NULL;
	char *open_error = NULL;
	int ret;

	memset(&rq, 0, sizeof(rq));
	if (!handler_check_organiser(h, obj, pr))
		goto out;
	ret = calstore_load(h->su, obj->uid, &stored, &error);
	if (ret >= 0)
		ret = handler_cancel(h, obj, stored, pr, &error);
	if (ret < 0) {
		handler_store_error(h, pr, "cancelling the booking", error);
		goto out;
	}
	if (pr->code != IMIP_OUTCOME_CANCELLED)
		goto out;
	/* the quota keeps what is still booked: nothing after a whole
	   cancellation, the other occurrences after an instance's */
	if (resource_booked_periods(h, obj->uid, booked, &error) < 0 ||
	    resource_quotas_open(h, functions, &rq, &open_error) < 0 ||
	    resource_record_quotas(h, &rq, obj->uid, organiser, booked, NULL,
				   true, &error) < 0 ||
	    resource_quotas_commit(&rq, &error) < 0)
		handler_outcome(pr, IMIP_OUTCOME_ERROR,
				"cancelled, but the quota journal failed: %s",
				open_error != NULL ? open_error : error);
out:
	resource_quotas_close(&rq);
	if (stored != NULL)
		ical_object_free(stored);
	g_free(open_error);
	g_free(organiser);
	g_free(functions);
	fb_list_free(&booked);
}

void handler_resource(struct handler *h, enum itip_method method,
		      struct ical_object *obj, struct imip_part_result *pr)
{
	if (obj->kind == ICAL_VFREEBUSY_COMPONENT) {
		if (method == ITIP_METHOD_REQUEST)
			handler_person(h, method, obj, pr);
		else
			handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
					"a resource does not record free/busy "
					"it receives");
		return;
	}
	switch (method) {
	case ITIP_METHOD_REQUEST:
		resource_request(h, obj, pr);
		break;
	case ITIP_METHOD_CANCEL:
		resource_cancel(h, obj, pr);
		break;
	case ITIP_METHOD_ADD:
	case ITIP_METHOD_DECLINECOUNTER:
		/* the same as for a person: REFRESH (add_method_response),
		   or the held offer released */
		handler_person(h, method, obj, pr);
		break;
	default:
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"a resource does not act on %s: it never "
				"organises", itip_method_name(method));
		break;
	}
}
