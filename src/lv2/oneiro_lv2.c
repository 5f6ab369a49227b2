/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oneiro_lv2.c -- the LV2 plugin: glue between a host and the dream engine.
 *
 * Threads (each function says which it runs on):
 *   audio    run(), the host's real-time thread: never allocates, locks, waits,
 *            logs (except at Trace) or touches files;
 *   worker   work(), the host's LV2 worker: loads models, builds engines,
 *            frees what run() retired;
 *   dream    a thread the plugin owns from activate() to deactivate(): runs
 *            the windows run() hands it;
 *   main     instantiate, activate, deactivate, cleanup, state save/restore
 *            (the host's non-real-time threads);
 *   gui      render(), Ardour's inline display: draws the latest read-outs
 *            run() published (a triple buffer) into a surface of its own.
 * Hand-offs between them are lock-free: a pending "rig" (model + engine) in
 * an atomic pointer, a semaphore post to wake the dream thread, and worker
 * messages.
 */
#include "dream.h"
#include "onr.h"

#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/log/logger.h>
#include <lv2/options/options.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* Ardour's inline display (not in lv2-dev; the ABI Ardour and its plugins
 * use, from ardour/lv2_extensions.h): the host calls render(instance, w,
 * max_h) from its GUI thread and shows the ARGB32 surface returned (owned by
 * the plugin, valid until the next render or cleanup); run() may ask for a
 * redraw with queue_draw, which is real-time safe. */
#define LV2_INLINEDISPLAY_PREFIX "http://harrisonconsoles.com/lv2/inlinedisplay#"
#define LV2_INLINEDISPLAY__interface LV2_INLINEDISPLAY_PREFIX "interface"
#define LV2_INLINEDISPLAY__queue_draw LV2_INLINEDISPLAY_PREFIX "queue_draw"
typedef struct {
	unsigned char *data; /* (height, stride) bytes: native-endian 0xAARRGGBB, premultiplied */
	int width, height, stride;
} LV2_Inline_Display_Image_Surface;
typedef struct {
	LV2_Inline_Display_Image_Surface *(*render)(LV2_Handle instance, uint32_t w,
	                                            uint32_t max_h);
} LV2_Inline_Display_Interface;
typedef struct {
	void *handle;
	void (*queue_draw)(void *handle);
} LV2_Inline_Display;

#define ONEIRO_URI "urn:oneiro:dream"
#define ONEIRO_MONO_URI "urn:oneiro:dream-mono"
#define ONEIRO__model ONEIRO_URI "#model"
#define ONEIRO__model2 ONEIRO_URI "#model2" /* the second model ("several listeners") */
#define DEFAULT_MODEL "default.onm"
#define N_LAYERS 8
#define XFADE_SECONDS 0.05
#define MAX_PATH 4096

/* Ports of the stereo plugin; the mono one has no IN_R / OUT_R and every
 * later index one lower per missing port (see connect_port). */
typedef enum {
	P_IN_L = 0,
	P_IN_R,
	P_OUT_L,
	P_OUT_R,
	P_CONTROL,
	P_NOTIFY,
	P_ENABLED,
	P_FREEWHEEL,
	P_LATENCY,
	P_MIX,
	P_DEPTH,
	P_ITERATIONS,
	P_BOUND,
	P_BAND_LO,
	P_BAND_HI,
	P_TILT,
	P_MODE,
	P_CLASS,
	P_FILTER_LAYER,
	P_FILTER,
	P_PRE,
	P_STEREO,
	P_WINDOW,
	P_LAYER1,
	P_HEARD_CLASS = P_LAYER1 + N_LAYERS,
	P_HEARD_PROB,
	P_DREAM_DB,
	P_LATE,
	P_FORM,          /* added after the read-outs, so older sessions' port
	                    indices stay what they were */
	P_SECOND_SHARE,  /* likewise added last */
	P_JITTER,        /* and these two after it */
	P_COPIES,
	P_COUNT
} port_index;

/* The inline display: the largest surface served (larger requests are
 * clipped to it), and how many read-out steps it shows (one per update of
 * the dream level port, every 0.1 s: 6.4 s). */
#define DISP_MAX_W 640
#define DISP_MAX_H 320
#define DISP_HIST 64

/* What run() hands render(): one frame of read-outs. */
typedef struct {
	uint32_t n_classes, best, target;
	int binary, class_mode, valid;
	float probs[ONR_MAX_CLASSES];      /* (n_classes) of the latest dry window */
	char initial[ONR_MAX_CLASSES];     /* (n_classes) each class name's initial */
	float level_db[DISP_HIST];         /* the dream's level, oldest first */
	float heard[DISP_HIST];            /* binary: p(interesting), oldest first */
} DispFrame;

/* The window lengths of the P_WINDOW enumeration, in seconds (0: the
 * model's own). */
static const double window_seconds[] = {0.0, 0.25, 0.5, 1.0, 2.0};
#define N_WINDOWS (sizeof window_seconds / sizeof window_seconds[0])

typedef struct {
	LV2_URID atom_Path, atom_URID, atom_Object, atom_Sequence, atom_eventTransfer;
	LV2_URID patch_Set, patch_Get, patch_property, patch_value, patch_subject;
	LV2_URID model, model2, bufsz_max, bufsz_nominal, atom_Int;
} URIs;

/* What a swap installs: a model, an engine built on it, and its file; the
 * second model the engine also dreams for (NULL: none), owned by the rig
 * and freed after the engine. */
typedef struct {
	onr_model *model;
	onr_model *model2;
	onr_dream *eng;
	char path[MAX_PATH];
	char path2[MAX_PATH];      /* "" without a second model */
	uint32_t window_idx, stereo;
	char initial[ONR_MAX_CLASSES];  /* (n_classes) for the inline display */
} Rig;

/* Worker messages. */
enum { MSG_LOAD = 1, MSG_REBUILD, MSG_FREE, MSG_LOAD2 };
typedef struct {
	uint32_t type;
	uint32_t window_idx, stereo;
	Rig *rig;                  /* MSG_FREE */
	char path[MAX_PATH];       /* MSG_LOAD; MSG_LOAD2 ("": no second model) */
} Msg;

