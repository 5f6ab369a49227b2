/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_robust.c -- adversarial ("robust") training on a small problem: it
 * raises the accuracy under the attack it trains against, keeps clean
 * accuracy, and is deterministic for a seed and thread count. */
#include "check.h"
#include "onr.h"
#include "train.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define W 256
#define NTRAIN 256
#define NTEST 128
#define DB (-3.0f)

static uint64_t rng;
static double urand(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* class 0: a low tone (250-450 Hz), class 1: a high one (900-1400 Hz), at
 * 8 kHz, random phase and level, a little noise */
static void example(float *x, uint32_t label)
{
	double f = label ? 900.0 + 500.0 * urand() : 250.0 + 200.0 * urand();
	double ph = 2.0 * M_PI * urand(), a = 0.1 + 0.4 * urand();
	for (uint32_t i = 0; i < W; i++)
		x[i] = (float)(a * sin(2.0 * M_PI * f * i / 8000.0 + ph) + 0.01 * a * (urand() - 0.5));
}

static float accuracy(onr_trainer *t, onr_model *m, float **x, const uint32_t *y, uint32_t n,
                      int robust)
{
	float *p = malloc((size_t)n * m->n_classes * sizeof(float));
	int st = robust ? onr_trainer_eval_robust(t, (const float *const *)x, y, n, DB, p)
	                : onr_trainer_eval(t, (const float *const *)x, n, p);
	CHECK(st == ONR_OK, "eval: %s", onr_strerror(st));
	uint32_t right = 0;
	for (uint32_t i = 0; i < n; i++)
		right += (p[2 * i + 1] > p[2 * i]) == (y[i] == 1);
	free(p);
	return (float)right / (float)n;
}

/* trains a fresh model (seed 5) for 300 steps; robust_db 0 = plain. Returns
 * the model; clean and robust test accuracy (under the same attack) out. */
static onr_model *train(float robust_db, uint32_t threads, float **xtr, const uint32_t *ytr,
                        float **xte, const uint32_t *yte, float *clean, float *robust)
{
	onr_op ops[] = {
		{ONR_OP_CONV, 1, 6, 16, 4, 0, 0}, {ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.01f},
		{ONR_OP_CONV, 6, 6, 3, 1, 1, 0},  {ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.01f},
		{ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0}, {ONR_OP_DENSE, 6, 2, 0, 0, 0, 0},
	};
	onr_model *m;
	char err[200];
	if (onr_model_new(&m, ops, 6, 8000, W, ONR_KIND_CLASSES, NULL, 2, err, sizeof err)) {
		CHECK(0, "model: %s", err);
		return NULL;
	}
	m->norm = ONR_NORM_RMS;
	m->norm_value = 0.1f;
	onr_model_init_params(m, 5);
	onr_train_config cfg = {0};
	cfg.threads = threads;
	cfg.window = W;
	cfg.robust_db = robust_db;
	onr_trainer *t;
	if (onr_trainer_new(&t, m, &cfg, err, sizeof err)) {
		CHECK(0, "trainer: %s", err);
		onr_model_free(m);
		return NULL;
	}
	const float *bx[16];
	uint32_t by[16];
	for (uint32_t step = 0; step < 300; step++) {
		for (uint32_t b = 0; b < 16; b++) {
			uint32_t i = (step * 16 + b * 37) % NTRAIN;
			bx[b] = xtr[i];
			by[b] = ytr[i];
		}
		float loss;
		CHECK(onr_trainer_step(t, bx, by, NULL, 16, 3e-3f, &loss, NULL) == ONR_OK, "step");
	}
	*clean = accuracy(t, m, xte, yte, NTEST, 0);
	*robust = accuracy(t, m, xte, yte, NTEST, 1);
	onr_trainer_free(t);
	return m;
}

int main(void)
{
	float *xtr[NTRAIN], *xte[NTEST];
	uint32_t ytr[NTRAIN], yte[NTEST];
	rng = 42;
	for (uint32_t i = 0; i < NTRAIN; i++) {
		xtr[i] = malloc(W * sizeof(float));
		ytr[i] = i & 1;
		example(xtr[i], ytr[i]);
	}
	for (uint32_t i = 0; i < NTEST; i++) {
		xte[i] = malloc(W * sizeof(float));
		yte[i] = i & 1;
		example(xte[i], yte[i]);
	}
	float c0, r0, c1, r1, c2, r2;
	onr_model *plain = train(0.0f, 1, xtr, ytr, xte, yte, &c0, &r0);
	onr_model *robust = train(DB, 1, xtr, ytr, xte, yte, &c1, &r1);
	onr_model *robust2 = train(DB, 1, xtr, ytr, xte, yte, &c2, &r2);
	printf("test_robust: plain clean %.1f %% robust %.1f %%; robust-trained clean %.1f %% "
	       "robust %.1f %%\n", 100 * c0, 100 * r0, 100 * c1, 100 * r1);
	CHECK(c0 >= 0.9f, "the plain model did not learn the problem (%.2f)", c0);
	CHECK(r0 < c0 - 0.1f, "the attack does not hurt the plain model (%.2f -> %.2f): it tests "
	      "nothing", c0, r0);
	CHECK(r1 >= r0 + 0.15f, "robust training did not raise robust accuracy (%.2f vs %.2f)", r1,
	      r0);
	CHECK(c1 >= 0.85f, "robust training lost clean accuracy (%.2f)", c1);
	CHECK(plain && robust && robust2 &&
	          !memcmp(robust->params, robust2->params, robust->n_params * sizeof(float)),
	      "robust training is not deterministic for a seed");
	CHECK(plain && robust && memcmp(plain->params, robust->params, plain->n_params * 4),
	      "robust training changed nothing");
	/* hostile settings are refused */
	onr_train_config cfg = {0};
	cfg.window = W;
	cfg.robust_db = 6.0f;
	onr_trainer *t = NULL;
	char err[200] = "";
	CHECK(plain && onr_trainer_new(&t, plain, &cfg, err, sizeof err) == ONR_EINVAL && err[0],
	      "robust_db +6 accepted");
	cfg.robust_db = NAN;
	CHECK(plain && onr_trainer_new(&t, plain, &cfg, err, sizeof err) == ONR_EINVAL,
	      "robust_db NaN accepted");
	onr_model_free(plain);
	onr_model_free(robust);
	onr_model_free(robust2);
	for (uint32_t i = 0; i < NTRAIN; i++)
		free(xtr[i]);
	for (uint32_t i = 0; i < NTEST; i++)
		free(xte[i]);
	return check_done("test_robust");
}
