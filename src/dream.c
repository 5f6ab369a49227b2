/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dream.c -- the dream engine (see dream.h). onr_dream_new and the _free
 * functions run on a non-real-time thread (they allocate, plan FFTs and
 * measure the resamplers); everything else allocates nothing. */
#include "util.h"
#include "dream.h"
#include "logmel.h"    /* onr_fftw_lock */
#include "magfilter.h"

#include <fftw3.h>
#include <sched.h>
#include <stdatomic.h>
#include <math.h>
#include <samplerate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define CHUNK 64              /* host samples fed to the downsampler at once */
/* the delta path only: the dry signal never passes a resampler. The fastest
 * sinc converter keeps 80 % of the band with 97 dB SNR, plenty for a dream */
#define SRC_TYPE SRC_SINC_FASTEST

static double db_to_amp(double db)
{
	return pow(10.0, db / 20.0);
}

static double clock_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ================================================================ parameters */
void onr_dream_params_default(onr_dream_params *p, const onr_model *m)
{
	memset(p, 0, sizeof *p);
	p->obj.mode = ONR_OBJ_LAYERS;
	/* the middle of the conv stack: textures rather than clicks or classes */
	uint32_t conv_blocks = 0;
	for (uint32_t b = 0; b < m->n_blocks; b++)
		if (m->ops[m->block_first[b]].type == ONR_OP_CONV)
			conv_blocks++;
	if (conv_blocks >= 3) {
		p->obj.layer_w[conv_blocks / 2] = 1.0f;
		p->obj.layer_w[conv_blocks / 2 + 1 < conv_blocks ? conv_blocks / 2 + 1 : conv_blocks - 1] = 1.0f;
	} else {
		p->obj.layer_w[conv_blocks ? conv_blocks - 1 : 0] = 1.0f;
	}
	p->depth = 0.5f;
	p->iterations = 8;
	p->bound_db = -12.0f;
	p->floor_db = -60.0f;
	p->band_lo = 40.0f;
	p->band_hi = (float)m->sample_rate / 2.0f;
	p->tilt_db = -3.0f;
	p->smooth = 0;
	p->mix = 1.0f;
	p->jitter_copies = ONR_DREAM_DEFAULT_COPIES;
	p->jitter_ms = ONR_DREAM_DEFAULT_JITTER_MS;
	p->jitter_gain_db = ONR_DREAM_DEFAULT_JITTER_GAIN_DB;
	p->second_share = 0.5f;
}

static int clampf(float *v, float lo, float hi, float def)
{
	float o = *v;
	if (!isfinite(*v))
		*v = def;
	else if (*v < lo)
		*v = lo;
	else if (*v > hi)
		*v = hi;
	return o != *v;
}

int onr_dream_params_sanitize(onr_dream_params *p, const onr_model *m)
{
	onr_dream_params def;
	onr_dream_params_default(&def, m);
	float nyq = (float)m->sample_rate / 2.0f;
	int n = 0;
	n += clampf(&p->depth, 0.0f, 4.0f, def.depth);
	n += clampf(&p->bound_db, -60.0f, 12.0f, def.bound_db);
	n += clampf(&p->floor_db, -120.0f, 0.0f, def.floor_db);
	n += clampf(&p->band_lo, 0.0f, nyq, def.band_lo);
	n += clampf(&p->band_hi, 0.0f, nyq, def.band_hi);
	if (p->band_hi < p->band_lo) {
		float t = p->band_hi;
		p->band_hi = p->band_lo;
		p->band_lo = t;
		n++;
	}
	n += clampf(&p->tilt_db, -12.0f, 6.0f, def.tilt_db);
	n += clampf(&p->mix, 0.0f, 2.0f, def.mix);
	n += clampf(&p->jitter_ms, 0.0f, 16.0f, def.jitter_ms);
	n += clampf(&p->jitter_gain_db, 0.0f, 6.0f, def.jitter_gain_db);
	n += clampf(&p->second_share, 0.0f, 1.0f, def.second_share);
	if (p->form > ONR_DREAM_AUTO) {
		p->form = def.form;
		n++;
	}
	if (p->jitter_copies < 1 || p->jitter_copies > ONR_DREAM_MAX_COPIES) {
		p->jitter_copies = p->jitter_copies < 1 ? 1 : ONR_DREAM_MAX_COPIES;
		n++;
	}
	for (uint32_t b = 0; b < ONR_MAX_BLOCKS; b++)
		n += clampf(&p->obj.layer_w[b], -16.0f, 16.0f, 0.0f);
	if (onr_objective_check(m, &p->obj, NULL, 0)) {
		p->obj = def.obj;
		n++;
	}
	return n;
}

/* ================================================================ one window */
struct onr_dreamer {
	const onr_model *m;
	onr_net *net;
	uint32_t W, nbins, max_iter;
	float *x;          /* (W) the dreamed window */
	float *g;          /* (W) gradient */
	float *v;          /* (W) one jittered view of the window (its first
	                      W - shift samples are used) */
	float *gv;         /* (W) the objective's gradient for the view */
	uint64_t seed;     /* the random views of the next run */
	float *cond;       /* (nbins) conditioning gain per bin */
	float *final;      /* (nbins) the delta's own band limit */
	float *follow;     /* (W) the bound's share at each sample, 0..1 */
	float *mag;        /* (nbins) scratch for smoothing */
	double *cum;       /* (nbins + 1) prefix sums for smoothing */
	uint32_t *bark_lo, *bark_hi; /* (nbins) one-Bark neighbourhood of each bin */
	fftwf_complex *spec; /* (nbins) */
	fftwf_plan fwd, inv;
	float key_lo, key_hi, key_tilt; /* what cond was computed for */
	/* the magnitude form (ONR_DREAM_MAGNITUDE); mf.W = 0 when the window is
	 * too short for it */
	onr_magfilter mf;
	float *G, *dG, *Gs;  /* (mf.T, mf.nb) gains, their gradient, smoothing scratch */
	float *condm;        /* (mf.nb) band and tilt per filter bin */
	float mkey_lo, mkey_hi, mkey_tilt;
	double t_fb, t_cond;
	int timing;
	/* a second model heard at once (onr_dreamer_set_second); net2 NULL
	 * when none */
	const onr_model *m2;
	onr_net *net2;
	float *g2;            /* (W) its gradient */
	onr_objective obj2;   /* this run's objective, in its terms */
	int use2;             /* this run mixes it in */
	float s1, s2;         /* this run's input scales of the two models */
};

void onr_dreamer_free(onr_dreamer *w)
{
	if (!w)
		return;
	onr_net_free(w->net);
	onr_net_free(w->net2);
	free(w->g2);
	onr_fftw_lock();
	if (w->fwd)
		fftwf_destroy_plan(w->fwd);
	if (w->inv)
		fftwf_destroy_plan(w->inv);
	onr_fftw_unlock();
	onr_magfilter_free(&w->mf);
	free(w->G);
	free(w->dG);
	free(w->Gs);
	free(w->condm);
	fftwf_free(w->x);
	fftwf_free(w->g);
	free(w->v);
	free(w->gv);
	fftwf_free(w->spec);
	free(w->cond);
	free(w->final);
	free(w->follow);
	free(w->mag);
	free(w->cum);
	free(w->bark_lo);
	free(w->bark_hi);
	free(w);
}

static double bark(double f)
{
	/* Traunmüller's formula */
	return 26.81 * f / (1960.0 + f) - 0.53;
}

