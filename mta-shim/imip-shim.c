/*
 * NAME
 *	imip-shim 8
 * SUMMARY
 *	calendar processing for mail from an MTA pipe transport
 * SYNOPSIS
 *	imip-shim [-c FILE] --role person|resource|outgoing [--recipient ADDR ...]
 *		[--sender ADDR] [--deliver TARGET] [--dry-run]
 *		[--no-public] [--invites-only | --updates-only]
 *		[--delete-cancelled] [--address ADDR ...] [--organizer ADDR ...]
 * DESCRIPTION
 *	imip-shim reads one message on standard input, processes its iMIP
 *	calendar parts (RFC 6047, RFC 5546) with libimip, sends the replies
 *	the agent makes (through the user's outbox: one refused for now is
 *	retried later, and the outcome is error), and in the person role
 *	hands the mailbox version of the message on to TARGET.
 *
 *	--role person: process for each --recipient (a calendar user), then
 *	deliver what the `incoming` preference says the mailbox receives.
 *	--role resource: each --recipient is an autonomous resource (a room,
 *	a car): a REQUEST is judged by its scheduling functions and answered
 *	at once.  Nothing is delivered.
 *	--role outgoing: the message is a copy of mail a local user sent;
 *	record it for --sender (else the From address).  Nothing is sent or
 *	delivered.
 *
 *	--deliver mbox:PATH | lmtp:SOCKET | lmtp:HOST:PORT | smtp:HOST:PORT |
 *	none (default none).
 *
 *	--dry-run: the messages the agent would send are written to standard
 *	output as an mbox stream instead of being sent or queued.
 *
 *	Processing options, the tags of RFC 9671 processcalendar (struct
 *	imip_options): --no-public (not :allowpublic; PUBLISH and calendar
 *	data without METHOD give no_action; by default they are processed),
 *	--invites-only (:invitesonly), --updates-only (:updatesonly; not
 *	with --invites-only), --delete-cancelled (:deletecancelled),
 *	--address ADDR (:addresses, repeatable: more addresses of each
 *	recipient), --organizer ADDR (:organizers, repeatable: only these
 *	organisers).  :calendarid has no option: the store is the one of
 *	--recipient (the outgoing role: the sender).
 *
 *	trigger_sieve (imip.conf): a Sieve script run per recipient first;
 *	discard means no_action ("trigger script discarded the message") and
 *	the original is delivered untouched; a broken script is logged and
 *	the message processed as if there were none (trigger.h).
 * DIAGNOSTICS
 *	One log line per message and recipient (log_target in imip.conf):
 *	role, recipient, method, UID, outcome, reason.
 *
 *	Exit status: 0 processed and delivered (a calendar error is still 0:
 *	the mail was delivered); 75 the hand-back failed temporarily (the MTA
 *	retries; also an unusable imip.conf outside the person role, which
 *	then hands the mail on unprocessed); 69 the hand-back failed
 *	permanently; 64 usage error.
 * SECURITY
 *	imip-shim needs no privileges beyond writing the store; run it as the
 *	imip-agent user from the pipe transport.  Files it creates are
 *	group-readable (umask 007) so the web server can serve published
 *	free/busy through the group.
 * ENVIRONMENT
 *	SENDER: the envelope sender without --sender ("" or "<>": null).
 *	RECIPIENT, else LOCAL_PART@DOMAIN: the recipient without --recipient
 *	(Exim's pipe transport sets all four; Postfix's pipe(8) none).
 *	IMIP_NOW (YYYYMMDDTHHMMSSZ) replaces the current time, for tests.
 * SEE ALSO
 *	imip-admin(8), imip.conf(5), imip-preferences(5)
 */

#include "imip.h"
#include "address.h"
#include "clock.h"
#include "compose.h"
#include "config.h"
#include "mime-read.h"
#include "outcome.h"
#include "send.h"
#include "store.h"
#include "trigger.h"
#include "shim-deliver.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define EX_OK_ 0
#define EX_USAGE_ 64
#define EX_TEMPFAIL_ 75

