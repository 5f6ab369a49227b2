/* score.c -- `oneiro score`: a model's class probabilities (or
 * interestingness) for whole sound files, the mean over each file's
 * windows, cut and read exactly as `oneiro train` cuts them. */
#include "score.h"

#include "cliutil.h"
#include "dataset.h"
#include "onr.h"
#include "train.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define CHUNK 256
#define PATH_BUF 4096

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	g_stop = sig;
}

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("oneiro score: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: oneiro score [options] FILE...\n"
	        "\n"
	        "What a model hears in sound files: for each FILE, the class probabilities (for\n"
	        "an interestingness model, the probability of 'interesting') averaged over the\n"
	        "file's windows, the most probable class first. The windows are cut as\n"
	        "'oneiro train' cuts them: the model's window length, overlapping, the audio\n"
	        "mixed to mono and resampled to the model's rate; a file shorter than a window\n"
	        "is zero-padded to one, centred.\n"
	        "\n"
	        "  --model FILE        the model (default: $ONEIRO_MODEL if set, else\n"
	        "                      <executable's dir>/../models/default.onm, else the\n"
	        "                      installed models/default.onm)\n"
	        "  --json              one JSON array on stdout with one object per file:\n"
	        "                      {\"file\", \"seconds\", \"windows\", \"top\", \"probability\",\n"
	        "                      [\"interestingness\",] \"classes\": [{\"name\", \"index\",\n"
	        "                      \"probability\"}, ...]} or {\"file\", \"error\"}\n"
	        "  --top N             list only the N most probable classes (default: all)\n"
	        "  --window-overlap PCT\n"
	        "                      overlap of the windows, 0 to 90 %% (default 50, as train)\n"
	        "  --floor-db DB       windows quieter than this (dBFS RMS) are not scored unless\n"
	        "                      a file has no other (default -60, as train; -200 keeps all)\n"
	        "  --threads N         threads, 1 to %d (default: the online CPUs)\n"
	        "\n"
	        "Exit status: 0 done, 1 a file or the model could not be read (the others are\n"
	        "still scored), 2 bad usage, 130 interrupted.\n",
	        ONR_TRAIN_MAX_THREADS);
}

typedef struct {
	uint32_t k;
	float p;
} cp;

static int cmp_cp(const void *a, const void *b)
{
	const cp *x = a, *y = b;
	if (x->p != y->p)
		return x->p < y->p ? 1 : -1;
	return x->k < y->k ? -1 : x->k > y->k;
}