int onr_dreamer_new(onr_dreamer **out, const onr_model *m, uint32_t window,
                    uint32_t max_iterations, char *err, size_t errlen)
{
	*out = NULL;
	if (window < m->min_len || window > ONR_MAX_WINDOW)
		return onr_fail(err, errlen, ONR_EINVAL,
		            "a window of %u samples (the model needs at least %u)", window, m->min_len);
	onr_dreamer *w = calloc(1, sizeof *w);
	if (!w)
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
	w->m = m;
	w->W = window;
	w->nbins = window / 2 + 1;
	w->max_iter = max_iterations;
	w->key_lo = w->key_hi = w->key_tilt = NAN;
	int st = onr_net_new(&w->net, m, window, 0);
	w->x = fftwf_alloc_real(window);
	w->g = fftwf_alloc_real(window);
	w->v = calloc(window, sizeof(float));
	w->gv = calloc(window, sizeof(float));
	w->spec = fftwf_alloc_complex(w->nbins);
	w->cond = calloc(w->nbins, sizeof(float));
	w->final = calloc(w->nbins, sizeof(float));
	w->follow = calloc(window, sizeof(float));
	w->mag = calloc(w->nbins, sizeof(float));
	w->cum = calloc(w->nbins + 1, sizeof(double));
	w->bark_lo = calloc(w->nbins, sizeof(uint32_t));
	w->bark_hi = calloc(w->nbins, sizeof(uint32_t));
	if (st || !w->x || !w->g || !w->v || !w->gv || !w->spec || !w->cond || !w->final || !w->follow || !w->mag || !w->cum || !w->bark_lo ||
	    !w->bark_hi) {
		onr_dreamer_free(w);
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory for a window of %u samples",
		            window);
	}
	/* FFTW's planner is not thread-safe: the core's planning is serialised
	 * (engines may be made on several threads, e.g. render --jobs). ESTIMATE
	 * plans are deterministic and quick to make. */
	onr_fftw_lock();
	w->fwd = fftwf_plan_dft_r2c_1d((int)window, w->g, w->spec, FFTW_ESTIMATE);
	w->inv = fftwf_plan_dft_c2r_1d((int)window, w->spec, w->g, FFTW_ESTIMATE);
	onr_fftw_unlock();
	/* the magnitude form's filter: 16 ms frames at 16 kHz, shorter when
	 * the window is */
	uint32_t mframe = window < ONR_DREAM_MAG_FRAME ? window & ~3u : ONR_DREAM_MAG_FRAME;
	if (mframe >= 8) {
		if (onr_magfilter_new(&w->mf, window, mframe) != ONR_OK)
			st = ONR_ENOMEM;
		size_t ng = (size_t)w->mf.T * w->mf.nb;
		w->G = calloc(ng ? ng : 1, sizeof(float));
		w->dG = calloc(ng ? ng : 1, sizeof(float));
		w->Gs = calloc(ng ? ng : 1, sizeof(float));
		w->condm = calloc(w->mf.nb ? w->mf.nb : 1, sizeof(float));
		if (!w->G || !w->dG || !w->Gs || !w->condm)
			st = ONR_ENOMEM;
	}
	w->mkey_lo = w->mkey_hi = w->mkey_tilt = NAN;
	if (st || !w->fwd || !w->inv) {
		onr_dreamer_free(w);
		return onr_fail(err, errlen, ONR_ENOMEM,
		                "out of memory, or cannot plan an FFT, for a window of %u samples",
		                window);
	}
	double hz_per_bin = (double)m->sample_rate / window;
	uint32_t lo = 0, hi = 0;
	for (uint32_t k = 0; k < w->nbins; k++) {
		double z = bark(k * hz_per_bin);
		while (bark(lo * hz_per_bin) < z - 0.5)
			lo++;
		if (hi < k)
			hi = k;
		while (hi + 1 < w->nbins && bark((hi + 1) * hz_per_bin) <= z + 0.5)
			hi++;
		w->bark_lo[k] = lo;
		w->bark_hi[k] = hi;
	}
	*out = w;
	return ONR_OK;
}

/* The gradient's gain per frequency bin: the dream band times the tilt in dB
 * per octave around 1 kHz; 0 at DC. And the delta's final band limit. */
/* 1 inside [lo, hi] Hz, a raised-cosine skirt half an octave wide outside
 * each edge, 0 beyond. */
static double band_gain(double f, double lo, double hi)
{
	double oct_lo = log2(f / (lo > 1.0 ? lo : 1.0)), oct_hi = log2((hi > 1.0 ? hi : 1.0) / f);
	if (oct_lo < -0.5 || oct_hi < -0.5)
		return 0.0;
	double g = 1.0;
	if (oct_lo < 0.0)
		g *= 0.5 + 0.5 * cos(M_PI * -oct_lo / 0.5);
	if (oct_hi < 0.0)
		g *= 0.5 + 0.5 * cos(M_PI * -oct_hi / 0.5);
	return g;
}

static void update_conditioning(onr_dreamer *w, const onr_dream_params *p)
{
	if (p->band_lo == w->key_lo && p->band_hi == w->key_hi && p->tilt_db == w->key_tilt)
		return;
	double hz_per_bin = (double)w->m->sample_rate / w->W;
	/* the delta itself stays below 0.7 of the model's Nyquist frequency
	 * (its skirt ends just under it), inside what the resamplers pass */
	double top = 0.7 * w->m->sample_rate / 2.0;
	double hi_final = p->band_hi < top ? p->band_hi : top;
	w->cond[0] = w->final[0] = 0.0f; /* never dream a DC offset */
	for (uint32_t k = 1; k < w->nbins; k++) {
		double f = k * hz_per_bin;
		double gain = band_gain(f, p->band_lo, p->band_hi);
		gain *= pow(10.0, p->tilt_db * log2(f / 1000.0) / 20.0);
		w->cond[k] = (float)gain;
		w->final[k] = (float)(band_gain(f, p->band_lo, hi_final) / w->W);
	}
	w->key_lo = p->band_lo;
	w->key_hi = p->band_hi;
	w->key_tilt = p->tilt_db;
}

/* g <- irfft(cond * rfft(g)), optionally with the magnitude smoothed over
 * one Bark around each bin (phase kept). Returns mean |g| afterwards. */
static double condition(onr_dreamer *w, int smooth)
{
	fftwf_execute_dft_r2c(w->fwd, w->g, w->spec);
	uint32_t nb = w->nbins;
	if (smooth) {
		w->cum[0] = 0.0;
		for (uint32_t k = 0; k < nb; k++) {
			float re = w->spec[k][0], im = w->spec[k][1];
			w->mag[k] = sqrtf(re * re + im * im);
			w->cum[k + 1] = w->cum[k] + w->mag[k];
		}
		for (uint32_t k = 0; k < nb; k++) {
			uint32_t a = w->bark_lo[k], b = w->bark_hi[k];
			double avg = (w->cum[b + 1] - w->cum[a]) / (double)(b + 1 - a);
			float s = w->mag[k] > 1e-30f ? (float)(avg / w->mag[k]) : 0.0f;
			w->spec[k][0] *= s * w->cond[k];
			w->spec[k][1] *= s * w->cond[k];
		}
	} else {
		for (uint32_t k = 0; k < nb; k++) {
			w->spec[k][0] *= w->cond[k];
			w->spec[k][1] *= w->cond[k];
		}
	}
	fftwf_execute_dft_c2r(w->inv, w->spec, w->g);
	double s = 0.0;
	for (uint32_t i = 0; i < w->W; i++)
		s += fabsf(w->g[i]);
	return s / w->W;
}

void onr_dreamer_seed(onr_dreamer *w, uint64_t seed)
{
	w->seed = seed;
}

void onr_dreamer_listen(onr_dreamer *w, const float *x, float *probs)
{
	float scale = onr_input_scale(w->m, x, w->W);
	if (onr_net_forward(w->net, x, w->W, scale, UINT32_MAX) == ONR_OK)
		onr_net_probs(w->net, probs);
	else
		for (uint32_t k = 0; k < w->m->n_classes; k++)
			probs[k] = 1.0f / (float)w->m->n_classes;
}

/* mean(a^2) of each block's output (its pre-activation when pre) up to
 * `deep` ops. */
static void layer_energies(onr_dreamer *w, uint32_t deep, int pre, double *out)
{
	const onr_model *m = w->m;
	for (uint32_t b = 0; b < ONR_MAX_BLOCKS; b++) {
		out[b] = 0.0;
		if (b >= m->n_blocks || (pre ? m->block_pre[b] : m->block_last[b]) > deep)
			continue;
		uint32_t C, T;
		const float *a = onr_net_block_output(w->net, b, pre, &C, &T);
		if (!a)
			continue;
		double s = 0.0;
		size_t n = (size_t)C * T;
		for (size_t i = 0; i < n; i++)
			s += (double)a[i] * a[i];
		out[b] = n ? s / n : 0.0;
	}
}

int onr_dream_second_check(const onr_model *m, const onr_model *m2, uint32_t window, char *err,
                           size_t errlen)
{
	if (m2->sample_rate != m->sample_rate)
		return onr_fail(err, errlen, ONR_EINVAL,
		                "the second model runs at %u Hz and the first at %u Hz: both models "
		                "must run at the same rate", m2->sample_rate, m->sample_rate);
	if (m2->min_len > window)
		return onr_fail(err, errlen, ONR_EINVAL,
		                "the second model needs windows of at least %u samples, the dream's "
		                "are %u: a longer window fits it", m2->min_len, window);
	return ONR_OK;
}