typedef struct {
	const float *ports_in[P_COUNT];
	float *port_ptr[P_COUNT];
	const LV2_Atom_Sequence *control;
	LV2_Atom_Sequence *notify;
	int mono;
	uint32_t channels;
	double rate;
	char *bundle;

	LV2_URID_Map *map;
	LV2_Worker_Schedule *schedule;
	LV2_Log_Logger logger;
	LV2_Atom_Forge forge;
	URIs uris;

	/* audio thread */
	Rig *rig;                  /* playing */
	Rig *fading;               /* the previous rig, crossfading out */
	uint32_t fade_pos, fade_len;
	float *scratch[2];         /* (max_block) the fading rig's output */
	float *hist[2];            /* (hist_cap) the first input frames since activate */
	uint32_t hist_cap;
	uint64_t since_activate;   /* frames run since activate */
	int freewheel;             /* this cycle's freewheel port */
	int was_freewheel;         /* the last cycle's */
	int fw_wait;               /* freewheel restarted, the input silent since:
	                              the stream has not started yet */
	onr_dream *fw_eng;         /* the engine reset for it */
	uint32_t max_block;
	uint32_t req_window, req_stereo; /* what run() last asked the worker for */
	int send_path;             /* tell the host the model path */
	uint64_t late_base;        /* late windows of rigs already gone */
	uint64_t heard_seen;
	double delta_sq_seen, dry_sq_seen; uint64_t samples_seen;
	float dream_db;
	onr_dream_params params;

	/* audio -> main/worker: the latest settings, for restore */
	_Atomic uint32_t cur_window, cur_stereo;

	/* worker and main: serialised by lock (never taken by run) */
	pthread_mutex_t lock;
	onr_model *w_model;        /* the latest good model */
	char w_path[MAX_PATH];
	onr_model *w_model2;       /* the second model chosen (NULL: none); a rig
	                              whose engine refuses it (another rate, too
	                              short a window) is built without it */
	char w_path2[MAX_PATH];

	/* handed to run() */
	_Atomic(Rig *) pending;

	/* the dream thread */
	pthread_t thread;
	int thread_ok;
	sem_t sem;
	_Atomic int quit;
	_Atomic(onr_dream *) live;   /* the engine the dream thread may work on */
	_Atomic(onr_dream *) hazard; /* the engine it is working on now */
	_Atomic(onr_dream *) live_old;   /* the fading engine, also worked on */
	_Atomic(onr_dream *) hazard_old;

	/* the inline display: run() fills frames[disp_w] and swaps it with the
	 * middle one (index | DISP_DIRTY); render() takes the middle one when
	 * it is dirty into frames[disp_r]. Lock- and wait-free both ways. */
#define DISP_DIRTY 4u
	DispFrame frames[3];
	uint32_t disp_w;              /* audio thread */
	_Atomic uint32_t disp_mid;
	uint32_t disp_r;              /* gui thread */
	LV2_Inline_Display *queue_draw;
	float disp_level[DISP_HIST], disp_heard[DISP_HIST]; /* rings (audio thread) */
	uint32_t disp_pos;
	float disp_probs[ONR_MAX_CLASSES]; /* the latest heard probabilities */
	int disp_new;                 /* something to publish */
	uint32_t *pixels;             /* (DISP_MAX_H, DISP_MAX_W) render's surface */
	LV2_Inline_Display_Image_Surface surf;

	/* rigs run() retired, waiting for the worker (or cleanup) to free them */
#define N_RETIRED 16
	Rig *retired[N_RETIRED];
	_Atomic uint32_t ret_wr, ret_rd;
} Plugin;

/* ------------------------------------------------------------------ rigs */

/* Main or worker thread. Builds an engine for `model` with the plugin's
 * rate and channels, dreaming for `model2` as well when it is not NULL (a
 * copy the rig owns). An engine that refuses model2 (another sample rate, a
 * window shorter than it needs) is built without it: the reason goes to the
 * log, and r->model2 is NULL. */
