/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_plugin.c -- `make bench`: the LV2 plugin's DSP load at its defaults
 * (urn:oneiro:dream, 48 kHz stereo, the bundled default model, every
 * control port at its lilv default), playing live (freewheel off: windows
 * dreamed on the plugin's own thread), with Ardour's inline display drawn
 * against the display off.
 *
 * The host is a small lilv host after tests/test_lv2.c: the built bundle
 * (found at $PWD/build/lv2, or $ONEIRO_TEST_LV2_PATH, or --lv2-path) loaded
 * by URI; urid:map/unmap, work:schedule (a worker thread), log:log, options
 * (block length 256) with bufsz:boundedBlockLength, and the inline display's
 * queue_draw. The input is a generated stereo piece (plucked strings in
 * strummed chords and arpeggios, a bass, a hi-hat of noise bursts, a little
 * noise floor; a fixed seed), fed in blocks of 256 frames.
 *
 * Two configurations, run interleaved off/on/off/on/... (--rounds, default
 * 5; each run on a new instance) so that what else the machine does hits
 * both:
 *   off  nobody calls render();
 *   on   a GUI thread calls the extension's render() at 120 x 60 (a mixer
 *        strip) at most 30 times a second of audio: when run() has asked
 *        for a redraw (queue_draw) and at least 1600 frames have run since
 *        the last render, the audio loop wakes it (a semaphore; an atomic
 *        flag says it is idle, so requests never queue up); it times each
 *        call on its own thread.
 * What is measured is the CPU time of the whole process (getrusage,
 * RUSAGE_SELF: the audio loop's run() calls, the plugin's dream thread, the
 * GUI thread, the worker) over the seconds of audio processed; the figures
 * are medians over the rounds, the on/off ratio the median of each round's
 * pair.
 *
 * Pacing. Live, run() hands each window to the dream thread and passes it dry
 * (counted on the "late" port) when it is not done in time; fed as fast as
 * the audio loop can go, the dream thread falls behind and most windows are
 * dropped, so the CPU per audio second would count the windows skipped, not
 * the plugin's load. So the loop is paced at a multiple of real time
 * (--speed X; 0 = unpaced), by default chosen from a first run in freewheel
 * (an export: every window dreamed inside run(), as fast as it goes, the
 * same audio; reported too) so that the dream thread is busy about a
 * quarter of the wall time (at most 16x real time). The late windows of the
 * measured runs are reported and should be 0. Pacing sleeps once per block,
 * as a host's audio thread waits for its next period: the wake-ups cost a
 * little CPU, the same in both configurations, and the live figures move a
 * little with the speed, so compare them at one --speed.
 *
 * Output: one line per figure, "bench: NAME VALUE UNIT"; notes start "note:".
 * Exit status 1 when the bundle, the plugin or the host's features fail.
 * Link: lilv-0, -lm, -lpthread. Run from the repository root after `make all`.
 */
#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define URI_STEREO "urn:oneiro:dream"
#define RATE 48000.0
#define BLOCK 256u
#define DRAW_FRAMES 1600u /* 30 Hz at 48 kHz */
#define GUI_W 120u
#define GUI_H 60u
#define MAX_ROUNDS 32
#define PI 3.14159265358979323846

/* Ardour's inline display, as the plugin declares it (not in lv2-dev) */
#define IDISP_INTERFACE "http://harrisonconsoles.com/lv2/inlinedisplay#interface"
#define IDISP_QUEUE_DRAW "http://harrisonconsoles.com/lv2/inlinedisplay#queue_draw"
typedef struct {
	unsigned char *data;
	int width, height, stride;
} IdispSurface;
typedef struct {
	IdispSurface *(*render)(LV2_Handle instance, uint32_t w, uint32_t max_h);
} IdispInterface;
typedef struct {
	void *handle;
	void (*queue_draw)(void *handle);
} IdispQueueDraw;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* user + system time of every thread of the process */
static double process_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
	       (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];
	memcpy(s, v, (size_t)n * sizeof *s);
	qsort(s, (size_t)n, sizeof *s, cmp_double);
	return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* ================================================================ URIDs, log */
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static char **map_uris;
static uint32_t map_n, map_cap;

static LV2_URID urid_map(LV2_URID_Map_Handle h, const char *uri)
{
	(void)h;
	pthread_mutex_lock(&map_lock);
	for (uint32_t i = 0; i < map_n; i++)
		if (!strcmp(map_uris[i], uri)) {
			pthread_mutex_unlock(&map_lock);
			return i + 1;
		}
	if (map_n == map_cap) {
		uint32_t cap = map_cap ? map_cap * 2 : 64;
		char **nu = realloc(map_uris, cap * sizeof *nu);
		if (!nu) {
			pthread_mutex_unlock(&map_lock);
			return 0;
		}
		map_uris = nu;
		map_cap = cap;
	}
	size_t len = strlen(uri);
	char *s = malloc(len + 1);
	if (!s) {
		pthread_mutex_unlock(&map_lock);
		return 0;
	}
	memcpy(s, uri, len + 1);
	map_uris[map_n++] = s;
	LV2_URID id = map_n;
	pthread_mutex_unlock(&map_lock);
	return id;
}

