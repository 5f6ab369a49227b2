/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net.c -- the workspace: forward, backward, the dream objective, one
 * training example. Everything is allocated in onr_net_new; the other calls
 * allocate nothing, so they may run on a real-time thread's helper. */
#include "onr.h"
#include "layers.h"
#include "logmel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct onr_net {
	const onr_model *m;
	uint32_t max_len;
	int reference;               /* 1: the plain kernels */
	float *xs;                   /* (max_len) the scaled input */
	float *dxs;                  /* (max_len) its gradient */
	float *out[ONR_MAX_OPS];     /* op outputs, (C_i, L_i) at max_len */
	float *dout[ONR_MAX_OPS];    /* their gradients, same shapes */
	int32_t *idx[ONR_MAX_OPS];   /* max-pool argmax, shape of out */
	size_t cap[ONR_MAX_OPS];     /* floats in out[i] */
	onr_convx cx[ONR_MAX_OPS];   /* packed weights of conv ops */
	onr_logmel lm;               /* the front end, when op 0 is ONR_OP_LOGMEL */
	float *scratch;
	uint32_t len_in;             /* N of the last forward */
	uint32_t ch[ONR_MAX_OPS], len[ONR_MAX_OPS]; /* shapes of the last forward */
	uint32_t done;               /* ops computed by the last forward */
	uint8_t fresh[ONR_MAX_OPS];  /* dout[i] left unzeroed: the activation after op i
	                                writes it whole in the backward pass */
	float *grads;                /* (n_params) when made with ONR_NET_TRAIN */
	float probs[ONR_MAX_CLASSES];
};

static float *falloc(size_t n)
{
	return calloc(n ? n : 1, sizeof(float));
}

void onr_net_free(onr_net *net)
{
	if (!net)
		return;
	free(net->xs);
	free(net->dxs);
	for (uint32_t i = 0; i < ONR_MAX_OPS; i++) {
		free(net->out[i]);
		free(net->dout[i]);
		free(net->idx[i]);
		free(net->cx[i].wf);
		free(net->cx[i].wb);
	}
	onr_logmel_free(&net->lm); /* zeroed when there is none */
	free(net->scratch);
	free(net->grads);
	free(net);
}

static void conv_dims(const onr_op *o, uint32_t L, onr_conv_dims *d)
{
	d->C = o->a;
	d->D = o->b;
	d->K = o->c;
	d->S = o->d;
	d->P = o->e;
	d->L = L;
	d->T = onr_conv_out_len(L, o->c, o->d, o->e);
}

void onr_net_sync_params(onr_net *net)
{
	const onr_model *m = net->m;
	for (uint32_t i = 0; i < m->n_ops; i++)
		if (m->ops[i].type == ONR_OP_CONV)
			onr_convx_pack(&net->cx[i], m->params + m->param_off[i]);
}

int onr_net_new(onr_net **out, const onr_model *m, uint32_t max_len, unsigned flags)
{
	*out = NULL;
	if (max_len < m->min_len || max_len > ONR_MAX_WINDOW)
		return ONR_ERANGE;
	onr_net *net = calloc(1, sizeof *net);
	if (!net)
		return ONR_ENOMEM;
	net->m = m;
	net->max_len = max_len;
	net->xs = falloc(max_len);
	net->dxs = falloc(max_len);
	int bad = !net->xs || !net->dxs;
	size_t scratch = 0;
	uint32_t len = max_len;
	for (uint32_t i = 0; i < m->n_ops && !bad; i++) {
		const onr_op *o = &m->ops[i];
		uint32_t C, T;
		onr_model_op_shape(m, i, max_len, &C, &T);
		size_t n = (size_t)C * T;
		net->cap[i] = n;
		net->out[i] = falloc(n);
		net->dout[i] = falloc(n);
		bad |= !net->out[i] || !net->dout[i];
		if (o->type == ONR_OP_MAXPOOL) {
			net->idx[i] = calloc(n ? n : 1, sizeof(int32_t));
			bad |= !net->idx[i];
		}
		if (o->type == ONR_OP_LOGMEL) {
			int st = onr_logmel_init(&net->lm, o, m->sample_rate, max_len);
			if (st) {
				onr_net_free(net);
				return st;
			}
		}
		if (o->type == ONR_OP_CONV) {
			onr_convx *cx = &net->cx[i];
			conv_dims(o, len, &cx->d);
			cx->Q = (o->c + o->d - 1) / o->d;
			cx->R = o->a * o->d;
			cx->wf = falloc(onr_convx_wf_size(&cx->d));
			cx->wb = falloc(onr_convx_wb_size(&cx->d));
			bad |= !cx->wf || !cx->wb;
			size_t s = onr_convx_scratch(&cx->d, (flags & ONR_NET_TRAIN) != 0);
			if (s > scratch)
				scratch = s;
		}
		len = T;
	}
	if (!bad) {
		net->scratch = falloc(scratch);
		bad = !net->scratch;
	}
	if (!bad && (flags & ONR_NET_TRAIN)) {
		net->grads = falloc(m->n_params);
		bad = !net->grads;
	}
	if (bad) {
		onr_net_free(net);
		return ONR_ENOMEM;
	}
	onr_net_sync_params(net);
	*out = net;
	return ONR_OK;
}

