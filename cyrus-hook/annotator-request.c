/* One annotation_callout request (annotator-request.h). */

#include "annotator-request.h"
#include "annotator.h"
#include "callout-wire.h"
#include "cyrus-mailbox.h"

#include "imip.h"
#include "address.h"
#include "clock.h"
#include "config.h"
#include "mime-read.h"
#include "outcome.h"
#include "send.h"
#include "store.h"
#include "trigger.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

/* Whom a message is for, when it is to be processed at all. */
struct annotator_target {
	char *mailbox;		/* Cyrus's internal name, for the log */
	char *address;		/* the calendar address */
	enum imip_role role;
};

/* The calendar work, shared with the thread doing it. */
struct annotator_work {
	const struct annotator *annotator;
	struct annotator_target target;
	struct mime_message *msg;

	GMutex lock;
	GCond cond;
	bool done;			/* under lock */
	struct imip_result *result;	/* set before done */
};

static void annotator_target_clear(struct annotator_target *t)
{
	g_clear_pointer(&t->mailbox, g_free);
	g_clear_pointer(&t->address, g_free);
}

/* An absolute path without "." or ".." components: FILENAME comes from
   the socket, and the peer, though checked, must not be able to make us
   read outside the path it names. */
static bool annotator_path_is_plain(const char *path)
{
	char **parts;
	bool ok = true;

	if (!g_path_is_absolute(path))
		return false;
	parts = g_strsplit(path, "/", -1);
	for (char **p = parts; *p != NULL && ok; p++)
		ok = strcmp(*p, ".") != 0 && strcmp(*p, "..") != 0;
	g_strfreev(parts);
	return ok;
}

static bool annotator_is_resource(const struct annotator *a,
				  const char *address)
{
	const GPtrArray *resources = a->config->cyrus.resources;

	for (guint i = 0; i < resources->len; i++) {
		if (g_ascii_strcasecmp(g_ptr_array_index(resources, i),
				       address) == 0)
			return true;
	}
	return false;
}

/* Decide from the request and cyrus.header whether and for whom to
   process.  false with *why_r (static or NULL for "not ours, say
   nothing") when not. */
static bool annotator_find_target(const struct annotator *a,
				  const struct callout_request *req,
				  struct annotator_target *t,
				  const char **why_r, char **error_r)
{
	struct cyrus_mailbox *mailbox;
	struct cyrus_user_folder uf;
	const char *domain;
	char *raw;

	if (!annotator_path_is_plain(req->filename)) {
		*why_r = "FILENAME is not a plain absolute path";
		return false;
	}
	if (callout_request_has_flag(req, ANNOTATOR_FLAG)) {
		/* XRUNANNOTATOR, or an APPEND of a copy we flagged before:
		   the calendar has seen this message */
		*why_r = NULL;
		return false;
	}
	mailbox = cyrus_mailbox_of_message(req->filename, error_r);
	if (mailbox == NULL) {
		*why_r = "cannot identify the mailbox";
		return false;
	}
	t->mailbox = g_strdup(mailbox->name);
	/* calendar objects, scheduling Inbox copies, Sieve scripts, JMAP
	   stores: Cyrus 3.6 calls out for all of them */
	if (mailbox->type != 'e' ||
	    !cyrus_user_folder_parse(mailbox->name, a->unixhierarchysep, &uf)) {
		cyrus_mailbox_free(&mailbox);
		*why_r = NULL;
		return false;
	}
	cyrus_mailbox_free(&mailbox);
	if (!cyrus_folder_is_selected(uf.folder, a->config->cyrus.folders)) {
		cyrus_user_folder_clear(&uf);
		*why_r = NULL;
		return false;
	}
	domain = uf.domain != NULL ? uf.domain : a->default_domain;
	if (domain == NULL) {
		cyrus_user_folder_clear(&uf);
		*why_r = "no domain for the user: set cyrus_default_domain";
		return false;
	}
	raw = g_strconcat(uf.userid, "@", domain, NULL);
	t->address = address_normalize(raw);
	g_free(raw);
	cyrus_user_folder_clear(&uf);
	if (t->address == NULL) {
		*why_r = "the user name does not make a mail address";
		return false;
	}
	t->role = annotator_is_resource(a, t->address) ?
		IMIP_ROLE_RESOURCE : IMIP_ROLE_PERSON;
	return true;
}

/* The stored message, at most limit + 1 bytes (mime-read then reports
   the limit). */
