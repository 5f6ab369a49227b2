/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lv2host.h -- the LV2 host plumbing the plugin's two lilv hosts share:
 * tests/test_lv2.c (`make check`) and tests/bench_plugin.c (`make bench`),
 * both linked with tests/lv2host.c. What each host does differently stays
 * in it and is handed in here (callbacks, flags, sizes).
 *
 * It offers:
 *   - Ardour's inline display declarations (not in lv2-dev);
 *   - the bundle check (LV2_PATH pointed at a build's bundle);
 *   - urid:map / unmap (one table for the process, locked) and the URIDs
 *     this plumbing and both hosts use (HU, after lv2host_init);
 *   - log:log's printf, forwarding to the host's own vprintf;
 *   - the plugin's ports from lilv (kinds, symbols, ranges, the stereo
 *     pairs, the atom ports); connecting them and activating an instance,
 *     and the end of one;
 *   - work:schedule: single producer, single consumer rings of messages,
 *     requests drained by the caller or a worker thread, responses
 *     delivered before run();
 *   - the feature array (map, unmap, schedule, log, options with the block
 *     lengths, boundedBlockLength, the inline display's queue_draw).
 *
 * Nothing here defines a libc function: test_lv2 is linked with -rdynamic
 * and interposes malloc, pthread_mutex_lock, ... itself, and what this file
 * calls goes through those too. Link: lilv-0, -lpthread.
 */
#ifndef ONEIRO_TESTS_LV2HOST_H
#define ONEIRO_TESTS_LV2HOST_H

#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

/* ---------------------------------------------------------------- inline display */
/* Ardour's inline display, as the plugin declares it */
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

/* ---------------------------------------------------------------- set-up */
/* LV2_PATH = lv2_dir when lv2_dir/oneiro.lv2/manifest.ttl is readable: 0;
 * else -1, said on stderr after `prog: `. */
int lv2host_use_bundle(const char *lv2_dir, const char *prog);

/* ---------------------------------------------------------------- URIDs */
/* URIDs from 1 in the order first asked for; 0 when out of memory */
extern LV2_URID_Map lv2host_map;
extern LV2_URID_Unmap lv2host_unmap;
LV2_URID lv2host_urid(const char *uri);
/* forgets every URI (at the end) */
void lv2host_map_free(void);

/* the URIDs this plumbing and both hosts use */
extern struct LV2HostURIDs {
	LV2_URID atom_Sequence, atom_Chunk, atom_Int, bufsz_max, bufsz_nominal, log_Error,
		log_Warning, log_Note, log_Trace;
} HU;
/* maps HU; first, before anything else here */
void lv2host_init(void);

/* ---------------------------------------------------------------- log */
/* log:log's printf for `LV2_Log_Log x = {&x, lv2host_log_printf, host_vprintf}`:
 * the handle is the LV2_Log_Log itself, and the call goes to its vprintf */
int lv2host_log_printf(LV2_Log_Handle handle, LV2_URID type, const char *fmt, ...);

/* ---------------------------------------------------------------- ports */
#define LV2HOST_MAX_PORTS 64
#define LV2HOST_SYM_LEN 64

enum { PK_NONE, PK_AUDIO_IN, PK_AUDIO_OUT, PK_CTL_IN, PK_CTL_OUT, PK_ATOM_IN, PK_ATOM_OUT };

typedef struct {
	uint32_t n_ports;
	int kind[LV2HOST_MAX_PORTS]; /* PK_ */
	char sym[LV2HOST_MAX_PORTS][LV2HOST_SYM_LEN];
	float def[LV2HOST_MAX_PORTS], min[LV2HOST_MAX_PORTS], max[LV2HOST_MAX_PORTS];
	int audio_in[2], audio_out[2]; /* the first two audio ports each way; -1: none */
	int p_control, p_notify;       /* the atom input and output; -1: none */
	int unknown;                   /* the first port of no kind above (PK_NONE); -1: none */
} LV2HostPorts;

/* What lilv says of p's ports; -1 when it has more than LV2HOST_MAX_PORTS
 * (n_ports says how many). */
int lv2host_ports(LilvWorld *world, const LilvPlugin *p, LV2HostPorts *ports);
/* the port with that symbol, or -1 */
int lv2host_port_index(const LV2HostPorts *ports, const char *sym);
/* ctl[i]: a control input's default (0 when it has none), 0 elsewhere */
void lv2host_ctl_defaults(const LV2HostPorts *ports, float *ctl);
/* After instantiation: control emptied, the control ports connected to
 * ctl[i], the atom input to control, the output to notify; activated. */
void lv2host_activate(LilvInstance *inst, const LV2HostPorts *ports, float *ctl,
                      LV2_Atom_Sequence *control, LV2_Atom_Sequence *notify);

/* an empty sequence (a control input after run()) */
void lv2host_seq_clear(LV2_Atom_Sequence *seq);
/* an output buffer of cap bytes, before run() */
void lv2host_seq_space(LV2_Atom_Sequence *seq, uint32_t cap);

/* ---------------------------------------------------------------- worker */
#define LV2HOST_SLOT 8192 /* the largest message */

/* single producer, single consumer queue of messages */
typedef struct LV2HostRing LV2HostRing;
/* nslot a power of two; NULL when out of memory (free() it) */
LV2HostRing *lv2host_ring_new(uint32_t nslot);
/* 0, or -1 when full or size > LV2HOST_SLOT */
int lv2host_ring_push(LV2HostRing *r, uint32_t size, const void *data);
/* the oldest message, or NULL */
const uint8_t *lv2host_ring_front(LV2HostRing *r, uint32_t *size);
void lv2host_ring_pop(LV2HostRing *r);

typedef struct LV2HostWorker {
	LV2HostRing *req, *resp; /* run() -> worker, worker -> before the next run() */
	LV2_Worker_Schedule sched; /* the work:schedule feature's data */
	LV2_Handle handle;         /* the instance, once attached */
	const LV2_Worker_Interface *wi; /* its work interface; NULL: none (or not attached) */
	/* schedule_work found req full (called on the audio thread) */
	void (*on_full)(void *owner);
	void *owner;
	int threaded; /* a worker thread serves req: schedule_work wakes it */
	pthread_t thread;
	sem_t sem;
	_Atomic int quit;
} LV2HostWorker;

/* The rings (nslot messages each way) and the schedule feature; -1 when
 * out of memory (then lv2host_worker_free). */
int lv2host_worker_init(LV2HostWorker *w, uint32_t nslot, void (*on_full)(void *owner),
                        void *owner);
/* A worker thread that runs every request as it comes (threaded = 1); -1
 * (errno set) when it cannot start. */
int lv2host_worker_start(LV2HostWorker *w);
/* Stops and joins the worker thread, if any (threaded = 0). */
void lv2host_worker_stop(LV2HostWorker *w);
/* the rings (after lv2host_worker_stop) */
void lv2host_worker_free(LV2HostWorker *w);
/* after instantiation: the instance's work interface, if it has one */
void lv2host_worker_attach(LV2HostWorker *w, LilvInstance *inst);
/* worker side: runs every queued request */
void lv2host_work(LV2HostWorker *w);
/* audio side, between runs: the responses back to the plugin */
void lv2host_deliver(LV2HostWorker *w);
/* both, on the calling thread */
void lv2host_drain(LV2HostWorker *w);
/* audio side, after run(): the work interface's end_run, if any */
void lv2host_end_run(LV2HostWorker *w);
/* The end of an instance (inst may be NULL) and its worker: deactivated,
 * the worker thread stopped, what is queued run and delivered (drain),
 * freed, the rings freed. */
void lv2host_close(LilvInstance *inst, LV2HostWorker *w, int drain);

/* ---------------------------------------------------------------- features */
typedef struct {
	int32_t max_block, nominal;
	LV2_Options_Option opts[3];
	IdispQueueDraw idisp;
	LV2_Feature f_map, f_unmap, f_sched, f_log, f_opts, f_bounded, f_idisp;
	const LV2_Feature *features[8]; /* NULL-terminated: for instantiate, state */
} LV2HostFeatures;

/* urid:map, unmap, work:schedule (w; NULL: none), log:log (log), options
 * with the maximum and nominal block lengths and boundedBlockLength
 * (max_block <= 0: neither) and the inline display's queue_draw (calling
 * queue_draw(draw_handle)), in that order. */
void lv2host_features_init(LV2HostFeatures *f, LV2HostWorker *w, LV2_Log_Log *log,
                           int32_t max_block, int32_t nominal, void (*queue_draw)(void *),
                           void *draw_handle);

#endif
