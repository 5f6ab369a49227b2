/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.h -- small helpers shared by the core's files (internal). */
#ifndef ONR_UTIL_H
#define ONR_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* splitmix64: a small, well-mixed generator whose sequence is fixed forever,
 * so a seed names the same numbers on every machine. Advances *s. */
static inline uint64_t onr_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* uniform in [0, 1), 53 bits, from onr_splitmix64 */
static inline double onr_uniform01(uint64_t *s)
{
	return (double)(onr_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

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
