/* SPDX-License-Identifier: GPL-2.0-or-later */
/* train_cmd.c -- `oneiro train`: reads a labelled dataset (dataset.h), cuts
 * every file into overlapping windows held in memory, trains a model with
 * the core's trainer (train.h: mini-batch Adam over threads, deterministic),
 * keeps the parameters of the epoch with the lowest validation loss, and
 * writes the model (atomically) with a report beside it (trainreport.h). */
#define _XOPEN_SOURCE 700 /* strndup */
#include "train_cmd.h"

#include "audiofile.h"
#include "cliutil.h"
#include "dataset.h"
#include "onr.h"
#include "train.h"
#include "trainreport.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define VERSION_TAG "oneiro train " ONEIRO_VERSION
#define EVAL_CHUNK 256
#define MAX_BAD_SHOWN 10

#define PROG "oneiro train"
#define msg(...) cli_msg(PROG, __VA_ARGS__)

enum { BAL_OVERSAMPLE = 0, BAL_WEIGHTS = 1, BAL_NONE = 2 };
static const char *const balance_names[] = {"oversample", "weights", "none"};

static volatile sig_atomic_t g_stop;

/* Main thread only reads g_stop; a second signal while stopping ends the
 * program at once (nothing is saved; a model file is only ever renamed
 * into place whole). */
static void on_signal(int sig)
{
	if (g_stop) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	g_stop = sig;
}

/* ================================================================ options */
typedef struct {
	const char *dataset, *model;
	ds_options ds;
	double val_fraction;
	int val_fraction_given;
	uint32_t rate;
	double window_s, overlap_pct, floor_db;
	int balance;
	const char *arch, *layers;
	int norm;
	double norm_value;
	uint32_t epochs, batch, patience, threads;
	double lr, warmup, weight_decay;
	int augment;
	double room_p, mask_p; /* --room, --mask: the share of windows that get one */
	double robust_db;      /* 0: off */
	uint32_t robust_steps; /* 0: the trainer's default (3) */
	int select_acc;   /* --select accuracy: keep the epoch of best validation accuracy */
	uint64_t seed;
	int svg, pdf, quiet;
	int stream;            /* --stream: windows read from a cache file as needed */
	const char *cache_dir; /* where (--cache-dir; default $TMPDIR, else /var/tmp) */
} topts;

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: oneiro train [options] DATASET MODEL\n"
	        "\n"
	        "Trains a model on labelled sound files and writes it to MODEL (.onm), with a\n"
	        "report beside it: MODEL.report.txt and MODEL.report.png (a trailing .onm is\n"
	        "dropped from those names); the report also goes to stdout.\n"
	        "\n"
	        "DATASET is one of:\n"
	        "  a folder with one subfolder per class (GTZAN style: genres/blues/*.wav, ...);\n"
	        "      when it holds train/ and val/ folders, each with the class folders, those\n"
	        "      are the split\n"
	        "  a CSV of path,label[,split[,source]] rows, paths relative to the CSV; split is\n"
	        "      train, val or test (test rows are left out); a first line naming the\n"
	        "      columns (path, label, split, source, fold; others are ignored) is allowed\n"
	        "  UrbanSound8K's metadata/UrbanSound8K.csv (the audio in audio/foldN/)\n"
	        "Audio: anything libsndfile reads (WAV, FLAC, OGG, AIFF, ...), mixed to mono and\n"
	        "resampled to --rate (libsamplerate, medium quality sinc).\n"
	        "\n"
	        "dataset:\n"
	        "  --classes A,B,...   the classes, in this order; a file with any other label is\n"
	        "                      an error, and so is a class without files (default: every\n"
	        "                      label found, sorted; for UrbanSound8K, by classID)\n"
	        "  --binary LABEL      an interestingness model: LABEL is class 1 (interesting),\n"
	        "                      every other label class 0\n"
	        "  --folds LIST        folds to train on, e.g. 1-8 or 1,3,5-7 (UrbanSound8K, or a\n"
	        "                      CSV with a fold column); default: every fold not validated on\n"
	        "  --val-folds LIST    folds to validate on (default: the folds not in --folds;\n"
	        "                      with neither option, UrbanSound8K validates on its last fold)\n"
	        "  --val-fraction F    when the dataset gives no split: the fraction of each\n"
	        "                      class's FILES held out for validation, 0 to 0.9 (default\n"
	        "                      0.2); whole sources when the CSV has a source column. A\n"
	        "                      file's windows are never on both sides\n"
	        "  --audio-dir DIR     UrbanSound8K's audio folder, the one holding fold1/ ...\n"
	        "                      (default: ../audio or audio beside the CSV)\n"
	        "\n"
	        "windows:\n"
	        "  --rate HZ           the model's sample rate, 1000 to %d (default 16000)\n"
	        "  --window SECONDS    window length (default 1)\n"
	        "  --window-overlap PCT\n"
	        "                      overlap of a file's windows, 0 to 90 %% (default 50); a file\n"
	        "                      shorter than a window is zero-padded to one, centred\n"
	        "  --floor-db DB       windows quieter than this (dBFS RMS) are left out, unless a\n"
	        "                      file has no other (default -60; -200 keeps every window)\n"
	        "  --balance MODE      oversample: each epoch, draw extra windows of the smaller\n"
	        "                      classes at random so that every class has as many as the\n"
	        "                      largest (default); weights: weight each window's loss by\n"
	        "                      its class's inverse frequency; none\n"
	        "\n"
	        "model:\n"
	        "  --arch NAME         tiny, small or wide (default small): conv 1->C k64 s16,\n"
	        "                      three blocks of conv k3 + leaky ReLU + max-pool 4, global\n"
	        "                      mean, dense + leaky ReLU, dense (C = 8, 16 or 32); or mel:\n"
	        "                      a log-mel front end (64 bands, 32 ms frames every 10 ms at\n"
	        "                      16 kHz) and four conv blocks of 96-128 channels, the\n"
	        "                      shipped default's shape (it hears magnitudes, not phase)\n"
	        "  --layers SPEC       your own layers instead, comma separated, from the input:\n"
	        "                        conv:C_IN:C_OUT:K[:STRIDE[:PAD]]  (stride 1, pad 0)\n"
	        "                        relu      lrelu[:SLOPE]  (slope 0.01)\n"
	        "                        maxpool:K[:STRIDE]  (stride K; overlapping when K > STRIDE)\n"
	        "                        gmean     (global mean over time: once, before dense)\n"
	        "                        dense:IN:OUT\n"
	        "                        logmel:NFFT:HOP:MELS[:FMIN[:FMAX[:FLOOR]]]  a log-mel\n"
	        "                          spectrogram front end, first only: frames of NFFT\n"
	        "                          samples every HOP, MELS bands from FMIN to FMAX Hz\n"
	        "                          (0 and half the rate; MELS 0: every FFT bin),\n"
	        "                          ln(power + FLOOR) (1e-4); the next conv takes MELS\n"
	        "                          channels. It hears magnitudes only, not phase\n"
	        "                      the last layer is a dense with N outputs, N standing for the\n"
	        "                      number of classes (the softmax is implied), e.g.\n"
	        "                      conv:1:16:64:16,lrelu,conv:16:32:3:1:1,lrelu,maxpool:4,\n"
	        "                      gmean,dense:32:32,lrelu,dense:32:N\n"
	        "  --norm MODE[:VALUE] the input normalisation stored in the model: rms (every\n"
	        "                      window brought to RMS VALUE, default 0.1: levels do not\n"
	        "                      matter), gain (times VALUE, default 1) or none\n"
	        "                      (default rms:0.1)\n"
	        "\n"
	        "optimisation:\n"
	        "  --epochs N          at most N epochs (default 40)\n"
	        "  --batch N           windows per Adam step (default 32)\n"
	        "  --lr RATE           peak learning rate (default 3e-3): a linear warm-up, then a\n"
	        "                      cosine decay to RATE/100 at the last epoch\n"
	        "  --warmup EPOCHS     length of the warm-up (default 1; 0 = none)\n"
	        "  --weight-decay W    decoupled (AdamW) weight decay (default 1e-4)\n"
	        "  --robust DB         adversarial training, for networks whose gradients look\n"
	        "                      like what they hear: each training window is first\n"
	        "                      attacked (projected gradient ascent on its loss, each\n"
	        "                      sample within DB dB of the window's RMS, -60 to -0.1), and\n"
	        "                      the step learns from the attacked window; the report adds\n"
	        "                      the accuracy under the same attack. Costs about\n"
	        "                      1 + 1.5 x STEPS times the time of plain training\n"
	        "  --robust-steps N    ascent steps of the attack, 1 to 16 (default 3)\n"
	        "  --augment           vary each training window on the fly (seeded): a random\n"
	        "                      speed of 0.8 to 1.25 (pitch and formants), two random\n"
	        "                      peaking filters (+-9 dB), a first-order tilt, a random\n"
	        "                      polarity, noise 20 to 50 dB below its level, and for a\n"
	        "                      quarter of the windows a steep low-pass at 3 to 7 kHz\n"
	        "                      (so that a band-limited class is not learnt as \"dull\");\n"
	        "                      helps a model carry over to other recordings or renderers\n"
	        "  --room P            add a random room to a share P (0 to 1) of the training\n"
	        "                      windows (seeded, before --augment's variations): the\n"
	        "                      diffuse tail of a simulated room, RT60 0.15 to 1.5 s, 20\n"
	        "                      to 0 dB below the dry sound, so that dry renders and\n"
	        "                      room recordings sound alike to the model (default 0)\n"
	        "  --mask P            mask a share P (0 to 1) of the training windows (seeded,\n"
	        "                      after --augment): a band of 1/3 to 1 octave cut by about\n"
	        "                      48 dB and a 20 to 120 ms gap, so that no single band or\n"
	        "                      moment decides the class (default 0)\n"
	        "  --patience N        stop when the validation loss has not improved for N epochs\n"
	        "                      (default 8; 0 = never stop early)\n"
	        "  --select CRITERION  which epoch to keep, and what --patience watches: loss\n"
	        "                      (the lowest validation loss, default) or accuracy (the\n"
	        "                      highest validation window accuracy, ties to the lower\n"
	        "                      loss): accuracy suits models that grow overconfident\n"
	        "  --seed S            initial weights, split, shuffling, oversampling (default 0)\n"
	        "  --threads N         threads, 1 to %d (default: the online CPUs); the same seed,\n"
	        "                      data and threads give the same model, bit for bit\n"
	        "  --stream            for data larger than memory: each file is decoded once\n"
	        "                      into a cache file (4 bytes per sample at --rate; deleted\n"
	        "                      when training ends, even after a crash) and windows are\n"
	        "                      read from it as they are needed; memory then holds a\n"
	        "                      batch, an evaluation chunk, the longest file while it is\n"
	        "                      decoded, and some bytes per file and per window (about\n"
	        "                      100), not the audio. The model is the same, bit for bit,\n"
	        "                      as without --stream\n"
	        "  --cache-dir DIR     where --stream's cache goes (implies --stream; default\n"
	        "                      $TMPDIR, else /var/tmp: disk, not memory)\n"
	        "\n"
	        "output:\n"
	        "  --svg               also write the report picture as MODEL.report.svg\n"
	        "  --pdf               also write it as MODEL.report.pdf\n"
	        "  --quiet             no progress and no report on stdout (the report files are\n"
	        "                      still written)\n"
	        "\n"
	        "While it runs: a progress bar on a terminal, else one line per epoch (stderr).\n"
	        "The saved parameters are those of the epoch with the lowest validation loss\n"
	        "(or, with --select accuracy, the highest validation accuracy)\n"
	        "(training loss without a validation set). Ctrl-C finishes the current batch,\n"
	        "saves the best epoch so far, writes the report and exits with status 130; a\n"
	        "second Ctrl-C quits at once without saving. The model's metadata records the\n"
	        "dataset, classes, split, architecture, epochs, accuracies, date\n"
	        "($SOURCE_DATE_EPOCH when set), seed and command line.\n"
	        "Exit status: 0 done, 1 failed (a bad dataset: the message names the file, and the\n"
	        "line of a CSV; no model is written), 2 bad usage, 130 interrupted (model saved).\n",
	        ONR_MAX_RATE, ONR_TRAIN_MAX_THREADS);
}

