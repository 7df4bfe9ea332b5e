/* Authentication-Results (RFC 8601) reader and the sender-authentication
   decision (authres.h).

   A small hand-written tokenizer: no C library for parsing these headers
   is among the project's Debian dependencies (OpenDMARC's and OpenDKIM's
   parsers are internal to those milters, not packaged libraries), and the
   grammar is small.  It reads, in one linear pass with no recursion:
   CFWS (white space, folding, comments in parentheses, nested, with
   quoted-pairs), the authserv-id (token or quoted-string), an optional
   version, then `; method[/version]=result` resinfos each followed by
   `reason=value` and `ptype.property=value` pairs, or `; none`.  Anything
   else makes the whole header not well formed: a header this program
   cannot read is never taken as a pass. */

#include "authres.h"
#include "address.h"
#include "mime-read.h"

#include <string.h>

struct authres_lex {
	const char *p;
	const char *end;
	const char *error;
};

/* White space and comments.  False on an unterminated comment. */
static bool authres_skip_cfws(struct authres_lex *l)
{
	for (;;) {
		while (l->p < l->end && g_ascii_isspace(*l->p))
			l->p++;
		if (l->p >= l->end || *l->p != '(')
			return true;
		l->p++;
		for (unsigned long depth = 1; depth > 0;) {
			char c;

			if (l->p >= l->end) {
				l->error = "unterminated comment";
				return false;
			}
			c = *l->p++;
			if (c == '\\') {
				if (l->p >= l->end) {
					l->error = "unterminated comment";
					return false;
				}
				l->p++;
			} else if (c == '(') {
				depth++;
			} else if (c == ')') {
				depth--;
			}
		}
	}
}

static bool authres_is_atom(char c, bool allow_eq)
{
	unsigned char u = (unsigned char)c;

	if (u <= 0x20 || u == 0x7f)
		return false;
	if (c == '(' || c == ')' || c == '"' || c == ';')
		return false;
	return allow_eq || c != '=';
}

static char *authres_read_quoted(struct authres_lex *l)
{
	GString *out = g_string_new(NULL);

	l->p++;		/* the opening quote */
	while (l->p < l->end && *l->p != '"') {
		if (*l->p == '\\') {
			l->p++;
			if (l->p >= l->end)
				break;
		}
		g_string_append_c(out, *l->p++);
	}
	if (l->p >= l->end) {
		l->error = "unterminated quoted string";
		g_string_free(out, TRUE);
		return NULL;
	}
	l->p++;		/* the closing quote */
	return g_string_free(out, FALSE);
}

/* A token or a quoted string; NULL (error set) when there is neither,
   unless `may_be_empty`. */
static char *authres_read_value(struct authres_lex *l, bool allow_eq,
				bool may_be_empty)
{
	const char *start = l->p;

	if (l->p < l->end && *l->p == '"')
		return authres_read_quoted(l);
	while (l->p < l->end && authres_is_atom(*l->p, allow_eq))
		l->p++;
	if (l->p == start && !may_be_empty) {
		l->error = "expected a value";
		return NULL;
	}
	return g_strndup(start, (gsize)(l->p - start));
}

static void authres_prop_free(gpointer p)
{
	struct authres_prop *prop = p;

	g_free(prop->ptype);
	g_free(prop->property);
	g_free(prop->value);
	g_free(prop);
}

static void authres_result_free(gpointer p)
{
	struct authres_result *r = p;

	g_free(r->method);
	g_free(r->result);
	g_free(r->reason);
	g_ptr_array_free(r->props, TRUE);
	g_free(r);
}

void authres_free(struct authres **arp)
{
	struct authres *ar = *arp;

	if (ar == NULL)
		return;
	*arp = NULL;
	g_free(ar->authserv_id);
	g_ptr_array_free(ar->results, TRUE);
	g_free(ar);
}

static char *authres_lower(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		*p = g_ascii_tolower(*p);
	return s;
}

