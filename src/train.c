/* SPDX-License-Identifier: GPL-2.0-or-later */
/* train.c -- the trainer (see train.h). Runs on the caller's thread plus
 * worker threads started for each step; allocates only in onr_trainer_new. */
#include "util.h"
#include "train.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct onr_trainer {
	onr_model *m;
	onr_train_config cfg;
	uint32_t threads;
	onr_net *net[ONR_TRAIN_MAX_THREADS];
	float *adv[ONR_TRAIN_MAX_THREADS];  /* (window) an attacked example */
	float *advg[ONR_TRAIN_MAX_THREADS]; /* (window) its loss gradient */
	float *mom, *vel;          /* (n_params) Adam moments */
	float *grad;               /* (n_params) the summed gradient */
	uint64_t steps;
};

void onr_trainer_free(onr_trainer *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < ONR_TRAIN_MAX_THREADS; i++) {
		onr_net_free(t->net[i]);
		free(t->adv[i]);
		free(t->advg[i]);
	}
	free(t->mom);
	free(t->vel);
	free(t->grad);
	free(t);
}

int onr_trainer_new(onr_trainer **out, onr_model *m, const onr_train_config *cfg, char *err,
                    size_t errlen)
{
	*out = NULL;
	uint32_t threads = cfg->threads ? cfg->threads : 1;
	if (threads > ONR_TRAIN_MAX_THREADS)
		return onr_fail(err, errlen, ONR_EINVAL, "%u threads (1 to %d)", threads,
		            ONR_TRAIN_MAX_THREADS);
	if (!(cfg->robust_db >= -60.0f && cfg->robust_db <= 0.0f) || cfg->robust_steps > 16)
		return onr_fail(err, errlen, ONR_EINVAL,
		            "robust training at %g dB with %u steps (-60 to 0 dB, 0 to 16 steps)",
		            (double)cfg->robust_db, cfg->robust_steps);
	if (cfg->window < m->min_len || cfg->window > ONR_MAX_WINDOW)
		return onr_fail(err, errlen, ONR_EINVAL, "a window of %u samples (the model needs %u)",
		            cfg->window, m->min_len);
	onr_trainer *t = calloc(1, sizeof *t);
	if (!t)
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
	t->m = m;
	t->cfg = *cfg;
	t->threads = threads;
	if (t->cfg.beta1 == 0.0f)
		t->cfg.beta1 = 0.9f;
	if (t->cfg.beta2 == 0.0f)
		t->cfg.beta2 = 0.999f;
	if (t->cfg.eps == 0.0f)
		t->cfg.eps = 1e-8f;
	size_t np = m->n_params ? m->n_params : 1;
	t->mom = calloc(np, sizeof(float));
	t->vel = calloc(np, sizeof(float));
	t->grad = calloc(np, sizeof(float));
	int bad = !t->mom || !t->vel || !t->grad;
	for (uint32_t i = 0; i < threads && !bad; i++) {
		bad = onr_net_new(&t->net[i], m, cfg->window, ONR_NET_TRAIN) != ONR_OK;
		/* the attack's buffers, also for a robust evaluation later */
		t->adv[i] = calloc(cfg->window, sizeof(float));
		t->advg[i] = calloc(cfg->window, sizeof(float));
		bad |= !t->adv[i] || !t->advg[i];
	}
	if (bad) {
		onr_trainer_free(t);
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory for %u training workspaces",
		            threads);
	}
	*out = t;
	return ONR_OK;
}

void onr_trainer_sync(onr_trainer *t)
{
	for (uint32_t i = 0; i < t->threads; i++)
		onr_net_sync_params(t->net[i]);
}

uint64_t onr_trainer_steps(const onr_trainer *t)
{
	return t->steps;
}

/* One thread's slice of a batch. */
typedef struct {
	onr_trainer *t;
	onr_net *net;
	const float *const *x;
	const uint32_t *labels;
	const float *weights;
	float *probs;              /* eval: (n, n_classes) for this slice */
	float *adv, *advg;         /* this thread's attack buffers */
	float robust_db;           /* 0: no attack */
	uint32_t lo, hi;
	float wscale;              /* 1 / sum of weights of the batch */
	double loss;
	uint32_t correct;
	int status;
} slice;

/* Projected gradient ascent on the loss of x (W) with label y, within
 * |x' - x| <= eps per sample (eps = RMS(x) 10^(db/20)) and [-1, 1]; signed
 * steps of 2.5 eps / steps (the usual L-infinity attack). Writes x' to s->adv
 * and returns it. Deterministic: no random start. */