int onr_dreamer_set_second(onr_dreamer *w, const onr_model *m2, char *err, size_t errlen)
{
	int st = onr_dream_second_check(w->m, m2, w->W, err, errlen);
	if (st)
		return st;
	onr_net *net = NULL;
	float *g = calloc(w->W, sizeof *g);
	st = g ? onr_net_new(&net, m2, w->W, 0) : ONR_ENOMEM;
	if (st) {
		free(g);
		return onr_fail(err, errlen, st, "out of memory for the second model");
	}
	onr_net_free(w->net2);
	free(w->g2);
	w->m2 = m2;
	w->net2 = net;
	w->g2 = g;
	return ONR_OK;
}

/* This run's objective for the second model (w->obj2, w->use2): toward the
 * class of the same name (none: the first model alone); the layer weights
 * carried over by relative depth (block i of the first model's n1 adds its
 * weight to block round(i (n2 - 1) / (n1 - 1)) of the second's n2), so "the
 * middle layers" stay the middle layers; a single filter has no
 * counterpart (the first model alone). */
static void second_objective(onr_dreamer *w, const onr_dream_params *p)
{
	w->use2 = 0;
	if (!w->net2 || !(p->second_share > 0.0f))
		return;
	const onr_model *m = w->m, *m2 = w->m2;
	onr_objective *o = &w->obj2;
	memset(o, 0, sizeof *o);
	o->mode = p->obj.mode;
	o->pre = p->obj.pre;
	if (p->obj.mode == ONR_OBJ_CLASS) {
		if (p->obj.cls >= m->n_classes)
			return;
		o->cls = onr_model_class_index(m2, m->class_names[p->obj.cls], 0);
		if (o->cls == UINT32_MAX)
			return;
	} else if (p->obj.mode == ONR_OBJ_LAYERS) {
		/* every weight lands on a block of the second model (mapped
		 * forward, so none is lost when the second has fewer blocks) */
		uint32_t n1 = m->n_blocks, n2 = m2->n_blocks;
		for (uint32_t i = 0; i < n1 && i < ONR_MAX_BLOCKS; i++) {
			uint32_t j = n1 > 1 ? (uint32_t)lround((double)i * (n2 - 1) / (n1 - 1)) : n2 - 1;
			if (j < ONR_MAX_BLOCKS)
				o->layer_w[j] += p->obj.layer_w[i];
		}
	} else {
		return;
	}
	if (onr_objective_check(m2, o, NULL, 0) != ONR_OK ||
	    onr_objective_depth(m2, o) == UINT32_MAX)
		return;
	w->use2 = 1;
}

/* The objective's gradient at x (n samples, times gain) into g, J the first
 * model's value. With a second model, the two gradients are each brought
 * to unit RMS and mixed by second_share: their units differ by orders of
 * magnitude, and neither should win by them. A view shorter than the
 * second model's input, or a flat second gradient, leaves the first's. */
static int objective_grad(onr_dreamer *w, const onr_dream_params *p, const float *x, uint32_t n,
                          float gain, float *J, float *g)
{
	int st = onr_net_objective(w->net, &p->obj, x, n, w->s1 * gain, J, g);
	if (st || !w->use2 || n < w->m2->min_len)
		return st;
	float J2;
	if (onr_net_objective(w->net2, &w->obj2, x, n, w->s2 * gain, &J2, w->g2) != ONR_OK)
		return st;
	double e1 = 0.0, e2 = 0.0;
	for (uint32_t i = 0; i < n; i++) {
		e1 += (double)g[i] * g[i];
		e2 += (double)w->g2[i] * w->g2[i];
	}
	if (!(e2 > 0.0) || !isfinite(e2))
		return st;
	double share = p->second_share < 1.0f ? p->second_share : 1.0;
	float a = e1 > 0.0 && isfinite(e1) ? (float)((1.0 - share) / sqrt(e1 / n)) : 0.0f;
	float b = (float)(share / sqrt(e2 / n));
	for (uint32_t i = 0; i < n; i++)
		g[i] = a * g[i] + b * w->g2[i];
	return st;
}

/* Transformation-robust ascent: w->g <- the mean over `copies` random views
 * of the gradient at w->x (see onr_dream_params). A view is the dry window
 * x0 cropped at offset a plus the dream so far (x - x0) cropped at offset b,
 * each W - shift samples long, a and b uniform in 0..shift, the sum times a
 * gain of +-gain_db; the view's gradient goes back to the dream samples it
 * was made of, so the views together cover the window. */
static int jittered_gradient(onr_dreamer *w, const onr_dream_params *p, const float *x0,
                             uint32_t shift, uint32_t copies, uint64_t *rng)
{
	uint32_t W = w->W, n = W - shift;
	memset(w->g, 0, W * sizeof(float));
	for (uint32_t c = 0; c < copies; c++) {
		uint32_t a = (uint32_t)(onr_uniform01(rng) * (shift + 1));
		uint32_t b = (uint32_t)(onr_uniform01(rng) * (shift + 1));
		double u = 2.0 * onr_uniform01(rng) - 1.0;
		float gain = p->jitter_gain_db > 0.0f ? (float)db_to_amp(u * p->jitter_gain_db) : 1.0f;
		const float *xa = x0 + a, *xb = w->x + b, *x0b = x0 + b;
		for (uint32_t i = 0; i < n; i++)
			w->v[i] = xa[i] + (xb[i] - x0b[i]);
		float J;
		int st = objective_grad(w, p, w->v, n, gain, &J, w->gv);
		if (st)
			return st;
		float *gb = w->g + b;
		for (uint32_t i = 0; i < n; i++)
			gb[i] += w->gv[i];
	}
	float inv = 1.0f / (float)copies;
	for (uint32_t i = 0; i < W; i++)
		w->g[i] *= inv;
	return ONR_OK;
}

/* w->g = the delta w->x - x0 within the delta's final band (w->final: what
 * the resamplers pass, and the user's band) */
static void band_limited_delta(onr_dreamer *w, const float *x0)
{
	for (uint32_t i = 0; i < w->W; i++)
		w->g[i] = w->x[i] - x0[i];
	fftwf_execute_dft_r2c(w->fwd, w->g, w->spec);
	for (uint32_t k = 0; k < w->nbins; k++) {
		w->spec[k][0] *= w->final[k];
		w->spec[k][1] *= w->final[k];
	}
	fftwf_execute_dft_c2r(w->inv, w->spec, w->g);
}

/* The magnitude form's band and tilt per filter bin, as update_conditioning
 * gives the additive form's. */
static void update_mag_conditioning(onr_dreamer *w, const onr_dream_params *p)
{
	if (p->band_lo == w->mkey_lo && p->band_hi == w->mkey_hi && p->tilt_db == w->mkey_tilt)
		return;
	w->condm[0] = 0.0f; /* the DC bin's gain stays 1 */
	for (uint32_t k = 1; k < w->mf.nb; k++) {
		double f = onr_magfilter_bin_hz(&w->mf, k, w->m->sample_rate);
		double gain = band_gain(f, p->band_lo, p->band_hi);
		gain *= pow(10.0, p->tilt_db * log2(f / 1000.0) / 20.0);
		w->condm[k] = (float)gain;
	}
	w->mkey_lo = p->band_lo;
	w->mkey_hi = p->band_hi;
	w->mkey_tilt = p->tilt_db;
}

/* dG <- its [1 2 1] / 4 blur over neighbouring bins and over neighbouring
 * frames (edges repeated): a gain surface that varies smoothly, so the
 * filter does not flicker bin by bin. Returns mean |dG| afterwards. */
static double smooth_gains(onr_dreamer *w)
{
	uint32_t T = w->mf.T, nb = w->mf.nb;
	float *d = w->dG, *s = w->Gs;
	for (uint32_t t = 0; t < T; t++) {
		const float *r = d + (size_t)t * nb;
		float *o = s + (size_t)t * nb;
		for (uint32_t k = 0; k < nb; k++) {
			float l = r[k ? k - 1 : 0], h = r[k + 1 < nb ? k + 1 : k];
			o[k] = 0.25f * l + 0.5f * r[k] + 0.25f * h;
		}
	}
	double sum = 0.0;
	for (uint32_t t = 0; t < T; t++) {
		const float *a = s + (size_t)(t ? t - 1 : 0) * nb, *c = s + (size_t)t * nb;
		const float *b = s + (size_t)(t + 1 < T ? t + 1 : t) * nb;
		float *o = d + (size_t)t * nb;
		for (uint32_t k = 0; k < nb; k++) {
			o[k] = 0.25f * a[k] + 0.5f * c[k] + 0.25f * b[k];
			sum += fabsf(o[k]);
		}
	}
	return sum / ((double)T * nb);
}

