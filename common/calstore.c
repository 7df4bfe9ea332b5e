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

int calstore_put(struct store_user *su, const char *uid, icalcomponent *comp,
		 enum store_state state, icalcomponent *tz_source,
		 const char **error_r)
{
	char *rid = ical_rid_of(comp);
	char *text = ical_component_to_text(comp, NULL, tz_source);
	int r = store_object_put(su, uid, rid, state, text, error_r);

	g_free(rid);
	g_free(text);
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
