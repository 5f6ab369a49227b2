/* SPDX-License-Identifier: GPL-2.0-or-later */
/* score.c -- `oneiro score`: a model's class probabilities (or
 * interestingness) for whole sound files, the mean over each file's
 * windows, cut and read exactly as `oneiro train` cuts them. */
#include "score.h"

#include "cliutil.h"
#include "dataset.h"
#include "onr.h"
#include "train.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "oneiro score"
#define msg(...) cli_msg(PROG, __VA_ARGS__)
#define CHUNK 256

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	g_stop = sig;
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

int score_windows(onr_trainer *t, uint32_t K, const float *x, const size_t *off, size_t nw,
                  double *mean, float *probs)
{
	const float *xs[CHUNK];
	float *scratch = NULL;
	if (!probs) {
		scratch = malloc((size_t)CHUNK * K * sizeof *scratch);
		if (!scratch)
			return ONR_ENOMEM;
	}
	for (uint32_t k = 0; k < K; k++)
		mean[k] = 0.0;
	for (size_t w = 0; w < nw; w += CHUNK) {
		uint32_t c = (uint32_t)(nw - w < CHUNK ? nw - w : CHUNK);
		for (uint32_t j = 0; j < c; j++)
			xs[j] = x + off[w + j];
		float *p = probs ? probs + w * K : scratch;
		int e = onr_trainer_eval(t, xs, c, p);
		if (e) {
			free(scratch);
			return e;
		}
		for (uint32_t j = 0; j < c; j++)
			for (uint32_t k = 0; k < K; k++)
				mean[k] += p[(size_t)j * K + k];
	}
	for (uint32_t k = 0; k < K && nw; k++)
		mean[k] /= (double)nw;
	free(scratch);
	return 0;
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
	uint32_t top = 0, threads = cli_online_cpus(ONR_TRAIN_MAX_THREADS);
	double overlap = 50.0, floor_db = -60.0;
	const char **files = calloc((size_t)argc + 1, sizeof *files);
	int n_files = 0;
	if (!files) {
		msg("out of memory");
		return EXIT_FAIL;
	}
	cli_args a;
	cli_args_init(&a, argc, argv, PROG);
	for (int kind; (kind = cli_args_next(&a)) != CLI_END;) {
		if (kind == CLI_POS) {
			files[n_files++] = a.arg;
			continue;
		}
		if (kind == CLI_HELP) {
			usage(stdout);
			free(files);
			return EXIT_OK;
		}
		if (!strcmp(a.name, "--json") && !a.arg) {
			json = 1;
			continue;
		}
		static const char *const with_value[] = {"--model", "--top", "--window-overlap",
		                                         "--floor-db", "--threads"};
		if (cli_args_option(&a, NULL, 0, with_value, sizeof with_value / sizeof with_value[0]) < 0) {
			free(files);
			return EXIT_USAGE;
		}
		const char *name = a.name, *v = a.arg;
		int bad = 0;
		if (!strcmp(name, "--model"))
			model_path = v;
		else if (!strcmp(name, "--top"))
			bad = cli_parse_u32(PROG, name, v, 1, ONR_MAX_CLASSES, &top);
		else if (!strcmp(name, "--threads"))
			bad = cli_parse_u32(PROG, name, v, 1, ONR_TRAIN_MAX_THREADS, &threads);
		else if (!strcmp(name, "--window-overlap"))
			bad = cli_parse_double(PROG, name, v, 0.0, 90.0, &overlap);
		else
			bad = cli_parse_double(PROG, name, v, -200.0, 0.0, &floor_db);
		if (bad) {
			free(files);
			return EXIT_USAGE;
		}
	}
	if (!n_files) {
		msg("no files to score (see oneiro score --help)");
		free(files);
		return EXIT_USAGE;
	}
	char found[CLI_PATH_BUF];
	if (!model_path) {
		if (cli_find_model(argv0, PROG, "", found, sizeof found)) {
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
	uint32_t hop = ds_hop(W, overlap);
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
	cli_catch_signals(on_signal, 0);

	int status = EXIT_OK;
	double *mean = malloc(K * sizeof *mean);
	cp *order = malloc(K * sizeof *order);
	size_t *off = NULL;
	cli_buf out = {0};
	if (!mean || !order) {
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
		int bad = ds_read_audio(path, R, W, &x, &n, &secs, err, sizeof err);
		size_t nw = 0;
		if (!bad && ds_windows(x, n, W, hop, floor_db, &off, &nw)) {
			snprintf(err, sizeof err, "out of memory");
			bad = 1;
		}
		if (!bad) {
			int e = score_windows(t, K, x, off, nw, mean, NULL);
			if (e) {
				snprintf(err, sizeof err, "the model failed on it: %s", onr_strerror(e));
				bad = 1;
			}
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
				order[k].p = (float)mean[k];
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
					cli_printf(&out, ", \"interestingness\": %.6g", mean[1]);
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
					           mean[1], m->class_names[1]);
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
	free(order);
	free(mean);
	onr_trainer_free(t);
	onr_model_free(m);
	free(files);
	return status;
}
