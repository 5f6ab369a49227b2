/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cliutil.c -- see cliutil.h. */
#include "cliutil.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void (*msg_lock)(void *), (*msg_unlock)(void *);
static void *msg_arg;

void cli_msg_set_lock(void (*lock)(void *), void (*unlock)(void *), void *arg)
{
	msg_lock = lock;
	msg_unlock = unlock;
	msg_arg = arg;
}

void cli_msg(const char *prog, const char *fmt, ...)
{
	void (*lock)(void *) = msg_lock, (*unlock)(void *) = msg_unlock;
	void *arg = msg_arg;
	if (lock)
		lock(arg);
	/* one message at a time, whole, whatever the thread */
	flockfile(stderr);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
	funlockfile(stderr);
	if (unlock)
		unlock(arg);
}

/* ---------------------------------------------------------------- options */
void cli_args_init(cli_args *a, int argc, char **argv, const char *prog)
{
	memset(a, 0, sizeof *a);
	a->argc = argc;
	a->argv = argv;
	a->prog = prog;
}

int cli_args_next(cli_args *a)
{
	for (;;) {
		if (++a->i >= a->argc)
			return CLI_END;
		const char *s = a->argv[a->i];
		if (a->only_pos || s[0] != '-' || !s[1]) {
			a->arg = s;
			return CLI_POS;
		}
		if (!strcmp(s, "--")) {
			a->only_pos = 1;
			continue;
		}
		if (!strcmp(s, "--help") || !strcmp(s, "-h"))
			return CLI_HELP;
		/* --opt=value or --opt value */
		const char *eq = strchr(s, '=');
		a->arg = NULL;
		if (eq && eq - s < (ptrdiff_t)sizeof a->name) {
			memcpy(a->name, s, (size_t)(eq - s));
			a->name[eq - s] = 0;
			a->arg = eq + 1;
		} else {
			snprintf(a->name, sizeof a->name, "%s", s);
		}
		return CLI_OPTION;
	}
}

int cli_args_option(cli_args *a, const cli_flag *flags, size_t n_flags,
                    const char *const *with_value, size_t n_with_value)
{
	for (size_t k = 0; k < n_flags; k++)
		if (!strcmp(a->name, flags[k].name)) {
			if (a->arg) {
				cli_msg(a->prog, "%s takes no value", a->name);
				return -1;
			}
			*flags[k].set = 1;
			return 1;
		}
	int found = 0;
	for (size_t k = 0; k < n_with_value; k++)
		found |= !strcmp(a->name, with_value[k]);
	if (!found) {
		cli_msg(a->prog, "unknown option %s (see %s --help)", a->name, a->prog);
		return -1;
	}
	if (!a->arg) {
		if (a->i + 1 >= a->argc) {
			cli_msg(a->prog, "%s needs a value (see %s --help)", a->name, a->prog);
			return -1;
		}
		a->arg = a->argv[++a->i];
	}
	return 0;
}

