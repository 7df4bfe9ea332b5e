/* cyrus-list: Cyrus's list syntax (callout requests, cyrus.header dlists):
   atoms, quoted strings, literals with NUL bytes, NIL, nested and %( )
   lists, lookup, and hostile input that must fail cleanly. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

#include "cyrus-list.h"

/* The request Cyrus 3.6 sent for an LMTP delivery (docs/cyrus.md 2.4). */
#define REAL_REQUEST \
	"(FILENAME \"/srv/cyrus/data/uuid/i/n/inpy3c494tit5z78crv3j5bu/17.\" " \
	"ANNOTATIONS () FLAGS ($imip_added) BODY ((\"TEXT\" \"PLAIN\" " \
	"(\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 18 1 NIL NIL NIL NIL " \
	"(OFFSET 579 HEADERSIZE 43))(\"TEXT\" \"CALENDAR\" (\"CHARSET\" " \
	"\"utf-8\" \"METHOD\" \"REQUEST\") NIL NIL \"7BIT\" 414 16 NIL NIL " \
	"NIL NIL (OFFSET 707 HEADERSIZE 95)) \"ALTERNATIVE\" (\"BOUNDARY\" " \
	"\"BOUNDARY1\") NIL NIL NIL) " \
	"GUID d6afda3cb379e54d03f3eb7f33793188931e0f11)"

/* Parse a copy of exactly `len` bytes (no terminating NUL after it), so
   that AddressSanitizer sees any read past the end. */
static struct cyrus_list_value *parse_exact(const char *data, size_t len,
					    size_t *end_r,
					    const char **error_r)
{
	char *copy = g_malloc(len > 0 ? len : 1);
	struct cyrus_list_value *v;

	memcpy(copy, data, len);
	*error_r = NULL;
	v = cyrus_list_parse(copy, len, end_r, error_r);
	g_free(copy);
	return v;
}

static struct cyrus_list_value *parse_ok(const char *data, size_t len,
					 size_t expected_end)
{
	const char *error = NULL;
	size_t end = (size_t)-1;
	struct cyrus_list_value *v = parse_exact(data, len, &end, &error);

	if (v == NULL)
		fail_msg("parse of \"%.*s\" failed: %s", (int)len, data, error);
	assert_int_equal(end, expected_end);
	return v;
}

