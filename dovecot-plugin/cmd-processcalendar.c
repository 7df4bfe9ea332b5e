/* The "processcalendar" action (RFC 9671 section 3):
 *
 *   processcalendar [:allowpublic]
 *                   [:invitesonly / :updatesonly]
 *                   [:calendarid <string>]
 *                   [:deletecancelled]
 *                   [:addresses <string-list>]
 *                   [:organizers <string-list>]
 *                   [:outcome <variablename: string>]
 *                   [:reason <variablename: string>]
 *
 * Compile-time rules: :invitesonly excludes :updatesonly (Cyrus), and
 * :updatesonly excludes :calendarid (RFC 9671's "[:updatesonly /
 * :calendarid <string>]": an update never creates an object, and
 * :calendarid only says where new objects go).  :invitesonly with
 * :calendarid is allowed: new invitations go to that calendar.
 * :deletecanceled (Cyrus's older spelling) is accepted for
 * :deletecancelled.  Duplicates are refused by Pigeonhole's validator (same
 * id code).
 *
 * The action runs while the script is interpreted, not as a deferred
 * result action, because RFC 9671 makes :outcome and :reason readable by
 * the commands that follow.  It never fails the script and never cancels
 * the implicit keep: every problem becomes outcome "error" with a reason.
 */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "smtp-address.h"
#include "mail-storage.h"
#include "mail-user.h"

#include "sieve-common.h"
#include "sieve-stringlist.h"
#include "sieve-code.h"
#include "sieve-extensions.h"
#include "sieve-commands.h"
#include "sieve-validator.h"
#include "sieve-generator.h"
#include "sieve-interpreter.h"
#include "sieve-runtime.h"
#include "sieve-runtime-trace.h"
#include "sieve-dump.h"
#include "sieve-message.h"
#include "sieve-ext-variables.h"

#include "ext-processcalendar.h"
#include "imip-sieve-api.h"

#include <dlfcn.h>

/* Variable values are short; a reason longer than this is cut. */
#define PROCESSCALENDAR_MAX_VALUE_LEN 1024

/* The reason when lib95_imip_plugin.so is not in the process: sievec,
   sieve-test, managesieve, imapsieve, or a user without "imip" in
   mail_plugins of protocol lda/lmtp. */
#define PROCESSCALENDAR_NOT_LOADED "the imip delivery plugin is not loaded"

/*
 * Command
 */

static bool
cmd_processcalendar_registered(struct sieve_validator *valdtr,
			       const struct sieve_extension *ext,
			       struct sieve_command_registration *cmd_reg);
static bool
cmd_processcalendar_pre_validate(struct sieve_validator *valdtr,
				 struct sieve_command *cmd);
static bool
cmd_processcalendar_generate(const struct sieve_codegen_env *cgenv,
			     struct sieve_command *cmd);

const struct sieve_command_def processcalendar_command = {
	.identifier = "processcalendar",
	.type = SCT_COMMAND,
	.positional_args = 0,
	.subtests = 0,
	.block_allowed = FALSE,
	.block_required = FALSE,
	.registered = cmd_processcalendar_registered,
	.pre_validate = cmd_processcalendar_pre_validate,
	.generate = cmd_processcalendar_generate,
};

/*
 * Tags
 */

/* Codes of the optional operands; stored in compiled scripts, so never
   renumber them. */
enum cmd_processcalendar_optional {
	OPT_END,
	OPT_ALLOWPUBLIC,
	OPT_INVITESONLY,
	OPT_UPDATESONLY,
	OPT_DELETECANCELLED,
	OPT_CALENDARID,
	OPT_ADDRESSES,
	OPT_ORGANIZERS,
	OPT_OUTCOME,
	OPT_REASON,
};

/* Tags seen so far, for the mutual-exclusion checks */
struct cmd_processcalendar_data {
	bool invitesonly;
	bool updatesonly;
	bool calendarid;
	bool deletecancelled;
};

static bool
cmd_processcalendar_validate_flag_tag(struct sieve_validator *valdtr,
				      struct sieve_ast_argument **arg,
				      struct sieve_command *cmd);
static bool
cmd_processcalendar_validate_string_tag(struct sieve_validator *valdtr,
					struct sieve_ast_argument **arg,
					struct sieve_command *cmd);
