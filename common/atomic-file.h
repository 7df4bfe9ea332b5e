#ifndef IMIP_ATOMIC_FILE_H
#define IMIP_ATOMIC_FILE_H

/* Whole-file replacement that a crash cannot tear (reference
   imip-agent.md 5.7): temporary file ".tmp.XXXXXX" in the same directory,
   fsync, rename over the target, fsync of the directory.  Readers see the
   old content or the new, never a mixture.  Used by the store and the
   quota journal, so there is one implementation.

   The two fsyncs are what make the new content survive a machine crash
   (power loss, kernel panic); a killed process needs neither, the rename
   alone is atomic for every reader.  They are also most of what a
   message costs (two disk flushes per file), so data that is derived
   from other files and rebuilt from them, like Dovecot's indexes under
   mail_fsync = optimized, is written with ATOMIC_FILE_NO_SYNC. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The name pattern of the temporary file; it starts with '.', so directory
   listings of data (which skip dot files) never see it. */
#define ATOMIC_FILE_TMP_TEMPLATE ".tmp.XXXXXX"

enum atomic_file_sync {
	ATOMIC_FILE_SYNC,	/* durable once the call returns */
	ATOMIC_FILE_NO_SYNC,	/* atomic, durable when the kernel writes it */
};

/* Replace `path` with `len` bytes of `data`.  The file is created with
   `mode` minus the umask.  The directory must exist.  Returns 0, or -1
   and a newly allocated error naming the file. */
int atomic_file_write(const char *path, const char *data, size_t len,
		      mode_t mode, enum atomic_file_sync sync, char **error_r);

/* fsync a directory, making a rename or unlink in it durable.  Returns 0,
   or -1 and a newly allocated error. */
int atomic_file_sync_dir(const char *dir, char **error_r);

/* Remove the temporary files a writer killed between creating and
   renaming them left in `dir` (names of ATOMIC_FILE_TMP_TEMPLATE's form)
   and, with `recursive`, in its subdirectories (not following symbolic
   links, not entering names starting with '.').  Only safe while no
   writer can be using that directory: the caller holds the lock every
   writer of it takes.  A missing directory has none.  Adds the number
   removed to *removed_r; returns 0, or -1 and a newly allocated error. */
int atomic_file_remove_temporaries(const char *dir, bool recursive,
				   unsigned int *removed_r, char **error_r);

#endif