struct shim_options {
	const char *config_path;
	const char *role;
	GPtrArray *recipients;	/* const char * from argv */
	const char *sender;
	const char *deliver;
	bool dry_run;
	char *env_recipient;	/* LOCAL_PART@DOMAIN from the environment */
	/* RFC 9671 processcalendar tags; the string lists point into argv
	   and are NULL-terminated once the options are parsed */
	struct imip_options processing;
	GPtrArray *addresses;	/* --address */
	GPtrArray *organizers;	/* --organizer */
};

static enum imip_log_target shim_log_target = IMIP_LOG_TARGET_STDERR;

static void shim_vlog(int priority, const char *fmt, va_list args)
{
	if (shim_log_target == IMIP_LOG_TARGET_SYSLOG) {
		vsyslog(priority, fmt, args);
	} else {
		fputs("imip-shim: ", stderr);
		vfprintf(stderr, fmt, args);
		fputc('\n', stderr);
	}
}

static void G_GNUC_PRINTF(2, 3) shim_log(int priority, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	shim_vlog(priority, fmt, args);
	va_end(args);
}

static void shim_library_log(void *context, enum imip_log_level level,
			     const char *message)
{
	static const int priorities[] = {
		[IMIP_LOG_DEBUG] = LOG_DEBUG, [IMIP_LOG_INFO] = LOG_INFO,
		[IMIP_LOG_WARNING] = LOG_WARNING, [IMIP_LOG_ERROR] = LOG_ERR,
	};

	(void)context;
	if (level == IMIP_LOG_DEBUG)
		return;
	shim_log(priorities[level], "%s", message);
}

static void shim_usage(FILE *out)
{
	fputs("usage: imip-shim [-c FILE] --role person|resource|outgoing "
	      "[--recipient ADDR ...]\n"
	      "                 [--sender ADDR] [--deliver mbox:PATH|lmtp:SOCKET|"
	      "lmtp:HOST:PORT|smtp:HOST:PORT|none]\n"
	      "                 [--dry-run] [--no-public] "
	      "[--invites-only | --updates-only]\n"
	      "                 [--delete-cancelled] [--address ADDR ...] "
	      "[--organizer ADDR ...] < message\n", out);
}

static void shim_log_result(const char *role, const char *recipient,
			    const struct imip_result *result)
{
	char *methods = imip_result_methods(result);
	char *uid = imip_result_first_uid(result);
	char *uid_text = imip_log_value(uid, false);
	char *reason_text = imip_log_value(result->reason, true);
	char *recipient_text = imip_log_value(recipient, false);

	shim_log(result->code == IMIP_OUTCOME_ERROR ? LOG_ERR : LOG_INFO,
		 "role=%s recipient=%s method=%s uid=%s outcome=%s reason=%s",
		 role, recipient_text, methods, uid_text,
		 imip_outcome_name(result->code), reason_text);
	g_free(methods);
	g_free(uid);
	g_free(uid_text);
	g_free(reason_text);
	g_free(recipient_text);
}

/* --dry-run: the replies the agent would send, as an mbox stream on
   standard output.  Otherwise the library has sent or queued them
   (ctx.send, outbox.h). */
static void shim_print_replies(const struct imip_result *result, time_t now)
{
	GString *mbox = g_string_new(NULL);

	for (unsigned int i = 0; i < result->outgoing->len; i++) {
		const struct imip_outgoing *out = g_ptr_array_index(result->outgoing, i);

		compose_mbox_append(mbox, out->envelope_from, out->data, now);
	}
	fwrite(mbox->str, 1, mbox->len, stdout);
	fflush(stdout);
	g_string_free(mbox, TRUE);
}

static GBytes *shim_read_stdin(void)
{
	GByteArray *buf = g_byte_array_new();
	guint8 chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		g_byte_array_append(buf, chunk, (guint)n);
	if (ferror(stdin)) {
		g_byte_array_unref(buf);
		return NULL;
	}
	return g_byte_array_free_to_bytes(buf);
}

/* A value an MTA put in the environment: set and not empty. */
static const char *shim_getenv(const char *name)
{
	const char *value = getenv(name);

	return value != NULL && *value != '\0' ? value : NULL;
}

