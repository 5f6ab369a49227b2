/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_lv2.c -- the plugin in a real LV2 host: lilv loads the built bundle
 * (plugin.lv2, found through build/lv2) by URI and this file plays the host:
 * urid:map/unmap, work:schedule (a queue drained between run() calls, or a
 * worker thread), log:log, options (block lengths), state with mapPath.
 *
 * What it checks:
 *   a  depth 0 (and bypass): the output is the input delayed by the latency
 *      port's value, bit for bit, at several rates and block patterns;
 *   b  freewheel gives the same bits as `oneiro render` with the same settings
 *      (skipped with a note when `oneiro render` does not run), also with a
 *      second model (render --also);
 *   c  the dream changes the sound, stays finite and under +12 dBFS, and the
 *      read-out ports say so;
 *   d  run() allocates nothing, takes no lock, waits for nothing, opens and
 *      writes nothing, and (freewheel off) computes no dream window itself:
 *      libc and FFTW calls made while the run() thread's in_run flag is set
 *      are counted, including runs that install a model swap (of the first
 *      or the second model) or a rebuilt engine; with a worker queue and
 *      with a worker thread;
 *   e  model swaps through patch:Set while running (crossfaded, or to another
 *      latency, or several at once), bad model files, patch:Get, and freeing
 *      the plugin with work still queued (LeakSanitizer, in the ASan build);
 *   f  state save / restore through lilv (model path via mapPath, port
 *      values), a saved model that is gone, restore racing a window change;
 *   g  NaN / Inf input and non-finite control values;
 *   h  block sizes 1 and the maximum (4096, and 8192 by option), rates 22050
 *      and 192000, unsupported rates and a missing required feature;
 *   i  the mono plugin;
 *   s  a second model (patch:Set of #model2, state): another sound, the same
 *      bits in two instances; share 0 the single model's bits; files that do
 *      not load or that the engine refuses (22050 Hz) change nothing; an
 *      empty path removes it; state brings it back (sizes with and without
 *      the NUL; a state without it removes it, a preset keeps it); it stays
 *      when the first model changes (re-checked, and back after a refusal);
 *   plus the port ranges from lilv and the presets (values within the port
 *   ranges; each preset runs).
 * Under AddressSanitizer or ThreadSanitizer d is skipped (they bring their
 * own allocator); everything else runs.
 *
 * The host plumbing it shares with tests/bench_plugin.c (URID map, the
 * worker rings and thread, ports, the feature array) is tests/lv2host.c.
 *
 * Run from the repository root after `make all` (the bundle is found at
 * $PWD/build/lv2, or in $ONEIRO_TEST_LV2_PATH; the CLI at build/oneiro, or
 * $ONEIRO_BIN). Link: lv2host.o, lilv-0, sndfile, libonr.a (for making test
 * models), -ldl -lpthread, and -rdynamic so that the interposed libc
 * functions below are the ones the plugin calls (lv2host.c's calls too).
 */
#define _GNU_SOURCE
#include "check.h"
#include "lv2host.h"
#include "onr.h"

#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/patch/patch.h>
#include <lv2/presets/presets.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>
#include <sndfile.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Address and thread sanitizers bring their own allocator and interceptors:
 * no interposition under them (TEST_ASAN) */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

#define URI_STEREO "urn:oneiro:dream"
#define URI_MONO "urn:oneiro:dream-mono"
#define URI_MODEL "urn:oneiro:dream#model"
#define URI_MODEL2 "urn:oneiro:dream#model2"
#define MAX_PATH_LEN 4096

/* ================================================================ interposition
 * Calls made on a thread while its `in_run` flag is set (only around
 * lilv_instance_run) are counted. Everything is forwarded to the next
 * definition (libc, libfftw3f). Not under AddressSanitizer, which has its
 * own malloc and interceptors. */
enum {
	RT_MALLOC, RT_CALLOC, RT_REALLOC, RT_FREE, RT_POSIX_MEMALIGN, RT_ALIGNED_ALLOC,
	RT_MUTEX_LOCK, RT_MUTEX_TRYLOCK, RT_SEM_WAIT, RT_SEM_TIMEDWAIT, RT_NANOSLEEP, RT_USLEEP,
	RT_OPEN, RT_FOPEN, RT_WRITE, RT_SCHED_YIELD, RT_FFT, RT_N
};
static const char *const rt_names[RT_N] = {
	"malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc",
	"pthread_mutex_lock", "pthread_mutex_trylock", "sem_wait", "sem_timedwait", "nanosleep",
	"usleep", "open", "fopen", "write", "sched_yield", "fftwf_execute_dft_*"};
static __thread int in_run;
static _Atomic unsigned long rt_in_run[RT_N]; /* calls while in run() */
static _Atomic unsigned long rt_total[RT_N];  /* calls on any thread: proves the hook works */
static _Atomic unsigned long log_in_run;       /* log:log calls from run() above Trace */

#if !TEST_ASAN
static inline void rt_hit(int k)
{
	atomic_fetch_add_explicit(&rt_total[k], 1, memory_order_relaxed);
	if (in_run)
		atomic_fetch_add_explicit(&rt_in_run[k], 1, memory_order_relaxed);
}

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static int (*real_mutex_lock)(pthread_mutex_t *);
static int (*real_mutex_trylock)(pthread_mutex_t *);
static int (*real_sem_wait)(sem_t *);
static int (*real_sem_timedwait)(sem_t *, const struct timespec *);
static int (*real_nanosleep)(const struct timespec *, struct timespec *);
static int (*real_usleep)(useconds_t);
static int (*real_open)(const char *, int, ...);
static FILE *(*real_fopen)(const char *, const char *);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_sched_yield)(void);
static void (*real_fft_r2c)(void *, float *, void *);
static void (*real_fft_c2r)(void *, void *, float *);

/* dlsym may allocate: while it resolves the allocator, a static arena serves */
static char boot_arena[1 << 16] __attribute__((aligned(16)));
static size_t boot_used;
static int boot_resolving;

static void *boot_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (boot_used + n > sizeof boot_arena)
		abort();
	void *p = boot_arena + boot_used;
	boot_used += n;
	return p;
}

static int in_boot(const void *p)
{
	return (const char *)p >= boot_arena && (const char *)p < boot_arena + sizeof boot_arena;
}

static void resolve_alloc(void)
{
	boot_resolving = 1;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	boot_resolving = 0;
}

#define RESOLVE(var, name)                                      \
	do {                                                        \
		if (!var)                                               \
			*(void **)&var = dlsym(RTLD_NEXT, name);            \
	} while (0)

__attribute__((constructor)) static void resolve_all(void)
{
	if (!real_malloc)
		resolve_alloc();
	RESOLVE(real_posix_memalign, "posix_memalign");
	RESOLVE(real_aligned_alloc, "aligned_alloc");
	RESOLVE(real_mutex_lock, "pthread_mutex_lock");
	RESOLVE(real_mutex_trylock, "pthread_mutex_trylock");
	RESOLVE(real_sem_wait, "sem_wait");
	RESOLVE(real_sem_timedwait, "sem_timedwait");
	RESOLVE(real_nanosleep, "nanosleep");
	RESOLVE(real_usleep, "usleep");
	RESOLVE(real_open, "open");
	RESOLVE(real_fopen, "fopen");
	RESOLVE(real_write, "write");
	RESOLVE(real_sched_yield, "sched_yield");
	/* the test itself may not need libfftw3f (--as-needed drops it), and
	 * the plugin's copy is loaded later, locally: find the library here */
	void *fftw = dlopen("libfftw3f.so.3", RTLD_LAZY | RTLD_GLOBAL);
	if (fftw) {
		*(void **)&real_fft_r2c = dlsym(fftw, "fftwf_execute_dft_r2c");
		*(void **)&real_fft_c2r = dlsym(fftw, "fftwf_execute_dft_c2r");
	}
	if (!real_fft_r2c || !real_fft_c2r) {
		fprintf(stderr, "test_lv2: libfftw3f.so.3 not found (%s)\n", dlerror());
		abort();
	}
}

void *malloc(size_t n)
{
	rt_hit(RT_MALLOC);
	if (!real_malloc) {
		if (boot_resolving)
			return boot_alloc(n);
		resolve_alloc();
	}
	return real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	rt_hit(RT_CALLOC);
	if (!real_calloc) {
		if (boot_resolving)
			return boot_alloc(a * b); /* static: already zero */
		resolve_alloc();
	}
	return real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	rt_hit(RT_REALLOC);
	if (!real_realloc)
		resolve_alloc();
	if (p && in_boot(p)) {
		void *q = real_malloc(n);
		size_t avail = (size_t)(boot_arena + sizeof boot_arena - (char *)p);
		if (q)
			memcpy(q, p, n < avail ? n : avail);
		return q;
	}
	return real_realloc(p, n);
}

void free(void *p)
{
	rt_hit(RT_FREE);
	if (!p || in_boot(p))
		return;
	if (!real_free)
		resolve_alloc();
	real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	rt_hit(RT_POSIX_MEMALIGN);
	RESOLVE(real_posix_memalign, "posix_memalign");
	return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	rt_hit(RT_ALIGNED_ALLOC);
	RESOLVE(real_aligned_alloc, "aligned_alloc");
	return real_aligned_alloc(align, n);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	rt_hit(RT_MUTEX_LOCK);
	RESOLVE(real_mutex_lock, "pthread_mutex_lock");
	return real_mutex_lock(m);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
	rt_hit(RT_MUTEX_TRYLOCK);
	RESOLVE(real_mutex_trylock, "pthread_mutex_trylock");
	return real_mutex_trylock(m);
}

int sem_wait(sem_t *s)
{
	rt_hit(RT_SEM_WAIT);
	RESOLVE(real_sem_wait, "sem_wait");
	return real_sem_wait(s);
}

int sem_timedwait(sem_t *s, const struct timespec *t)
{
	rt_hit(RT_SEM_TIMEDWAIT);
	RESOLVE(real_sem_timedwait, "sem_timedwait");
	return real_sem_timedwait(s, t);
}

int nanosleep(const struct timespec *a, struct timespec *b)
{
	rt_hit(RT_NANOSLEEP);
	RESOLVE(real_nanosleep, "nanosleep");
	return real_nanosleep(a, b);
}

int usleep(useconds_t us)
{
	rt_hit(RT_USLEEP);
	RESOLVE(real_usleep, "usleep");
	return real_usleep(us);
}

int open(const char *path, int flags, ...)
{
	rt_hit(RT_OPEN);
	RESOLVE(real_open, "open");
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return real_open(path, flags, mode);
}

FILE *fopen(const char *path, const char *mode)
{
	rt_hit(RT_FOPEN);
	RESOLVE(real_fopen, "fopen");
	return real_fopen(path, mode);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	rt_hit(RT_WRITE);
	RESOLVE(real_write, "write");
	return real_write(fd, buf, n);
}

int sched_yield(void)
{
	rt_hit(RT_SCHED_YIELD);
	RESOLVE(real_sched_yield, "sched_yield");
	return real_sched_yield();
}

/* the dream's gradient conditioning runs FFTs: one in run() means run()
 * computed a window itself */
void fftwf_execute_dft_r2c(void *plan, float *in, void *out);
void fftwf_execute_dft_c2r(void *plan, void *in, float *out);
void fftwf_execute_dft_r2c(void *plan, float *in, void *out)
{
	rt_hit(RT_FFT);
	real_fft_r2c(plan, in, out);
}
void fftwf_execute_dft_c2r(void *plan, void *in, float *out)
{
	rt_hit(RT_FFT);
	real_fft_c2r(plan, in, out);
}
#endif /* !TEST_ASAN */

static void rt_snapshot(unsigned long *v)
{
	for (int k = 0; k < RT_N; k++)
		v[k] = atomic_load(&rt_in_run[k]);
}

/* ================================================================ URIDs, log */
/* besides lv2host.h's HU */
static struct {
	LV2_URID atom_Object, atom_URID, atom_Path, atom_Float, patch_Set, patch_Get,
		patch_property, patch_value, model, model2;
} U;

static _Atomic unsigned long log_errors;
static _Atomic int log_quiet; /* while the expected errors of bad files are logged */

static int host_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt, va_list ap)
{
	(void)h;
	if (in_run && type != HU.log_Trace)
		atomic_fetch_add(&log_in_run, 1);
	if (type == HU.log_Error)
		atomic_fetch_add(&log_errors, 1);
	if (log_quiet && type != HU.log_Error)
		return 0;
	const char *t = type == HU.log_Error     ? "error"
	                : type == HU.log_Warning ? "warning"
	                : type == HU.log_Note    ? "note"
	                : type == HU.log_Trace   ? "trace"
	                                         : "log";
	fprintf(stderr, "  [plugin %s] ", t);
	return vfprintf(stderr, fmt, ap);
}

static LV2_Log_Log host_log = {&host_log, lv2host_log_printf, host_vprintf};

/* ================================================================ lilv world */
static LilvWorld *world;
static const LilvPlugins *plugins;
/* short enough that every path made from them fits PATH_MAX */
static char tmp_dir[900];
static char repo_dir[900];
static char lv2_dir[1024];
static char model_default[2048], model_b[2048], model_c[2048];
static char model_bad[2048], model_trunc[2048], model_missing[2048];
static char model_listener[2048]; /* models/listener.onm: a second listener */
static char model_r22[2048];      /* a model at 22050 Hz */
static char model_short[2048];    /* a model with a window of 1200 samples, shorter
                                     than listener.onm's shortest input */
static char oneiro_bin[1024];

static const LilvPlugin *find_plugin(const char *uri)
{
	LilvNode *n = lilv_new_uri(world, uri);
	const LilvPlugin *p = lilv_plugins_get_by_uri(plugins, n);
	lilv_node_free(n);
	return p;
}

/* ================================================================ the host */
#define MAX_PORTS LV2HOST_MAX_PORTS
#define CTRL_CAP 16384
#define NOTIFY_CAP 16384
#define NSLOT 64 /* worker messages each way */

typedef struct Host {
	const LilvPlugin *plugin;
	LilvInstance *inst;
	double rate;
	uint32_t channels;
	LV2HostPorts ports;
	float ctl[MAX_PORTS];
	LV2_Atom_Sequence *control; /* CTRL_CAP bytes */
	LV2_Atom_Sequence *notify;  /* NOTIFY_CAP bytes */
	LV2_Atom_Forge forge;
	char pend_set[8][MAX_PATH_LEN];
	uint32_t pend_key[8]; /* U.model or U.model2 */
	int n_pend_set, pend_get;
	LV2HostWorker w;  /* w.threaded: a worker thread, else a queue */
	int auto_drain;   /* drain the worker after each run (queue mode) */
	int drop_on_free; /* free without running pending work (as hosts do) */
	uint64_t frames;  /* run so far */
	/* what the notify port said */
	char last_path[MAX_PATH_LEN];
	unsigned path_reports, notify_bad, runs;
	char last_path2[MAX_PATH_LEN]; /* the second model ("": none) */
	unsigned path2_reports;
	uint64_t report_frame;      /* h->frames when the last path report came */
	unsigned long fft_near_swap, fft_elsewhere; /* FFTs inside run() */
	unsigned runs_fft_near_swap, runs_fft_elsewhere;
	unsigned sched_fail;
	LV2HostFeatures feat;
	_Atomic unsigned long draws; /* queue_draw calls */
} Host;

/* audio thread (inside run): the worker queue was full */
static void host_sched_full(void *owner)
{
	Host *h = owner;
	h->sched_fail++;
}

static void host_set(Host *h, const char *sym, float v)
{
	int i = lv2host_port_index(&h->ports, sym);
	if (i < 0) {
		CHECK(0, "no port '%s'", sym);
		return;
	}
	h->ctl[i] = v;
}

static float host_get(const Host *h, const char *sym)
{
	int i = lv2host_port_index(&h->ports, sym);
	return i < 0 ? NAN : h->ctl[i];
}

/* audio thread (inside run): Ardour's queue_draw only notes the request */
static void host_queue_draw(void *hh)
{
	Host *h = hh;
	atomic_fetch_add_explicit(&h->draws, 1, memory_order_relaxed);
}

/* Instantiates `uri` at `rate`. max_block < 0: no options feature;
 * no_worker: without work:schedule (the plugin must refuse). */
static Host *host_new_ex(const char *uri, double rate, int32_t max_block, int threaded,
                         int no_worker)
{
	const LilvPlugin *p = find_plugin(uri);
	if (!p) {
		CHECK(0, "plugin %s not found in %s", uri, lv2_dir);
		return NULL;
	}
	Host *h = calloc(1, sizeof *h);
	h->control = calloc(1, CTRL_CAP);
	h->notify = calloc(1, NOTIFY_CAP);
	if (lv2host_worker_init(&h->w, NSLOT, host_sched_full, h) || !h->control || !h->notify)
		abort();
	h->plugin = p;
	h->rate = rate;
	h->auto_drain = 1;
	if (lv2host_ports(world, p, &h->ports))
		abort();
	lv2host_ctl_defaults(&h->ports, h->ctl);
	h->channels = h->ports.audio_in[1] >= 0 ? 2 : 1;

	lv2host_features_init(&h->feat, no_worker ? NULL : &h->w, &host_log, max_block,
	                      max_block > 0 ? (max_block < 1024 ? max_block : 1024) : 0,
	                      host_queue_draw, h);
	if (threaded && lv2host_worker_start(&h->w))
		abort();

	h->inst = lilv_plugin_instantiate(p, rate, h->feat.features);
	if (!h->inst) {
		lv2host_close(NULL, &h->w, 0);
		free(h->control);
		free(h->notify);
		free(h);
		return NULL;
	}
	lv2host_worker_attach(&h->w, h->inst);
	lv2_atom_forge_init(&h->forge, &lv2host_map);
	lv2host_activate(h->inst, &h->ports, h->ctl, h->control, h->notify);
	return h;
}