/* 0, EXIT_USAGE after a message, or -1 for --help. */
static int parse_args(int argc, char **argv, topts *o)
{
	o->val_fraction = 0.2;
	o->rate = 16000;
	o->window_s = 1.0;
	o->overlap_pct = 50.0;
	o->floor_db = -60.0;
	o->balance = BAL_OVERSAMPLE;
	o->norm = ONR_NORM_RMS;
	o->norm_value = 0.1;
	o->epochs = 40;
	o->batch = 32;
	o->patience = 8;
	o->lr = 3e-3;
	o->warmup = 1.0;
	o->weight_decay = 1e-4;
	o->threads = cli_online_cpus(ONR_TRAIN_MAX_THREADS);
	const char *pos[2];
	int n_pos = 0;
	cli_args a;
	cli_args_init(&a, argc, argv, PROG);
	for (int kind; (kind = cli_args_next(&a)) != CLI_END;) {
		if (kind == CLI_POS) {
			if (n_pos == 2) {
				msg("too many arguments ('%s'): oneiro train [options] DATASET "
				    "MODEL",
				    a.arg);
				return EXIT_USAGE;
			}
			pos[n_pos++] = a.arg;
			continue;
		}
		if (kind == CLI_HELP)
			return -1;
		const cli_flag flags[] = {{"--svg", &o->svg},
		                          {"--pdf", &o->pdf},
		                          {"--quiet", &o->quiet},
		                          {"-q", &o->quiet},
		                          {"--augment", &o->augment},
		                          {"--stream", &o->stream}};
		static const char *const with_value[] = {
		    "--classes",   "--binary", "--folds",  "--val-folds",      "--val-fraction",
		    "--audio-dir", "--rate",   "--window", "--window-overlap", "--floor-db",
		    "--balance",   "--arch",   "--layers", "--norm",           "--epochs",
		    "--batch",     "--lr",     "--warmup", "--weight-decay",   "--patience",
		    "--seed",      "--threads", "--select", "--robust", "--robust-steps",
		    "--cache-dir", "--room",    "--mask"};
		int r = cli_args_option(&a, flags, sizeof flags / sizeof flags[0], with_value,
		                        sizeof with_value / sizeof with_value[0]);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		const char *name = a.name;
		const char *v = a.arg;
		int bad = 0;
		if (!strcmp(name, "--classes"))
			o->ds.classes = v;
		else if (!strcmp(name, "--binary"))
			o->ds.binary = v;
		else if (!strcmp(name, "--folds"))
			o->ds.folds = v;
		else if (!strcmp(name, "--val-folds"))
			o->ds.val_folds = v;
		else if (!strcmp(name, "--audio-dir"))
			o->ds.audio_dir = v;
		else if (!strcmp(name, "--val-fraction")) {
			bad = cli_parse_double(PROG, name, v, 0.0, 0.9, &o->val_fraction);
			o->val_fraction_given = 1;
		} else if (!strcmp(name, "--rate"))
			bad = cli_parse_u32(PROG, name, v, 1000, ONR_MAX_RATE, &o->rate);
		else if (!strcmp(name, "--window"))
			bad = cli_parse_double(PROG, name, v, 1e-3, 60.0, &o->window_s);
		else if (!strcmp(name, "--window-overlap"))
			bad = cli_parse_double(PROG, name, v, 0.0, 90.0, &o->overlap_pct);
		else if (!strcmp(name, "--floor-db"))
			bad = cli_parse_double(PROG, name, v, -200.0, 0.0, &o->floor_db);
		else if (!strcmp(name, "--balance")) {
			int k = -1;
			for (int j = 0; j < 3; j++)
				if (!strcmp(v, balance_names[j]))
					k = j;
			if (k < 0) {
				msg("--balance: '%s' must be oversample, weights or none", v);
				bad = 1;
			}
			o->balance = k;
		} else if (!strcmp(name, "--arch")) {
			o->arch = v;
		} else if (!strcmp(name, "--layers")) {
			o->layers = v;
		} else if (!strcmp(name, "--norm")) {
			char mode[16];
			const char *c = strchr(v, ':');
			size_t ml = c ? (size_t)(c - v) : strlen(v);
			snprintf(mode, sizeof mode, "%.*s", (int)(ml < 15 ? ml : 15), v);
			if (!strcmp(mode, "rms")) {
				o->norm = ONR_NORM_RMS;
				o->norm_value = 0.1;
			} else if (!strcmp(mode, "gain")) {
				o->norm = ONR_NORM_GAIN;
				o->norm_value = 1.0;
			} else if (!strcmp(mode, "none") && !c) {
				o->norm = ONR_NORM_NONE;
				o->norm_value = 0.0;
			} else {
				msg("--norm: '%s' must be rms[:LEVEL], gain[:GAIN] or none", v);
				bad = 1;
			}
			if (!bad && c)
				bad = cli_parse_double(PROG, "--norm", c + 1, 1e-6, 1e5, &o->norm_value);
		} else if (!strcmp(name, "--epochs"))
			bad = cli_parse_u32(PROG, name, v, 1, 100000, &o->epochs);
		else if (!strcmp(name, "--batch"))
			bad = cli_parse_u32(PROG, name, v, 1, 65536, &o->batch);
		else if (!strcmp(name, "--lr"))
			bad = cli_parse_double(PROG, name, v, 1e-9, 10.0, &o->lr);
		else if (!strcmp(name, "--warmup"))
			bad = cli_parse_double(PROG, name, v, 0.0, 100000.0, &o->warmup);
		else if (!strcmp(name, "--weight-decay"))
			bad = cli_parse_double(PROG, name, v, 0.0, 1.0, &o->weight_decay);
		else if (!strcmp(name, "--patience"))
			bad = cli_parse_u32(PROG, name, v, 0, 100000, &o->patience);
		else if (!strcmp(name, "--seed"))
			bad = cli_parse_u64(PROG, name, v, 0, UINT64_MAX, &o->seed);
		else if (!strcmp(name, "--select")) {
			if (!strcmp(v, "loss") || !strcmp(v, "accuracy")) {
				o->select_acc = !strcmp(v, "accuracy");
			} else {
				msg("--select: '%s' must be loss or accuracy", v);
				bad = 1;
			}
		}
		else if (!strcmp(name, "--cache-dir")) {
			o->cache_dir = v;
			o->stream = 1;
		} else if (!strcmp(name, "--threads"))
			bad = cli_parse_u32(PROG, name, v, 1, ONR_TRAIN_MAX_THREADS, &o->threads);
		else if (!strcmp(name, "--robust")) {
			bad = cli_parse_double(PROG, name, v, -60.0, 0.0, &o->robust_db);
			if (!bad && o->robust_db == 0.0) {
				msg("--robust: 0 dB would let an attack replace the window; give -60 to "
				    "-0.1 dB (e.g. -20)");
				bad = 1;
			}
		} else if (!strcmp(name, "--robust-steps"))
			bad = cli_parse_u32(PROG, name, v, 1, 16, &o->robust_steps);
		else if (!strcmp(name, "--room"))
			bad = cli_parse_double(PROG, name, v, 0.0, 1.0, &o->room_p);
		else if (!strcmp(name, "--mask"))
			bad = cli_parse_double(PROG, name, v, 0.0, 1.0, &o->mask_p);
		if (bad)
			return EXIT_USAGE;
	}
	if (n_pos < 2) {
		msg(n_pos ? "no MODEL to write: oneiro train [options] DATASET MODEL"
		          : "no dataset: oneiro train [options] DATASET MODEL (see --help)");
		return EXIT_USAGE;
	}
	o->dataset = pos[0];
	o->model = pos[1];
	if (o->arch && o->layers) {
		msg("--arch and --layers: give one of them");
		return EXIT_USAGE;
	}
	if (!o->arch && !o->layers)
		o->arch = "small";
	return 0;
}

