#ifndef IMIP_ANNOTATOR_REQUEST_H
#define IMIP_ANNOTATOR_REQUEST_H

/* One annotation_callout request, from reading it to the last reply sent
   to an organiser.

   Cyrus waits for the answer while it holds the mailbox's and the user's
   locks, and gives up (storing the mail unchanged) if no byte came after
   10 seconds.  So: the answer is decided from the message file alone and
   written within cyrus_answer_timeout; the calendar work runs in a second
   thread and, if slower, goes on after an answer without changes; replies
   to organisers are sent only after the answer.  Nothing here touches
   Cyrus's mailboxes, only imip-agent's own store. */

#include <glib.h>

struct annotator;

/* Serve one request read from in_fd and answered on out_fd (the same
   socket in daemon mode; stdin and stdout in executable mode), both
   closed here once the answer is written.  `started` is
   g_get_monotonic_time() when the connection came in. */
void annotator_request_serve(const struct annotator *annotator, int in_fd,
			     int out_fd, gint64 started);

#endif
