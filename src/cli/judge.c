/* SPDX-License-Identifier: GPL-2.0-or-later */
/* judge.c -- `oneiro render --judge`: how judge models, and the dreaming
 * model itself, hear each dreamed file against its dry sound and a
 * phase-randomised control, and the shift test. See judge.h. */
#include "judge.h"

#include "dataset.h"
#include "logmel.h" /* onr_fftw_lock */
#include "score.h"
#include "train.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "oneiro render"
#define msg(...) cli_msg(PROG, __VA_ARGS__)

#define OVERLAP_PCT 50.0   /* the judges' windows, as `oneiro score` cuts them */
#define FLOOR_DB (-60.0)
#define P_EPS 1e-7         /* probabilities clamped to [P_EPS, 1 - P_EPS] for log-odds, KL */
#define SHIFT1_S 0.001     /* the shift test's delays */
#define SHIFT2_S 0.010
#define PI 3.14159265358979323846

/* The signals a judge hears, each at the file's rate: the dry sound, the
 * dreamed one, dry + control noise, dry + the delta delayed by 1 and 10 ms
 * (the last two for the dreaming model only). */
enum { S_DRY, S_DREAM, S_CTRL, S_SHIFT1, S_SHIFT2, NSIG };
static const char *const sig_name[NSIG] = {"dry", "dreamed", "control", "shift_1ms",
                                           "shift_10ms"};

typedef struct {
	const char *path;
	onr_model *m;
	onr_trainer *t;
	int own;              /* the dreaming model */
	int has_target;       /* class mode and the judge has the target's name */
	uint32_t target;      /* its index in the judge */
} jmodel;

/* One model's figures on one file; every mean is over the judge's windows
 * (chosen on the dry sound, the same windows for every signal). */
typedef struct {
	int ok;
	size_t windows;
	double lo[NSIG];      /* mean log-odds of the target */
	double pt[NSIG];      /* mean probability of the target */
	double tv[NSIG];      /* mean total-variation distance from the dry window */
	double kl[NSIG];      /* mean KL(dry || signal), nats */
	double inter[NSIG];   /* binary judges: mean probability of class 1 */
	uint32_t top[NSIG];   /* the most probable class of the mean distribution */
	double ptop[NSIG];
} jfig;

typedef struct {
	int used;             /* judged, or noted as not dreamed */
	char *in, *out, *error;
	double seconds, delta_db, ctrl_gain_db;
	uint32_t rate;
	jfig *f;              /* (n_models) */
} jrec;

struct judge {
	judge_opts o;
	int quiet;
	int json_fd;          /* --json -: the real stdout */
	const char *model_path;
	onr_objective obj;
	const char *target;   /* class mode: the dreaming model's target name */
	jmodel *models;       /* (n_models): [0] the dreaming model, then the judges */
	int n_models;
	jrec *recs;           /* (n_recs): one per file, in the order of the files */
	size_t n_recs;
	/* judge_file and judge_skip_file run on the renderers' threads: this
	 * lock serialises them (the models' trainers and the records) */
	pthread_mutex_t lock;
	int have_lock;
};

/* ================================================================ options */
void judge_opts_init(judge_opts *o)
{
	memset(o, 0, sizeof *o);
	o->seed = JUDGE_DEFAULT_SEED;
}

int judge_wanted(const judge_opts *o)
{
	return o->n > 0 || o->json != NULL || o->control != NULL;
}

int judge_parse_option(judge_opts *o, cli_args *a)
{
	static const char *const mine[] = {"--judge", "--judge-seed", "--json", "--judge-control"};
	int is = 0;
	for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
		is |= !strcmp(a->name, mine[i]);
	if (!is)
		return 0;
	if (cli_args_option(a, NULL, 0, mine, sizeof mine / sizeof mine[0]) < 0)
		return -1;
	if (!strcmp(a->name, "--judge")) {
		if (o->n == JUDGE_MAX) {
			msg("--judge: at most %d judges", JUDGE_MAX);
			return -1;
		}
		o->paths[o->n++] = a->arg;
	} else if (!strcmp(a->name, "--judge-seed")) {
		if (cli_parse_u64(PROG, a->name, a->arg, 0, UINT64_MAX, &o->seed))
			return -1;
	} else if (!strcmp(a->name, "--judge-control")) {
		if (!*a->arg) {
			msg("--judge-control: give a file name");
			return -1;
		}
		o->control = a->arg;
	} else {
		if (!*a->arg) {
			msg("--json: give a file name, or - for stdout");
			return -1;
		}
		o->json = a->arg;
	}
	return 1;
}

/* ================================================================ models */
static int model_setup(jmodel *jm, char *err, size_t errlen)
{
	onr_train_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.threads = cli_online_cpus(ONR_TRAIN_MAX_THREADS);
	cfg.window = jm->m->window;
	return onr_trainer_new(&jm->t, jm->m, &cfg, err, errlen);
}

