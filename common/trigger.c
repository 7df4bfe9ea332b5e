/* The trigger script (trigger.h) over libsieve2 2.2.

   libsieve2 calls back for everything: the script text, each header, the
   envelope, the size, and each action as the script takes it.  Whatever a
   callback hands to libsieve must stay valid until sieve2_free(), so it is
   kept in the evaluation's arenas and freed after.  libsieve ignores the
   return values of callbacks: failures are recorded here instead. */

#include "trigger.h"
#include "mime-read.h"
#include "imip.h"
#include "config.h"
#include "outcome.h"

#include <limits.h>
#include <stddef.h>	/* before <sieve2.h> (DESIGN.md, libsieve2 2.2) */
#include <string.h>
#include <sieve2.h>
#include <gmime/gmime.h>

/* The script is the administrator's, but a runaway file (a log written to
   the wrong path) should not be read whole into memory. */
#define TRIGGER_SCRIPT_MAX_SIZE (1024 * 1024)

struct trigger_eval {
	const char *script_path;
	char *script;			/* NUL-terminated text */
	GMimeMessage *header;		/* the header block, parsed; or NULL */
	const char *from, *to;		/* envelope, never NULL */
	int size;
	GPtrArray *strings;		/* char *, handed to libsieve */
	GPtrArray *vectors;		/* char **, handed to libsieve */
	/* what the script did */
	bool kept;			/* keep, fileinto or an unsupported
					   action: the message is processed */
	bool discarded;
	GString *errors;		/* parse and run-time errors */
	bool parse_failed;
	GPtrArray *notes;		/* char *, moved into the result */
};

static char *trigger_keep_string(struct trigger_eval *ev, char *s)
{
	g_ptr_array_add(ev->strings, s);
	return s;
}

static void trigger_note(struct trigger_eval *ev, const char *action)
{
	char *note = g_strdup_printf("the trigger script's %s is not "
				     "supported in a trigger; the message is "
				     "processed as with keep", action);

	for (guint i = 0; i < ev->notes->len; i++) {
		if (strcmp(g_ptr_array_index(ev->notes, i), note) == 0) {
			g_free(note);
			return;
		}
	}
	g_ptr_array_add(ev->notes, note);
}

static void trigger_error(struct trigger_eval *ev, const char *text)
{
	if (ev->errors->len > 0)
		g_string_append(ev->errors, "; ");
	g_string_append(ev->errors, text);
}

/* --- actions ------------------------------------------------------------ */

static int trigger_cb_keep(sieve2_context_t *s, void *context)
{
	struct trigger_eval *ev = context;

	(void)s;
	ev->kept = true;
	return SIEVE2_OK;
}

static int trigger_cb_discard(sieve2_context_t *s, void *context)
{
	struct trigger_eval *ev = context;

	(void)s;
	ev->discarded = true;
	return SIEVE2_OK;
}

/* A trigger only decides whether the agent looks at the message; sending
   or refusing mail stays with the MTA and the user's own filters. */
#define TRIGGER_UNSUPPORTED(name, action) \
static int trigger_cb_##name(sieve2_context_t *s, void *context) \
{ \
	struct trigger_eval *ev = context; \
\
	(void)s; \
	ev->kept = true; \
	trigger_note(ev, action); \
	return SIEVE2_OK; \
}
TRIGGER_UNSUPPORTED(redirect, "redirect")
TRIGGER_UNSUPPORTED(reject, "reject")
TRIGGER_UNSUPPORTED(vacation, "vacation")
TRIGGER_UNSUPPORTED(notify, "notify")

/* --- errors ------------------------------------------------------------- */

static int trigger_cb_errparse(sieve2_context_t *s, void *context)
{
	struct trigger_eval *ev = context;
	const char *message = sieve2_getvalue_string(s, "message");
	char *text;

	ev->parse_failed = true;
	text = g_strdup_printf("line %d: %s",
				     sieve2_getvalue_int(s, "lineno"),
				     message != NULL ? message : "parse error");

	trigger_error(ev, text);
	g_free(text);
	return SIEVE2_OK;
}

static int trigger_cb_errexec(sieve2_context_t *s, void *context)
{
	struct trigger_eval *ev = context;
	const char *message = sieve2_getvalue_string(s, "message");

	trigger_error(ev, message != NULL ? message : "run-time error");
	return SIEVE2_OK;
}

/* --- the script and the message ----------------------------------------- */

