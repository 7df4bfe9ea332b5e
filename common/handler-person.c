/* The person handler: incoming mail for a calendar user (reference
   imip-agent.md section 6.3, RFC 5546 section 3.2).  The user's own
   free/busy changes only through what the store derives (an organiser
   stating the user's PARTSTAT, or the user's own replies seen by the
   outgoing handler); nothing here answers on the user's behalf except the
   automatic answers the preferences allow (REFRESH for ADD, REQUEST for
   REFRESH, VFREEBUSY replies). */

#include "handler.h"
#include "address.h"
#include "calstore.h"
#include "config.h"
#include "freebusy.h"
#include "ical-object.h"
#include "prefs.h"
#include "store.h"

#include <string.h>

static void person_counter(struct handler *h, struct ical_object *obj,
			   struct imip_part_result *pr);

/* The stored object if the user organises it, else NULL with the outcome
   set (attendee methods are only for organisers). */
static struct ical_object *person_load_organised(struct handler *h,
						 const char *uid,
						 struct imip_part_result *pr)
{
	struct ical_object *stored = NULL;
	const char *error;
	int r = calstore_load(h->su, uid, &stored, &error);

	if (r < 0) {
		handler_store_error(h, pr, "reading the event", error);
		return NULL;
	}
	if (r == 0) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"event %s is not stored", uid);
		return NULL;
	}
	if (!handler_object_is_self_organised(h, stored)) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"recipient %s is not the organiser", h->user);
		ical_object_free(stored);
		return NULL;
	}
	return stored;
}

/* The sender's ATTENDEE properties in comp, each an attendee of stored;
   false (outcome set) when there is none or one is a stranger. */
static bool person_check_sender_attendees(struct handler *h,
					  const struct ical_object *stored,
					  icalcomponent *comp, GPtrArray *props,
					  struct imip_part_result *pr)
{
	handler_sender_attendees(h, stored, comp, props);
	if (props->len == 0) {
		handler_outcome(pr, IMIP_OUTCOME_REJECTED,
				"sender %s is not an attendee named in the message",
				handler_sender_name(h));
		return false;
	}
	for (unsigned int i = 0; i < props->len; i++) {
		char *address = ical_property_address(g_ptr_array_index(props, i));
		bool known = address != NULL &&
			     itip_object_has_attendee(stored, address);

		if (!known) {
			handler_outcome(pr, IMIP_OUTCOME_REJECTED,
					"%s is not an attendee of the event",
					address != NULL ? address : "(no address)");
			g_free(address);
			return false;
		}
		g_free(address);
	}
	return true;
}

/* DESIGN.md rule 4: the user's own events change only through the
   outgoing handler (copies of what the user sent), never through incoming
   mail that claims to come from the user as organiser.  false with the
   outcome set. */
static bool person_check_foreign_organiser(struct handler *h,
					   const struct ical_object *obj,
					   struct imip_part_result *pr)
{
	char *organiser = ical_organizer_of(itip_object_first(obj));
	bool foreign = organiser == NULL || !handler_is_self(h, organiser);

	if (!foreign)
		handler_outcome(pr, IMIP_OUTCOME_REJECTED,
				"the organiser is the recipient %s itself; "
				"only the user's own outgoing copies may change "
				"the user's events", h->user);
	g_free(organiser);
	return foreign;
}

/* RFC 5546 allows an organiser to hand an event over; the user decides
   how far (organiser_replacement). */
static bool person_check_replacement(struct handler *h,
				     const struct ical_object *obj,
				     struct imip_part_result *pr)
{
	struct ical_object *stored = NULL;
	const char *error;
	char *organiser, *old_organiser, *policy;
	bool ok = true;