static const char *urid_unmap(LV2_URID_Unmap_Handle h, LV2_URID id)
{
	(void)h;
	pthread_mutex_lock(&map_lock);
	const char *s = id >= 1 && id <= map_n ? map_uris[id - 1] : NULL;
	pthread_mutex_unlock(&map_lock);
	return s;
}

static void map_free(void)
{
	for (uint32_t i = 0; i < map_n; i++)
		free(map_uris[i]);
	free(map_uris);
	map_uris = NULL;
	map_n = map_cap = 0;
}

static LV2_URID_Map map = {NULL, urid_map};
static LV2_URID_Unmap unmap = {NULL, urid_unmap};

static struct {
	LV2_URID atom_Sequence, atom_Chunk, atom_Int, bufsz_max, bufsz_nominal, log_Error,
		log_Warning, log_Trace;
} U;

static _Atomic unsigned long log_errors, log_warnings;

static int host_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt, va_list ap)
{
	(void)h;
	if (type == U.log_Trace)
		return 0;
	if (type == U.log_Error)
		atomic_fetch_add(&log_errors, 1);
	else if (type == U.log_Warning)
		atomic_fetch_add(&log_warnings, 1);
	fprintf(stderr, "bench_plugin: [plugin] ");
	return vfprintf(stderr, fmt, ap);
}

static int host_printf(LV2_Log_Handle h, LV2_URID type, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = host_vprintf(h, type, fmt, ap);
	va_end(ap);
	return r;
}

static LV2_Log_Log host_log = {NULL, host_printf, host_vprintf};

/* ================================================================ the plugin's ports */
#define MAX_PORTS 64
#define ATOM_CAP 16384

enum { PK_NONE, PK_AUDIO_IN, PK_AUDIO_OUT, PK_CTL_IN, PK_CTL_OUT, PK_ATOM_IN, PK_ATOM_OUT };

/* What lilv says of the plugin, once */
typedef struct {
	const LilvPlugin *plugin;
	uint32_t n_ports;
	int kind[MAX_PORTS];
	float def[MAX_PORTS];
	int audio_in[2], audio_out[2];
	int p_freewheel, p_late;
} PluginInfo;

static int plugin_info(LilvWorld *world, const LilvPlugin *p, PluginInfo *pi)
{
	memset(pi, 0, sizeof *pi);
	pi->plugin = p;
	pi->n_ports = lilv_plugin_get_num_ports(p);
	if (pi->n_ports > MAX_PORTS) {
		fprintf(stderr, "bench_plugin: %u ports, more than the %d this host serves\n",
		        pi->n_ports, MAX_PORTS);
		return -1;
	}
	float mn[MAX_PORTS], mx[MAX_PORTS];
	lilv_plugin_get_port_ranges_float(p, mn, mx, pi->def);
	LilvNode *n_in = lilv_new_uri(world, LV2_CORE__InputPort);
	LilvNode *n_audio = lilv_new_uri(world, LV2_CORE__AudioPort);
	LilvNode *n_ctl = lilv_new_uri(world, LV2_CORE__ControlPort);
	LilvNode *n_atom = lilv_new_uri(world, LV2_ATOM__AtomPort);
	pi->audio_in[0] = pi->audio_in[1] = pi->audio_out[0] = pi->audio_out[1] = -1;
	pi->p_freewheel = pi->p_late = -1;
	int unknown = -1;
	for (uint32_t i = 0; i < pi->n_ports; i++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(p, i);
		const char *sym = lilv_node_as_string(lilv_port_get_symbol(p, port));
		int in = lilv_port_is_a(p, port, n_in);
		if (lilv_port_is_a(p, port, n_audio)) {
			pi->kind[i] = in ? PK_AUDIO_IN : PK_AUDIO_OUT;
			int *slot = in ? pi->audio_in : pi->audio_out;
			if (slot[0] < 0)
				slot[0] = (int)i;
			else if (slot[1] < 0)
				slot[1] = (int)i;
		} else if (lilv_port_is_a(p, port, n_ctl)) {
			pi->kind[i] = in ? PK_CTL_IN : PK_CTL_OUT;
			if (!strcmp(sym, "freewheel"))
				pi->p_freewheel = (int)i;
			else if (!strcmp(sym, "late"))
				pi->p_late = (int)i;
		} else if (lilv_port_is_a(p, port, n_atom)) {
			pi->kind[i] = in ? PK_ATOM_IN : PK_ATOM_OUT;
		} else if (unknown < 0) {
			unknown = (int)i; /* CV, events, ...: nothing to connect it to */
		}
	}
	lilv_node_free(n_in);
	lilv_node_free(n_audio);
	lilv_node_free(n_ctl);
	lilv_node_free(n_atom);
	if (pi->audio_in[1] < 0 || pi->audio_out[1] < 0) {
		fprintf(stderr, "bench_plugin: %s is not stereo (audio ports in %d/%d, out %d/%d)\n",
		        URI_STEREO, pi->audio_in[0], pi->audio_in[1], pi->audio_out[0],
		        pi->audio_out[1]);
		return -1;
	}
	if (unknown >= 0) {
		fprintf(stderr, "bench_plugin: port %d is of a kind this host does not know\n", unknown);
		return -1;
	}
	return 0;
}

/* ================================================================ the host */
#define SLOT 8192
#define NSLOT 16

