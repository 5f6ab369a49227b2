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

struct onr_trainer {
	onr_model *m;
	onr_train_config cfg;
	uint32_t threads;
	onr_net *net[ONR_TRAIN_MAX_THREADS];
	float *mom, *vel;          /* (n_params) Adam moments */
	float *grad;               /* (n_params) the summed gradient */
	uint64_t steps;
};

void onr_trainer_free(onr_trainer *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < ONR_TRAIN_MAX_THREADS; i++)
		onr_net_free(t->net[i]);
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
	for (uint32_t i = 0; i < threads && !bad; i++)
		bad = onr_net_new(&t->net[i], m, cfg->window, ONR_NET_TRAIN) != ONR_OK;
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
	uint32_t lo, hi;
	float wscale;              /* 1 / sum of weights of the batch */
	double loss;
	uint32_t correct;
	int status;
} slice;

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
		s->status = onr_net_train_example(s->net, s->x[i], W, scale, s->labels[i], w, &l, &ok);
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
		s->status = onr_net_forward(s->net, s->x[i], W, scale, UINT32_MAX);
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