static int trigger_cb_getscript(sieve2_context_t *s, void *context)
{
	struct trigger_eval *ev = context;
	const char *path = sieve2_getvalue_string(s, "path");
	const char *name = sieve2_getvalue_string(s, "name");

	/* Only the main script: an include (path and name set) has nothing
	   to refer to. */
	if (path == NULL || name == NULL || *path != '\0' || *name != '\0' ||
	    ev->script == NULL)
		return SIEVE2_ERROR_BADARGS;
	sieve2_setvalue_string(s, "script", ev->script);
	return SIEVE2_OK;
}

static bool trigger_is_address_header(const char *name)
{
	static const char *const names[] = {
		"from", "sender", "reply-to", "to", "cc", "bcc",
		"resent-from", "resent-sender", "resent-to", "resent-cc",
		"resent-bcc", "return-path", "delivered-to", NULL,
	};

	for (size_t i = 0; names[i] != NULL; i++) {
		if (g_ascii_strcasecmp(name, names[i]) == 0)
			return true;
	}
	return false;
}

/* The value a test sees.  RFC 5228 2.7.2: header tests compare decoded
   text (RFC 2047).  Address headers are re-written from GMime's address
   list so that a decoded display name keeps its quotes ("Boddie, Paul"
   must not read as two addresses in an address test). */
static char *trigger_header_value(GMimeHeader *header)
{
	const char *name = g_mime_header_get_name(header);
	const char *raw = g_mime_header_get_raw_value(header);
	const char *value = g_mime_header_get_value(header);

	if (trigger_is_address_header(name) && raw != NULL) {
		InternetAddressList *list = internet_address_list_parse(NULL, raw);

		if (list != NULL) {
			char *text = NULL;

			if (internet_address_list_length(list) > 0)
				text = internet_address_list_to_string(list, NULL,
								       FALSE);
			g_object_unref(list);
			if (text != NULL)
				return text;
		}
	}
	return g_strdup(value != NULL ? value : "");
}

static int trigger_cb_getheader(sieve2_context_t *s, void *context)
{
	struct trigger_eval *ev = context;
	const char *name = sieve2_getvalue_string(s, "header");
	GMimeHeaderList *list;
	GPtrArray *values = g_ptr_array_new();
	char **vector;
	int count;

	if (name != NULL && ev->header != NULL) {
		list = g_mime_object_get_header_list(GMIME_OBJECT(ev->header));
		count = g_mime_header_list_get_count(list);
		for (int i = 0; i < count; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(list, i);

			if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) == 0)
				g_ptr_array_add(values, trigger_header_value(h));
		}
	}
	g_ptr_array_add(values, NULL);
	vector = (char **)g_ptr_array_free(values, FALSE);
	g_ptr_array_add(ev->vectors, vector);
	/* An empty list is "no such header" for libsieve. */
	sieve2_setvalue_stringlist(s, "body", vector);
	return SIEVE2_OK;
}

static int trigger_cb_getenvelope(sieve2_context_t *s, void *context)
{
	struct trigger_eval *ev = context;

	sieve2_setvalue_string(s, "from", (char *)ev->from);
	sieve2_setvalue_string(s, "to", (char *)ev->to);
	return SIEVE2_OK;
}

static int trigger_cb_getsize(sieve2_context_t *s, void *context)
{
	struct trigger_eval *ev = context;

	sieve2_setvalue_int(s, "size", ev->size);
	return SIEVE2_OK;
}

/* RFC 5233 with "+" as the separator (Postfix's and Exim's usual one);
   needed for :localpart and :domain as well, which libsieve asks here. */
static int trigger_cb_getsubaddress(sieve2_context_t *s, void *context)
{
	struct trigger_eval *ev = context;
	const char *address = sieve2_getvalue_string(s, "address");
	const char *at, *plus;
	char *localpart, *user;

	if (address == NULL)
		return SIEVE2_ERROR_BADARGS;
	at = strrchr(address, '@');
	localpart = trigger_keep_string(ev, at != NULL ?
		g_strndup(address, (gsize)(at - address)) : g_strdup(address));
	plus = strchr(localpart, '+');
	user = trigger_keep_string(ev, plus != NULL ?
		g_strndup(localpart, (gsize)(plus - localpart)) :
		g_strdup(localpart));
	sieve2_setvalue_string(s, "localpart", localpart);
	sieve2_setvalue_string(s, "user", user);
	sieve2_setvalue_string(s, "detail", plus != NULL ?
			       (char *)plus + 1 : NULL);
	sieve2_setvalue_string(s, "domain", at != NULL ? (char *)at + 1 : NULL);
	return SIEVE2_OK;
}