static Host *host_new(const char *uri, double rate, int32_t max_block, int threaded)
{
	return host_new_ex(uri, rate, max_block, threaded, 0);
}

static void host_free(Host *h)
{
	if (!h)
		return;
	lv2host_close(h->inst, &h->w, !h->drop_on_free);
	free(h->control);
	free(h->notify);
	free(h);
}

/* the next run's control input gets a patch:Set of the model */
static void host_send_model(Host *h, const char *path)
{
	if (h->n_pend_set < 8) {
		h->pend_key[h->n_pend_set] = U.model;
		snprintf(h->pend_set[h->n_pend_set++], MAX_PATH_LEN, "%s", path);
	}
}

/* ... of the second model ("": none) */
static void host_send_model2(Host *h, const char *path)
{
	if (h->n_pend_set < 8) {
		h->pend_key[h->n_pend_set] = U.model2;
		snprintf(h->pend_set[h->n_pend_set++], MAX_PATH_LEN, "%s", path);
	}
}

static void forge_control(Host *h)
{
	LV2_Atom_Forge *f = &h->forge;
	lv2_atom_forge_set_buffer(f, (uint8_t *)h->control, CTRL_CAP);
	LV2_Atom_Forge_Frame seq;
	lv2_atom_forge_sequence_head(f, &seq, 0);
	for (int i = 0; i < h->n_pend_set; i++) {
		LV2_Atom_Forge_Frame o;
		lv2_atom_forge_frame_time(f, 0);
		lv2_atom_forge_object(f, &o, 0, U.patch_Set);
		lv2_atom_forge_key(f, U.patch_property);
		lv2_atom_forge_urid(f, h->pend_key[i]);
		lv2_atom_forge_key(f, U.patch_value);
		lv2_atom_forge_path(f, h->pend_set[i], (uint32_t)strlen(h->pend_set[i]));
		lv2_atom_forge_pop(f, &o);
	}
	if (h->pend_get) {
		LV2_Atom_Forge_Frame o;
		lv2_atom_forge_frame_time(f, 0);
		lv2_atom_forge_object(f, &o, 0, U.patch_Get);
		lv2_atom_forge_pop(f, &o);
	}
	lv2_atom_forge_pop(f, &seq);
	h->n_pend_set = 0;
	h->pend_get = 0;
}

static void read_notify(Host *h)
{
	if (h->notify->atom.type != HU.atom_Sequence) {
		h->notify_bad++;
		return;
	}
	LV2_ATOM_SEQUENCE_FOREACH (h->notify, ev) {
		if (ev->body.type != U.atom_Object)
			continue;
		const LV2_Atom_Object *obj = (const LV2_Atom_Object *)&ev->body;
		if (obj->body.otype != U.patch_Set)
			continue;
		const LV2_Atom *prop = NULL, *val = NULL;
		lv2_atom_object_get(obj, U.patch_property, &prop, U.patch_value, &val, 0);
		if (!prop || prop->type != U.atom_URID)
			continue;
		LV2_URID key = ((const LV2_Atom_URID *)prop)->body;
		if (key != U.model && key != U.model2)
			continue;
		if (!val || val->type != U.atom_Path || val->size == 0 || val->size > MAX_PATH_LEN)
			continue;
		const char *s = LV2_ATOM_BODY_CONST(val);
		if (key == U.model2) {
			snprintf(h->last_path2, sizeof h->last_path2, "%.*s", (int)val->size, s);
			h->path2_reports++;
			continue;
		}
		snprintf(h->last_path, sizeof h->last_path, "%.*s", (int)val->size, s);
		h->path_reports++;
		h->report_frame = h->frames;
	}
}

/* One run() of n frames: in/out are per channel, already offset. */
static void host_run(Host *h, const float *const *in, float *const *out, uint32_t n)
{
	for (uint32_t c = 0; c < h->channels; c++) {
		lilv_instance_connect_port(h->inst, (uint32_t)h->ports.audio_in[c], (void *)in[c]);
		lilv_instance_connect_port(h->inst, (uint32_t)h->ports.audio_out[c], out[c]);
	}
	if (h->w.threaded)
		lv2host_deliver(&h->w);
	if (h->n_pend_set || h->pend_get)
		forge_control(h);
	lv2host_seq_space(h->notify, NOTIFY_CAP);
	unsigned long fft0 = atomic_load(&rt_in_run[RT_FFT]);
	in_run = 1;
	lilv_instance_run(h->inst, n);
	lv2host_end_run(&h->w);
	in_run = 0;
	lv2host_seq_clear(h->control);
	read_notify(h);
	unsigned long fft = atomic_load(&rt_in_run[RT_FFT]) - fft0;
	if (fft) {
		/* within 60 ms of a swap's report: the crossfade */
		if (h->path_reports && h->frames - h->report_frame < (uint64_t)(0.06 * h->rate)) {
			h->fft_near_swap += fft;
			h->runs_fft_near_swap++;
		} else {
			h->fft_elsewhere += fft;
			h->runs_fft_elsewhere++;
		}
	}
	h->runs++;
	h->frames += n;
	if (!h->w.threaded && h->auto_drain)
		lv2host_drain(&h->w);
}

/* Runs frames [off, off + n) of the buffers, in blocks of the pattern
 * (cycled from *pat_pos). */
static void host_process(Host *h, float *const *in, float *const *out, size_t off, size_t n,
                         const uint32_t *pat, size_t npat, size_t *pat_pos)
{
	size_t done = 0, pp = pat_pos ? *pat_pos : 0;
	while (done < n) {
		uint32_t b = pat[pp % npat];
		pp++;
		if (b > n - done)
			b = (uint32_t)(n - done);
		const float *ii[2];
		float *oo[2];
		for (uint32_t c = 0; c < h->channels; c++) {
			ii[c] = in[c] + off + done;
			oo[c] = out[c] + off + done;
		}
		host_run(h, ii, oo, b);
		done += b;
	}
	if (pat_pos)
		*pat_pos = pp;
}

/* ================================================================ signals */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

/* tones + noise, different on L and R, about -10 dBFS */
static void make_signal(float *l, float *r, size_t n, double rate, uint32_t seed)
{
	uint32_t s = seed;
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / rate;
		double n1 = (double)(lcg(&s) >> 8) / 16777216.0 - 0.5;
		double n2 = (double)(lcg(&s) >> 8) / 16777216.0 - 0.5;
		l[i] = (float)(0.3 * sin(2 * M_PI * 220.0 * t) + 0.12 * sin(2 * M_PI * 1375.0 * t + 0.3) +
		               0.08 * n1);
		if (r)
			r[i] = (float)(0.25 * sin(2 * M_PI * 330.0 * t) +
			               0.1 * sin(2 * M_PI * 2750.0 * t) + 0.1 * n2);
	}
}

static float **alloc_ch(uint32_t C, size_t n)
{
	float **b = calloc(2, sizeof *b);
	for (uint32_t c = 0; c < C; c++) {
		b[c] = calloc(n ? n : 1, sizeof(float));
		if (!b[c])
			abort();
	}
	return b;
}

static void free_ch(float **b, uint32_t C)
{
	if (!b)
		return;
	for (uint32_t c = 0; c < C; c++)
		free(b[c]);
	free(b);
}

static int all_finite(const float *x, size_t n, size_t *where)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i])) {
			if (where)
				*where = i;
			return 0;
		}
	return 1;
}

static double peak(const float *x, size_t n)
{
	double p = 0.0;
	for (size_t i = 0; i < n; i++)
		if (fabs(x[i]) > p)
			p = fabs(x[i]);
	return p;
}

static double rms(const float *x, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	return n ? sqrt(s / (double)n) : 0.0;
}

static int same_bits(float a, float b)
{
	uint32_t x, y;
	memcpy(&x, &a, 4);
	memcpy(&y, &b, 4);
	return x == y;
}

/* ================================================================ a: depth 0 */
static const uint32_t PAT_VARY[] = {1, 300, 17, 4096, 64};

typedef struct {
	double rate;
	uint32_t latency;
} LatRec;
static LatRec lat_seen[16];
static int n_lat_seen;

static void note_latency(double rate, uint32_t L, const char *uri)
{
	if (strcmp(uri, URI_STEREO))
		return;
	for (int i = 0; i < n_lat_seen; i++)
		if (lat_seen[i].rate == rate)
			return;
	if (n_lat_seen < 16)
		lat_seen[n_lat_seen++] = (LatRec){rate, L};
}

/* Depth 0: out = in delayed by the latency port, bit for bit; the first
 * `latency` frames are 0. Returns the latency. */
static uint32_t check_identity_ex(const char *uri, double rate, const uint32_t *pat,
                                  size_t npat, int freewheel, double seconds, const char *what,
                                  int bypass)
{
	Host *h = host_new(uri, rate, 4096, 0);
	CHECK(h != NULL, "%s: instantiate %s at %g Hz", what, uri, rate);
	if (!h)
		return 0;
	if (bypass)
		host_set(h, "enabled", 0.0f); /* the dream as it is, bypassed */
	else
		host_set(h, "depth", 0.0f);
	host_set(h, "freewheel", (float)freewheel);
	uint32_t C = h->channels;
	size_t sig = (size_t)(seconds * rate), total = sig + (size_t)(2.0 * rate);
	float **in = alloc_ch(C, total), **out = alloc_ch(C, total);
	make_signal(in[0], C > 1 ? in[1] : NULL, sig, rate, 12345u);
	/* values that a careless copy would change: -0, denormals, extremes */
	if (sig > 1000) {
		in[0][100] = -0.0f;
		in[0][101] = 1e-40f;
		in[0][102] = -1e-42f;
		in[0][103] = 1.0f;
		in[0][104] = -1.0f;
		in[0][105] = 3.5f; /* over full scale: a dry path passes it */
		if (C > 1)
			in[1][200] = -0.0f;
	}
	/* latency: the port's value, which must be the same after every run */
	uint32_t L = 0;
	int lat_changed = 0, first = 1;
	size_t done = 0, pp = 0;
	while (done < total) {
		uint32_t b = pat[pp++ % npat];
		if (b > total - done)
			b = (uint32_t)(total - done);
		host_process(h, in, out, done, b, &b, 1, NULL);
		float lv = host_get(h, "latency");
		if (first) {
			L = (uint32_t)lv;
			first = 0;
			CHECK(lv == (float)L && lv > 0.0f && lv < (float)rate * 10.0f,
			      "%s: latency port %g after the first run", what, (double)lv);
		} else if (lv != (float)L) {
			lat_changed++;
		}
		done += b;
	}
	CHECK(!lat_changed, "%s: the latency port changed in %d runs (first %u)", what, lat_changed,
	      L);
	size_t bad = 0, first_bad = 0;
	for (uint32_t c = 0; c < C; c++)
		for (size_t i = 0; i < total; i++) {
			float want = i < L ? 0.0f : in[c][i - L];
			if (!same_bits(out[c][i], want)) {
				if (!bad)
					first_bad = i;
				bad++;
			}
		}
	CHECK(bad == 0,
	      "%s (%s, %g Hz, freewheel %d): %zu samples differ from the input delayed by %u; "
	      "first at frame %zu",
	      what, uri, rate, freewheel, bad, L, first_bad);
	CHECK(L < total, "%s: latency %u longer than the test", what, L);
	CHECK(h->notify_bad == 0, "%s: %u runs left the notify port without a sequence", what,
	      h->notify_bad);
	if (!bypass)
		note_latency(rate, L, uri);
	free_ch(in, C);
	free_ch(out, C);
	host_free(h);
	return L;
}

static uint32_t check_identity(const char *uri, double rate, const uint32_t *pat, size_t npat,
                               int freewheel, double seconds, const char *what)
{
	return check_identity_ex(uri, rate, pat, npat, freewheel, seconds, what, 0);
}

static void test_identity(void)
{
	static const uint32_t P1[] = {1}, P7[] = {7}, P64[] = {64}, P4096[] = {4096};
	static const double rates[] = {44100, 48000, 96000};
	struct {
		const uint32_t *p;
		size_t n;
		const char *name;
	} pats[] = {{P1, 1, "1"}, {P7, 1, "7"}, {P64, 1, "64"}, {P4096, 1, "4096"},
	            {PAT_VARY, 5, "1,300,17,4096,64"}};
	for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
		for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++) {
			char what[96];
			snprintf(what, sizeof what, "a: depth 0, %g Hz, blocks %s", rates[r], pats[p].name);
			check_identity(URI_STEREO, rates[r], pats[p].p, pats[p].n, 0, 2.5, what);
		}
	/* freewheel changes nothing at depth 0 */
	uint32_t L = check_identity(URI_STEREO, 48000, PAT_VARY, 5, 1, 2.5, "a: depth 0, freewheel");
	/* bypassed from the start (lv2:enabled 0): the same delay line, the
	 * same latency, whatever the dream settings */
	uint32_t Lb = check_identity_ex(URI_STEREO, 48000, PAT_VARY, 5, 1, 2.5,
	                                "a: bypassed, freewheel", 1);
	CHECK(Lb == L, "a: latency %u bypassed, %u not", Lb, L);
	check_identity_ex(URI_STEREO, 48000, PAT_VARY, 5, 0, 2.5, "a: bypassed, live", 1);
}

/* ================================================================ b: render */
static int write_wav(const char *path, float *const *x, uint32_t C, size_t n, int rate)
{
	SF_INFO si = {0};
	si.samplerate = rate;
	si.channels = (int)C;
	si.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	SNDFILE *f = sf_open(path, SFM_WRITE, &si);
	if (!f)
		return -1;
	float *il = malloc(n * C * sizeof(float));
	for (size_t i = 0; i < n; i++)
		for (uint32_t c = 0; c < C; c++)
			il[i * C + c] = x[c][i];
	sf_count_t w = sf_writef_float(f, il, (sf_count_t)n);
	free(il);
	sf_close(f);
	return w == (sf_count_t)n ? 0 : -1;
}

/* reads a whole file into planar channels; NULL on failure */
static float **read_wav(const char *path, uint32_t *C, size_t *n, int *rate)
{
	SF_INFO si = {0};
	SNDFILE *f = sf_open(path, SFM_READ, &si);
	if (!f)
		return NULL;
	*C = (uint32_t)si.channels;
	*n = (size_t)si.frames;
	*rate = si.samplerate;
	float *il = malloc((*n ? *n : 1) * *C * sizeof(float));
	sf_count_t got = sf_readf_float(f, il, (sf_count_t)*n);
	sf_close(f);
	if (got != (sf_count_t)*n || *C > 2) {
		free(il);
		return NULL;
	}
	float **x = alloc_ch(*C, *n);
	for (size_t i = 0; i < *n; i++)
		for (uint32_t c = 0; c < *C; c++)
			x[c][i] = il[i * *C + c];
	free(il);
	return x;
}

