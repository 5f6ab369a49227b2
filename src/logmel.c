/* SPDX-License-Identifier: GPL-2.0-or-later */
/* logmel.c -- the log-mel spectrogram front end (see logmel.h). Init and free
 * on any non-real-time thread; forward and backward allocate nothing. */
#include "logmel.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define MAX_FFT 8192u
#define MAX_MELS 512u

static pthread_mutex_t fftw_mutex = PTHREAD_MUTEX_INITIALIZER;

void onr_fftw_lock(void)
{
	pthread_mutex_lock(&fftw_mutex);
}

void onr_fftw_unlock(void)
{
	pthread_mutex_unlock(&fftw_mutex);
}

uint32_t onr_logmel_channels(const onr_op *o)
{
	return o->c ? o->c : o->a / 2 + 1;
}

uint32_t onr_logmel_frames(const onr_op *o, uint32_t L)
{
	return L >= o->a ? (L - o->a) / o->b + 1 : 0;
}

int onr_logmel_check(const onr_op *o, uint32_t rate, char *err, size_t errlen)
{
	if (o->a < 16 || o->a > MAX_FFT || (o->a & 1))
		return onr_fail(err, errlen, ONR_EINVAL, "log-mel: FFT size %u (an even number, 16 to %u)",
		                o->a, MAX_FFT);
	if (o->b < 1 || o->b > o->a)
		return onr_fail(err, errlen, ONR_EINVAL, "log-mel: hop %u (1 to the FFT size, %u)", o->b,
		                o->a);
	if (o->c > MAX_MELS || o->c > o->a / 2 + 1)
		return onr_fail(err, errlen, ONR_EINVAL,
		                "log-mel: %u mel bands (0 to %u, and at most the %u bins)", o->c,
		                MAX_MELS, o->a / 2 + 1);
	uint32_t fmax = o->e ? o->e : rate / 2;
	if (o->c && (fmax > rate / 2 || o->d >= fmax))
		return onr_fail(err, errlen, ONR_EINVAL,
		                "log-mel: band %u..%u Hz (needs fmin < fmax <= %u Hz, half the rate)",
		                o->d, fmax, rate / 2);
	if (!o->c && (o->d || o->e))
		return onr_fail(err, errlen, ONR_EINVAL, "log-mel: a band limit without mel bands");
	if (!(o->f >= 1e-12f && o->f <= 1e3f))
		return onr_fail(err, errlen, ONR_EINVAL, "log-mel: floor %g (1e-12 to 1000)",
		                (double)o->f);
	return ONR_OK;
}

static double hz_to_mel(double f)
{
	return 2595.0 * log10(1.0 + f / 700.0);
}

static double mel_to_hz(double m)
{
	return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
}

void onr_mel_filterbank(float *fb, uint32_t n_mels, uint32_t n_fft, uint32_t rate, float fmin,
                        float fmax)
{
	uint32_t nb = n_fft / 2 + 1;
	double m0 = hz_to_mel(fmin), m1 = hz_to_mel(fmax);
	for (uint32_t m = 0; m < n_mels; m++) {
		/* the triangle's corners: points m, m+1, m+2 of n_mels+2 equally
		 * spaced on the mel scale */
		double f0 = mel_to_hz(m0 + (m1 - m0) * m / (n_mels + 1));
		double f1 = mel_to_hz(m0 + (m1 - m0) * (m + 1) / (n_mels + 1));
		double f2 = mel_to_hz(m0 + (m1 - m0) * (m + 2) / (n_mels + 1));
		for (uint32_t k = 0; k < nb; k++) {
			double f = (double)k * rate / n_fft;
			double up = (f - f0) / (f1 - f0), down = (f2 - f) / (f2 - f1);
			double w = up < down ? up : down;
			fb[(size_t)m * nb + k] = w > 0.0 ? (float)w : 0.0f;
		}
	}
}

void onr_logmel_free(onr_logmel *lm)
{
	if (!lm)
		return;
	if (lm->r2c || lm->c2r) { /* a workspace without a front end has none */
		onr_fftw_lock();
		if (lm->r2c)
			fftwf_destroy_plan(lm->r2c);
		if (lm->c2r)
			fftwf_destroy_plan(lm->c2r);
		onr_fftw_unlock();
	}
	fftwf_free(lm->frame);
	fftwf_free(lm->spec);
	free(lm->win);
	free(lm->fb);
	free(lm->lo);
	free(lm->hi);
	free(lm->dp);
	free(lm->X);
	free(lm->M);
	memset(lm, 0, sizeof *lm);
}

