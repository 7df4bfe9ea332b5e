/* process.c with options: the RFC 9671 processcalendar tags as the
   library implements them (the Sieve extension only passes them on), and
   what the adapter tells about the delivery (ctx.local_port). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "test-tmp.h"
#include "imip.h"
#include "clock.h"
#include "config.h"
#include "mime-read.h"
#include "store.h"

#define SAMPLES TEST_DATA_DIR "/../../../samples/"
#define VINCENT "vincent.vole@example.com"
#define PAUL "paul.boddie@example.com"

struct fixture {
	char *root;
	struct imip_config *config;
	struct imip_ctx ctx;
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	char *error = NULL;

	f->config = test_tmp_config("test-process", &f->root);
	g_free(f->config->calendar_sender);
	f->config->calendar_sender = g_strdup("calendar@example.com");
	f->ctx.config = f->config;
	assert_int_equal(store_open(f->config, &f->ctx.store, &error), 0);
	assert_true(imip_clock_parse_utc("20141120T120000Z", &f->ctx.now));
	mime_init();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(&f->ctx.store);
	imip_config_free(&f->config);
	test_rm_rf(f->root);
	g_free(f->root);
	g_free(f);
	return 0;
}

/* Process a message file (or literal text) and return the outcome name. */
static const char *process_text(struct fixture *f, const char *text,
				const char *user, const struct imip_options *o)
{
	struct mime_message *msg = mime_message_read(text, strlen(text),
						     &f->config->limits);
	struct imip_result *r = imip_process_with(&f->ctx, msg, PAUL, user,
						  IMIP_ROLE_PERSON, o);
	const char *name = imip_outcome_name(r->code);

	imip_result_free(&r);
	mime_message_free(&msg);
	return name;
}

static const char *process(struct fixture *f, const char *sample,
			   const char *user, const struct imip_options *o)
{
	char *path = g_strconcat(SAMPLES, sample, NULL);
	char *text = NULL;
	const char *name;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	name = process_text(f, text, user, o);
	g_free(text);
	g_free(path);
	return name;
}

static unsigned int stored_uids(struct fixture *f, const char *user)
{
	struct store_user *su;
	GPtrArray *uids = g_ptr_array_new_with_free_func(g_free);
	const char *error;
	char *err = NULL;
	unsigned int n;

	if (store_user_open(f->ctx.store, user, STORE_OPEN_READONLY, &su, &err) <= 0) {
		g_free(err);
		g_ptr_array_free(uids, TRUE);
		return 0;
	}
	assert_int_equal(store_object_list_uids(su, uids, &error), 0);
	n = uids->len;
	store_user_close(&su);
	g_ptr_array_free(uids, TRUE);
	return n;
}

static void test_updates_only(void **state)
{
	struct fixture *f = *state;
	struct imip_options o = { .allow_public = true, .updates_only = true };

	/* a new invitation is not an update */
	assert_string_equal(process(f, "01-invitation.eml", VINCENT, &o), "no_action");
	assert_int_equal(stored_uids(f, VINCENT), 0);
	assert_string_equal(process(f, "01-invitation.eml", VINCENT, NULL), "added");
	assert_string_equal(process(f, "02-update.eml", VINCENT, &o), "updated");
}

static void test_invites_only(void **state)
{
	struct fixture *f = *state;
	struct imip_options o = { .allow_public = true, .invites_only = true };

	assert_string_equal(process(f, "01-invitation.eml", VINCENT, &o), "added");
	assert_string_equal(process(f, "02-update.eml", VINCENT, &o), "no_action");
	assert_string_equal(process(f, "04-cancel.eml", VINCENT, &o), "no_action");
}

static const char *published =
	"From: paul.boddie@example.com\r\nTo: vincent.vole@example.com\r\n"
	"Subject: Published\r\nMIME-Version: 1.0\r\n"
	"Content-Type: text/calendar; charset=utf-8\r\n\r\n"
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
	"BEGIN:VEVENT\r\nUID:pub1@example.com\r\nDTSTAMP:20141120T100000Z\r\n"
	"DTSTART:20141126T150000Z\r\nDTEND:20141126T160000Z\r\n"
	"ORGANIZER:mailto:paul.boddie@example.com\r\nSUMMARY:Open day\r\n"
	"END:VEVENT\r\nEND:VCALENDAR\r\n";