	if (calstore_load(h->su, obj->uid, &stored, &error) <= 0)
		return true;
	organiser = ical_organizer_of(itip_object_first(obj));
	old_organiser = ical_organizer_of(itip_object_first(stored));
	if (old_organiser != NULL && organiser != NULL &&
	    strcmp(organiser, old_organiser) != 0) {
		policy = handler_pref(h, "organiser_replacement");
		if (g_strcmp0(policy, "never") == 0 ||
		    (g_strcmp0(policy, "any") != 0 &&
		     !itip_object_has_attendee(stored, organiser))) {
			handler_outcome(pr, IMIP_OUTCOME_REJECTED,
					"organiser changed from %s to %s "
					"(organiser_replacement = %s)",
					old_organiser, organiser,
					policy != NULL ? policy : "attendee");
			ok = false;
		}
		g_free(policy);
	}
	g_free(organiser);
	g_free(old_organiser);
	ical_object_free(stored);
	return ok;
}

/* counter_as_request: some clients send an attendee's proposal as a
   REQUEST to the organiser.  It is one when the user organises the stored
   event and the sender is one of its attendees, not its organiser. */
static bool person_request_is_counter(struct handler *h,
				      struct ical_object *obj)
{
	struct ical_object *stored = NULL;
	GPtrArray *props;
	const char *error;
	bool counter = false;

	if (!h->config->counter_as_request ||
	    calstore_load(h->su, obj->uid, &stored, &error) <= 0)
		return false;
	if (handler_object_is_self_organised(h, stored) &&
	    !handler_sender_organises(h, obj, stored)) {
		props = g_ptr_array_new();
		handler_sender_attendees(h, stored, itip_object_first(obj), props);
		for (unsigned int i = 0; i < props->len && !counter; i++) {
			char *address = ical_property_address(g_ptr_array_index(props, i));
			counter = address != NULL &&
				  itip_object_has_attendee(stored, address);
			g_free(address);
		}
		g_ptr_array_free(props, TRUE);
	}
	ical_object_free(stored);
	return counter;
}

static void person_store_outcome(struct imip_part_result *pr,
				 const struct handler_store_stats *stats,
				 const char *what)
{
	if (stats->stored > 0)
		handler_outcome(pr, stats->existed ? IMIP_OUTCOME_UPDATED :
				IMIP_OUTCOME_ADDED, "%s %s", what,
				stats->existed ? "updated" : "recorded");
	else if (stats->blocked > 0)
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"the event was cancelled by a message that is "
				"not older");
	else if (stats->stale > 0)
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"older than the stored version");
	else
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"the stored version is already up to date");
}

/* An invitation that does not name the user: forwarded by someone, or
   sent to a list the user is on.  It is no request to the user; with
   forwarded_invitations = record it is kept as information, like
   PUBLISH.  false (outcome set) when it is to be left alone. */
static bool person_forward_is_recorded(struct handler *h,
				       struct imip_part_result *pr)
{
	char *policy = handler_pref(h, "forwarded_invitations");
	bool record = g_strcmp0(policy, "record") == 0;

	if (!record)
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"recipient %s is not an attendee (a forwarded "
				"invitation, not recorded: forwarded_invitations "
				"= %s)", h->user, policy != NULL ? policy : "ignore");
	g_free(policy);
	return record;
}

