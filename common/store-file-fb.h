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
#include <glib.h>

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

/* Which freebusy-other tables hold periods of a UID: the reverse index
   <user>/freebusy-other-uids/ (`dir`),

     <dir>/XX        one line per UID, "uid<TAB>other[<TAB>other...]"
                     (XX as in uids/XX)
     <dir>/version   "1": the index names every table holding each UID

   so that a message touches the tables of its UID only, however many
   parties the user knows.  The index names a table before the table
   holds the UID and stops naming it after it no longer does: after a
   crash it may name too many, never too few.  A store written before the
   index existed has no version file: store_file_fb_others_build() makes
   the index from the tables once. */

/* 1 and the others (char *) appended, or 0 when the index is not
   complete (no version file). */
int store_file_fb_others_of_uid(struct store_user *su, const char *dir,
				const char *uid, GPtrArray *others_r);
/* Write the whole index from the tables (others[i] at paths[i]), then
   the version file. */
int store_file_fb_others_build(struct store_user *su, const char *dir,
			       const GPtrArray *others, const GPtrArray *paths);
/* store_file_fb_table_replace_uid() and store_file_fb_table_write() of
   the freebusy-other table of `other` at `path`, keeping the index in
   step. */
int store_file_fb_other_replace_uid(struct store_user *su, const char *dir,
				    const char *path, const char *other,
				    const char *uid,
				    const struct fb_list *periods);
int store_file_fb_other_write(struct store_user *su, const char *dir,
			      const char *path, const char *other,
			      const struct fb_list *list);

#endif
