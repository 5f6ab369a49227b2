/* cliutil.h -- small helpers shared by `oneiro train` and `oneiro score`:
 * the default model lookup, a seeded PRNG, a monotonic clock, a growing
 * string, atomic writes of a whole file, and a one-line progress bar. */
#ifndef ONEIRO_CLIUTIL_H
#define ONEIRO_CLIUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The default model, looked up as `oneiro render` does: $ONEIRO_MODEL,
 * <executable's dir>/../models/default.onm, ONR_DATADIR/models/default.onm.
 * Writes the path into out; returns 0, or -1 after a message on stderr
 * prefixed with prog (e.g. "oneiro score"). */
int cli_find_model(const char *argv0, const char *prog, char *out, size_t len);

/* splitmix64: the next number of the sequence seeded by *s. */
uint64_t cli_rand64(uint64_t *s);
/* A uniform integer in [0, n) (n > 0), without modulo bias. */
uint64_t cli_rand_below(uint64_t *s, uint64_t n);

/* Seconds on a monotonic clock. */
double cli_now(void);

/* A growing NUL-terminated string; oom set when an allocation failed. */
typedef struct {
	char *s;
	size_t n, cap;
	int oom;
} cli_buf;
void cli_printf(cli_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_vprintf(cli_buf *b, const char *fmt, va_list ap);
/* Appends a JSON string literal (quotes included) of the UTF-8 text s. */
void cli_json_str(cli_buf *b, const char *s);

/* Writes n bytes to path atomically (a temporary file beside it, then
 * rename). 0, or -1 with a reason in err. */
int cli_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errlen);

/* A progress line on stderr, redrawn at most 10 times a second. */
typedef struct {
	int on;
	double last;
	int width;
} cli_progress;
/* frac in [0, 1] draws a bar of 24 characters before the text; frac < 0
 * only the text. force != 0 redraws now. */
void cli_progress_show(cli_progress *p, double frac, int force, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Clears the line. */
void cli_progress_end(cli_progress *p);

#endif
