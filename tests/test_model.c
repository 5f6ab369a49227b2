/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_model.c -- the model file (docs/model-format.md): what is saved loads
 * back as the same model, computing the same outputs bit for bit; every
 * damaged or hostile file is refused, with a message saying what is wrong;
 * saving to a file is atomic.
 *
 *   test_model                   run the checks
 *   test_model --write-corpus D  write a few valid model files into D (the
 *                                fuzzer's seed corpus) and exit
 */
#include "onr.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the format */
#define HDR 52u   /* header bytes */
#define OPB 28u   /* bytes of a layer record */
#define NAMEB 64u /* bytes of a class name slot */

/* header field offsets */
#define O_MAGIC 0
#define O_VERSION 8
#define O_FSIZE 12
#define O_RATE 16
#define O_WINDOW 20
#define O_KIND 24
#define O_NORM 28
#define O_NORMV 32
#define O_NCLASSES 36
#define O_NOPS 40
#define O_METALEN 44
#define O_NPARAMS 48

/* field of layer record i */
enum { F_TYPE, F_A, F_B, F_C, F_D, F_E, F_F };
#define O_OP(i, field) (HDR + (size_t)(i) * OPB + 4u * (size_t)(field))

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t fbits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* After an edit: file_size set to the real size and the trailing CRC-32
 * recomputed, so the file passes the size and checksum checks and reaches the
 * field validation. */
static void refix(unsigned char *p, size_t size)
{
	wr32(p + O_FSIZE, (uint32_t)size);
	wr32(p + size - 4, onr_crc32(0, p, size - 4));
}

static void patch32(unsigned char *p, size_t size, size_t off, uint32_t v)
{
	wr32(p + off, v);
	refix(p, size);
}

/* Where the sections of a well-formed file start. */
typedef struct {
	uint32_t n_ops, n_classes, meta_len, n_params;
	size_t names, meta, params;
} layout;

static layout layout_of(const unsigned char *p)
{
	layout l;
	l.n_ops = rd32(p + O_NOPS);
	l.n_classes = rd32(p + O_NCLASSES);
	l.meta_len = rd32(p + O_METALEN);
	l.n_params = rd32(p + O_NPARAMS);
	l.names = HDR + (size_t)l.n_ops * OPB;
	l.meta = l.names + (size_t)l.n_classes * NAMEB;
	l.params = l.meta + pad4(l.meta_len);
	return l;
}

static unsigned char *dup_bytes(const void *p, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);
	if (!d) {
		fprintf(stderr, "test_model: out of memory\n");
		exit(2);
	}
	if (n)
		memcpy(d, p, n);
	return d;
}

/* A file written straight from the format document, independent of
 * src/model.c: header, records, names "c0".., metadata "raw: 1", parameters
 * sized by the architecture and all small and finite. Lets the tests build
 * architectures onr_model_new would refuse. */
static unsigned char *raw_file(size_t *size_out, const onr_op *ops, uint32_t n_ops, uint32_t kind,
                               uint32_t n_classes, uint32_t window)
{
	uint64_t np = 0;
	for (uint32_t i = 0; i < n_ops; i++) {
		const onr_op *o = &ops[i];
		if (o->type == ONR_OP_CONV)
			np += (uint64_t)o->b * o->a * o->c + o->b;
		else if (o->type == ONR_OP_DENSE)
			np += (uint64_t)o->b * o->a + o->b;
	}
	if (np > (1u << 22)) {
		fprintf(stderr, "test_model: raw_file: %llu parameters is too many for a test\n",
		        (unsigned long long)np);
		exit(2);
	}
	const char *meta = "raw: 1";
	size_t ml = strlen(meta);
	size_t off_names = HDR + (size_t)n_ops * OPB;
	size_t off_meta = off_names + (size_t)n_classes * NAMEB;
	size_t off_params = off_meta + pad4(ml);
	size_t size = off_params + (size_t)np * 4 + 4;
	unsigned char *p = calloc(1, size);
	if (!p) {
		fprintf(stderr, "test_model: out of memory\n");
		exit(2);
	}
	memcpy(p, "ONRMODEL", 8);
	wr32(p + O_VERSION, n_ops && ops[0].type == ONR_OP_LOGMEL ? 2 : 1);
	wr32(p + O_RATE, 16000);
	wr32(p + O_WINDOW, window);
	wr32(p + O_KIND, kind);
	wr32(p + O_NORM, ONR_NORM_NONE);
	wr32(p + O_NORMV, 0);
	wr32(p + O_NCLASSES, n_classes);
	wr32(p + O_NOPS, n_ops);
	wr32(p + O_METALEN, (uint32_t)ml);
	wr32(p + O_NPARAMS, (uint32_t)np);
	for (uint32_t i = 0; i < n_ops; i++) {
		wr32(p + O_OP(i, F_TYPE), ops[i].type);
		wr32(p + O_OP(i, F_A), ops[i].a);
		wr32(p + O_OP(i, F_B), ops[i].b);
		wr32(p + O_OP(i, F_C), ops[i].c);
		wr32(p + O_OP(i, F_D), ops[i].d);
		wr32(p + O_OP(i, F_E), ops[i].e);
		wr32(p + O_OP(i, F_F), fbits(ops[i].f));
	}
	for (uint32_t i = 0; i < n_classes; i++)
		snprintf((char *)p + off_names + (size_t)i * NAMEB, NAMEB, "c%u", i);
	memcpy(p + off_meta, meta, ml);
	for (size_t k = 0; k < np; k++)
		wr32(p + off_params + k * 4, fbits(0.01f * (float)((int)(k % 7) - 3)));
	refix(p, size);
	*size_out = size;
	return p;
}

/* ---------------------------------------------------------------- helpers */
static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* needle in hay, ignoring the case of ASCII letters */
static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *h = hay;; h++) {
		size_t k = 0;
		while (k < n && h[k] && lower((unsigned char)h[k]) == lower((unsigned char)needle[k]))
			k++;
		if (k == n)
			return 1;
		if (!*h)
			return 0;
	}
}

static onr_model dummy_model; /* a non-NULL *out, to see the loader clear it */

/* Loads data, which must be refused with status `want` (0: any failure),
 * *out NULL, and a non-empty message mentioning `kw` (if not NULL). Returns
 * 1 if so; otherwise 0 with the reason in why. */
static int try_refuse(const void *data, size_t size, int want, const char *kw, char *why,
                      size_t whylen)
{
	char err[512];
	memset(err, 0, sizeof err);
	onr_model *m = &dummy_model;
	int st = onr_model_load_mem(&m, data, size, err, sizeof err);
	int ok = 1;
	if (st == ONR_OK) {
		snprintf(why, whylen, "accepted (status 0)");
		ok = 0;
	} else if (want && st != want) {
		snprintf(why, whylen, "status %d (%s), want %d; message \"%s\"", st, onr_strerror(st),
		         want, err);
		ok = 0;
	} else if (m != NULL) {
		snprintf(why, whylen, "refused but *out is not NULL; message \"%s\"", err);
		ok = 0;
	} else if (err[0] == '\0') {
		snprintf(why, whylen, "refused with an empty message");
		ok = 0;
	} else if (kw && !contains_ci(err, kw)) {
		snprintf(why, whylen, "message \"%s\" does not mention \"%s\"", err, kw);
		ok = 0;
	}
	if (st == ONR_OK && m && m != &dummy_model)
		onr_model_free(m);
	return ok;
}

static int verbose; /* TEST_MODEL_VERBOSE set: print each refusal's message */

static void refused(const char *what, const void *data, size_t size, int want, const char *kw)
{
	char why[700];
	CHECK(try_refuse(data, size, want, kw, why, sizeof why), "%s: %s", what, why);
	if (verbose) {
		char err[512] = "";
		onr_model *m = NULL;
		onr_model_load_mem(&m, data, size, err, sizeof err);
		onr_model_free(m);
		printf("  %-50s -> %s\n", what, err);
	}
}

/* A copy of base with u32 fields patched, size and CRC fixed, which must be
 * refused as malformed with a message mentioning kw. */
typedef struct {
	size_t off;
	uint32_t v;
} edit;

static void hostile_edits(const char *what, const unsigned char *base, size_t size,
                          const edit *e, size_t n, const char *kw)
{
	unsigned char *p = dup_bytes(base, size);
	for (size_t i = 0; i < n; i++)
		wr32(p + e[i].off, e[i].v);
	refix(p, size);
	refused(what, p, size, ONR_EFORMAT, kw);
	free(p);
}

static void hostile32(const char *what, const unsigned char *base, size_t size, size_t off,
                      uint32_t v, const char *kw)
{
	edit e = {off, v};
	hostile_edits(what, base, size, &e, 1, kw);
}

static void hostilef(const char *what, const unsigned char *base, size_t size, size_t off,
                     float v, const char *kw)
{
	hostile32(what, base, size, off, fbits(v), kw);
}

/* A raw-built file that must be refused as malformed. */
static void hostile_raw(const char *what, const onr_op *ops, uint32_t n_ops, uint32_t kind,
                        uint32_t n_classes, uint32_t window, const char *kw)
{
	size_t size;
	unsigned char *p = raw_file(&size, ops, n_ops, kind, n_classes, window);
	refused(what, p, size, ONR_EFORMAT, kw);
	free(p);
}

static int load_ok(const void *data, size_t size, onr_model **out, const char *what)
{
	char err[512] = "";
	int st = onr_model_load_mem(out, data, size, err, sizeof err);
	CHECK(st == ONR_OK && *out, "%s: refused: %d %s", what, st, err);
	return st == ONR_OK && *out;
}

