/* The library never writes to stdout or stderr itself: every line goes
   through the adapter's callback (DESIGN.md section 3). */

#include "imip.h"

#include <stdarg.h>
#include <glib.h>

void imip_log(const struct imip_ctx *ctx, enum imip_log_level level,
	      const char *fmt, ...)
{
	va_list args;
	char *message;

	if (ctx == NULL || ctx->log == NULL)
		return;
	va_start(args, fmt);
	message = g_strdup_vprintf(fmt, args);
	va_end(args);
	ctx->log(ctx->log_context, level, message);
	g_free(message);
}
