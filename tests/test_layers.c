/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_layers.c -- every backward kernel against finite differences, the
 * optimised conv against the reference one for many shapes under every
 * kernel set this CPU runs, and the whole network's dream gradient against
 * finite differences. */
#include "check.h"
#include "layers.h"
#include "logmel.h"
#include "onr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static uint64_t rng = 0x1234567ull;

static float frand(void) /* uniform in [-1, 1) */
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((double)(rng >> 40) / (double)(1ull << 23) - 1.0);
}

static float *rand_vec(size_t n)
{
	float *v = malloc((n ? n : 1) * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = frand();
	return v;
}

/* Values kept away from zero (the kinks of ReLU) and pairwise apart (so a
 * max-pool's argmax cannot change under a small nudge). */
static float *spread_vec(size_t n)
{
	float *v = malloc((n ? n : 1) * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = 0.05f * ((float)i - (float)n / 2.0f) + 0.025f; /* 0.05 apart, none at 0 */
	for (size_t i = n; i > 1; i--) { /* shuffle */
		size_t j = (size_t)((frand() + 1.0f) * 0.5f * (float)i) % i;
		float t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
	return v;
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* ---------------------------------------------------------------- conv */
static const onr_conv_dims *conv_d;
static const float *conv_r;
static float *conv_y;

/* loss = sum r * conv(x; w, b) */
static double conv_loss(const float *x, const float *w, const float *b)
{
	onr_conv_fwd_ref(conv_y, x, w, b, conv_d);
	return dot(conv_y, conv_r, (size_t)conv_d->D * conv_d->T);
}

/* Checks the analytic gradient g of `loss` w.r.t. the array v (n) by
 * central differences of step h, at every element (or a sample of 64 when
 * larger): the worst element's relative error must be below tol_worst and
 * the relative L2 distance of the whole vector below tol_l2. */
static void fd_check_h(const char *what, float *v, size_t n, const float *g,
                       double (*loss)(void), float h, double tol_worst, double tol_l2)
{
	double worst = 0.0, num = 0.0, den = 0.0;
	size_t step = n > 64 ? n / 64 : 1;
	for (size_t i = 0; i < n; i += step) {
		float keep = v[i];
		v[i] = keep + h;
		double lp = loss();
		v[i] = keep - h;
		double lm = loss();
		v[i] = keep;
		double fd = (lp - lm) / (2.0 * h);
		double err = fabs(fd - g[i]) / (fabs(fd) + fabs(g[i]) + 1e-2);
		if (err > worst)
			worst = err;
		num += (fd - g[i]) * (fd - g[i]);
		den += fd * fd;
	}
	double l2 = sqrt(num / (den + 1e-300));
	CHECK(worst < tol_worst && l2 < tol_l2,
	      "%s: finite differences disagree: worst relative error %.3g, relative L2 %.3g", what,
	      worst, l2);
}

static void fd_check(const char *what, float *v, size_t n, const float *g,
                     double (*loss)(void), double tol)
{
	fd_check_h(what, v, n, g, loss, 1e-2f, tol, tol);
}

/* The whole network in float32: a difference quotient of one input sample
 * carries float noise of about 1e-7 |J| / h and, now and then, a unit that
 * the nudge carries across a ReLU or max-pool kink. So the network's
 * gradient is judged as a vector, every sample checked: cosine similarity
 * and relative L2 against the quotients. A wrong gradient (a missing term, a
 * wrong slope, a misrouted pool) falls far below these bounds. */
static void net_fd_check(const char *what, float *v, size_t n, const float *g,
                         double (*loss)(void))
{
	float *fd = malloc(n * sizeof *fd);
	const float h = 1e-3f;
	for (size_t i = 0; i < n; i++) {
		float keep = v[i];
		v[i] = keep + h;
		double lp = loss();
		v[i] = keep - h;
		double lm = loss();
		v[i] = keep;
		fd[i] = (float)((lp - lm) / (2.0 * h));
	}
	double c = cosine(g, fd, n), l2 = rel_l2(g, fd, n);
	CHECK(c > 0.995 && l2 < 0.1, "%s: finite differences disagree: cosine %.5f, relative L2 %.3g",
	      what, c, l2);
	free(fd);
}

static float *fd_x, *fd_w, *fd_b;
static double conv_loss_now(void)
{
	return conv_loss(fd_x, fd_w, fd_b);
}

static void test_conv_fd(uint32_t C, uint32_t D, uint32_t K, uint32_t S, uint32_t P, uint32_t L)
{
	onr_conv_dims d = {C, D, K, S, P, L, onr_conv_out_len(L, K, S, P)};
	size_t nx = (size_t)C * L, nw = (size_t)D * C * K, ny = (size_t)D * d.T;
	float *x = rand_vec(nx), *w = rand_vec(nw), *b = rand_vec(D), *r = rand_vec(ny);
	float *y = calloc(ny, sizeof *y), *dx = calloc(nx, sizeof *dx);
	float *dw = calloc(nw, sizeof *dw), *db = calloc(D, sizeof *db);
	conv_d = &d;
	conv_y = y;
	conv_r = r;
	fd_x = x;
	fd_w = w;
	fd_b = b;
	onr_conv_bwd_x_ref(dx, r, w, &d);
	onr_conv_bwd_w_ref(dw, db, r, x, &d);
	char what[128];
	snprintf(what, sizeof what, "conv C%u D%u K%u S%u P%u L%u", C, D, K, S, P, L);
	fd_check(what, x, nx, dx, conv_loss_now, 2e-3);
	fd_check(what, w, nw, dw, conv_loss_now, 2e-3);
	fd_check(what, b, D, db, conv_loss_now, 2e-3);
	free(x), free(w), free(b), free(r), free(y), free(dx), free(dw), free(db);
}

/* ---------------------------------------------------------------- elementwise, pool, mean, dense */
static int act_kind; /* 0 relu, 1 lrelu, 2 maxpool, 3 gmean, 4 dense */
static uint32_t act_C, act_L, act_T, act_K, act_S;
static float *act_x, *act_y, *act_r, *act_w, *act_b;
static int32_t *act_idx;

static double act_loss_now(void)
{
	size_t ny;
	switch (act_kind) {
	case 0:
		onr_relu_fwd(act_y, act_x, (size_t)act_C * act_L);
		ny = (size_t)act_C * act_L;
		break;
	case 1:
		onr_lrelu_fwd(act_y, act_x, (size_t)act_C * act_L, 0.1f);
		ny = (size_t)act_C * act_L;
		break;
	case 2:
		onr_maxpool_fwd(act_y, act_idx, act_x, act_C, act_L, act_T, act_K, act_S);
		ny = (size_t)act_C * act_T;
		break;
	case 3:
		onr_gmean_fwd(act_y, act_x, act_C, act_L);
		ny = act_C;
		break;
	default:
		onr_dense_fwd(act_y, act_x, act_w, act_b, act_C, act_T);
		ny = act_T;
		break;
	}
	return dot(act_y, act_r, ny);
}

static void test_elementwise_fd(void)
{
	act_C = 3;
	act_L = 40;
	size_t n = (size_t)act_C * act_L;
	act_x = spread_vec(n);
	act_y = calloc(n, sizeof(float));
	act_r = rand_vec(n);
	float *dx = calloc(n, sizeof(float));
	act_kind = 0;
	act_loss_now();
	onr_relu_bwd(dx, act_r, act_y, n);
	fd_check("relu", act_x, n, dx, act_loss_now, 1e-3);
	memset(dx, 0, n * sizeof(float));
	act_kind = 1;
	act_loss_now();
	onr_lrelu_bwd(dx, act_r, act_y, n, 0.1f);
	fd_check("leaky relu", act_x, n, dx, act_loss_now, 1e-3);
	/* overlapping and non-overlapping pools, and one with a ragged end */
	static const uint32_t pools[][2] = {{4, 4}, {3, 2}, {4, 2}, {2, 1}, {5, 3}};
	for (size_t p = 0; p < sizeof pools / sizeof pools[0]; p++) {
		act_K = pools[p][0];
		act_S = pools[p][1];
		act_T = onr_pool_out_len(act_L, act_K, act_S);
		act_idx = calloc((size_t)act_C * act_T, sizeof(int32_t));
		act_kind = 2;
		memset(dx, 0, n * sizeof(float));
		act_loss_now();
		onr_maxpool_bwd(dx, act_r, act_idx, act_C, act_L, act_T);
		char what[64];
		snprintf(what, sizeof what, "maxpool k%u s%u", act_K, act_S);
		fd_check(what, act_x, n, dx, act_loss_now, 1e-3);
		free(act_idx);
	}
	act_kind = 3;
	memset(dx, 0, n * sizeof(float));
	act_loss_now();
	onr_gmean_bwd(dx, act_r, act_C, act_L);
	fd_check("global mean", act_x, n, dx, act_loss_now, 1e-3);
	/* dense I = C*L... use I = 12, O = 5 */
	act_kind = 4;
	act_C = 12;
	act_T = 5;
	act_w = rand_vec(60);
	act_b = rand_vec(5);
	float *dw = calloc(60, sizeof(float)), *db = calloc(5, sizeof(float));
	memset(dx, 0, n * sizeof(float));
	onr_dense_bwd_x(dx, act_r, act_w, 12, 5);
	onr_dense_bwd_w(dw, db, act_r, act_x, 12, 5);
	fd_check("dense input", act_x, 12, dx, act_loss_now, 1e-3);
	fd_check("dense weight", act_w, 60, dw, act_loss_now, 1e-3);
	fd_check("dense bias", act_b, 5, db, act_loss_now, 1e-3);
	free(act_x), free(act_y), free(act_r), free(dx), free(act_w), free(act_b), free(dw), free(db);
}

/* softmax cross-entropy: the gradient w.r.t. the logits */
static float sm_z[6];
static double sm_loss_now(void)
{
	float p[6];
	return onr_softmax_xent(p, NULL, sm_z, 6, 4, 1.0f);
}

static void test_softmax_fd(void)
{
	float p[6], dz[6] = {0};
	for (int i = 0; i < 6; i++)
		sm_z[i] = 3.0f * frand();
	float l = onr_softmax_xent(p, dz, sm_z, 6, 4, 1.0f);
	double s = 0.0;
	for (int i = 0; i < 6; i++)
		s += p[i];
	CHECK(fabs(s - 1.0) < 1e-6, "softmax sums to %.9f", s);
	CHECK(fabs(l + log(p[4])) < 1e-5, "cross-entropy %g vs -log p %g", l, -log(p[4]));
	fd_check("softmax cross-entropy", sm_z, 6, dz, sm_loss_now, 1e-3);
	/* huge logits stay finite */
	float big[3] = {1e30f, -1e30f, 0.0f};
	l = onr_softmax_xent(p, NULL, big, 3, 1, 1.0f);
	CHECK(isfinite(l) && isfinite(p[0]) && p[0] == 1.0f, "softmax of huge logits: loss %g", l);
}

/* ---------------------------------------------------------------- optimised vs reference conv */
static void test_convx_vs_ref(uint32_t C, uint32_t D, uint32_t K, uint32_t S, uint32_t P,
                              uint32_t L)
{
	onr_conv_dims d = {C, D, K, S, P, L, onr_conv_out_len(L, K, S, P)};
	size_t nx = (size_t)C * L, nw = (size_t)D * C * K, ny = (size_t)D * d.T;
	float *x = rand_vec(nx), *w = rand_vec(nw), *b = rand_vec(D), *dy = rand_vec(ny);
	onr_convx cx = {.d = d, .R = C * S, .Q = (K + S - 1) / S};
	cx.wf = malloc(onr_convx_wf_size(&d) * sizeof(float));
	cx.wb = malloc(onr_convx_wb_size(&d) * sizeof(float));
	float *scratch = calloc(onr_convx_scratch(&d, 1), sizeof(float));
	onr_convx_pack(&cx, w);
	float *y0 = calloc(ny, sizeof(float)), *y1 = calloc(ny, sizeof(float));
	float *dx0 = calloc(nx, sizeof(float)), *dx1 = calloc(nx, sizeof(float));
	float *dw0 = calloc(nw, sizeof(float)), *dw1 = calloc(nw, sizeof(float));
	float db0[64] = {0}, db1[64] = {0};
	/* accumulation: start both from the same nonzero values */
	for (size_t i = 0; i < nx; i++)
		dx0[i] = dx1[i] = 0.5f;
	onr_conv_fwd_ref(y0, x, w, b, &d);
	onr_convx_fwd(&cx, y1, x, b, L, scratch);
	onr_conv_bwd_x_ref(dx0, dy, w, &d);
	onr_convx_bwd_x(&cx, dx1, dy, L, scratch);
	onr_conv_bwd_w_ref(dw0, db0, dy, x, &d);
	onr_convx_bwd_w(&cx, dw1, db1, dy, x, L, scratch);
	double e1 = rel_l2(y1, y0, ny), e2 = rel_l2(dx1, dx0, nx), e3 = rel_l2(dw1, dw0, nw);
	double e4 = rel_l2(db1, db0, D);
	CHECK(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5 && e4 < 1e-5,
	      "%s conv C%u D%u K%u S%u P%u L%u: optimised vs reference rel L2 fwd %.2g dx %.2g dw "
	      "%.2g db %.2g",
	      onr_kernel_isa(), C, D, K, S, P, L, e1, e2, e3, e4);
	free(x), free(w), free(b), free(dy), free(cx.wf), free(cx.wb), free(scratch);
	free(y0), free(y1), free(dx0), free(dx1), free(dw0), free(dw1);
}

/* The transposed weight-gradient kernel gives conv_dw's bits exactly (the
 * weight gradient takes either by the length of the time axis, so a model
 * trained must not depend on which): the same dw' accumulated onto the same
 * nonzero start, for time axes shorter than, equal to and longer than a
 * vector, and channel counts that do not fill a vector. */
static void test_dw_t_same_bits(uint32_t D, uint32_t R, uint32_t Q, uint32_t T)
{
	const onr_kernels *k = onr_kernels_get();
	size_t ld = ((size_t)T + ONR_CONVX_TILE - 1) / ONR_CONVX_TILE * ONR_CONVX_TILE + Q - 1;
	size_t RQ = (size_t)R * Q;
	size_t ldt = (RQ + ONR_CONVX_TILE - 1) / ONR_CONVX_TILE * ONR_CONVX_TILE;
	float *dy = rand_vec((size_t)D * T), *X = rand_vec((size_t)R * ld);
	float *Xt = calloc((size_t)T * ldt, sizeof(float));
	float *dw0 = rand_vec((size_t)D * RQ), *dw1 = malloc((size_t)D * RQ * sizeof(float));
	memcpy(dw1, dw0, (size_t)D * RQ * sizeof(float));
	if (D > 1) /* a row of zero gradient: signed zeros must agree too */
		memset(dy, 0, T * sizeof(float));
	for (uint32_t t = 0; t < T; t++)
		for (size_t c = 0; c < RQ; c++)
			Xt[t * ldt + c] = X[(c / Q) * ld + t + c % Q];
	k->conv_dw(dw0, dy, T, X, ld, D, R, Q, T);
	k->conv_dw_t(dw1, dy, T, Xt, ldt, D, (uint32_t)RQ, T);
	size_t diff = 0;
	for (size_t i = 0; i < (size_t)D * RQ; i++)
		diff += memcmp(&dw0[i], &dw1[i], sizeof(float)) != 0;
	CHECK(diff == 0, "%s conv_dw_t D%u R%u Q%u T%u: %zu of %zu weight gradients differ from conv_dw",
	      k->name, D, R, Q, T, diff, (size_t)D * RQ);
	free(dy), free(X), free(Xt), free(dw0), free(dw1);
}

/* ---------------------------------------------------------------- the whole network */
static onr_net *fd_net;
static onr_objective fd_obj;
static float *fd_in;
static uint32_t fd_n;
static double net_loss_now(void)
{
	float J;
	onr_net_objective(fd_net, &fd_obj, fd_in, fd_n, 1.5f, &J, NULL);
	return J;
}

/* The dream gradient of model m on a random input of n samples (times 0.5),
 * against finite differences, for each objective case (mode, pre, block,
 * filter; the filter number is also the class), with layer weights w, with
 * the optimised and the reference kernels. */
typedef struct {
	uint32_t mode;
	int pre;
	uint32_t b, f;
} fd_case;

static void network_fd(const onr_model *m, uint32_t n, const float *w, const fd_case *cases,
                       size_t n_cases, const char *name)
{
	fd_n = n;
	fd_in = rand_vec(fd_n);
	for (uint32_t i = 0; i < fd_n; i++)
		fd_in[i] *= 0.5f;
	float *dx = malloc(fd_n * sizeof(float));
	for (int ref = 0; ref < 2; ref++) {
		onr_net_new(&fd_net, m, 512, 0);
		onr_net_use_reference(fd_net, ref);
		for (size_t c = 0; c < n_cases; c++) {
			memset(&fd_obj, 0, sizeof fd_obj);
			fd_obj.mode = cases[c].mode;
			fd_obj.pre = cases[c].pre;
			memcpy(fd_obj.layer_w, w, sizeof fd_obj.layer_w);
			fd_obj.block = cases[c].b;
			fd_obj.filter = cases[c].f;
			fd_obj.cls = cases[c].f;
			float J;
			int st = onr_net_objective(fd_net, &fd_obj, fd_in, fd_n, 1.5f, &J, dx);
			CHECK(st == ONR_OK, "objective: %s", onr_strerror(st));
			char what[96];
			snprintf(what, sizeof what, "%s dJ/dx, mode %u pre %d, %s kernels", name,
			         cases[c].mode, cases[c].pre, ref ? "reference" : "optimised");
			net_fd_check(what, fd_in, fd_n, dx, net_loss_now);
		}
		onr_net_free(fd_net);
	}
	free(dx);
	free(fd_in);
}

static void test_network_fd(void)
{
	/* every layer type; small enough for finite differences at every sample */
	onr_op ops[] = {
		{ONR_OP_CONV, 1, 5, 10, 4, 3, 0},  {ONR_OP_RELU, 0, 0, 0, 0, 0, 0},
		{ONR_OP_CONV, 5, 7, 5, 1, 2, 0},   {ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.2f},
		{ONR_OP_MAXPOOL, 3, 2, 0, 0, 0, 0}, {ONR_OP_CONV, 7, 9, 3, 1, 1, 0},
		{ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.05f}, {ONR_OP_MAXPOOL, 4, 4, 0, 0, 0, 0},
		{ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0},  {ONR_OP_DENSE, 9, 6, 0, 0, 0, 0},
		{ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.1f}, {ONR_OP_DENSE, 6, 3, 0, 0, 0, 0},
	};
	onr_model *m;
	char err[256];
	int st = onr_model_new(&m, ops, sizeof ops / sizeof ops[0], 16000, 400, ONR_KIND_CLASSES,
	                       NULL, 3, err, sizeof err);
	CHECK(st == ONR_OK, "model: %s", err);
	if (st)
		return;
	onr_model_init_params(m, 7);
	CHECK(m->n_blocks == 5, "blocks %u", m->n_blocks);
	static const fd_case cases[] = {
		{ONR_OBJ_LAYERS, 0, 0, 0}, {ONR_OBJ_LAYERS, 1, 0, 0}, {ONR_OBJ_FILTER, 0, 2, 5},
		{ONR_OBJ_FILTER, 1, 1, 3}, {ONR_OBJ_CLASS, 0, 0, 2},
	};
	float w[ONR_MAX_BLOCKS] = {0};
	w[1] = 0.7f;
	w[2] = 1.3f;
	w[4] = 0.4f;
	network_fd(m, 301, w, cases, sizeof cases / sizeof cases[0], "network");
	onr_model_free(m);
}

/* ---------------------------------------------------------------- log-mel */
static onr_logmel *lm_t;
static float *lm_x, *lm_y, *lm_r;
static uint32_t lm_L;
static double logmel_loss_now(void)
{
	onr_logmel_fwd_ref(lm_t, lm_y, lm_x, lm_L);
	return dot(lm_y, lm_r, (size_t)lm_t->ch * lm_t->T);
}

/* The front end: FFTW forward and backward against the plain DFT sums, the
 * backward against finite differences, the mel rows against their
 * definition, and its blindness to phase. */
static void test_logmel(uint32_t nfft, uint32_t hop, uint32_t mels, uint32_t flo, uint32_t fhi,
                        float floor_v, uint32_t L)
{
	onr_op o = {ONR_OP_LOGMEL, nfft, hop, mels, flo, fhi, floor_v};
	const uint32_t rate = 16000;
	char err[200];
	CHECK(onr_logmel_check(&o, rate, err, sizeof err) == ONR_OK, "logmel check: %s", err);
	onr_logmel lm;
	CHECK(onr_logmel_init(&lm, &o, rate, L) == ONR_OK, "logmel init");
	uint32_t T = onr_logmel_frames(&o, L), C = onr_logmel_channels(&o);
	CHECK(T == (L - nfft) / hop + 1 && C == (mels ? mels : nfft / 2 + 1), "shape %u x %u", C, T);
	size_t ny = (size_t)C * T;
	float *x = rand_vec(L), *y0 = malloc(ny * sizeof(float)), *y1 = malloc(ny * sizeof(float));
	float *r = rand_vec(ny), *dx0 = calloc(L, sizeof(float)), *dx1 = calloc(L, sizeof(float));
	for (uint32_t i = 0; i < L; i++)
		x[i] *= 0.5f;
	onr_logmel_fwd(&lm, y0, x, L);
	onr_logmel_bwd_x(&lm, dx0, r, L);
	onr_logmel_fwd_ref(&lm, y1, x, L);
	onr_logmel_bwd_x_ref(&lm, dx1, r, L);
	double e1 = rel_l2(y0, y1, ny), e2 = rel_l2(dx0, dx1, L);
	CHECK(e1 < 1e-5 && e2 < 1e-4,
	      "logmel fft %u hop %u mels %u: FFTW vs plain DFT: forward %.3g, backward %.3g", nfft,
	      hop, mels, e1, e2);
	/* finite differences through the plain forward (double sums) */
	lm_t = &lm, lm_x = x, lm_y = y1, lm_r = r, lm_L = L;
	char what[96];
	snprintf(what, sizeof what, "logmel fft %u hop %u mels %u: dx", nfft, hop, mels);
	fd_check_h(what, x, L, dx0, logmel_loss_now, 1e-3f, 2e-2, 1e-2);
	/* accumulates: a second backward adds the same again */
	onr_logmel_fwd(&lm, y0, x, L);
	memcpy(dx1, dx0, L * sizeof(float));
	onr_logmel_bwd_x(&lm, dx1, r, L);
	double acc = 0.0;
	for (uint32_t i = 0; i < L; i++)
		acc = fmax(acc, fabs(dx1[i] - 2.0f * dx0[i]));
	CHECK(acc < 1e-4, "logmel backward does not accumulate (%.3g)", acc);
	/* phase: a sine exactly on bin 5 of a frame, at any starting phase, gives
	 * the same spectrogram within float rounding */
	for (int ph = 1; ph < 4; ph++) {
		for (uint32_t i = 0; i < L; i++)
			x[i] = 0.5f * (float)sin(2.0 * M_PI * 5.0 * i / nfft);
		onr_logmel_fwd(&lm, y0, x, L);
		for (uint32_t i = 0; i < L; i++)
			x[i] = 0.5f * (float)sin(2.0 * M_PI * 5.0 * i / nfft + ph * 0.7);
		onr_logmel_fwd(&lm, y1, x, L);
		/* compare only bands that carry the sine (others sit at the floor) */
		double worst = 0.0;
		for (size_t k = 0; k < ny; k++)
			if (y0[k] > logf(floor_v) + 4.0f)
				worst = fmax(worst, fabs(y0[k] - y1[k]));
		CHECK(worst < 1e-3, "logmel fft %u: a phase shift of a bin-centred sine moves the "
		      "spectrogram by %.3g", nfft, worst);
	}
	if (mels) {
		/* each row a triangle: peaks near 1, zero outside its two neighbours */
		float *fb = malloc((size_t)mels * (nfft / 2 + 1) * sizeof(float));
		onr_mel_filterbank(fb, mels, nfft, rate, (float)flo, (float)(fhi ? fhi : rate / 2));
		int bad = 0;
		for (uint32_t m = 0; m < mels; m++)
			for (uint32_t k = 0; k <= nfft / 2; k++) {
				float w = fb[(size_t)m * (nfft / 2 + 1) + k];
				bad += !(w >= 0.0f && w <= 1.0f);
			}
		CHECK(!bad, "mel filterbank: %d weights outside [0, 1]", bad);
		free(fb);
	}
	onr_logmel_free(&lm);
	free(x), free(y0), free(y1), free(r), free(dx0), free(dx1);
}

/* Hostile or impossible front ends are refused with a reason. */
static void test_logmel_refused(void)
{
	static const onr_op bad[] = {
		{ONR_OP_LOGMEL, 15, 4, 8, 0, 0, 1e-4f},    /* odd FFT */
		{ONR_OP_LOGMEL, 8, 4, 4, 0, 0, 1e-4f},     /* FFT too small */
		{ONR_OP_LOGMEL, 16384, 4, 8, 0, 0, 1e-4f}, /* FFT too large */
		{ONR_OP_LOGMEL, 64, 0, 8, 0, 0, 1e-4f},    /* hop 0 */
		{ONR_OP_LOGMEL, 64, 65, 8, 0, 0, 1e-4f},   /* hop beyond the frame */
		{ONR_OP_LOGMEL, 64, 16, 40, 0, 0, 1e-4f},  /* more bands than bins */
		{ONR_OP_LOGMEL, 64, 16, 8, 4000, 2000, 1e-4f}, /* fmin above fmax */
		{ONR_OP_LOGMEL, 64, 16, 8, 0, 9000, 1e-4f},    /* fmax above half the rate */
		{ONR_OP_LOGMEL, 64, 16, 8, 0, 0, 0.0f},        /* no floor: log(0) */
		{ONR_OP_LOGMEL, 64, 16, 8, 0, 0, NAN},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[200] = "";
		CHECK(onr_logmel_check(&bad[i], 16000, err, sizeof err) == ONR_EINVAL && err[0],
		      "hostile log-mel op %zu accepted", i);
	}
	/* in a model: only first, and the next conv takes its channels */
	onr_op later[] = {
		{ONR_OP_CONV, 1, 4, 8, 4, 0, 0}, {ONR_OP_LOGMEL, 64, 16, 8, 0, 0, 1e-4f},
		{ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0}, {ONR_OP_DENSE, 4, 2, 0, 0, 0, 0},
	};
	onr_model *m = NULL;
	char err[200];
	CHECK(onr_model_new(&m, later, 4, 16000, 400, ONR_KIND_CLASSES, NULL, 2, err, sizeof err) ==
	          ONR_EINVAL && strstr(err, "first"),
	      "a log-mel op after a conv: %s", err);
	onr_op chans[] = {
		{ONR_OP_LOGMEL, 64, 16, 8, 0, 0, 1e-4f}, {ONR_OP_CONV, 1, 4, 3, 1, 1, 0},
		{ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0}, {ONR_OP_DENSE, 4, 2, 0, 0, 0, 0},
	};
	CHECK(onr_model_new(&m, chans, 4, 16000, 400, ONR_KIND_CLASSES, NULL, 2, err, sizeof err) ==
	          ONR_EINVAL && strstr(err, "channels"),
	      "a conv after the front end taking 1 channel: %s", err);
	onr_op act[] = {
		{ONR_OP_LOGMEL, 64, 16, 8, 0, 0, 1e-4f}, {ONR_OP_RELU, 0, 0, 0, 0, 0, 0},
		{ONR_OP_CONV, 8, 4, 3, 1, 1, 0}, {ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0},
		{ONR_OP_DENSE, 4, 2, 0, 0, 0, 0},
	};
	CHECK(onr_model_new(&m, act, 5, 16000, 400, ONR_KIND_CLASSES, NULL, 2, err, sizeof err) ==
	          ONR_EINVAL,
	      "an activation right after the front end accepted");
	chans[1].a = 8;
	err[0] = '\0';
	CHECK(onr_model_new(&m, chans, 4, 16000, 400, ONR_KIND_CLASSES, NULL, 2, err, sizeof err) ==
	          ONR_OK && m->n_blocks == 2 && m->min_len == 64,
	      "a valid log-mel model: %s (blocks %u, shortest input %u)", err, m ? m->n_blocks : 0,
	      m ? m->min_len : 0);
	onr_model_free(m);
}

/* The loss gradient to the input (adversarial training), against finite
 * differences of the loss, for a raw-waveform and a log-mel network. */
static uint32_t lg_label;
static double loss_now(void)
{
	float dummy[1024], l;
	onr_net_loss_grad_x(fd_net, fd_in, fd_n, 1.5f, lg_label, &l, dummy);
	return l;
}

static void test_loss_grad_x(void)
{
	onr_op raw[] = {
		{ONR_OP_CONV, 1, 5, 10, 4, 3, 0}, {ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.1f},
		{ONR_OP_CONV, 5, 6, 3, 1, 1, 0},  {ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.1f},
		{ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0}, {ONR_OP_DENSE, 6, 3, 0, 0, 0, 0},
	};
	onr_op mel[] = {
		{ONR_OP_LOGMEL, 64, 16, 10, 50, 7000, 1e-3f}, {ONR_OP_CONV, 10, 6, 3, 1, 1, 0},
		{ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.1f},         {ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0},
		{ONR_OP_DENSE, 6, 3, 0, 0, 0, 0},
	};
	const onr_op *archs[2] = {raw, mel};
	uint32_t counts[2] = {6, 5};
	for (int a = 0; a < 2; a++) {
		onr_model *m;
		char err[200];
		if (onr_model_new(&m, archs[a], counts[a], 16000, 300, ONR_KIND_CLASSES, NULL, 3, err,
		                  sizeof err)) {
			CHECK(0, "loss-grad model: %s", err);
			continue;
		}
		onr_model_init_params(m, 3 + a);
		fd_n = 300;
		fd_in = rand_vec(fd_n);
		float *dx = malloc(fd_n * sizeof(float));
		onr_net_new(&fd_net, m, 512, ONR_NET_TRAIN);
		for (lg_label = 0; lg_label < 3; lg_label += 2) {
			float l;
			int st = onr_net_loss_grad_x(fd_net, fd_in, fd_n, 1.5f, lg_label, &l, dx);
			CHECK(st == ONR_OK && isfinite(l), "loss-grad: %s", onr_strerror(st));
			char what[64];
			snprintf(what, sizeof what, "d loss / dx, %s network, label %u",
			         a ? "log-mel" : "raw", lg_label);
			net_fd_check(what, fd_in, fd_n, dx, loss_now);
		}
		float *g = onr_net_grads(fd_net);
		double any = 0.0;
		for (size_t k = 0; k < m->n_params; k++)
			any += fabs(g[k]);
		CHECK(any == 0.0, "loss-grad touched the weight gradients");
		CHECK(onr_net_loss_grad_x(fd_net, fd_in, fd_n, 1.0f, 3, NULL, dx) == ONR_EINVAL,
		      "a label past the classes accepted");
		onr_net_free(fd_net);
		onr_model_free(m);
		free(dx);
		free(fd_in);
	}
}

/* A whole network with the front end: the dream gradient against finite
 * differences, every objective, both kernel sets. */
static void test_network_logmel_fd(void)
{
	onr_op ops[] = {
		{ONR_OP_LOGMEL, 64, 16, 10, 50, 7000, 1e-3f},
		{ONR_OP_CONV, 10, 6, 3, 1, 1, 0},    {ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.1f},
		{ONR_OP_MAXPOOL, 2, 2, 0, 0, 0, 0},  {ONR_OP_CONV, 6, 5, 3, 1, 0, 0},
		{ONR_OP_RELU, 0, 0, 0, 0, 0, 0},     {ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0},
		{ONR_OP_DENSE, 5, 3, 0, 0, 0, 0},
	};
	onr_model *m;
	char err[256];
	int st = onr_model_new(&m, ops, sizeof ops / sizeof ops[0], 16000, 400, ONR_KIND_CLASSES,
	                       NULL, 3, err, sizeof err);
	CHECK(st == ONR_OK, "log-mel model: %s", err);
	if (st)
		return;
	onr_model_init_params(m, 11);
	static const fd_case cases[] = {
		{ONR_OBJ_LAYERS, 0, 0, 0}, {ONR_OBJ_LAYERS, 1, 0, 0}, {ONR_OBJ_FILTER, 1, 1, 2},
		{ONR_OBJ_FILTER, 0, 0, 3}, {ONR_OBJ_CLASS, 0, 0, 1},
	};
	float w[ONR_MAX_BLOCKS] = {0};
	w[0] = 0.7f;
	w[1] = 1.3f;
	network_fd(m, 300, w, cases, sizeof cases / sizeof cases[0], "log-mel network");
	onr_model_free(m);
}

int main(void)
{
	/* convs: strided with K a multiple of S, not a multiple, padded, 1 channel */
	static const uint32_t convs[][6] = {
		{1, 4, 64, 16, 0, 200}, {2, 3, 10, 4, 3, 57}, {3, 5, 3, 1, 1, 31},
		{4, 2, 5, 1, 2, 17},    {2, 3, 7, 3, 0, 40},  {1, 2, 1, 1, 0, 9},
	};
	for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++)
		test_conv_fd(convs[i][0], convs[i][1], convs[i][2], convs[i][3], convs[i][4],
		             convs[i][5]);
	test_elementwise_fd();
	test_softmax_fd();
	const char *best = onr_kernel_isa();
	static const char *isas[] = {"generic", "avx2", "avx512"};
	static const uint32_t shapes[][6] = {
		{1, 16, 64, 16, 0, 16384}, {16, 32, 3, 1, 1, 1021}, {32, 32, 3, 1, 1, 255},
		{32, 64, 3, 1, 1, 63},     {5, 7, 5, 1, 2, 33},     {3, 9, 10, 4, 3, 101},
		{7, 13, 3, 1, 1, 8},       {1, 1, 1, 1, 0, 1},      {64, 3, 4, 2, 1, 70},
		{2, 17, 9, 9, 4, 64},
	};
	int ran = 0;
	for (size_t k = 0; k < 3; k++) {
		if (!onr_kernels_force(isas[k])) {
			printf("kernels %s: not supported by this CPU, skipped\n", isas[k]);
			continue;
		}
		ran++;
		for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
			test_convx_vs_ref(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3],
			                  shapes[i][4], shapes[i][5]);
		static const uint32_t dwt[][4] = {
			{96, 64, 3, 102}, {128, 96, 3, 51}, {128, 128, 3, 25}, {128, 128, 3, 12},
			{64, 80, 5, 64},  {5, 7, 3, 1},     {3, 1, 1, 7},      {9, 5, 2, 8},
			{4, 3, 5, 9},     {6, 11, 1, 16},   {2, 13, 3, 17},    {7, 2, 7, 33},
			{3, 16, 4, 256},
		};
		for (size_t i = 0; i < sizeof dwt / sizeof dwt[0]; i++)
			test_dw_t_same_bits(dwt[i][0], dwt[i][1], dwt[i][2], dwt[i][3]);
	}
	CHECK(ran >= 1, "no kernel set ran");
	onr_kernels_force(best);
	test_network_fd();
	test_logmel(32, 8, 6, 100, 4000, 1e-3f, 130);
	test_logmel(64, 16, 12, 0, 0, 1e-4f, 300);
	test_logmel(64, 64, 0, 0, 0, 1e-2f, 256); /* power bins, no overlap */
	test_logmel(48, 20, 5, 300, 6000, 1e-3f, 161); /* not a power of two; a ragged tail */
	test_logmel_refused();
	test_network_logmel_fd();
	test_loss_grad_x();
	return check_done("test_layers");
}
