#ifndef IMIP_ANNOTATOR_DAEMON_H
#define IMIP_ANNOTATOR_DAEMON_H

/* The daemon mode: a UNIX stream socket Cyrus connects to once per
   message (annotation_callout naming a socket).  Several lmtpd, imapd
   and httpd processes call at once, so each connection gets its own
   worker process, at most cyrus_max_workers at a time; more wait in the
   listen queue.  A worker is a process, not a thread: a message that
   crashes a library takes down one answer (Cyrus then stores the mail
   unchanged), never the daemon. */

struct annotator;

#define ANNOTATOR_EXIT_CANNOT_LISTEN 71	/* EX_OSERR */

/* Listen on `socket_path` (NULL: cyrus_socket) until SIGTERM or SIGINT.
   SIGHUP re-reads `config_path` (a broken file keeps the old settings).
   Returns the exit status. */
int annotator_daemon_run(struct annotator *annotator, const char *config_path,
			 const char *socket_path);

#endif
