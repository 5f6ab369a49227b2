/* SPDX-License-Identifier: GPL-2.0-or-later */
/* onr.h -- the oneiro core: models, the network, the dream objective.
 *
 * The core knows nothing of LV2 or audio files. It never prints, never exits
 * and never allocates after a workspace (onr_net) is created: every call
 * returns a status code (ONR_OK or a negative ONR_E*), and the functions that
 * can fail for a reason worth telling write it into a caller's buffer.
 *
 * Shape letters, used in every shape comment of the core:
 *   N  input samples              C  input channels     D  output channels
 *   L  input length (time)        T  output length      K  kernel length
 *   S  stride                     P  padding (each side)
 *   I  dense inputs               O  dense outputs      B  examples in a batch
 * Activations are stored channel-major, (C, L) row-major, one example at a
 * time, exactly like PyTorch's (C, L) slices.
 *
 * Gradients carry a d prefix (dx, dw); backward kernels ACCUMULATE into them.
 */
#ifndef ONR_H
#define ONR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */
enum {
	ONR_OK = 0,
	ONR_EINVAL = -1,   /* a bad argument or a bad architecture */
	ONR_ENOMEM = -2,   /* an allocation failed */
	ONR_EFORMAT = -3,  /* a model file is malformed */
	ONR_EIO = -4,      /* reading or writing a file failed */
	ONR_ERANGE = -5    /* a length outside what a workspace was made for */
};

/* A short English name for a status code. */
const char *onr_strerror(int status);

/* ---------------------------------------------------------------- layers */
typedef enum {
	ONR_OP_CONV = 1,   /* conv1d: a = C, b = D, c = K, d = S, e = P; weight (D, C, K), bias (D) */
	ONR_OP_RELU = 2,   /* max(0, x) */
	ONR_OP_LRELU = 3,  /* x > 0 ? x : f * x; f = negative slope in (0, 1) */
	ONR_OP_MAXPOOL = 4,/* a = K, b = S; no padding, floor mode; K >= S overlaps when K > S */
	ONR_OP_GMEAN = 5,  /* global mean over time: (C, L) -> (C) */
	ONR_OP_DENSE = 6,  /* a = I, b = O; weight (O, I), bias (O) */
	ONR_OP_LOGMEL = 7  /* the magnitude front end, only as the first layer:
	                      (1, N) -> (c, frames) log-mel spectrogram; a = FFT size
	                      (even, 16..8192), b = hop, c = mel bands (0: every
	                      power bin, a/2+1 channels), d = lowest and e = highest
	                      frequency in Hz (e = 0: half the rate), f = floor
	                      added before the log. No weights; not a block. */
} onr_op_type;

typedef struct {
	uint32_t type;          /* onr_op_type */
	uint32_t a, b, c, d, e; /* integer parameters, meaning by type (above) */
	float f;                /* real parameter (leaky slope) */
} onr_op;

/* Hard limits a model must respect; files outside them are refused before any
 * allocation is sized by them. */
#define ONR_MAX_OPS 64
#define ONR_MAX_BLOCKS 16
#define ONR_MAX_CHANNELS 4096
#define ONR_MAX_KERNEL 4096
#define ONR_MAX_CLASSES 256
#define ONR_MAX_CLASS_NAME 63
#define ONR_MAX_META 65536
#define ONR_MAX_PARAMS (64u * 1024u * 1024u)   /* floats (256 MiB) */
#define ONR_MAX_RATE 384000
#define ONR_MAX_WINDOW (1u << 24)

/* ---------------------------------------------------------------- model */
typedef enum {
	ONR_KIND_BINARY = 0,   /* "interestingness": 2 classes, class 1 = interesting */
	ONR_KIND_CLASSES = 1   /* N named classes */
} onr_kind;

typedef enum {
	ONR_NORM_NONE = 0,     /* the network sees x */
	ONR_NORM_GAIN = 1,     /* the network sees value * x */
	ONR_NORM_RMS = 2       /* the network sees x * value / max(rms(x), 1e-4):
	                          each window brought to the RMS level `value` */
} onr_norm;

/* An immutable model: architecture, metadata and one contiguous parameter
 * blob. Shared read-only by any number of workspaces. */