static const float *attack(slice *s, const float *x, uint32_t y, float scale)
{
	onr_trainer *t = s->t;
	uint32_t W = t->cfg.window;
	uint32_t steps = t->cfg.robust_steps ? t->cfg.robust_steps : 3;
	double ss = 0.0;
	for (uint32_t i = 0; i < W; i++)
		ss += (double)x[i] * x[i];
	float eps = (float)(sqrt(ss / W) * pow(10.0, s->robust_db / 20.0));
	float *a = s->adv, *g = s->advg;
	memcpy(a, x, W * sizeof(float));
	if (!(eps > 0.0f))
		return a;
	float alpha = 2.5f * eps / (float)steps;
	for (uint32_t k = 0; k < steps; k++) {
		if (onr_net_loss_grad_x(s->net, a, W, scale, y, NULL, g))
			break;
		for (uint32_t i = 0; i < W; i++) {
			float v = a[i] + (g[i] > 0.0f ? alpha : g[i] < 0.0f ? -alpha : 0.0f);
			float lo = fmaxf(x[i] - eps, -1.0f), hi = fminf(x[i] + eps, 1.0f);
			a[i] = v < lo ? lo : (v > hi ? hi : v);
		}
	}
	return a;
}

static void *train_slice(void *arg)
{
	slice *s = arg;
	const onr_model *m = s->t->m;
	uint32_t W = s->t->cfg.window;
	onr_net_zero_grads(s->net);
	for (uint32_t i = s->lo; i < s->hi; i++) {
		float w = (s->weights ? s->weights[i] : 1.0f) * s->wscale;
		float l;
		int ok;
		float scale = onr_input_scale(m, s->x[i], W);
		/* the attack keeps the clean window's normalisation, as the dream does */
		const float *xi = s->robust_db != 0.0f ? attack(s, s->x[i], s->labels[i], scale) : s->x[i];
		s->status = onr_net_train_example(s->net, xi, W, scale, s->labels[i], w, &l, &ok);
		if (s->status)
			return NULL;
		s->loss += l;
		s->correct += (uint32_t)ok;
	}
	return NULL;
}

static void *eval_slice(void *arg)
{
	slice *s = arg;
	const onr_model *m = s->t->m;
	uint32_t W = s->t->cfg.window;
	for (uint32_t i = s->lo; i < s->hi; i++) {
		float scale = onr_input_scale(m, s->x[i], W);
		const float *xi = s->robust_db != 0.0f ? attack(s, s->x[i], s->labels[i], scale) : s->x[i];
		s->status = onr_net_forward(s->net, xi, W, scale, UINT32_MAX);
		if (s->status)
			return NULL;
		onr_net_probs(s->net, s->probs + (size_t)i * m->n_classes);
	}
	return NULL;
}

/* Runs fn over the batch split in contiguous slices, the first on this
 * thread. */
static int run_slices(onr_trainer *t, slice *sl, uint32_t n, void *(*fn)(void *))
{
	uint32_t k = t->threads < n ? t->threads : (n ? n : 1);
	pthread_t th[ONR_TRAIN_MAX_THREADS];
	int started[ONR_TRAIN_MAX_THREADS] = {0};
	for (uint32_t i = 0; i < k; i++) {
		sl[i].t = t;
		sl[i].net = t->net[i];
		sl[i].adv = t->adv[i];
		sl[i].advg = t->advg[i];
		sl[i].lo = (uint32_t)((uint64_t)n * i / k);
		sl[i].hi = (uint32_t)((uint64_t)n * (i + 1) / k);
	}
	for (uint32_t i = 1; i < k; i++)
		started[i] = pthread_create(&th[i], NULL, fn, &sl[i]) == 0;
	fn(&sl[0]);
	for (uint32_t i = 1; i < k; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			fn(&sl[i]); /* no thread to be had: do it here */
	}
	for (uint32_t i = 0; i < k; i++)
		if (sl[i].status)
			return sl[i].status;
	return (int)k;
}