static int save_mem(const onr_model *m, unsigned char **data, size_t *size, const char *what)
{
	void *d = NULL;
	int st = onr_model_save_mem(m, &d, size);
	CHECK(st == ONR_OK && d, "%s: onr_model_save_mem: %d", what, st);
	*data = d;
	return st == ONR_OK && d;
}

/* Reads a whole file (NULL if it cannot). */
static unsigned char *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	unsigned char *p = malloc(cap);
	for (;;) {
		if (!p)
			break;
		size_t got = fread(p + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		unsigned char *q = realloc(p, cap * 2);
		if (!q) {
			free(p);
			p = NULL;
			break;
		}
		p = q;
		cap *= 2;
	}
	if (ferror(f)) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*size = n;
	return p;
}

static int write_all(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t put = size ? fwrite(data, 1, size, f) : 0;
	int bad = put != size;
	bad |= fclose(f) != 0;
	return bad ? -1 : 0;
}

/* Entries of a directory other than . and ..; the first in `first`. */
static int count_entries(const char *dir, char *first, size_t len)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	if (first && len)
		first[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == 0 && first && len)
			snprintf(first, len, "%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Names every entry of dir except `keep` into buf (for failure messages). */
static void others(const char *dir, const char *keep, char *buf, size_t len)
{
	DIR *d = opendir(dir);
	size_t used = 0;
	buf[0] = '\0';
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && used + 1 < len) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, keep))
			continue;
		int w = snprintf(buf + used, len - used, "%s ", e->d_name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	closedir(d);
}

