/* SPDX-License-Identifier: GPL-2.0-or-later */
/* magfilter.c -- the magnitude dream's STFT filter (see magfilter.h). New and
 * free on a non-real-time thread; analyse, apply and grad allocate nothing.
 *
 * Written here rather than taken from a library: the dream needs the exact
 * adjoint of this particular weighted overlap-add (with the window's own
 * edges), which no packaged STFT exposes; the FFTs themselves are FFTW's. */
#include "magfilter.h"
#include "logmel.h" /* onr_fftw_lock */
#include "onr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

void onr_magfilter_free(onr_magfilter *mf)
{
	if (!mf)
		return;
	onr_fftw_lock();
	if (mf->r2c)
		fftwf_destroy_plan(mf->r2c);
	if (mf->c2r)
		fftwf_destroy_plan(mf->c2r);
	onr_fftw_unlock();
	free(mf->win);
	free(mf->inv_norm);
	free(mf->X);
	fftwf_free(mf->frame);
	fftwf_free(mf->spec);
	memset(mf, 0, sizeof *mf);
}

/* first sample of frame t, possibly before the window */
static int64_t frame_start(const onr_magfilter *mf, uint32_t t)
{
	return (int64_t)t * mf->H - (int64_t)(mf->F - mf->H);
}

int onr_magfilter_new(onr_magfilter *mf, uint32_t W, uint32_t F)
{
	memset(mf, 0, sizeof *mf);
	if (F < 8 || (F & 3) || W < F)
		return ONR_EINVAL;
	mf->W = W;
	mf->F = F;
	mf->H = F / 4;
	/* frames until one starts at or after the window's end */
	mf->T = (W + F - mf->H + mf->H - 1) / mf->H;
	mf->nb = F / 2 + 1;
	mf->win = malloc(F * sizeof(float));
	mf->inv_norm = calloc(W, sizeof(float));
	mf->X = calloc((size_t)mf->T * mf->nb * 2, sizeof(float));
	mf->frame = fftwf_alloc_real(F);
	mf->spec = fftwf_alloc_complex(mf->nb);
	if (!mf->win || !mf->inv_norm || !mf->X || !mf->frame || !mf->spec) {
		onr_magfilter_free(mf);
		return ONR_ENOMEM;
	}
	for (uint32_t n = 0; n < F; n++)
		mf->win[n] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * n / F));
	/* sum of w^2 at each sample (1.5 everywhere for a periodic Hann at hop
	 * F/4; computed rather than assumed) */
	double *acc = calloc(W, sizeof(double));
	if (!acc) {
		onr_magfilter_free(mf);
		return ONR_ENOMEM;
	}
	for (uint32_t t = 0; t < mf->T; t++) {
		int64_t s = frame_start(mf, t);
		for (uint32_t n = 0; n < F; n++) {
			int64_t i = s + n;
			if (i >= 0 && i < (int64_t)W)
				acc[i] += (double)mf->win[n] * mf->win[n];
		}
	}
	for (uint32_t i = 0; i < W; i++)
		mf->inv_norm[i] = acc[i] > 1e-9 ? (float)(1.0 / acc[i]) : 0.0f;
	free(acc);
	onr_fftw_lock();
	mf->r2c = fftwf_plan_dft_r2c_1d((int)F, mf->frame, mf->spec, FFTW_ESTIMATE);
	mf->c2r = fftwf_plan_dft_c2r_1d((int)F, mf->spec, mf->frame, FFTW_ESTIMATE);
	onr_fftw_unlock();
	if (!mf->r2c || !mf->c2r) {
		onr_magfilter_free(mf);
		return ONR_ENOMEM;
	}
	return ONR_OK;
}

/* frame t of v (W) times the window (times scale[] when given) into mf->frame */
static void load_frame(onr_magfilter *mf, const float *v, const float *scale, uint32_t t)
{
	int64_t s = frame_start(mf, t);
	for (uint32_t n = 0; n < mf->F; n++) {
		int64_t i = s + n;
		float x = 0.0f;
		if (i >= 0 && i < (int64_t)mf->W)
			x = scale ? v[i] * scale[i] : v[i];
		mf->frame[n] = mf->win[n] * x;
	}
}

void onr_magfilter_analyse(onr_magfilter *mf, const float *x0)
{
	for (uint32_t t = 0; t < mf->T; t++) {
		load_frame(mf, x0, NULL, t);
		fftwf_execute(mf->r2c);
		memcpy(mf->X + (size_t)t * mf->nb * 2, mf->spec, mf->nb * 2 * sizeof(float));
	}
}

void onr_magfilter_apply(onr_magfilter *mf, const float *G, float *x)
{
	uint32_t F = mf->F, nb = mf->nb;
	float inv_f = 1.0f / (float)F;
	memset(x, 0, mf->W * sizeof(float));
	for (uint32_t t = 0; t < mf->T; t++) {
		const float *Xt = mf->X + (size_t)t * nb * 2;
		const float *Gt = G + (size_t)t * nb;
		float *z = (float *)mf->spec;
		for (uint32_t k = 0; k < nb; k++) {
			z[2 * k] = Gt[k] * Xt[2 * k];
			z[2 * k + 1] = Gt[k] * Xt[2 * k + 1];
		}
		fftwf_execute(mf->c2r);
		int64_t s = frame_start(mf, t);
		for (uint32_t n = 0; n < F; n++) {
			int64_t i = s + n;
			if (i >= 0 && i < (int64_t)mf->W)
				x[i] += mf->win[n] * mf->frame[n] * inv_f;
		}
	}
	for (uint32_t i = 0; i < mf->W; i++)
		x[i] *= mf->inv_norm[i];
}

void onr_magfilter_grad(onr_magfilter *mf, const float *gx, float *dG)
{
	uint32_t F = mf->F, nb = mf->nb;
	float inv_f = 1.0f / (float)F;
	for (uint32_t t = 0; t < mf->T; t++) {
		load_frame(mf, gx, mf->inv_norm, t);
		fftwf_execute(mf->r2c);
		const float *Xt = mf->X + (size_t)t * nb * 2;
		const float *U = (const float *)mf->spec;
		float *d = dG + (size_t)t * nb;
		for (uint32_t k = 0; k < nb; k++) {
			float c = (k == 0 || 2 * k == F) ? inv_f : 2.0f * inv_f;
			d[k] = c * (Xt[2 * k] * U[2 * k] + Xt[2 * k + 1] * U[2 * k + 1]);
		}
	}
}
