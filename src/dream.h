/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dream.h -- the dream engine: bounded gradient-ascent dreaming of a stream
 * of audio at any host rate, any channel count, in blocks of any size.
 *
 * Data flow (see ../shared/DESIGN.md, "The dream"):
 *   host audio -> (mid, or each channel) -> downsample to the model's rate ->
 *   windows with overlap -> K steps of gradient ascent each -> windowed delta,
 *   overlap-added -> upsample -> out = dry delayed by the latency + mix * delta
 *
 * Everything is allocated by onr_dream_new; onr_dream_process allocates
 * nothing, takes no lock, does no I/O. It is deterministic: the same input,
 * model and settings give the same output bits whatever the block sizes.
 * The core never prints; errors come back as status codes and messages.
 */
#ifndef ONR_DREAM_H
#define ONR_DREAM_H

#include "onr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ONR_DREAM_MAX_CHANNELS 64
#define ONR_DREAM_MIN_RATE 8000
#define ONR_DREAM_MAX_RATE 192000

typedef enum {
	ONR_STEREO_LINKED = 0,     /* one dream of the mean of all channels, the same
	                              delta added to each */
	ONR_STEREO_INDEPENDENT = 1 /* one dream per channel */
} onr_stereo_mode;

/* Fixed for the engine's life: changing any of these means a new engine. */
typedef struct {
	uint32_t host_rate;        /* Hz, ONR_DREAM_MIN_RATE..ONR_DREAM_MAX_RATE */
	uint32_t channels;         /* 1..ONR_DREAM_MAX_CHANNELS */
	uint32_t window;           /* samples at the model's rate; 0 = the model's own */
	uint32_t overlap;          /* windows per window length: 2 or 4 (0 = 2) */
	uint32_t stereo;           /* onr_stereo_mode */
	uint32_t max_iterations;   /* the most iterations params will ask for (0 = 64) */
	uint32_t max_block;        /* the longest block process() will get, in host
	                              frames (0 = 4096): in asynchronous mode each
	                              window gets at least two blocks' time, which
	                              sets the latency. The output does not depend
	                              on it beyond that delay. */
	const onr_model *second;   /* NULL, or a second model the dream is for as
	                              well (onr_dreamer_set_second); it must
	                              outlive the engine */
	int test_identity;         /* tests only: every window's "dream" is
	                              delta = 0.5 * x0, no network, so the delta path's
	                              alignment with the dry path can be seen */
} onr_dream_config;

/* May change between process calls; the engine reads them at each window
 * (mix is smoothed per sample). */
typedef struct {
	onr_objective obj;         /* what to dream toward */
	float depth;               /* step size: 1 = each step may move a sample by
	                              half the bound; 0 = no dream. 0..4 */
	uint32_t iterations;       /* gradient steps per window, 0..max_iterations */
	float bound_db;            /* |x - x0| <= bound: dB relative to the window's
	                              RMS level, -60..+12 */
	float floor_db;            /* windows quieter than this (dBFS RMS) are not
	                              dreamed, so silence stays silence; -120..0 */
	float band_lo, band_hi;    /* Hz: the dream band (the gradient is kept
	                              between these, with soft edges) */
	float tilt_db;             /* dB per octave applied to the gradient's spectrum
	                              around 1 kHz; negative keeps the dream from
	                              turning into hiss. -12..+6 */
	int smooth;                /* nonzero: smooth the gradient's magnitude
	                              spectrum over one critical band (Bark) */
	float mix;                 /* out = dry + mix * delta; 0..2 */
	int window_bound;          /* 0 (default): the bound follows the signal's
	                              10 ms envelope inside the window, so quiet
	                              moments next to loud ones stay quiet;
	                              nonzero: one bound for the whole window */
	/* Transformation-robust ascent (expectation over transformations, as
	 * DeepDream's jitter): each step's gradient is the mean over
	 * jitter_copies views of the window. A view is the dry window and the
	 * dream so far, each cropped at its own random offset of 0..jitter_ms
	 * (so the network's framing and the dream's alignment with the dry
	 * sound both vary, by up to jitter_ms), times a random gain of
	 * +-jitter_gain_db. The crops are window - jitter_ms long (the shift is
	 * limited so they stay at least the model's shortest input). Seeded
	 * from the window's place in the stream: deterministic. jitter_ms 0 and
	 * jitter_gain_db 0 is the plain ascent, bit for bit, whatever
	 * jitter_copies. The bound and projection do not change. */
	uint32_t jitter_copies;    /* views per step, 1..ONR_DREAM_MAX_COPIES; the
	                              dream's cost is about proportional to it */
	float jitter_ms;           /* ms, the largest shift of a view, 0..16 */
	float jitter_gain_db;      /* dB, each view's gain is random within
	                              +-this, 0..6 */
	/* What the ascent moves (onr_dream_form):
	 * ONR_DREAM_ADD: the samples (x = x0 + delta, |delta| <= the bound per
	 * sample, following the envelope);
	 * ONR_DREAM_MAGNITUDE: the dream is a time-varying filter on the dry
	 * sound: one real gain per STFT bin and frame (ONR_DREAM_MAG_FRAME-sample
	 * Hann frames at the model's rate, hop a quarter), x = ISTFT(G STFT(x0)).
	 * The bound then holds per bin and frame: every gain stays within
	 * 1 +- 10^(bound_db / 20) (at most 0..2), so the change of each bin is
	 * at most bound_db relative to that bin of the dry sound; the gradient
	 * is smoothed over neighbouring bins and frames. Partials of the dry sound
	 * are emphasised or pushed back, nothing phase-exact is added, and
	 * silence stays silence. */
	uint32_t form;             /* onr_dream_form; onr_dream_params_default gives
	                              ONR_DREAM_ADD, oneiro render and the plugin
	                              ONR_DREAM_AUTO */
	float second_share;        /* with a second model: its share of each step's
	                              direction, 0..1 (default 0.5; 0 = the first
	                              model alone, 1 = the second alone) */
} onr_dream_params;