static void rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				char sub[4096];
				snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
				rm_tree(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* ---------------------------------------------------------------- models */
static const char *const tiny_names[10] = {
	"dog bark", "rain", "speech", "music", "engine", "bird", "wind", "crowd", "siren",
	"caf\xc3\xa9 \xe2\x98\x95" /* "café ☕" */
};
static const char *const wide_names[7] = {
	"a", "bb", "ccc", "d d", "e\xcc\x81", /* e + combining acute */
	/* the longest name allowed: 63 bytes */
	"123456789012345678901234567890123456789012345678901234567890123",
	"last"
};
static const char *const hand_names[5] = {"kick", "snare", "hat", "tom", "cymbal"};
static const char *const binary_names[2] = {"boring", "interesting"};

static onr_model *make_model(const char *what, const onr_op *ops, uint32_t n_ops,
                             uint32_t rate, uint32_t window, uint32_t kind,
                             const char *const *names, uint32_t n_classes, uint32_t norm,
                             float norm_value, const char *meta, uint64_t seed)
{
	onr_model *m = NULL;
	char err[512] = "";
	int st = onr_model_new(&m, ops, n_ops, rate, window, kind, names, n_classes, err, sizeof err);
	CHECK(st == ONR_OK && m, "%s: onr_model_new: %d %s", what, st, err);
	if (st || !m)
		return NULL;
	m->norm = norm;
	m->norm_value = norm_value;
	if (meta)
		CHECK(onr_model_set_meta(m, meta) == ONR_OK, "%s: onr_model_set_meta", what);
	onr_model_init_params(m, seed);
	return m;
}

static onr_model *make_preset(const char *name, uint32_t n_classes, uint32_t kind,
                              const char *const *names, uint32_t norm, float norm_value,
                              const char *meta, uint64_t seed)
{
	onr_op ops[ONR_MAX_OPS];
	uint32_t n = onr_arch_preset(name, n_classes, ops);
	CHECK(n > 0, "preset %s unknown", name);
	if (!n)
		return NULL;
	return make_model(name, ops, n, 16000, 16000, kind, names, n_classes, norm, norm_value, meta,
	                  seed);
}

/* relu, an overlapping max-pool (k3 s2), convs with stride and padding,
 * several dense layers. Its receptive field is 43 samples (worked by hand:
 * from one sample before the global mean, back through pool k3 s2 -> 3,
 * conv k3 s1 p1 -> 3, conv k5 s2 p2 -> 5, pool k3 s2 -> 11, conv k9 s4 p3
 * -> 43). */
#define HAND_MIN_LEN 43u
static uint32_t hand_ops(onr_op *ops, uint32_t n_classes)
{
	uint32_t n = 0;
	ops[n++] = (onr_op){ONR_OP_CONV, 1, 6, 9, 4, 3, 0};
	ops[n++] = (onr_op){ONR_OP_RELU, 0, 0, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_MAXPOOL, 3, 2, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_CONV, 6, 5, 5, 2, 2, 0};
	ops[n++] = (onr_op){ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.2f};
	ops[n++] = (onr_op){ONR_OP_CONV, 5, 7, 3, 1, 1, 0};
	ops[n++] = (onr_op){ONR_OP_RELU, 0, 0, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_MAXPOOL, 3, 2, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_DENSE, 7, 9, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_RELU, 0, 0, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_DENSE, 9, 5, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.1f};
	ops[n++] = (onr_op){ONR_OP_DENSE, 5, n_classes, 0, 0, 0, 0};
	return n;
}

static onr_model *make_hand(void)
{
	onr_op ops[ONR_MAX_OPS];
	uint32_t n = hand_ops(ops, 5);
	return make_model("hand-built", ops, n, 8000, 4000, ONR_KIND_CLASSES, hand_names, 5,
	                  ONR_NORM_GAIN, 2.0f,
	                  "dataset: drums-v2\nmetrics: acc 0.91\ndate: 2024-05-01\nnote: hand-built",
	                  7);
}

static onr_model *make_binary(void)
{
	onr_op ops[ONR_MAX_OPS];
	uint32_t n = hand_ops(ops, 2);
	return make_model("binary", ops, n, 22050, 2205, ONR_KIND_BINARY, binary_names, 2,
	                  ONR_NORM_RMS, 0.05f, "kind: interestingness\nlabels: 312 / 1024", 99);
}

/* A log-mel front end (format version 2) before a small conv stack. */
static onr_model *make_logmel(void)
{
	onr_op ops[] = {
		{ONR_OP_LOGMEL, 256, 80, 24, 30, 7600, 1e-4f},
		{ONR_OP_CONV, 24, 12, 3, 1, 1, 0},
		{ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.01f},
		{ONR_OP_MAXPOOL, 2, 2, 0, 0, 0, 0},
		{ONR_OP_CONV, 12, 16, 3, 1, 1, 0},
		{ONR_OP_RELU, 0, 0, 0, 0, 0, 0},
		{ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0},
		{ONR_OP_DENSE, 16, 4, 0, 0, 0, 0},
	};
	return make_model("log-mel", ops, sizeof ops / sizeof ops[0], 16000, 4000, ONR_KIND_CLASSES,
	                  hand_names, 4, ONR_NORM_RMS, 0.1f, "front: log-mel", 5);
}

/* The smallest model there is: conv 1->1 k1, global mean, dense 1->2. */
static onr_model *make_minimal(const char *meta)
{
	onr_op ops[3] = {
		{ONR_OP_CONV, 1, 1, 1, 1, 0, 0},
		{ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0},
		{ONR_OP_DENSE, 1, 2, 0, 0, 0, 0},
	};
	return make_model("minimal", ops, 3, 1000, 1, ONR_KIND_BINARY, NULL, 2, ONR_NORM_NONE, 0.0f,
	                  meta, 3);
}

/* ---------------------------------------------------------------- comparisons */
static void same_model(const char *what, const onr_model *a, const onr_model *b)
{
	CHECK(a->sample_rate == b->sample_rate && a->window == b->window && a->kind == b->kind &&
	          a->norm == b->norm && fbits(a->norm_value) == fbits(b->norm_value),
	      "%s: header differs (rate %u/%u window %u/%u kind %u/%u norm %u/%u value %g/%g)", what,
	      a->sample_rate, b->sample_rate, a->window, b->window, a->kind, b->kind, a->norm,
	      b->norm, (double)a->norm_value, (double)b->norm_value);
	CHECK(a->n_classes == b->n_classes, "%s: %u vs %u classes", what, a->n_classes,
	      b->n_classes);
	if (a->n_classes == b->n_classes) {
		uint32_t bad = 0;
		for (uint32_t i = 0; i < a->n_classes; i++)
			bad += strcmp(a->class_names[i], b->class_names[i]) != 0;
		CHECK(bad == 0, "%s: %u class names differ", what, bad);
	}
	CHECK(!strcmp(a->meta, b->meta), "%s: metadata differs: \"%s\" vs \"%s\"", what, a->meta,
	      b->meta);
	CHECK(a->n_ops == b->n_ops, "%s: %u vs %u layers", what, a->n_ops, b->n_ops);
	if (a->n_ops == b->n_ops) {
		uint32_t bad = 0;
		for (uint32_t i = 0; i < a->n_ops; i++) {
			const onr_op *x = &a->ops[i], *y = &b->ops[i];
			bad += x->type != y->type || x->a != y->a || x->b != y->b || x->c != y->c ||
			       x->d != y->d || x->e != y->e || fbits(x->f) != fbits(y->f) ||
			       a->param_off[i] != b->param_off[i];
		}
		CHECK(bad == 0, "%s: %u layer records differ", what, bad);
	}
	CHECK(a->n_blocks == b->n_blocks && a->min_len == b->min_len,
	      "%s: blocks %u/%u, receptive field %u/%u", what, a->n_blocks, b->n_blocks, a->min_len,
	      b->min_len);
	if (a->n_blocks == b->n_blocks && a->n_blocks <= ONR_MAX_BLOCKS) {
		uint32_t bad = 0;
		for (uint32_t i = 0; i < a->n_blocks; i++)
			bad += a->block_first[i] != b->block_first[i] || a->block_pre[i] != b->block_pre[i] ||
			       a->block_last[i] != b->block_last[i];
		CHECK(bad == 0, "%s: %u blocks differ", what, bad);
	}
	CHECK(a->n_params == b->n_params, "%s: %zu vs %zu parameters", what, a->n_params,
	      b->n_params);
	if (a->n_params == b->n_params)
		CHECK(!memcmp(a->params, b->params, a->n_params * sizeof(float)),
		      "%s: parameters differ", what);
}

/* A test signal: a tone with a little noise, fixed forever. */
static void test_signal(float *x, uint32_t n, uint32_t rate)
{
	const double two_pi = 6.283185307179586;
	uint32_t s = 12345;
	for (uint32_t i = 0; i < n; i++) {
		s = s * 1664525u + 1013904223u;
		double noise = (double)(s >> 8) / 16777216.0 - 0.5;
		x[i] = (float)(0.5 * sin(two_pi * 440.0 * i / rate) + 0.1 * noise);
	}
}

static int all_finite(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return 0;
	return 1;
}

/* The two models compute the same thing, bit for bit: every layer's output
 * on the test signal, the class objective and its gradient. */
static void same_outputs(const char *what, const onr_model *a, const onr_model *b)
{
	uint32_t n = a->window;
	float *x = malloc(n * sizeof(float)), *dxa = malloc(n * sizeof(float)),
	      *dxb = malloc(n * sizeof(float));
	onr_net *na = NULL, *nb = NULL;
	int sa = onr_net_new(&na, a, n, 0), sb = onr_net_new(&nb, b, n, 0);
	CHECK(x && dxa && dxb && sa == ONR_OK && sb == ONR_OK, "%s: onr_net_new: %d %d", what, sa,
	      sb);
	if (!x || !dxa || !dxb || sa || sb)
		goto out;
	test_signal(x, n, a->sample_rate);
	float ska = onr_input_scale(a, x, n), skb = onr_input_scale(b, x, n);
	CHECK(fbits(ska) == fbits(skb) && isfinite(ska) && ska > 0.0f, "%s: input scale %g vs %g",
	      what, (double)ska, (double)skb);
	int fa = onr_net_forward(na, x, n, ska, UINT32_MAX);
	int fb = onr_net_forward(nb, x, n, skb, UINT32_MAX);
	CHECK(fa == ONR_OK && fb == ONR_OK, "%s: forward: %d %d", what, fa, fb);
	if (fa || fb)
		goto out;
	uint32_t bad = 0, first_bad = UINT32_MAX;
	for (uint32_t i = 0; i < a->n_ops; i++) {
		uint32_t ca, la, cb, lb;
		const float *oa = onr_net_output(na, i, &ca, &la);
		const float *ob = onr_net_output(nb, i, &cb, &lb);
		int same = oa && ob && ca == cb && la == lb &&
		           !memcmp(oa, ob, (size_t)ca * la * sizeof(float));
		if (!same) {
			bad++;
			if (first_bad == UINT32_MAX)
				first_bad = i;
		}
	}
	CHECK(bad == 0, "%s: %u layer outputs differ (first: layer %u)", what, bad, first_bad);
	uint32_t c, l;
	const float *logits = onr_net_output(na, a->n_ops - 1, &c, &l);
	CHECK(logits && c == a->n_classes && l == 1, "%s: logits shape %u x %u", what, c, l);
	if (logits && c == a->n_classes && l == 1) {
		int nonzero = 0;
		for (uint32_t k = 0; k < c; k++)
			nonzero |= logits[k] != 0.0f;
		CHECK(all_finite(logits, c) && nonzero, "%s: logits not finite or all zero", what);
	}
	onr_objective obj;
	memset(&obj, 0, sizeof obj);
	obj.mode = ONR_OBJ_CLASS;
	obj.cls = a->n_classes - 1;
	float ja = 0.0f, jb = 1.0f;
	fa = onr_net_objective(na, &obj, x, n, ska, &ja, dxa);
	fb = onr_net_objective(nb, &obj, x, n, skb, &jb, dxb);
	CHECK(fa == ONR_OK && fb == ONR_OK && fbits(ja) == fbits(jb) &&
	          !memcmp(dxa, dxb, n * sizeof(float)) && all_finite(dxa, n),
	      "%s: class objective differs: %d %d, %g vs %g", what, fa, fb, (double)ja, (double)jb);
out:
	onr_net_free(na);
	onr_net_free(nb);
	free(x);
	free(dxa);
	free(dxb);
}

/* ---------------------------------------------------------------- round trips */
/* Save then load, in memory and through a file, gives the same model. */
static void roundtrip(const char *what, const onr_model *m, const char *tmpdir)
{
	unsigned char *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	onr_model *m2 = NULL, *m3 = NULL;
	if (!m || !save_mem(m, &a, &na, what))
		return;
	uint32_t version = m->ops[0].type == ONR_OP_LOGMEL ? 2 : 1; /* the oldest that holds it */
	CHECK(na >= HDR + 4 && !memcmp(a, "ONRMODEL", 8) && rd32(a + O_VERSION) == version &&
	          rd32(a + O_FSIZE) == na && rd32(a + na - 4) == onr_crc32(0, a, na - 4),
	      "%s: saved file's magic, version, size or checksum is wrong", what);
	layout lay = layout_of(a);
	CHECK(lay.params + (size_t)lay.n_params * 4 + 4 == na && lay.n_params == m->n_params &&
	          lay.meta_len == strlen(m->meta) && lay.n_ops == m->n_ops,
	      "%s: saved file's sections do not add up", what);
	if (load_ok(a, na, &m2, what)) {
		same_model(what, m, m2);
		same_outputs(what, m, m2);
		/* what is loaded saves to the same bytes */
		if (save_mem(m2, &b, &nb, what))
			CHECK(na == nb && !memcmp(a, b, na), "%s: saving the loaded model gives other bytes",
			      what);
	}

	/* through a file, in a directory of its own */
	char dir[2048], path[3072], err[512] = "", extra[512];
	snprintf(dir, sizeof dir, "%s/rt-%s", tmpdir, what);
	CHECK(mkdir(dir, 0700) == 0, "%s: mkdir %s: %s", what, dir, strerror(errno));
	snprintf(path, sizeof path, "%s/model.onm", dir);
	int st = onr_model_save_file(m, path, err, sizeof err);
	CHECK(st == ONR_OK, "%s: onr_model_save_file: %d %s", what, st, err);
	size_t nf = 0;
	unsigned char *f = read_all(path, &nf);
	CHECK(f && nf == na && !memcmp(f, a, na), "%s: the file holds other bytes than save_mem",
	      what);
	free(f);
	others(dir, "model.onm", extra, sizeof extra);
	CHECK(count_entries(dir, NULL, 0) == 1, "%s: the save left other files beside it: %s", what,
	      extra);
	st = onr_model_load_file(&m3, path, err, sizeof err);
	CHECK(st == ONR_OK && m3, "%s: onr_model_load_file: %d %s", what, st, err);
	if (st == ONR_OK && m3) {
		same_model(what, m, m3);
		same_outputs(what, m, m3);
	}
	onr_model_free(m2);
	onr_model_free(m3);
	free(a);
	free(b);
}

/* ---------------------------------------------------------------- damage */
/* Every prefix and every padded copy of a valid file is refused. */
static void truncations(const char *what, const unsigned char *file, size_t size)
{
	char why[700], first[800] = "";
	size_t bad = 0;
	/* small files: each prefix in a buffer of exactly its length, so that
	 * AddressSanitizer sees any read past it; big files: the start and the
	 * end that way, the middle in place */
	for (size_t n = 0; n < size; n++) {
		int exact = size <= 32768 || n < 4096 || size - n <= 4096 || n % 101 == 0;
		unsigned char *p = exact ? dup_bytes(file, n) : NULL;
		if (!try_refuse(exact ? p : file, n, ONR_EFORMAT, "bytes", why, sizeof why)) {
			if (!bad++)
				snprintf(first, sizeof first, "prefix of %zu bytes: %s", n, why);
		}
		free(p);
	}
	CHECK(bad == 0, "%s: %zu of %zu truncations not refused properly; first: %s", what, bad,
	      size, first);

	static const size_t extra[] = {1, 3, 4, 8, 100};
	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
		char label[200];
		unsigned char *p = calloc(1, size + extra[i]);
		memcpy(p, file, size);
		snprintf(label, sizeof label, "%s + %zu zero bytes", what, extra[i]);
		refused(label, p, size + extra[i], ONR_EFORMAT, "bytes");
		/* the same with the file's own tail repeated */
		for (size_t k = 0; k < extra[i]; k++)
			p[size + k] = file[size - 1 - k % size];
		snprintf(label, sizeof label, "%s + %zu bytes of its tail", what, extra[i]);
		refused(label, p, size + extra[i], ONR_EFORMAT, NULL);
		/* and with file_size and the checksum made to agree: the sections
		 * no longer add up */
		refix(p, size + extra[i]);
		snprintf(label, sizeof label, "%s + %zu bytes, size and checksum fixed", what, extra[i]);
		refused(label, p, size + extra[i], ONR_EFORMAT, "sections");
		free(p);
	}
}

/* Every single-byte change of a valid file is refused: by the checksum, or
 * before it by the magic, version or size checks. */
