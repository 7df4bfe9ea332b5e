/* The outgoing handler: a copy of mail a local calendar user sent
   (reference imip-agent.md section 6.5).  It records the user's own
   decisions — events they organise, their answers, their proposals — and
   sends and delivers nothing.  The MTA routes only mail from
   authenticated local users here, so the user is the sender. */

#include "handler.h"
#include "calstore.h"
#include "config.h"
#include "freebusy.h"
#include "ical-object.h"
#include "prefs.h"
#include "store.h"

#include <string.h>

static bool outgoing_check_organiser(struct handler *h,
				     const struct ical_object *obj,
				     struct imip_part_result *pr)
{
	char *other = NULL;
	char *organiser = itip_object_organiser(obj, &other);
	bool ok = false;

	/* every component: one naming another organiser is not the user's
	   to record, and the object as a whole is not one event */
	if (other != NULL)
		handler_outcome(pr, IMIP_OUTCOME_REJECTED,
				"the components name different organisers "
				"(%s and %s); an event has one organiser",
				organiser, other);
	else if (organiser == NULL || strcmp(organiser, h->user) != 0)
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"not organised by %s: nothing of the user's to "
				"record", h->user);
	else
		ok = true;
	g_free(organiser);
	g_free(other);
	return ok;
}

static void outgoing_request(struct handler *h, struct ical_object *obj,
			     struct imip_part_result *pr)
{
	struct handler_store_stats stats;
	const char *error;

	if (!outgoing_check_organiser(h, obj, pr) ||
	    !handler_check_expandable(h, obj, pr))
		return;
	if (handler_store_newer(h, obj, false, &stats, &error) < 0 ||
	    (stats.stored > 0 && handler_derive(h, obj->uid, &error) < 0)) {
		handler_store_error(h, pr, "storing the event", error);
		return;
	}
	if (stats.stored > 0)
		handler_outcome(pr, stats.existed ? IMIP_OUTCOME_UPDATED :
				IMIP_OUTCOME_ADDED, "own event %s",
				stats.existed ? "updated" : "recorded");
	else if (stats.stale > 0 || stats.blocked > 0)
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"older than the stored version");
	else
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"the stored version is already up to date");
}

/* No stored copy yet (the invitation reached the user some other way):
   the reply carries the event, which is enough to keep the user's time. */
static int outgoing_store_reply_as_event(struct handler *h,
					 struct ical_object *obj,
					 struct imip_part_result *pr,
					 const char **error_r)
{
	struct handler_store_stats stats;

	if (!handler_check_expandable(h, obj, pr))
		return 0;
	if (handler_store_newer(h, obj, false, &stats, error_r) < 0 ||
	    handler_derive(h, obj->uid, error_r) < 0)
		return -1;
	handler_outcome(pr, IMIP_OUTCOME_ADDED, "own answer recorded");
	return 0;
}

/* Before anything is written: the user answers for itself in every
   component and is an attendee of the stored event.  false with the
   outcome set. */
static bool outgoing_reply_is_own(struct handler *h,
				  const struct ical_object *stored,
				  GPtrArray *comps, struct imip_part_result *pr)
{
	for (unsigned int i = 0; i < comps->len; i++) {
		if (ical_find_attendee(g_ptr_array_index(comps, i), h->user) == NULL) {
			handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
					"%s does not answer for itself in this "
					"reply", h->user);
			return false;
		}
	}
	if (!itip_object_has_attendee(stored, h->user)) {
		handler_outcome(pr, IMIP_OUTCOME_REJECTED,
				"%s is not an attendee of the event", h->user);
		return false;
	}
	return true;
}

/* Each component is the user's answer for one instance: one the stored
   event does not have (or a cancelled one, or an older version) is
   skipped and the others recorded (as person_reply()). */
static int outgoing_reply_merge(struct handler *h, struct ical_object *obj,
				struct ical_object *stored, GPtrArray *comps,
				struct imip_part_result *pr,
				unsigned int *merged_r, bool *changed_r,
				const char **error_r)
{
	GPtrArray *props = g_ptr_array_new();
	int ret = 0;

	*merged_r = 0;
	*changed_r = false;
	for (unsigned int i = 0; i < comps->len && ret == 0; i++) {
		icalcomponent *comp = g_ptr_array_index(comps, i);
		char *rid;
		bool changed;
		int r;

		g_ptr_array_set_size(props, 0);
		g_ptr_array_add(props, ical_find_attendee(comp, h->user));
		r = handler_merge_reply(h, stored, comp, props, false, pr,
					&changed, error_r);
		if (r < 0)
			ret = -1;
		if (r != 1)
			continue;
		(*merged_r)++;
		*changed_r = *changed_r || changed;
		rid = ical_rid_of(comp);
		/* the user answered: the request is no longer pending (also
		   when the answer left the stored ATTENDEE as it was) */
		if (calstore_clear_awaiting(h->su, obj->uid, rid, error_r) < 0)
			ret = -1;
		g_free(rid);
	}
	g_ptr_array_free(props, TRUE);
	if (ret == 0 && *merged_r > 0)
		ret = handler_derive(h, obj->uid, error_r);
	return ret;
}

