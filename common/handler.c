/* Steps shared by the person and outgoing handlers: see handler.h. */

#include "handler.h"
#include "address.h"
#include "calstore.h"
#include "compose.h"
#include "config.h"
#include "derive.h"
#include "freebusy.h"
#include "ical-internal.h"
#include "ical-object.h"
#include "mime-read.h"
#include "prefs.h"
#include "store.h"

#include <stdarg.h>
#include <string.h>

void handler_outcome(struct imip_part_result *pr, enum imip_outcome_code code,
		     const char *fmt, ...)
{
	va_list args;

	pr->code = code;
	g_free(pr->reason);
	va_start(args, fmt);
	pr->reason = g_strdup_vprintf(fmt, args);
	va_end(args);
}

bool handler_is_self(const struct handler *h, const char *address)
{
	if (address == NULL)
		return false;
	if (strcmp(address, h->user) == 0)
		return true;
	for (unsigned int i = 0; h->aliases != NULL && i < h->aliases->len; i++) {
		if (strcmp(address, g_ptr_array_index(h->aliases, i)) == 0)
			return true;
	}
	return false;
}

bool handler_object_has_self_attendee(const struct handler *h,
				      const struct ical_object *obj)
{
	if (itip_object_has_attendee(obj, h->user))
		return true;
	for (unsigned int i = 0; h->aliases != NULL && i < h->aliases->len; i++) {
		if (itip_object_has_attendee(obj, g_ptr_array_index(h->aliases, i)))
			return true;
	}
	return false;
}

/* The user (any address) is an ATTENDEE of comp. */
static bool handler_object_comp_has_self(const struct handler *h,
					 icalcomponent *comp)
{
	if (ical_find_attendee(comp, h->user) != NULL)
		return true;
	for (unsigned int i = 0; h->aliases != NULL && i < h->aliases->len; i++) {
		if (ical_find_attendee(comp, g_ptr_array_index(h->aliases, i)) != NULL)
			return true;
	}
	return false;
}

bool handler_object_is_self_organised(const struct handler *h,
				      const struct ical_object *obj)
{
	icalcomponent *comp = itip_object_first(obj);
	char *organiser = comp == NULL ? NULL : ical_organizer_of(comp);
	bool self = handler_is_self(h, organiser);

	g_free(organiser);
	return self;
}

void handler_store_error(struct handler *h, struct imip_part_result *pr,
			 const char *what, const char *error)
{
	imip_log(h->ctx, IMIP_LOG_ERROR, "store: %s for %s: %s", what, h->user,
		 error);
	handler_outcome(pr, IMIP_OUTCOME_ERROR, "store failure while %s: %s",
			what, error);
}

char *handler_pref(struct handler *h, const char *name)
{
	return prefs_get(h->config, h->su, name);
}

static icalcomponent *handler_stored_for(const struct ical_object *stored,
					 const char *rid)
{
	if (stored == NULL)
		return NULL;
	if (rid == NULL)
		return stored->master;
	return ical_object_find_override(stored, rid);
}

static bool handler_rid_in(const struct ical_object *in, const char *rid)
{
	return ical_object_find_override(in, rid) != NULL;
}

/* A newer whole event replaces the set of overrides (RFC 5546 2.1.5: the
   organiser's latest full copy is the truth): drop the stored ones the
   message does not carry, whatever their state. */
