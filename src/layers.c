/* SPDX-License-Identifier: GPL-2.0-or-later */
/* layers.c -- reference layer kernels and the optimised conv1d's data
 * movement (phase split, padding, packing). Any thread; no allocation. */
#include "layers.h"

#include <math.h>
#include <string.h>

uint32_t onr_conv_out_len(uint32_t L, uint32_t K, uint32_t S, uint32_t P)
{
	uint64_t span = (uint64_t)L + 2u * (uint64_t)P;
	if (S == 0 || span < K)
		return 0;
	return (uint32_t)((span - K) / S + 1);
}

uint32_t onr_pool_out_len(uint32_t L, uint32_t K, uint32_t S)
{
	if (S == 0 || L < K)
		return 0;
	return (L - K) / S + 1;
}

/* ---------------------------------------------------------------- conv1d */
void onr_conv_fwd_ref(float *y, const float *x, const float *w, const float *b,
                      const onr_conv_dims *d)
{
	for (uint32_t o = 0; o < d->D; o++) {
		for (uint32_t t = 0; t < d->T; t++) {
			float acc = b ? b[o] : 0.0f;
			for (uint32_t c = 0; c < d->C; c++) {
				const float *wr = w + ((size_t)o * d->C + c) * d->K;
				const float *xr = x + (size_t)c * d->L;
				for (uint32_t k = 0; k < d->K; k++) {
					int64_t i = (int64_t)t * d->S + k - d->P;
					if (i >= 0 && i < (int64_t)d->L)
						acc += wr[k] * xr[i];
				}
			}
			y[(size_t)o * d->T + t] = acc;
		}
	}
}

void onr_conv_bwd_x_ref(float *dx, const float *dy, const float *w, const onr_conv_dims *d)
{
	for (uint32_t o = 0; o < d->D; o++) {
		for (uint32_t t = 0; t < d->T; t++) {
			float g = dy[(size_t)o * d->T + t];
			for (uint32_t c = 0; c < d->C; c++) {
				const float *wr = w + ((size_t)o * d->C + c) * d->K;
				float *dxr = dx + (size_t)c * d->L;
				for (uint32_t k = 0; k < d->K; k++) {
					int64_t i = (int64_t)t * d->S + k - d->P;
					if (i >= 0 && i < (int64_t)d->L)
						dxr[i] += wr[k] * g;
				}
			}
		}
	}
}

void onr_conv_bwd_w_ref(float *dw, float *db, const float *dy, const float *x,
                        const onr_conv_dims *d)
{
	for (uint32_t o = 0; o < d->D; o++) {
		const float *dyr = dy + (size_t)o * d->T;
		if (db) {
			float s = 0.0f;
			for (uint32_t t = 0; t < d->T; t++)
				s += dyr[t];
			db[o] += s;
		}
		for (uint32_t c = 0; c < d->C; c++) {
			const float *xr = x + (size_t)c * d->L;
			float *dwr = dw + ((size_t)o * d->C + c) * d->K;
			for (uint32_t k = 0; k < d->K; k++) {
				float s = 0.0f;
				for (uint32_t t = 0; t < d->T; t++) {
					int64_t i = (int64_t)t * d->S + k - d->P;
					if (i >= 0 && i < (int64_t)d->L)
						s += dyr[t] * xr[i];
				}
				dwr[k] += s;
			}
		}
	}
}

/* ---------------------------------------------------------------- activations */
/* The activations are written without branches or conditional arithmetic
 * so that the compiler vectorises them; each gives the same bits as the
 * textbook form (x > 0 ? x : slope * x). */
void onr_relu_fwd(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void onr_relu_bwd(float *dx, const float *dy, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float g = dy[i];
		dx[i] += y[i] > 0.0f ? g : 0.0f;
	}
}

void onr_lrelu_fwd(float *y, const float *x, size_t n, float slope)
{
	for (size_t i = 0; i < n; i++) {
		float pos = x[i] > 0.0f ? x[i] : 0.0f, neg = x[i] > 0.0f ? 0.0f : x[i];
		y[i] = pos + slope * neg;
	}
}