static void byte_flips(const char *what, const unsigned char *file, size_t size,
                       const unsigned char *masks, size_t n_masks)
{
	unsigned char *p = dup_bytes(file, size);
	char why[700], first[800] = "";
	size_t bad = 0, tried = 0;
	for (size_t mi = 0; mi < n_masks; mi++) {
		for (size_t off = 0; off < size; off++) {
			const char *kw = off < 8 ? "magic" : off < 12 ? "version" : off < 16 ? "bytes"
			                                                                     : "checksum";
			p[off] ^= masks[mi];
			/* a flip between versions 1 and 2, both readable, is caught
			 * by the checksum */
			if (off == 8 && (p[8] == 1 || p[8] == 2) && !p[9] && !p[10] && !p[11])
				kw = "checksum";
			tried++;
			if (!try_refuse(p, size, ONR_EFORMAT, kw, why, sizeof why)) {
				if (!bad++)
					snprintf(first, sizeof first, "byte %zu ^ 0x%02x: %s", off, masks[mi], why);
			}
			p[off] ^= masks[mi];
		}
	}
	CHECK(!memcmp(p, file, size), "%s: flips not undone (test bug)", what);
	CHECK(bad == 0, "%s: %zu of %zu byte changes not refused properly; first: %s", what, bad,
	      tried, first);
	free(p);
}