static int handler_drop_missing_overrides(struct handler *h,
					  const struct ical_object *in,
					  const struct ical_object *stored,
					  const char **error_r)
{
	for (unsigned int i = 0; stored != NULL && i < stored->overrides->len; i++) {
		char *rid = ical_rid_of(g_ptr_array_index(stored->overrides, i));
		int r = 0;

		if (rid != NULL && !handler_rid_in(in, rid))
			r = store_object_delete(h->su, in->uid, rid, error_r);
		g_free(rid);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* The user's answers in `ref` (the stored component the incoming one
   replaces, or the stored master for a new override) carried into a copy
   of comp when the SEQUENCE did not change: under every address of the
   user.  NULL when there is nothing to keep. */
static icalcomponent *handler_answered_copy(struct handler *h,
					    icalcomponent *comp,
					    icalcomponent *ref)
{
	icalcomponent *copy;
	bool kept;

	if (ref == NULL || !handler_object_comp_has_self(h, ref))
		return NULL;
	copy = icalcomponent_new_clone(comp);
	kept = itip_keep_answer(copy, ref, h->user);
	for (unsigned int i = 0; h->aliases != NULL && i < h->aliases->len; i++) {
		if (itip_keep_answer(copy, ref, g_ptr_array_index(h->aliases, i)))
			kept = true;
	}
	if (!kept) {
		icalcomponent_free(copy);
		return NULL;
	}
	return copy;
}

static void handler_stats_note_answered(struct handler_store_stats *stats,
					const char *rid)
{
	if (stats->answered == NULL)
		stats->answered = g_ptr_array_new_with_free_func(g_free);
	/* the master as "": a GPtrArray of strings holds no NULL to look up */
	g_ptr_array_add(stats->answered, g_strdup(rid != NULL ? rid : ""));
}

void handler_store_stats_clear(struct handler_store_stats *stats)
{
	if (stats->answered != NULL)
		g_ptr_array_free(stats->answered, TRUE);
	stats->answered = NULL;
}

/* Writes comp (newer than what is stored), keeping the user's answer
   from `ref` when asked to and the SEQUENCE is unchanged.  With `request`
   (an invitation to the user) a component without a kept answer is stored
   awaiting the user's answer (calstore.h). */
static int handler_put_newer(struct handler *h, const struct ical_object *in,
			     icalcomponent *comp, icalcomponent *ref,
			     const char *rid, bool request,
			     struct handler_store_stats *stats,
			     const char **error_r)
{
	icalcomponent *copy = ref == NULL ? NULL :
		handler_answered_copy(h, comp, ref);
	int ret;

	if (copy == NULL)
		return calstore_put_awaiting(h->su, in->uid, comp,
					     STORE_STATE_ACTIVE, in->vcal,
					     request, error_r);
	/* inside the message's VCALENDAR while written, so its TZIDs
	   resolve against the message's VTIMEZONEs as comp's do */
	icalcomponent_add_component(in->vcal, copy);
	ret = calstore_put(h->su, in->uid, copy, STORE_STATE_ACTIVE, in->vcal,
			   error_r);
	icalcomponent_remove_component(in->vcal, copy);
	icalcomponent_free(copy);
	handler_stats_note_answered(stats, rid);
	return ret;
}

/* Where the user's answer to comp is stored (keep_answers): the stored
   component for its RECURRENCE-ID, else, for a new override, the stored
   master, if active. */
static int handler_answer_source(struct handler *h, const struct ical_object *in,
				 const struct ical_object *stored,
				 icalcomponent *old, const char *rid,
				 enum store_state old_state,
				 icalcomponent **ref_r, const char **error_r)
{
	enum store_state state = STORE_STATE_ACTIVE;

	*ref_r = NULL;
	if (old != NULL) {
		if (old_state == STORE_STATE_ACTIVE)
			*ref_r = old;
		return 0;
	}
	if (rid == NULL || stored == NULL || stored->master == NULL)
		return 0;
	if (calstore_state(h->su, in->uid, NULL, &state, error_r) < 0)
		return -1;
	if (state == STORE_STATE_ACTIVE)
		*ref_r = stored->master;
	return 0;
}

static int handler_store_comp(struct handler *h, const struct ical_object *in,
			      const struct ical_object *stored,
			      icalcomponent *comp, bool keep_answers,
			      struct handler_store_stats *stats,
			      bool *master_stored_r, const char **error_r)
{
	char *rid = ical_rid_of(comp);
	icalcomponent *old = handler_stored_for(stored, rid);
	icalcomponent *ref = NULL;
	enum store_state state = STORE_STATE_ACTIVE;
	enum itip_newness newness = itip_compare(comp, old, false);
	int ret = 0;

	if (old != NULL && calstore_state(h->su, in->uid, rid, &state,
					  error_r) < 0) {
		g_free(rid);
		return -1;
	}
	if (newness == ITIP_NEWER) {
		/* a message with a master is one request, for the whole
		   event: its overrides are not marked.  Decided by the
		   message, not by what this delivery happens to write: a
		   retry after a kill between the master and the overrides
		   marks as an uninterrupted delivery does. */
		bool request = keep_answers &&
			(rid == NULL || in->master == NULL);

		if (keep_answers)
			ret = handler_answer_source(h, in, stored, old, rid,
						    state, &ref, error_r);
		if (ret == 0)
			ret = handler_put_newer(h, in, comp, ref, rid, request,
						stats, error_r);
		stats->stored++;
		if (rid == NULL)
			*master_stored_r = true;
	} else if (old != NULL && state == STORE_STATE_CANCELLED) {
		stats->blocked++;
	} else if (newness == ITIP_SAME) {
		stats->same++;
	} else {
		stats->stale++;
	}
	g_free(rid);
	return ret;
}

int handler_store_newer(struct handler *h, const struct ical_object *in,
			bool keep_answers, struct handler_store_stats *stats,
			const char **error_r)
{
	struct ical_object *stored = NULL;
	bool master_stored = false;
	int ret = 0;

	memset(stats, 0, sizeof(*stats));
	if (calstore_load(h->su, in->uid, &stored, error_r) < 0)
		return -1;
	stats->existed = stored != NULL;
	if (in->master != NULL)
		ret = handler_store_comp(h, in, stored, in->master, keep_answers,
					 stats, &master_stored, error_r);
	for (unsigned int i = 0; ret == 0 && i < in->overrides->len; i++) {
		ret = handler_store_comp(h, in, stored,
					 g_ptr_array_index(in->overrides, i),
					 keep_answers, stats, &master_stored,
					 error_r);
	}
	if (ret == 0 && master_stored)
		ret = handler_drop_missing_overrides(h, in, stored, error_r);
	if (stored != NULL)
		ical_object_free(stored);
	return ret;
}

int handler_derive(struct handler *h, const char *uid, const char **error_r)
{
	struct derive_params p = {
		.config = h->config, .su = h->su, .user = h->user,
		.user_zone = h->user_zone, .now = h->ctx->now,
		.aliases = h->aliases,
	};
	bool own_changed = false;

	h->derived = true;
	if (derive_uid(&p, uid, &own_changed, error_r) < 0)
		return -1;
	if (own_changed)
		h->own_fb_changed = true;
	return 0;
}

bool handler_send(struct handler *h, const char *to, const char *method,
		  const char *ical_text)
{
	struct imip_outgoing *out;

	if (!h->may_send) {
		imip_log(h->ctx, IMIP_LOG_INFO,
			 "not answering %s to %s: the message is automatic "
			 "or from the calendar address", method, to);
		return false;
	}
	out = g_new0(struct imip_outgoing, 1);
	out->envelope_from = g_strdup(h->config->calendar_sender);
	out->recipient = g_strdup(to);
	out->data = compose_imip_message(h->config->calendar_sender, to, NULL,
					 h->msg->message_id, method, ical_text,
					 h->ctx->now);
	if (out->data == NULL) {
		imip_outgoing_free(out);
		return false;
	}
	g_ptr_array_add(h->result->outgoing, out);
	return true;
}

bool handler_check_expandable(struct handler *h, const struct ical_object *obj,
			      struct imip_part_result *pr)
{
	struct derive_params p = {
		.config = h->config, .su = h->su, .user = h->user,
		.user_zone = h->user_zone, .now = h->ctx->now,
	};
	struct fb_list *periods = fb_list_new();
	const char *error;
	int r = derive_object_periods(&p, obj, periods, &error);

	fb_list_free(&periods);
	if (r < 0) {
		handler_outcome(pr, IMIP_OUTCOME_REJECTED, "%s", error);
		return false;
	}
	return true;
}

const char *handler_sender_name(const struct handler *h)
{
	if (h->msg->from != NULL)
		return h->msg->from;
	if (h->senders->len > 0)
		return g_ptr_array_index(h->senders, 0);
	return "(unknown)";
}

/* `sent_by` is the calendar address.  The agent writes it as the
   SENT-BY of the users and resources it answers for (resource replies,
   REFRESH, free/busy replies): as an ATTENDEE's SENT-BY it speaks for an
   address of this site (the calendar address's own domain or
   local_domains), and never for an organiser, since the agent sends no
   organiser method on anyone's behalf. */
static bool handler_sent_by_is_agent(const struct handler *h,
				     icalproperty_kind kind, const char *party,
				     const char *sent_by)
{
	const char *party_domain = address_domain(party);
	const char *agent_domain = address_domain(sent_by);

	if (kind != ICAL_ATTENDEE_PROPERTY)
		return false;
	return (party_domain != NULL && agent_domain != NULL &&
		g_ascii_strcasecmp(party_domain, agent_domain) == 0) ||
	       imip_config_is_local_address(h->config, party);
}

static bool handler_sent_by_counts(icalproperty_kind kind, const char *party,
				   const char *sent_by, void *data)
{
	const struct handler_sent_by *sb = data;
	const char *party_domain = address_domain(party);
	const char *sent_by_domain = address_domain(sent_by);

	/* RFC 5546 3.2: SENT-BY is a delegate acting for the party; the
	   message cannot vouch for its own delegate, so the delegate must
	   be known: named already by the copy of the object the user holds
	   (the party itself, or a message that passed this check, put it
	   there). */
	if (itip_object_names_sent_by(sb->stored, party, sent_by))
		return true;
	if (address_equal(sent_by, sb->h->config->calendar_sender))
		return handler_sent_by_is_agent(sb->h, kind, party, sent_by);
	/* trusted_sent_by = same-domain: someone of the party's own domain
	   (a secretary inviting for the boss for the first time) */
	return sb->same_domain && party_domain != NULL &&
	       sent_by_domain != NULL &&
	       g_ascii_strcasecmp(party_domain, sent_by_domain) == 0;
}

void handler_sent_by_init(struct handler *h, const struct ical_object *stored,
			  struct handler_sent_by *sb_r)
{
	char *policy = handler_pref(h, "trusted_sent_by");

	sb_r->h = h;
	sb_r->stored = stored;
	sb_r->same_domain = g_strcmp0(policy, "same-domain") == 0;
	sb_r->trust.counts = handler_sent_by_counts;
	sb_r->trust.data = sb_r;
	g_free(policy);
}

void handler_sender_attendees(struct handler *h,
			      const struct ical_object *stored,
			      icalcomponent *comp, GPtrArray *props_r)
{
	struct handler_sent_by sb;

	handler_sent_by_init(h, stored, &sb);
	itip_sender_attendees(comp, &sb.trust, h->senders, props_r);
}

bool handler_sender_organises(struct handler *h, const struct ical_object *obj,
			      const struct ical_object *stored)
{
	struct handler_sent_by sb;

	handler_sent_by_init(h, stored, &sb);
	return itip_sender_organises(obj, &sb.trust, h->senders);
}

static bool handler_sent_by_any(icalproperty_kind kind, const char *party,
				const char *sent_by, void *data)
{
	(void)kind;
	(void)party;
	(void)sent_by;
	(void)data;
	return true;
}

/* The sender is named only as a SENT-BY that was not trusted: the reason
   says so, since that is what the user (or the site) can change. */
static bool handler_sender_only_sent_by(struct handler *h,
					const struct ical_object *obj)
{
	const struct itip_sent_by any = { handler_sent_by_any, NULL };

	return itip_sender_organises(obj, &any, h->senders);
}

bool handler_check_organiser(struct handler *h, const struct ical_object *obj,
			     struct imip_part_result *pr)
{
	struct ical_object *stored = NULL;
	const char *error;
	char *other = NULL;
	char *organiser = itip_object_organiser(obj, &other);
	bool ok = false;

	/* Every component is checked, not the first: an override naming
	   someone else as organiser, in mail from this organiser, would
	   otherwise be stored as that someone's.  The whole object is
	   refused, not only that component: it is not one event of one
	   organiser, and an attendee invited only to that component would
	   be left with nothing to tell why. */
	if (organiser == NULL)
		handler_outcome(pr, IMIP_OUTCOME_REJECTED,
				"no ORGANIZER: an organiser method needs one");
	else if (other != NULL)
		handler_outcome(pr, IMIP_OUTCOME_REJECTED,
				"the components name different organisers "
				"(%s and %s); an event has one organiser",
				organiser, other);
	/* the stored copy says which SENT-BY acts for the organiser */
	else if (obj->uid != NULL &&
		 calstore_load(h->su, obj->uid, &stored, &error) < 0)
		handler_store_error(h, pr, "reading the event", error);
	else if (!handler_sender_organises(h, obj, stored))
		handler_outcome(pr, IMIP_OUTCOME_REJECTED,
				"sender %s is not the organiser %s%s",
				handler_sender_name(h), organiser,
				handler_sender_only_sent_by(h, obj) ?
				" (its SENT-BY is not a known delegate: the "
				"stored copy does not name it; see "
				"trusted_sent_by)" : "");
	else
		ok = true;
	if (stored != NULL)
		ical_object_free(stored);
	g_free(organiser);
	g_free(other);
	return ok;
}

/* `utc` as the master writes its times: in the zone of `like` (UTC
   stays UTC), a floating `like` as wall-clock time in floating_zone. */
static struct icaltimetype handler_time_like(time_t utc, struct icaltimetype like,
					     icaltimezone *floating_zone)
{
	icaltimezone *zone = icaltime_is_utc(like) ?
		icaltimezone_get_utc_timezone() :
		like.zone != NULL ? (icaltimezone *)like.zone :
		floating_zone != NULL ? floating_zone :
		icaltimezone_get_utc_timezone();
	struct icaltimetype t = icaltime_from_timet_with_zone(utc, 0, zone);

	/* libical 3.0 converts to the zone but labels the result UTC */
	t.zone = !icaltime_is_utc(like) && like.zone == NULL ? NULL : zone;
	return t;
}

/* Sets a DATE/DATE-TIME property to t, with the TZID parameter of
   `tzid_from` (or none): the value and its TZID always agree (RFC 5545
   3.3.5 forbids a UTC value with a TZID). */
static void handler_set_time(icalproperty *prop, struct icaltimetype t,
			     icalproperty *tzid_from)
{
	icalparameter *tzid = tzid_from == NULL || icaltime_is_utc(t) ? NULL :
		icalproperty_get_first_parameter(tzid_from, ICAL_TZID_PARAMETER);

	/* copied first: tzid_from may be prop itself */
	tzid = tzid == NULL ? NULL : icalparameter_new_clone(tzid);
	icalproperty_remove_parameter_by_kind(prop, ICAL_TZID_PARAMETER);
	icalproperty_remove_parameter_by_kind(prop, ICAL_VALUE_PARAMETER);
	icalproperty_set_value(prop, t.is_date ? icalvalue_new_date(t) :
			       icalvalue_new_datetime(t));
	if (tzid != NULL)
		icalproperty_add_parameter(prop, tzid);
}

icalcomponent *handler_instance_from_master(struct ical_object *stored,
					    icalproperty *rid_prop,
					    icaltimezone *floating_zone)
{
	icalcomponent *inst;
	icalproperty *prop, *dtstart, *dtend, *rid;
	struct icaltimetype start, rid_time, old_start, old_end;
	const icalproperty_kind drop[] = {
		ICAL_RRULE_PROPERTY, ICAL_RDATE_PROPERTY, ICAL_EXDATE_PROPERTY,
		ICAL_EXRULE_PROPERTY, ICAL_RECURRENCEID_PROPERTY,
	};

	if (stored->master == NULL || rid_prop == NULL)
		return NULL;
	/* the instant the RECURRENCE-ID names, its zone read where the
	   property came from (the message's VTIMEZONEs) */
	rid_time = ical_property_time(rid_prop);
	if (icaltime_is_null_time(rid_time))
		return NULL;
	inst = icalcomponent_new_clone(stored->master);
	for (unsigned int i = 0; i < G_N_ELEMENTS(drop); i++) {
		while ((prop = icalcomponent_get_first_property(inst, drop[i])) != NULL) {
			icalcomponent_remove_property(inst, prop);
			icalproperty_free(prop);
		}
	}
	dtstart = icalcomponent_get_first_property(inst, ICAL_DTSTART_PROPERTY);
	dtend = icalcomponent_get_first_property(inst, ICAL_DTEND_PROPERTY);
	old_start = ical_property_time(icalcomponent_get_first_property(
		stored->master, ICAL_DTSTART_PROPERTY));
	old_end = ical_property_time(icalcomponent_get_first_property(
		stored->master, ICAL_DTEND_PROPERTY));
	/* The instance starts at the RECURRENCE-ID's instant, written as
	   the master writes DTSTART (its zone, or UTC, or floating); a
	   RECURRENCE-ID in another zone or in UTC names the same instant. */
	if (rid_time.is_date || icaltime_is_null_time(old_start) ||
	    old_start.is_date)
		start = rid_time;
	else
		start = handler_time_like(ical_time_to_utc(rid_time, floating_zone),
					  old_start, floating_zone);
	rid = icalproperty_new_recurrenceid(start);
	handler_set_time(rid, start, dtstart);
	icalcomponent_add_property(inst, rid);
	if (dtstart != NULL)
		handler_set_time(dtstart, start, dtstart);
	/* the same length as the master (an exact duration, RFC 5545
	   3.8.2.2), written as the master writes DTEND */
	if (dtend != NULL && !icaltime_is_null_time(old_end) &&
	    !icaltime_is_null_time(old_start)) {
		struct icaltimetype end;

		if (start.is_date || old_end.is_date) {
			end = icaltime_add(start, icaltime_subtract(old_end, old_start));
		} else {
			gint64 length = (gint64)ical_time_to_utc(old_end, floating_zone) -
				(gint64)ical_time_to_utc(old_start, floating_zone);

			end = handler_time_like((time_t)((gint64)ical_time_to_utc(
							start, floating_zone) + length),
						old_end, floating_zone);
		}
		handler_set_time(dtend, end, dtend);
	}
	icalcomponent_add_component(stored->vcal, inst);
	g_ptr_array_add(stored->overrides, inst);
	return inst;
}

bool handler_is_instance(struct handler *h, const struct ical_object *stored,
			 const char *rid)
{
	struct derive_params p = {
		.config = h->config, .su = h->su, .user = h->user,
		.user_zone = h->user_zone, .now = h->ctx->now,
		.aliases = h->aliases,
	};
	struct fb_list *periods = fb_list_new();
	const char *error;
	time_t start, end;
	bool found = false;

	/* Every instance, not busy time: a transparent or zero-length
	   instance is still one an attendee may answer for. */
	derive_window(&p, stored, &start, &end);
	if (fb_instances_of_object(stored, h->user_zone, start, end,
				   h->config->limits.instances, periods,
				   &error) == 0) {
		for (unsigned int i = 0; i < periods->periods->len && !found; i++) {
			const struct fb_period *period =
				g_ptr_array_index(periods->periods, i);
			found = g_strcmp0(period->rid, rid) == 0;
		}
	}
	fb_list_free(&periods);
	return found;
}

/* Replace (or add) the ATTENDEE of `address` in target with a copy of
   `incoming`.  Returns true if the text of the component changed. */
static bool handler_replace_attendee(icalcomponent *target,
				     icalproperty *existing,
				     icalproperty *incoming)
{
	char *before = existing == NULL ? NULL :
		g_strdup(icalproperty_as_ical_string(existing));
	const char *after = icalproperty_as_ical_string(incoming);
	bool changed = before == NULL || strcmp(before, after) != 0;

	if (changed) {
		if (existing != NULL) {
			icalcomponent_remove_property(target, existing);
			icalproperty_free(existing);
		}
		icalcomponent_add_property(target, icalproperty_new_clone(incoming));
	}
	g_free(before);
	return changed;
}

/* The delegator's copy (stored, or the same message) says it delegated
   to `delegate`: `delegator`'s ATTENDEE in comp has DELEGATED-TO naming
   the delegate. */
static bool handler_comp_confirms(icalcomponent *comp, const char *delegator,
				  const char *delegate)
{
	return ical_find_attendee(comp, delegator) != NULL &&
	       itip_attendee_delegated_to(comp, delegator, delegate);
}

static bool handler_stored_confirms(const struct ical_object *stored,
				    icalcomponent *target,
				    const char *delegator, const char *delegate)
{
	GPtrArray *comps;
	bool confirmed = false;

	if (target != NULL)
		return handler_comp_confirms(target, delegator, delegate);
	comps = ical_object_components(stored);
	for (unsigned int i = 0; i < comps->len && !confirmed; i++)
		confirmed = handler_comp_confirms(g_ptr_array_index(comps, i),
						  delegator, delegate);
	g_ptr_array_free(comps, TRUE);
	return confirmed;
}

/* The message's own word counts only for an attendee the sender speaks
   for: the delegator's REPLY carrying both entries (RFC 5546 3.2.2.3). */
static bool handler_message_confirms(icalcomponent *in, const GPtrArray *props,
				     const char *delegator, const char *delegate)
{
	icalproperty *prop = ical_find_attendee(in, delegator);

	for (unsigned int i = 0; prop != NULL && i < props->len; i++) {
		if (g_ptr_array_index(props, i) == prop)
			return itip_attendee_delegated_to(in, delegator, delegate);
	}
	return false;
}

bool handler_is_confirmed_delegate(const struct ical_object *stored,
				   icalcomponent *target, icalcomponent *in,
				   const GPtrArray *props,
				   icalproperty *delegate_prop)
{
	char *delegate = ical_property_address(delegate_prop);
	icalparameter *param;
	bool confirmed = false;

	/* RFC 5546 3.2.2.3: a delegate's REPLY names the delegator in
	   DELEGATED-FROM, and the delegator's REPLY names the delegate in
	   DELEGATED-TO.  Anyone can write the first; only the second, from
	   the delegator, makes the delegate an attendee. */
	for (param = delegate == NULL ? NULL :
		     icalproperty_get_first_parameter(delegate_prop,
						      ICAL_DELEGATEDFROM_PARAMETER);
	     param != NULL && !confirmed;
	     param = icalproperty_get_next_parameter(delegate_prop,
						     ICAL_DELEGATEDFROM_PARAMETER)) {
		char *from = address_normalize(icalparameter_get_delegatedfrom(param));

		confirmed = from != NULL && strcmp(from, delegate) != 0 &&
			(target != NULL ? ical_find_attendee(target, from) != NULL :
			 itip_object_has_attendee(stored, from)) &&
			(handler_stored_confirms(stored, target, from, delegate) ||
			 handler_message_confirms(in, props, from, delegate));
		g_free(from);
	}
	g_free(delegate);
	return confirmed;
}

static icalcomponent *handler_reply_target(struct handler *h,
					   struct ical_object *stored,
					   icalcomponent *in, const char *rid,
					   bool *created_r,
					   struct imip_part_result *pr)
{
	icalcomponent *target;

	*created_r = false;
	if (rid == NULL) {
		if (stored->master == NULL)
			handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
					"the whole event is not stored");
		return stored->master;
	}
	target = ical_object_find_override(stored, rid);
	if (target != NULL)
		return target;
	if (stored->master == NULL || !handler_is_instance(h, stored, rid) ||
	    (target = handler_instance_from_master(stored,
			icalcomponent_get_first_property(in, ICAL_RECURRENCEID_PROPERTY),
			h->user_zone)) == NULL) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"no such instance %s in the stored event", rid);
		return NULL;
	}
	*created_r = true;
	return target;
}