int judge_new(judge **out, const judge_opts *o, onr_model *m, const char *model_path,
              const onr_objective *obj, int quiet, int n_files)
{
	*out = NULL;
	if (o->control && n_files != 1) {
		msg("--judge-control: only with one input file");
		return EXIT_USAGE;
	}
	if (o->control && o->json && !strcmp(o->control, o->json)) {
		msg("--judge-control and --json name the same file, %s", o->control);
		return EXIT_USAGE;
	}
	judge *j = calloc(1, sizeof *j);
	if (!j) {
		msg("out of memory");
		return EXIT_FAIL;
	}
	j->o = *o;
	j->quiet = quiet;
	if (pthread_mutex_init(&j->lock, NULL)) {
		free(j);
		msg("cannot create a lock");
		return EXIT_FAIL;
	}
	j->have_lock = 1;
	j->n_recs = n_files > 0 ? (size_t)n_files : 0;
	j->recs = calloc(j->n_recs ? j->n_recs : 1, sizeof *j->recs);
	j->json_fd = -1;
	j->model_path = model_path;
	j->obj = *obj;
	if (obj->mode == ONR_OBJ_CLASS)
		j->target = m->class_names[obj->cls];
	j->models = calloc((size_t)o->n + 1, sizeof *j->models);
	if (!j->models || !j->recs) {
		msg("out of memory");
		judge_free(j);
		return EXIT_FAIL;
	}
	char err[512];
	for (int i = 0; i <= o->n; i++) {
		jmodel *jm = &j->models[i];
		jm->own = i == 0;
		jm->path = i ? o->paths[i - 1] : model_path;
		if (jm->own) {
			jm->m = onr_model_clone(m);
			if (!jm->m) {
				msg("out of memory");
				judge_free(j);
				return EXIT_FAIL;
			}
		} else if (onr_model_load_file(&jm->m, jm->path, err, sizeof err)) {
			/* the core's message names the file */
			msg("--judge: %s", err);
			judge_free(j);
			return EXIT_FAIL;
		}
		j->n_models++;
		if (model_setup(jm, err, sizeof err)) {
			msg("--judge: %s: %s", jm->path, err);
			judge_free(j);
			return EXIT_FAIL;
		}
		if (j->target && jm->own) {
			jm->target = obj->cls;
			jm->has_target = 1;
		} else if (j->target) {
			uint32_t k = onr_model_class_index(jm->m, j->target, 1);
			if (k != UINT32_MAX) {
				jm->target = k;
				jm->has_target = 1;
			}
		}
	}
	if (o->json && !strcmp(o->json, "-")) {
		/* stdout is the JSON's; the readable report goes to stderr */
		fflush(stdout);
		j->json_fd = dup(1);
		if (j->json_fd < 0 || dup2(2, 1) < 0) {
			msg("--json -: cannot set stdout aside");
			judge_free(j);
			return EXIT_FAIL;
		}
	}
	*out = j;
	return 0;
}

static void rec_free(jrec *r)
{
	free(r->in);
	free(r->out);
	free(r->error);
	free(r->f);
}

void judge_free(judge *j)
{
	if (!j)
		return;
	for (int i = 0; i < j->n_models; i++) {
		onr_trainer_free(j->models[i].t);
		onr_model_free(j->models[i].m);
	}
	free(j->models);
	for (size_t i = 0; i < j->n_recs; i++)
		rec_free(&j->recs[i]);
	free(j->recs);
	if (j->json_fd >= 0)
		close(j->json_fd);
	if (j->have_lock)
		pthread_mutex_destroy(&j->lock);
	free(j);
}

int judge_audio_push(judge_audio *a, const float *dry, const float *wet, uint32_t n)
{
	if (a->n + n > a->cap) {
		size_t cap = (a->cap + n) * 2;
		float *d = realloc(a->dry, cap * sizeof *d);
		if (!d)
			return -1;
		a->dry = d;
		float *w = realloc(a->wet, cap * sizeof *w);
		if (!w)
			return -1;
		a->wet = w;
		a->cap = cap;
	}
	memcpy(a->dry + a->n, dry, n * sizeof *dry);
	memcpy(a->wet + a->n, wet, n * sizeof *wet);
	a->n += n;
	return 0;
}

void judge_audio_free(judge_audio *a)
{
	free(a->dry);
	free(a->wet);
	memset(a, 0, sizeof *a);
}

/* ================================================================ control */
uint32_t judge_frame_len(uint32_t rate)
{
	double want = 0.032 * rate;
	uint32_t N = 64;
	while (N < (1u << 20) && fabs(log2(2.0 * N / want)) < fabs(log2(N / want)))
		N *= 2;
	return N;
}

int judge_phase_randomise(const float *x, size_t n, uint32_t rate, uint64_t seed, float *y,
                          double *gain)
{
	return judge_resynth(x, n, rate, seed, 1, y, gain);
}

