/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kernels_isa.c -- the conv micro-kernels, compiled once per instruction set
 * (see the Makefile: -DONR_ISA=generic / avx2 / avx512 with matching -m flags).
 * Written with GCC vector extensions so each build uses its full vector
 * width. Any thread; no allocation. */
#include "layers.h"

#include <string.h>

#ifndef ONR_ISA
#error "compile with -DONR_ISA=name"
#endif
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(CAT(onr_, name), CAT(_, ONR_ISA))

#if defined(__AVX512F__)
#define VW 16 /* floats per vector */
#define TV 2  /* vectors per tile */
#elif defined(__AVX__)
#define VW 8
#define TV 1
#else
#define VW 4
#define TV 1
#endif
#define TILE (VW * TV)
#define DB ONR_CONVX_DB

_Static_assert(TILE <= ONR_CONVX_TILE, "tile wider than the buffers' slack");

typedef float vf __attribute__((vector_size(VW * sizeof(float))));

static inline vf vload(const float *p)
{
	vf v;
	memcpy(&v, p, sizeof v);
	return v;
}

static inline void vstore(float *p, vf v)
{
	memcpy(p, &v, sizeof v);
}

static inline float vsum(vf v)
{
	float s = 0.0f;
	for (int i = 0; i < VW; i++)
		s += v[i];
	return s;
}

/* The tail of a weight-gradient sum, the t past the last whole vector:
 * where the instruction set has FMA, the products of whole groups of 4 are
 * rounded before they are added and the last n % 4 are fused; without FMA
 * all are rounded. This is what GCC 12 made of a plain loop on AVX2, where
 * the shipped models were trained; it is written out so that both weight-
 * gradient kernels follow it whatever the vectoriser does, and so give the
 * same bits. OPAQUE keeps a product from being fused into its sum. */
#if defined(__x86_64__) || defined(__i386__)
#define OPAQUE(v) __asm__("" : "+v"(v))
#elif defined(__aarch64__)
#define OPAQUE(v) __asm__("" : "+w"(v))
#else
#define OPAQUE(v) ((void)0)
#endif
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define TAIL_ROUNDED(n) ((n) / 4 * 4)
#define TAIL_FMA(a, b, s) __builtin_fmaf(a, b, s) /* one instruction: never split */
#else
#define TAIL_ROUNDED(n) (n)
#define TAIL_FMA(a, b, s) ((s) + (a) * (b))
#endif

static inline float tail_dot(float sum, const float *a, const float *b, uint32_t n)
{
	uint32_t m = TAIL_ROUNDED(n), t = 0;
	for (; t < m; t++) {
		float p = a[t] * b[t];
		OPAQUE(p);
		sum += p;
	}
	for (; t < n; t++)
		sum = TAIL_FMA(a[t], b[t], sum);
	return sum;
}

/* The body, inlined with a constant Q for the common tap counts so the
 * compiler unrolls the tap loop. */
static inline __attribute__((always_inline)) void
conv_body(float *y, size_t ldy, const float *x, size_t ldx, const float *wp, const float *b,
          uint32_t D, uint32_t R, uint32_t Q, uint32_t T)
{
	uint32_t groups = (D + DB - 1) / DB;
	for (uint32_t g = 0; g < groups; g++) {
		const float *wg = wp + (size_t)g * R * Q * DB;
		uint32_t rows = D - g * DB < DB ? D - g * DB : DB;
		float bias[DB];
		for (uint32_t o = 0; o < DB; o++)
			bias[o] = (b && o < rows) ? b[g * DB + o] : 0.0f;
		for (uint32_t t0 = 0; t0 < T; t0 += TILE) {
			vf acc[DB][TV];
#pragma GCC unroll 16
			for (int o = 0; o < DB; o++)
#pragma GCC unroll 4
				for (int j = 0; j < TV; j++)
					acc[o][j] = (vf){0} + bias[o];
			for (uint32_t r = 0; r < R; r++) {
				const float *xr = x + (size_t)r * ldx + t0;
				const float *wr = wg + (size_t)r * Q * DB;
#pragma GCC unroll 4
				for (uint32_t q = 0; q < Q; q++) {
					vf xv[TV];
#pragma GCC unroll 4
					for (int j = 0; j < TV; j++)
						xv[j] = vload(xr + q + j * VW);
					const float *wq = wr + q * DB;
#pragma GCC unroll 16
					for (int o = 0; o < DB; o++)
#pragma GCC unroll 4
						for (int j = 0; j < TV; j++)
							acc[o][j] += wq[o] * xv[j];
				}
			}
			uint32_t n = T - t0 < TILE ? T - t0 : TILE;
			for (uint32_t o = 0; o < rows; o++) {
				float *yr = y + (size_t)(g * DB + o) * ldy + t0;
				if (n == TILE) {
					for (int j = 0; j < TV; j++)
						vstore(yr + j * VW, acc[o][j]);
				} else {
					float tmp[TILE];
					for (int j = 0; j < TV; j++)
						vstore(tmp + j * VW, acc[o][j]);
					memcpy(yr, tmp, n * sizeof(float));
				}
			}
		}
	}
}

