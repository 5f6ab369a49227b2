/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lv2host.c -- the LV2 host plumbing shared by the plugin's lilv test host
 * (tests/test_lv2.c) and its benchmark (tests/bench_plugin.c): URID map,
 * log forwarding, port discovery, the worker rings and thread, the feature
 * array. See lv2host.h.
 *
 * It defines no libc function (test_lv2 interposes those). Its only state
 * is the process's URID table and HU; what belongs to an instance (an
 * LV2HostWorker, an LV2HostFeatures, the ports) each host keeps in its own
 * Host.
 */
#include "lv2host.h"

#include <lv2/buf-size/buf-size.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ================================================================ set-up */
int lv2host_use_bundle(const char *lv2_dir, const char *prog)
{
	char probe[PATH_MAX + 64];
	snprintf(probe, sizeof probe, "%s/oneiro.lv2/manifest.ttl", lv2_dir);
	if (access(probe, R_OK)) {
		fprintf(stderr, "%s: no bundle at %s (run `make all` first, from the repository "
		                "root)\n", prog, probe);
		return -1;
	}
	setenv("LV2_PATH", lv2_dir, 1);
	return 0;
}

/* ================================================================ URIDs */
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

LV2_URID_Map lv2host_map = {NULL, urid_map};
LV2_URID_Unmap lv2host_unmap = {NULL, urid_unmap};
struct LV2HostURIDs HU;

LV2_URID lv2host_urid(const char *uri)
{
	return urid_map(NULL, uri);
}

void lv2host_map_free(void)
{
	for (uint32_t i = 0; i < map_n; i++)
		free(map_uris[i]);
	free(map_uris);
	map_uris = NULL;
	map_n = map_cap = 0;
}

void lv2host_init(void)
{
	HU.atom_Sequence = lv2host_urid(LV2_ATOM__Sequence);
	HU.atom_Chunk = lv2host_urid(LV2_ATOM__Chunk);
	HU.atom_Int = lv2host_urid(LV2_ATOM__Int);
	HU.bufsz_max = lv2host_urid(LV2_BUF_SIZE__maxBlockLength);
	HU.bufsz_nominal = lv2host_urid(LV2_BUF_SIZE__nominalBlockLength);
	HU.log_Error = lv2host_urid(LV2_LOG__Error);
	HU.log_Warning = lv2host_urid(LV2_LOG__Warning);
	HU.log_Note = lv2host_urid(LV2_LOG__Note);
	HU.log_Trace = lv2host_urid(LV2_LOG__Trace);
}

/* ================================================================ log */
int lv2host_log_printf(LV2_Log_Handle handle, LV2_URID type, const char *fmt, ...)
{
	const LV2_Log_Log *log = handle;
	va_list ap;
	va_start(ap, fmt);
	int r = log->vprintf(handle, type, fmt, ap);
	va_end(ap);
	return r;
}

/* ================================================================ ports */
int lv2host_ports(LilvWorld *world, const LilvPlugin *p, LV2HostPorts *ports)
{
	memset(ports, 0, sizeof *ports);
	ports->n_ports = lilv_plugin_get_num_ports(p);
	if (ports->n_ports > LV2HOST_MAX_PORTS)
		return -1;
	lilv_plugin_get_port_ranges_float(p, ports->min, ports->max, ports->def);
	LilvNode *n_in = lilv_new_uri(world, LV2_CORE__InputPort);
	LilvNode *n_audio = lilv_new_uri(world, LV2_CORE__AudioPort);
	LilvNode *n_ctl = lilv_new_uri(world, LV2_CORE__ControlPort);
	LilvNode *n_atom = lilv_new_uri(world, LV2_ATOM__AtomPort);
	ports->audio_in[0] = ports->audio_in[1] = ports->audio_out[0] = ports->audio_out[1] = -1;
	ports->p_control = ports->p_notify = ports->unknown = -1;
	for (uint32_t i = 0; i < ports->n_ports; i++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(p, i);
		snprintf(ports->sym[i], sizeof ports->sym[i], "%s",
		         lilv_node_as_string(lilv_port_get_symbol(p, port)));
		int in = lilv_port_is_a(p, port, n_in);
		if (lilv_port_is_a(p, port, n_audio)) {
			ports->kind[i] = in ? PK_AUDIO_IN : PK_AUDIO_OUT;
			int *slot = in ? ports->audio_in : ports->audio_out;
			if (slot[0] < 0)
				slot[0] = (int)i;
			else if (slot[1] < 0)
				slot[1] = (int)i;
		} else if (lilv_port_is_a(p, port, n_ctl)) {
			ports->kind[i] = in ? PK_CTL_IN : PK_CTL_OUT;
		} else if (lilv_port_is_a(p, port, n_atom)) {
			ports->kind[i] = in ? PK_ATOM_IN : PK_ATOM_OUT;
			if (in)
				ports->p_control = (int)i;
			else
				ports->p_notify = (int)i;
		} else if (ports->unknown < 0) {
			ports->unknown = (int)i; /* CV, events, ...: nothing to connect it to */
		}
	}
	lilv_node_free(n_in);
	lilv_node_free(n_audio);
	lilv_node_free(n_ctl);
	lilv_node_free(n_atom);
	return 0;
}