/* ---------------------------------------------------------------- hostile files */
/* Files with a correct size and checksum whose fields are wrong. */
static void hostile(void)
{
	onr_model *hm = make_hand();
	unsigned char *h = NULL;
	size_t hs = 0;
	if (!hm || !save_mem(hm, &h, &hs, "hand-built")) {
		onr_model_free(hm);
		return;
	}
	layout L = layout_of(h);
	onr_model *m = NULL;
	/* the patch helper itself changes nothing that matters */
	{
		unsigned char *p = dup_bytes(h, hs);
		patch32(p, hs, O_RATE, rd32(h + O_RATE));
		CHECK(!memcmp(p, h, hs), "patch32 with the same value changed the file");
		if (load_ok(p, hs, &m, "identity patch"))
			onr_model_free(m);
		free(p);
	}

	/* magic, version, size, checksum */
	{
		unsigned char *p = dup_bytes(h, hs);
		memcpy(p, "ONRMODEM", 8);
		refix(p, hs);
		refused("wrong magic", p, hs, ONR_EFORMAT, "magic");
		memset(p, 0, 8);
		refix(p, hs);
		refused("zero magic", p, hs, ONR_EFORMAT, "magic");
		memcpy(p, "RIFF\0\0\0\0", 8);
		refix(p, hs);
		refused("a WAV file's magic", p, hs, ONR_EFORMAT, "magic");
		free(p);
	}
	hostile32("version 0", h, hs, O_VERSION, 0, "version");
	hostile32("version 3", h, hs, O_VERSION, 3, "version");
	/* version 2 only adds the log-mel front end: a file without one reads
	 * the same under either number */
	{
		unsigned char *p = dup_bytes(h, hs);
		patch32(p, hs, O_VERSION, 2);
		if (load_ok(p, hs, &m, "version 2 without a front end"))
			onr_model_free(m);
		free(p);
	}
	/* a front end in a version 1 file is refused: version 1 readers never
	 * knew it */
	{
		onr_model *lm = make_logmel();
		unsigned char *p = NULL;
		size_t ps = 0;
		if (lm && save_mem(lm, &p, &ps, "log-mel")) {
			CHECK(rd32(p + O_VERSION) == 2, "a log-mel model is saved as version %u",
			      rd32(p + O_VERSION));
			patch32(p, ps, O_VERSION, 1);
			refused("log-mel in a version 1 file", p, ps, ONR_EFORMAT, "version");
		}
		free(p);
		onr_model_free(lm);
	}
	/* hostile front ends, each refused with its reason */
	{
		static const struct { onr_op o; const char *kw; } bad[] = {
			{{ONR_OP_LOGMEL, 255, 80, 24, 0, 0, 1e-4f}, "FFT"},
			{{ONR_OP_LOGMEL, 0xFFFFFFFEu, 80, 24, 0, 0, 1e-4f}, "FFT"},
			{{ONR_OP_LOGMEL, 256, 0, 24, 0, 0, 1e-4f}, "hop"},
			{{ONR_OP_LOGMEL, 256, 80, 0xFFFFFFFFu, 0, 0, 1e-4f}, "bands"},
			{{ONR_OP_LOGMEL, 256, 80, 24, 9000, 0, 1e-4f}, "band"},
			{{ONR_OP_LOGMEL, 256, 80, 24, 0, 0, -1.0f}, "floor"},
			{{ONR_OP_LOGMEL, 256, 80, 24, 0, 0, INFINITY}, "floor"},
		};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			onr_op ops[] = {bad[i].o, {ONR_OP_CONV, 24, 2, 1, 1, 0, 0},
			                {ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0}, {ONR_OP_DENSE, 2, 2, 0, 0, 0, 0}};
			char what[64];
			snprintf(what, sizeof what, "hostile log-mel front end %zu", i);
			hostile_raw(what, ops, 4, ONR_KIND_CLASSES, 2, 4000, bad[i].kw);
		}
		onr_op twice[] = {{ONR_OP_LOGMEL, 256, 80, 24, 0, 0, 1e-4f},
		                  {ONR_OP_LOGMEL, 256, 80, 24, 0, 0, 1e-4f},
		                  {ONR_OP_CONV, 24, 2, 1, 1, 0, 0}, {ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0},
		                  {ONR_OP_DENSE, 2, 2, 0, 0, 0, 0}};
		hostile_raw("two front ends", twice, 5, ONR_KIND_CLASSES, 2, 4000, "first");
		onr_op shortwin[] = {{ONR_OP_LOGMEL, 256, 80, 24, 0, 0, 1e-4f},
		                     {ONR_OP_CONV, 24, 2, 1, 1, 0, 0}, {ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0},
		                     {ONR_OP_DENSE, 2, 2, 0, 0, 0, 0}};
		hostile_raw("a window shorter than one frame", shortwin, 4, ONR_KIND_CLASSES, 2, 255,
		            "window");
	}
	hostile32("version 0xffffffff", h, hs, O_VERSION, 0xFFFFFFFFu, "version");
	{
		unsigned char *p = dup_bytes(h, hs);
		wr32(p + O_FSIZE, (uint32_t)hs + 1);
		wr32(p + hs - 4, onr_crc32(0, p, hs - 4));
		refused("file_size one more than the file", p, hs, ONR_EFORMAT, "bytes");
		wr32(p + O_FSIZE, (uint32_t)hs - 4);
		wr32(p + hs - 4, onr_crc32(0, p, hs - 4));
		refused("file_size 4 less than the file", p, hs, ONR_EFORMAT, "bytes");
		wr32(p + O_FSIZE, 0xFFFFFFFFu);
		wr32(p + hs - 4, onr_crc32(0, p, hs - 4));
		refused("file_size 4 GiB", p, hs, ONR_EFORMAT, "bytes");
		memcpy(p, h, hs);
		wr32(p + hs - 4, rd32(h + hs - 4) ^ 0x80000000u);
		refused("checksum off by one bit", p, hs, ONR_EFORMAT, "checksum");
		wr32(p + hs - 4, 0);
		refused("checksum zero", p, hs, ONR_EFORMAT, "checksum");
		free(p);
	}

	/* header fields */
	hostile32("sample rate 0", h, hs, O_RATE, 0, "sample rate");
	hostile32("sample rate 999", h, hs, O_RATE, 999, "sample rate");
	hostile32("sample rate 384001", h, hs, O_RATE, 384001, "sample rate");
	hostile32("sample rate 0xffffffff", h, hs, O_RATE, 0xFFFFFFFFu, "sample rate");
	hostile32("window 0", h, hs, O_WINDOW, 0, "window");
	hostile32("window below the receptive field", h, hs, O_WINDOW, HAND_MIN_LEN - 1, "window");
	hostile32("window 2^24 + 1", h, hs, O_WINDOW, (1u << 24) + 1, "window");
	hostile32("window 0xffffffff", h, hs, O_WINDOW, 0xFFFFFFFFu, "window");
	hostile32("kind 2", h, hs, O_KIND, 2, "kind");
	hostile32("kind 0xffffffff", h, hs, O_KIND, 0xFFFFFFFFu, "kind");
	hostile32("binary kind with 5 classes", h, hs, O_KIND, ONR_KIND_BINARY, "binary");
	hostile32("norm 3", h, hs, O_NORM, 3, "normalisation");
	hostile32("norm 0xffffffff", h, hs, O_NORM, 0xFFFFFFFFu, "normalisation");
	hostilef("gain 0", h, hs, O_NORMV, 0.0f, "normalisation");
	hostilef("gain -1", h, hs, O_NORMV, -1.0f, "normalisation");
	hostilef("gain NaN", h, hs, O_NORMV, NAN, "normalisation");
	hostilef("gain Inf", h, hs, O_NORMV, INFINITY, "normalisation");
	{
		edit e[2] = {{O_NORM, ONR_NORM_RMS}, {O_NORMV, fbits(NAN)}};
		hostile_edits("RMS target NaN", h, hs, e, 2, "normalisation");
		e[1].v = fbits(-INFINITY);
		hostile_edits("RMS target -Inf", h, hs, e, 2, "normalisation");
	}
	hostile32("0 classes", h, hs, O_NCLASSES, 0, "classes");
	hostile32("1 class", h, hs, O_NCLASSES, 1, "classes");
	hostile32("257 classes", h, hs, O_NCLASSES, 257, "classes");
	hostile32("10^6 classes", h, hs, O_NCLASSES, 1000000, "classes");
	hostile32("0xffffffff classes", h, hs, O_NCLASSES, 0xFFFFFFFFu, "classes");
	hostile32("0 layers", h, hs, O_NOPS, 0, "layers");
	hostile32("65 layers", h, hs, O_NOPS, 65, "layers");
	hostile32("10^6 layers", h, hs, O_NOPS, 1000000, "layers");
	hostile32("0xffffffff layers", h, hs, O_NOPS, 0xFFFFFFFFu, "layers");
	hostile32("one layer fewer", h, hs, O_NOPS, L.n_ops - 1, "sections");
	hostile32("meta_len 65537", h, hs, O_METALEN, 65537, "metadata");
	hostile32("meta_len 0xffffffff", h, hs, O_METALEN, 0xFFFFFFFFu, "metadata");
	hostile32("meta_len 4 more", h, hs, O_METALEN, L.meta_len + 4, "sections");
	hostile32("n_params one more", h, hs, O_NPARAMS, L.n_params + 1, "sections");
	hostile32("n_params one less", h, hs, O_NPARAMS, L.n_params - 1, "sections");
	hostile32("n_params 2^31", h, hs, O_NPARAMS, 1u << 31, "parameters");
	hostile32("n_params 0xffffffff", h, hs, O_NPARAMS, 0xFFFFFFFFu, "parameters");
	hostile32("n_params 64 Mi + 1", h, hs, O_NPARAMS, ONR_MAX_PARAMS + 1, "parameters");
	{
		/* n_params one more, with one more float in the file: every
		 * section adds up, but the architecture does not have it */
		size_t s2 = hs + 4;
		unsigned char *p = calloc(1, s2);
		memcpy(p, h, hs - 4);
		wr32(p + O_NPARAMS, L.n_params + 1);
		refix(p, s2);
		refused("n_params one more than the architecture", p, s2, ONR_EFORMAT, "parameters");
		/* and one fewer */
		memcpy(p, h, hs - 8);
		wr32(p + O_NPARAMS, L.n_params - 1);
		refix(p, hs - 4);
		refused("n_params one less than the architecture", p, hs - 4, ONR_EFORMAT, "parameters");
		free(p);
	}

	/* layer records */
	hostile32("conv 0 output channels", h, hs, O_OP(0, F_B), 0, "channels");
	hostile32("conv 10^9 output channels", h, hs, O_OP(0, F_B), 1000000000u, "channels");
	hostile32("conv 4097 output channels", h, hs, O_OP(0, F_B), 4097, "channels");
	hostile32("first conv 0 input channels", h, hs, O_OP(0, F_A), 0, "channels");
	hostile32("first conv 2 input channels", h, hs, O_OP(0, F_A), 2, "channels");
	hostile32("conv input channels not the previous output", h, hs, O_OP(3, F_A), 5, "channels");
	hostile32("conv 0 input channels mid-network", h, hs, O_OP(3, F_A), 0, "channels");
	hostile32("conv 4097 channels mid-network", h, hs, O_OP(5, F_B), 4097, "channels");
	hostile32("kernel 0", h, hs, O_OP(0, F_C), 0, "kernel");
	hostile32("kernel 4097", h, hs, O_OP(0, F_C), 4097, "kernel");
	hostile32("kernel 0xffffffff", h, hs, O_OP(0, F_C), 0xFFFFFFFFu, "kernel");
	hostile32("stride 0", h, hs, O_OP(0, F_D), 0, "stride");
	hostile32("stride above the kernel", h, hs, O_OP(0, F_D), 10, "stride");
	hostile32("stride 0xffffffff", h, hs, O_OP(0, F_D), 0xFFFFFFFFu, "stride");
	hostile32("padding equal to the kernel", h, hs, O_OP(0, F_E), 9, "padding");
	hostile32("padding above the kernel", h, hs, O_OP(3, F_E), 100, "padding");
	hostile32("padding 0xffffffff", h, hs, O_OP(0, F_E), 0xFFFFFFFFu, "padding");
	hostile32("max-pool kernel 0", h, hs, O_OP(2, F_A), 0, "max-pool");
	hostile32("max-pool kernel 4097", h, hs, O_OP(2, F_A), 4097, "max-pool");
	hostile32("max-pool stride 0", h, hs, O_OP(2, F_B), 0, "max-pool");
	hostile32("max-pool stride above the kernel", h, hs, O_OP(2, F_B), 4, "max-pool");
	hostilef("leaky slope 0", h, hs, O_OP(4, F_F), 0.0f, "slope");
	hostilef("leaky slope 1", h, hs, O_OP(4, F_F), 1.0f, "slope");
	hostilef("leaky slope -0.5", h, hs, O_OP(4, F_F), -0.5f, "slope");
	hostilef("leaky slope NaN", h, hs, O_OP(4, F_F), NAN, "slope");
	hostilef("leaky slope Inf", h, hs, O_OP(4, F_F), INFINITY, "slope");
	hostile32("dense 0 outputs", h, hs, O_OP(9, F_B), 0, "outputs");
	hostile32("dense 4097 outputs", h, hs, O_OP(9, F_B), 4097, "outputs");
	hostile32("dense inputs not the channels before it", h, hs, O_OP(9, F_A), 8, "inputs");
	hostile32("dense inputs not the previous dense's outputs", h, hs, O_OP(11, F_A), 8,
	          "inputs");
	hostile32("last dense not n_classes outputs", h, hs, O_OP(13, F_B), 4, "logits");
	hostile32("unknown layer type 8", h, hs, O_OP(1, F_TYPE), 8, "unknown layer type");
	hostile32("a front end in the middle", h, hs, O_OP(1, F_TYPE), ONR_OP_LOGMEL, "first");
	hostile32("unknown layer type 0", h, hs, O_OP(6, F_TYPE), 0, "unknown layer type");
	hostile32("unknown layer type 0xffffffff", h, hs, O_OP(10, F_TYPE), 0xFFFFFFFFu,
	          "unknown layer type");
	hostile32("first layer of unknown type 99", h, hs, O_OP(0, F_TYPE), 99, "unknown layer type");
	hostile32("first layer a relu", h, hs, O_OP(0, F_TYPE), ONR_OP_RELU, "first layer");
	{
		/* dense 7->9 and the global mean swapped: same parameters */
		edit e[] = {{O_OP(8, F_TYPE), ONR_OP_DENSE}, {O_OP(8, F_A), 7}, {O_OP(8, F_B), 9},
		            {O_OP(9, F_TYPE), ONR_OP_GMEAN}, {O_OP(9, F_A), 0}, {O_OP(9, F_B), 0}};
		hostile_edits("a dense before the global mean", h, hs, e, 6, "dense before");
		/* a conv 7->9 k1 in place of the dense 7->9: same parameters */
		edit c[] = {{O_OP(9, F_TYPE), ONR_OP_CONV}, {O_OP(9, F_C), 1}, {O_OP(9, F_D), 1}};
		hostile_edits("a conv after the global mean", h, hs, c, 3, "conv after");
	}
	hostile32("a relu right after the global mean", h, hs, O_OP(9, F_TYPE), ONR_OP_RELU,
	          "must follow");
	hostile32("a second global mean", h, hs, O_OP(10, F_TYPE), ONR_OP_GMEAN, "second");
	{
		edit e[] = {{O_OP(10, F_TYPE), ONR_OP_MAXPOOL}, {O_OP(10, F_A), 1}, {O_OP(10, F_B), 1}};
		hostile_edits("a max-pool after the global mean", h, hs, e, 3, "max-pool after");
	}

	/* class names */
	{
		unsigned char *p = dup_bytes(h, hs);
		memset(p + L.names + NAMEB, 'A', NAMEB);
		refix(p, hs);
		refused("class name without NUL terminator", p, hs, ONR_EFORMAT, "name");
		memcpy(p, h, hs);
		memset(p + L.names + 2 * NAMEB, 0, NAMEB);
		refix(p, hs);
		refused("empty class name", p, hs, ONR_EFORMAT, "name");
		memcpy(p, h, hs);
		p[L.names + 4 * NAMEB + 1] = '\n';
		refix(p, hs);
		refused("class name with a newline", p, hs, ONR_EFORMAT, "control");
		memcpy(p, h, hs);
		p[L.names + 0] = 0x7f;
		refix(p, hs);
		refused("class name with DEL", p, hs, ONR_EFORMAT, "control");
		free(p);
	}
	/* metadata */
	{
		unsigned char *p = dup_bytes(h, hs);
		CHECK(L.meta_len > 10, "hand-built model has metadata");
		p[L.meta + 3] = 0;
		refix(p, hs);
		refused("a NUL inside the metadata", p, hs, ONR_EFORMAT, "NUL");
		memcpy(p, h, hs);
		p[L.meta + L.meta_len - 1] = 0;
		refix(p, hs);
		refused("a NUL at the end of the metadata", p, hs, ONR_EFORMAT, "NUL");
		free(p);
	}
	/* parameters */
	{
		static const uint32_t bad_bits[] = {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7f800000u,
		                                    0xff800000u};
		static const char *const bad_name[] = {"NaN", "-NaN", "signalling NaN", "+Inf", "-Inf"};
		size_t where[3] = {0, L.n_params / 2, L.n_params - 1};
		for (size_t w = 0; w < 3; w++)
			for (size_t k = 0; k < sizeof bad_bits / sizeof bad_bits[0]; k++) {
				char label[128];
				snprintf(label, sizeof label, "%s weight at parameter %zu", bad_name[k], where[w]);
				hostile32(label, h, hs, L.params + where[w] * 4, bad_bits[k], "finite");
			}
		/* the largest finite float is a parameter like any other */
		unsigned char *p = dup_bytes(h, hs);
		patch32(p, hs, L.params, 0x7f7fffffu);
		if (load_ok(p, hs, &m, "FLT_MAX weight"))
			onr_model_free(m);
		free(p);
	}

	/* architectures built whole (sizes and parameters consistent) */
	{
		const onr_op conv1 = {ONR_OP_CONV, 1, 1, 1, 1, 0, 0};
		const onr_op gmean = {ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0};
		const onr_op dense2 = {ONR_OP_DENSE, 1, 2, 0, 0, 0, 0};
		const onr_op dense3 = {ONR_OP_DENSE, 1, 3, 0, 0, 0, 0};
		const onr_op relu = {ONR_OP_RELU, 0, 0, 0, 0, 0, 0};
		onr_op ops[ONR_MAX_OPS + 2];
		size_t size;

		/* first, the raw writer agrees with the library's: a valid raw file
		 * loads and saves back to the same bytes */
		ops[0] = conv1;
		ops[1] = gmean;
		ops[2] = dense3;
		unsigned char *p = raw_file(&size, ops, 3, ONR_KIND_CLASSES, 3, 100);
		if (load_ok(p, size, &m, "raw 3-class file")) {
			unsigned char *q;
			size_t qs;
			if (save_mem(m, &q, &qs, "raw 3-class file")) {
				CHECK(qs == size && !memcmp(p, q, size),
				      "a file written from the format document saves back differently");
				free(q);
			}
			onr_model_free(m);
		}
		free(p);

		hostile_raw("binary kind with 3 classes", ops, 3, ONR_KIND_BINARY, 3, 100, "binary");
		ops[0] = conv1;
		ops[1] = relu;
		hostile_raw("no global mean", ops, 2, ONR_KIND_BINARY, 2, 100, "global mean");
		ops[0] = conv1;
		ops[1] = gmean;
		ops[2] = dense2;
		ops[3] = relu;
		hostile_raw("last layer not dense", ops, 4, ONR_KIND_BINARY, 2, 100, "last layer");
		hostile_raw("the global mean last", ops, 2, ONR_KIND_BINARY, 2, 100, NULL);
		ops[0] = (onr_op){ONR_OP_DENSE, 1, 2, 0, 0, 0, 0};
		hostile_raw("a dense first", ops, 1, ONR_KIND_BINARY, 2, 100, "first layer");
		ops[0] = conv1;
		ops[1] = relu;
		ops[2] = relu;
		ops[3] = gmean;
		ops[4] = dense2;
		p = raw_file(&size, ops, 5, ONR_KIND_BINARY, 2, 100);
		if (load_ok(p, size, &m, "two relus in a row"))
			onr_model_free(m);
		free(p);
		/* 16 blocks load (15 convs, the global mean with its dense), 17 do not */
		uint32_t n = 0;
		for (int i = 0; i < 15; i++)
			ops[n++] = conv1;
		ops[n++] = gmean;
		ops[n++] = dense2;
		p = raw_file(&size, ops, n, ONR_KIND_BINARY, 2, 100);
		if (load_ok(p, size, &m, "16 blocks"))
			onr_model_free(m);
		free(p);
		ops[n - 1] = (onr_op){ONR_OP_DENSE, 1, 1, 0, 0, 0, 0};
		ops[n++] = dense2;
		hostile_raw("17 blocks", ops, n, ONR_KIND_BINARY, 2, 100, "more than");
		/* 64 layers load, 65 do not */
		n = 0;
		ops[n++] = conv1;
		while (n < ONR_MAX_OPS - 2)
			ops[n++] = relu;
		ops[n++] = gmean;
		ops[n++] = dense2;
		p = raw_file(&size, ops, n, ONR_KIND_BINARY, 2, 100);
		if (load_ok(p, size, &m, "64 layers"))
			onr_model_free(m);
		free(p);
		ops[n] = ops[n - 1];
		ops[n - 1] = ops[n - 2];
		ops[n - 2] = relu;
		hostile_raw("65 layers, built whole", ops, n + 1, ONR_KIND_BINARY, 2, 100, "layers");
		/* receptive field: two convs k4096 s4096 reach exactly 2^24 samples */
		const onr_op big = {ONR_OP_CONV, 1, 1, 4096, 4096, 0, 0};
		ops[0] = big;
		ops[1] = big;
		ops[2] = gmean;
		ops[3] = dense2;
		p = raw_file(&size, ops, 4, ONR_KIND_BINARY, 2, 1u << 24);
		if (load_ok(p, size, &m, "receptive field of 2^24")) {
			CHECK(m->min_len == 1u << 24, "receptive field %u, want 2^24", m->min_len);
			onr_model_free(m);
		}
		free(p);
		hostile_raw("window one below a 2^24 receptive field", ops, 4, ONR_KIND_BINARY, 2,
		            (1u << 24) - 1, "window");
		ops[2] = big;
		ops[3] = gmean;
		ops[4] = dense2;
		hostile_raw("receptive field of 2^36", ops, 5, ONR_KIND_BINARY, 2, 1u << 24,
		            "receptive field");
		/* a receptive field that overflows 32 bits, one kernel 4096 at a time */
		for (n = 0; n < 8; n++)
			ops[n] = (onr_op){ONR_OP_MAXPOOL, 4096, 4096, 0, 0, 0, 0};
		ops[0] = big;
		ops[n++] = gmean;
		ops[n++] = dense2;
		hostile_raw("eight layers of k4096 s4096", ops, n, ONR_KIND_BINARY, 2, 1u << 24,
		            "receptive field");

		/* too many parameters: patched in, the file cannot hold them */
		ops[0] = (onr_op){ONR_OP_CONV, 1, 2, 2, 1, 0, 0};
		ops[1] = (onr_op){ONR_OP_CONV, 2, 2, 2, 1, 0, 0};
		ops[2] = gmean;
		ops[3] = (onr_op){ONR_OP_DENSE, 2, 2, 0, 0, 0, 0};
		p = raw_file(&size, ops, 4, ONR_KIND_BINARY, 2, 100);
		edit e[] = {{O_OP(0, F_B), 4096}, {O_OP(0, F_C), 4096}, {O_OP(1, F_A), 4096},
		            {O_OP(1, F_B), 4096}, {O_OP(1, F_C), 4096}, {O_OP(3, F_A), 4096}};
		hostile_edits("4096 x 4096 x 4096 conv (68 G parameters)", p, size, e, 6, "parameters");
		hostile_edits("4096 x 4096 x 4096 conv, no second conv", p, size, e, 3, NULL);
		free(p);
	}

	/* error buffers: none, one byte, a few bytes */
	{
		unsigned char *p = dup_bytes(h, hs);
		patch32(p, hs, O_OP(0, F_B), 0);
		m = &dummy_model;
		CHECK(onr_model_load_mem(&m, p, hs, NULL, 0) == ONR_EFORMAT && !m,
		      "refusal without an error buffer");
		char small[8];
		memset(small, 'x', sizeof small);
		m = &dummy_model;
		int st = onr_model_load_mem(&m, p, hs, small, 1);
		CHECK(st == ONR_EFORMAT && !m && small[0] == '\0' && small[1] == 'x',
		      "a one-byte error buffer holds just the NUL");
		memset(small, 'x', sizeof small);
		st = onr_model_load_mem(&m, p, hs, small, 5);
		CHECK(st == ONR_EFORMAT && strlen(small) == 4 && small[5] == 'x',
		      "a five-byte error buffer is truncated, terminated, not overrun");
		free(p);
	}
	free(h);
	onr_model_free(hm);
}