static void person_request(struct handler *h, struct ical_object *obj,
			   bool is_request, struct imip_part_result *pr)
{
	struct handler_store_stats stats;
	const char *error;
	bool forwarded = false;

	if (is_request && person_request_is_counter(h, obj)) {
		/* the log line and the user's summary name what the message
		   was taken for, not the label the client put on it */
		g_free(pr->method);
		pr->method = g_strdup(itip_method_name(ITIP_METHOD_COUNTER));
		person_counter(h, obj, pr);
		if (pr->code == IMIP_OUTCOME_ADDED) {
			char *reason = g_steal_pointer(&pr->reason);

			handler_outcome(pr, pr->code, "%s (sent as a REQUEST; "
					"counter_as_request)", reason);
			g_free(reason);
		}
		return;
	}
	if (!person_check_foreign_organiser(h, obj, pr) ||
	    !handler_check_organiser(h, obj, pr))
		return;
	if (is_request && !handler_object_has_self_attendee(h, obj)) {
		if (!person_forward_is_recorded(h, pr))
			return;
		/* recorded like PUBLISH: not queued, never answered */
		forwarded = true;
		is_request = false;
		g_free(pr->method);
		pr->method = g_strdup(itip_method_name(ITIP_METHOD_PUBLISH));
	}
	if (!handler_check_expandable(h, obj, pr) ||
	    !person_check_replacement(h, obj, pr))
		return;
	/* an answer the user gave still holds at the same SEQUENCE; a copy
	   kept as information (not a request to the user) has none; the
	   rest of a request awaits the user's answer */
	if (handler_store_newer(h, obj, is_request, &stats, &error) < 0 ||
	    (stats.stored > 0 && handler_derive(h, obj->uid, &error) < 0)) {
		handler_store_error(h, pr, "storing the event", error);
		handler_store_stats_clear(&stats);
		return;
	}
	person_store_outcome(pr, &stats, forwarded ? "forwarded invitation" :
			     is_request ? "invitation" : "published event");
	if (stats.answered != NULL) {
		char *reason = g_steal_pointer(&pr->reason);

		handler_outcome(pr, pr->code, "%s; the user's answer still "
				"holds (SEQUENCE unchanged)", reason);
		g_free(reason);
	}
	handler_store_stats_clear(&stats);
	if (forwarded && stats.stored > 0) {
		char *reason = g_steal_pointer(&pr->reason);

		handler_outcome(pr, pr->code, "%s as information only (the "
				"recipient %s is not an attendee; "
				"forwarded_invitations = record)", reason, h->user);
		g_free(reason);
	}
}

/* A copy kept as information only (forwarded_invitations = record) does
   not name the user, so no CANCEL can be removing the user from it: it
   ends when the CANCEL names every attendee the stored copy has, as a
   cancellation of the whole event does. */
static bool person_cancel_covers_stored(const struct ical_object *cancel,
					const struct ical_object *stored)
{
	icalcomponent *comp = itip_object_first(stored);
	icalproperty *prop;
	bool any = false, all = true;

	for (prop = comp == NULL ? NULL :
		    icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY);
	     prop != NULL && all;
	     prop = icalcomponent_get_next_property(comp, ICAL_ATTENDEE_PROPERTY)) {
		char *address = ical_property_address(prop);

		any = true;
		all = address != NULL && itip_object_has_attendee(cancel, address);
		g_free(address);
	}
	return any && all;
}

static bool person_cancel_names_user(struct handler *h,
				     const struct ical_object *obj,
				     const struct ical_object *stored)
{
	icalcomponent *comp = itip_object_first(obj);

	/* RFC 5546 3.2.5: a CANCEL without ATTENDEEs is for everyone; one
	   that lists attendees is for them (attendees being removed). */
	if (icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY) == NULL ||
	    handler_object_has_self_attendee(h, obj))
		return true;
	return stored != NULL && !handler_object_has_self_attendee(h, stored) &&
	       person_cancel_covers_stored(obj, stored);
}

static void person_cancel(struct handler *h, struct ical_object *obj,
			  struct imip_part_result *pr)
{
	struct ical_object *stored = NULL;
	const char *error;

	if (!person_check_foreign_organiser(h, obj, pr) ||
	    !handler_check_organiser(h, obj, pr))
		return;
	if (calstore_load(h->su, obj->uid, &stored, &error) < 0)
		handler_store_error(h, pr, "cancelling the event", error);
	else if (!person_cancel_names_user(h, obj, stored))
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"recipient %s is not an attendee of the "
				"cancellation", h->user);
	else if (handler_cancel(h, obj, stored, pr, &error) < 0)
		handler_store_error(h, pr, "cancelling the event", error);
	if (stored != NULL)
		ical_object_free(stored);
}

/* An address a REPLY answers for (one of the sender's `props` in comp)
   is an attendee of the stored event, or a delegate of one whose
   delegation the delegator confirmed (handler_is_confirmed_delegate()). */
