/* Calendar objects in the store: see calstore.h. */

#include "calstore.h"
#include "ical-object.h"

#include <string.h>
#include <glib.h>

static int calstore_load_rids(struct store_user *su, const char *uid,
			      enum store_state state, GPtrArray *texts,
			      const char **error_r)
{
	GPtrArray *rids = g_ptr_array_new_with_free_func(g_free);
	int ret = 0;

	if (store_object_list_rids(su, uid, state, rids, error_r) < 0) {
		g_ptr_array_free(rids, TRUE);
		return -1;
	}
	for (unsigned int i = 0; i < rids->len && ret == 0; i++) {
		enum store_state got;
		char *text = NULL;
		int r = store_object_get(su, uid, g_ptr_array_index(rids, i),
					 &got, &text, error_r);
		if (r < 0)
			ret = -1;
		else if (r > 0)
			g_ptr_array_add(texts, text);
	}
	g_ptr_array_free(rids, TRUE);
	return ret;
}

int calstore_load(struct store_user *su, const char *uid,
		  struct ical_object **obj_r, const char **error_r)
{
	GPtrArray *texts = g_ptr_array_new_with_free_func(g_free);
	enum store_state state;
	char *master = NULL;
	int r;

	*obj_r = NULL;
	r = store_object_get(su, uid, NULL, &state, &master, error_r);
	if (r < 0 ||
	    calstore_load_rids(su, uid, STORE_STATE_ACTIVE, texts, error_r) < 0 ||
	    calstore_load_rids(su, uid, STORE_STATE_CANCELLED, texts, error_r) < 0) {
		g_free(master);
		g_ptr_array_free(texts, TRUE);
		return -1;
	}
	if (master != NULL || texts->len > 0)
		*obj_r = ical_object_from_texts(master, texts);
	g_free(master);
	g_ptr_array_free(texts, TRUE);
	return *obj_r != NULL ? 1 : 0;
}

int calstore_state(struct store_user *su, const char *uid, const char *rid,
		   enum store_state *state_r, const char **error_r)
{
	char *text = NULL;
	int r = store_object_get(su, uid, rid, state_r, &text, error_r);

	g_free(text);
	return r;
}

bool calstore_is_awaiting(icalcomponent *comp)
{
	icalproperty *prop;

	for (prop = icalcomponent_get_first_property(comp, ICAL_X_PROPERTY);
	     prop != NULL;
	     prop = icalcomponent_get_next_property(comp, ICAL_X_PROPERTY)) {
		const char *name = icalproperty_get_x_name(prop);

		if (name != NULL &&
		    g_ascii_strcasecmp(name, CALSTORE_AWAITING_PROPERTY) == 0)
			return true;
	}
	return false;
}

static void calstore_remove_mark(icalcomponent *comp)
{
	icalproperty *prop, *next;

	for (prop = icalcomponent_get_first_property(comp, ICAL_X_PROPERTY);
	     prop != NULL; prop = next) {
		const char *name = icalproperty_get_x_name(prop);

		next = icalcomponent_get_next_property(comp, ICAL_X_PROPERTY);
		if (name != NULL &&
		    g_ascii_strcasecmp(name, CALSTORE_AWAITING_PROPERTY) == 0) {
			icalcomponent_remove_property(comp, prop);
			icalproperty_free(prop);
		}
	}
}

/* The text stored for comp: as it is when it already has the wanted
   mark state (the usual case, no copy), else a copy with the mark set or
   removed. */
static char *calstore_text(icalcomponent *comp, icalcomponent *tz_source,
			   bool awaiting)
{
	icalcomponent *copy;
	icalproperty *mark;
	char *text;

	if (tz_source == NULL)
		tz_source = icalcomponent_get_parent(comp);
	if (!awaiting && !calstore_is_awaiting(comp))
		return ical_component_to_text(comp, NULL, tz_source);
	copy = icalcomponent_new_clone(comp);
	calstore_remove_mark(copy);
	if (awaiting) {
		mark = icalproperty_new_x("PENDING");
		icalproperty_set_x_name(mark, CALSTORE_AWAITING_PROPERTY);
		icalcomponent_add_property(copy, mark);
	}
	text = ical_component_to_text(copy, NULL, tz_source);
	icalcomponent_free(copy);
	return text;
}

int calstore_put_awaiting(struct store_user *su, const char *uid,
			  icalcomponent *comp, enum store_state state,
			  icalcomponent *tz_source, bool awaiting,
			  const char **error_r)
{
	/* the rid of comp where it is: its TZID resolves in its calendar */
	char *rid = ical_rid_of(comp);
	char *text = calstore_text(comp, tz_source, awaiting);
	int r = store_object_put(su, uid, rid, state, text, error_r);

	g_free(rid);
	g_free(text);
	return r;
}

int calstore_put(struct store_user *su, const char *uid, icalcomponent *comp,
		 enum store_state state, icalcomponent *tz_source,
		 const char **error_r)
{
	return calstore_put_awaiting(su, uid, comp, state, tz_source, false,
				     error_r);
}

int calstore_clear_awaiting(struct store_user *su, const char *uid,
			    const char *rid, const char **error_r)
{
	struct ical_object *obj = NULL;
	icalcomponent *comp = NULL;
	enum store_state state;
	char *text = NULL;
	int r = store_object_get(su, uid, rid, &state, &text, error_r);

	/* most answers find no mark: no parse for them */
	if (r > 0 && state == STORE_STATE_ACTIVE &&
	    strstr(text, CALSTORE_AWAITING_PROPERTY) != NULL)
		obj = ical_object_from_texts(text, NULL);
	g_free(text);
	if (r < 0)
		return -1;
	if (obj != NULL)
		comp = obj->master != NULL ? obj->master :
			obj->overrides->len > 0 ?
			g_ptr_array_index(obj->overrides, 0) : NULL;
	r = 0;
	if (comp != NULL && calstore_is_awaiting(comp))
		r = calstore_put(su, uid, comp, STORE_STATE_ACTIVE, obj->vcal,
				 error_r) < 0 ? -1 : 1;
	if (obj != NULL)
		ical_object_free(obj);
	return r;
}

bool calstore_is_endless(const struct ical_object *obj)
{
	icalproperty *prop;

	if (obj->master == NULL)
		return false;
	for (prop = icalcomponent_get_first_property(obj->master, ICAL_RRULE_PROPERTY);
	     prop != NULL;
	     prop = icalcomponent_get_next_property(obj->master, ICAL_RRULE_PROPERTY)) {
		struct icalrecurrencetype rule = icalproperty_get_rrule(prop);

		if (rule.count == 0 && icaltime_is_null_time(rule.until))
			return true;
	}
	return false;
}