static bool
cmd_processcalendar_validate_stringlist_tag(struct sieve_validator *valdtr,
					    struct sieve_ast_argument **arg,
					    struct sieve_command *cmd);
static bool
cmd_processcalendar_validate_variable_tag(struct sieve_validator *valdtr,
					  struct sieve_ast_argument **arg,
					  struct sieve_command *cmd);

static const struct sieve_argument_def processcalendar_allowpublic_tag = {
	.identifier = "allowpublic",
	.validate = cmd_processcalendar_validate_flag_tag,
};
static const struct sieve_argument_def processcalendar_invitesonly_tag = {
	.identifier = "invitesonly",
	.validate = cmd_processcalendar_validate_flag_tag,
};
static const struct sieve_argument_def processcalendar_updatesonly_tag = {
	.identifier = "updatesonly",
	.validate = cmd_processcalendar_validate_flag_tag,
};
static const struct sieve_argument_def processcalendar_deletecancelled_tag = {
	.identifier = "deletecancelled",
	.validate = cmd_processcalendar_validate_flag_tag,
};
/* Cyrus's processimip spelling; same id code, so using both spellings is
   a duplicate */
static const struct sieve_argument_def processcalendar_deletecanceled_tag = {
	.identifier = "deletecanceled",
	.validate = cmd_processcalendar_validate_flag_tag,
};
static const struct sieve_argument_def processcalendar_calendarid_tag = {
	.identifier = "calendarid",
	.validate = cmd_processcalendar_validate_string_tag,
};
static const struct sieve_argument_def processcalendar_addresses_tag = {
	.identifier = "addresses",
	.validate = cmd_processcalendar_validate_stringlist_tag,
};
static const struct sieve_argument_def processcalendar_organizers_tag = {
	.identifier = "organizers",
	.validate = cmd_processcalendar_validate_stringlist_tag,
};
static const struct sieve_argument_def processcalendar_outcome_tag = {
	.identifier = "outcome",
	.validate = cmd_processcalendar_validate_variable_tag,
};
static const struct sieve_argument_def processcalendar_reason_tag = {
	.identifier = "reason",
	.validate = cmd_processcalendar_validate_variable_tag,
};

/*
 * Operation
 */

static bool
cmd_processcalendar_operation_dump(const struct sieve_dumptime_env *denv,
				   sieve_size_t *address);
static int
cmd_processcalendar_operation_execute(const struct sieve_runtime_env *renv,
				      sieve_size_t *address);

const struct sieve_operation_def processcalendar_operation = {
	.mnemonic = "PROCESSCALENDAR",
	.ext_def = &processcalendar_extension,
	.code = 0,
	.dump = cmd_processcalendar_operation_dump,
	.execute = cmd_processcalendar_operation_execute,
};

/*
 * Validation
 */

static bool
cmd_processcalendar_conflict(struct sieve_validator *valdtr,
			     struct sieve_ast_argument *arg,
			     struct sieve_command *cmd,
			     const char *tag, const char *other,
			     const char *why)
{
	sieve_argument_validate_error(
		valdtr, arg,
		"the :%s and :%s arguments of the %s %s are mutually "
		"exclusive (%s)", tag, other, sieve_command_identifier(cmd),
		sieve_command_type_name(cmd), why);
	return FALSE;
}

/* Records the tag and refuses the combinations the header comment lists.
   Called for each tag as it is validated, so the error names the tag that
   completes the bad combination. */
static bool
cmd_processcalendar_note_tag(struct sieve_validator *valdtr,
			     struct sieve_ast_argument *tag,
			     struct sieve_command *cmd)
{
	struct cmd_processcalendar_data *data = cmd->data;
	const char *name = sieve_ast_argument_tag(tag);