static bool person_reply_address_known(const struct ical_object *stored,
				       icalcomponent *comp,
				       const GPtrArray *props,
				       icalproperty *prop)
{
	char *address = ical_property_address(prop);
	bool known = address != NULL && itip_object_has_attendee(stored, address);

	g_free(address);
	return known ||
	       handler_is_confirmed_delegate(stored, NULL, comp, props, prop);
}

/* The stored event has what the component answers for: the master, an
   override, or an instance of the recurrence set. */
static bool person_reply_names_instance(struct handler *h,
					const struct ical_object *stored,
					icalcomponent *comp)
{
	char *rid = ical_rid_of(comp);
	bool found = rid == NULL ? stored->master != NULL :
		ical_object_find_override(stored, rid) != NULL ||
		(stored->master != NULL && handler_is_instance(h, stored, rid));

	g_free(rid);
	return found;
}

/* Before anything is written: every component of the REPLY that answers
   for something the event has names the sender as an attendee the event
   knows.  A stranger refuses the whole message (false, outcome set); a
   component for an instance that does not exist is skipped by the merge,
   whoever sent it. */
static bool person_reply_from_attendee(struct handler *h,
				       const struct ical_object *stored,
				       GPtrArray *comps,
				       const struct itip_sent_by *trust,
				       struct imip_part_result *pr)
{
	GPtrArray *props = g_ptr_array_new();
	bool ok = true;

	for (unsigned int i = 0; i < comps->len && ok; i++) {
		icalcomponent *comp = g_ptr_array_index(comps, i);

		if (!person_reply_names_instance(h, stored, comp))
			continue;
		g_ptr_array_set_size(props, 0);
		itip_sender_attendees(comp, trust, h->senders, props);
		if (props->len == 0) {
			handler_outcome(pr, IMIP_OUTCOME_REJECTED,
					"sender %s is not an attendee named in "
					"the reply", handler_sender_name(h));
			ok = false;
		}
		for (unsigned int j = 0; j < props->len && ok; j++) {
			icalproperty *prop = g_ptr_array_index(props, j);
			char *address;

			if (person_reply_address_known(stored, comp, props, prop))
				continue;
			address = ical_property_address(prop);
			handler_outcome(pr, IMIP_OUTCOME_REJECTED,
					"%s is not an attendee of the event",
					address != NULL ? address : "(no address)");
			g_free(address);
			ok = false;
		}
	}
	g_ptr_array_free(props, TRUE);
	return ok;
}

/* An answer supersedes the attendee's proposal for that instance. */
static int person_reply_drop_counters(struct handler *h, const char *uid,
				      icalcomponent *comp, GPtrArray *props,
				      const char **error_r)
{
	char *rid = ical_rid_of(comp);
	int ret = 0;

	for (unsigned int j = 0; ret == 0 && j < props->len; j++) {
		char *address = ical_property_address(g_ptr_array_index(props, j));

		if (address != NULL &&
		    store_counter_delete(h->su, uid, rid, address, error_r) < 0)
			ret = -1;
		g_free(address);
	}
	g_free(rid);
	return ret;
}

/* The outcome of a REPLY once its components were merged or skipped:
   the last skip's outcome stands when nothing was merged. */
static void person_reply_outcome(struct handler *h, struct imip_part_result *pr,
				 unsigned int merged, bool changed,
				 unsigned int skipped, const char *skip_reason)
{
	const char *sep = skipped > 0 ? "; " : "";
	char *note = skipped == 0 ? g_strdup("") :
		g_strdup_printf("%u of its components not applied (%s)",
				skipped, skip_reason);

	if (changed)
		handler_outcome(pr, IMIP_OUTCOME_UPDATED,
				"reply from %s recorded%s%s",
				handler_sender_name(h), sep, note);
	else if (merged > 0)
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"the reply changes nothing%s%s", sep, note);
	g_free(note);
}

/* Each component of the REPLY is applied on its own (RFC 5546 3.2.3: an
   attendee answers instance by instance): one naming no instance of the
   event, a cancelled one or an older version is skipped, the others
   still count, and free/busy follows whatever changed. */
