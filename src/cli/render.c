/* SPDX-License-Identifier: GPL-2.0-or-later */
/* render.c -- `oneiro render`: dreams audio files offline through the dream
 * engine (dream.h), sample-aligned with the input, written atomically; or,
 * with --from, audiates what a layer, filter or class listens for by
 * dreaming noise or silence window by window (Jenkins' visualisations). */
#include "render.h"

#include "audiofile.h"
#include "cliutil.h"
#include "dream.h"
#include "judge.h"
#include "onr.h"
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <samplerate.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096                /* frames per read / process / write */
#define MAX_ITERATIONS 4096
#define MAX_LENGTH_S 3600.0       /* --length */
#define FROM_ITERATIONS 64        /* --from defaults */
#define FROM_BOUND_DB (-6.0206)   /* 0.5 full scale */
#define FROM_NOISE_DB (-30.0)     /* dBFS RMS of the starting noise */
#define FROM_FLOOR_DB (-90.0)     /* dBFS RMS of the floor added to silence */
#define FROM_LENGTH_S 4.0
#define MAX_JOBS 256             /* --jobs */

#define PROG "oneiro render"
#define msg(...) cli_msg(PROG, __VA_ARGS__)

/* set by the signal handler, read by every rendering thread (lock-free,
 * so it may be written from a handler) */
static atomic_int g_signal;

/* libsndfile keeps the error of a failed sf_open(NULL handle) in a global:
 * opening and asking sf_strerror(NULL) is done under this lock */
static pthread_mutex_t g_sf_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_signal(int sig)
{
	g_signal = sig;
}

/* ================================================================ options */
typedef struct {
	uint32_t layer; /* 1-based, as given */
	float w;
} layer_opt;

typedef struct {
	const char *model_path;
	const char *also_path;      /* --also: a second model, or NULL */
	double also_share;          /* --also-share; NAN: not given */
	const char *out_dir;
	const char *plot_path;
	const char *from;           /* "noise", "silence" or NULL */
	int subtype;                /* SF_FORMAT_* subtype or 0 */
	/* NAN: not given */
	double depth, bound_db, floor_db, band_lo, band_hi, tilt, mix, window_s, length_s;
	long iterations;            /* -1: not given */
	double jitter_ms, jitter_gain_db; /* NAN: not given */
	long copies;                /* --copies; -1: not given */
	uint32_t overlap;           /* 0: not given (2) */
	int stereo;                 /* -1: not given (linked) */
	uint64_t seed;
	uint32_t jobs;              /* --jobs; 0: not given (the online CPUs) */
	uint32_t rate;              /* --from output rate; 0: the model's */
	int pre, smooth, quiet, window_bound;
	int form; /* -1: the default, else onr_dream_form */
	int mode;                   /* -1: not given, else ONR_OBJ_* */
	layer_opt layers[ONR_MAX_BLOCKS * 4];
	int n_layers;
	uint32_t filt_layer, filt_ch;
	const char *cls;
	const char **pos;           /* positional arguments */
	int n_pos;
	const char *argv0;
	judge_opts judge;           /* --judge, --judge-seed, --json */
} ropts;

typedef struct rbatch rbatch;

/* What every file of a run shares once the options are checked; read-only
 * while files are rendered (by one thread, or several with --jobs). */
typedef struct {
	const ropts *o;
	const char *model_path;
	onr_model *m;
	onr_model *m2;              /* --also, or NULL */
	onr_dream_params p;
	onr_dream_config cfg;       /* host_rate and channels set per file */
	int tty;                    /* a progress bar */
	char obj_desc[512];
	judge *jg;                  /* --judge / --json, or NULL */
	rbatch *batch;              /* files rendered by several threads, or NULL */
} rctx;

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: oneiro render [options] IN OUT\n"
	        "       oneiro render [options] --out-dir DIR IN...\n"
	        "       oneiro render [options] --from noise|silence [--length S] [--rate HZ] OUT\n"
	        "\n"
	        "Dreams audio files offline: each window of the sound is nudged, by a few bounded\n"
	        "gradient-ascent steps, toward what chosen layers of a model respond to. The output\n"
	        "keeps IN's sample rate, channels, length and format, and lines up with IN sample\n"
	        "for sample (the engine's latency is compensated).\n"
	        "\n"
	        "model and objective:\n"
	        "  --model FILE        the model (default: $ONEIRO_MODEL if set, else\n"
	        "                      <executable's dir>/../models/default.onm, else\n"
	        "                      %s/models/default.onm)\n"
	        "  --layer N=W         dream layer N (counted from 1 at the input, as 'oneiro inspect'\n"
	        "                      shows) with intensity W (-16 to 16); repeatable. Selects layers\n"
	        "                      mode and replaces the default weights (default: layers mode,\n"
	        "                      weight 1 on the middle conv layers of the model)\n"
	        "  --filter L:F        dream one filter: channel F (counted from 0) of layer L\n"
	        "  --class NAME|K      dream toward a class, by name or number (from 0, as inspect shows)\n"
	        "  --pre               use pre-activations, before each layer's activation and pool\n"
	        "                      (default: post-activation)\n"
	        "  --also FILE         dream for a second model as well (the same sample rate):\n"
	        "                      each step follows both models' gradients, each at unit\n"
	        "                      level, toward the class of the same name (it must have\n"
	        "                      one) or the layers at the same relative depth; not with\n"
	        "                      --filter. What moves two independently trained networks\n"
	        "                      is less one network's blind spot\n"
	        "  --also-share S      the second model's share of each step, 0 to 1 (default\n"
	        "                      0.5; 1 = the second model alone)\n"
	        "\n"
	        "dream:\n"
	        "  --depth D           step size, 0 to 4 (default 0.5; 0 = no dream: output = input)\n"
	        "  --iterations K      gradient steps per window, 0 to %d (default 8; %d with --from)\n"
	        "  --bound-db DB       how far the dream may move a sample: dB relative to the\n"
	        "                      window's RMS level, -60 to 12 (default -12); with --from, dB\n"
	        "                      relative to full scale (default -6, i.e. 0.5)\n"
	        "  --floor-db DB       windows quieter than this (dBFS RMS) stay dry, -120 to 0\n"
	        "                      (default -60; not used with --from)\n"
	        "  --band LO:HI        Hz, the band the dream may change, 0 to the model's Nyquist\n"
	        "                      frequency; LO must be below HI (default 40:Nyquist)\n"
	        "  --tilt DB           dB per octave around 1 kHz on the dream's spectrum; negative\n"
	        "                      keeps it from turning into hiss, -12 to 6 (default -3)\n"
	        "  --smooth            smooth the dream's spectrum over one critical band (default off)\n"
	        "  --form auto|add|magnitude\n"
	        "                      what the dream changes: add = a bounded delta added to the\n"
	        "                      samples; magnitude = a time-varying filter on the dry sound,\n"
	        "                      one gain per STFT bin and 16 ms frame (at 16 kHz), each\n"
	        "                      within 1 +- the bound (--bound-db relative to that bin of\n"
	        "                      the dry sound): its partials are emphasised or pushed back,\n"
	        "                      nothing phase-exact is added; auto (the default) =\n"
	        "                      magnitude for layers and filters, add toward a class\n"
	        "                      (what an independent listener measured best for each);\n"
	        "                      with --from, add\n"
	        "  --window-bound      one bound for the whole window; by default the bound follows\n"
	        "                      the sound's 10 ms envelope, so quiet moments beside loud\n"
	        "                      ones stay quiet\n"
	        "  --mix M             out = dry + M * dream, 0 to 2 (default 1)\n"
	        "  --jitter-ms MS      transformation-robust dreaming: each step follows the mean\n"
	        "                      gradient of randomly shifted views of the window (the dry\n"
	        "                      sound and the dream each shifted by 0 to MS ms), so the\n"
	        "                      dream survives small misalignments an ear ignores instead\n"
	        "                      of living in phase-exact detail; 0 to 16 ms (default %g;\n"
	        "                      0 = off). Seeded by the window's place: deterministic\n"
	        "  --copies N          views averaged per step, 1 to %d (default %u); the dream's\n"
	        "                      cost grows about N-fold\n"
	        "  --jitter-gain-db DB each view also gets a random gain within +-DB dB, 0 to 6\n"
	        "                      (default %g)\n"
	        "\n"
	        "windows:\n"
	        "  --window SECONDS    dream window length (default: the model's own window);\n"
	        "                      rounded to whole model samples divisible by the overlap, and\n"
	        "                      raised to the model's receptive field if shorter (with a note)\n"
	        "  --overlap 2|4       windows per window length (default 2)\n"
	        "  --stereo linked|independent\n"
	        "                      one dream of the channels' mean added to every channel\n"
	        "                      (default linked), or one dream per channel\n"
	        "\n"
	        "files:\n"
	        "  --out-dir DIR       render each IN to DIR/<IN's file name> (DIR is created if\n"
	        "                      missing; an IN that is already in DIR is refused)\n"
	        "  --jobs N            with --out-dir and several INs: how many files are dreamed\n"
	        "                      at once, each by its own thread and engine, 1 to %d (default:\n"
	        "                      the number of online CPUs; 1 = one after another). Every\n"
	        "                      output is the same, bit for bit, whatever N. One progress\n"
	        "                      line for the batch (files done, overall fraction, the files\n"
	        "                      in flight); each file's summary is printed whole, in input\n"
	        "                      order. A file that fails is named and the others go on\n"
	        "                      (exit status 1; no output is left for it). With --judge the\n"
	        "                      files are dreamed in parallel and judged one at a time (each\n"
	        "                      judge uses every core): the same figures as with --jobs 1\n"
	        "  --subtype NAME      output encoding: pcm8 pcm16 pcm24 pcm32 float double vorbis\n"
	        "                      opus (default: IN's; with --from, the usual one for OUT's\n"
	        "                      extension, e.g. 32-bit float for .wav)\n"
	        "  --plot FILE         also write spectrograms of the dry sound, the dreamed sound and\n"
	        "                      the delta (out - in), log frequency, dBFS; a picture in PNG,\n"
	        "                      SVG or PDF by FILE's extension (.png .svg .pdf; one IN only)\n"
	        "  --quiet             no progress bar and no summary (errors and notes still go to\n"
	        "                      stderr)\n"
	        "\n"
	        "audiating what a layer, filter or class listens for (no IN):\n"
	        "  --from noise|silence\n"
	        "                      start from seeded white noise at %.0f dBFS RMS, or from silence\n"
	        "                      (plus a seeded noise floor at %.0f dBFS RMS: at exactly zero\n"
	        "                      the gradient of a ReLU network can vanish), and dream the whole\n"
	        "                      length window by window at the model's rate\n"
	        "  --length SECONDS    length, above 0 up to %.0f s (default %.0f)\n"
	        "  --rate HZ           output sample rate, %d to %d Hz (default: the model's);\n"
	        "                      resampled with libsamplerate when it differs\n"
	        "  --seed S            noise seed, a whole number (default 0)\n"
	        "\n"
	        "judging whether a listener would hear the dream (after each file):\n"
	        "  --judge MODEL       score the dry, the dreamed and a control sound (each mixed to\n"
	        "                      mono) with MODEL's windows, as 'oneiro score' does;\n"
	        "                      repeatable. The control is dry + noise with the delta's own\n"
	        "                      spectrogram (STFT magnitudes per 32 ms frame, random phases,\n"
	        "                      the delta's RMS). Reported:\n"
	        "                      with --class, the target's mean log-odds log(p/(1-p)) per\n"
	        "                      window (a judge without that class name says so); always, the\n"
	        "                      mean total-variation distance of the class distribution from\n"
	        "                      the dry one (0 to 1) and the top class. The dreaming model is\n"
	        "                      judged too, with the shift test: its gain with the delta\n"
	        "                      delayed by 1 ms and 10 ms, and the fraction kept\n"
	        "  --judge-seed S      seed of the control's phases, a whole number (default %d)\n"
	        "  --json FILE         the judged figures as JSON, per file and their mean over the\n"
	        "                      files; - for stdout (the readable report then goes to stderr).\n"
	        "                      Each judge's record also has its gain with the delta 1 ms\n"
	        "                      late (gain_1ms). Judges the dreaming model alone when no\n"
	        "                      --judge is given\n"
	        "  --judge-control FILE\n"
	        "                      also write the control sound, the input's mono mix plus the\n"
	        "                      noise, as 32-bit float WAV (one IN only)\n"
	        "\n"
	        "The container follows OUT's extension when that names another one (.wav .flac\n"
	        ".ogg .opus .aiff .caf .w64 .rf64 .au); a format that cannot be written falls back\n"
	        "to 32-bit float WAV, with a note. OUT is written to a temporary file beside it and\n"
	        "renamed when complete: a failure or Ctrl-C never leaves a partial OUT.\n"
	        "Non-finite input samples (NaN, Inf) are taken as silence and counted.\n"
	        "Exit status: 0 done, 1 failed (in a batch: any file), 2 bad usage, 130 interrupted.\n",
	        ONR_DATADIR, MAX_ITERATIONS, FROM_ITERATIONS, (double)ONR_DREAM_DEFAULT_JITTER_MS,
	        ONR_DREAM_MAX_COPIES, ONR_DREAM_DEFAULT_COPIES, (double)ONR_DREAM_DEFAULT_JITTER_GAIN_DB,
	        MAX_JOBS, FROM_NOISE_DB, FROM_FLOOR_DB,
	        MAX_LENGTH_S, FROM_LENGTH_S, ONR_DREAM_MIN_RATE, ONR_DREAM_MAX_RATE, JUDGE_DEFAULT_SEED);
}

