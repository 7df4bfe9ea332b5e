/* The quota journals' part of imip-admin copy-store (admin-copy.c): a
   journal is not a user's store but is calendar state all the same (the
   bookings counted against a quota), and it follows store_backend, so
   moving a site between the file store and PostgreSQL moves it too.

   Each quota is read whole from FROM's journal, then written to TO's
   under TO's lock and committed (journal_quota_commit()) before the
   line saying so is printed.  Through journal.h only, as the store part
   goes through store.h. */

#include "admin-copy.h"

#include "journal.h"

#include <stdio.h>
#include <string.h>

/* What one quota journal holds. */
struct copy_quota {
	GPtrArray *limit_subjects;	/* char * */
	GArray *limit_seconds;		/* long, one per subject */
	GPtrArray *group_members;	/* char * */
	GPtrArray *group_names;		/* char *, one per member */
	GPtrArray *delegates;		/* char * */
	GPtrArray *reservations;	/* struct journal_reservation * */
};

static struct copy_quota *copy_quota_new(void)
{
	struct copy_quota *cq = g_new0(struct copy_quota, 1);

	cq->limit_subjects = g_ptr_array_new_with_free_func(g_free);
	cq->limit_seconds = g_array_new(FALSE, FALSE, sizeof(long));
	cq->group_members = g_ptr_array_new_with_free_func(g_free);
	cq->group_names = g_ptr_array_new_with_free_func(g_free);
	cq->delegates = g_ptr_array_new_with_free_func(g_free);
	cq->reservations = g_ptr_array_new_with_free_func(
		(GDestroyNotify)journal_reservation_free);
	return cq;
}

static void copy_quota_free(struct copy_quota **cqp)
{
	struct copy_quota *cq = *cqp;

	if (cq == NULL)
		return;
	*cqp = NULL;
	g_ptr_array_free(cq->limit_subjects, TRUE);
	g_array_free(cq->limit_seconds, TRUE);
	g_ptr_array_free(cq->group_members, TRUE);
	g_ptr_array_free(cq->group_names, TRUE);
	g_ptr_array_free(cq->delegates, TRUE);
	g_ptr_array_free(cq->reservations, TRUE);
	g_free(cq);
}

static int copy_quota_fail(const char *quota, const char *item,
			   const char *error)
{
	admin_error("copy-store: quota %s: %s: %s", quota, item, error);
	return -1;
}

/* The journal lists limits and groups as "first<TAB>second" lines (what
   imip-admin prints); the first field is a subject or a member, words
   without a tab (journal.c checks them). */
static char *copy_quota_line_head(const char *line, const char **rest_r)
{
	const char *tab = strchr(line, '\t');

	*rest_r = tab != NULL ? tab + 1 : "";
	return g_strndup(line, tab != NULL ? (gsize)(tab - line) :
			 strlen(line));
}

static int copy_quota_read_limits(struct journal_quota *q, const char *quota,
				  struct copy_quota *cq)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	const char *error, *rest;
	int ret = journal_limits_list(q, lines, &error);

	if (ret < 0)
		copy_quota_fail(quota, "limits", error);
	for (guint i = 0; ret >= 0 && i < lines->len; i++) {
		char *subject = copy_quota_line_head(lines->pdata[i], &rest);
		long seconds = 0;

		/* the exact seconds, not the printed duration */
		if (journal_limit_get(q, subject, &seconds, &error) <= 0) {
			ret = copy_quota_fail(quota, "limit", error != NULL ?
					      error : "listed but not found");
			g_free(subject);
			break;
		}
		g_ptr_array_add(cq->limit_subjects, subject);
		g_array_append_val(cq->limit_seconds, seconds);
	}
	g_ptr_array_free(lines, TRUE);
	return ret < 0 ? -1 : 0;
}

static int copy_quota_read_groups(struct journal_quota *q, const char *quota,
				  struct copy_quota *cq)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	const char *error, *rest;
	int ret = journal_groups_list(q, lines, &error);

	if (ret < 0)
		copy_quota_fail(quota, "groups", error);
	for (guint i = 0; ret >= 0 && i < lines->len; i++) {
		g_ptr_array_add(cq->group_members,
				copy_quota_line_head(lines->pdata[i], &rest));
		g_ptr_array_add(cq->group_names, g_strdup(rest));
	}
	g_ptr_array_free(lines, TRUE);
	return ret < 0 ? -1 : 0;
}