static void parse_fails(const char *data, size_t len, const char *needle)
{
	const char *error = NULL;
	size_t end = 12345;
	struct cyrus_list_value *v = parse_exact(data, len, &end, &error);

	if (v != NULL)
		fail_msg("parse of \"%.*s\" succeeded", (int)len, data);
	assert_non_null(error);
	if (needle != NULL && strstr(error, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", error, needle);
}

#define PARSE_OK(s, end) parse_ok(s, sizeof(s) - 1, end)
#define PARSE_FAILS(s, needle) parse_fails(s, sizeof(s) - 1, needle)

static const struct cyrus_list_value *item(const struct cyrus_list_value *l,
					   guint i)
{
	assert_int_equal(l->kind, CYRUS_LIST_LIST);
	assert_true(i < l->items->len);
	return g_ptr_array_index(l->items, i);
}

static void assert_atom(const struct cyrus_list_value *v, const char *text)
{
	assert_int_equal(v->kind, CYRUS_LIST_ATOM);
	assert_string_equal(v->text, text);
	assert_int_equal(v->len, strlen(text));
	assert_string_equal(cyrus_list_text(v), text);
}

static void assert_str(const struct cyrus_list_value *v, const char *text)
{
	assert_int_equal(v->kind, CYRUS_LIST_STRING);
	assert_string_equal(v->text, text);
	assert_int_equal(v->len, strlen(text));
	assert_string_equal(cyrus_list_text(v), text);
}

static void test_atoms(void **state)
{
	struct cyrus_list_value *v;

	(void)state;
	v = PARSE_OK("user.alice", 10);
	assert_atom(v, "user.alice");
	cyrus_list_free(v);

	/* an atom stops at a space, a bracket or a quote */
	v = PARSE_OK("\\Seen rest", 5);
	assert_atom(v, "\\Seen");
	cyrus_list_free(v);
	v = PARSE_OK("$iMIP-added)", 11);
	assert_atom(v, "$iMIP-added");
	cyrus_list_free(v);
	v = PARSE_OK("abc\"def\"", 3);
	assert_atom(v, "abc");
	cyrus_list_free(v);
	v = PARSE_OK("john^doe(", 8);
	assert_atom(v, "john^doe");
	cyrus_list_free(v);

	/* leading spaces are skipped; a number is an atom */
	v = PARSE_OK("   579 ", 6);
	assert_atom(v, "579");
	cyrus_list_free(v);

	/* a lone % that opens no list is an atom */
	v = PARSE_OK("%", 1);
	assert_atom(v, "%");
	cyrus_list_free(v);
	v = PARSE_OK("%x", 2);
	assert_atom(v, "%x");
	cyrus_list_free(v);
}

static void test_nil(void **state)
{
	struct cyrus_list_value *v;

	(void)state;
	v = PARSE_OK("NIL", 3);
	assert_int_equal(v->kind, CYRUS_LIST_NIL);
	assert_null(cyrus_list_text(v));
	cyrus_list_free(v);
	v = PARSE_OK("nil)", 3);
	assert_int_equal(v->kind, CYRUS_LIST_NIL);
	cyrus_list_free(v);
	/* NIL only as a whole atom; "NIL" quoted is a string */
	v = PARSE_OK("NILS", 4);
	assert_atom(v, "NILS");
	cyrus_list_free(v);
	v = PARSE_OK("\"NIL\"", 5);
	assert_str(v, "NIL");
	cyrus_list_free(v);
}

static void test_quoted(void **state)
{
	struct cyrus_list_value *v;

	(void)state;
	v = PARSE_OK("\"hello world\"", 13);
	assert_str(v, "hello world");
	cyrus_list_free(v);
	v = PARSE_OK("\"\" x", 2);
	assert_str(v, "");
	cyrus_list_free(v);
	/* \" and \\ are escapes */
	v = PARSE_OK("\"a\\\"b\\\\c\"", 9);
	assert_str(v, "a\"b\\c");
	cyrus_list_free(v);
	/* brackets inside quotes are text */
	v = PARSE_OK("\"(a) {3}\"", 9);
	assert_str(v, "(a) {3}");
	cyrus_list_free(v);
	/* 8-bit bytes are kept as they are */
	v = PARSE_OK("\"Pl\xc3\xa4ne\"", 8);
	assert_str(v, "Pl\xc3\xa4ne");
	cyrus_list_free(v);
}

static void test_literals(void **state)
{
	static const char with_nul[] = "{5}\r\nab\0cd rest";
	struct cyrus_list_value *v;

	(void)state;
	v = PARSE_OK("{5}\r\nhello", 10);
	assert_str(v, "hello");
	cyrus_list_free(v);

	/* NUL bytes inside a literal are data; the length tells */
	v = parse_ok(with_nul, sizeof(with_nul) - 1, 10);
	assert_int_equal(v->kind, CYRUS_LIST_STRING);
	assert_int_equal(v->len, 5);
	assert_memory_equal(v->text, "ab\0cd", 5);
	assert_int_equal(v->text[5], '\0');
	cyrus_list_free(v);

	/* non-synchronising {n+} */
	v = PARSE_OK("{3+}\r\nabc)", 9);
	assert_str(v, "abc");
	cyrus_list_free(v);

	/* a bare LF after the count is tolerated */
	v = PARSE_OK("{3}\nabc", 7);
	assert_str(v, "abc");
	cyrus_list_free(v);

	/* empty literal */
	v = PARSE_OK("{0}\r\n", 5);
	assert_str(v, "");
	cyrus_list_free(v);

	/* quotes, brackets, CR LF inside a literal are data */
	v = PARSE_OK("{8}\r\n\"(\r\n)\"{}", 13);
	assert_int_equal(v->len, 8);
	assert_memory_equal(v->text, "\"(\r\n)\"{}", 8);
	cyrus_list_free(v);
}

static void test_lists(void **state)
{
	struct cyrus_list_value *v;
	const struct cyrus_list_value *inner;

	(void)state;
	v = PARSE_OK("()", 2);
	assert_int_equal(v->kind, CYRUS_LIST_LIST);
	assert_int_equal(v->items->len, 0);
	assert_null(cyrus_list_text(v));
	cyrus_list_free(v);

	v = PARSE_OK("(a \"b c\" NIL {1}\r\nd (e (f)) ()) trailing", 31);
	assert_int_equal(v->items->len, 6);
	assert_atom(item(v, 0), "a");
	assert_str(item(v, 1), "b c");
	assert_int_equal(item(v, 2)->kind, CYRUS_LIST_NIL);
	assert_str(item(v, 3), "d");
	inner = item(v, 4);
	assert_int_equal(inner->items->len, 2);
	assert_atom(item(inner, 0), "e");
	assert_int_equal(item(inner, 1)->items->len, 1);
	assert_atom(item(item(inner, 1), 0), "f");
	assert_int_equal(item(v, 5)->items->len, 0);
	cyrus_list_free(v);

	/* lists next to each other without a space, extra spaces */
	v = PARSE_OK("(  (a)(b)\"c\"(d)  )", 18);
	assert_int_equal(v->items->len, 4);
	assert_atom(item(item(v, 0), 0), "a");
	assert_atom(item(item(v, 1), 0), "b");
	assert_str(item(v, 2), "c");
	assert_atom(item(item(v, 3), 0), "d");
	cyrus_list_free(v);
}

static void test_kvlists(void **state)
{
	struct cyrus_list_value *v;
	const struct cyrus_list_value *acl;

	(void)state;
	v = PARSE_OK("%(T e N user.alice A %(alice lrswipkxtecdan "
		     "anyone p) U ())", 59);
	assert_int_equal(v->kind, CYRUS_LIST_LIST);
	assert_int_equal(v->items->len, 8);
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(v, "T")), "e");
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(v, "N")),
			    "user.alice");
	acl = cyrus_list_lookup(v, "A");
	assert_non_null(acl);
	assert_int_equal(acl->kind, CYRUS_LIST_LIST);
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(acl, "alice")),
			    "lrswipkxtecdan");
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(acl, "anyone")),
			    "p");
	assert_int_equal(cyrus_list_lookup(v, "U")->items->len, 0);
	cyrus_list_free(v);
}

