/* The short text a person's mailbox gets with a calendar message (the
   `incoming` preference, imip-preferences(5)): who sent it, one line per
   calendar object saying what arrived and what was recorded, and the
   overall outcome.

   Translations are a static table below, keyed by the language part of the
   user's LANG preference ("de", "de_DE.UTF-8", "de-AT" all select "de");
   anything unknown gives English.  gettext is not used: the library would
   then need installed catalogues and a process-wide locale, and it runs
   inside hosts (Dovecot, Cyrus) whose locale it must not touch.  To add a
   language, add one entry to summary_langs[].  The `reason` sentences come
   from the handlers and are not translated. */

#include "summary.h"
#include "imip.h"

#include <string.h>

/* Wire values (SUMMARY, UID) are shown, never trusted: cut to this many
   characters, control characters blanked. */
#define SUMMARY_FIELD_MAX_CHARS 200

enum summary_kind {
	SUMMARY_KIND_INVITATION,	/* REQUEST, new */
	SUMMARY_KIND_UPDATE,		/* REQUEST for a known object */
	SUMMARY_KIND_ADD,		/* ADD */
	SUMMARY_KIND_CANCEL,		/* CANCEL */
	SUMMARY_KIND_REPLY,		/* REPLY */
	SUMMARY_KIND_COUNTER,		/* COUNTER */
	SUMMARY_KIND_DECLINECOUNTER,	/* DECLINECOUNTER */
	SUMMARY_KIND_REFRESH,		/* REFRESH */
	SUMMARY_KIND_PUBLISH,		/* PUBLISH */
	SUMMARY_KIND_FREEBUSY,		/* any VFREEBUSY */
	SUMMARY_KIND_OTHER,		/* no or unknown METHOD */
	SUMMARY_KIND_COUNT
};

#define SUMMARY_OUTCOME_COUNT (IMIP_OUTCOME_ERROR + 1)

struct summary_lang {
	const char *code;
	/* "<from_before><address><from_after>" or `intro` without address */
	const char *from_before;
	const char *from_after;
	const char *intro;
	const char *untitled;
	const char *no_objects;
	const char *result;		/* followed by the outcome word */
	const char *kinds[SUMMARY_KIND_COUNT];
	const char *outcomes[SUMMARY_OUTCOME_COUNT];
};

