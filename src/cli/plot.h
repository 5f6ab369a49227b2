/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plot.h -- spectrograms of a render for `oneiro render --plot`: the dry
 * sound, the dreamed sound and their difference, side by side, on a
 * log-frequency axis from 30 Hz to Nyquist, in dBFS with one fixed colour
 * map; drawn with cairo (chart.h) as PNG, SVG or PDF. Computed with FFTW3f
 * while the render streams: the samples are never all held in memory. */
#ifndef ONEIRO_PLOT_H
#define ONEIRO_PLOT_H

#include <stddef.h>
#include <stdint.h>

typedef struct plot plot;

/* A plot of `total` samples at `rate` Hz (the render's length), STFT of
 * 2048 points at 48 kHz scaled with the rate (a power of two), hop 1/4. */
int plot_new(plot **out, uint32_t rate, uint64_t total, char *err, size_t errlen);
void plot_free(plot *p);

/* Nonzero when path ends in .png, .svg or .pdf (case-insensitive). */
int plot_path_ok(const char *path);

/* The next n mono samples of the dry and the dreamed signal (the delta is
 * computed here as out - dry). */
void plot_push(plot *p, const float *dry, const float *out, uint32_t n);

/* Finishes the last frames and writes the picture to path (.png, .svg or
 * .pdf), atomically (temporary file beside it, then rename). `title` goes
 * at the top. Returns 0, or -1 with a reason in err. */
int plot_write(plot *p, const char *path, const char *title, char *err, size_t errlen);

#endif