static void test_lookup(void **state)
{
	struct cyrus_list_value *v;

	(void)state;
	v = PARSE_OK("(FILENAME \"/x\" Flags (a) guid abc B C odd)", 42);
	/* keys compare case-insensitively */
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(v, "filename")),
			    "/x");
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(v, "FILENAME")),
			    "/x");
	assert_non_null(cyrus_list_lookup(v, "FLAGS"));
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(v, "GUID")),
			    "abc");
	/* only keys (even positions) are looked at: "C" is B's value */
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(v, "b")), "C");
	assert_null(cyrus_list_lookup(v, "C"));
	assert_null(cyrus_list_lookup(v, "abc"));
	/* a last key without a value is not found */
	assert_null(cyrus_list_lookup(v, "odd"));
	assert_null(cyrus_list_lookup(v, "missing"));
	assert_null(cyrus_list_lookup(NULL, "FILENAME"));
	assert_null(cyrus_list_lookup(item(v, 0), "FILENAME"));
	/* a value of the wrong kind has no text */
	assert_null(cyrus_list_text(cyrus_list_lookup(v, "FLAGS")));
	assert_null(cyrus_list_text(NULL));
	cyrus_list_free(v);
	cyrus_list_free(NULL);
}

static void test_real_request(void **state)
{
	struct cyrus_list_value *v;
	const struct cyrus_list_value *flags, *body, *leaf, *ext;

	(void)state;
	v = PARSE_OK(REAL_REQUEST, sizeof(REAL_REQUEST) - 1);
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(v, "FILENAME")),
			    "/srv/cyrus/data/uuid/i/n/"
			    "inpy3c494tit5z78crv3j5bu/17.");
	assert_int_equal(cyrus_list_lookup(v, "FILENAME")->kind,
			 CYRUS_LIST_STRING);
	flags = cyrus_list_lookup(v, "FLAGS");
	assert_non_null(flags);
	assert_int_equal(flags->items->len, 1);
	assert_atom(item(flags, 0), "$imip_added");
	assert_int_equal(cyrus_list_lookup(v, "ANNOTATIONS")->items->len, 0);
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(v, "GUID")),
			    "d6afda3cb379e54d03f3eb7f33793188931e0f11");
	/* BODY: two leaves, then the subtype, each leaf with its
	   (OFFSET HEADERSIZE) extension */
	body = cyrus_list_lookup(v, "BODY");
	assert_non_null(body);
	assert_int_equal(body->items->len, 7);
	leaf = item(body, 1);
	assert_str(item(leaf, 1), "CALENDAR");
	assert_str(item(item(leaf, 2), 2), "METHOD");
	assert_str(item(item(leaf, 2), 3), "REQUEST");
	ext = item(leaf, leaf->items->len - 1);
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(ext, "OFFSET")),
			    "707");
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(ext,
							      "HEADERSIZE")),
			    "95");
	assert_str(item(body, 2), "ALTERNATIVE");
	cyrus_list_free(v);
}

