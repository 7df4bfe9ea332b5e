/* Cyrus's list syntax (cyrus-list.h).  Written from the grammar Cyrus
   emits; Cyrus's own reader is imap/dlist.c dlist_parse(). */

#include "cyrus-list.h"

#include <string.h>

struct cyrus_list_parser {
	const char *data;
	size_t len;
	size_t pos;
	const char *error;
};

static struct cyrus_list_value *cyrus_list_new(enum cyrus_list_kind kind)
{
	struct cyrus_list_value *v = g_new0(struct cyrus_list_value, 1);

	v->kind = kind;
	return v;
}

void cyrus_list_free(struct cyrus_list_value *value)
{
	if (value == NULL)
		return;
	g_free(value->text);
	if (value->items != NULL)
		g_ptr_array_free(value->items, TRUE);
	g_free(value);
}

static void cyrus_list_free_item(gpointer item)
{
	cyrus_list_free(item);
}

static bool cyrus_list_at_end(const struct cyrus_list_parser *p)
{
	return p->pos >= p->len;
}

static char cyrus_list_peek(const struct cyrus_list_parser *p)
{
	return cyrus_list_at_end(p) ? '\0' : p->data[p->pos];
}

static void cyrus_list_skip_space(struct cyrus_list_parser *p)
{
	while (!cyrus_list_at_end(p) && p->data[p->pos] == ' ')
		p->pos++;
}

static struct cyrus_list_value *cyrus_list_fail(struct cyrus_list_parser *p,
						const char *error)
{
	if (p->error == NULL)
		p->error = error;
	return NULL;
}

/* An atom ends at white space, a bracket that closes or opens a list, a
   quote or the end.  `\Seen`, `$iMIP-added`, `user.alice` are atoms. */
static bool cyrus_list_is_atom_char(char c)
{
	return c != '\0' && c != ' ' && c != '(' && c != ')' && c != '"' &&
		c != '{' && c != '\r' && c != '\n';
}

static struct cyrus_list_value *cyrus_list_atom(struct cyrus_list_parser *p)
{
	size_t start = p->pos;
	struct cyrus_list_value *v;

	while (!cyrus_list_at_end(p) &&
	       cyrus_list_is_atom_char(p->data[p->pos]))
		p->pos++;
	if (p->pos == start)
		return cyrus_list_fail(p, "unexpected character");
	if (p->pos - start == 3 &&
	    g_ascii_strncasecmp(p->data + start, "NIL", 3) == 0)
		return cyrus_list_new(CYRUS_LIST_NIL);
	v = cyrus_list_new(CYRUS_LIST_ATOM);
	v->len = p->pos - start;
	v->text = g_strndup(p->data + start, v->len);
	return v;
}

static struct cyrus_list_value *cyrus_list_quoted(struct cyrus_list_parser *p)
{
	GString *s = g_string_new(NULL);
	struct cyrus_list_value *v;

	p->pos++;	/* the opening quote */
	for (;;) {
		char c;

		if (cyrus_list_at_end(p)) {
			g_string_free(s, TRUE);
			return cyrus_list_fail(p, "unterminated quoted string");
		}
		c = p->data[p->pos++];
		if (c == '"')
			break;
		if (c == '\\') {
			if (cyrus_list_at_end(p)) {
				g_string_free(s, TRUE);
				return cyrus_list_fail(p, "unterminated "
						       "quoted string");
			}
			c = p->data[p->pos++];
		} else if (c == '\r' || c == '\n') {
			g_string_free(s, TRUE);
			return cyrus_list_fail(p, "line break in a quoted "
					       "string");
		}
		g_string_append_c(s, c);
	}
	v = cyrus_list_new(CYRUS_LIST_STRING);
	v->len = s->len;
	v->text = g_string_free(s, FALSE);
	return v;
}

/* {n}CRLF followed by n bytes; {n+} (non-synchronising) is accepted too.
   Some writers end the count line with a bare LF. */
static struct cyrus_list_value *cyrus_list_literal(struct cyrus_list_parser *p)
{
	struct cyrus_list_value *v;
	guint64 n = 0;
	size_t digits = 0;