static int render_available(void)
{
	char cmd[PATH_MAX * 2];
	snprintf(cmd, sizeof cmd, "'%s' render --help >/dev/null 2>&1", oneiro_bin);
	int st = system(cmd);
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

typedef struct {
	const char *name;
	float depth, iterations, bound, band_lo, band_hi, tilt, mix, stereo, window;
	float layer[8];
	int settle; /* let the worker build the engine the ports ask for, then
	               deactivate and activate before the input */
	float form; /* the "form" port: 0 add, 1 magnitude, 2 auto */
	const char *also; /* a second model (patch:Set before the first run; render
	                     --also), or NULL */
	float share;      /* its share (second_share; render --also-share) */
	float jitter;     /* the jitter port, ms (render --jitter-ms); 0 = off */
	float copies;     /* the copies port (render --copies); 0 = as it is */
	int cls;          /* > 0: toward class cls - 1 (mode class; render --class),
	                     else the layers of `layer` */
} RenderCase;

/* The plugin in freewheel against `oneiro render` with the same settings. */
static void check_render(const char *uri, const RenderCase *rc, double seconds)
{
	const double rate = 48000;
	Host *h = host_new(uri, rate, 4096, 0);
	CHECK(h != NULL, "b: instantiate");
	if (!h)
		return;
	uint32_t C = h->channels;
	host_set(h, "freewheel", 1.0f);
	host_set(h, "depth", rc->depth);
	host_set(h, "iterations", rc->iterations);
	host_set(h, "bound", rc->bound);
	host_set(h, "band_lo", rc->band_lo);
	host_set(h, "band_hi", rc->band_hi);
	host_set(h, "tilt", rc->tilt);
	host_set(h, "mix", rc->mix);
	host_set(h, "stereo", rc->stereo);
	host_set(h, "window", rc->window);
	host_set(h, "form", rc->form);
	host_set(h, "jitter", rc->jitter);
	if (rc->copies > 0.0f)
		host_set(h, "copies", rc->copies);
	if (rc->also) {
		host_set(h, "second_share", rc->share);
		host_send_model2(h, rc->also);
	}
	char layer_sym[16];
	for (int l = 0; l < 8; l++) {
		snprintf(layer_sym, sizeof layer_sym, "layer%d", l + 1);
		host_set(h, layer_sym, rc->layer[l]);
	}
	if (rc->cls > 0) {
		host_set(h, "mode", 2.0f);
		host_set(h, "class", (float)(rc->cls - 1));
	}
	size_t n = (size_t)(seconds * rate);
	float **in = alloc_ch(C, n);
	make_signal(in[0], C > 1 ? in[1] : NULL, n, rate, 777u);
	char in_path[PATH_MAX], out_path[PATH_MAX], log_path[PATH_MAX];
	snprintf(in_path, sizeof in_path, "%s/render_in_%s.wav", tmp_dir, rc->name);
	snprintf(out_path, sizeof out_path, "%s/render_out_%s.wav", tmp_dir, rc->name);
	snprintf(log_path, sizeof log_path, "%s/render_%s.log", tmp_dir, rc->name);
	CHECK(write_wav(in_path, in, C, n, (int)rate) == 0, "b: write %s", in_path);

	/* the plugin: the input, then zeros until the last input frame is out */
	size_t total = n + (size_t)(3.0 * rate);
	float **pin = alloc_ch(C, total), **pout = alloc_ch(C, total);
	for (uint32_t c = 0; c < C; c++)
		memcpy(pin[c], in[c], n * sizeof(float));
	if (rc->settle) {
		float **z = alloc_ch(C, 4096), **zo = alloc_ch(C, 4096);
		uint32_t b = 4096;
		for (int k = 0; k < 4; k++)
			host_process(h, z, zo, 0, 4096, &b, 1, NULL);
		lilv_instance_deactivate(h->inst);
		lilv_instance_activate(h->inst);
		free_ch(z, C);
		free_ch(zo, C);
	}
	size_t pp = 0;
	host_process(h, pin, pout, 0, total, PAT_VARY, 5, &pp);
	uint32_t L = (uint32_t)host_get(h, "latency");
	CHECK(L + n <= total, "b: latency %u too long for the test", L);

	/* the renderer */
	char cmd[PATH_MAX * 4];
	int k = snprintf(cmd, sizeof cmd,
	                 "'%s' render --quiet --model '%s' --depth %.9g "
	                 "--iterations %d --bound-db %.9g --band %.9g:%.9g --tilt %.9g --mix %.9g",
	                 oneiro_bin, model_default, (double)rc->depth, (int)rc->iterations,
	                 (double)rc->bound, (double)rc->band_lo, (double)fminf(rc->band_hi, 8000.0f),
	                 (double)rc->tilt, (double)rc->mix);
	for (int l = 0; l < 8 && rc->cls <= 0; l++)
		if (rc->layer[l] != 0.0f)
			k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --layer %d=%.9g", l + 1,
			              (double)rc->layer[l]);
	if (rc->cls > 0)
		k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --class %d", rc->cls - 1);
	if (rc->stereo > 0.5f)
		k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --stereo independent");
	k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --form %s",
	              rc->form < 0.5f ? "add" : rc->form < 1.5f ? "magnitude" : "auto");
	if (rc->also)
		k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --also '%s' --also-share %.9g",
		              rc->also, (double)rc->share);
	if (rc->jitter > 0.0f)
		k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --jitter-ms %.9g", (double)rc->jitter);
	if (rc->copies > 0.0f)
		k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --copies %d", (int)rc->copies);
	if (rc->window > 0.5f) {
		static const double ws[] = {0, 0.25, 0.5, 1.0, 2.0};
		k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --window %g", ws[(int)rc->window]);
	}
	snprintf(cmd + k, sizeof cmd - (size_t)k, " '%s' '%s' 2>'%s'", in_path, out_path, log_path);
	int st = system(cmd);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "b[%s]: %s failed (see %s)",
	      rc->name, cmd, log_path);
	uint32_t rC = 0;
	size_t rn = 0;
	int rr = 0;
	float **r = read_wav(out_path, &rC, &rn, &rr);
	CHECK(r && rC == C && rn == n && rr == (int)rate, "b[%s]: render output %s: %u ch, %zu frames",
	      rc->name, out_path, rC, rn);
	if (r && rC == C && rn == n) {
		size_t bad = 0, first_bad = 0, fb_c = 0;
		double maxd = 0.0, sig_rms = 0.0, diff_dry = 0.0;
		for (uint32_t c = 0; c < C; c++)
			for (size_t i = 0; i < n; i++) {
				float a = pout[c][L + i], b = r[c][i];
				if (!same_bits(a, b)) {
					if (!bad) {
						first_bad = i;
						fb_c = c;
					}
					bad++;
					double d = fabs((double)a - b);
					if (d > maxd)
						maxd = d;
				}
				sig_rms += (double)b * b;
				diff_dry += ((double)b - in[c][i]) * ((double)b - in[c][i]);
			}
		CHECK(diff_dry > 0.0, "b[%s]: the render did not dream (output = input)", rc->name);
		CHECK(bad == 0,
		      "b[%s]: plugin (freewheel, latency %u compensated) vs oneiro render: %zu of %zu "
		      "samples differ, first at frame %zu ch %zu (plugin %.9g, render %.9g), max |diff| "
		      "%.3g (signal RMS %.3g)",
		      rc->name, L, bad, n * C, first_bad, fb_c, (double)pout[fb_c][L + first_bad],
		      (double)r[fb_c][first_bad], maxd, sqrt(sig_rms / (double)(n * C)));
		if (!bad)
			printf("  b[%s]: plugin == oneiro render, %zu samples bit for bit (latency %u)\n",
			       rc->name, n * C, L);
	}
	free_ch(r, rC);
	free_ch(in, C);
	free_ch(pin, C);
	free_ch(pout, C);
	host_free(h);
}

static void test_render(void)
{
	if (!render_available()) {
		printf("  b: SKIPPED: '%s render --help' does not work; plugin vs render not compared\n",
		       oneiro_bin);
		return;
	}
	/* the main case: every dream setting away from its default, mix 1 */
	RenderCase main_case = {"settings", 0.8f, 5, -9.0f, 60.0f, 6000.0f, -2.0f, 1.0f, 0, 0,
	                        {0.0f, 0.5f, 1.0f, 1.5f, 0, 0, 0, 0}, 0, 0.0f, NULL, 0.0f, 0.0f, 0.0f, 0};
	check_render(URI_STEREO, &main_case, 3.0);
	/* the plugin's defaults as they are */
	RenderCase defaults = {"defaults", 0.5f, 8, -12.0f, 40.0f, 8000.0f, -3.0f, 1.0f, 0, 0,
	                       {0, 0, 1, 1, 0, 0, 0, 0}, 0, 2.0f, NULL, 0.0f, 0.0f, 0.0f, 0};
	check_render(URI_STEREO, &defaults, 3.0);
	/* a mix other than 1 from the start */
	RenderCase mix = main_case;
	mix.name = "mix0.6";
	mix.mix = 0.6f;
	check_render(URI_STEREO, &mix, 3.0);
	/* the engine settings that need a rebuild (the first runs play the
	 * engine built at instantiate): independent stereo (same latency), and
	 * with a 0.5 s window (another latency) */
	RenderCase indep = main_case;
	indep.name = "independent";
	indep.stereo = 1;
	check_render(URI_STEREO, &indep, 3.0);
	RenderCase rebuild = main_case;
	rebuild.name = "independent-0.5s";
	rebuild.stereo = 1;
	rebuild.window = 2;
	check_render(URI_STEREO, &rebuild, 3.0);
	/* the same once the engine for those settings is in place */
	RenderCase settled = rebuild;
	settled.name = "independent-0.5s-settled";
	settled.settle = 1;
	check_render(URI_STEREO, &settled, 3.0);
	/* a second model (several listeners), set while the first windows run */
	RenderCase second = defaults;
	second.name = "second-model";
	second.also = model_listener;
	second.share = 0.6f;
	check_render(URI_STEREO, &second, 3.0);
	/* the magnitude form */
	RenderCase mag = main_case;
	mag.name = "magnitude";
	mag.form = 1.0f;
	check_render(URI_STEREO, &mag, 3.0);
	/* jitter (transformation-robust ascent): seeded by the window's place,
	 * so the plugin gives render's bits; added, and in the magnitude form
	 * (auto, layers) with a second model */
	RenderCase jit = main_case;
	jit.name = "jitter";
	jit.jitter = 4.0f;
	jit.copies = 3.0f;
	check_render(URI_STEREO, &jit, 3.0);
	RenderCase jit2 = second;
	jit2.name = "jitter-magnitude-second-model";
	jit2.jitter = 2.5f;
	jit2.copies = 2.0f;
	check_render(URI_STEREO, &jit2, 3.0);
	/* the "Toward a class, in its own sound" preset's settings with a
	 * second model: class mode, jitter, a louder bound */
	RenderCase jcls = defaults;
	jcls.name = "jitter-class-second-model";
	jcls.cls = 3;
	jcls.bound = -6.0f;
	jcls.jitter = 4.0f;
	jcls.copies = 4.0f;
	jcls.also = model_listener;
	jcls.share = 0.5f;
	check_render(URI_STEREO, &jcls, 3.0);
	/* mono, with jitter (its ports sit two lower) */
	RenderCase mono = main_case;
	mono.name = "mono-jitter";
	mono.jitter = 3.0f;
	mono.copies = 2.0f;
	check_render(URI_MONO, &mono, 3.0);
}

/* ================================================================ c: it dreams */
static void test_dreams(void)
{
	const double rate = 48000;
	Host *h = host_new(URI_STEREO, rate, 4096, 0);
	CHECK(h != NULL, "c: instantiate");
	if (!h)
		return;
	host_set(h, "freewheel", 1.0f);
	size_t n = (size_t)(3.0 * rate), total = n + (size_t)(2.0 * rate);
	float **in = alloc_ch(2, total), **out = alloc_ch(2, total);
	make_signal(in[0], in[1], n, rate, 4242u);
	size_t pp = 0;
	host_process(h, in, out, 0, n, PAT_VARY, 5, &pp);
	/* the read-outs while the output still carries the signal */
	float hp = host_get(h, "heard_prob"), hc = host_get(h, "heard_class");
	float dl = host_get(h, "dream_level");
	host_process(h, in, out, n, total - n, PAT_VARY, 5, &pp);
	uint32_t L = (uint32_t)host_get(h, "latency");
	double d2 = 0.0, x2 = 0.0, pk = 0.0;
	size_t differ = 0, where = 0;
	int finite = 1;
	for (uint32_t c = 0; c < 2; c++) {
		finite &= all_finite(out[c], total, &where);
		pk = fmax(pk, peak(out[c], total));
		for (size_t i = L; i < total; i++) {
			double d = (double)out[c][i] - in[c][i - L];
			d2 += d * d;
			x2 += (double)in[c][i - L] * in[c][i - L];
			differ += d != 0.0;
		}
	}
	double rel_db = 10.0 * log10((d2 + 1e-30) / (x2 + 1e-30));
	printf("  c: default dream, 3 s at 48 kHz: %zu of %zu samples changed, dream level %.1f dB "
	       "re dry, peak %.3f (%.1f dBFS), heard class %g p %.3f, dream level port %.1f dB\n",
	       differ, 2 * (total - L), rel_db, pk, 20.0 * log10(pk + 1e-30), (double)hc,
	       (double)hp, (double)dl);
	CHECK(differ > (total - L), "c: the dream changed only %zu samples", differ);
	CHECK(rel_db > -60.0, "c: the dream is too faint: %.1f dB re the dry", rel_db);
	CHECK(finite, "c: non-finite output at %zu", where);
	CHECK(pk < pow(10.0, 12.0 / 20.0), "c: peak %.3f is over +12 dBFS", pk);
	CHECK(fabs(dl - rel_db) < 6.0, "c: the dream level port says %.1f dB, the output %.1f dB",
	      (double)dl, rel_db);
	CHECK(hp > 0.0f && hp <= 1.0f && hc >= 0.0f && hc < 8.0f && hc == floorf(hc),
	      "c: read-outs: heard class %g, probability %g", (double)hc, (double)hp);
	float late = host_get(h, "late");
	CHECK(late == 0.0f, "c: freewheel counted %g late windows", (double)late);
	free_ch(in, 2);
	free_ch(out, 2);
	host_free(h);
}

/* ================================================================ models */
static int make_model_rate(const char *path, const char *arch, uint32_t classes,
                           uint32_t window, uint64_t seed, uint32_t rate)
{
	onr_op ops[ONR_MAX_OPS];
	uint32_t n = onr_arch_preset(arch, classes, ops);
	onr_model *m = NULL;
	char err[512];
	if (!n || onr_model_new(&m, ops, n, rate, window, ONR_KIND_CLASSES, NULL, classes, err,
	                        sizeof err)) {
		fprintf(stderr, "make_model: %s\n", err);
		return -1;
	}
	onr_model_init_params(m, seed);
	int st = onr_model_save_file(m, path, err, sizeof err);
	if (st)
		fprintf(stderr, "make_model: %s\n", err);
	onr_model_free(m);
	return st ? -1 : 0;
}

static int make_model(const char *path, const char *arch, uint32_t classes, uint32_t window,
                      uint64_t seed)
{
	return make_model_rate(path, arch, classes, window, seed, 16000);
}