/* The magnitude form of onr_dreamer_run's ascent: gains G per bin and frame
 * within 1 +- b, x = x(G); leaves the dreamed window in w->x. */
static void magnitude_ascent(onr_dreamer *w, const onr_dream_params *p, const float *x0,
                             uint32_t K, int jitter, uint32_t shift,
                             uint32_t copies, uint64_t *rng, float *before,
                             double *layers_before, uint32_t deep)
{
	onr_magfilter *mf = &w->mf;
	size_t ng = (size_t)mf->T * mf->nb;
	double b = fmin(db_to_amp(p->bound_db), 1.0);
	float lo = (float)(1.0 - b), hi = (float)(1.0 + b);
	update_mag_conditioning(w, p);
	onr_magfilter_analyse(mf, x0);
	for (size_t i = 0; i < ng; i++)
		w->G[i] = 1.0f;
	memcpy(w->x, x0, w->W * sizeof(float)); /* x(1) = x0 */
	float step = (float)(p->depth * 0.5 * b);
	for (uint32_t k = 0; k < K; k++) {
		float J;
		double t0 = w->timing ? clock_s() : 0.0;
		if (jitter ? jittered_gradient(w, p, x0, shift, copies, rng)
		           : objective_grad(w, p, w->x, w->W, 1.0f, &J, w->g))
			break;
		double t1 = w->timing ? clock_s() : 0.0;
		if (k == 0 && !jitter) {
			if (before)
				*before = J;
			if (layers_before)
				layer_energies(w, deep, p->obj.pre, layers_before);
		}
		onr_magfilter_grad(mf, w->g, w->dG);
		for (uint32_t t = 0; t < mf->T; t++) {
			float *d = w->dG + (size_t)t * mf->nb;
			for (uint32_t q = 0; q < mf->nb; q++)
				d[q] *= w->condm[q];
		}
		double mean = smooth_gains(w);
		if (w->timing) {
			w->t_fb += t1 - t0;
			w->t_cond += clock_s() - t1;
		}
		if (!(mean > 1e-30) || !isfinite(mean))
			break; /* a flat objective here: stop, keep what we have */
		float a = (float)(step / mean);
		for (size_t i = 0; i < ng; i++) {
			float v = w->G[i] + a * w->dG[i];
			w->G[i] = v < lo ? lo : (v > hi ? hi : v);
		}
		onr_magfilter_apply(mf, w->G, w->x);
	}
}

int onr_dreamer_run(onr_dreamer *w, const onr_dream_params *p, const float *x0, float *delta,
                    float bound_abs, float *before, float *after, double *layers_before,
                    double *layers_after)
{
	const onr_model *m = w->m;
	uint32_t W = w->W;
	/* this run's random views; the next run gets the next seed */
	uint64_t rng = (w->seed++ ^ 0x6A09E667F3BCC909ull) * 0x9E3779B97F4A7C15ull;
	memset(delta, 0, W * sizeof(float));
	if (before)
		*before = 0.0f;
	if (after)
		*after = 0.0f;
	uint32_t deep = onr_objective_depth(m, &p->obj);
	double ss = 0.0;
	for (uint32_t i = 0; i < W; i++)
		ss += (double)x0[i] * x0[i];
	double rms = sqrt(ss / W);
	if (!isfinite(rms))
		return 1; /* cannot happen from the stream (its input is sanitised) */
	double bound;
	if (bound_abs >= 0.0f)
		bound = bound_abs;
	else if (rms < db_to_amp(p->floor_db))
		bound = 0.0;
	else
		bound = rms * db_to_amp(p->bound_db);
	uint32_t K = p->iterations < w->max_iter ? p->iterations : w->max_iter;
	if (deep == UINT32_MAX || bound <= 0.0 || K == 0 || p->depth <= 0.0f)
		return 1; /* nothing to dream: delta stays 0 */
	update_conditioning(w, p);
	/* how much of the bound each sample gets: the sound's RMS envelope over
	 * the 10 ms before it and 0.25 ms after (it looks back, not ahead, so the
	 * dream does not reach before an onset: no pre-echo), over the window's
	 * RMS, at most 1 (or all of it, for one bound per window). The magnitude
	 * form keeps the envelope unclipped (env_share) for its own limit. */
	float *fol = w->follow;
	int follow_env = !(p->window_bound || bound_abs >= 0.0f);
	if (!follow_env) {
		for (uint32_t i = 0; i < W; i++)
			fol[i] = 1.0f;
	} else {
		uint32_t back = m->sample_rate / 100, ahead = m->sample_rate / 4000;
		double acc = 0.0;
		uint32_t lo = 0, hi = 0;          /* the sum covers [lo, hi) */
		for (uint32_t i = 0; i < W; i++) {
			uint32_t want_hi = i + ahead + 1 < W ? i + ahead + 1 : W;
			uint32_t want_lo = i > back ? i - back : 0;
			for (; hi < want_hi; hi++)
				acc += (double)x0[hi] * x0[hi];
			for (; lo < want_lo; lo++)
				acc -= (double)x0[lo] * x0[lo];
			double env = sqrt(fmax(acc, 0.0) / (double)(hi - lo));
			fol[i] = (float)(env / rms);
		}
		if (onr_dream_form_of(p) != ONR_DREAM_MAGNITUDE || !w->mf.W)
			for (uint32_t i = 0; i < W; i++)
				fol[i] = fminf(1.0f, fol[i]);
	}
	float scale = onr_input_scale(m, x0, W);
	w->s1 = scale;
	second_objective(w, p);
	if (w->use2)
		w->s2 = onr_input_scale(w->m2, x0, W);
	float step = (float)(p->depth * 0.5 * bound);
	/* jitter: the largest shift in samples, limited so that a view stays as
	 * long as the model's shortest input. Off: the plain ascent. */
	uint32_t shift = 0;
	if (p->jitter_ms > 0.0f) {
		double s = round((double)p->jitter_ms * 1e-3 * m->sample_rate);
		/* views stay as long as the shortest input of each model heard */
		uint32_t need = w->use2 && w->m2->min_len > m->min_len ? w->m2->min_len : m->min_len;
		shift = s < (double)(W - need) ? (uint32_t)s : W - need;
	}
	int jitter = shift > 0 || p->jitter_gain_db > 0.0f;
	uint32_t copies = p->jitter_copies < 1 ? 1 : p->jitter_copies;
	if (copies > ONR_DREAM_MAX_COPIES)
		copies = ONR_DREAM_MAX_COPIES;
	if (jitter && (before || layers_before)) {
		/* J before: of the whole window, as the plain ascent reports it */
		float J;
		if (onr_net_objective(w->net, &p->obj, x0, W, scale, &J, NULL) == ONR_OK) {
			if (before)
				*before = J;
			if (layers_before)
				layer_energies(w, deep, p->obj.pre, layers_before);
		}
	}
	if (onr_dream_form_of(p) == ONR_DREAM_MAGNITUDE && w->mf.W) {
		magnitude_ascent(w, p, x0, K, jitter, shift, copies, &rng, before, layers_before,
		                 deep);
		/* the delta is the dry sound filtered, so it follows its envelope
		 * already; but it reaches up to the model's Nyquist frequency,
		 * where the upsampler's filter rings (before onsets too), so it is
		 * band-limited as the additive form's is; and a 16 ms frame spreads
		 * a gain on an onset to the silence before it, so each sample's
		 * change is also held within twice the bound of the envelope
		 * looking back (no pre-echo), and within full scale (or the input's
		 * own level) */
		double b = fmin(db_to_amp(p->bound_db), 1.0);
		band_limited_delta(w, x0);
		for (uint32_t i = 0; i < W; i++) {
			float d = w->g[i];
			if (follow_env) {
				float lim = (float)(2.0 * b * rms) * fol[i];
				d = d < -lim ? -lim : (d > lim ? lim : d);
			}
			float lo = fminf(-1.0f, x0[i]) - x0[i], hi = fmaxf(1.0f, x0[i]) - x0[i];
			d = d < lo ? lo : (d > hi ? hi : d);
			delta[i] = isfinite(d) ? d : 0.0f;
			w->x[i] = x0[i] + delta[i];
		}
		goto measured;
	}
	memcpy(w->x, x0, W * sizeof(float));
	for (uint32_t k = 0; k < K; k++) {
		float J;
		double t0 = w->timing ? clock_s() : 0.0;
		if (jitter ? jittered_gradient(w, p, x0, shift, copies, &rng)
		           : objective_grad(w, p, w->x, W, 1.0f, &J, w->g))
			break;
		double t1 = w->timing ? clock_s() : 0.0;
		if (k == 0 && !jitter) {
			if (before)
				*before = J;
			if (layers_before)
				layer_energies(w, deep, p->obj.pre, layers_before);
		}
		double mean = condition(w, p->smooth);
		if (w->timing) {
			double t2 = clock_s();
			w->t_fb += t1 - t0;
			w->t_cond += t2 - t1;
		}
		if (!(mean > 1e-30) || !isfinite(mean))
			break; /* a flat objective here: stop, keep what we have */
		float a = (float)(step / mean);
		for (uint32_t i = 0; i < W; i++) {
			float v = w->x[i] + a * w->g[i];
			/* |x - x0| <= bound, and within full scale unless the input
			 * itself is beyond it (then no further out than it is) */
			float b = (float)bound * fol[i];
			float lo = fmaxf(x0[i] - b, fminf(-1.0f, x0[i]));
			float hi = fminf(x0[i] + b, fmaxf(1.0f, x0[i]));
			w->x[i] = v < lo ? lo : (v > hi ? hi : v);
		}
	}
	/* The projection leaves hard edges (samples pinned at the bound) that a
	 * band-limited upsampler would rebuild into peaks well past the bound.
	 * So the delta is band-limited here, then scaled back under the bound as
	 * a whole, and kept within full scale (or the input's own level). */
	band_limited_delta(w, x0);
	float peak = 0.0f;
	for (uint32_t i = 0; i < W; i++)
		if (fabsf(w->g[i]) > peak)
			peak = fabsf(w->g[i]);
	float shrink = peak > (float)bound ? (float)bound / peak : 1.0f;
	for (uint32_t i = 0; i < W; i++) {
		float d = w->g[i] * shrink * fol[i];
		float lo = fminf(-1.0f, x0[i]) - x0[i], hi = fmaxf(1.0f, x0[i]) - x0[i];
		d = d < lo ? lo : (d > hi ? hi : d);
		delta[i] = isfinite(d) ? d : 0.0f;
		w->x[i] = x0[i] + delta[i];
	}
measured:
	if (after || layers_after) {
		float J = 0.0f;
		onr_net_objective(w->net, &p->obj, w->x, W, scale, &J, NULL);
		if (after)
			*after = J;
		if (layers_after)
			layer_energies(w, deep, p->obj.pre, layers_after);
	}
	return 0;
}