/* Takes back an override handler_instance_from_master() added to stored
   for a reply that was then not applied. */
static void handler_forget_instance(struct ical_object *stored,
				    icalcomponent *inst)
{
	g_ptr_array_remove(stored->overrides, inst);
	icalcomponent_remove_component(stored->vcal, inst);
	icalcomponent_free(inst);
}

/* Whether the REPLY component may be applied to target: not to a
   cancelled event (for a new override, the master's state counts) nor
   to an older version.  false with the outcome set, -1 on store error. */
static int handler_reply_applies(struct handler *h, struct ical_object *stored,
				 icalcomponent *in, icalcomponent *target,
				 const char *rid, bool created,
				 struct imip_part_result *pr,
				 const char **error_r)
{
	enum store_state state = STORE_STATE_ACTIVE;

	if (calstore_state(h->su, stored->uid, created ? NULL : rid, &state,
			   error_r) < 0)
		return -1;
	if (state == STORE_STATE_CANCELLED) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"reply to a cancelled event");
		return 0;
	}
	/* Lenient: some clients rewrite DTSTAMP in replies, so only a lower
	   SEQUENCE marks a reply to an older version. */
	if (itip_compare(in, target, true) == ITIP_OLDER) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"reply to an older version of the event");
		return 0;
	}
	return 1;
}