/* The envelope when the arguments do not give it (imip-shim(8)
   ENVIRONMENT).  Exim's pipe transport sets SENDER, RECIPIENT, LOCAL_PART
   and DOMAIN (mta.md 5.3), and reading them there also avoids Exim's
   tainted-argument refusal; Postfix's local(8) sets SENDER and RECIPIENT
   for a |command.  Postfix's pipe(8) sets none (mta.md 4.5): there the
   arguments carry ${sender} and ${original_recipient}.  An argument always
   wins.  An empty SENDER, or "<>", is the null sender. */
static void shim_envelope_from_environment(struct shim_options *o)
{
	const char *local_part, *domain, *recipient;

	if (o->sender == NULL)
		o->sender = getenv("SENDER");
	if (o->sender != NULL && strcmp(o->sender, "<>") == 0)
		o->sender = "";
	if (o->recipients->len > 0 || strcmp(o->role, "outgoing") == 0)
		return;
	recipient = shim_getenv("RECIPIENT");
	local_part = shim_getenv("LOCAL_PART");
	domain = shim_getenv("DOMAIN");
	if (recipient != NULL) {
		g_ptr_array_add(o->recipients, (char *)recipient);
	} else if (local_part != NULL && domain != NULL) {
		o->env_recipient = g_strconcat(local_part, "@", domain, NULL);
		g_ptr_array_add(o->recipients, o->env_recipient);
	}
}

/* An address list of the processing options: each entry must be an
   address (a typo would otherwise silently match nothing); the array is
   then NULL-terminated for struct imip_options. */
static int shim_check_addresses(GPtrArray *list, const char *option)
{
	for (unsigned int i = 0; i < list->len; i++) {
		char *normal = address_normalize(g_ptr_array_index(list, i));

		if (normal == NULL) {
			shim_log(LOG_ERR, "--%s: not an address: %s", option,
				 (const char *)g_ptr_array_index(list, i));
			return -1;
		}
		g_free(normal);
	}
	g_ptr_array_add(list, NULL);
	return 0;
}

/* The processing options as struct imip_options.  :invitesonly and
   :updatesonly exclude each other (each skips what the other processes;
   the Sieve plugin refuses the pair the same way). */
static int shim_check_processing(struct shim_options *o)
{
	if (o->processing.invites_only && o->processing.updates_only) {
		shim_log(LOG_ERR, "--invites-only and --updates-only exclude "
			 "each other");
		return -1;
	}
	if (shim_check_addresses(o->addresses, "address") < 0 ||
	    shim_check_addresses(o->organizers, "organizer") < 0)
		return -1;
	/* more than the terminating NULL: the option was given */
	if (o->addresses->len > 1)
		o->processing.addresses =
			(const char *const *)o->addresses->pdata;
	if (o->organizers->len > 1)
		o->processing.organizers =
			(const char *const *)o->organizers->pdata;
	return 0;
}

static int shim_parse_options(int argc, char **argv, struct shim_options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "role", required_argument, NULL, 'r' },
		{ "recipient", required_argument, NULL, 'R' },
		{ "sender", required_argument, NULL, 's' },
		{ "deliver", required_argument, NULL, 'd' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-public", no_argument, NULL, 'P' },
		{ "invites-only", no_argument, NULL, 'I' },
		{ "updates-only", no_argument, NULL, 'U' },
		{ "delete-cancelled", no_argument, NULL, 'D' },
		{ "address", required_argument, NULL, 'A' },
		{ "organizer", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config_path = optarg; break;
		case 'r': o->role = optarg; break;
		case 'R': g_ptr_array_add(o->recipients, optarg); break;
		case 's': o->sender = optarg; break;
		case 'd': o->deliver = optarg; break;
		case 'n': o->dry_run = true; break;
		case 'P': o->processing.allow_public = false; break;
		case 'I': o->processing.invites_only = true; break;
		case 'U': o->processing.updates_only = true; break;
		case 'D': o->processing.delete_cancelled = true; break;
		case 'A': g_ptr_array_add(o->addresses, optarg); break;
		case 'O': g_ptr_array_add(o->organizers, optarg); break;
		case 'h': shim_usage(stdout); exit(EX_OK_);
		case 'V': puts("imip-shim " IMIP_VERSION); exit(EX_OK_);
		default: return -1;
		}
	}
	if (optind != argc || o->role == NULL) {
		shim_log(LOG_ERR, "%s", optind != argc ? "unexpected argument" :
			 "--role is required");
		return -1;
	}
	if (strcmp(o->role, "person") != 0 && strcmp(o->role, "outgoing") != 0 &&
	    strcmp(o->role, "resource") != 0) {
		shim_log(LOG_ERR, "unknown role %s (person, resource or outgoing)",
			 o->role);
		return -1;
	}
	if (shim_check_processing(o) < 0)
		return -1;
	shim_envelope_from_environment(o);
	if (strcmp(o->role, "outgoing") != 0 && o->recipients->len == 0) {
		shim_log(LOG_ERR, "the %s role needs --recipient (or RECIPIENT "
			 "in the environment)", o->role);
		return -1;
	}
	if (!shim_deliver_target_is_valid(o->deliver)) {
		shim_log(LOG_ERR, "invalid --deliver target %s", o->deliver);
		return -1;
	}
	return 0;
}