int onr_logmel_init(onr_logmel *lm, const onr_op *o, uint32_t rate, uint32_t max_len)
{
	memset(lm, 0, sizeof *lm);
	if (onr_logmel_check(o, rate, NULL, 0))
		return ONR_EINVAL;
	lm->n_fft = o->a;
	lm->hop = o->b;
	lm->n_mels = o->c;
	lm->nb = o->a / 2 + 1;
	lm->ch = onr_logmel_channels(o);
	lm->floor = o->f;
	lm->tmax = onr_logmel_frames(o, max_len);
	size_t tm = lm->tmax ? lm->tmax : 1;
	lm->win = malloc(lm->n_fft * sizeof(float));
	lm->fb = calloc((size_t)lm->ch * lm->nb, sizeof(float));
	lm->lo = calloc(lm->ch, sizeof(uint32_t));
	lm->hi = calloc(lm->ch, sizeof(uint32_t));
	lm->dp = calloc(lm->nb, sizeof(float));
	lm->X = calloc(tm * lm->nb * 2, sizeof(float));
	lm->M = calloc((size_t)lm->ch * tm, sizeof(float));
	lm->frame = fftwf_alloc_real(lm->n_fft);
	lm->spec = fftwf_alloc_complex(lm->nb);
	if (!lm->win || !lm->fb || !lm->lo || !lm->hi || !lm->dp || !lm->X || !lm->M ||
	    !lm->frame || !lm->spec) {
		onr_logmel_free(lm);
		return ONR_ENOMEM;
	}
	/* periodic Hann, as torch.hann_window(N) */
	for (uint32_t n = 0; n < lm->n_fft; n++)
		lm->win[n] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * n / lm->n_fft));
	if (lm->n_mels) {
		float fmax = (float)(o->e ? o->e : rate / 2);
		onr_mel_filterbank(lm->fb, lm->n_mels, lm->n_fft, rate, (float)o->d, fmax);
	} else {
		for (uint32_t k = 0; k < lm->nb; k++)
			lm->fb[(size_t)k * lm->nb + k] = 1.0f;
	}
	for (uint32_t m = 0; m < lm->ch; m++) {
		const float *row = lm->fb + (size_t)m * lm->nb;
		uint32_t lo = 0, hi = 0;
		for (uint32_t k = 0; k < lm->nb; k++)
			if (row[k] != 0.0f) {
				if (hi == 0)
					lo = k;
				hi = k + 1;
			}
		lm->lo[m] = lo;
		lm->hi[m] = hi;
	}
	onr_fftw_lock();
	lm->r2c = fftwf_plan_dft_r2c_1d((int)lm->n_fft, lm->frame, lm->spec, FFTW_ESTIMATE);
	lm->c2r = fftwf_plan_dft_c2r_1d((int)lm->n_fft, lm->spec, lm->frame, FFTW_ESTIMATE);
	onr_fftw_unlock();
	if (!lm->r2c || !lm->c2r) {
		onr_logmel_free(lm);
		return ONR_ENOMEM;
	}
	return ONR_OK;
}

/* M[., t] from the power of frame t (X already stored), and y = ln(M + floor) */
static void mel_frame(onr_logmel *lm, float *y, uint32_t t, uint32_t T)
{
	const float *Xt = lm->X + (size_t)t * lm->nb * 2;
	float *pw = lm->dp; /* the frame's power, borrowed */
	for (uint32_t k = 0; k < lm->nb; k++)
		pw[k] = Xt[2 * k] * Xt[2 * k] + Xt[2 * k + 1] * Xt[2 * k + 1];
	for (uint32_t m = 0; m < lm->ch; m++) {
		const float *row = lm->fb + (size_t)m * lm->nb;
		float s = 0.0f;
		for (uint32_t k = lm->lo[m]; k < lm->hi[m]; k++)
			s += row[k] * pw[k];
		lm->M[(size_t)m * lm->tmax + t] = s;
		y[(size_t)m * T + t] = logf(s + lm->floor);
	}
}

