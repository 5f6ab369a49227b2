/* SPDX-License-Identifier: GPL-2.0-or-later */
/* model.c -- the model: architecture validation, the .onm file format
 * (docs/model-format.md), parameter init. Any thread; never prints. */
#include "util.h"
#include "onr.h"
#include "layers.h"
#include "logmel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "ONRMODEL"
#define VERSION 1u         /* files without a log-mel front end */
#define VERSION_LOGMEL 2u  /* files with one (older readers refuse them) */
#define HEADER_BYTES 52u
#define OP_BYTES 28u
#define NAME_BYTES 64u
#define MAX_FILE_BYTES (300u * 1024u * 1024u)

const char *onr_strerror(int status)
{
	switch (status) {
	case ONR_OK: return "success";
	case ONR_EINVAL: return "invalid argument";
	case ONR_ENOMEM: return "out of memory";
	case ONR_EFORMAT: return "malformed model file";
	case ONR_EIO: return "input/output error";
	case ONR_ERANGE: return "input length out of range";
	default: return "unknown error";
	}
}

/* ---------------------------------------------------------------- CRC-32 */
uint32_t onr_crc32(uint32_t crc, const void *data, size_t n)
{
	static uint32_t table[256];
	static int ready;
	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	const unsigned char *p = data;
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

/* ---------------------------------------------------------------- architecture */
static const char *op_name(uint32_t type)
{
	switch (type) {
	case ONR_OP_CONV: return "conv";
	case ONR_OP_RELU: return "relu";
	case ONR_OP_LRELU: return "lrelu";
	case ONR_OP_MAXPOOL: return "maxpool";
	case ONR_OP_GMEAN: return "gmean";
	case ONR_OP_DENSE: return "dense";
	case ONR_OP_LOGMEL: return "logmel";
	default: return "?";
	}
}

static int weighted(uint32_t type)
{
	return type == ONR_OP_CONV || type == ONR_OP_DENSE;
}

/* Validates ops and fills the derived fields of m (param_off, blocks,
 * min_len, n_params). Every check bounds the arithmetic that follows it. */
static int validate_arch(onr_model *m, char *err, size_t errlen)
{
	if (m->n_ops == 0 || m->n_ops > ONR_MAX_OPS)
		return onr_fail(err, errlen, ONR_EINVAL, "%u layers (1 to %u allowed)", m->n_ops,
		            ONR_MAX_OPS);
	/* a log-mel front end may come first; then a conv */
	uint32_t first = m->ops[0].type == ONR_OP_LOGMEL;
	if (first && m->n_ops < 2)
		return onr_fail(err, errlen, ONR_EINVAL, "a log-mel front end and nothing after it");
	if (m->ops[first].type != ONR_OP_CONV)
		return onr_fail(err, errlen, ONR_EINVAL,
		            m->ops[first].type >= ONR_OP_CONV && m->ops[first].type <= ONR_OP_LOGMEL
		                ? "layer %u: the first layer must be a conv (after an optional log-mel "
		                  "front end), not %s"
		                : "layer %u: unknown layer type %s",
		            first, op_name(m->ops[first].type));
	uint32_t ch = 1;          /* channels flowing out of the previous op */
	int vector = 0;           /* after the global mean: (C) not (C, L) */
	uint64_t nparams = 0;
	uint32_t nb = 0;
	for (uint32_t i = 0; i < m->n_ops; i++) {
		onr_op *o = &m->ops[i];
		uint32_t t = o->type;
		m->param_off[i] = (uint32_t)nparams;
		switch (t) {
		case ONR_OP_CONV:
			if (vector)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: conv after the global mean", i);
			if (o->a != ch)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: conv expects %u channels, gets %u",
				            i, o->a, ch);
			if (o->b < 1 || o->b > ONR_MAX_CHANNELS)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: %u output channels (1 to %u)", i,
				            o->b, ONR_MAX_CHANNELS);
			if (o->c < 1 || o->c > ONR_MAX_KERNEL)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: kernel %u (1 to %u)", i, o->c,
				            ONR_MAX_KERNEL);
			if (o->d < 1 || o->d > o->c)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: stride %u (1 to the kernel, %u)",
				            i, o->d, o->c);
			if (o->e >= o->c)
				return onr_fail(err, errlen, ONR_EINVAL,
				            "layer %u: padding %u (must be less than the kernel, %u)", i, o->e,
				            o->c);
			nparams += (uint64_t)o->b * o->a * o->c + o->b;
			ch = o->b;
			break;
		case ONR_OP_DENSE:
			if (!vector)
				return onr_fail(err, errlen, ONR_EINVAL,
				            "layer %u: dense before the global mean over time", i);
			if (o->a != ch)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: dense expects %u inputs, gets %u",
				            i, o->a, ch);
			if (o->b < 1 || o->b > ONR_MAX_CHANNELS)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: %u outputs (1 to %u)", i, o->b,
				            ONR_MAX_CHANNELS);
			nparams += (uint64_t)o->b * o->a + o->b;
			ch = o->b;
			break;
		case ONR_OP_RELU:
			break;
		case ONR_OP_LRELU:
			if (!(o->f > 0.0f && o->f < 1.0f))
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: leaky slope %g (must be in (0, 1))",
				            i, (double)o->f);
			break;
		case ONR_OP_MAXPOOL:
			if (vector)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: max-pool after the global mean", i);
			if (o->a < 1 || o->a > ONR_MAX_KERNEL || o->b < 1 || o->b > o->a)
				return onr_fail(err, errlen, ONR_EINVAL,
				            "layer %u: max-pool kernel %u stride %u (1 <= stride <= kernel <= %u)",
				            i, o->a, o->b, ONR_MAX_KERNEL);
			break;
		case ONR_OP_GMEAN:
			if (vector)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: a second global mean", i);
			vector = 1;
			break;
		case ONR_OP_LOGMEL: {
			if (i != 0)
				return onr_fail(err, errlen, ONR_EINVAL,
				            "layer %u: a log-mel front end must be the first layer", i);
			int st = onr_logmel_check(o, m->sample_rate, err, errlen);
			if (st)
				return st;
			ch = onr_logmel_channels(o);
			continue; /* no weights, not part of a block */
		}
		default:
			return onr_fail(err, errlen, ONR_EINVAL, "layer %u: unknown layer type %u", i, t);
		}
		if (t == ONR_OP_RELU || t == ONR_OP_LRELU || t == ONR_OP_MAXPOOL) {
			if (i == 0 || m->ops[i - 1].type == ONR_OP_GMEAN ||
			    m->ops[i - 1].type == ONR_OP_LOGMEL)
				return onr_fail(err, errlen, ONR_EINVAL, "layer %u: %s must follow a conv or dense",
				            i, op_name(t));
		}
		/* blocks: a conv, a global mean, or a dense not right after the
		 * global mean starts one; the block's output is its last op */
		int starts = t == ONR_OP_CONV || t == ONR_OP_GMEAN ||
		             (t == ONR_OP_DENSE && m->ops[i - 1].type != ONR_OP_GMEAN);
		if (starts) {
			if (nb == ONR_MAX_BLOCKS)
				return onr_fail(err, errlen, ONR_EINVAL, "more than %u layers with weights",
				            ONR_MAX_BLOCKS);
			m->block_first[nb] = i;
			m->block_pre[nb] = i;
			nb++;
		}
		if (weighted(t))
			m->block_pre[nb - 1] = i;
		m->block_last[nb - 1] = i;
		if (nparams > ONR_MAX_PARAMS)
			return onr_fail(err, errlen, ONR_EINVAL, "more than %u parameters", ONR_MAX_PARAMS);
	}
	for (uint32_t b = 0; b < nb; b++) {
		uint32_t w = 0;
		for (uint32_t i = m->block_first[b]; i <= m->block_last[b]; i++)
			w += weighted(m->ops[i].type);
		if (w != 1)
			return onr_fail(err, errlen, ONR_EINVAL,
			            "layer block %u (from layer %u) has %u conv/dense layers, not 1", b + 1,
			            m->block_first[b], w);
	}
	if (!vector)
		return onr_fail(err, errlen, ONR_EINVAL, "no global mean over time");
	if (m->ops[m->n_ops - 1].type != ONR_OP_DENSE)
		return onr_fail(err, errlen, ONR_EINVAL, "the last layer must be dense (the logits)");
	if (m->ops[m->n_ops - 1].b != m->n_classes)
		return onr_fail(err, errlen, ONR_EINVAL, "%u logits for %u classes",
		            m->ops[m->n_ops - 1].b, m->n_classes);
	/* shortest input: walk back from one sample before the global mean */
	uint64_t need = 1;
	for (uint32_t i = m->n_ops; i-- > 0;) {
		const onr_op *o = &m->ops[i];
		if (o->type == ONR_OP_GMEAN) {
			need = 1;
		} else if (o->type == ONR_OP_CONV) {
			uint64_t span = (need - 1) * o->d + o->c;
			need = span > 2ull * o->e ? span - 2ull * o->e : 1;
		} else if (o->type == ONR_OP_MAXPOOL) {
			need = (need - 1) * o->b + o->a;
		} else if (o->type == ONR_OP_LOGMEL) {
			need = (need - 1) * o->b + o->a;
		}
		if (need > ONR_MAX_WINDOW)
			return onr_fail(err, errlen, ONR_EINVAL, "receptive field longer than %u samples",
			            ONR_MAX_WINDOW);
	}
	m->min_len = (uint32_t)need;
	m->n_blocks = nb;
	m->n_params = (size_t)nparams;
	return ONR_OK;
}