static void shim_options_free(struct shim_options *o)
{
	g_ptr_array_free(o->recipients, TRUE);
	g_ptr_array_free(o->addresses, TRUE);
	g_ptr_array_free(o->organizers, TRUE);
	g_free(o->env_recipient);
}

/* Process for one user; deliver in the person role.  Returns the exit
   status of the delivery. */
static int shim_process_user(struct imip_ctx *ctx, const struct shim_options *o,
			     const struct mime_message *msg, const char *user)
{
	bool person = strcmp(o->role, "person") == 0;
	enum imip_role role = person ? IMIP_ROLE_PERSON :
		strcmp(o->role, "resource") == 0 ? IMIP_ROLE_RESOURCE :
		IMIP_ROLE_OUTGOING;
	struct imip_result *result;
	GPtrArray *messages;
	char *error = NULL;
	int status = EX_OK_;
	bool trigger_failed;

	/* envelope "to": the recipient processed for; the outgoing role
	   has none (the user is the sender) */
	result = trigger_check(ctx, msg->raw, o->sender, person ||
			       role == IMIP_ROLE_RESOURCE ? user : NULL,
			       &trigger_failed);
	if (result == NULL) {
		result = imip_process_with(ctx, msg, o->sender, user, role,
					   &o->processing);
		if (trigger_failed)
			trigger_mark_failed(result);
	}
	shim_log_result(o->role, user, result);
	if (o->dry_run)
		shim_print_replies(result, ctx->now);
	if (person) {
		messages = g_ptr_array_new();
		if (result->mailbox->len == 0)
			g_ptr_array_add(messages, msg->raw);
		for (unsigned int i = 0; i < result->mailbox->len; i++)
			g_ptr_array_add(messages, g_ptr_array_index(result->mailbox, i));
		status = shim_deliver(o->deliver, o->sender, user, messages,
				      ctx->now, &error);
		if (status != SHIM_DELIVER_OK)
			shim_log(LOG_ERR, "delivery to %s failed: %s", user,
				 error != NULL ? error : "unknown error");
		g_free(error);
		g_ptr_array_free(messages, TRUE);
	}
	imip_result_free(&result);
	return status;
}

/* The worst exit status: a temporary failure makes the MTA retry the whole
   message, which is what an idempotent agent wants. */
static int shim_worse(int a, int b)
{
	if (a == EX_TEMPFAIL_ || b == EX_TEMPFAIL_)
		return EX_TEMPFAIL_;
	return a != EX_OK_ ? a : b;
}

/* imip.conf cannot be used.  Calendar processing is an extra (DESIGN.md
   rule 1): the person role hands the original on unchanged, so a broken
   configuration never bounces or holds up anyone's mail; the other roles
   have no mailbox to fill and defer (75), so that the MTA retries once
   the file is fixed instead of bouncing (Postfix bounces on 78). */