/* ---------------------------------------------------------------- files */
static void file_level(const char *tmpdir)
{
	char dir[2048], path[3072], path2[3072], err[512];
	onr_model *m = NULL;
	int st;
	snprintf(dir, sizeof dir, "%s/files", tmpdir);
	CHECK(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));

	/* a missing file */
	snprintf(path, sizeof path, "%s/no-such-model.onm", dir);
	err[0] = '\0';
	m = &dummy_model;
	st = onr_model_load_file(&m, path, err, sizeof err);
	CHECK(st == ONR_EIO && !m && strstr(err, path) && contains_ci(err, "no such file"),
	      "missing file: status %d, message \"%s\"", st, err);

	/* a directory */
	err[0] = '\0';
	m = &dummy_model;
	st = onr_model_load_file(&m, dir, err, sizeof err);
	CHECK(st != ONR_OK && !m && strstr(err, dir), "a directory: status %d, message \"%s\"", st,
	      err);
	CHECK(contains_ci(err, "directory") && !contains_ci(err, "magic"),
	      "loading a directory says \"%s\": it should say it is a directory", err);

	/* an empty file */
	snprintf(path, sizeof path, "%s/empty.onm", dir);
	CHECK(write_all(path, "", 0) == 0, "cannot write %s", path);
	err[0] = '\0';
	m = &dummy_model;
	st = onr_model_load_file(&m, path, err, sizeof err);
	CHECK(st == ONR_EFORMAT && !m && strstr(err, path), "an empty file: status %d, message \"%s\"",
	      st, err);

	/* files cut short on disk: refused, with the path, as too short (the
	 * magic number is intact in all but the first) */
	onr_model *hm = make_hand();
	unsigned char *h = NULL;
	size_t hs = 0;
	if (!hm || !save_mem(hm, &h, &hs, "hand-built")) {
		onr_model_free(hm);
		return;
	}
	static const size_t cuts[] = {4, 8, 12, 15, 16, 51, 52, 56, 200};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		size_t n = cuts[i];
		snprintf(path, sizeof path, "%s/cut%zu.onm", dir, n);
		CHECK(write_all(path, h, n) == 0, "cannot write %s", path);
		err[0] = '\0';
		m = &dummy_model;
		st = onr_model_load_file(&m, path, err, sizeof err);
		CHECK(st == ONR_EFORMAT && !m && strstr(err, path),
		      "file cut to %zu bytes: status %d, message \"%s\"", n, st, err);
		if (n >= 8)
			CHECK(!contains_ci(err, "magic"),
			      "file cut to %zu bytes (magic intact) is said to have a bad magic number: "
			      "\"%s\"",
			      n, err);
	}
	snprintf(path, sizeof path, "%s/cut.onm", dir);
	CHECK(write_all(path, h, hs - 1) == 0, "cannot write %s", path);
	err[0] = '\0';
	st = onr_model_load_file(&m, path, err, sizeof err);
	CHECK(st == ONR_EFORMAT && !m && strstr(err, path) && contains_ci(err, "bytes"),
	      "file missing its last byte: status %d, message \"%s\"", st, err);
	/* a corrupt file names the path and the checksum */
	{
		unsigned char *p = dup_bytes(h, hs);
		p[hs / 2] ^= 0x10;
		snprintf(path, sizeof path, "%s/corrupt.onm", dir);
		CHECK(write_all(path, p, hs) == 0, "cannot write %s", path);
		err[0] = '\0';
		st = onr_model_load_file(&m, path, err, sizeof err);
		CHECK(st == ONR_EFORMAT && !m && strstr(err, path) && contains_ci(err, "checksum"),
		      "corrupt file: status %d, message \"%s\"", st, err);
		free(p);
	}

	/* files bigger than any model: refused from their size, before they are
	 * read (sparse files, so they cost no disk) */
	{
		static const long long bigs[] = {301LL * 1024 * 1024, 5LL * 1024 * 1024 * 1024};
		for (size_t i = 0; i < sizeof bigs / sizeof bigs[0]; i++) {
			snprintf(path, sizeof path, "%s/big%zu.onm", dir, i);
			FILE *f = fopen(path, "wb");
			int made = f && fwrite(h, 1, 64, f) == 64 && fflush(f) == 0 &&
			           ftruncate(fileno(f), (off_t)bigs[i]) == 0;
			if (f)
				fclose(f);
			CHECK(made, "cannot make a sparse file of %lld bytes", bigs[i]);
			if (!made)
				continue;
			err[0] = '\0';
			m = &dummy_model;
			st = onr_model_load_file(&m, path, err, sizeof err);
			CHECK(st == ONR_EFORMAT && !m && strstr(err, path) && contains_ci(err, "bytes"),
			      "a file of %lld bytes: status %d, message \"%s\"", bigs[i], st, err);
			unlink(path);
		}
	}

	/* saving into a directory that does not exist */
	snprintf(path, sizeof path, "%s/no/such/dir/model.onm", dir);
	err[0] = '\0';
	st = onr_model_save_file(hm, path, err, sizeof err);
	CHECK(st == ONR_EIO && err[0] && strstr(err, "/no/such/dir/"),
	      "save into a missing directory: status %d, message \"%s\"", st, err);

	/* saving over a good model: the old one is replaced whole... */
	char sdir[2560];
	snprintf(sdir, sizeof sdir, "%s/save", dir);
	CHECK(mkdir(sdir, 0700) == 0, "mkdir %s", sdir);
	snprintf(path, sizeof path, "%s/model.onm", sdir);
	onr_model *tm = make_preset("tiny", 10, ONR_KIND_CLASSES, tiny_names, ONR_NORM_NONE, 0.0f,
	                            "dataset: other", 5);
	unsigned char *t = NULL, *old = NULL;
	size_t ts = 0, olds = 0;
	if (!tm || !save_mem(tm, &t, &ts, "tiny")) {
		onr_model_free(tm);
		free(h);
		onr_model_free(hm);
		return;
	}
	st = onr_model_save_file(hm, path, err, sizeof err);
	CHECK(st == ONR_OK, "save: %d %s", st, err);
	st = onr_model_save_file(tm, path, err, sizeof err);
	CHECK(st == ONR_OK, "save over an existing model: %d %s", st, err);
	old = read_all(path, &olds);
	CHECK(old && olds == ts && !memcmp(old, t, ts), "the saved-over file is not the new model");
	CHECK(count_entries(sdir, NULL, 0) == 1, "saving over a model left other files");
	free(old);

	/* ...and a save that fails leaves it as it was. The write fails: the file
	 * size limit is below the model's size (as a full disk would). */
	{
		char extra[512];
		struct rlimit keep, lim;
		CHECK(getrlimit(RLIMIT_FSIZE, &keep) == 0, "getrlimit");
		void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
		lim = keep;
		lim.rlim_cur = 1000;
		if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < lim.rlim_cur)
			lim.rlim_cur = lim.rlim_max;
		int limited = setrlimit(RLIMIT_FSIZE, &lim) == 0;
		err[0] = '\0';
		st = onr_model_save_file(hm, path, err, sizeof err);
		setrlimit(RLIMIT_FSIZE, &keep);
		signal(SIGXFSZ, prev);
		CHECK(limited, "setrlimit(RLIMIT_FSIZE): %s", strerror(errno));
		CHECK(st == ONR_EIO && strstr(err, path),
		      "save with the file size limited below the model: status %d, message \"%s\"", st,
		      err);
		old = read_all(path, &olds);
		CHECK(old && olds == ts && !memcmp(old, t, ts),
		      "a failed save damaged the model that was there");
		free(old);
		others(sdir, "model.onm", extra, sizeof extra);
		CHECK(count_entries(sdir, NULL, 0) == 1, "a failed save left files behind: %s", extra);
	}
	/* the directory is not writable (only meaningful when not root) */
	if (geteuid() != 0) {
		CHECK(chmod(sdir, 0500) == 0, "chmod %s", sdir);
		err[0] = '\0';
		st = onr_model_save_file(hm, path, err, sizeof err);
		chmod(sdir, 0700);
		CHECK(st == ONR_EIO && strstr(err, path),
		      "save into a read-only directory: status %d, message \"%s\"", st, err);
		old = read_all(path, &olds);
		CHECK(old && olds == ts && !memcmp(old, t, ts),
		      "a save refused by permissions damaged the model that was there");
		free(old);
	} else {
		printf("test_model: running as root: the read-only directory check is skipped\n");
	}
	/* the rename fails: the target is a directory (with a file in it) */
	{
		char extra[512], inner[3584];
		snprintf(path2, sizeof path2, "%s/adir.onm", sdir);
		CHECK(mkdir(path2, 0700) == 0, "mkdir %s", path2);
		snprintf(inner, sizeof inner, "%s/keep", path2);
		CHECK(write_all(inner, "keep", 4) == 0, "write %s", inner);
		err[0] = '\0';
		st = onr_model_save_file(hm, path2, err, sizeof err);
		CHECK(st == ONR_EIO && strstr(err, path2),
		      "save onto a directory: status %d, message \"%s\"", st, err);
		size_t ks = 0;
		unsigned char *k = read_all(inner, &ks);
		CHECK(k && ks == 4 && !memcmp(k, "keep", 4), "a failed rename damaged what was there");
		free(k);
		others(sdir, "model.onm", extra, sizeof extra);
		CHECK(count_entries(sdir, NULL, 0) == 2 && !strcmp(extra, "adir.onm "),
		      "a failed rename left files behind: %s", extra);
		old = read_all(path, &olds);
		CHECK(old && olds == ts && !memcmp(old, t, ts), "a failed rename damaged the neighbour");
		free(old);
	}
	/* the saved file loads, with the path in nothing but success */
	st = onr_model_load_file(&m, path, err, sizeof err);
	CHECK(st == ONR_OK && m, "reload after the failed saves: %d %s", st, err);
	if (st == ONR_OK && m) {
		same_model("tiny after failed saves", tm, m);
		onr_model_free(m);
	}
	free(t);
	free(h);
	onr_model_free(tm);
	onr_model_free(hm);
}

