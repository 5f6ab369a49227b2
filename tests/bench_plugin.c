/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_plugin.c -- `make bench`: the LV2 plugin's DSP load at its defaults
 * (urn:oneiro:dream, 48 kHz stereo, the bundled default model, every
 * control port at its lilv default unless --set moves it: make bench also
 * runs the "Toward a class, in its own sound" preset's settings, jitter
 * and all, under another --label), playing live (freewheel off: windows
 * dreamed on the plugin's own thread), with Ardour's inline display drawn
 * against the display off.
 *
 * The host is a small lilv host on tests/lv2host.c (shared with
 * tests/test_lv2.c): the built bundle (found at $PWD/build/lv2, or
 * $ONEIRO_TEST_LV2_PATH, or --lv2-path) loaded by URI; urid:map/unmap,
 * work:schedule (a worker thread), log:log, options (block length 256) with
 * bufsz:boundedBlockLength, and the inline display's queue_draw. The input
 * is a generated stereo piece (plucked strings in strummed chords and
 * arpeggios, a bass, a hi-hat of noise bursts, a little noise floor; a
 * fixed seed), fed in blocks of 256 frames.
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
 * Link: lv2host.o, lilv-0, -lm, -lpthread. Run from the repository root after
 * `make all`.
 */
#include "lv2host.h"

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

/* ================================================================ log */
static _Atomic unsigned long log_errors, log_warnings;

static int host_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt, va_list ap)
{
	(void)h;
	if (type == HU.log_Trace)
		return 0;
	if (type == HU.log_Error)
		atomic_fetch_add(&log_errors, 1);
	else if (type == HU.log_Warning)
		atomic_fetch_add(&log_warnings, 1);
	fprintf(stderr, "bench_plugin: [plugin] ");
	return vfprintf(stderr, fmt, ap);
}

static LV2_Log_Log host_log = {&host_log, lv2host_log_printf, host_vprintf};

/* ================================================================ the plugin's ports */
#define ATOM_CAP 16384

/* What lilv says of the plugin, once */
#define MAX_SETS 16
typedef struct {
	const LilvPlugin *plugin;
	LV2HostPorts ports;
	int p_freewheel, p_late;
	int n_sets;              /* --set: control ports away from their defaults */
	int set_port[MAX_SETS];
	float set_value[MAX_SETS];
} PluginInfo;

/* the prefix of every figure's name (--label) */
static const char *label = "plugin";

/* the control port with that symbol, or -1 */
static int control_port(const LV2HostPorts *ports, const char *sym)
{
	int i = lv2host_port_index(ports, sym);
	return i >= 0 && (ports->kind[i] == PK_CTL_IN || ports->kind[i] == PK_CTL_OUT) ? i : -1;
}

static int plugin_info(LilvWorld *world, const LilvPlugin *p, PluginInfo *pi)
{
	memset(pi, 0, sizeof *pi);
	pi->plugin = p;
	const LV2HostPorts *ports = &pi->ports;
	if (lv2host_ports(world, p, &pi->ports)) {
		fprintf(stderr, "bench_plugin: %u ports, more than the %d this host serves\n",
		        ports->n_ports, LV2HOST_MAX_PORTS);
		return -1;
	}
	pi->p_freewheel = control_port(ports, "freewheel");
	pi->p_late = control_port(ports, "late");
	if (ports->audio_in[1] < 0 || ports->audio_out[1] < 0) {
		fprintf(stderr, "bench_plugin: %s is not stereo (audio ports in %d/%d, out %d/%d)\n",
		        URI_STEREO, ports->audio_in[0], ports->audio_in[1], ports->audio_out[0],
		        ports->audio_out[1]);
		return -1;
	}
	if (ports->unknown >= 0) {
		fprintf(stderr, "bench_plugin: port %d is of a kind this host does not know\n",
		        ports->unknown);
		return -1;
	}
	return 0;
}

/* ================================================================ the host */
#define NSLOT 16 /* worker messages each way */

typedef struct {
	const PluginInfo *pi;
	LilvInstance *inst;
	const IdispInterface *di;
	float ctl[LV2HOST_MAX_PORTS];
	LV2_Atom_Sequence *control, *notify; /* ATOM_CAP bytes each */
	LV2HostWorker w;                     /* always a worker thread */
	_Atomic unsigned long sched_fail;
	LV2HostFeatures feat;
	_Atomic unsigned long draw_requests; /* queue_draw calls */
	_Atomic int draw_pending;            /* one since the last render was started */
} Host;