/* single producer, single consumer queue of worker messages */
typedef struct {
	_Atomic uint32_t rd, wr;
	uint32_t len[NSLOT];
	uint8_t data[NSLOT][SLOT];
} Ring;

static int ring_push(Ring *r, uint32_t size, const void *data)
{
	uint32_t wr = atomic_load_explicit(&r->wr, memory_order_relaxed);
	uint32_t rd = atomic_load_explicit(&r->rd, memory_order_acquire);
	if (wr - rd >= NSLOT || size > SLOT)
		return -1;
	memcpy(r->data[wr % NSLOT], data, size);
	r->len[wr % NSLOT] = size;
	atomic_store_explicit(&r->wr, wr + 1, memory_order_release);
	return 0;
}

static const uint8_t *ring_front(Ring *r, uint32_t *size)
{
	uint32_t rd = atomic_load_explicit(&r->rd, memory_order_relaxed);
	uint32_t wr = atomic_load_explicit(&r->wr, memory_order_acquire);
	if (rd == wr)
		return NULL;
	*size = r->len[rd % NSLOT];
	return r->data[rd % NSLOT];
}

static void ring_pop(Ring *r)
{
	atomic_fetch_add_explicit(&r->rd, 1, memory_order_release);
}

typedef struct {
	const PluginInfo *pi;
	LilvInstance *inst;
	const LV2_Worker_Interface *wi;
	const IdispInterface *di;
	float ctl[MAX_PORTS];
	LV2_Atom_Sequence *control, *notify; /* ATOM_CAP bytes each */
	Ring *req, *resp;
	pthread_t wthread;
	sem_t wsem;
	int wthread_ok;
	_Atomic int wquit;
	_Atomic unsigned long sched_fail;
	int32_t max_block, nominal;
	LV2_Options_Option opts[3];
	LV2_Worker_Schedule sched;
	IdispQueueDraw idisp;
	LV2_Feature f_map, f_unmap, f_sched, f_log, f_opts, f_bounded, f_idisp;
	const LV2_Feature *features[8];
	_Atomic unsigned long draw_requests; /* queue_draw calls */
	_Atomic int draw_pending;            /* one since the last render was started */
} Host;

/* audio thread (inside run) */
static LV2_Worker_Status host_schedule(LV2_Worker_Schedule_Handle hh, uint32_t size,
                                       const void *data)
{
	Host *h = hh;
	if (ring_push(h->req, size, data)) {
		atomic_fetch_add(&h->sched_fail, 1);
		return LV2_WORKER_ERR_NO_SPACE;
	}
	sem_post(&h->wsem);
	return LV2_WORKER_SUCCESS;
}

/* worker thread */
static LV2_Worker_Status host_respond(LV2_Worker_Respond_Handle hh, uint32_t size,
                                      const void *data)
{
	Host *h = hh;
	return ring_push(h->resp, size, data) ? LV2_WORKER_ERR_NO_SPACE : LV2_WORKER_SUCCESS;
}

static void host_work(Host *h)
{
	uint32_t size;
	const uint8_t *d;
	while ((d = ring_front(h->req, &size))) {
		if (h->wi && h->wi->work)
			h->wi->work(lilv_instance_get_handle(h->inst), host_respond, h, size, d);
		ring_pop(h->req);
	}
}

/* audio thread, before run: the worker's responses back to the plugin */
static void host_deliver(Host *h)
{
	uint32_t size;
	const uint8_t *d;
	while ((d = ring_front(h->resp, &size))) {
		if (h->wi && h->wi->work_response)
			h->wi->work_response(lilv_instance_get_handle(h->inst), size, d);
		ring_pop(h->resp);
	}
}

static void *worker_main(void *arg)
{
	Host *h = arg;
	for (;;) {
		sem_wait(&h->wsem);
		if (atomic_load(&h->wquit))
			break;
		host_work(h);
	}
	return NULL;
}

/* audio thread (inside run): as Ardour's, it only notes the request */
static void host_queue_draw(void *hh)
{
	Host *h = hh;
	atomic_fetch_add_explicit(&h->draw_requests, 1, memory_order_relaxed);
	atomic_store_explicit(&h->draw_pending, 1, memory_order_release);
}

static void reset_control(Host *h)
{
	h->control->atom.type = U.atom_Sequence;
	h->control->atom.size = sizeof(LV2_Atom_Sequence_Body);
	h->control->body.unit = 0;
	h->control->body.pad = 0;
}

static void host_free(Host *h)
{
	if (!h)
		return;
	if (h->inst)
		lilv_instance_deactivate(h->inst);
	if (h->wthread_ok) {
		atomic_store(&h->wquit, 1);
		sem_post(&h->wsem);
		pthread_join(h->wthread, NULL);
	}
	sem_destroy(&h->wsem);
	if (h->inst) {
		host_work(h); /* anything left (a retired rig to free) */
		host_deliver(h);
		lilv_instance_free(h->inst);
	}
	free(h->req);
	free(h->resp);
	free(h->control);
	free(h->notify);
	free(h);
}

/* A new, activated instance at 48 kHz with every control at its default and
 * freewheel as given; NULL (said on stderr) when it fails. */