const onr_model *onr_net_model(const onr_net *net)
{
	return net->m;
}

void onr_net_use_reference(onr_net *net, int on)
{
	net->reference = on;
}

float onr_input_scale(const onr_model *m, const float *x, uint32_t n)
{
	switch (m->norm) {
	case ONR_NORM_GAIN:
		return m->norm_value;
	case ONR_NORM_RMS: {
		double s = 0.0;
		for (uint32_t i = 0; i < n; i++)
			s += (double)x[i] * x[i];
		double rms = n ? sqrt(s / n) : 0.0;
		return (float)(m->norm_value / (rms > 1e-4 ? rms : 1e-4));
	}
	default:
		return 1.0f;
	}
}

/* ---------------------------------------------------------------- forward */
static const float *op_input(const onr_net *net, uint32_t i)
{
	return i ? net->out[i - 1] : net->xs;
}

int onr_net_forward(onr_net *net, const float *x, uint32_t n, float scale, uint32_t upto)
{
	const onr_model *m = net->m;
	if (n < m->min_len || n > net->max_len)
		return ONR_ERANGE;
	if (upto >= m->n_ops)
		upto = m->n_ops - 1;
	for (uint32_t k = 0; k < n; k++)
		net->xs[k] = x[k] * scale;
	net->len_in = n;
	uint32_t C = 1, L = n;
	for (uint32_t i = 0; i <= upto; i++) {
		const onr_op *o = &m->ops[i];
		const float *in = op_input(net, i);
		float *y = net->out[i];
		const float *w = m->params + m->param_off[i];
		uint32_t T = L, D = C;
		switch (o->type) {
		case ONR_OP_CONV: {
			onr_conv_dims d;
			conv_dims(o, L, &d);
			T = d.T;
			D = d.D;
			if (net->reference)
				onr_conv_fwd_ref(y, in, w, w + (size_t)d.D * d.C * d.K, &d);
			else
				onr_convx_fwd(&net->cx[i], y, in, w + (size_t)d.D * d.C * d.K, L,
				              net->scratch);
			break;
		}
		case ONR_OP_RELU:
			onr_relu_fwd(y, in, (size_t)C * L);
			break;
		case ONR_OP_LRELU:
			onr_lrelu_fwd(y, in, (size_t)C * L, o->f);
			break;
		case ONR_OP_MAXPOOL:
			T = onr_pool_out_len(L, o->a, o->b);
			onr_maxpool_fwd(y, net->idx[i], in, C, L, T, o->a, o->b);
			break;
		case ONR_OP_GMEAN:
			T = 1;
			onr_gmean_fwd(y, in, C, L);
			break;
		case ONR_OP_DENSE:
			D = o->b;
			onr_dense_fwd(y, in, w, w + (size_t)o->a * o->b, o->a, o->b);
			break;
		case ONR_OP_LOGMEL:
			D = onr_logmel_channels(o);
			T = onr_logmel_frames(o, L);
			if (net->reference)
				onr_logmel_fwd_ref(&net->lm, y, in, L);
			else
				onr_logmel_fwd(&net->lm, y, in, L);
			break;
		}
		C = D;
		L = T;
		net->ch[i] = C;
		net->len[i] = L;
	}
	net->done = upto + 1;
	return ONR_OK;
}