/* audio thread (inside run): the worker queue was full */
static void host_sched_full(void *owner)
{
	Host *h = owner;
	atomic_fetch_add(&h->sched_fail, 1);
}

/* audio thread (inside run): as Ardour's, it only notes the request */
static void host_queue_draw(void *hh)
{
	Host *h = hh;
	atomic_fetch_add_explicit(&h->draw_requests, 1, memory_order_relaxed);
	atomic_store_explicit(&h->draw_pending, 1, memory_order_release);
}

static void host_free(Host *h)
{
	if (!h)
		return;
	lv2host_close(h->inst, &h->w, 1); /* runs anything left (a retired rig to free) */
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
	h->control = calloc(1, ATOM_CAP);
	h->notify = calloc(1, ATOM_CAP);
	if (lv2host_worker_init(&h->w, NSLOT, host_sched_full, h) || !h->control || !h->notify) {
		fprintf(stderr, "bench_plugin: out of memory\n");
		host_free(h);
		return NULL;
	}
	lv2host_ctl_defaults(&pi->ports, h->ctl);
	for (int k = 0; k < pi->n_sets; k++)
		h->ctl[pi->set_port[k]] = pi->set_value[k];
	if (pi->p_freewheel >= 0)
		h->ctl[pi->p_freewheel] = freewheel ? 1.0f : 0.0f;
	lv2host_features_init(&h->feat, &h->w, &host_log, BLOCK, BLOCK, host_queue_draw, h);

	if (lv2host_worker_start(&h->w)) {
		fprintf(stderr, "bench_plugin: cannot start the worker thread: %s\n", strerror(errno));
		host_free(h);
		return NULL;
	}
	h->inst = lilv_plugin_instantiate(pi->plugin, RATE, h->feat.features);
	if (!h->inst) {
		fprintf(stderr, "bench_plugin: %s did not instantiate at %g Hz with urid:map, "
		                "work:schedule, log, options, boundedBlockLength and queue_draw\n",
		        URI_STEREO, RATE);
		host_free(h);
		return NULL;
	}
	lv2host_worker_attach(&h->w, h->inst);
	h->di = lilv_instance_get_extension_data(h->inst, IDISP_INTERFACE);
	if (!h->w.wi || !h->w.wi->work) {
		fprintf(stderr, "bench_plugin: %s gives no %s\n", URI_STEREO, LV2_WORKER__interface);
		host_free(h);
		return NULL;
	}
	if (!h->di || !h->di->render) {
		fprintf(stderr, "bench_plugin: %s gives no %s\n", URI_STEREO, IDISP_INTERFACE);
		host_free(h);
		return NULL;
	}
	lv2host_activate(h->inst, &pi->ports, h->ctl, h->control, h->notify);
	return h;
}