static void person_reply(struct handler *h, struct ical_object *obj,
			 struct imip_part_result *pr)
{
	struct ical_object *stored = person_load_organised(h, obj->uid, pr);
	struct handler_sent_by sb;
	GPtrArray *comps, *props;
	const char *error = NULL;
	char *skip_reason = NULL;
	unsigned int merged = 0, skipped = 0;
	bool changed_any = false, refused;
	int ret = 0;

	if (stored == NULL)
		return;
	/* a SENT-BY counts when the organiser's copy names it for that
	   attendee; only entries the sender speaks for are merged, so what
	   an earlier component merges in was written for the same party */
	handler_sent_by_init(h, stored, &sb);
	comps = ical_object_components(obj);
	props = g_ptr_array_new();
	refused = !person_reply_from_attendee(h, stored, comps, &sb.trust, pr);
	for (unsigned int i = 0; i < comps->len && !refused && ret == 0; i++) {
		icalcomponent *comp = g_ptr_array_index(comps, i);
		bool changed;
		int r;

		g_ptr_array_set_size(props, 0);
		itip_sender_attendees(comp, &sb.trust, h->senders, props);
		r = handler_merge_reply(h, stored, comp, props, true, pr,
					&changed, &error);
		if (r < 0) {
			ret = -1;
		} else if (r == 0) {
			skipped++;
			g_free(skip_reason);
			skip_reason = g_strdup(pr->reason);
		} else {
			merged++;
			changed_any = changed_any || changed;
			ret = person_reply_drop_counters(h, obj->uid, comp,
							 props, &error);
		}
	}
	/* merged: counters may have gone (requests) */
	if (ret == 0 && merged > 0 && handler_derive(h, obj->uid, &error) < 0)
		ret = -1;
	if (ret < 0)
		handler_store_error(h, pr, "recording the reply", error);
	else if (!refused)
		person_reply_outcome(h, pr, merged, changed_any, skipped,
				     skip_reason);
	g_free(skip_reason);
	g_ptr_array_free(props, TRUE);
	g_ptr_array_free(comps, TRUE);
	ical_object_free(stored);
}

/* RFC 5546 3.2.7: REFRESH names the event and the attendee asking. */
static char *person_refresh_text(struct handler *h, const struct ical_object *obj)
{
	icalcomponent *comp = itip_object_first(obj);
	icalcomponent *refresh = icalcomponent_new_vevent();
	icalproperty *prop;
	char *uri = address_to_uri(h->user);
	char *sent_by = address_to_uri(h->config->calendar_sender);
	char *text;

	icalcomponent_set_uid(refresh, obj->uid);
	prop = icalcomponent_get_first_property(comp, ICAL_ORGANIZER_PROPERTY);
	if (prop != NULL)
		icalcomponent_add_property(refresh, icalproperty_new_clone(prop));
	prop = icalproperty_new_attendee(uri);
	if (sent_by != NULL)
		icalproperty_add_parameter(prop, icalparameter_new_sentby(sent_by));
	icalcomponent_add_property(refresh, prop);
	icalcomponent_set_dtstamp(refresh,
		icaltime_from_timet_with_zone(h->ctx->now, 0,
					      icaltimezone_get_utc_timezone()));
	prop = icalcomponent_get_first_property(comp, ICAL_RECURRENCEID_PROPERTY);
	if (prop != NULL)
		icalcomponent_add_property(refresh, icalproperty_new_clone(prop));
	text = ical_component_to_text(refresh, "REFRESH", obj->vcal);
	icalcomponent_free(refresh);
	g_free(uri);
	g_free(sent_by);
	return text;
}

static void person_add(struct handler *h, struct ical_object *obj,
		       struct imip_part_result *pr)
{
	char *response, *organiser, *text;
	const char *error;