const float *onr_net_output(const onr_net *net, uint32_t i, uint32_t *channels,
                            uint32_t *length)
{
	if (i >= net->done)
		return NULL;
	if (channels)
		*channels = net->ch[i];
	if (length)
		*length = net->len[i];
	return net->out[i];
}

const float *onr_net_block_output(const onr_net *net, uint32_t b, int pre, uint32_t *channels,
                                  uint32_t *length)
{
	if (b >= net->m->n_blocks)
		return NULL;
	return onr_net_output(net, pre ? net->m->block_pre[b] : net->m->block_last[b], channels,
	                      length);
}

/* ---------------------------------------------------------------- backward */
/* Backward through ops upto..0 from the gradients already in dout[], into
 * the weight gradients (when wgrad) and the input gradient dxs (when xgrad). */
static void backward(onr_net *net, uint32_t upto, int wgrad, int xgrad)
{
	const onr_model *m = net->m;
	for (uint32_t i = upto + 1; i-- > 0;) {
		const onr_op *o = &m->ops[i];
		const float *in = op_input(net, i);
		uint32_t L = i ? net->len[i - 1] : net->len_in;
		uint32_t C = i ? net->ch[i - 1] : 1;
		const float *dy = net->dout[i];
		/* the first op's input gradient is needed only for the dream, and
		 * so is the front end's */
		int need_dx = i > 1 || xgrad || (i == 1 && m->ops[0].type != ONR_OP_LOGMEL);
		float *dx = i ? net->dout[i - 1] : net->dxs;
		const float *w = m->params + m->param_off[i];
		switch (o->type) {
		case ONR_OP_CONV: {
			onr_conv_dims d;
			conv_dims(o, L, &d);
			if (wgrad) {
				float *dw = net->grads + m->param_off[i];
				float *db = dw + (size_t)d.D * d.C * d.K;
				if (net->reference)
					onr_conv_bwd_w_ref(dw, db, dy, in, &d);
				else
					onr_convx_bwd_w(&net->cx[i], dw, db, dy, in, L, net->scratch);
			}
			if (need_dx) {
				if (net->reference)
					onr_conv_bwd_x_ref(dx, dy, w, &d);
				else
					onr_convx_bwd_x(&net->cx[i], dx, dy, L, net->scratch);
			}
			break;
		}
		case ONR_OP_RELU:
			if (i && net->fresh[i - 1])
				onr_relu_bwd_set(dx, dy, net->out[i], (size_t)C * L);
			else
				onr_relu_bwd(dx, dy, net->out[i], (size_t)C * L);
			break;
		case ONR_OP_LRELU:
			if (i && net->fresh[i - 1])
				onr_lrelu_bwd_set(dx, dy, net->out[i], (size_t)C * L, o->f);
			else
				onr_lrelu_bwd(dx, dy, net->out[i], (size_t)C * L, o->f);
			break;
		case ONR_OP_MAXPOOL:
			onr_maxpool_bwd(dx, dy, net->idx[i], C, L, net->len[i]);
			break;
		case ONR_OP_GMEAN:
			onr_gmean_bwd(dx, dy, C, L);
			break;
		case ONR_OP_DENSE:
			if (wgrad) {
				float *dw = net->grads + m->param_off[i];
				onr_dense_bwd_w(dw, dw + (size_t)o->a * o->b, dy, in, o->a, o->b);
			}
			onr_dense_bwd_x(dx, dy, w, o->a, o->b);
			break;
		case ONR_OP_LOGMEL:
			if (need_dx) {
				if (net->reference)
					onr_logmel_bwd_x_ref(&net->lm, dx, dy, L);
				else
					onr_logmel_bwd_x(&net->lm, dx, dy, L);
			}
			break;
		}
	}
}

/* Clears the gradients of ops 0..upto for a backward pass. A gradient that
 * only the activation after it will produce (no objective term lands there:
 * injected[i] is 0) is left alone and marked fresh: the activation's
 * backward writes it whole, which spares a pass over the largest buffers. */
static void zero_grads_upto(onr_net *net, uint32_t upto, const uint8_t *injected)
{
	const onr_model *m = net->m;
	for (uint32_t i = 0; i <= upto; i++) {
		uint32_t next = i < upto ? m->ops[i + 1].type : 0;
		net->fresh[i] = (next == ONR_OP_RELU || next == ONR_OP_LRELU) && !injected[i];
		if (!net->fresh[i])
			memset(net->dout[i], 0, (size_t)net->ch[i] * net->len[i] * sizeof(float));
	}
	memset(net->dxs, 0, net->len_in * sizeof(float));
}

