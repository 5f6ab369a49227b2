/* util.h -- small helpers shared by the core's files (internal). */
#ifndef ONR_UTIL_H
#define ONR_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Writes a message into err (when there is one) and returns status: the
 * core's one way of saying what went wrong. */
static inline int onr_fail(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int onr_fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return status;
}

#endif