static sieve2_callback_t trigger_callbacks[] = {
	{ SIEVE2_ERRCALL_PARSE, trigger_cb_errparse },
	{ SIEVE2_ERRCALL_RUNTIME, trigger_cb_errexec },
	{ SIEVE2_ACTION_KEEP, trigger_cb_keep },
	{ SIEVE2_ACTION_FILEINTO, trigger_cb_keep },
	{ SIEVE2_ACTION_DISCARD, trigger_cb_discard },
	{ SIEVE2_ACTION_REDIRECT, trigger_cb_redirect },
	{ SIEVE2_ACTION_REJECT, trigger_cb_reject },
	{ SIEVE2_ACTION_VACATION, trigger_cb_vacation },
	{ SIEVE2_ACTION_NOTIFY, trigger_cb_notify },
	{ SIEVE2_SCRIPT_GETSCRIPT, trigger_cb_getscript },
	{ SIEVE2_MESSAGE_GETHEADER, trigger_cb_getheader },
	{ SIEVE2_MESSAGE_GETENVELOPE, trigger_cb_getenvelope },
	{ SIEVE2_MESSAGE_GETSIZE, trigger_cb_getsize },
	{ SIEVE2_MESSAGE_GETSUBADDRESS, trigger_cb_getsubaddress },
	{ 0, NULL },
};

/* libsieve2 2.2.6 leaks inside itself: the partial parse tree of a script
   that does not compile, the tree of some commands (vacation), strings of
   its address parser.  Nothing it allocates is ever handed to us, so a
   leak whose stack is in libsieve is libsieve's; LeakSanitizer is told so
   here, valgrind in tests/valgrind.supp. */
#if defined(__SANITIZE_ADDRESS__)
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libsieve.so\n";
}

const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}
#endif

/* --- evaluation --------------------------------------------------------- */

static bool trigger_read_script(struct trigger_eval *ev, char **error_r)
{
	GError *error = NULL;
	gsize len;

	if (!g_file_get_contents(ev->script_path, &ev->script, &len, &error)) {
		*error_r = g_strdup(error->message);
		g_error_free(error);
		return false;
	}
	if (len > TRIGGER_SCRIPT_MAX_SIZE) {
		*error_r = g_strdup_printf("larger than %d bytes",
					   TRIGGER_SCRIPT_MAX_SIZE);
		return false;
	}
	if (memchr(ev->script, '\0', len) != NULL) {
		*error_r = g_strdup("contains a NUL byte");
		return false;
	}
	return true;
}

/* libsieve2 2.2.6 reads an uninitialised pointer when an envelope test
   names a part other than "from" or "to" (RFC 5228 5.4 allows others, such
   as "auth", by extension).  The script is checked for that before it
   runs: a small lexer of RFC 5228 section 8.1 (comments, quoted and
   multi-line strings) finds each `envelope` test and its part list. */
enum trigger_token_kind {
	TRIGGER_TOKEN_IDENT, TRIGGER_TOKEN_TAG, TRIGGER_TOKEN_STRING,
	TRIGGER_TOKEN_OTHER, TRIGGER_TOKEN_END,
};

struct trigger_lexer {
	const char *p;
	GString *value;
};

static enum trigger_token_kind trigger_lex(struct trigger_lexer *lx)
{
	const char *p = lx->p;

	g_string_truncate(lx->value, 0);
	for (;;) {
		while (g_ascii_isspace(*p))
			p++;
		if (*p == '#') {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");

			p = end != NULL ? end + 2 : p + strlen(p);
		} else {
			break;
		}
	}
	if (*p == '\0') {
		lx->p = p;
		return TRIGGER_TOKEN_END;
	}
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			g_string_append_c(lx->value, *p);
		}
		lx->p = *p == '"' ? p + 1 : p;
		return TRIGGER_TOKEN_STRING;
	}
	if (g_ascii_strncasecmp(p, "text:", 5) == 0) {
		/* multi-line string: up to a line holding only "." */
		const char *end = strstr(p, "\n.\n");
		const char *end_crlf = strstr(p, "\n.\r\n");

		if (end == NULL || (end_crlf != NULL && end_crlf < end))
			end = end_crlf;
		lx->p = end != NULL ? end + 2 : p + strlen(p);
		return TRIGGER_TOKEN_STRING;
	}
	if (*p == ':' || g_ascii_isalpha(*p) || *p == '_') {
		bool tag = *p == ':';

		if (tag)
			p++;
		while (g_ascii_isalnum(*p) || *p == '_')
			g_string_append_c(lx->value, *p++);
		lx->p = p;
		return tag ? TRIGGER_TOKEN_TAG : TRIGGER_TOKEN_IDENT;
	}
	g_string_append_c(lx->value, *p);
	lx->p = p + 1;
	return TRIGGER_TOKEN_OTHER;
}

