/*
 * NAME
 *	imip-cyrus-annotator 8
 * SUMMARY
 *	calendar processing for Cyrus IMAP through annotation_callout
 * SYNOPSIS
 *	imip-cyrus-annotator [-c FILE]
 *	imip-cyrus-annotator [-c FILE] --daemon [--socket PATH]
 * DESCRIPTION
 *	Without --daemon: one request on standard input, the answer on
 *	standard output (annotation_callout naming an executable; Cyrus
 *	runs it without arguments, so -c needs a wrapper script).  The
 *	process Cyrus started exits at once; a detached child answers and
 *	then sends the replies, because Cyrus waits for the program to end
 *	while it holds the user's locks.
 *
 *	--daemon: listen on cyrus_socket (or PATH) in the foreground.
 *
 *	What a request does: annotator-request.h.  imip-cyrus-annotator(8)
 *	is the manual.
 * DIAGNOSTICS
 *	Exit status: 0; 64 usage; 78 configuration error; 71 cannot listen.
 */

#include "annotator.h"
#include "annotator-daemon.h"
#include "annotator-request.h"

#include "config.h"
#include "mime-read.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define EX_USAGE_ 64
#define EX_CONFIG_ 78

static void annotator_usage(FILE *out)
{
	fputs("usage: imip-cyrus-annotator [-c FILE]   (one request on "
	      "standard input)\n"
	      "       imip-cyrus-annotator [-c FILE] --daemon [--socket "
	      "PATH]\n", out);
}

/* Executable mode: answer in a child of our own and return at once. */
static int annotator_run_once(const struct annotator *a)
{
	gint64 started = g_get_monotonic_time();
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		/* no child: answer here; the replies then delay Cyrus */
		annotator_log(LOG_WARNING, "fork: %s", g_strerror(errno));
		annotator_request_serve(a, STDIN_FILENO, STDOUT_FILENO,
					started);
		return 0;
	}
	if (pid == 0) {
		/* out of lmtpd's session and process group */
		(void)setsid();
		annotator_request_serve(a, STDIN_FILENO, STDOUT_FILENO,
					started);
		_exit(0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = IMIP_CONFIG_DEFAULT_PATH;
	const char *socket_path = NULL;
	struct annotator a;
	bool daemon = false;
	char *error = NULL;
	int c, status;

	/* the web server reads published free/busy through the group */
	umask(007);
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'd': daemon = true; break;
		case 's': socket_path = optarg; break;
		case 'h': annotator_usage(stdout); return 0;
		case 'V': puts("imip-cyrus-annotator " IMIP_VERSION); return 0;
		default: annotator_usage(stderr); return EX_USAGE_;
		}
	}
	if (optind != argc || (socket_path != NULL && !daemon)) {
		annotator_usage(stderr);
		return EX_USAGE_;
	}
	if (annotator_load(&a, config_path, &error) < 0) {
		annotator_log(LOG_ERR, "%s", error);
		g_free(error);
		if (!daemon) {
			/* Cyrus stores the mail unchanged */
			fputs("()\n", stdout);
		}
		return EX_CONFIG_;
	}
	annotator_log_open(a.config);
	annotator_prepare_store(&a);
	mime_init();
	if (daemon)
		status = annotator_daemon_run(&a, config_path, socket_path);
	else
		status = annotator_run_once(&a);
	annotator_unload(&a);
	return status;
}