static int write_bytes(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(d, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

static int make_models(void)
{
	/* the bundled default as the plugin names it (the bundle path lilv gives) */
	char *bpath = lilv_file_uri_parse(
		lilv_node_as_uri(lilv_plugin_get_bundle_uri(find_plugin(URI_STEREO))), NULL);
	if (!bpath)
		return -1;
	snprintf(model_default, sizeof model_default, "%s%sdefault.onm", bpath,
	         bpath[0] && bpath[strlen(bpath) - 1] == '/' ? "" : "/");
	lilv_free(bpath);
	snprintf(model_b, sizeof model_b, "%s/b.onm", tmp_dir);
	snprintf(model_c, sizeof model_c, "%s/c.onm", tmp_dir);
	snprintf(model_bad, sizeof model_bad, "%s/garbage.onm", tmp_dir);
	snprintf(model_trunc, sizeof model_trunc, "%s/truncated.onm", tmp_dir);
	snprintf(model_missing, sizeof model_missing, "%s/no-such-model.onm", tmp_dir);
	snprintf(model_listener, sizeof model_listener, "%s/models/listener.onm", repo_dir);
	snprintf(model_r22, sizeof model_r22, "%s/r22050.onm", tmp_dir);
	snprintf(model_short, sizeof model_short, "%s/short.onm", tmp_dir);
	if (make_model(model_b, "tiny", 4, 16384, 3) || make_model(model_c, "tiny", 4, 8192, 5) ||
	    make_model_rate(model_r22, "tiny", 4, 16384, 7, 22050) ||
	    make_model(model_short, "tiny", 4, 1200, 9) || access(model_listener, R_OK))
		return -1;
	uint8_t junk[5000];
	uint32_t s = 99;
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(lcg(&s) >> 24);
	if (write_bytes(model_bad, junk, sizeof junk))
		return -1;
	/* the first half of a good model */
	FILE *f = fopen(model_b, "rb");
	if (!f)
		return -1;
	static uint8_t buf[1 << 20];
	size_t got = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return write_bytes(model_trunc, buf, got / 2);
}

/* ================================================================ d, e: swaps */
static int same_file(const char *a, const char *b);

/* A looping input: an endless stream for the running plugin */
typedef struct {
	float *x[2];
	size_t len;
} Loop;

static void loop_init(Loop *lp, double rate, double seconds)
{
	lp->len = (size_t)(rate * seconds);
	lp->x[0] = calloc(lp->len, sizeof(float));
	lp->x[1] = calloc(lp->len, sizeof(float));
	make_signal(lp->x[0], lp->x[1], lp->len, rate, 31337u);
}

static void loop_free(Loop *lp)
{
	free(lp->x[0]);
	free(lp->x[1]);
}

/* threaded worker: waits (up to 5 s) until it has done all it was asked */
static void wait_worker(Host *h)
{
	uint32_t size;
	for (int w = 0; w < 5000 && h->w.threaded && lv2host_ring_front(h->w.req, &size); w++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

/* What came out of run_loop: sum of squares and count of the finite output
 * samples, how many were not finite, the latency port's extremes. */
typedef struct {
	double sq;
	size_t n;
	int nonfinite;
	float lat_min, lat_max;
} RunStats;

/* Runs the next `frames` frames of the loop through h in blocks of `block`
 * (at most 8192), adding to *rs when given. */
static void run_loop(Host *h, const Loop *lp, size_t frames, uint32_t block, RunStats *rs)
{
	static float ibuf[2][8192], obuf[2][8192];
	size_t done = 0;
	while (done < frames) {
		uint32_t b = block;
		if (b > frames - done)
			b = (uint32_t)(frames - done);
		for (uint32_t c = 0; c < h->channels; c++)
			for (uint32_t i = 0; i < b; i++)
				ibuf[c][i] = lp->x[c][(h->frames + i) % lp->len];
		const float *ii[2] = {ibuf[0], ibuf[1]};
		float *oo[2] = {obuf[0], obuf[1]};
		host_run(h, ii, oo, b);
		if (rs) {
			for (uint32_t c = 0; c < h->channels; c++)
				for (uint32_t i = 0; i < b; i++) {
					if (!isfinite(obuf[c][i]))
						rs->nonfinite++;
					else
						rs->sq += (double)obuf[c][i] * obuf[c][i];
				}
			rs->n += (size_t)b * h->channels;
			float L = host_get(h, "latency");
			if (rs->lat_min == 0.0f || L < rs->lat_min)
				rs->lat_min = L;
			if (L > rs->lat_max)
				rs->lat_max = L;
		}
		done += b;
	}
}

static void print_rt(const char *what, const unsigned long *before)
{
	unsigned long now[RT_N];
	rt_snapshot(now);
	int any = 0;
	for (int k = 0; k < RT_N; k++)
		if (now[k] - before[k]) {
			if (!any)
				fprintf(stderr, "  %s: calls inside run():", what);
			fprintf(stderr, " %s %lu", rt_names[k], now[k] - before[k]);
			any = 1;
		}
	if (any)
		fputc('\n', stderr);
}

/* A GUI thread that renders the inline display as fast as it can, at a few
 * sizes, until told to stop. */
typedef struct {
	Host *h;
	_Atomic int quit;
	unsigned long frames, bad;
} GuiDraw;

static void *gui_main(void *arg)
{
	GuiDraw *g = arg;
	const IdispInterface *di = lilv_instance_get_extension_data(g->h->inst, IDISP_INTERFACE);
	static const uint32_t sizes[][2] = {{160, 80}, {64, 48}, {300, 120}};
	for (unsigned long i = 0; di && !atomic_load(&g->quit); i++) {
		uint32_t w = sizes[i % 3][0], hh = sizes[i % 3][1];
		const IdispSurface *sf = di->render(lilv_instance_get_handle(g->h->inst), w, hh);
		g->frames++;
		if (!sf || !sf->data || sf->width != (int)w || sf->height != (int)hh)
			g->bad++;
		struct timespec ts = {0, 500000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* d: nothing inside run() allocates, locks, waits or does I/O, with the
 * dream on (live, the dream thread working), while models and second
 * models are swapped, engines rebuilt, the plugin bypassed and re-enabled. */
static void test_realtime(int threaded)
{
	const char *what = threaded ? "d (worker thread)" : "d (worker queue)";
	if (TEST_ASAN) {
		printf("  %s: SKIPPED under a sanitizer (it intercepts the allocator)\n", what);
		return;
	}
	const double rate = 48000;
	Host *h = host_new(URI_STEREO, rate, 4096, threaded);
	CHECK(h != NULL, "%s: instantiate", what);
	if (!h)
		return;
	Loop lp;
	loop_init(&lp, rate, 3.0);
	/* warm up: the first run sends the path, the dream thread starts */
	run_loop(h, &lp, 4096, 256, NULL);
	unsigned long before[RT_N], tot_before[RT_N];
	rt_snapshot(before);
	for (int k = 0; k < RT_N; k++)
		tot_before[k] = atomic_load(&rt_total[k]);
	unsigned long log_before = atomic_load(&log_in_run);
	RunStats rs = {0};
	/* meanwhile a GUI thread draws the inline display, as Ardour does */
	GuiDraw gd = {h, 0, 0, 0};
	pthread_t gui;
	int gui_ok = pthread_create(&gui, NULL, gui_main, &gd) == 0;
	const char *swaps[] = {model_b, model_default, model_c, model_b, model_bad, model_default};
	/* the second model: set, refused (another rate), removed, set, a
	 * missing file, set */
	const char *seconds[] = {model_listener, model_r22, "", model_listener, model_missing,
	                         model_listener};
	log_quiet = 1;
	for (int step = 0; step < 24; step++) {
		switch (step % 8) {
		case 1:
			host_send_model(h, swaps[(step / 8 * 2) % 6]);
			break;
		case 2:
			host_send_model2(h, seconds[step / 8 * 2]);
			host_set(h, "second_share", step < 16 ? 0.3f : 0.8f);
			break;
		case 7:
			host_send_model2(h, seconds[step / 8 * 2 + 1]);
			break;
		case 3:
			host_send_model(h, swaps[(step / 8 * 2 + 1) % 6]);
			h->pend_get = 1;
			break;
		case 4:
			host_set(h, "window", step < 8 ? 1.0f : 0.0f); /* engine rebuild */
			break;
		case 5:
			host_set(h, "enabled", 0.0f); /* bypass */
			host_set(h, "stereo", step < 16 ? 1.0f : 0.0f);
			break;
		case 6:
			host_set(h, "enabled", 1.0f);
			host_set(h, "mix", step < 16 ? 0.5f : 1.0f);
			/* jitter on (several views per step), then off */
			host_set(h, "jitter", step < 16 ? 4.0f : 0.0f);
			host_set(h, "copies", step < 16 ? 4.0f : 1.0f);
			break;
		default:
			break;
		}
		/* 0.25 s of audio in blocks of 64..512 */
		run_loop(h, &lp, (size_t)(0.25 * rate), 64u << (step % 4), &rs);
		wait_worker(h); /* as time passes in a real host */
	}
	log_quiet = 0;
	if (gui_ok) {
		atomic_store(&gd.quit, 1);
		pthread_join(gui, NULL);
	}
	CHECK(gui_ok && gd.frames > 0 && gd.bad == 0,
	      "%s: the GUI thread rendered %lu frames, %lu of them wrong", what, gd.frames, gd.bad);
	CHECK(atomic_load(&h->draws) > 0, "%s: run() never called queue_draw", what);
	CHECK(same_file(h->last_path2, model_listener),
	      "%s: the second model playing at the end is '%s', not listener.onm", what,
	      h->last_path2);
	unsigned long after[RT_N];
	rt_snapshot(after);
	unsigned long sum = 0;
	for (int k = 0; k < RT_N; k++)
		if (k != RT_SCHED_YIELD && k != RT_FFT)
			sum += after[k] - before[k];
	print_rt(what, before);
	CHECK(sum == 0,
	      "%s: run() called the allocator, a lock, a wait or file I/O %lu times (listed above)",
	      what, sum);
	CHECK(after[RT_SCHED_YIELD] == before[RT_SCHED_YIELD],
	      "%s: run() waited (sched_yield spin) %lu times: it waited for another thread",
	      what, after[RT_SCHED_YIELD] - before[RT_SCHED_YIELD]);
	CHECK(after[RT_FFT] == before[RT_FFT],
	      "%s: run() computed dream windows itself (freewheel off): %lu FFTs in %u runs within "
	      "60 ms of a model swap (the crossfade), %lu FFTs in %u other runs",
	      what, h->fft_near_swap, h->runs_fft_near_swap, h->fft_elsewhere,
	      h->runs_fft_elsewhere);
	CHECK(atomic_load(&log_in_run) == log_before, "%s: run() logged %lu times above Trace",
	      what, atomic_load(&log_in_run) - log_before);
	CHECK(rs.nonfinite == 0, "%s: %d non-finite output samples", what, rs.nonfinite);
	CHECK(h->sched_fail == 0, "%s: %u worker requests did not fit the queue", what,
	      h->sched_fail);
	/* the hooks see the plugin's own calls (else the zeros above mean
	 * nothing): over the loop above, only the plugin allocated (its worker
	 * loading models), locked (work()), ran FFTs (the dream thread) and,
	 * with the queue, waited on a semaphore (the dream thread) */
	unsigned long d_alloc = atomic_load(&rt_total[RT_MALLOC]) + atomic_load(&rt_total[RT_CALLOC]) -
	                        tot_before[RT_MALLOC] - tot_before[RT_CALLOC];
	unsigned long d_lock = atomic_load(&rt_total[RT_MUTEX_LOCK]) - tot_before[RT_MUTEX_LOCK];
	unsigned long d_fft = atomic_load(&rt_total[RT_FFT]) - tot_before[RT_FFT];
	unsigned long d_sem = atomic_load(&rt_total[RT_SEM_WAIT]) - tot_before[RT_SEM_WAIT];
	CHECK(d_alloc > 0 && d_lock > 0 && d_fft > 0 && (threaded || d_sem > 0),
	      "%s: the interposed functions missed the plugin's calls (allocations %lu, locks %lu, "
	      "FFTs %lu, semaphore waits %lu): link the test with -rdynamic",
	      what, d_alloc, d_lock, d_fft, d_sem);
	loop_free(&lp);
	host_free(h);
}

/* Runs until the notify port reports a path different from the count it had
 * (at most max_runs runs); returns 1 when it did. */
static int run_until_report(Host *h, const Loop *lp, unsigned reports_before, int max_runs,
                            RunStats *rs)
{
	for (int i = 0; i < max_runs; i++) {
		if (i == 1)
			wait_worker(h); /* the request went out in the first run */
		run_loop(h, lp, 256, 256, rs);
		if (h->path_reports > reports_before)
			return 1;
	}
	return 0;
}

static void test_swaps(int threaded)
{
	const char *what = threaded ? "e (worker thread)" : "e";
	const double rate = 48000;
	Host *h = host_new(URI_STEREO, rate, 4096, threaded);
	CHECK(h != NULL, "%s: instantiate", what);
	if (!h)
		return;
	Loop lp;
	loop_init(&lp, rate, 3.0);
	RunStats rs = {0};
	run_loop(h, &lp, 2048, 256, &rs);
	CHECK(h->path_reports >= 1 && same_file(h->last_path, model_default),
	      "%s: at start the notify port reports the default model, got '%s' (%u reports)", what,
	      h->last_path, h->path_reports);
	uint32_t L0 = (uint32_t)host_get(h, "latency");
	/* 20 swaps between two models of one latency (crossfaded) */
	int reported = 0, lat_ok = 1;
	for (int k = 0; k < 20; k++) {
		const char *m = k % 2 ? model_default : model_b;
		unsigned r0 = h->path_reports;
		host_send_model(h, m);
		int got = run_until_report(h, &lp, r0, 4, &rs);
		if (got && !strcmp(h->last_path, m))
			reported++;
		else
			CHECK(0, "%s: swap %d to %s: notify reported '%s' (%s)", what, k, m, h->last_path,
			      got ? "wrong path" : "nothing");
		run_loop(h, &lp, (size_t)(0.12 * rate), 512, &rs); /* past the crossfade */
		if ((uint32_t)host_get(h, "latency") != L0)
			lat_ok = 0;
	}
	CHECK(reported == 20, "%s: %d of 20 swaps reported on the notify port", what, reported);
	CHECK(lat_ok, "%s: the latency port left %u during same-window swaps", what, L0);
	/* a model with another window: another latency, no crossfade */
	unsigned r0 = h->path_reports;
	host_send_model(h, model_c);
	int got = run_until_report(h, &lp, r0, 4, &rs);
	CHECK(got && !strcmp(h->last_path, model_c), "%s: swap to %s: notify '%s'", what, model_c,
	      h->last_path);
	run_loop(h, &lp, (size_t)(0.2 * rate), 512, &rs);
	uint32_t Lc = (uint32_t)host_get(h, "latency");
	CHECK(Lc > 0 && Lc < L0, "%s: latency with a half-length window %u (full %u)", what, Lc, L0);
	r0 = h->path_reports;
	host_send_model(h, model_b);
	got = run_until_report(h, &lp, r0, 4, &rs);
	CHECK(got && !strcmp(h->last_path, model_b), "%s: swap back to %s: notify '%s'", what,
	      model_b, h->last_path);
	/* another latency means a fresh dry delay line: silence for the new
	 * latency; run past it */
	run_loop(h, &lp, (size_t)(2.0 * rate), 512, &rs);
	CHECK((uint32_t)host_get(h, "latency") == L0, "%s: latency back to %u: %g", what, L0,
	      (double)host_get(h, "latency"));

	/* swaps faster than the crossfade (a swap during a swap) */
	for (int k = 0; k < 10; k++) {
		host_send_model(h, k % 2 ? model_b : model_default);
		run_loop(h, &lp, 256, 256, &rs);
		wait_worker(h);
	}
	run_loop(h, &lp, (size_t)(0.3 * rate), 256, &rs);
	CHECK(!strcmp(h->last_path, model_b), "%s: 10 swaps 5 ms apart: the last reported is '%s'",
	      what, h->last_path);
	CHECK((uint32_t)host_get(h, "latency") == L0, "%s: latency after rapid swaps: %g", what,
	      (double)host_get(h, "latency"));

	/* bad files: refused, the current model plays on, nothing reported */
	const char *bad[] = {model_bad, model_trunc, model_missing, tmp_dir};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unsigned long e0 = atomic_load(&log_errors);
		r0 = h->path_reports;
		log_quiet = 1;
		host_send_model(h, bad[i]);
		RunStats rb = {0};
		run_loop(h, &lp, 256, 256, &rb);
		wait_worker(h);
		run_loop(h, &lp, (size_t)(0.3 * rate), 256, &rb);
		log_quiet = 0;
		CHECK(h->path_reports == r0, "%s: bad model %s: notify reported '%s'", what, bad[i],
		      h->last_path);
		CHECK(atomic_load(&log_errors) > e0, "%s: bad model %s: no error logged", what, bad[i]);
		CHECK(rb.nonfinite == 0 && rb.n && sqrt(rb.sq / (double)rb.n) > 0.01,
		      "%s: after bad model %s the output is %s (RMS %.4f)", what, bad[i],
		      rb.nonfinite ? "non-finite" : "silent", rb.n ? sqrt(rb.sq / (double)rb.n) : 0.0);
		CHECK((uint32_t)host_get(h, "latency") == L0, "%s: latency after bad model: %g", what,
		      (double)host_get(h, "latency"));
	}
	/* patch:Get: the current model again */
	r0 = h->path_reports;
	h->pend_get = 1;
	run_loop(h, &lp, 256, 256, &rs);
	CHECK(h->path_reports == r0 + 1 && !strcmp(h->last_path, model_b),
	      "%s: patch:Get answered '%s' (%u new reports)", what, h->last_path,
	      h->path_reports - r0);
	/* several swaps queued in one run: the last one wins */
	r0 = h->path_reports;
	host_send_model(h, model_default);
	host_send_model(h, model_c);
	host_send_model(h, model_b);
	host_send_model(h, model_default);
	run_loop(h, &lp, 256, 256, &rs);
	wait_worker(h);
	run_loop(h, &lp, (size_t)(0.5 * rate), 256, &rs);
	wait_worker(h);
	run_loop(h, &lp, (size_t)(0.2 * rate), 256, &rs);
	CHECK(!strcmp(h->last_path, model_default),
	      "%s: four swaps in one run: the last reported is '%s'", what, h->last_path);
	CHECK(rs.nonfinite == 0, "%s: %d non-finite output samples", what, rs.nonfinite);
	CHECK(rs.lat_min > 0.0f && rs.lat_max <= 2000000.0f, "%s: latency port went %g..%g", what,
	      (double)rs.lat_min, (double)rs.lat_max);
	CHECK(h->notify_bad == 0, "%s: %u runs left the notify port without a sequence", what,
	      h->notify_bad);
	CHECK(sqrt(rs.sq / (double)rs.n) > 0.01, "%s: output RMS %.4f", what,
	      sqrt(rs.sq / (double)rs.n));
	loop_free(&lp);
	host_free(h);
}

/* e: freed while a retired engine still waits in the worker queue (hosts
 * drop pending work when they remove a plugin): nothing may leak (the ASan
 * build's LeakSanitizer tells). */
static void test_teardown_pending(void)
{
	const double rate = 48000;
	Host *h = host_new(URI_STEREO, rate, 4096, 0);
	if (!h)
		return;
	Loop lp;
	loop_init(&lp, rate, 1.0);
	run_loop(h, &lp, 1024, 256, NULL);
	/* a swap to another latency: run() hands the old engine to the worker
	 * for freeing at once */
	host_send_model(h, model_c);
	run_loop(h, &lp, 256, 256, NULL); /* schedules the load; drained */
	h->auto_drain = 0;
	run_loop(h, &lp, 256, 256, NULL); /* installs it; MSG_FREE queued, not run */
	uint32_t size;
	int pending = lv2host_ring_front(h->w.req, &size) != NULL;
	CHECK(pending, "e: teardown: expected a pending worker message after the swap");
	h->drop_on_free = 1;
	loop_free(&lp);
	host_free(h);
	if (TEST_ASAN)
		printf("  e: freed an instance with %s worker message pending (LeakSanitizer checks "
		       "at exit)\n",
		       pending ? "a" : "no");
}

/* e: deactivate and activate (as hosts do to change the block size) while
 * the plugin runs: in the middle of a crossfade (nothing may leak: the ASan
 * build tells), and while the dream thread works. activate() resets: the
 * output starts silent again, the latency stays, the model path is sent. */
static void test_reactivate(void)
{
	const double rate = 48000;
	Host *h = host_new(URI_STEREO, rate, 4096, 0);
	CHECK(h != NULL, "e: reactivate: instantiate");
	if (!h)
		return;
	Loop lp;
	loop_init(&lp, rate, 3.0);
	RunStats rs = {0};
	run_loop(h, &lp, (size_t)(2.0 * rate), 256, &rs);
	uint32_t L = (uint32_t)host_get(h, "latency");
	/* a crossfaded swap, interrupted after 256 of its frames */
	host_send_model(h, model_b);
	run_loop(h, &lp, 256, 256, &rs); /* asks for it; the worker loads it */
	unsigned r0 = h->path_reports;
	run_loop(h, &lp, 256, 256, &rs); /* installs it: the crossfade begins */
	CHECK(h->path_reports == r0 + 1, "e: reactivate: the swap was not installed");
	lilv_instance_deactivate(h->inst);
	lilv_instance_activate(h->inst);
	r0 = h->path_reports;
	static float ibuf[2][256], obuf[2][256];
	size_t silent = 0, nonzero_at = 0;
	int seen = 0;
	for (int k = 0; k < (int)(rate / 256); k++) { /* 1 s */
		for (uint32_t c = 0; c < 2; c++)
			for (uint32_t i = 0; i < 256; i++)
				ibuf[c][i] = lp.x[c][(h->frames + i) % lp.len];
		const float *ii[2] = {ibuf[0], ibuf[1]};
		float *oo[2] = {obuf[0], obuf[1]};
		host_run(h, ii, oo, 256);
		for (uint32_t i = 0; i < 256 && !seen; i++) {
			if (obuf[0][i] != 0.0f || obuf[1][i] != 0.0f) {
				seen = 1;
				nonzero_at = silent;
			} else {
				silent++;
			}
		}
	}
	CHECK(!seen || nonzero_at >= (size_t)(0.9 * rate),
	      "e: after activate() the output should start silent (a fresh delay line of %u "
	      "frames), but sound came after %zu frames",
	      L, nonzero_at);
	CHECK(h->path_reports > r0 && !strcmp(h->last_path, model_b),
	      "e: after activate() the notify port reports '%s'", h->last_path);
	/* deactivate / activate again right away, while the dream thread is busy */
	for (int k = 0; k < 5; k++) {
		run_loop(h, &lp, (size_t)(0.6 * rate), 1024, &rs);
		lilv_instance_deactivate(h->inst);
		lilv_instance_activate(h->inst);
	}
	run_loop(h, &lp, (size_t)(2.0 * rate), 1024, &rs);
	CHECK((uint32_t)host_get(h, "latency") == L, "e: reactivate: latency %g, was %u",
	      (double)host_get(h, "latency"), L);
	CHECK(rs.nonfinite == 0 && sqrt(rs.sq / (double)rs.n) > 0.01,
	      "e: reactivate: %d non-finite, RMS %.4f", rs.nonfinite, sqrt(rs.sq / (double)rs.n));
	loop_free(&lp);
	host_free(h);
}

/* e: the dream thread lives from activate() to deactivate(): an instance a
 * host only instantiates (a plugin scan, lv2lint's forked run-time checks,
 * which wait for every thread of the child) owns none, and deactivate()
 * joins it. Threads counted in /proc/self/task. */
static int count_named(const char *name);
static int count_threads(void)
{
	return count_named(NULL);
}

/* how many of the process's threads are called `name` (their comm; NULL:
 * all of them) */
static int count_named(const char *name)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)getpid());
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (!name) {
			n++;
			continue;
		}
		char cpath[400], comm[32] = "";
		snprintf(cpath, sizeof cpath, "%s/%s/comm", path, e->d_name);
		FILE *f = fopen(cpath, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof comm, f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
		n += strcmp(comm, name) == 0;
	}
	closedir(d);
	return n;
}

/* the thread count once it settles at `want` (a joined thread may linger in
 * /proc a moment), or what it is after 2 s */
static int threads_settle(int want)
{
	int n = count_threads();
	for (int i = 0; i < 200 && n != want; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
		n = count_threads();
	}
	return n;
}

static void test_thread_lifetime(void)
{
	const double rate = 48000;
	int t0 = count_threads();
	if (t0 < 1) {
		printf("  e: thread lifetime skipped (no /proc/self/task)\n");
		return;
	}
	Host *h = host_new(URI_STEREO, rate, 4096, 0); /* instantiated and activated */
	CHECK(h != NULL, "e: threads: instantiate");
	if (!h)
		return;
	int t_active = threads_settle(t0 + 1);
	CHECK(t_active == t0 + 1, "e: threads: %d with the plugin active, %d before (one dream "
	                          "thread expected)", t_active, t0);
	/* named, so that top, perf and a debugger say whose thread it is */
	int named = 0;
	for (int i = 0; i < 200 && named != 1; i++) {
		named = count_named("oneiro dream");
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	CHECK(named == 1, "e: threads: %d thread(s) named 'oneiro dream', 1 expected", named);
	lilv_instance_deactivate(h->inst);
	int t_inactive = threads_settle(t0);
	CHECK(t_inactive == t0, "e: threads: %d after deactivate(), %d before", t_inactive, t0);
	/* a second instance, instantiated only (as a scan does), then freed */
	LilvInstance *scan = lilv_plugin_instantiate(h->plugin, rate, h->feat.features);
	CHECK(scan != NULL, "e: threads: instantiate without activate");
	int t_scan = count_threads();
	CHECK(t_scan == t0, "e: threads: instantiate() alone started %d thread(s)", t_scan - t0);
	if (scan)
		lilv_instance_free(scan);
	/* activated again: the thread is back and dreams (FFTs outside run()) */
	lilv_instance_activate(h->inst);
	Loop lp;
	loop_init(&lp, rate, 3.0);
	RunStats rs = {0};
	unsigned long fft_out0 = atomic_load(&rt_total[RT_FFT]) - atomic_load(&rt_in_run[RT_FFT]);
	run_loop(h, &lp, (size_t)(3.0 * rate), 256, &rs);
	unsigned long fft_out = 0;
	for (int i = 0; i < 200 && !TEST_ASAN && !fft_out; i++) {
		fft_out = atomic_load(&rt_total[RT_FFT]) - atomic_load(&rt_in_run[RT_FFT]) - fft_out0;
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	CHECK(threads_settle(t0 + 1) == t0 + 1, "e: threads: none again after activate()");
	CHECK(TEST_ASAN || fft_out > 0, "e: threads: after reactivation no window was dreamed "
	                                "outside run() (no dream thread at work)");
	CHECK(rs.nonfinite == 0, "e: threads: %d non-finite samples", rs.nonfinite);
	printf("  e: threads: %d before, %d active, %d inactive, %d instantiated only; after "
	       "reactivation the dream thread ran %lu FFTs%s\n",
	       t0, t_active, t_inactive, t_scan, fft_out,
	       TEST_ASAN ? " (not counted under a sanitizer)" : "");
	loop_free(&lp);
	host_free(h); /* deactivates again */
	CHECK(threads_settle(t0) == t0, "e: threads: %d left after freeing, %d before",
	      count_threads(), t0);
}

/* ================================================================ the inline display */
/* Runs `seconds` of a test signal (0: a 220 Hz tone, 1: white noise, 2:
 * clicks with noise bursts, 3: a 110 Hz sawtooth) through h. */
static void run_signal(Host *h, int kind, double seconds)
{
	static float ibuf[2][1024], obuf[2][1024];
	static uint32_t seed = 12345;
	size_t frames = (size_t)(seconds * h->rate);
	for (size_t done = 0; done < frames; done += 1024) {
		for (uint32_t i = 0; i < 1024; i++) {
			double t = (double)(h->frames + i) / h->rate;
			double noise = (double)(lcg(&seed) >> 8) / 8388608.0 - 1.0;
			double v;
			switch (kind) {
			case 0:
				v = 0.3 * sin(2 * M_PI * 220.0 * t);
				break;
			case 1:
				v = 0.3 * noise;
				break;
			case 2: {
				double ph = fmod(t, 0.25);
				v = 0.6 * noise * exp(-ph * 60.0);
				break;
			}
			default:
				v = 0.3 * (2.0 * fmod(t * 110.0, 1.0) - 1.0);
				break;
			}
			ibuf[0][i] = ibuf[1][i] = (float)v;
		}
		const float *ii[2] = {ibuf[0], ibuf[1]};
		float *oo[2] = {obuf[0], obuf[1]};
		host_run(h, ii, oo, 1024);
	}
}

/* A copy of a rendered surface (w x h pixels); NULL when render failed. */
static uint32_t *grab(const IdispInterface *di, Host *h, uint32_t w, uint32_t hh,
                      const IdispSurface **out)
{
	const IdispSurface *sf = di->render(lilv_instance_get_handle(h->inst), w, hh);
	if (out)
		*out = sf;
	if (!sf || !sf->data || sf->width <= 0 || sf->height <= 0 || sf->stride < 4 * sf->width)
		return NULL;
	uint32_t *c = malloc((size_t)sf->width * (size_t)sf->height * 4);
	for (int y = 0; y < sf->height; y++)
		memcpy(c + (size_t)y * (size_t)sf->width, sf->data + (size_t)y * (size_t)sf->stride,
		       (size_t)sf->width * 4);
	return c;
}

/* With ONEIRO_TEST_IDISP_DUMP=DIR, the pictures go to DIR/NAME.ppm to look at. */
static void dump_ppm(const char *name, const uint32_t *img, uint32_t w, uint32_t hh)
{
	const char *dir = getenv("ONEIRO_TEST_IDISP_DUMP");
	if (!dir || !*dir || !img)
		return;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s.ppm", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	fprintf(f, "P6\n%u %u\n255\n", w, hh);
	for (size_t i = 0; i < (size_t)w * hh; i++) {
		unsigned char rgb[3] = {(unsigned char)(img[i] >> 16), (unsigned char)(img[i] >> 8),
		                        (unsigned char)img[i]};
		fwrite(rgb, 1, 3, f);
	}
	fclose(f);
}

static size_t count_diff(const uint32_t *a, const uint32_t *b, size_t n)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		d += a[i] != b[i];
	return d;
}

static size_t count_colours(const uint32_t *a, size_t n, uint32_t *most)
{
	/* distinct values among the first few hundred seen; the most common */
	uint32_t vals[64], cnt[64];
	size_t nv = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < nv && vals[k] != a[i])
			k++;
		if (k == nv && nv < 64) {
			vals[nv] = a[i];
			cnt[nv++] = 0;
		}
		if (k < nv)
			cnt[k]++;
	}
	size_t best = 0;
	for (size_t k = 1; k < nv; k++)
		if (cnt[k] > cnt[best])
			best = k;
	if (most)
		*most = nv ? vals[best] : 0;
	return nv;
}

/* The target class's colour, as the plugin draws it (src/lv2/oneiro_lv2.c) */
#define IDISP_TARGET 0xffff9a2eu

static size_t count_value(const uint32_t *a, size_t n, uint32_t v)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += a[i] == v;
	return c;
}

/* Ardour's inline display: render() at a few sizes returns that size (up to
 * the largest served, 640 x 320: larger asks are clipped), draws something,
 * marks the target class in class mode, changes when the input changes
 * class, gives the same picture twice when nothing ran between; run() asks
 * for redraws (queue_draw). Windows run in freewheel, so what is heard does
 * not depend on the dream thread's timing; depth 0 keeps the dream level
 * flat, so a change in the picture is what the model hears. */
static void test_inline_display(void)
{
	const double rate = 48000;
	Host *h = host_new(URI_STEREO, rate, 4096, 0);
	CHECK(h != NULL, "idisp: instantiate");
	if (!h)
		return;
	const IdispInterface *di = lilv_instance_get_extension_data(h->inst, IDISP_INTERFACE);
	CHECK(di && di->render, "idisp: no %s from extension_data", IDISP_INTERFACE);
	if (!di || !di->render) {
		host_free(h);
		return;
	}
	/* before anything ran: the background and its grid lines only (no bars,
	 * no level trace: a trace here would say the dream is as loud as the dry) */
	const IdispSurface *sf;
	uint32_t *img0 = grab(di, h, 160, 80, &sf);
	CHECK(img0 && sf->width == 160 && sf->height == 80,
	      "idisp: render(160, 80) before run: %s %dx%d", img0 ? "a surface" : "nothing",
	      sf ? sf->width : 0, sf ? sf->height : 0);
	size_t colours0 = img0 ? count_colours(img0, 160 * 80, NULL) : 0;
	CHECK(img0 && colours0 <= 2,
	      "idisp: render before run draws %zu colours, not just the background and grid",
	      colours0);
	free(img0);

	host_set(h, "freewheel", 1.0f);
	host_set(h, "depth", 0.0f);
	host_set(h, "mode", 2.0f);
	host_set(h, "class", 4.0f);
	unsigned long draws0 = atomic_load(&h->draws);
	run_signal(h, 0, 3.0);
	int cls_a = (int)host_get(h, "heard_class");
	CHECK(atomic_load(&h->draws) > draws0, "idisp: run() never called queue_draw");

	static const uint32_t sizes[][2] = {{160, 80}, {64, 40}, {300, 150}, {24, 16},
	                                    {640, 320}, {2000, 1000}};
	uint32_t *a = NULL;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint32_t w = sizes[i][0], hh = sizes[i][1];
		uint32_t ew = w < 640 ? w : 640, eh = hh < 320 ? hh : 320;
		uint32_t *img = grab(di, h, w, hh, &sf);
		CHECK(img && sf->width == (int)ew && sf->height == (int)eh && sf->stride >= 4 * sf->width,
		      "idisp: render(%u, %u) gave %dx%d stride %d, expected %ux%u", w, hh,
		      sf ? sf->width : -1, sf ? sf->height : -1, sf ? sf->stride : -1, ew, eh);
		if (!img)
			continue;
		size_t n = (size_t)ew * eh;
		uint32_t bg;
		size_t colours = count_colours(img, n, &bg);
		size_t ink = n - count_value(img, n, bg);
		CHECK(colours >= 3 && ink >= n / 50,
		      "idisp: render(%u, %u): %zu colours, %zu pixels off the background", w, hh,
		      colours, ink);
		CHECK(count_value(img, n, IDISP_TARGET) > 0,
		      "idisp: render(%u, %u): class mode, but the target class is not marked", w, hh);
		int opaque = 1;
		for (size_t k = 0; k < n; k++)
			opaque &= (img[k] >> 24) == 0xff;
		CHECK(opaque, "idisp: render(%u, %u): not opaque", w, hh);
		char name[64];
		snprintf(name, sizeof name, "tone-%ux%u", ew, eh);
		dump_ppm(name, img, ew, eh);
		if (i == 0)
			a = img;
		else
			free(img);
	}
	/* nothing ran: the same picture */
	uint32_t *a2 = grab(di, h, 160, 80, NULL);
	CHECK(a && a2 && count_diff(a, a2, 160 * 80) == 0,
	      "idisp: two renders with nothing run between differ");
	free(a2);

	/* another signal, another class: another picture */
	int cls_b = cls_a, kind_b = -1;
	for (int kind = 1; kind <= 3 && cls_b == cls_a; kind++) {
		run_signal(h, kind, 3.0);
		cls_b = (int)host_get(h, "heard_class");
		kind_b = kind;
	}
	CHECK(cls_b != cls_a, "idisp: no test signal changed the heard class from %d", cls_a);
	uint32_t *b = grab(di, h, 160, 80, NULL);
	dump_ppm("other-class-160x80", b, 160, 80);
	size_t diff = a && b ? count_diff(a, b, 160 * 80) : 0;
	CHECK(a && b && diff > 0, "idisp: the heard class went %d -> %d but the picture stayed",
	      cls_a, cls_b);
	/* the bars area only (the dream level is flat at depth 0) */
	size_t diff_bars = a && b ? count_diff(a, b, 160 * 49) : 0;
	CHECK(diff_bars > 0, "idisp: the class bars did not change");
	printf("  idisp: heard class %d (tone) -> %d (signal %d): %zu of %d pixels changed "
	       "(%zu in the bars)\n",
	       cls_a, cls_b, kind_b, diff, 160 * 80, diff_bars);

	/* layers mode: no target marked */
	host_set(h, "mode", 0.0f);
	run_signal(h, kind_b, 0.3);
	uint32_t *c = grab(di, h, 160, 80, NULL);
	CHECK(c && count_value(c, 160 * 80, IDISP_TARGET) == 0,
	      "idisp: layers mode, yet a target class is marked");
	free(c);
	/* the dream on: the level trace rises from the floor */
	host_set(h, "depth", 1.0f);
	run_signal(h, kind_b, 4.0);
	uint32_t *d = grab(di, h, 160, 80, NULL);
	dump_ppm("dreaming-160x80", d, 160, 80);
	size_t diff_level = b && d ? count_diff(b + 160 * 52, d + 160 * 52, 160 * 28) : 0;
	CHECK(diff_level > 0, "idisp: the dream is on (level %.1f dB) but its trace is flat",
	      (double)host_get(h, "dream_level"));
	free(d);

	/* deactivated and activated again (a transport restart, a host's
	 * bypass): after the first run() the old picture is gone, no bars of
	 * what was heard before and no level trace */
	lilv_instance_deactivate(h->inst);
	lilv_instance_activate(h->inst);
	{
		static float zi[2][256], zo[2][256];
		const float *ii[2] = {zi[0], zi[1]};
		float *oo[2] = {zo[0], zo[1]};
		host_run(h, ii, oo, 256);
	}
	uint32_t *g = grab(di, h, 160, 80, NULL);
	size_t colours_g = g ? count_colours(g, 160 * 80, NULL) : 0;
	CHECK(g && colours_g <= 2,
	      "idisp: after deactivate/activate and a run, the old picture stays (%zu colours)",
	      colours_g);
	dump_ppm("reactivated-160x80", g, 160, 80);
	free(g);

	/* a binary model: interestingness over time */
	char interest[PATH_MAX];
	snprintf(interest, sizeof interest, "%s/models/interestingness.onm", repo_dir);
	unsigned r0 = h->path_reports;
	host_send_model(h, interest);
	Loop lp;
	loop_init(&lp, rate, 1.0);
	run_until_report(h, &lp, r0, 8, NULL);
	loop_free(&lp);
	CHECK(same_file(h->last_path, interest), "idisp: the binary model did not load ('%s')",
	      h->last_path);
	run_signal(h, 2, 4.0);
	uint32_t *e = grab(di, h, 160, 80, NULL);
	dump_ppm("binary-160x80", e, 160, 80);
	uint32_t bg = 0;
	if (e)
		count_colours(e, 160 * 80, &bg);
	CHECK(e && count_diff(e, b, 160 * 49) > 0 && 160 * 49 - count_value(e, 160 * 49, bg) > 100,
	      "idisp: the binary model's picture shows nothing");
	free(e);
	free(a);
	free(b);
	host_free(h);
}