/* ================================================================ --layers */
static int layer_int(const char *s, uint32_t n_classes, uint32_t *out)
{
	if (!strcmp(s, "N")) {
		*out = n_classes;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > 1000000)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Parses the --layers syntax (see usage) into ops; 0, or -1 after a
 * message. */
static int parse_layers(const char *spec, uint32_t n_classes, onr_op *ops, uint32_t *n_ops)
{
	char *copy = strdup(spec);
	if (!copy) {
		msg("out of memory");
		return -1;
	}
	uint32_t n = 0;
	int st = 0, item = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok && !st; tok = strtok_r(NULL, ",", &save)) {
		item++;
		while (*tok == ' ')
			tok++;
		size_t l = strlen(tok);
		while (l && tok[l - 1] == ' ')
			tok[--l] = 0;
		char orig[128];
		snprintf(orig, sizeof orig, "%s", tok);
		char *f[8];
		int nf = 0;
		char *s2 = NULL;
		for (char *p = strtok_r(tok, ":", &s2); p; p = strtok_r(NULL, ":", &s2)) {
			if (nf == 8) {
				nf = 9;
				break;
			}
			f[nf++] = p;
		}
		if (!nf) {
			msg("--layers: item %d is empty", item);
			st = -1;
			break;
		}
		if (n == ONR_MAX_OPS) {
			msg("--layers: more than %d layers", ONR_MAX_OPS);
			st = -1;
			break;
		}
		onr_op op;
		memset(&op, 0, sizeof op);
		uint32_t v[5] = {0, 0, 0, 0, 0};
		int bad_int = 0;
		for (int k = 1; k < nf && k <= 5; k++)
			if (strcmp(f[0], "lrelu") && layer_int(f[k], n_classes, &v[k - 1]))
				bad_int = k;
		const char *want = NULL;
		if (!strcmp(f[0], "conv")) {
			want = "conv:C_IN:C_OUT:K[:STRIDE[:PAD]]";
			if (nf >= 4 && nf <= 6 && !bad_int) {
				op = (onr_op){ONR_OP_CONV,        v[0], v[1], v[2], nf >= 5 ? v[3] : 1,
				              nf >= 6 ? v[4] : 0, 0};
				want = NULL;
			}
		} else if (!strcmp(f[0], "relu") || !strcmp(f[0], "gmean") || !strcmp(f[0], "mean")) {
			/* the layers without parameters */
			int relu = f[0][0] == 'r';
			want = relu ? "relu (no parameters)" : "gmean (no parameters)";
			if (nf == 1) {
				op.type = relu ? ONR_OP_RELU : ONR_OP_GMEAN;
				want = NULL;
			}
		} else if (!strcmp(f[0], "lrelu")) {
			want = "lrelu[:SLOPE] with 0 < SLOPE < 1";
			double slope = 0.01;
			char *end = NULL;
			if (nf == 2)
				slope = strtod(f[1], &end);
			if (nf == 1 || (nf == 2 && end != f[1] && !*end && slope > 0.0 && slope < 1.0)) {
				op.type = ONR_OP_LRELU;
				op.f = (float)slope;
				want = NULL;
			}
		} else if (!strcmp(f[0], "maxpool") || !strcmp(f[0], "pool")) {
			want = "maxpool:K[:STRIDE]";
			if ((nf == 2 || nf == 3) && !bad_int) {
				op = (onr_op){ONR_OP_MAXPOOL, v[0], nf == 3 ? v[1] : v[0], 0, 0, 0, 0};
				want = NULL;
			}
		} else if (!strcmp(f[0], "logmel")) {
			want = "logmel:NFFT:HOP:MELS[:FMIN[:FMAX[:FLOOR]]] with FLOOR > 0";
			double floor_v = 1e-4;
			char *end = NULL;
			if (nf == 7)
				floor_v = strtod(f[6], &end);
			if (nf >= 4 && nf <= 7 && !bad_int &&
			    (nf < 7 || (end != f[6] && !*end && floor_v > 0.0))) {
				op = (onr_op){ONR_OP_LOGMEL, v[0], v[1], v[2], nf >= 5 ? v[3] : 0,
				              nf >= 6 ? v[4] : 0, (float)floor_v};
				want = NULL;
			}
		} else if (!strcmp(f[0], "dense")) {
			want = "dense:IN:OUT";
			if (nf == 3 && !bad_int) {
				op = (onr_op){ONR_OP_DENSE, v[0], v[1], 0, 0, 0, 0};
				want = NULL;
			}
		} else {
			msg("--layers: item %d '%s': unknown layer '%s' (conv, relu, lrelu, "
			    "maxpool, gmean, "
			    "dense, logmel)",
			    item, orig, f[0]);
			st = -1;
			break;
		}
		if (want) {
			if (bad_int)
				msg("--layers: item %d '%s': '%s' is not a whole number (or N, the "
				    "number of "
				    "classes); the form is %s",
				    item, orig, f[bad_int], want);
			else
				msg("--layers: item %d '%s': the form is %s", item, orig, want);
			st = -1;
			break;
		}
		ops[n++] = op;
	}
	free(copy);
	if (!st && !n) {
		msg("--layers: no layers");
		st = -1;
	}
	*n_ops = n;
	return st;
}

/* ================================================================ windows */
typedef struct {
	const dataset *ds;
	size_t *off;     /* (n) window starts inside their file's audio */
	uint32_t *y;     /* (n) class */
	uint32_t *file;  /* (n) index into the dataset's files */
	size_t n, cap;
	uint32_t W;      /* samples per window */
} winset;

static int ws_add(winset *s, size_t off, uint32_t y, uint32_t file)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 4096;
		size_t *no = realloc(s->off, nc * sizeof *no);
		if (no)
			s->off = no;
		uint32_t *ny = realloc(s->y, nc * sizeof *ny);
		if (ny)
			s->y = ny;
		uint32_t *nf = realloc(s->file, nc * sizeof *nf);
		if (nf)
			s->file = nf;
		if (!no || !ny || !nf)
			return -1;
		s->cap = nc;
	}
	s->off[s->n] = off;
	s->y[s->n] = y;
	s->file[s->n] = file;
	s->n++;
	return 0;
}

static void ws_free(winset *s)
{
	free(s->off);
	free(s->y);
	free(s->file);
}

/* Window w of s: in memory, a pointer into its file's audio; streamed, read
 * from the cache into buf (s->W floats). NULL, with the message given, when
 * the cache cannot be read. */
static const float *ws_get(const winset *s, size_t w, float *buf)
{
	char err[512];
	const float *x = ds_audio(s->ds, &s->ds->files[s->file[w]], s->off[w], s->W, buf, err,
	                          sizeof err);
	if (!x)
		msg("%s", err);
	return x;
}

/* Windows i .. i+n-1 of s into x (n pointers), read into buf (n * s->W
 * floats) when streamed. ONR_OK or ONR_EIO (message given). */
static int ws_range(const winset *s, size_t i, uint32_t n, float *buf, const float **x)
{
	for (uint32_t j = 0; j < n; j++)
		if (!(x[j] = ws_get(s, i + j, buf ? buf + (size_t)j * s->W : NULL)))
			return ONR_EIO;
	return ONR_OK;
}