void onr_lrelu_bwd(float *dx, const float *dy, const float *y, size_t n, float slope)
{
	for (size_t i = 0; i < n; i++)
		dx[i] += dy[i] * (y[i] > 0.0f ? 1.0f : slope);
}

void onr_relu_bwd_set(float *dx, const float *dy, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float g = dy[i];
		dx[i] = y[i] > 0.0f ? g : 0.0f;
	}
}

void onr_lrelu_bwd_set(float *dx, const float *dy, const float *y, size_t n, float slope)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = dy[i] * (y[i] > 0.0f ? 1.0f : slope);
}

/* ---------------------------------------------------------------- pooling */
/* One channel; inlined with constant K and S for the common pools so the
 * loop over t has no inner loop and the compiler vectorises it. '>' keeps the
 * first maximum, as PyTorch; written as selects, not branches, which random
 * data mispredicts. */
static inline __attribute__((always_inline)) void
maxpool_row(float *restrict yr, int32_t *restrict ir, const float *restrict xr, uint32_t T,
            uint32_t K, uint32_t S)
{
	for (uint32_t t = 0; t < T; t++) {
		int32_t i0 = (int32_t)(t * S), best = i0;
		float m = xr[i0];
		for (uint32_t k = 1; k < K; k++) {
			float v = xr[i0 + (int32_t)k];
			int gt = v > m;
			m = gt ? v : m;
			best = gt ? i0 + (int32_t)k : best;
		}
		yr[t] = m;
		ir[t] = best;
	}
}

void onr_maxpool_fwd(float *y, int32_t *idx, const float *x, uint32_t C, uint32_t L,
                     uint32_t T, uint32_t K, uint32_t S)
{
	for (uint32_t c = 0; c < C; c++) {
		const float *xr = x + (size_t)c * L;
		float *yr = y + (size_t)c * T;
		int32_t *ir = idx + (size_t)c * T;
		if (K == 4 && S == 4)
			maxpool_row(yr, ir, xr, T, 4, 4);
		else if (K == 2 && S == 2)
			maxpool_row(yr, ir, xr, T, 2, 2);
		else
			maxpool_row(yr, ir, xr, T, K, S);
	}
}

void onr_maxpool_bwd(float *dx, const float *dy, const int32_t *idx, uint32_t C, uint32_t L,
                     uint32_t T)
{
	for (uint32_t c = 0; c < C; c++) {
		float *dxr = dx + (size_t)c * L;
		const float *dyr = dy + (size_t)c * T;
		const int32_t *ir = idx + (size_t)c * T;
		for (uint32_t t = 0; t < T; t++)
			dxr[ir[t]] += dyr[t];
	}
}

/* ---------------------------------------------------------------- global mean, dense */
void onr_gmean_fwd(float *y, const float *x, uint32_t C, uint32_t L)
{
	for (uint32_t c = 0; c < C; c++) {
		const float *xr = x + (size_t)c * L;
		float s = 0.0f;
		for (uint32_t t = 0; t < L; t++)
			s += xr[t];
		y[c] = s / (float)L;
	}
}

void onr_gmean_bwd(float *dx, const float *dy, uint32_t C, uint32_t L)
{
	for (uint32_t c = 0; c < C; c++) {
		float g = dy[c] / (float)L;
		float *dxr = dx + (size_t)c * L;
		for (uint32_t t = 0; t < L; t++)
			dxr[t] += g;
	}
}

void onr_dense_fwd(float *y, const float *x, const float *w, const float *b, uint32_t I,
                   uint32_t O)
{
	for (uint32_t o = 0; o < O; o++) {
		const float *wr = w + (size_t)o * I;
		float s = b ? b[o] : 0.0f;
		for (uint32_t i = 0; i < I; i++)
			s += wr[i] * x[i];
		y[o] = s;
	}
}

void onr_dense_bwd_x(float *dx, const float *dy, const float *w, uint32_t I, uint32_t O)
{
	for (uint32_t o = 0; o < O; o++) {
		const float *wr = w + (size_t)o * I;
		for (uint32_t i = 0; i < I; i++)
			dx[i] += wr[i] * dy[o];
	}
}