static int copy_quota_read(struct journal *j, const char *quota,
			   struct copy_quota *cq)
{
	struct journal_quota *q;
	const char *error;
	char *open_error = NULL;
	int ret = journal_quota_open(j, quota, false, &q, &open_error);

	if (ret <= 0) {
		copy_quota_fail(quota, "open in FROM", open_error != NULL ?
				open_error : "listed but not found");
		g_free(open_error);
		return -1;
	}
	ret = copy_quota_read_limits(q, quota, cq);
	if (ret == 0)
		ret = copy_quota_read_groups(q, quota, cq);
	if (ret == 0 && journal_delegates_get(q, cq->delegates, &error) < 0)
		ret = copy_quota_fail(quota, "delegates", error);
	if (ret == 0 &&
	    journal_reservations_read(q, cq->reservations, &error) < 0)
		ret = copy_quota_fail(quota, "reservations", error);
	journal_quota_close(&q);
	return ret;
}

/* --- writing to TO ---------------------------------------------------------- */

/* journal_reservations_replace() takes the reservations of one
   (resource, uid) at a time: the list is cut into those runs. */
static int copy_quota_write_reservations(struct journal_quota *q,
					 const char *quota,
					 const GPtrArray *all)
{
	GHashTable *done = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	const char *error;
	int ret = 0;

	for (guint i = 0; ret == 0 && i < all->len; i++) {
		const struct journal_reservation *r = all->pdata[i];
		/* the length first: no resource/uid pair reads as another */
		char *key = g_strdup_printf("%zu:%s%s", strlen(r->resource),
					    r->resource, r->uid);
		GPtrArray *run;

		if (g_hash_table_contains(done, key)) {
			g_free(key);
			continue;
		}
		run = g_ptr_array_new();
		for (guint k = i; k < all->len; k++) {
			const struct journal_reservation *o = all->pdata[k];

			if (strcmp(o->resource, r->resource) == 0 &&
			    strcmp(o->uid, r->uid) == 0)
				g_ptr_array_add(run, all->pdata[k]);
		}
		if (journal_reservations_replace(q, r->resource, r->uid, run,
						 &error) < 0)
			ret = copy_quota_fail(quota, "reservations", error);
		g_ptr_array_free(run, TRUE);
		g_hash_table_add(done, key);
	}
	g_hash_table_destroy(done);
	return ret;
}

/* --replace: what TO's quota of the same name holds goes first. */
static int copy_quota_empty(struct journal_quota *q, const char *quota)
{
	struct copy_quota *old = copy_quota_new();
	GPtrArray *none = g_ptr_array_new();
	const char *error;
	int ret = copy_quota_read_limits(q, quota, old);

	if (ret == 0)
		ret = copy_quota_read_groups(q, quota, old);
	if (ret == 0 &&
	    journal_reservations_read(q, old->reservations, &error) < 0)
		ret = copy_quota_fail(quota, "reservations", error);
	for (guint i = 0; ret == 0 && i < old->limit_subjects->len; i++) {
		if (journal_limit_set(q, old->limit_subjects->pdata[i], -1,
				      &error) < 0)
			ret = copy_quota_fail(quota, "limit", error);
	}
	for (guint i = 0; ret == 0 && i < old->group_members->len; i++) {
		if (journal_group_set(q, old->group_members->pdata[i], NULL,
				      &error) < 0)
			ret = copy_quota_fail(quota, "group", error);
	}
	if (ret == 0 && journal_delegates_set(q, none, &error) < 0)
		ret = copy_quota_fail(quota, "delegates", error);
	for (guint i = 0; ret == 0 && i < old->reservations->len; i++) {
		const struct journal_reservation *r =
			old->reservations->pdata[i];

		if (journal_reservations_replace(q, r->resource, r->uid, none,
						 &error) < 0)
			ret = copy_quota_fail(quota, "reservations", error);
	}
	g_ptr_array_free(none, TRUE);
	copy_quota_free(&old);
	return ret;
}