/* ================================================================ the stream */
typedef struct {
	SRC_STATE *down, *up;
	float stage[CHUNK];   /* host samples waiting for the downsampler */
	float *ym;            /* (ym_cap) model-rate input, ym[0] = window start */
	uint32_t ym_len;
	float *ola;           /* (ola_len) overlap-added delta from the start of the
	                         oldest window not yet collected */
	float *ufifo;         /* (u_cap) upsampled delta, a ring */
	uint32_t u_rd, u_len;
	float *tmp;           /* (tmp_cap) resampler output scratch */
} dchan;

/* One window's dream, handed between the stream (which submits it and later
 * collects it) and whoever runs it: the stream itself (synchronous) or a
 * worker thread (asynchronous, see onr_dream_work). */
enum { JOB_FREE = 0, JOB_SUBMITTED = 1, JOB_RUNNING = 2, JOB_DONE = 3 };
#define MAX_JOBS 64           /* job slots: the deferral plus room for late ones */

typedef struct {
	_Atomic int state;
	uint64_t seq;             /* which window */
	onr_dream_params p;       /* the settings it was submitted with */
	float *x0[ONR_DREAM_MAX_CHANNELS];    /* (W) each dream channel's input */
	float *delta[ONR_DREAM_MAX_CHANNELS]; /* (W) its dream */
	int skipped[ONR_DREAM_MAX_CHANNELS];
	float before[ONR_DREAM_MAX_CHANNELS], after[ONR_DREAM_MAX_CHANNELS];
	float heard[ONR_MAX_CLASSES]; /* class probabilities of the dry window, mean
	                                 over the dream channels */
	double lb[ONR_DREAM_MAX_CHANNELS][ONR_MAX_BLOCKS], la[ONR_DREAM_MAX_CHANNELS][ONR_MAX_BLOCKS];
} djob;

struct onr_dream {
	const onr_model *m;
	onr_dream_config cfg;
	onr_dream_params p, p_next;
	uint32_t W, hop, rate;
	uint32_t nd;          /* dream channels: 1 when linked */
	double ratio_down, ratio_up;
	int resample;         /* 0 when the host runs at the model's rate */
	dchan ch[ONR_DREAM_MAX_CHANNELS];
	uint32_t stage_len;
	uint32_t ym_cap, u_cap, tmp_cap, ola_len;
	float *win;           /* (W) synthesis window, sums to 1 over the hops */
	djob jobs[MAX_JOBS];
	uint32_t njobs;       /* slots in use: defer + 2 */
	uint32_t defer;       /* a window is collected this many hops after it is
	                         submitted: at least two host blocks of time */
	uint64_t win_seq;     /* windows submitted so far */
	int async;            /* jobs run by onr_dream_work on another thread */
	void (*notify)(void *);   /* async: called (audio thread) when a job is submitted */
	void *notify_arg;
	_Atomic int dreamer_busy; /* one runner of the dreamer at a time */
	int listen;           /* classify every dry window (onr_dream_heard) */
	float heard[ONR_MAX_CLASSES];
	uint64_t heard_seq;
	float *dry[ONR_DREAM_MAX_CHANNELS]; /* delay lines of `latency` samples */
	uint32_t dry_pos;
	uint32_t latency, prefill;
	uint32_t lead;        /* host zeros fed before the stream (see reset) */
	float mix_now;        /* smoothed mix */
	int started;          /* process() has run since the last reset */
	float mix_coef;
	onr_dreamer *dreamer;
	onr_dream_stats stats;
	int timing;
	/* latency measurement */
	int measuring;
	uint64_t host_count;  /* host samples consumed (measurement) */
	uint64_t u_count;     /* upsampled samples produced (measurement) */
	int64_t worst_lag;
};

uint32_t onr_dream_latency(const onr_dream *d)
{
	return d->latency;
}

void onr_dream_geometry(const onr_dream *d, uint32_t *window, uint32_t *hop, uint32_t *rate)
{
	if (window)
		*window = d->W;
	if (hop)
		*hop = d->hop;
	if (rate)
		*rate = d->rate;
}

const onr_dream_stats *onr_dream_get_stats(const onr_dream *d)
{
	return &d->stats;
}

void onr_dream_reset_stats(onr_dream *d)
{
	memset(&d->stats, 0, sizeof d->stats);
	d->dreamer->t_fb = d->dreamer->t_cond = 0.0;
}

void onr_dream_set_timing(onr_dream *d, int on)
{
	d->timing = on;
	d->dreamer->timing = on;
}

void onr_dream_set_params(onr_dream *d, const onr_dream_params *p)
{
	d->p_next = *p;
	onr_dream_params_sanitize(&d->p_next, d->m);
	if (!d->started)
		d->mix_now = d->p_next.mix; /* nothing heard yet: no glide */
}

void onr_dream_free(onr_dream *d)
{
	if (!d)
		return;
	for (uint32_t c = 0; c < ONR_DREAM_MAX_CHANNELS; c++) {
		dchan *q = &d->ch[c];
		if (q->down)
			src_delete(q->down);
		if (q->up)
			src_delete(q->up);
		free(q->ym);
		free(q->ola);
		free(q->ufifo);
		free(q->tmp);
		free(d->dry[c]);
	}
	free(d->win);
	for (uint32_t k = 0; k < MAX_JOBS; k++)
		for (uint32_t c = 0; c < ONR_DREAM_MAX_CHANNELS; c++) {
			free(d->jobs[k].x0[c]);
			free(d->jobs[k].delta[c]);
		}
	onr_dreamer_free(d->dreamer);
	free(d);
}

/* Resamples n samples of `in` through `st` into out (cap); returns how many
 * came out. Real-time safe: libsamplerate's process call does not allocate. */
