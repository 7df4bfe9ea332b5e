/* The daemon mode (annotator-daemon.h). */

#include "annotator-daemon.h"
#include "annotator.h"
#include "annotator-request.h"

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

static volatile sig_atomic_t annotator_stop;
static volatile sig_atomic_t annotator_reload;
static volatile sig_atomic_t annotator_child_exited;

static void annotator_signal(int sig)
{
	if (sig == SIGHUP)
		annotator_reload = 1;
	else if (sig == SIGCHLD)
		annotator_child_exited = 1;
	else
		annotator_stop = 1;
}

/* The signals are blocked except inside ppoll(), so none is lost between
   looking at the flags and waiting. */
static void annotator_signals_setup(sigset_t *wait_mask)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = annotator_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	/* Cyrus may hang up before we answer: a write error, not death */
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, wait_mask);
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGINT);
	sigdelset(wait_mask, SIGHUP);
	sigdelset(wait_mask, SIGCHLD);
}

static void annotator_signals_reset(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	sigset_t none;

	for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Is something already answering on path?  Then it is not ours to
   remove. */
static bool annotator_socket_is_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

static int annotator_listen(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_umask;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		annotator_log(LOG_ERR, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			annotator_log(LOG_ERR, "%s exists and is not a socket",
				      path);
			return -1;
		}
		if (annotator_socket_is_live(&sun)) {
			annotator_log(LOG_ERR, "another process answers on %s",
				      path);
			return -1;
		}
		unlink(path);	/* left by a daemon that died */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		annotator_log(LOG_ERR, "socket: %s", g_strerror(errno));
		return -1;
	}
	/* 0600: only the Cyrus user (we run as it) and root may call */
	old_umask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		annotator_log(LOG_ERR, "cannot listen on %s: %s", path,
			      g_strerror(errno));
		umask(old_umask);
		close(fd);
		return -1;
	}
	umask(old_umask);
	return fd;
}

/* Only root and our own user may ask: a request names a file we then
   read with our rights. */
static bool annotator_peer_is_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		annotator_log(LOG_WARNING, "SO_PEERCRED: %s", g_strerror(errno));
		return false;
	}
	if (cred.uid == 0 || cred.uid == geteuid())
		return true;
	annotator_log(LOG_WARNING, "refused a request from uid %u (pid %d): "
		      "only root and uid %u may call", (unsigned)cred.uid,
		      (int)cred.pid, (unsigned)geteuid());
	return false;
}

static void annotator_reap(unsigned int *workers)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (*workers > 0)
			(*workers)--;
		if (WIFSIGNALED(status))
			annotator_log(LOG_ERR, "worker %d killed by signal %d",
				      (int)pid, WTERMSIG(status));
	}
}

static void annotator_spawn(const struct annotator *a, int listen_fd,
			    int conn, unsigned int *workers)
{
	gint64 started = g_get_monotonic_time();
	pid_t pid = fork();

	if (pid < 0) {
		/* Cyrus stores the mail unchanged when we hang up */
		annotator_log(LOG_ERR, "fork: %s", g_strerror(errno));
		close(conn);
		return;
	}
	if (pid == 0) {
		close(listen_fd);
		annotator_signals_reset();
		annotator_request_serve(a, conn, conn, started);
		_exit(0);
	}
	close(conn);
	(*workers)++;
}

static void annotator_reload_config(struct annotator *a,
				    const char *config_path)
{
	struct annotator fresh;
	char *error = NULL;

	if (annotator_load(&fresh, config_path, &error) < 0) {
		annotator_log(LOG_ERR, "SIGHUP: %s; keeping the settings in use",
			      error);
		g_free(error);
		return;
	}
	annotator_unload(a);
	*a = fresh;
	annotator_prepare_store(a);
	annotator_log(LOG_INFO, "SIGHUP: settings re-read");
}

int annotator_daemon_run(struct annotator *a, const char *config_path,
			 const char *socket_path)
{
	char *path = g_strdup(socket_path != NULL ? socket_path :
			      a->config->cyrus.socket_path);
	unsigned int workers = 0;
	sigset_t wait_mask;
	int fd;

	annotator_signals_setup(&wait_mask);
	fd = annotator_listen(path);
	if (fd < 0) {
		g_free(path);
		return ANNOTATOR_EXIT_CANNOT_LISTEN;
	}
	annotator_log(LOG_INFO, "listening on %s (at most %u workers)", path,
		      a->config->cyrus.max_workers);
	while (!annotator_stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		bool room = workers < a->config->cyrus.max_workers;
		int ret;

		/* when full, wait for a worker to end (SIGCHLD) */
		ret = ppoll(&pfd, room ? 1 : 0, NULL, &wait_mask);
		if (annotator_child_exited) {
			annotator_child_exited = 0;
			annotator_reap(&workers);
		}
		if (annotator_reload) {
			annotator_reload = 0;
			annotator_reload_config(a, config_path);
		}
		if (ret > 0 && (pfd.revents & POLLIN) != 0 && !annotator_stop) {
			int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

			if (conn < 0)
				continue;
			if (!annotator_peer_is_allowed(conn))
				close(conn);
			else
				annotator_spawn(a, fd, conn, &workers);
		}
	}
	close(fd);
	unlink(path);
	annotator_log(LOG_INFO, "stopping: waiting for %u workers", workers);
	while (workers > 0 && waitpid(-1, NULL, 0) > 0)
		workers--;
	g_free(path);
	return 0;
}
