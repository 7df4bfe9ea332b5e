/* Authentication-Results (RFC 8601): the tokenizer, hostile inputs, and
   which header of a real message (read by mime-read) decides. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

#include "authres.h"
#include "config.h"
#include "mime-read.h"

static struct authres *parse_ok(const char *value)
{
	const char *error = NULL;
	struct authres *ar = authres_parse(value, &error);

	if (ar == NULL)
		fail_msg("\"%.80s\" not parsed: %s", value, error);
	return ar;
}

static void parse_fails(const char *value, const char *needle)
{
	const char *error = NULL;
	struct authres *ar = authres_parse(value, &error);

	if (ar != NULL)
		fail_msg("\"%.80s\" parsed, expected \"%s\"", value, needle);
	assert_non_null(error);
	if (strstr(error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", error, needle);
}

static const struct authres_result *result_at(const struct authres *ar,
					      unsigned int i)
{
	assert_true(i < ar->results->len);
	return g_ptr_array_index(ar->results, i);
}

static void test_parse_typical(void **state)
{
	struct authres *ar = parse_ok(
		" mx.example.com;\r\n"
		"\tdkim=pass (2048-bit key; unprotected) header.d=example.org "
		"header.i=@example.org header.b=\"Ab+/cd==\";\r\n"
		"\tspf=pass (mx.example.com: domain of a@example.org designates "
		"192.0.2.1 as permitted sender) smtp.mailfrom=a@example.org;\r\n"
		"\tdmarc=pass (p=NONE sp=NONE dis=NONE) header.from=Example.ORG");

	(void)state;
	assert_string_equal(ar->authserv_id, "mx.example.com");
	assert_int_equal(ar->results->len, 3);
	assert_string_equal(result_at(ar, 0)->method, "dkim");
	assert_string_equal(result_at(ar, 0)->result, "pass");
	assert_string_equal(authres_result_prop(result_at(ar, 0), "header", "b"),
			    "Ab+/cd==");
	assert_string_equal(authres_result_prop(result_at(ar, 0), "header", "i"),
			    "@example.org");
	assert_string_equal(authres_result_prop(result_at(ar, 1), "SMTP",
						"MailFrom"), "a@example.org");
	assert_string_equal(result_at(ar, 2)->method, "dmarc");
	assert_string_equal(authres_result_prop(result_at(ar, 2), "header",
						"from"), "Example.ORG");
	assert_null(authres_result_prop(result_at(ar, 2), "header", "d"));
	authres_free(&ar);
	assert_null(ar);
}

static void test_parse_forms(void **state)
{
	struct authres *ar;

	(void)state;
	/* version, no-result */
	ar = parse_ok("mx.example.com 1; none");
	assert_string_equal(ar->authserv_id, "mx.example.com");
	assert_int_equal(ar->results->len, 0);
	authres_free(&ar);
	ar = parse_ok("mx.example.com");
	assert_int_equal(ar->results->len, 0);
	authres_free(&ar);
	/* quoted authserv-id, comments everywhere, method version,
	   reason, upper case, quoted-pairs */
	ar = parse_ok("(c) \"mx \\\"q\\\" id\" (c2 (nested \\) ) x) ; "
		      "(a)DKIM(b)/(c)1(d)=(e)PASS(f) reason=\"good; sig\" "
		      "HEADER.D=(g)example.org ; dmarc=fail header.from=x.org;");
	assert_string_equal(ar->authserv_id, "mx \"q\" id");
	assert_int_equal(ar->results->len, 2);
	assert_string_equal(result_at(ar, 0)->method, "dkim");
	assert_string_equal(result_at(ar, 0)->result, "pass");
	assert_string_equal(result_at(ar, 0)->reason, "good; sig");
	assert_string_equal(authres_result_prop(result_at(ar, 0), "header", "d"),
			    "example.org");
	assert_string_equal(result_at(ar, 1)->result, "fail");
	authres_free(&ar);
	/* an empty property value is kept as "" */
	ar = parse_ok("mx; spf=none smtp.mailfrom=");
	assert_string_equal(authres_result_prop(result_at(ar, 0), "smtp",
						"mailfrom"), "");
	authres_free(&ar);
}