static uint32_t resample(SRC_STATE *st, double ratio, const float *in, uint32_t n, float *out,
                         uint32_t cap)
{
	SRC_DATA sd;
	memset(&sd, 0, sizeof sd);
	sd.data_in = in;
	sd.input_frames = n;
	sd.data_out = out;
	sd.output_frames = cap;
	sd.src_ratio = ratio;
	sd.end_of_input = 0;
	if (src_process(st, &sd) != 0)
		return 0;
	/* cap is sized so that all input is always consumed */
	return (uint32_t)sd.output_frames_gen;
}

static void u_push(onr_dream *d, dchan *q, const float *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (q->u_len == d->u_cap)
			return; /* cannot happen with the capacity chosen; drop */
		q->ufifo[(q->u_rd + q->u_len) % d->u_cap] = v[i];
		q->u_len++;
	}
}

/* Runs a job's dream for every channel. Whoever calls it holds the dreamer
 * (dreamer_busy). Any thread; allocation-free. */
static void run_job(onr_dream *d, djob *j)
{
	uint32_t nc = d->m->n_classes;
	memset(j->heard, 0, nc * sizeof(float));
	for (uint32_t c = 0; c < d->nd; c++) {
		if (!d->measuring && d->listen) {
			float p[ONR_MAX_CLASSES];
			onr_dreamer_listen(d->dreamer, j->x0[c], p);
			for (uint32_t k = 0; k < nc; k++)
				j->heard[k] += p[k] / (float)d->nd;
		}
		if (d->measuring) {
			memset(j->delta[c], 0, d->W * sizeof(float));
			j->skipped[c] = 1;
		} else if (d->cfg.test_identity) {
			for (uint32_t i = 0; i < d->W; i++)
				j->delta[c][i] = 0.5f * j->x0[c][i];
			j->before[c] = j->after[c] = 0.0f;
			memset(j->lb[c], 0, sizeof j->lb[c]);
			memset(j->la[c], 0, sizeof j->la[c]);
			j->skipped[c] = 0;
		} else {
			/* the jitter's random views follow the window's place in the
			 * stream (and the channel), never the block sizes */
			onr_dreamer_seed(d->dreamer, j->seq * ONR_DREAM_MAX_CHANNELS + c);
			j->skipped[c] = onr_dreamer_run(d->dreamer, &j->p, j->x0[c], j->delta[c], -1.0f,
			                                &j->before[c], &j->after[c], j->lb[c], j->la[c]);
		}
	}
}

static void take_dreamer(onr_dream *d)
{
	int expect = 0;
	while (!atomic_compare_exchange_weak(&d->dreamer_busy, &expect, 1)) {
		expect = 0;
		sched_yield();
	}
}

int onr_dream_work(onr_dream *d)
{
	int ran = 0;
	for (uint32_t k = 0; k < d->njobs; k++) {
		djob *j = &d->jobs[k];
		int expect = JOB_SUBMITTED;
		if (!atomic_compare_exchange_strong(&j->state, &expect, JOB_RUNNING))
			continue;
		take_dreamer(d);
		run_job(d, j);
		atomic_store(&d->dreamer_busy, 0);
		atomic_store_explicit(&j->state, JOB_DONE, memory_order_release);
		ran++;
	}
	return ran;
}

void onr_dream_set_listen(onr_dream *d, int on)
{
	d->listen = on;
}

uint64_t onr_dream_heard(const onr_dream *d, float *probs)
{
	if (probs)
		memcpy(probs, d->heard, d->m->n_classes * sizeof(float));
	return d->heard_seq;
}

int onr_dream_inherit(onr_dream *d, const onr_dream *old)
{
	if (old->latency != d->latency || old->cfg.channels != d->cfg.channels)
		return 0;
	for (uint32_t c = 0; c < d->cfg.channels && d->latency; c++)
		memcpy(d->dry[c], old->dry[c], d->latency * sizeof(float));
	d->dry_pos = old->dry_pos;
	d->mix_now = old->mix_now;
	return 1;
}

void onr_dream_set_async(onr_dream *d, int on, void (*notify)(void *), void *arg)
{
	d->notify = notify;
	d->notify_arg = arg;
	d->async = on;
}

/* Audio side: the window at the head of each channel's FIFO becomes job
 * win_seq. Synchronous: run now. Asynchronous: hand it to the worker, or
 * drop it (dry) if its slot is still busy with an old, late window. */
static void submit_window(onr_dream *d, uint64_t seq)
{
	djob *j = &d->jobs[seq % d->njobs];
	int st = atomic_load_explicit(&j->state, memory_order_acquire);
	if (st == JOB_SUBMITTED || st == JOB_RUNNING)
		return; /* the worker is a ring of windows behind: this one is lost,
		           and counted late when it is due */
	if (!d->measuring)
		d->p = d->p_next;
	j->seq = seq;
	j->p = d->p;
	for (uint32_t c = 0; c < d->nd; c++)
		memcpy(j->x0[c], d->ch[c].ym, d->W * sizeof(float));
	if (d->async && !d->measuring) {
		atomic_store_explicit(&j->state, JOB_SUBMITTED, memory_order_release);
		if (d->notify)
			d->notify(d->notify_arg);
	} else {
		take_dreamer(d);
		run_job(d, j);
		atomic_store(&d->dreamer_busy, 0);
		atomic_store_explicit(&j->state, JOB_DONE, memory_order_release);
	}
}

/* Audio side: window `seq` is due. Synchronous mode finishes it whatever it
 * takes; asynchronous mode uses it only if it is done, else counts it late. */
static void collect_window(onr_dream *d, uint64_t seq)
{
	djob *j = &d->jobs[seq % d->njobs];
	if (!d->async) {
		/* freewheel / offline: never skip a window */
		int expect = JOB_SUBMITTED;
		if (j->seq == seq &&
		    atomic_compare_exchange_strong(&j->state, &expect, JOB_RUNNING)) {
			take_dreamer(d);
			run_job(d, j);
			atomic_store(&d->dreamer_busy, 0);
			atomic_store_explicit(&j->state, JOB_DONE, memory_order_release);
		}
		while (j->seq == seq && atomic_load_explicit(&j->state, memory_order_acquire) ==
		                            JOB_RUNNING)
			sched_yield();
	}
	if (j->seq != seq || atomic_load_explicit(&j->state, memory_order_acquire) != JOB_DONE) {
		d->stats.late++;
		return;
	}
	if (!d->measuring) {
		for (uint32_t c = 0; c < d->nd; c++) {
			dchan *q = &d->ch[c];
			if (j->skipped[c]) {
				d->stats.skipped++;
				continue;
			}
			d->stats.windows++;
			d->stats.obj_before += j->before[c];
			d->stats.obj_after += j->after[c];
			for (uint32_t b = 0; b < ONR_MAX_BLOCKS; b++) {
				d->stats.layer_before[b] += j->lb[c][b];
				d->stats.layer_after[b] += j->la[c][b];
			}
			for (uint32_t i = 0; i < d->W; i++)
				q->ola[i] += d->win[i] * j->delta[c][i];
		}
	}
	if (!d->measuring && d->listen) {
		memcpy(d->heard, j->heard, d->m->n_classes * sizeof(float));
		d->heard_seq++;
	}
	atomic_store_explicit(&j->state, JOB_FREE, memory_order_release);
	d->stats.t_forward_backward = d->dreamer->t_fb;
	d->stats.t_condition = d->dreamer->t_cond;
}

/* A window is ready in every dream channel: submit it, collect the one
 * `defer` windows older, and hand the hop that is now final to the upsampler.
 * The OLA buffer starts at the oldest window not yet collected. */
static void run_window(onr_dream *d)
{
	uint32_t W = d->W, hop = d->hop;
	uint64_t seq = d->win_seq++;
	submit_window(d, seq);
	for (uint32_t c = 0; c < d->nd; c++) {
		dchan *q = &d->ch[c];
		memmove(q->ym, q->ym + hop, (q->ym_len - hop) * sizeof(float));
		q->ym_len -= hop;
	}
	if (seq < d->defer)
		return;
	collect_window(d, seq - d->defer);
	for (uint32_t c = 0; c < d->nd; c++) {
		dchan *q = &d->ch[c];
		/* the first hop is final: to the upsampler */
		if (d->resample) {
			double t0 = d->timing ? clock_s() : 0.0;
			uint32_t got = resample(q->up, d->ratio_up, q->ola, hop, q->tmp, d->tmp_cap);
			if (d->timing)
				d->stats.t_resample += clock_s() - t0;
			u_push(d, q, q->tmp, got);
			if (c == 0)
				d->u_count += got;
		} else {
			u_push(d, q, q->ola, hop);
			if (c == 0)
				d->u_count += hop;
		}
		memmove(q->ola, q->ola + hop, (W - hop) * sizeof(float));
		memset(q->ola + W - hop, 0, hop * sizeof(float));
	}
}