int judge_resynth(const float *x, size_t n, uint32_t rate, uint64_t seed, int randomise, float *y,
                  double *gain)
{
	uint32_t N = judge_frame_len(rate), H = N / 4, B = N / 2 + 1;
	/* N zeros before, at least N after, whole hops: every sample of x lies
	 * under four frames */
	size_t P = N + (n + N + H - 1) / H * H;
	size_t frames = (P - N) / H + 1;
	float *pad = calloc(P, sizeof *pad);
	double *acc = calloc(P, sizeof *acc);
	float *win = malloc(N * sizeof *win);
	float *fr = fftwf_malloc(N * sizeof *fr);
	fftwf_complex *X = fftwf_malloc(B * sizeof *X);
	fftwf_plan fwd = NULL, inv = NULL;
	int st = -1;
	if (!pad || !acc || !win || !fr || !X)
		goto done;
	/* FFTW's planner is not thread-safe: every plan made or destroyed in
	 * this program (the core's and ours) holds the core's FFTW lock */
	onr_fftw_lock();
	fwd = fftwf_plan_dft_r2c_1d((int)N, fr, X, FFTW_ESTIMATE);
	inv = fftwf_plan_dft_c2r_1d((int)N, X, fr, FFTW_ESTIMATE);
	onr_fftw_unlock();
	if (!fwd || !inv)
		goto done;
	memcpy(pad + N, x, n * sizeof *x);
	for (uint32_t i = 0; i < N; i++)
		win[i] = (float)sqrt(0.5 - 0.5 * cos(2.0 * PI * i / N));
	/* sqrt-Hann analysis and synthesis at hop N/4: the squared windows sum
	 * to 2, so the frames as they are (coherent) add up to twice x; frames
	 * with random phases add up in power instead (each is noise at half the
	 * windowed power), which gives x's level back with no division by 2.
	 * FFTW's inverse is N times too large. */
	double norm = randomise ? 1.0 / N : 1.0 / (2.0 * N);
	uint64_t rng = seed;
	for (size_t k = 0; k < frames; k++) {
		const float *s = pad + k * H;
		for (uint32_t i = 0; i < N; i++)
			fr[i] = win[i] * s[i];
		fftwf_execute(fwd);
		for (uint32_t b = 0; b < B; b++) {
			double re = X[b][0], im = X[b][1];
			double mag = sqrt(re * re + im * im);
			if (!randomise)
				continue;
			uint64_t r = cli_rand64(&rng);
			if (b == 0 || b == N / 2) {
				X[b][0] = (float)((r >> 63) ? -mag : mag);
				X[b][1] = 0.0f;
			} else {
				double ph = 2.0 * PI * (double)(r >> 11) * (1.0 / 9007199254740992.0);
				X[b][0] = (float)(mag * cos(ph));
				X[b][1] = (float)(mag * sin(ph));
			}
		}
		fftwf_execute(inv);
		double *a = acc + k * H;
		for (uint32_t i = 0; i < N; i++)
			a[i] += norm * win[i] * fr[i];
	}
	double sx = 0.0, sy = 0.0;
	for (size_t i = 0; i < n; i++) {
		sx += (double)x[i] * x[i];
		sy += acc[N + i] * acc[N + i];
	}
	double g = randomise && sy > 0.0 ? sqrt(sx / sy) : 1.0;
	for (size_t i = 0; i < n; i++)
		y[i] = (float)(g * acc[N + i]);
	if (gain)
		*gain = g;
	st = 0;
done:
	onr_fftw_lock();
	if (fwd)
		fftwf_destroy_plan(fwd);
	if (inv)
		fftwf_destroy_plan(inv);
	onr_fftw_unlock();
	fftwf_free(X);
	fftwf_free(fr);
	free(win);
	free(acc);
	free(pad);
	return st;
}