int handler_merge_reply(struct handler *h, struct ical_object *stored,
			icalcomponent *in, const GPtrArray *props,
			bool allow_delegates, struct imip_part_result *pr,
			bool *changed_r, const char **error_r)
{
	char *rid = ical_rid_of(in);
	bool created;
	icalcomponent *target = handler_reply_target(h, stored, in, rid,
						     &created, pr);
	bool changed = false;
	int ret;

	*changed_r = false;
	if (target == NULL) {
		g_free(rid);
		return 0;
	}
	ret = handler_reply_applies(h, stored, in, target, rid, created, pr,
				    error_r);
	for (unsigned int i = 0; i < props->len && ret == 1; i++) {
		icalproperty *incoming = g_ptr_array_index(props, i);
		char *address = ical_property_address(incoming);
		icalproperty *existing = address == NULL ? NULL :
			ical_find_attendee(target, address);

		if (existing == NULL &&
		    !(allow_delegates &&
		      handler_is_confirmed_delegate(stored, target, in, props,
						    incoming))) {
			handler_outcome(pr, IMIP_OUTCOME_REJECTED,
					"%s is not an attendee of the event",
					address != NULL ? address : "(no address)");
			ret = 0;
		} else if (handler_replace_attendee(target, existing, incoming)) {
			changed = true;
		}
		g_free(address);
	}
	if (ret == 1 && changed &&
	    calstore_put(h->su, stored->uid, target, STORE_STATE_ACTIVE,
			 stored->vcal, error_r) < 0)
		ret = -1;
	/* an instance the reply did not change needs no override */
	if (created && !(ret == 1 && changed))
		handler_forget_instance(stored, target);
	*changed_r = ret == 1 && changed;
	g_free(rid);
	return ret;
}