int lv2host_port_index(const LV2HostPorts *ports, const char *sym)
{
	for (uint32_t i = 0; i < ports->n_ports; i++)
		if (!strcmp(ports->sym[i], sym))
			return (int)i;
	return -1;
}

void lv2host_ctl_defaults(const LV2HostPorts *ports, float *ctl)
{
	for (uint32_t i = 0; i < ports->n_ports; i++)
		ctl[i] = ports->kind[i] == PK_CTL_IN && !isnan(ports->def[i]) ? ports->def[i] : 0.0f;
}

void lv2host_activate(LilvInstance *inst, const LV2HostPorts *ports, float *ctl,
                      LV2_Atom_Sequence *control, LV2_Atom_Sequence *notify)
{
	lv2host_seq_clear(control);
	for (uint32_t i = 0; i < ports->n_ports; i++) {
		if (ports->kind[i] == PK_CTL_IN || ports->kind[i] == PK_CTL_OUT)
			lilv_instance_connect_port(inst, i, &ctl[i]);
		else if (ports->kind[i] == PK_ATOM_IN)
			lilv_instance_connect_port(inst, i, control);
		else if (ports->kind[i] == PK_ATOM_OUT)
			lilv_instance_connect_port(inst, i, notify);
	}
	lilv_instance_activate(inst);
}

void lv2host_seq_clear(LV2_Atom_Sequence *seq)
{
	seq->atom.type = HU.atom_Sequence;
	seq->atom.size = sizeof(LV2_Atom_Sequence_Body);
	seq->body.unit = 0;
	seq->body.pad = 0;
}

void lv2host_seq_space(LV2_Atom_Sequence *seq, uint32_t cap)
{
	seq->atom.type = HU.atom_Chunk;
	seq->atom.size = cap - (uint32_t)sizeof(LV2_Atom);
}

/* ================================================================ the rings */
struct LV2HostRing {
	_Atomic uint32_t rd, wr;
	uint32_t nslot;
	uint32_t *len; /* [nslot] */
	uint8_t *data; /* [nslot][LV2HOST_SLOT] */
};

LV2HostRing *lv2host_ring_new(uint32_t nslot)
{
	/* one block: the header, the lengths, the slots */
	size_t head = (sizeof(LV2HostRing) + 63) & ~(size_t)63;
	LV2HostRing *r = calloc(1, head + (size_t)nslot * (sizeof(uint32_t) + LV2HOST_SLOT));
	if (!r)
		return NULL;
	r->nslot = nslot;
	r->data = (uint8_t *)r + head;
	r->len = (uint32_t *)(r->data + (size_t)nslot * LV2HOST_SLOT);
	return r;
}

int lv2host_ring_push(LV2HostRing *r, uint32_t size, const void *data)
{
	uint32_t wr = atomic_load_explicit(&r->wr, memory_order_relaxed);
	uint32_t rd = atomic_load_explicit(&r->rd, memory_order_acquire);
	if (wr - rd >= r->nslot || size > LV2HOST_SLOT)
		return -1;
	memcpy(r->data + (size_t)(wr % r->nslot) * LV2HOST_SLOT, data, size);
	r->len[wr % r->nslot] = size;
	atomic_store_explicit(&r->wr, wr + 1, memory_order_release);
	return 0;
}

const uint8_t *lv2host_ring_front(LV2HostRing *r, uint32_t *size)
{
	uint32_t rd = atomic_load_explicit(&r->rd, memory_order_relaxed);
	uint32_t wr = atomic_load_explicit(&r->wr, memory_order_acquire);
	if (rd == wr)
		return NULL;
	*size = r->len[rd % r->nslot];
	return r->data + (size_t)(rd % r->nslot) * LV2HOST_SLOT;
}

void lv2host_ring_pop(LV2HostRing *r)
{
	atomic_fetch_add_explicit(&r->rd, 1, memory_order_release);
}

/* ================================================================ the worker */
/* audio thread (inside run) */
static LV2_Worker_Status host_schedule(LV2_Worker_Schedule_Handle hh, uint32_t size,
                                       const void *data)
{
	LV2HostWorker *w = hh;
	if (lv2host_ring_push(w->req, size, data)) {
		if (w->on_full)
			w->on_full(w->owner);
		return LV2_WORKER_ERR_NO_SPACE;
	}
	if (w->threaded)
		sem_post(&w->sem);
	return LV2_WORKER_SUCCESS;
}

/* worker */
static LV2_Worker_Status host_respond(LV2_Worker_Respond_Handle hh, uint32_t size,
                                      const void *data)
{
	LV2HostWorker *w = hh;
	return lv2host_ring_push(w->resp, size, data) ? LV2_WORKER_ERR_NO_SPACE
	                                              : LV2_WORKER_SUCCESS;
}