static bool trigger_envelope_part_ok(const char *part, char **error_r)
{
	if (g_ascii_strcasecmp(part, "from") == 0 ||
	    g_ascii_strcasecmp(part, "to") == 0)
		return true;
	*error_r = g_strdup_printf("envelope part \"%s\" is not supported "
				   "(only \"from\" and \"to\")", part);
	return false;
}

/* After `envelope`: tags (":comparator" takes a string), then the part
   string or string list. */
static bool trigger_check_envelope_test(struct trigger_lexer *lx,
					char **error_r)
{
	enum trigger_token_kind kind;

	while ((kind = trigger_lex(lx)) == TRIGGER_TOKEN_TAG) {
		if (g_ascii_strcasecmp(lx->value->str, "comparator") == 0 &&
		    trigger_lex(lx) != TRIGGER_TOKEN_STRING)
			return true;	/* libsieve reports the syntax */
	}
	if (kind == TRIGGER_TOKEN_STRING)
		return trigger_envelope_part_ok(lx->value->str, error_r);
	if (kind != TRIGGER_TOKEN_OTHER || strcmp(lx->value->str, "[") != 0)
		return true;
	while ((kind = trigger_lex(lx)) != TRIGGER_TOKEN_END) {
		if (kind == TRIGGER_TOKEN_STRING) {
			if (!trigger_envelope_part_ok(lx->value->str, error_r))
				return false;
		} else if (kind != TRIGGER_TOKEN_OTHER ||
			   strcmp(lx->value->str, ",") != 0) {
			break;
		}
	}
	return true;
}

static bool trigger_check_script(const char *script, char **error_r)
{
	struct trigger_lexer lx = { .p = script, .value = g_string_new(NULL) };
	enum trigger_token_kind kind;
	bool ok = true;

	while (ok && (kind = trigger_lex(&lx)) != TRIGGER_TOKEN_END) {
		if (kind == TRIGGER_TOKEN_IDENT &&
		    g_ascii_strcasecmp(lx.value->str, "envelope") == 0)
			ok = trigger_check_envelope_test(&lx, error_r);
	}
	g_string_free(lx.value, TRUE);
	return ok;
}

/* Only the header block is parsed: tests never look at the body here, and
   a hostile body costs nothing then.  A leading mbox "From " line (Exim's
   default message_prefix) is skipped by GMime. */
static GMimeMessage *trigger_parse_header(const guint8 *data, gsize size)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *message;
	gsize end = size;

	for (gsize i = 0; i + 1 < size; i++) {
		if (data[i] != '\n')
			continue;
		if (data[i + 1] == '\n' ||
		    (data[i + 1] == '\r' && i + 2 < size && data[i + 2] == '\n')) {
			end = i + 1;
			break;
		}
	}
	mime_init();
	stream = g_mime_stream_mem_new_with_buffer((const char *)data, end);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	message = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	return message;
}

static const char *trigger_sieve_error(int code)
{
	const char *text = sieve2_errstr(code);

	/* "Sieve Error: parse error" -> "parse error" */
	if (g_str_has_prefix(text, "Sieve Error: "))
		text += strlen("Sieve Error: ");
	return text;
}

static int trigger_run(struct trigger_eval *ev, char **error_r)
{
	sieve2_context_t *sieve = NULL;
	int ret;

	ret = sieve2_alloc(&sieve);
	if (ret != SIEVE2_OK) {
		*error_r = g_strdup(trigger_sieve_error(ret));
		return -1;
	}
	ret = sieve2_callbacks(sieve, trigger_callbacks);
	if (ret == SIEVE2_OK)
		ret = sieve2_execute(sieve, ev);
	sieve2_free(&sieve);
	if (ret != SIEVE2_OK || ev->errors->len > 0) {
		/* libsieve reports a script that does not compile as an
		   execution error too; the callbacks tell them apart. */
		if (ev->parse_failed)
			ret = SIEVE2_ERROR_PARSE;
		else if (ret == SIEVE2_OK)
			ret = SIEVE2_ERROR_EXEC;
		*error_r = ev->errors->len > 0 ?
			g_strdup_printf("%s: %s", trigger_sieve_error(ret),
					ev->errors->str) :
			g_strdup(trigger_sieve_error(ret));
		return -1;
	}
	return 0;
}