void onr_dense_bwd_w(float *dw, float *db, const float *dy, const float *x, uint32_t I,
                     uint32_t O)
{
	for (uint32_t o = 0; o < O; o++) {
		float *dwr = dw + (size_t)o * I;
		for (uint32_t i = 0; i < I; i++)
			dwr[i] += dy[o] * x[i];
		if (db)
			db[o] += dy[o];
	}
}

float onr_softmax_xent(float *p, float *dz, const float *z, uint32_t n, uint32_t label,
                       float weight)
{
	float m = z[0];
	for (uint32_t i = 1; i < n; i++)
		if (z[i] > m)
			m = z[i];
	double s = 0.0;
	for (uint32_t i = 0; i < n; i++) {
		p[i] = expf(z[i] - m);
		s += p[i];
	}
	for (uint32_t i = 0; i < n; i++)
		p[i] = (float)(p[i] / s);
	if (dz)
		for (uint32_t i = 0; i < n; i++)
			dz[i] += weight * (p[i] - (i == label ? 1.0f : 0.0f));
	/* log-sum-exp form: exact even where p[label] underflows */
	return label < n ? (float)(log(s) + m - z[label]) : 0.0f;
}

/* ---------------------------------------------------------------- optimised conv1d
 *
 * A conv of stride S, kernel K, padding P over x (C, L) is rewritten as a
 * stride-1 valid conv over the phase rows
 *     X[c*S + p][f] = xpad[c][f*S + p],   xpad[c][i] = x[c][i - P] (0 outside)
 * with taps W'[o][c*S + p][q] = w[o][c][q*S + p] (0 where q*S + p >= K):
 *     y[o][t] = sum_{r, q} W'[o][r][q] * X[r][t + q].
 * Its input gradient is the full correlation of dy with W' flipped in q:
 *     dX[r][f] = sum_{o, q'} W'[o][r][Q-1-q'] * dypad[o][f + q'],
 *     dypad[o][u] = dy[o][u - (Q-1)],
 * a valid conv again, and dx[c][i] += dX[c*S + p][f] for i = f*S + p - P.
 */
static uint32_t div_up(uint32_t a, uint32_t b)
{
	return (a + b - 1) / b;
}

static size_t round_up(size_t a, size_t b)
{
	return (a + b - 1) / b * b;
}

/* Row strides of the scratch buffers: rows are readable to a whole tile past
 * their end, plus the taps. */
static size_t ld_in(uint32_t T, uint32_t Q)
{
	return round_up(T, ONR_CONVX_TILE) + Q - 1;
}

/* The weight gradient takes the transposed micro-kernel (conv_dw_t) for time
 * axes up to this long: the same bits, faster where T is short (a log-mel
 * front end's 12 to 103 frames: on AVX2 1.3 to 6 times at 16 to 100 frames,
 * slower from about 128, where conv_dw's horizontal sums no longer matter). */
#define DWT_MAX_T 112u

static size_t ld_t(uint32_t R, uint32_t Q)
{
	return round_up((size_t)R * Q, ONR_CONVX_TILE);
}

size_t onr_convx_scratch(const onr_conv_dims *d, int train)
{
	uint32_t Q = div_up(d->K, d->S), R = d->C * d->S;
	size_t T = d->T;
	size_t F = T + Q - 1;                      /* phase length */
	size_t fwd = (size_t)R * ld_in(d->T, Q);   /* X */
	size_t bwd = (size_t)d->D * ld_in((uint32_t)F, Q) /* dypad */
	             + (size_t)R * F;              /* dX */
	size_t bww = fwd + (size_t)d->D * R * Q;   /* X, dW' */
	if (train && T <= DWT_MAX_T)
		bww += T * ld_t(R, Q);             /* X transposed */
	size_t m = fwd > bwd ? fwd : bwd;
	return (m > bww ? m : bww) + ONR_CONVX_TILE;
}

size_t onr_convx_wf_size(const onr_conv_dims *d)
{
	uint32_t Q = div_up(d->K, d->S), R = d->C * d->S;
	return (size_t)div_up(d->D, ONR_CONVX_DB) * ONR_CONVX_DB * R * Q;
}

