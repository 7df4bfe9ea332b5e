/* File names for values from the wire (DESIGN.md rule 5).

   Encoding (docs/store.md, "Names"):
   - bytes A-Z a-z 0-9 @ _ + = , - and '.' stand for themselves, except a
     '.' in the first position (hidden files, "." and "..");
   - every other byte, '%' included, becomes '%' and two upper-case hex
     digits;
   - the empty string becomes "%00" (NUL never occurs inside a C string, so
     no other input encodes to it);
   - a result longer than STORE_NAME_MAX_ENCODED bytes is replaced by
     "%%" followed by the lower-case hex SHA-256 of the raw value.  Nothing
     else starts with "%%", so the mapping stays injective (short of a
     SHA-256 collision), but it cannot be decoded: callers recover such a
     value from the file's content.

   Decoding accepts exactly the strings encoding produces (canonical form
   only: "%41" is not a name, since 'A' would be written as itself), so a
   file planted by hand with a non-canonical name is ignored rather than
   aliased onto another value. */

#include "store-name.h"

#include <string.h>
#include <glib.h>

/* Well under NAME_MAX (255) so that a temporary-file suffix still fits. */
#define STORE_NAME_MAX_ENCODED 200

static bool store_name_byte_is_plain(unsigned char c, size_t pos)
{
	if (g_ascii_isalnum(c))
		return true;
	switch (c) {
	case '@': case '_': case '+': case '=': case ',': case '-':
		return true;
	case '.':
		return pos > 0;
	default:
		return false;
	}
}

char *store_name_encode(const char *raw)
{
	static const char hex[] = "0123456789ABCDEF";
	GString *out;
	size_t i;

	if (raw == NULL)
		return NULL;
	if (*raw == '\0')
		return g_strdup("%00");
	out = g_string_sized_new(strlen(raw) + 8);
	for (i = 0; raw[i] != '\0'; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (store_name_byte_is_plain(c, i)) {
			g_string_append_c(out, (char)c);
		} else {
			g_string_append_c(out, '%');
			g_string_append_c(out, hex[c >> 4]);
			g_string_append_c(out, hex[c & 0x0f]);
		}
		if (out->len > STORE_NAME_MAX_ENCODED)
			break;
	}
	if (out->len > STORE_NAME_MAX_ENCODED) {
		char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
							     raw, -1);
		g_string_assign(out, "%%");
		g_string_append(out, digest);
		g_free(digest);
	}
	return g_string_free(out, FALSE);
}

static int store_name_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;		/* lower case is not canonical */
}

char *store_name_decode(const char *name)
{
	GString *out;
	size_t i, len;

	if (name == NULL)
		return NULL;
	len = strlen(name);
	if (len == 0 || len > STORE_NAME_MAX_ENCODED)
		return NULL;
	if (strcmp(name, "%00") == 0)
		return g_strdup("");
	out = g_string_sized_new(len);
	for (i = 0; i < len; ) {
		unsigned char c = (unsigned char)name[i];

		if (c == '%') {
			int hi, lo;
			unsigned char b;

			if (i + 2 >= len)
				goto bad;
			hi = store_name_hex_value(name[i + 1]);
			lo = store_name_hex_value(name[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			b = (unsigned char)(hi << 4 | lo);
			/* Canonical form only: a byte that encoding keeps as
			   itself must not appear escaped, and NUL never. */
			if (b == 0 || store_name_byte_is_plain(b, out->len))
				goto bad;
			g_string_append_c(out, (char)b);
			i += 3;
		} else if (store_name_byte_is_plain(c, out->len)) {
			g_string_append_c(out, (char)c);
			i++;
		} else {
			goto bad;
		}
	}
	return g_string_free(out, FALSE);
bad:
	g_string_free(out, TRUE);
	return NULL;
}

void store_name_field_append(GString *out, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";

	if (value == NULL) {
		g_string_append_c(out, '-');
		return;
	}
	if (strcmp(value, "-") == 0) {
		g_string_append(out, "%2D");
		return;
	}
	for (const char *p = value; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || c == '%') {
			g_string_append_c(out, '%');
			g_string_append_c(out, hex[c >> 4]);
			g_string_append_c(out, hex[c & 0x0f]);
		} else {
			g_string_append_c(out, (char)c);
		}
	}
}

char *store_name_field_decode(const char *field, bool dash_is_null,
			      bool *ok_r)
{
	GString *out;

	*ok_r = true;
	if (dash_is_null && strcmp(field, "-") == 0)
		return NULL;
	out = g_string_sized_new(strlen(field));
	for (const char *p = field; *p != '\0'; p++) {
		if (*p != '%') {
			g_string_append_c(out, *p);
			continue;
		}
		if (!g_ascii_isxdigit(p[1]) || !g_ascii_isxdigit(p[2]) ||
		    (p[1] == '0' && p[2] == '0')) {
			*ok_r = false;
			g_string_free(out, TRUE);
			return NULL;
		}
		g_string_append_c(out, (char)(g_ascii_xdigit_value(p[1]) << 4 |
					      g_ascii_xdigit_value(p[2])));
		p += 2;
	}
	return g_string_free(out, FALSE);
}