/* ================================================================ f: state */
static const void *get_port_value(const char *sym, void *ud, uint32_t *size, uint32_t *type)
{
	Host *h = ud;
	int i = lv2host_port_index(&h->ports, sym);
	if (i < 0 || h->ports.kind[i] != PK_CTL_IN) {
		*size = 0;
		*type = 0;
		return NULL;
	}
	*size = sizeof(float);
	*type = U.atom_Float;
	return &h->ctl[i];
}

static void set_port_value(const char *sym, void *ud, const void *value, uint32_t size,
                           uint32_t type)
{
	Host *h = ud;
	int i = lv2host_port_index(&h->ports, sym);
	if (i < 0 || h->ports.kind[i] != PK_CTL_IN) {
		CHECK(0, "state: a value for port '%s', which is not a control input", sym);
		return;
	}
	if (type == U.atom_Float && size == sizeof(float))
		h->ctl[i] = *(const float *)value;
	else if (type == HU.atom_Int && size == sizeof(int32_t))
		h->ctl[i] = (float)*(const int32_t *)value;
	else
		CHECK(0, "state: port '%s' value of type %u size %u", sym, type, size);
}

static int same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	if (!realpath(a, ra) || !realpath(b, rb))
		return 0;
	return !strcmp(ra, rb);
}