int trigger_evaluate(const char *script_path, GBytes *message,
		     const char *envelope_from, const char *envelope_to,
		     struct trigger_result *result)
{
	struct trigger_eval ev;
	const guint8 *data;
	gsize size = 0;
	char *error = NULL;
	int ret = -1;

	memset(result, 0, sizeof(*result));
	result->process = true;
	result->notes = g_ptr_array_new_with_free_func(g_free);

	memset(&ev, 0, sizeof(ev));
	ev.script_path = script_path;
	ev.from = envelope_from == NULL || strcmp(envelope_from, "<>") == 0 ?
		"" : envelope_from;
	ev.to = envelope_to != NULL ? envelope_to : "";
	ev.strings = g_ptr_array_new_with_free_func(g_free);
	ev.vectors = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	ev.errors = g_string_new(NULL);
	ev.notes = result->notes;

	data = message != NULL ? g_bytes_get_data(message, &size) : NULL;
	ev.size = size > INT_MAX ? INT_MAX : (int)size;

	if (script_path == NULL || !g_path_is_absolute(script_path)) {
		error = g_strdup("not an absolute path");
	} else if (trigger_read_script(&ev, &error) &&
		   trigger_check_script(ev.script, &error)) {
		if (data != NULL && size > 0)
			ev.header = trigger_parse_header(data, size);
		ret = trigger_run(&ev, &error);
	}
	if (ret < 0) {
		result->error = g_strdup_printf("trigger script %s failed: %s",
						script_path != NULL ?
						script_path : "(none)", error);
	} else {
		/* RFC 5228 4.2: discard only cancels the implicit keep; an
		   explicit keep (or what stands for one here) still keeps. */
		result->process = ev.kept || !ev.discarded;
	}
	g_free(error);
	g_free(ev.script);
	if (ev.header != NULL)
		g_object_unref(ev.header);
	g_ptr_array_free(ev.strings, TRUE);
	g_ptr_array_free(ev.vectors, TRUE);
	g_string_free(ev.errors, TRUE);
	return ret;
}

void trigger_result_clear(struct trigger_result *result)
{
	if (result == NULL)
		return;
	g_clear_pointer(&result->error, g_free);
	if (result->notes != NULL)
		g_ptr_array_free(result->notes, TRUE);
	result->notes = NULL;
}

/* --- the step as adapters take it ---------------------------------------- */

static struct imip_result *trigger_result_discarded(void)
{
	struct imip_result *result = g_new0(struct imip_result, 1);

	result->code = IMIP_OUTCOME_NO_ACTION;
	result->reason = g_strdup("trigger script discarded the message");
	result->parts = g_ptr_array_new();
	result->outgoing = g_ptr_array_new();
	result->mailbox = g_ptr_array_new();
	return result;
}

struct imip_result *trigger_check(const struct imip_ctx *ctx, GBytes *message,
				  const char *envelope_from,
				  const char *envelope_to, bool *failed_r)
{
	struct trigger_result tr;
	char *who;
	bool process;

	*failed_r = false;
	if (ctx->config->trigger_sieve == NULL)
		return NULL;
	if (trigger_evaluate(ctx->config->trigger_sieve, message,
			     envelope_from, envelope_to, &tr) < 0)
		*failed_r = true;
	who = imip_log_value(envelope_to, false);
	if (tr.error != NULL)
		imip_log(ctx, IMIP_LOG_ERROR, "recipient=%s: %s; processing as "
			 "if there were no trigger script", who, tr.error);
	for (guint i = 0; i < tr.notes->len; i++) {
		imip_log(ctx, IMIP_LOG_WARNING, "recipient=%s: %s", who,
			 (const char *)g_ptr_array_index(tr.notes, i));
	}
	g_free(who);
	process = tr.process;
	trigger_result_clear(&tr);
	return process ? NULL : trigger_result_discarded();
}

void trigger_mark_failed(struct imip_result *result)
{
	char *reason = g_strconcat(result->reason != NULL ? result->reason : "",
				   result->reason != NULL ? " " : "",
				   "(trigger script failed)", NULL);

	g_free(result->reason);
	result->reason = reason;
}