/* ---------------------------------------------------------------- objective */
static uint32_t obj_op(const onr_model *m, uint32_t b, int pre)
{
	return pre ? m->block_pre[b] : m->block_last[b];
}

uint32_t onr_objective_depth(const onr_model *m, const onr_objective *obj)
{
	uint32_t deep = UINT32_MAX;
	switch (obj->mode) {
	case ONR_OBJ_LAYERS:
		for (uint32_t b = 0; b < m->n_blocks; b++)
			if (obj->layer_w[b] != 0.0f)
				deep = obj_op(m, b, obj->pre);
		break;
	case ONR_OBJ_FILTER:
		if (obj->block < m->n_blocks)
			deep = obj_op(m, obj->block, obj->pre);
		break;
	case ONR_OBJ_CLASS:
		deep = m->n_ops - 1;
		break;
	}
	return deep;
}

/* Any thread, the audio thread included: with err NULL it formats nothing. */
int onr_objective_check(const onr_model *m, const onr_objective *obj, char *err, size_t errlen)
{
#define WHY(...) ((err && errlen) ? (void)snprintf(err, errlen, __VA_ARGS__) : (void)0)
	if (err && errlen)
		err[0] = '\0';
	switch (obj->mode) {
	case ONR_OBJ_LAYERS:
		for (uint32_t b = 0; b < ONR_MAX_BLOCKS; b++)
			if (!isfinite(obj->layer_w[b])) {
				WHY("layer %u: weight is not a finite number", b + 1);
				return ONR_EINVAL;
			}
		return ONR_OK;
	case ONR_OBJ_FILTER: {
		if (obj->block >= m->n_blocks) {
			WHY("layer %u: the model has layers 1 to %u", obj->block + 1, m->n_blocks);
			return ONR_EINVAL;
		}
		uint32_t C, T;
		onr_model_block_shape(m, obj->block, obj->pre, m->window, &C, &T);
		if (obj->filter >= C) {
			WHY("filter %u: layer %u has filters 0 to %u", obj->filter, obj->block + 1, C - 1);
			return ONR_EINVAL;
		}
		return ONR_OK;
	}
	case ONR_OBJ_CLASS:
		if (obj->cls >= m->n_classes) {
			WHY("class %u: the model has classes 0 to %u", obj->cls, m->n_classes - 1);
			return ONR_EINVAL;
		}
		return ONR_OK;
	default:
		WHY("unknown objective mode %u", obj->mode);
		return ONR_EINVAL;
	}
#undef WHY
}

int onr_net_objective(onr_net *net, const onr_objective *obj, const float *x, uint32_t n,
                      float scale, float *value, float *dx)
{
	const onr_model *m = net->m;
	if (onr_objective_check(m, obj, NULL, 0))
		return ONR_EINVAL;
	uint32_t deep = onr_objective_depth(m, obj);
	*value = 0.0f;
	if (deep == UINT32_MAX) {
		/* nothing asked for: J = 0, dJ/dx = 0 */
		if (n < m->min_len || n > net->max_len)
			return ONR_ERANGE;
		if (dx)
			memset(dx, 0, n * sizeof(float));
		return ONR_OK;
	}
	int st = onr_net_forward(net, x, n, scale, deep);
	if (st)
		return st;
	if (dx) {
		uint8_t injected[ONR_MAX_OPS] = {0};
		if (obj->mode == ONR_OBJ_LAYERS) {
			for (uint32_t b = 0; b < m->n_blocks; b++)
				if (obj->layer_w[b] != 0.0f)
					injected[obj_op(m, b, obj->pre)] = 1;
		} else if (obj->mode == ONR_OBJ_FILTER) {
			injected[obj_op(m, obj->block, obj->pre)] = 1;
		} else {
			injected[deep] = 1;
		}
		zero_grads_upto(net, deep, injected);
	}
	double J = 0.0;
	switch (obj->mode) {
	case ONR_OBJ_LAYERS:
		for (uint32_t b = 0; b < m->n_blocks; b++) {
			float wb = obj->layer_w[b];
			if (wb == 0.0f)
				continue;
			uint32_t i = obj_op(m, b, obj->pre);
			size_t cnt = (size_t)net->ch[i] * net->len[i];
			const float *a = net->out[i];
			double s = 0.0;
			for (size_t k = 0; k < cnt; k++)
				s += (double)a[k] * a[k];
			J += wb * s / (double)cnt;
			if (dx) {
				float g = 2.0f * wb / (float)cnt;
				float *da = net->dout[i];
				for (size_t k = 0; k < cnt; k++)
					da[k] += g * a[k];
			}
		}
		break;
	case ONR_OBJ_FILTER: {
		uint32_t i = obj_op(m, obj->block, obj->pre);
		uint32_t L = net->len[i];
		const float *a = net->out[i] + (size_t)obj->filter * L;
		double s = 0.0;
		for (uint32_t t = 0; t < L; t++)
			s += a[t];
		J = s / L;
		if (dx) {
			float *da = net->dout[i] + (size_t)obj->filter * L;
			for (uint32_t t = 0; t < L; t++)
				da[t] += 1.0f / (float)L;
		}
		break;
	}
	case ONR_OBJ_CLASS:
		J = net->out[deep][obj->cls];
		if (dx)
			net->dout[deep][obj->cls] += 1.0f;
		break;
	}
	*value = (float)J;
	if (dx) {
		backward(net, deep, 0, 1);
		for (uint32_t k = 0; k < n; k++)
			dx[k] = net->dxs[k] * scale;
	}
	return ONR_OK;
}

