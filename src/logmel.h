/* SPDX-License-Identifier: GPL-2.0-or-later */
/* logmel.h -- the magnitude front end: a log-mel (or log-power) spectrogram
 * layer with its exact gradient back to the waveform (internal header).
 *
 * Forward, for an input x (L) and frames t = 0 .. T-1, T = (L - N) / H + 1
 * ("valid" framing, no padding; N = n_fft, H = hop):
 *   X[t][k] = sum_n w[n] x[t H + n] e^{-2 pi i k n / N}   w: periodic Hann
 *   P[t][k] = |X[t][k]|^2                                  k = 0 .. N/2
 *   M[m][t] = sum_k F[m][k] P[t][k]                        F: HTK mel triangles
 *   y[m][t] = ln(M[m][t] + floor)
 * with n_mels = 0 meaning no filterbank: M = P (N/2 + 1 channels).
 * Backward (accumulates into dx):
 *   dP[t][k] = sum_m F[m][k] dy[m][t] / (M[m][t] + floor)
 *   dx[t H + n] += w[n] * 2 Re sum_k dP[t][k] X[t][k] e^{+2 pi i k n / N}
 * which is one inverse real FFT per frame (the DC and Nyquist terms doubled).
 *
 * A network with this front end sees only magnitudes per frame: shifting the
 * phase of any partial does not change what it hears, so a dream through it
 * must change magnitudes, which is what a listener hears.
 *
 * Plans are made by onr_logmel_init (FFTW's planner is not thread-safe; the
 * core serialises its own planning with onr_fftw_lock). Forward and backward
 * allocate nothing. One onr_logmel per workspace (not thread-safe itself).
 */
#ifndef ONR_LOGMEL_H
#define ONR_LOGMEL_H

#include "onr.h"

#include <fftw3.h>
#include <stdint.h>

typedef struct {
	uint32_t n_fft, hop, n_mels, nb; /* nb = n_fft / 2 + 1 bins */
	uint32_t ch;                      /* output channels: n_mels, or nb */
	float floor;
	float *win;          /* (n_fft) periodic Hann */
	float *fb;           /* (ch, nb) filterbank (identity rows when n_mels = 0) */
	uint32_t *lo, *hi;   /* (ch) bins [lo, hi) where fb's row is nonzero */
	float *frame;        /* (n_fft) FFTW-aligned work buffer */
	fftwf_complex *spec; /* (nb) FFTW-aligned work buffer */
	float *dp;           /* (nb) gradient of one frame's power */
	float *X;            /* (Tmax, nb, 2) spectra of the last forward */
	float *M;            /* (ch, Tmax) filterbank output of the last forward */
	uint32_t tmax, T;    /* frames at most / of the last forward */
	fftwf_plan r2c, c2r;
} onr_logmel;

/* Output channels and frames of the op for an input of L samples. */
uint32_t onr_logmel_channels(const onr_op *o);
uint32_t onr_logmel_frames(const onr_op *o, uint32_t L);
/* Checks a LOGMEL op's fields at sample rate `rate`; a reason in err. */
int onr_logmel_check(const onr_op *o, uint32_t rate, char *err, size_t errlen);

/* HTK-mel triangular filters (no area normalisation), as torchaudio's
 * melscale_fbanks(norm=None, mel_scale="htk"): fb (n_mels, n_fft/2+1). */
void onr_mel_filterbank(float *fb, uint32_t n_mels, uint32_t n_fft, uint32_t rate, float fmin,
                        float fmax);

int onr_logmel_init(onr_logmel *lm, const onr_op *o, uint32_t rate, uint32_t max_len);
void onr_logmel_free(onr_logmel *lm);

/* y (ch, T) from x (L); keeps X and M for the backward. */
void onr_logmel_fwd(onr_logmel *lm, float *y /* (ch,T) */, const float *x /* (L) */, uint32_t L);
/* dx (L) += d/dx of sum(dy * y), from the last forward's X and M. */
void onr_logmel_bwd_x(onr_logmel *lm, float *dx /* (L) */, const float *dy /* (ch,T) */,
                      uint32_t L);
/* Plain reference versions: direct DFT sums in double precision, no FFTW. */
void onr_logmel_fwd_ref(onr_logmel *lm, float *y /* (ch,T) */, const float *x /* (L) */,
                        uint32_t L);
void onr_logmel_bwd_x_ref(onr_logmel *lm, float *dx /* (L) */, const float *dy /* (ch,T) */,
                          uint32_t L);

/* Serialises FFTW planning across the core's threads. */
void onr_fftw_lock(void);
void onr_fftw_unlock(void);

#endif
