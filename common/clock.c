/* The agent's notion of "now".  IMIP_NOW exists so that scenario tests
   can pin the horizon of recurrence expansion, expiry of offers and the
   DTSTAMPs the agent writes. */

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

/* Days since 1970-01-01 of a proleptic Gregorian date, and back
   (H. Hinnant's civil calendar algorithms): the free/busy tables parse
   and format two times per line, where sscanf/strftime dominated. */
static gint64 clock_days_from_civil(gint64 y, unsigned int m, unsigned int d)
{
	gint64 era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (gint64)doe - 719468;
}

static void clock_civil_from_days(gint64 z, gint64 *y_r, unsigned int *m_r,
				  unsigned int *d_r)
{
	gint64 era;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = doy - (153 * mp + 2) / 5 + 1;
	*m_r = mp < 10 ? mp + 3 : mp - 9;
	*y_r = (gint64)yoe + era * 400 + (*m_r <= 2);
}

static unsigned int clock_digits(const char *s, unsigned int n)
{
	unsigned int v = 0;

	for (unsigned int i = 0; i < n; i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	return v;
}

static bool clock_days_in_month_ok(unsigned int y, unsigned int m,
				   unsigned int d)
{
	static const unsigned char days[] = { 31, 29, 31, 30, 31, 30, 31, 31,
					      30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12 || d < 1 || d > days[m - 1])
		return false;
	return m != 2 || d <= 28 || leap;
}

bool imip_clock_parse_utc(const char *text, time_t *t_r)
{
	unsigned int y, mo, d, h = 0, mi = 0, s = 0;
	size_t len;

	if (text == NULL)
		return false;
	len = strlen(text);
	if (len != 8 && !(len == 16 && text[8] == 'T' && text[15] == 'Z'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i != 8 && i != 15 && !g_ascii_isdigit(text[i]))
			return false;
	}
	y = clock_digits(text, 4);
	mo = clock_digits(text + 4, 2);
	d = clock_digits(text + 6, 2);
	if (len == 16) {
		h = clock_digits(text + 9, 2);
		mi = clock_digits(text + 11, 2);
		s = clock_digits(text + 13, 2);
	}
	/* what g_date_time_new_utc() accepted: years 1-9999, no leap
	   seconds */
	if (y < 1 || !clock_days_in_month_ok(y, mo, d) || h > 23 || mi > 59 ||
	    s > 59)
		return false;
	*t_r = (time_t)(clock_days_from_civil(y, mo, d) * 86400 +
			h * 3600 + mi * 60 + s);
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
	gint64 days = (gint64)t / 86400, secs = (gint64)t % 86400, y;
	unsigned int m, d;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	clock_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		g_strlcpy(buf, "19700101T000000Z", 17);
		return buf;
	}
	g_snprintf(buf, 17, "%04u%02u%02uT%02u%02u%02uZ", (unsigned int)y, m, d,
		   (unsigned int)(secs / 3600), (unsigned int)(secs / 60 % 60),
		   (unsigned int)(secs % 60));
	return buf;
}