static Host *host_new(const PluginInfo *pi, int freewheel)
{
	Host *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->pi = pi;
	h->req = calloc(1, sizeof *h->req);
	h->resp = calloc(1, sizeof *h->resp);
	h->control = calloc(1, ATOM_CAP);
	h->notify = calloc(1, ATOM_CAP);
	if (sem_init(&h->wsem, 0, 0)) {
		fprintf(stderr, "bench_plugin: sem_init: %s\n", strerror(errno));
		free(h->req);
		free(h->resp);
		free(h->control);
		free(h->notify);
		free(h);
		return NULL;
	}
	if (!h->req || !h->resp || !h->control || !h->notify) {
		fprintf(stderr, "bench_plugin: out of memory\n");
		host_free(h);
		return NULL;
	}
	for (uint32_t i = 0; i < pi->n_ports; i++)
		h->ctl[i] = pi->kind[i] == PK_CTL_IN && !isnan(pi->def[i]) ? pi->def[i] : 0.0f;
	if (pi->p_freewheel >= 0)
		h->ctl[pi->p_freewheel] = freewheel ? 1.0f : 0.0f;

	h->max_block = BLOCK;
	h->nominal = BLOCK;
	h->opts[0] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, U.bufsz_max, sizeof(int32_t),
	                                  U.atom_Int, &h->max_block};
	h->opts[1] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, U.bufsz_nominal,
	                                  sizeof(int32_t), U.atom_Int, &h->nominal};
	h->opts[2] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL};
	h->sched.handle = h;
	h->sched.schedule_work = host_schedule;
	h->idisp.handle = h;
	h->idisp.queue_draw = host_queue_draw;
	h->f_map = (LV2_Feature){LV2_URID__map, &map};
	h->f_unmap = (LV2_Feature){LV2_URID__unmap, &unmap};
	h->f_sched = (LV2_Feature){LV2_WORKER__schedule, &h->sched};
	h->f_log = (LV2_Feature){LV2_LOG__log, &host_log};
	h->f_opts = (LV2_Feature){LV2_OPTIONS__options, h->opts};
	h->f_bounded = (LV2_Feature){LV2_BUF_SIZE__boundedBlockLength, NULL};
	h->f_idisp = (LV2_Feature){IDISP_QUEUE_DRAW, &h->idisp};
	const LV2_Feature *f[] = {&h->f_map,  &h->f_unmap,   &h->f_sched, &h->f_log,
	                          &h->f_opts, &h->f_bounded, &h->f_idisp, NULL};
	memcpy(h->features, f, sizeof f);

	if (pthread_create(&h->wthread, NULL, worker_main, h)) {
		fprintf(stderr, "bench_plugin: cannot start the worker thread\n");
		host_free(h);
		return NULL;
	}
	h->wthread_ok = 1;
	h->inst = lilv_plugin_instantiate(pi->plugin, RATE, h->features);
	if (!h->inst) {
		fprintf(stderr, "bench_plugin: %s did not instantiate at %g Hz with urid:map, "
		                "work:schedule, log, options, boundedBlockLength and queue_draw\n",
		        URI_STEREO, RATE);
		host_free(h);
		return NULL;
	}
	h->wi = lilv_instance_get_extension_data(h->inst, LV2_WORKER__interface);
	h->di = lilv_instance_get_extension_data(h->inst, IDISP_INTERFACE);
	if (!h->wi || !h->wi->work) {
		fprintf(stderr, "bench_plugin: %s gives no %s\n", URI_STEREO, LV2_WORKER__interface);
		host_free(h);
		return NULL;
	}
	if (!h->di || !h->di->render) {
		fprintf(stderr, "bench_plugin: %s gives no %s\n", URI_STEREO, IDISP_INTERFACE);
		host_free(h);
		return NULL;
	}
	reset_control(h);
	for (uint32_t i = 0; i < pi->n_ports; i++) {
		if (pi->kind[i] == PK_CTL_IN || pi->kind[i] == PK_CTL_OUT)
			lilv_instance_connect_port(h->inst, i, &h->ctl[i]);
		else if (pi->kind[i] == PK_ATOM_IN)
			lilv_instance_connect_port(h->inst, i, h->control);
		else if (pi->kind[i] == PK_ATOM_OUT)
			lilv_instance_connect_port(h->inst, i, h->notify);
	}
	lilv_instance_activate(h->inst);
	return h;
}

/* one run() of BLOCK frames at in[c] + off into out[c] */
static void host_run(Host *h, float *const *in, float *const *out, size_t off)
{
	for (uint32_t c = 0; c < 2; c++) {
		lilv_instance_connect_port(h->inst, (uint32_t)h->pi->audio_in[c], in[c] + off);
		lilv_instance_connect_port(h->inst, (uint32_t)h->pi->audio_out[c], out[c]);
	}
	host_deliver(h);
	h->notify->atom.type = U.atom_Chunk;
	h->notify->atom.size = ATOM_CAP - sizeof(LV2_Atom);
	lilv_instance_run(h->inst, BLOCK);
	if (h->wi->end_run)
		h->wi->end_run(lilv_instance_get_handle(h->inst));
	reset_control(h);
}

/* ================================================================ the GUI thread */
typedef struct {
	Host *h;
	sem_t go;
	int go_ok;
	_Atomic int busy; /* a render asked for and not done yet */
	_Atomic int quit;
	unsigned long calls, bad;
	double wall_s, wall_max_s; /* inside render() */
	double cpu_s;              /* the whole thread's, waking up included */
} Gui;