int cli_parse_double(const char *prog, const char *opt, const char *s, double lo, double hi,
                     double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
		if (isinf(lo) && isinf(hi))
			cli_msg(prog, "%s: '%s' is not a number", opt, s);
		else
			cli_msg(prog, "%s: '%s' is not a number from %g to %g", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_parse_u64(const char *prog, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                  uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v < lo || v > hi) {
		cli_msg(prog, "%s: '%s' is not a whole number from %llu to %llu", opt, s,
		        (unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_parse_u32(const char *prog, const char *opt, const char *s, uint32_t lo, uint32_t hi,
                  uint32_t *out)
{
	uint64_t v;
	if (cli_parse_u64(prog, opt, s, lo, hi, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

uint32_t cli_online_cpus(uint32_t max)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > (long)max ? max : (uint32_t)cpus;
}

/* ---------------------------------------------------------------- model */
static int file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int cli_find_model(const char *argv0, const char *prog, const char *hint, char *out, size_t len)
{
	const char *env = getenv("ONEIRO_MODEL");
	if (env && *env) {
		if (file_exists(env)) {
			snprintf(out, len, "%s", env);
			return 0;
		}
		cli_msg(prog,
		        "ONEIRO_MODEL is set to '%s', which is not a readable file (unset it, or give "
		        "--model FILE)",
		        env);
		return -1;
	}
	char exe[CLI_PATH_BUF] = "", beside[CLI_PATH_BUF + 64] = "";
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k > 0)
		exe[k] = 0;
	else if (argv0 && strchr(argv0, '/'))
		snprintf(exe, sizeof exe, "%s", argv0);
	if (exe[0]) {
		/* <dir>/../models: the parent of the executable's directory, by
		 * name when the path is absolute (/proc/self/exe is, resolved);
		 * an executable in / leaves exe empty: /../models */
		char *s = strrchr(exe, '/');
		if (s)
			*s = 0;
		char *parent = exe[0] == '/' ? strrchr(exe, '/') : NULL;
		if (parent && parent != exe && strcmp(parent, "/..") && strcmp(parent, "/.")) {
			*parent = 0;
			snprintf(beside, sizeof beside, "%s/models/default.onm", exe);
		} else {
			snprintf(beside, sizeof beside, "%s/../models/default.onm", exe);
		}
		if (file_exists(beside)) {
			snprintf(out, len, "%s", beside);
			return 0;
		}
	}
	const char *data = ONR_DATADIR "/models/default.onm";
	if (file_exists(data)) {
		snprintf(out, len, "%s", data);
		return 0;
	}
	cli_msg(prog,
	        "no model given and no default model found; looked for\n"
	        "  $ONEIRO_MODEL (not set)\n"
	        "%s%s%s"
	        "  %s\n"
	        "Give one with --model FILE or ONEIRO_MODEL=FILE.%s",
	        beside[0] ? "  " : "", beside, beside[0] ? "\n" : "", data, hint);
	return -1;
}

/* ---------------------------------------------------------------- signals */
void cli_catch_signals(void (*handler)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	if (flags & CLI_SIG_RESTART)
		sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (flags & CLI_SIG_HUP)
		sigaction(SIGHUP, &sa, NULL);
}

/* ---------------------------------------------------------------- misc */
uint64_t cli_rand64(uint64_t *s)
{
	return onr_splitmix64(s);
}

double cli_rand01(uint64_t *s)
{
	return onr_uniform01(s);
}

uint64_t cli_rand_below(uint64_t *s, uint64_t n)
{
	/* rejection of the top partial range */
	uint64_t lim = UINT64_MAX - UINT64_MAX % n;
	for (;;) {
		uint64_t r = cli_rand64(s);
		if (r < lim)
			return r % n;
	}
}

void cli_shuffle(void *v, size_t n, size_t size, uint64_t *rng)
{
	unsigned char *b = v;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)cli_rand_below(rng, i);
		unsigned char *x = b + (i - 1) * size, *y = b + j * size;
		for (size_t k = 0; k < size; k++) {
			unsigned char t = x[k];
			x[k] = y[k];
			y[k] = t;
		}
	}
}

double cli_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

const char *cli_base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int cli_has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), k = strlen(ext);
	return n >= k && !strcasecmp(path + n - k, ext);
}

/* ---------------------------------------------------------------- strings */
void cli_vprintf(cli_buf *b, const char *fmt, va_list ap)
{
	if (b->oom)
		return;
	for (;;) {
		va_list aq;
		va_copy(aq, ap);
		int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, aq);
		va_end(aq);
		if (k < 0) {
			b->oom = 1;
			return;
		}
		if (b->s && b->n + (size_t)k < b->cap) {
			b->n += (size_t)k;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)k;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

void cli_printf(cli_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vprintf(b, fmt, ap);
	va_end(ap);
}

void cli_json_str(cli_buf *b, const char *s)
{
	cli_printf(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': cli_printf(b, "\\\""); break;
		case '\\': cli_printf(b, "\\\\"); break;
		case '\n': cli_printf(b, "\\n"); break;
		case '\r': cli_printf(b, "\\r"); break;
		case '\t': cli_printf(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				cli_printf(b, "\\u%04x", *p);
			else
				cli_printf(b, "%c", *p);
		}
	}
	cli_printf(b, "\"");
}

/* ---------------------------------------------------------------- files */
int cli_tmp_create(const char *target, char *tmp, size_t len)
{
	const char *slash = strrchr(target, '/');
	int dl = slash ? (int)(slash - target + 1) : 0;
	int n = snprintf(tmp, len, "%.*s.%s.tmp-XXXXXX", dl, target, slash ? slash + 1 : target);
	if (n < 0 || (size_t)n >= len) {
		tmp[0] = 0;
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	/* the umask can only be read by setting it: two threads doing this at
	 * once could leave it 0 */
	static pthread_mutex_t umask_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&umask_lock);
	mode_t um = umask(0);
	umask(um);
	pthread_mutex_unlock(&umask_lock);
	fchmod(fd, 0666 & ~um);
	return fd;
}

int cli_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errlen)
{
	char tmp[CLI_PATH_BUF];
	int fd = cli_tmp_create(path, tmp, sizeof tmp);
	if (fd < 0) {
		if (!tmp[0])
			snprintf(err, errlen, "%s: path too long", path);
		else
			snprintf(err, errlen, "%s: cannot create a file there: %s", path, strerror(errno));
		return -1;
	}
	const unsigned char *d = data;
	size_t done = 0;
	while (done < n) {
		ssize_t k = write(fd, d + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		done += (size_t)k;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- progress */
int cli_progress_due(cli_progress *p, int force)
{
	if (!p->on)
		return 0;
	double t = cli_now();
	if (!force && t - p->last < 0.1)
		return 0;
	p->last = t;
	return 1;
}

void cli_progress_bar(char *bar, int n, double frac)
{
	if (frac > 1.0)
		frac = 1.0;
	int k = (int)(frac * n);
	for (int i = 0; i < n; i++)
		bar[i] = i < k ? '#' : '.';
	bar[n] = 0;
}

void cli_progress_line(cli_progress *p, const char *line, int n)
{
	fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
	if (n > p->width)
		p->width = n;
	fflush(stderr);
}

void cli_progress_show(cli_progress *p, double frac, int force, const char *fmt, ...)
{
	if (!cli_progress_due(p, force))
		return;
	char line[320];
	int n = 0;
	if (frac >= 0.0) {
		char bar[25];
		cli_progress_bar(bar, 24, frac);
		n = snprintf(line, sizeof line, "[%s] ", bar);
	}
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	cli_progress_line(p, line, n);
}

void cli_progress_end(cli_progress *p)
{
	if (!p->on || !p->width)
		return;
	fprintf(stderr, "\r%*s\r", p->width, "");
	fflush(stderr);
	p->width = 0;
}
