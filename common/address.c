/* Calendar address normalisation: see address.h for the rules. */

#include "address.h"

#include <string.h>
#include <glib.h>

/* RFC 5321 limits a path to 256 octets; allow a little slack for display
   forms but refuse anything that is plainly not an address. */
#define ADDRESS_MAX_LEN 320

static bool address_is_acceptable(const char *s, size_t len)
{
	const char *at;
	size_t i;

	if (len == 0 || len > ADDRESS_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c == 0x7f || c == '<' || c == '>' ||
		    c == ',' || c == ';' || c == '/' || c == '\\')
			return false;
	}
	if (memchr(s, ':', len) != NULL)
		return false;
	/* the last '@': a quoted local part may hold one */
	at = g_strrstr_len(s, (gssize)len, "@");
	if (at == NULL || at == s || (size_t)(at - s) + 1 >= len)
		return false;
	/* a domain is dot-separated labels: no empty label */
	if (at[1] == '.' || s[len - 1] == '.' ||
	    g_strstr_len(at, (gssize)(len - (size_t)(at - s)), "..") != NULL)
		return false;
	return true;
}

char *address_normalize(const char *value)
{
	const char *p, *end;
	char *addr, *lower;
	bool bracketed;

	if (value == NULL)
		return NULL;
	p = value;
	while (g_ascii_isspace(*p))
		p++;
	end = p + strlen(p);
	while (end > p && g_ascii_isspace(end[-1]))
		end--;
	/* "<mailto:x@y>" and "mailto:<x@y>" both occur in calendar data
	   pasted from headers: one pair of brackets, on either side of the
	   scheme, so neither form gives one person a second identity. */
	bracketed = end > p && *p == '<' && end[-1] == '>';
	if (bracketed) {
		p++;
		end--;
	}
	if (end - p >= 7 && g_ascii_strncasecmp(p, "mailto:", 7) == 0)
		p += 7;
	if (!bracketed && end > p && *p == '<' && end[-1] == '>') {
		p++;
		end--;
	}
	if (!address_is_acceptable(p, (size_t)(end - p)))
		return NULL;
	addr = g_strndup(p, (size_t)(end - p));
	lower = g_ascii_strdown(addr, -1);
	g_free(addr);
	return lower;
}

bool address_equal(const char *a, const char *b)
{
	char *na = address_normalize(a);
	char *nb = address_normalize(b);
	bool equal = na != NULL && nb != NULL && strcmp(na, nb) == 0;

	g_free(na);
	g_free(nb);
	return equal;
}

char *address_to_uri(const char *value)
{
	char *addr = address_normalize(value);
	char *uri;

	if (addr == NULL)
		return NULL;
	uri = g_strconcat("mailto:", addr, NULL);
	g_free(addr);
	return uri;
}

const char *address_domain(const char *address)
{
	const char *at = address == NULL ? NULL : strrchr(address, '@');

	return at == NULL ? NULL : at + 1;
}