	p->pos++;	/* { */
	while (!cyrus_list_at_end(p) && g_ascii_isdigit(p->data[p->pos])) {
		if (++digits > 10)
			return cyrus_list_fail(p, "literal too long");
		n = n * 10 + (guint64)(p->data[p->pos++] - '0');
	}
	if (digits == 0)
		return cyrus_list_fail(p, "literal without a length");
	if (cyrus_list_peek(p) == '+')
		p->pos++;
	if (cyrus_list_peek(p) != '}')
		return cyrus_list_fail(p, "bad literal length");
	p->pos++;
	if (cyrus_list_peek(p) == '\r')
		p->pos++;
	if (cyrus_list_peek(p) != '\n')
		return cyrus_list_fail(p, "literal length not followed by a "
				       "line break");
	p->pos++;
	if (n > p->len - p->pos)
		return cyrus_list_fail(p, "literal runs past the end");
	v = cyrus_list_new(CYRUS_LIST_STRING);
	v->len = (size_t)n;
	v->text = g_malloc(v->len + 1);
	memcpy(v->text, p->data + p->pos, v->len);	/* NULs included */
	v->text[v->len] = '\0';
	p->pos += v->len;
	return v;
}

static struct cyrus_list_value *cyrus_list_value(struct cyrus_list_parser *p,
						 unsigned int depth);

static struct cyrus_list_value *cyrus_list_list(struct cyrus_list_parser *p,
						unsigned int depth)
{
	struct cyrus_list_value *v;

	if (depth >= CYRUS_LIST_MAX_DEPTH)
		return cyrus_list_fail(p, "lists nested too deeply");
	p->pos++;	/* ( */
	v = cyrus_list_new(CYRUS_LIST_LIST);
	v->items = g_ptr_array_new_with_free_func(cyrus_list_free_item);
	for (;;) {
		struct cyrus_list_value *item;

		cyrus_list_skip_space(p);
		if (cyrus_list_at_end(p)) {
			cyrus_list_free(v);
			return cyrus_list_fail(p, "unterminated list");
		}
		if (p->data[p->pos] == ')') {
			p->pos++;
			return v;
		}
		item = cyrus_list_value(p, depth + 1);
		if (item == NULL) {
			cyrus_list_free(v);
			return NULL;
		}
		g_ptr_array_add(v->items, item);
	}
}

static struct cyrus_list_value *cyrus_list_value(struct cyrus_list_parser *p,
						 unsigned int depth)
{
	cyrus_list_skip_space(p);
	switch (cyrus_list_peek(p)) {
	case '\0':
		if (cyrus_list_at_end(p))
			return cyrus_list_fail(p, "value missing");
		return cyrus_list_fail(p, "NUL byte outside a literal");
	case '(':
		return cyrus_list_list(p, depth);
	case '%':
		/* a dlist key-value list %( ... ); %{ ... } (file or
		   buffer references) never occurs in what we read */
		if (p->pos + 1 < p->len && p->data[p->pos + 1] == '(') {
			p->pos++;
			return cyrus_list_list(p, depth);
		}
		return cyrus_list_atom(p);
	case '"':
		return cyrus_list_quoted(p);
	case '{':
		return cyrus_list_literal(p);
	default:
		return cyrus_list_atom(p);
	}
}

struct cyrus_list_value *cyrus_list_parse(const char *data, size_t len,
					  size_t *end_r,
					  const char **error_r)
{
	struct cyrus_list_parser p = { .data = data, .len = len };
	struct cyrus_list_value *v = cyrus_list_value(&p, 0);

	if (v == NULL) {
		*error_r = p.error != NULL ? p.error : "parse error";
		return NULL;
	}
	*end_r = p.pos;
	return v;
}

const struct cyrus_list_value *
cyrus_list_lookup(const struct cyrus_list_value *list, const char *key)
{
	if (list == NULL || list->kind != CYRUS_LIST_LIST)
		return NULL;
	for (guint i = 0; i + 1 < list->items->len; i += 2) {
		const struct cyrus_list_value *k = g_ptr_array_index(list->items, i);

		if (k->kind == CYRUS_LIST_ATOM &&
		    g_ascii_strcasecmp(k->text, key) == 0)
			return g_ptr_array_index(list->items, i + 1);
	}
	return NULL;
}

const char *cyrus_list_text(const struct cyrus_list_value *value)
{
	if (value == NULL || (value->kind != CYRUS_LIST_ATOM &&
			      value->kind != CYRUS_LIST_STRING))
		return NULL;
	return value->text;
}