/* The stored component marked cancelled with the CANCEL's SEQUENCE and
   DTSTAMP, so a later stale REQUEST compares against the cancellation. */
static int handler_put_cancelled(struct handler *h, const char *uid,
				 icalcomponent *comp, icalcomponent *cancel_comp,
				 icalcomponent *tz_source, const char **error_r)
{
	icalcomponent *copy = icalcomponent_new_clone(comp);
	icalproperty *prop;
	int seq = ical_sequence_of(cancel_comp);
	int r;

	icalcomponent_set_status(copy, ICAL_STATUS_CANCELLED);
	if (seq >= 0)
		icalcomponent_set_sequence(copy, seq);
	prop = icalcomponent_get_first_property(cancel_comp, ICAL_DTSTAMP_PROPERTY);
	if (prop != NULL)
		icalcomponent_set_dtstamp(copy, icalproperty_get_dtstamp(prop));
	/* A cancelled instance that was never sent on its own has no
	   DTSTART; its RECURRENCE-ID is its start (RFC 5545 3.8.4.4). */
	if (icalcomponent_get_first_property(copy, ICAL_DTSTART_PROPERTY) == NULL &&
	    (prop = icalcomponent_get_first_property(copy, ICAL_RECURRENCEID_PROPERTY)) != NULL) {
		icalproperty *dtstart = icalproperty_new_dtstart(
			icalproperty_get_recurrenceid(prop));
		icalparameter *tzid = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);

		if (tzid != NULL)
			icalproperty_add_parameter(dtstart, icalparameter_new_clone(tzid));
		icalcomponent_add_property(copy, dtstart);
	}
	r = calstore_put(h->su, uid, copy, STORE_STATE_CANCELLED, tz_source, error_r);
	icalcomponent_free(copy);
	return r;
}

