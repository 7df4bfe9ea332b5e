/* The agent's notion of "now".  IMIP_NOW exists so that scenario tests
   can pin the horizon of recurrence expansion, expiry of offers and the
   DTSTAMPs the agent writes. */

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

bool imip_clock_parse_utc(const char *text, time_t *t_r)
{
	int y, mo, d, h = 0, mi = 0, s = 0;
	GDateTime *dt;
	size_t len;

	if (text == NULL)
		return false;
	len = strlen(text);
	if (len == 8) {
		if (sscanf(text, "%4d%2d%2d", &y, &mo, &d) != 3)
			return false;
	} else if (len == 16 && text[8] == 'T' && text[15] == 'Z') {
		if (sscanf(text, "%4d%2d%2dT%2d%2d%2dZ",
			   &y, &mo, &d, &h, &mi, &s) != 6)
			return false;
	} else {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (i != 8 && i != 15 && !g_ascii_isdigit(text[i]))
			return false;
	}
	dt = g_date_time_new_utc(y, mo, d, h, mi, s);
	if (dt == NULL)
		return false;
	*t_r = (time_t)g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return true;
}

time_t imip_clock_now(void)
{
	const char *env = getenv("IMIP_NOW");
	time_t t;

	if (env != NULL && *env != '\0' && imip_clock_parse_utc(env, &t))
		return t;
	return time(NULL);
}

const char *imip_clock_format_utc(time_t t, char buf[static 17])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		g_strlcpy(buf, "19700101T000000Z", 17);
	return buf;
}