static int validate_header(const onr_model *m, char *err, size_t errlen)
{
	if (m->sample_rate < 1000 || m->sample_rate > ONR_MAX_RATE)
		return onr_fail(err, errlen, ONR_EINVAL, "sample rate %u Hz (1000 to %u)", m->sample_rate,
		            ONR_MAX_RATE);
	if (m->kind != ONR_KIND_BINARY && m->kind != ONR_KIND_CLASSES)
		return onr_fail(err, errlen, ONR_EINVAL, "unknown model kind %u", m->kind);
	if (m->n_classes < 2 || m->n_classes > ONR_MAX_CLASSES)
		return onr_fail(err, errlen, ONR_EINVAL, "%u classes (2 to %u)", m->n_classes,
		            ONR_MAX_CLASSES);
	if (m->kind == ONR_KIND_BINARY && m->n_classes != 2)
		return onr_fail(err, errlen, ONR_EINVAL, "a binary model with %u classes", m->n_classes);
	if (m->norm > ONR_NORM_RMS)
		return onr_fail(err, errlen, ONR_EINVAL, "unknown input normalisation %u", m->norm);
	if (!isfinite(m->norm_value) ||
	    (m->norm != ONR_NORM_NONE && !(m->norm_value > 0.0f && m->norm_value < 1e6f)))
		return onr_fail(err, errlen, ONR_EINVAL, "input normalisation value %g", (double)m->norm_value);
	return ONR_OK;
}

