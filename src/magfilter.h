/* SPDX-License-Identifier: GPL-2.0-or-later */
/* magfilter.h -- the magnitude dream's parametrisation: a time-varying
 * filter on a window of dry sound, one real gain per STFT bin and frame
 * (internal header).
 *
 * For a window x0 (W samples), frames t start at s_t = t H - (F - H) (so every
 * sample is covered by F / H frames; outside the window counts as silence),
 * Hann window w (periodic), X_t = FFT(w x0[s_t ..]) and, for gains G[t][k],
 *   x(G)[n] = sum_t w[n - s_t] IFFT(G_t X_t)[n - s_t] / sum_t w[n - s_t]^2
 * With every G = 1, x(G) = x0 (weighted overlap-add of a Hann^2 pair is exact
 * at hop F/4). The dream's delta x(G) - x0 is then the dry sound's own
 * content per bin scaled by G - 1: partials emphasised or pushed back,
 * nothing phase-exact added. The map is linear in G, so the gradient of an
 * objective J(x(G)) is exact:
 *   dJ/dG[t][k] = (c_k / F) Re(X_t[k] conj(U_t[k])),
 *   U_t = FFT(w gx[s_t ..] / norm),  c_k = 1 at DC and Nyquist, else 2,
 * with gx = dJ/dx. Everything is allocated by onr_magfilter_new; apply and
 * gradient allocate nothing.
 */
#ifndef ONR_MAGFILTER_H
#define ONR_MAGFILTER_H

#include <fftw3.h>
#include <stdint.h>

typedef struct {
	uint32_t W, F, H, T, nb; /* window, frame, hop, frames, bins F/2+1 */
	float *win;              /* (F) periodic Hann */
	float *inv_norm;         /* (W) 1 / sum of w^2 over the frames covering n */
	float *X;                /* (T, nb, 2) spectra of x0's frames */
	float *frame;            /* (F) FFTW-aligned */
	fftwf_complex *spec;     /* (nb) FFTW-aligned */
	fftwf_plan r2c, c2r;
} onr_magfilter;

/* F even, H = F / 4, W >= F. Returns ONR_OK or a negative ONR_E*. */
int onr_magfilter_new(onr_magfilter *mf, uint32_t W, uint32_t F);
void onr_magfilter_free(onr_magfilter *mf);

/* Analyses the dry window x0 (W): its frames' spectra, kept for apply/grad. */
void onr_magfilter_analyse(onr_magfilter *mf, const float *x0 /* (W) */);
/* x (W) = x(G) for gains G (T, nb), from the last analysed x0. */
void onr_magfilter_apply(onr_magfilter *mf, const float *G /* (T,nb) */, float *x /* (W) */);
/* dG (T, nb) = dJ/dG, given gx = dJ/dx (W) at x(G). Overwrites dG. */
void onr_magfilter_grad(onr_magfilter *mf, const float *gx /* (W) */, float *dG /* (T,nb) */);
/* Centre frequency in Hz of bin k at sample rate `rate`. */
static inline double onr_magfilter_bin_hz(const onr_magfilter *mf, uint32_t k, uint32_t rate)
{
	return (double)k * rate / mf->F;
}

#endif