static void outgoing_reply(struct handler *h, struct ical_object *obj,
			   struct imip_part_result *pr)
{
	struct ical_object *stored = NULL;
	GPtrArray *comps = ical_object_components(obj);
	const char *error = NULL;
	unsigned int merged = 0;
	bool changed = false;
	int ret;

	ret = calstore_load(h->su, obj->uid, &stored, &error);
	if (ret == 0) {
		ret = outgoing_store_reply_as_event(h, obj, pr, &error);
	} else if (ret > 0 && outgoing_reply_is_own(h, stored, comps, pr)) {
		ret = outgoing_reply_merge(h, obj, stored, comps, pr, &merged,
					   &changed, &error);
		/* nothing merged: the last skipped component's outcome */
		if (ret == 0 && merged > 0)
			handler_outcome(pr, changed ? IMIP_OUTCOME_UPDATED :
					IMIP_OUTCOME_NO_ACTION, changed ?
					"own answer recorded" :
					"the answer changes nothing");
	}
	if (ret < 0)
		handler_store_error(h, pr, "recording the user's reply", error);
	if (stored != NULL)
		ical_object_free(stored);
	g_ptr_array_free(comps, TRUE);
}

/* Attendees named by the CANCEL that the stored event has, when the
   stored event also has others: RFC 5546 3.2.5 "removing attendees". */
static bool outgoing_cancel_removes_some(const struct ical_object *cancel,
					 const struct ical_object *stored,
					 const char *user)
{
	icalcomponent *comp = itip_object_first(cancel);
	icalproperty *prop;
	bool others_remain = false;

	if (cancel->master == NULL || stored == NULL || stored->master == NULL ||
	    icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY) == NULL)
		return false;
	for (prop = icalcomponent_get_first_property(stored->master, ICAL_ATTENDEE_PROPERTY);
	     prop != NULL && !others_remain;
	     prop = icalcomponent_get_next_property(stored->master, ICAL_ATTENDEE_PROPERTY)) {
		char *address = ical_property_address(prop);

		others_remain = address != NULL && strcmp(address, user) != 0 &&
				ical_find_attendee(comp, address) == NULL;
		g_free(address);
	}
	return others_remain;
}

static int outgoing_remove_attendees(struct handler *h,
				     const struct ical_object *cancel,
				     struct ical_object *stored,
				     struct imip_part_result *pr,
				     const char **error_r)
{
	icalcomponent *comp = itip_object_first(cancel);
	GPtrArray *targets = ical_object_components(stored);
	unsigned int removed = 0;
	int ret = 0;

	for (unsigned int i = 0; i < targets->len && ret == 0; i++) {
		icalcomponent *target = g_ptr_array_index(targets, i);
		icalproperty *prop;
		bool changed = false;

		for (prop = icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY);
		     prop != NULL;
		     prop = icalcomponent_get_next_property(comp, ICAL_ATTENDEE_PROPERTY)) {
			char *address = ical_property_address(prop);
			icalproperty *old = address == NULL ? NULL :
				ical_find_attendee(target, address);

			if (old != NULL) {
				icalcomponent_remove_property(target, old);
				icalproperty_free(old);
				changed = true;
				removed++;
			}
			g_free(address);
		}
		if (changed)
			ret = calstore_put(h->su, stored->uid, target,
					   STORE_STATE_ACTIVE, stored->vcal, error_r);
	}
	g_ptr_array_free(targets, TRUE);
	if (ret == 0)
		ret = handler_derive(h, stored->uid, error_r);
	if (ret == 0)
		handler_outcome(pr, removed > 0 ? IMIP_OUTCOME_UPDATED :
				IMIP_OUTCOME_NO_ACTION,
				"%u attendee entries removed from the event",
				removed);
	return ret;
}

static void outgoing_cancel(struct handler *h, struct ical_object *obj,
			    struct imip_part_result *pr)
{
	struct ical_object *stored = NULL;
	const char *error;
	int ret;

	if (!outgoing_check_organiser(h, obj, pr))
		return;
	ret = calstore_load(h->su, obj->uid, &stored, &error);
	if (ret >= 0) {
		ret = outgoing_cancel_removes_some(obj, stored, h->user) ?
			outgoing_remove_attendees(h, obj, stored, pr, &error) :
			handler_cancel(h, obj, stored, pr, &error);
	}
	if (ret < 0)
		handler_store_error(h, pr, "cancelling the event", error);
	if (stored != NULL)
		ical_object_free(stored);
}