	if (!person_check_foreign_organiser(h, obj, pr) ||
	    !handler_check_organiser(h, obj, pr))
		return;
	response = handler_pref(h, "add_method_response");
	if (g_strcmp0(response, "ignore") == 0) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"ADD ignored (add_method_response = ignore)");
	} else if (g_strcmp0(response, "add") == 0) {
		if (handler_check_expandable(h, obj, pr) &&
		    handler_apply_add(h, obj, true, pr, &error) < 0)
			handler_store_error(h, pr, "adding occurrences", error);
	} else {
		/* RFC 5546 3.2.4: an attendee who cannot apply an ADD asks
		   for the whole event with REFRESH. */
		organiser = ical_organizer_of(itip_object_first(obj));
		text = person_refresh_text(h, obj);
		if (handler_send(h, organiser, "REFRESH", text))
			handler_outcome(pr, IMIP_OUTCOME_REPLIED,
					"asked %s for the whole event (REFRESH)",
					organiser);
		else
			handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
					"ADD not applied; no REFRESH sent to "
					"an automatic message");
		g_free(text);
		g_free(organiser);
	}
	g_free(response);
}

static void person_refresh(struct handler *h, struct ical_object *obj,
			   struct imip_part_result *pr)
{
	struct ical_object *stored = person_load_organised(h, obj->uid, pr);
	GPtrArray *props;
	char *policy;

	if (stored == NULL)
		return;
	props = g_ptr_array_new();
	if (person_check_sender_attendees(h, stored, itip_object_first(obj),
					  props, pr)) {
		policy = handler_pref(h, "event_refreshing");
		if (g_strcmp0(policy, "always") == 0) {
			char *to = ical_property_address(g_ptr_array_index(props, 0));
			char *text = ical_object_to_text(stored, "REQUEST");

			if (handler_send(h, to, "REQUEST", text))
				handler_outcome(pr, IMIP_OUTCOME_REPLIED,
						"sent the current event to %s", to);
			else
				handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
						"REFRESH from an automatic message "
						"not answered");
			g_free(text);
			g_free(to);
		} else {
			handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
					"REFRESH left to the user "
					"(event_refreshing = never)");
		}
		g_free(policy);
	}
	g_ptr_array_free(props, TRUE);
	ical_object_free(stored);
}

static void person_counter(struct handler *h, struct ical_object *obj,
			   struct imip_part_result *pr)
{
	struct ical_object *stored = person_load_organised(h, obj->uid, pr);
	icalcomponent *comp;
	GPtrArray *props;
	const char *error;
	int ret = 0;

	if (stored == NULL)
		return;
	comp = itip_object_first(obj);
	props = g_ptr_array_new();
	if (person_check_sender_attendees(h, stored, comp, props, pr)) {
		struct store_counter counter;
		char *rid = ical_rid_of(comp);

		counter.uid = obj->uid;
		counter.rid = rid;
		counter.attendee = ical_property_address(g_ptr_array_index(props, 0));
		counter.text = ical_object_to_text(obj, "COUNTER");
		ret = store_counter_put(h->su, &counter, &error);
		if (ret == 0)
			ret = handler_derive(h, obj->uid, &error);
		if (ret < 0)
			handler_store_error(h, pr, "recording the counter-proposal",
					    error);
		else
			handler_outcome(pr, IMIP_OUTCOME_ADDED,
					"counter-proposal from %s recorded",
					counter.attendee);
		g_free(counter.attendee);
		g_free(counter.text);
		g_free(rid);
	}
	g_ptr_array_free(props, TRUE);
	ical_object_free(stored);
}

static void person_declinecounter(struct handler *h, struct ical_object *obj,
				  struct imip_part_result *pr)
{
	struct fb_list *offers;
	char *rid;
	const char *error;
	unsigned int removed;

	if (!person_check_foreign_organiser(h, obj, pr) ||
	    !handler_check_organiser(h, obj, pr))
		return;
	rid = ical_rid_of(itip_object_first(obj));
	offers = fb_list_new();
	if (store_fb_read_uid(h->su, STORE_FB_OFFERS, NULL, obj->uid, offers,
			      &error) < 0) {
		handler_store_error(h, pr, "reading offers", error);
	} else if ((removed = fb_list_remove(offers, obj->uid, rid)) == 0) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"no counter-proposal of the user is held");
	} else if (store_fb_replace_uid(h->su, STORE_FB_OFFERS, NULL, obj->uid,
					offers, &error) < 0) {
		handler_store_error(h, pr, "writing offers", error);
	} else {
		handler_outcome(pr, IMIP_OUTCOME_UPDATED,
				"counter-proposal declined by the organiser; "
				"offer released");
	}
	fb_list_free(&offers);
	g_free(rid);
}