void lv2host_work(LV2HostWorker *w)
{
	uint32_t size;
	const uint8_t *d;
	while ((d = lv2host_ring_front(w->req, &size))) {
		if (w->wi && w->wi->work)
			w->wi->work(w->handle, host_respond, w, size, d);
		lv2host_ring_pop(w->req);
	}
}

void lv2host_deliver(LV2HostWorker *w)
{
	uint32_t size;
	const uint8_t *d;
	while ((d = lv2host_ring_front(w->resp, &size))) {
		if (w->wi && w->wi->work_response)
			w->wi->work_response(w->handle, size, d);
		lv2host_ring_pop(w->resp);
	}
}

void lv2host_drain(LV2HostWorker *w)
{
	lv2host_work(w);
	lv2host_deliver(w);
}

void lv2host_end_run(LV2HostWorker *w)
{
	if (w->wi && w->wi->end_run)
		w->wi->end_run(w->handle);
}

static void *worker_main(void *arg)
{
	LV2HostWorker *w = arg;
	for (;;) {
		sem_wait(&w->sem);
		if (atomic_load(&w->quit))
			break;
		lv2host_work(w);
	}
	return NULL;
}

int lv2host_worker_init(LV2HostWorker *w, uint32_t nslot, void (*on_full)(void *owner),
                        void *owner)
{
	w->req = lv2host_ring_new(nslot);
	w->resp = lv2host_ring_new(nslot);
	w->sched.handle = w;
	w->sched.schedule_work = host_schedule;
	w->on_full = on_full;
	w->owner = owner;
	return w->req && w->resp ? 0 : -1;
}

int lv2host_worker_start(LV2HostWorker *w)
{
	if (sem_init(&w->sem, 0, 0))
		return -1;
	atomic_store(&w->quit, 0);
	int e = pthread_create(&w->thread, NULL, worker_main, w);
	if (e) {
		sem_destroy(&w->sem);
		errno = e;
		return -1;
	}
	w->threaded = 1;
	return 0;
}

void lv2host_worker_stop(LV2HostWorker *w)
{
	if (!w->threaded)
		return;
	atomic_store(&w->quit, 1);
	sem_post(&w->sem);
	pthread_join(w->thread, NULL);
	sem_destroy(&w->sem);
	w->threaded = 0;
}

void lv2host_worker_free(LV2HostWorker *w)
{
	free(w->req);
	free(w->resp);
	w->req = w->resp = NULL;
}

void lv2host_worker_attach(LV2HostWorker *w, LilvInstance *inst)
{
	w->handle = lilv_instance_get_handle(inst);
	w->wi = lilv_instance_get_extension_data(inst, LV2_WORKER__interface);
}

void lv2host_close(LilvInstance *inst, LV2HostWorker *w, int drain)
{
	if (inst)
		lilv_instance_deactivate(inst);
	lv2host_worker_stop(w);
	if (inst) {
		if (drain)
			lv2host_drain(w);
		lilv_instance_free(inst);
	}
	lv2host_worker_free(w);
}

/* ================================================================ features */
void lv2host_features_init(LV2HostFeatures *f, LV2HostWorker *w, LV2_Log_Log *log,
                           int32_t max_block, int32_t nominal, void (*queue_draw)(void *),
                           void *draw_handle)
{
	f->max_block = max_block;
	f->nominal = nominal;
	f->opts[0] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, HU.bufsz_max, sizeof(int32_t),
	                                  HU.atom_Int, &f->max_block};
	f->opts[1] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, HU.bufsz_nominal,
	                                  sizeof(int32_t), HU.atom_Int, &f->nominal};
	f->opts[2] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL};
	f->idisp.handle = draw_handle;
	f->idisp.queue_draw = queue_draw;
	f->f_map = (LV2_Feature){LV2_URID__map, &lv2host_map};
	f->f_unmap = (LV2_Feature){LV2_URID__unmap, &lv2host_unmap};
	f->f_sched = (LV2_Feature){LV2_WORKER__schedule, w ? &w->sched : NULL};
	f->f_log = (LV2_Feature){LV2_LOG__log, log};
	f->f_opts = (LV2_Feature){LV2_OPTIONS__options, f->opts};
	f->f_bounded = (LV2_Feature){LV2_BUF_SIZE__boundedBlockLength, NULL};
	f->f_idisp = (LV2_Feature){IDISP_QUEUE_DRAW, &f->idisp};
	int k = 0;
	f->features[k++] = &f->f_map;
	f->features[k++] = &f->f_unmap;
	if (w)
		f->features[k++] = &f->f_sched;
	f->features[k++] = &f->f_log;
	if (max_block > 0) {
		f->features[k++] = &f->f_opts;
		f->features[k++] = &f->f_bounded;
	}
	f->features[k++] = &f->f_idisp;
	f->features[k] = NULL;
}
