/* cliutil.c -- see cliutil.h. */
#include "cliutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef ONR_DATADIR
#define ONR_DATADIR "/usr/local/share/oneiro"
#endif

#define PATH_BUF 4096

/* ---------------------------------------------------------------- model */
static int file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int cli_find_model(const char *argv0, const char *prog, char *out, size_t len)
{
	const char *env = getenv("ONEIRO_MODEL");
	if (env && *env) {
		if (file_exists(env)) {
			snprintf(out, len, "%s", env);
			return 0;
		}
		fprintf(stderr,
		        "%s: ONEIRO_MODEL is set to '%s', which is not a readable file (unset it, or "
		        "give --model FILE)\n",
		        prog, env);
		return -1;
	}
	char exe[PATH_BUF] = "", beside[PATH_BUF + 64] = "";
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k > 0)
		exe[k] = 0;
	else if (argv0 && strchr(argv0, '/'))
		snprintf(exe, sizeof exe, "%s", argv0);
	if (exe[0]) {
		/* <dir>/../models: the parent of the executable's directory, by
		 * name when the path is absolute (/proc/self/exe is, resolved) */
		char *s = strrchr(exe, '/');
		if (s)
			*s = 0;
		char *parent = exe[0] == '/' ? strrchr(exe, '/') : NULL;
		if (parent && parent != exe && strcmp(parent, "/..") && strcmp(parent, "/.")) {
			*parent = 0;
			snprintf(beside, sizeof beside, "%s/models/default.onm", exe);
		} else {
			snprintf(beside, sizeof beside, "%s/../models/default.onm", exe[0] ? exe : ".");
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
	fprintf(stderr,
	        "%s: no model given and no default model found; looked for\n"
	        "  $ONEIRO_MODEL (not set)\n"
	        "%s%s%s"
	        "  %s\n"
	        "Give one with --model FILE or ONEIRO_MODEL=FILE.\n",
	        prog, beside[0] ? "  " : "", beside, beside[0] ? "\n" : "", data);
	return -1;
}

/* ---------------------------------------------------------------- random */
uint64_t cli_rand64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
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

double cli_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
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
int cli_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errlen)
{
	char tmp[PATH_BUF];
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path + 1) : 0;
	if (snprintf(tmp, sizeof tmp, "%.*s.%s.tmp-XXXXXX", dl, path, slash ? slash + 1 : path) >=
	    (int)sizeof tmp) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a file there: %s", path, strerror(errno));
		return -1;
	}
	mode_t um = umask(0);
	umask(um);
	fchmod(fd, 0666 & ~um);
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
void cli_progress_show(cli_progress *p, double frac, int force, const char *fmt, ...)
{
	if (!p->on)
		return;
	double t = cli_now();
	if (!force && t - p->last < 0.1)
		return;
	p->last = t;
	char line[320];
	int n = 0;
	if (frac >= 0.0) {
		if (frac > 1.0)
			frac = 1.0;
		char bar[25];
		int k = (int)(frac * 24.0);
		for (int i = 0; i < 24; i++)
			bar[i] = i < k ? '#' : '.';
		bar[24] = 0;
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
	fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
	if (n > p->width)
		p->width = n;
	fflush(stderr);
}

void cli_progress_end(cli_progress *p)
{
	if (!p->on || !p->width)
		return;
	fprintf(stderr, "\r%*s\r", p->width, "");
	fflush(stderr);
	p->width = 0;
}