int cmd_score(int argc, char **argv, const char *argv0)
{
	const char *model_path = NULL;
	int json = 0;
	uint32_t top = 0, threads;
	double overlap = 50.0, floor_db = -60.0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	threads = cpus < 1 ? 1 : cpus > ONR_TRAIN_MAX_THREADS ? ONR_TRAIN_MAX_THREADS : (uint32_t)cpus;
	const char **files = calloc((size_t)argc + 1, sizeof *files);
	int n_files = 0, only_pos = 0;
	if (!files) {
		msg("out of memory");
		return EXIT_FAIL;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_pos || a[0] != '-' || !a[1]) {
			files[n_files++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			free(files);
			return EXIT_OK;
		}
		if (!strcmp(a, "--json")) {
			json = 1;
			continue;
		}
		char name[64];
		const char *v = NULL;
		const char *eq = strchr(a, '=');
		if (eq && eq - a < (ptrdiff_t)sizeof name) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = 0;
			v = eq + 1;
		} else {
			snprintf(name, sizeof name, "%s", a);
		}
		int known = !strcmp(name, "--model") || !strcmp(name, "--top") ||
		            !strcmp(name, "--window-overlap") || !strcmp(name, "--floor-db") ||
		            !strcmp(name, "--threads");
		if (!known) {
			msg("unknown option %s (see oneiro score --help)", name);
			free(files);
			return EXIT_USAGE;
		}
		if (!v) {
			if (i + 1 >= argc) {
				msg("%s needs a value (see oneiro score --help)", name);
				free(files);
				return EXIT_USAGE;
			}
			v = argv[++i];
		}
		char *end;
		errno = 0;
		if (!strcmp(name, "--model")) {
			model_path = v;
		} else if (!strcmp(name, "--top") || !strcmp(name, "--threads")) {
			unsigned long u = strtoul(v, &end, 10);
			int th = name[3] == 'h';
			if (errno || end == v || *end || v[0] == '-' || u < 1 ||
			    u > (th ? ONR_TRAIN_MAX_THREADS : ONR_MAX_CLASSES)) {
				msg("%s: '%s' is not a whole number from 1 to %d", name, v,
				    th ? ONR_TRAIN_MAX_THREADS : ONR_MAX_CLASSES);
				free(files);
				return EXIT_USAGE;
			}
			*(th ? &threads : &top) = (uint32_t)u;
		} else {
			double d = strtod(v, &end);
			int ov = name[2] == 'w';
			double lo = ov ? 0.0 : -200.0, hi = ov ? 90.0 : 0.0;
			if (errno || end == v || *end || !(d >= lo && d <= hi)) {
				msg("%s: '%s' is not a number from %g to %g", name, v, lo, hi);
				free(files);
				return EXIT_USAGE;
			}
			*(ov ? &overlap : &floor_db) = d;
		}
	}
	if (!n_files) {
		msg("no files to score (see oneiro score --help)");
		free(files);
		return EXIT_USAGE;
	}
	char found[PATH_BUF];
	if (!model_path) {
		if (cli_find_model(argv0, "oneiro score", found, sizeof found)) {
			free(files);
			return EXIT_FAIL;
		}
		model_path = found;
	}
	char err[512];
	onr_model *m;
	if (onr_model_load_file(&m, model_path, err, sizeof err)) {
		msg("model: %s", err);
		free(files);
		return EXIT_FAIL;
	}
	uint32_t K = m->n_classes, W = m->window, R = m->sample_rate;
	uint32_t hop = (uint32_t)lround(W * (1.0 - overlap / 100.0));
	if (hop < 1)
		hop = 1;
	onr_train_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.threads = threads;
	cfg.window = W;
	onr_trainer *t = NULL;
	if (onr_trainer_new(&t, m, &cfg, err, sizeof err)) {
		msg("model: %s", err);
		onr_model_free(m);
		free(files);
		return EXIT_FAIL;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int status = EXIT_OK;
	float *probs = malloc((size_t)CHUNK * K * sizeof *probs);
	double *mean = malloc(K * sizeof *mean);
	cp *order = malloc(K * sizeof *order);
	const float **xs = malloc(CHUNK * sizeof *xs);
	size_t *off = NULL;
	cli_buf out = {0};
	if (!probs || !mean || !order || !xs) {
		msg("out of memory");
		status = EXIT_FAIL;
		goto done;
	}
	if (json)
		printf("[\n");
	int printed = 0;
	for (int i = 0; i < n_files && !g_stop; i++) {
		const char *path = files[i];
		float *x = NULL;
		size_t n = 0;
		double secs = 0.0;
		out.n = 0;
		if (out.s)
			out.s[0] = 0;
		int bad = ds_read_audio(path, R, &x, &n, &secs, err, sizeof err);
		if (!bad && ds_pad(&x, &n, W)) {
			snprintf(err, sizeof err, "out of memory");
			bad = 1;
		}
		size_t nw = 0;
		if (!bad) {
			size_t mx = ds_max_windows(n, W, hop);
			size_t *no = realloc(off, mx * sizeof *no);
			if (!no) {
				snprintf(err, sizeof err, "out of memory");
				bad = 1;
			} else {
				off = no;
				nw = ds_windows(x, n, W, hop, floor_db, off, mx);
			}
		}
		for (uint32_t k = 0; k < K; k++)
			mean[k] = 0.0;
		for (size_t w = 0; !bad && w < nw; w += CHUNK) {
			uint32_t c = (uint32_t)(nw - w < CHUNK ? nw - w : CHUNK);
			for (uint32_t j = 0; j < c; j++)
				xs[j] = x + off[w + j];
			int e = onr_trainer_eval(t, xs, c, probs);
			if (e) {
				snprintf(err, sizeof err, "the model failed on it: %s", onr_strerror(e));
				bad = 1;
				break;
			}
			for (uint32_t j = 0; j < c; j++)
				for (uint32_t k = 0; k < K; k++)
					mean[k] += probs[(size_t)j * K + k];
		}
		free(x);
		if (bad) {
			status = EXIT_FAIL;
			if (json) {
				cli_printf(&out, "  {\"file\": ");
				cli_json_str(&out, path);
				cli_printf(&out, ", \"error\": ");
				cli_json_str(&out, err);
				cli_printf(&out, "}");
			}
			msg("%s: %s", path, err);
		} else {
			for (uint32_t k = 0; k < K; k++) {
				order[k].k = k;
				order[k].p = (float)(mean[k] / (double)nw);
			}
			qsort(order, K, sizeof *order, cmp_cp);
			uint32_t show = top && top < K ? top : K;
			if (json) {
				cli_printf(&out, "  {\"file\": ");
				cli_json_str(&out, path);
				cli_printf(&out, ", \"seconds\": %.6g, \"windows\": %zu, \"top\": ", secs, nw);
				cli_json_str(&out, m->class_names[order[0].k]);
				cli_printf(&out, ", \"probability\": %.6g", (double)order[0].p);
				if (m->kind == ONR_KIND_BINARY)
					cli_printf(&out, ", \"interestingness\": %.6g", mean[1] / (double)nw);
				cli_printf(&out, ", \"classes\": [");
				for (uint32_t j = 0; j < show; j++) {
					cli_printf(&out, "%s{\"name\": ", j ? ", " : "");
					cli_json_str(&out, m->class_names[order[j].k]);
					cli_printf(&out, ", \"index\": %u, \"probability\": %.6g}", order[j].k,
					           (double)order[j].p);
				}
				cli_printf(&out, "]}");
			} else {
				cli_printf(&out, "%s  (%.2f s, %zu window%s)\n", path, secs, nw,
				           nw == 1 ? "" : "s");
				if (m->kind == ONR_KIND_BINARY)
					cli_printf(&out, "  interestingness %.3f  (probability of '%s')\n",
					           mean[1] / (double)nw, m->class_names[1]);
				int wn = 5;
				for (uint32_t j = 0; j < show; j++) {
					int l = (int)strlen(m->class_names[order[j].k]);
					if (l > wn)
						wn = l;
				}
				for (uint32_t j = 0; j < show; j++)
					cli_printf(&out, "  %-*s %6.2f %%\n", wn, m->class_names[order[j].k],
					           100.0 * order[j].p);
			}
		}
		if (out.oom) {
			msg("out of memory");
			status = EXIT_FAIL;
			break;
		}
		if (json)
			fputs(printed ? ",\n" : "", stdout);
		if (out.s)
			fputs(out.s, stdout);
		printed++;
		fflush(stdout);
	}
	if (json)
		printf("%s]\n", printed ? "\n" : "");
	if (g_stop) {
		msg("interrupted");
		status = 128 + g_stop;
	}
done:
	free(out.s);
	free(off);
	free(xs);
	free(order);
	free(mean);
	free(probs);
	onr_trainer_free(t);
	onr_model_free(m);
	free(files);
	return status;
}