/* A FILENAME Cyrus sends as a literal (it has a '%', '"' or 8-bit byte). */
static void test_request_with_literal_filename(void **state)
{
	static const char req[] =
		"(FILENAME {21}\r\n/var/spool/\"x%\xc3\xa4\"/17. "
		"ANNOTATIONS () FLAGS (\\seen $FromClient) GUID NIL)";
	struct cyrus_list_value *v;

	(void)state;
	v = PARSE_OK(req, sizeof(req) - 1);
	assert_string_equal(cyrus_list_text(cyrus_list_lookup(v, "FILENAME")),
			    "/var/spool/\"x%\xc3\xa4\"/17.");
	assert_int_equal(cyrus_list_lookup(v, "FLAGS")->items->len, 2);
	assert_int_equal(cyrus_list_lookup(v, "GUID")->kind, CYRUS_LIST_NIL);
	cyrus_list_free(v);
}

static void test_malformed(void **state)
{
	static const char nul_outside[] = "(a \0 b)";
	static const char nul_in_atom[] = "(ab\0)";

	(void)state;
	parse_fails("", 0, "missing");
	PARSE_FAILS("   ", "missing");
	PARSE_FAILS(")", NULL);
	PARSE_FAILS("(", "unterminated list");
	PARSE_FAILS("(a (b c)", "unterminated list");
	PARSE_FAILS("%(T e", "unterminated list");
	PARSE_FAILS("%(", "unterminated list");
	PARSE_FAILS("\"abc", "unterminated");
	PARSE_FAILS("(\"abc)", "unterminated");
	PARSE_FAILS("\"abc\\", "unterminated");
	PARSE_FAILS("\"ab\r\ncd\"", "line break");
	PARSE_FAILS("\"ab\ncd\"", "line break");
	PARSE_FAILS("{", "without a length");
	PARSE_FAILS("{}\r\n", "without a length");
	PARSE_FAILS("{3", "bad literal length");
	PARSE_FAILS("{3x}\r\nabc", "bad literal length");
	PARSE_FAILS("{-1}\r\nabc", "without a length");
	PARSE_FAILS("{3}", "line break");
	PARSE_FAILS("{3}\r", "line break");
	PARSE_FAILS("{3}abc", "line break");
	PARSE_FAILS("{3} \r\nabc", "line break");
	PARSE_FAILS("{4}\r\nabc", "past the end");
	PARSE_FAILS("({10}\r\nabc)", "past the end");
	PARSE_FAILS("{4294967296}\r\nabc", "past the end");
	PARSE_FAILS("{18446744073709551615}\r\nabc", "too long");
	PARSE_FAILS("{99999999999}\r\n", "too long");
	parse_fails(nul_outside, sizeof(nul_outside) - 1, "NUL");
	parse_fails(nul_in_atom, sizeof(nul_in_atom) - 1, "NUL");
}