/* The window a VFREEBUSY covers (RFC 5546 3.3.1: DTSTART and DTEND). */
static bool person_fb_window(icalcomponent *comp, icaltimezone *zone,
			     time_t *start_r, time_t *end_r)
{
	struct icaltimetype start = icalcomponent_get_dtstart(comp);
	struct icaltimetype end = icalcomponent_get_dtend(comp);

	if (icaltime_is_null_time(start) || icaltime_is_null_time(end))
		return false;
	*start_r = ical_time_to_utc(start, zone);
	*end_r = ical_time_to_utc(end, zone);
	return *end_r > *start_r;
}

struct h_fb_record {
	struct handler *h;
	const char *other;
	bool windowed;		/* the VFREEBUSY has DTSTART/DTEND */
	time_t start, end;
};

static void person_fb_request(struct handler *h, struct ical_object *obj,
			      struct imip_part_result *pr)
{
	icalcomponent *comp = itip_object_first(obj);
	struct fb_list *own;
	char *sharing, *requester, *text;
	const char *error;
	time_t start, end;

	if (!handler_check_organiser(h, obj, pr))
		return;
	sharing = handler_pref(h, "freebusy_sharing");
	if (g_strcmp0(sharing, "share") != 0) {
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"free/busy is not shared (freebusy_sharing = no)");
		g_free(sharing);
		return;
	}
	g_free(sharing);
	if (!person_fb_window(comp, h->user_zone, &start, &end)) {
		handler_outcome(pr, IMIP_OUTCOME_ERROR,
				"free/busy request without a valid DTSTART/DTEND");
		return;
	}
	own = fb_list_new();
	if (store_fb_read_window(h->su, STORE_FB_OWN, NULL, start, end, own,
				 &error) < 0) {
		handler_store_error(h, pr, "reading free/busy", error);
		fb_list_free(&own);
		return;
	}
	requester = ical_organizer_of(comp);
	text = fb_vfreebusy_text(own, start, end, "REPLY", obj->uid, requester,
				 h->user, h->config->calendar_sender, h->ctx->now);
	if (handler_send(h, requester, "REPLY", text))
		handler_outcome(pr, IMIP_OUTCOME_REPLIED,
				"free/busy sent to %s", requester);
	else
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"free/busy request in an automatic message not "
				"answered");
	g_free(text);
	g_free(requester);
	fb_list_free(&own);
}

/* Received free/busy replaces what was known of that party in the window
   it covers; periods derived from stored events are left alone.  Only the
   periods of the VFREEBUSY's UID and those without a UID are touched. */
static int person_fb_replace(struct h_fb_record *r, const char *uid,
			     struct fb_list *add, const char **error_r)
{
	struct fb_list *known = fb_list_new();
	GPtrArray *overlap = g_ptr_array_new();
	int ret = store_fb_read_uid(r->h->su, STORE_FB_OTHER, r->other, uid,
				    known, error_r);

	if (ret == 0 && r->windowed) {
		fb_list_overlapping(known, r->start, r->end, NULL, overlap);
		for (unsigned int i = 0; i < overlap->len; i++) {
			struct fb_period *p = g_ptr_array_index(overlap, i);

			if (g_ptr_array_remove(known->periods, p))
				fb_period_free(p);
		}
	} else if (ret == 0 && uid != NULL) {
		fb_list_clear(known);
	}
	if (ret == 0 && (add != NULL || overlap->len > 0)) {
		fb_list_merge(known, add);
		ret = store_fb_replace_uid(r->h->su, STORE_FB_OTHER, r->other,
					   uid, known, error_r);
	}
	g_ptr_array_free(overlap, TRUE);
	fb_list_free(&known);
	return ret < 0 ? -1 : 0;
}