static int shim_without_config(const struct shim_options *o)
{
	GPtrArray *messages;
	GBytes *data;
	int status = EX_OK_;

	if (strcmp(o->role, "person") != 0 || strcmp(o->deliver, "none") == 0) {
		shim_log(LOG_ERR, "no usable configuration: deferred for the "
			 "MTA to retry");
		return EX_TEMPFAIL_;
	}
	data = shim_read_stdin();
	if (data == NULL) {
		shim_log(LOG_ERR, "cannot read the message from standard input");
		return EX_TEMPFAIL_;
	}
	messages = g_ptr_array_new();
	g_ptr_array_add(messages, data);
	for (unsigned int i = 0; i < o->recipients->len; i++) {
		const char *user = g_ptr_array_index(o->recipients, i);
		char *error = NULL;
		int ret = shim_deliver(o->deliver, o->sender, user, messages,
				       imip_clock_now(), &error);

		if (ret != SHIM_DELIVER_OK)
			shim_log(LOG_ERR, "delivery to %s failed: %s", user,
				 error != NULL ? error : "unknown error");
		else
			shim_log(LOG_ERR, "recipient=%s: no usable "
				 "configuration: delivered unprocessed", user);
		g_free(error);
		status = shim_worse(status, ret);
	}
	g_ptr_array_free(messages, TRUE);
	g_bytes_unref(data);
	return status;
}

int main(int argc, char **argv)
{
	struct shim_options o = {
		.deliver = "none",
		/* published data is processed unless --no-public says
		   otherwise (the library's defaults, imip.h) */
		.processing = { .allow_public = true },
	};
	struct imip_config *config = NULL;
	struct imip_ctx ctx;
	struct mime_message *msg;
	GBytes *data;
	char *error = NULL;
	int status = EX_OK_;

	umask(007);
	o.recipients = g_ptr_array_new();
	o.addresses = g_ptr_array_new();
	o.organizers = g_ptr_array_new();
	if (shim_parse_options(argc, argv, &o) < 0) {
		shim_usage(stderr);
		shim_options_free(&o);
		return EX_USAGE_;
	}
	if (imip_config_load(o.config_path != NULL ? o.config_path :
			     IMIP_CONFIG_DEFAULT_PATH, &config, &error) < 0) {
		shim_log(LOG_ERR, "%s", error);
		g_free(error);
		status = shim_without_config(&o);
		shim_options_free(&o);
		return status;
	}
	shim_log_target = config->log_target;
	if (shim_log_target == IMIP_LOG_TARGET_SYSLOG)
		openlog("imip-shim", LOG_PID,
			imip_config_syslog_facility(config));

	memset(&ctx, 0, sizeof(ctx));
	ctx.config = config;
	ctx.log = shim_library_log;
	ctx.now = imip_clock_now();
	/* replies are queued in the user's outbox and sent under the
	   user's lock; a reply not sent makes the outcome error, and a
	   temporary failure is retried later (outbox.h).  A dry run sends
	   nothing and prints them. */
	if (!o.dry_run) {
		ctx.send = send_outgoing_func;
		ctx.send_context = config;
	}
	if (store_open(config, &ctx.store, &error) < 0) {
		/* keep going: imip_process reports the store failure as an
		   outcome and the mail is still delivered */
		shim_log(LOG_ERR, "%s", error);
		g_clear_pointer(&error, g_free);
	}

	data = shim_read_stdin();
	if (data == NULL) {
		shim_log(LOG_ERR, "cannot read the message from standard input");
		status = EX_TEMPFAIL_;
	} else {
		mime_init();
		msg = mime_message_read(g_bytes_get_data(data, NULL),
					g_bytes_get_size(data), &config->limits);
		if (strcmp(o.role, "outgoing") == 0) {
			const char *user = o.sender != NULL && *o.sender != '\0' ?
				o.sender : msg->from;

			if (user == NULL)
				shim_log(LOG_ERR, "role=outgoing: no sender to "
					 "record the message for");
			else
				status = shim_process_user(&ctx, &o, msg, user);
		} else {
			for (unsigned int i = 0; i < o.recipients->len; i++) {
				status = shim_worse(status, shim_process_user(
					&ctx, &o, msg, g_ptr_array_index(o.recipients, i)));
			}
		}
		mime_message_free(&msg);
		g_bytes_unref(data);
	}
	if (ctx.store != NULL)
		store_close(&ctx.store);
	imip_config_free(&config);
	shim_options_free(&o);
	return status;
}