typedef struct onr_model {
	uint32_t sample_rate;       /* Hz, the rate the network was trained at */
	uint32_t window;            /* nominal window length in samples */
	uint32_t kind;              /* onr_kind */
	uint32_t norm;              /* onr_norm */
	float norm_value;
	uint32_t n_classes;         /* entries of the last dense layer */
	char **class_names;         /* (n_classes), UTF-8, NUL-terminated */
	char *meta;                 /* free-form "key: value" lines, NUL-terminated */
	uint32_t n_ops;
	onr_op ops[ONR_MAX_OPS];
	/* derived by validation, never stored: */
	uint32_t param_off[ONR_MAX_OPS]; /* offset of op i's weight in params */
	uint32_t n_blocks;          /* "Layer 1" .. "Layer n_blocks" */
	uint32_t block_first[ONR_MAX_BLOCKS]; /* first op of each block */
	uint32_t block_pre[ONR_MAX_BLOCKS];   /* op whose output is the pre-activation */
	uint32_t block_last[ONR_MAX_BLOCKS];  /* op whose output is the block output */
	uint32_t min_len;           /* shortest input that gives every layer >= 1 sample */
	size_t n_params;            /* floats in params */
	float *params;              /* (n_params) */
} onr_model;

/* Builds a model from an architecture with all parameters zero. Class names
 * may be NULL (then "class0".. are used) and meta may be NULL. The
 * architecture is validated as a loaded file would be. */
int onr_model_new(onr_model **out, const onr_op *ops, uint32_t n_ops,
                  uint32_t sample_rate, uint32_t window, uint32_t kind,
                  const char *const *class_names, uint32_t n_classes,
                  char *err, size_t errlen);
void onr_model_free(onr_model *m);
/* A deep copy (NULL when out of memory). */
onr_model *onr_model_clone(const onr_model *m);
/* Replaces the metadata text (copied). */
int onr_model_set_meta(onr_model *m, const char *meta);
/* Fills the parameters with the usual fan-in scaled uniform init
 * (as PyTorch's default), from a seed: the same seed gives the same bits. */
void onr_model_init_params(onr_model *m, uint64_t seed);

/* Loads and validates a model file image. Nothing in `data` is trusted:
 * sizes are checked against the image before anything is allocated. */
int onr_model_load_mem(onr_model **out, const void *data, size_t size,
                       char *err, size_t errlen);
int onr_model_load_file(onr_model **out, const char *path, char *err, size_t errlen);
/* Serialises a model; *data is malloc'ed, the caller frees it. */
int onr_model_save_mem(const onr_model *m, void **data, size_t *size);
/* Writes atomically: to a temporary file beside `path`, then rename, so a
 * failure never leaves a half-written model where the model should be. */
int onr_model_save_file(const onr_model *m, const char *path, char *err, size_t errlen);

/* Output shape of op i for an input of n samples: channels and length
 * (length 1 for GMEAN and DENSE outputs). */
void onr_model_op_shape(const onr_model *m, uint32_t i, uint32_t n,
                        uint32_t *channels, uint32_t *length);
/* The same for block b (0-based) output; pre != 0: its pre-activation. */
void onr_model_block_shape(const onr_model *m, uint32_t b, int pre, uint32_t n,
                           uint32_t *channels, uint32_t *length);
/* The index of the class called name, or UINT32_MAX: the exact name, or
 * with any_case the first that differs only in case when none is exact. */
uint32_t onr_model_class_index(const onr_model *m, const char *name, int any_case);
/* A short readable name of block b, e.g. "conv 1->16 k64 s16 + lrelu". */
void onr_model_block_desc(const onr_model *m, uint32_t b, char *buf, size_t len);

/* Named architectures: "mel" (a log-mel front end, 64 bands, then four conv
 * blocks of 96-128 channels over time: the shipped default's shape), and
 * "tiny", "small", "wide" (the benchmark's reference
 * sizes: conv 1->c0 k64 s16 + lrelu; three blocks of conv k3 p1 + lrelu +
 * maxpool 4/4; global mean; dense + lrelu; dense to n_classes; tiny halves and
 * wide doubles every channel count of small). Writes up to ONR_MAX_OPS ops;
 * returns their count, 0 for an unknown name. */
uint32_t onr_arch_preset(const char *name, uint32_t n_classes, onr_op *ops);

/* CRC-32 (IEEE 802.3, as zlib's crc32) used by the model file. */
uint32_t onr_crc32(uint32_t crc, const void *data, size_t n);