/* :deletecancelled (RFC 9671): the event goes, nothing is kept. */
static int handler_delete_stored(struct handler *h, struct ical_object *stored,
				 const char **error_r)
{
	GPtrArray *comps = ical_object_components(stored);
	int ret = 0;

	for (unsigned int i = 0; i < comps->len && ret == 0; i++) {
		char *rid = ical_rid_of(g_ptr_array_index(comps, i));

		if (store_object_delete(h->su, stored->uid, rid, error_r) < 0)
			ret = -1;
		g_free(rid);
	}
	g_ptr_array_free(comps, TRUE);
	return ret;
}

static int handler_cancel_whole(struct handler *h, struct ical_object *stored,
				icalcomponent *cancel_comp, icalcomponent *cancel_tz,
				const char **error_r)
{
	if (stored != NULL && h->options->delete_cancelled) {
		return handler_delete_stored(h, stored, error_r);
	}
	if (stored == NULL)
		return handler_put_cancelled(h, icalcomponent_get_uid(cancel_comp),
					     cancel_comp, cancel_comp, cancel_tz,
					     error_r);
	if (stored->master != NULL &&
	    handler_put_cancelled(h, stored->uid, stored->master, cancel_comp,
				  stored->vcal, error_r) < 0)
		return -1;
	for (unsigned int i = 0; i < stored->overrides->len; i++) {
		if (handler_put_cancelled(h, stored->uid,
					  g_ptr_array_index(stored->overrides, i),
					  cancel_comp, stored->vcal, error_r) < 0)
			return -1;
	}
	return 0;
}