static const struct summary_lang summary_langs[] = {
	{
		.code = "en",
		.from_before = "A calendar message from ",
		.from_after = " was processed.",
		.intro = "A calendar message was processed.",
		.untitled = "Untitled",
		.no_objects = "No calendar object was found in the message.",
		.result = "Result: ",
		.kinds = {
			[SUMMARY_KIND_INVITATION] = "invitation",
			[SUMMARY_KIND_UPDATE] = "update",
			[SUMMARY_KIND_ADD] = "additional occurrences",
			[SUMMARY_KIND_CANCEL] = "cancellation",
			[SUMMARY_KIND_REPLY] = "reply",
			[SUMMARY_KIND_COUNTER] = "counter-proposal",
			[SUMMARY_KIND_DECLINECOUNTER] =
				"declined counter-proposal",
			[SUMMARY_KIND_REFRESH] = "request for the latest version",
			[SUMMARY_KIND_PUBLISH] = "published event",
			[SUMMARY_KIND_FREEBUSY] = "free/busy information",
			[SUMMARY_KIND_OTHER] = "calendar object",
		},
		.outcomes = {
			[IMIP_OUTCOME_NO_ACTION] = "no action taken",
			[IMIP_OUTCOME_ADDED] = "added",
			[IMIP_OUTCOME_UPDATED] = "updated",
			[IMIP_OUTCOME_CANCELLED] = "cancelled",
			[IMIP_OUTCOME_REPLIED] = "answered",
			[IMIP_OUTCOME_REJECTED] = "rejected",
			[IMIP_OUTCOME_ERROR] = "could not be processed",
		},
	},
	{
		.code = "de",
		.from_before = "Eine Kalendernachricht von ",
		.from_after = " wurde verarbeitet.",
		.intro = "Eine Kalendernachricht wurde verarbeitet.",
		.untitled = "Ohne Titel",
		.no_objects = "Die Nachricht enthält kein Kalenderobjekt.",
		.result = "Ergebnis: ",
		.kinds = {
			[SUMMARY_KIND_INVITATION] = "Einladung",
			[SUMMARY_KIND_UPDATE] = "Aktualisierung",
			[SUMMARY_KIND_ADD] = "zusätzliche Termine",
			[SUMMARY_KIND_CANCEL] = "Absage",
			[SUMMARY_KIND_REPLY] = "Antwort",
			[SUMMARY_KIND_COUNTER] = "Gegenvorschlag",
			[SUMMARY_KIND_DECLINECOUNTER] =
				"abgelehnter Gegenvorschlag",
			[SUMMARY_KIND_REFRESH] =
				"Anfrage nach der aktuellen Fassung",
			[SUMMARY_KIND_PUBLISH] = "veröffentlichter Termin",
			[SUMMARY_KIND_FREEBUSY] = "Frei/Belegt-Information",
			[SUMMARY_KIND_OTHER] = "Kalenderobjekt",
		},
		.outcomes = {
			[IMIP_OUTCOME_NO_ACTION] = "keine Änderung",
			[IMIP_OUTCOME_ADDED] = "hinzugefügt",
			[IMIP_OUTCOME_UPDATED] = "aktualisiert",
			[IMIP_OUTCOME_CANCELLED] = "abgesagt",
			[IMIP_OUTCOME_REPLIED] = "beantwortet",
			[IMIP_OUTCOME_REJECTED] = "abgelehnt",
			[IMIP_OUTCOME_ERROR] = "konnte nicht verarbeitet werden",
		},
	},
	{
		.code = "fr",
		.from_before = "Un message de calendrier de ",
		.from_after = " a été traité.",
		.intro = "Un message de calendrier a été traité.",
		.untitled = "Sans titre",
		.no_objects = "Le message ne contient aucun objet de calendrier.",
		.result = "Résultat : ",
		.kinds = {
			[SUMMARY_KIND_INVITATION] = "invitation",
			[SUMMARY_KIND_UPDATE] = "mise à jour",
			[SUMMARY_KIND_ADD] = "occurrences supplémentaires",
			[SUMMARY_KIND_CANCEL] = "annulation",
			[SUMMARY_KIND_REPLY] = "réponse",
			[SUMMARY_KIND_COUNTER] = "contre-proposition",
			[SUMMARY_KIND_DECLINECOUNTER] =
				"contre-proposition refusée",
			[SUMMARY_KIND_REFRESH] =
				"demande de la dernière version",
			[SUMMARY_KIND_PUBLISH] = "événement publié",
			[SUMMARY_KIND_FREEBUSY] = "disponibilités",
			[SUMMARY_KIND_OTHER] = "objet de calendrier",
		},
		.outcomes = {
			[IMIP_OUTCOME_NO_ACTION] = "aucune action",
			[IMIP_OUTCOME_ADDED] = "ajouté",
			[IMIP_OUTCOME_UPDATED] = "mis à jour",
			[IMIP_OUTCOME_CANCELLED] = "annulé",
			[IMIP_OUTCOME_REPLIED] = "répondu",
			[IMIP_OUTCOME_REJECTED] = "refusé",
			[IMIP_OUTCOME_ERROR] = "n'a pas pu être traité",
		},
	},
	{
		.code = "nb",
		.from_before = "En kalendermelding fra ",
		.from_after = " ble behandlet.",
		.intro = "En kalendermelding ble behandlet.",
		.untitled = "Uten tittel",
		.no_objects = "Meldingen inneholder ikke noe kalenderobjekt.",
		.result = "Resultat: ",
		.kinds = {
			[SUMMARY_KIND_INVITATION] = "invitasjon",
			[SUMMARY_KIND_UPDATE] = "oppdatering",
			[SUMMARY_KIND_ADD] = "flere forekomster",
			[SUMMARY_KIND_CANCEL] = "avlysning",
			[SUMMARY_KIND_REPLY] = "svar",
			[SUMMARY_KIND_COUNTER] = "motforslag",
			[SUMMARY_KIND_DECLINECOUNTER] = "avslått motforslag",
			[SUMMARY_KIND_REFRESH] =
				"forespørsel om siste versjon",
			[SUMMARY_KIND_PUBLISH] = "publisert hendelse",
			[SUMMARY_KIND_FREEBUSY] = "ledig/opptatt-informasjon",
			[SUMMARY_KIND_OTHER] = "kalenderobjekt",
		},
		.outcomes = {
			[IMIP_OUTCOME_NO_ACTION] = "ingen endring",
			[IMIP_OUTCOME_ADDED] = "lagt til",
			[IMIP_OUTCOME_UPDATED] = "oppdatert",
			[IMIP_OUTCOME_CANCELLED] = "avlyst",
			[IMIP_OUTCOME_REPLIED] = "besvart",
			[IMIP_OUTCOME_REJECTED] = "avvist",
			[IMIP_OUTCOME_ERROR] = "kunne ikke behandles",
		},
	},
};

/* "de_DE.UTF-8", "de-AT", "DE" -> "de"; Norwegian "no" and "nn" read the
   Bokmål text rather than English. */
static const struct summary_lang *summary_lang_find(const char *lang)
{
	char code[4];
	size_t len;

	if (lang == NULL)
		return &summary_langs[0];
	len = strcspn(lang, "_-.@ ");
	if (len < 2 || len > 3)
		return &summary_langs[0];
	for (size_t i = 0; i < len; i++)
		code[i] = g_ascii_tolower(lang[i]);
	code[len] = '\0';
	if (strcmp(code, "no") == 0 || strcmp(code, "nn") == 0 ||
	    strcmp(code, "nob") == 0)
		strcpy(code, "nb");
	for (size_t i = 0; i < G_N_ELEMENTS(summary_langs); i++) {
		if (strcmp(code, summary_langs[i].code) == 0)
			return &summary_langs[i];
	}
	return &summary_langs[0];
}