/* ---------------------------------------------------------------- the API around it */
static void api(void)
{
	onr_op ops[ONR_MAX_OPS];
	char err[512];
	onr_model *m = NULL;
	CHECK(onr_arch_preset("huge", 10, ops) == 0, "unknown preset name accepted");
	CHECK(strlen(wide_names[5]) == ONR_MAX_CLASS_NAME, "test bug: the long name is %zu bytes",
	      strlen(wide_names[5]));
	/* the hand-built model's receptive field is what the shapes say */
	onr_model *hm = make_hand();
	if (hm) {
		CHECK(hm->min_len == HAND_MIN_LEN, "hand-built receptive field %u, want %u", hm->min_len,
		      HAND_MIN_LEN);
		CHECK(hm->n_blocks == 6, "hand-built model has %u blocks, want 6", hm->n_blocks);
		onr_net *net = NULL;
		CHECK(onr_net_new(&net, hm, HAND_MIN_LEN, 0) == ONR_OK, "net at the receptive field");
		if (net) {
			float x[HAND_MIN_LEN];
			test_signal(x, HAND_MIN_LEN, 8000);
			CHECK(onr_net_forward(net, x, HAND_MIN_LEN, 1.0f, UINT32_MAX) == ONR_OK,
			      "forward at the receptive field");
			CHECK(onr_net_forward(net, x, HAND_MIN_LEN - 1, 1.0f, UINT32_MAX) == ONR_ERANGE,
			      "forward below the receptive field");
			onr_net_free(net);
		}
		uint32_t n = hand_ops(ops, 5);
		err[0] = '\0';
		int st = onr_model_new(&m, ops, n, 8000, HAND_MIN_LEN - 1, ONR_KIND_CLASSES, NULL, 5, err,
		                       sizeof err);
		CHECK(st == ONR_EINVAL && !m && contains_ci(err, "window"),
		      "a window below the receptive field: %d \"%s\"", st, err);
		onr_model_free(hm);
	}
	/* metadata of 65536 bytes is the most a file holds */
	m = make_minimal(NULL);
	if (m) {
		char *big = malloc(ONR_MAX_META + 2);
		memset(big, 'x', ONR_MAX_META + 1);
		big[ONR_MAX_META + 1] = '\0';
		CHECK(onr_model_set_meta(m, big) == ONR_EINVAL, "metadata of 65537 bytes accepted");
		big[ONR_MAX_META] = '\0';
		CHECK(onr_model_set_meta(m, big) == ONR_OK, "metadata of 65536 bytes refused");
		unsigned char *d;
		size_t ds;
		onr_model *m2;
		if (save_mem(m, &d, &ds, "65536 bytes of metadata")) {
			if (load_ok(d, ds, &m2, "65536 bytes of metadata")) {
				same_model("65536 bytes of metadata", m, m2);
				onr_model_free(m2);
			}
			free(d);
		}
		free(big);
		onr_model_free(m);
	}
	/* class names: defaults, and the limits */
	{
		uint32_t n = hand_ops(ops, 5);
		const char *names[5] = {"ok", "", "ok", "ok", "ok"};
		m = NULL;
		int st = onr_model_new(&m, ops, n, 8000, 4000, ONR_KIND_CLASSES, names, 5, err,
		                       sizeof err);
		CHECK(st == ONR_EINVAL && !m && contains_ci(err, "name"), "an empty class name: %d \"%s\"",
		      st, err);
		names[1] = "1234567890123456789012345678901234567890123456789012345678901234"; /* 64 */
		st = onr_model_new(&m, ops, n, 8000, 4000, ONR_KIND_CLASSES, names, 5, err, sizeof err);
		CHECK(st == ONR_EINVAL && !m && contains_ci(err, "name"),
		      "a class name of 64 bytes: %d \"%s\"", st, err);
		st = onr_model_new(&m, ops, n, 8000, 4000, ONR_KIND_CLASSES, NULL, 5, err, sizeof err);
		CHECK(st == ONR_OK && m && !strcmp(m->class_names[0], "class0") &&
		          !strcmp(m->class_names[4], "class4"),
		      "default class names");
		onr_model_free(m);
	}
}