static void *gui_main(void *arg)
{
	Gui *g = arg;
	LV2_Handle handle = lilv_instance_get_handle(g->h->inst);
	for (;;) {
		sem_wait(&g->go);
		if (atomic_load(&g->quit))
			break;
		double t0 = now_s();
		const IdispSurface *sf = g->h->di->render(handle, GUI_W, GUI_H);
		double dt = now_s() - t0;
		g->calls++;
		g->wall_s += dt;
		if (dt > g->wall_max_s)
			g->wall_max_s = dt;
		if (!sf || !sf->data || sf->width != (int)GUI_W || sf->height <= 0 ||
		    sf->height > (int)GUI_H || sf->stride < 4 * sf->width)
			g->bad++;
		atomic_store_explicit(&g->busy, 0, memory_order_release);
	}
	g->cpu_s = thread_cpu_s();
	return NULL;
}

/* ================================================================ the music */
#define N_VOICES 12
#define KS_MAX 2048 /* longest string: 48000 / 2048 = 23 Hz */

typedef struct {
	float buf[KS_MAX];
	uint32_t len, pos;
	float decay, gl, gr;
	int on;
} String;

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

static double urand(uint32_t *s) /* [0, 1) */
{
	return (double)(lcg(s) >> 8) / 16777216.0;
}

static void pluck(String *v, double freq, double amp, double pan, double decay, uint32_t *seed)
{
	uint32_t len = (uint32_t)lround(RATE / freq);
	if (len < 2)
		len = 2;
	if (len > KS_MAX)
		len = KS_MAX;
	v->len = len;
	v->pos = 0;
	/* a noise burst, smoothed once: a softer pick */
	float prev = 0.0f;
	for (uint32_t i = 0; i < len; i++) {
		float x = (float)(amp * (2.0 * urand(seed) - 1.0));
		v->buf[i] = 0.5f * (x + prev);
		prev = x;
	}
	v->decay = (float)decay;
	v->gl = (float)cos(pan * PI / 2.0);
	v->gr = (float)sin(pan * PI / 2.0);
	v->on = 1;
}

/* A stereo piece: a four-chord progression (2 s each) strummed on its
 * first beat, arpeggio plucks every eighth at 120 bpm, a bass on each beat,
 * a hi-hat of noise bursts on the off-beats, a faint noise floor;
 * peak -6 dBFS. */
static void make_music(float *l, float *r, size_t n, uint32_t seed)
{
	static const double chords[4][4] = {
		{130.81, 164.81, 196.00, 261.63}, /* C */
		{110.00, 130.81, 164.81, 220.00}, /* Am */
		{87.31, 110.00, 130.81, 174.61},  /* F */
		{98.00, 123.47, 146.83, 196.00},  /* G */
	};
	String *v = calloc(N_VOICES, sizeof *v);
	if (!v) {
		memset(l, 0, n * sizeof *l);
		memset(r, 0, n * sizeof *r);
		return;
	}
	uint32_t s = seed, next_voice = 0;
	const size_t eighth = (size_t)(RATE * 0.25), bar = 8 * eighth;
	double hat = 0.0, hat_lp = 0.0, floor_lp = 0.0;
	size_t strum_at[4] = {0};
	int strum_left = 0;
	for (size_t i = 0; i < n; i++) {
		size_t in_bar = i % bar;
		const double *ch = chords[(i / bar) % 4];
		if (in_bar == 0) { /* a strum: the four notes 25 ms apart, an octave up */
			for (int k = 0; k < 4; k++)
				strum_at[k] = i + (size_t)(k * 0.025 * RATE);
			strum_left = 4;
		}
		for (int k = 0; k < 4 && strum_left; k++)
			if (strum_at[k] == i) {
				pluck(&v[next_voice++ % N_VOICES], 2.0 * ch[k], 0.35, 0.2 + 0.2 * k, 0.9985,
				      &s);
				strum_left--;
			}
		if (i % eighth == 0 && in_bar != 0) { /* an arpeggio note, now and then two */
			int k = (int)(urand(&s) * 4.0);
			pluck(&v[next_voice++ % N_VOICES], 4.0 * ch[k], 0.25, urand(&s), 0.997, &s);
			if (urand(&s) < 0.2)
				pluck(&v[next_voice++ % N_VOICES], 3.0 * ch[(k + 2) % 4], 0.15, urand(&s),
				      0.997, &s);
		}
		if (i % (2 * eighth) == 0) /* the bass */
			pluck(&v[next_voice++ % N_VOICES], ch[(i / (2 * eighth)) % 2 ? 2 : 0] / 2.0, 0.5,
			      0.5, 0.9995, &s);
		if (i % (2 * eighth) == eighth)
			hat = 0.2;
		double noise = 2.0 * urand(&s) - 1.0;
		hat_lp = 0.6 * hat_lp + 0.4 * noise;
		floor_lp = 0.95 * floor_lp + 0.05 * noise;
		double h = hat * (noise - hat_lp); /* high-passed noise */
		hat *= 0.9992;
		double L = 0.003 * floor_lp + 0.6 * h, R = 0.003 * floor_lp + 0.4 * h;
		for (int k = 0; k < N_VOICES; k++) {
			String *q = &v[k];
			if (!q->on)
				continue;
			uint32_t p1 = q->pos + 1 == q->len ? 0 : q->pos + 1;
			float y = q->buf[q->pos];
			q->buf[q->pos] = q->decay * 0.5f * (y + q->buf[p1]);
			q->pos = p1;
			L += q->gl * y;
			R += q->gr * y;
		}
		l[i] = (float)L;
		r[i] = (float)R;
	}
	float pk = 0.0f;
	for (size_t i = 0; i < n; i++) {
		pk = fabsf(l[i]) > pk ? fabsf(l[i]) : pk;
		pk = fabsf(r[i]) > pk ? fabsf(r[i]) : pk;
	}
	float g = pk > 0.0f ? 0.5f / pk : 1.0f;
	for (size_t i = 0; i < n; i++) {
		l[i] *= g;
		r[i] *= g;
	}
	free(v);
}

