/* store_name_encode/decode: names from the wire never escape the store
   (DESIGN.md rule 5) and two values never share a file. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <limits.h>
#include <cmocka.h>
#include <glib.h>

#include "store-name.h"

/* What every encoded name must look like to be a safe path component. */
static void assert_safe_component(const char *name)
{
	assert_non_null(name);
	assert_true(strlen(name) > 0);
	assert_true(strlen(name) <= NAME_MAX);
	assert_null(strchr(name, '/'));
	assert_int_not_equal(name[0], '.');
	for (const char *p = name; *p != '\0'; p++)
		assert_true((unsigned char)*p > 0x20 &&
			    (unsigned char)*p < 0x7f);
}

static void assert_round_trip(const char *raw)
{
	char *enc = store_name_encode(raw);
	char *dec;

	assert_safe_component(enc);
	dec = store_name_decode(enc);
	assert_non_null(dec);
	assert_string_equal(dec, raw);
	g_free(dec);
	g_free(enc);
}

static void assert_encodes_to(const char *raw, const char *expected)
{
	char *enc = store_name_encode(raw);

	assert_string_equal(enc, expected);
	g_free(enc);
}

static void test_plain_names_stay_readable(void **state)
{
	(void)state;
	assert_encodes_to("paul.boddie@example.com", "paul.boddie@example.com");
	assert_encodes_to("20141113T230000Z", "20141113T230000Z");
	assert_encodes_to("abc-DEF_1+2=3,4", "abc-DEF_1+2=3,4");
}

static void test_hostile_names_are_escaped(void **state)
{
	(void)state;
	assert_encodes_to("../../x", "%2E.%2F..%2Fx");
	assert_encodes_to("a/b", "a%2Fb");
	assert_encodes_to(".hidden", "%2Ehidden");
	assert_encodes_to(".", "%2E");
	assert_encodes_to("..", "%2E.");
	assert_encodes_to("%41", "%2541");
	assert_encodes_to("a b\tc\n", "a%20b%09c%0A");
	assert_encodes_to("", "%00");
	/* UTF-8 bytes are escaped one by one */
	assert_encodes_to("\xc3\xa9", "%C3%A9");
}

static void test_round_trips(void **state)
{
	static const char *const values[] = {
		"../../x", "a/b", ".hidden", "", "%41", "%", "%%", "%00",
		"a..b", "\xc3\xa9t\xc3\xa9@example.com", "x\r\ny", "~user",
		"{uid}", "040000008200E00074C5B7101A82E008",
		"mailto:Paul.Boddie@Example.com", ".", "..", "...",
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(values); i++)
		assert_round_trip(values[i]);
}

static void test_every_byte_round_trips(void **state)
{
	char raw[256];

	(void)state;
	for (int i = 1; i < 256; i++)
		raw[i - 1] = (char)i;
	raw[255] = '\0';
	/* 255 bytes: too long, hashed; so test in slices */
	for (int start = 0; start < 255; start += 40) {
		char slice[41];

		g_strlcpy(slice, raw + start, sizeof(slice));
		assert_round_trip(slice);
	}
}

static void test_long_names_are_hashed(void **state)
{
	char *raw = g_strnfill(1000, 'a');
	char *raw2 = g_strnfill(1000, 'a');
	char *enc, *enc2, *digest;

	(void)state;
	raw2[999] = 'b';
	enc = store_name_encode(raw);
	enc2 = store_name_encode(raw2);
	assert_safe_component(enc);
	assert_true(g_str_has_prefix(enc, "%%"));
	digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, raw, -1);
	assert_string_equal(enc + 2, digest);
	assert_string_not_equal(enc, enc2);
	assert_null(store_name_decode(enc));
	g_free(digest);
	g_free(enc);
	g_free(enc2);
	g_free(raw);
	g_free(raw2);
}

static void test_length_boundary(void **state)
{
	char *raw200 = g_strnfill(200, 'x');
	char *raw201 = g_strnfill(201, 'x');
	/* 67 escaped bytes = 201 encoded bytes */
	char *esc67 = g_strnfill(67, '/');
	char *enc;

	(void)state;
	assert_round_trip(raw200);
	enc = store_name_encode(raw201);
	assert_true(g_str_has_prefix(enc, "%%"));
	g_free(enc);
	enc = store_name_encode(esc67);
	assert_true(g_str_has_prefix(enc, "%%"));
	g_free(enc);
	esc67[66] = '\0';
	assert_round_trip(esc67);
	g_free(raw200);
	g_free(raw201);
	g_free(esc67);
}

static void test_decode_rejects_non_canonical(void **state)
{
	static const char *const bad[] = {
		"%41",		/* 'A' is written as itself */
		"%2e",		/* lower-case hex */
		"%2",		/* truncated */
		"%",
		"%0041",	/* NUL */
		".hidden",	/* leading dot is never plain */
		"a/b",
		"a b",
		"",
		"%%abc",	/* a hash */
		"x%2Ex",	/* '.' inside is plain */
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *dec = store_name_decode(bad[i]);

		if (dec != NULL)
			fail_msg("decoded \"%s\" to \"%s\"", bad[i], dec);
	}
	assert_null(store_name_encode(NULL));
	assert_null(store_name_decode(NULL));
}

static void test_distinct_values_distinct_names(void **state)
{
	static const char *const values[] = {
		"a", "A", "%41", "%2541", "", "%00", ".a", "%2Ea", "a.",
		"a%", "a%25",
	};
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
		char *enc = store_name_encode(values[i]);

		assert_false(g_hash_table_contains(seen, enc));
		g_hash_table_add(seen, enc);
	}
	g_hash_table_destroy(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_names_stay_readable),
		cmocka_unit_test(test_hostile_names_are_escaped),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_every_byte_round_trips),
		cmocka_unit_test(test_long_names_are_hashed),
		cmocka_unit_test(test_length_boundary),
		cmocka_unit_test(test_decode_rejects_non_canonical),
		cmocka_unit_test(test_distinct_values_distinct_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
