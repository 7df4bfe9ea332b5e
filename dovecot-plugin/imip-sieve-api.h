#ifndef IMIP_SIEVE_API_H
#define IMIP_SIEVE_API_H

/* How the Sieve plugin (lib90_sieve_imip_plugin.so) reaches the delivery
   plugin (lib95_imip_plugin.so).  The Sieve plugin is also loaded by
   sievec, sieve-test and managesieve, where the delivery plugin is absent,
   so it must not link against it (reference dovecot.md 12.5): it looks the
   table up at run time with dlsym(RTLD_DEFAULT, IMIP_SIEVE_API_SYMBOL) and,
   when it is missing, reports outcome "error" with a reason saying so.

   Included by both plugins; uses Dovecot types only. */

#include "lib.h"
#include "mail-user.h"
#include "mail-storage.h"

#define IMIP_SIEVE_API_SYMBOL "imip_plugin_sieve_api"
#define IMIP_SIEVE_API_VERSION 1

struct imip_sieve_request {
	struct mail_user *user;		/* the recipient's user */
	struct mail *mail;		/* the message as Sieve sees it */
	const char *envelope_sender;	/* or NULL */
	const char *recipient;		/* final envelope recipient, or NULL */
	bool allow_public;		/* :allowpublic */
	bool invites_only;		/* :invitesonly */
	bool updates_only;		/* :updatesonly */
	bool delete_cancelled;		/* :deletecancelled */
	const char *const *addresses;	/* :addresses, NULL-terminated or NULL */
	const char *const *organizers;	/* :organizers, NULL-terminated or NULL */
	const char *calendar_id;	/* :calendarid, or NULL */
};

struct imip_sieve_response {
	const char *outcome;		/* allocated from the pool given */
	const char *reason;		/* "" on plain success */
};

struct imip_sieve_api {
	unsigned int version;		/* IMIP_SIEVE_API_VERSION */
	/* imip_trigger = auto: the outcome the delivery hook already reached
	   for this user's delivery (processing happens once).
	   imip_trigger = sieve: process now with the request's options; the
	   $iMIP keywords are applied to the message Sieve stores, and replies
	   go out through Dovecot's submission settings.
	   Always returns a response; never fails the script. */
	void (*process)(const struct imip_sieve_request *request, pool_t pool,
			struct imip_sieve_response *response_r);
};

#endif
