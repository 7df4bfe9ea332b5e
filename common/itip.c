/* iTIP rules shared by the handlers: see itip.h. */

#include "itip.h"
#include "address.h"
#include "ical-object.h"

#include <string.h>

static const char *const itip_method_names[] = {
	[ITIP_METHOD_NONE] = "-",
	[ITIP_METHOD_PUBLISH] = "PUBLISH",
	[ITIP_METHOD_REQUEST] = "REQUEST",
	[ITIP_METHOD_REPLY] = "REPLY",
	[ITIP_METHOD_ADD] = "ADD",
	[ITIP_METHOD_CANCEL] = "CANCEL",
	[ITIP_METHOD_REFRESH] = "REFRESH",
	[ITIP_METHOD_COUNTER] = "COUNTER",
	[ITIP_METHOD_DECLINECOUNTER] = "DECLINECOUNTER",
	[ITIP_METHOD_UNKNOWN] = "UNKNOWN",
};

enum itip_method itip_method_parse(const char *name)
{
	if (name == NULL || *name == '\0')
		return ITIP_METHOD_NONE;
	for (unsigned int i = ITIP_METHOD_PUBLISH; i < ITIP_METHOD_UNKNOWN; i++) {
		if (g_ascii_strcasecmp(name, itip_method_names[i]) == 0)
			return (enum itip_method)i;
	}
	return ITIP_METHOD_UNKNOWN;
}

const char *itip_method_name(enum itip_method method)
{
	if ((unsigned int)method >= G_N_ELEMENTS(itip_method_names))
		return "UNKNOWN";
	return itip_method_names[method];
}

bool itip_method_is_organiser(enum itip_method method)
{
	switch (method) {
	case ITIP_METHOD_PUBLISH:
	case ITIP_METHOD_REQUEST:
	case ITIP_METHOD_ADD:
	case ITIP_METHOD_CANCEL:
	case ITIP_METHOD_DECLINECOUNTER:
		return true;
	default:
		return false;
	}
}

enum itip_newness itip_compare(icalcomponent *incoming, icalcomponent *stored,
			       bool lenient)
{
	int seq_in, seq_st;
	time_t stamp_in, stamp_st;

	if (stored == NULL)
		return ITIP_NEWER;
	seq_in = ical_sequence_of(incoming);
	seq_st = ical_sequence_of(stored);
	if (seq_in < 0)
		seq_in = 0;
	if (seq_st < 0)
		seq_st = 0;
	if (seq_in != seq_st)
		return seq_in > seq_st ? ITIP_NEWER : ITIP_OLDER;
	if (lenient)
		return ITIP_NEWER;
	stamp_in = ical_dtstamp_of(incoming);
	stamp_st = ical_dtstamp_of(stored);
	if (stamp_in == stamp_st)
		return ITIP_SAME;
	/* RFC 5546 section 2.1.5: with equal SEQUENCE the later DTSTAMP
	   wins; a component without DTSTAMP cannot prove it is later. */
	return stamp_in > stamp_st ? ITIP_NEWER : ITIP_OLDER;
}

static bool itip_senders_contain(const GPtrArray *senders, const char *address)
{
	if (address == NULL)
		return false;
	for (unsigned int i = 0; i < senders->len; i++) {
		if (strcmp(g_ptr_array_index(senders, i), address) == 0)
			return true;
	}
	return false;
}

/* A SENT-BY on `prop` that is a sender and that trust accepts for the
   property's own address. */
static bool itip_sent_by_is_sender(icalproperty *prop, const char *party,
				   const struct itip_sent_by *trust,
				   const GPtrArray *senders)
{
	char *sent_by;
	bool match;

	if (trust == NULL || trust->counts == NULL || party == NULL)
		return false;
	sent_by = ical_property_sent_by(prop);
	match = itip_senders_contain(senders, sent_by) &&
		trust->counts(icalproperty_isa(prop), party, sent_by,
			      trust->data);
	g_free(sent_by);
	return match;
}