static enum summary_kind summary_kind_of(const struct imip_part_result *part)
{
	static const struct {
		const char *method;
		enum summary_kind kind;
	} methods[] = {
		{ "REQUEST", SUMMARY_KIND_INVITATION },
		{ "ADD", SUMMARY_KIND_ADD },
		{ "CANCEL", SUMMARY_KIND_CANCEL },
		{ "REPLY", SUMMARY_KIND_REPLY },
		{ "COUNTER", SUMMARY_KIND_COUNTER },
		{ "DECLINECOUNTER", SUMMARY_KIND_DECLINECOUNTER },
		{ "REFRESH", SUMMARY_KIND_REFRESH },
		{ "PUBLISH", SUMMARY_KIND_PUBLISH },
	};

	if (part->freebusy)
		return SUMMARY_KIND_FREEBUSY;
	if (part->method == NULL)
		return SUMMARY_KIND_OTHER;
	for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
		if (g_ascii_strcasecmp(part->method, methods[i].method) != 0)
			continue;
		/* A REQUEST for an object the calendar already had is an
		   update (RFC 5546 section 3.2.2). */
		if (methods[i].kind == SUMMARY_KIND_INVITATION &&
		    part->code == IMIP_OUTCOME_UPDATED)
			return SUMMARY_KIND_UPDATE;
		return methods[i].kind;
	}
	return SUMMARY_KIND_OTHER;
}

static const char *summary_outcome_word(const struct summary_lang *lang,
					enum imip_outcome_code code)
{
	if ((unsigned int)code >= SUMMARY_OUTCOME_COUNT)
		code = IMIP_OUTCOME_ERROR;
	return lang->outcomes[code];
}

/* Append a value from the wire: valid UTF-8, one line, bounded. */
static void summary_append_field(GString *out, const char *value)
{
	char *valid = g_utf8_make_valid(value, -1);
	const char *p = valid;
	unsigned int chars = 0;

	for (; *p != '\0' && chars < SUMMARY_FIELD_MAX_CHARS;
	     p = g_utf8_next_char(p), chars++) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029)
			g_string_append_c(out, ' ');
		else
			g_string_append_unichar(out, c);
	}
	if (*p != '\0')
		g_string_append(out, "…");
	g_free(valid);
}

/* A reason sentence without its final full stop, so one can be added
   after it whatever the handler wrote. */
static void summary_append_reason(GString *out, const char *reason)
{
	gsize start = out->len;

	summary_append_field(out, reason);
	while (out->len > start &&
	       (out->str[out->len - 1] == '.' || out->str[out->len - 1] == ' '))
		g_string_truncate(out, out->len - 1);
}

static void summary_append_part(GString *out, const struct summary_lang *lang,
				const struct imip_part_result *part)
{
	if (part->summary != NULL && *part->summary != '\0')
		summary_append_field(out, part->summary);
	else
		g_string_append(out, lang->untitled);
	if (part->uid != NULL && *part->uid != '\0') {
		g_string_append(out, " (");
		summary_append_field(out, part->uid);
		g_string_append_c(out, ')');
	}
	g_string_append(out, ": ");
	g_string_append(out, lang->kinds[summary_kind_of(part)]);
	if (part->method != NULL && *part->method != '\0') {
		g_string_append(out, " (");
		summary_append_field(out, part->method);
		g_string_append_c(out, ')');
	}
	g_string_append(out, " — ");
	g_string_append(out, summary_outcome_word(lang, part->code));
	if (part->reason != NULL && *part->reason != '\0') {
		g_string_append(out, ": ");
		summary_append_reason(out, part->reason);
	}
	g_string_append(out, ".\n");
}

char *summary_text(const struct imip_result *result, const char *lang_name,
		   const char *from)
{
	const struct summary_lang *lang = summary_lang_find(lang_name);
	GString *out = g_string_new(NULL);
	guint nparts = result != NULL && result->parts != NULL ?
		result->parts->len : 0;

	if (from != NULL && *from != '\0') {
		g_string_append(out, lang->from_before);
		summary_append_field(out, from);
		g_string_append(out, lang->from_after);
	} else {
		g_string_append(out, lang->intro);
	}
	g_string_append(out, "\n\n");

	if (nparts == 0) {
		g_string_append(out, lang->no_objects);
		g_string_append_c(out, '\n');
	}
	for (guint i = 0; i < nparts; i++)
		summary_append_part(out, lang, result->parts->pdata[i]);

	if (result != NULL) {
		g_string_append_c(out, '\n');
		g_string_append(out, lang->result);
		g_string_append(out, summary_outcome_word(lang, result->code));
		if (result->reason != NULL && *result->reason != '\0') {
			g_string_append(out, ": ");
			summary_append_reason(out, result->reason);
		}
		g_string_append(out, ".\n");
	}
	return g_string_free(out, FALSE);
}
