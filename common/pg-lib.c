/* libpq loaded on demand (pg-lib.h). */

#define PG_LIB_NO_REDIRECT
#include "pg-lib.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <glib.h>

struct pg_lib pg_lib_fn;

#define PG_LIB_SYMBOL(name) { #name, offsetof(struct pg_lib, name) },

static const struct pg_lib_symbol {
	const char *name;
	size_t offset;
} pg_lib_symbols[] = {
	PG_LIB_FUNCTIONS(PG_LIB_SYMBOL)
};

static GMutex pg_lib_lock;
static bool pg_lib_loaded;

/* Every entry first into a local table, which becomes pg_lib_fn only
   whole: a library lacking one symbol leaves nothing half-filled. */
static int pg_lib_resolve(void *handle, char **error_r)
{
	struct pg_lib table;

	for (size_t i = 0; i < G_N_ELEMENTS(pg_lib_symbols); i++) {
		void *address = dlsym(handle, pg_lib_symbols[i].name);

		if (address == NULL) {
			*error_r = g_strdup_printf("PostgreSQL: %s lacks %s",
						   PG_LIB_SONAME,
						   pg_lib_symbols[i].name);
			return -1;
		}
		/* POSIX dlsym: a function's address as a void pointer */
		memcpy((char *)&table + pg_lib_symbols[i].offset, &address,
		       sizeof(address));
	}
	pg_lib_fn = table;
	return 0;
}

int pg_lib_load(char **error_r)
{
	void *handle;
	int ret = 0;

	g_mutex_lock(&pg_lib_lock);
	if (!pg_lib_loaded) {
		/* RTLD_LOCAL: libpq's symbols stay out of the global scope,
		   so a Dovecot that loads its own pgsql driver into the same
		   process is not disturbed, and neither are we */
		handle = dlopen(PG_LIB_SONAME, RTLD_NOW | RTLD_LOCAL);
		if (handle == NULL) {
			const char *why = dlerror();

			*error_r = g_strdup_printf("PostgreSQL: cannot load "
				"%s (is libpq5 installed?): %s", PG_LIB_SONAME,
				why != NULL ? why : "unknown error");
			ret = -1;
		} else if (pg_lib_resolve(handle, error_r) < 0) {
			dlclose(handle);
			ret = -1;
		} else {
			pg_lib_loaded = true;
		}
	}
	g_mutex_unlock(&pg_lib_lock);
	return ret;
}