/* After `method=result`: reason= and ptype.property= pairs up to the next
   ';' or the end. */
static bool authres_parse_props(struct authres_lex *l,
				struct authres_result *r)
{
	for (;;) {
		char *name, *value, *dot;

		if (!authres_skip_cfws(l))
			return false;
		if (l->p >= l->end || *l->p == ';')
			return true;
		name = authres_read_value(l, false, false);
		if (name == NULL)
			return false;
		if (!authres_skip_cfws(l) || l->p >= l->end || *l->p != '=') {
			if (l->error == NULL)
				l->error = "expected ptype.property=value";
			g_free(name);
			return false;
		}
		l->p++;
		if (!authres_skip_cfws(l)) {
			g_free(name);
			return false;
		}
		value = authres_read_value(l, true, true);
		if (value == NULL) {
			g_free(name);
			return false;
		}
		authres_lower(name);
		dot = strchr(name, '.');
		if (strcmp(name, "reason") == 0 && r->reason == NULL) {
			r->reason = value;
		} else if (dot != NULL && dot != name && dot[1] != '\0') {
			struct authres_prop *prop = g_new0(struct authres_prop, 1);

			prop->ptype = g_strndup(name, (gsize)(dot - name));
			prop->property = g_strdup(dot + 1);
			prop->value = value;
			g_ptr_array_add(r->props, prop);
		} else {
			l->error = "expected ptype.property=value";
			g_free(value);
			g_free(name);
			return false;
		}
		g_free(name);
	}
}

/* One resinfo after its ';': method[/version]=result and properties.
   Sets *none_r for the no-result form `; none`. */
static bool authres_parse_resinfo(struct authres_lex *l, struct authres *ar,
				  bool *none_r)
{
	struct authres_result *r;
	char *method, *result, *slash;

	*none_r = false;
	method = authres_read_value(l, false, false);
	if (method == NULL)
		return false;
	if (!authres_skip_cfws(l)) {
		g_free(method);
		return false;
	}
	/* method-version, written apart: "dkim (c) / (c) 1" */
	if (l->p < l->end && *l->p == '/') {
		char *version;

		l->p++;
		version = authres_skip_cfws(l) ?
			authres_read_value(l, false, false) : NULL;
		if (version == NULL || !authres_skip_cfws(l)) {
			g_free(version);
			g_free(method);
			return false;
		}
		g_free(version);
	}
	if (l->p >= l->end || *l->p != '=') {
		bool none = g_ascii_strcasecmp(method, "none") == 0;

		g_free(method);
		if (none && ar->results->len == 0) {
			*none_r = true;
			return true;
		}
		l->error = "expected method=result";
		return false;
	}
	l->p++;
	if (!authres_skip_cfws(l)) {
		g_free(method);
		return false;
	}
	result = authres_read_value(l, false, false);
	if (result == NULL) {
		g_free(method);
		return false;
	}
	slash = strchr(method, '/');
	if (slash != NULL)
		*slash = '\0';
	g_strstrip(method);
	r = g_new0(struct authres_result, 1);
	r->method = authres_lower(method);
	r->result = authres_lower(result);
	r->props = g_ptr_array_new_with_free_func(authres_prop_free);
	g_ptr_array_add(ar->results, r);
	return authres_parse_props(l, r);
}

static bool authres_all_digits(const char *s, const char *end)
{
	if (s >= end)
		return false;
	for (; s < end; s++) {
		if (!g_ascii_isdigit(*s))
			return false;
	}
	return true;
}

struct authres *authres_parse(const char *value, const char **error_r)
{
	size_t len = value == NULL ? 0 : strlen(value);
	struct authres_lex l = { .p = value, .end = value + len };
	struct authres *ar;
	char *id;
	bool none = false;