/* ---------------------------------------------------------------- corpus */
static int write_corpus(const char *dir)
{
	onr_op ops[ONR_MAX_OPS];
	uint32_t n = 0;
	struct {
		const char *name;
		onr_model *m;
	} files[9];
	files[0].name = "tiny.onm";
	files[0].m = make_preset("tiny", 10, ONR_KIND_CLASSES, tiny_names, ONR_NORM_NONE, 0.0f,
	                         "dataset: corpus", 1);
	files[1].name = "hand.onm";
	files[1].m = make_hand();
	files[2].name = "binary.onm";
	files[2].m = make_binary();
	files[3].name = "minimal.onm";
	files[3].m = make_minimal(NULL);
	files[4].name = "minimal-meta.onm";
	files[4].m = make_minimal("a: b");
	/* at the limits, for the fuzzer to step over: 16 blocks, 64 layers, a
	 * receptive field of 2^16 from strides alone */
	for (n = 0; n < 15; n++)
		ops[n] = (onr_op){ONR_OP_CONV, 1, 1, 1, 1, 0, 0};
	ops[n++] = (onr_op){ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_DENSE, 1, 2, 0, 0, 0, 0};
	files[5].name = "deep.onm";
	files[5].m = make_model("deep", ops, n, 1000, 1000, ONR_KIND_BINARY, NULL, 2, ONR_NORM_NONE,
	                        0.0f, NULL, 6);
	n = 0;
	ops[n++] = (onr_op){ONR_OP_CONV, 1, 2, 2, 1, 1, 0};
	for (; n < ONR_MAX_OPS - 2; n++)
		ops[n] = (onr_op){n % 2 ? ONR_OP_RELU : ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.5f};
	ops[n++] = (onr_op){ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_DENSE, 2, 3, 0, 0, 0, 0};
	files[6].name = "long.onm";
	files[6].m = make_model("long", ops, n, 48000, 4800, ONR_KIND_CLASSES, NULL, 3, ONR_NORM_NONE,
	                        0.0f, NULL, 7);
	n = 0;
	ops[n++] = (onr_op){ONR_OP_CONV, 1, 2, 64, 64, 0, 0};
	ops[n++] = (onr_op){ONR_OP_MAXPOOL, 64, 64, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_CONV, 2, 2, 16, 16, 0, 0};
	ops[n++] = (onr_op){ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0};
	ops[n++] = (onr_op){ONR_OP_DENSE, 2, 2, 0, 0, 0, 0};
	files[7].name = "strided.onm";
	files[7].m = make_model("strided", ops, n, 96000, 65536, ONR_KIND_BINARY, NULL, 2,
	                        ONR_NORM_RMS, 0.5f, NULL, 8);
	files[8].name = "logmel.onm"; /* the version 2 front end */
	files[8].m = make_logmel();
	int bad = 0;
	for (int i = 0; i < 9; i++) {
		char path[4200], err[512] = "";
		snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
		int st = files[i].m ? onr_model_save_file(files[i].m, path, err, sizeof err) : ONR_ENOMEM;
		if (st) {
			fprintf(stderr, "test_model: %s: %s\n", path, err[0] ? err : onr_strerror(st));
			bad = 1;
		}
		onr_model_free(files[i].m);
	}
	if (bad || check_fail)
		return 1;
	printf("test_model: wrote 9 model files into %s\n", dir);
	return 0;
}

/* ---------------------------------------------------------------- main */
int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write-corpus"))
		return write_corpus(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: test_model [--write-corpus DIR]\n");
		return 2;
	}

	verbose = getenv("TEST_MODEL_VERBOSE") != NULL;
	const char *base = getenv("TMPDIR");
	char tmpdir[1024];
	snprintf(tmpdir, sizeof tmpdir, "%s/onr-test-model.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "test_model: mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}

	/* the models */
	onr_model *tiny = make_preset("tiny", 10, ONR_KIND_CLASSES, tiny_names, ONR_NORM_NONE, 0.0f,
	                              "dataset: esc-10\nmetrics: acc 0.87, loss 0.41\n"
	                              "date: 2024-04-30\nnote: na\xc3\xafve \xe2\x80\x94 ok\n",
	                              1);
	onr_model *small = make_preset("small", 2, ONR_KIND_BINARY, binary_names, ONR_NORM_GAIN,
	                               3.5f, "k: v", 2);
	onr_model *wide = make_preset("wide", 7, ONR_KIND_CLASSES, wide_names, ONR_NORM_RMS, 0.1f,
	                              "", 3);
	onr_model *hand = make_hand();
	onr_model *binary = make_binary();
	onr_model *logmel = make_logmel();

	roundtrip("tiny", tiny, tmpdir);
	roundtrip("small", small, tmpdir);
	roundtrip("wide", wide, tmpdir);
	roundtrip("hand", hand, tmpdir);
	roundtrip("binary", binary, tmpdir);
	roundtrip("logmel", logmel, tmpdir);
	/* metadata of every length modulo 4 (its padding) */
	for (int len = 0; len <= 9; len++) {
		char meta[16], what[32];
		memset(meta, 'm', sizeof meta);
		meta[len] = '\0';
		snprintf(what, sizeof what, "minimal-meta%d", len);
		onr_model *m = make_minimal(meta);
		roundtrip(what, m, tmpdir);
		onr_model_free(m);
	}

	/* damage */
	static const unsigned char masks_all[] = {0xFF, 0x01, 0x80, 0x10};
	static const unsigned char masks_two[] = {0xFF, 0x01};
	struct {
		const char *name;
		onr_model *m;
		int flips; /* 0: none, 1: xor 0xFF and 0x01, 2: four masks */
	} damage[] = {{"tiny", tiny, 1}, {"small", small, 0}, {"wide", wide, 0},
	              {"hand", hand, 2},  {"binary", binary, 2}, {"logmel", logmel, 1}};
	for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
		unsigned char *d;
		size_t ds;
		if (!damage[i].m || !save_mem(damage[i].m, &d, &ds, damage[i].name))
			continue;
		truncations(damage[i].name, d, ds);
		if (damage[i].flips == 1)
			byte_flips(damage[i].name, d, ds, masks_two, 2);
		else if (damage[i].flips == 2)
			byte_flips(damage[i].name, d, ds, masks_all, 4);
		free(d);
	}
	{
		onr_model *m = make_minimal("xyz");
		unsigned char *d;
		size_t ds;
		if (m && save_mem(m, &d, &ds, "minimal")) {
			truncations("minimal", d, ds);
			unsigned char all[255];
			for (int k = 0; k < 255; k++)
				all[k] = (unsigned char)(k + 1);
			byte_flips("minimal, every xor", d, ds, all, 255);
			free(d);
		}
		onr_model_free(m);
	}

	hostile();
	file_level(tmpdir);
	api();

	onr_model_free(tiny);
	onr_model_free(small);
	onr_model_free(wide);
	onr_model_free(hand);
	onr_model_free(binary);
	onr_model_free(logmel);
	rm_tree(tmpdir);
	return check_done("test_model");
}
