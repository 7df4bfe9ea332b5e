/* imip-cyrus-annotator's settings and logging (annotator.h). */

#include "annotator.h"
#include "config.h"
#include "cyrus-imapd-conf.h"
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static enum imip_log_target annotator_log_target = IMIP_LOG_TARGET_STDERR;

void annotator_log_open(const struct imip_config *config)
{
	annotator_log_target = config->log_target;
	if (annotator_log_target == IMIP_LOG_TARGET_SYSLOG)
		openlog("imip-cyrus-annotator", LOG_PID,
			imip_config_syslog_facility(config));
}

void annotator_log(int priority, const char *fmt, ...)
{
	va_list args;
	char *line;

	va_start(args, fmt);
	line = g_strdup_vprintf(fmt, args);
	va_end(args);
	if (annotator_log_target == IMIP_LOG_TARGET_SYSLOG)
		syslog(priority, "%s", line);
	else
		/* one write per line: workers log at the same time */
		fprintf(stderr, "imip-cyrus-annotator[%ld]: %s\n",
			(long)getpid(), line);
	g_free(line);
}

static const char *const annotator_entries[] = {
	ANNOTATOR_ENTRY_OUTCOME, ANNOTATOR_ENTRY_REASON, NULL,
};

/* What imip.conf leaves open, from imapd.conf. */
static void annotator_apply_imapd_conf(struct annotator *a)
{
	const struct imip_cyrus_config *cc = &a->config->cyrus;
	struct cyrus_imapd_conf *imapd;
	char *error = NULL;

	imapd = cyrus_imapd_conf_read(cc->imapd_conf, &error);
	if (imapd == NULL) {
		annotator_log(LOG_WARNING, "cannot read %s (cyrus_imapd_conf): "
			      "%s; answering with flags only", cc->imapd_conf,
			      error);
		g_free(error);
	}
	a->unixhierarchysep = cc->unixhierarchysep >= 0 ?
		cc->unixhierarchysep == 1 :
		imapd == NULL || imapd->unixhierarchysep != 0;
	if (cc->default_domain != NULL)
		a->default_domain = g_strdup(cc->default_domain);
	else if (imapd != NULL && imapd->defaultdomain != NULL)
		a->default_domain = g_strdup(imapd->defaultdomain);
	else if (a->config->local_domains->len > 0)
		a->default_domain = g_strdup(g_ptr_array_index(
			a->config->local_domains, 0));
	if (imapd != NULL) {
		a->send_annotations = cyrus_imapd_conf_accepts_annotations(
			imapd, annotator_entries, &error);
		if (!a->send_annotations) {
			annotator_log(LOG_WARNING, "%s; answering with flags "
				      "only (an annotation Cyrus does not "
				      "know would make it refuse the mail)",
				      error);
			g_free(error);
		}
	}
	cyrus_imapd_conf_free(&imapd);
}

int annotator_load(struct annotator *a, const char *config_path,
		   char **error_r)
{
	memset(a, 0, sizeof(*a));
	if (imip_config_load(config_path, &a->config, error_r) < 0)
		return -1;
	annotator_apply_imapd_conf(a);
	return 0;
}

void annotator_prepare_store(const struct annotator *a)
{
	char *error = NULL;

	if (store_prepare(a->config, &error) < 0) {
		annotator_log(LOG_WARNING, "%s; each message will fail the "
			      "same way", error);
		g_free(error);
	}
}

void annotator_unload(struct annotator *a)
{
	imip_config_free(&a->config);
	g_clear_pointer(&a->default_domain, g_free);
}