/* ================================================================ evaluation */
typedef struct {
	double loss, acc, file_acc;
} evalres;

/* Class probabilities of every window of s into probs (n, K), in chunks,
 * with the progress line kept alive. */
static int eval_probs(onr_trainer *t, const winset *s, uint32_t K, float *probs, cli_progress *pg,
                      const char *what, float *buf)
{
	const float *x[EVAL_CHUNK];
	for (size_t i = 0; i < s->n; i += EVAL_CHUNK) {
		uint32_t n = (uint32_t)(s->n - i < EVAL_CHUNK ? s->n - i : EVAL_CHUNK);
		int st = ws_range(s, i, n, buf, x);
		if (!st)
			st = onr_trainer_eval(t, x, n, probs + i * K);
		if (st)
			return st;
		cli_progress_show(pg, (double)(i + n) / s->n, 0, "%s %zu/%zu windows", what, i + n, s->n);
	}
	return 0;
}

/* The most probable of K classes (the first on ties). */
static uint32_t top_class(const float *p, uint32_t K)
{
	uint32_t best = 0;
	for (uint32_t k = 1; k < K; k++)
		if (p[k] > p[best])
			best = k;
	return best;
}

/* A file's class from the sums of its windows' probabilities fp (K): the
 * most probable, with the sum of fp in *sum (0 when it had no window). */
static uint32_t top_file_class(const double *fp, uint32_t K, double *sum)
{
	uint32_t best = 0;
	*sum = 0.0;
	for (uint32_t k = 0; k < K; k++) {
		*sum += fp[k];
		if (fp[k] > fp[best])
			best = k;
	}
	return best;
}

/* Loss, window and file accuracy, and (when cm_* are not NULL) the
 * confusion matrices, from the probabilities of s. fileprob: scratch
 * (n_files, K) doubles. */
static evalres evaluate(const winset *s, const float *probs, uint32_t K, size_t n_files,
                        const dataset *ds, double *fileprob, uint64_t *cm_win, uint64_t *cm_file)
{
	evalres r = {NAN, NAN, NAN};
	if (!s->n)
		return r;
	double loss = 0.0;
	size_t right = 0;
	memset(fileprob, 0, n_files * K * sizeof *fileprob);
	if (cm_win)
		memset(cm_win, 0, (size_t)K * K * sizeof *cm_win);
	if (cm_file)
		memset(cm_file, 0, (size_t)K * K * sizeof *cm_file);
	for (size_t i = 0; i < s->n; i++) {
		const float *p = probs + i * K;
		double py = p[s->y[i]];
		loss -= log(py > 1e-12 ? py : 1e-12);
		uint32_t best = top_class(p, K);
		right += best == s->y[i];
		if (cm_win)
			cm_win[(size_t)s->y[i] * K + best]++;
		double *fp = fileprob + (size_t)s->file[i] * K;
		for (uint32_t k = 0; k < K; k++)
			fp[k] += p[k];
	}
	r.loss = loss / s->n;
	r.acc = (double)right / s->n;
	size_t files = 0, fright = 0;
	for (size_t f = 0; f < n_files; f++) {
		double sum;
		uint32_t best = top_file_class(fileprob + f * K, K, &sum);
		if (!(sum > 0.0))
			continue;
		files++;
		fright += best == ds->files[f].label;
		if (cm_file)
			cm_file[(size_t)ds->files[f].label * K + best]++;
	}
	r.file_acc = files ? (double)fright / files : NAN;
	return r;
}

/* ================================================================ helpers */
static double lr_at(const topts *o, uint64_t step, uint64_t total, uint64_t warm)
{
	if (step < warm)
		return o->lr * (double)(step + 1) / (double)warm;
	double t = total > warm ? (double)(step - warm) / (double)(total - warm) : 1.0;
	if (t > 1.0)
		t = 1.0;
	return o->lr * (0.01 + 0.99 * 0.5 * (1.0 + cos(M_PI * t)));
}

/* "MODEL.report.txt" beside the model, .onm dropped. */
static char *report_path(const char *model, const char *ext)
{
	size_t n = strlen(model);
	if (n > 4 && !strcmp(model + n - 4, ".onm"))
		n -= 4;
	size_t len = n + strlen(ext) + 1;
	char *p = malloc(len);
	if (p)
		snprintf(p, len, "%.*s%s", (int)n, model, ext);
	return p;
}

static void shell_quote(cli_buf *b, const char *s)
{
	int plain = *s != 0;
	for (const char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("-_./=:,+@%", *p)))
			plain = 0;
	if (plain) {
		cli_printf(b, "%s", s);
		return;
	}
	cli_printf(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			cli_printf(b, "'\\''");
		else if ((unsigned char)*p < 0x20)
			cli_printf(b, "?");
		else
			cli_printf(b, "%c", *p);
	}
	cli_printf(b, "'");
}

/* How reports and metadata name a dataset (or model) path: as given when
 * it is relative and stays inside the working folder; otherwise its last
 * two components ("sound-categories/sound-categories.csv", the path
 * relative to the data root), never an absolute path of this machine. */
static char *display_name(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	int inside = path[0] != '/' && strncmp(path, "../", 3) && strcmp(path, "..") &&
	             !strstr(path, "/../");
	if (inside)
		return strndup(path, n);
	size_t a = n, slashes = 0;
	while (a > 0) {
		if (path[a - 1] == '/' && ++slashes == 2)
			break;
		a--;
	}
	return strndup(path + a, n - a);
}

/* Paths under the dataset's folder, as the report shows them: the folder's
 * prefix `from` (n_from bytes) replaced by `to` (n_to bytes). */
typedef struct {
	const char *from;
	size_t n_from;
	const char *to;
	size_t n_to;
} path_map;

static void shown_path(cli_buf *b, const char *path, const path_map *m)
{
	if (m->from && m->n_from && !strncmp(path, m->from, m->n_from))
		cli_printf(b, "%.*s%s", (int)m->n_to, m->to, path + m->n_from);
	else
		cli_printf(b, "%s", path);
}

static void format_date(char *buf, size_t len)
{
	time_t t = time(NULL);
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		errno = 0;
		long long v = strtoll(sde, &end, 10);
		if (!errno && !*end && v >= 0)
			t = (time_t)v;
	}
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_bad_files(const dataset *ds, long bad)
{
	long shown = 0;
	int oom = 0;
	for (size_t i = 0; i < ds->n_files; i++)
		oom |= ds->files[i].error && !strcmp(ds->files[i].error, "out of memory");
	for (size_t i = 0; i < ds->n_files && shown < MAX_BAD_SHOWN; i++) {
		const ds_file *f = &ds->files[i];
		if (!f->error)
			continue;
		if (strcmp(f->where, f->path))
			msg("%s: %s: %s", f->where, f->path, f->error);
		else
			msg("%s: %s", f->path, f->error);
		shown++;
	}
	if (bad > shown)
		msg("(and %ld more files that cannot be read)", bad - shown);
	msg("%ld file%s of the dataset cannot be read; no model written", bad, bad == 1 ? "" : "s");
	if (oom && !ds->streamed)
		msg("the audio does not fit in memory: --stream reads it from a cache on disk instead");
}

typedef struct {
	cli_progress *pg;
	double t0;
} load_ctx;

static void load_progress(size_t done, size_t total, void *ctx)
{
	load_ctx *c = ctx;
	cli_progress_show(c->pg, (double)done / (double)total, done == total, "loading %zu/%zu files",
	                  done, total);
}