/* The staged chunk of every dream channel goes to the downsampler; windows
 * that became complete are dreamed. */
static void feed_chunk(onr_dream *d)
{
	uint32_t n = d->stage_len;
	for (uint32_t c = 0; c < d->nd; c++) {
		dchan *q = &d->ch[c];
		if (d->resample) {
			double t0 = d->timing ? clock_s() : 0.0;
			uint32_t got = resample(q->down, d->ratio_down, q->stage, n, q->ym + q->ym_len,
			                        d->ym_cap - q->ym_len);
			if (d->timing)
				d->stats.t_resample += clock_s() - t0;
			q->ym_len += got;
		} else {
			memcpy(q->ym + q->ym_len, q->stage, n * sizeof(float));
			q->ym_len += n;
		}
	}
	d->stage_len = 0;
	while (d->ch[0].ym_len >= d->W) {
		uint64_t before = d->u_count;
		run_window(d);
		if (d->measuring && d->u_count > before) {
			/* samples before..u_count-1 exist from host time host_count-1 on;
			 * sample j is popped at output time j + prefill */
			for (uint64_t j = before; j < d->u_count; j++) {
				int64_t lag = (int64_t)d->host_count - 1 - (int64_t)j;
				if (lag > d->worst_lag)
					d->worst_lag = lag;
			}
		}
	}
}

static float finite_or_zero(float v)
{
	return isfinite(v) ? v : 0.0f;
}

/* The dream path's view of a sample: finite, and within +-8 (18 dB over
 * full scale), so no level overflows the resamplers or the network. */
static float dream_input(float v)
{
	return isfinite(v) ? fmaxf(-8.0f, fminf(8.0f, v)) : 0.0f;
}

void onr_dream_process(onr_dream *d, const float *const *in, float *const *out, uint32_t n)
{
	uint32_t C = d->cfg.channels, L = d->latency;
	d->started = 1;
	for (uint32_t i = 0; i < n; i++) {
		/* stage the dream input: the mean of the channels, or each */
		if (d->nd == 1) {
			float s = 0.0f;
			for (uint32_t c = 0; c < C; c++)
				s += dream_input(in[c][i]);
			d->ch[0].stage[d->stage_len] = C > 1 ? s / (float)C : s;
		} else {
			for (uint32_t c = 0; c < C; c++)
				d->ch[c].stage[d->stage_len] = dream_input(in[c][i]);
		}
		d->stage_len++;
		d->host_count++;
		if (d->stage_len == CHUNK)
			feed_chunk(d);
		/* output: the dry signal delayed by L, plus mix times the delta */
		d->mix_now += d->mix_coef * (d->p_next.mix - d->mix_now);
		if (fabsf(d->p_next.mix - d->mix_now) < 1e-6f)
			d->mix_now = d->p_next.mix; /* arrive, exactly */
		float mix = d->mix_now;
		float dl[ONR_DREAM_MAX_CHANNELS];
		for (uint32_t c = 0; c < d->nd; c++) {
			dchan *q = &d->ch[c];
			float v = 0.0f;
			if (q->u_len) {
				v = q->ufifo[q->u_rd];
				q->u_rd = (q->u_rd + 1) % d->u_cap;
				q->u_len--;
			}
			dl[c] = v;
		}
		for (uint32_t c = 0; c < C; c++) {
			float x = finite_or_zero(in[c][i]);
			float dry;
			if (L) {
				dry = d->dry[c][d->dry_pos];
				d->dry[c][d->dry_pos] = x;
			} else {
				dry = x;
			}
			float delta = mix * dl[d->nd == 1 ? 0 : c];
			/* adding a zero delta would turn -0.0 into +0.0: depth 0 and
			 * mix 0 give the input bit for bit */
			float y = delta != 0.0f ? dry + delta : dry;
			out[c][i] = y;
			d->stats.delta_sq += (double)delta * delta;
			d->stats.dry_sq += (double)dry * dry;
		}
		if (L)
			d->dry_pos = d->dry_pos + 1 == L ? 0 : d->dry_pos + 1;
		d->stats.samples++;
	}
}

void onr_dream_reset(onr_dream *d)
{
	for (uint32_t c = 0; c < d->nd; c++) {
		dchan *q = &d->ch[c];
		if (q->down)
			src_reset(q->down);
		if (q->up)
			src_reset(q->up);
		q->ym_len = 0;
		memset(q->ym, 0, d->ym_cap * sizeof(float));
		memset(q->ola, 0, d->ola_len * sizeof(float));
		memset(q->ufifo, 0, d->u_cap * sizeof(float));
		q->u_rd = 0;
		q->u_len = d->prefill; /* zeros: the delta before the first window */
	}
	for (uint32_t c = 0; c < d->cfg.channels; c++)
		if (d->dry[c])
			memset(d->dry[c], 0, d->latency * sizeof(float));
	d->dry_pos = 0;
	d->stage_len = 0;
	d->host_count = d->u_count = 0;
	d->win_seq = 0;
	d->heard_seq = 0;
	for (uint32_t k = 0; k < d->m->n_classes; k++)
		d->heard[k] = 1.0f / (float)d->m->n_classes;
	for (uint32_t k = 0; k < d->njobs; k++) {
		djob *j = &d->jobs[k];
		while (atomic_load(&j->state) == JOB_RUNNING)
			sched_yield(); /* a worker finishing an old window */
		atomic_store(&j->state, JOB_FREE);
		j->seq = UINT64_MAX;
	}
	d->mix_now = d->p_next.mix;
	d->started = 0;
	/* lead-in: the stream starts `lead` host zeros early, so the first
	 * samples lie under two windows like all the others, not under the
	 * rising half of the first alone */
	if (d->resample) {
		float zero[CHUNK] = {0};
		for (uint32_t done = 0; done < d->lead; done += CHUNK) {
			uint32_t k = d->lead - done < CHUNK ? d->lead - done : CHUNK;
			for (uint32_t c = 0; c < d->nd; c++) {
				dchan *q = &d->ch[c];
				q->ym_len += resample(q->down, d->ratio_down, zero, k, q->ym + q->ym_len,
				                      d->ym_cap - q->ym_len);
			}
		}
	} else {
		for (uint32_t c = 0; c < d->nd; c++)
			d->ch[c].ym_len = d->lead;
	}
}

/* The group delay, in host samples, of downsampling then upsampling: the
 * peak of a band-limited click sent through fresh converters of the same
 * kind. Rounded to the nearest sample. */
static int measure_group_delay(onr_dream *d, int64_t *out)
{
	int e1, e2;
	SRC_STATE *down = src_new(SRC_TYPE, 1, &e1), *up = src_new(SRC_TYPE, 1, &e2);
	uint32_t n = (uint32_t)(4.0 * d->cfg.host_rate / 10.0) + 4096; /* 0.4 s */
	float *x = calloc(n, sizeof(float));
	float *y = calloc((size_t)(n * d->ratio_down) + 4096, sizeof(float));
	float *z = calloc(n + 8192, sizeof(float));
	int st = ONR_ENOMEM;
	if (down && up && x && y && z) {
		uint32_t t0 = n / 4;
		/* a click band-limited well inside both rates: a Hann-windowed
		 * sinc at a quarter of the lower Nyquist frequency */
		double fc = 0.25 * (d->rate < d->cfg.host_rate ? d->rate : d->cfg.host_rate) / 2.0;
		int half = (int)(8.0 * d->cfg.host_rate / fc);
		for (int k = -half; k <= half; k++) {
			double t = (double)k * fc * 2.0 / d->cfg.host_rate;
			double s = k ? sin(M_PI * t) / (M_PI * t) : 1.0;
			double wdw = 0.5 + 0.5 * cos(M_PI * k / (half + 1));
			x[t0 + k] = (float)(s * wdw);
		}
		uint32_t ny = resample(down, d->ratio_down, x, n, y, (uint32_t)(n * d->ratio_down) + 4096);
		uint32_t nz = resample(up, d->ratio_up, y, ny, z, n + 8192);
		/* the centre of mass of the squared response around its peak:
		 * sub-sample accurate for a symmetric (linear phase) response */
		uint32_t pk = 0;
		for (uint32_t i = 1; i < nz; i++)
			if (fabsf(z[i]) > fabsf(z[pk]))
				pk = i;
		double num = 0.0, den = 0.0;
		for (int k = -half; k <= half; k++) {
			int64_t i = (int64_t)pk + k;
			if (i < 0 || i >= nz)
				continue;
			double e = (double)z[i] * z[i];
			num += e * (double)i;
			den += e;
		}
		if (den > 0.0) {
			*out = (int64_t)llround(num / den) - t0;
			st = ONR_OK;
		}
	}
	if (down)
		src_delete(down);
	if (up)
		src_delete(up);
	free(x);
	free(y);
	free(z);
	return st;
}