int onr_trainer_step(onr_trainer *t, const float *const *x, const uint32_t *labels,
                     const float *weights, uint32_t n, float lr, float *loss, uint32_t *correct)
{
	onr_model *m = t->m;
	if (n == 0 || !(lr >= 0.0f))
		return ONR_EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (labels[i] >= m->n_classes)
			return ONR_EINVAL;
	double wsum = 0.0;
	for (uint32_t i = 0; i < n; i++)
		wsum += weights ? weights[i] : 1.0f;
	if (!(wsum > 0.0))
		return ONR_EINVAL;
	slice sl[ONR_TRAIN_MAX_THREADS];
	memset(sl, 0, sizeof sl);
	for (uint32_t i = 0; i < ONR_TRAIN_MAX_THREADS; i++) {
		sl[i].x = x;
		sl[i].labels = labels;
		sl[i].weights = weights;
		sl[i].wscale = (float)(1.0 / wsum);
		sl[i].robust_db = t->cfg.robust_db;
	}
	int k = run_slices(t, sl, n, train_slice);
	if (k < 0)
		return k;
	/* the slices' gradients, summed in thread order: deterministic */
	size_t np = m->n_params;
	memcpy(t->grad, onr_net_grads(t->net[0]), np * sizeof(float));
	for (int i = 1; i < k; i++) {
		const float *g = onr_net_grads(t->net[i]);
		for (size_t p = 0; p < np; p++)
			t->grad[p] += g[p];
	}
	double l = 0.0;
	uint32_t c = 0;
	for (int i = 0; i < k; i++) {
		l += sl[i].loss;
		c += sl[i].correct;
	}
	/* Adam with decoupled weight decay on the weights (not the biases: they
	 * are decayed too, which is harmless at the small decay used) */
	t->steps++;
	float b1 = t->cfg.beta1, b2 = t->cfg.beta2, eps = t->cfg.eps;
	double c1 = 1.0 - pow(b1, (double)t->steps), c2 = 1.0 - pow(b2, (double)t->steps);
	float step = (float)(lr * sqrt(c2) / c1);
	float decay = lr * t->cfg.weight_decay;
	for (size_t p = 0; p < np; p++) {
		float g = t->grad[p];
		if (!isfinite(g))
			g = 0.0f; /* never let one bad example poison the weights */
		t->mom[p] = b1 * t->mom[p] + (1.0f - b1) * g;
		t->vel[p] = b2 * t->vel[p] + (1.0f - b2) * g * g;
		m->params[p] -= step * t->mom[p] / (sqrtf(t->vel[p]) + eps) + decay * m->params[p];
	}
	onr_trainer_sync(t);
	if (loss)
		*loss = (float)(l / n);
	if (correct)
		*correct = c;
	return ONR_OK;
}

int onr_trainer_eval(onr_trainer *t, const float *const *x, uint32_t n, float *probs)
{
	if (n == 0)
		return ONR_OK;
	slice sl[ONR_TRAIN_MAX_THREADS];
	memset(sl, 0, sizeof sl);
	for (uint32_t i = 0; i < ONR_TRAIN_MAX_THREADS; i++) {
		sl[i].x = x;
		sl[i].probs = probs;
	}
	int k = run_slices(t, sl, n, eval_slice);
	return k < 0 ? k : ONR_OK;
}

int onr_trainer_eval_robust(onr_trainer *t, const float *const *x, const uint32_t *labels,
                            uint32_t n, float db, float *probs)
{
	if (n == 0)
		return ONR_OK;
	if (t->cfg.robust_db != 0.0f)
		db = t->cfg.robust_db;
	if (!(db >= -60.0f && db < 0.0f))
		return ONR_EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (labels[i] >= t->m->n_classes)
			return ONR_EINVAL;
	slice sl[ONR_TRAIN_MAX_THREADS];
	memset(sl, 0, sizeof sl);
	for (uint32_t i = 0; i < ONR_TRAIN_MAX_THREADS; i++) {
		sl[i].x = x;
		sl[i].labels = labels;
		sl[i].probs = probs;
		sl[i].robust_db = db;
	}
	int k = run_slices(t, sl, n, eval_slice);
	return k < 0 ? k : ONR_OK;
}

/* ================================================================ augmentation */
/* y (W) through one biquad section (a0 = 1), in place, in double */
static void biquad(float *y, uint32_t W, double b0, double b1, double b2, double a1, double a2)
{
	double x1 = 0.0, x2 = 0.0, y1 = 0.0, y2 = 0.0;
	for (uint32_t n = 0; n < W; n++) {
		double x0 = y[n], o = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
		x2 = x1;
		x1 = x0;
		y2 = y1;
		y1 = o;
		y[n] = (float)o;
	}
}

/* an RBJ peaking filter at f (cycles per sample), in place */
static void aug_peak(float *y, uint32_t W, double f, double gain_db, double q)
{
	double A = pow(10.0, gain_db / 40.0), w = 2.0 * M_PI * f;
	double al = sin(w) / (2.0 * q), c = cos(w);
	double a0 = 1.0 + al / A;
	double b0 = (1.0 + al * A) / a0, b1 = -2.0 * c / a0, b2 = (1.0 - al * A) / a0;
	double a1 = -2.0 * c / a0, a2 = (1.0 - al / A) / a0;
	biquad(y, W, b0, b1, b2, a1, a2);
}

