#ifndef IMIP_STORE_FILE_FB_H
#define IMIP_STORE_FILE_FB_H

/* The free/busy tables of the file backend (docs/store.md 3.3).  A table
   (freebusy, freebusy-offers, freebusy-other/<other>) is a directory:

     <table>/YYYY-MM    the periods overlapping that month (UTC), in the
                        line format of freebusy.h, sorted
     <table>/long       the periods overlapping more than 12 months
     <table>/uids/XX    which of those files hold periods of a UID
                        (XX: the first two hex digits of the UID's SHA-256)

   so that replacing the periods of one UID rewrites only its files, and a
   window read opens only the months it covers.  A period of several
   months is in each of their files; reads return it once.

   A table written by an earlier version is one file at <table>'s path:
   it is read as before, and the first write converts it (renamed to
   .<name>.v1 next to it while the directory is written, then removed;
   after a crash in between, reads use .<name>.v1 and the next write
   converts again).

   `path` is the table's path; `su` receives the errors.  Writes are
   atomic per file (atomic-file.h) and happen under the user's lock. */

#include <time.h>

struct store_user;
struct fb_list;

/* The periods overlapping [start, end) into `list` (cleared first). */
int store_file_fb_table_read_window(struct store_user *su, const char *path,
			      time_t start, time_t end, struct fb_list *list);
/* The periods of `uid` (NULL: those without a UID) into `list`. */
int store_file_fb_table_read_uid(struct store_user *su, const char *path,
			   const char *uid, struct fb_list *list);
/* Replace the periods of `uid` by `periods` (all of that UID).  1 if the
   table changed, 0 if it already held exactly those, -1 on error. */
int store_file_fb_table_replace_uid(struct store_user *su, const char *path,
			      const char *uid, const struct fb_list *periods);
/* Replace the whole table (rebuild); files whose content stays the same
   are not rewritten. */
int store_file_fb_table_write(struct store_user *su, const char *path,
			const struct fb_list *list);

#endif