/* ================================================================ one run */
typedef struct {
	double cpu, wall;         /* seconds over the run loop */
	double audio_cpu;         /* of which the audio loop's thread (run()) */
	double late;              /* the late port after it */
	unsigned long draw_requests, renders, bad;
	double render_wall, render_max; /* seconds in render() */
	double gui_cpu;                 /* the GUI thread's CPU seconds */
	int nonfinite;
} Run;

/* Runs frames [0, n) of in through a new instance (n a multiple of BLOCK),
 * paced at `speed` times real time (0: unpaced); with display, a GUI
 * thread renders as Ardour's mixer strip would. */
static int run_once(const PluginInfo *pi, float *const *in, size_t n, int freewheel, int display,
                    double speed, Run *res)
{
	memset(res, 0, sizeof *res);
	Host *h = host_new(pi, freewheel);
	if (!h)
		return -1;
	static float obuf[2][BLOCK];
	float *out[2] = {obuf[0], obuf[1]};
	Gui g;
	memset(&g, 0, sizeof g);
	g.h = h;
	if (display) {
		if (sem_init(&g.go, 0, 0)) {
			fprintf(stderr, "bench_plugin: sem_init: %s\n", strerror(errno));
			host_free(h);
			return -1;
		}
		g.go_ok = 1;
	}
	pthread_t gt;
	int gui_ok = 0;
	if (display) {
		if (pthread_create(&gt, NULL, gui_main, &g)) {
			fprintf(stderr, "bench_plugin: cannot start the GUI thread\n");
			sem_destroy(&g.go);
			host_free(h);
			return -1;
		}
		gui_ok = 1;
	}
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	double c0 = process_cpu_s(), w0 = now_s(), a0 = thread_cpu_s();
	size_t next_draw = 0;
	for (size_t off = 0; off < n; off += BLOCK) {
		if (speed > 0.0) {
			/* this block starts at off / RATE / speed seconds of wall time */
			double t = (double)off / RATE / speed;
			struct timespec due = start;
			due.tv_sec += (time_t)t;
			due.tv_nsec += (long)((t - floor(t)) * 1e9);
			if (due.tv_nsec >= 1000000000L) {
				due.tv_sec++;
				due.tv_nsec -= 1000000000L;
			}
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR) {
			}
		}
		host_run(h, in, out, off);
		for (uint32_t c = 0; c < 2; c++)
			for (uint32_t i = 0; i < BLOCK; i++)
				res->nonfinite += !isfinite(obuf[c][i]);
		size_t done = off + BLOCK;
		if (gui_ok && done >= next_draw &&
		    atomic_load_explicit(&h->draw_pending, memory_order_acquire) &&
		    !atomic_load_explicit(&g.busy, memory_order_acquire)) {
			atomic_store(&h->draw_pending, 0);
			atomic_store(&g.busy, 1);
			next_draw = done + DRAW_FRAMES;
			sem_post(&g.go);
		}
	}
	res->audio_cpu = thread_cpu_s() - a0;
	res->cpu = process_cpu_s() - c0;
	res->wall = now_s() - w0;
	if (gui_ok) {
		atomic_store(&g.quit, 1);
		sem_post(&g.go);
		pthread_join(gt, NULL);
	}
	if (g.go_ok)
		sem_destroy(&g.go);
	res->late = pi->p_late >= 0 ? h->ctl[pi->p_late] : NAN;
	res->draw_requests = atomic_load(&h->draw_requests);
	res->renders = g.calls;
	res->bad = g.bad;
	res->render_wall = g.wall_s;
	res->gui_cpu = g.cpu_s;
	res->render_max = g.wall_max_s;
	unsigned long sf = atomic_load(&h->sched_fail);
	host_free(h);
	if (sf)
		printf("note: the worker queue was full %lu times\n", sf);
	return 0;
}

/* ================================================================ main */
static void usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_plugin [--seconds S] [--rounds N] [--speed X] [--lv2-path DIR]\n"
	        "  The LV2 plugin's CPU load at its defaults, 48 kHz stereo, live, with Ardour's\n"
	        "  inline display drawn at up to 30 Hz (120 x 60) against the display off.\n"
	        "  --seconds S    audio per run (default 60)\n"
	        "  --rounds N     runs of each configuration, interleaved (default 5)\n"
	        "  --speed X      audio seconds per wall second (0: unpaced; default: from a\n"
	        "                 freewheel calibration, the dream thread a quarter busy)\n"
	        "  --lv2-path DIR where oneiro.lv2 is (default $ONEIRO_TEST_LV2_PATH, else\n"
	        "                 $PWD/build/lv2)\n");
}

