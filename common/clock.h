#ifndef IMIP_CLOCK_H
#define IMIP_CLOCK_H

#include <stdbool.h>
#include <time.h>

/* The current time, or IMIP_NOW (UTC, YYYYMMDDTHHMMSSZ) when that
   environment variable is set: tests replace the clock, nothing else does. */
time_t imip_clock_now(void);

/* YYYYMMDDTHHMMSSZ for a UTC time_t, into buf (at least 17 bytes). */
const char *imip_clock_format_utc(time_t t, char buf[static 17]);

/* Parse YYYYMMDDTHHMMSSZ (or YYYYMMDD, meaning 00:00:00Z). */
bool imip_clock_parse_utc(const char *text, time_t *t_r);

#endif