static const struct {
	const char *sym;
	float v;
} state_ports[] = {{"depth", 0.8f},      {"mix", 0.7f},   {"iterations", 5.0f},
                   {"bound", -9.0f},     {"tilt", -1.5f}, {"band_lo", 80.0f},
                   {"band_hi", 5000.0f}, {"layer2", 0.5f}, {"layer3", 0.0f},
                   {"mode", 2.0f},       {"class", 3.0f}};
#define N_STATE_PORTS (sizeof state_ports / sizeof state_ports[0])

static void test_state(void)
{
	const double rate = 48000;
	Host *a = host_new(URI_STEREO, rate, 4096, 0);
	CHECK(a != NULL, "f: instantiate");
	if (!a)
		return;
	Loop lp;
	loop_init(&lp, rate, 1.0);
	for (size_t i = 0; i < N_STATE_PORTS; i++)
		host_set(a, state_ports[i].sym, state_ports[i].v);
	run_loop(a, &lp, 1024, 256, NULL);
	unsigned r0 = a->path_reports;
	host_send_model(a, model_b);
	CHECK(run_until_report(a, &lp, r0, 4, NULL) && !strcmp(a->last_path, model_b),
	      "f: the model did not become %s ('%s')", model_b, a->last_path);

	char scratch[PATH_MAX], copy[PATH_MAX], lnk[PATH_MAX], save[PATH_MAX], file[PATH_MAX];
	snprintf(scratch, sizeof scratch, "%s/state-scratch", tmp_dir);
	snprintf(copy, sizeof copy, "%s/state-copy", tmp_dir);
	snprintf(lnk, sizeof lnk, "%s/state.lv2", tmp_dir);
	snprintf(save, sizeof save, "%s/state.lv2", tmp_dir);
	snprintf(file, sizeof file, "%s/state.lv2/state.ttl", tmp_dir);
	mkdir(scratch, 0700);
	mkdir(copy, 0700);
	mkdir(save, 0700);
	LilvState *st = lilv_state_new_from_instance(
		a->plugin, a->inst, &lv2host_map, scratch, copy, lnk, save, get_port_value, a,
		LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, a->feat.features);
	CHECK(st != NULL, "f: lilv_state_new_from_instance");
	if (!st) {
		loop_free(&lp);
		host_free(a);
		return;
	}
	CHECK(lilv_state_get_num_properties(st) >= 1, "f: the state holds %u properties",
	      lilv_state_get_num_properties(st));
	int sv = lilv_state_save(world, &lv2host_map, &lv2host_unmap, st, NULL, save, "state.ttl");
	CHECK(sv == 0, "f: lilv_state_save into %s: %d", save, sv);
	LilvState *st2 = lilv_state_new_from_file(world, &lv2host_map, NULL, file);
	CHECK(st2 != NULL, "f: lilv_state_new_from_file %s", file);

	/* restored in a fresh instance, in memory and from the file */
	LilvState *which[2] = {st, st2};
	const char *wname[2] = {"in memory", "from file"};
	for (int w = 0; w < 2; w++) {
		if (!which[w])
			continue;
		Host *b = host_new(URI_STEREO, rate, 4096, 0);
		CHECK(b != NULL, "f: instantiate a second");
		if (!b)
			continue;
		lilv_state_restore(which[w], b->inst, set_port_value, b, 0, b->feat.features);
		run_loop(b, &lp, 2048, 256, NULL);
		CHECK(b->path_reports >= 1 && same_file(b->last_path, model_b),
		      "f (%s): restored instance reports '%s', not the file %s", wname[w], b->last_path,
		      model_b);
		for (size_t i = 0; i < N_STATE_PORTS; i++)
			CHECK(host_get(b, state_ports[i].sym) == state_ports[i].v,
			      "f (%s): port %s restored as %g, saved %g", wname[w], state_ports[i].sym,
			      (double)host_get(b, state_ports[i].sym), (double)state_ports[i].v);
		/* and it saves the same path again */
		LilvState *st3 = lilv_state_new_from_instance(b->plugin, b->inst, &lv2host_map, NULL, NULL,
		                                              NULL, NULL, get_port_value, b, 0, NULL);
		CHECK(st3 && lilv_state_get_num_properties(st3) >= 1, "f (%s): save again", wname[w]);
		if (st3)
			lilv_state_free(st3);
		host_free(b);
	}

	/* a saved model that is gone: the restored instance keeps its default */
	if (st2) {
		char moved[PATH_MAX];
		snprintf(moved, sizeof moved, "%s.moved", model_b);
		CHECK(rename(model_b, moved) == 0, "f: rename %s", model_b);
		Host *c = host_new(URI_STEREO, rate, 4096, 0);
		if (c) {
			log_quiet = 1;
			lilv_state_restore(st2, c->inst, set_port_value, c, 0, c->feat.features);
			log_quiet = 0;
			RunStats rs = {0};
			run_loop(c, &lp, (size_t)(2.0 * rate), 256, &rs);
			CHECK(c->path_reports >= 1 && !strcmp(c->last_path, model_default),
			      "f: restore of a missing model: reports '%s'", c->last_path);
			CHECK(rs.nonfinite == 0 && sqrt(rs.sq / (double)rs.n) > 0.01,
			      "f: restore of a missing model: output RMS %.4f",
			      sqrt(rs.sq / (double)rs.n));
			host_free(c);
		}
		CHECK(rename(moved, model_b) == 0, "f: rename back %s", model_b);
	}

	/* restore while a window change is in flight (state:threadSafeRestore:
	 * restore may come between any two runs, the worker in any order) */
	{
		Host *ref = host_new(URI_STEREO, rate, 4096, 0);
		Host *d = host_new(URI_STEREO, rate, 4096, 0);
		if (ref && d && st) {
			host_set(ref, "window", 2.0f);
			run_loop(ref, &lp, 2048, 256, NULL);
			run_loop(ref, &lp, 2048, 256, NULL);
			uint32_t L2 = (uint32_t)host_get(ref, "latency");
			uint32_t L0 = (uint32_t)host_get(d, "latency");
			run_loop(d, &lp, 1024, 256, NULL);
			L0 = (uint32_t)host_get(d, "latency");
			d->auto_drain = 0;
			host_set(d, "window", 2.0f);
			run_loop(d, &lp, 256, 256, NULL); /* asks the worker for a 0.5 s engine */
			lv2host_drain(&d->w);                    /* ... which is built and posted */
			/* restore: a new model for the window run() last installed */
			lilv_state_restore(st, d->inst, NULL, NULL, 0, d->feat.features);
			d->auto_drain = 1;
			run_loop(d, &lp, (size_t)(1.0 * rate), 256, NULL);
			uint32_t Ld = (uint32_t)host_get(d, "latency");
			CHECK(L2 != L0, "f: window 0.5 s latency %u vs model default %u", L2, L0);
			CHECK(Ld == L2,
			      "f: restore racing a window change: the window port says 0.5 s (latency "
			      "%u) but the plugin settled on latency %u (the restored rig was built for "
			      "the old window, and run() never asks again)",
			      L2, Ld);
			CHECK(same_file(d->last_path, model_b), "f: after the race the model is '%s'",
			      d->last_path);
		}
		host_free(ref);
		host_free(d);
	}

	lilv_state_free(st);
	if (st2)
		lilv_state_free(st2);
	loop_free(&lp);
	host_free(a);
}

/* f: restore() given the model path with the sizes hosts use. lilv and
 * Ardour count the terminating NUL, Carla gives strlen() without it; both
 * must bring the saved model back. Sizes that cannot be right (0, a NUL with
 * bytes after it, longer than any path, another type) are refused with a
 * message on the log, and the model playing stays. Each value ends where a
 * PROT_NONE page begins, so a read past `size` crashes the test. */
typedef struct {
	const void *value;
	size_t size;
	uint32_t type;
	uint32_t key; /* 0: U.model */
} SavedValue;

static const void *retrieve_saved(LV2_State_Handle sh, uint32_t key, size_t *size,
                                  uint32_t *type, uint32_t *flags)
{
	const SavedValue *v = sh;
	if (!v->value || key != (v->key ? v->key : U.model))
		return NULL;
	*size = v->size;
	*type = v->type;
	*flags = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
	return v->value;
}

/* n bytes placed to end exactly at a guard page; NULL if mmap fails */
static char *guarded(char *base, size_t page, const void *bytes, size_t n)
{
	if (n > page)
		return NULL;
	char *p = base + page - n;
	memcpy(p, bytes, n);
	return p;
}

/* restore() given one value under key (0: the model; value NULL: nothing
 * at all, as for a preset of port values) */
static LV2_State_Status restore_raw_key(Host *h, uint32_t key, const void *value, size_t size,
                                        uint32_t type)
{
	const LV2_State_Interface *si =
		lilv_instance_get_extension_data(h->inst, LV2_STATE__interface);
	SavedValue v = {value, size, type, key};
	if (!si || !si->restore) {
		CHECK(0, "f: no state interface");
		return LV2_STATE_ERR_UNKNOWN;
	}
	return si->restore(lilv_instance_get_handle(h->inst), retrieve_saved, &v, 0, h->feat.features);
}

static LV2_State_Status restore_raw(Host *h, const void *value, size_t size, uint32_t type)
{
	return restore_raw_key(h, 0, value, size, type);
}

static void test_restore_sizes(void)
{
	const double rate = 48000;
	char styles[PATH_MAX];
	snprintf(styles, sizeof styles, "%s/models/styles.onm", repo_dir);
	if (access(styles, R_OK)) {
		CHECK(0, "f: restore sizes: no %s", styles);
		return;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = 2 * page;
	while (span - page < MAX_PATH_LEN + 16)
		span += page;
	char *map_base = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(map_base != MAP_FAILED, "f: mmap");
	if (map_base == MAP_FAILED)
		return;
	page = span - page; /* the usable part; the last page is the guard */
	CHECK(mprotect(map_base + page, span - page, PROT_NONE) == 0, "f: mprotect");
	Loop lp;
	loop_init(&lp, rate, 1.0);
	size_t len = strlen(styles);
	uint32_t L_default = 0, L_styles = 0;
	Host *keep = NULL; /* the first instance, left playing styles.onm */
	for (int with_nul = 1; with_nul >= 0; with_nul--) {
		const char *how = with_nul ? "size counts the NUL (lilv, Ardour)"
		                           : "size without the NUL (Carla)";
		Host *h = host_new(URI_STEREO, rate, 4096, 0);
		CHECK(h != NULL, "f: restore sizes: instantiate");
		if (!h)
			break;
		run_loop(h, &lp, 1024, 256, NULL);
		L_default = (uint32_t)host_get(h, "latency");
		unsigned r0 = h->path_reports;
		const char *v = guarded(map_base, page, styles, len + (size_t)with_nul);
		LV2_State_Status st = restore_raw(h, v, len + (size_t)with_nul, U.atom_Path);
		CHECK(st == LV2_STATE_SUCCESS, "f: restore, %s: status %d", how, (int)st);
		int got = run_until_report(h, &lp, r0, 8, NULL);
		run_loop(h, &lp, 1024, 256, NULL);
		uint32_t L = (uint32_t)host_get(h, "latency");
		CHECK(got && same_file(h->last_path, styles),
		      "f: restore, %s: the plugin reports '%s', not %s", how, h->last_path, styles);
		CHECK(L != L_default, "f: restore, %s: latency %u, the default model's is %u too (not "
		                      "styles.onm)", how, L, L_default);
		printf("  f: restore, %s: %s, latency %u (default model %u)\n", how,
		       got && same_file(h->last_path, styles) ? "styles.onm" : h->last_path, L,
		       L_default);
		if (!L_styles)
			L_styles = L;
		CHECK(L == L_styles, "f: restore, %s: latency %u, the other way gave %u", how, L,
		      L_styles);
		if (keep)
			host_free(h);
		else
			keep = h;
	}
	/* hostile sizes: the model playing (styles.onm) stays */
	if (keep) {
		Host *h = keep;
		char junk[MAX_PATH_LEN + 8];
		memset(junk, 'a', sizeof junk);
		char with_tail[PATH_MAX + 8];
		memcpy(with_tail, styles, len + 1);
		memcpy(with_tail + len + 1, "XYZ", 3); /* "...styles.onm\0XYZ" */
		char no_nul[PATH_MAX + 8];
		memcpy(no_nul, styles, len);
		memcpy(no_nul + len, "XYZ", 3); /* "...styles.onmXYZ", never terminated */
		const struct {
			const char *what;
			const void *bytes;
			size_t size;
			uint32_t type;
		} bad[] = {
			{"size 0", styles, 0, U.atom_Path},
			{"a NUL and then 3 more bytes", with_tail, len + 4, U.atom_Path},
			{"not terminated, 3 bytes past the path", no_nul, len + 3, U.atom_Path},
			{"4100 bytes, no NUL", junk, MAX_PATH_LEN + 4, U.atom_Path},
			{"only a NUL", "", 1, U.atom_Path},
			{"an atom:Int", styles, len + 1, HU.atom_Int},
		};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			unsigned long e0 = atomic_load(&log_errors);
			unsigned r0 = h->path_reports;
			const char *v = bad[i].size ? guarded(map_base, page, bad[i].bytes, bad[i].size)
			                            : map_base + page;
			log_quiet = 1;
			restore_raw(h, v, bad[i].size, bad[i].type);
			log_quiet = 0;
			CHECK(atomic_load(&log_errors) > e0,
			      "f: restore with %s: nothing on the log", bad[i].what);
			run_loop(h, &lp, 4096, 256, NULL);
			CHECK(h->path_reports == r0 && same_file(h->last_path, styles) &&
			          (uint32_t)host_get(h, "latency") == L_styles,
			      "f: restore with %s: the model became '%s' (latency %g)", bad[i].what,
			      h->last_path, (double)host_get(h, "latency"));
		}
		host_free(h);
	}
	loop_free(&lp);
	munmap(map_base, span);
}

/* ================================================================ s: a second model */
/* Several listeners: a second model, set through patch:Set or state. Each
 * render is a fresh stereo instance in freewheel: the messages, the state
 * and the raw restore are applied while the input is still silent (so the
 * stream starts with the rig they made), then SEC_SECONDS of the test
 * signal and a tail go through. */
#define SEC_SECONDS 2.5
static size_t sec_total;   /* frames rendered (signal and tail) */
static float **sec_in;     /* (2, sec_total) the input */

typedef struct {
	const char *const *msgs;   /* patch:Set of the second model, in order ("": none) */
	int n_msgs;
	const LilvState *st;       /* restored first (with its port values) */
	float share;               /* the second_share port; < 0: as it is */
	int raw;                   /* then restore() given one value: */
	uint32_t raw_key;          /* 0: the model, else U.model2 */
	const char *raw_value;     /* NULL: nothing saved (a preset of port values) */
	size_t raw_size;
} SecRun;

/* The output (free_ch(out, 2)), or NULL; the host in *keep when given (the
 * caller frees it), else freed. */
static float **render_second(const SecRun *sr, Host **keep)
{
	Host *h = host_new(URI_STEREO, 48000, 4096, 0);
	CHECK(h != NULL, "s: instantiate");
	if (keep)
		*keep = h;
	if (!h)
		return NULL;
	if (sr->st)
		lilv_state_restore(sr->st, h->inst, set_port_value, h, 0, h->feat.features);
	host_set(h, "freewheel", 1.0f);
	if (sr->share >= 0.0f)
		host_set(h, "second_share", sr->share);
	float **z = alloc_ch(2, 256), **zo = alloc_ch(2, 256);
	uint32_t bs = 256;
	for (int k = 0; k <= sr->n_msgs + (sr->raw ? 1 : 0); k++) {
		if (k < sr->n_msgs)
			host_send_model2(h, sr->msgs[k]);
		else if (k == sr->n_msgs && sr->raw)
			restore_raw_key(h, sr->raw_key, sr->raw_value, sr->raw_size, U.atom_Path);
		for (int b = 0; b < 4; b++)
			host_process(h, z, zo, 0, 256, &bs, 1, NULL);
	}
	double zsum = 0.0;
	for (uint32_t c = 0; c < 2; c++)
		for (uint32_t i = 0; i < 256; i++)
			zsum += fabs(zo[c][i]);
	CHECK(zsum == 0.0, "s: output %g during the silence before the stream", zsum);
	free_ch(z, 2);
	free_ch(zo, 2);
	float **out = alloc_ch(2, sec_total);
	size_t pp = 0;
	host_process(h, sec_in, out, 0, sec_total, PAT_VARY, 5, &pp);
	size_t where = 0;
	CHECK(all_finite(out[0], sec_total, &where) && all_finite(out[1], sec_total, &where),
	      "s: non-finite output at %zu", where);
	if (!keep)
		host_free(h);
	return out;
}

/* how many samples of a and b (2, sec_total) differ in their bits; *db the
 * difference's level relative to the input's */
static size_t sec_differ(float **a, float **b, double *db)
{
	size_t n = 0;
	double d2 = 0.0, x2 = 0.0;
	for (uint32_t c = 0; c < 2; c++)
		for (size_t i = 0; i < sec_total; i++) {
			n += !same_bits(a[c][i], b[c][i]);
			double d = (double)a[c][i] - b[c][i];
			d2 += d * d;
			x2 += (double)sec_in[c][i] * sec_in[c][i];
		}
	if (db)
		*db = 10.0 * log10((d2 + 1e-30) / (x2 + 1e-30));
	return n;
}

