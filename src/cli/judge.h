/* SPDX-License-Identifier: GPL-2.0-or-later */
/* judge.h -- `oneiro render --judge`: after a file is dreamed, how other
 * models ("judges", and the dreaming model itself) hear the dreamed sound
 * next to the dry sound and a control, and how much of the dreaming model's
 * own gain survives a small delay of the delta (the shift test).
 *
 * The control is the dry sound plus noise with the delta's own spectrogram:
 * the delta's STFT magnitudes per frame with seeded random phases, at the
 * delta's RMS level. A dream that a judge hears no better than the control
 * changes nothing a listener would recognise; a dream whose effect on its
 * own model vanishes when the delta is delayed by 1 ms lives in phase-exact
 * waveform detail that no ear uses. */
#ifndef ONEIRO_JUDGE_H
#define ONEIRO_JUDGE_H

#include "cliutil.h"
#include "dream.h"
#include "onr.h"

#include <stddef.h>
#include <stdint.h>

#define JUDGE_MAX 16            /* --judge given at most this often */
#define JUDGE_DEFAULT_SEED 1    /* --judge-seed */

typedef struct {
	const char *paths[JUDGE_MAX]; /* --judge, in the order given */
	int n;
	uint64_t seed;                /* --judge-seed */
	const char *json;             /* --json FILE, "-" for stdout, or NULL */
	const char *control;          /* --judge-control FILE, or NULL */
} judge_opts;

/* Sets the defaults. */
void judge_opts_init(judge_opts *o);

/* When a->name (the option cli_args_next just returned) is one of judge's
 * (--judge, --judge-seed, --json, --judge-control), takes its value into o and returns 1,
 * or -1 after a message when it is bad; 0 when the option is not judge's. */
int judge_parse_option(judge_opts *o, cli_args *a);

/* Nonzero when judging was asked for (--judge, --json or --judge-control). */
int judge_wanted(const judge_opts *o);

typedef struct judge judge;

/* Loads every judge model (a clear message naming the file when one cannot
 * be loaded) and prepares the dreaming model m (path for the report) with
 * objective obj as its own judge. With --json -, stdout is kept for the
 * JSON from here on and the readable report goes to stderr. quiet: no
 * readable report. n_files: the files to be dreamed (--judge-control takes
 * one); they are numbered 0 to n_files - 1 in the calls below, and the
 * JSON and the mean list them in that order, whatever order they are
 * judged in. Returns 0, or an exit status after a message. */
int judge_new(judge **out, const judge_opts *o, onr_model *m, const char *model_path,
              const onr_objective *obj, int quiet, int n_files);
void judge_free(judge *j);

/* The mono mix of one file being dreamed, kept by its renderer until it is
 * judged: dry (the input) and wet (the dreamed output before it is written,
 * i.e. not quantised), lined up sample for sample. Zero-initialise it. */
typedef struct {
	float *dry, *wet; /* (n) */
	size_t n, cap;
} judge_audio;
/* n more samples; 0, or -1 out of memory. */
int judge_audio_push(judge_audio *a, const float *dry, const float *wet, uint32_t n);
void judge_audio_free(judge_audio *a);

/* Judges file number idx (its audio a, rate: its sample rate): appends the
 * readable report to report (unless quiet), keeps the figures for the JSON
 * and the batch mean. Returns 0, or EXIT_FAIL after a message (the file is
 * then listed with its error in the JSON).
 * Thread-safe: renderers of several files may call it at once (and
 * judge_skip_file); the judging itself is serialised (the judge models are
 * shared, and each uses every core). */
int judge_file(judge *j, int idx, const judge_audio *a, const char *in_path, const char *out_path,
               uint32_t rate, cli_buf *report);

/* Notes file number idx as not dreamed, with why (for the JSON), unless
 * judge_file has already recorded it. Thread-safe. */
void judge_skip_file(judge *j, int idx, const char *in_path, const char *why);

/* After the last file (no judge_file running): the mean over the judged
 * files (printed when more than one was judged) and the JSON (--json).
 * 0 or EXIT_FAIL after a message. */
int judge_finish(judge *j);

/* ---------------------------------------------------------------- pieces
 * (exported for the tests) */

/* The STFT frame length judge uses at `rate` Hz: the power of two nearest
 * 32 ms (at least 64); the hop is a quarter of it. */
uint32_t judge_frame_len(uint32_t rate);

/* Noise with x's spectrogram: the STFT of x (n samples; frames of N =
 * judge_frame_len(rate), hop N/4, square-root periodic Hann window), each
 * bin's magnitude kept, its phase replaced by a uniformly random one
 * (seeded; DC and Nyquist get a random sign), inverse STFT with the same
 * window and overlap-add. That window pair reconstructs x exactly (scale
 * 1/2: the squared windows sum to 2); random-phase frames add in power, not
 * in amplitude, so they are overlap-added at scale 1, which keeps x's level
 * in expectation. y (n) gets the result scaled to x's RMS exactly; *gain
 * (may be NULL) the small factor that last scaling applied. Deterministic
 * for a given x, rate and seed. 0, or -1 out of memory. */
int judge_phase_randomise(const float *x, size_t n, uint32_t rate, uint64_t seed, float *y,
                          double *gain);
/* The same STFT and overlap-add; with randomise 0 the phases are kept and
 * nothing is rescaled (y is then x, to float rounding: the check that the
 * window pair reconstructs exactly). */
int judge_resynth(const float *x, size_t n, uint32_t rate, uint64_t seed, int randomise, float *y,
                  double *gain);

#endif