/* prop (an ORGANIZER or ATTENDEE) is `party`'s and has SENT-BY sent_by. */
static bool itip_property_names_sent_by(icalproperty *prop, const char *party,
					const char *sent_by)
{
	char *address = ical_property_address(prop);
	char *known = g_strcmp0(address, party) == 0 ?
		ical_property_sent_by(prop) : NULL;
	bool named = known != NULL && strcmp(known, sent_by) == 0;

	g_free(address);
	g_free(known);
	return named;
}

static bool itip_component_names_sent_by(icalcomponent *comp,
					 const char *party,
					 const char *sent_by)
{
	return itip_property_names_sent_by(
		icalcomponent_get_first_property(comp, ICAL_ORGANIZER_PROPERTY),
		party, sent_by) ||
	       itip_property_names_sent_by(ical_find_attendee(comp, party),
					   party, sent_by);
}

bool itip_object_names_sent_by(const struct ical_object *stored,
			       const char *party, const char *sent_by)
{
	GPtrArray *comps;
	bool named = false;

	if (stored == NULL || party == NULL || sent_by == NULL)
		return false;
	comps = ical_object_components(stored);
	for (unsigned int i = 0; i < comps->len && !named; i++)
		named = itip_component_names_sent_by(g_ptr_array_index(comps, i),
						     party, sent_by);
	g_ptr_array_free(comps, TRUE);
	return named;
}

bool itip_sender_is_organiser(icalcomponent *comp,
			      const struct itip_sent_by *trust,
			      const GPtrArray *senders)
{
	icalproperty *prop = icalcomponent_get_first_property(
		comp, ICAL_ORGANIZER_PROPERTY);
	char *organiser = prop == NULL ? NULL : ical_property_address(prop);
	bool match = itip_senders_contain(senders, organiser) ||
		     (prop != NULL &&
		      itip_sent_by_is_sender(prop, organiser, trust, senders));

	g_free(organiser);
	return match;
}

void itip_sender_attendees(icalcomponent *comp,
			   const struct itip_sent_by *trust,
			   const GPtrArray *senders, GPtrArray *props_r)
{
	icalproperty *prop;

	for (prop = icalcomponent_get_first_property(comp, ICAL_ATTENDEE_PROPERTY);
	     prop != NULL;
	     prop = icalcomponent_get_next_property(comp, ICAL_ATTENDEE_PROPERTY)) {
		char *address = ical_property_address(prop);

		if (itip_senders_contain(senders, address) ||
		    itip_sent_by_is_sender(prop, address, trust, senders))
			g_ptr_array_add(props_r, prop);
		g_free(address);
	}
}

bool itip_attendee_delegated_to(icalcomponent *comp, const char *delegator,
				const char *delegate)
{
	icalproperty *prop = ical_find_attendee(comp, delegator);
	icalparameter *param;
	bool named = false;

	for (param = prop == NULL ? NULL :
		     icalproperty_get_first_parameter(prop, ICAL_DELEGATEDTO_PARAMETER);
	     param != NULL && !named;
	     param = icalproperty_get_next_parameter(prop, ICAL_DELEGATEDTO_PARAMETER))
		named = address_equal(icalparameter_get_delegatedto(param), delegate);
	return named;
}

icalcomponent *itip_object_first(const struct ical_object *obj)
{
	if (obj->master != NULL)
		return obj->master;
	if (obj->overrides != NULL && obj->overrides->len > 0)
		return g_ptr_array_index(obj->overrides, 0);
	return NULL;
}

bool itip_object_has_attendee(const struct ical_object *obj,
			      const char *address)
{
	if (obj->master != NULL && ical_find_attendee(obj->master, address) != NULL)
		return true;
	for (unsigned int i = 0; obj->overrides != NULL && i < obj->overrides->len; i++) {
		if (ical_find_attendee(g_ptr_array_index(obj->overrides, i),
				       address) != NULL)
			return true;
	}
	return false;
}