static void test_allow_public(void **state)
{
	struct fixture *f = *state;
	struct imip_options strict = { .allow_public = false };
	struct imip_options open = { .allow_public = true };

	/* RFC 9671: data without METHOD is published data, processed only
	   with :allowpublic */
	assert_string_equal(process_text(f, published, VINCENT, &strict), "no_action");
	assert_int_equal(stored_uids(f, VINCENT), 0);
	assert_string_equal(process_text(f, published, VINCENT, &open), "added");
	assert_int_equal(stored_uids(f, VINCENT), 1);
}

static void test_organizers(void **state)
{
	struct fixture *f = *state;
	const char *others[] = { "boss@example.com", NULL };
	const char *paul[] = { "MAILTO:Paul.Boddie@example.com", NULL };
	struct imip_options o = { .allow_public = true, .organizers = others };

	assert_string_equal(process(f, "01-invitation.eml", VINCENT, &o), "no_action");
	o.organizers = paul;
	assert_string_equal(process(f, "01-invitation.eml", VINCENT, &o), "added");
}

static void test_delete_cancelled(void **state)
{
	struct fixture *f = *state;
	struct imip_options o = { .allow_public = true, .delete_cancelled = true };

	assert_string_equal(process(f, "01-invitation.eml", VINCENT, &o), "added");
	assert_string_equal(process(f, "04-cancel.eml", VINCENT, &o), "cancelled");
	/* gone, not kept as cancelled */
	assert_int_equal(stored_uids(f, VINCENT), 0);
}

static void test_addresses(void **state)
{
	struct fixture *f = *state;
	const char *aliases[] = { "Vincent.Vole@example.com", NULL };
	struct imip_options o = { .allow_public = true, .addresses = aliases };

	/* delivered to another address of Vincent's: he is found among the
	   attendees only through :addresses */
	assert_string_equal(process(f, "01-invitation.eml", "vv@example.org", NULL),
			    "no_action");
	assert_string_equal(process(f, "02-update.eml", "vv@example.org", &o),
			    "added");
	assert_int_equal(stored_uids(f, "vv@example.org"), 1);
}

/* require_authentication = dmarc: a message without any
   Authentication-Results counts as authenticated only when it arrived on
   one of trusted_submission_ports (the adapter's ctx.local_port). */
static void test_submission_port(void **state)
{
	struct fixture *f = *state;
	unsigned int port = 10024;

	f->config->require_authentication = IMIP_REQUIRE_AUTH_DMARC;
	g_ptr_array_add(f->config->trusted_authserv_ids,
			g_strdup("mx.example.com"));
	g_array_append_val(f->config->trusted_submission_ports, port);

	/* unknown (dovecot-lda, a UNIX socket) and another port: refused */
	f->ctx.local_port = 0;
	assert_string_equal(process(f, "01-invitation.eml", VINCENT, NULL),
			    "rejected");
	f->ctx.local_port = 24;
	assert_string_equal(process(f, "01-invitation.eml", VINCENT, NULL),
			    "rejected");
	assert_int_equal(stored_uids(f, VINCENT), 0);
	/* the trusted port: acted on (the refusals were not remembered) */
	f->ctx.local_port = 10024;
	assert_string_equal(process(f, "01-invitation.eml", VINCENT, NULL),
			    "added");
	assert_int_equal(stored_uids(f, VINCENT), 1);
}

/* Without require_authentication the port changes nothing. */
static void test_submission_port_unused_without_dmarc(void **state)
{
	struct fixture *f = *state;
	unsigned int port = 10024;

	g_array_append_val(f->config->trusted_submission_ports, port);
	f->ctx.local_port = 24;
	assert_string_equal(process(f, "01-invitation.eml", VINCENT, NULL),
			    "added");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_updates_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invites_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_public, setup, teardown),
		cmocka_unit_test_setup_teardown(test_organizers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_cancelled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submission_port, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_submission_port_unused_without_dmarc, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