size_t onr_convx_wb_size(const onr_conv_dims *d)
{
	uint32_t Q = div_up(d->K, d->S), R = d->C * d->S;
	return (size_t)div_up(R, ONR_CONVX_DB) * ONR_CONVX_DB * d->D * Q;
}

void onr_convx_pack(onr_convx *cx, const float *w)
{
	const onr_conv_dims *d = &cx->d;
	uint32_t S = d->S, K = d->K, Q = cx->Q, R = cx->R, DB = ONR_CONVX_DB;
	memset(cx->wf, 0, onr_convx_wf_size(d) * sizeof(float));
	memset(cx->wb, 0, onr_convx_wb_size(d) * sizeof(float));
	for (uint32_t o = 0; o < d->D; o++)
		for (uint32_t c = 0; c < d->C; c++)
			for (uint32_t p = 0; p < S; p++)
				for (uint32_t q = 0; q < Q; q++) {
					uint32_t k = q * S + p, r = c * S + p;
					float v = k < K ? w[((size_t)o * d->C + c) * K + k] : 0.0f;
					/* forward: group o/DB, row r, tap q, lane o%DB */
					cx->wf[(((size_t)(o / DB) * R + r) * Q + q) * DB + o % DB] = v;
					/* backward: output row r, input row o, tap Q-1-q */
					cx->wb[(((size_t)(r / DB) * d->D + o) * Q + (Q - 1 - q)) * DB + r % DB] = v;
				}
}

/* X (R, ld) from x (C, L): phases with the padding made explicit; the slack
 * past F is zeroed so the micro-kernel reads finite values. */
static void build_phases(float *X, size_t ld, const float *x, uint32_t C, uint32_t L,
                         uint32_t S, uint32_t P)
{
	for (uint32_t c = 0; c < C; c++) {
		const float *xr = x + (size_t)c * L;
		for (uint32_t p = 0; p < S; p++) {
			float *Xr = X + ((size_t)c * S + p) * ld;
			if (S == 1) {
				/* the common case: a shifted copy */
				size_t lead = P < ld ? P : ld;
				memset(Xr, 0, lead * sizeof(float));
				size_t n = L < ld - lead ? L : ld - lead;
				memcpy(Xr + lead, xr, n * sizeof(float));
				memset(Xr + lead + n, 0, (ld - lead - n) * sizeof(float));
				continue;
			}
			/* f with 0 <= f*S + p - P < L: [f0, f1) */
			size_t f0 = p >= P ? 0 : (P - p + S - 1) / S;
			size_t f1 = ((size_t)L + P - p + S - 1) / S;
			if (f0 > ld)
				f0 = ld;
			if (f1 > ld)
				f1 = ld;
			if (f1 < f0)
				f1 = f0;
			memset(Xr, 0, f0 * sizeof(float));
			for (size_t f = f0; f < f1; f++)
				Xr[f] = xr[f * S + p - P];
			memset(Xr + f1, 0, (ld - f1) * sizeof(float));
		}
	}
}

void onr_convx_fwd(const onr_convx *cx, float *y, const float *x, const float *b, uint32_t L,
                   float *scratch)
{
	const onr_conv_dims *d = &cx->d;
	uint32_t T = onr_conv_out_len(L, d->K, d->S, d->P);
	if (T == 0)
		return;
	size_t ld = ld_in(T, cx->Q);
	build_phases(scratch, ld, x, d->C, L, d->S, d->P);
	onr_kernels_get()->conv(y, T, scratch, ld, cx->wf, b, d->D, cx->R, cx->Q, T);
}