static void test_parse_malformed(void **state)
{
	(void)state;
	parse_fails(NULL, "no value");
	parse_fails("", "expected a value");
	parse_fails("   \r\n\t", "expected a value");
	parse_fails("(only a comment)", "expected a value");
	parse_fails("; dmarc=pass", "expected a value");
	parse_fails("mx.example.com; dmarc=pass (unterminated", "unterminated comment");
	parse_fails("mx.example.com; dmarc=pass ((a) b", "unterminated comment");
	parse_fails("mx.example.com (\\", "unterminated comment");
	parse_fails("mx.example.com; dmarc=pass (\\)", "unterminated comment");
	parse_fails("\"mx.example.com; dmarc=pass", "unterminated quoted string");
	parse_fails("\"mx\\", "unterminated quoted string");
	parse_fails("mx; dmarc=pass header.from=\"example.org",
		    "unterminated quoted string");
	parse_fails("mx; dmarc pass", "expected method=result");
	parse_fails("mx; =pass", "expected a value");
	parse_fails("mx; dmarc=", "expected a value");
	parse_fails("mx; dmarc=;", "expected a value");
	parse_fails("mx; dmarc=pass header.from", "expected ptype.property=value");
	parse_fails("mx; dmarc=pass from=example.org", "expected ptype.property=value");
	parse_fails("mx; dmarc=pass .from=example.org", "expected ptype.property=value");
	parse_fails("mx; none; dmarc=pass", "results after 'none'");
	parse_fails("mx; dmarc=pass; none", "expected method=result");
	parse_fails("mx 1x; dmarc=pass", "expected ';'");
	parse_fails("mx other; dmarc=pass", "expected ';'");
}

static void test_parse_huge(void **state)
{
	GString *s = g_string_new("mx.example.com");
	struct authres *ar;
	char *deep;

	(void)state;
	/* many results, just under the limit: read, linearly */
	while (s->len < AUTHRES_MAX_VALUE_LEN - 40)
		g_string_append(s, "; spf=pass smtp.mailfrom=a@b.example");
	ar = parse_ok(s->str);
	assert_true(ar->results->len > 1000);
	authres_free(&ar);
	/* over the limit: refused without being read */
	while (s->len <= AUTHRES_MAX_VALUE_LEN)
		g_string_append(s, "; dmarc=pass header.from=example.org");
	parse_fails(s->str, "too long");
	g_string_free(s, TRUE);

	/* deep nesting does not recurse */
	s = g_string_new("mx ");
	for (int i = 0; i < 30000; i++)
		g_string_append_c(s, '(');
	deep = g_strdup(s->str);
	parse_fails(deep, "unterminated comment");
	for (int i = 0; i < 30000; i++)
		g_string_append_c(s, ')');
	g_string_append(s, "; dmarc=pass header.from=example.org");
	ar = parse_ok(s->str);
	assert_string_equal(result_at(ar, 0)->result, "pass");
	authres_free(&ar);
	g_free(deep);
	g_string_free(s, TRUE);

	/* one enormous token */
	s = g_string_new("mx; dmarc=pass header.from=");
	while (s->len < AUTHRES_MAX_VALUE_LEN - 1)
		g_string_append_c(s, 'a');
	ar = parse_ok(s->str);
	assert_int_equal(strlen(authres_result_prop(result_at(ar, 0), "header",
						    "from")),
			 AUTHRES_MAX_VALUE_LEN - 1 - strlen("mx; dmarc=pass header.from="));
	authres_free(&ar);
	g_string_free(s, TRUE);
}

static void test_parse_bytes(void **state)
{
	struct authres *ar;
	char all[256];

	(void)state;
	/* every byte value (but NUL) after a valid prefix: refused or read,
	   never a crash */
	for (int c = 1; c < 256; c++) {
		char *v;
		const char *error;

		all[c - 1] = (char)c;
		v = g_strdup_printf("mx; dmarc=pass header.from=a%cb", c);
		ar = authres_parse(v, &error);
		authres_free(&ar);
		g_free(v);
	}
	all[255] = '\0';
	ar = authres_parse(all, &(const char *){ NULL });
	authres_free(&ar);
	/* 8-bit text inside a token is part of it */
	ar = parse_ok("mx.\xc3\xa9xample.com; dmarc=pass header.from=\xc3\xa9.org");
	assert_string_equal(ar->authserv_id, "mx.\xc3\xa9xample.com");
	authres_free(&ar);
}