	if (value == NULL) {
		*error_r = "no value";
		return NULL;
	}
	if (len > AUTHRES_MAX_VALUE_LEN) {
		*error_r = "header too long";
		return NULL;
	}
	if (!authres_skip_cfws(&l)) {
		*error_r = l.error;
		return NULL;
	}
	id = authres_read_value(&l, false, false);
	if (id == NULL || *id == '\0') {
		g_free(id);
		*error_r = l.error != NULL ? l.error : "missing authserv-id";
		return NULL;
	}
	ar = g_new0(struct authres, 1);
	ar->authserv_id = id;
	ar->results = g_ptr_array_new_with_free_func(authres_result_free);
	if (!authres_skip_cfws(&l))
		goto bad;
	/* authres-version */
	if (l.p < l.end && g_ascii_isdigit(*l.p)) {
		const char *start = l.p;

		while (l.p < l.end && authres_is_atom(*l.p, false))
			l.p++;
		if (!authres_all_digits(start, l.p)) {
			l.error = "expected ';' after the authserv-id";
			goto bad;
		}
	}
	for (;;) {
		if (!authres_skip_cfws(&l))
			goto bad;
		if (l.p >= l.end)
			break;
		if (*l.p != ';' || none) {
			l.error = none ? "results after 'none'" :
				"expected ';'";
			goto bad;
		}
		l.p++;
		if (!authres_skip_cfws(&l))
			goto bad;
		if (l.p >= l.end)
			break;	/* a trailing ';' */
		if (!authres_parse_resinfo(&l, ar, &none))
			goto bad;
	}
	return ar;
bad:
	*error_r = l.error != NULL ? l.error : "not well formed";
	authres_free(&ar);
	return NULL;
}

const char *authres_result_prop(const struct authres_result *result,
				const char *ptype, const char *property)
{
	for (unsigned int i = 0; i < result->props->len; i++) {
		const struct authres_prop *prop =
			g_ptr_array_index(result->props, i);

		if (g_ascii_strcasecmp(prop->ptype, ptype) == 0 &&
		    g_ascii_strcasecmp(prop->property, property) == 0)
			return prop->value;
	}
	return NULL;
}

bool authres_header_is_trace(const char *name, const char *extra)
{
	static const char *const trace[] = {
		"Return-Path", "Received", "Authentication-Results",
		"ARC-Seal", "ARC-Message-Signature",
		"ARC-Authentication-Results", "DKIM-Signature",
		"Received-SPF", "Delivered-To", "X-Original-To",
		/* Cyrus lmtpd puts these above what the MTA added */
		"X-Cyrus-Session-Id", "X-Sieve",
	};

	if (extra != NULL && g_ascii_strcasecmp(name, extra) == 0)
		return true;
	for (size_t i = 0; i < G_N_ELEMENTS(trace); i++) {
		if (g_ascii_strcasecmp(name, trace[i]) == 0)
			return true;
	}
	return g_ascii_strncasecmp(name, "X-Spam-", 7) == 0 ||
	       g_ascii_strncasecmp(name, "X-Virus-", 8) == 0;
}

static bool authres_id_is_trusted(const struct authres_policy *policy,
				  const char *id)
{
	for (unsigned int i = 0; policy->trusted_ids != NULL &&
	     i < policy->trusted_ids->len; i++) {
		if (g_ascii_strcasecmp(g_ptr_array_index(policy->trusted_ids, i),
				       id) == 0)
			return true;
	}
	return false;
}

/* Only the authserv-id of a header that is otherwise not well formed. */
static char *authres_id_of(const char *value)
{
	struct authres_lex l = { .p = value, .end = value + strlen(value) };

	if (strlen(value) > AUTHRES_MAX_VALUE_LEN || !authres_skip_cfws(&l))
		return NULL;
	return authres_read_value(&l, false, false);
}

/* A value from the wire, quoted in a reason only if it looks like a
   domain name. */
static const char *authres_printable(const char *value)
{
	bool ok = value != NULL && *value != '\0' && strlen(value) <= 253;

	for (const char *p = value; ok && *p != '\0'; p++)
		ok = g_ascii_isalnum(*p) || *p == '.' || *p == '-' || *p == '_';
	return ok ? value : "(invalid)";
}