static int validate_window(const onr_model *m, char *err, size_t errlen)
{
	if (m->window < m->min_len || m->window > ONR_MAX_WINDOW)
		return onr_fail(err, errlen, ONR_EINVAL,
		            "window of %u samples (the receptive field needs %u, at most %u)", m->window,
		            m->min_len, ONR_MAX_WINDOW);
	return ONR_OK;
}

/* ---------------------------------------------------------------- life cycle */
void onr_model_free(onr_model *m)
{
	if (!m)
		return;
	if (m->class_names)
		for (uint32_t i = 0; i < m->n_classes; i++)
			free(m->class_names[i]);
	free(m->class_names);
	free(m->meta);
	free(m->params);
	free(m);
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int check_name(const char *s, char *err, size_t errlen, uint32_t i)
{
	size_t n = strlen(s);
	if (n == 0 || n > ONR_MAX_CLASS_NAME)
		return onr_fail(err, errlen, ONR_EINVAL, "class %u: name of %zu bytes (1 to %u)", i, n,
		            ONR_MAX_CLASS_NAME);
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
			return onr_fail(err, errlen, ONR_EINVAL, "class %u: control character in its name", i);
	return ONR_OK;
}

static int check_meta(const char *s, size_t n, char *err, size_t errlen)
{
	if (n > ONR_MAX_META)
		return onr_fail(err, errlen, ONR_EINVAL, "metadata of %zu bytes (at most %u)", n,
		            ONR_MAX_META);
	for (size_t k = 0; k < n; k++)
		if (s[k] == '\0')
			return onr_fail(err, errlen, ONR_EINVAL, "a NUL byte inside the metadata");
	return ONR_OK;
}

int onr_model_new(onr_model **out, const onr_op *ops, uint32_t n_ops, uint32_t sample_rate,
                  uint32_t window, uint32_t kind, const char *const *class_names,
                  uint32_t n_classes, char *err, size_t errlen)
{
	*out = NULL;
	if (n_ops > ONR_MAX_OPS)
		return onr_fail(err, errlen, ONR_EINVAL, "%u layers (at most %u)", n_ops, ONR_MAX_OPS);
	onr_model *m = calloc(1, sizeof *m);
	if (!m)
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
	m->sample_rate = sample_rate;
	m->window = window;
	m->kind = kind;
	m->n_classes = n_classes;
	m->n_ops = n_ops;
	if (n_ops)
		memcpy(m->ops, ops, n_ops * sizeof *ops);
	int st = validate_header(m, err, errlen);
	if (!st)
		st = validate_arch(m, err, errlen);
	if (!st)
		st = validate_window(m, err, errlen);
	if (st) {
		m->n_classes = 0;
		onr_model_free(m);
		return st;
	}
	m->class_names = calloc(n_classes, sizeof *m->class_names);
	m->meta = dup_str("");
	m->params = calloc(m->n_params ? m->n_params : 1, sizeof(float));
	if (!m->class_names || !m->meta || !m->params) {
		onr_model_free(m);
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < n_classes; i++) {
		char def[32];
		const char *name = class_names ? class_names[i] : NULL;
		if (!name) {
			snprintf(def, sizeof def, "class%u", i);
			name = def;
		}
		if ((st = check_name(name, err, errlen, i)) != ONR_OK) {
			onr_model_free(m);
			return st;
		}
		if (!(m->class_names[i] = dup_str(name))) {
			onr_model_free(m);
			return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
		}
	}
	*out = m;
	return ONR_OK;
}

int onr_model_set_meta(onr_model *m, const char *meta)
{
	if (check_meta(meta, strlen(meta), NULL, 0))
		return ONR_EINVAL;
	char *d = dup_str(meta);
	if (!d)
		return ONR_ENOMEM;
	free(m->meta);
	m->meta = d;
	return ONR_OK;
}

onr_model *onr_model_clone(const onr_model *m)
{
	onr_model *c;
	if (onr_model_new(&c, m->ops, m->n_ops, m->sample_rate, m->window, m->kind,
	                  (const char *const *)m->class_names, m->n_classes, NULL, 0))
		return NULL;
	c->norm = m->norm;
	c->norm_value = m->norm_value;
	if (onr_model_set_meta(c, m->meta)) {
		onr_model_free(c);
		return NULL;
	}
	memcpy(c->params, m->params, m->n_params * sizeof(float));
	return c;
}

void onr_model_init_params(onr_model *m, uint64_t seed)
{
	uint64_t s = seed;
	for (uint32_t i = 0; i < m->n_ops; i++) {
		const onr_op *o = &m->ops[i];
		size_t nw, nb;
		uint32_t fan_in;
		if (o->type == ONR_OP_CONV) {
			nw = (size_t)o->b * o->a * o->c;
			nb = o->b;
			fan_in = o->a * o->c;
		} else if (o->type == ONR_OP_DENSE) {
			nw = (size_t)o->b * o->a;
			nb = o->b;
			fan_in = o->a;
		} else {
			continue;
		}
		/* U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default bound */
		float bound = 1.0f / sqrtf((float)fan_in);
		float *w = m->params + m->param_off[i];
		for (size_t k = 0; k < nw + nb; k++) {
			double u = onr_uniform01(&s);
			w[k] = (float)((2.0 * u - 1.0) * bound);
		}
	}
}

/* ---------------------------------------------------------------- shapes */
void onr_model_op_shape(const onr_model *m, uint32_t i, uint32_t n, uint32_t *channels,
                        uint32_t *length)
{
	uint32_t ch = 1, len = n;
	for (uint32_t k = 0; k <= i && k < m->n_ops; k++) {
		const onr_op *o = &m->ops[k];
		switch (o->type) {
		case ONR_OP_CONV:
			ch = o->b;
			len = onr_conv_out_len(len, o->c, o->d, o->e);
			break;
		case ONR_OP_MAXPOOL:
			len = onr_pool_out_len(len, o->a, o->b);
			break;
		case ONR_OP_LOGMEL:
			ch = onr_logmel_channels(o);
			len = onr_logmel_frames(o, len);
			break;
		case ONR_OP_GMEAN:
			len = len ? 1 : 0;
			break;
		case ONR_OP_DENSE:
			ch = o->b;
			break;
		default:
			break;
		}
	}
	*channels = ch;
	*length = len;
}

uint32_t onr_model_class_index(const onr_model *m, const char *name, int any_case)
{
	for (uint32_t k = 0; k < m->n_classes; k++)
		if (!strcmp(m->class_names[k], name))
			return k;
	for (uint32_t k = 0; any_case && k < m->n_classes; k++)
		if (!strcasecmp(m->class_names[k], name))
			return k;
	return UINT32_MAX;
}

void onr_model_block_shape(const onr_model *m, uint32_t b, int pre, uint32_t n,
                           uint32_t *channels, uint32_t *length)
{
	onr_model_op_shape(m, pre ? m->block_pre[b] : m->block_last[b], n, channels, length);
}

void onr_model_block_desc(const onr_model *m, uint32_t b, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (uint32_t i = m->block_first[b]; i <= m->block_last[b] && used < len; i++) {
		const onr_op *o = &m->ops[i];
		const char *sep = used ? " + " : "";
		int w = 0;
		switch (o->type) {
		case ONR_OP_CONV:
			w = snprintf(buf + used, len - used, "%sconv %u->%u k%u s%u p%u", sep, o->a, o->b,
			             o->c, o->d, o->e);
			break;
		case ONR_OP_DENSE:
			w = snprintf(buf + used, len - used, "%sdense %u->%u", sep, o->a, o->b);
			break;
		case ONR_OP_MAXPOOL:
			w = snprintf(buf + used, len - used, "%smaxpool k%u s%u", sep, o->a, o->b);
			break;
		case ONR_OP_LRELU:
			w = snprintf(buf + used, len - used, "%slrelu %g", sep, (double)o->f);
			break;
		default:
			w = snprintf(buf + used, len - used, "%s%s", sep, op_name(o->type));
			break;
		}
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* ---------------------------------------------------------------- file format */
static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float rdf(const unsigned char *p)
{
	uint32_t u = rd32(p);
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static void wr32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void wrf(unsigned char *p, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	wr32(p, u);
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

int onr_model_load_mem(onr_model **out, const void *data, size_t size, char *err,
                       size_t errlen)
{
	const unsigned char *p = data;
	*out = NULL;
	if (size < HEADER_BYTES + 4)
		return onr_fail(err, errlen, ONR_EFORMAT, "too short to be a model (%zu bytes)", size);
	if (memcmp(p, MAGIC, 8))
		return onr_fail(err, errlen, ONR_EFORMAT, "not an oneiro model (bad magic number)");
	uint32_t version = rd32(p + 8);
	if (version != VERSION && version != VERSION_LOGMEL)
		return onr_fail(err, errlen, ONR_EFORMAT,
		            "model format version %u; this build reads versions %u and %u", version,
		            VERSION, VERSION_LOGMEL);
	uint32_t fsize = rd32(p + 12);
	if (fsize != size)
		return onr_fail(err, errlen, ONR_EFORMAT,
		            "the header says %u bytes but there are %zu (truncated or padded)", fsize,
		            size);
	if (size > MAX_FILE_BYTES)
		return onr_fail(err, errlen, ONR_EFORMAT, "larger than %u bytes", MAX_FILE_BYTES);
	uint32_t crc = rd32(p + size - 4), calc = onr_crc32(0, p, size - 4);
	if (crc != calc)
		return onr_fail(err, errlen, ONR_EFORMAT,
		            "checksum mismatch (stored %08x, computed %08x): the file is corrupt", crc,
		            calc);

	onr_model tmp;
	memset(&tmp, 0, sizeof tmp);
	tmp.sample_rate = rd32(p + 16);
	tmp.window = rd32(p + 20);
	tmp.kind = rd32(p + 24);
	tmp.norm = rd32(p + 28);
	tmp.norm_value = rdf(p + 32);
	tmp.n_classes = rd32(p + 36);
	tmp.n_ops = rd32(p + 40);
	uint32_t meta_len = rd32(p + 44);
	uint32_t n_params = rd32(p + 48);
	int st = validate_header(&tmp, err, errlen);
	if (st)
		return ONR_EFORMAT;
	if (tmp.n_ops == 0 || tmp.n_ops > ONR_MAX_OPS)
		return onr_fail(err, errlen, ONR_EFORMAT, "%u layers (1 to %u)", tmp.n_ops, ONR_MAX_OPS);
	if (meta_len > ONR_MAX_META)
		return onr_fail(err, errlen, ONR_EFORMAT, "metadata of %u bytes (at most %u)", meta_len,
		            ONR_MAX_META);
	if (n_params > ONR_MAX_PARAMS)
		return onr_fail(err, errlen, ONR_EFORMAT, "%u parameters (at most %u)", n_params,
		            ONR_MAX_PARAMS);
	/* every field is bounded now, so this cannot overflow */
	size_t off_ops = HEADER_BYTES;
	size_t off_names = off_ops + (size_t)tmp.n_ops * OP_BYTES;
	size_t off_meta = off_names + (size_t)tmp.n_classes * NAME_BYTES;
	size_t off_params = off_meta + pad4(meta_len);
	size_t expect = off_params + (size_t)n_params * 4 + 4;
	if (expect != size)
		return onr_fail(err, errlen, ONR_EFORMAT,
		            "sections add up to %zu bytes but the file has %zu", expect, size);
	for (uint32_t i = 0; i < tmp.n_ops; i++) {
		const unsigned char *q = p + off_ops + (size_t)i * OP_BYTES;
		tmp.ops[i].type = rd32(q);
		tmp.ops[i].a = rd32(q + 4);
		tmp.ops[i].b = rd32(q + 8);
		tmp.ops[i].c = rd32(q + 12);
		tmp.ops[i].d = rd32(q + 16);
		tmp.ops[i].e = rd32(q + 20);
		tmp.ops[i].f = rdf(q + 24);
	}
	if (version == VERSION && tmp.ops[0].type == ONR_OP_LOGMEL)
		return onr_fail(err, errlen, ONR_EFORMAT,
		            "a log-mel front end in a version %u file (it needs version %u)", VERSION,
		            VERSION_LOGMEL);
	if ((st = validate_arch(&tmp, err, errlen)) != ONR_OK)
		return ONR_EFORMAT;
	if ((st = validate_window(&tmp, err, errlen)) != ONR_OK)
		return ONR_EFORMAT;
	if (tmp.n_params != n_params)
		return onr_fail(err, errlen, ONR_EFORMAT,
		            "the architecture has %zu parameters but the file holds %u", tmp.n_params,
		            n_params);
	char names[ONR_MAX_CLASSES][NAME_BYTES];
	const char *name_ptr[ONR_MAX_CLASSES];
	for (uint32_t i = 0; i < tmp.n_classes; i++) {
		const unsigned char *q = p + off_names + (size_t)i * NAME_BYTES;
		if (q[NAME_BYTES - 1] != 0)
			return onr_fail(err, errlen, ONR_EFORMAT, "class %u: name not terminated", i);
		memcpy(names[i], q, NAME_BYTES);
		name_ptr[i] = names[i];
		if ((st = check_name(names[i], err, errlen, i)) != ONR_OK)
			return ONR_EFORMAT;
	}
	if ((st = check_meta((const char *)p + off_meta, meta_len, err, errlen)) != ONR_OK)
		return ONR_EFORMAT;
	const unsigned char *pp = p + off_params;
	for (uint32_t k = 0; k < n_params; k++) {
		float v = rdf(pp + (size_t)k * 4);
		if (!isfinite(v))
			return onr_fail(err, errlen, ONR_EFORMAT, "parameter %u is not a finite number", k);
	}

	onr_model *m;
	st = onr_model_new(&m, tmp.ops, tmp.n_ops, tmp.sample_rate, tmp.window, tmp.kind,
	                   name_ptr, tmp.n_classes, err, errlen);
	if (st)
		return st;
	m->norm = tmp.norm;
	m->norm_value = tmp.norm_value;
	free(m->meta);
	m->meta = malloc((size_t)meta_len + 1);
	if (!m->meta) {
		onr_model_free(m);
		return onr_fail(err, errlen, ONR_ENOMEM, "out of memory");
	}
	memcpy(m->meta, p + off_meta, meta_len);
	m->meta[meta_len] = '\0';
	for (uint32_t k = 0; k < n_params; k++)
		m->params[k] = rdf(pp + (size_t)k * 4);
	*out = m;
	return ONR_OK;
}

int onr_model_save_mem(const onr_model *m, void **data, size_t *size)
{
	size_t meta_len = strlen(m->meta);
	if (meta_len > ONR_MAX_META || m->n_params > ONR_MAX_PARAMS)
		return ONR_EINVAL;
	size_t off_names = HEADER_BYTES + (size_t)m->n_ops * OP_BYTES;
	size_t off_meta = off_names + (size_t)m->n_classes * NAME_BYTES;
	size_t off_params = off_meta + pad4(meta_len);
	size_t total = off_params + m->n_params * 4 + 4;
	unsigned char *p = calloc(1, total);
	if (!p)
		return ONR_ENOMEM;
	memcpy(p, MAGIC, 8);
	/* the oldest version that can hold the model, so older readers still
	 * take every model they can run */
	wr32(p + 8, m->ops[0].type == ONR_OP_LOGMEL ? VERSION_LOGMEL : VERSION);
	wr32(p + 12, (uint32_t)total);
	wr32(p + 16, m->sample_rate);
	wr32(p + 20, m->window);
	wr32(p + 24, m->kind);
	wr32(p + 28, m->norm);
	wrf(p + 32, m->norm_value);
	wr32(p + 36, m->n_classes);
	wr32(p + 40, m->n_ops);
	wr32(p + 44, (uint32_t)meta_len);
	wr32(p + 48, (uint32_t)m->n_params);
	for (uint32_t i = 0; i < m->n_ops; i++) {
		unsigned char *q = p + HEADER_BYTES + (size_t)i * OP_BYTES;
		const onr_op *o = &m->ops[i];
		wr32(q, o->type);
		wr32(q + 4, o->a);
		wr32(q + 8, o->b);
		wr32(q + 12, o->c);
		wr32(q + 16, o->d);
		wr32(q + 20, o->e);
		wrf(q + 24, o->f);
	}
	for (uint32_t i = 0; i < m->n_classes; i++) {
		size_t n = strlen(m->class_names[i]);
		memcpy(p + off_names + (size_t)i * NAME_BYTES, m->class_names[i],
		       n < NAME_BYTES - 1 ? n : NAME_BYTES - 1);
	}
	memcpy(p + off_meta, m->meta, meta_len);
	for (size_t k = 0; k < m->n_params; k++)
		wrf(p + off_params + k * 4, m->params[k]);
	wr32(p + total - 4, onr_crc32(0, p, total - 4));
	*data = p;
	*size = total;
	return ONR_OK;
}

int onr_model_load_file(onr_model **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return onr_fail(err, errlen, ONR_EIO, "%s: %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fileno(f), &sb) != 0) {
		int e = errno;
		fclose(f);
		return onr_fail(err, errlen, ONR_EIO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(sb.st_mode)) {
		fclose(f);
		return onr_fail(err, errlen, ONR_EIO, "%s: not a regular file (a directory?)", path);
	}
	/* the size is checked before anything is allocated for it */
	if (sb.st_size > (off_t)MAX_FILE_BYTES) {
		fclose(f);
		return onr_fail(err, errlen, ONR_EFORMAT, "%s: %lld bytes, more than a model can be", path,
		            (long long)sb.st_size);
	}
	size_t len = (size_t)sb.st_size;
	unsigned char *buf = malloc(len ? len : 1);
	if (!buf) {
		fclose(f);
		return onr_fail(err, errlen, ONR_ENOMEM, "%s: out of memory", path);
	}
	size_t got = fread(buf, 1, len, f);
	int rerr = ferror(f);
	fclose(f);
	if (rerr || got != len) {
		free(buf);
		return onr_fail(err, errlen, ONR_EIO, "%s: read error (%zu of %zu bytes)", path, got, len);
	}
	char why[256];
	int st = onr_model_load_mem(out, buf, len, why, sizeof why);
	free(buf);
	if (st)
		return onr_fail(err, errlen, st, "%s: %s", path, why);
	return ONR_OK;
}

int onr_model_save_file(const onr_model *m, const char *path, char *err, size_t errlen)
{
	void *data;
	size_t size;
	int st = onr_model_save_mem(m, &data, &size);
	if (st)
		return onr_fail(err, errlen, st, "%s: cannot serialise the model: %s", path,
		            onr_strerror(st));
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (!tmp) {
		free(data);
		return onr_fail(err, errlen, ONR_ENOMEM, "%s: out of memory", path);
	}
	/* a unique temporary file beside the target, renamed over it when
	 * complete: readers see the old model or the new one, never half */
	snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
	int fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!f) {
		st = onr_fail(err, errlen, ONR_EIO, "%s: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			remove(tmp);
		}
		goto out;
	}
	fchmod(fd, 0644);
	size_t put = fwrite(data, 1, size, f);
	int bad = put != size || fflush(f) != 0 || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad) {
		st = onr_fail(err, errlen, ONR_EIO, "%s: write failed: %s", tmp, strerror(errno));
		remove(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		st = onr_fail(err, errlen, ONR_EIO, "%s: %s", path, strerror(errno));
		remove(tmp);
		goto out;
	}
	{
		/* make the rename itself durable */
		char *dir = malloc(plen + 2);
		if (dir) {
			memcpy(dir, path, plen + 1);
			char *slash = strrchr(dir, '/');
			if (slash)
				slash[slash == dir ? 1 : 0] = '\0';
			else
				strcpy(dir, ".");
			int dfd = open(dir, O_RDONLY);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
			free(dir);
		}
	}
	st = ONR_OK;
out:
	free(tmp);
	free(data);
	return st;
}