void onr_net_probs(const onr_net *net, float *p)
{
	const onr_model *m = net->m;
	uint32_t last = m->n_ops - 1;
	if (net->done < m->n_ops) {
		for (uint32_t k = 0; k < m->n_classes; k++)
			p[k] = 1.0f / (float)m->n_classes;
		return;
	}
	onr_softmax_xent(p, NULL, net->out[last], m->n_classes, 0, 0.0f);
}

/* ---------------------------------------------------------------- training */
/* Forward all of x (N) * scale, the cross-entropy against label (weighted),
 * and backward: into the weight gradients (wgrad) and/or the input's
 * (xgrad, into net->dxs). The loss in *loss, the argmax in *best. */
static int xent_backward(onr_net *net, const float *x, uint32_t n, float scale, uint32_t label,
                         float weight, int wgrad, int xgrad, float *loss, uint32_t *best)
{
	const onr_model *m = net->m;
	if (label >= m->n_classes)
		return ONR_EINVAL;
	uint32_t last = m->n_ops - 1;
	int st = onr_net_forward(net, x, n, scale, last);
	if (st)
		return st;
	uint8_t injected[ONR_MAX_OPS] = {0};
	injected[last] = 1;
	zero_grads_upto(net, last, injected);
	const float *z = net->out[last];
	*loss = onr_softmax_xent(net->probs, net->dout[last], z, m->n_classes, label, weight);
	*best = 0;
	for (uint32_t k = 1; k < m->n_classes; k++)
		if (z[k] > z[*best])
			*best = k;
	backward(net, last, wgrad, xgrad);
	return ONR_OK;
}

int onr_net_train_example(onr_net *net, const float *x, uint32_t n, float scale,
                          uint32_t label, float weight, float *loss, int *correct)
{
	if (!net->grads)
		return ONR_EINVAL;
	float l;
	uint32_t best;
	int st = xent_backward(net, x, n, scale, label, weight, 1, 0, &l, &best);
	if (st)
		return st;
	if (loss)
		*loss = l;
	if (correct)
		*correct = best == label;
	return ONR_OK;
}

int onr_net_loss_grad_x(onr_net *net, const float *x, uint32_t n, float scale, uint32_t label,
                        float *loss, float *dx)
{
	float l;
	uint32_t best;
	int st = xent_backward(net, x, n, scale, label, 1.0f, 0, 1, &l, &best);
	if (st)
		return st;
	for (uint32_t k = 0; k < n; k++)
		dx[k] = net->dxs[k] * scale;
	if (loss)
		*loss = l;
	return ONR_OK;
}

float *onr_net_grads(onr_net *net)
{
	return net->grads;
}

void onr_net_zero_grads(onr_net *net)
{
	if (net->grads)
		memset(net->grads, 0, net->m->n_params * sizeof(float));
}