int onr_dream_new(onr_dream **out, const onr_model *m, const onr_dream_config *cfg, char *err,
                  size_t errlen)
{
	*out = NULL;
	if (cfg->host_rate < ONR_DREAM_MIN_RATE || cfg->host_rate > ONR_DREAM_MAX_RATE)
		return onr_fail(err, errlen, ONR_EINVAL, "sample rate %u Hz (%u to %u supported)",
		            cfg->host_rate, ONR_DREAM_MIN_RATE, ONR_DREAM_MAX_RATE);
	if (cfg->channels < 1 || cfg->channels > ONR_DREAM_MAX_CHANNELS)
		return onr_fail(err, errlen, ONR_EINVAL, "%u channels (1 to %u supported)", cfg->channels,
		            ONR_DREAM_MAX_CHANNELS);
	uint32_t overlap = cfg->overlap ? cfg->overlap : 2;
	if (overlap != 2 && overlap != 4)
		return onr_fail(err, errlen, ONR_EINVAL, "overlap %u (2 or 4)", overlap);
	uint32_t W = cfg->window ? cfg->window : m->window;
	if (W < m->min_len || W > ONR_MAX_WINDOW || W % overlap)
		return onr_fail(err, errlen, ONR_EINVAL,
		            "a window of %u samples: the model needs %u to %u, divisible by %u", W,
		            m->min_len, ONR_MAX_WINDOW, overlap);
	onr_dream *d = calloc(1, sizeof *d);
	if (!d)
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
	d->m = m;
	d->cfg = *cfg;
	d->cfg.overlap = overlap;
	if (!d->cfg.max_iterations)
		d->cfg.max_iterations = 64;
	d->W = W;
	d->hop = W / overlap;
	d->rate = m->sample_rate;
	d->nd = cfg->stereo == ONR_STEREO_INDEPENDENT ? cfg->channels : 1;
	d->resample = cfg->host_rate != m->sample_rate;
	d->ratio_down = (double)m->sample_rate / cfg->host_rate;
	d->ratio_up = (double)cfg->host_rate / m->sample_rate;
	onr_dream_params_default(&d->p, m);
	d->p_next = d->p;
	/* mix glides with a 20 ms time constant */
	d->mix_coef = (float)(1.0 - exp(-1.0 / (0.02 * cfg->host_rate)));

	int st = onr_dreamer_new(&d->dreamer, m, W, d->cfg.max_iterations, err, errlen);
	if (!st && cfg->second)
		st = onr_dreamer_set_second(d->dreamer, cfg->second, err, errlen);
	if (st) {
		onr_dream_free(d);
		return st;
	}
	/* capacities: the model FIFO holds a window plus one chunk's output; the
	 * resampler scratch one hop's output; the delta FIFO what the latency
	 * keeps in flight plus a hop's burst */
	d->ym_cap = W + (uint32_t)(CHUNK * d->ratio_down) + 64;
	d->tmp_cap = (uint32_t)(d->hop * d->ratio_up) + 64;
	uint32_t burst = d->tmp_cap > d->hop ? d->tmp_cap : d->hop;
	d->u_cap = (uint32_t)((W + 2 * d->hop) * d->ratio_up) + 4 * burst + 4 * CHUNK + 8192;
	d->win = calloc(W, sizeof(float));
	d->ola_len = W;
	/* a window submitted now is due `defer` hops later: give the worker at
	 * least two of the host's blocks of real time */
	uint32_t max_block = cfg->max_block ? cfg->max_block : 4096;
	double hop_host = d->hop * d->ratio_up;
	d->defer = (uint32_t)ceil(2.0 * max_block / hop_host);
	if (d->defer < 1)
		d->defer = 1;
	if (d->defer + 2 > MAX_JOBS) {
		onr_dream_free(d);
		return onr_fail(err, errlen, ONR_EINVAL,
		            "blocks of %u frames are too long for a window of %u samples", max_block,
		            W);
	}
	d->njobs = d->defer + 2;
	int bad = !d->win;
	for (uint32_t k = 0; k < d->njobs && !bad; k++)
		for (uint32_t c = 0; c < d->nd && !bad; c++) {
			d->jobs[k].x0[c] = calloc(W, sizeof(float));
			d->jobs[k].delta[c] = calloc(W, sizeof(float));
			bad = !d->jobs[k].x0[c] || !d->jobs[k].delta[c];
		}
	for (uint32_t c = 0; c < d->nd && !bad; c++) {
		dchan *q = &d->ch[c];
		int e;
		if (d->resample) {
			q->down = src_new(SRC_TYPE, 1, &e);
			q->up = src_new(SRC_TYPE, 1, &e);
			bad |= !q->down || !q->up;
		}
		q->ym = calloc(d->ym_cap, sizeof(float));
		q->ola = calloc(d->ola_len, sizeof(float));
		q->ufifo = calloc(d->u_cap, sizeof(float));
		q->tmp = calloc(d->tmp_cap, sizeof(float));
		bad |= !q->ym || !q->ola || !q->ufifo || !q->tmp;
	}
	if (bad) {
		onr_dream_free(d);
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
	}
	/* periodic Hann: over hops of W/overlap it sums to overlap/2 */
	for (uint32_t i = 0; i < W; i++)
		d->win[i] = (float)((0.5 - 0.5 * cos(2.0 * M_PI * i / W)) * 2.0 / overlap);

	/* latency = when the delta of a host sample can be out, plus the
	 * resamplers' group delay. Measured by running the stream itself (on
	 * zeros, dream off) and recording how late each delta sample arrives
	 * after the host sample it belongs to. */
	int64_t gd = 0;
	if (d->resample && measure_group_delay(d, &gd) != ONR_OK) {
		onr_dream_free(d);
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
	}
	d->lead = (uint32_t)ceil(d->hop * d->ratio_up);
	d->measuring = 1;
	d->worst_lag = 0;
	d->prefill = 0;
	d->latency = 0;
	onr_dream_reset(d);
	{
		uint64_t total = (uint64_t)((6.0 * W + 4.0 * d->hop) * d->ratio_up) + 16 * CHUNK;
		float zero[CHUNK] = {0};
		for (uint64_t done = 0; done < total; done += CHUNK) {
			for (uint32_t c = 0; c < d->nd; c++)
				memcpy(d->ch[c].stage, zero, sizeof zero);
			d->stage_len = CHUNK;
			d->host_count += CHUNK;
			feed_chunk(d);
			/* output side: consume as process() would */
			for (uint32_t c = 0; c < d->nd; c++) {
				dchan *q = &d->ch[c];
				uint32_t k = q->u_len < CHUNK ? q->u_len : CHUNK;
				q->u_rd = (q->u_rd + k) % d->u_cap;
				q->u_len -= k;
			}
		}
	}
	d->measuring = 0;
	/* u sample j (the delta for host time j - gd) is available from host
	 * time j + worst_lag; popping it at output time j + prefill needs
	 * prefill >= worst_lag, and lines it up with a dry delay of
	 * prefill + gd. */
	int64_t prefill = d->worst_lag > 0 ? d->worst_lag : 0;
	if (prefill + gd + d->lead < 0)
		prefill = -gd - d->lead;
	d->prefill = (uint32_t)prefill;
	d->latency = (uint32_t)(prefill + gd + d->lead);
	for (uint32_t c = 0; c < cfg->channels && d->latency; c++) {
		d->dry[c] = calloc(d->latency, sizeof(float));
		if (!d->dry[c]) {
			onr_dream_free(d);
			return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
		}
	}
	if (d->prefill + 4 * burst + 4 * CHUNK > d->u_cap) {
		onr_dream_free(d);
		return onr_fail(err, errlen, ONR_EINVAL, "internal: delta buffer too small for the latency");
	}
	onr_dream_reset(d);
	onr_dream_reset_stats(d);
	*out = d;
	return ONR_OK;
}