static Rig *rig_new(Plugin *self, const onr_model *model, const char *path,
                    const onr_model *model2, const char *path2, uint32_t window_idx,
                    uint32_t stereo, char *err, size_t errlen)
{
	Rig *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->model = onr_model_clone(model);
	if (!r->model) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (window_idx >= N_WINDOWS)
		window_idx = 0;
	uint32_t window = 0;
	if (window_seconds[window_idx] > 0.0) {
		window = (uint32_t)lround(window_seconds[window_idx] * model->sample_rate);
		window -= window % 4;
		if (window < model->min_len)
			window = (model->min_len + 3) / 4 * 4;
	} else if (model->window % 2) {
		window = model->window + 1;
	}
	onr_dream_config cfg = {0};
	cfg.host_rate = (uint32_t)lround(self->rate);
	cfg.channels = self->channels;
	cfg.window = window;
	cfg.overlap = 2;
	cfg.stereo = stereo ? ONR_STEREO_INDEPENDENT : ONR_STEREO_LINKED;
	cfg.max_iterations = 64;
	cfg.max_block = self->max_block;
	if (model2) {
		r->model2 = onr_model_clone(model2);
		if (!r->model2) {
			onr_model_free(r->model);
			free(r);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		cfg.second = r->model2;
		char err2[512];
		if (onr_dream_new(&r->eng, r->model, &cfg, err2, sizeof err2)) {
			/* without it, if that is what the engine refused */
			cfg.second = NULL;
			onr_model_free(r->model2);
			r->model2 = NULL;
			r->eng = NULL;
			if (onr_dream_new(&r->eng, r->model, &cfg, err, errlen)) {
				onr_model_free(r->model);
				free(r);
				return NULL;
			}
			lv2_log_error(&self->logger, "oneiro: the second model %s is not used: %s\n",
			              path2, err2);
		}
	} else if (onr_dream_new(&r->eng, r->model, &cfg, err, errlen)) {
		onr_model_free(r->model);
		free(r);
		return NULL;
	}
	onr_dream_set_listen(r->eng, 1);
	for (uint32_t k = 0; k < r->model->n_classes && k < ONR_MAX_CLASSES; k++) {
		const char *n = r->model->class_names ? r->model->class_names[k] : NULL;
		char c = '?';
		for (; n && *n; n++)
			if ((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9')) {
				c = *n >= 'a' && *n <= 'z' ? (char)(*n - 'a' + 'A') : *n;
				break;
			}
		r->initial[k] = c;
	}
	snprintf(r->path, sizeof r->path, "%s", path);
	if (r->model2)
		snprintf(r->path2, sizeof r->path2, "%s", path2);
	r->window_idx = window_idx;
	r->stereo = stereo;
	return r;
}

/* Worker or main thread. The dream thread must be done with the engine:
 * wait until it is not the one it holds (it never holds one for long). */
static void rig_free(Plugin *self, Rig *r)
{
	if (!r)
		return;
	while (atomic_load(&self->hazard) == r->eng || atomic_load(&self->hazard_old) == r->eng) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	onr_dream_free(r->eng);
	onr_model_free(r->model);
	onr_model_free(r->model2); /* after the engine that used it */
	free(r);
}

/* Worker or main thread: hands a rig to run(). A rig run() has not taken
 * yet is replaced (and freed here, since run() never saw it). */
static void post_rig(Plugin *self, Rig *r)
{
	Rig *old = atomic_exchange(&self->pending, r);
	if (old)
		rig_free(self, old);
}

/* Audio thread: room for n more retired rigs? */
static int retire_room(Plugin *self, uint32_t n)
{
	return atomic_load_explicit(&self->ret_wr, memory_order_relaxed) -
	           atomic_load_explicit(&self->ret_rd, memory_order_acquire) + n <= N_RETIRED;
}

/* Audio thread: hands r to the worker for freeing (cleanup frees it if the
 * host never runs that work). The caller made sure there is room. */
static void retire(Plugin *self, Rig *r)
{
	uint32_t wr = atomic_load_explicit(&self->ret_wr, memory_order_relaxed);
	self->retired[wr % N_RETIRED] = r;
	atomic_store_explicit(&self->ret_wr, wr + 1, memory_order_release);
	Msg msg = {MSG_FREE, 0, 0, NULL, {0}};
	self->schedule->schedule_work(self->schedule->handle, offsetof(Msg, path), &msg);
}

/* Worker thread (or main, in cleanup): frees the retired rigs */
static void free_retired(Plugin *self)
{
	uint32_t rd = atomic_load_explicit(&self->ret_rd, memory_order_relaxed);
	while (rd != atomic_load_explicit(&self->ret_wr, memory_order_acquire)) {
		rig_free(self, self->retired[rd % N_RETIRED]);
		atomic_store_explicit(&self->ret_rd, ++rd, memory_order_release);
	}
}

/* Worker or main thread, holding self->lock: loads a model file. On
 * failure the current model stays; the reason goes to the log. */
static int load_model(Plugin *self, const char *path, onr_model **out)
{
	char err[512];
	if (onr_model_load_file(out, path, err, sizeof err)) {
		lv2_log_error(&self->logger, "oneiro: cannot use the model: %s\n", err);
		return -1;
	}
	return 0;
}

/* Worker or main thread, holding self->lock: a rig of the current models
 * (the first, and the second when it fits) for these settings, handed to
 * run(); on failure the playing rig stays and the reason goes to the log. */
static void build_rig(Plugin *self, uint32_t window_idx, uint32_t stereo)
{
	char err[512];
	Rig *r = rig_new(self, self->w_model, self->w_path, self->w_model2, self->w_path2,
	                 window_idx, stereo, err, sizeof err);
	if (!r) {
		lv2_log_error(&self->logger, "oneiro: cannot build the dream engine: %s\n", err);
		return;
	}
	post_rig(self, r);
}

/* Worker or main thread, holding self->lock: the second model becomes the
 * file at `path` ("": none) and a rig with it is handed to run(). A file
 * that does not load, or a model the engine refuses beside the first
 * (another sample rate, a longer shortest input than the window), changes
 * nothing: the reason goes to the log and the current rig plays on. */
static void set_second(Plugin *self, const char *path, uint32_t window_idx, uint32_t stereo)
{
	if (!*path) {
		onr_model_free(self->w_model2);
		self->w_model2 = NULL;
		self->w_path2[0] = '\0';
		build_rig(self, window_idx, stereo);
		return;
	}
	onr_model *m2;
	char err[512];
	if (onr_model_load_file(&m2, path, err, sizeof err)) {
		lv2_log_error(&self->logger, "oneiro: cannot use the second model: %s\n", err);
		return;
	}
	Rig *r = rig_new(self, self->w_model, self->w_path, m2, path, window_idx, stereo, err,
	                 sizeof err);
	if (!r) {
		lv2_log_error(&self->logger, "oneiro: cannot build the dream engine: %s\n", err);
		onr_model_free(m2);
		return;
	}
	/* chosen either way: refused beside this first model (logged by
	 * rig_new), it is kept, saved, and heard with the next first model that
	 * takes it, as a restored one is; meanwhile what plays stays */
	onr_model_free(self->w_model2);
	self->w_model2 = m2;
	snprintf(self->w_path2, sizeof self->w_path2, "%s", path);
	if (!r->model2) {
		rig_free(self, r);
		return;
	}
	post_rig(self, r);
}

/* ------------------------------------------------------------------ the dream thread */
static void notify_dream(void *arg) /* audio thread: wake the dream thread */
{
	sem_post(&((Plugin *)arg)->sem);
}

static void *dream_main(void *arg) /* dream thread */
{
	Plugin *self = arg;
#ifdef __linux__
	/* named in top, perf and a debugger's thread list */
	prctl(PR_SET_NAME, "oneiro dream", 0, 0, 0);
#endif
	for (;;) {
		sem_wait(&self->sem);
		if (atomic_load(&self->quit))
			break;
		onr_dream *e = atomic_load(&self->live);
		atomic_store(&self->hazard, e);
		/* re-check: run() may have retired it between the two loads */
		if (e && e == atomic_load(&self->live))
			onr_dream_work(e);
		atomic_store(&self->hazard, NULL);
		e = atomic_load(&self->live_old);
		atomic_store(&self->hazard_old, e);
		if (e && e == atomic_load(&self->live_old))
			onr_dream_work(e);
		atomic_store(&self->hazard_old, NULL);
	}
	return NULL;
}

/* ------------------------------------------------------------------ LV2 */
static void map_uris(LV2_URID_Map *map, URIs *u)
{
	u->atom_Path = map->map(map->handle, LV2_ATOM__Path);
	u->atom_URID = map->map(map->handle, LV2_ATOM__URID);
	u->atom_Int = map->map(map->handle, LV2_ATOM__Int);
	u->atom_Object = map->map(map->handle, LV2_ATOM__Object);
	u->atom_Sequence = map->map(map->handle, LV2_ATOM__Sequence);
	u->atom_eventTransfer = map->map(map->handle, LV2_ATOM__eventTransfer);
	u->patch_Set = map->map(map->handle, LV2_PATCH__Set);
	u->patch_Get = map->map(map->handle, LV2_PATCH__Get);
	u->patch_property = map->map(map->handle, LV2_PATCH__property);
	u->patch_value = map->map(map->handle, LV2_PATCH__value);
	u->patch_subject = map->map(map->handle, LV2_PATCH__subject);
	u->model = map->map(map->handle, ONEIRO__model);
	u->model2 = map->map(map->handle, ONEIRO__model2);
	u->bufsz_max = map->map(map->handle, LV2_BUF_SIZE__maxBlockLength);
	u->bufsz_nominal = map->map(map->handle, LV2_BUF_SIZE__nominalBlockLength);
}

static void cleanup(LV2_Handle h);

/* main thread */
static LV2_Handle instantiate(const LV2_Descriptor *desc, double rate, const char *bundle,
                              const LV2_Feature *const *features)
{
	Plugin *self = calloc(1, sizeof *self);
	if (!self)
		return NULL;
	self->mono = !strcmp(desc->URI, ONEIRO_MONO_URI);
	self->channels = self->mono ? 1 : 2;
	self->rate = rate;
	pthread_mutex_init(&self->lock, NULL);
	sem_init(&self->sem, 0, 0);
	LV2_Log_Log *log = NULL;
	const LV2_Options_Option *options = NULL;
	for (int i = 0; features[i]; i++) {
		if (!strcmp(features[i]->URI, LV2_URID__map))
			self->map = features[i]->data;
		else if (!strcmp(features[i]->URI, LV2_WORKER__schedule))
			self->schedule = features[i]->data;
		else if (!strcmp(features[i]->URI, LV2_LOG__log))
			log = features[i]->data;
		else if (!strcmp(features[i]->URI, LV2_OPTIONS__options))
			options = features[i]->data;
		else if (!strcmp(features[i]->URI, LV2_INLINEDISPLAY__queue_draw))
			self->queue_draw = features[i]->data;
	}
	lv2_log_logger_init(&self->logger, self->map, log);
	if (!self->map || !self->schedule) {
		lv2_log_error(&self->logger, "oneiro: the host lacks %s\n",
		              !self->map ? LV2_URID__map : LV2_WORKER__schedule);
		free(self);
		return NULL;
	}
	if (rate < ONR_DREAM_MIN_RATE || rate > ONR_DREAM_MAX_RATE) {
		lv2_log_error(&self->logger, "oneiro: sample rate %g Hz not supported (%d to %d)\n", rate,
		              ONR_DREAM_MIN_RATE, ONR_DREAM_MAX_RATE);
		free(self);
		return NULL;
	}
	map_uris(self->map, &self->uris);
	lv2_atom_forge_init(&self->forge, self->map);
	self->max_block = 4096;
	for (const LV2_Options_Option *o = options; o && o->key; o++) {
		if ((o->key == self->uris.bufsz_max || o->key == self->uris.bufsz_nominal) &&
		    o->type == self->uris.atom_Int) {
			int32_t v = *(const int32_t *)o->value;
			if (v > 0 && (uint32_t)v > self->max_block && v <= (1 << 20))
				self->max_block = (uint32_t)v;
		}
	}
	size_t blen = strlen(bundle);
	self->bundle = malloc(blen + 1);
	self->pixels = calloc((size_t)DISP_MAX_W * DISP_MAX_H, sizeof(uint32_t));
	self->disp_w = 0;
	atomic_store(&self->disp_mid, 1);
	self->disp_r = 2;
	/* nothing heard yet: no level trace (a zeroed frame would say 0 dB) */
	for (uint32_t i = 0; i < DISP_HIST; i++) {
		self->disp_level[i] = -120.0f;
		for (uint32_t k = 0; k < 3; k++)
			self->frames[k].level_db[i] = -120.0f;
	}
	self->scratch[0] = calloc(self->max_block, sizeof(float));
	self->scratch[1] = calloc(self->max_block, sizeof(float));
	/* the input history a rebuilt engine replays to start in step */
	self->hist_cap = (uint32_t)(0.5 * rate) + 2 * self->max_block;
	for (uint32_t c = 0; c < self->channels; c++) {
		self->hist[c] = calloc(self->hist_cap, sizeof(float));
		if (!self->hist[c]) {
			cleanup(self);
			return NULL;
		}
	}
	if (!self->bundle || !self->scratch[0] || !self->scratch[1] || !self->pixels) {
		cleanup(self);
		return NULL;
	}
	memcpy(self->bundle, bundle, blen + 1);

	/* the bundled default model, so the plugin dreams from the start */
	char path[MAX_PATH];
	snprintf(path, sizeof path, "%s%s%s", bundle,
	         blen && bundle[blen - 1] == '/' ? "" : "/", DEFAULT_MODEL);
	if (load_model(self, path, &self->w_model)) {
		cleanup(self);
		return NULL;
	}
	snprintf(self->w_path, sizeof self->w_path, "%s", path);
	char err[512];
	self->rig = rig_new(self, self->w_model, path, NULL, "", 0, 0, err, sizeof err);
	if (!self->rig) {
		lv2_log_error(&self->logger, "oneiro: %s\n", err);
		cleanup(self);
		return NULL;
	}
	onr_dream_params_default(&self->params, self->rig->model);
	atomic_store(&self->live, self->rig->eng);
	self->fade_len = (uint32_t)(XFADE_SECONDS * rate);
	/* the dream thread starts in activate(): an instance a host only
	 * inspects (a scan, lv2lint's forked checks) owns no thread */
	return self;
}

/* main thread (activate): starts the dream thread */
static void dream_thread_start(Plugin *self)
{
	if (self->thread_ok)
		return;
	while (sem_trywait(&self->sem) == 0) {
		/* wake-ups meant for the last thread */
	}
	atomic_store(&self->quit, 0);
	if (pthread_create(&self->thread, NULL, dream_main, self) == 0)
		self->thread_ok = 1;
	else
		lv2_log_warning(&self->logger, "oneiro: no dream thread: every window is computed "
		                               "in the audio thread\n");
}

/* main thread (deactivate, cleanup): stops and joins the dream thread */
static void dream_thread_stop(Plugin *self)
{
	if (!self->thread_ok)
		return;
	atomic_store(&self->quit, 1);
	sem_post(&self->sem);
	pthread_join(self->thread, NULL);
	self->thread_ok = 0;
}

/* main thread */
static void cleanup(LV2_Handle h)
{
	Plugin *self = h;
	dream_thread_stop(self); /* a host that never deactivated */
	atomic_store(&self->live, NULL);
	atomic_store(&self->live_old, NULL);
	free_retired(self);
	rig_free(self, self->rig);
	rig_free(self, self->fading);
	rig_free(self, atomic_exchange(&self->pending, NULL));
	onr_model_free(self->w_model);
	onr_model_free(self->w_model2);
	free(self->scratch[0]);
	free(self->scratch[1]);
	free(self->hist[0]);
	free(self->hist[1]);
	free(self->bundle);
	free(self->pixels);
	sem_destroy(&self->sem);
	pthread_mutex_destroy(&self->lock);
	free(self);
}

/* audio thread (or main, before run) */
static void connect_port(LV2_Handle h, uint32_t port, void *data)
{
	Plugin *self = h;
	if (self->mono && port >= P_IN_R)
		port = port == P_IN_R ? P_OUT_L : port + 2; /* mono: in, out, then the rest */
	if (port >= P_COUNT)
		return;
	switch (port) {
	case P_CONTROL:
		self->control = data;
		break;
	case P_NOTIFY:
		self->notify = data;
		break;
	default:
		self->port_ptr[port] = data;
		self->ports_in[port] = data;
		break;
	}
}

/* main thread */
static void activate(LV2_Handle h)
{
	Plugin *self = h;
	onr_dream_reset(self->rig->eng);
	atomic_store(&self->live_old, NULL);
	rig_free(self, self->fading); /* a crossfade cut short */
	self->fading = NULL;
	self->since_activate = 0;
	self->send_path = 1;
	for (uint32_t i = 0; i < DISP_HIST; i++) {
		self->disp_level[i] = -120.0f;
		self->disp_heard[i] = 0.0f;
	}
	/* the picture starts again too: the first run() publishes it (render()
	 * may be reading a frame now, so only run() writes them); no bars until
	 * a window is heard again (the reset engine counts them from 0) */
	self->disp_new = 1;
	dream_thread_start(self);
}

/* main thread: the dream thread ends; windows it had not done are dropped
 * by the reset of the next activate() */
static void deactivate(LV2_Handle h)
{
	dream_thread_stop(h);
}

static float port_value(const Plugin *self, port_index p, float def)
{
	const float *v = self->ports_in[p];
	return v && isfinite(*v) ? *v : def;
}

/* audio thread: the engine settings from the control ports */
static void read_params(Plugin *self, int enabled)
{
	const onr_model *m = self->rig->model;
	onr_dream_params *p = &self->params;
	p->depth = enabled ? port_value(self, P_DEPTH, 0.5f) : 0.0f;
	p->iterations = (uint32_t)fmaxf(0.0f, fminf(64.0f, port_value(self, P_ITERATIONS, 8.0f)));
	p->bound_db = port_value(self, P_BOUND, -12.0f);
	p->band_lo = port_value(self, P_BAND_LO, 40.0f);
	p->band_hi = fminf(port_value(self, P_BAND_HI, 8000.0f), (float)m->sample_rate / 2.0f);
	p->tilt_db = port_value(self, P_TILT, -3.0f);
	p->mix = enabled ? port_value(self, P_MIX, 1.0f) : 0.0f;
	/* ranges are the engine's: onr_dream_set_params clamps every field
	 * (onr_dream_params_sanitize); only the copies are bounded here, so
	 * that the float converts to a whole number at all */
	p->second_share = port_value(self, P_SECOND_SHARE, 0.5f);
	p->jitter_ms = port_value(self, P_JITTER, ONR_DREAM_DEFAULT_JITTER_MS);
	p->jitter_copies = (uint32_t)lrintf(fmaxf(1.0f, fminf((float)ONR_DREAM_MAX_COPIES,
	                                                      port_value(self, P_COPIES, 1.0f))));
	float fv = port_value(self, P_FORM, (float)ONR_DREAM_AUTO);
	p->form = fv < 0.5f ? ONR_DREAM_ADD : fv < 1.5f ? ONR_DREAM_MAGNITUDE : ONR_DREAM_AUTO;
	uint32_t mode = (uint32_t)port_value(self, P_MODE, 0.0f);
	p->obj.mode = mode <= ONR_OBJ_CLASS ? mode : ONR_OBJ_LAYERS;
	p->obj.pre = port_value(self, P_PRE, 0.0f) > 0.5f;
	for (uint32_t b = 0; b < ONR_MAX_BLOCKS; b++)
		p->obj.layer_w[b] = b < N_LAYERS && b < m->n_blocks
		                        ? port_value(self, (port_index)(P_LAYER1 + b), 0.0f)
		                        : 0.0f;
	uint32_t fl = (uint32_t)port_value(self, P_FILTER_LAYER, 1.0f);
	p->obj.block = fl >= 1 ? fl - 1 : 0;
	p->obj.filter = (uint32_t)port_value(self, P_FILTER, 0.0f);
	p->obj.cls = (uint32_t)port_value(self, P_CLASS, 0.0f);
	/* out-of-range choices for this model fall back to safe ones */
	if (p->obj.block >= m->n_blocks)
		p->obj.block = m->n_blocks - 1;
	if (p->obj.cls >= m->n_classes)
		p->obj.cls = m->n_classes - 1;
	if (p->obj.mode == ONR_OBJ_FILTER && onr_objective_check(m, &p->obj, NULL, 0))
		p->obj.filter = 0;
}

/* audio thread: a patch:Set of `property` (the model or the second model)
 * to `path` ("": no second model) on the notify port */
static void write_path(Plugin *self, LV2_URID property, const char *path)
{
	const URIs *u = &self->uris;
	LV2_Atom_Forge_Frame frame;
	lv2_atom_forge_frame_time(&self->forge, 0);
	lv2_atom_forge_object(&self->forge, &frame, 0, u->patch_Set);
	lv2_atom_forge_key(&self->forge, u->patch_property);
	lv2_atom_forge_urid(&self->forge, property);
	lv2_atom_forge_key(&self->forge, u->patch_value);
	lv2_atom_forge_path(&self->forge, path, (uint32_t)strlen(path));
	lv2_atom_forge_pop(&self->forge, &frame);
}

/* audio thread: patch:Set of the model (or of the second model; an empty
 * path removes that) asks the worker to load it; patch:Get asks for the
 * current ones */
static void read_control(Plugin *self)
{
	const URIs *u = &self->uris;
	if (!self->control)
		return;
	LV2_ATOM_SEQUENCE_FOREACH (self->control, ev) {
		if (ev->body.type != u->atom_Object)
			continue;
		const LV2_Atom_Object *obj = (const LV2_Atom_Object *)&ev->body;
		if (obj->body.otype == u->patch_Get) {
			self->send_path = 1;
		} else if (obj->body.otype == u->patch_Set) {
			const LV2_Atom *property = NULL, *value = NULL;
			lv2_atom_object_get(obj, u->patch_property, &property, u->patch_value, &value, 0);
			if (!property || property->type != u->atom_URID)
				continue;
			LV2_URID key = ((const LV2_Atom_URID *)property)->body;
			if (key != u->model && key != u->model2)
				continue;
			if (!value || value->type != u->atom_Path || value->size >= MAX_PATH)
				continue;
			if (value->size == 0 && key == u->model)
				continue;
			Msg msg;
			memset(&msg, 0, sizeof msg);
			msg.type = key == u->model ? MSG_LOAD : MSG_LOAD2;
			msg.window_idx = self->req_window;
			msg.stereo = self->req_stereo;
			if (value->size) {
				memcpy(msg.path, LV2_ATOM_BODY_CONST(value), value->size);
				msg.path[value->size - 1] = '\0';
			}
			self->schedule->schedule_work(self->schedule->handle,
			                              (uint32_t)(offsetof(Msg, path) + value->size), &msg);
		}
	}
}

/* audio thread: a rig the worker prepared replaces the playing one; the
 * old one fades out, then goes back to the worker to be freed */
static void install_pending(Plugin *self)
{
	if (!atomic_load(&self->pending) || !retire_room(self, 2))
		return; /* the worker is behind freeing: install next cycle */
	Rig *r = atomic_exchange(&self->pending, NULL);
	if (self->fading) {
		/* a swap during a swap: drop the oldest now */
		atomic_store(&self->live_old, NULL);
		self->late_base += onr_dream_get_stats(self->fading->eng)->late;
		retire(self, self->fading);
		self->fading = NULL;
	}
	/* Early in the stream (everything since activate still in the history,
	 * and nothing but silence output yet by either engine): the new engine
	 * replays the stream from its start, so that it is exactly the engine
	 * that would have run from activate (freewheel exports then match
	 * `oneiro render`); nothing to crossfade. */
	uint64_t t = self->since_activate;
	if (t <= self->hist_cap && t <= onr_dream_latency(r->eng) &&
	    t <= onr_dream_latency(self->rig->eng)) {
		onr_dream_set_params(r->eng, &self->params);
		onr_dream_set_async(r->eng, self->thread_ok && !self->freewheel, notify_dream, self);
		atomic_store(&self->live, r->eng);
		for (uint64_t off = 0; off < t;) {
			uint32_t k = t - off < self->max_block ? (uint32_t)(t - off) : self->max_block;
			const float *ii[2] = {self->hist[0] + off, self->hist[1] ? self->hist[1] + off : NULL};
			float *oo[2] = {self->scratch[0], self->scratch[1]};
			onr_dream_process(r->eng, ii, oo, k);
			off += k;
		}
		self->late_base += onr_dream_get_stats(self->rig->eng)->late;
		retire(self, self->rig);
	} else if (onr_dream_inherit(r->eng, self->rig->eng)) {
		self->fading = self->rig;   /* crossfade from the old dream */
		self->fade_pos = 0;
		atomic_store(&self->live_old, self->rig->eng);
	} else {
		/* later, another latency: nothing to crossfade with in step */
		self->late_base += onr_dream_get_stats(self->rig->eng)->late;
		retire(self, self->rig);
	}
	self->rig = r;
	/* built for other settings than run() last asked for (a restore or load
	 * racing a change of them): make run() ask again */
	if (r->window_idx != self->req_window || r->stereo != self->req_stereo) {
		self->req_window = r->window_idx;
		self->req_stereo = r->stereo;
	}
	atomic_store(&self->live, r->eng);
	atomic_store(&self->cur_window, r->window_idx);
	atomic_store(&self->cur_stereo, r->stereo);
	self->heard_seen = 0;
	self->delta_sq_seen = self->dry_sq_seen = 0.0;
	self->samples_seen = 0;
	self->send_path = 1;
}

/* audio thread: hands the read-outs to render() (a copy of a few kB, no
 * wait) and asks the host for a redraw */
static void publish_display(Plugin *self)
{
	const onr_model *m = self->rig->model;
	DispFrame *f = &self->frames[self->disp_w];
	uint32_t n = m->n_classes < ONR_MAX_CLASSES ? m->n_classes : ONR_MAX_CLASSES;
	f->n_classes = n;
	f->binary = m->kind == ONR_KIND_BINARY;
	f->class_mode = self->params.obj.mode == ONR_OBJ_CLASS;
	f->target = self->params.obj.cls < n ? self->params.obj.cls : 0;
	memcpy(f->probs, self->disp_probs, n * sizeof(float));
	memcpy(f->initial, self->rig->initial, n);
	f->best = 0;
	for (uint32_t k = 1; k < n; k++)
		if (f->probs[k] > f->probs[f->best])
			f->best = k;
	for (uint32_t i = 0; i < DISP_HIST; i++) {
		f->level_db[i] = self->disp_level[(self->disp_pos + i) % DISP_HIST];
		f->heard[i] = self->disp_heard[(self->disp_pos + i) % DISP_HIST];
	}
	f->valid = self->heard_seen != 0;
	uint32_t old = atomic_exchange_explicit(&self->disp_mid, self->disp_w | DISP_DIRTY,
	                                        memory_order_acq_rel);
	self->disp_w = old & ~DISP_DIRTY;
	self->disp_new = 0;
	if (self->queue_draw && self->queue_draw->queue_draw)
		self->queue_draw->queue_draw(self->queue_draw->handle);
}

/* audio thread */
static void run(LV2_Handle h, uint32_t n)
{
	Plugin *self = h;
	const URIs *u = &self->uris;
	self->freewheel = port_value(self, P_FREEWHEEL, 0.0f) > 0.5f;

	/* the notify port: a sequence to write patch messages into */
	if (self->notify) {
		uint32_t cap = self->notify->atom.size;
		lv2_atom_forge_set_buffer(&self->forge, (uint8_t *)self->notify, cap);
		LV2_Atom_Forge_Frame seq;
		lv2_atom_forge_sequence_head(&self->forge, &seq, 0);
		read_control(self);
		install_pending(self);
		if (self->send_path) {
			write_path(self, u->model, self->rig->path);
			write_path(self, u->model2, self->rig->path2);
			self->send_path = 0;
		}
		lv2_atom_forge_pop(&self->forge, &seq);
	} else {
		read_control(self);
		install_pending(self);
	}

	/* window and stereo mode change the engine: the worker builds one */
	uint32_t want_window = (uint32_t)port_value(self, P_WINDOW, 0.0f);
	uint32_t want_stereo = port_value(self, P_STEREO, 0.0f) > 0.5f;
	if (want_window >= N_WINDOWS)
		want_window = 0;
	if (self->mono)
		want_stereo = 0;
	if (want_window != self->req_window || want_stereo != self->req_stereo) {
		self->req_window = want_window;
		self->req_stereo = want_stereo;
		if (want_window != self->rig->window_idx || want_stereo != self->rig->stereo) {
			Msg msg = {MSG_REBUILD, want_window, want_stereo, NULL, {0}};
			self->schedule->schedule_work(self->schedule->handle, offsetof(Msg, path), &msg);
		}
	}

	int enabled = port_value(self, P_ENABLED, 1.0f) > 0.5f;
	int freewheel = self->freewheel;
	read_params(self, enabled);
	onr_dream *e = self->rig->eng;
	if (freewheel && !self->was_freewheel) {
		/* An export starts: the stream starts afresh, so its window grid
		 * falls in the same place on every export of the same range (a
		 * host runs the plugin for a while before, for a time that depends
		 * on the clock). Freewheel is not real time, so the reset (which
		 * may wait for the dream thread) is allowed here. */
		onr_dream_set_async(e, 0, NULL, NULL);
		onr_dream_reset(e);
		self->fw_wait = 1;
		self->fw_eng = e;
	}
	if (self->fw_wait && self->fw_eng != e) {
		/* a rig installed while waiting for the sound: it starts afresh too */
		onr_dream_set_async(e, 0, NULL, NULL);
		onr_dream_reset(e);
		self->fw_eng = e;
	}
	if (!freewheel)
		self->fw_wait = 0;
	if (self->fw_wait && self->fading && retire_room(self, 1)) {
		atomic_store(&self->live_old, NULL);
		self->late_base += onr_dream_get_stats(self->fading->eng)->late;
		retire(self, self->fading);
		self->fading = NULL;
	}
	self->was_freewheel = freewheel;
	onr_dream_set_params(e, &self->params);
	onr_dream_set_async(e, self->thread_ok && !freewheel, notify_dream, self);

	const float *in[2] = {self->ports_in[P_IN_L], self->mono ? NULL : self->ports_in[P_IN_R]};
	float *out[2] = {self->port_ptr[P_OUT_L], self->mono ? NULL : self->port_ptr[P_OUT_R]};
	if (!in[0] || !out[0] || (!self->mono && (!in[1] || !out[1])))
		return;
	if (self->fw_wait) {
		/* The restarted stream begins with the first input sample that is
		 * not +0.0 (in any channel): until then the output is what a reset
		 * engine gives for silence, +0.0, and the engine does not advance.
		 * So the window grid lies on the sound, not on how long the host
		 * pre-rolled silence before it (Ardour's export pre-roll setting,
		 * its latency pre-roll), and an export of a range after silence is
		 * `oneiro render` of the range's sound from its first non-zero
		 * sample on. -0.0 counts as sound: the dry path stays bit-exact. */
		uint32_t i0 = 0;
		for (; i0 < n; i0++) {
			int sound = 0;
			for (uint32_t c = 0; c < self->channels; c++)
				if (in[c][i0] != 0.0f || signbit(in[c][i0]))
					sound = 1;
			if (sound)
				break;
		}
		for (uint32_t c = 0; c < self->channels; c++)
			memset(out[c], 0, i0 * sizeof(float));
		if (i0 == n)
			goto readouts;
		self->fw_wait = 0;
		in[0] += i0;
		out[0] += i0;
		if (in[1]) {
			in[1] += i0;
			out[1] += i0;
		}
		n -= i0;
	}
	if (self->since_activate < self->hist_cap) {
		uint64_t k = self->hist_cap - self->since_activate;
		if (k > n)
			k = n;
		for (uint32_t c = 0; c < self->channels; c++)
			memcpy(self->hist[c] + self->since_activate, in[c], k * sizeof(float));
	}
	self->since_activate += n;

	if (self->fading) {
		/* both rigs hear the input; the old one's output fades into the new
		 * one's (their dry paths are one and the same) */
		onr_dream *old = self->fading->eng;
		onr_dream_set_params(old, &self->params);
		onr_dream_set_async(old, self->thread_ok && !freewheel, notify_dream, self);
		for (uint32_t off = 0; off < n;) {
			uint32_t k = n - off < self->max_block ? n - off : self->max_block;
			const float *ii[2] = {in[0] + off, in[1] ? in[1] + off : NULL};
			float *oo[2] = {self->scratch[0], self->scratch[1]};
			onr_dream_process(old, ii, oo, k);
			float *on[2] = {out[0] + off, out[1] ? out[1] + off : NULL};
			onr_dream_process(e, ii, on, k);
			for (uint32_t i = 0; i < k; i++) {
				float g = self->fade_pos < self->fade_len
				              ? (float)self->fade_pos / (float)self->fade_len
				              : 1.0f;
				for (uint32_t c = 0; c < self->channels; c++)
					on[c][i] = g * on[c][i] + (1.0f - g) * oo[c][i];
				if (self->fade_pos < self->fade_len)
					self->fade_pos++;
			}
			off += k;
		}
		if (self->fade_pos >= self->fade_len && retire_room(self, 1)) {
			atomic_store(&self->live_old, NULL);
			self->late_base += onr_dream_get_stats(old)->late;
			retire(self, self->fading);
			self->fading = NULL;
		}
	} else {
		onr_dream_process(e, in, out, n);
	}

readouts:;
	/* read-outs */
	const onr_dream_stats *st = onr_dream_get_stats(e);
	if (self->port_ptr[P_LATENCY])
		*self->port_ptr[P_LATENCY] = (float)onr_dream_latency(e);
	if (self->port_ptr[P_LATE])
		*self->port_ptr[P_LATE] = (float)(self->late_base + st->late);
	float probs[ONR_MAX_CLASSES];
	uint64_t seq = onr_dream_heard(e, probs);
	if (seq != self->heard_seen) {
		self->heard_seen = seq;
		const onr_model *m = self->rig->model;
		memcpy(self->disp_probs, probs, m->n_classes * sizeof(float));
		self->disp_new = 1;
		uint32_t best = 0;
		for (uint32_t k = 1; k < m->n_classes; k++)
			if (probs[k] > probs[best])
				best = k;
		if (self->port_ptr[P_HEARD_CLASS])
			*self->port_ptr[P_HEARD_CLASS] = m->kind == ONR_KIND_BINARY ? 1.0f : (float)best;
		if (self->port_ptr[P_HEARD_PROB])
			*self->port_ptr[P_HEARD_PROB] = m->kind == ONR_KIND_BINARY ? probs[1] : probs[best];
	}
	/* the dream's level over the last ~100 ms, dB relative to the dry */
	if (st->samples - self->samples_seen >= (uint64_t)(0.1 * self->rate)) {
		double dd = st->delta_sq - self->delta_sq_seen, ds = st->dry_sq - self->dry_sq_seen;
		self->delta_sq_seen = st->delta_sq;
		self->dry_sq_seen = st->dry_sq;
		self->samples_seen = st->samples;
		self->dream_db = dd > 0.0 && ds > 0.0 ? (float)(10.0 * log10(dd / ds)) : -120.0f;
		if (self->dream_db < -120.0f)
			self->dream_db = -120.0f;
		/* one step of the display's history */
		self->disp_level[self->disp_pos] = self->dream_db;
		self->disp_heard[self->disp_pos] =
			self->rig->model->kind == ONR_KIND_BINARY ? self->disp_probs[1] : 0.0f;
		self->disp_pos = (self->disp_pos + 1) % DISP_HIST;
		self->disp_new = 1;
	}
	if (self->port_ptr[P_DREAM_DB])
		*self->port_ptr[P_DREAM_DB] = self->dream_db;
	if (self->disp_new)
		publish_display(self);
	(void)u;
}

/* ------------------------------------------------------------------ worker */
/* worker thread */
static LV2_Worker_Status work(LV2_Handle h, LV2_Worker_Respond_Function respond,
                              LV2_Worker_Respond_Handle rh, uint32_t size, const void *data)
{
	Plugin *self = h;
	(void)respond;
	(void)rh;
	if (size < offsetof(Msg, path))
		return LV2_WORKER_ERR_UNKNOWN;
	Msg msg;
	memset(&msg, 0, sizeof msg);
	memcpy(&msg, data, size < sizeof msg ? size : sizeof msg);
	msg.path[MAX_PATH - 1] = '\0';
	if (msg.type == MSG_FREE) {
		free_retired(self);
		return LV2_WORKER_SUCCESS;
	}
	pthread_mutex_lock(&self->lock);
	if (msg.type == MSG_LOAD2) {
		set_second(self, msg.path, msg.window_idx, msg.stereo);
		pthread_mutex_unlock(&self->lock);
		return LV2_WORKER_SUCCESS;
	}
	if (msg.type == MSG_LOAD) {
		onr_model *m;
		if (load_model(self, msg.path, &m) == 0) {
			onr_model_free(self->w_model);
			self->w_model = m;
			snprintf(self->w_path, sizeof self->w_path, "%s", msg.path);
		} else {
			pthread_mutex_unlock(&self->lock);
			return LV2_WORKER_SUCCESS; /* the current model plays on */
		}
	}
	/* a new first model keeps the second, if the engine takes the pair */
	build_rig(self, msg.window_idx, msg.stereo);
	pthread_mutex_unlock(&self->lock);
	return LV2_WORKER_SUCCESS;
}

/* audio thread */
static LV2_Worker_Status work_response(LV2_Handle h, uint32_t size, const void *data)
{
	(void)h;
	(void)size;
	(void)data;
	return LV2_WORKER_SUCCESS;
}

/* ------------------------------------------------------------------ state */
typedef struct {
	LV2_State_Map_Path *map;
	LV2_State_Free_Path *free;
} StatePaths;

/* main thread: the path features a save or restore call was given */
static StatePaths state_paths(const LV2_Feature *const *features)
{
	StatePaths sp = {NULL, NULL};
	for (int i = 0; features && features[i]; i++) {
		if (!strcmp(features[i]->URI, LV2_STATE__mapPath))
			sp.map = features[i]->data;
		else if (!strcmp(features[i]->URI, LV2_STATE__freePath))
			sp.free = features[i]->data;
	}
	return sp;
}

/* main thread: frees a path the host's mapPath returned */
static void state_free_path(const StatePaths *sp, char *path)
{
	if (!path)
		return;
	if (sp->free)
		sp->free->free_path(sp->free->handle, path);
	else
		free(path);
}
/* main thread: stores `path` under `key` as an atom:Path, abstract when the
 * host maps paths */
static LV2_State_Status store_path(Plugin *self, LV2_State_Store_Function store,
                                   LV2_State_Handle sh, const StatePaths *sp, LV2_URID key,
                                   const char *path)
{
	char *apath = sp->map ? sp->map->abstract_path(sp->map->handle, path) : NULL;
	const char *v = apath ? apath : path;
	LV2_State_Status st = store(sh, key, v, strlen(v) + 1, self->uris.atom_Path,
	                            LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
	state_free_path(sp, apath);
	return st;
}

/* main thread (or any non-real-time thread the host chooses): the model's
 * path, and the second model's when one is chosen (none saved: none). The
 * second is the one chosen even while the engine refuses it beside this
 * first model (the notify port says what plays: none then); restored, it is
 * checked again. */
static LV2_State_Status save(LV2_Handle h, LV2_State_Store_Function store,
                             LV2_State_Handle sh, uint32_t flags,
                             const LV2_Feature *const *features)
{
	Plugin *self = h;
	(void)flags;
	StatePaths sp = state_paths(features);
	char path[MAX_PATH], path2[MAX_PATH];
	pthread_mutex_lock(&self->lock);
	snprintf(path, sizeof path, "%s", self->w_path);
	snprintf(path2, sizeof path2, "%s", self->w_path2);
	pthread_mutex_unlock(&self->lock);
	LV2_State_Status st = store_path(self, store, sh, &sp, self->uris.model, path);
	if (st == LV2_STATE_SUCCESS && path2[0])
		st = store_path(self, store, sh, &sp, self->uris.model2, path2);
	return st;
}

/* main thread: copies a saved path value into out (MAX_PATH bytes), NUL
 * terminated. Hosts differ in what `size` counts: lilv and Ardour the
 * terminating NUL, Carla strlen() without it; both are taken. Never reads
 * past value[size - 1]. Returns NULL, or why the value is refused. */
static const char *state_path_value(const Plugin *self, const char *value, size_t size,
                                    uint32_t type, char *out)
{
	if (type != self->uris.atom_Path)
		return "not an atom:Path";
	if (size == 0)
		return "empty";
	if (size >= MAX_PATH)
		return "longer than the longest path taken";
	const char *nul = memchr(value, '\0', size);
	if (nul) {
		/* a NUL inside: only NULs may follow it (a count of the NUL, or
		 * padding), else the size does not belong to this string */
		for (const char *q = nul; q < value + size; q++)
			if (*q)
				return "its size runs past the end of the string";
		if (nul == value)
			return "empty";
		size = (size_t)(nul - value);
	}
	memcpy(out, value, size);
	out[size] = '\0';
	return NULL;
}

/* main thread: the path saved under `key` (`what` names it in messages),
 * made absolute, into out (MAX_PATH bytes). Returns 1 when there is one, 0
 * when nothing is saved under key, -1 when the value is unusable (logged). */
static int restore_path(Plugin *self, LV2_State_Retrieve_Function retrieve, LV2_State_Handle sh,
                        const StatePaths *sp, LV2_URID key, const char *what, char *out)
{
	size_t size;
	uint32_t type, vflags;
	const char *value = retrieve(sh, key, &size, &type, &vflags);
	if (!value)
		return 0;
	char saved[MAX_PATH];
	const char *why = state_path_value(self, value, size, type, saved);
	if (why) {
		lv2_log_error(&self->logger, "oneiro: the saved %s path is unusable (%s): "
		                             "keeping the current %s\n", what, why, what);
		return -1;
	}
	char *apath = sp->map ? sp->map->absolute_path(sp->map->handle, saved) : NULL;
	const char *path = apath ? apath : saved;
	int ok = strlen(path) < MAX_PATH;
	if (ok)
		memcpy(out, path, strlen(path) + 1);
	else
		lv2_log_error(&self->logger, "oneiro: the saved %s path is longer than the longest "
		                             "path taken: keeping the current %s\n", what, what);
	state_free_path(sp, apath);
	return ok ? 1 : -1;
}

/* main thread; with state:threadSafeRestore possibly while run() goes on:
 * the new rig reaches run() through the same atomic hand-off as a load.
 * A saved file that does not load keeps the current model (or second
 * model). A state with the model but no second model (saved without one,
 * or before there was one) has none; one without either (a preset of port
 * values) keeps both. */
static LV2_State_Status restore(LV2_Handle h, LV2_State_Retrieve_Function retrieve,
                                LV2_State_Handle sh, uint32_t flags,
                                const LV2_Feature *const *features)
{
	Plugin *self = h;
	(void)flags;
	StatePaths sp = state_paths(features);
	char path[MAX_PATH], path2[MAX_PATH];
	int got = restore_path(self, retrieve, sh, &sp, self->uris.model, "model", path);
	int got2 = restore_path(self, retrieve, sh, &sp, self->uris.model2, "second model", path2);
	pthread_mutex_lock(&self->lock);
	int changed = 0;
	onr_model *m;
	if (got == 1 && load_model(self, path, &m) == 0) {
		onr_model_free(self->w_model);
		self->w_model = m;
		snprintf(self->w_path, sizeof self->w_path, "%s", path);
		changed = 1;
	}
	if (got2 == 1) {
		char err[512];
		if (onr_model_load_file(&m, path2, err, sizeof err) == 0) {
			onr_model_free(self->w_model2);
			self->w_model2 = m;
			snprintf(self->w_path2, sizeof self->w_path2, "%s", path2);
			changed = 1;
		} else {
			lv2_log_error(&self->logger, "oneiro: cannot use the second model: %s\n", err);
		}
	} else if (got2 == 0 && got == 1 && self->w_model2) {
		onr_model_free(self->w_model2);
		self->w_model2 = NULL;
		self->w_path2[0] = '\0';
		changed = 1;
	}
	if (changed) /* the second is checked against the first here */
		build_rig(self, atomic_load(&self->cur_window), atomic_load(&self->cur_stereo));
	pthread_mutex_unlock(&self->lock);
	/* a missing file keeps the current model */
	return got < 0 || got2 < 0 ? LV2_STATE_ERR_BAD_TYPE : LV2_STATE_SUCCESS;
}

/* ------------------------------------------------------------------ inline display */
/* gui thread: a 3x5 pixel font for the class initials (A-Z, 0-9), rows top
 * down, '1' = ink */
static const char *glyph(char c)
{
	static const char *const letters[26] = {
		"010101111101101", "110101110101110", "011100100100011", "110101101101110",
		"111100110100111", "111100110100100", "011100101101011", "101101111101101",
		"111010010010111", "001001001101010", "101101110101101", "100100100100111",
		"101111111101101", "110101101101101", "010101101101010", "110101110100100",
		"010101101110011", "110101110101101", "011100010001110", "111010010010010",
		"101101101101111", "101101101101010", "101101111111101", "101101010101101",
		"101101010010010", "111001010100111"};
	static const char *const digits[10] = {
		"111101101101111", "010110010010111", "110001010100111", "110001010001110",
		"101101111001001", "111100110001110", "011100111101111", "111001010010010",
		"111101111101111", "111101111001110"};
	if (c >= 'A' && c <= 'Z')
		return letters[c - 'A'];
	if (c >= '0' && c <= '9')
		return digits[c - '0'];
	return NULL;
}

/* gui thread: fills [x0, x1) x [y0, y1) of the w x h surface */
static void fill(uint32_t *px, uint32_t w, uint32_t h, int x0, int y0, int x1, int y1,
                 uint32_t argb)
{
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > (int)w)
		x1 = (int)w;
	if (y1 > (int)h)
		y1 = (int)h;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			px[(size_t)y * w + (size_t)x] = argb;
}

/* gui thread: Ardour's render(): the class probabilities of the dry input as
 * bars (the class heard brighter, the target of class mode in orange and
 * marked above; for a binary model, how interesting the input was over the
 * last seconds) over the dream's level relative to the dry in the last
 * seconds. Width w; height max_h; both at most DISP_MAX_W x DISP_MAX_H. */
static LV2_Inline_Display_Image_Surface *render(LV2_Handle h, uint32_t w, uint32_t max_h)
{
	Plugin *self = h;
	if (w > DISP_MAX_W)
		w = DISP_MAX_W;
	if (max_h > DISP_MAX_H)
		max_h = DISP_MAX_H;
	if (w < 8 || max_h < 8)
		return NULL;
	uint32_t H = max_h;
	if (atomic_load_explicit(&self->disp_mid, memory_order_acquire) & DISP_DIRTY)
		self->disp_r = atomic_exchange_explicit(&self->disp_mid, self->disp_r,
		                                        memory_order_acq_rel) & ~DISP_DIRTY;
	const DispFrame *f = &self->frames[self->disp_r];
	uint32_t *px = self->pixels;
	const uint32_t bg = 0xff181a1eu, grid = 0xff30343cu, bar = 0xff3d6f9eu,
	               heard = 0xff8cc4f2u, target = 0xffff9a2eu, level = 0xffb77ce6u,
	               ink = 0xffd8dde4u, interest = 0xff5fc27au;
	fill(px, w, H, 0, 0, (int)w, (int)H, bg);
	int split = (int)(H * 62 / 100);        /* bars above, the level below */
	fill(px, w, H, 0, split, (int)w, split + 1, grid);
	int top = 3, bottom = split - 1;        /* the bars' area */
	if (f->valid && f->binary) {
		/* interestingness over the last seconds, 0.5 as a grid line */
		int mid = bottom - (bottom - top) / 2;
		fill(px, w, H, 0, mid, (int)w, mid + 1, grid);
		for (uint32_t x = 0; x < w; x++) {
			float p = f->heard[(size_t)x * DISP_HIST / w];
			p = p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p;
			int y = bottom - (int)lroundf(p * (float)(bottom - top));
			fill(px, w, H, (int)x, y, (int)x + 1, bottom, interest);
		}
	} else if (f->valid && f->n_classes > 0) {
		uint32_t n = f->n_classes;
		int label = 0;                      /* the initials' scale, 0: none */
		int bw = (int)(w - 2) / (int)n;
		if (bw >= 4 && bottom - top >= 16) {
			label = (bw - 1) / 6;           /* at most half the bar wide */
			if (label > (bottom - top) / 20)
				label = (bottom - top) / 20;
			label = label < 1 ? 1 : label > 4 ? 4 : label;
		}
		int base = bottom - (label ? 5 * label + 2 : 0);
		for (uint32_t k = 0; k < n; k++) {
			int x0 = 1 + (int)((uint64_t)k * (w - 2) / n);
			int x1 = 1 + (int)((uint64_t)(k + 1) * (w - 2) / n);
			if (x1 - x0 >= 3)
				x1--;                       /* a gap between bars */
			if (x1 <= x0)
				x1 = x0 + 1;
			float p = f->probs[k];
			p = p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p;
			int y = base - (int)lroundf(p * (float)(base - top - 3));
			int is_target = f->class_mode && k == f->target;
			uint32_t col = is_target ? target : k == f->best ? heard : bar;
			fill(px, w, H, x0, y, x1, base, col);
			if (is_target) /* a marker above the target's bar */
				fill(px, w, H, x0, top - 3, x1, top - 1, target);
			const char *g = label ? glyph(f->initial[k]) : NULL;
			if (g) {
				int gx = x0 + (x1 - x0 - 3 * label) / 2, gy = base + 2;
				for (int r = 0; r < 5; r++)
					for (int c = 0; c < 3; c++)
						if (g[r * 3 + c] == '1')
							fill(px, w, H, gx + c * label, gy + r * label,
							     gx + (c + 1) * label, gy + (r + 1) * label,
							     is_target ? target : ink);
			}
		}
	}
	/* the dream's level: -60 dB at the floor, 0 dB (as loud as the dry) at
	 * the top, a grid line at -20 dB */
	int ltop = split + 2, lbot = (int)H - 1;
	if (lbot > ltop) {
		int g20 = ltop + (lbot - ltop) / 3;
		fill(px, w, H, 0, g20, (int)w, g20 + 1, grid);
		for (uint32_t x = 0; x < w; x++) {
			float db = f->level_db[(size_t)x * DISP_HIST / w];
			float v = (db + 60.0f) / 60.0f;
			if (!(v > 0.0f))
				continue;
			if (v > 1.0f)
				v = 1.0f;
			int y = lbot - (int)lroundf(v * (float)(lbot - ltop));
			fill(px, w, H, (int)x, y, (int)x + 1, lbot, level);
		}
	}
	self->surf.data = (unsigned char *)px;
	self->surf.width = (int)w;
	self->surf.height = (int)H;
	self->surf.stride = (int)(w * sizeof(uint32_t));
	return &self->surf;
}

static const void *extension_data(const char *uri)
{
	static const LV2_Worker_Interface worker = {work, work_response, NULL};
	static const LV2_State_Interface state = {save, restore};
	static const LV2_Inline_Display_Interface display = {render};
	if (!strcmp(uri, LV2_INLINEDISPLAY__interface))
		return &display;
	if (!strcmp(uri, LV2_WORKER__interface))
		return &worker;
	if (!strcmp(uri, LV2_STATE__interface))
		return &state;
	return NULL;
}

static const LV2_Descriptor descriptors[] = {
	{ONEIRO_URI, instantiate, connect_port, activate, run, deactivate, cleanup, extension_data},
	{ONEIRO_MONO_URI, instantiate, connect_port, activate, run, deactivate, cleanup,
	 extension_data},
};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{
	return index < 2 ? &descriptors[index] : NULL;
}