	if (sieve_argument_is(tag, processcalendar_invitesonly_tag)) {
		if (data->updatesonly) {
			return cmd_processcalendar_conflict(
				valdtr, tag, cmd, name, "updatesonly",
				"one processes only new objects, the other "
				"only known ones");
		}
		data->invitesonly = TRUE;
	} else if (sieve_argument_is(tag, processcalendar_updatesonly_tag)) {
		if (data->invitesonly) {
			return cmd_processcalendar_conflict(
				valdtr, tag, cmd, name, "invitesonly",
				"one processes only known objects, the other "
				"only new ones");
		}
		if (data->calendarid) {
			return cmd_processcalendar_conflict(
				valdtr, tag, cmd, name, "calendarid",
				"RFC 9671: :updatesonly never creates an "
				"object for :calendarid to receive");
		}
		data->updatesonly = TRUE;
	} else if (sieve_argument_is(tag, processcalendar_calendarid_tag)) {
		if (data->updatesonly) {
			return cmd_processcalendar_conflict(
				valdtr, tag, cmd, name, "updatesonly",
				"RFC 9671: :updatesonly never creates an "
				"object for :calendarid to receive");
		}
		data->calendarid = TRUE;
	} else if (sieve_argument_is(tag, processcalendar_deletecancelled_tag) ||
		   sieve_argument_is(tag, processcalendar_deletecanceled_tag)) {
		data->deletecancelled = TRUE;
	}

	if (data->invitesonly && data->deletecancelled &&
	    (sieve_argument_is(tag, processcalendar_invitesonly_tag) ||
	     sieve_argument_is(tag, processcalendar_deletecancelled_tag) ||
	     sieve_argument_is(tag, processcalendar_deletecanceled_tag))) {
		/* Harmless but surely not what the author meant: a CANCEL
		   is about a stored object, which :invitesonly skips. */
		sieve_argument_validate_warning(
			valdtr, tag,
			"the :deletecancelled argument of the %s %s has no "
			"effect together with :invitesonly",
			sieve_command_identifier(cmd),
			sieve_command_type_name(cmd));
	}
	return TRUE;
}

/* :allowpublic, :invitesonly, :updatesonly, :deletecancelled: the tag
   stays in the argument list, so its id code is emitted as an operand
   without data. */
static bool
cmd_processcalendar_validate_flag_tag(struct sieve_validator *valdtr,
				      struct sieve_ast_argument **arg,
				      struct sieve_command *cmd)
{
	if (!cmd_processcalendar_note_tag(valdtr, *arg, cmd))
		return FALSE;
	*arg = sieve_ast_argument_next(*arg);
	return TRUE;
}

/* :calendarid <string> */
static bool
cmd_processcalendar_validate_string_tag(struct sieve_validator *valdtr,
					struct sieve_ast_argument **arg,
					struct sieve_command *cmd)
{
	struct sieve_ast_argument *tag = *arg;

	if (!cmd_processcalendar_note_tag(valdtr, tag, cmd))
		return FALSE;

	/* The parameter takes the tag's place (and its id code) */
	*arg = sieve_ast_arguments_detach(*arg, 1);
	if (!sieve_validate_tag_parameter(valdtr, cmd, tag, *arg, NULL, 0,
					  SAAT_STRING, FALSE))
		return FALSE;

	if (sieve_argument_is_string_literal(*arg) &&
	    str_len(sieve_ast_argument_str(*arg)) == 0) {
		sieve_argument_validate_error(
			valdtr, *arg,
			"the :%s argument of the %s %s must not be empty",
			sieve_ast_argument_tag(tag),
			sieve_command_identifier(cmd),
			sieve_command_type_name(cmd));
		return FALSE;
	}

	*arg = sieve_ast_argument_next(*arg);
	return TRUE;
}

/* :addresses <string-list>, :organizers <string-list>.  RFC 9671 gives
   :organizers an RFC 6134 list name; Pigeonhole has no external lists,
   so the list itself is written here (docs/dovecot.md). */
static bool
cmd_processcalendar_validate_stringlist_tag(struct sieve_validator *valdtr,
					    struct sieve_ast_argument **arg,
					    struct sieve_command *cmd)
{
	struct sieve_ast_argument *tag = *arg;

	*arg = sieve_ast_arguments_detach(*arg, 1);
	if (!sieve_validate_tag_parameter(valdtr, cmd, tag, *arg, NULL, 0,
					  SAAT_STRING_LIST, FALSE))
		return FALSE;
	*arg = sieve_ast_argument_next(*arg);
	return TRUE;
}

/* :outcome <varname>, :reason <varname> (RFC 9671 requires "variables") */
static bool
cmd_processcalendar_validate_variable_tag(struct sieve_validator *valdtr,
					  struct sieve_ast_argument **arg,
					  struct sieve_command *cmd)
{
	const struct ext_processcalendar_context *ectx = cmd->ext->context;
	struct sieve_ast_argument *tag = *arg;