static void person_fb_record(struct handler *h, struct ical_object *obj,
			     const char *other, struct imip_part_result *pr)
{
	icalcomponent *comp = itip_object_first(obj);
	struct fb_list *received = fb_list_new();
	struct h_fb_record r = { .h = h, .other = other };
	const char *error;
	unsigned int count;
	int ret;

	if (fb_periods_of_vfreebusy(comp, received, &error) < 0) {
		handler_outcome(pr, IMIP_OUTCOME_ERROR, "%s", error);
		fb_list_free(&received);
		return;
	}
	r.windowed = person_fb_window(comp, h->user_zone, &r.start, &r.end);
	count = received->periods->len;
	/* the received periods carry the VFREEBUSY's UID */
	ret = person_fb_replace(&r, obj->uid, received, &error);
	if (ret == 0 && r.windowed && obj->uid != NULL && *obj->uid != '\0')
		ret = person_fb_replace(&r, NULL, NULL, &error);
	if (ret < 0)
		handler_store_error(h, pr, "recording free/busy", error);
	else
		handler_outcome(pr, IMIP_OUTCOME_UPDATED,
				"free/busy of %s recorded (%u periods)", other,
				count);
	fb_list_free(&received);
}

static void person_freebusy(struct handler *h, enum itip_method method,
			    struct ical_object *obj,
			    struct imip_part_result *pr)
{
	icalcomponent *comp = itip_object_first(obj);
	GPtrArray *props;
	char *other;

	switch (method) {
	case ITIP_METHOD_REQUEST:
		person_fb_request(h, obj, pr);
		return;
	case ITIP_METHOD_PUBLISH:
		if (!handler_check_organiser(h, obj, pr))
			return;
		other = ical_organizer_of(comp);
		person_fb_record(h, obj, other, pr);
		g_free(other);
		return;
	case ITIP_METHOD_REPLY:
		props = g_ptr_array_new();
		/* no stored copy: only the agent's own or a same-domain
		   SENT-BY (trusted_sent_by) speaks for the attendee */
		handler_sender_attendees(h, NULL, comp, props);
		if (props->len == 0) {
			handler_outcome(pr, IMIP_OUTCOME_REJECTED,
					"sender %s is not an attendee named in "
					"the free/busy reply",
					handler_sender_name(h));
		} else {
			other = ical_property_address(g_ptr_array_index(props, 0));
			person_fb_record(h, obj, other, pr);
			g_free(other);
		}
		g_ptr_array_free(props, TRUE);
		return;
	default:
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"free/busy with method %s is not handled",
				itip_method_name(method));
		return;
	}
}

void handler_person(struct handler *h, enum itip_method method,
		    struct ical_object *obj, struct imip_part_result *pr)
{
	if (obj->kind == ICAL_VFREEBUSY_COMPONENT) {
		person_freebusy(h, method, obj, pr);
		return;
	}
	switch (method) {
	case ITIP_METHOD_REQUEST:
		person_request(h, obj, true, pr);
		break;
	case ITIP_METHOD_PUBLISH:
		person_request(h, obj, false, pr);
		break;
	case ITIP_METHOD_ADD:
		person_add(h, obj, pr);
		break;
	case ITIP_METHOD_CANCEL:
		person_cancel(h, obj, pr);
		break;
	case ITIP_METHOD_REPLY:
		person_reply(h, obj, pr);
		break;
	case ITIP_METHOD_REFRESH:
		person_refresh(h, obj, pr);
		break;
	case ITIP_METHOD_COUNTER:
		person_counter(h, obj, pr);
		break;
	case ITIP_METHOD_DECLINECOUNTER:
		person_declinecounter(h, obj, pr);
		break;
	default:
		handler_outcome(pr, IMIP_OUTCOME_NO_ACTION,
				"method %s is not handled",
				itip_method_name(method));
		break;
	}
}