void FN(valid_conv)(float *y, size_t ldy, const float *x, size_t ldx, const float *wp,
                    const float *b, uint32_t D, uint32_t R, uint32_t Q, uint32_t T)
{
	switch (Q) {
	case 1: conv_body(y, ldy, x, ldx, wp, b, D, R, 1, T); break;
	case 2: conv_body(y, ldy, x, ldx, wp, b, D, R, 2, T); break;
	case 3: conv_body(y, ldy, x, ldx, wp, b, D, R, 3, T); break;
	case 4: conv_body(y, ldy, x, ldx, wp, b, D, R, 4, T); break;
	default: conv_body(y, ldy, x, ldx, wp, b, D, R, Q, T); break;
	}
}

/* dw'[d][r][q] += sum_t dy[d][t] * x[r][t + q]: a product of dy (D, T) with
 * the shifted rows of x, (R*Q, T), both along t. Tiles of 4 x 4 outputs keep
 * 16 vector accumulators; the tail of t is summed in scalar. */
void FN(valid_conv_dw)(float *dwp, const float *dy, size_t ldy, const float *x, size_t ldx,
                       uint32_t D, uint32_t R, uint32_t Q, uint32_t T)
{
	enum { TD = 4, TC = 4 };
	uint32_t RQ = R * Q, Tv = T / VW * VW;
	for (uint32_t d0 = 0; d0 < D; d0 += TD) {
		const float *dr[TD];
		for (uint32_t i = 0; i < TD; i++)
			dr[i] = dy + (size_t)(d0 + i < D ? d0 + i : D - 1) * ldy;
		for (uint32_t c0 = 0; c0 < RQ; c0 += TC) {
			const float *xr[TC];
			for (uint32_t j = 0; j < TC; j++) {
				uint32_t c = c0 + j < RQ ? c0 + j : RQ - 1;
				xr[j] = x + (size_t)(c / Q) * ldx + c % Q;
			}
			vf acc[TD][TC];
#pragma GCC unroll 16
			for (int i = 0; i < TD; i++)
#pragma GCC unroll 4
				for (int j = 0; j < TC; j++)
					acc[i][j] = (vf){0};
			for (uint32_t t = 0; t < Tv; t += VW) {
				vf a[TD], b[TC];
#pragma GCC unroll 4
				for (int i = 0; i < TD; i++)
					a[i] = vload(dr[i] + t);
#pragma GCC unroll 4
				for (int j = 0; j < TC; j++)
					b[j] = vload(xr[j] + t);
#pragma GCC unroll 16
				for (int i = 0; i < TD; i++)
#pragma GCC unroll 4
					for (int j = 0; j < TC; j++)
						acc[i][j] += a[i] * b[j];
			}
			for (uint32_t i = 0; i < TD && d0 + i < D; i++)
				for (uint32_t j = 0; j < TC && c0 + j < RQ; j++) {
					float sum = tail_dot(vsum(acc[i][j]), dr[i] + Tv, xr[j] + Tv, T - Tv);
					uint32_t c = c0 + j;
					dwp[((size_t)(d0 + i) * R + c / Q) * Q + c % Q] += sum;
				}
		}
	}
}