	if (ectx == NULL || ectx->var_ext == NULL ||
	    !sieve_ext_variables_is_active(ectx->var_ext, valdtr)) {
		sieve_argument_validate_error(
			valdtr, tag,
			"the :%s argument of the %s %s names a variable, so "
			"the script must require the \"variables\" extension",
			sieve_ast_argument_tag(tag),
			sieve_command_identifier(cmd),
			sieve_command_type_name(cmd));
		return FALSE;
	}

	*arg = sieve_ast_arguments_detach(*arg, 1);
	/* Checked here because sieve_variable_argument_activate() asserts
	   on a string list when assigning */
	if (*arg == NULL || sieve_ast_argument_type(*arg) != SAAT_STRING) {
		sieve_argument_validate_error(
			valdtr, *arg == NULL ? tag : *arg,
			"the :%s argument of the %s %s requires a variable "
			"name (a string) as parameter, but %s was found",
			sieve_ast_argument_tag(tag),
			sieve_command_identifier(cmd),
			sieve_command_type_name(cmd),
			*arg == NULL ? "none" : sieve_ast_argument_name(*arg));
		return FALSE;
	}
	if (!sieve_variable_argument_activate(ectx->var_ext, ectx->var_ext,
					      valdtr, cmd, *arg, TRUE))
		return FALSE;
	(*arg)->argument->id_code = tag->argument->id_code;

	*arg = sieve_ast_argument_next(*arg);
	return TRUE;
}

static bool
cmd_processcalendar_registered(struct sieve_validator *valdtr,
			       const struct sieve_extension *ext,
			       struct sieve_command_registration *cmd_reg)
{
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_allowpublic_tag,
				     OPT_ALLOWPUBLIC);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_invitesonly_tag,
				     OPT_INVITESONLY);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_updatesonly_tag,
				     OPT_UPDATESONLY);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_deletecancelled_tag,
				     OPT_DELETECANCELLED);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_deletecanceled_tag,
				     OPT_DELETECANCELLED);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_calendarid_tag,
				     OPT_CALENDARID);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_addresses_tag,
				     OPT_ADDRESSES);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_organizers_tag,
				     OPT_ORGANIZERS);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_outcome_tag, OPT_OUTCOME);
	sieve_validator_register_tag(valdtr, cmd_reg, ext,
				     &processcalendar_reason_tag, OPT_REASON);
	return TRUE;
}

static bool
cmd_processcalendar_pre_validate(struct sieve_validator *valdtr ATTR_UNUSED,
				 struct sieve_command *cmd)
{
	cmd->data = p_new(sieve_command_pool(cmd),
			  struct cmd_processcalendar_data, 1);
	return TRUE;
}

/*
 * Code generation
 */

static bool
cmd_processcalendar_generate(const struct sieve_codegen_env *cgenv,
			     struct sieve_command *cmd)
{
	sieve_operation_emit(cgenv->sblock, cmd->ext,
			     &processcalendar_operation);
	return sieve_generate_arguments(cgenv, cmd, NULL);
}

/*
 * Code dump (sievec -d)
 */

static bool
cmd_processcalendar_operation_dump(const struct sieve_dumptime_env *denv,
				   sieve_size_t *address)
{
	int opt_code = 0;

	sieve_code_dumpf(denv, "PROCESSCALENDAR");
	sieve_code_descend(denv);

	for (;;) {
		bool opok = TRUE;
		int opt;

		if ((opt = sieve_opr_optional_dump(denv, address,
						   &opt_code)) < 0)
			return FALSE;
		if (opt == 0)
			break;

		switch (opt_code) {
		case OPT_ALLOWPUBLIC:
			sieve_code_dumpf(denv, "allowpublic");
			break;
		case OPT_INVITESONLY:
			sieve_code_dumpf(denv, "invitesonly");
			break;
		case OPT_UPDATESONLY:
			sieve_code_dumpf(denv, "updatesonly");
			break;
		case OPT_DELETECANCELLED:
			sieve_code_dumpf(denv, "deletecancelled");
			break;
		case OPT_CALENDARID:
			opok = sieve_opr_string_dump(denv, address,
						     "calendarid");
			break;
		case OPT_ADDRESSES:
			opok = sieve_opr_stringlist_dump(denv, address,
							 "addresses");
			break;
		case OPT_ORGANIZERS:
			opok = sieve_opr_stringlist_dump(denv, address,
							 "organizers");
			break;
		case OPT_OUTCOME:
			opok = sieve_opr_string_dump(denv, address, "outcome");
			break;
		case OPT_REASON:
			opok = sieve_opr_string_dump(denv, address, "reason");
			break;
		default:
			return FALSE;
		}
		if (!opok)
			return FALSE;
	}
	return TRUE;
}