void onr_logmel_fwd(onr_logmel *lm, float *y, const float *x, uint32_t L)
{
	uint32_t T = L >= lm->n_fft ? (L - lm->n_fft) / lm->hop + 1 : 0;
	if (T > lm->tmax)
		T = lm->tmax;
	lm->T = T;
	for (uint32_t t = 0; t < T; t++) {
		const float *xt = x + (size_t)t * lm->hop;
		for (uint32_t n = 0; n < lm->n_fft; n++)
			lm->frame[n] = lm->win[n] * xt[n];
		fftwf_execute(lm->r2c);
		float *Xt = lm->X + (size_t)t * lm->nb * 2;
		memcpy(Xt, lm->spec, lm->nb * 2 * sizeof(float));
		mel_frame(lm, y, t, T);
	}
}

/* dP of frame t into lm->dp from dy (ch, T) */
static void dpower(onr_logmel *lm, const float *dy, uint32_t t, uint32_t T)
{
	memset(lm->dp, 0, lm->nb * sizeof(float));
	for (uint32_t m = 0; m < lm->ch; m++) {
		float g = dy[(size_t)m * T + t] / (lm->M[(size_t)m * lm->tmax + t] + lm->floor);
		if (g == 0.0f)
			continue;
		const float *row = lm->fb + (size_t)m * lm->nb;
		for (uint32_t k = lm->lo[m]; k < lm->hi[m]; k++)
			lm->dp[k] += g * row[k];
	}
}

void onr_logmel_bwd_x(onr_logmel *lm, float *dx, const float *dy, uint32_t L)
{
	uint32_t T = lm->T;
	(void)L;
	uint32_t N = lm->n_fft, nb = lm->nb;
	for (uint32_t t = 0; t < T; t++) {
		dpower(lm, dy, t, T);
		const float *Xt = lm->X + (size_t)t * nb * 2;
		float *z = (float *)lm->spec;
		for (uint32_t k = 0; k < nb; k++) {
			/* d|X|^2 = 2 Re(conj(X) dX): the k-th term of the inverse real
			 * DFT, whose c2r counts bins 1..N/2-1 twice and DC and Nyquist once */
			float g = (k == 0 || 2 * k == N) ? 2.0f * lm->dp[k] : lm->dp[k];
			z[2 * k] = g * Xt[2 * k];
			z[2 * k + 1] = g * Xt[2 * k + 1];
		}
		fftwf_execute(lm->c2r);
		float *dxt = dx + (size_t)t * lm->hop;
		for (uint32_t n = 0; n < N; n++)
			dxt[n] += lm->win[n] * lm->frame[n];
	}
}

void onr_logmel_fwd_ref(onr_logmel *lm, float *y, const float *x, uint32_t L)
{
	uint32_t T = L >= lm->n_fft ? (L - lm->n_fft) / lm->hop + 1 : 0;
	if (T > lm->tmax)
		T = lm->tmax;
	lm->T = T;
	uint32_t N = lm->n_fft;
	for (uint32_t t = 0; t < T; t++) {
		const float *xt = x + (size_t)t * lm->hop;
		float *Xt = lm->X + (size_t)t * lm->nb * 2;
		for (uint32_t k = 0; k < lm->nb; k++) {
			double re = 0.0, im = 0.0;
			for (uint32_t n = 0; n < N; n++) {
				double ph = 2.0 * M_PI * (double)((uint64_t)k * n % N) / N;
				double v = (double)lm->win[n] * xt[n];
				re += v * cos(ph);
				im -= v * sin(ph);
			}
			Xt[2 * k] = (float)re;
			Xt[2 * k + 1] = (float)im;
		}
		mel_frame(lm, y, t, T);
	}
}

void onr_logmel_bwd_x_ref(onr_logmel *lm, float *dx, const float *dy, uint32_t L)
{
	uint32_t T = lm->T, N = lm->n_fft;
	(void)L;
	for (uint32_t t = 0; t < T; t++) {
		dpower(lm, dy, t, T);
		const float *Xt = lm->X + (size_t)t * lm->nb * 2;
		float *dxt = dx + (size_t)t * lm->hop;
		for (uint32_t n = 0; n < N; n++) {
			double s = 0.0;
			for (uint32_t k = 0; k < lm->nb; k++) {
				double ph = 2.0 * M_PI * (double)((uint64_t)k * n % N) / N;
				s += lm->dp[k] * (Xt[2 * k] * cos(ph) - Xt[2 * k + 1] * sin(ph));
			}
			dxt[n] += (float)(lm->win[n] * 2.0 * s);
		}
	}
}
