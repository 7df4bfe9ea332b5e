#ifndef IMIP_CYRUS_MAILBOX_H
#define IMIP_CYRUS_MAILBOX_H

/* Which mailbox, user and calendar address a stored message belongs to.
   The callout names only the message file; Cyrus 3.6 keeps it in a
   directory named by the mailbox's unique id, next to the mailbox's
   cyrus.header, whose fourth line is a dlist with the type (T) and the
   internal name (N) of the mailbox (imap/mailbox.c
   mailbox_commit_header()). */

#include <stdbool.h>
#include <glib.h>

struct cyrus_mailbox {
	char type;	/* first letter of T: 'e' e-mail, 'c' calendar, ... */
	char *name;	/* internal name: [domain!]user.alice[.Folder...] */
};

/* Read the cyrus.header next to `message_path`.  Returns NULL with
   *error_r (caller frees) when it is missing or not a Cyrus 3.x header. */
struct cyrus_mailbox *cyrus_mailbox_of_message(const char *message_path,
					       char **error_r);
void cyrus_mailbox_free(struct cyrus_mailbox **mailbox);

/* A user's mailbox, from its internal name. */
struct cyrus_user_folder {
	char *userid;	/* "alice", or "john.doe" (^ decoded) */
	char *domain;	/* from "example.com!user...", else NULL */
	char *folder;	/* "INBOX", or "Work/Invites" below it */
};

/* Split an internal name.  `unixhierarchysep`: Cyrus stores a "." of a
   user or folder name as "^" (imapd.conf unixhierarchysep: yes).  false
   when the name is not a user's mailbox (shared folders, DELETED.*). */
bool cyrus_user_folder_parse(const char *name, bool unixhierarchysep,
			     struct cyrus_user_folder *out);
void cyrus_user_folder_clear(struct cyrus_user_folder *uf);

/* true if `folder` is named by one of `patterns` (imip.conf
   cyrus_folders: "INBOX" in any case, a folder path, or "*"). */
bool cyrus_folder_is_selected(const char *folder, const GPtrArray *patterns);

#endif