int main(int argc, char **argv)
{
	double seconds = 60.0, speed = -1.0;
	int rounds = 5;
	const char *lv2_arg = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--seconds") && v) {
			seconds = strtod(v, &end);
			if (*end || !(seconds >= 0.1 && seconds <= 3600.0)) {
				fprintf(stderr, "bench_plugin: --seconds %s: 0.1 to 3600\n", v);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--rounds") && v) {
			long k = strtol(v, &end, 10);
			if (*end || k < 1 || k > MAX_ROUNDS) {
				fprintf(stderr, "bench_plugin: --rounds %s: 1 to %d\n", v, MAX_ROUNDS);
				return 2;
			}
			rounds = (int)k;
			i++;
		} else if (!strcmp(a, "--speed") && v) {
			speed = strtod(v, &end);
			if (*end || !(speed >= 0.0 && speed <= 1000.0)) {
				fprintf(stderr, "bench_plugin: --speed %s: 0 (unpaced) to 1000\n", v);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--lv2-path") && v) {
			lv2_arg = v;
			i++;
		} else {
			usage(stderr);
			return 2;
		}
	}

	/* the bundle, by lilv, from the build */
	char cwd[PATH_MAX], lv2_dir[PATH_MAX + 16], probe[PATH_MAX + 64];
	const char *env = getenv("ONEIRO_TEST_LV2_PATH");
	if (lv2_arg && *lv2_arg)
		snprintf(lv2_dir, sizeof lv2_dir, "%s", lv2_arg);
	else if (env && *env)
		snprintf(lv2_dir, sizeof lv2_dir, "%s", env);
	else if (getcwd(cwd, sizeof cwd))
		snprintf(lv2_dir, sizeof lv2_dir, "%s/build/lv2", cwd);
	else {
		fprintf(stderr, "bench_plugin: getcwd: %s\n", strerror(errno));
		return 1;
	}
	snprintf(probe, sizeof probe, "%s/oneiro.lv2/manifest.ttl", lv2_dir);
	if (access(probe, R_OK)) {
		fprintf(stderr, "bench_plugin: no bundle at %s (run `make all` first, from the "
		                "repository root)\n", probe);
		return 1;
	}
	setenv("LV2_PATH", lv2_dir, 1);

	U.atom_Sequence = urid_map(NULL, LV2_ATOM__Sequence);
	U.atom_Chunk = urid_map(NULL, LV2_ATOM__Chunk);
	U.atom_Int = urid_map(NULL, LV2_ATOM__Int);
	U.bufsz_max = urid_map(NULL, LV2_BUF_SIZE__maxBlockLength);
	U.bufsz_nominal = urid_map(NULL, LV2_BUF_SIZE__nominalBlockLength);
	U.log_Error = urid_map(NULL, LV2_LOG__Error);
	U.log_Warning = urid_map(NULL, LV2_LOG__Warning);
	U.log_Trace = urid_map(NULL, LV2_LOG__Trace);

	int rc = 1;
	float *music[2] = {NULL, NULL};
	LilvWorld *world = lilv_world_new();
	if (!world) {
		fprintf(stderr, "bench_plugin: lilv_world_new failed\n");
		map_free();
		return 1;
	}
	lilv_world_load_all(world);
	LilvNode *uri = lilv_new_uri(world, URI_STEREO);
	const LilvPlugin *p = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(world), uri);
	lilv_node_free(uri);
	PluginInfo pi;
	if (!p) {
		fprintf(stderr, "bench_plugin: %s not found in %s\n", URI_STEREO, lv2_dir);
		goto out;
	}
	if (plugin_info(world, p, &pi))
		goto out;
	printf("note: plugin %s from %s\n", URI_STEREO,
	       lilv_node_as_uri(lilv_plugin_get_bundle_uri(p)));
	if (pi.p_freewheel < 0) {
		fprintf(stderr, "bench_plugin: %s has no freewheel port: cannot play it live\n",
		        URI_STEREO);
		goto out;
	}

	size_t n = (size_t)(seconds * RATE) / BLOCK * BLOCK;
	if (n < BLOCK)
		n = BLOCK;
	double audio_s = (double)n / RATE;
	music[0] = malloc(n * sizeof(float));
	music[1] = malloc(n * sizeof(float));
	if (!music[0] || !music[1]) {
		fprintf(stderr, "bench_plugin: out of memory for %zu frames\n", n);
		goto out;
	}
	make_music(music[0], music[1], n, 20240611u);

	/* calibration: freewheel (an export), every window dreamed inside run(),
	 * as fast as it goes; the same audio */
	Run cal;
	if (run_once(&pi, music, n, 1, 0, 0.0, &cal))
		goto out;
	double load_fw = cal.cpu / audio_s;
	printf("bench: plugin_core_percent_freewheel %.3g %%\n", 100.0 * load_fw);
	if (speed < 0.0) {
		speed = load_fw > 0.0 ? 0.25 / load_fw : 16.0;
		speed = speed < 0.25 ? 0.25 : speed > 16.0 ? 16.0 : speed;
	}
	if (speed > 0.0)
		printf("bench: plugin_live_speed %.3g x\n", speed);
	else
		printf("note: unpaced (--speed 0): windows the dream thread has not done in time "
		       "are passed dry, so the live figures count only the windows done\n");
	fflush(stdout);

	/* off, on, off, on, ... */
	double cpu_off[MAX_ROUNDS] = {0}, cpu_on[MAX_ROUNDS] = {0}, ratio[MAX_ROUNDS] = {0};
	double aud_off[MAX_ROUNDS] = {0}, aud_on[MAX_ROUNDS] = {0};
	double late_off = 0.0, late_on = 0.0, rwall = 0.0, gcpu = 0.0, rmax = 0.0, wall = 0.0;
	unsigned long renders = 0, requests = 0, bad = 0;
	int nonfinite = 0;
	for (int k = 0; k < rounds; k++) {
		Run a, b;
		if (run_once(&pi, music, n, 0, 0, speed, &a) || run_once(&pi, music, n, 0, 1, speed, &b))
			goto out;
		cpu_off[k] = a.cpu;
		cpu_on[k] = b.cpu;
		ratio[k] = a.cpu > 0.0 ? b.cpu / a.cpu : NAN;
		aud_off[k] = a.audio_cpu;
		aud_on[k] = b.audio_cpu;
		late_off += a.late;
		late_on += b.late;
		renders += b.renders;
		requests += b.draw_requests;
		bad += b.bad;
		rwall += b.render_wall;
		gcpu += b.gui_cpu;
		rmax = b.render_max > rmax ? b.render_max : rmax;
		wall += a.wall + b.wall;
		nonfinite += a.nonfinite + b.nonfinite;
		fprintf(stderr, "bench_plugin: round %d: display off %.2f s CPU (run() thread %.2f), "
		                "on %.2f s CPU (run() thread %.2f, %lu renders), %.1f s of audio each\n",
		        k + 1, a.cpu, a.audio_cpu, b.cpu, b.audio_cpu, b.renders, audio_s);
	}
	printf("bench: plugin_audio_s_per_run %.3g s\n", audio_s);
	printf("bench: plugin_rounds %d rounds\n", rounds);
	printf("bench: plugin_core_percent_display_off %.3g %%\n",
	       100.0 * median(cpu_off, rounds) / audio_s);
	printf("bench: plugin_core_percent_display_on %.3g %%\n",
	       100.0 * median(cpu_on, rounds) / audio_s);
	printf("bench: plugin_display_on_over_off %.4g x\n", median(ratio, rounds));
	printf("bench: plugin_run_thread_core_percent_display_off %.3g %%\n",
	       100.0 * median(aud_off, rounds) / audio_s);
	printf("bench: plugin_run_thread_core_percent_display_on %.3g %%\n",
	       100.0 * median(aud_on, rounds) / audio_s);
	printf("bench: plugin_display_cost_core_percent %.3g %%\n",
	       100.0 * (median(cpu_on, rounds) - median(cpu_off, rounds)) / audio_s);
	printf("bench: plugin_display_renders %lu calls\n", renders);
	printf("bench: plugin_display_renders_per_s %.3g calls/s\n",
	       (double)renders / (rounds * audio_s));
	printf("bench: plugin_queue_draw_per_s %.3g calls/s\n",
	       (double)requests / (rounds * audio_s));
	if (renders) {
		printf("bench: plugin_render_us_per_call %.3g us\n", 1e6 * rwall / (double)renders);
		printf("bench: plugin_render_max_us %.3g us\n", 1e6 * rmax);
		printf("bench: plugin_gui_thread_core_percent %.3g %%\n",
		       100.0 * gcpu / (rounds * audio_s));
	} else {
		printf("note: plugin_render_us_per_call skipped: run() never asked for a redraw "
		       "(queue_draw), so nothing was rendered\n");
	}
	if (pi.p_late >= 0) {
		printf("bench: plugin_late_windows %.0f windows\n", late_off + late_on);
		printf("bench: plugin_late_windows_display_off %.0f windows\n", late_off);
		printf("bench: plugin_late_windows_display_on %.0f windows\n", late_on);
		if (late_off + late_on > 0.0 && speed > 0.0)
			printf("note: windows were late (the machine was busy, or --speed too high): "
			       "those were passed dry and are not in the CPU figures\n");
	} else {
		printf("note: plugin_late_windows skipped: the plugin has no 'late' port\n");
	}
	printf("bench: plugin_wall_s %.3g s\n", wall);
	fflush(stdout);
	rc = 0;
	if (bad) {
		fprintf(stderr, "bench_plugin: %lu renders gave no %u x %u surface\n", bad, GUI_W,
		        GUI_H);
		rc = 1;
	}
	if (nonfinite) {
		fprintf(stderr, "bench_plugin: %d output samples were not finite\n", nonfinite);
		rc = 1;
	}
	if (atomic_load(&log_errors)) {
		fprintf(stderr, "bench_plugin: the plugin logged %lu errors\n",
		        atomic_load(&log_errors));
		rc = 1;
	}

out:
	free(music[0]);
	free(music[1]);
	lilv_world_free(world);
	map_free();
	return rc;
}