typedef enum {
	ONR_DREAM_ADD = 0,
	ONR_DREAM_MAGNITUDE = 1,
	/* magnitude for the layers and filter objectives, add for a class:
	 * measured (tools/eval-dreams.py, held-out real recordings, the log-mel
	 * default model), the additive layers dream puts its energy where the
	 * dry sound is quiet (its band levels correlate with the dry's at
	 * -0.37: hiss in the gaps between partials), the magnitude one follows
	 * the dry sound's partials (+0.84); toward a class, an independent
	 * listener hears the target in the additive dream more than in the
	 * magnitude one (target-specific in 70 % of cases against 57 %; it
	 * beats its control in 70 % against 54 %): a filter cannot add the
	 * spectrum a class needs */
	ONR_DREAM_AUTO = 2
} onr_dream_form;
/* The form a window is dreamed in: ADD or MAGNITUDE. */
static inline uint32_t onr_dream_form_of(const onr_dream_params *p)
{
	if (p->form == ONR_DREAM_AUTO)
		return p->obj.mode == ONR_OBJ_CLASS ? ONR_DREAM_ADD : ONR_DREAM_MAGNITUDE;
	return p->form;
}
#define ONR_DREAM_MAG_FRAME 256

#define ONR_DREAM_MAX_COPIES 8
/* The jitter defaults (onr_dream_params_default): off. Chosen by an
 * independent listener (models/listener.onm: another front end, another
 * split, another seed) judging class dreams of held-out real recordings
 * (tools/eval-dreams.py; chosen on the tuning half, figures from the other):
 * with the log-mel default model, the plain ascent's dream beats its
 * random-phase control in 70 % of cases by +0.60 log-odds, jitter 4 ms's in
 * 54 % by +0.15. Jitter does what it is for on our own model (a dream
 * delayed 1 ms keeps 98 % of its gain, plain 47 %), but the listener hears
 * less of it. With the old raw-waveform model jitter mattered more (15 % ->
 * 86 % kept) and the listener heard neither (50 % / 45 %). */
#define ONR_DREAM_DEFAULT_COPIES 1
#define ONR_DREAM_DEFAULT_JITTER_MS 0.0f
#define ONR_DREAM_DEFAULT_JITTER_GAIN_DB 0.0f

/* The defaults: layers mode on the middle blocks, depth 0.5, 8 iterations,
 * bound -12 dB, floor -60 dBFS, band 40 Hz..nyquist, tilt -3 dB/oct, mix 1,
 * no jitter (one view per step, no gain variation when it is turned on). */
void onr_dream_params_default(onr_dream_params *p, const onr_model *m);
/* Clamps every field into its range (NaN to the default); returns the number
 * of fields changed. */
int onr_dream_params_sanitize(onr_dream_params *p, const onr_model *m);

/* Statistics of the windows dreamed so far (summed; reset by the caller). */
typedef struct {
	uint64_t windows;          /* windows dreamed */
	uint64_t skipped;          /* windows under the floor, or with no objective */
	double obj_before, obj_after;  /* sums of J over windows (first / last step) */
	double layer_before[ONR_MAX_BLOCKS], layer_after[ONR_MAX_BLOCKS]; /* mean(a^2) per layer
	                              (pre-activation when the objective is) */
	double delta_sq, dry_sq;   /* sums of squares at the host rate (the delta
	                              actually added, and the dry signal) */
	uint64_t samples;          /* host samples output */
	uint64_t late;             /* windows whose dream was not ready in time
	                              (asynchronous mode) and were passed dry */
	double t_resample, t_forward_backward, t_condition; /* seconds, when timing is on */
} onr_dream_stats;

typedef struct onr_dream onr_dream;

int onr_dream_new(onr_dream **out, const onr_model *m, const onr_dream_config *cfg,
                  char *err, size_t errlen);
