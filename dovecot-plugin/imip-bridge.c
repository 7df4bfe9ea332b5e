/* The Dovecot plugins' door into libimip (imip-bridge.h).  This is the one
   file of dovecot-plugin/ that includes GLib and libimip headers and none of
   Dovecot's. */

#include "imip-bridge.h"

#include "imip.h"
#include "clock.h"
#include "config.h"
#include "mime-read.h"
#include "outcome.h"
#include "store.h"

#include <string.h>
#include <sys/stat.h>

struct imip_bridge {
	struct imip_config *config;
	struct store *store;
	int refcount;
	/* the file as it was when loaded */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

/* config path -> the newest bridge of that file (holding one reference) */
static GHashTable *imip_bridge_cache;

struct imip_bridge_result {
	struct imip_result *result;
	char *methods;
	char *uid;
	bool is_calendar;
};

struct imip_bridge_log {
	imip_bridge_log_func_t *func;
	void *context;
};

struct imip_bridge_send {
	imip_bridge_send_func_t *func;
	void *context;
};

static int imip_bridge_load(const char *path, struct imip_bridge **bridge_r,
			    char **error_r)
{
	struct imip_bridge *bridge = g_new0(struct imip_bridge, 1);
	char *error = NULL;

	*bridge_r = NULL;
	bridge->refcount = 1;
	if (imip_config_load(path, &bridge->config, &error) < 0 ||
	    store_open(bridge->config, &bridge->store, &error) < 0) {
		*error_r = error;
		imip_bridge_unref(&bridge);
		return -1;
	}
	mime_init();
	*bridge_r = bridge;
	return 0;
}

static bool imip_bridge_is_current(const struct imip_bridge *bridge,
				   const struct stat *st)
{
	return bridge->dev == st->st_dev && bridge->ino == st->st_ino &&
	       bridge->size == st->st_size &&
	       bridge->mtime.tv_sec == st->st_mtim.tv_sec &&
	       bridge->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       bridge->ctime.tv_sec == st->st_ctim.tv_sec &&
	       bridge->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static void imip_bridge_cache_value_free(void *bridge)
{
	struct imip_bridge *b = bridge;

	imip_bridge_unref(&b);
}

int imip_bridge_get(const char *config_path, struct imip_bridge **bridge_r,
		    char **error_r)
{
	const char *path = config_path != NULL ? config_path :
		IMIP_CONFIG_DEFAULT_PATH;
	struct imip_bridge *bridge;
	struct stat st;

	if (imip_bridge_cache == NULL)
		imip_bridge_cache = g_hash_table_new_full(
			g_str_hash, g_str_equal, g_free,
			imip_bridge_cache_value_free);
	/* stat first: a file replaced while it loads is seen as changed
	   at the next delivery, never the other way round */
	if (stat(path, &st) < 0) {
		/* let the loader say what is wrong with it */
		g_hash_table_remove(imip_bridge_cache, path);
		return imip_bridge_load(path, bridge_r, error_r);
	}
	bridge = g_hash_table_lookup(imip_bridge_cache, path);
	if (bridge == NULL || !imip_bridge_is_current(bridge, &st)) {
		if (imip_bridge_load(path, &bridge, error_r) < 0) {
			g_hash_table_remove(imip_bridge_cache, path);
			return -1;
		}
		bridge->dev = st.st_dev;
		bridge->ino = st.st_ino;
		bridge->size = st.st_size;
		bridge->mtime = st.st_mtim;
		bridge->ctime = st.st_ctim;
		g_hash_table_replace(imip_bridge_cache, g_strdup(path), bridge);
	}
	bridge->refcount++;
	*bridge_r = bridge;
	return 0;
}

void imip_bridge_unref(struct imip_bridge **bridge_p)
{
	struct imip_bridge *bridge = *bridge_p;

	if (bridge == NULL)
		return;
	*bridge_p = NULL;
	if (--bridge->refcount > 0)
		return;
	if (bridge->store != NULL)
		store_close(&bridge->store);
	imip_config_free(&bridge->config);
	g_free(bridge);
}

void imip_bridge_cache_clear(void)
{
	if (imip_bridge_cache != NULL)
		g_hash_table_destroy(imip_bridge_cache);
	imip_bridge_cache = NULL;
}

bool imip_bridge_line_names_calendar(const unsigned char *line, size_t len,
				     bool *in_field)
{
	return mime_line_names_calendar(line, len, in_field);
}

const char *imip_bridge_calendar_sender(const struct imip_bridge *bridge)
{
	return bridge->config->calendar_sender;
}

size_t imip_bridge_message_limit(const struct imip_bridge *bridge)
{
	return bridge->config->limits.message_size;
}

static void imip_bridge_library_log(void *context, enum imip_log_level level,
				    const char *message)
{
	const struct imip_bridge_log *log = context;
	static const enum imip_bridge_log_level levels[] = {
		[IMIP_LOG_DEBUG] = IMIP_BRIDGE_LOG_DEBUG,
		[IMIP_LOG_INFO] = IMIP_BRIDGE_LOG_INFO,
		[IMIP_LOG_WARNING] = IMIP_BRIDGE_LOG_WARNING,
		[IMIP_LOG_ERROR] = IMIP_BRIDGE_LOG_ERROR,
	};

	if (log->func != NULL)
		log->func(log->context, levels[level], message);
}

/* The library's imip_send_func_t over the plugin's sending function. */
static enum imip_send_status
imip_bridge_library_send(void *context, const struct imip_outgoing *out,
			 char **error_r)
{
	const struct imip_bridge_send *send = context;
	const char *error = NULL;
	gsize size;
	const void *data = g_bytes_get_data(out->data, &size);
	int ret = send->func(send->context, out->envelope_from,
			     out->recipient, data, size, &error);

	if (ret > 0)
		return IMIP_SEND_OK;
	*error_r = g_strdup(error != NULL ? error : "unknown error");
	return ret < 0 ? IMIP_SEND_TEMPFAIL : IMIP_SEND_PERMFAIL;
}

/* The summary of the parts for a log line: methods once each, first UID. */
static void imip_bridge_describe(struct imip_bridge_result *r)
{
	r->methods = imip_result_methods(r->result);
	r->uid = imip_result_first_uid(r->result);
}

static enum imip_role imip_bridge_role(const char *role)
{
	return g_strcmp0(role, "resource") == 0 ? IMIP_ROLE_RESOURCE :
		IMIP_ROLE_PERSON;
}

struct imip_bridge_result *
imip_bridge_process(struct imip_bridge *bridge, const void *data, size_t size,
		    const char *envelope_sender, const char *user,
		    const char *role, unsigned int local_port,
		    const struct imip_bridge_options *options,
		    imip_bridge_log_func_t *log, void *log_context,
		    imip_bridge_send_func_t *send, void *send_context)
{
	struct imip_bridge_result *r = g_new0(struct imip_bridge_result, 1);
	struct imip_bridge_log logger = { log, log_context };
	struct imip_bridge_send sender = { send, send_context };
	struct imip_options o;
	struct imip_ctx ctx;
	struct mime_message *msg;

	memset(&ctx, 0, sizeof(ctx));
	ctx.config = bridge->config;
	ctx.store = bridge->store;
	ctx.log = imip_bridge_library_log;
	ctx.log_context = &logger;
	ctx.now = imip_clock_now();
	ctx.local_port = local_port;
	if (send != NULL) {
		ctx.send = imip_bridge_library_send;
		ctx.send_context = &sender;
	}
	if (options != NULL) {
		memset(&o, 0, sizeof(o));
		o.allow_public = options->allow_public;
		o.invites_only = options->invites_only;
		o.updates_only = options->updates_only;
		o.delete_cancelled = options->delete_cancelled;
		o.addresses = options->addresses;
		o.organizers = options->organizers;
	}
	msg = mime_message_read_if_calendar(data, size,
					    &bridge->config->limits);
	if (msg == NULL) {
		r->result = imip_process(&ctx, NULL, envelope_sender, user,
					 imip_bridge_role(role));
	} else {
		r->is_calendar = msg->calendar_parts->len > 0 || msg->problem != NULL;
		r->result = imip_process_with(&ctx, msg, envelope_sender, user,
					      imip_bridge_role(role),
					      options != NULL ? &o : NULL);
		mime_message_free(&msg);
	}
	imip_bridge_describe(r);
	return r;
}

const char *imip_bridge_result_outcome(const struct imip_bridge_result *r)
{
	return imip_outcome_name(r->result->code);
}

const char *imip_bridge_result_reason(const struct imip_bridge_result *r)
{
	return r->result->reason != NULL ? r->result->reason : "";
}

const char *imip_bridge_result_methods(const struct imip_bridge_result *r)
{
	return r->methods;
}

const char *imip_bridge_result_uid(const struct imip_bridge_result *r)
{
	return r->uid;
}

bool imip_bridge_result_is_calendar(const struct imip_bridge_result *r)
{
	return r->is_calendar;
}

unsigned int imip_bridge_result_outgoing_count(const struct imip_bridge_result *r)
{
	return r->result->outgoing->len;
}

void imip_bridge_result_outgoing(const struct imip_bridge_result *r,
				 unsigned int i, const char **from_r,
				 const char **rcpt_r, const void **data_r,
				 size_t *size_r)
{
	const struct imip_outgoing *out = g_ptr_array_index(r->result->outgoing, i);
	gsize size;

	*from_r = out->envelope_from;
	*rcpt_r = out->recipient;
	*data_r = g_bytes_get_data(out->data, &size);
	*size_r = size;
}

unsigned int imip_bridge_result_mailbox_count(const struct imip_bridge_result *r)
{
	return r->result->mailbox->len;
}

void imip_bridge_result_mailbox(const struct imip_bridge_result *r,
				unsigned int i, const void **data_r,
				size_t *size_r)
{
	GBytes *message = g_ptr_array_index(r->result->mailbox, i);
	gsize size;

	*data_r = g_bytes_get_data(message, &size);
	*size_r = size;
}

void imip_bridge_result_free(struct imip_bridge_result **r_p)
{
	struct imip_bridge_result *r = *r_p;

	if (r == NULL)
		return;
	*r_p = NULL;
	imip_result_free(&r->result);
	g_free(r->methods);
	g_free(r->uid);
	g_free(r);
}

void imip_bridge_free_string(char *s)
{
	g_free(s);
}