static void test_second(void)
{
	const double rate = 48000;
	size_t n = (size_t)(SEC_SECONDS * rate);
	sec_total = n + (size_t)(2.0 * rate);
	sec_in = alloc_ch(2, sec_total);
	make_signal(sec_in[0], sec_in[1], n, rate, 777u);
	const char *lis[] = {model_listener};
	Host *h = NULL;
	double db = 0.0;

	/* the single model, as it always was */
	SecRun none = {NULL, 0, NULL, -1.0f, 0, 0, NULL, 0};
	float **ref = render_second(&none, &h);
	if (!ref) {
		host_free(h);
		free_ch(sec_in, 2);
		return;
	}
	CHECK(h->path2_reports >= 1 && h->last_path2[0] == '\0',
	      "s: without a second model the notify port reports '%s' (%u reports)", h->last_path2,
	      h->path2_reports);
	CHECK(host_get(h, "second_share") == 0.5f, "s: second_share defaults to %g",
	      (double)host_get(h, "second_share"));
	host_free(h);
	float **ref2 = render_second(&none, NULL);
	CHECK(sec_differ(ref, ref2, NULL) == 0, "s: two single-model renders differ");
	free_ch(ref2, 2);

	/* set by patch:Set: another sound, the same in two instances */
	SecRun set = {lis, 1, NULL, -1.0f, 0, 0, NULL, 0};
	float **a = render_second(&set, &h);
	CHECK(h && same_file(h->last_path2, model_listener),
	      "s: patch:Set of the second model: the notify port reports '%s', not %s",
	      h ? h->last_path2 : "", model_listener);
	host_free(h);
	size_t da = sec_differ(a, ref, &db);
	printf("  s: second model (listener.onm, share 0.5): %zu of %zu samples differ from the "
	       "single model's, by %.1f dB re the input\n", da, 2 * sec_total, db);
	CHECK(da > n, "s: the second model changed only %zu samples of the single-model output", da);
	CHECK(db > -80.0 && db < 0.0, "s: the second model's difference is %.1f dB re the input", db);
	float **b = render_second(&set, NULL);
	size_t dab = sec_differ(a, b, &db);
	CHECK(dab == 0, "s: two instances with the second model differ in %zu samples (%.1f dB)", dab,
	      db);
	free_ch(b, 2);

	/* share 0: the first model alone, bit for bit; share 1: another dream */
	SecRun s0 = set;
	s0.share = 0.0f;
	float **z = render_second(&s0, NULL);
	size_t dz = sec_differ(z, ref, &db);
	CHECK(dz == 0, "s: share 0 with a second model differs from the single model in %zu "
	               "samples (%.1f dB)", dz, db);
	free_ch(z, 2);
	SecRun s1 = set;
	s1.share = 1.0f;
	float **one = render_second(&s1, NULL);
	CHECK(sec_differ(one, a, NULL) > n && sec_differ(one, ref, NULL) > n,
	      "s: share 1 sounds like share 0.5 or like the single model");
	free_ch(one, 2);

	/* bad second models: logged, nothing reported, the sound as it was;
	 * then a good one works */
	const char *bad[] = {model_missing, model_bad, model_trunc, model_r22};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *msgs[2] = {bad[i], model_listener};
		for (int then_good = 0; then_good < 2; then_good++) {
			SecRun br = {msgs, 1 + then_good, NULL, -1.0f, 0, 0, NULL, 0};
			unsigned long e0 = atomic_load(&log_errors);
			log_quiet = 1;
			float **o = render_second(&br, &h);
			log_quiet = 0;
			if (!o) {
				host_free(h);
				continue;
			}
			CHECK(atomic_load(&log_errors) > e0, "s: second model %s: nothing logged", bad[i]);
			size_t d = sec_differ(o, then_good ? a : ref, &db);
			CHECK(d == 0, "s: second model %s%s: %zu samples differ from %s (%.1f dB)", bad[i],
			      then_good ? " then listener.onm" : "", d,
			      then_good ? "listener.onm's" : "the single model's", db);
			CHECK(then_good ? same_file(h->last_path2, model_listener) : !h->last_path2[0],
			      "s: second model %s%s: the notify port reports '%s'", bad[i],
			      then_good ? " then listener.onm" : "", h->last_path2);
			free_ch(o, 2);
			host_free(h);
		}
	}
	/* a bad one after a good one: the good one plays on; an empty path
	 * removes it */
	{
		const char *gb[2] = {model_listener, model_r22};
		SecRun r = {gb, 2, NULL, -1.0f, 0, 0, NULL, 0};
		log_quiet = 1;
		float **o = render_second(&r, NULL);
		log_quiet = 0;
		CHECK(o && sec_differ(o, a, NULL) == 0,
		      "s: a refused second model after listener.onm: not listener.onm's sound");
		free_ch(o, 2);
		const char *ge[2] = {model_listener, ""};
		SecRun e = {ge, 2, NULL, -1.0f, 0, 0, NULL, 0};
		o = render_second(&e, &h);
		CHECK(o && sec_differ(o, ref, NULL) == 0,
		      "s: the second model removed (an empty path): not the single model's sound");
		CHECK(h && h->path2_reports >= 2 && !h->last_path2[0],
		      "s: the second model removed: the notify port reports '%s'", h ? h->last_path2 : "");
		free_ch(o, 2);
		host_free(h);
	}

	/* state: saved with the second model and share 0.7, restored into
	 * fresh instances (in memory and from a file) */
	{
		SecRun r7 = set;
		r7.share = 0.7f;
		float **p7 = render_second(&r7, &h);
		char scratch[PATH_MAX], save[PATH_MAX], file[PATH_MAX];
		snprintf(scratch, sizeof scratch, "%s/second-scratch", tmp_dir);
		snprintf(save, sizeof save, "%s/second.lv2", tmp_dir);
		snprintf(file, sizeof file, "%s/second.lv2/state.ttl", tmp_dir);
		mkdir(scratch, 0700);
		mkdir(save, 0700);
		LilvState *st = h ? lilv_state_new_from_instance(
			h->plugin, h->inst, &lv2host_map, scratch, scratch, save, save, get_port_value, h,
			LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, h->feat.features) : NULL;
		CHECK(st && lilv_state_get_num_properties(st) == 2,
		      "s: the state of an instance with a second model holds %u properties, not 2",
		      st ? lilv_state_get_num_properties(st) : 0);
		host_free(h);
		LilvState *st2 = NULL;
		if (st) {
			int sv = lilv_state_save(world, &lv2host_map, &lv2host_unmap, st, NULL, save,
			                         "state.ttl");
			CHECK(sv == 0, "s: lilv_state_save into %s: %d", save, sv);
			st2 = lilv_state_new_from_file(world, &lv2host_map, NULL, file);
			CHECK(st2 != NULL, "s: lilv_state_new_from_file %s", file);
		}
		LilvState *which[2] = {st, st2};
		const char *wname[2] = {"in memory", "from file"};
		for (int w = 0; w < 2 && p7; w++) {
			if (!which[w])
				continue;
			SecRun rs = {NULL, 0, which[w], -1.0f, 0, 0, NULL, 0};
			float **o = render_second(&rs, &h);
			if (!o) {
				host_free(h);
				continue;
			}
			CHECK(same_file(h->last_path2, model_listener),
			      "s: state %s: the second model came back as '%s'", wname[w], h->last_path2);
			CHECK(host_get(h, "second_share") == 0.7f, "s: state %s: second_share %g",
			      wname[w], (double)host_get(h, "second_share"));
			size_t d = sec_differ(o, p7, &db);
			CHECK(d == 0, "s: state %s: %zu samples differ from the saved instance's (%.1f dB)",
			      wname[w], d, db);
			if (!d)
				printf("  s: state %s: the second model and its share came back, same bits\n",
				       wname[w]);
			/* and it saves it again */
			LilvState *again = lilv_state_new_from_instance(
				h->plugin, h->inst, &lv2host_map, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL);
			CHECK(again && lilv_state_get_num_properties(again) == 2,
			      "s: state %s: saved again with %u properties", wname[w],
			      again ? lilv_state_get_num_properties(again) : 0);
			if (again)
				lilv_state_free(again);
			free_ch(o, 2);
			host_free(h);
		}
		free_ch(p7, 2);
		if (st)
			lilv_state_free(st);
		if (st2)
			lilv_state_free(st2);
	}

	/* restore() with the sizes hosts give (with and without the NUL) */
	size_t len = strlen(model_listener);
	for (int with_nul = 1; with_nul >= 0; with_nul--) {
		SecRun r = {NULL, 0, NULL, -1.0f, 1, U.model2, model_listener, len + (size_t)with_nul};
		float **o = render_second(&r, &h);
		CHECK(o && sec_differ(o, a, NULL) == 0 && h && same_file(h->last_path2, model_listener),
		      "s: restore of the second model, size %s the NUL: not listener.onm ('%s')",
		      with_nul ? "with" : "without", h ? h->last_path2 : "");
		free_ch(o, 2);
		host_free(h);
	}
	/* a state with the model and no second model (saved without one, or
	 * before there was one) has none; one without either (a preset) keeps
	 * it; an unusable saved value keeps it */
	{
		SecRun r = {lis, 1, NULL, -1.0f, 1, 0, model_default, strlen(model_default) + 1};
		float **o = render_second(&r, &h);
		CHECK(o && sec_differ(o, ref, NULL) == 0 && h && !h->last_path2[0],
		      "s: a state without a second model left '%s' playing", h ? h->last_path2 : "");
		free_ch(o, 2);
		host_free(h);
		SecRun pr = {lis, 1, NULL, -1.0f, 1, 0, NULL, 0};
		o = render_second(&pr, &h);
		CHECK(o && sec_differ(o, a, NULL) == 0 && h && same_file(h->last_path2, model_listener),
		      "s: a preset (no saved paths) changed the second model to '%s'",
		      h ? h->last_path2 : "");
		free_ch(o, 2);
		host_free(h);
		SecRun ur = {lis, 1, NULL, -1.0f, 1, U.model2, "", 1};
		unsigned long e0 = atomic_load(&log_errors);
		log_quiet = 1;
		o = render_second(&ur, &h);
		log_quiet = 0;
		CHECK(atomic_load(&log_errors) > e0, "s: an empty saved second model path: not logged");
		CHECK(o && sec_differ(o, a, NULL) == 0 && h && same_file(h->last_path2, model_listener),
		      "s: an unusable saved second model path changed it to '%s'",
		      h ? h->last_path2 : "");
		free_ch(o, 2);
		host_free(h);
	}

	/* live: the first model changes and the second stays (checked against
	 * each new first model: a 22050 Hz one refuses it, so does one whose
	 * window is shorter than the second needs; logged, and it is back with
	 * the next), crossfaded, finite, the latency kept */
	h = host_new(URI_STEREO, rate, 4096, 0);
	if (h) {
		Loop lp;
		loop_init(&lp, rate, 3.0);
		RunStats rs = {0};
		run_loop(h, &lp, 4096, 256, &rs);
		uint32_t L0 = (uint32_t)host_get(h, "latency");
		unsigned r0 = h->path_reports;
		host_send_model2(h, model_listener);
		CHECK(run_until_report(h, &lp, r0, 4, &rs) && same_file(h->last_path2, model_listener),
		      "s: live: the second model reported as '%s'", h->last_path2);
		run_loop(h, &lp, (size_t)(0.3 * rate), 256, &rs);
		const struct {
			const char *first;
			int second_kept;
		} steps[] = {{model_b, 1}, {model_r22, 0}, {model_default, 1}, {model_short, 0},
		             {model_b, 1}};
		for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
			unsigned long e0 = atomic_load(&log_errors);
			r0 = h->path_reports;
			log_quiet = !steps[i].second_kept;
			host_send_model(h, steps[i].first);
			int got = run_until_report(h, &lp, r0, 4, &rs);
			log_quiet = 0;
			CHECK(got && !strcmp(h->last_path, steps[i].first),
			      "s: live: the model did not become %s ('%s')", steps[i].first, h->last_path);
			CHECK(steps[i].second_kept ? same_file(h->last_path2, model_listener)
			                           : !h->last_path2[0] && atomic_load(&log_errors) > e0,
			      "s: live: with the model %s the second model is '%s' (%s expected)",
			      steps[i].first, h->last_path2,
			      steps[i].second_kept ? "listener.onm" : "none, and a message");
			run_loop(h, &lp, (size_t)(0.3 * rate), 256, &rs); /* past the crossfade */
		}
		/* the order of choosing does not matter: a second model the current
		 * first model refuses (another rate) is kept, and heard as soon as a
		 * first model takes it */
		log_quiet = 1;
		host_send_model2(h, model_r22);
		run_loop(h, &lp, (size_t)(0.3 * rate), 256, &rs);
		log_quiet = 0;
		r0 = h->path_reports;
		host_send_model(h, model_r22);
		int got = run_until_report(h, &lp, r0, 4, &rs);
		CHECK(got && same_file(h->last_path, model_r22) && same_file(h->last_path2, model_r22),
		      "s: order: the second model chosen before the first that takes it is lost "
		      "(model '%s', second '%s')", h->last_path, h->last_path2);
		run_loop(h, &lp, (size_t)(0.3 * rate), 256, &rs); /* past the crossfade */
		/* back to a 16 kHz first model, which refuses the 22050 Hz second */
		r0 = h->path_reports;
		log_quiet = 1;
		host_send_model(h, model_b);
		got = run_until_report(h, &lp, r0, 4, &rs);
		log_quiet = 0;
		CHECK(got && !strcmp(h->last_path, model_b) && !h->last_path2[0],
		      "s: order: back to %s, the model is '%s' and the second '%s'", model_b,
		      h->last_path, h->last_path2);
		run_loop(h, &lp, (size_t)(0.3 * rate), 256, &rs);
		/* past the latency of the last change of it (the 22050 Hz model) */
		RunStats end = {0};
		run_loop(h, &lp, (size_t)(2.0 * rate), 512, &end);
		CHECK((uint32_t)host_get(h, "latency") == L0, "s: live: latency %g, was %u",
		      (double)host_get(h, "latency"), L0);
		CHECK(rs.nonfinite == 0 && end.nonfinite == 0, "s: live: %d non-finite output samples",
		      rs.nonfinite + end.nonfinite);
		CHECK(end.n && sqrt(end.sq / (double)end.n) > 0.01, "s: live: output RMS %.4f at the end",
		      end.n ? sqrt(end.sq / (double)end.n) : 0.0);
		loop_free(&lp);
		host_free(h);
	}
	free_ch(a, 2);
	free_ch(ref, 2);
	free_ch(sec_in, 2);
	sec_in = NULL;
}

/* ================================================================ g: NaN / Inf */
static void test_nonfinite(int freewheel)
{
	const double rate = 48000;
	Host *h = host_new(URI_STEREO, rate, 4096, 0);
	CHECK(h != NULL, "g: instantiate");
	if (!h)
		return;
	host_set(h, "freewheel", (float)freewheel);
	size_t n = (size_t)(3.0 * rate), total = n + (size_t)(2.0 * rate);
	float **in = alloc_ch(2, total), **out = alloc_ch(2, total);
	make_signal(in[0], in[1], n, rate, 555u);
	uint32_t s = 7;
	for (int k = 0; k < 200; k++) {
		size_t i = lcg(&s) % n;
		float v = k % 3 == 0 ? NAN : k % 3 == 1 ? INFINITY : -INFINITY;
		in[k % 2][i] = v;
	}
	/* a whole stretch of NaN on one channel, Inf on the other */
	for (size_t i = n / 3; i < n / 3 + 5000; i++) {
		in[0][i] = NAN;
		in[1][i] = INFINITY;
	}
	in[0][n - 1] = FLT_MAX;
	in[1][n - 2] = -FLT_MAX;
	/* non-finite controls fall back to their defaults */
	host_set(h, "mix", INFINITY);
	size_t pp = 0;
	host_process(h, in, out, 0, total / 2, PAT_VARY, 5, &pp);
	host_set(h, "mix", 1.0f);
	host_set(h, "depth", NAN);
	host_process(h, in, out, total / 2, total - total / 2, PAT_VARY, 5, &pp);
	size_t where = 0;
	int ok = all_finite(out[0], total, &where) && all_finite(out[1], total, &where);
	CHECK(ok, "g (freewheel %d): non-finite output at frame %zu", freewheel, where);
	uint32_t L = (uint32_t)host_get(h, "latency");
	double tail = rms(out[0] + L + n - (size_t)rate, (size_t)(rate * 0.9));
	CHECK(tail > 0.01, "g (freewheel %d): the output after the NaNs is silent (RMS %.4f)",
	      freewheel, tail);
	free_ch(in, 2);
	free_ch(out, 2);
	host_free(h);
}