void onr_dream_free(onr_dream *d);

/* Latency in host samples: the output is the input delayed by this much
 * (plus the dream). Fixed for the engine's life. */
uint32_t onr_dream_latency(const onr_dream *d);
/* The window and hop in model samples, and the model's rate. */
void onr_dream_geometry(const onr_dream *d, uint32_t *window, uint32_t *hop, uint32_t *rate);

/* Copies p (sanitized) for the next windows. Not thread-safe with process. */
void onr_dream_set_params(onr_dream *d, const onr_dream_params *p);

/* Processes n frames: in[c][i] -> out[c][i] (non-interleaved; in and out may
 * be the same buffers). Non-finite input samples are taken as 0 for the dream
 * and output as 0. Allocation-free, lock-free, deterministic. */
void onr_dream_process(onr_dream *d, const float *const *in, float *const *out, uint32_t n);

/* Asynchronous mode (the plugin, playing live): process() hands each
 * window to a worker thread, which calls onr_dream_work; a window not done
 * when it is due is passed dry and counted late. notify(arg) is called from
 * process() when a window is submitted: it must be real-time safe (e.g.
 * sem_post). Synchronous mode (the default; offline rendering, freewheel)
 * computes every window inside process(). Both give the same latency, and
 * windows done in time give the same bits. Switch between process calls. */
void onr_dream_set_async(onr_dream *d, int on, void (*notify)(void *), void *arg);
/* Worker thread: runs every submitted window; returns how many. Never call
 * it concurrently with itself. */
int onr_dream_work(onr_dream *d);

/* Listening: with it on, every window's dry input is also classified (one
 * more forward pass), and onr_dream_heard gives the class probabilities of
 * the latest window collected (n_classes values) and returns a counter that
 * grows with each new one. */
void onr_dream_set_listen(onr_dream *d, int on);
uint64_t onr_dream_heard(const onr_dream *d, float *probs);

/* Takes over the dry delay line of an engine being replaced (a new model
 * with the same latency and channels), so the dry signal runs on without a
 * gap. Real-time safe (a copy). Returns 0 when the latencies differ. */
int onr_dream_inherit(onr_dream *d, const onr_dream *old);

/* Clears all audio state (as after creation) without freeing anything.
 * Not real-time safe; waits for a window the worker may be running. */
void onr_dream_reset(onr_dream *d);

const onr_dream_stats *onr_dream_get_stats(const onr_dream *d);
void onr_dream_reset_stats(onr_dream *d);
/* Nonzero: time the stages into the stats (costs a clock read per stage). */
void onr_dream_set_timing(onr_dream *d, int on);

/* ------------------------------------------------------------ one window
 * The dream of a single window at the model's rate, as the engine runs it:
 * for tools (oneiro render --from noise) and tests. */
typedef struct onr_dreamer onr_dreamer;
int onr_dreamer_new(onr_dreamer **out, const onr_model *m, uint32_t window,
                    uint32_t max_iterations, char *err, size_t errlen);
void onr_dreamer_free(onr_dreamer *w);
/* Seeds the random views (jitter) of the next onr_dreamer_run; each run
 * then moves the seed on by one, so repeated runs differ and are still
 * reproducible. A new dreamer starts at seed 0. */
void onr_dreamer_seed(onr_dreamer *w, uint64_t seed);
/* Several listeners: the dream is also for m2 (the same sample rate, a
 * shortest input within the window). Each step's direction is then the
 * two models' gradients, each at unit RMS, mixed by p->second_share: toward
 * the class of the same name, or the layers at the same relative depth
 * (onr_dream_params). Perturbations that move several independently
 * trained networks at once are less specific to one of them. Allocates:
 * call before running. ONR_OK, or an error with a reason in err. */
int onr_dreamer_set_second(onr_dreamer *w, const onr_model *m2, char *err, size_t errlen);
/* Whether m2 can be heard beside m in windows of `window` samples (what
 * onr_dreamer_set_second checks first): ONR_OK, or ONR_EINVAL with the
 * reason in err. */
int onr_dream_second_check(const onr_model *m, const onr_model *m2, uint32_t window, char *err,
                           size_t errlen);
/* Class probabilities (n_classes) the model gives the window x. */
void onr_dreamer_listen(onr_dreamer *w, const float *x, float *probs);
/* x0 (window) -> delta (window) = x_K - x0, with J before and after in
 * *before / *after (either may be NULL), per-layer mean(a^2) likewise
 * (arrays of ONR_MAX_BLOCKS or NULL). bound_abs overrides the relative bound
 * when >= 0 (for --from silence, where the level is 0). */
int onr_dreamer_run(onr_dreamer *w, const onr_dream_params *p, const float *x0, float *delta,
                    float bound_abs, float *before, float *after, double *layers_before,
                    double *layers_after);

#ifdef __cplusplus
}
#endif
#endif