char *itip_object_organiser(const struct ical_object *obj, char **other_r)
{
	GPtrArray *comps = ical_object_components(obj);
	char *organiser = NULL;
	bool named = false, mixed = false;

	if (other_r != NULL)
		*other_r = NULL;
	for (unsigned int i = 0; i < comps->len && !mixed; i++) {
		icalcomponent *comp = g_ptr_array_index(comps, i);
		char *address;

		if (icalcomponent_get_first_property(comp, ICAL_ORGANIZER_PROPERTY) == NULL)
			continue;
		/* an ORGANIZER without a usable address differs from every
		   address (it is NULL here) */
		address = ical_organizer_of(comp);
		if (!named) {
			named = true;
			organiser = address;
			continue;
		}
		if (g_strcmp0(address, organiser) != 0) {
			mixed = true;
			if (other_r != NULL)
				*other_r = address != NULL ? g_steal_pointer(&address) :
					g_strdup("(no usable address)");
		}
		g_free(address);
	}
	g_ptr_array_free(comps, TRUE);
	if (mixed && organiser == NULL)
		organiser = g_strdup("(no usable address)");
	return organiser;
}

bool itip_sender_organises(const struct ical_object *obj,
			   const struct itip_sent_by *trust,
			   const GPtrArray *senders)
{
	GPtrArray *comps = ical_object_components(obj);
	bool named = false, all = true;

	for (unsigned int i = 0; i < comps->len && all; i++) {
		icalcomponent *comp = g_ptr_array_index(comps, i);

		if (icalcomponent_get_first_property(comp, ICAL_ORGANIZER_PROPERTY) == NULL)
			continue;
		named = true;
		all = itip_sender_is_organiser(comp, trust, senders);
	}
	g_ptr_array_free(comps, TRUE);
	return named && all;
}

bool itip_object_is_organised_by(const struct ical_object *obj,
				 const char *address)
{
	char *other = NULL;
	char *organiser = itip_object_organiser(obj, &other);
	bool match = organiser != NULL && other == NULL &&
		     strcmp(organiser, address) == 0;

	g_free(organiser);
	g_free(other);
	return match;
}

icalparameter_partstat itip_partstat_of(icalcomponent *comp,
					const char *address)
{
	icalproperty *prop = ical_find_attendee(comp, address);
	icalparameter *param;

	if (prop == NULL)
		return ICAL_PARTSTAT_NONE;
	param = icalproperty_get_first_parameter(prop, ICAL_PARTSTAT_PARAMETER);
	/* RFC 5545 3.2.12: the default PARTSTAT is NEEDS-ACTION */
	return param == NULL ? ICAL_PARTSTAT_NEEDSACTION :
		icalparameter_get_partstat(param);
}

/* The PARTSTAT parameter and any DELEGATED-TO of an ATTENDEE: what makes
   it an answer. */
static const icalparameter_kind itip_answer_params[] = {
	ICAL_PARTSTAT_PARAMETER, ICAL_DELEGATEDTO_PARAMETER,
};

bool itip_keep_answer(icalcomponent *incoming, icalcomponent *stored,
		      const char *address)
{
	icalproperty *in_prop, *old_prop;
	icalparameter *param;
	icalparameter_partstat answer = itip_partstat_of(stored, address);
	int seq_in = ical_sequence_of(incoming), seq_st = ical_sequence_of(stored);

	/* RFC 5545 3.8.7.4: the organiser raises SEQUENCE for every change
	   that makes the attendees' answers invalid; at the same SEQUENCE
	   the answer still holds (a missing SEQUENCE is 0). */
	if ((seq_in < 0 ? 0 : seq_in) != (seq_st < 0 ? 0 : seq_st) ||
	    answer == ICAL_PARTSTAT_NONE || answer == ICAL_PARTSTAT_NEEDSACTION)
		return false;
	in_prop = ical_find_attendee(incoming, address);
	if (in_prop == NULL)
		return false;	/* no longer invited to this one */
	old_prop = ical_find_attendee(stored, address);
	for (unsigned int i = 0; i < G_N_ELEMENTS(itip_answer_params); i++) {
		icalparameter_kind kind = itip_answer_params[i];

		while (icalproperty_get_first_parameter(in_prop, kind) != NULL)
			icalproperty_remove_parameter_by_kind(in_prop, kind);
		for (param = icalproperty_get_first_parameter(old_prop, kind);
		     param != NULL;
		     param = icalproperty_get_next_parameter(old_prop, kind))
			icalproperty_add_parameter(in_prop, icalparameter_new_clone(param));
	}
	return true;
}