/* ---------------------------------------------------------------- objective */
typedef enum {
	ONR_OBJ_LAYERS = 0,   /* J = sum_b w_b * mean(a_b^2) */
	ONR_OBJ_FILTER = 1,   /* J = mean over time of channel `filter` of block `block` */
	ONR_OBJ_CLASS = 2     /* J = logit of class `cls` */
} onr_obj_mode;

typedef struct {
	uint32_t mode;                  /* onr_obj_mode */
	int pre;                        /* nonzero: pre-activation (before the block's
	                                   activation and pool) instead of its output */
	float layer_w[ONR_MAX_BLOCKS];  /* ONR_OBJ_LAYERS: weight of each block */
	uint32_t block, filter;         /* ONR_OBJ_FILTER */
	uint32_t cls;                   /* ONR_OBJ_CLASS */
} onr_objective;

/* ---------------------------------------------------------------- network */
/* A workspace: a model plus every buffer needed to run it on inputs of up to
 * max_len samples. Created once; forward, backward and objective calls then
 * allocate nothing. Not thread-safe: one workspace per thread. */
typedef struct onr_net onr_net;

enum { ONR_NET_TRAIN = 1 };     /* also allocate weight gradients */

int onr_net_new(onr_net **out, const onr_model *m, uint32_t max_len, unsigned flags);
void onr_net_free(onr_net *net);
const onr_model *onr_net_model(const onr_net *net);

/* Chooses the plain reference kernels (1) or the optimised ones (0, default). */
void onr_net_use_reference(onr_net *net, int on);
/* Re-reads the model's parameters after they changed (a training step):
 * the workspace keeps repacked copies of the weights for its fast kernels. */
void onr_net_sync_params(onr_net *net);
/* Name of the kernel set chosen for this CPU ("avx512", "avx2", "generic"). */
const char *onr_kernel_isa(void);

/* The scale the model's input normalisation applies to the window x (n). */
float onr_input_scale(const onr_model *m, const float *x, uint32_t n);

/* Forward pass of x (N) times `scale` through ops 0..upto (inclusive;
 * UINT32_MAX = all). */
int onr_net_forward(onr_net *net, const float *x, uint32_t n, float scale, uint32_t upto);
/* Output of op i from the last forward: (channels, length) row-major. */
const float *onr_net_output(const onr_net *net, uint32_t i,
                            uint32_t *channels, uint32_t *length);
/* Output of block b (0-based), pre-activation when pre != 0. */
const float *onr_net_block_output(const onr_net *net, uint32_t b, int pre,
                                  uint32_t *channels, uint32_t *length);

/* The dream objective J(x * scale) and, if dx is not NULL, dJ/dx (N),
 * overwritten (not accumulated). Runs forward only as deep as the objective
 * needs. Returns ONR_OK and stores J in *value. */
int onr_net_objective(onr_net *net, const onr_objective *obj, const float *x,
                      uint32_t n, float scale, float *value, float *dx);
/* The deepest op an objective uses (UINT32_MAX if it uses none). */
uint32_t onr_objective_depth(const onr_model *m, const onr_objective *obj);
/* Checks an objective against a model; a readable reason in err. */
int onr_objective_check(const onr_model *m, const onr_objective *obj,
                        char *err, size_t errlen);

/* Softmax of the last forward's logits into p (n_classes). */
void onr_net_probs(const onr_net *net, float *p);

/* One training example: forward all of x (N) * scale, softmax cross-entropy
 * against `label`, times `weight`, and backward into the weight gradients
 * (accumulated; see onr_net_grads). Needs ONR_NET_TRAIN. Returns the loss
 * in *loss (unweighted) and whether the argmax was right in *correct. */
int onr_net_train_example(onr_net *net, const float *x, uint32_t n, float scale,
                          uint32_t label, float weight, float *loss, int *correct);
/* The gradient of the cross-entropy loss against `label` with respect to
 * the input x (N), the scale held fixed, overwritten into dx (N); no weight
 * gradient is touched. For adversarial (robust) training. */
int onr_net_loss_grad_x(onr_net *net, const float *x, uint32_t n, float scale, uint32_t label,
                        float *loss, float *dx);
/* The accumulated weight gradients, laid out like model->params (n_params). */
float *onr_net_grads(onr_net *net);
void onr_net_zero_grads(onr_net *net);

#ifdef __cplusplus
}
#endif
#endif