/* --- which header decides ------------------------------------------------ */

static GPtrArray *trusted;

static bool judge(const char *headers, const char *sub_name,
		  const char *sub_value, char **reason_r)
{
	char *text = g_strconcat(headers,
				 "Content-Type: text/plain\r\n\r\nbody\r\n", NULL);
	struct mime_message *msg = mime_message_read(text, strlen(text), NULL);
	struct authres_policy policy = {
		.trusted_ids = trusted,
		.submission_name = sub_name,
		.submission_value = sub_value,
	};
	bool ok;

	assert_non_null(msg);
	assert_null(msg->problem);
	ok = authres_sender_is_authenticated(msg->headers, msg->from, &policy,
					     reason_r);
	if (ok)
		assert_null(*reason_r);
	else
		assert_non_null(*reason_r);
	mime_message_free(&msg);
	g_free(text);
	return ok;
}

static void expect(bool authenticated, const char *headers,
		   const char *reason_part)
{
	char *reason = NULL;
	bool ok = judge(headers, "X-Imip-Submitted", "local", &reason);

	if (ok != authenticated)
		fail_msg("expected %s, reason: %s",
			 authenticated ? "authenticated" : "refused",
			 reason != NULL ? reason : "(none)");
	if (reason_part != NULL && strstr(reason, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", reason, reason_part);
	g_free(reason);
}

#define SENDER "From: Paul <paul@example.org>\r\nTo: v@example.com\r\n" \
	"Subject: Meeting\r\n"
#define RECEIVED "Received: from relay.example.org by mx.example.com\r\n"

static void test_headers_read_in_order(void **state)
{
	const char *text = "Return-Path: <a@example.org>\r\n"
		"Authentication-Results: mx.example.com; none\r\n"
		"Received: by x\r\n\tfolded\r\n" SENDER
		"\r\nbody\r\n";
	struct mime_message *msg = mime_message_read(text, strlen(text), NULL);
	const struct mime_header *h;

	(void)state;
	assert_true(msg->headers->len >= 6);
	h = g_ptr_array_index(msg->headers, 0);
	assert_string_equal(h->name, "Return-Path");
	h = g_ptr_array_index(msg->headers, 1);
	assert_string_equal(h->name, "Authentication-Results");
	assert_non_null(strstr(h->value, "mx.example.com; none"));
	h = g_ptr_array_index(msg->headers, 2);
	assert_string_equal(h->name, "Received");
	assert_non_null(strstr(h->value, "folded"));
	h = g_ptr_array_index(msg->headers, 3);
	assert_string_equal(h->name, "From");
	mime_message_free(&msg);
}

static void test_decision(void **state)
{
	(void)state;
	/* aligned pass from the trusted id, below Received and trace */
	expect(true, "Return-Path: <paul@example.org>\r\nDelivered-To: v@example.com\r\n"
	       RECEIVED "Authentication-Results: mx.example.com; spf=pass "
	       "smtp.mailfrom=paul@example.org; dmarc=pass header.from=example.org\r\n"
	       SENDER, NULL);
	/* case-insensitive id, domain, header.from as an address */
	expect(true, "Authentication-Results: MX.Example.COM; "
	       "dmarc=pass header.from=paul@EXAMPLE.org\r\n" SENDER, NULL);
	/* no header at all */
	expect(false, SENDER, "no dmarc=pass from a trusted authserv-id");
	/* untrusted id */
	expect(false, "Authentication-Results: evil.example.net; dmarc=pass "
	       "header.from=example.org\r\n" SENDER,
	       "no dmarc=pass from a trusted authserv-id");
	/* untrusted above, trusted pass below, still in the trace block */
	expect(true, "Authentication-Results: evil.example.net; dmarc=fail "
	       "header.from=example.org\r\n" RECEIVED
	       "Authentication-Results: mx.example.com; dmarc=pass "
	       "header.from=example.org\r\n" SENDER, NULL);
	/* trusted fail */
	expect(false, "Authentication-Results: mx.example.com; dmarc=fail "
	       "(p=reject) header.from=example.org\r\n" SENDER,
	       "dmarc=fail from trusted authserv-id mx.example.com");
	/* first trusted header is THE result: a pass below it is not read */
	expect(false, "Authentication-Results: mx.example.com; dmarc=fail "
	       "header.from=example.org\r\n" RECEIVED
	       "Authentication-Results: mx.example.com; dmarc=pass "
	       "header.from=example.org\r\n" SENDER, "dmarc=fail");
	/* no dmarc result in the trusted header */
	expect(false, "Authentication-Results: mx.example.com; spf=pass "
	       "smtp.mailfrom=paul@example.org\r\n" SENDER, "no dmarc result");
	/* forged trusted header inside what the sender wrote */
	expect(false, RECEIVED SENDER "Authentication-Results: mx.example.com; "
	       "dmarc=pass header.from=example.org\r\n",
	       "no dmarc=pass from a trusted authserv-id");
	/* not aligned */
	expect(false, "Authentication-Results: mx.example.com; dmarc=pass "
	       "header.from=attacker.example.net\r\n" SENDER,
	       "header.from attacker.example.net, not aligned with the From "
	       "domain example.org");
	/* organisational-domain alignment is not assumed */
	expect(false, "Authentication-Results: mx.example.com; dmarc=pass "
	       "header.from=mail.example.org\r\n" SENDER, "not aligned");
	/* pass without header.from */
	expect(false, "Authentication-Results: mx.example.com; dmarc=pass\r\n"
	       SENDER, "header.from (none)");
	/* a hostile header.from is not quoted in the reason */
	expect(false, "Authentication-Results: mx.example.com; dmarc=pass "
	       "header.from=\"a\\\"b\r\n x\"\r\n" SENDER, "(invalid)");
	/* a trusted header that cannot be read counts, as a refusal */
	expect(false, "Authentication-Results: mx.example.com; dmarc=pass "
	       "(unterminated\r\n" SENDER, "not well formed (unterminated comment)");
	/* an unreadable untrusted one is skipped */
	expect(true, "Authentication-Results: evil; dmarc=pass (x\r\n"
	       "Authentication-Results: mx.example.com; dmarc=pass "
	       "header.from=example.org\r\n" SENDER, NULL);
	/* submission marker at the top */
	expect(true, "X-Imip-Submitted:  LOCAL \r\n" RECEIVED SENDER, NULL);
	/* ... but not among the sender's headers, nor with another value */
	expect(false, RECEIVED SENDER "X-Imip-Submitted: local\r\n", NULL);
	expect(false, "X-Imip-Submitted: remote\r\n" SENDER, NULL);
	/* no From */
	expect(false, "Authentication-Results: mx.example.com; dmarc=pass "
	       "header.from=example.org\r\nSubject: x\r\n", "From domain (none)");
}

static void test_no_submission_marker(void **state)
{
	char *reason = NULL;

	(void)state;
	/* without the marker configured the header is not trace: it ends
	   the trace block */
	assert_false(judge("X-Imip-Submitted: local\r\n"
			   "Authentication-Results: mx.example.com; dmarc=pass "
			   "header.from=example.org\r\n" SENDER, NULL, NULL,
			   &reason));
	g_free(reason);
	reason = NULL;
	assert_true(authres_header_is_trace("received", NULL));
	assert_true(authres_header_is_trace("X-Spam-Status", NULL));
	assert_true(authres_header_is_trace("arc-seal", NULL));
	/* Cyrus lmtpd writes these above the MTA's own headers */
	assert_true(authres_header_is_trace("X-Cyrus-Session-Id", NULL));
	assert_true(authres_header_is_trace("X-Sieve", NULL));
	assert_false(authres_header_is_trace("Subject", NULL));
	assert_false(authres_header_is_trace("X-Imip-Submitted", NULL));
	assert_true(authres_header_is_trace("x-imip-submitted",
					    "X-Imip-Submitted"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_typical),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_huge),
		cmocka_unit_test(test_parse_bytes),
		cmocka_unit_test(test_headers_read_in_order),
		cmocka_unit_test(test_decision),
		cmocka_unit_test(test_no_submission_marker),
	};
	int r;

	mime_init();
	trusted = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(trusted, g_strdup("other.example.com"));
	g_ptr_array_add(trusted, g_strdup("mx.example.com"));
	r = cmocka_run_group_tests(tests, NULL, NULL);
	g_ptr_array_free(trusted, TRUE);
	return r;
}
