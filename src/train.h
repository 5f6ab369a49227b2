/* SPDX-License-Identifier: GPL-2.0-or-later */
/* train.h -- mini-batch training of a model: Adam, several threads,
 * deterministic for a given seed and thread count. Core: no files, no
 * printing. */
#ifndef ONR_TRAIN_H
#define ONR_TRAIN_H

#include "onr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ONR_TRAIN_MAX_THREADS 16

typedef struct {
	float beta1, beta2, eps;   /* Adam (0.9, 0.999, 1e-8 when 0) */
	float weight_decay;        /* decoupled (AdamW), per step times lr */
	uint32_t threads;          /* 1..ONR_TRAIN_MAX_THREADS (0 = 1) */
	uint32_t window;           /* samples per example */
	float robust_db;           /* 0: off. Otherwise adversarial training: each
	                              example is first pushed toward a wrong answer
	                              by robust_steps steps of projected gradient
	                              ascent on its loss, within |x' - x| <= the
	                              window's RMS times 10^(robust_db / 20) per
	                              sample (the dream's kind of bound) and
	                              [-1, 1], and the step trains on x'. -60..0 */
	uint32_t robust_steps;     /* ascent steps (0 = 3), at most 16 */
} onr_train_config;

typedef struct onr_trainer onr_trainer;

/* The trainer updates m->params in place. The examples given to step and
 * eval are windows of config->window samples. */
int onr_trainer_new(onr_trainer **out, onr_model *m, const onr_train_config *cfg, char *err,
                    size_t errlen);
void onr_trainer_free(onr_trainer *t);

/* One optimisation step on a batch of n examples x[i] (window samples each)
 * with labels and per-example weights (NULL = 1): the gradient of the mean
 * weighted cross-entropy, then an Adam update with learning rate lr. The
 * batch is split into contiguous slices, one per thread, and the slices'
 * gradients are summed in a fixed order: the result does not depend on
 * timing. *loss gets the mean (unweighted) loss, *correct the number of
 * examples whose argmax was the label. */
int onr_trainer_step(onr_trainer *t, const float *const *x, const uint32_t *labels,
                     const float *weights, uint32_t n, float lr, float *loss, uint32_t *correct);

/* Class probabilities of n examples into probs (n x n_classes), using the
 * threads. */
int onr_trainer_eval(onr_trainer *t, const float *const *x, uint32_t n, float *probs);

/* The same, each example first attacked as robust training does (robust_db,
 * robust_steps of the config; with robust_db = db when cfg's is 0): the
 * robust accuracy. */
int onr_trainer_eval_robust(onr_trainer *t, const float *const *x, const uint32_t *labels,
                            uint32_t n, float db, float *probs);

/* Re-reads the model's parameters after the caller changed them (e.g. put
 * back the best epoch's): the workspaces keep repacked copies. */
void onr_trainer_sync(onr_trainer *t);

/* Adam steps taken so far. */
uint64_t onr_trainer_steps(const onr_trainer *t);

/* Training-time augmentation: y (W samples) gets a randomly varied copy of x
 * (W samples at `rate` Hz), so that a model learns what stays the same across
 * recordings and renderers rather than one sample set's colour:
 *  - speed: x read at a random rate of 0.8 to 1.25 (log-uniform) around the
 *    window's centre, which moves pitch and every formant by up to about 4
 *    semitones, as another instrument or a stretched sample would; linear
 *    interpolation, mirrored at the window's edges;
 *  - colour: two peaking filters at random centres (80 Hz to 0.4 rate), gains
 *    of -9 to +9 dB and Q 0.5 to 2, then a first-order tilt
 *    y[n] = x[n] + a x[n-1], a in [-0.7, 0.7];
 *  - a random polarity, and white noise 20 to 50 dB below the window's RMS;
 *  - band limit: with probability ONR_AUG_LOWPASS_P, last, an 8th-order
 *    Butterworth low-pass (48 dB per octave) at a random cutoff of
 *    ONR_AUG_LOWPASS_LO to _HI Hz (log-uniform; none when the cutoff is above
 *    0.45 rate), on every class, so that a class recorded band-limited (the
 *    8 kHz spoken digits, telephone speech) is not learnt as "no top band".
 * *state is a seed that advances: the same seed, the same variations. x and y
 * must not overlap. */
#define ONR_AUG_LOWPASS_P 0.25
#define ONR_AUG_LOWPASS_LO 3000.0
#define ONR_AUG_LOWPASS_HI 7000.0
void onr_augment_window(float *y, const float *x, uint32_t W, double rate, uint64_t *state);

/* Training-time rooms (oneiro train --room P): y (W samples at `rate` Hz, in
 * place) gets the diffuse tail of a random room added, as a recording made at a
 * distance has: eight damped parallel combs and four all-passes, a room size
 * of 0.5 to 1.6 (the delays' scale), an RT60 of ONR_ROOM_RT60_LO to _HI
 * seconds (log-uniform), high-frequency damping, 0 to 20 ms pre-delay, the
 * tail's energy ONR_ROOM_WET_LO to _HI dB against the dry window's (uniform).
 * The tail starts within the window (what came before it is not known).
 * `work` is scratch for 3 W floats. *state advances: the same seed, the same
 * rooms. A silent window stays silent. */
#define ONR_ROOM_RT60_LO 0.15
#define ONR_ROOM_RT60_HI 1.5
#define ONR_ROOM_WET_LO (-20.0)
#define ONR_ROOM_WET_HI 0.0
void onr_augment_room(float *y, uint32_t W, double rate, uint64_t *state, float *work);

/* Training-time masks (oneiro train --mask P), in place: a band of a third to
 * one octave (centre 100 Hz to 0.4 rate) cut by about 48 dB at its centre, and
 * a gap of ONR_MASK_GAP_LO to _HI seconds of silence with 5 ms edges, so that
 * a model cannot lean on one band or one moment of a sound (the waveform
 * counterpart of SpecAugment's frequency and time masks). */
#define ONR_MASK_GAP_LO 0.02
#define ONR_MASK_GAP_HI 0.12
void onr_augment_mask(float *y, uint32_t W, double rate, uint64_t *state);

#ifdef __cplusplus
}
#endif
#endif