static int parse_number(const char *opt, const char *s, double *out)
{
	return cli_parse_double(PROG, opt, s, -INFINITY, INFINITY, out);
}

/* Splits v, "A<sep>B", into A (copied into a, len bytes) and *b; -1 when
 * there is no sep, or A is empty or too long. */
static int split_at(const char *v, int sep, char *a, size_t len, const char **b)
{
	const char *e = strchr(v, sep);
	if (!e || e == v || (size_t)(e - v) >= len)
		return -1;
	memcpy(a, v, (size_t)(e - v));
	a[e - v] = 0;
	*b = e + 1;
	return 0;
}

/* Parses argv into o; 0, or EXIT_USAGE after a message, or -1 for --help. */
static int parse_args(int argc, char **argv, ropts *o)
{
	o->depth = o->bound_db = o->floor_db = o->band_lo = o->band_hi = NAN;
	o->tilt = o->mix = o->window_s = o->length_s = NAN;
	o->iterations = -1;
	o->jitter_ms = o->jitter_gain_db = o->also_share = NAN;
	o->copies = -1;
	o->stereo = -1;
	o->mode = -1;
	o->form = -1;
	o->pos = calloc((size_t)argc + 1, sizeof *o->pos);
	if (!o->pos) {
		msg("out of memory");
		return EXIT_FAIL;
	}
	cli_args a;
	judge_opts_init(&o->judge);
	cli_args_init(&a, argc, argv, PROG);
	for (int kind; (kind = cli_args_next(&a)) != CLI_END;) {
		if (kind == CLI_POS) {
			o->pos[o->n_pos++] = a.arg;
			continue;
		}
		if (kind == CLI_HELP)
			return -1;
		int jr = judge_parse_option(&o->judge, &a);
		if (jr < 0)
			return EXIT_USAGE;
		if (jr > 0)
			continue;
		const cli_flag flags[] = {
			{"--pre", &o->pre}, {"--smooth", &o->smooth}, {"--quiet", &o->quiet}, {"-q", &o->quiet},
			{"--window-bound", &o->window_bound}};
		static const char *const with_value[] = {
			"--model", "--layer", "--filter", "--class", "--depth", "--iterations", "--bound-db",
			"--floor-db", "--band", "--tilt", "--mix", "--window", "--overlap", "--stereo",
			"--seed", "--out-dir", "--plot", "--from", "--length", "--rate", "--subtype",
			"--jitter-ms", "--copies", "--jitter-gain-db", "--form", "--jobs",
			"--also", "--also-share"};
		int r = cli_args_option(&a, flags, sizeof flags / sizeof flags[0], with_value,
		                        sizeof with_value / sizeof with_value[0]);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		const char *name = a.name;
		const char *v = a.arg;
		uint64_t u;
		if (!strcmp(name, "--model")) {
			o->model_path = v;
		} else if (!strcmp(name, "--layer")) {
			char nb[32];
			const char *wv;
			double w;
			if (split_at(v, '=', nb, sizeof nb, &wv)) {
				msg("--layer: '%s' is not N=W (layer number = intensity, e.g. 3=0.5)", v);
				return EXIT_USAGE;
			}
			if (cli_parse_u64(PROG, "--layer", nb, 1, UINT32_MAX, &u) ||
			    parse_number("--layer", wv, &w))
				return EXIT_USAGE;
			if (o->mode >= 0 && o->mode != ONR_OBJ_LAYERS) {
				msg("--layer: cannot be combined with --filter or --class");
				return EXIT_USAGE;
			}
			if (o->n_layers == (int)(sizeof o->layers / sizeof o->layers[0])) {
				msg("--layer: too many");
				return EXIT_USAGE;
			}
			o->mode = ONR_OBJ_LAYERS;
			o->layers[o->n_layers].layer = (uint32_t)u;
			o->layers[o->n_layers].w = (float)w;
			o->n_layers++;
		} else if (!strcmp(name, "--filter")) {
			char lb[32];
			const char *fv;
			uint64_t f;
			if (split_at(v, ':', lb, sizeof lb, &fv)) {
				msg("--filter: '%s' is not L:F (layer : channel, e.g. 2:5)", v);
				return EXIT_USAGE;
			}
			if (cli_parse_u64(PROG, "--filter", lb, 1, UINT32_MAX, &u) ||
			    cli_parse_u64(PROG, "--filter", fv, 0, UINT32_MAX, &f))
				return EXIT_USAGE;
			if (o->mode >= 0) {
				msg("--filter: only one of --layer, --filter, --class");
				return EXIT_USAGE;
			}
			o->mode = ONR_OBJ_FILTER;
			o->filt_layer = (uint32_t)u;
			o->filt_ch = (uint32_t)f;
		} else if (!strcmp(name, "--class")) {
			if (o->mode >= 0) {
				msg("--class: only one of --layer, --filter, --class");
				return EXIT_USAGE;
			}
			o->mode = ONR_OBJ_CLASS;
			o->cls = v;
		} else if (!strcmp(name, "--depth")) {
			if (parse_number(name, v, &o->depth))
				return EXIT_USAGE;
		} else if (!strcmp(name, "--iterations")) {
			if (cli_parse_u64(PROG, name, v, 0, MAX_ITERATIONS, &u))
				return EXIT_USAGE;
			o->iterations = (long)u;
		} else if (!strcmp(name, "--bound-db")) {
			if (parse_number(name, v, &o->bound_db))
				return EXIT_USAGE;
		} else if (!strcmp(name, "--floor-db")) {
			if (parse_number(name, v, &o->floor_db))
				return EXIT_USAGE;
		} else if (!strcmp(name, "--band")) {
			char lb[64];
			const char *hv;
			if (split_at(v, ':', lb, sizeof lb, &hv)) {
				msg("--band: '%s' is not LO:HI in Hz (e.g. 100:4000)", v);
				return EXIT_USAGE;
			}
			if (parse_number(name, lb, &o->band_lo) || parse_number(name, hv, &o->band_hi))
				return EXIT_USAGE;
			if (!(o->band_lo < o->band_hi)) {
				msg("--band: in '%s' the low edge must be below the high edge (LO:HI, Hz)", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(name, "--tilt")) {
			if (parse_number(name, v, &o->tilt))
				return EXIT_USAGE;
		} else if (!strcmp(name, "--mix")) {
			if (parse_number(name, v, &o->mix))
				return EXIT_USAGE;
		} else if (!strcmp(name, "--window")) {
			if (parse_number(name, v, &o->window_s))
				return EXIT_USAGE;
			if (!(o->window_s > 0.0)) {
				msg("--window: %s s: the window must be longer than 0 s", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(name, "--overlap")) {
			if (strcmp(v, "2") && strcmp(v, "4")) {
				msg("--overlap: '%s' must be 2 or 4", v);
				return EXIT_USAGE;
			}
			o->overlap = (uint32_t)atoi(v);
		} else if (!strcmp(name, "--stereo")) {
			if (!strcmp(v, "linked"))
				o->stereo = ONR_STEREO_LINKED;
			else if (!strcmp(v, "independent"))
				o->stereo = ONR_STEREO_INDEPENDENT;
			else {
				msg("--stereo: '%s' must be linked or independent", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(name, "--also")) {
			o->also_path = v;
		} else if (!strcmp(name, "--also-share")) {
			if (cli_parse_double(PROG, name, v, 0.0, 1.0, &o->also_share))
				return EXIT_USAGE;
		} else if (!strcmp(name, "--form")) {
			if (!strcmp(v, "add"))
				o->form = ONR_DREAM_ADD;
			else if (!strcmp(v, "magnitude"))
				o->form = ONR_DREAM_MAGNITUDE;
			else if (!strcmp(v, "auto"))
				o->form = ONR_DREAM_AUTO;
			else {
				msg("--form: '%s' must be auto, add or magnitude", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(name, "--jitter-ms")) {
			if (parse_number(name, v, &o->jitter_ms))
				return EXIT_USAGE;
		} else if (!strcmp(name, "--jitter-gain-db")) {
			if (parse_number(name, v, &o->jitter_gain_db))
				return EXIT_USAGE;
		} else if (!strcmp(name, "--copies")) {
			if (cli_parse_u64(PROG, name, v, 1, ONR_DREAM_MAX_COPIES, &u))
				return EXIT_USAGE;
			o->copies = (long)u;
		} else if (!strcmp(name, "--seed")) {
			if (cli_parse_u64(PROG, name, v, 0, UINT64_MAX, &o->seed))
				return EXIT_USAGE;
		} else if (!strcmp(name, "--out-dir")) {
			o->out_dir = v;
		} else if (!strcmp(name, "--jobs")) {
			if (cli_parse_u64(PROG, name, v, 1, MAX_JOBS, &u))
				return EXIT_USAGE;
			o->jobs = (uint32_t)u;
		} else if (!strcmp(name, "--plot")) {
			if (!plot_path_ok(v)) {
				msg("--plot: '%s' must end in .png, .svg or .pdf", v);
				return EXIT_USAGE;
			}
			o->plot_path = v;
		} else if (!strcmp(name, "--from")) {
			if (strcmp(v, "noise") && strcmp(v, "silence")) {
				msg("--from: '%s' must be noise or silence", v);
				return EXIT_USAGE;
			}
			o->from = v;
		} else if (!strcmp(name, "--length")) {
			if (parse_number(name, v, &o->length_s))
				return EXIT_USAGE;
			if (!(o->length_s > 0.0 && o->length_s <= MAX_LENGTH_S)) {
				msg("--length: %s s is out of range (above 0 up to %.0f s)", v, MAX_LENGTH_S);
				return EXIT_USAGE;
			}
		} else if (!strcmp(name, "--rate")) {
			if (cli_parse_u64(PROG, name, v, ONR_DREAM_MIN_RATE, ONR_DREAM_MAX_RATE, &u))
				return EXIT_USAGE;
			o->rate = (uint32_t)u;
		} else if (!strcmp(name, "--subtype")) {
			o->subtype = af_sub_from_name(v);
			if (!o->subtype) {
				msg("--subtype: '%s' must be one of pcm8 pcm16 pcm24 pcm32 float double vorbis "
				    "opus",
				    v);
				return EXIT_USAGE;
			}
		}
	}
	return 0;
}

/* ================================================================ model */
/* The range onr_dream_params_sanitize allows for the float at `off` in the
 * params: found by asking it to clamp extremes, so that this file and the
 * engine never disagree. */
static void param_range(const onr_model *m, size_t off, float *lo, float *hi)
{
	onr_dream_params q;
	onr_dream_params_default(&q, m);
	q.band_lo = 0.0f;
	float *f = (float *)((char *)&q + off);
	*f = -1e30f;
	onr_dream_params_sanitize(&q, m);
	*lo = *f;
	onr_dream_params_default(&q, m);
	q.band_lo = 0.0f;
	f = (float *)((char *)&q + off);
	*f = 1e30f;
	onr_dream_params_sanitize(&q, m);
	*hi = *f;
}

static int check_param(const onr_model *m, const char *opt, double v, size_t off, const char *unit,
                       const char *extra)
{
	float lo, hi;
	param_range(m, off, &lo, &hi);
	if (v >= lo && v <= hi)
		return 0;
	msg("%s: %g%s is out of range (%g to %g%s%s)", opt, v, unit, (double)lo, (double)hi, unit,
	    extra ? extra : "");
	return -1;
}

/* Fills c->p (and the config) from the options and the model; EXIT_USAGE
 * after a message naming the option when something is out of range. */
static int make_params(rctx *c)
{
	const ropts *o = c->o;
	const onr_model *m = c->m;
	onr_dream_params *p = &c->p;
	onr_dream_params_default(p, m);
	int from = o->from != NULL;
	if (from)
		p->iterations = FROM_ITERATIONS;
	if (o->mode == ONR_OBJ_LAYERS) {
		memset(p->obj.layer_w, 0, sizeof p->obj.layer_w);
		for (int i = 0; i < o->n_layers; i++) {
			uint32_t L = o->layers[i].layer;
			if (L > m->n_blocks) {
				msg("--layer: the model has layers 1 to %u, not %u (see oneiro inspect)",
				    m->n_blocks, L);
				return EXIT_USAGE;
			}
			char opt[32];
			snprintf(opt, sizeof opt, "--layer %u", L);
			if (check_param(m, opt, o->layers[i].w,
			                offsetof(onr_dream_params, obj.layer_w) + (L - 1) * sizeof(float), "",
			                NULL))
				return EXIT_USAGE;
			p->obj.layer_w[L - 1] = o->layers[i].w;
		}
	} else if (o->mode == ONR_OBJ_FILTER) {
		if (o->filt_layer > m->n_blocks) {
			msg("--filter: the model has layers 1 to %u, not %u (see oneiro inspect)",
			    m->n_blocks, o->filt_layer);
			return EXIT_USAGE;
		}
		uint32_t C, T;
		onr_model_block_shape(m, o->filt_layer - 1, o->pre, m->window, &C, &T);
		if (o->filt_ch >= C) {
			msg("--filter: layer %u has channels 0 to %u, not %u", o->filt_layer, C - 1,
			    o->filt_ch);
			return EXIT_USAGE;
		}
		p->obj.mode = ONR_OBJ_FILTER;
		p->obj.block = o->filt_layer - 1;
		p->obj.filter = o->filt_ch;
	} else if (o->mode == ONR_OBJ_CLASS) {
		uint32_t k = onr_model_class_index(m, o->cls, 1);
		if (k == UINT32_MAX) {
			char *end;
			errno = 0;
			unsigned long v = strtoul(o->cls, &end, 10);
			if (!errno && end != o->cls && !*end && o->cls[0] != '-' && v < m->n_classes)
				k = (uint32_t)v;
		}
		if (k == UINT32_MAX) {
			msg("--class: the model has no class '%s' (its classes: 0 to %u, see oneiro "
			    "inspect)",
			    o->cls, m->n_classes - 1);
			return EXIT_USAGE;
		}
		p->obj.mode = ONR_OBJ_CLASS;
		p->obj.cls = k;
	}
	p->obj.pre = o->pre;
	char err[512];
	if (onr_objective_check(m, &p->obj, err, sizeof err)) {
		msg("the objective does not fit the model: %s", err);
		return EXIT_USAGE;
	}
	if (!isnan(o->depth)) {
		if (check_param(m, "--depth", o->depth, offsetof(onr_dream_params, depth), "", NULL))
			return EXIT_USAGE;
		p->depth = (float)o->depth;
	}
	if (o->iterations >= 0)
		p->iterations = (uint32_t)o->iterations;
	if (!isnan(o->bound_db)) {
		if (check_param(m, "--bound-db", o->bound_db, offsetof(onr_dream_params, bound_db),
		                " dB", NULL))
			return EXIT_USAGE;
		p->bound_db = (float)o->bound_db;
	}
	if (!isnan(o->floor_db)) {
		if (check_param(m, "--floor-db", o->floor_db, offsetof(onr_dream_params, floor_db),
		                " dBFS", NULL))
			return EXIT_USAGE;
		p->floor_db = (float)o->floor_db;
	}
	if (!isnan(o->band_lo)) {
		char nyq[96];
		snprintf(nyq, sizeof nyq, ": the dream runs at the model's %u Hz", m->sample_rate);
		if (check_param(m, "--band", o->band_lo, offsetof(onr_dream_params, band_lo), " Hz", nyq) ||
		    check_param(m, "--band", o->band_hi, offsetof(onr_dream_params, band_hi), " Hz", nyq))
			return EXIT_USAGE;
		p->band_lo = (float)o->band_lo;
		p->band_hi = (float)o->band_hi;
	}
	if (!isnan(o->tilt)) {
		if (check_param(m, "--tilt", o->tilt, offsetof(onr_dream_params, tilt_db), " dB/octave",
		                NULL))
			return EXIT_USAGE;
		p->tilt_db = (float)o->tilt;
	}
	p->smooth = o->smooth;
	p->window_bound = o->window_bound;
	/* auto; from noise or silence there is no dry sound to filter: add */
	p->form = o->form >= 0 ? (uint32_t)o->form : o->from ? ONR_DREAM_ADD : ONR_DREAM_AUTO;
	if (!isnan(o->mix)) {
		if (check_param(m, "--mix", o->mix, offsetof(onr_dream_params, mix), "", NULL))
			return EXIT_USAGE;
		p->mix = (float)o->mix;
	}
	if (!isnan(o->jitter_ms)) {
		if (check_param(m, "--jitter-ms", o->jitter_ms, offsetof(onr_dream_params, jitter_ms),
		                " ms", NULL))
			return EXIT_USAGE;
		p->jitter_ms = (float)o->jitter_ms;
	}
	if (!isnan(o->jitter_gain_db)) {
		if (check_param(m, "--jitter-gain-db", o->jitter_gain_db,
		                offsetof(onr_dream_params, jitter_gain_db), " dB", NULL))
			return EXIT_USAGE;
		p->jitter_gain_db = (float)o->jitter_gain_db;
	}
	if (o->copies > 0)
		p->jitter_copies = (uint32_t)o->copies;
	if (!isnan(o->also_share))
		p->second_share = (float)o->also_share;
	/* nothing should change now; if it does, the engine and this file
	 * disagree about a range: say so rather than dream something else */
	onr_dream_params q = *p;
	if (onr_dream_params_sanitize(&q, m)) {
		msg("internal: the engine changed parameters that were checked; please report");
		return EXIT_FAIL;
	}

	/* windows */
	onr_dream_config *cfg = &c->cfg;
	memset(cfg, 0, sizeof *cfg);
	cfg->overlap = o->overlap ? o->overlap : 2;
	cfg->stereo = o->stereo >= 0 ? (uint32_t)o->stereo : ONR_STEREO_LINKED;
	cfg->max_iterations = p->iterations ? p->iterations : 1;
	uint32_t ov = cfg->overlap;
	uint32_t min_w = (m->min_len + ov - 1) / ov * ov;
	if (!isnan(o->window_s)) {
		double n = o->window_s * m->sample_rate;
		if (n > ONR_MAX_WINDOW) {
			msg("--window: %g s is too long (at most %.1f s at the model's %u Hz)", o->window_s,
			    (double)ONR_MAX_WINDOW / m->sample_rate, m->sample_rate);
			return EXIT_USAGE;
		}
		uint32_t W = (uint32_t)llround(n / ov) * ov;
		if (W < min_w) {
			msg("note: --window %g s is shorter than the model's receptive field; using "
			    "%u samples (%.4f s)",
			    o->window_s, min_w, (double)min_w / m->sample_rate);
			W = min_w;
		}
		cfg->window = W;
	} else {
		uint32_t W = m->window / ov * ov;
		cfg->window = W < min_w ? min_w : W;
	}
	return 0;
}

static void describe_objective(rctx *c)
{
	const onr_model *m = c->m;
	const onr_objective *ob = &c->p.obj;
	char *d = c->obj_desc;
	size_t len = sizeof c->obj_desc, n = 0;
	if (ob->mode == ONR_OBJ_LAYERS) {
		n += (size_t)snprintf(d + n, len - n, "layers");
		for (uint32_t b = 0; b < m->n_blocks && n < len; b++)
			if (ob->layer_w[b] != 0.0f)
				n += (size_t)snprintf(d + n, len - n, " %u=%g", b + 1, (double)ob->layer_w[b]);
	} else if (ob->mode == ONR_OBJ_FILTER) {
		n += (size_t)snprintf(d + n, len - n, "filter %u of layer %u", ob->filter, ob->block + 1);
	} else {
		n += (size_t)snprintf(d + n, len - n, "class %u (%s)", ob->cls, m->class_names[ob->cls]);
	}
	if (n < len)
		snprintf(d + n, len - n, ", %s", ob->pre ? "pre-activation" : "post-activation");
}

/* ================================================================ progress */
typedef struct {
	cli_progress line;
	double t0;
	const char *name;
} progress;

static void progress_show(progress *pg, double frac, double done_s, int force)
{
	if (!cli_progress_due(&pg->line, force))
		return;
	double el = pg->line.last - pg->t0;
	char bar[31];
	char line[256];
	int n;
	if (frac >= 0.0) {
		if (frac > 1.0)
			frac = 1.0;
		cli_progress_bar(bar, 30, frac);
		n = snprintf(line, sizeof line, "%.40s %3.0f%% [%s] %.1f s", pg->name, 100.0 * frac, bar,
		             done_s);
	} else {
		n = snprintf(line, sizeof line, "%.40s %.1f s", pg->name, done_s);
	}
	if (el > 0.05 && n > 0 && (size_t)n < sizeof line)
		n += snprintf(line + n, sizeof line - (size_t)n, "  %.1fx realtime", done_s / el);
	if (n < 0)
		return;
	cli_progress_line(&pg->line, line, n);
}

/* ================================================================ summary */
static void print_layers(cli_buf *sum, const rctx *c, uint64_t windows, const double *lb,
                         const double *la)
{
	const onr_model *m = c->m;
	const onr_objective *ob = &c->p.obj;
	if (!windows)
		return;
	cli_printf(sum, "layers (mean(a^2), before -> after, post-activation):\n");
	for (uint32_t b = 0; b < m->n_blocks; b++) {
		int used;
		if (ob->mode == ONR_OBJ_LAYERS)
			used = ob->layer_w[b] != 0.0f;
		else if (ob->mode == ONR_OBJ_FILTER)
			used = b == ob->block;
		else
			used = lb[b] != 0.0 || la[b] != 0.0;
		if (!used)
			continue;
		double bef = lb[b] / windows, aft = la[b] / windows;
		cli_printf(sum, "  Layer %-2u       %.6g -> %.6g", b + 1, bef, aft);
		if (bef > 0.0)
			cli_printf(sum, " (%+.1f dB)", 10.0 * log10(aft / bef));
		cli_printf(sum, "\n");
	}
}

/* The summary's model lines: the model, and the second one with --also. */
static void print_models(cli_buf *sum, const rctx *c)
{
	cli_printf(sum, "model:          %s (%u Hz)\n", c->model_path, c->m->sample_rate);
	if (c->m2)
		cli_printf(sum, "also for:       %s (share %.2f)\n", c->o->also_path,
		           (double)c->p.second_share);
}

static void print_dream_settings(cli_buf *sum, const rctx *c)
{
	const onr_dream_params *p = &c->p;
	uint32_t W = c->cfg.window;
	cli_printf(sum, "objective:      %s\n", c->obj_desc);
	cli_printf(sum, "dream:          depth %g, %u iterations, ", (double)p->depth, p->iterations);
	if (c->o->from)
		cli_printf(sum, "bound %g dBFS", isnan(c->o->bound_db) ? FROM_BOUND_DB : c->o->bound_db);
	else
		cli_printf(sum, "bound %g dB, floor %g dBFS", (double)p->bound_db, (double)p->floor_db);
	cli_printf(sum, ", band %g-%g Hz, tilt %g dB/oct%s, mix %g\n", (double)p->band_lo,
	       (double)p->band_hi, (double)p->tilt_db,
	       p->smooth ? (p->window_bound ? ", smoothed, bound per window" : ", smoothed")
	                 : (p->window_bound ? ", bound per window" : ""),
	       (double)p->mix);
	cli_printf(sum, "form:           %s\n",
	       onr_dream_form_of(p) == ONR_DREAM_MAGNITUDE
	           ? (p->form == ONR_DREAM_AUTO
	                  ? "magnitude (auto: a time-varying filter on the dry sound)"
	                  : "magnitude (a time-varying filter on the dry sound: gains per STFT bin "
	                    "and frame)")
	           : (p->form == ONR_DREAM_AUTO ? "add (auto: a bounded delta added to the samples)"
	                                        : "add (a bounded delta added to the samples)"));
	if (p->jitter_ms > 0.0f || p->jitter_gain_db > 0.0f)
		cli_printf(sum, "jitter:         %u view%s per step, shifted up to %g ms, gain +-%g dB\n",
		       p->jitter_copies, p->jitter_copies == 1 ? "" : "s", (double)p->jitter_ms,
		       (double)p->jitter_gain_db);
	else
		cli_printf(sum, "jitter:         off\n");
	cli_printf(sum, "windows of:     %u samples at %u Hz (%.3f s), overlap %u", W, c->m->sample_rate,
	       (double)W / c->m->sample_rate, c->cfg.overlap);
	if (!c->o->from)
		cli_printf(sum, ", stereo %s", c->cfg.stereo == ONR_STEREO_INDEPENDENT ? "independent" : "linked");
	cli_printf(sum, "\n");
}

/* ================================================================ render */
typedef struct {
	char tmp[CLI_PATH_BUF];
	int have_tmp;
} tmpfile_t;

static void tmp_discard(tmpfile_t *t)
{
	if (t->have_tmp)
		unlink(t->tmp);
	t->have_tmp = 0;
}

/* Opens the output: a temporary file beside `out`, in `fmt` if libsndfile
 * can write it, else as 32-bit float WAV (with a note). */
static SNDFILE *open_output(const char *out, SF_INFO *so, tmpfile_t *t)
{
	int fd = cli_tmp_create(out, t->tmp, sizeof t->tmp);
	if (fd < 0) {
		msg("%s: cannot create a file in its directory: %s", out, strerror(errno));
		return NULL;
	}
	close(fd);
	t->have_tmp = 1;
	SNDFILE *o = NULL;
	int was = so->format, fell_back = 0;
	char why[256] = "";
	pthread_mutex_lock(&g_sf_lock);
	if (sf_format_check(so))
		o = sf_open(t->tmp, SFM_WRITE, so);
	if (!o) {
		so->format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
		o = sf_open(t->tmp, SFM_WRITE, so);
		fell_back = 1;
		if (!o)
			snprintf(why, sizeof why, "%s", sf_strerror(NULL));
	}
	pthread_mutex_unlock(&g_sf_lock);
	if (o && fell_back)
		msg("note: %s: cannot write %s %s at %d Hz, %d channels; writing 32-bit float WAV "
		    "instead",
		    out, af_major_name(was), af_sub_name(was), so->samplerate, so->channels);
	if (!o) {
		msg("%s: cannot write: %s", out, why);
		tmp_discard(t);
		return NULL;
	}
	/* no time stamp in a PEAK chunk: the same render gives the same bytes */
	sf_command(o, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	sf_command(o, SFC_SET_CLIPPING, NULL, SF_TRUE);
	if (af_int_scale(so->format) > 0.0)
		sf_command(o, SFC_SET_NORM_DOUBLE, NULL, SF_FALSE);
	return o;
}

/* Closes and renames into place; 0 or EXIT_FAIL after a message. */
static int commit_output(SNDFILE *o, tmpfile_t *t, const char *out)
{
	int e = sf_close(o);
	if (e) {
		msg("%s: writing failed: %s", out, sf_error_number(e));
		tmp_discard(t);
		return EXIT_FAIL;
	}
	if (g_signal) {
		tmp_discard(t);
		return 128 + g_signal;
	}
	if (rename(t->tmp, out)) {
		msg("%s: cannot move the finished file into place: %s", out, strerror(errno));
		tmp_discard(t);
		return EXIT_FAIL;
	}
	t->have_tmp = 0;
	return 0;
}

static int interrupted(tmpfile_t *t, const char *out)
{
	tmp_discard(t);
	msg("interrupted; %s not written", out);
	return 128 + g_signal;
}

/* Renders one file; returns an exit status. */
static void batch_progress(rbatch *b, int idx, double frac, double secs);

/* Renders one file (number idx of the batch), its summary into sum;
 * returns an exit status. Runs on the main thread, or on one of the
 * batch's workers (c->batch): then it draws no progress line of its own. */
static int render_file(rctx *c, int idx, const char *in_path, const char *out_path, cli_buf *sum)
{
	const ropts *o = c->o;
	struct stat st;
	if (stat(in_path, &st)) {
		msg("%s: cannot read: %s", in_path, strerror(errno));
		return EXIT_FAIL;
	}
	if (S_ISDIR(st.st_mode)) {
		msg("%s: is a directory, not an audio file", in_path);
		return EXIT_FAIL;
	}
	SF_INFO si;
	memset(&si, 0, sizeof si);
	char why[256] = "";
	pthread_mutex_lock(&g_sf_lock);
	SNDFILE *in = sf_open(in_path, SFM_READ, &si);
	if (!in)
		snprintf(why, sizeof why, "%s", sf_strerror(NULL));
	pthread_mutex_unlock(&g_sf_lock);
	if (!in) {
		msg("%s: not an audio file libsndfile can read (%s)", in_path, why);
		return EXIT_FAIL;
	}
	uint32_t C = (uint32_t)si.channels;
	int known_len = si.frames > 0 && si.frames < SF_COUNT_MAX;
	double iscale = af_int_scale(si.format);
	if (iscale > 0.0)
		sf_command(in, SFC_SET_NORM_DOUBLE, NULL, SF_FALSE);

	char err[512];
	onr_dream_config cfg = c->cfg;
	cfg.host_rate = (uint32_t)si.samplerate;
	cfg.channels = C;
	onr_dream *d = NULL;
	if (onr_dream_new(&d, c->m, &cfg, err, sizeof err)) {
		msg("%s: cannot dream it: %s", in_path, err);
		sf_close(in);
		return EXIT_FAIL;
	}
	onr_dream_set_params(d, &c->p);
	onr_dream_reset(d); /* start at the mix asked for, not gliding from the default */
	onr_dream_set_timing(d, 1);
	uint32_t L = onr_dream_latency(d);

	plot *pl = NULL;
	if (o->plot_path) {
		if (!known_len) {
			msg("%s: --plot: the input's length is unknown or zero; no plot", in_path);
		} else if (plot_new(&pl, (uint32_t)si.samplerate, (uint64_t)si.frames, err, sizeof err)) {
			msg("--plot: %s", err);
			onr_dream_free(d);
			sf_close(in);
			return EXIT_FAIL;
		}
	}

	/* the output format: IN's, in the container OUT's extension names */
	SF_INFO so;
	memset(&so, 0, sizeof so);
	so.samplerate = si.samplerate;
	so.channels = si.channels;
	int in_major = si.format & SF_FORMAT_TYPEMASK;
	int ext_sub = 0, ext_major = af_major_from_ext(out_path, &ext_sub);
	int major = in_major, sub = si.format & SF_FORMAT_SUBMASK, endian = si.format & SF_FORMAT_ENDMASK;
	if (ext_major && ext_major != in_major &&
	    !(ext_major == SF_FORMAT_WAV && in_major == SF_FORMAT_WAVEX)) {
		major = ext_major;
		endian = 0;
		so.format = major | sub;
		if (!o->subtype && !sf_format_check(&so))
			sub = ext_sub;
	}
	if (o->subtype)
		sub = o->subtype;
	so.format = major | sub | endian;
	if (o->subtype && !sf_format_check(&so)) {
		msg("--subtype: %s cannot hold %s samples", af_major_name(major), af_sub_name(sub));
		plot_free(pl);
		onr_dream_free(d);
		sf_close(in);
		return EXIT_USAGE;
	}
	tmpfile_t t = {.have_tmp = 0};
	SNDFILE *out = open_output(out_path, &so, &t);
	if (!out) {
		plot_free(pl);
		onr_dream_free(d);
		sf_close(in);
		return EXIT_FAIL;
	}
	af_copy_strings(in, out);
	double oscale = af_int_scale(so.format);

	/* buffers: interleaved doubles in and out, planar floats for the
	 * engine, and the input frames waiting for their output (latency) */
	size_t ring_frames = (size_t)L + BLOCK;
	double *ibuf = malloc(sizeof(double) * BLOCK * C);
	double *obuf = malloc(sizeof(double) * BLOCK * C);
	double *ring = malloc(sizeof(double) * ring_frames * C);
	float *plane = malloc(sizeof(float) * BLOCK * C * 2);
	float *pdry = malloc(sizeof(float) * BLOCK), *pwet = malloc(sizeof(float) * BLOCK);
	float *inp[ONR_DREAM_MAX_CHANNELS], *outp[ONR_DREAM_MAX_CHANNELS];
	judge_audio jaud = {0}; /* the mono mix for --judge */
	int status = 0;
	if (!ibuf || !obuf || !ring || !plane || !pdry || !pwet) {
		msg("%s: out of memory", in_path);
		status = EXIT_FAIL;
		goto done;
	}
	for (uint32_t ch = 0; ch < C; ch++) {
		inp[ch] = plane + (size_t)ch * BLOCK;
		outp[ch] = plane + (size_t)(C + ch) * BLOCK;
	}
	progress pg = {.line = {.on = c->tty && !c->batch}, .t0 = cli_now(),
	               .name = cli_base_name(in_path)};
	double t0 = cli_now();
	uint64_t nin = 0, fed = 0, nout = 0, nonfinite = 0, clipped = 0;
	size_t ring_rd = 0, ring_len = 0;
	int eof = 0;
	while (!eof || fed < nin + L) {
		if (g_signal) {
			cli_progress_end(&pg.line);
			status = interrupted(&t, out_path);
			sf_close(out);
			goto done;
		}
		uint32_t n;
		if (!eof) {
			sf_count_t k = sf_readf_double(in, ibuf, BLOCK);
			if (k < BLOCK) {
				if (sf_error(in) != SF_ERR_NO_ERROR) {
					cli_progress_end(&pg.line);
					msg("%s: reading failed: %s", in_path, sf_strerror(in));
					tmp_discard(&t);
					sf_close(out);
					status = EXIT_FAIL;
					goto done;
				}
				eof = 1;
			}
			n = (uint32_t)(k > 0 ? k : 0);
			for (uint32_t j = 0; j < n; j++)
				for (uint32_t ch = 0; ch < C; ch++) {
					double x = ibuf[(size_t)j * C + ch];
					if (!isfinite(x)) {
						nonfinite++;
						x = 0.0;
					} else if (iscale > 0.0) {
						x /= iscale;
					}
					inp[ch][j] = (float)x;
					size_t slot = (ring_rd + ring_len + j) % ring_frames;
					ring[slot * C + ch] = x;
				}
			ring_len += n;
			nin += n;
		} else {
			uint64_t left = nin + L - fed;
			n = left < BLOCK ? (uint32_t)left : BLOCK;
			for (uint32_t ch = 0; ch < C; ch++)
				memset(inp[ch], 0, n * sizeof(float));
		}
		if (!n)
			continue;
		onr_dream_process(d, (const float *const *)inp, outp, n);
		/* output frame g of the engine is input frame g - L */
		uint32_t first = fed < L ? (uint32_t)(L - fed < n ? L - fed : n) : 0;
		fed += n;
		uint32_t m_out = 0;
		for (uint32_t j = first; j < n; j++, m_out++) {
			double sd = 0.0, sw = 0.0;
			for (uint32_t ch = 0; ch < C; ch++) {
				double x = ring[ring_rd * C + ch];
				float y = outp[ch][j];
				/* the dream added to the exact input: where it is zero, the
				 * output is the input bit for bit, whatever its precision */
				double od = x + (double)(y - (float)x);
				sd += x;
				sw += od;
				if (oscale > 0.0) {
					od *= oscale;
					clipped += od > oscale - 1.0 || od < -oscale;
				}
				obuf[(size_t)m_out * C + ch] = od;
			}
			ring_rd = (ring_rd + 1) % ring_frames;
			ring_len--;
			pdry[m_out] = (float)(sd / C);
			pwet[m_out] = (float)(sw / C);
		}
		if (m_out) {
			if (sf_writef_double(out, obuf, m_out) != m_out) {
				cli_progress_end(&pg.line);
				msg("%s: writing failed: %s", out_path, sf_strerror(out));
				tmp_discard(&t);
				sf_close(out);
				status = EXIT_FAIL;
				goto done;
			}
			if (pl)
				plot_push(pl, pdry, pwet, m_out);
			if (c->jg && judge_audio_push(&jaud, pdry, pwet, m_out)) {
				cli_progress_end(&pg.line);
				msg("%s: out of memory keeping the audio to judge", in_path);
				tmp_discard(&t);
				sf_close(out);
				status = EXIT_FAIL;
				goto done;
			}
			nout += m_out;
		}
		/* progress by what was read: the latency's worth of output comes
		 * late, but the work is done as the input goes in */
		double done_s = (double)nin / si.samplerate;
		double frac = known_len ? (double)nin / (double)si.frames : -1.0;
		if (c->batch)
			batch_progress(c->batch, idx, frac, done_s);
		else
			progress_show(&pg, frac, done_s, 0);
	}
	progress_show(&pg, known_len ? 1.0 : -1.0, (double)nout / si.samplerate, 1);
	cli_progress_end(&pg.line);
	status = commit_output(out, &t, out_path);
	if (status) {
		if (status > 128)
			msg("interrupted; %s not written", out_path);
		goto done;
	}
	double elapsed = cli_now() - t0;
	if (pl) {
		char title[1024];
		snprintf(title, sizeof title, "%s -> %s | model %s | %s | depth %g", cli_base_name(in_path),
		         cli_base_name(out_path), cli_base_name(c->model_path), c->obj_desc, (double)c->p.depth);
		if (plot_write(pl, o->plot_path, title, err, sizeof err)) {
			msg("--plot: %s", err);
			status = EXIT_FAIL;
		}
	}
	if (!o->quiet) {
		const onr_dream_stats *s = onr_dream_get_stats(d);
		double audio_s = (double)nout / si.samplerate;
		cli_printf(sum, "render:         %s -> %s\n", in_path, out_path);
		print_models(sum, c);
		cli_printf(sum, "audio:          %.3f s, %d Hz, %u channel%s, %s %s", audio_s, si.samplerate, C,
		       C == 1 ? "" : "s", af_major_name(si.format), af_sub_name(si.format));
		if ((so.format & (SF_FORMAT_TYPEMASK | SF_FORMAT_SUBMASK)) !=
		    (si.format & (SF_FORMAT_TYPEMASK | SF_FORMAT_SUBMASK)))
			cli_printf(sum, " (written as %s %s)", af_major_name(so.format), af_sub_name(so.format));
		cli_printf(sum, "\n");
		print_dream_settings(sum, c);
		if (s->dry_sq > 0.0 && s->delta_sq > 0.0)
			cli_printf(sum, "delta level:    %.1f dB relative to the dry signal\n",
			       10.0 * log10(s->delta_sq / s->dry_sq));
		else if (s->dry_sq > 0.0)
			cli_printf(sum, "delta level:    -inf dB (the output is the input)\n");
		else
			cli_printf(sum, "delta level:    n/a (the input is silent)\n");
		if (s->windows)
			cli_printf(sum, "objective J:    %.6g -> %.6g (mean over %llu dreamed windows)\n",
			       s->obj_before / s->windows, s->obj_after / s->windows,
			       (unsigned long long)s->windows);
		print_layers(sum, c, s->windows, s->layer_before, s->layer_after);
		cli_printf(sum, "windows:        %llu dreamed, %llu skipped (quieter than %g dBFS, or nothing to "
		       "dream)%s\n",
		       (unsigned long long)s->windows, (unsigned long long)s->skipped,
		       (double)c->p.floor_db,
		       cfg.stereo == ONR_STEREO_INDEPENDENT && C > 1 ? ", counted per channel" : "");
		cli_printf(sum, "latency:        %u samples compensated\n", L);
		cli_printf(sum, "non-finite:     %llu input samples (taken as silence)\n",
		       (unsigned long long)nonfinite);
		if (clipped)
			cli_printf(sum, "clipped:        %llu output samples beyond full scale (%s holds no more)\n",
			       (unsigned long long)clipped, af_sub_name(so.format));
		if (s->late)
			cli_printf(sum, "late:           %llu windows passed dry\n", (unsigned long long)s->late);
		double other = elapsed - s->t_resample - s->t_forward_backward - s->t_condition;
		cli_printf(sum, "time:           %.2f s, %.1fx realtime (resampling %.2f s, forward+backward "
		       "%.2f s, conditioning %.2f s, other %.2f s)\n",
		       elapsed, elapsed > 0.0 ? audio_s / elapsed : 0.0, s->t_resample,
		       s->t_forward_backward, s->t_condition, other > 0.0 ? other : 0.0);
		if (pl && !status)
			cli_printf(sum, "plot:           %s\n", o->plot_path);
	}
	if (c->jg && !status)
		status = judge_file(c->jg, idx, &jaud, in_path, out_path, (uint32_t)si.samplerate, sum);
done:
	judge_audio_free(&jaud);
	free(ibuf);
	free(obuf);
	free(ring);
	free(plane);
	free(pdry);
	free(pwet);
	plot_free(pl);
	onr_dream_free(d);
	sf_close(in);
	return status;
}

/* ================================================================ --from */
static int render_from(rctx *c, const char *out_path)
{
	const ropts *o = c->o;
	const onr_model *m = c->m;
	uint32_t Rm = m->sample_rate, W = c->cfg.window, ov = c->cfg.overlap, hop = W / ov;
	uint32_t rate = o->rate ? o->rate : Rm;
	double length = isnan(o->length_s) ? FROM_LENGTH_S : o->length_s;
	uint64_t n_out = (uint64_t)llround(length * rate);
	if (!n_out)
		n_out = 1;
	/* model-rate samples to dream: the length plus a little for the
	 * resampler, with (W - hop) of padding each side so that every kept
	 * sample lies under complete overlapping windows */
	uint64_t nm = (uint64_t)ceil(length * Rm) + 64;
	uint64_t pad = W - hop;
	uint64_t need = nm + 2 * pad;
	uint64_t nw = need <= W ? 1 : (need - W + hop - 1) / hop + 1;
	uint64_t lp = (nw - 1) * hop + W;
	float bound_abs = (float)pow(10.0, (isnan(o->bound_db) ? FROM_BOUND_DB : o->bound_db) / 20.0);
	int silence = !strcmp(o->from, "silence");
	double level_db = silence ? FROM_FLOOR_DB : FROM_NOISE_DB;

	float *x0 = malloc(sizeof(float) * lp);
	float *acc = calloc(lp, sizeof(float));
	float *delta = malloc(sizeof(float) * W);
	float *win = malloc(sizeof(float) * W);
	float *y = malloc(sizeof(float) * nm), *y0 = malloc(sizeof(float) * nm);
	float *ry = NULL, *ry0 = NULL;
	onr_dreamer *dr = NULL;
	SNDFILE *out = NULL;
	tmpfile_t t = {.have_tmp = 0};
	plot *pl = NULL;
	cli_buf sb = {0}, *sum = &sb; /* the summary */
	int status = 0;
	char err[512];
	if (!x0 || !acc || !delta || !win || !y || !y0) {
		msg("out of memory for %g s", length);
		status = EXIT_FAIL;
		goto done;
	}
	if (onr_dreamer_new(&dr, m, W, c->cfg.max_iterations, err, sizeof err) ||
	    (c->m2 && onr_dreamer_set_second(dr, c->m2, err, sizeof err))) {
		msg("cannot dream: %s", err);
		status = EXIT_FAIL;
		goto done;
	}
	/* uniform white noise at the RMS level asked for: a * sqrt(3) peak */
	uint64_t rng = o->seed;
	float amp = (float)(pow(10.0, level_db / 20.0) * sqrt(3.0));
	for (uint64_t i = 0; i < lp; i++) {
		double u = (double)(cli_rand64(&rng) >> 40) / 16777216.0; /* [0, 1), 24 bits */
		x0[i] = amp * (float)(2.0 * u - 1.0);
	}
	for (uint32_t i = 0; i < W; i++)
		win[i] = (float)((0.5 - 0.5 * cos(2.0 * 3.14159265358979323846 * i / W)) * 2.0 / ov);

	progress pg = {.line = {.on = c->tty}, .t0 = cli_now(), .name = cli_base_name(out_path)};
	double t0 = cli_now();
	uint64_t dreamed = 0, skipped = 0;
	double jb = 0.0, ja = 0.0, lb[ONR_MAX_BLOCKS] = {0}, la[ONR_MAX_BLOCKS] = {0};
	for (uint64_t k = 0; k < nw; k++) {
		if (g_signal) {
			cli_progress_end(&pg.line);
			msg("interrupted; %s not written", out_path);
			status = 128 + g_signal;
			goto done;
		}
		float before, after;
		double wb[ONR_MAX_BLOCKS], wa[ONR_MAX_BLOCKS];
		int skip = onr_dreamer_run(dr, &c->p, x0 + k * hop, delta, bound_abs, &before, &after,
		                           wb, wa);
		if (skip) {
			skipped++;
		} else {
			dreamed++;
			jb += before;
			ja += after;
			for (uint32_t b = 0; b < ONR_MAX_BLOCKS; b++) {
				lb[b] += wb[b];
				la[b] += wa[b];
			}
			float *a = acc + k * hop;
			for (uint32_t i = 0; i < W; i++)
				a[i] += win[i] * delta[i];
		}
		progress_show(&pg, (double)(k + 1) / nw, length * (k + 1) / nw, 0);
	}
	cli_progress_end(&pg.line);
	for (uint64_t i = 0; i < nm; i++) {
		y0[i] = x0[pad + i];
		y[i] = y0[i] + c->p.mix * acc[pad + i];
	}
	/* to the output rate */
	const float *oy = y, *oy0 = y0;
	double t_res = 0.0;
	if (rate != Rm) {
		double t1 = cli_now();
		double ratio = (double)rate / Rm;
		size_t cap = (size_t)(nm * ratio) + 256;
		ry = malloc(sizeof(float) * cap);
		ry0 = malloc(sizeof(float) * cap);
		if (!ry || !ry0) {
			msg("out of memory for %g s", length);
			status = EXIT_FAIL;
			goto done;
		}
		float *srcs[2] = {y, y0}, *dsts[2] = {ry, ry0};
		for (int s = 0; s < 2; s++) {
			SRC_DATA sd;
			memset(&sd, 0, sizeof sd);
			sd.data_in = srcs[s];
			sd.input_frames = (long)nm;
			sd.data_out = dsts[s];
			sd.output_frames = (long)cap;
			sd.src_ratio = ratio;
			int e = src_simple(&sd, SRC_SINC_BEST_QUALITY, 1);
			if (e) {
				msg("resampling to %u Hz failed: %s", rate, src_strerror(e));
				status = EXIT_FAIL;
				goto done;
			}
			for (size_t i = (size_t)sd.output_frames_gen; i < cap; i++)
				dsts[s][i] = 0.0f;
		}
		oy = ry;
		oy0 = ry0;
		t_res = cli_now() - t1;
	}
	/* write */
	SF_INFO so;
	memset(&so, 0, sizeof so);
	so.samplerate = (int)rate;
	so.channels = 1;
	int sub = SF_FORMAT_FLOAT, major = af_major_from_ext(out_path, &sub);
	if (!major) {
		major = SF_FORMAT_WAV;
		sub = SF_FORMAT_FLOAT;
		msg("note: %s: no audio file extension; writing 32-bit float WAV", out_path);
	}
	if (o->subtype) {
		so.format = major | o->subtype;
		if (!sf_format_check(&so)) {
			msg("--subtype: %s cannot hold %s samples", af_major_name(major),
			    af_sub_name(o->subtype));
			status = EXIT_USAGE;
			goto done;
		}
		sub = o->subtype;
	}
	so.format = major | sub;
	out = open_output(out_path, &so, &t);
	if (!out) {
		status = EXIT_FAIL;
		goto done;
	}
	double oscale = af_int_scale(so.format);
	double ss = 0.0, peak = 0.0;
	for (uint64_t i = 0; i < n_out; i += BLOCK) {
		double buf[BLOCK];
		uint32_t n = n_out - i < BLOCK ? (uint32_t)(n_out - i) : BLOCK;
		for (uint32_t j = 0; j < n; j++) {
			buf[j] = oy[i + j];
			ss += buf[j] * buf[j];
			if (fabs(buf[j]) > peak)
				peak = fabs(buf[j]);
			if (oscale > 0.0)
				buf[j] *= oscale;
		}
		if (sf_writef_double(out, buf, n) != n) {
			msg("%s: writing failed: %s", out_path, sf_strerror(out));
			tmp_discard(&t);
			status = EXIT_FAIL;
			goto done;
		}
	}
	status = commit_output(out, &t, out_path);
	out = NULL;
	if (status) {
		if (status > 128)
			msg("interrupted; %s not written", out_path);
		goto done;
	}
	double elapsed = cli_now() - t0;
	if (o->plot_path) {
		if (plot_new(&pl, rate, n_out, err, sizeof err)) {
			msg("--plot: %s", err);
			status = EXIT_FAIL;
			goto done;
		}
		plot_push(pl, oy0, oy, (uint32_t)n_out);
		char title[1024];
		snprintf(title, sizeof title, "from %s -> %s | model %s | %s", o->from,
		         cli_base_name(out_path), cli_base_name(c->model_path), c->obj_desc);
		if (plot_write(pl, o->plot_path, title, err, sizeof err)) {
			msg("--plot: %s", err);
			status = EXIT_FAIL;
		}
	}
	if (!o->quiet) {
		cli_printf(sum, "render:         from %s -> %s\n", o->from, out_path);
		print_models(sum, c);
		cli_printf(sum, "audio:          %.3f s, %u Hz, 1 channel, %s %s", (double)n_out / rate, rate,
		       af_major_name(so.format), af_sub_name(so.format));
		if (rate != Rm)
			cli_printf(sum, " (dreamed at %u Hz)", Rm);
		cli_printf(sum, "\n");
		cli_printf(sum, "start:          %s at %.0f dBFS RMS, seed %llu\n",
		       silence ? "silence with a noise floor" : "white noise", level_db,
		       (unsigned long long)o->seed);
		print_dream_settings(sum, c);
		cli_printf(sum, "level:          %.1f dBFS RMS, peak %+.1f dBFS%s\n",
		       10.0 * log10(ss / (double)n_out + 1e-30), 20.0 * log10(peak + 1e-30),
		       peak > 1.0 && oscale > 0.0 ? " (clipped to full scale in PCM)" : "");
		if (dreamed)
			cli_printf(sum, "objective J:    %.6g -> %.6g (mean over %llu dreamed windows)\n",
			       jb / dreamed, ja / dreamed, (unsigned long long)dreamed);
		print_layers(sum, c, dreamed, lb, la);
		cli_printf(sum, "windows:        %llu dreamed, %llu skipped (nothing to dream)\n",
		       (unsigned long long)dreamed, (unsigned long long)skipped);
		cli_printf(sum, "time:           %.2f s, %.1fx realtime (resampling %.2f s)\n", elapsed,
		       elapsed > 0.0 ? length / elapsed : 0.0, t_res);
		if (pl && !status)
			cli_printf(sum, "plot:           %s\n", o->plot_path);
		if (sum->s)
			fputs(sum->s, stdout);
		fflush(stdout);
	}
done:
	free(sb.s);
	if (out)
		sf_close(out);
	tmp_discard(&t);
	plot_free(pl);
	onr_dreamer_free(dr);
	free(x0);
	free(acc);
	free(delta);
	free(win);
	free(y);
	free(y0);
	free(ry);
	free(ry0);
	return status;
}

/* ================================================================ batch
 * --jobs N: the files of a batch dreamed by N worker threads at once, each
 * file by one worker with its own engine (the model is shared: it is only
 * read). A file's output depends on nothing but the file and the options,
 * so it is the same, bit for bit, whatever N and the order files finish in.
 * The main thread owns the display: one progress line for the batch on
 * stderr, and each file's summary, whole, on stdout in input order. */
enum { JOB_WAITING, JOB_RUNNING, JOB_DONE };

typedef struct {
	const char *in, *out;
	cli_buf sum;        /* its summary (and judge report), printed whole */
	int state;          /* JOB_* */
	int status;         /* its exit status, once done */
	double frac;        /* how much of it is done, 0..1 (< 0: unknown) */
	double secs;        /* seconds of audio read so far */
} rjob;

struct rbatch {
	rctx *c;
	rjob *jobs;         /* (n) in input order */
	int n;
	int next;           /* the next file a worker takes */
	int done;           /* files finished */
	int printed;        /* summaries printed (or skipped: empty), in order */
	int any_printed;
	int workers;        /* worker threads still running */
	uint32_t width;     /* workers started */
	/* everything above, and the display, under lock; cond tells the main
	 * thread that a file finished or a worker ended */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	cli_progress line;
	double t0;
};

/* A worker: how far file idx is (called after every block). */
static void batch_progress(rbatch *b, int idx, double frac, double secs)
{
	pthread_mutex_lock(&b->lock);
	b->jobs[idx].frac = frac;
	b->jobs[idx].secs = secs;
	pthread_mutex_unlock(&b->lock);
}

/* cli_msg's lock while the batch runs: a message from any thread clears
 * the progress line first (the main thread redraws it). */
static void batch_msg_lock(void *arg)
{
	rbatch *b = arg;
	pthread_mutex_lock(&b->lock);
	cli_progress_end(&b->line);
}

static void batch_msg_unlock(void *arg)
{
	rbatch *b = arg;
	pthread_mutex_unlock(&b->lock);
}

/* Main thread, under lock: the progress line, e.g.
 * "3/8 files  47% [##############................]  2.6x realtime  a.wav 40% b.wav 12%" */
static void batch_draw(rbatch *b, int force)
{
	if (!cli_progress_due(&b->line, force))
		return;
	double units = 0.0, secs = 0.0;
	char flight[256] = "";
	size_t fl = 0;
	for (int i = 0; i < b->n; i++) {
		const rjob *j = &b->jobs[i];
		if (j->state == JOB_DONE) {
			units += 1.0;
			secs += j->secs;
		} else if (j->state == JOB_RUNNING) {
			units += j->frac > 0.0 ? (j->frac < 1.0 ? j->frac : 1.0) : 0.0;
			secs += j->secs;
			if (fl < sizeof flight - 1) {
				int k = j->frac >= 0.0
				            ? snprintf(flight + fl, sizeof flight - fl, "  %.20s %.0f%%",
				                       cli_base_name(j->in), 100.0 * j->frac)
				            : snprintf(flight + fl, sizeof flight - fl, "  %.20s %.1f s",
				                       cli_base_name(j->in), j->secs);
				fl = k > 0 && fl + (size_t)k < sizeof flight ? fl + (size_t)k : sizeof flight - 1;
			}
		}
	}
	double frac = units / b->n, el = b->line.last - b->t0;
	char bar[31], line[512];
	cli_progress_bar(bar, 30, frac);
	int n = snprintf(line, sizeof line, "%d/%d files %3.0f%% [%s]", b->done, b->n, 100.0 * frac,
	                 bar);
	if (n > 0 && el > 0.05)
		n += snprintf(line + n, sizeof line - (size_t)n, "  %.1fx realtime", secs / el);
	if (n > 0 && (size_t)n < sizeof line)
		n += snprintf(line + n, sizeof line - (size_t)n, "%s", flight);
	if (n < 0)
		return;
	/* one terminal line: at most 79 columns */
	if (n > 79) {
		n = 79;
		line[n] = 0;
	}
	cli_progress_line(&b->line, line, n);
}

/* Main thread, under lock: the summaries of the files done, in input order
 * (all == 0: up to the first file not done; all: every file done). */
static void batch_print(rbatch *b, int all)
{
	for (; b->printed < b->n; b->printed++) {
		rjob *j = &b->jobs[b->printed];
		if (j->state != JOB_DONE) {
			if (!all)
				break;
			continue;
		}
		if (!j->sum.n)
			continue;
		cli_progress_end(&b->line);
		if (b->any_printed)
			fputc('\n', stdout);
		fputs(j->sum.s, stdout);
		if (j->sum.oom)
			fputs("(the rest of this summary was lost: out of memory)\n", stdout);
		fflush(stdout);
		b->any_printed = 1;
		free(j->sum.s);
		memset(&j->sum, 0, sizeof j->sum);
	}
}

static void *batch_worker(void *arg)
{
	rbatch *b = arg;
	rctx *c = b->c;
	pthread_mutex_lock(&b->lock);
	while (b->next < b->n && !g_signal) {
		int i = b->next++;
		rjob *j = &b->jobs[i];
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&b->lock);
		int r = render_file(c, i, j->in, j->out, &j->sum);
		if (c->jg && r && r < 128)
			judge_skip_file(c->jg, i, j->in, "not judged: rendering failed (see the messages)");
		pthread_mutex_lock(&b->lock);
		j->status = r;
		j->state = JOB_DONE;
		b->done++;
		pthread_cond_signal(&b->cond);
	}
	b->workers--;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* Renders the n files in[i] -> out[i] with up to `jobs` worker threads;
 * status[i] gets each file's exit status (-1: not reached, interrupted).
 * Returns 0, or -1 when no thread could be started (nothing was done). */
static int render_batch(rctx *c, const char *const *in, char *const *out, int n, uint32_t jobs,
                        int *status)
{
	rbatch b;
	memset(&b, 0, sizeof b);
	b.c = c;
	b.n = n;
	b.jobs = calloc((size_t)n, sizeof *b.jobs);
	pthread_t *th = calloc(jobs, sizeof *th);
	if (!b.jobs || !th || pthread_mutex_init(&b.lock, NULL)) {
		free(b.jobs);
		free(th);
		return -1;
	}
	if (pthread_cond_init(&b.cond, NULL)) {
		pthread_mutex_destroy(&b.lock);
		free(b.jobs);
		free(th);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		b.jobs[i].in = in[i];
		b.jobs[i].out = out[i];
	}
	b.line.on = c->tty;
	b.t0 = cli_now();
	/* the core picks its kernels (the CPU's instruction set) on first use,
	 * into a global without a lock: pick them here, before the workers, so
	 * that they only ever read it */
	(void)onr_kernel_isa();
	c->batch = &b;
	cli_msg_set_lock(batch_msg_lock, batch_msg_unlock, &b);
	pthread_mutex_lock(&b.lock);
	for (uint32_t k = 0; k < jobs; k++) {
		if (pthread_create(&th[b.width], NULL, batch_worker, &b))
			break;
		b.width++;
		b.workers++;
	}
	while (b.workers > 0) {
		batch_print(&b, 0);
		batch_draw(&b, 0);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&b.cond, &b.lock, &ts);
	}
	batch_print(&b, 1);
	cli_progress_end(&b.line);
	pthread_mutex_unlock(&b.lock);
	for (uint32_t k = 0; k < b.width; k++)
		pthread_join(th[k], NULL);
	cli_msg_set_lock(NULL, NULL, NULL);
	c->batch = NULL;
	for (int i = 0; i < n; i++) {
		status[i] = b.jobs[i].state == JOB_DONE ? b.jobs[i].status : -1;
		free(b.jobs[i].sum.s);
	}
	int started = b.width > 0;
	pthread_cond_destroy(&b.cond);
	pthread_mutex_destroy(&b.lock);
	free(b.jobs);
	free(th);
	return started ? 0 : -1;
}

/* ================================================================ command */
static int ensure_dir(const char *dir)
{
	struct stat st;
	if (!stat(dir, &st)) {
		if (S_ISDIR(st.st_mode))
			return 0;
		msg("--out-dir: '%s' exists and is not a directory", dir);
		return EXIT_USAGE;
	}
	if (mkdir(dir, 0777)) {
		msg("--out-dir: cannot create '%s': %s", dir, strerror(errno));
		return EXIT_FAIL;
	}
	return 0;
}

static int check_out_path(const char *in, const char *out)
{
	struct stat st;
	if (!stat(out, &st) && S_ISDIR(st.st_mode)) {
		msg("%s: is a directory (to render into a directory, use --out-dir DIR)", out);
		return EXIT_USAGE;
	}
	if (in && af_same_file(in, out)) {
		msg("%s: the output is the same file as the input %s; choose another name", out, in);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_render(int argc, char **argv, const char *argv0)
{
	ropts o;
	memset(&o, 0, sizeof o);
	o.argv0 = argv0;
	int st = parse_args(argc, argv, &o);
	if (st == -1) {
		usage(stdout);
		free(o.pos);
		return EXIT_OK;
	}
	if (st) {
		free(o.pos);
		return st;
	}
	char **outs = NULL;
	int *status = NULL; /* (n_in) each file's exit status */
	int n_in = 0;
	rctx c;
	memset(&c, 0, sizeof c);
	c.o = &o;
	char model_buf[CLI_PATH_BUF];
	/* the shape of the command line */
	if (o.from) {
		if (o.out_dir || o.n_pos != 1) {
			msg("--from takes exactly one file, OUT, and no --out-dir (see --help)");
			st = EXIT_USAGE;
			goto out;
		}
		if (judge_wanted(&o.judge)) {
			msg("--judge and --json judge dreamed files, not --from");
			st = EXIT_USAGE;
			goto out;
		}
	} else {
		if (!isnan(o.length_s) || o.rate) {
			msg("%s is only for --from", o.rate ? "--rate" : "--length");
			st = EXIT_USAGE;
			goto out;
		}
		if (o.out_dir ? o.n_pos < 1 : o.n_pos != 2) {
			if (!o.n_pos)
				msg("no input file (see oneiro render --help)");
			else if (o.out_dir)
				msg("no input file");
			else if (o.n_pos == 1)
				msg("no output file: oneiro render IN OUT (or --out-dir DIR IN...)");
			else
				msg("%d files given: oneiro render IN OUT, or --out-dir DIR IN... for several",
				    o.n_pos);
			st = EXIT_USAGE;
			goto out;
		}
		if (o.plot_path && o.n_pos > (o.out_dir ? 1 : 2)) {
			msg("--plot: only with one input file");
			st = EXIT_USAGE;
			goto out;
		}
	}
	/* output names, checked before any work */
	n_in = o.from ? 0 : o.out_dir ? o.n_pos : 1;
	outs = calloc((size_t)(n_in ? n_in : 1), sizeof *outs);
	if (!outs) {
		msg("out of memory");
		st = EXIT_FAIL;
		goto out;
	}
	if (o.from) {
		if ((st = check_out_path(NULL, o.pos[0])))
			goto out;
	} else if (o.out_dir) {
		for (int i = 0; i < n_in; i++) {
			const char *b = cli_base_name(o.pos[i]);
			size_t len = strlen(o.out_dir) + strlen(b) + 2;
			outs[i] = malloc(len);
			if (!outs[i]) {
				msg("out of memory");
				st = EXIT_FAIL;
				goto out;
			}
			snprintf(outs[i], len, "%s/%s", o.out_dir, b);
			if (!*b) {
				msg("%s: not a file name", o.pos[i]);
				st = EXIT_USAGE;
				goto out;
			}
			for (int k = 0; k < i; k++)
				if (!strcmp(cli_base_name(o.pos[k]), b)) {
					msg("--out-dir: %s and %s would both be written to %s", o.pos[k], o.pos[i],
					    outs[i]);
					st = EXIT_USAGE;
					goto out;
				}
			if ((st = check_out_path(o.pos[i], outs[i])))
				goto out;
		}
	} else {
		if ((st = check_out_path(o.pos[0], o.pos[1])))
			goto out;
	}
	if (o.plot_path) {
		const char *single_out = o.from ? o.pos[0] : o.out_dir ? outs[0] : o.pos[1];
		if (!strcmp(o.plot_path, single_out)) {
			msg("--plot: %s is also the audio output", o.plot_path);
			st = EXIT_USAGE;
			goto out;
		}
		for (int i = 0; i < (o.from ? 1 : o.n_pos); i++)
			if (af_same_file(o.plot_path, o.pos[i])) {
				msg("--plot: %s is one of the audio files", o.plot_path);
				st = EXIT_USAGE;
				goto out;
			}
	}
	/* the model */
	if (o.model_path) {
		c.model_path = o.model_path;
	} else {
		if (cli_find_model(argv0, PROG,
		                   " Until trained models ship, make an\n"
		                   "untrained one with:\n"
		                   "  oneiro new-model --arch small models/default.onm",
		                   model_buf, sizeof model_buf)) {
			st = EXIT_FAIL;
			goto out;
		}
		c.model_path = model_buf;
	}
	char err[512];
	if (onr_model_load_file(&c.m, c.model_path, err, sizeof err)) {
		msg("model: %s", err);
		st = EXIT_FAIL;
		goto out;
	}
	if ((st = make_params(&c)))
		goto out;
	if (!o.also_path && !isnan(o.also_share)) {
		msg("--also-share: without --also there is no second model to share with");
		st = EXIT_USAGE;
		goto out;
	}
	if (o.also_path) {
		if (onr_model_load_file(&c.m2, o.also_path, err, sizeof err)) {
			msg("--also: %s", err);
			st = EXIT_FAIL;
			goto out;
		}
		if (onr_dream_second_check(c.m, c.m2, c.cfg.window, err, sizeof err)) {
			msg("--also: %s: %s", o.also_path, err);
			st = EXIT_USAGE;
			goto out;
		}
		/* what the second model cannot share in is refused, rather than
		 * dreamed by the first model alone under its name */
		if (c.p.obj.mode == ONR_OBJ_FILTER) {
			msg("--also: a single filter (--filter) belongs to one model; the second has "
			    "nothing to match it");
			st = EXIT_USAGE;
			goto out;
		}
		if (c.p.obj.mode == ONR_OBJ_CLASS &&
		    onr_model_class_index(c.m2, c.m->class_names[c.p.obj.cls], 0) == UINT32_MAX) {
			msg("--also: %s has no class '%s' (see oneiro inspect): it cannot hear the "
			    "target", o.also_path, c.m->class_names[c.p.obj.cls]);
			st = EXIT_USAGE;
			goto out;
		}
		c.cfg.second = c.m2;
	}
	describe_objective(&c);
	if (judge_wanted(&o.judge) &&
	    (st = judge_new(&c.jg, &o.judge, c.m, c.model_path, &c.p.obj, o.quiet, n_in)))
		goto out;
	c.tty = !o.quiet && isatty(2);
	cli_catch_signals(on_signal, CLI_SIG_RESTART | CLI_SIG_HUP);
	if (o.out_dir && (st = ensure_dir(o.out_dir)))
		goto out;

	if (o.from) {
		st = render_from(&c, o.pos[0]);
	} else {
		if (!o.out_dir)
			outs[0] = (char *)o.pos[1];
		status = malloc((size_t)n_in * sizeof *status);
		if (!status) {
			msg("out of memory");
			st = EXIT_FAIL;
			goto out;
		}
		for (int i = 0; i < n_in; i++)
			status[i] = -1;
		uint32_t jobs = o.jobs ? o.jobs : cli_online_cpus(MAX_JOBS);
		if (jobs > (uint32_t)n_in)
			jobs = (uint32_t)n_in;
		int serial = jobs <= 1;
		if (!serial && render_batch(&c, o.pos, outs, n_in, jobs, status)) {
			msg("note: cannot start threads; rendering one file at a time");
			serial = 1;
		}
		/* one file at a time, on this thread, each with its own progress
		 * line and its summary right after it */
		for (int i = 0, printed = 0; serial && i < n_in; i++) {
			cli_buf sum = {0};
			status[i] = render_file(&c, i, o.pos[i], outs[i], &sum);
			if (c.jg && status[i] && status[i] < 128)
				judge_skip_file(c.jg, i, o.pos[i], "not judged: rendering failed (see the messages)");
			if (sum.s) {
				if (printed++)
					fputc('\n', stdout);
				fputs(sum.s, stdout);
				fflush(stdout);
			}
			free(sum.s);
			if (status[i] > 128)
				break;
		}
		int worst = 0, failed = 0;
		for (int i = 0; i < n_in; i++) {
			if (status[i] > worst)
				worst = status[i];
			failed += status[i] > 0 && status[i] < 128;
		}
		if (g_signal && worst < 128)
			worst = 128 + g_signal;
		st = worst;
		if (c.jg && worst < 128) {
			int jst = judge_finish(c.jg);
			if (jst > st)
				st = jst;
		}
		if (n_in > 1 && failed && worst < 128) {
			/* the files, named once more after the summaries */
			cli_buf b = {0};
			for (int i = 0, k = 0; i < n_in; i++)
				if (status[i] > 0 && status[i] < 128)
					cli_printf(&b, "%s%s", k++ ? ", " : "", o.pos[i]);
			msg("%d of %d files %s not rendered (see above): %s", failed, n_in,
			    failed == 1 ? "was" : "were", b.s ? b.s : "");
			free(b.s);
		}
	}
out:
	if (outs && o.out_dir)
		for (int i = 0; i < n_in; i++)
			free(outs[i]);
	free(outs);
	free(status);
	judge_free(c.jg);
	onr_model_free(c.m);
	onr_model_free(c.m2);
	free(o.pos);
	return st;
}