void onr_convx_bwd_x(const onr_convx *cx, float *dx, const float *dy, uint32_t L,
                     float *scratch)
{
	const onr_conv_dims *d = &cx->d;
	uint32_t T = onr_conv_out_len(L, d->K, d->S, d->P);
	if (T == 0)
		return;
	uint32_t Q = cx->Q, S = d->S, F = T + Q - 1;
	size_t ld = ld_in(F, Q);
	float *dyp = scratch;                       /* (D, ld) */
	float *dX = scratch + (size_t)d->D * ld;    /* (R, F) */
	for (uint32_t o = 0; o < d->D; o++) {
		float *r = dyp + (size_t)o * ld;
		memset(r, 0, (Q - 1) * sizeof(float));
		memcpy(r + Q - 1, dy + (size_t)o * T, T * sizeof(float));
		memset(r + Q - 1 + T, 0, (ld - (Q - 1) - T) * sizeof(float));
	}
	onr_kernels_get()->conv(dX, F, dyp, ld, cx->wb, NULL, cx->R, d->D, Q, F);
	for (uint32_t c = 0; c < d->C; c++) {
		float *dxr = dx + (size_t)c * L;
		for (uint32_t p = 0; p < S; p++) {
			const float *g = dX + ((size_t)c * S + p) * F;
			if (S == 1) {
				/* i = f - P for f in [P, P + L) */
				uint32_t f0 = d->P, n = F > f0 ? F - f0 : 0;
				if (n > L)
					n = L;
				for (uint32_t i = 0; i < n; i++)
					dxr[i] += g[f0 + i];
				continue;
			}
			uint32_t P = d->P;
			uint32_t f0 = p >= P ? 0 : (P - p + S - 1) / S;
			uint32_t f1 = (uint32_t)(((uint64_t)L + P - p + S - 1) / S);
			if (f1 > F)
				f1 = F;
			for (uint32_t f = f0; f < f1; f++)
				dxr[f * S + p - P] += g[f];
		}
	}
}

void onr_convx_bwd_w(const onr_convx *cx, float *dw, float *db, const float *dy,
                     const float *x, uint32_t L, float *scratch)
{
	const onr_conv_dims *d = &cx->d;
	uint32_t T = onr_conv_out_len(L, d->K, d->S, d->P);
	if (T == 0)
		return;
	uint32_t Q = cx->Q, S = d->S, R = cx->R, K = d->K;
	size_t ld = ld_in(T, Q);
	float *X = scratch;                         /* (R, ld) */
	float *stage = scratch + (size_t)R * ld;    /* (D, R, Q) */
	size_t RQ = (size_t)R * Q;
	build_phases(X, ld, x, d->C, L, S, d->P);
	/* Stride 1: (D, R, Q) is dw's own (D, C, K), so the kernels add into dw
	 * directly (the same bits: dw is never -0, so dw + (0 + s) == dw + s);
	 * with phases they fill a staging copy that is scattered below. */
	float *dwp = S == 1 ? dw : stage;
	if (S != 1)
		memset(dwp, 0, (size_t)d->D * RQ * sizeof(float));
	if (d->T <= DWT_MAX_T) { /* the scratch has room for Xt */
		/* Xt[t][r * Q + q] = X[r][t + q], the columns past R * Q zero */
		size_t ldt = ld_t(R, Q);
		float *Xt = stage + (size_t)d->D * RQ;
		for (uint32_t t = 0; t < T; t++) {
			float *row = Xt + t * ldt;
			for (uint32_t r = 0; r < R; r++)
				for (uint32_t q = 0; q < Q; q++)
					row[(size_t)r * Q + q] = X[(size_t)r * ld + t + q];
			memset(row + RQ, 0, (ldt - RQ) * sizeof(float));
		}
		onr_kernels_get()->conv_dw_t(dwp, dy, T, Xt, ldt, d->D, (uint32_t)RQ, T);
	} else {
		onr_kernels_get()->conv_dw(dwp, dy, T, X, ld, d->D, R, Q, T);
	}
	for (uint32_t o = 0; o < d->D; o++) {
		if (S != 1) /* the staging copy into dw */
			for (uint32_t c = 0; c < d->C; c++)
				for (uint32_t p = 0; p < S; p++)
					for (uint32_t q = 0; q < Q; q++) {
						uint32_t k = q * S + p;
						if (k < K)
							dw[((size_t)o * d->C + c) * K + k] +=
								dwp[((size_t)o * R + c * S + p) * Q + q];
					}
		if (db) {
			const float *dyr = dy + (size_t)o * T;
			float s = 0.0f;
			for (uint32_t t = 0; t < T; t++)
				s += dyr[t];
			db[o] += s;
		}
	}
}
