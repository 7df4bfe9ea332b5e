/* The per-user outbox (outbox.h, docs/store.md 3.4).

   An entry is a short header block, one "key value" line per field
   (values escaped like the fields of the request list: store-name.h),
   an empty line, then the message exactly as composed:

	from calendar@example.com
	to paul.boddie@example.com
	queued 20141120T120000Z
	attempts 1
	last-attempt 20141120T120000Z
	error /usr/sbin/sendmail exited with status 75

	From: calendar@example.com
	...

   Unknown keys are skipped, so a later version may add some. */

#include "outbox.h"

#include "clock.h"
#include "store-name.h"

#include <stdlib.h>
#include <string.h>

#define OUTBOX_KEY_FROM "from"
#define OUTBOX_KEY_TO "to"
#define OUTBOX_KEY_QUEUED "queued"
#define OUTBOX_KEY_ATTEMPTS "attempts"
#define OUTBOX_KEY_LAST_ATTEMPT "last-attempt"
#define OUTBOX_KEY_ERROR "error"

char *outbox_entry_name(const char *key, unsigned int index)
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	char number[16];
	char *name;

	g_snprintf(number, sizeof(number), "%u", index);
	g_checksum_update(sum, (const guchar *)key, (gssize)strlen(key));
	g_checksum_update(sum, (const guchar *)"", 1);
	g_checksum_update(sum, (const guchar *)number, (gssize)strlen(number));
	name = g_strdup(g_checksum_get_string(sum));
	g_checksum_free(sum);
	return name;
}

void outbox_entry_free(struct outbox_entry *entry)
{
	if (entry == NULL)
		return;
	g_free(entry->name);
	g_free(entry->envelope_from);
	g_free(entry->recipient);
	g_free(entry->last_error);
	if (entry->data != NULL)
		g_bytes_unref(entry->data);
	g_free(entry);
}

void outbox_report_free(struct outbox_report *report)
{
	if (report == NULL)
		return;
	g_free(report->name);
	g_free(report->recipient);
	g_free(report->error);
	g_free(report);
}

/* --- the stored form ----------------------------------------------------- */

static void outbox_field(GString *out, const char *key, const char *value)
{
	g_string_append(out, key);
	g_string_append_c(out, ' ');
	store_name_field_append(out, value);
	g_string_append_c(out, '\n');
}

static void outbox_time_field(GString *out, const char *key, time_t t)
{
	char stamp[17];

	outbox_field(out, key, t == 0 ? NULL : imip_clock_format_utc(t, stamp));
}

GString *outbox_entry_format(const struct outbox_entry *entry)
{
	GString *out = g_string_new(NULL);
	char attempts[16];
	gsize len = 0;
	const char *data = g_bytes_get_data(entry->data, &len);

	g_snprintf(attempts, sizeof(attempts), "%u", entry->attempts);
	outbox_field(out, OUTBOX_KEY_FROM, entry->envelope_from);
	outbox_field(out, OUTBOX_KEY_TO, entry->recipient);
	outbox_time_field(out, OUTBOX_KEY_QUEUED, entry->queued);
	outbox_field(out, OUTBOX_KEY_ATTEMPTS, attempts);
	outbox_time_field(out, OUTBOX_KEY_LAST_ATTEMPT, entry->last_attempt);
	outbox_field(out, OUTBOX_KEY_ERROR, entry->last_error);
	g_string_append_c(out, '\n');
	g_string_append_len(out, data, (gssize)len);
	return out;
}

/* One "key value" header line into the entry; false if it is damaged. */
static bool outbox_parse_field(struct outbox_entry *e, const char *line)
{
	const char *space = strchr(line, ' ');
	char *key, *value;
	bool ok = true;

	if (space == NULL)
		return false;
	key = g_strndup(line, (gsize)(space - line));
	value = store_name_field_decode(space + 1, true, &ok);
	if (!ok) {
		g_free(key);
		return false;
	}
	if (strcmp(key, OUTBOX_KEY_FROM) == 0) {
		g_free(e->envelope_from);
		e->envelope_from = g_strdup(value != NULL ? value : "");
	} else if (strcmp(key, OUTBOX_KEY_TO) == 0) {
		g_free(e->recipient);
		e->recipient = g_strdup(value);
	} else if (strcmp(key, OUTBOX_KEY_QUEUED) == 0) {
		ok = value != NULL && imip_clock_parse_utc(value, &e->queued);
	} else if (strcmp(key, OUTBOX_KEY_ATTEMPTS) == 0) {
		guint64 n = 0;

		ok = value != NULL && g_ascii_string_to_unsigned(
			value, 10, 0, G_MAXUINT, &n, NULL);
		e->attempts = (unsigned int)n;
	} else if (strcmp(key, OUTBOX_KEY_LAST_ATTEMPT) == 0) {
		ok = value == NULL ||
			imip_clock_parse_utc(value, &e->last_attempt);
	} else if (strcmp(key, OUTBOX_KEY_ERROR) == 0) {
		g_free(e->last_error);
		e->last_error = g_strdup(value);
	}
	g_free(key);
	g_free(value);
	return ok;
}

