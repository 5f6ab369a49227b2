/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench.c -- `make bench`: the dream step and the training step of the three
 * reference architectures (onr_arch_preset "tiny", "small", "wide"), timed in
 * C and, on the same architecture and the same weights, in PyTorch on the CPU
 * with one thread (tests/bench_torch.py).
 *
 *   dream step   onr_net_objective, ONR_OBJ_LAYERS with Layers 3 and 4 weighted
 *                1 (dream_ref.py's block2 and block3, after the pool), with dx:
 *                forward to Layer 4, backward to the input.
 *   train step   a batch of 32: onr_net_zero_grads, then 32 calls of
 *                onr_net_train_example (weight 1/32, so the gradients equal
 *                PyTorch's mean cross-entropy); the weights are not updated.
 *
 * FLOPs are counted analytically as in dream_ref.py: 1 MAC = 2 FLOPs, convs
 * and denses only; a conv makes D*T*C*K MACs forward, as many for the input
 * gradient and as many for the weight gradient, a dense I*O each.
 *   dream: forward + input gradient of every op up to the deepest objective op
 *   train: forward of all + weight gradients of all + input gradients of all
 *          but the first op (nothing needs the gradient of the audio)
 *
 * Timing (both sides): warm up, estimate the time of one call, then NBATCH
 * batches of reps sized so that all of them take about TARGET seconds; the
 * figure is the median over the batches of the mean time per call.
 *
 * Then, with the same --python, the PyTorch bridge (tests/bench_bridge.py):
 * python/oneiro_torch.py's import (to_torch) and export (save_onm) of every
 * shipped model, next to torch.load / torch.save of the module's state_dict;
 * the renderer's cost; `oneiro render` on a batch; and the peak memory of
 * `oneiro train` in memory and with --stream, on a generated dataset listed
 * once and ten times.
 *
 * Output: one line per figure, "bench: NAME VALUE UNIT"; notes start "note:".
 * The files handed to Python (model, input, the C gradients) live in a
 * temporary directory removed at the end (kept with --keep). */
#include "dream.h"
#include "onr.h"
#include "train.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_SAMPLES 16384u
#define SAMPLE_RATE 16000u
#define N_CLASSES 10u
#define BATCH 32u
#define MODEL_SEED 20240611u
#define INPUT_SEED 1234u
#define MAX_SIZES 8
#define PATH_LEN 1024
#define PI 3.14159265358979323846

/* ---------------------------------------------------------------- timing */
typedef struct {
	double target;    /* seconds of measured reps in all */
	int nbatch;       /* batches of reps; the median is over these */
	int warm_calls;   /* at least this many warm-up calls ... */
	double warm_time; /* ... and at least this long */
} timing;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

typedef int (*bench_fn)(void *ctx);

/* Median seconds per call of fn(ctx), or a negative value if fn failed. */
static double time_it(bench_fn fn, void *ctx, const timing *tm, long *calls)
{
	double t0 = now(), el;
	int k = 0;
	do {
		if (fn(ctx))
			return -1.0;
		k++;
		el = now() - t0;
	} while (k < tm->warm_calls || el < tm->warm_time);
	double est = el / k;
	long reps = (long)ceil(tm->target / tm->nbatch / (est > 1e-9 ? est : 1e-9));
	if (reps < 1)
		reps = 1;
	double t[64];
	int nb = tm->nbatch < 64 ? tm->nbatch : 64;
	for (int b = 0; b < nb; b++) {
		double s = now();
		for (long r = 0; r < reps; r++)
			if (fn(ctx))
				return -1.0;
		t[b] = (now() - s) / (double)reps;
	}
	qsort(t, (size_t)nb, sizeof t[0], cmp_double);
	if (calls)
		*calls = reps * nb;
	return nb % 2 ? t[nb / 2] : 0.5 * (t[nb / 2 - 1] + t[nb / 2]);
}

/* ---------------------------------------------------------------- inputs */
static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* uniform in [-1, 1) */
static double urand(uint64_t *s)
{
	return 2.0 * (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0) - 1.0;
}

/* A test block in [-1, 1] in the spirit of dream_ref.py's: two sines and a
 * little noise; example k of a batch gets its own frequencies and noise. */
static void make_input(float *x, uint32_t n, uint32_t k)
{
	uint64_t s = INPUT_SEED + 7919u * (uint64_t)k;
	double f1 = 220.0 * (1.0 + 0.125 * k), f2 = 1234.5 + 97.0 * k;
	for (uint32_t i = 0; i < n; i++) {
		double t = (double)i / SAMPLE_RATE;
		double v = 0.3 * sin(2 * PI * f1 * t) + 0.2 * sin(2 * PI * f2 * t) +
		           0.05 * urand(&s);
		x[i] = (float)(v > 1.0 ? 1.0 : v < -1.0 ? -1.0 : v);
	}
}

static int write_f32(const char *path, const float *x, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(x, sizeof(float), n, f); /* x86-64: little-endian as required */
	int bad = fclose(f);
	return w == n && !bad ? 0 : -1;
}

/* out = dir/name+suffix (PATH_LEN); -1 if it does not fit */
static int path_in(char *out, const char *dir, const char *name, const char *suffix)
{
	int k = snprintf(out, PATH_LEN, "%s/%s%s", dir, name, suffix);
	return k < 0 || k >= PATH_LEN ? -1 : 0;
}

/* ---------------------------------------------------------------- FLOPs */
typedef struct {
	double fwd_all;  /* FLOPs of a full forward */
	double dream;    /* forward + input gradient up to the deepest objective op */
	double train;    /* full forward + weight grads + input grads but the first op's */
} flops;

static flops count_flops(const onr_model *m, uint32_t n, uint32_t deep)
{
	flops f = {0, 0, 0};
	for (uint32_t i = 0; i < m->n_ops; i++) {
		const onr_op *o = &m->ops[i];
		double macs;
		if (o->type == ONR_OP_CONV) {
			uint32_t D, T;
			onr_model_op_shape(m, i, n, &D, &T);
			macs = (double)D * T * o->a * o->c;
		} else if (o->type == ONR_OP_DENSE) {
			macs = (double)o->a * o->b;
		} else {
			continue;
		}
		f.fwd_all += 2 * macs;
		f.train += 2 * macs + 2 * macs + (i > 0 ? 2 * macs : 0.0);
		if (i <= deep)
			f.dream += 2 * macs + 2 * macs;
	}
	return f;
}

/* ---------------------------------------------------------------- the C side */
typedef struct {
	onr_net *net;
	onr_objective obj;
	const float *x;
	float *dx;
	float J;
} dream_ctx;

static int dream_call(void *p)
{
	dream_ctx *c = p;
	return onr_net_objective(c->net, &c->obj, c->x, N_SAMPLES, 1.0f, &c->J, c->dx);
}

typedef struct {
	onr_net *net;
	const float *xb;   /* (BATCH, N_SAMPLES) */
	double loss;
} train_ctx;

static int train_call(void *p)
{
	train_ctx *c = p;
	onr_net_zero_grads(c->net);
	c->loss = 0.0;
	for (uint32_t k = 0; k < BATCH; k++) {
		float l;
		int st = onr_net_train_example(c->net, c->xb + (size_t)k * N_SAMPLES, N_SAMPLES, 1.0f,
		                               k % N_CLASSES, 1.0f / BATCH, &l, NULL);
		if (st)
			return st;
		c->loss += l;
	}
	return 0;
}

typedef struct {
	const char *name;
	int ok;                 /* the C side ran */
	flops fl;
	double dream_s, train_s;                 /* C: per dream step, per batch */
	double train2_s;        /* C: per optimisation step of a batch on two threads */
	char model_path[PATH_LEN], grad_path[PATH_LEN], tgrad_path[PATH_LEN];
	char layers[64];        /* objective for Python: "op:weight,..." */
	float J;
	/* the PyTorch side, NAN until reported */
	double t_dream_ms, t_train_ms, grad_rel, obj_rel, tgrad_rel;
	double t_train2_ms;     /* PyTorch, two threads */
} size_res;

/* A whole optimisation step (gradients of the batch on two threads, summed,
 * Adam update): what `oneiro train` does per batch. */
typedef struct {
	onr_trainer *tr;
	const float *const *xs;
	const uint32_t *labels;
} step_ctx;

static int step_call(void *p)
{
	step_ctx *c = p;
	float loss;
	uint32_t correct;
	return onr_trainer_step(c->tr, c->xs, c->labels, NULL, BATCH, 1e-4f, &loss, &correct);
}

/* Prints "bench: NAME VALUE UNIT", NAME = pre size post. */
static void print_fig(const char *pre, const char *size, const char *post, double v,
                      const char *unit)
{
	char name[160];
	snprintf(name, sizeof name, "%s%s%s", pre, size, post);
	double a = fabs(v);
	if (a >= 1000 && a < 1e7)
		printf("bench: %s %.1f %s\n", name, v, unit);
	else if (a == 0.0 || (a >= 0.01 && a < 1000))
		printf("bench: %s %.4g %s\n", name, v, unit);
	else
		printf("bench: %s %.3e %s\n", name, v, unit);
}

static int run_c(size_res *r, const char *dir, const float *x, const float *xb,
                 const timing *tm)
{
	char err[256];
	onr_op ops[ONR_MAX_OPS];
	uint32_t n_ops = onr_arch_preset(r->name, N_CLASSES, ops);
	onr_model *m = NULL;
	onr_net *net = NULL;
	float *dx = NULL;
	int ret = -1;
	if (!n_ops) {
		fprintf(stderr, "bench: unknown size %s\n", r->name);
		return -1;
	}
	int st = onr_model_new(&m, ops, n_ops, SAMPLE_RATE, N_SAMPLES, ONR_KIND_CLASSES, NULL,
	                       N_CLASSES, err, sizeof err);
	if (st) {
		fprintf(stderr, "bench: %s: %s\n", r->name, err);
		return -1;
	}
	onr_model_init_params(m, MODEL_SEED);
	if ((st = onr_net_new(&net, m, N_SAMPLES, ONR_NET_TRAIN)) != ONR_OK) {
		fprintf(stderr, "bench: %s: workspace: %s\n", r->name, onr_strerror(st));
		goto out;
	}
	dx = malloc(N_SAMPLES * sizeof *dx);
	if (!dx) {
		fprintf(stderr, "bench: out of memory\n");
		goto out;
	}

	/* the objective: Layers 3 and 4 (blocks 2 and 3, 0-based) */
	dream_ctx dc = {.net = net, .x = x, .dx = dx};
	memset(&dc.obj, 0, sizeof dc.obj);
	dc.obj.mode = ONR_OBJ_LAYERS;
	dc.obj.pre = 0;
	dc.obj.layer_w[2] = 1.0f;
	dc.obj.layer_w[3] = 1.0f;
	if (m->n_blocks < 4 || onr_objective_check(m, &dc.obj, err, sizeof err)) {
		fprintf(stderr, "bench: %s: objective: %s\n", r->name,
		        m->n_blocks < 4 ? "fewer than 4 layers" : err);
		goto out;
	}
	uint32_t deep = onr_objective_depth(m, &dc.obj);
	r->fl = count_flops(m, N_SAMPLES, deep);
	snprintf(r->layers, sizeof r->layers, "%u:1,%u:1", m->block_last[2], m->block_last[3]);

	/* one dream gradient and one batch of weight gradients for Python to check */
	if (path_in(r->model_path, dir, r->name, ".onm") ||
	    path_in(r->grad_path, dir, r->name, ".dream_grad.f32") ||
	    path_in(r->tgrad_path, dir, r->name, ".train_grad.f32")) {
		fprintf(stderr, "bench: %s: temporary path too long\n", r->name);
		goto out;
	}
	if ((st = dream_call(&dc)) != ONR_OK) {
		fprintf(stderr, "bench: %s: onr_net_objective: %s\n", r->name, onr_strerror(st));
		goto out;
	}
	r->J = dc.J;
	train_ctx tc = {.net = net, .xb = xb};
	if ((st = train_call(&tc)) != ONR_OK) {
		fprintf(stderr, "bench: %s: onr_net_train_example: %s\n", r->name, onr_strerror(st));
		goto out;
	}
	if (onr_model_save_file(m, r->model_path, err, sizeof err) ||
	    write_f32(r->grad_path, dx, N_SAMPLES) ||
	    write_f32(r->tgrad_path, onr_net_grads(net), m->n_params)) {
		fprintf(stderr, "bench: %s: cannot write the files for Python in %s\n", r->name, dir);
		goto out;
	}

	long calls;
	r->dream_s = time_it(dream_call, &dc, tm, &calls);
	if (r->dream_s < 0) {
		fprintf(stderr, "bench: %s: the dream step failed\n", r->name);
		goto out;
	}
	print_fig("dream_step_", r->name, "_mflop", r->fl.dream * 1e-6, "MFLOP");
	print_fig("dream_step_", r->name, "_ms", r->dream_s * 1e3, "ms");
	print_fig("dream_step_", r->name, "_gflops", r->fl.dream / r->dream_s * 1e-9, "GFLOP/s");
	fflush(stdout);

	r->train_s = time_it(train_call, &tc, tm, &calls);
	if (r->train_s < 0) {
		fprintf(stderr, "bench: %s: the training step failed\n", r->name);
		goto out;
	}
	print_fig("train_", r->name, "_mflop_per_example", r->fl.train * 1e-6, "MFLOP");
	print_fig("train_", r->name, "_batch_ms", r->train_s * 1e3, "ms");
	print_fig("train_", r->name, "_examples_per_s", BATCH / r->train_s, "examples/s");
	print_fig("train_", r->name, "_gflops", r->fl.train * BATCH / r->train_s * 1e-9,
	          "GFLOP/s");
	fflush(stdout);

	/* both cores, through the trainer (on a copy: it updates the weights) */
	onr_model *m2 = onr_model_clone(m);
	onr_train_config tcfg;
	memset(&tcfg, 0, sizeof tcfg);
	tcfg.threads = 2;
	tcfg.window = N_SAMPLES;
	onr_trainer *tr = NULL;
	if (m2 && onr_trainer_new(&tr, m2, &tcfg, err, sizeof err) == ONR_OK) {
		const float *xs[BATCH];
		uint32_t labels[BATCH];
		for (uint32_t k = 0; k < BATCH; k++) {
			xs[k] = xb + (size_t)k * N_SAMPLES;
			labels[k] = k % N_CLASSES;
		}
		step_ctx sc = {tr, xs, labels};
		r->train2_s = time_it(step_call, &sc, tm, &calls);
		if (r->train2_s > 0)
			print_fig("train_", r->name, "_examples_per_s_2threads", BATCH / r->train2_s,
			          "examples/s");
	} else {
		fprintf(stderr, "bench: %s: trainer: %s\n", r->name, m2 ? err : "out of memory");
	}
	onr_trainer_free(tr);
	onr_model_free(m2);
	fflush(stdout);
	r->ok = 1;
	ret = 0;
out:
	free(dx);
	onr_net_free(net);
	onr_model_free(m);
	return ret;
}

/* ---------------------------------------------------------------- the PyTorch side */
/* Appends s to buf, single-quoted for sh. */
static void shq(char *buf, size_t len, const char *s)
{
	size_t u = strlen(buf);
	if (u + 1 >= len)
		return;
	buf[u++] = ' ';
	buf[u++] = '\'';
	for (; *s && u + 5 < len; s++) {
		if (*s == '\'') {
			memcpy(buf + u, "'\\''", 4);
			u += 4;
		} else {
			buf[u++] = *s;
		}
	}
	if (u + 1 < len)
		buf[u++] = '\'';
	buf[u] = '\0';
}

/* out = tests/NAME beside the build directory of argv0, else tests/NAME */
static void find_script(char *out, size_t len, const char *argv0, const char *name)
{
	const char *slash = strrchr(argv0, '/');
	if (slash) {
		snprintf(out, len, "%.*s/../tests/%s", (int)(slash - argv0), argv0, name);
		if (access(out, R_OK) == 0)
			return;
	}
	snprintf(out, len, "tests/%s", name);
}

/* Runs bench_torch.py on every size the C side ran; fills the t_* fields.
 * Returns 0, or -1 after printing a note saying why there is no comparison. */
/* Runs a benchmark script (cmd) and reads what it prints: "result NAME KEY
 * VALUE" lines go to on_result(ctx, n, NAME, KEY, VALUE), "skip WHY" means
 * the comparison cannot run here, "info KEY VALUE" becomes a bench line
 * when info is set (else it is dropped: another script said it), and
 * anything else is a note, printed as it is. The number of results, or -1
 * when it was skipped (said as "note: WHAT skipped: ..."); a script that
 * fails after some results is said to be incomplete. */
typedef void (*py_result_fn)(void *ctx, int n, const char *name, const char *key, double v);
static int py_results(const char *cmd, const char *what, const char *python, const char *script,
                      int info, py_result_fn on_result, void *ctx, int n)
{
	FILE *p = popen(cmd, "r");
	if (!p) {
		printf("note: %s skipped: cannot start %s (%s)\n", what, python, strerror(errno));
		return -1;
	}
	char line[1024], skip[1024] = "";
	int results = 0;
	while (fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = '\0';
		char name[64], key[64], k2[64], v2[128];
		double v;
		if (!strncmp(line, "skip ", 5)) {
			snprintf(skip, sizeof skip, "%s", line + 5);
		} else if (sscanf(line, "result %63s %63s %lf", name, key, &v) == 3) {
			results++;
			on_result(ctx, n, name, key, v);
		} else if (!strncmp(line, "info ", 5)) {
			if (info && sscanf(line + 5, "%63s %127s", k2, v2) == 2)
				printf("bench: %s %s -\n", k2, v2);
		} else if (line[0]) {
			printf("%s\n", line); /* notes and warnings of the script */
		}
		fflush(stdout);
	}
	int status = pclose(p);
	int code = status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	if (skip[0]) {
		printf("note: %s skipped: %s: %s\n", what, python, skip);
		return -1;
	}
	if (code != 0) {
		printf("note: %s %s: %s %s exited with status %d\n", what,
		       results ? "incomplete" : "skipped", python, script, code);
		return results ? results : -1;
	}
	return results;
}

static void torch_result(void *ctx, int n, const char *name, const char *key, double v)
{
	size_res *rs = ctx;
	for (int i = 0; i < n; i++) {
		if (strcmp(rs[i].name, name))
			continue;
		if (!strcmp(key, "dream_step_ms"))
			rs[i].t_dream_ms = v;
		else if (!strcmp(key, "train_batch_ms"))
			rs[i].t_train_ms = v;
		else if (!strcmp(key, "train_batch_ms_2t"))
			rs[i].t_train2_ms = v;
		else if (!strcmp(key, "dream_grad_rel_l2"))
			rs[i].grad_rel = v;
		else if (!strcmp(key, "dream_objective_rel_diff"))
			rs[i].obj_rel = v;
		else if (!strcmp(key, "train_grad_rel_l2"))
			rs[i].tgrad_rel = v;
	}
}

static int run_torch(size_res *rs, int nsize, const char *python, const char *script,
                     const char *input_path, const char *batch_path, int quick)
{
	if (access(python, X_OK) != 0) {
		printf("note: PyTorch comparison skipped: %s is not an executable (%s)\n", python,
		       strerror(errno));
		return -1;
	}
	if (access(script, R_OK) != 0) {
		printf("note: PyTorch comparison skipped: cannot read %s (%s)\n", script,
		       strerror(errno));
		return -1;
	}
	static char cmd[16384];
	cmd[0] = '\0';
	shq(cmd, sizeof cmd, python);
	shq(cmd, sizeof cmd, script);
	shq(cmd, sizeof cmd, "--input");
	shq(cmd, sizeof cmd, input_path);
	shq(cmd, sizeof cmd, "--batch-input");
	shq(cmd, sizeof cmd, batch_path);
	if (quick)
		shq(cmd, sizeof cmd, "--quick");
	int any = 0;
	for (int i = 0; i < nsize; i++) {
		if (!rs[i].ok)
			continue;
		char val[32];
		snprintf(val, sizeof val, "%.9g", (double)rs[i].J);
		const char *args[] = {"--name", rs[i].name, "--model", rs[i].model_path,
		                      "--grad", rs[i].grad_path, "--train-grad", rs[i].tgrad_path,
		                      "--layers", rs[i].layers, "--value", val};
		for (size_t k = 0; k < sizeof args / sizeof args[0]; k++)
			shq(cmd, sizeof cmd, args[k]);
		any = 1;
	}
	if (!any)
		return -1;
	if (strlen(cmd) + 8 >= sizeof cmd) {
		printf("note: PyTorch comparison skipped: command line too long\n");
		return -1;
	}
	fflush(stdout);
	return py_results(cmd, "PyTorch comparison", python, script, 1, torch_result, rs, nsize) < 0
	           ? -1
	           : 0;
}

/* ---------------------------------------------------------------- the PyTorch bridge */
#define MAX_BRIDGE 16

typedef struct {
	char name[64];
	double import_ms, export_ms, load_ms, save_ms; /* NAN until reported */
	int identical;                                 /* -1 until reported */
} bridge_res;

static void bridge_result(void *ctx, int n, const char *name, const char *key, double v)
{
	bridge_res *br = ctx;
	for (int i = 0; i < n; i++) {
		if (strcmp(br[i].name, name))
			continue;
		if (!strcmp(key, "import_ms"))
			br[i].import_ms = v;
		else if (!strcmp(key, "export_ms"))
			br[i].export_ms = v;
		else if (!strcmp(key, "torch_load_ms"))
			br[i].load_ms = v;
		else if (!strcmp(key, "torch_save_ms"))
			br[i].save_ms = v;
		else if (!strcmp(key, "roundtrip_identical"))
			br[i].identical = v != 0.0;
	}
}

/* How long python/oneiro_torch.py takes to import (to_torch) and export
 * (save_onm) each shipped model, every models/NAME.onm, next to torch.load and
 * torch.save of the same module's state_dict (tests/bench_bridge.py).
 * 0, or 1 if an exported model is not the original's bytes. */
static int bench_bridge(const char *python, const char *argv0, const char *dir, int quick)
{
	if (!python) {
		printf("note: bridge comparison skipped: no --python given\n");
		return 0;
	}
	char script[PATH_LEN];
	find_script(script, sizeof script, argv0, "bench_bridge.py");
	if (access(python, X_OK) != 0) {
		printf("note: bridge comparison skipped: %s is not an executable (%s)\n", python,
		       strerror(errno));
		return 0;
	}
	if (access(script, R_OK) != 0) {
		printf("note: bridge comparison skipped: cannot read %s (%s)\n", script,
		       strerror(errno));
		return 0;
	}
	glob_t g;
	int gs = glob("models/*.onm", 0, NULL, &g);
	if (gs == GLOB_NOMATCH) {
		printf("note: bridge comparison skipped: no models/*.onm here (run from the source "
		       "tree)\n");
		return 0;
	}
	if (gs) {
		fprintf(stderr, "bench: bridge: cannot list models/*.onm\n");
		return 1;
	}
	static char cmd[16384];
	bridge_res br[MAX_BRIDGE];
	int nb = 0, repeats = quick ? 3 : 7;
	char rep[16];
	snprintf(rep, sizeof rep, "%d", repeats);
	cmd[0] = '\0';
	shq(cmd, sizeof cmd, python);
	shq(cmd, sizeof cmd, script);
	shq(cmd, sizeof cmd, "--tmp");
	shq(cmd, sizeof cmd, dir);
	shq(cmd, sizeof cmd, "--repeats");
	shq(cmd, sizeof cmd, rep);
	for (size_t i = 0; i < g.gl_pathc && nb < MAX_BRIDGE; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1; /* "models/" matched */
		size_t len = strlen(base) - 4;                      /* ".onm" matched */
		bridge_res *b = &br[nb];
		if (len >= sizeof b->name)
			continue;
		memcpy(b->name, base, len);
		b->name[len] = '\0';
		b->import_ms = b->export_ms = b->load_ms = b->save_ms = NAN;
		b->identical = -1;
		shq(cmd, sizeof cmd, g.gl_pathv[i]);
		nb++;
	}
	if (g.gl_pathc > (size_t)nb)
		printf("note: bridge: %zu of the %zu models/*.onm left out (at most %d, names under "
		       "%zu bytes)\n", g.gl_pathc - (size_t)nb, g.gl_pathc, MAX_BRIDGE,
		       sizeof br[0].name);
	globfree(&g);
	if (!nb)
		return 0;
	if (strlen(cmd) + 8 >= sizeof cmd) {
		printf("note: bridge comparison skipped: command line too long\n");
		return 0;
	}
	fflush(stdout);
	if (py_results(cmd, "bridge comparison", python, script, 0, bridge_result, br, nb) <= 0)
		return 0;
	printf("note: bridge: python/oneiro_torch.py, one thread, median of %d rounds: import = "
	       "to_torch(model), export = save_onm(module, file); the peer is torch.load / "
	       "torch.save of the same module's state_dict (torch.load builds no module); "
	       "speedup = the peer's time / the bridge's\n", repeats);
	int identical = 1, failed = 0;
	for (int i = 0; i < nb; i++) {
		bridge_res *b = &br[i];
		if (!isnan(b->import_ms)) {
			print_fig("bridge_import_", b->name, "_ms", b->import_ms, "ms");
			if (!isnan(b->load_ms)) {
				print_fig("torch_load_", b->name, "_ms", b->load_ms, "ms");
				print_fig("bridge_import_", b->name, "_speedup_vs_torch_load",
				          b->load_ms / b->import_ms, "x");
			}
		}
		if (!isnan(b->export_ms)) {
			print_fig("bridge_export_", b->name, "_ms", b->export_ms, "ms");
			if (!isnan(b->save_ms)) {
				print_fig("torch_save_", b->name, "_ms", b->save_ms, "ms");
				print_fig("bridge_export_", b->name, "_speedup_vs_torch_save",
				          b->save_ms / b->export_ms, "x");
			}
		}
		if (b->identical == 0) {
			printf("note: WARNING: bridge: models/%s.onm exported again is not the same "
			       "bytes\n", b->name);
			identical = 0;
			failed = 1;
		} else if (b->identical < 0) {
			identical = 0;
		}
	}
	printf("bench: bridge_roundtrip_identical %s -\n",
	       identical ? "yes" : failed ? "NO" : "unknown");
	fflush(stdout);
	return failed;
}

/* ---------------------------------------------------------------- render speed */
static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds of 48 kHz stereo audio dreamed per second of CPU, by the engine
 * that `oneiro render` and the plugin run, with the per-stage breakdown.
 * copies and jitter_ms: the jitter's views per step and largest shift
 * (0 and a negative shift: the defaults). */
static int bench_render(const char *label, const char *arch, uint32_t iterations, int independent,
                        uint32_t overlap, double seconds, uint32_t copies, float jitter_ms,
                        uint32_t form)
{
	onr_model *m;
	char err[256];
	if (!strncmp(arch, "file:", 5)) {
		/* a shipped model, as the plugin plays it by default */
		if (onr_model_load_file(&m, arch + 5, err, sizeof err)) {
			fprintf(stderr, "bench: %s\n", err);
			return 1;
		}
	} else {
		onr_op ops[ONR_MAX_OPS];
		uint32_t nops = onr_arch_preset(arch, N_CLASSES, ops);
		if (onr_model_new(&m, ops, nops, SAMPLE_RATE, N_SAMPLES, ONR_KIND_CLASSES, NULL,
		                  N_CLASSES, err, sizeof err)) {
			fprintf(stderr, "bench: %s\n", err);
			return 1;
		}
		onr_model_init_params(m, 1);
	}
	onr_dream_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.host_rate = 48000;
	cfg.channels = 2;
	cfg.overlap = overlap;
	cfg.stereo = independent ? ONR_STEREO_INDEPENDENT : ONR_STEREO_LINKED;
	onr_dream *d;
	if (onr_dream_new(&d, m, &cfg, err, sizeof err)) {
		fprintf(stderr, "bench: %s\n", err);
		onr_model_free(m);
		return 1;
	}
	onr_dream_params p;
	onr_dream_params_default(&p, m);
	p.iterations = iterations;
	if (copies)
		p.jitter_copies = copies;
	if (jitter_ms >= 0.0f)
		p.jitter_ms = jitter_ms;
	p.form = form;
	onr_dream_set_params(d, &p);
	onr_dream_set_timing(d, 1);
	uint32_t n = (uint32_t)(seconds * 48000), block = 512;
	float *in[2], *out[2];
	for (int c = 0; c < 2; c++) {
		in[c] = malloc(n * sizeof(float));
		out[c] = malloc(block * sizeof(float));
		make_input(in[c], n, (uint32_t)c + 7);
	}
	double c0 = cpu_now(), w0 = now();
	for (uint32_t pos = 0; pos < n; pos += block) {
		uint32_t k = n - pos < block ? n - pos : block;
		const float *ii[2] = {in[0] + pos, in[1] + pos};
		onr_dream_process(d, ii, out, k);
	}
	double cpu = cpu_now() - c0, wall = now() - w0;
	const onr_dream_stats *st = onr_dream_get_stats(d);
	/* stage shares are of the wall time (the stage timers are wall clocks);
	 * the forward pass alone, timed on the same model, splits
	 * forward+backward */
	uint32_t W, hop, rate;
	onr_dream_geometry(d, &W, &hop, &rate);
	onr_net *net;
	double fwd_s = NAN;
	if (onr_net_new(&net, m, W, 0) == ONR_OK) {
		float *x = malloc(W * sizeof(float));
		make_input(x, W, 3);
		uint32_t deep = onr_objective_depth(m, &p.obj);
		int reps = 50;
		double t0 = now();
		for (int i = 0; i < reps; i++)
			onr_net_forward(net, x, W, 1.0f, deep);
		fwd_s = (now() - t0) / reps;
		free(x);
		onr_net_free(net);
	}
	/* forward passes inside the timed steps: one per view (a view is a
	 * little shorter than the window when jittered) */
	int jittered = p.jitter_ms > 0.0f || p.jitter_gain_db > 0.0f;
	double steps = (double)st->windows * iterations * (jittered ? p.jitter_copies : 1);
	double fb = st->t_forward_backward, fwd = fwd_s * (steps + st->windows);
	char name[96];
	printf("bench: render_%s_audio_s_per_cpu_s %.3g x\n", label, seconds / cpu);
	printf("bench: render_%s_realtime_factor %.3g x\n", label, seconds / wall);
	printf("bench: render_%s_core_percent %.3g %%\n", label, 100.0 * cpu / seconds);
	snprintf(name, sizeof name, "render_%s", label);
	printf("bench: %s_windows %llu windows\n", name, (unsigned long long)st->windows);
	printf("bench: %s_resample_share %.3g %%\n", name, 100.0 * st->t_resample / wall);
	printf("bench: %s_forward_share %.3g %%\n", name, 100.0 * fwd / wall);
	printf("bench: %s_backward_share %.3g %%\n", name, 100.0 * (fb - fwd) / wall);
	printf("bench: %s_condition_share %.3g %%\n", name, 100.0 * st->t_condition / wall);
	printf("bench: %s_ms_per_window %.3g ms\n", name,
	       st->windows ? 1e3 * (fb + st->t_condition) / st->windows : 0.0);
	fflush(stdout);
	for (int c = 0; c < 2; c++) {
		free(in[c]);
		free(out[c]);
	}
	onr_dream_free(d);
	onr_model_free(m);
	return 0;
}

/* ---------------------------------------------------------------- batch throughput */
/* A 32-bit float WAV of `ch` interleaved channels (little-endian host). */
static int write_wav_f32(const char *path, const float *x, uint32_t frames, uint32_t ch,
                         uint32_t rate)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	uint32_t data = frames * ch * 4, v32;
	uint16_t v16;
	int bad = fwrite("RIFF", 1, 4, f) != 4;
	v32 = 36 + data;
	bad |= fwrite(&v32, 4, 1, f) != 1;
	bad |= fwrite("WAVEfmt ", 1, 8, f) != 8;
	v32 = 16;
	bad |= fwrite(&v32, 4, 1, f) != 1;
	v16 = 3; /* IEEE float */
	bad |= fwrite(&v16, 2, 1, f) != 1;
	v16 = (uint16_t)ch;
	bad |= fwrite(&v16, 2, 1, f) != 1;
	bad |= fwrite(&rate, 4, 1, f) != 1;
	v32 = rate * ch * 4;
	bad |= fwrite(&v32, 4, 1, f) != 1;
	v16 = (uint16_t)(ch * 4);
	bad |= fwrite(&v16, 2, 1, f) != 1;
	v16 = 32;
	bad |= fwrite(&v16, 2, 1, f) != 1;
	bad |= fwrite("data", 1, 4, f) != 4;
	bad |= fwrite(&data, 4, 1, f) != 1;
	bad |= fwrite(x, 4, (size_t)frames * ch, f) != (size_t)frames * ch;
	bad |= fclose(f) != 0;
	return bad ? -1 : 0;
}

/* Runs argv (argv[0] a path) and waits; its exit status, or -1. */
static int run_prog(char *const *argv)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int same_file(const char *a, const char *b)
{
	FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
	int same = f && g;
	while (same) {
		int x = getc(f), y = getc(g);
		if (x != y)
			same = 0;
		if (x == EOF || y == EOF)
			break;
	}
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	return same;
}

/* prog (PATH_LEN) = the oneiro program beside this one; -1 if it is not there */
static int find_oneiro(char *prog, const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	int k = snprintf(prog, PATH_LEN, "%.*soneiro", slash ? (int)(slash - argv0 + 1) : 0, argv0);
	return k < 0 || k >= PATH_LEN || access(prog, X_OK) ? -1 : 0;
}

/* Batch throughput of `oneiro render --out-dir` (the program beside this
 * one) on n_stems stems of `seconds` s, 48 kHz stereo float WAV, with the
 * shipped default model at the default settings: stems per second of wall
 * time with --jobs 1 and with --jobs = every online CPU, and whether the
 * outputs are the same bytes. */
static int bench_batch(const char *argv0, const char *dir, int n_stems, double seconds)
{
	char prog[PATH_LEN];
	if (find_oneiro(prog, argv0)) {
		printf("note: batch throughput skipped: %s not built (make all)\n", prog);
		return 0;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	uint32_t rate = 48000, frames = (uint32_t)(seconds * rate);
	float *x = malloc((size_t)frames * 2 * sizeof *x), *ch = malloc(frames * sizeof *ch);
	char (*stems)[PATH_LEN] = calloc((size_t)n_stems, sizeof *stems);
	char out1[PATH_LEN], outn[PATH_LEN];
	char **av = calloc((size_t)n_stems + 16, sizeof *av);
	int failed = 0;
	if (!x || !ch || !stems || !av || path_in(out1, dir, "batch_out1", "") ||
	    path_in(outn, dir, "batch_outn", "")) {
		fprintf(stderr, "bench: batch: out of memory\n");
		failed = 1;
		goto done;
	}
	for (int i = 0; i < n_stems; i++) {
		char name[32];
		snprintf(name, sizeof name, "stem%02d", i);
		for (uint32_t c = 0; c < 2; c++) {
			make_input(ch, frames, 100 + 2 * (uint32_t)i + c);
			for (uint32_t j = 0; j < frames; j++)
				x[(size_t)j * 2 + c] = ch[j];
		}
		if (path_in(stems[i], dir, name, ".wav") || write_wav_f32(stems[i], x, frames, 2, rate)) {
			fprintf(stderr, "bench: batch: cannot write the stems into %s\n", dir);
			failed = 1;
			goto done;
		}
	}
	double per_s[2] = {0.0, 0.0}, cores[2] = {0.0, 0.0};
	for (int r = 0; r < 2; r++) {
		char jobs[32];
		snprintf(jobs, sizeof jobs, "%ld", r ? cpus : 1L);
		int a = 0;
		av[a++] = prog;
		av[a++] = "render";
		av[a++] = "--model";
		av[a++] = "models/default.onm";
		av[a++] = "--quiet";
		av[a++] = "--jobs";
		av[a++] = jobs;
		av[a++] = "--out-dir";
		av[a++] = r ? outn : out1;
		for (int i = 0; i < n_stems; i++)
			av[a++] = stems[i];
		av[a] = NULL;
		struct rusage u0, u1;
		getrusage(RUSAGE_CHILDREN, &u0);
		double t0 = now();
		int st = run_prog(av);
		double wall = now() - t0;
		getrusage(RUSAGE_CHILDREN, &u1);
		double cpu = (double)(u1.ru_utime.tv_sec - u0.ru_utime.tv_sec) +
		             1e-6 * (double)(u1.ru_utime.tv_usec - u0.ru_utime.tv_usec) +
		             (double)(u1.ru_stime.tv_sec - u0.ru_stime.tv_sec) +
		             1e-6 * (double)(u1.ru_stime.tv_usec - u0.ru_stime.tv_usec);
		cores[r] = wall > 0.0 ? cpu / wall : 0.0;
		if (st) {
			fprintf(stderr, "bench: batch: oneiro render --jobs %s failed (exit %d)\n", jobs, st);
			failed = 1;
			goto done;
		}
		per_s[r] = n_stems / wall;
	}
	int identical = 1;
	for (int i = 0; i < n_stems; i++) {
		char a[PATH_LEN], b[PATH_LEN];
		const char *base = strrchr(stems[i], '/') + 1;
		if (path_in(a, out1, base, "") || path_in(b, outn, base, "") || !same_file(a, b))
			identical = 0;
	}
	printf("note: batch: oneiro render --out-dir, %d stems of %.0f s, 48 kHz stereo float, "
	       "models/default.onm at the defaults; --jobs 1 against --jobs %ld (every online CPU)\n",
	       n_stems, seconds, cpus);
	printf("bench: batch_cpus %ld cpus\n", cpus);
	printf("bench: batch_jobs1_stems_per_s %.3g stems/s\n", per_s[0]);
	printf("bench: batch_all_cores_stems_per_s %.3g stems/s\n", per_s[1]);
	printf("bench: batch_all_cores_speedup %.3g x\n", per_s[0] > 0.0 ? per_s[1] / per_s[0] : 0.0);
	/* the cores the batch kept busy (CPU time / wall time): on a machine
	 * busy with other work it gets fewer than it asked for */
	printf("bench: batch_jobs1_cores_used %.2f cores\n", cores[0]);
	printf("bench: batch_all_cores_cores_used %.2f cores\n", cores[1]);
	if (cpus > 1 && cores[1] < 0.75 * (double)cpus)
		printf("note: batch: with --jobs %ld the batch kept only %.2f of %ld CPUs busy: the "
		       "machine is busy with other work, the speedup is not the program's\n",
		       cpus, cores[1], cpus);
	printf("bench: batch_outputs_identical %s -\n", identical ? "yes" : "NO");
	fflush(stdout);
	failed |= !identical;
done:
	for (int i = 0; stems && i < n_stems; i++) {
		char a[PATH_LEN];
		const char *base = stems[i][0] ? strrchr(stems[i], '/') + 1 : NULL;
		if (!base)
			continue;
		if (!path_in(a, out1, base, ""))
			unlink(a);
		if (!path_in(a, outn, base, ""))
			unlink(a);
		unlink(stems[i]);
	}
	rmdir(out1);
	rmdir(outn);
	free(av);
	free(stems);
	free(x);
	free(ch);
	return failed;
}

/* ---------------------------------------------------------------- train --stream memory */
#define STREAM_CLASSES 3
#define STREAM_FILES 20    /* per class */
#define STREAM_SECONDS 2.0
#define STREAM_RATE 16000u
#define STREAM_TIMES 10    /* the large CSV lists every file this many times */

/* Runs argv (argv[0] a path) with stdout on /dev/null and waits: its exit
 * status (-1 if it did not run or was killed), its peak resident set in kB
 * and its wall time. The run is the only child of a go-between process, so
 * that the go-between's getrusage(RUSAGE_CHILDREN) ru_maxrss is that run's
 * alone (this process's would be the largest of every child so far). */
static int run_peak(char *const *argv, long *maxrss_kb, double *wall)
{
	int fd[2];
	if (pipe(fd))
		return -1;
	fflush(stdout);
	fflush(stderr);
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (!pid) {
		close(fd[0]);
		long res[2] = {-1, 0}; /* exit status, ru_maxrss */
		pid_t c = fork();
		if (!c) {
			close(fd[1]);
			int nul = open("/dev/null", O_WRONLY);
			if (nul >= 0) {
				dup2(nul, STDOUT_FILENO);
				close(nul);
			}
			execv(argv[0], argv);
			_exit(127);
		}
		int st;
		if (c > 0) {
			while (waitpid(c, &st, 0) < 0)
				if (errno != EINTR)
					_exit(1);
			struct rusage ru;
			getrusage(RUSAGE_CHILDREN, &ru);
			res[0] = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			res[1] = ru.ru_maxrss;
		}
		_exit(write(fd[1], res, sizeof res) == (ssize_t)sizeof res ? 0 : 1);
	}
	close(fd[1]);
	long res[2] = {-1, 0};
	ssize_t got;
	while ((got = read(fd[0], res, sizeof res)) < 0 && errno == EINTR)
		;
	close(fd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	*wall = now() - t0;
	*maxrss_kb = res[1];
	return got == (ssize_t)sizeof res ? (int)res[0] : -1;
}

/* 1 if the models in files a and b are the same network, bit for bit (ops
 * and parameters; their metadata records the command line, so it differs) */
static int same_network(const char *a, const char *b)
{
	onr_model *ma = NULL, *mb = NULL;
	char err[256];
	int same = !onr_model_load_file(&ma, a, err, sizeof err) &&
	           !onr_model_load_file(&mb, b, err, sizeof err) && ma->n_ops == mb->n_ops &&
	           ma->n_params == mb->n_params;
	for (uint32_t i = 0; same && i < ma->n_ops; i++) {
		const onr_op *x = &ma->ops[i], *y = &mb->ops[i];
		same = x->type == y->type && x->a == y->a && x->b == y->b && x->c == y->c &&
		       x->d == y->d && x->e == y->e && !memcmp(&x->f, &y->f, sizeof x->f);
	}
	if (same)
		same = !memcmp(ma->params, mb->params, ma->n_params * sizeof *ma->params);
	onr_model_free(ma);
	onr_model_free(mb);
	return same;
}

/* Peak memory and wall time of `oneiro train` (the program beside this one)
 * in memory and with --stream, on a small generated dataset listed once and
 * STREAM_TIMES times: in memory the audio grows with the list, streamed it
 * should not. 0, or 1 if a run failed or the two ways gave different models. */
static int bench_stream(const char *argv0, const char *dir)
{
	static const char *const labels[STREAM_CLASSES] = {"tone", "noise", "sweep"};
	char prog[PATH_LEN];
	if (find_oneiro(prog, argv0)) {
		printf("note: train --stream memory skipped: %s not built (make all)\n", prog);
		return 0;
	}
	uint32_t frames = (uint32_t)(STREAM_SECONDS * STREAM_RATE);
	float *x = malloc(frames * sizeof *x);
	char sub[PATH_LEN], cache[PATH_LEN], csv[2][PATH_LEN], model[2][PATH_LEN];
	int failed = 1, made_sub = 0, made_cache = 0, wavs = 0;
	if (!x) {
		fprintf(stderr, "bench: train --stream: out of memory\n");
		return 1;
	}
	if (path_in(sub, dir, "stream", "") || path_in(cache, sub, "cache", "") ||
	    path_in(csv[0], sub, "x1", ".csv") || path_in(csv[1], sub, "x10", ".csv") ||
	    path_in(model[0], sub, "memory", ".onm") || path_in(model[1], sub, "stream", ".onm")) {
		fprintf(stderr, "bench: train --stream: temporary path too long\n");
		goto done;
	}
	if (mkdir(sub, 0700)) {
		fprintf(stderr, "bench: train --stream: cannot make %s: %s\n", sub, strerror(errno));
		goto done;
	}
	made_sub = 1;
	if (mkdir(cache, 0700)) {
		fprintf(stderr, "bench: train --stream: cannot make %s: %s\n", cache, strerror(errno));
		goto done;
	}
	made_cache = 1;

	/* the dataset: steady tones, white noise, rising sweeps; float WAV */
	for (int c = 0; c < STREAM_CLASSES; c++) {
		for (int i = 0; i < STREAM_FILES; i++, wavs++) {
			char name[32], path[PATH_LEN];
			uint64_t s = 4242u + 1000u * (uint64_t)c + (uint64_t)i;
			double f0 = 150.0 * (1.0 + 0.15 * i), f1 = 4.0 * f0, ph = 0.0;
			for (uint32_t j = 0; j < frames; j++) {
				double t = (double)j / STREAM_RATE, v;
				if (c == 0) {
					v = 0.3 * sin(2 * PI * f0 * t) + 0.01 * urand(&s);
				} else if (c == 1) {
					v = 0.2 * urand(&s);
				} else {
					ph += 2 * PI * (f0 + (f1 - f0) * t / STREAM_SECONDS) / STREAM_RATE;
					v = 0.3 * sin(ph) + 0.01 * urand(&s);
				}
				x[j] = (float)v;
			}
			snprintf(name, sizeof name, "%s_%02d", labels[c], i);
			if (path_in(path, sub, name, ".wav") ||
			    write_wav_f32(path, x, frames, 1, STREAM_RATE)) {
				fprintf(stderr, "bench: train --stream: cannot write %s\n", path);
				wavs++; /* a partial file may be there */
				goto done;
			}
		}
	}
	/* path,label; the paths relative to the CSV */
	for (int k = 0; k < 2; k++) {
		FILE *f = fopen(csv[k], "w");
		int bad = !f || fprintf(f, "path,label\n") < 0;
		for (int r = 0; f && r < (k ? STREAM_TIMES : 1); r++)
			for (int c = 0; c < STREAM_CLASSES; c++)
				for (int i = 0; i < STREAM_FILES; i++)
					bad |= fprintf(f, "%s_%02d.wav,%s\n", labels[c], i, labels[c]) < 0;
		if (f)
			bad |= fclose(f) != 0;
		if (bad) {
			fprintf(stderr, "bench: train --stream: cannot write %s\n", csv[k]);
			goto done;
		}
	}

	/* the floor: a forked child starts with this program's pages */
	long floor_kb = 0, rss[2][2] = {{0, 0}, {0, 0}}; /* [1x, 10x][in memory, streamed] */
	double wall[2][2] = {{0, 0}, {0, 0}}, w;
	char *av[24] = {prog, "version", NULL};
	if (run_peak(av, &floor_kb, &w)) {
		fprintf(stderr, "bench: train --stream: %s version failed\n", prog);
		goto done;
	}
	int same[2] = {0, 0};
	for (int k = 0; k < 2; k++) {
		for (int s = 0; s < 2; s++) {
			int a = 0;
			av[a++] = prog;
			av[a++] = "train";
			av[a++] = "--arch";
			av[a++] = "mel";
			av[a++] = "--epochs";
			av[a++] = "1";
			av[a++] = "--threads";
			av[a++] = "1";
			av[a++] = "--seed";
			av[a++] = "1";
			av[a++] = "--quiet";
			if (s) {
				av[a++] = "--stream";
				av[a++] = "--cache-dir";
				av[a++] = cache;
			}
			av[a++] = csv[k];
			av[a++] = model[s];
			av[a] = NULL;
			int st = run_peak(av, &rss[k][s], &wall[k][s]);
			if (st) {
				fprintf(stderr, "bench: train --stream: oneiro train %s%s failed (exit %d)\n",
				        s ? "--stream " : "", csv[k], st);
				goto done;
			}
		}
		same[k] = same_network(model[0], model[1]);
	}
	double mb[2][2];
	for (int k = 0; k < 2; k++)
		for (int s = 0; s < 2; s++)
			mb[k][s] = (double)rss[k][s] / 1024.0;
	printf("note: train --stream: oneiro train --arch mel --epochs 1 --threads 1 --seed 1 on %d "
	       "classes x %d WAVs (%.0f s, %u Hz mono float), a CSV listing them once (1x) and %d "
	       "times (%dx), each in memory and with --stream --cache-dir; peak RSS = the run's "
	       "ru_maxrss, which counts the pages it was forked with: the floor is `oneiro "
	       "version` run the same way; streamed, what grows from 1x to %dx is mostly its "
	       "evaluation buffer (256 windows) filling up, a fixed size\n",
	       STREAM_CLASSES, STREAM_FILES, STREAM_SECONDS, STREAM_RATE, STREAM_TIMES,
	       STREAM_TIMES, STREAM_TIMES);
	printf("note: train --stream:  peak RSS MB      1x     %2dx  %2dx/1x    wall s 1x     %2dx\n",
	       STREAM_TIMES, STREAM_TIMES, STREAM_TIMES);
	for (int s = 0; s < 2; s++)
		printf("note: train --stream:  %-11s %7.1f %7.1f %7.2f %12.2f %7.2f\n",
		       s ? "streamed" : "in memory", mb[0][s], mb[1][s], mb[1][s] / mb[0][s],
		       wall[0][s], wall[1][s]);
	printf("bench: train_rss_floor_mb %.1f MB\n", (double)floor_kb / 1024.0);
	printf("bench: train_memory_1x_peak_rss_mb %.1f MB\n", mb[0][0]);
	printf("bench: train_stream_1x_peak_rss_mb %.1f MB\n", mb[0][1]);
	printf("bench: train_memory_%dx_peak_rss_mb %.1f MB\n", STREAM_TIMES, mb[1][0]);
	printf("bench: train_stream_%dx_peak_rss_mb %.1f MB\n", STREAM_TIMES, mb[1][1]);
	printf("bench: train_memory_rss_growth_%dx_vs_1x %.3g x\n", STREAM_TIMES,
	       mb[1][0] / mb[0][0]);
	printf("bench: train_stream_rss_growth_%dx_vs_1x %.3g x\n", STREAM_TIMES,
	       mb[1][1] / mb[0][1]);
	printf("bench: train_stream_%dx_rss_vs_memory %.3g x\n", STREAM_TIMES, mb[1][1] / mb[1][0]);
	printf("bench: train_stream_1x_time_vs_memory %.3g x\n", wall[0][1] / wall[0][0]);
	printf("bench: train_stream_%dx_time_vs_memory %.3g x\n", STREAM_TIMES,
	       wall[1][1] / wall[1][0]);
	/* as tests/test_train.sh checks: the same network either way */
	printf("bench: train_stream_same_network %s -\n", same[0] && same[1] ? "yes" : "NO");
	fflush(stdout);
	failed = !(same[0] && same[1]);
done:
	for (int k = 0; k < wavs; k++) {
		char name[32], path[PATH_LEN];
		snprintf(name, sizeof name, "%s_%02d", labels[k / STREAM_FILES], k % STREAM_FILES);
		if (!path_in(path, sub, name, ".wav"))
			unlink(path);
	}
	if (made_sub) {
		/* each model and its reports (named without the .onm) */
		static const char *const ext[] = {".onm", ".report.txt", ".report.png"};
		for (int k = 0; k < 2; k++) {
			unlink(csv[k]);
			for (size_t e = 0; e < sizeof ext / sizeof ext[0]; e++) {
				char path[PATH_LEN];
				if (!path_in(path, sub, k ? "stream" : "memory", ext[e]))
					unlink(path);
			}
		}
	}
	if (made_cache && rmdir(cache))
		fprintf(stderr, "bench: cannot remove %s: %s\n", cache, strerror(errno));
	if (made_sub && rmdir(sub))
		fprintf(stderr, "bench: cannot remove %s: %s\n", sub, strerror(errno));
	free(x);
	return failed;
}

/* ---------------------------------------------------------------- main */
static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
	        "usage: %s [--python PATH] [--sizes tiny,small,wide,mel] [--quick] [--keep] [--help]\n"
	        "\n"
	        "Times oneiro's dream step (Layers 3+4 objective, forward + input gradient) and\n"
	        "training step (a batch of %u examples, weight gradients) on the reference\n"
	        "architectures, N = %u samples at %u Hz, %u classes; with --python, the same\n"
	        "in PyTorch (CPU, one thread) on the same weights via tests/bench_torch.py.\n"
	        "Then the PyTorch bridge's import and export of models/*.onm against\n"
	        "torch.load / torch.save (tests/bench_bridge.py, with --python), the renderer,\n"
	        "`oneiro render` on a batch and the peak memory of `oneiro train` with and\n"
	        "without --stream (the last two run build/oneiro: make all first).\n"
	        "\n"
	        "  --python PATH   a Python 3 with torch and numpy (none: C figures only)\n"
	        "  --sizes LIST    comma-separated architectures (default tiny,small,wide,mel)\n"
	        "  --quick         fewer repetitions\n"
	        "  --keep          keep the temporary directory of model and gradient files\n"
	        "  --help          this text\n"
	        "\n"
	        "Output: one line per figure, \"bench: NAME VALUE UNIT\"; notes start \"note:\".\n",
	        argv0, BATCH, N_SAMPLES, SAMPLE_RATE, N_CLASSES);
}

int main(int argc, char **argv)
{
	const char *python = NULL, *sizes = "tiny,small,wide,mel";
	int quick = 0, keep = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--python") && i + 1 < argc) {
			python = argv[++i];
		} else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			sizes = argv[++i];
		} else if (!strcmp(argv[i], "--quick")) {
			quick = 1;
		} else if (!strcmp(argv[i], "--keep")) {
			keep = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout, argv[0]);
			return 0;
		} else {
			fprintf(stderr, "bench: unknown or incomplete option %s\n", argv[i]);
			usage(stderr, argv[0]);
			return 2;
		}
	}

	/* the sizes */
	static char names[MAX_SIZES][32];
	size_res rs[MAX_SIZES];
	int nsize = 0;
	for (const char *p = sizes; *p;) {
		size_t len = strcspn(p, ",");
		if (len) {
			onr_op tmp[ONR_MAX_OPS];
			if (nsize == MAX_SIZES || len >= sizeof names[0]) {
				fprintf(stderr, "bench: too many sizes or too long a name in --sizes\n");
				return 2;
			}
			memcpy(names[nsize], p, len);
			names[nsize][len] = '\0';
			if (!onr_arch_preset(names[nsize], N_CLASSES, tmp)) {
				fprintf(stderr, "bench: unknown size '%s' (tiny, small, wide)\n", names[nsize]);
				return 2;
			}
			memset(&rs[nsize], 0, sizeof rs[nsize]);
			rs[nsize].name = names[nsize];
			rs[nsize].t_dream_ms = rs[nsize].t_train_ms = rs[nsize].t_train2_ms = NAN;
			rs[nsize].grad_rel = rs[nsize].obj_rel = rs[nsize].tgrad_rel = NAN;
			nsize++;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (!nsize) {
		fprintf(stderr, "bench: no sizes given\n");
		return 2;
	}

	timing tm = {quick ? 0.12 : 0.5, quick ? 3 : 7, quick ? 1 : 3, quick ? 0.01 : 0.05};

	/* the inputs: one block for the dream, a batch for training */
	float *x = malloc(N_SAMPLES * sizeof *x);
	float *xb = malloc((size_t)BATCH * N_SAMPLES * sizeof *xb);
	if (!x || !xb) {
		fprintf(stderr, "bench: out of memory\n");
		return 1;
	}
	make_input(x, N_SAMPLES, 0);
	for (uint32_t k = 0; k < BATCH; k++)
		make_input(xb + (size_t)k * N_SAMPLES, N_SAMPLES, k);

	const char *tmpdir = getenv("TMPDIR");
	char dir[PATH_LEN], input_path[PATH_LEN], batch_path[PATH_LEN];
	int dl = snprintf(dir, sizeof dir, "%s/onr-bench-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (dl < 0 || dl >= (int)sizeof dir || !mkdtemp(dir)) {
		fprintf(stderr, "bench: cannot make a temporary directory %s: %s\n", dir,
		        strerror(errno));
		return 1;
	}
	if (path_in(input_path, dir, "input", ".f32") ||
	    path_in(batch_path, dir, "batch_input", ".f32") ||
	    write_f32(input_path, x, N_SAMPLES) ||
	    write_f32(batch_path, xb, (size_t)BATCH * N_SAMPLES)) {
		fprintf(stderr, "bench: cannot write the inputs into %s\n", dir);
		return 1;
	}

	printf("bench: kernels %s -\n", onr_kernel_isa());
	printf("bench: input_samples %u samples\n", N_SAMPLES);
	printf("bench: train_batch %u examples\n", BATCH);
	fflush(stdout);

	int failed = 0;
	for (int i = 0; i < nsize; i++)
		if (run_c(&rs[i], dir, x, xb, &tm))
			failed = 1;

	int have_torch = 0;
	if (!python) {
		printf("note: PyTorch comparison skipped: no --python given\n");
	} else {
		char script[PATH_LEN];
		find_script(script, sizeof script, argv[0], "bench_torch.py");
		have_torch = run_torch(rs, nsize, python, script, input_path, batch_path, quick) == 0;
	}

	if (have_torch) {
		for (int i = 0; i < nsize; i++) {
			size_res *r = &rs[i];
			if (!r->ok)
				continue;
			if (!isnan(r->grad_rel))
				print_fig("dream_grad_", r->name, "_rel_l2_vs_torch", r->grad_rel, "rel");
			if (!isnan(r->obj_rel))
				print_fig("dream_objective_", r->name, "_rel_diff_vs_torch", r->obj_rel,
				          "rel");
			if (!isnan(r->tgrad_rel))
				print_fig("train_grad_", r->name, "_rel_l2_vs_torch", r->tgrad_rel, "rel");
			if (!isnan(r->t_dream_ms)) {
				print_fig("torch_dream_step_", r->name, "_ms", r->t_dream_ms, "ms");
				print_fig("torch_dream_step_", r->name, "_gflops",
				          r->fl.dream / (r->t_dream_ms * 1e-3) * 1e-9, "GFLOP/s");
				print_fig("dream_step_", r->name, "_speedup_vs_torch",
				          r->t_dream_ms / (r->dream_s * 1e3), "x");
			}
			if (!isnan(r->t_train_ms)) {
				print_fig("torch_train_", r->name, "_batch_ms", r->t_train_ms, "ms");
				print_fig("torch_train_", r->name, "_examples_per_s",
				          BATCH / (r->t_train_ms * 1e-3), "examples/s");
				print_fig("torch_train_", r->name, "_gflops",
				          r->fl.train * BATCH / (r->t_train_ms * 1e-3) * 1e-9, "GFLOP/s");
				print_fig("train_", r->name, "_speedup_vs_torch",
				          r->t_train_ms / (r->train_s * 1e3), "x");
			}
			if (!isnan(r->t_train2_ms) && r->train2_s > 0) {
				print_fig("torch_train_", r->name, "_examples_per_s_2threads",
				          BATCH / (r->t_train2_ms * 1e-3), "examples/s");
				print_fig("train_", r->name, "_2threads_speedup_vs_torch",
				          r->t_train2_ms / (r->train2_s * 1e3), "x");
			}
			/* dream_ref.py's suggested tolerances: rel L2 1e-3 */
			if (r->grad_rel > 1e-3 || r->tgrad_rel > 1e-3 || r->obj_rel > 1e-4)
				printf("note: WARNING: %s: C and PyTorch disagree (dream grad rel L2 %.3g, "
				       "objective rel %.3g, train grad rel L2 %.3g)\n",
				       r->name, r->grad_rel, r->obj_rel, r->tgrad_rel);
		}
	}

	/* the PyTorch bridge's import and export of the shipped models */
	failed |= bench_bridge(python, argv[0], dir, quick);

	/* the renderer: default settings, and a heavy one */
	double secs = quick ? 5.0 : 20.0;
	printf("note: render: 48 kHz stereo, %.0f s, small model; default = linked stereo, "
	       "8 iterations, overlap 2, jitter %g ms with %u view per step; nojitter = default "
	       "without jitter; copies4 = default with 4 views per step; heavy = independent "
	       "stereo, 32 iterations, overlap 4; magnitude = default in the magnitude form; shipped_default / shipped_magnitude = models/default.onm (log-mel) at the defaults, each form\n",
	       secs, (double)ONR_DREAM_DEFAULT_JITTER_MS, ONR_DREAM_DEFAULT_COPIES);
	failed |= bench_render("default", "small", 8, 0, 2, secs, 0, -1.0f, ONR_DREAM_ADD);
	failed |= bench_render("nojitter", "small", 8, 0, 2, secs, 1, 0.0f, ONR_DREAM_ADD);
	failed |= bench_render("copies4", "small", 8, 0, 2, secs, 4, -1.0f, ONR_DREAM_ADD);
	failed |= bench_render("magnitude", "small", 8, 0, 2, secs, 0, -1.0f, ONR_DREAM_MAGNITUDE);
	failed |= bench_render("heavy", "small", 32, 1, 4, secs, 0, -1.0f, ONR_DREAM_ADD);
	/* the shipped default model (a log-mel front end) at the plugin's
	 * defaults, in both forms: what a user's plugin costs */
	failed |= bench_render("shipped_default", "file:models/default.onm", 8, 0, 2, secs, 0, -1.0f,
	                       ONR_DREAM_ADD);
	failed |= bench_render("shipped_magnitude", "file:models/default.onm", 8, 0, 2, secs, 0,
	                       -1.0f, ONR_DREAM_MAGNITUDE);
	/* oneiro render on a batch of stems, one at a time and on every core */
	failed |= bench_batch(argv[0], dir, quick ? 4 : 8, quick ? 5.0 : 15.0);
	/* oneiro train's peak memory, in memory and with --stream */
	failed |= bench_stream(argv[0], dir);

	if (keep) {
		printf("note: files kept in %s\n", dir);
	} else {
		for (int i = 0; i < nsize; i++) {
			if (rs[i].model_path[0])
				unlink(rs[i].model_path);
			if (rs[i].grad_path[0])
				unlink(rs[i].grad_path);
			if (rs[i].tgrad_path[0])
				unlink(rs[i].tgrad_path);
		}
		unlink(input_path);
		unlink(batch_path);
		if (rmdir(dir))
			fprintf(stderr, "bench: cannot remove %s: %s\n", dir, strerror(errno));
	}
	free(x);
	free(xb);
	return failed ? 1 : 0;
}