/* NR (1 or 2, a constant) rows of dw' from row d on, for the column block
 * xc (VW columns, n of them real): each xt vector loaded once serves NR rows. */
static inline __attribute__((always_inline)) void
dw_t_rows(float *dwp, const float *dy, size_t ldy, const float *xc, size_t ldt, uint32_t RQ,
          uint32_t T, uint32_t d, uint32_t c0, int NR)
{
	uint32_t Tv = T / VW * VW;
	const float *dr[2] = {dy + (size_t)d * ldy, dy + (size_t)(d + NR - 1) * ldy};
	vf acc[2][VW];
#pragma GCC unroll 2
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 16
		for (int l = 0; l < VW; l++)
			acc[i][l] = (vf){0};
	for (uint32_t t = 0; t < Tv; t += VW) {
#pragma GCC unroll 16
		for (int l = 0; l < VW; l++) {
			vf x = vload(xc + (size_t)(t + l) * ldt);
#pragma GCC unroll 2
			for (int i = 0; i < NR; i++)
				acc[i][l] += dr[i][t + l] * x;
		}
	}
	vf sum[2] = {(vf){0}, (vf){0}};
#pragma GCC unroll 16
	for (int l = 0; l < VW; l++)
#pragma GCC unroll 2
		for (int i = 0; i < NR; i++)
			sum[i] += acc[i][l];
	uint32_t m = Tv + TAIL_ROUNDED(T - Tv), t = Tv;
	for (; t < m; t++) {
		vf x = vload(xc + (size_t)t * ldt);
#pragma GCC unroll 2
		for (int i = 0; i < NR; i++) {
			vf p = dr[i][t] * x;
			OPAQUE(p);
			sum[i] += p;
		}
	}
	for (; t < T; t++) {
		vf x = vload(xc + (size_t)t * ldt);
#pragma GCC unroll 2
		for (int i = 0; i < NR; i++)
			sum[i] += dr[i][t] * x;
	}
	uint32_t n = RQ - c0 < VW ? RQ - c0 : VW;
#pragma GCC unroll 2
	for (int i = 0; i < NR; i++) {
		float *out = dwp + (size_t)(d + (uint32_t)i) * RQ + c0;
		if (n == VW) {
			vstore(out, vload(out) + sum[i]);
		} else {
			float tmp[VW];
			vstore(tmp, sum[i]);
			for (uint32_t j = 0; j < n; j++)
				out[j] += tmp[j];
		}
	}
}

/* The same dw' as valid_conv_dw, from x's shifted rows transposed:
 * xt[t][c] = x[c / Q][t + c % Q] for c < RQ = R * Q (T rows, stride ldt,
 * each readable and finite up to round_up(RQ, ONR_CONVX_TILE)), vectorised
 * across c instead of t. For the short time axes of a magnitude front end
 * (12 to 100 frames) valid_conv_dw spends as long on its horizontal sums and
 * scalar tails as on its products; here every product is a vector one.
 * Each output is summed in exactly valid_conv_dw's order -- VW partial sums
 * over t = l (mod VW) below T / VW * VW, added in lane order to 0, then the
 * remaining t in order as tail_dot does (the fused ones contracted into
 * FMAs, as the kernels build with -ffp-contract=fast) -- with the same
 * roundings, so the two give the same bits and choosing between them is a matter of speed only
 * (test_layers checks it for every kernel set). */
void FN(valid_conv_dw_t)(float *dwp, const float *dy, size_t ldy, const float *xt, size_t ldt,
                         uint32_t D, uint32_t RQ, uint32_t T)
{
	/* a column block of xt (T x VW) stays in the L1 cache across every d,
	 * rows in pairs */
	for (uint32_t c0 = 0; c0 < RQ; c0 += VW) {
		uint32_t d = 0;
		for (; d + 2 <= D; d += 2)
			dw_t_rows(dwp, dy, ldy, xt + c0, ldt, RQ, T, d, c0, 2);
		if (d < D)
			dw_t_rows(dwp, dy, ldy, xt + c0, ldt, RQ, T, d, c0, 1);
	}
}