/* an RBJ low-pass biquad at f (cycles per sample) with quality q, in place */
static void aug_lowpass2(float *y, uint32_t W, double f, double q)
{
	double w = 2.0 * M_PI * f, al = sin(w) / (2.0 * q), c = cos(w);
	double a0 = 1.0 + al;
	double b0 = (1.0 - c) / (2.0 * a0), b1 = (1.0 - c) / a0, b2 = b0;
	double a1 = -2.0 * c / a0, a2 = (1.0 - al) / a0;
	biquad(y, W, b0, b1, b2, a1, a2);
}

/* an 8th-order Butterworth low-pass at f (cycles per sample), in place: four
 * biquads with the poles' quality factors, 48 dB per octave */
static void aug_lowpass8(float *y, uint32_t W, double f)
{
	static const double q[4] = {0.50979558, 0.60134489, 0.89997622, 2.56291545};
	for (int k = 0; k < 4; k++)
		aug_lowpass2(y, W, f, q[k]);
}

void onr_augment_window(float *y, const float *x, uint32_t W, double rate, uint64_t *state)
{
	if (W == 0)
		return;
	if (W == 1 || !(rate > 0.0)) {
		memcpy(y, x, (size_t)W * sizeof *y);
		return;
	}
	double speed = exp(log(0.8) + (log(1.25) - log(0.8)) * onr_uniform01(state));
	double centre = 0.5 * (W - 1), last = (double)(W - 1);
	for (uint32_t n = 0; n < W; n++) {
		double t = centre + ((double)n - centre) * speed;
		if (t < 0.0)
			t = -t;
		if (t > last) /* speed <= 1.25 keeps a mirrored t inside [0, last] */
			t = 2.0 * last - t;
		uint32_t i = (uint32_t)t;
		if (i >= W - 1)
			i = W - 2;
		double fr = t - i;
		y[n] = (float)((1.0 - fr) * x[i] + fr * x[i + 1]);
	}
	double lo = log(fmin(80.0 / rate, 0.1)), hi = log(0.4);
	for (int k = 0; k < 2; k++) {
		double f = exp(lo + (hi - lo) * onr_uniform01(state));
		double g = 18.0 * onr_uniform01(state) - 9.0;
		double q = 0.5 + 1.5 * onr_uniform01(state);
		aug_peak(y, W, f, g, q);
	}
	float a = (float)(1.4 * onr_uniform01(state) - 0.7);
	float pol = (onr_splitmix64(state) & 1) ? -1.0f : 1.0f;
	double ss = 0.0;
	for (uint32_t n = 0; n < W; n++)
		ss += (double)y[n] * y[n];
	float noise = (float)(sqrt(ss / W) * pow(10.0, -(20.0 + 30.0 * onr_uniform01(state)) / 20.0) *
	                      sqrt(3.0));
	float prev = 0.0f;
	for (uint32_t n = 0; n < W; n++) {
		float v = y[n];
		y[n] = pol * (v + a * prev) + noise * (float)(2.0 * onr_uniform01(state) - 1.0);
		prev = v;
	}
	/* band limit, last (the noise too), so that "no top band" is no class cue:
	 * drawn after everything else, so a window without it is what it was */
	if (onr_uniform01(state) < ONR_AUG_LOWPASS_P) {
		double fc = exp(log(ONR_AUG_LOWPASS_LO) +
		                (log(ONR_AUG_LOWPASS_HI) - log(ONR_AUG_LOWPASS_LO)) * onr_uniform01(state));
		if (fc < 0.45 * rate)
			aug_lowpass8(y, W, fc / rate);
	}
}

/* ================================================================ room and masks */
/* A room is written by hand: no Debian library renders a seeded random room
 * into a buffer (sox's reverb is a command-line effect, not a C API), and a
 * parallel-comb/all-pass network (Schroeder and Moorer's design) costs about
 * 12 operations a sample, so it runs inline in the batch loop. The combs'
 * delays are the usual mutually prime spread of 25 to 37 ms, scaled by a
 * random room size; each comb has a one-pole low-pass in its loop (air and
 * walls absorb the highs first), its gain set from a random RT60. */
