/* SPDX-License-Identifier: GPL-2.0-or-later */
/* layers.h -- the layer kernels of the core (internal header).
 *
 * Every layer has a forward, a backward to its input and (where it has
 * weights) a backward to its weights, side by side, one argument order:
 *   forward:           (out, in, weights..., dims)
 *   backward to input: (din, dout, in-or-out, weights..., dims)   accumulates
 *   backward weights:  (dw, db, dout, in, dims)                     accumulates
 * Shape letters as in onr.h.
 *
 * conv1d has a plain reference version (onr_conv_*_ref) and an optimised
 * version (onr_convx_*): the optimised one rewrites a conv of stride S as a
 * stride-1 "valid" conv over C*S phase rows with ceil(K/S) taps and runs a
 * register-blocked micro-kernel chosen for the CPU at run time.
 */
#ifndef ONR_LAYERS_H
#define ONR_LAYERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t C, D, K, S, P; /* channels in/out, kernel, stride, padding */
	uint32_t L, T;          /* input and output length */
} onr_conv_dims;

/* Output length of a conv for input length L (0 if none fits). */
uint32_t onr_conv_out_len(uint32_t L, uint32_t K, uint32_t S, uint32_t P);
/* Output length of a max-pool for input length L (0 if none fits). */
uint32_t onr_pool_out_len(uint32_t L, uint32_t K, uint32_t S);

/* ------------------------------------------------------- reference kernels */
void onr_conv_fwd_ref(float *y /* (D,T) */, const float *x /* (C,L) */,
                      const float *w /* (D,C,K) */, const float *b /* (D) */,
                      const onr_conv_dims *d);
void onr_conv_bwd_x_ref(float *dx /* (C,L) */, const float *dy /* (D,T) */,
                        const float *w /* (D,C,K) */, const onr_conv_dims *d);
void onr_conv_bwd_w_ref(float *dw /* (D,C,K) */, float *db /* (D) */,
                        const float *dy /* (D,T) */, const float *x /* (C,L) */,
                        const onr_conv_dims *d);

/* Elementwise layers on n values; backward uses the forward's output y,
 * whose sign equals the input's for ReLU and leaky ReLU. */
void onr_relu_fwd(float *y, const float *x, size_t n);
void onr_relu_bwd(float *dx, const float *dy, const float *y, size_t n);
void onr_lrelu_fwd(float *y, const float *x, size_t n, float slope);
void onr_lrelu_bwd(float *dx, const float *dy, const float *y, size_t n, float slope);
/* The same, writing dx instead of adding to it: for a dx no other gradient
 * reaches, which then needs no zeroing first. */
void onr_relu_bwd_set(float *dx, const float *dy, const float *y, size_t n);
void onr_lrelu_bwd_set(float *dx, const float *dy, const float *y, size_t n, float slope);

/* Max-pool over time per channel; idx records the argmax (first max on ties,
 * as PyTorch) for the backward, which scatters (overlapping windows add). */
void onr_maxpool_fwd(float *y /* (C,T) */, int32_t *idx /* (C,T) */,
                     const float *x /* (C,L) */, uint32_t C, uint32_t L, uint32_t T,
                     uint32_t K, uint32_t S);
void onr_maxpool_bwd(float *dx /* (C,L) */, const float *dy /* (C,T) */,
                     const int32_t *idx /* (C,T) */, uint32_t C, uint32_t L, uint32_t T);

void onr_gmean_fwd(float *y /* (C) */, const float *x /* (C,L) */, uint32_t C, uint32_t L);
void onr_gmean_bwd(float *dx /* (C,L) */, const float *dy /* (C) */, uint32_t C, uint32_t L);

void onr_dense_fwd(float *y /* (O) */, const float *x /* (I) */, const float *w /* (O,I) */,
                   const float *b /* (O) */, uint32_t I, uint32_t O);
void onr_dense_bwd_x(float *dx /* (I) */, const float *dy /* (O) */, const float *w /* (O,I) */,
                     uint32_t I, uint32_t O);
void onr_dense_bwd_w(float *dw /* (O,I) */, float *db /* (O) */, const float *dy /* (O) */,
                     const float *x /* (I) */, uint32_t I, uint32_t O);

/* Softmax of z (n) into p; returns the cross-entropy -log p[label] and
 * writes dz = p - onehot(label), scaled by `weight`, ACCUMULATED into dz
 * when dz is not NULL. */