static int handler_cancel_instance(struct handler *h, struct ical_object *stored,
				   icalcomponent *cancel_comp,
				   icalcomponent *cancel_tz, const char *rid,
				   const char **error_r)
{
	icalcomponent *old = stored == NULL ? NULL :
		ical_object_find_override(stored, rid);
	const char *uid = icalcomponent_get_uid(cancel_comp);

	return handler_put_cancelled(h, uid, old != NULL ? old : cancel_comp,
				     cancel_comp, old != NULL ? stored->vcal : cancel_tz,
				     error_r);
}

bool handler_check_stored_organiser(struct handler *h,
				    const struct ical_object *obj,
				    const struct ical_object *stored,
				    struct imip_part_result *pr)
{
	char *organiser, *stored_organiser;
	bool same;

	(void)h;
	if (stored == NULL)
		return true;
	organiser = ical_organizer_of(itip_object_first(obj));
	stored_organiser = ical_organizer_of(itip_object_first(stored));
	same = stored_organiser == NULL || g_strcmp0(organiser, stored_organiser) == 0;
	if (!same)
		handler_outcome(pr, IMIP_OUTCOME_REJECTED,
				"%s is not the organiser of the stored event "
				"(%s is)", organiser != NULL ? organiser : "(none)",
				stored_organiser);
	g_free(organiser);
	g_free(stored_organiser);
	return same;
}

