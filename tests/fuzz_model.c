/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_model.c -- libFuzzer target for the model file loader.
 *
 * Each input is loaded as it is, then "repaired" (file_size set to the
 * input's size and the trailing CRC-32 recomputed) so that mutations get past
 * the size and checksum checks into the field validation, then rebuilt with
 * the parameter count its layers imply (so that changed architectures load). Whatever loads must
 * save and load back to the same bytes, and, when small enough to run, give
 * finite outputs wherever finite arithmetic cannot overflow.
 *
 *   make fuzz FUZZ_SECONDS=60
 */
#include "onr.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 52u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_model: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

static void wr32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int all_finite(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return 0;
	return 1;
}

static uint32_t div_up(uint32_t a, uint32_t b)
{
	return a / b + (a % b != 0);
}

/* Rough count of the floats onr_net_new allocates at max_len = min_len
 * (activations, their gradients, max-pool indices, packed conv weights and
 * the conv scratch), so that only models cheap to run are run. */
static double net_floats(const onr_model *m)
{
	double total = 2.0 * m->min_len;
	for (uint32_t i = 0; i < m->n_ops; i++) {
		const onr_op *o = &m->ops[i];
		uint32_t c, t;
		onr_model_op_shape(m, i, m->min_len, &c, &t);
		total += 3.0 * c * t;
		if (o->type == ONR_OP_CONV) {
			double Q = div_up(o->c, o->d), R = (double)o->a * o->d, D = o->b;
			double Dp = div_up(o->b, 8) * 8.0, Rp = ceil(R / 8.0) * 8.0;
			total += Dp * R * Q + Rp * D * Q;              /* packed weights */
			total += R * (t + Q + 64) + D * (t + 2 * Q + 64) /* scratch, generously */
			         + R * (t + Q) + D * R * Q;
		}
	}
	return total;
}

/* The largest |weight| or |bias| of op i (0 for ops without weights). */
static double max_weight(const onr_model *m, uint32_t i)
{
	const onr_op *o = &m->ops[i];
	if (o->type != ONR_OP_CONV && o->type != ONR_OP_DENSE)
		return 0.0;
	size_t nw = o->type == ONR_OP_CONV ? (size_t)o->b * o->a * o->c + o->b
	                                   : (size_t)o->b * o->a + o->b;
	const float *w = m->params + m->param_off[i];
	double mw = 0.0;
	for (size_t k = 0; k < nw; k++)
		if (fabs(w[k]) > mw)
			mw = fabs(w[k]);
	return mw;
}

/* Whether float arithmetic on an input with |x| <= 1 can overflow anywhere in
 * the forward pass or the input-gradient of a logit: a crude bound of every
 * activation and gradient from the largest weight of each layer. If it
 * cannot, every output must be finite. */
static int cannot_overflow(const onr_model *m)
{
	const double lim = 1e30;
	double a = 1.0;            /* bound of |activation| */
	double g = 1.0;            /* bound of |gradient| flowing back */
	for (uint32_t i = 0; i < m->n_ops; i++) {
		const onr_op *o = &m->ops[i];
		if (o->type != ONR_OP_CONV && o->type != ONR_OP_DENSE) {
			if (o->type == ONR_OP_MAXPOOL)
				g *= o->a; /* overlapping windows add up going back */
			continue;
		}
		double mw = max_weight(m, i);
		double fan_in = o->type == ONR_OP_CONV ? (double)o->a * o->c : (double)o->a;
		double fan_out = o->type == ONR_OP_CONV ? (double)o->b * o->c : (double)o->b;
		a = fan_in * mw * a + mw;
		g = g * (fan_out * mw + 1.0);
		/* the global mean sums up to 2^24 samples before it divides */
		if (!(a * 16777216.0 < lim) || !(g < lim))
			return 0;
	}
	return 1;
}

/* The optimised kernels agree with the reference kernels on x (n), |x| <= 1.
 * Tolerance per op: float rounding of every sum on the way, relative to the
 * bound of the terms summed (the same recurrence as cannot_overflow), which
 * errors from earlier layers cannot outgrow. It is the worst case, so only a
 * real disagreement (a wrong index, a missed tap, garbage read) trips it. */
static void differential(const onr_model *m, onr_net *fast, const float *x, uint32_t n)
{
	onr_net *ref = NULL;
	if (onr_net_new(&ref, m, n, 0) != ONR_OK)
		return;
	onr_net_use_reference(ref, 1);
	onr_net_use_reference(fast, 0);
	if (onr_net_forward(ref, x, n, 1.0f, UINT32_MAX) != ONR_OK ||
	    onr_net_forward(fast, x, n, 1.0f, UINT32_MAX) != ONR_OK)
		die("forward failed in the differential check", NULL);
	double a = 1.0, rel = 1e-6;
	const double eps = 1.2e-7; /* twice float's unit roundoff */
	for (uint32_t i = 0; i < m->n_ops; i++) {
		const onr_op *o = &m->ops[i];
		uint32_t ca, la, cb, lb;
		if (o->type == ONR_OP_CONV || o->type == ONR_OP_DENSE) {
			double mw = max_weight(m, i);
			double fan = o->type == ONR_OP_CONV ? (double)o->a * o->c : (double)o->a;
			a = fan * mw * a + mw;
			rel += eps * (fan + 1.0);
		} else if (o->type == ONR_OP_GMEAN) {
			uint32_t c0, l0;
			onr_net_output(ref, i - 1, &c0, &l0);
			rel += eps * (l0 + 1.0);
		}
		if (!(a < 1e30))
			break;
		const float *ya = onr_net_output(fast, i, &ca, &la);
		const float *yb = onr_net_output(ref, i, &cb, &lb);
		if (!ya || !yb || ca != cb || la != lb)
			die("the optimised and reference kernels give different shapes", NULL);
		if (o->type == ONR_OP_LOGMEL) {
			/* FFTW against plain DFT sums: compared as band energies
			 * (exp of the output). An FFT's rounding error is a share of
			 * the whole frame's energy, not of one band's: when the bands
			 * miss where the energy is (a band limit far below a loud
			 * high tone), every band holds only leakage and rounding, so
			 * the bound is a small share of the loudest band plus a
			 * smaller one of the frame's energy (Parseval: N times the
			 * windowed samples' squares bounds the power of all bins). A
			 * bin far below both has no bounded error in the log, and
			 * neither has anything after it, so the comparison stops here
			 * (raw-waveform models check the later kernels). */
			for (uint32_t t = 0; t < la; t++) {
				double top = 0.0, frame = 0.0;
				for (uint32_t c = 0; c < ca; c++)
					top = fmax(top, exp((double)yb[(size_t)c * la + t]));
				for (uint32_t k = 0; k < o->a; k++) {
					double w = 0.5 - 0.5 * cos(6.283185307179586 * k / o->a);
					double v = w * x[(size_t)t * o->b + k];
					frame += v * v;
				}
				frame *= o->a;
				for (uint32_t c = 0; c < ca; c++) {
					double ea = exp((double)ya[(size_t)c * la + t]);
					double eb = exp((double)yb[(size_t)c * la + t]);
					if (!(fabs(ea - eb) <= 1e-4 * top + 1e-5 * frame + 1e-30)) {
						fprintf(stderr,
						        "fuzz_model: log-mel band %u frame %u: optimised %.9g, "
						        "reference %.9g (loudest band %.9g, frame %.9g)\n",
						        c, t, ea, eb, top, frame);
						die("the FFT front end disagrees with the plain DFT", NULL);
					}
				}
			}
			break;
		}
		double tol = rel * a + 1e-30;
		for (size_t k = 0; k < (size_t)ca * la; k++) {
			if (!(fabs((double)ya[k] - yb[k]) <= tol)) {
				fprintf(stderr,
				        "fuzz_model: op %u (type %u a %u b %u c %u d %u e %u), output %zu of "
				        "%u x %u: optimised %.9g, reference %.9g, tolerance %g\n",
				        i, o->type, o->a, o->b, o->c, o->d, o->e, k, ca, la, (double)ya[k],
				        (double)yb[k], tol);
				die("the optimised kernels disagree with the reference kernels", NULL);
			}
		}
	}
	onr_net_free(ref);
}

static void run_net(const onr_model *m)
{
	if (m->n_params >= 100000 || m->min_len > (1u << 20) || net_floats(m) > 8e6)
		return;
	onr_net *net = NULL;
	int st = onr_net_new(&net, m, m->min_len, 0);
	if (st == ONR_ENOMEM)
		return;
	if (st != ONR_OK || !net)
		die("onr_net_new refused a loaded model at its receptive field", onr_strerror(st));
	uint32_t n = m->min_len;
	float *x = calloc(n, sizeof(float)), *dx = calloc(n, sizeof(float));
	if (!x || !dx)
		die("out of memory", NULL);
	int check = cannot_overflow(m);

	/* zeros */
	st = onr_net_forward(net, x, n, 1.0f, UINT32_MAX);
	if (st != ONR_OK)
		die("onr_net_forward failed at the receptive field", onr_strerror(st));
	for (uint32_t i = 0; i < m->n_ops; i++) {
		uint32_t c = 0, l = 0;
		const float *y = onr_net_output(net, i, &c, &l);
		if (!y || c == 0 || l == 0)
			die("a layer gives no output at the receptive field", NULL);
		if (check && !all_finite(y, (size_t)c * l))
			die("a layer output is not finite on zeros", NULL);
	}
	uint32_t c = 0, l = 0;
	onr_net_output(net, m->n_ops - 1, &c, &l);
	if (c != m->n_classes || l != 1)
		die("the logits are not (n_classes, 1)", NULL);

	/* the class objective and its gradient, on a signal of +-1 */
	for (uint32_t k = 0; k < n; k++)
		x[k] = k & 1 ? 1.0f : -1.0f;
	float scale = onr_input_scale(m, x, n);
	if (!isfinite(scale) || scale < 0.0f)
		die("the input scale is not finite", NULL);
	onr_objective obj;
	memset(&obj, 0, sizeof obj);
	obj.mode = ONR_OBJ_CLASS;
	obj.cls = m->n_classes - 1;
	float J = 0.0f;
	st = onr_net_objective(net, &obj, x, n, 1.0f, &J, dx);
	if (st != ONR_OK)
		die("onr_net_objective failed", onr_strerror(st));
	if (check && (!isfinite(J) || !all_finite(dx, n)))
		die("the class objective or its gradient is not finite", NULL);
	float p[ONR_MAX_CLASSES];
	st = onr_net_forward(net, x, n, 1.0f, UINT32_MAX);
	if (st != ONR_OK)
		die("onr_net_forward failed on +-1", onr_strerror(st));
	onr_net_probs(net, p);
	if (check && !all_finite(p, m->n_classes))
		die("the class probabilities are not finite", NULL);
	if (check)
		differential(m, net, x, n);

	free(x);
	free(dx);
	onr_net_free(net);
}

/* A loaded model saves and loads back to the very same bytes and model. */
static void roundtrip(const onr_model *m)
{
	void *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	char err[512];
	int st = onr_model_save_mem(m, &a, &na);
	if (st != ONR_OK)
		die("a loaded model cannot be saved", onr_strerror(st));
	onr_model *m2 = NULL;
	st = onr_model_load_mem(&m2, a, na, err, sizeof err);
	if (st != ONR_OK)
		die("a saved model does not load", err);
	st = onr_model_save_mem(m2, &b, &nb);
	if (st != ONR_OK)
		die("a reloaded model cannot be saved", onr_strerror(st));
	if (na != nb || memcmp(a, b, na))
		die("save -> load -> save gives other bytes", NULL);
	if (m2->n_params != m->n_params ||
	    memcmp(m2->params, m->params, m->n_params * sizeof(float)) ||
	    strcmp(m2->meta, m->meta) || m2->n_classes != m->n_classes || m2->n_ops != m->n_ops ||
	    m2->min_len != m->min_len || m2->window != m->window)
		die("save -> load gives another model", NULL);
	for (uint32_t i = 0; i < m->n_classes; i++)
		if (strcmp(m->class_names[i], m2->class_names[i]))
			die("save -> load changes a class name", NULL);
	onr_model_free(m2);
	free(a);
	free(b);
}

static void try_load(const uint8_t *data, size_t size)
{
	char err[512];
	err[0] = '\0';
	onr_model *m = NULL;
	int st = onr_model_load_mem(&m, data, size, err, sizeof err);
	if (st != ONR_OK) {
		if (m)
			die("a refused load left *out set", err);
		if (!err[0])
			die("a refused load gave no message", onr_strerror(st));
		if (st != ONR_EFORMAT && st != ONR_ENOMEM)
			die("a refused load gave neither EFORMAT nor ENOMEM", err);
		return;
	}
	if (!m)
		die("a successful load gave no model", NULL);
	/* what the loader promised */
	if (m->n_ops < 1 || m->n_ops > ONR_MAX_OPS || m->n_classes < 2 ||
	    m->n_classes > ONR_MAX_CLASSES || m->min_len < 1 || m->min_len > m->window ||
	    m->window > ONR_MAX_WINDOW || m->n_params > ONR_MAX_PARAMS ||
	    m->n_params * 4 > size || !all_finite(m->params, m->n_params))
		die("a loaded model breaks the format's rules", NULL);
	roundtrip(m);
	run_net(m);
	onr_model_free(m);
}

/* A copy rebuilt so that every section adds up: n_params set to what the
 * layer records imply and the parameter blob cut or extended to match (with
 * small values), then size and CRC fixed. Changing a channel count or a
 * kernel changes the parameter count, which the size-and-CRC repair alone
 * cannot follow; this lets mutated architectures load and run. */
static void try_rebuilt(const uint8_t *data, size_t size)
{
	if (size < HEADER_BYTES + 4)
		return;
	uint32_t n_ops = rd32(data + 40), n_classes = rd32(data + 36), meta_len = rd32(data + 44);
	if (n_ops == 0 || n_ops > ONR_MAX_OPS || n_classes > ONR_MAX_CLASSES ||
	    meta_len > ONR_MAX_META)
		return;
	size_t off_names = HEADER_BYTES + (size_t)n_ops * 28;
	if (off_names > size)
		return;
	uint64_t np = 0;
	for (uint32_t i = 0; i < n_ops; i++) {
		const uint8_t *q = data + HEADER_BYTES + (size_t)i * 28;
		uint32_t t = rd32(q), a = rd32(q + 4), b = rd32(q + 8), c = rd32(q + 12);
		if (t == ONR_OP_CONV || t == ONR_OP_DENSE) {
			if (a > ONR_MAX_CHANNELS || b > ONR_MAX_CHANNELS || c > ONR_MAX_KERNEL)
				return; /* refused anyway; the other copies cover it */
			np += t == ONR_OP_CONV ? (uint64_t)b * a * c + b : (uint64_t)b * a + b;
		}
	}
	if (np > (1u << 18))
		return;
	size_t off_params = off_names + (size_t)n_classes * 64 + (((size_t)meta_len + 3) & ~(size_t)3);
	size_t total = off_params + (size_t)np * 4 + 4;
	if (total == size && rd32(data + 48) == np)
		return; /* nothing to rebuild: the repaired copy is this one */
	unsigned char *p = calloc(1, total);
	if (!p)
		return;
	size_t body = size - 4; /* the input without its checksum */
	memcpy(p, data, body < off_params ? body : off_params);
	for (size_t k = 0; k < np; k++) {
		size_t at = off_params + k * 4;
		if (at + 4 <= body) {
			memcpy(p + at, data + at, 4);
		} else {
			float v = 0.125f * (float)((int)(k % 9) - 4);
			uint32_t u;
			memcpy(&u, &v, 4);
			wr32(p + at, u);
		}
	}
	wr32(p + 48, (uint32_t)np);
	wr32(p + 12, (uint32_t)total);
	wr32(p + total - 4, onr_crc32(0, p, total - 4));
	try_load(p, total);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try_load(data, size);
	if (size >= HEADER_BYTES + 4) {
		unsigned char *p = malloc(size);
		if (!p)
			return 0;
		memcpy(p, data, size);
		wr32(p + 12, (uint32_t)size);
		wr32(p + size - 4, onr_crc32(0, p, size - 4));
		try_load(p, size);
		free(p);
	}
	try_rebuilt(data, size);
	return 0;
}
