/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_magfilter.c -- the magnitude dream's STFT filter: unity gains give the
 * dry window back, the gradient against finite differences, a gain on some
 * bins changes those partials and leaves the others, and nothing outside
 * the window's own content is made. */
#include "check.h"
#include "magfilter.h"
#include "onr.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) /* uniform in [-1, 1) */
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((double)(rng >> 40) / (double)(1ull << 23) - 1.0);
}

static void test_identity(uint32_t W, uint32_t F)
{
	onr_magfilter mf;
	CHECK(onr_magfilter_new(&mf, W, F) == ONR_OK, "magfilter W %u F %u", W, F);
	size_t ng = (size_t)mf.T * mf.nb;
	float *x0 = malloc(W * sizeof(float)), *x = malloc(W * sizeof(float));
	float *G = malloc(ng * sizeof(float));
	for (uint32_t i = 0; i < W; i++)
		x0[i] = 0.5f * frand();
	for (size_t k = 0; k < ng; k++)
		G[k] = 1.0f;
	onr_magfilter_analyse(&mf, x0);
	onr_magfilter_apply(&mf, G, x);
	double e = rel_l2(x, x0, W), worst = 0.0;
	for (uint32_t i = 0; i < W; i++)
		worst = fmax(worst, fabs(x[i] - x0[i]));
	CHECK(e < 1e-6 && worst < 1e-6, "W %u F %u: unity gains do not give the window back "
	      "(rel %.3g, worst %.3g)", W, F, e, worst);
	for (size_t k = 0; k < ng; k++)
		G[k] = 0.0f;
	onr_magfilter_apply(&mf, G, x);
	worst = 0.0;
	for (uint32_t i = 0; i < W; i++)
		worst = fmax(worst, fabs(x[i]));
	CHECK(worst == 0.0, "W %u F %u: zero gains leave %.3g", W, F, worst);
	onr_magfilter_free(&mf);
	free(x0), free(x), free(G);
}

/* J = sum r x(G) is linear in G: the analytic gradient must match central
 * differences at every sampled gain to float rounding */
static void test_gradient(uint32_t W, uint32_t F)
{
	onr_magfilter mf;
	CHECK(onr_magfilter_new(&mf, W, F) == ONR_OK, "magfilter W %u F %u", W, F);
	size_t ng = (size_t)mf.T * mf.nb;
	float *x0 = malloc(W * sizeof(float)), *x = malloc(W * sizeof(float));
	float *r = malloc(W * sizeof(float)), *G = malloc(ng * sizeof(float));
	float *dG = malloc(ng * sizeof(float));
	for (uint32_t i = 0; i < W; i++) {
		x0[i] = 0.5f * frand();
		r[i] = frand();
	}
	for (size_t k = 0; k < ng; k++)
		G[k] = 1.0f + 0.3f * frand();
	onr_magfilter_analyse(&mf, x0);
	onr_magfilter_grad(&mf, r, dG);
	double worst = 0.0, num = 0.0, den = 0.0;
	size_t step = ng > 200 ? ng / 200 : 1;
	for (size_t k = 0; k < ng; k += step) {
		float keep = G[k];
		double jp = 0.0, jm = 0.0;
		G[k] = keep + 0.25f;
		onr_magfilter_apply(&mf, G, x);
		for (uint32_t i = 0; i < W; i++)
			jp += (double)r[i] * x[i];
		G[k] = keep - 0.25f;
		onr_magfilter_apply(&mf, G, x);
		for (uint32_t i = 0; i < W; i++)
			jm += (double)r[i] * x[i];
		G[k] = keep;
		double fd = (jp - jm) / 0.5;
		double err = fabs(fd - dG[k]) / (fabs(fd) + fabs(dG[k]) + 1e-3);
		worst = fmax(worst, err);
		num += (fd - dG[k]) * (fd - dG[k]);
		den += fd * fd;
	}
	CHECK(worst < 1e-2 && sqrt(num / den) < 1e-3,
	      "W %u F %u: dJ/dG disagrees with finite differences (worst %.3g, rel L2 %.3g)", W, F,
	      worst, sqrt(num / den));
	onr_magfilter_free(&mf);
	free(x0), free(x), free(r), free(G), free(dG);
}

/* two partials; a gain of 2 on the bins around one of them: that partial
 * doubles, the other stays, and no new frequency appears */
static void test_partials(void)
{
	const uint32_t W = 4096, F = 256, rate = 16000;
	onr_magfilter mf;
	CHECK(onr_magfilter_new(&mf, W, F) == ONR_OK, "magfilter");
	size_t ng = (size_t)mf.T * mf.nb;
	float *x0 = malloc(W * sizeof(float)), *x = malloc(W * sizeof(float));
	float *G = malloc(ng * sizeof(float));
	double f1 = 500.0, f2 = 3000.0; /* bins 8 and 48 of 256 at 16 kHz */
	for (uint32_t i = 0; i < W; i++)
		x0[i] = (float)(0.3 * sin(2 * M_PI * f1 * i / rate) + 0.3 * sin(2 * M_PI * f2 * i / rate));
	for (uint32_t t = 0; t < mf.T; t++)
		for (uint32_t k = 0; k < mf.nb; k++) {
			double hz = onr_magfilter_bin_hz(&mf, k, rate);
			G[(size_t)t * mf.nb + k] = fabs(hz - f1) < 250.0 ? 2.0f : 1.0f;
		}
	onr_magfilter_analyse(&mf, x0);
	onr_magfilter_apply(&mf, G, x);
	/* the partials' amplitudes in the middle of the window by projection */
	double c1 = 0, s1 = 0, c2 = 0, s2 = 0, c3 = 0, s3 = 0;
	for (uint32_t i = 1024; i < 3072; i++) {
		double ph = 2 * M_PI * i / rate;
		c1 += x[i] * cos(ph * f1), s1 += x[i] * sin(ph * f1);
		c2 += x[i] * cos(ph * f2), s2 += x[i] * sin(ph * f2);
		c3 += x[i] * cos(ph * 1700.0), s3 += x[i] * sin(ph * 1700.0);
	}
	double a1 = 2 * hypot(c1, s1) / 2048, a2 = 2 * hypot(c2, s2) / 2048,
	       a3 = 2 * hypot(c3, s3) / 2048;
	CHECK(fabs(a1 - 0.6) < 0.01 && fabs(a2 - 0.3) < 0.01 && a3 < 0.003,
	      "gain 2 around 500 Hz: 500 Hz at %.4f (want 0.6), 3 kHz at %.4f (want 0.3), "
	      "1.7 kHz at %.4f (want 0)", a1, a2, a3);
	/* silence in, silence out, whatever the gains */
	memset(x0, 0, W * sizeof(float));
	onr_magfilter_analyse(&mf, x0);
	onr_magfilter_apply(&mf, G, x);
	double worst = 0.0;
	for (uint32_t i = 0; i < W; i++)
		worst = fmax(worst, fabs(x[i]));
	CHECK(worst == 0.0, "silence filtered gives %.3g", worst);
	onr_magfilter_free(&mf);
	free(x0), free(x), free(G);
}

int main(void)
{
	CHECK(onr_magfilter_new(&(onr_magfilter){0}, 100, 6) == ONR_EINVAL, "F 6 accepted");
	CHECK(onr_magfilter_new(&(onr_magfilter){0}, 100, 256) == ONR_EINVAL, "W < F accepted");
	test_identity(16384, 256);
	test_identity(1000, 256);  /* not a multiple of the hop */
	test_identity(256, 256);
	test_gradient(1000, 64);
	test_gradient(777, 128);
	test_partials();
	return check_done("test_magfilter");
}
