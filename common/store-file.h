#ifndef IMIP_STORE_FILE_H
#define IMIP_STORE_FILE_H

/* What the parts of the file backend (store-file.c, store-file-fb.c)
   share beyond the backend interface of store-private.h, and the
   published file that the PostgreSQL backend writes too. */

#include "atomic-file.h"

#include <glib.h>

struct store_user;

/* What a file holds decides whether its write waits for the disk. */
enum store_file_data {
	STORE_FILE_TRUTH,	/* cannot be rebuilt: always synced */
	STORE_FILE_DERIVED,	/* rebuilt from the truth: store_fsync */
};

/* How to write a file of that kind in this store (docs/store.md 6). */
enum atomic_file_sync store_file_sync_for(struct store_user *su,
					  enum store_file_data kind);

/* The names in `dir` that do not start with '.' (char *, appended); a
   missing directory has none.  0, or -1 with the session's error. */
int store_file_list_dir(struct store_user *su, const char *dir,
			GPtrArray *names);

/* Write static_dir/<user>/freebusy (docs/store.md 5), or remove it when
   text is NULL (a missing file is no error).  `user` is the normalised
   address.  0, or -1 with *error_r (g_free it). */
int store_file_publish(const char *static_dir, const char *user,
		       const char *text, enum atomic_file_sync sync,
		       char **error_r);

#endif