/* The user proposed other times: hold them (freebusy-offers) so that they
   are not given away while the organiser decides. */
static void outgoing_counter(struct handler *h, struct ical_object *obj,
			     struct imip_part_result *pr)
{
	struct fb_list *proposed = fb_list_new();
	char *hold = handler_pref(h, "freebusy_offers");
	time_t expires = 0;
	bool endless;
	const char *error;

	if (hold != NULL) {
		struct icaldurationtype d = icaldurationtype_from_string(hold);

		if (!icaldurationtype_is_bad_duration(d))
			expires = h->ctx->now + icaldurationtype_as_int(d);
	}
	if (fb_periods_of_object(obj, h->user_zone, 0, h->ctx->now +
				 (time_t)h->config->freebusy_horizon_days * 86400,
				 h->config->limits.instances, true, proposed,
				 &endless, &error) < 0) {
		handler_outcome(pr, IMIP_OUTCOME_REJECTED, "%s", error);
	} else {
		unsigned int count = proposed->periods->len;

		for (unsigned int i = 0; i < count; i++)
			((struct fb_period *)g_ptr_array_index(proposed->periods, i))->expires = expires;
		if (store_fb_replace_uid(h->su, STORE_FB_OFFERS, NULL, obj->uid,
					 proposed, &error) < 0)
			handler_store_error(h, pr, "writing offers", error);
		else
			handler_outcome(pr, IMIP_OUTCOME_ADDED,
					"own counter-proposal held (%u periods)",
					count);
	}
	g_free(hold);
	fb_list_free(&proposed);
}

static void outgoing_declinecounter(struct handler *h, struct ical_object *obj,
				    struct imip_part_result *pr)
{
	icalcomponent *comp = itip_object_first(obj);
	icalproperty *prop = icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY);
	char *rid = ical_rid_of(comp);
	char *attendee = prop == NULL ? NULL : ical_property_address(prop);
	GPtrArray *before = g_ptr_array_new_with_free_func((GDestroyNotify)store_counter_free);
	const char *error;
	int ret;

	ret = store_counter_list(h->su, before, &error);
	if (ret >= 0)
		ret = store_counter_delete(h->su, obj->uid, rid, attendee, &error);
	if (ret >= 0)
		ret = handler_derive(h, obj->uid, &error);
	if (ret < 0) {
		handler_store_error(h, pr, "removing the counter-proposal", error);
	} else {
		bool had = false;

		for (unsigned int i = 0; i < before->len && !had; i++) {
			const struct store_counter *c = g_ptr_array_index(before, i);

			had = strcmp(c->uid, obj->uid) == 0 &&
			      g_strcmp0(c->rid, rid) == 0 &&
			      (attendee == NULL || g_strcmp0(c->attendee, attendee) == 0);
		}
		handler_outcome(pr, had ? IMIP_OUTCOME_UPDATED :
				IMIP_OUTCOME_NO_ACTION, had ?
				"counter-proposal declined and removed" :
				"no such counter-proposal is stored");
	}
	g_ptr_array_free(before, TRUE);
	g_free(attendee);
	g_free(rid);
}

void handler_outgoing(struct handler *h, enum itip_method method,
		      struct ical_object *obj, struct imip_part_result *pr)
{
	const char *error;

	if (obj->kind == ICAL_VFREEBUSY_COMPONENT) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"free/busy the user sends is not recorded as "
				"their own");
		return;
	}
	switch (method) {
	case ITIP_METHOD_REQUEST:
	case ITIP_METHOD_PUBLISH:
		outgoing_request(h, obj, pr);
		break;
	case ITIP_METHOD_ADD:
		if (outgoing_check_organiser(h, obj, pr) &&
		    handler_check_expandable(h, obj, pr) &&
		    handler_apply_add(h, obj, false, pr, &error) < 0)
			handler_store_error(h, pr, "adding occurrences", error);
		break;
	case ITIP_METHOD_REPLY:
		outgoing_reply(h, obj, pr);
		break;
	case ITIP_METHOD_CANCEL:
		outgoing_cancel(h, obj, pr);
		break;
	case ITIP_METHOD_COUNTER:
		outgoing_counter(h, obj, pr);
		break;
	case ITIP_METHOD_DECLINECOUNTER:
		if (outgoing_check_organiser(h, obj, pr))
			outgoing_declinecounter(h, obj, pr);
		break;
	case ITIP_METHOD_REFRESH:
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"the user asked for an update; nothing to record");
		break;
	default:
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"method %s is not handled",
				itip_method_name(method));
		break;
	}
}