int handler_cancel(struct handler *h, const struct ical_object *cancel,
		   struct ical_object *stored, struct imip_part_result *pr,
		   const char **error_r)
{
	GPtrArray *comps;
	unsigned int done = 0;
	int ret = 0;

	/* a sender who is the organiser of the CANCEL but not of the stored
	   event must not cancel someone else's event */
	if (!handler_check_stored_organiser(h, cancel, stored, pr))
		return 0;
	comps = ical_object_components(cancel);

	for (unsigned int i = 0; i < comps->len && ret == 0; i++) {
		icalcomponent *comp = g_ptr_array_index(comps, i);
		char *rid = ical_rid_of(comp);
		icalcomponent *old = NULL;

		if (stored != NULL) {
			old = rid == NULL ? stored->master :
				ical_object_find_override(stored, rid);
			/* An instance without its own override is judged
			   against the master it belongs to. */
			if (old == NULL)
				old = stored->master;
		}
		if (itip_compare(comp, old, false) == ITIP_NEWER) {
			ret = rid == NULL ?
				handler_cancel_whole(h, stored, comp, cancel->vcal, error_r) :
				handler_cancel_instance(h, stored, comp, cancel->vcal, rid, error_r);
			done++;
		}
		g_free(rid);
	}
	g_ptr_array_free(comps, TRUE);
	if (ret < 0)
		return -1;
	if (done > 0 && handler_derive(h, cancel->uid, error_r) < 0)
		return -1;
	if (done == 0)
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"cancellation is older than (or the same as) the stored event");
	else if (stored == NULL)
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"event not stored; cancellation recorded");
	else if (cancel->master != NULL)
		handler_outcome(pr, IMIP_OUTCOME_CANCELLED, "event cancelled");
	else
		handler_outcome(pr, IMIP_OUTCOME_CANCELLED,
				"%u occurrence(s) cancelled", done);
	return 0;
}

static void handler_add_rdate(icalcomponent *master, icalcomponent *inst)
{
	icalproperty *dtstart = icalcomponent_get_first_property(inst, ICAL_DTSTART_PROPERTY);
	struct icaldatetimeperiodtype rdate;
	icalproperty *prop;
	icalparameter *tzid;

	if (dtstart == NULL)
		return;
	memset(&rdate, 0, sizeof(rdate));
	rdate.time = icalproperty_get_dtstart(dtstart);
	rdate.period = icalperiodtype_null_period();
	prop = icalproperty_new_rdate(rdate);
	tzid = icalproperty_get_first_parameter(dtstart, ICAL_TZID_PARAMETER);
	if (tzid != NULL)
		icalproperty_add_parameter(prop, icalparameter_new_clone(tzid));
	icalcomponent_add_property(master, prop);
}

int handler_apply_add(struct handler *h, const struct ical_object *add,
		      bool queue, struct imip_part_result *pr,
		      const char **error_r)
{
	struct ical_object *stored = NULL;
	GPtrArray *comps = ical_object_components(add);
	unsigned int added = 0;
	int ret = 0;

	if (calstore_load(h->su, add->uid, &stored, error_r) < 0) {
		g_ptr_array_free(comps, TRUE);
		return -1;
	}
	if (stored == NULL || stored->master == NULL) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"event not stored: ADD not applied");
		if (stored != NULL)
			ical_object_free(stored);
		g_ptr_array_free(comps, TRUE);
		return 0;
	}
	for (unsigned int i = 0; i < comps->len && ret == 0; i++) {
		icalcomponent *inst = icalcomponent_new_clone(g_ptr_array_index(comps, i));
		icalproperty *start = icalcomponent_get_first_property(inst, ICAL_DTSTART_PROPERTY);
		char *rid;

		/* An added instance is named by its own start. */
		if (icalcomponent_get_first_property(inst, ICAL_RECURRENCEID_PROPERTY) == NULL &&
		    start != NULL) {
			icalproperty *r = icalproperty_new_recurrenceid(icalproperty_get_dtstart(start));
			icalparameter *tzid = icalproperty_get_first_parameter(start, ICAL_TZID_PARAMETER);
			if (tzid != NULL)
				icalproperty_add_parameter(r, icalparameter_new_clone(tzid));
			icalcomponent_add_property(inst, r);
		}
		/* inside its VCALENDAR so a TZID naming one of the message's
		   VTIMEZONEs resolves while the rid is normalised */
		icalcomponent_add_component(add->vcal, inst);
		rid = ical_rid_of(inst);
		if (rid != NULL && ical_object_find_override(stored, rid) == NULL) {
			/* with queue, the new instance awaits the user's
			   answer */
			ret = calstore_put_awaiting(h->su, add->uid, inst,
						    STORE_STATE_ACTIVE, add->vcal,
						    queue, error_r);
			handler_add_rdate(stored->master, inst);
			added++;
		}
		icalcomponent_remove_component(add->vcal, inst);
		icalcomponent_free(inst);
		g_free(rid);
	}
	/* the master's RDATE grows; whether it awaits an answer does not
	   change */
	if (ret == 0 && added > 0)
		ret = calstore_put_awaiting(h->su, add->uid, stored->master,
					    STORE_STATE_ACTIVE, stored->vcal,
					    calstore_is_awaiting(stored->master),
					    error_r);
	if (ret == 0 && added > 0)
		ret = handler_derive(h, add->uid, error_r);
	if (ret == 0) {
		if (added > 0)
			handler_outcome(pr, IMIP_OUTCOME_UPDATED,
					"%u occurrence(s) added", added);
		else
			handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
					"the added occurrences are already stored");
	}
	ical_object_free(stored);
	g_ptr_array_free(comps, TRUE);
	return ret;
}