/* ================================================================ h: blocks, rates */
static void test_blocks_rates(void)
{
	static const uint32_t P_EDGE[] = {1, 4096, 1, 1, 4095, 2, 4096, 4096, 3};
	/* 22050 and 192000: depth 0 identity with extreme blocks */
	check_identity(URI_STEREO, 22050, P_EDGE, 9, 0, 2.0, "h: depth 0, 22050 Hz, blocks 1/4096");
	check_identity(URI_STEREO, 192000, P_EDGE, 9, 0, 2.0,
	               "h: depth 0, 192000 Hz, blocks 1/4096");
	/* the dream at those rates with extreme blocks: runs, finite */
	static const double rates[] = {22050, 192000};
	for (int r = 0; r < 2; r++) {
		Host *h = host_new(URI_STEREO, rates[r], 4096, 0);
		CHECK(h != NULL, "h: instantiate at %g Hz", rates[r]);
		if (!h)
			continue;
		host_set(h, "freewheel", 1.0f);
		size_t n = (size_t)(2.5 * rates[r]);
		float **in = alloc_ch(2, n), **out = alloc_ch(2, n);
		make_signal(in[0], in[1], n, rates[r], 99u);
		size_t pp = 0;
		host_process(h, in, out, 0, n, P_EDGE, 9, &pp);
		size_t where = 0;
		uint32_t L = (uint32_t)host_get(h, "latency");
		CHECK(all_finite(out[0], n, &where) && all_finite(out[1], n, &where),
		      "h: %g Hz dream: non-finite at %zu", rates[r], where);
		double tail = rms(out[0] + L, n - L);
		CHECK(L < n && tail > 0.01, "h: %g Hz dream: latency %u, output RMS after it %.4f",
		      rates[r], L, tail);
		note_latency(rates[r], L, URI_STEREO);
		free_ch(in, 2);
		free_ch(out, 2);
		host_free(h);
	}
	/* a host whose blocks reach 8192, with swaps (the crossfade's scratch) */
	{
		Host *h = host_new(URI_STEREO, 48000, 8192, 0);
		CHECK(h != NULL, "h: instantiate with maxBlockLength 8192");
		if (h) {
			Loop lp;
			loop_init(&lp, 48000, 2.0);
			RunStats rs = {0};
			run_loop(h, &lp, 8192 * 4, 8192, &rs);
			for (int k = 0; k < 4; k++) {
				host_send_model(h, k % 2 ? model_default : model_b);
				run_loop(h, &lp, 8192 * 3, 8192, &rs);
				run_loop(h, &lp, 8192 * 2 + 1, 1, &rs);
			}
			CHECK(rs.nonfinite == 0 && sqrt(rs.sq / (double)rs.n) > 0.01,
			      "h: blocks of 8192 with swaps: %d non-finite, RMS %.4f", rs.nonfinite,
			      sqrt(rs.sq / (double)rs.n));
			CHECK(!strcmp(h->last_path, model_default), "h: blocks of 8192: last swap '%s'",
			      h->last_path);
			loop_free(&lp);
			host_free(h);
		}
	}
	/* without the options feature: blocks up to 4096 still work */
	{
		Host *h = host_new(URI_STEREO, 44100, -1, 0);
		CHECK(h != NULL, "h: instantiate without options");
		if (h) {
			Loop lp;
			loop_init(&lp, 44100, 1.0);
			RunStats rs = {0};
			run_loop(h, &lp, 44100, 4096, &rs);
			host_send_model(h, model_b);
			run_loop(h, &lp, 44100, 4096, &rs);
			CHECK(rs.nonfinite == 0, "h: without options: non-finite output");
			loop_free(&lp);
			host_free(h);
		}
	}
	/* unsupported rates and a host without the worker: refused, no crash */
	log_quiet = 1;
	unsigned long e0 = atomic_load(&log_errors);
	Host *h = host_new(URI_STEREO, 4000, 4096, 0);
	CHECK(h == NULL, "h: instantiated at 4000 Hz (below the engine's 8000)");
	host_free(h);
	h = host_new(URI_STEREO, 384000, 4096, 0);
	CHECK(h == NULL, "h: instantiated at 384000 Hz (above the engine's 192000)");
	host_free(h);
	h = host_new_ex(URI_STEREO, 48000, 4096, 0, 1);
	CHECK(h == NULL, "h: instantiated without work:schedule (a required feature)");
	host_free(h);
	log_quiet = 0;
	CHECK(atomic_load(&log_errors) >= e0 + 3, "h: refusals logged %lu errors",
	      atomic_load(&log_errors) - e0);
}

/* ================================================================ i: mono */
static void test_mono(void)
{
	check_identity(URI_MONO, 48000, PAT_VARY, 5, 0, 2.5, "i: mono depth 0, 48000 Hz");
	Host *h = host_new(URI_MONO, 48000, 4096, 0);
	CHECK(h != NULL, "i: instantiate mono");
	if (!h)
		return;
	CHECK(h->channels == 1 && h->ports.n_ports == 37, "i: mono has %u channels, %u ports",
	      h->channels, h->ports.n_ports);
	host_set(h, "freewheel", 1.0f);
	/* the stereo-only setting must not matter */
	host_set(h, "stereo", 1.0f);
	size_t n = (size_t)(3.0 * 48000);
	float **in = alloc_ch(1, n), **out = alloc_ch(1, n);
	make_signal(in[0], NULL, n, 48000, 1u);
	size_t pp = 0;
	host_process(h, in, out, 0, n, PAT_VARY, 5, &pp);
	uint32_t L = (uint32_t)host_get(h, "latency");
	size_t where = 0, differ = 0;
	CHECK(all_finite(out[0], n, &where), "i: mono non-finite at %zu", where);
	for (size_t i = L; i < n; i++)
		differ += out[0][i] != in[0][i - L];
	CHECK(differ > (n - L) / 2, "i: the mono dream changed %zu of %zu samples", differ, n - L);
	free_ch(in, 1);
	free_ch(out, 1);
	host_free(h);
}

/* ================================================================ ports, presets */
static void test_ports(void)
{
	const char *uris[2] = {URI_STEREO, URI_MONO};
	for (int u = 0; u < 2; u++) {
		const LilvPlugin *p = find_plugin(uris[u]);
		CHECK(p != NULL, "ports: %s not found", uris[u]);
		if (!p)
			continue;
		uint32_t np = lilv_plugin_get_num_ports(p);
		CHECK(np == (u ? 37u : 39u), "ports: %s has %u ports", uris[u], np);
		float mn[MAX_PORTS], mx[MAX_PORTS], df[MAX_PORTS];
		if (np > MAX_PORTS)
			continue;
		lilv_plugin_get_port_ranges_float(p, mn, mx, df);
		LilvNode *n_in = lilv_new_uri(world, LV2_CORE__InputPort);
		LilvNode *n_ctl = lilv_new_uri(world, LV2_CORE__ControlPort);
		for (uint32_t i = 0; i < np; i++) {
			const LilvPort *port = lilv_plugin_get_port_by_index(p, i);
			const char *sym = lilv_node_as_string(lilv_port_get_symbol(p, port));
			if (!lilv_port_is_a(p, port, n_ctl))
				continue;
			if (lilv_port_is_a(p, port, n_in)) {
				CHECK(!isnan(df[i]) && !isnan(mn[i]) && !isnan(mx[i]),
				      "ports: %s %s: default %g min %g max %g", uris[u], sym, (double)df[i],
				      (double)mn[i], (double)mx[i]);
				CHECK(mn[i] <= df[i] && df[i] <= mx[i],
				      "ports: %s %s: default %g outside [%g, %g]", uris[u], sym, (double)df[i],
				      (double)mn[i], (double)mx[i]);
			} else {
				CHECK(!isnan(mn[i]) && !isnan(mx[i]) && mn[i] < mx[i],
				      "ports: %s output %s: range [%g, %g]", uris[u], sym, (double)mn[i],
				      (double)mx[i]);
			}
		}
		CHECK(lilv_plugin_has_latency(p), "ports: %s reports no latency port", uris[u]);
		lilv_node_free(n_in);
		lilv_node_free(n_ctl);
	}
}

typedef struct {
	Host *h;
	int bad;
	int n;
	int jitter_set; /* the preset sets jitter and copies (so that choosing it
	                   after a jittered one turns the jitter off) */
} PresetCtx;

static void preset_value(const char *sym, void *ud, const void *value, uint32_t size,
                         uint32_t type)
{
	PresetCtx *pc = ud;
	Host *h = pc->h;
	int i = lv2host_port_index(&h->ports, sym);
	pc->n++;
	pc->jitter_set += !strcmp(sym, "jitter") + !strcmp(sym, "copies");
	if (i < 0 || h->ports.kind[i] != PK_CTL_IN) {
		CHECK(0, "presets: a value for '%s', not a control input", sym);
		pc->bad++;
		return;
	}
	float v = type == U.atom_Float && size == 4 ? *(const float *)value
	          : type == HU.atom_Int && size == 4 ? (float)*(const int32_t *)value
	                                            : NAN;
	CHECK(v >= h->ports.min[i] && v <= h->ports.max[i], "presets: %s = %g outside [%g, %g]", sym,
	      (double)v, (double)h->ports.min[i], (double)h->ports.max[i]);
	h->ctl[i] = v;
}

static void test_presets(void)
{
	const LilvPlugin *p = find_plugin(URI_STEREO);
	if (!p)
		return;
	LilvNode *pset = lilv_new_uri(world, LV2_PRESETS__Preset);
	LilvNodes *presets = lilv_plugin_get_related(p, pset);
	int count = 0;
	LILV_FOREACH (nodes, i, presets) {
		const LilvNode *pn = lilv_nodes_get(presets, i);
		lilv_world_load_resource(world, pn);
		LilvState *st = lilv_state_new_from_world(world, &lv2host_map, pn);
		CHECK(st != NULL, "presets: cannot load %s", lilv_node_as_string(pn));
		if (!st)
			continue;
		count++;
		Host *h = host_new(URI_STEREO, 48000, 4096, 0);
		if (h) {
			PresetCtx pc = {h, 0, 0, 0};
			lilv_state_restore(st, h->inst, preset_value, &pc, 0, h->feat.features);
			CHECK(pc.n >= 5, "presets: %s sets %d ports", lilv_node_as_string(pn), pc.n);
			CHECK(pc.jitter_set == 2, "presets: %s does not set both jitter and copies",
			      lilv_node_as_string(pn));
			host_set(h, "freewheel", 1.0f);
			Loop lp;
			loop_init(&lp, 48000, 2.0);
			RunStats rs = {0};
			run_loop(h, &lp, (size_t)(2.5 * 48000), 512, &rs);
			CHECK(rs.nonfinite == 0 && sqrt(rs.sq / (double)rs.n) > 0.005,
			      "presets: %s: %d non-finite, RMS %.4f", lilv_node_as_string(pn), rs.nonfinite,
			      sqrt(rs.sq / (double)rs.n));
			loop_free(&lp);
			host_free(h);
		}
		lilv_state_free(st);
	}
	CHECK(count == 6, "presets: %d presets of %s (6 expected)", count, URI_STEREO);
	lilv_nodes_free(presets);
	lilv_node_free(pset);
}

/* ================================================================ main */
/* the closing line, flushed now: LeakSanitizer ends the process at exit
 * without flushing stdio when it finds a leak */
static int test_done(void)
{
	int rc = check_done("test_lv2");
	fflush(stdout);
	return rc;
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define TIMED(call)                                                         \
	do {                                                                    \
		double t0_ = now_s();                                               \
		call;                                                               \
		printf("  %-34s %6.1f s\n", #call, now_s() - t0_);                  \
		fflush(stdout);                                                     \
	} while (0)

/* Issue 13: an export must not depend on how long the host pre-rolls
 * silence before the range (Ardour: its export pre-roll setting and the
 * session's latency pre-roll), nor on what ran before it. One instance runs
 * live for a while, then "exports" the same signal three times in
 * freewheel, each after a different length of silence, with live cycles
 * between: the outputs from the signal's start (plus the latency) on must
 * have the same bits. Before the fix the window grid started where
 * freewheel began, so each pre-roll gave another dream. */
static void test_preroll(void)
{
	const double rate = 48000;
	Host *h = host_new(URI_STEREO, rate, 4096, 0);
	CHECK(h != NULL, "p: instantiate");
	if (!h)
		return;
	uint32_t C = h->channels;
	host_set(h, "depth", 0.7f);
	host_set(h, "layer1", 1.0f);
	size_t n = (size_t)(2.0 * rate), tail = (size_t)(2.0 * rate);
	static const size_t pre[3] = {73851, 97157, 24000 + 1};
	float **sig = alloc_ch(C, n);
	make_signal(sig[0], sig[1], n, rate, 4242u);
	float **z = alloc_ch(C, 1024), **zo = alloc_ch(C, 1024);
	float **first = NULL;
	uint32_t L = 0;
	size_t pp = 0;
	for (int k = 0; k < 3; k++) {
		/* live: some cycles of the idle host (silence), then the export */
		host_set(h, "freewheel", 0.0f);
		for (int b = 0; b < 7 + 3 * k; b++) {
			uint32_t bs = 1024;
			host_process(h, z, zo, 0, 1024, &bs, 1, NULL);
		}
		host_set(h, "freewheel", 1.0f);
		size_t total = pre[k] + n + tail;
		float **in = alloc_ch(C, total), **out = alloc_ch(C, total);
		for (uint32_t c = 0; c < C; c++)
			memcpy(in[c] + pre[k], sig[c], n * sizeof(float));
		host_process(h, in, out, 0, total, PAT_VARY, 5, &pp);
		L = (uint32_t)host_get(h, "latency");
		CHECK(L <= tail, "p: latency %u too long for the test", L);
		float **o = alloc_ch(C, n);
		for (uint32_t c = 0; c < C; c++)
			memcpy(o[c], out[c] + pre[k] + L, n * sizeof(float));
		if (!first) {
			double dd = 0.0;
			for (uint32_t c = 0; c < C; c++)
				for (size_t i = 0; i < n; i++)
					dd += fabs((double)o[c][i] - sig[c][i]);
			CHECK(dd > 0.0, "p: the export did not dream");
			first = o;
		} else {
			size_t bad = 0, fb = 0;
			double maxd = 0.0;
			for (uint32_t c = 0; c < C; c++)
				for (size_t i = 0; i < n; i++)
					if (!same_bits(o[c][i], first[c][i])) {
						if (!bad)
							fb = i;
						bad++;
						double d = fabs((double)o[c][i] - first[c][i]);
						maxd = d > maxd ? d : maxd;
					}
			CHECK(bad == 0,
			      "p: export %d after %zu samples of silence differs from the one after %zu: "
			      "%zu samples, first at frame %zu, max |diff| %.3g",
			      k + 1, pre[k], pre[0], bad, fb, maxd);
			if (!bad)
				printf("  p: exports after %zu and %zu samples of silence (live cycles before "
				       "each): same bits\n", pre[0], pre[k]);
			free_ch(o, C);
		}
		free_ch(in, C);
		free_ch(out, C);
	}
	free_ch(first, C);
	free_ch(sig, C);
	free_ch(z, C);
	free_ch(zo, C);
	host_free(h);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!getcwd(repo_dir, sizeof repo_dir))
		return 2;
	const char *lp = getenv("ONEIRO_TEST_LV2_PATH");
	snprintf(lv2_dir, sizeof lv2_dir, "%s", lp && *lp ? lp : "");
	if (!*lv2_dir)
		snprintf(lv2_dir, sizeof lv2_dir, "%s/build/lv2", repo_dir);
	const char *ob = getenv("ONEIRO_BIN");
	snprintf(oneiro_bin, sizeof oneiro_bin, "%s", ob && *ob ? ob : "");
	if (!*oneiro_bin)
		snprintf(oneiro_bin, sizeof oneiro_bin, "%s/build/oneiro", repo_dir);
	if (lv2host_use_bundle(lv2_dir, "test_lv2")) {
		CHECK(0, "bundle present");
		return test_done();
	}
	snprintf(tmp_dir, sizeof tmp_dir, "%s/oneiro-test-lv2-XXXXXX",
	         getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 2;
	}
	world = lilv_world_new();
	lilv_world_load_all(world);
	plugins = lilv_world_get_all_plugins(world);

	lv2host_init();
	U.atom_Object = lv2host_urid(LV2_ATOM__Object);
	U.atom_URID = lv2host_urid(LV2_ATOM__URID);
	U.atom_Path = lv2host_urid(LV2_ATOM__Path);
	U.atom_Float = lv2host_urid(LV2_ATOM__Float);
	U.patch_Set = lv2host_urid(LV2_PATCH__Set);
	U.patch_Get = lv2host_urid(LV2_PATCH__Get);
	U.patch_property = lv2host_urid(LV2_PATCH__property);
	U.patch_value = lv2host_urid(LV2_PATCH__value);
	U.model = lv2host_urid(URI_MODEL);
	U.model2 = lv2host_urid(URI_MODEL2);

	const LilvPlugin *ps = find_plugin(URI_STEREO);
	CHECK(ps != NULL, "%s in %s", URI_STEREO, lv2_dir);
	CHECK(find_plugin(URI_MONO) != NULL, "%s in %s", URI_MONO, lv2_dir);
	if (ps) {
		const char *bundle = lilv_node_as_uri(lilv_plugin_get_bundle_uri(ps));
		printf("  bundle: %s\n", bundle);
	}
	if (ps)
		CHECK(make_models() == 0, "making the test models in %s", tmp_dir);
	if (!ps || check_fail) {
		lilv_world_free(world);
		rm_rf(tmp_dir);
		return test_done();
	}

	TIMED(test_ports());
	TIMED(test_identity());
	TIMED(test_render());
	TIMED(test_dreams());
	TIMED(test_realtime(0));
	TIMED(test_realtime(1));
	TIMED(test_swaps(0));
	TIMED(test_swaps(1));
	TIMED(test_teardown_pending());
	TIMED(test_reactivate());
	TIMED(test_thread_lifetime());
	TIMED(test_state());
	TIMED(test_restore_sizes());
	TIMED(test_second());
	TIMED(test_preroll());
	TIMED(test_nonfinite(1));
	TIMED(test_nonfinite(0));
	TIMED(test_blocks_rates());
	TIMED(test_mono());
	TIMED(test_presets());
	TIMED(test_inline_display());

	printf("  latency (stereo, model default window):");
	for (int i = 0; i < n_lat_seen; i++)
		printf(" %g Hz %u (%.3f s)%s", lat_seen[i].rate, lat_seen[i].latency,
		       lat_seen[i].latency / lat_seen[i].rate, i + 1 < n_lat_seen ? "," : "\n");

	lilv_world_free(world);
	lv2host_map_free();
	rm_rf(tmp_dir);
	return test_done();
}