/*
 * Execution
 */

struct cmd_processcalendar_vars {
	struct sieve_variable_storage *outcome_storage;
	unsigned int outcome_index;
	struct sieve_variable_storage *reason_storage;
	unsigned int reason_index;
};

static int
cmd_processcalendar_read_list(const struct sieve_runtime_env *renv,
			      sieve_size_t *address, const char *field,
			      pool_t pool, const char *const **list_r)
{
	struct sieve_stringlist *list;
	int ret;

	if ((ret = sieve_opr_stringlist_read(renv, address, field,
					     &list)) <= 0)
		return ret;
	if (sieve_stringlist_read_all(list, pool, list_r) < 0) {
		sieve_runtime_trace_error(renv, "failed to read %s operand",
					  field);
		return list->exec_status;
	}
	return SIEVE_EXEC_OK;
}

/* Reads the optional operands into the request.  Returns SIEVE_EXEC_OK or
   the status to return (corrupt binary, a failed variable lookup). */
static int
cmd_processcalendar_read_operands(const struct sieve_runtime_env *renv,
				  sieve_size_t *address, pool_t pool,
				  struct imip_sieve_request *request,
				  struct cmd_processcalendar_vars *vars)
{
	int opt_code = 0;

	for (;;) {
		string_t *str;
		int opt, ret = SIEVE_EXEC_OK;

		if ((opt = sieve_opr_optional_read(renv, address,
						   &opt_code)) < 0)
			return SIEVE_EXEC_BIN_CORRUPT;
		if (opt == 0)
			break;

		switch (opt_code) {
		case OPT_ALLOWPUBLIC:
			request->allow_public = TRUE;
			break;
		case OPT_INVITESONLY:
			request->invites_only = TRUE;
			break;
		case OPT_UPDATESONLY:
			request->updates_only = TRUE;
			break;
		case OPT_DELETECANCELLED:
			request->delete_cancelled = TRUE;
			break;
		case OPT_CALENDARID:
			ret = sieve_opr_string_read(renv, address,
						    "calendarid", &str);
			if (ret > 0)
				request->calendar_id = p_strdup(pool, str_c(str));
			break;
		case OPT_ADDRESSES:
			ret = cmd_processcalendar_read_list(
				renv, address, "addresses", pool,
				&request->addresses);
			break;
		case OPT_ORGANIZERS:
			ret = cmd_processcalendar_read_list(
				renv, address, "organizers", pool,
				&request->organizers);
			break;
		case OPT_OUTCOME:
			ret = sieve_variable_operand_read(
				renv, address, "outcome",
				&vars->outcome_storage, &vars->outcome_index);
			break;
		case OPT_REASON:
			ret = sieve_variable_operand_read(
				renv, address, "reason",
				&vars->reason_storage, &vars->reason_index);
			break;
		default:
			sieve_runtime_trace_error(renv,
						  "unknown optional operand");
			return SIEVE_EXEC_BIN_CORRUPT;
		}
		if (ret <= 0)
			return ret;
	}
	return SIEVE_EXEC_OK;
}

static const char *
cmd_processcalendar_address(pool_t pool, const struct smtp_address *address)
{
	/* The null reverse path <> names no sender */
	if (address == NULL || smtp_address_isnull(address))
		return NULL;
	return p_strdup(pool, smtp_address_encode(address));
}

/* Asks the delivery plugin.  It is looked up for every call instead of
   once: this plugin may be unloaded and loaded again between deliveries
   (reference dovecot.md 12.3), and the delivery plugin may or may not be
   in this process. */