static const double room_comb_ms[8] = {25.31, 26.94, 28.96, 30.75, 32.24, 33.81, 35.31, 36.67};
static const double room_ap_ms[4] = {12.61, 10.00, 7.73, 5.10};

/* log-uniform in [lo, hi) */
static double log_uniform(double lo, double hi, uint64_t *state)
{
	return exp(log(lo) + (log(hi) - log(lo)) * onr_uniform01(state));
}

/* a delay of `ms` milliseconds scaled by `size`, in samples, at least 1 */
static uint32_t room_delay(double ms, double size, double rate)
{
	uint32_t d = (uint32_t)lround(ms * 1e-3 * size * rate);
	return d < 1 ? 1 : d;
}

void onr_augment_room(float *y, uint32_t W, double rate, uint64_t *state, float *work)
{
	if (W < 2 || !(rate > 0.0))
		return;
	double size = log_uniform(0.5, 1.6, state);
	double rt60 = log_uniform(ONR_ROOM_RT60_LO, ONR_ROOM_RT60_HI, state);
	double damp = 0.05 + 0.5 * onr_uniform01(state);
	uint32_t pre = (uint32_t)(0.02 * rate * onr_uniform01(state));
	double wet_db = ONR_ROOM_WET_LO + (ONR_ROOM_WET_HI - ONR_ROOM_WET_LO) * onr_uniform01(state);
	float *acc = work, *c = work + W, *b = work + 2 * (size_t)W;
	memset(acc, 0, (size_t)W * sizeof *acc);
	for (int k = 0; k < 8; k++) {
		uint32_t d = room_delay(room_comb_ms[k], size, rate);
		double g = pow(10.0, -3.0 * d / (rt60 * rate)), f = 0.0;
		/* c[n] = y[n - pre] + g lp(c[n - d]) */
		for (uint32_t n = 0; n < W; n++) {
			double in = n >= pre ? y[n - pre] : 0.0;
			double fb = n >= d ? c[n - d] : 0.0;
			f = (1.0 - damp) * fb + damp * f;
			c[n] = (float)(in + g * f);
			acc[n] += c[n];
		}
	}
	for (int k = 0; k < 4; k++) {
		uint32_t d = room_delay(room_ap_ms[k], size, rate);
		/* b[n] = v[n] + 0.5 b[n - d]; out[n] = b[n - d] - 0.5 b[n] */
		for (uint32_t n = 0; n < W; n++) {
			double bd = n >= d ? b[n - d] : 0.0;
			b[n] = (float)(acc[n] + 0.5 * bd);
			acc[n] = (float)(bd - 0.5 * b[n]);
		}
	}
	double sd = 0.0, sw = 0.0;
	for (uint32_t n = 0; n < W; n++) {
		sd += (double)y[n] * y[n];
		sw += (double)acc[n] * acc[n];
	}
	if (!(sw > 0.0) || !(sd > 0.0))
		return;
	float gw = (float)(sqrt(sd / sw) * pow(10.0, wet_db / 20.0));
	for (uint32_t n = 0; n < W; n++)
		y[n] += gw * acc[n];
}

void onr_augment_mask(float *y, uint32_t W, double rate, uint64_t *state)
{
	if (W < 2 || !(rate > 0.0))
		return;
	/* a band taken out: two deep peaking cuts at one centre, 100 Hz to 0.4
	 * rate, about a third to one octave wide */
	double f = log_uniform(fmin(100.0 / rate, 0.1), 0.4, state);
	double q = 1.4 + 3.0 * onr_uniform01(state);
	aug_peak(y, W, f, -24.0, q);
	aug_peak(y, W, f, -24.0, q);
	/* a gap: ONR_MASK_GAP_LO to _HI seconds of silence at a random place, with
	 * 5 ms raised-cosine edges so that the gap itself makes no click */
	double len_s = ONR_MASK_GAP_LO + (ONR_MASK_GAP_HI - ONR_MASK_GAP_LO) * onr_uniform01(state);
	uint32_t len = (uint32_t)(len_s * rate), ramp = (uint32_t)(0.005 * rate);
	if (len + 2 * ramp >= W)
		return;
	uint32_t at = (uint32_t)((W - len - 2 * ramp) * onr_uniform01(state));
	for (uint32_t n = 0; n < len + 2 * ramp; n++) {
		double g = 0.0;
		if (n < ramp)
			g = 0.5 + 0.5 * cos(M_PI * (n + 0.5) / ramp);
		else if (n >= ramp + len)
			g = 0.5 - 0.5 * cos(M_PI * (n - ramp - len + 0.5) / ramp);
		y[at + n] *= (float)g;
	}
}