static int copy_quota_write(struct journal_quota *q, const char *quota,
			    const struct copy_quota *cq, bool replace)
{
	const char *error;
	int ret = replace ? copy_quota_empty(q, quota) : 0;

	for (guint i = 0; ret == 0 && i < cq->limit_subjects->len; i++) {
		if (journal_limit_set(q, cq->limit_subjects->pdata[i],
				      g_array_index(cq->limit_seconds, long, i),
				      &error) < 0)
			ret = copy_quota_fail(quota, "limit", error);
	}
	for (guint i = 0; ret == 0 && i < cq->group_members->len; i++) {
		if (journal_group_set(q, cq->group_members->pdata[i],
				      cq->group_names->pdata[i], &error) < 0)
			ret = copy_quota_fail(quota, "group", error);
	}
	if (ret == 0 && cq->delegates->len > 0 &&
	    journal_delegates_set(q, cq->delegates, &error) < 0)
		ret = copy_quota_fail(quota, "delegates", error);
	if (ret == 0)
		ret = copy_quota_write_reservations(q, quota,
						    cq->reservations);
	if (ret == 0 && journal_quota_commit(q, &error) < 0)
		ret = copy_quota_fail(quota, "commit", error);
	return ret;
}

static int copy_one_quota(struct journal *from, struct journal *to,
			  const char *quota, bool replace, bool quiet)
{
	struct copy_quota *cq = copy_quota_new();
	struct journal_quota *q = NULL;
	char *error = NULL;
	int ret = copy_quota_read(from, quota, cq);

	if (ret == 0 && journal_quota_open(to, quota, true, &q, &error) <= 0) {
		ret = copy_quota_fail(quota, "open in TO", error != NULL ?
				      error : "not created");
		g_free(error);
	}
	if (ret == 0)
		ret = copy_quota_write(q, quota, cq, replace);
	/* a failed write is not committed (journal_quota_close) */
	journal_quota_close(&q);
	if (ret == 0 && !quiet) {
		printf("copied-quota\t%s\tlimits=%u\tgroups=%u\tdelegates=%u"
		       "\treservations=%u\n", quota,
		       cq->limit_subjects->len, cq->group_members->len,
		       cq->delegates->len, cq->reservations->len);
	}
	copy_quota_free(&cq);
	return ret;
}

static int copy_quotas_open(const struct imip_config *config,
			    const char *which, struct journal **j_r)
{
	char *error = NULL;

	if (journal_open(config, j_r, &error) == 0)
		return 0;
	admin_error("copy-store: the quota journals of %s: %s", which, error);
	g_free(error);
	return -1;
}

static int copy_quotas_list(struct journal *j, const char *which,
			    GPtrArray *quotas)
{
	char *error = NULL;

	if (journal_list_quotas(j, quotas, &error) == 0)
		return 0;
	admin_error("copy-store: listing the quota journals of %s: %s",
		    which, error);
	g_free(error);
	return -1;
}

/* Without --replace, TO must hold none of FROM's quotas (all named). */
static int copy_quotas_check_absent(struct journal *to,
				    const GPtrArray *quotas)
{
	GPtrArray *present = g_ptr_array_new_with_free_func(g_free);
	int ret = copy_quotas_list(to, "TO", present);

	for (guint i = 0; ret == 0 && i < quotas->len; i++) {
		for (guint k = 0; k < present->len; k++) {
			if (strcmp(quotas->pdata[i], present->pdata[k]) != 0)
				continue;
			copy_quota_fail(quotas->pdata[i], "journal", "TO "
					"already holds this quota (--replace "
					"replaces it); nothing copied");
			ret = -1;
		}
	}
	g_ptr_array_free(present, TRUE);
	return ret;
}

int copy_quotas_prepare(struct copy_quotas *cq,
			const struct imip_config *from,
			const struct imip_config *to, bool replace)
{
	bool quiet = cq->quiet;

	memset(cq, 0, sizeof(*cq));
	cq->replace = replace;
	cq->quiet = quiet;
	cq->names = g_ptr_array_new_with_free_func(g_free);
	if (copy_quotas_open(from, "FROM", &cq->from) < 0 ||
	    copy_quotas_open(to, "TO", &cq->to) < 0 ||
	    copy_quotas_list(cq->from, "FROM", cq->names) < 0)
		return -1;
	if (!replace && copy_quotas_check_absent(cq->to, cq->names) < 0)
		return -1;
	return 0;
}

int copy_quotas_run(struct copy_quotas *cq)
{
	int ret = 0;

	/* one broken quota must not stop the copy of the others */
	for (guint i = 0; i < cq->names->len; i++) {
		if (copy_one_quota(cq->from, cq->to, cq->names->pdata[i],
				   cq->replace, cq->quiet) < 0)
			ret = -1;
		fflush(stdout);
	}
	return ret;
}

void copy_quotas_deinit(struct copy_quotas *cq)
{
	journal_close(&cq->from);
	journal_close(&cq->to);
	if (cq->names != NULL)
		g_ptr_array_free(cq->names, TRUE);
	cq->names = NULL;
}