static void
cmd_processcalendar_call(const struct sieve_runtime_env *renv,
			 const struct imip_sieve_request *request, pool_t pool,
			 struct imip_sieve_response *response)
{
	const struct imip_sieve_api *api;

	api = dlsym(RTLD_DEFAULT, IMIP_SIEVE_API_SYMBOL);
	if (api == NULL) {
		response->outcome = "error";
		response->reason = PROCESSCALENDAR_NOT_LOADED;
		sieve_runtime_warning(renv, NULL, "processcalendar action: %s",
				      PROCESSCALENDAR_NOT_LOADED);
		return;
	}
	if (api->version != IMIP_SIEVE_API_VERSION || api->process == NULL) {
		response->outcome = "error";
		response->reason = p_strdup_printf(
			pool, "the imip delivery plugin has interface "
			"version %u, this Sieve plugin needs %u",
			api->version, IMIP_SIEVE_API_VERSION);
		sieve_runtime_warning(renv, NULL, "processcalendar action: %s",
				      response->reason);
		return;
	}
	if (request->user == NULL || request->mail == NULL) {
		response->outcome = "error";
		response->reason = "no mail user or message to process";
		return;
	}
	api->process(request, pool, response);
}

static void
cmd_processcalendar_assign(const struct sieve_runtime_env *renv,
			   struct sieve_variable_storage *storage,
			   unsigned int index, const char *name,
			   const char *value)
{
	if (storage == NULL)
		return;
	if (!sieve_variable_assign_cstr(storage, index, value)) {
		sieve_runtime_trace(renv, SIEVE_TRLVL_ACTIONS,
				    "could not assign the %s variable", name);
	}
}

/* The work after the operands are read; separate so that its data-stack
   allocations (str_sanitize) live in their own T_BEGIN frame. */
static void
cmd_processcalendar_run(const struct sieve_runtime_env *renv, pool_t pool,
			struct imip_sieve_request *request,
			const struct cmd_processcalendar_vars *vars)
{
	const struct sieve_execute_env *eenv = renv->exec_env;
	struct imip_sieve_response response;
	const char *outcome, *reason;

	i_zero(&response);
	sieve_runtime_trace(renv, SIEVE_TRLVL_ACTIONS, "processcalendar action");
	sieve_runtime_trace_descend(renv);

	if (eenv->scriptenv != NULL)
		request->user = eenv->scriptenv->user;
	request->mail = sieve_message_get_mail(renv->msgctx);
	if (eenv->msgdata != NULL) {
		request->envelope_sender = cmd_processcalendar_address(
			pool, eenv->msgdata->envelope.mail_from);
		request->recipient = cmd_processcalendar_address(
			pool, eenv->msgdata->envelope.rcpt_to);
	}

	cmd_processcalendar_call(renv, request, pool, &response);

	outcome = response.outcome != NULL && *response.outcome != '\0' ?
		response.outcome : "error";
	reason = response.reason != NULL ? response.reason : "";
	reason = str_sanitize(reason, PROCESSCALENDAR_MAX_VALUE_LEN);

	sieve_runtime_trace(renv, SIEVE_TRLVL_ACTIONS, "outcome `%s'%s%s",
			    str_sanitize(outcome, 64),
			    *reason == '\0' ? "" : ": ", reason);

	cmd_processcalendar_assign(renv, vars->outcome_storage,
				   vars->outcome_index, "outcome", outcome);
	cmd_processcalendar_assign(renv, vars->reason_storage,
				   vars->reason_index, "reason", reason);
}

static int
cmd_processcalendar_operation_execute(const struct sieve_runtime_env *renv,
				      sieve_size_t *address)
{
	struct cmd_processcalendar_vars vars;
	struct imip_sieve_request request;
	pool_t pool;
	int ret;

	i_zero(&vars);
	i_zero(&request);
	pool = pool_alloconly_create("processcalendar", 1024);

	ret = cmd_processcalendar_read_operands(renv, address, pool,
						&request, &vars);
	if (ret > 0) {
		T_BEGIN {
			cmd_processcalendar_run(renv, pool, &request, &vars);
		} T_END;
		/* Whatever happened is in the outcome: the script goes on */
		ret = SIEVE_EXEC_OK;
	}
	pool_unref(&pool);
	return ret;
}