float onr_softmax_xent(float *p, float *dz, const float *z, uint32_t n, uint32_t label,
                       float weight);

/* ------------------------------------------------------- optimised conv1d */
/* Output rows computed together by the micro-kernel; packed weights are laid
 * out in groups of this many output rows. */
#define ONR_CONVX_DB 8
/* Output samples per micro-kernel tile, the widest of any kernel set; row
 * buffers read by the micro-kernel have this much readable slack. */
#define ONR_CONVX_TILE 32

typedef struct {
	onr_conv_dims d;
	uint32_t R, Q;     /* phase rows C*S, taps ceil(K/S) */
	float *wf;         /* forward packed: (ceil(D/DB), R, Q, DB) */
	float *wb;         /* input-backward packed: (ceil(R/DB), D, Q, DB), flipped */
} onr_convx;

/* Floats needed by the scratch buffers of onr_convx_* for these dims at the
 * largest L they will see (T computed from L); train: also onr_convx_bwd_w's
 * (a training net's), else only the forward and input-gradient ones. */
size_t onr_convx_scratch(const onr_conv_dims *d, int train);
/* Sizes of the two packed weight arrays. */
size_t onr_convx_wf_size(const onr_conv_dims *d);
size_t onr_convx_wb_size(const onr_conv_dims *d);
/* Packs w (D,C,K) into cx->wf and cx->wb (caller allocated, sizes above). */
void onr_convx_pack(onr_convx *cx, const float *w /* (D,C,K) */);

/* d's L and T are taken from the call (cx->d gives C, D, K, S, P). */
void onr_convx_fwd(const onr_convx *cx, float *y /* (D,T) */, const float *x /* (C,L) */,
                   const float *b /* (D) */, uint32_t L, float *scratch);
void onr_convx_bwd_x(const onr_convx *cx, float *dx /* (C,L) */, const float *dy /* (D,T) */,
                     uint32_t L, float *scratch);
void onr_convx_bwd_w(const onr_convx *cx, float *dw /* (D,C,K) */, float *db /* (D) */,
                     const float *dy /* (D,T) */, const float *x /* (C,L) */,
                     uint32_t L, float *scratch);

/* The micro-kernel, one per instruction set:
 * y[d][t] = (b ? b[d] : 0) + sum_{r<R} sum_{q<Q} wp[d][r][q] * x[r][t + q]
 * for d < D, t < T. x rows (stride ldx) must be readable up to
 * round_up(T, ONR_CONVX_TILE) + Q - 1 with finite values. */
typedef void (*onr_valid_conv_fn)(float *y /* (D,ldy) */, size_t ldy,
                                  const float *x /* (R,ldx) */, size_t ldx,
                                  const float *wp /* (ceil(D/DB),R,Q,DB) */,
                                  const float *b /* (D) or NULL */,
                                  uint32_t D, uint32_t R, uint32_t Q, uint32_t T);
/* dw'[d][r][q] += sum_{t<T} dy[d][t] * x[r][t + q], same x requirement. */
typedef void (*onr_valid_conv_dw_fn)(float *dwp /* (D,R,Q) */,
                                     const float *dy /* (D,ldy) */, size_t ldy,
                                     const float *x /* (R,ldx) */, size_t ldx,
                                     uint32_t D, uint32_t R, uint32_t Q, uint32_t T);

/* The same sums, bit for bit, from the shifted rows transposed:
 * dw'[d][c] += sum_{t<T} dy[d][t] * xt[t][c], c = r * Q + q < RQ,
 * xt[t][c] = x[r][t + q]; xt rows (stride ldt) readable and finite up to
 * round_up(RQ, ONR_CONVX_TILE). Faster on short time axes. */
typedef void (*onr_valid_conv_dw_t_fn)(float *dwp /* (D,RQ) */,
                                       const float *dy /* (D,ldy) */, size_t ldy,
                                       const float *xt /* (T,ldt) */, size_t ldt,
                                       uint32_t D, uint32_t RQ, uint32_t T);

typedef struct {
	const char *name;
	onr_valid_conv_fn conv;
	onr_valid_conv_dw_fn conv_dw;
	onr_valid_conv_dw_t_fn conv_dw_t;
} onr_kernels;

/* The kernel set for this CPU, chosen once. */
const onr_kernels *onr_kernels_get(void);
/* Forces a kernel set by name ("generic", "avx2", "avx512"); returns 0 if this
 * CPU cannot run it. For tests and benchmarks. */
int onr_kernels_force(const char *name);

#endif
