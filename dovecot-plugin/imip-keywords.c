/* The $iMIP keywords on every copy of the message saved for the user.

   The deliver hook cannot know where the message will end up (Sieve keep,
   fileinto, several fileinto, the default save after the hook returns), so
   it only records the keywords in the user context and a v.copy override
   adds them.  mailbox_save_using_mail() (LDA's default save, Sieve keep and
   fileinto) and mailbox_copy() both go through v.copy (reference
   dovecot.md 6).  Each LMTP recipient has its own mail_user, so the
   keywords of one recipient never reach another one's copy. */

#include "imip-plugin.h"
#include "mail-storage-private.h"
#include "mail-index.h"

#define IMIP_MAILBOX_CONTEXT_REQUIRE(obj) \
	MODULE_CONTEXT_REQUIRE(obj, imip_storage_module)

struct imip_mailbox {
	union mailbox_module_context module_ctx;
};

static MODULE_CONTEXT_DEFINE_INIT(imip_storage_module,
				  &mail_storage_module_register);

void imip_keywords_set(struct imip_user *iuser, const char *outcome)
{
	const char *kw;

	array_clear(&iuser->keywords);
	kw = IMIP_KEYWORD;
	array_push_back(&iuser->keywords, &kw);
	kw = p_strconcat(iuser->delivery_pool, IMIP_KEYWORD_PREFIX, outcome,
			 NULL);
	array_push_back(&iuser->keywords, &kw);
}

const char *const *imip_keywords_get(struct imip_user *iuser)
{
	ARRAY_TYPE(const_string) list;

	if (!array_is_created(&iuser->keywords) ||
	    array_count(&iuser->keywords) == 0)
		return NULL;
	t_array_init(&list, array_count(&iuser->keywords) + 1);
	array_append_array(&list, &iuser->keywords);
	array_append_zero(&list);
	return array_front(&list);
}

static bool imip_keywords_have(const ARRAY_TYPE(keyword_indexes) *indexes,
			       unsigned int idx)
{
	const unsigned int *i;

	array_foreach(indexes, i) {
		if (*i == idx)
			return TRUE;
	}
	return FALSE;
}

static void imip_keywords_merge(struct mail_save_context *ctx,
				struct imip_user *iuser)
{
	struct mailbox *box = ctx->transaction->box;
	ARRAY_TYPE(keyword_indexes) indexes;
	struct mail_keywords *kw;
	const char *const *name, *error;
	unsigned int idx;

	t_array_init(&indexes, 8);
	if (ctx->data.keywords != NULL) {
		array_append(&indexes, ctx->data.keywords->idx,
			     ctx->data.keywords->count);
	}
	array_foreach(&iuser->keywords, name) {
		if (!mailbox_keyword_is_valid(box, *name, &error)) {
			e_error(imip_user_event(iuser),
				"keyword %s not set: %s", *name, error);
			continue;
		}
		mail_index_keyword_lookup_or_create(box->index, *name, &idx);
		if (!imip_keywords_have(&indexes, idx))
			array_push_back(&indexes, &idx);
	}
	kw = mailbox_keywords_create_from_indexes(box, &indexes);
	/* flags + private flags: mailbox_save_set_flags() splits them again */
	mailbox_save_set_flags(ctx, ctx->data.flags | ctx->data.pvt_flags, kw);
	mailbox_keywords_unref(&kw);
}

static int imip_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct mailbox *box = ctx->transaction->box;
	struct imip_mailbox *ibox = IMIP_MAILBOX_CONTEXT_REQUIRE(box);
	struct imip_user *iuser = IMIP_USER_CONTEXT(box->storage->user);

	if (iuser != NULL && array_is_created(&iuser->keywords) &&
	    array_count(&iuser->keywords) > 0 && box->index != NULL) {
		T_BEGIN {
			imip_keywords_merge(ctx, iuser);
		} T_END;
	}
	return ibox->module_ctx.super.copy(ctx, mail);
}

void imip_keywords_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct imip_mailbox *ibox;

	if (IMIP_USER_CONTEXT(box->storage->user) == NULL)
		return;

	ibox = p_new(box->pool, struct imip_mailbox, 1);
	ibox->module_ctx.super = *v;
	box->vlast = &ibox->module_ctx.super;
	v->copy = imip_copy;
	MODULE_CONTEXT_SET(box, imip_storage_module, ibox);
}