struct outbox_entry *outbox_entry_parse(const char *name, const char *text,
					size_t len, const char **error_r)
{
	struct outbox_entry *e = g_new0(struct outbox_entry, 1);
	const char *p = text, *end = text + len;
	bool ok = true;

	e->name = g_strdup(name);
	while (ok && p < end && *p != '\n') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line;

		if (nl == NULL) {
			ok = false;
			break;
		}
		line = g_strndup(p, (gsize)(nl - p));
		ok = outbox_parse_field(e, line);
		g_free(line);
		p = nl + 1;
	}
	if (!ok || p >= end || e->recipient == NULL ||
	    e->envelope_from == NULL || e->queued == 0) {
		*error_r = "damaged outbox entry";
		outbox_entry_free(e);
		return NULL;
	}
	p++;	/* the empty line */
	e->data = g_bytes_new(p, (gsize)(end - p));
	return e;
}

/* --- queueing ------------------------------------------------------------ */

static int outbox_put(struct store_user *su, enum store_outbox_queue queue,
		      const struct outbox_entry *e, const char **error_r)
{
	GString *text = outbox_entry_format(e);
	int ret = store_outbox_put(su, queue, e->name, text->str, text->len,
				   error_r);

	g_string_free(text, TRUE);
	return ret;
}

int outbox_queue(struct store_user *su, const char *name,
		 const struct imip_outgoing *out, time_t now,
		 const char **error_r)
{
	struct outbox_entry e = {
		.name = (char *)name,
		.envelope_from = out->envelope_from != NULL ?
			out->envelope_from : (char *)"",
		.recipient = out->recipient,
		.queued = now,
		.data = out->data,
	};

	if (out->recipient == NULL || out->data == NULL) {
		*error_r = "no reply to queue";
		return -1;
	}
	return outbox_put(su, STORE_OUTBOX_QUEUED, &e, error_r);
}

/* --- reading ------------------------------------------------------------- */

/* 1 and the entry; 0 if it went away; -1 store error.  A damaged entry
   gives 1 and NULL with *damage_r set. */
static int outbox_read(struct store_user *su, enum store_outbox_queue queue,
		       const char *name, struct outbox_entry **entry_r,
		       const char **damage_r, const char **error_r)
{
	char *text = NULL;
	size_t len = 0;
	int ret = store_outbox_get(su, queue, name, &text, &len, error_r);

	*entry_r = NULL;
	*damage_r = NULL;
	if (ret > 0)
		*entry_r = outbox_entry_parse(name, text, len, damage_r);
	g_free(text);
	return ret;
}

static gint outbox_entry_compare(gconstpointer a, gconstpointer b)
{
	const struct outbox_entry *x = *(struct outbox_entry *const *)a;
	const struct outbox_entry *y = *(struct outbox_entry *const *)b;

	if (x->queued != y->queued)
		return x->queued < y->queued ? -1 : 1;
	return strcmp(x->name, y->name);
}

int outbox_list(struct store_user *su, enum store_outbox_queue queue,
		GPtrArray *entries_r, const char **error_r)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	guint start = entries_r->len;
	int ret = store_outbox_list(su, queue, names, error_r);

	for (guint i = 0; ret >= 0 && i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		struct outbox_entry *e;
		const char *damage;
		int r = outbox_read(su, queue, name, &e, &damage, error_r);

		if (r < 0) {
			ret = -1;
		} else if (r > 0 && e == NULL) {
			e = g_new0(struct outbox_entry, 1);
			e->name = g_strdup(name);
			e->last_error = g_strdup(damage);
		}
		if (r > 0)
			g_ptr_array_add(entries_r, e);
	}
	g_ptr_array_free(names, TRUE);
	if (entries_r->len > start)
		qsort(entries_r->pdata + start, entries_r->len - start,
		      sizeof(gpointer), outbox_entry_compare);
	return ret < 0 ? -1 : 0;
}

/* --- sending ------------------------------------------------------------- */

int outbox_retry(struct store_user *su, const char *name, time_t now,
		 const char **error_r)
{
	struct outbox_entry *e;
	const char *damage;
	int ret = outbox_read(su, STORE_OUTBOX_FAILED, name, &e, &damage,
			      error_r);

	if (ret <= 0)
		return ret;
	if (e == NULL) {
		*error_r = damage;
		return -1;
	}
	e->queued = now;
	e->attempts = 0;
	e->last_attempt = 0;
	g_clear_pointer(&e->last_error, g_free);
	ret = outbox_put(su, STORE_OUTBOX_QUEUED, e, error_r);
	if (ret == 0)
		ret = store_outbox_remove(su, STORE_OUTBOX_FAILED, name,
					  error_r) < 0 ? -1 : 1;
	outbox_entry_free(e);
	return ret;
}