static const char *authres_domain_of(const char *value)
{
	const char *at = strrchr(value, '@');

	return at != NULL ? at + 1 : value;
}

/* THE trusted header: true on an aligned dmarc=pass, else a reason. */
static bool authres_judge(const struct authres *ar, const char *from_domain,
			  char **reason_r)
{
	const struct authres_result *first_dmarc = NULL;

	for (unsigned int i = 0; i < ar->results->len; i++) {
		const struct authres_result *r = g_ptr_array_index(ar->results, i);
		const char *hf;

		if (strcmp(r->method, "dmarc") != 0)
			continue;
		if (first_dmarc == NULL)
			first_dmarc = r;
		if (strcmp(r->result, "pass") != 0)
			continue;
		hf = authres_result_prop(r, "header", "from");
		if (hf != NULL && from_domain != NULL &&
		    g_ascii_strcasecmp(authres_domain_of(hf), from_domain) == 0)
			return true;
		first_dmarc = r;
	}
	if (first_dmarc == NULL) {
		*reason_r = g_strdup_printf("sender not authenticated: no dmarc "
					    "result from trusted authserv-id %s",
					    ar->authserv_id);
	} else if (strcmp(first_dmarc->result, "pass") != 0) {
		*reason_r = g_strdup_printf("sender not authenticated: dmarc=%s "
					    "from trusted authserv-id %s",
					    authres_printable(first_dmarc->result),
					    ar->authserv_id);
	} else {
		const char *hf = authres_result_prop(first_dmarc, "header", "from");

		*reason_r = g_strdup_printf("sender not authenticated: dmarc=pass "
					    "for header.from %s, not aligned "
					    "with the From domain %s",
					    hf != NULL ? authres_printable(
						    authres_domain_of(hf)) :
					    "(none)",
					    from_domain != NULL ?
					    authres_printable(from_domain) :
					    "(none)");
	}
	return false;
}

bool authres_sender_is_authenticated(const GPtrArray *headers,
				     const char *from_address,
				     const struct authres_policy *policy,
				     char **reason_r)
{
	const char *from_domain = from_address == NULL ? NULL :
		address_domain(from_address);

	*reason_r = NULL;
	for (unsigned int i = 0; headers != NULL && i < headers->len; i++) {
		const struct mime_header *h = g_ptr_array_index(headers, i);
		struct authres *ar;
		const char *error = NULL;
		bool ok;

		/* the end of the trace block: what the sender wrote */
		if (!authres_header_is_trace(h->name, policy->submission_name))
			break;
		if (policy->submission_name != NULL &&
		    policy->submission_value != NULL &&
		    g_ascii_strcasecmp(h->name, policy->submission_name) == 0) {
			char *value = g_strstrip(g_strdup(h->value));

			ok = g_ascii_strcasecmp(value, policy->submission_value) == 0;
			g_free(value);
			if (ok)
				return true;
			continue;
		}
		if (g_ascii_strcasecmp(h->name, "Authentication-Results") != 0)
			continue;
		ar = authres_parse(h->value, &error);
		if (ar == NULL) {
			char *id = authres_id_of(h->value);
			bool trusted = id != NULL &&
				authres_id_is_trusted(policy, id);

			if (trusted)
				*reason_r = g_strdup_printf(
					"sender not authenticated: the "
					"Authentication-Results header of trusted "
					"authserv-id %s is not well formed (%s)",
					id, error);
			g_free(id);
			if (trusted)
				return false;
			continue;
		}
		if (!authres_id_is_trusted(policy, ar->authserv_id)) {
			authres_free(&ar);
			continue;
		}
		ok = authres_judge(ar, from_domain, reason_r);
		authres_free(&ar);
		return ok;
	}
	*reason_r = g_strdup("sender not authenticated: no dmarc=pass from a "
			     "trusted authserv-id");
	return false;
}
