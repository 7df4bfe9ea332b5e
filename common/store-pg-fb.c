/* The free/busy tables of the PostgreSQL store (store-pg.h): rows of
   busy_periods.  Skeleton; the lead fills it in. */

#include "store-pg.h"
#include "freebusy.h"

int store_pg_fb_read_window(struct store_user *su, enum store_fb_table table,
			    const char *other, time_t start, time_t end,
			    struct fb_list *list)
{
	(void)table; (void)other; (void)start; (void)end; (void)list;
	return store_user_set_error(su, "not yet");
}

int store_pg_fb_read_uid(struct store_user *su, enum store_fb_table table,
			 const char *other, const char *uid,
			 struct fb_list *list)
{
	(void)table; (void)other; (void)uid; (void)list;
	return store_user_set_error(su, "not yet");
}

int store_pg_fb_replace_uid(struct store_user *su, enum store_fb_table table,
			    const char *other, const char *uid,
			    const struct fb_list *periods)
{
	(void)table; (void)other; (void)uid; (void)periods;
	return store_user_set_error(su, "not yet");
}

int store_pg_fb_write(struct store_user *su, enum store_fb_table table,
		      const char *other, const struct fb_list *list)
{
	(void)table; (void)other; (void)list;
	return store_user_set_error(su, "not yet");
}

int store_pg_fb_list_others(struct store_user *su, GPtrArray *others_r)
{
	(void)others_r;
	return store_user_set_error(su, "not yet");
}

int store_pg_fb_others_of_uid(struct store_user *su, const char *uid,
			      GPtrArray *others_r)
{
	(void)uid; (void)others_r;
	return store_user_set_error(su, "not yet");
}