/* ================================================================ command */
int cmd_train(int argc, char **argv)
{
	topts o;
	memset(&o, 0, sizeof o);
	int st = parse_args(argc, argv, &o);
	if (st == -1) {
		usage(stdout);
		return EXIT_OK;
	}
	if (st)
		return st;

	dataset ds;
	memset(&ds, 0, sizeof ds);
	onr_model *m = NULL;
	onr_trainer *tr = NULL;
	winset wtr = {0}, wva = {0};
	uint32_t *order = NULL, *labels = NULL, *by_class = NULL; /* by_class: window ids by class */
	size_t *cls_start = NULL;
	const float **bx = NULL;
	float *augbuf = NULL; /* (batch, window) --augment's varied windows */
	float *roombuf = NULL; /* --room: a window and the room's 3 scratch windows */
	float *streambuf = NULL, *evalbuf = NULL; /* --stream: a batch's and an evaluation
	                                             chunk's windows, read from the cache */
	float *filebuf = NULL;                    /* --stream: one file, to find its windows */
	size_t filebuf_n = 0;
	float *bw = NULL, *probs = NULL, *best_probs = NULL, *best_params = NULL, *tprobs = NULL;
	double *fileprob = NULL, *class_w = NULL;
	size_t *off = NULL, *cnt[4] = {NULL, NULL, NULL, NULL};
	uint64_t *cm_win = NULL, *cm_file = NULL;
	tr_epoch *hist = NULL;
	char *p_txt = NULL, *p_png = NULL, *p_svg = NULL, *p_pdf = NULL;
	cli_buf meta = {0}, rep = {0}, cmd = {0}, arch = {0}, settings = {0}, flist = {0};
	char err[4096];
	char *ds_name = NULL, *model_name = NULL;   /* the dataset and model as reports name them */
	path_map pmap = {NULL, 0, NULL, 0};
	size_t *src_n = NULL;                       /* (4, n_groups) per-source counts */
	const char **src_cls = NULL;                /* (n_groups) */
	cli_progress pg = {0};
	pg.on = !o.quiet && isatty(2);

	/* ---- where the model goes: checked before any work */
	{
		struct stat sb;
		if (!stat(o.model, &sb) && S_ISDIR(sb.st_mode)) {
			msg("%s: is a folder; MODEL is the file to write (e.g. %s/model.onm)", o.model,
			    o.model);
			st = EXIT_USAGE;
			goto out;
		}
		if (af_same_file(o.model, o.dataset)) {
			msg("%s: MODEL is the dataset itself; choose another name", o.model);
			st = EXIT_USAGE;
			goto out;
		}
		char tmp[CLI_PATH_BUF];
		int fd = cli_tmp_create(o.model, tmp, sizeof tmp);
		if (fd < 0) {
			msg("%s: cannot write there: %s", o.model, strerror(errno));
			st = EXIT_FAIL;
			goto out;
		}
		close(fd);
		unlink(tmp);
		p_txt = report_path(o.model, ".report.txt");
		p_png = report_path(o.model, ".report.png");
		p_svg = report_path(o.model, ".report.svg");
		p_pdf = report_path(o.model, ".report.pdf");
		if (!p_txt || !p_png || !p_svg || !p_pdf) {
			msg("out of memory");
			st = EXIT_FAIL;
			goto out;
		}
	}
	cli_printf(&cmd, "oneiro");
	for (int i = 0; i < argc; i++) {
		cli_printf(&cmd, " ");
		if (!strcmp(argv[i], o.dataset) || !strcmp(argv[i], o.model)) { /* no path of this machine */
			char *d = display_name(argv[i]);
			shell_quote(&cmd, d ? d : "?");
			free(d);
		} else {
			shell_quote(&cmd, argv[i]);
		}
	}

	/* ---- the dataset (no audio yet) */
	double t_start = cli_now();
	int r = ds_open(&ds, o.dataset, &o.ds, err, sizeof err);
	if (r) {
		msg("%s", err);
		if (r == -1)
			msg("no model written");
		st = r == -2 ? EXIT_USAGE : EXIT_FAIL;
		goto out;
	}
	if (!ds.split_given)
		ds_split(&ds, o.val_fraction, o.seed);
	else if (o.val_fraction_given)
		msg("note: the dataset gives its split (%s); --val-fraction is not used", ds.split_desc);
	uint32_t K = ds.n_classes;
	ds_name = display_name(o.dataset);
	model_name = display_name(o.model);
	{ /* the files' paths begin with the dataset's folder: shown from its name */
		struct stat sb;
		int dir = !stat(o.dataset, &sb) && S_ISDIR(sb.st_mode);
		const char *a = strrchr(o.dataset, '/'), *b = ds_name ? strrchr(ds_name, '/') : NULL;
		if (dir) {
			pmap.from = o.dataset;
			pmap.n_from = strlen(o.dataset);
			pmap.to = ds_name ? ds_name : "";
			pmap.n_to = strlen(pmap.to);
		} else if (a) {
			pmap.from = o.dataset;
			pmap.n_from = (size_t)(a - o.dataset) + 1;
			pmap.to = ds_name ? ds_name : "";
			pmap.n_to = b ? (size_t)(b - pmap.to) + 1 : 0;
		}
	}

	/* ---- the model */
	onr_op ops[ONR_MAX_OPS];
	uint32_t n_ops;
	if (o.layers) {
		if (parse_layers(o.layers, K, ops, &n_ops)) {
			st = EXIT_USAGE;
			goto out;
		}
		cli_printf(&arch, "layers %s", o.layers);
	} else {
		n_ops = onr_arch_preset(o.arch, K, ops);
		if (!n_ops) {
			msg("--arch: unknown architecture '%s' (tiny, small, wide; or --layers)", o.arch);
			st = EXIT_USAGE;
			goto out;
		}
		cli_printf(&arch, "%s", o.arch);
	}
	uint32_t W = (uint32_t)lround(o.window_s * o.rate);
	if (W < 1)
		W = 1;
	if (o.window_s * o.rate > ONR_MAX_WINDOW) {
		msg("--window: %g s is too long at %u Hz", o.window_s, o.rate);
		st = EXIT_USAGE;
		goto out;
	}
	uint32_t kind = o.ds.binary ? ONR_KIND_BINARY : ONR_KIND_CLASSES;
	if (onr_model_new(&m, ops, n_ops, o.rate, W, kind, (const char *const *)ds.classes, K, err,
	                  sizeof err)) {
		/* is it the window? then say how long it must be */
		onr_model *probe = NULL;
		if (!onr_model_new(&probe, ops, n_ops, o.rate, ONR_MAX_WINDOW, kind,
		                   (const char *const *)ds.classes, K, NULL, 0) &&
		    W < probe->min_len) {
			msg("--window: %g s is %u samples at %u Hz; the architecture's receptive "
			    "field needs "
			    "at least %u (%.3f s)",
			    o.window_s, W, o.rate, probe->min_len, (double)probe->min_len / o.rate);
		} else {
			/* the core counts layers from 0; --layers items are counted from 1 */
			unsigned li;
			int used = 0;
			if (o.layers && sscanf(err, "layer %u:%n", &li, &used) == 1 && used > 0) {
				const char *p = o.layers;
				for (unsigned k = 0; k < li && p; k++) {
					p = strchr(p, ',');
					if (p)
						p++;
				}
				size_t l = p ? strcspn(p, ",") : 0;
				msg("--layers: item %u '%.*s':%s", li + 1, (int)l, p ? p : "", err + used);
			} else {
				msg("%s: %s", o.layers ? "--layers" : "the architecture", err);
			}
		}
		onr_model_free(probe);
		st = EXIT_USAGE;
		goto out;
	}
	m->norm = (uint32_t)o.norm;
	m->norm_value = (float)o.norm_value;
	onr_model_init_params(m, o.seed);
	uint32_t hop = ds_hop(W, o.overlap_pct);
	if (!o.quiet)
		fprintf(stderr,
		        "dataset: %s (%s), %zu files, %u classes; split: %s\n"
		        "model: %s, %zu parameters, window %u samples at %u Hz; %u thread%s\n",
		        o.dataset, ds.format, ds.n_files, K, ds.split_desc ? ds.split_desc : "none", arch.s,
		        m->n_params, W, o.rate, o.threads, o.threads == 1 ? "" : "s");

	/* ---- audio */
	cli_catch_signals(on_signal, CLI_SIG_RESTART | CLI_SIG_HUP);
	if (o.stream) {
		const char *dir = o.cache_dir ? o.cache_dir : getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/var/tmp";
		if (ds_stream(&ds, dir, err, sizeof err)) {
			msg("--stream: %s", err);
			st = EXIT_FAIL;
			goto out;
		}
		if (!o.quiet)
			fprintf(stderr, "streaming: the audio goes to a cache in %s and is read as needed\n",
			        dir);
	}
	load_ctx lc = {&pg, cli_now()};
	long bad = ds_load_audio_all(&ds, o.rate, W, o.threads, &g_stop, load_progress, &lc);
	cli_progress_end(&pg);
	if (bad < 0) {
		msg("interrupted while reading the dataset; no model written");
		st = 128 + g_stop;
		goto out;
	}
	if (bad > 0 && ds.cache_error) {
		msg("--stream: %s; loading stopped, no model written (free space there, or give "
		    "another --cache-dir)", ds.cache_error);
		st = EXIT_FAIL;
		goto out;
	}
	if (bad > 0) {
		print_bad_files(&ds, bad);
		st = EXIT_FAIL;
		goto out;
	}
	double t_load = cli_now() - t_start;

	/* ---- windows */
	for (int i = 0; i < 4; i++)
		if (!(cnt[i] = calloc(K, sizeof *cnt[i]))) {
			msg("out of memory");
			st = EXIT_FAIL;
			goto out;
		}
	size_t *tr_files = cnt[0], *tr_wins = cnt[1], *va_files = cnt[2], *va_wins = cnt[3];
	wtr.ds = wva.ds = &ds;
	wtr.W = wva.W = W;
	for (size_t i = 0; i < ds.n_files; i++) {
		ds_file *f = &ds.files[i];
		size_t k;
		if (!f->x && f->n > filebuf_n) {
			float *nb = realloc(filebuf, f->n * sizeof *nb);
			if (!nb) {
				msg("out of memory for %s (%zu samples)", f->where, f->n);
				st = EXIT_FAIL;
				goto out;
			}
			filebuf = nb;
			filebuf_n = f->n;
		}
		const float *fx = ds_audio(&ds, f, 0, f->n, filebuf, err, sizeof err);
		if (!fx) {
			msg("%s", err);
			st = EXIT_FAIL;
			goto out;
		}
		if (ds_windows(fx, f->n, W, hop, o.floor_db, &off, &k)) {
			msg("out of memory");
			st = EXIT_FAIL;
			goto out;
		}
		winset *s = f->split == DS_SPLIT_VAL ? &wva : &wtr;
		f->win0 = (uint32_t)s->n;
		f->nwin = (uint32_t)k;
		for (size_t j = 0; j < k; j++)
			if (ws_add(s, off[j], f->label, (uint32_t)i)) {
				msg("out of memory for the windows");
				st = EXIT_FAIL;
				goto out;
			}
		if (f->split == DS_SPLIT_VAL) {
			va_files[f->label]++;
			va_wins[f->label] += k;
		} else {
			tr_files[f->label]++;
			tr_wins[f->label] += k;
		}
	}
	for (uint32_t k = 0; k < K; k++)
		if (!tr_wins[k]) {
			msg("%s: class '%s' has no training files", o.dataset, ds.classes[k]);
			st = EXIT_FAIL;
			goto out;
		}
	int have_val = wva.n > 0;
	if (have_val && !o.quiet)
		for (uint32_t k = 0; k < K; k++)
			if (!va_files[k])
				msg("note: class '%s' has no validation files", ds.classes[k]);

	/* ---- the epoch plan */
	size_t maxc = 0;
	for (uint32_t k = 0; k < K; k++)
		if (tr_wins[k] > maxc)
			maxc = tr_wins[k];
	size_t per_epoch = o.balance == BAL_OVERSAMPLE ? maxc * K : wtr.n;
	uint32_t B = o.batch;
	uint64_t steps_per_epoch = (per_epoch + B - 1) / B;
	uint64_t total_steps = steps_per_epoch * o.epochs;
	uint64_t warm = (uint64_t)llround(o.warmup * steps_per_epoch);
	if (warm > total_steps)
		warm = total_steps;
	by_class = malloc((wtr.n + 1) * sizeof *by_class);
	cls_start = calloc(K + 1, sizeof *cls_start);
	order = malloc((per_epoch + 1) * sizeof *order);
	labels = malloc((size_t)B * sizeof *labels);
	bx = malloc((size_t)B * sizeof *bx);
	if (ds.streamed) {
		free(filebuf); /* the windows are known: no more whole files */
		filebuf = NULL;
		streambuf = malloc((size_t)B * W * sizeof *streambuf);
		evalbuf = malloc((size_t)EVAL_CHUNK * W * sizeof *evalbuf);
		if (!streambuf || !evalbuf) {
			msg("out of memory for --stream's buffers");
			st = EXIT_FAIL;
			goto out;
		}
	}
	if (o.augment || o.room_p > 0.0 || o.mask_p > 0.0) {
		augbuf = malloc((size_t)B * W * sizeof *augbuf);
		if (o.room_p > 0.0)
			roombuf = malloc((size_t)4 * W * sizeof *roombuf);
		if (!augbuf || (o.room_p > 0.0 && !roombuf)) {
			msg("out of memory for --augment, --room or --mask");
			st = EXIT_FAIL;
			goto out;
		}
	}
	bw = malloc((size_t)B * sizeof *bw);
	class_w = malloc(K * sizeof *class_w);
	probs = malloc((wva.n + 1) * K * sizeof *probs);
	best_probs = malloc((wva.n + 1) * K * sizeof *best_probs);
	best_params = malloc((m->n_params + 1) * sizeof *best_params);
	fileprob = malloc((ds.n_files + 1) * K * sizeof *fileprob);
	cm_win = calloc((size_t)K * K, sizeof *cm_win);
	cm_file = calloc((size_t)K * K, sizeof *cm_file);
	hist = calloc((size_t)o.epochs + 1, sizeof *hist);
	if (!by_class || !cls_start || !order || !labels || !bx || !bw || !class_w || !probs ||
	    !best_probs || !best_params || !fileprob || !cm_win || !cm_file || !hist) {
		msg("out of memory");
		st = EXIT_FAIL;
		goto out;
	}
	for (size_t i = 0; i < wtr.n; i++)
		cls_start[wtr.y[i] + 1]++;
	for (uint32_t k = 0; k < K; k++)
		cls_start[k + 1] += cls_start[k];
	{
		size_t *fill = calloc(K, sizeof *fill);
		if (!fill) {
			msg("out of memory");
			st = EXIT_FAIL;
			goto out;
		}
		for (size_t i = 0; i < wtr.n; i++)
			by_class[cls_start[wtr.y[i]] + fill[wtr.y[i]]++] = (uint32_t)i;
		free(fill);
	}
	for (uint32_t k = 0; k < K; k++)
		class_w[k] = (double)wtr.n / ((double)K * (double)tr_wins[k]);

	cli_printf(&settings,
	           "Adam (AdamW decay %g), lr %g (warm-up %g epoch%s, cosine to %g), batch %u, "
	           "%u epoch%s at most, patience %u, balance %s, norm %s",
	           o.weight_decay, o.lr, o.warmup, o.warmup == 1.0 ? "" : "s", o.lr / 100.0, B,
	           o.epochs, o.epochs == 1 ? "" : "s", o.patience, balance_names[o.balance],
	           o.norm == ONR_NORM_RMS    ? "rms"
	           : o.norm == ONR_NORM_GAIN ? "gain"
	                                     : "none");
	if (o.norm != ONR_NORM_NONE)
		cli_printf(&settings, " %g", o.norm_value);
	cli_printf(&settings,
	           ", windows %u samples with %g %% overlap, floor %g dBFS, seed %llu, "
	           "%u thread%s",
	           W, o.overlap_pct, o.floor_db, (unsigned long long)o.seed, o.threads,
	           o.threads == 1 ? "" : "s");
	if (o.augment)
		cli_printf(&settings, ", augmented (speed, EQ, tilt, polarity, noise)");
	if (o.room_p > 0.0)
		cli_printf(&settings, ", rooms on %g %% of the windows", 100.0 * o.room_p);
	if (o.mask_p > 0.0)
		cli_printf(&settings, ", masks on %g %% of the windows", 100.0 * o.mask_p);
	if (o.robust_db != 0.0)
		cli_printf(&settings, ", robust (trained on windows attacked by %u steps of projected "
		           "gradient ascent within %g dB of their RMS)",
		           o.robust_steps ? o.robust_steps : 3, o.robust_db);

	/* ---- train */
	onr_train_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.threads = o.threads;
	cfg.window = W;
	cfg.weight_decay = (float)o.weight_decay;
	cfg.robust_db = (float)o.robust_db;
	cfg.robust_steps = o.robust_steps;
	if (onr_trainer_new(&tr, m, &cfg, err, sizeof err)) {
		msg("cannot train: %s", err);
		st = EXIT_FAIL;
		goto out;
	}
	if (!o.quiet) {
		size_t ntf = 0, nvf = 0;
		for (uint32_t k = 0; k < K; k++) {
			ntf += tr_files[k];
			nvf += va_files[k];
		}
		fprintf(stderr,
		        "training: %zu windows of %zu files (%zu an epoch, %llu steps); "
		        "validation: %zu "
		        "windows of %zu files\n",
		        wtr.n, ntf, per_epoch, (unsigned long long)steps_per_epoch, wva.n, nvf);
	}
	uint64_t rng = o.seed ^ 0x7261696e5eedull; /* "train" */
	uint64_t aug_rng = o.seed ^ 0x6175676d656e74ull; /* "augment" */
	/* rooms and masks draw from their own stream, so that --augment's
	 * variations (and the models trained with them) stay what they were */
	uint64_t room_rng = o.seed ^ 0x726f6f6d6d61736bull; /* "roommask" */
	uint64_t step = 0;
	int best = -1, stopped_early = 0, interrupted = 0;
	uint32_t ep_stop = 0; /* the epoch running when a signal came */
	double best_crit = INFINITY, t_train = 0.0;
	uint64_t examples = 0;
	uint32_t n_ep = 0;
	for (uint32_t ep = 1; ep <= o.epochs && !interrupted; ep++) {
		double te0 = cli_now();
		/* the epoch's windows: all, plus random extra draws of the smaller classes */
		size_t n = 0;
		if (o.balance == BAL_OVERSAMPLE) {
			for (uint32_t k = 0; k < K; k++) {
				size_t c = cls_start[k + 1] - cls_start[k];
				for (size_t j = 0; j < c; j++)
					order[n++] = by_class[cls_start[k] + j];
				for (size_t j = c; j < maxc; j++)
					order[n++] = by_class[cls_start[k] + cli_rand_below(&rng, c)];
			}
		} else {
			for (size_t i = 0; i < wtr.n; i++)
				order[n++] = (uint32_t)i;
		}
		cli_shuffle(order, n, sizeof *order, &rng);
		double lsum = 0.0, lr = o.lr;
		uint64_t right = 0, seen = 0;
		for (size_t b0 = 0; b0 < n; b0 += B) {
			if (g_stop) {
				interrupted = 1;
				ep_stop = ep;
				break;
			}
			uint32_t nb = (uint32_t)(n - b0 < B ? n - b0 : B);
			for (uint32_t j = 0; j < nb; j++) {
				uint32_t w = order[b0 + j];
				bx[j] = ws_get(&wtr, w, streambuf ? streambuf + (size_t)j * W : NULL);
				if (!bx[j]) {
					cli_progress_end(&pg);
					st = EXIT_FAIL;
					goto out;
				}
				labels[j] = wtr.y[w];
				bw[j] = (float)class_w[wtr.y[w]];
				if (augbuf) {
					float *y = augbuf + (size_t)j * W;
					const float *src = bx[j];
					if (o.room_p > 0.0 && cli_rand01(&room_rng) < o.room_p) {
						memcpy(roombuf, src, (size_t)W * sizeof *roombuf);
						onr_augment_room(roombuf, W, (double)o.rate, &room_rng,
						                 roombuf + W);
						src = roombuf;
					}
					if (o.augment)
						onr_augment_window(y, src, W, (double)o.rate, &aug_rng);
					else
						memcpy(y, src, (size_t)W * sizeof *y);
					if (o.mask_p > 0.0 && cli_rand01(&room_rng) < o.mask_p)
						onr_augment_mask(y, W, (double)o.rate, &room_rng);
					bx[j] = y;
				}
			}
			lr = lr_at(&o, step, total_steps, warm);
			float loss;
			uint32_t correct;
			double ts = cli_now();
			int e = onr_trainer_step(tr, bx, labels, o.balance == BAL_WEIGHTS ? bw : NULL, nb,
			                         (float)lr, &loss, &correct);
			t_train += cli_now() - ts;
			if (e) {
				cli_progress_end(&pg);
				msg("training step failed: %s", onr_strerror(e));
				st = EXIT_FAIL;
				goto out;
			}
			step++;
			examples += nb;
			lsum += (double)loss * nb;
			right += correct;
			seen += nb;
			cli_progress_show(&pg, (double)(b0 + nb) / n, 0,
			                  "epoch %u/%u  loss %.4f  acc %.1f %%  %.0f ex/s", ep, o.epochs,
			                  lsum / seen, 100.0 * right / seen,
			                  t_train > 0.0 ? examples / t_train : 0.0);
		}
		if (interrupted && (best >= 0 || !seen))
			break; /* the best epoch so far is what gets saved */
		tr_epoch *h = &hist[n_ep];
		h->epoch = ep;
		h->lr = lr;
		h->train_loss = seen ? lsum / seen : NAN;
		h->train_acc = seen ? (double)right / seen : NAN;
		h->val_loss = h->val_acc = h->val_file_acc = NAN;
		h->partial = interrupted;
		if (have_val) {
			int e = eval_probs(tr, &wva, K, probs, &pg, "validating", evalbuf);
			if (e) {
				cli_progress_end(&pg);
				msg("evaluation failed: %s", onr_strerror(e));
				st = EXIT_FAIL;
				goto out;
			}
			evalres ev = evaluate(&wva, probs, K, ds.n_files, &ds, fileprob, NULL, NULL);
			h->val_loss = ev.loss;
			h->val_acc = ev.acc;
			h->val_file_acc = ev.file_acc;
		}
		h->seconds = cli_now() - te0;
		n_ep++;
		double crit = have_val ? h->val_loss : h->train_loss;
		int is_best = best < 0 || crit < best_crit;
		if (o.select_acc && have_val) {
			/* accuracy first, the loss breaks ties */
			crit = -h->val_acc + 1e-9 * h->val_loss;
			is_best = best < 0 || crit < best_crit;
		}
		if (is_best) {
			best = (int)n_ep - 1;
			best_crit = crit;
			memcpy(best_params, m->params, m->n_params * sizeof *best_params);
			if (have_val)
				memcpy(best_probs, probs, wva.n * K * sizeof *probs);
		}
		cli_progress_end(&pg);
		if (!o.quiet) {
			fprintf(stderr, "epoch %3u/%u  lr %.2e  train loss %.4f acc %5.1f %%", ep, o.epochs, lr,
			        h->train_loss, 100.0 * h->train_acc);
			if (have_val)
				fprintf(stderr, "  val loss %.4f acc %5.1f %% files %5.1f %%", h->val_loss,
				        100.0 * h->val_acc, 100.0 * h->val_file_acc);
			fprintf(stderr, "  %.1f s  %.0f ex/s%s%s\n", h->seconds,
			        t_train > 0.0 ? examples / t_train : 0.0, is_best ? "  *" : "",
			        h->partial ? "  (partial epoch)" : "");
		}
		if (g_stop && !interrupted) {
			interrupted = 1;
			ep_stop = ep;
		}
		if (!interrupted && o.patience && n_ep - 1 - (uint32_t)best >= o.patience &&
		    ep < o.epochs) {
			stopped_early = 1;
			break;
		}
	}
	cli_progress_end(&pg);
	if (interrupted && !o.quiet)
		msg("interrupted: saving epoch %u, the best so far%s", best >= 0 ? hist[best].epoch : 0,
		    " (Ctrl-C again quits at once, without saving)");
	if (best < 0) {
		/* interrupted before a single batch: nothing learnt, nothing saved */
		msg("interrupted before the first training step; no model written");
		st = 128 + g_stop;
		goto out;
	}

	/* ---- the saved parameters and what they do */
	memcpy(m->params, best_params, m->n_params * sizeof *best_params);
	onr_trainer_sync(tr);
	const char *eval_on;
	if (have_val) {
		evaluate(&wva, best_probs, K, ds.n_files, &ds, fileprob, cm_win, cm_file);
		eval_on = "validation set";
	} else {
		eval_on = "training set (no validation set: optimistic)";
		tprobs = malloc((wtr.n + 1) * K * sizeof *tprobs);
		int e = tprobs ? eval_probs(tr, &wtr, K, tprobs, &pg, "evaluating", evalbuf) : 0;
		if (!tprobs || e) {
			cli_progress_end(&pg);
			msg("cannot evaluate the model: %s", tprobs ? onr_strerror(e) : "out of memory");
			st = EXIT_FAIL;
			goto out;
		}
		cli_progress_end(&pg);
		evaluate(&wtr, tprobs, K, ds.n_files, &ds, fileprob, cm_win, cm_file);
	}
	double acc_w = tr_accuracy(cm_win, K), acc_f = tr_accuracy(cm_file, K);
	/* --robust: the same windows, each attacked as in training */
	double robust_acc = NAN;
	if (o.robust_db != 0.0) {
		const winset *es = have_val ? &wva : &wtr;
		float *rp = malloc((es->n + 1) * K * sizeof *rp);
		size_t right = 0;
		int e = rp ? 0 : ONR_ENOMEM;
		const float *ex[EVAL_CHUNK];
		for (size_t i = 0; i < es->n && !e; i += EVAL_CHUNK) {
			uint32_t n = (uint32_t)(es->n - i < EVAL_CHUNK ? es->n - i : EVAL_CHUNK);
			e = ws_range(es, i, n, evalbuf, ex);
			if (!e)
				e = onr_trainer_eval_robust(tr, ex, es->y + i, n, (float)o.robust_db,
				                            rp + i * K);
			cli_progress_show(&pg, (double)(i + n) / es->n, 0, "attacking %zu/%zu windows",
			                  i + n, es->n);
		}
		cli_progress_end(&pg);
		for (size_t i = 0; i < es->n && !e; i++)
			right += top_class(rp + i * K, K) == es->y[i];
		free(rp);
		if (e) {
			msg("cannot evaluate the model under attack: %s", onr_strerror(e));
			st = EXIT_FAIL;
			goto out;
		}
		robust_acc = es->n ? (double)right / es->n : NAN;
	}
	/* per value of the grouping column (CSV `source`: a held-out renderer,
	 * speaker, family): files and windows, and how many are right */
	if (ds.n_groups) {
		src_n = calloc(4 * ds.n_groups, sizeof *src_n);
		src_cls = calloc(ds.n_groups, sizeof *src_cls);
		if (!src_n || !src_cls) {
			msg("out of memory");
			st = EXIT_FAIL;
			goto out;
		}
		const winset *es = have_val ? &wva : &wtr;
		const float *ep = have_val ? best_probs : tprobs;
		size_t *g_files = src_n, *g_fok = src_n + ds.n_groups, *g_wins = src_n + 2 * ds.n_groups,
		       *g_wok = src_n + 3 * ds.n_groups;
		for (size_t i = 0; i < es->n; i++) {
			int32_t g = ds.files[es->file[i]].group;
			if (g < 0)
				continue;
			g_wins[g]++;
			g_wok[g] += top_class(ep + i * K, K) == es->y[i];
		}
		for (size_t i = 0; i < ds.n_files; i++) {
			const ds_file *f = &ds.files[i];
			if (f->group < 0 || (f->split == DS_SPLIT_VAL) != have_val)
				continue;
			double sum;
			uint32_t bk = top_file_class(fileprob + i * K, K, &sum);
			if (!(sum > 0.0))
				continue;
			g_files[f->group]++;
			g_fok[f->group] += bk == f->label;
			const char *c = ds.classes[f->label];
			if (!src_cls[f->group])
				src_cls[f->group] = c;
			else if (strcmp(src_cls[f->group], c))
				src_cls[f->group] = "(mixed)";
		}
		for (size_t g = 0; g < ds.n_groups; g++)
			if (!src_cls[g])
				src_cls[g] = "";
	}
	/* per file, for the report file: what the saved model says about each
	 * evaluated file (fileprob holds the sums of its windows' probabilities) */
	cli_printf(&flist, "\nfiles of the %s (true class -> predicted, mean probability):\n", eval_on);
	for (size_t i = 0; i < ds.n_files; i++) {
		const ds_file *f = &ds.files[i];
		if ((f->split == DS_SPLIT_VAL) != have_val)
			continue;
		const double *fp = fileprob + i * K;
		double sum;
		uint32_t bk = top_file_class(fp, K, &sum);
		if (!(sum > 0.0))
			continue;
		cli_printf(&flist, "  %-5s %s -> %s %.3f  ", bk == f->label ? "ok" : "WRONG",
		           ds.classes[f->label], ds.classes[bk], fp[bk] / sum);
		shown_path(&flist, f->path, &pmap);
		if (strcmp(f->where, f->path)) {
			cli_printf(&flist, "  (");
			shown_path(&flist, f->where, &pmap);
			cli_printf(&flist, ")");
		}
		cli_printf(&flist, "\n");
	}

	/* ---- metadata */
	char date[64];
	format_date(date, sizeof date);
	cli_printf(&meta, "trained-by: %s\n", VERSION_TAG);
	cli_printf(&meta, "date: %s\n", date);
	cli_printf(&meta, "dataset: %s (%s)\n", ds_name ? ds_name : "?", ds.format);
	cli_printf(&meta, "split: %s\n", ds.split_desc ? ds.split_desc : "none");
	for (uint32_t k = 0; k < K; k++)
		cli_printf(&meta, "class %u: %s (train %zu files %zu windows, val %zu files %zu windows)\n",
		           k, ds.classes[k], tr_files[k], tr_wins[k], va_files[k], va_wins[k]);
	if (o.ds.binary)
		cli_printf(&meta, "binary: class 1 '%s' is interesting\n", ds.classes[1]);
	cli_printf(&meta, "architecture: %s\n", arch.s);
	cli_printf(&meta, "training: %s\n", settings.s);
	cli_printf(&meta, "epochs: %u run of %u%s\n", n_ep, o.epochs,
	           interrupted     ? " (interrupted)"
	           : stopped_early ? " (early stop)"
	                           : "");
	cli_printf(&meta, "best epoch: %u%s\n", hist[best].epoch,
	           hist[best].partial ? " (partial)" : "");
	cli_printf(&meta, "%s accuracy: windows %.4f, files %.4f\n", have_val ? "val" : "train", acc_w,
	           acc_f);
	if (o.robust_db != 0.0)
		cli_printf(&meta, "%s robust accuracy: windows %.4f (attack: %u steps within %g dB)\n",
		           have_val ? "val" : "train", robust_acc, o.robust_steps ? o.robust_steps : 3,
		           o.robust_db);
	cli_printf(&meta, "seed: %llu\n", (unsigned long long)o.seed);
	cli_printf(&meta, "threads: %u\n", o.threads);
	if (cmd.s && cmd.n > 4000)
		cli_printf(&meta, "command: %.4000s ...\n", cmd.s);
	else
		cli_printf(&meta, "command: %s\n", cmd.s ? cmd.s : "");
	if (meta.oom || !meta.s || meta.n > ONR_MAX_META) {
		msg("the metadata is too long (%zu bytes); written without the class list", meta.n);
		meta.n = 0;
		cli_printf(&meta, "trained-by: %s\ndate: %s\ndataset: %s\narchitecture: %s\nseed: %llu\n",
		           VERSION_TAG, date, ds_name ? ds_name : "?", arch.s, (unsigned long long)o.seed);
	}
	if (onr_model_set_meta(m, meta.s) != ONR_OK) {
		msg("cannot store the metadata (a NUL byte?)");
		onr_model_set_meta(m, "trained-by: " VERSION_TAG "\n");
	}

	/* ---- save: atomically */
	if (onr_model_save_file(m, o.model, err, sizeof err)) {
		msg("%s", err);
		st = EXIT_FAIL;
		goto out;
	}

	/* ---- the report */
	char stop_reason[256];
	if (interrupted)
		snprintf(stop_reason, sizeof stop_reason, "interrupted (signal %d) in epoch %u",
		         (int)g_stop, ep_stop);
	else if (stopped_early)
		snprintf(stop_reason, sizeof stop_reason,
		         "early, after epoch %u: the %s %s had not improved for %u epochs", n_ep,
		         have_val ? "validation" : "training",
		         o.select_acc && have_val ? "accuracy" : "loss", o.patience);
	else
		snprintf(stop_reason, sizeof stop_reason, "after all %u epochs", o.epochs);
	tr_report R = {
	    .select_acc = o.select_acc,
	    .model_path = model_name ? model_name : "?",
	    .dataset = ds_name ? ds_name : "?",
	    .format = ds.format,
	    .split_desc = ds.split_desc ? ds.split_desc : "none",
	    .arch_desc = arch.s,
	    .settings = settings.s,
	    .date = date,
	    .stop_reason = stop_reason,
	    .eval_on = eval_on,
	    .robust_db = o.robust_db,
	    .robust_acc = robust_acc,
	    .robust_steps = o.robust_steps ? o.robust_steps : 3,
	    .binary = o.ds.binary != NULL,
	    .n_classes = K,
	    .classes = ds.classes,
	    .train_files = tr_files,
	    .train_wins = tr_wins,
	    .val_files = va_files,
	    .val_wins = va_wins,
	    .n_params = m->n_params,
	    .rate = o.rate,
	    .window = W,
	    .ep = hist,
	    .n_ep = n_ep,
	    .best = best,
	    .cm_win = cm_win,
	    .cm_file = cm_file,
	    .t_load = t_load,
	    .t_train = t_train,
	    .examples_per_s = t_train > 0.0 ? examples / t_train : 0.0,
	    .threads = o.threads,
	    .src_col = ds.group_col,
	    .n_src = src_n ? ds.n_groups : 0,
	    .src_name = ds.groups,
	    .src_class = src_cls,
	    .src_files = src_n,
	    .src_files_ok = src_n ? src_n + ds.n_groups : NULL,
	    .src_wins = src_n ? src_n + 2 * ds.n_groups : NULL,
	    .src_wins_ok = src_n ? src_n + 3 * ds.n_groups : NULL,
	};
	tr_report_text(&R, &rep);
	cli_printf(&rep, "\nmodel written: %s\n", model_name ? model_name : "?");
	if (rep.oom) {
		msg("out of memory for the report");
		st = EXIT_FAIL;
		goto out;
	}
	int rst = 0;
	size_t rep_n = rep.n;
	cli_printf(&rep, "%s", flist.s ? flist.s : "");
	if (rep.oom) {
		msg("out of memory for the report");
		st = EXIT_FAIL;
		goto out;
	}
	if (cli_write_atomic(p_txt, rep.s, rep.n, err, sizeof err)) {
		msg("report: %s", err);
		rst = EXIT_FAIL;
	}
	if (tr_report_picture(&R, p_png, err, sizeof err)) {
		msg("report picture: %s", err);
		rst = EXIT_FAIL;
	}
	if (o.svg && tr_report_picture(&R, p_svg, err, sizeof err)) {
		msg("report picture: %s", err);
		rst = EXIT_FAIL;
	}
	if (o.pdf && tr_report_picture(&R, p_pdf, err, sizeof err)) {
		msg("report picture: %s", err);
		rst = EXIT_FAIL;
	}
	if (!o.quiet) {
		rep.s[rep_n] = 0; /* stdout: without the list of files */
		fputs(rep.s, stdout);
		printf("report: %s, %s%s%s%s%s\n", p_txt, p_png, o.svg ? ", " : "", o.svg ? p_svg : "",
		       o.pdf ? ", " : "", o.pdf ? p_pdf : "");
		fflush(stdout);
	}
	st = interrupted ? 128 + g_stop : rst;
out:
	cli_progress_end(&pg);
	onr_trainer_free(tr);
	onr_model_free(m);
	ds_free(&ds);
	ws_free(&wtr);
	ws_free(&wva);
	free(order);
	free(labels);
	free(by_class);
	free(cls_start);
	free(bx);
	free(augbuf);
	free(roombuf);
	free(streambuf);
	free(evalbuf);
	free(filebuf);
	free(bw);
	free(class_w);
	free(probs);
	free(best_probs);
	free(best_params);
	free(tprobs);
	free(fileprob);
	free(off);
	for (int i = 0; i < 4; i++)
		free(cnt[i]);
	free(cm_win);
	free(cm_file);
	free(hist);
	free(ds_name);
	free(model_name);
	free(src_n);
	free(src_cls);
	free(p_txt);
	free(p_png);
	free(p_svg);
	free(p_pdf);
	free(meta.s);
	free(rep.s);
	free(cmd.s);
	free(arch.s);
	free(settings.s);
	free(flist.s);
	return st;
}