static struct outbox_report *outbox_report_new(GPtrArray *reports,
					       const char *name,
					       const struct outbox_entry *e,
					       enum outbox_fate fate,
					       const char *error)
{
	struct outbox_report *r = g_new0(struct outbox_report, 1);

	r->name = g_strdup(name);
	r->recipient = e != NULL ? g_strdup(e->recipient) : NULL;
	r->queued = e != NULL ? e->queued : 0;
	r->fate = fate;
	r->error = g_strdup(error);
	g_ptr_array_add(reports, r);
	return r;
}

/* Given up: into failed/ first, then out of the queue, so that a crash
   in between leaves it in both places (tried once more, then moved
   again), never in neither. */
static int outbox_give_up(struct store_user *su, const struct outbox_entry *e,
			  const char **error_r)
{
	if (outbox_put(su, STORE_OUTBOX_FAILED, e, error_r) < 0)
		return -1;
	return store_outbox_remove(su, STORE_OUTBOX_QUEUED, e->name,
				   error_r) < 0 ? -1 : 0;
}

/* A damaged entry cannot be sent; it is kept, byte for byte, for an
   administrator to look at. */
static int outbox_set_aside(struct store_user *su, const char *name,
			    const char **error_r)
{
	char *text = NULL;
	size_t len = 0;
	int ret = store_outbox_get(su, STORE_OUTBOX_QUEUED, name, &text, &len,
				   error_r);

	if (ret > 0)
		ret = store_outbox_put(su, STORE_OUTBOX_FAILED, name, text,
				       len, error_r);
	g_free(text);
	if (ret < 0)
		return -1;
	return store_outbox_remove(su, STORE_OUTBOX_QUEUED, name,
				   error_r) < 0 ? -1 : 0;
}

static bool outbox_is_expired(const struct outbox_entry *e,
			      const struct outbox_sender *sender)
{
	return sender->now - e->queued >= (time_t)sender->lifetime;
}

/* One attempt at one entry; updates or moves it and reports. */
static int outbox_try(struct store_user *su, struct outbox_entry *e,
		      const struct outbox_sender *sender, GPtrArray *reports,
		      const char **error_r)
{
	struct imip_outgoing out = {
		.envelope_from = e->envelope_from, .recipient = e->recipient,
		.data = e->data,
	};
	char *error = NULL, *expired = NULL;
	enum imip_send_status status;
	enum outbox_fate fate;
	int ret;

	/* What the session changed so far is kept before the MTA is
	   waited for (up to a minute): the PostgreSQL store then holds no
	   transaction open, idle, over the send (only the user's lock), and
	   the removal of the reply sent before this one is kept at once. */
	if (store_user_commit(su, error_r) < 0)
		return -1;
	status = sender->send(sender->context, &out, &error);
	if (status == IMIP_SEND_OK) {
		g_free(error);
		outbox_report_new(reports, e->name, e, OUTBOX_SENT, NULL);
		return store_outbox_remove(su, STORE_OUTBOX_QUEUED, e->name,
					   error_r) < 0 ? -1 : 0;
	}
	e->attempts++;
	e->last_attempt = sender->now;
	if (status == IMIP_SEND_TEMPFAIL && outbox_is_expired(e, sender)) {
		expired = g_strdup_printf("%s; not sent within outbox_lifetime "
					  "(%us), given up",
					  error != NULL ? error : "not sent",
					  sender->lifetime);
		g_free(error);
		error = expired;
	}
	g_free(e->last_error);
	e->last_error = g_strdup(error);
	if (status == IMIP_SEND_TEMPFAIL && expired == NULL) {
		fate = OUTBOX_DEFERRED;
		ret = outbox_put(su, STORE_OUTBOX_QUEUED, e, error_r);
	} else {
		fate = expired != NULL ? OUTBOX_EXPIRED : OUTBOX_REFUSED;
		ret = outbox_give_up(su, e, error_r);
	}
	outbox_report_new(reports, e->name, e, fate, error);
	g_free(error);
	return ret;
}

int outbox_flush(struct store_user *su, const struct outbox_sender *sender,
		 GPtrArray *reports_r, const char **error_r)
{
	GPtrArray *entries = g_ptr_array_new_with_free_func(
		(GDestroyNotify)outbox_entry_free);
	int ret = outbox_list(su, STORE_OUTBOX_QUEUED, entries, error_r);

	for (guint i = 0; ret == 0 && i < entries->len; i++) {
		struct outbox_entry *e = g_ptr_array_index(entries, i);

		if (e->data == NULL) {
			outbox_report_new(reports_r, e->name, NULL,
					  OUTBOX_UNREADABLE, e->last_error);
			ret = outbox_set_aside(su, e->name, error_r);
		} else {
			ret = outbox_try(su, e, sender, reports_r, error_r);
		}
	}
	g_ptr_array_free(entries, TRUE);
	return ret;
}
