/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cliutil.h -- small helpers shared by the oneiro subcommands: messages,
 * command-line options and numbers, the default model lookup, signals, a
 * seeded PRNG, a monotonic clock, a growing string, temporary files beside
 * a target and atomic writes of a whole file, and a one-line progress bar. */
#ifndef ONEIRO_CLIUTIL_H
#define ONEIRO_CLIUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifndef ONR_DATADIR
#define ONR_DATADIR "/usr/local/share/oneiro"
#endif

#define CLI_PATH_BUF 4096

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* "prog: message\n" on stderr, prog e.g. "oneiro render"; written whole
 * even when several threads print at once. */
void cli_msg(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* While set, cli_msg calls lock(arg) before writing and unlock(arg) after:
 * e.g. to take a progress display's lock and clear its line first. Set and
 * unset it while no other thread prints; NULL, NULL, NULL unsets it. */
void cli_msg_set_lock(void (*lock)(void *), void (*unlock)(void *), void *arg);

/* ---------------------------------------------------------------- options */
/* The arguments of a subcommand, one at a time: positional arguments (also
 * "-" and everything after "--"), --help (or -h), and options written
 * --name=value or --name value. Messages are prefixed with prog. */
typedef struct {
	int argc;
	char **argv;
	int i;            /* the argument last returned */
	int only_pos;     /* after "--" */
	const char *prog; /* "oneiro render" */
	char name[64];    /* CLI_OPTION: the option's name, without "=value" */
	const char *arg;  /* CLI_POS: the argument; CLI_OPTION: the value given
	                     with '=', else NULL (see cli_args_value) */
} cli_args;

enum { CLI_END, CLI_POS, CLI_HELP, CLI_OPTION };

/* Starts at argv[1] (argv[0] is the subcommand's name). */
void cli_args_init(cli_args *a, int argc, char **argv, const char *prog);
/* The kind of the next argument (CLI_*). */
int cli_args_next(cli_args *a);
/* A flag: an option without a value; set to 1 when given. */
typedef struct {
	const char *name;
	int *set;
} cli_flag;
/* The option just returned by cli_args_next, one of flags or of with_value:
 * 1 for a flag (its *set = 1), 0 for an option with a value (the one given
 * with '=', else the next argument, in a->arg); -1 after a message for a
 * flag given a value, an option without one, or an unknown option. */
int cli_args_option(cli_args *a, const cli_flag *flags, size_t n_flags,
                    const char *const *with_value, size_t n_with_value);

/* Numbers of option opt (for messages): the whole string s must be one.
 * cli_parse_double: a finite number from lo to hi (say -INFINITY to
 * INFINITY for any); cli_parse_u64/u32: a whole number from lo to hi, no
 * sign. 0, or -1 after a message prefixed with prog. */
int cli_parse_double(const char *prog, const char *opt, const char *s, double lo, double hi,
                     double *out);
int cli_parse_u64(const char *prog, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                  uint64_t *out);
int cli_parse_u32(const char *prog, const char *opt, const char *s, uint32_t lo, uint32_t hi,
                  uint32_t *out);

/* The number of online CPUs, from 1 to max. */
uint32_t cli_online_cpus(uint32_t max);

/* ---------------------------------------------------------------- model */
/* The default model of render and score: $ONEIRO_MODEL, else
 * <executable's dir>/../models/default.onm, else
 * ONR_DATADIR/models/default.onm.
 * Writes the path into out; returns 0, or -1 after a message on stderr
 * prefixed with prog (e.g. "oneiro score"); when no model is found the
 * message ends with hint (e.g. how to make one; "" for none). */
int cli_find_model(const char *argv0, const char *prog, const char *hint, char *out, size_t len);

/* ---------------------------------------------------------------- signals */
enum { CLI_SIG_RESTART = 1, CLI_SIG_HUP = 2 };
/* handler for SIGINT and SIGTERM, with CLI_SIG_HUP also SIGHUP; with
 * CLI_SIG_RESTART system calls it interrupts are restarted. */
void cli_catch_signals(void (*handler)(int), int flags);

/* ---------------------------------------------------------------- misc */
/* splitmix64: the next number of the sequence seeded by *s. */
uint64_t cli_rand64(uint64_t *s);
/* A uniform integer in [0, n) (n > 0), without modulo bias. */
uint64_t cli_rand_below(uint64_t *s, uint64_t n);
/* A uniform double in [0, 1) (53 bits) from the same sequence. */
double cli_rand01(uint64_t *s);
/* Shuffles n elements of size bytes (Fisher-Yates, from the end). */
void cli_shuffle(void *v, size_t n, size_t size, uint64_t *rng);

/* Seconds on a monotonic clock. */
double cli_now(void);

/* The part of path after its last '/'. */
const char *cli_base_name(const char *path);
/* Nonzero when path ends in ext (e.g. ".svg"), ignoring case. */
int cli_has_ext(const char *path, const char *ext);

/* ---------------------------------------------------------------- strings */
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

/* ---------------------------------------------------------------- files */
/* Creates an empty temporary file beside `target` (same directory, hidden
 * name derived from it) with the permissions a new file would get; its
 * name in tmp. Returns the open descriptor, or -1 with errno set (when the
 * name does not fit in len: ENAMETOOLONG and tmp empty). */
int cli_tmp_create(const char *target, char *tmp, size_t len);

/* Writes n bytes to path atomically (a temporary file beside it, then
 * rename). 0, or -1 with a reason in err. */
int cli_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errlen);

/* ---------------------------------------------------------------- progress */
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
/* The parts of cli_progress_show, for lines of another layout: whether a
 * redraw is due (p on, and forced or 0.1 s since the last; p->last is then
 * the time now); a bar of n characters for frac in [0, 1] into bar (n + 1
 * bytes); drawing the line of n characters over the last one. */
int cli_progress_due(cli_progress *p, int force);
void cli_progress_bar(char *bar, int n, double frac);
void cli_progress_line(cli_progress *p, const char *line, int n);

#endif