static GBytes *annotator_read_message(const char *path, size_t limit,
				      char **error_r)
{
	size_t max = limit < G_MAXSIZE ? limit + 1 : limit;
	GByteArray *data;
	guint8 buf[65536];
	struct stat st;
	ssize_t n = 0;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*error_r = g_strdup_printf("%s: %s", path, fd < 0 ?
			g_strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	data = g_byte_array_new();
	while (data->len < max &&
	       (n = read(fd, buf, MIN(sizeof(buf), max - data->len))) > 0)
		g_byte_array_append(data, buf, (guint)n);
	close(fd);
	if (n < 0) {
		*error_r = g_strdup_printf("read(%s): %s", path,
					   g_strerror(errno));
		g_byte_array_unref(data);
		return NULL;
	}
	return g_byte_array_free_to_bytes(data);
}

/* --- the calendar work ---------------------------------------------------- */

static void annotator_library_log(void *context, enum imip_log_level level,
				  const char *message)
{
	static const int priorities[] = {
		[IMIP_LOG_DEBUG] = LOG_DEBUG, [IMIP_LOG_INFO] = LOG_INFO,
		[IMIP_LOG_WARNING] = LOG_WARNING, [IMIP_LOG_ERROR] = LOG_ERR,
	};

	(void)context;
	if (level != IMIP_LOG_DEBUG)
		annotator_log(priorities[level], "%s", message);
}

static gpointer annotator_work_run(gpointer data)
{
	struct annotator_work *w = data;
	const struct imip_config *config = w->annotator->config;
	const char *sender = w->msg->return_path;
	struct imip_result *result;
	struct imip_ctx ctx;
	char *error = NULL;
	bool trigger_failed;

	memset(&ctx, 0, sizeof(ctx));
	ctx.config = config;
	ctx.log = annotator_library_log;
	ctx.now = imip_clock_now();
	/* replies leave (or are queued) inside the processing, under the
	   user's lock, so that the answer's outcome says whether they did
	   (outbox.h); sendmail normally takes milliseconds of the
	   cyrus_answer_timeout */
	ctx.send = send_outgoing_func;
	ctx.send_context = (void *)config;
	result = trigger_check(&ctx, w->msg->raw, sender, w->target.address,
			       &trigger_failed);
	if (result == NULL) {
		/* a store that cannot be opened is an outcome (error) of
		   imip_process; the mail is stored by Cyrus regardless */
		if (store_open(config, &ctx.store, &error) < 0) {
			annotator_log(LOG_ERR, "%s", error);
			g_free(error);
		}
		result = imip_process(&ctx, w->msg, sender, w->target.address,
				      w->target.role);
		if (ctx.store != NULL)
			store_close(&ctx.store);
		if (trigger_failed)
			trigger_mark_failed(result);
	}
	g_mutex_lock(&w->lock);
	w->result = result;
	w->done = true;
	g_cond_signal(&w->cond);
	g_mutex_unlock(&w->lock);
	return NULL;
}

/* Wait for the work until the deadline: true when it finished. */
static bool annotator_work_wait(struct annotator_work *w, gint64 deadline)
{
	bool done;

	g_mutex_lock(&w->lock);
	while (!w->done && g_cond_wait_until(&w->cond, &w->lock, deadline))
		;
	done = w->done;
	g_mutex_unlock(&w->lock);
	return done;
}

/* --- the answer ----------------------------------------------------------- */

static GString *annotator_answer(const struct annotator *a,
				 const struct imip_result *result)
{
	struct callout_reply *reply = callout_reply_new();
	const char *outcome = imip_outcome_name(result->code);
	char *flag = g_strconcat(ANNOTATOR_FLAG_PREFIX, outcome, NULL);
	GString *out;

	callout_reply_add_flag(reply, ANNOTATOR_FLAG);
	callout_reply_add_flag(reply, flag);
	if (a->send_annotations) {
		callout_reply_add_annotation(reply, ANNOTATOR_ENTRY_OUTCOME,
					     outcome);
		callout_reply_add_annotation(reply, ANNOTATOR_ENTRY_REASON,
					     result->reason);
	}
	out = callout_reply_format(reply);
	callout_reply_free(&reply);
	g_free(flag);
	return out;
}

static void annotator_reply(int in_fd, int out_fd, const char *text,
			    gint64 deadline)
{
	/* Cyrus reads nothing more once it has the answer; a peer that
	   went away only costs us the write */
	if (callout_write_all(out_fd, text, strlen(text), deadline) < 0)
		annotator_log(LOG_WARNING, "cannot answer Cyrus: %s",
			      g_strerror(errno));
	close(out_fd);
	if (in_fd != out_fd)
		close(in_fd);
}

static void annotator_log_result(const struct annotator_target *t,
				 const struct imip_result *result,
				 gint64 answer_us, bool late)
{
	char *methods = imip_result_methods(result);
	char *uid = imip_result_first_uid(result);
	char *uid_text = imip_log_value(uid, false);
	char *reason = imip_log_value(result->reason, true);
	char *mailbox = imip_log_value(t->mailbox, false);

	annotator_log(result->code == IMIP_OUTCOME_ERROR ? LOG_ERR : LOG_INFO,
		      "mailbox=%s address=%s role=%s method=%s uid=%s "
		      "outcome=%s reason=%s answer=%lldms%s", mailbox,
		      t->address, t->role == IMIP_ROLE_RESOURCE ? "resource" :
		      "person", methods, uid_text,
		      imip_outcome_name(result->code), reason,
		      (long long)(answer_us / 1000),
		      late ? " (answered without changes: cyrus_answer_timeout "
		      "reached)" : "");
	g_free(methods);
	g_free(uid);
	g_free(uid_text);
	g_free(reason);
	g_free(mailbox);
}

/* Process (and send) with the answer deadline; answer; log. */
static void annotator_process(const struct annotator *a,
			      struct annotator_target *t,
			      struct mime_message *msg, int in_fd, int out_fd,
			      gint64 started, gint64 deadline)
{
	struct annotator_work w = {
		.annotator = a, .target = *t, .msg = msg,
	};
	GThread *thread;
	GString *answer;
	gint64 answered;
	bool in_time;

	g_mutex_init(&w.lock);
	g_cond_init(&w.cond);
	thread = g_thread_new("imip-process", annotator_work_run, &w);
	in_time = annotator_work_wait(&w, deadline);
	answer = in_time ? annotator_answer(a, w.result) :
		g_string_new(CALLOUT_REPLY_NO_CHANGE);
	annotator_reply(in_fd, out_fd, answer->str, deadline +
			G_USEC_PER_SEC);
	answered = g_get_monotonic_time();
	g_string_free(answer, TRUE);

	g_thread_join(thread);
	annotator_log_result(t, w.result, answered - started, !in_time);
	imip_result_free(&w.result);
	g_cond_clear(&w.cond);
	g_mutex_clear(&w.lock);
}

void annotator_request_serve(const struct annotator *a, int in_fd,
			     int out_fd, gint64 started)
{
	gint64 deadline = started +
		(gint64)a->config->cyrus.answer_timeout * G_USEC_PER_SEC;
	struct annotator_target target = { 0 };
	struct callout_request *req = NULL;
	struct mime_message *msg = NULL;
	const char *why = NULL;
	char *error = NULL;
	GByteArray *payload;
	GBytes *data = NULL;

	payload = callout_read_request(in_fd, deadline, CALLOUT_REQUEST_MAX,
				       &error);
	if (payload == NULL) {
		why = "unreadable request";
	} else {
		req = callout_request_decode(payload->data, payload->len, &why);
		g_byte_array_unref(payload);
	}
	if (req != NULL && annotator_find_target(a, req, &target, &why,
						 &error)) {
		data = annotator_read_message(req->filename,
					      a->config->limits.message_size,
					      &error);
		if (data == NULL)
			why = "cannot read the message";
	}
	if (data != NULL) {
		msg = mime_message_read_if_calendar(
			g_bytes_get_data(data, NULL), g_bytes_get_size(data),
			&a->config->limits);
		g_bytes_unref(data);
	}
	if (msg != NULL && (msg->calendar_parts->len > 0 ||
			    msg->problem != NULL)) {
		annotator_process(a, &target, msg, in_fd, out_fd, started,
				  deadline);
	} else {
		/* not ours (error NULL, why NULL) stays silent; anything
		   that went wrong is logged, and Cyrus stores the mail
		   unchanged either way */
		if (why != NULL)
			annotator_log(LOG_WARNING, "%s%s%s%s%s: answered "
				      "without changes", why,
				      req != NULL ? " for " : "",
				      req != NULL ? req->filename : "",
				      error != NULL ? ": " : "",
				      error != NULL ? error : "");
		annotator_reply(in_fd, out_fd, CALLOUT_REPLY_NO_CHANGE,
				deadline + G_USEC_PER_SEC);
	}
	g_free(error);
	mime_message_free(&msg);
	callout_request_free(&req);
	annotator_target_clear(&target);
}