/* one run() of BLOCK frames at in[c] + off into out[c] */
static void host_run(Host *h, float *const *in, float *const *out, size_t off)
{
	for (uint32_t c = 0; c < 2; c++) {
		lilv_instance_connect_port(h->inst, (uint32_t)h->pi->ports.audio_in[c], in[c] + off);
		lilv_instance_connect_port(h->inst, (uint32_t)h->pi->ports.audio_out[c], out[c]);
	}
	lv2host_deliver(&h->w);
	lv2host_seq_space(h->notify, ATOM_CAP);
	lilv_instance_run(h->inst, BLOCK);
	lv2host_end_run(&h->w);
	lv2host_seq_clear(h->control);
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
	        "                    [--set SYMBOL=VALUE ...] [--label NAME]\n"
	        "  The LV2 plugin's CPU load at its defaults, 48 kHz stereo, live, with Ardour's\n"
	        "  inline display drawn at up to 30 Hz (120 x 60) against the display off.\n"
	        "  --set SYM=V    a control port away from its default (repeatable, up to 16)\n"
	        "  --label NAME   the figures' name prefix (default plugin)\n"
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
	const char *sets[MAX_SETS];
	int n_sets = 0;
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
		} else if (!strcmp(a, "--set") && v && n_sets < MAX_SETS) {
			sets[n_sets++] = v;
			i++;
		} else if (!strcmp(a, "--label") && v && *v) {
			label = v;
			i++;
		} else {
			usage(stderr);
			return 2;
		}
	}

	/* the bundle, by lilv, from the build */
	char cwd[PATH_MAX], lv2_dir[PATH_MAX + 16];
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
	if (lv2host_use_bundle(lv2_dir, "bench_plugin"))
		return 1;
	lv2host_init();

	int rc = 1;
	float *music[2] = {NULL, NULL};
	LilvWorld *world = lilv_world_new();
	if (!world) {
		fprintf(stderr, "bench_plugin: lilv_world_new failed\n");
		lv2host_map_free();
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
	for (int k = 0; k < n_sets; k++) {
		char sym[LV2HOST_SYM_LEN];
		const char *eq = strchr(sets[k], '=');
		char *end = NULL;
		float v = eq ? strtof(eq + 1, &end) : NAN;
		size_t len = eq ? (size_t)(eq - sets[k]) : 0;
		int port = -1;
		if (len > 0 && len < sizeof sym) {
			memcpy(sym, sets[k], len);
			sym[len] = 0;
			port = control_port(&pi.ports, sym);
		}
		if (port < 0 || pi.ports.kind[port] != PK_CTL_IN || !end || *end || !isfinite(v)) {
			fprintf(stderr, "bench_plugin: --set %s: not SYMBOL=VALUE for a control input\n",
			        sets[k]);
			goto out;
		}
		pi.set_port[pi.n_sets] = port;
		pi.set_value[pi.n_sets++] = v;
		printf("note: %s = %g\n", sym, (double)v);
	}
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
	printf("bench: %s_core_percent_freewheel %.3g %%\n", label, 100.0 * load_fw);
	if (speed < 0.0) {
		speed = load_fw > 0.0 ? 0.25 / load_fw : 16.0;
		speed = speed < 0.25 ? 0.25 : speed > 16.0 ? 16.0 : speed;
	}
	if (speed > 0.0)
		printf("bench: %s_live_speed %.3g x\n", label, speed);
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
	printf("bench: %s_audio_s_per_run %.3g s\n", label, audio_s);
	printf("bench: %s_rounds %d rounds\n", label, rounds);
	printf("bench: %s_core_percent_display_off %.3g %%\n", label,
	       100.0 * median(cpu_off, rounds) / audio_s);
	printf("bench: %s_core_percent_display_on %.3g %%\n", label,
	       100.0 * median(cpu_on, rounds) / audio_s);
	printf("bench: %s_display_on_over_off %.4g x\n", label, median(ratio, rounds));
	printf("bench: %s_run_thread_core_percent_display_off %.3g %%\n", label,
	       100.0 * median(aud_off, rounds) / audio_s);
	printf("bench: %s_run_thread_core_percent_display_on %.3g %%\n", label,
	       100.0 * median(aud_on, rounds) / audio_s);
	printf("bench: %s_display_cost_core_percent %.3g %%\n", label,
	       100.0 * (median(cpu_on, rounds) - median(cpu_off, rounds)) / audio_s);
	printf("bench: %s_display_renders %lu calls\n", label, renders);
	printf("bench: %s_display_renders_per_s %.3g calls/s\n", label,
	       (double)renders / (rounds * audio_s));
	printf("bench: %s_queue_draw_per_s %.3g calls/s\n", label,
	       (double)requests / (rounds * audio_s));
	if (renders) {
		printf("bench: %s_render_us_per_call %.3g us\n", label, 1e6 * rwall / (double)renders);
		printf("bench: %s_render_max_us %.3g us\n", label, 1e6 * rmax);
		printf("bench: %s_gui_thread_core_percent %.3g %%\n", label,
		       100.0 * gcpu / (rounds * audio_s));
	} else {
		printf("note: %s_render_us_per_call skipped: run() never asked for a redraw "
		       "(queue_draw), so nothing was rendered\n", label);
	}
	if (pi.p_late >= 0) {
		printf("bench: %s_late_windows %.0f windows\n", label, late_off + late_on);
		printf("bench: %s_late_windows_display_off %.0f windows\n", label, late_off);
		printf("bench: %s_late_windows_display_on %.0f windows\n", label, late_on);
		if (late_off + late_on > 0.0 && speed > 0.0)
			printf("note: windows were late (the machine was busy, or --speed too high): "
			       "those were passed dry and are not in the CPU figures\n");
	} else {
		printf("note: %s_late_windows skipped: the plugin has no 'late' port\n", label);
	}
	printf("bench: %s_wall_s %.3g s\n", label, wall);
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
	lv2host_map_free();
	return rc;
}
