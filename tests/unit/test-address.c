/* Calendar addresses: one normal form for comparing and for naming the
   user's store. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

#include "address.h"

static void assert_normalizes(const char *in, const char *expected)
{
	char *out = address_normalize(in);

	if (expected == NULL) {
		if (out != NULL)
			fail_msg("\"%s\" normalised to \"%s\"",
				 in != NULL ? in : "(null)", out);
		return;
	}
	if (out == NULL)
		fail_msg("\"%s\" refused, expected \"%s\"", in, expected);
	assert_string_equal(out, expected);
	g_free(out);
}

static void test_normalize_forms(void **state)
{
	(void)state;
	assert_normalizes("paul.boddie@example.com", "paul.boddie@example.com");
	assert_normalizes("mailto:Paul.Boddie@Example.com",
			  "paul.boddie@example.com");
	assert_normalizes("MAILTO:paul.boddie@example.com",
			  "paul.boddie@example.com");
	assert_normalizes("MailTo:paul.boddie@example.com",
			  "paul.boddie@example.com");
	assert_normalizes("  vincent.vole@example.com\t\r\n",
			  "vincent.vole@example.com");
	assert_normalizes("<harvey.horse@example.com>",
			  "harvey.horse@example.com");
	assert_normalizes("mailto:<harvey.horse@example.com>",
			  "harvey.horse@example.com");
	assert_normalizes(" mailto:X@Y.example ", "x@y.example");
	/* '+' and quoted local parts are ordinary bytes */
	assert_normalizes("calendar+x@example.com", "calendar+x@example.com");
	/* the last '@' separates the domain */
	assert_normalizes("\"a@b\"@example.com", "\"a@b\"@example.com");
}

static void test_normalize_refuses(void **state)
{
	(void)state;
	assert_normalizes(NULL, NULL);
	assert_normalizes("", NULL);
	assert_normalizes("   ", NULL);
	assert_normalizes("mailto:", NULL);
	assert_normalizes("no-at-sign", NULL);
	assert_normalizes("@example.com", NULL);
	assert_normalizes("user@", NULL);
	assert_normalizes("Paul Boddie <paul.boddie@example.com>", NULL);
	assert_normalizes("a\nb@example.com", NULL);
	assert_normalizes("a\x01@example.com", NULL);
	assert_normalizes("a\x7f@example.com", NULL);
	assert_normalizes("a,b@example.com", NULL);
	assert_normalizes("a;b@example.com", NULL);
	assert_normalizes("../x@example.com", NULL);
	assert_normalizes("a\\b@example.com", NULL);
	assert_normalizes("<<a@example.com>>", NULL);

	/* 320 bytes is the limit */
	{
		char *local = g_strnfill(320 - 12, 'a');	/* "@example.com" */
		char *ok = g_strconcat(local, "@example.com", NULL);
		char *too_long = g_strconcat("a", ok, NULL);
		char *n;

		assert_int_equal(strlen(ok), 320);
		n = address_normalize(ok);
		assert_non_null(n);
		g_free(n);
		assert_null(address_normalize(too_long));
		g_free(local);
		g_free(ok);
		g_free(too_long);
	}
}

/* Outlook and some gateways write ORGANIZER values such as
   "<mailto:x@y>"; the "mailto:" inside the brackets must go too, or the
   same person gets a second identity (and a second store directory). */
static void test_bracketed_mailto(void **state)
{
	(void)state;
	assert_normalizes("<mailto:harvey.horse@example.com>",
			  "harvey.horse@example.com");
	assert_normalizes("mailto:mailto:harvey.horse@example.com", NULL);
}

static void test_equal(void **state)
{
	(void)state;
	assert_true(address_equal("mailto:Paul.Boddie@example.com",
				  "paul.boddie@EXAMPLE.com"));
	assert_true(address_equal("<x@y.example>", "MAILTO:X@Y.EXAMPLE"));
	assert_false(address_equal("paul.boddie@example.com",
				   "vincent.vole@example.com"));
	/* nothing equals an unusable address, not even itself */
	assert_false(address_equal("junk", "junk"));
	assert_false(address_equal(NULL, NULL));
	assert_false(address_equal("x@y.example", NULL));
}

static void test_to_uri(void **state)
{
	char *uri;

	(void)state;
	uri = address_to_uri("Paul.Boddie@Example.com");
	assert_string_equal(uri, "mailto:paul.boddie@example.com");
	g_free(uri);
	uri = address_to_uri("MAILTO:harvey.horse@example.com");
	assert_string_equal(uri, "mailto:harvey.horse@example.com");
	g_free(uri);
	assert_null(address_to_uri("not an address"));
	assert_null(address_to_uri(NULL));
}

static void test_domain(void **state)
{
	(void)state;
	assert_string_equal(address_domain("paul.boddie@example.com"),
			    "example.com");
	assert_string_equal(address_domain("\"a@b\"@example.org"),
			    "example.org");
	assert_null(address_domain("nodomain"));
	assert_null(address_domain(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_forms),
		cmocka_unit_test(test_normalize_refuses),
		cmocka_unit_test(test_bracketed_mailto),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_to_uri),
		cmocka_unit_test(test_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