/* Writes x (n samples at rate) as a mono 32-bit float WAV, atomically. */
static int write_wav(const char *path, const float *x, size_t n, uint32_t rate, char *err,
                     size_t errlen)
{
	char tmp[CLI_PATH_BUF];
	int fd = cli_tmp_create(path, tmp, sizeof tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a file in its directory", path);
		return -1;
	}
	SF_INFO si;
	memset(&si, 0, sizeof si);
	si.samplerate = (int)rate;
	si.channels = 1;
	si.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	SNDFILE *f = sf_open_fd(fd, SFM_WRITE, &si, SF_TRUE);
	if (!f) {
		close(fd);
		unlink(tmp);
		snprintf(err, errlen, "%s: cannot write: %s", path, sf_strerror(NULL));
		return -1;
	}
	sf_command(f, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	int bad = sf_writef_float(f, x, (sf_count_t)n) != (sf_count_t)n;
	bad |= sf_close(f) != 0;
	if (bad || rename(tmp, path)) {
		unlink(tmp);
		snprintf(err, errlen, "%s: writing failed", path);
		return -1;
	}
	return 0;
}

/* ================================================================ judging */
/* x (n samples at rate) at the model's rate, as `oneiro score` reads a
 * file: libsamplerate's medium-quality sinc when the rates differ, then
 * zero-padded (centred) to at least one window. *y malloc'ed. */
static int to_model(const float *x, size_t n, uint32_t rate, const onr_model *m, float **y,
                    size_t *ny, char *err, size_t errlen)
{
	size_t len = n;
	float *r = NULL;
	if (rate != m->sample_rate) {
		double ratio = (double)m->sample_rate / rate;
		if (ratio > 256.0 || ratio < 1.0 / 256.0) {
			snprintf(err, errlen, "the file's %u Hz is too far from the model's %u Hz", rate,
			         m->sample_rate);
			return -1;
		}
		int e = ds_resample(x, n, ratio, &r, &len);
		if (e < 0)
			goto oom;
		if (e) {
			snprintf(err, errlen, "resampling to %u Hz failed: %s", m->sample_rate,
			         src_strerror(e));
			return -1;
		}
		if (!len)
			r[len++] = 0.0f;
	}
	size_t W = m->window, full = len < W ? W : len;
	float *o = calloc(full, sizeof *o);
	if (!o) {
		free(r);
		goto oom;
	}
	memcpy(o + (full - len) / 2, r ? r : x, len * sizeof *o);
	free(r);
	*y = o;
	*ny = full;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static double clampp(double p)
{
	return p < P_EPS ? P_EPS : p > 1.0 - P_EPS ? 1.0 - P_EPS : p;
}

/* Model jm's figures on the first nsig signals (n samples at rate each). */
static int judge_model(jmodel *jm, float *const *sig, int nsig, size_t n, uint32_t rate, jfig *f,
                       char *err, size_t errlen)
{
	const onr_model *m = jm->m;
	uint32_t K = m->n_classes, W = m->window;
	float *xs[NSIG] = {0}, *probs[NSIG] = {0};
	double mean[ONR_MAX_CLASSES];
	size_t *off = NULL, nw = 0, len = 0;
	int st = -1;
	memset(f, 0, sizeof *f);
	for (int s = 0; s < nsig; s++) {
		size_t ls;
		if (to_model(sig[s], n, rate, m, &xs[s], &ls, err, errlen))
			goto done;
		len = ls; /* the same for every signal: the same length in */
	}
	if (ds_windows(xs[S_DRY], len, W, ds_hop(W, OVERLAP_PCT), FLOOR_DB, &off, &nw)) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	for (int s = 0; s < nsig; s++) {
		probs[s] = malloc(nw * K * sizeof *probs[s]);
		if (!probs[s]) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		int e = score_windows(jm->t, K, xs[s], off, nw, mean, probs[s]);
		if (e) {
			snprintf(err, errlen, "%s: the model failed: %s", jm->path, onr_strerror(e));
			goto done;
		}
		uint32_t top = 0;
		for (uint32_t k = 1; k < K; k++)
			if (mean[k] > mean[top])
				top = k;
		f->top[s] = top;
		f->ptop[s] = mean[top];
		if (m->kind == ONR_KIND_BINARY)
			f->inter[s] = mean[1];
		double lo = 0.0, pt = 0.0, tv = 0.0, kl = 0.0;
		for (size_t w = 0; w < nw; w++) {
			const float *p = probs[s] + w * K, *q = probs[S_DRY] + w * K;
			if (jm->has_target) {
				double pp = clampp(p[jm->target]);
				lo += log(pp / (1.0 - pp));
				pt += p[jm->target];
			}
			double t = 0.0, d = 0.0;
			for (uint32_t k = 0; k < K; k++) {
				t += fabs((double)p[k] - q[k]);
				double a = clampp(q[k]), b = clampp(p[k]);
				d += (double)q[k] * log(a / b);
			}
			tv += 0.5 * t;
			kl += d;
		}
		f->lo[s] = lo / nw;
		f->pt[s] = pt / nw;
		f->tv[s] = tv / nw;
		f->kl[s] = kl / nw;
	}
	f->windows = nw;
	f->ok = 1;
	st = 0;
done:
	for (int s = 0; s < NSIG; s++) {
		free(xs[s]);
		free(probs[s]);
	}
	free(off);
	return st;
}

/* The figure a model's gain is measured by on signal s: the target's
 * log-odds gain over the dry sound when it has the target, else the
 * distance of its class distribution from the dry one. */
static double gain_of(const jmodel *jm, const jfig *f, int s)
{
	return jm->has_target ? f->lo[s] - f->lo[S_DRY] : f->tv[s];
}

static const char *gain_measure(const jmodel *jm)
{
	return jm->has_target ? "log_odds_gain" : "tv_from_dry";
}

/* File idx's record (under j->lock), or NULL (out of memory, or idx out of
 * range). */
static jrec *new_rec(judge *j, int idx, const char *in, const char *out)
{
	if (idx < 0 || (size_t)idx >= j->n_recs)
		return NULL;
	jrec *r = &j->recs[idx];
	rec_free(r);
	memset(r, 0, sizeof *r);
	r->in = strdup(in);
	r->out = out ? strdup(out) : NULL;
	r->f = calloc((size_t)j->n_models, sizeof *r->f);
	if (!r->in || (out && !r->out) || !r->f) {
		rec_free(r);
		memset(r, 0, sizeof *r);
		return NULL;
	}
	r->used = 1;
	return r;
}

void judge_skip_file(judge *j, int idx, const char *in_path, const char *why)
{
	pthread_mutex_lock(&j->lock);
	if (idx >= 0 && (size_t)idx < j->n_recs && !j->recs[idx].used) {
		jrec *r = new_rec(j, idx, in_path, NULL);
		if (r)
			r->error = strdup(why);
	}
	pthread_mutex_unlock(&j->lock);
}

/* ================================================================ report */
static const char *short_name(const jmodel *jm)
{
	return cli_base_name(jm->path);
}

static void print_pct(cli_buf *o, double part, double whole)
{
	if (whole > 0.0)
		cli_printf(o, " (%.0f %% kept)", 100.0 * part / whole);
}

/* One model's line(s); for a batch mean, ok counts and beats are given. */
static void print_model(cli_buf *o, const judge *j, const jmodel *jm, const jfig *f, int width)
{
	const onr_model *m = jm->m;
	cli_printf(o, "  %-*s ", width, jm->own ? "(dreaming model)" : short_name(jm));
	if (jm->has_target) {
		cli_printf(o, "'%s' log-odds: dry %+.2f, dreamed %+.2f (%+.2f), control %+.2f (%+.2f)\n",
		       m->class_names[jm->target], f->lo[S_DRY], f->lo[S_DREAM],
		       f->lo[S_DREAM] - f->lo[S_DRY], f->lo[S_CTRL], f->lo[S_CTRL] - f->lo[S_DRY]);
		cli_printf(o, "  %-*s ", width, "");
	} else if (j->target) {
		cli_printf(o, "has no class '%s'; ", j->target);
	}
	cli_printf(o, "classes moved (TV from dry): dreamed %.3f, control %.3f; top %s -> %s (control %s)\n",
	       f->tv[S_DREAM], f->tv[S_CTRL], m->class_names[f->top[S_DRY]],
	       m->class_names[f->top[S_DREAM]], m->class_names[f->top[S_CTRL]]);
	if (m->kind == ONR_KIND_BINARY)
		cli_printf(o, "  %-*s interestingness: dry %.3f, dreamed %.3f, control %.3f\n", width, "",
		       f->inter[S_DRY], f->inter[S_DREAM], f->inter[S_CTRL]);
}

static int name_width(const judge *j)
{
	int w = (int)strlen("(dreaming model)");
	for (int i = 1; i < j->n_models; i++) {
		int l = (int)strlen(short_name(&j->models[i]));
		if (l > w)
			w = l;
	}
	return w > 40 ? 40 : w;
}

static void print_shift(cli_buf *o, const char *label, const jmodel *own, const jfig *f)
{
	double g = gain_of(own, f, S_DREAM), g1 = gain_of(own, f, S_SHIFT1),
	       g2 = gain_of(own, f, S_SHIFT2);
	const char *u = own->has_target ? "log-odds" : "TV from dry";
	cli_printf(o, "%-15s the dreaming model's gain (%s) %+.3f; delta delayed 1 ms %+.3f", label, u, g,
	       g1);
	print_pct(o, g1, g);
	cli_printf(o, ", 10 ms %+.3f", g2);
	print_pct(o, g2, g);
	cli_printf(o, "\n");
}

int judge_file(judge *j, int idx, const judge_audio *a, const char *in_path, const char *out_path,
               uint32_t rate, cli_buf *o)
{
	pthread_mutex_lock(&j->lock);
	size_t n = a->n;
	char err[512];
	jrec *r = new_rec(j, idx, in_path, out_path);
	if (!r) {
		pthread_mutex_unlock(&j->lock);
		msg("%s: cannot judge it: out of memory", in_path);
		return EXIT_FAIL;
	}
	r->rate = rate;
	r->seconds = (double)n / rate;
	float *sig[NSIG] = {0}, *delta = NULL, *noise = NULL;
	int st = 0;
	if (!n) {
		snprintf(err, sizeof err, "no audio to judge");
		goto fail;
	}
	delta = malloc(n * sizeof *delta);
	noise = malloc(n * sizeof *noise);
	for (int s = S_CTRL; s < NSIG; s++)
		sig[s] = malloc(n * sizeof *sig[s]);
	if (!delta || !noise || !sig[S_CTRL] || !sig[S_SHIFT1] || !sig[S_SHIFT2]) {
		snprintf(err, sizeof err, "out of memory");
		goto fail;
	}
	sig[S_DRY] = a->dry;
	sig[S_DREAM] = a->wet;
	double sd = 0.0, sx = 0.0;
	for (size_t i = 0; i < n; i++) {
		delta[i] = a->wet[i] - a->dry[i];
		sd += (double)delta[i] * delta[i];
		sx += (double)a->dry[i] * a->dry[i];
	}
	r->delta_db = sd > 0.0 && sx > 0.0 ? 10.0 * log10(sd / sx) : -INFINITY;
	double g = 1.0;
	if (judge_phase_randomise(delta, n, rate, j->o.seed, noise, &g)) {
		snprintf(err, sizeof err, "out of memory");
		goto fail;
	}
	r->ctrl_gain_db = 20.0 * log10(g);
	size_t d1 = (size_t)lround(SHIFT1_S * rate), d2 = (size_t)lround(SHIFT2_S * rate);
	for (size_t i = 0; i < n; i++) {
		sig[S_CTRL][i] = a->dry[i] + noise[i];
		sig[S_SHIFT1][i] = a->dry[i] + (i >= d1 ? delta[i - d1] : 0.0f);
		sig[S_SHIFT2][i] = a->dry[i] + (i >= d2 ? delta[i - d2] : 0.0f);
	}
	if (j->o.control && write_wav(j->o.control, sig[S_CTRL], n, rate, err, sizeof err))
		goto fail;
	for (int k = 0; k < j->n_models; k++)
		/* every judge also hears the delta 1 ms late (its gain_1ms); the
		 * dreaming model 10 ms late as well (the shift test) */
		if (judge_model(&j->models[k], sig, k ? S_SHIFT2 : NSIG, n, rate, &r->f[k], err,
		                sizeof err))
			goto fail;
	if (!j->quiet) {
		int w = name_width(j);
		cli_printf(o, "judged:         %u window%s of the dreaming model", (unsigned)r->f[0].windows,
		       r->f[0].windows == 1 ? "" : "s");
		cli_printf(o, "; control = dry + the delta's spectrogram with random phases (seed %llu",
		       (unsigned long long)j->o.seed);
		if (fabs(r->ctrl_gain_db) >= 0.005)
			cli_printf(o, ", level matched by %+.2f dB", r->ctrl_gain_db);
		cli_printf(o, ")\n");
		for (int k = 0; k < j->n_models; k++)
			print_model(o, j, &j->models[k], &r->f[k], w);
		print_shift(o, "shift test:", &j->models[0], &r->f[0]);
	}
	goto done;
fail:
	msg("%s: cannot judge it: %s", in_path, err);
	r->error = strdup(err);
	st = EXIT_FAIL;
done:
	pthread_mutex_unlock(&j->lock);
	free(delta);
	free(noise);
	for (int s = S_CTRL; s < NSIG; s++)
		free(sig[s]);
	return st;
}

/* ================================================================ JSON */
static void json_num(cli_buf *b, double v)
{
	if (isfinite(v))
		cli_printf(b, "%.6g", v);
	else
		cli_printf(b, "null");
}

static void json_sigs(cli_buf *b, const char *key, const double *v, int nsig)
{
	cli_printf(b, ", \"%s\": {", key);
	for (int s = 0; s < nsig; s++) {
		cli_printf(b, "%s\"%s\": ", s ? ", " : "", sig_name[s]);
		json_num(b, v[s]);
	}
	cli_printf(b, "}");
}

static void json_model(cli_buf *b, const judge *j, const jmodel *jm, const jfig *f)
{
	const onr_model *m = jm->m;
	cli_printf(b, "{\"model\": ");
	cli_json_str(b, jm->path);
	cli_printf(b, ", \"own\": %s, \"windows\": %zu, \"target\": ", jm->own ? "true" : "false",
	           f->windows);
	if (jm->has_target)
		cli_json_str(b, m->class_names[jm->target]);
	else
		cli_printf(b, "null");
	if (j->target && !jm->has_target)
		cli_printf(b, ", \"note\": \"the model has no class of the target's name\"");
	cli_printf(b, ", \"measure\": \"%s\", \"gain\": ", gain_measure(jm));
	json_num(b, gain_of(jm, f, S_DREAM));
	cli_printf(b, ", \"control_gain\": ");
	json_num(b, gain_of(jm, f, S_CTRL));
	cli_printf(b, ", \"dream_minus_control\": ");
	json_num(b, gain_of(jm, f, S_DREAM) - gain_of(jm, f, S_CTRL));
	cli_printf(b, ", \"gain_1ms\": ");
	json_num(b, gain_of(jm, f, S_SHIFT1));
	if (jm->has_target) {
		json_sigs(b, "log_odds", f->lo, S_SHIFT1);
		json_sigs(b, "target_probability", f->pt, S_SHIFT1);
	}
	double tv[2] = {f->tv[S_DREAM], f->tv[S_CTRL]}, kl[2] = {f->kl[S_DREAM], f->kl[S_CTRL]};
	cli_printf(b, ", \"tv_from_dry\": {\"dreamed\": ");
	json_num(b, tv[0]);
	cli_printf(b, ", \"control\": ");
	json_num(b, tv[1]);
	cli_printf(b, "}, \"kl_from_dry\": {\"dreamed\": ");
	json_num(b, kl[0]);
	cli_printf(b, ", \"control\": ");
	json_num(b, kl[1]);
	cli_printf(b, "}, \"top\": {");
	for (int s = 0; s < S_SHIFT1; s++) {
		cli_printf(b, "%s\"%s\": {\"name\": ", s ? ", " : "", sig_name[s]);
		cli_json_str(b, m->class_names[f->top[s]]);
		cli_printf(b, ", \"probability\": ");
		json_num(b, f->ptop[s]);
		cli_printf(b, "}");
	}
	cli_printf(b, "}");
	if (m->kind == ONR_KIND_BINARY)
		json_sigs(b, "interestingness", f->inter, S_SHIFT1);
	cli_printf(b, "}");
}

static void json_shift(cli_buf *b, const jmodel *own, double g, double g1, double g2)
{
	cli_printf(b, "{\"measure\": \"%s\", \"gain\": ", gain_measure(own));
	json_num(b, g);
	cli_printf(b, ", \"gain_1ms\": ");
	json_num(b, g1);
	cli_printf(b, ", \"gain_10ms\": ");
	json_num(b, g2);
	cli_printf(b, ", \"retained_1ms\": ");
	json_num(b, g > 0.0 ? g1 / g : NAN);
	cli_printf(b, ", \"retained_10ms\": ");
	json_num(b, g > 0.0 ? g2 / g : NAN);
	cli_printf(b, "}");
}

/* ================================================================ finish */
int judge_finish(judge *j)
{
	int K = j->n_models;
	size_t ok = 0;
	jfig *mean = calloc((size_t)K, sizeof *mean);
	size_t *beats = calloc((size_t)K, sizeof *beats);
	if (!mean || !beats) {
		free(mean);
		free(beats);
		msg("out of memory");
		return EXIT_FAIL;
	}
	/* the mean of every figure over the judged files */
	for (size_t i = 0; i < j->n_recs; i++) {
		const jrec *r = &j->recs[i];
		if (!r->used || r->error)
			continue;
		ok++;
		for (int k = 0; k < K; k++) {
			const jfig *f = &r->f[k];
			jfig *a = &mean[k];
			for (int s = 0; s < NSIG; s++) {
				a->lo[s] += f->lo[s];
				a->pt[s] += f->pt[s];
				a->tv[s] += f->tv[s];
				a->kl[s] += f->kl[s];
				a->inter[s] += f->inter[s];
			}
			a->windows += f->windows;
			beats[k] += gain_of(&j->models[k], f, S_DREAM) > gain_of(&j->models[k], f, S_CTRL);
		}
	}
	for (int k = 0; ok && k < K; k++)
		for (int s = 0; s < NSIG; s++) {
			mean[k].lo[s] /= ok;
			mean[k].pt[s] /= ok;
			mean[k].tv[s] /= ok;
			mean[k].kl[s] /= ok;
			mean[k].inter[s] /= ok;
		}
	const jmodel *own = &j->models[0];
	if (!j->quiet && ok > 1) {
		cli_buf ob = {0}, *o = &ob;
		int w = name_width(j);
		cli_printf(o, "\njudged, mean over %zu files (dream above control in how many files):\n", ok);
		for (int k = 0; k < K; k++) {
			const jmodel *jm = &j->models[k];
			const jfig *f = &mean[k];
			cli_printf(o, "  %-*s ", w, jm->own ? "(dreaming model)" : short_name(jm));
			if (jm->has_target)
				cli_printf(o, "'%s' log-odds gain: dreamed %+.2f, control %+.2f; ",
				       jm->m->class_names[jm->target], f->lo[S_DREAM] - f->lo[S_DRY],
				       f->lo[S_CTRL] - f->lo[S_DRY]);
			else if (j->target)
				cli_printf(o, "no class '%s'; ", j->target);
			cli_printf(o, "TV from dry: dreamed %.3f, control %.3f; dream above control %zu of %zu "
			       "(%.0f %%)\n",
			       f->tv[S_DREAM], f->tv[S_CTRL], beats[k], ok, 100.0 * beats[k] / ok);
		}
		print_shift(o, "mean shift:", own, &mean[0]);
		if (ob.s)
			fputs(ob.s, stdout);
		fflush(stdout);
		free(ob.s);
	}
	int st = 0;
	if (j->o.json) {
		cli_buf b = {0};
		cli_printf(&b, "{\"model\": ");
		cli_json_str(&b, j->model_path);
		cli_printf(&b, ", \"objective\": ");
		if (j->target) {
			cli_printf(&b, "\"class\", \"target\": ");
			cli_json_str(&b, j->target);
		} else {
			cli_printf(&b, "\"%s\"", j->obj.mode == ONR_OBJ_FILTER ? "filter" : "layers");
		}
		cli_printf(&b, ", \"judge_seed\": %llu, \"judges\": [", (unsigned long long)j->o.seed);
		for (int k = 0; k < K; k++) {
			cli_printf(&b, "%s", k ? ", " : "");
			cli_json_str(&b, j->models[k].path);
		}
		cli_printf(&b, "],\n \"files\": [");
		for (size_t i = 0, listed = 0; i < j->n_recs; i++) {
			const jrec *r = &j->recs[i];
			if (!r->used) /* not reached */
				continue;
			cli_printf(&b, "%s\n  {\"file\": ", listed++ ? "," : "");
			cli_json_str(&b, r->in);
			if (r->out) {
				cli_printf(&b, ", \"output\": ");
				cli_json_str(&b, r->out);
			}
			if (r->error) {
				cli_printf(&b, ", \"error\": ");
				cli_json_str(&b, r->error);
				cli_printf(&b, "}");
				continue;
			}
			cli_printf(&b, ", \"seconds\": %.6g, \"rate\": %u, \"delta_db\": ", r->seconds,
			           r->rate);
			json_num(&b, r->delta_db);
			cli_printf(&b, ", \"control_level_matched_db\": ");
			json_num(&b, r->ctrl_gain_db);
			cli_printf(&b, ",\n   \"judges\": [");
			for (int k = 0; k < K; k++) {
				cli_printf(&b, "%s\n    ", k ? "," : "");
				json_model(&b, j, &j->models[k], &r->f[k]);
			}
			cli_printf(&b, "],\n   \"shift_test\": ");
			json_shift(&b, own, gain_of(own, &r->f[0], S_DREAM), gain_of(own, &r->f[0], S_SHIFT1),
			           gain_of(own, &r->f[0], S_SHIFT2));
			cli_printf(&b, "}");
		}
		cli_printf(&b, "],\n \"mean\": {\"files\": %zu", ok);
		if (ok) {
			cli_printf(&b, ", \"judges\": [");
			for (int k = 0; k < K; k++) {
				cli_printf(&b, "%s\n    ", k ? "," : "");
				jfig f = mean[k];
				const jmodel *jm = &j->models[k];
				cli_printf(&b, "{\"model\": ");
				cli_json_str(&b, jm->path);
				cli_printf(&b, ", \"own\": %s, \"measure\": \"%s\", \"gain\": ",
				           jm->own ? "true" : "false", gain_measure(jm));
				json_num(&b, gain_of(jm, &f, S_DREAM));
				cli_printf(&b, ", \"control_gain\": ");
				json_num(&b, gain_of(jm, &f, S_CTRL));
				cli_printf(&b, ", \"dream_minus_control\": ");
				json_num(&b, gain_of(jm, &f, S_DREAM) - gain_of(jm, &f, S_CTRL));
				cli_printf(&b, ", \"dream_above_control\": ");
				json_num(&b, (double)beats[k] / ok);
				if (jm->has_target) {
					json_sigs(&b, "log_odds", f.lo, S_SHIFT1);
					json_sigs(&b, "target_probability", f.pt, S_SHIFT1);
				}
				cli_printf(&b, ", \"tv_from_dry\": {\"dreamed\": ");
				json_num(&b, f.tv[S_DREAM]);
				cli_printf(&b, ", \"control\": ");
				json_num(&b, f.tv[S_CTRL]);
				cli_printf(&b, "}, \"kl_from_dry\": {\"dreamed\": ");
				json_num(&b, f.kl[S_DREAM]);
				cli_printf(&b, ", \"control\": ");
				json_num(&b, f.kl[S_CTRL]);
				cli_printf(&b, "}");
				if (jm->m->kind == ONR_KIND_BINARY)
					json_sigs(&b, "interestingness", f.inter, S_SHIFT1);
				cli_printf(&b, "}");
			}
			cli_printf(&b, "],\n  \"shift_test\": ");
			/* retained: the ratio of the mean gains */
			json_shift(&b, own, gain_of(own, &mean[0], S_DREAM), gain_of(own, &mean[0], S_SHIFT1),
			           gain_of(own, &mean[0], S_SHIFT2));
		}
		cli_printf(&b, "}}\n");
		if (b.oom) {
			msg("--json: out of memory");
			st = EXIT_FAIL;
		} else if (j->json_fd >= 0) {
			size_t done = 0;
			while (done < b.n) {
				ssize_t w = write(j->json_fd, b.s + done, b.n - done);
				if (w <= 0) {
					msg("--json -: writing to stdout failed");
					st = EXIT_FAIL;
					break;
				}
				done += (size_t)w;
			}
		} else {
			char err[512];
			if (cli_write_atomic(j->o.json, b.s, b.n, err, sizeof err)) {
				msg("--json: %s", err);
				st = EXIT_FAIL;
			}
		}
		free(b.s);
	}
	free(mean);
	free(beats);
	return st;
}