static char *nested(unsigned int depth)
{
	GString *s = g_string_new(NULL);

	/* plain and %( lists mixed: both count */
	for (unsigned int i = 0; i < depth; i++)
		g_string_append(s, i % 3 == 0 ? "%(" : "(");
	g_string_append(s, "x");
	for (unsigned int i = 0; i < depth; i++)
		g_string_append_c(s, ')');
	return g_string_free(s, FALSE);
}

static void test_depth(void **state)
{
	char *ok = nested(CYRUS_LIST_MAX_DEPTH);
	char *deep = nested(CYRUS_LIST_MAX_DEPTH + 1);
	char *huge = g_strnfill(1000000, '(');
	struct cyrus_list_value *v;
	const struct cyrus_list_value *p;

	(void)state;
	v = parse_ok(ok, strlen(ok), strlen(ok));
	p = v;
	for (unsigned int i = 1; i < CYRUS_LIST_MAX_DEPTH; i++)
		p = item(p, 0);
	assert_atom(item(p, 0), "x");
	cyrus_list_free(v);

	parse_fails(deep, strlen(deep), "nested too deeply");
	/* a million open brackets: refused, no stack overflow */
	parse_fails(huge, strlen(huge), "nested too deeply");
	g_free(ok);
	g_free(deep);
	g_free(huge);
}

/* Every proper prefix of a request is incomplete: each must fail with an
   error, never crash or read past the end (AddressSanitizer build). */
static void test_every_truncation_fails(void **state)
{
	static const char lit[] =
		"(FILENAME {8}\r\n/a/b/17. FLAGS (\\Seen) X {4+}\r\na\0\"( "
		"Y \"q\\\"\" Z %(k v))";
	const char *inputs[] = { REAL_REQUEST, lit };
	const size_t lens[] = { sizeof(REAL_REQUEST) - 1, sizeof(lit) - 1 };

	(void)state;
	for (size_t k = 0; k < G_N_ELEMENTS(inputs); k++) {
		struct cyrus_list_value *v = parse_ok(inputs[k], lens[k],
						      lens[k]);

		cyrus_list_free(v);
		for (size_t n = 0; n < lens[k]; n++)
			parse_fails(inputs[k], n, NULL);
	}
}

/* Random bytes from the list alphabet: anything may come out, but no
   crash, no leak, and *end_r inside the buffer. */
static void test_random_input(void **state)
{
	static const char alphabet[] = "()%{}+\"\\ \r\n0123abcNIL\0";
	GRand *rand = g_rand_new_with_seed(20261128);

	(void)state;
	for (unsigned int round = 0; round < 20000; round++) {
		char buf[48];
		size_t len = (size_t)g_rand_int_range(rand, 0, sizeof(buf));
		const char *error = NULL;
		size_t end = 0;
		struct cyrus_list_value *v;

		for (size_t i = 0; i < len; i++)
			buf[i] = alphabet[g_rand_int_range(rand, 0,
						sizeof(alphabet) - 1)];
		v = parse_exact(buf, len, &end, &error);
		if (v != NULL) {
			assert_true(end <= len);
			cyrus_list_free(v);
		} else {
			assert_non_null(error);
		}
	}
	g_rand_free(rand);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atoms),
		cmocka_unit_test(test_nil),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_kvlists),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_real_request),
		cmocka_unit_test(test_request_with_literal_filename),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_every_truncation_fails),
		cmocka_unit_test(test_random_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
