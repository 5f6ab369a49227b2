/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_dream.c -- the dream engine (src/dream.h), as a user of the plugin or
 * of `oneiro render` would notice it:
 *
 *   1. depth 0 and mix 0 give the input delayed by exactly the reported
 *      latency, bit for bit, at every host rate, channel count, block size
 *      and stereo mode;
 *   2. with the dream on, the output bits do not depend on the block sizes,
 *      on processing in place, on a reset, or on another engine running
 *      beside it;
 *   3. the delta lines up with the delayed dry signal (a click through the
 *      identity "dream"), and the overlap-added windows sum to 1;
 *   4. the objective rises: on one window, and measured by the model on the
 *      engine's output;
 *   5. the bound holds: exactly on one window, and within the resamplers'
 *      overshoot at a host rate;
 *   6. silence stays silence; a signal under the floor is not dreamed;
 *   7. NaN, Inf, denormals and over-full-scale input never give a NaN or Inf
 *      out, and the dream recovers from them;
 *   8. parameters out of range are clamped, never crash, never give NaN;
 *   9. onr_dream_process allocates nothing (malloc interposed; skipped under
 *      AddressSanitizer, which owns malloc);
 *  10. onr_dream_new refuses bad configurations with a message naming them;
 *  11. asynchronous mode: a worker in time gives the synchronous bits, no
 *      worker gives the dry signal;
 *  12. jitter (transformation-robust ascent): off gives the plain ascent's
 *      bits as they were before it existed; on, it is deterministic, block
 *      size independent, keeps the bound, and its dream survives a 1 ms
 *      shift against the dry sound better than the plain ascent's.
 *
 * The model is the "tiny" reference architecture at 16 kHz with seeded random
 * weights; the sounds are synthesised here.
 */
#include "check.h"
#include "dream.h"
#include "layers.h" /* onr_kernels_force */
#include "onr.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ================================================================ allocation
 * counting: malloc and friends are defined here, so every library in the
 * process (libonr, FFTW, libsamplerate) calls these, and they forward to
 * glibc's own allocator. Under AddressSanitizer they would fight ASan's
 * interceptors, so that build leaves malloc alone and skips check 9. */
#if !UNDER_ASAN
static volatile int alloc_counting;
static volatile unsigned long alloc_calls;

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);
void *memalign(size_t align, size_t n);

void *malloc(size_t n)
{
	if (alloc_counting)
		alloc_calls++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (alloc_counting)
		alloc_calls++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (alloc_counting)
		alloc_calls++;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (alloc_counting)
		alloc_calls++;
	__libc_free(p);
}

void *memalign(size_t align, size_t n)
{
	if (alloc_counting)
		alloc_calls++;
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	if (alloc_counting)
		alloc_calls++;
	return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (alloc_counting)
		alloc_calls++;
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	void *p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}
#endif

/* ================================================================ set-up */
#define MRATE 16000u /* the model's rate */
#define MWIN 4096u   /* the model's own window */
#define WIN 2048u    /* the engine's window in most checks (model samples) */
#define MAXC 3u      /* the most channels a check here uses */

static onr_model *model;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 11;
}

static double rng_uni(uint64_t *s) /* [0, 1) */
{
	return (double)rng_next(s) / 9007199254740992.0;
}

static float *fbuf(size_t n) /* zeroed */
{
	float *p = calloc(n ? n : 1, sizeof(float));
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* A "real" sound at `rate` with peak `peak`: plucked harmonic notes (each
 * partial decaying, higher ones faster, the notes ringing into each other),
 * a burst of noise every 0.9 s (a dense sum of random sines, so it is
 * band-limited), and an exponential chirp over the whole length. Everything
 * lies below 6 kHz, inside what the 16 kHz model sees, so the level the
 * engine measures at the model's rate is the level measured here.
 * Deterministic from `seed`. */
static void synth(float *x, uint32_t n, uint32_t rate, uint32_t seed, float peak)
{
	static const double notes[] = {196.0, 246.94, 329.63, 440.0, 293.66};
	const double fmax = 6000.0 < 0.4 * rate ? 6000.0 : 0.4 * rate;
	const double note_len = 0.45, burst_every = 0.9, burst_at = 0.3, burst_len = 0.2;
	enum { NOISE = 24 };
	double nf[NOISE], nph[NOISE];
	uint64_t s = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed * 0x100000001b3ull);
	for (int k = 0; k < NOISE; k++) {
		nf[k] = 150.0 + (fmax - 150.0) * rng_uni(&s);
		nph[k] = 2.0 * M_PI * rng_uni(&s);
	}
	double *acc = malloc((n ? n : 1) * sizeof(double));
	if (!acc)
		exit(2);
	double T = (double)n / rate, f1 = fmax, f0c = 100.0, big = 0.0;
	double kc = log(f1 / f0c) / (T > 0.0 ? T : 1.0);
	for (uint32_t i = 0; i < n; i++) {
		double t = (double)i / rate, v = 0.0;
		/* the notes: this one and the two before, still ringing */
		int idx = (int)(t / note_len);
		for (int j = idx - 2; j <= idx; j++) {
			if (j < 0)
				continue;
			double ts = t - j * note_len;
			double f0 = notes[(unsigned)(j + (int)seed) % 5];
			double att = 1.0 - exp(-ts / 0.002);
			for (int k = 1; k <= 10 && k * f0 < fmax; k++)
				v += 0.5 / k * att * exp(-ts * (3.0 + 1.5 * k)) * sin(2.0 * M_PI * k * f0 * ts);
		}
		/* the noise burst: sin^2 envelope */
		double tb = fmod(t, burst_every) - burst_at;
		if (tb > 0.0 && tb < burst_len) {
			double e = sin(M_PI * tb / burst_len);
			double w = 0.0;
			for (int k = 0; k < NOISE; k++)
				w += sin(2.0 * M_PI * nf[k] * t + nph[k]);
			v += 0.6 * e * e * w / sqrt((double)NOISE);
		}
		/* the chirp */
		v += 0.12 * sin(2.0 * M_PI * f0c * (exp(kc * t) - 1.0) / kc + seed);
		acc[i] = v;
		if (fabs(v) > big)
			big = fabs(v);
	}
	for (uint32_t i = 0; i < n; i++)
		x[i] = big > 0.0 ? (float)(acc[i] * peak / big) : 0.0f;
	free(acc);
}

/* the longest block the engines are told to expect (a typical host's) */
static uint32_t max_block = 1024;

/* An engine for the test model, and with second != NULL a second model
 * heard at once. */
static onr_dream *engine2(uint32_t rate, uint32_t channels, uint32_t stereo, uint32_t window,
                          uint32_t overlap, uint32_t max_iter, int identity,
                          const onr_model *second)
{
	onr_dream_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.max_block = max_block;
	cfg.host_rate = rate;
	cfg.channels = channels;
	cfg.window = window;
	cfg.overlap = overlap;
	cfg.stereo = stereo;
	cfg.max_iterations = max_iter;
	cfg.test_identity = identity;
	cfg.second = second;
	char err[256] = "";
	onr_dream *d = NULL;
	int st = onr_dream_new(&d, model, &cfg, err, sizeof err);
	CHECK(st == ONR_OK && d,
	      "onr_dream_new(rate %u, %u channels, stereo %u, window %u, overlap %u): %d %s", rate,
	      channels, stereo, window, overlap, st, err);
	return st == ONR_OK ? d : NULL;
}

static onr_dream *engine(uint32_t rate, uint32_t channels, uint32_t stereo, uint32_t window,
                         uint32_t overlap, uint32_t max_iter, int identity)
{
	return engine2(rate, channels, stereo, window, overlap, max_iter, identity, NULL);
}

/* Runs n frames through d in blocks whose sizes cycle through pat (zeros
 * included: hosts call with 0 frames). */
static void run_blocks(onr_dream *d, float *const *in, float *const *out, uint32_t C, uint32_t n,
                       const uint32_t *pat, uint32_t npat)
{
	const float *ip[ONR_DREAM_MAX_CHANNELS];
	float *op[ONR_DREAM_MAX_CHANNELS];
	uint32_t pos = 0, k = 0;
	while (pos < n) {
		uint32_t b = pat[k++ % npat];
		if (b > n - pos)
			b = n - pos;
		for (uint32_t c = 0; c < C; c++) {
			ip[c] = in[c] + pos;
			op[c] = out[c] + pos;
		}
		onr_dream_process(d, ip, op, b);
		pos += b;
	}
}

static const uint32_t pat_1[] = {1}, pat_7[] = {7}, pat_64[] = {64}, pat_4096[] = {4096};
static const uint32_t pat_var[] = {1, 0, 13, 300, 4096, 5, 64, 1000, 2, 777, 128, 0, 3001};
static const struct {
	const char *name;
	const uint32_t *p;
	uint32_t n;
} patterns[] = {
	{"1", pat_1, 1},       {"7", pat_7, 1}, {"64", pat_64, 1}, {"4096", pat_4096, 1},
	{"varying", pat_var, sizeof pat_var / sizeof pat_var[0]},
};
#define NPAT (sizeof patterns / sizeof patterns[0])

static uint32_t first_bit_diff(const float *a, const float *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (memcmp(&a[i], &b[i], sizeof(float)))
			return i;
	return n;
}

static uint32_t count_nonfinite(const float *x, uint32_t n)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		k += !isfinite(x[i]);
	return k;
}

static double rms(const float *x, uint32_t n)
{
	double s = 0.0;
	for (uint32_t i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	return n ? sqrt(s / n) : 0.0;
}

/* out = in delayed by L, bit for bit, and zeros (+0.0) before: returns the
 * first index where that fails, or n. */
static uint32_t delayed_mismatch(const float *in, const float *out, uint32_t n, uint32_t L)
{
	const float zero = 0.0f;
	for (uint32_t i = 0; i < L && i < n; i++)
		if (memcmp(&out[i], &zero, sizeof zero))
			return i;
	if (L >= n)
		return n;
	uint32_t k = first_bit_diff(out + L, in, n - L);
	return k == n - L ? n : L + k;
}

/* asynchronous mode's notify callback: counts the windows handed over */
static unsigned long notified;

static void count_notify(void *arg)
{
	(void)arg;
	notified++;
}

/* ================================================================ 10. errors */
static void test_errors(void)
{
	onr_dream_config base;
	memset(&base, 0, sizeof base);
	base.host_rate = 44100;
	base.channels = 2;
	base.window = WIN;
	base.overlap = 2;
	uint32_t short_win = (model->min_len - 1) & ~3u; /* divisible by 2 and 4 */
	char needle_win[32];
	snprintf(needle_win, sizeof needle_win, "%u", short_win);
	struct {
		const char *what;
		uint32_t rate, channels, overlap, window;
		const char *needle;
	} cases[] = {
		{"rate 7999", 7999, 2, 2, WIN, "7999"},
		{"rate 200000", 200000, 2, 2, WIN, "200000"},
		{"0 channels", 44100, 0, 2, WIN, "0 channels"},
		{"65 channels", 44100, 65, 2, WIN, "65"},
		{"overlap 3", 44100, 2, 3, WIN, "overlap 3"},
		{"window below min_len", 44100, 2, 2, short_win, needle_win},
		{"window not a multiple of overlap 4", 44100, 2, 4, WIN + 2, "2050"},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		onr_dream_config cfg = base;
		cfg.host_rate = cases[k].rate;
		cfg.channels = cases[k].channels;
		cfg.overlap = cases[k].overlap;
		cfg.window = cases[k].window;
		char err[256] = "";
		onr_dream *d = (onr_dream *)&cfg; /* must come back NULL */
		int st = onr_dream_new(&d, model, &cfg, err, sizeof err);
		CHECK(st == ONR_EINVAL, "onr_dream_new, %s: status %d (%s), want ONR_EINVAL", cases[k].what,
		      st, onr_strerror(st));
		CHECK(d == NULL, "onr_dream_new, %s: *out not NULL on failure", cases[k].what);
		CHECK(strstr(err, cases[k].needle) != NULL,
		      "onr_dream_new, %s: message \"%s\" does not name \"%s\"", cases[k].what, err,
		      cases[k].needle);
		if (st == ONR_OK)
			onr_dream_free(d);
	}
	/* the edges themselves are fine; 0 means the model's window, overlap 2 */
	uint32_t edges[] = {ONR_DREAM_MIN_RATE, ONR_DREAM_MAX_RATE};
	for (int k = 0; k < 2; k++) {
		onr_dream *d = engine(edges[k], ONR_DREAM_MAX_CHANNELS, ONR_STEREO_LINKED, WIN, 2, 8, 0);
		onr_dream_free(d);
	}
	onr_dream *d = engine(48000, 1, ONR_STEREO_LINKED, 0, 0, 0, 0);
	if (d) {
		uint32_t w = 0, hop = 0, rate = 0;
		onr_dream_geometry(d, &w, &hop, &rate);
		CHECK(w == MWIN && hop == MWIN / 2 && rate == MRATE,
		      "default geometry: window %u hop %u rate %u, want %u %u %u", w, hop, rate, MWIN,
		      MWIN / 2, MRATE);
		onr_dream_free(d);
	}
	onr_dreamer *w = (onr_dreamer *)&base;
	char err[256] = "";
	int st = onr_dreamer_new(&w, model, short_win, 8, err, sizeof err);
	CHECK(st == ONR_EINVAL && w == NULL && strstr(err, needle_win),
	      "onr_dreamer_new(window %u < min_len %u): status %d, \"%s\"", short_win, model->min_len,
	      st, err);
	if (st == ONR_OK)
		onr_dreamer_free(w);
	onr_dream_free(NULL);
	onr_dreamer_free(NULL);
}

/* ================================================================ 1. pass-through */
static void test_passthrough(void)
{
	static const uint32_t rates[] = {8000, 22050, 44100, 48000, 96000, 192000};
	static const struct {
		uint32_t C, stereo;
	} chans[] = {{1, ONR_STEREO_LINKED},      {2, ONR_STEREO_LINKED}, {2, ONR_STEREO_INDEPENDENT},
	             {3, ONR_STEREO_LINKED},      {3, ONR_STEREO_INDEPENDENT}};
	unsigned combo = 0;
	printf("latency (window %u at %u Hz, overlap 2):", WIN, MRATE);
	for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
		/* the latency: one window, the deferral (two of the 1024-frame blocks
		 * the engines are told of, at least a hop), the lead-in hop and the
		 * resamplers; and as much again */
		uint32_t rate = rates[r];
		uint32_t lat_max = (uint32_t)((double)WIN * 2 * rate / MRATE) + 2 * max_block + 1024;
		uint32_t n = 2 * lat_max;
		float *in[MAXC], *out[MAXC];
		for (uint32_t c = 0; c < MAXC; c++) {
			in[c] = fbuf(n);
			out[c] = fbuf(n);
			synth(in[c], n, rate, 10 + c, 0.9f);
			/* values whose bits a careless path would change */
			for (uint32_t i = 1000 + c; i + 4 < n; i += 4099) {
				in[c][i] = -0.0f;
				in[c][i + 1] = 1e-40f;
				in[c][i + 2] = -3e-42f;
				in[c][i + 3] = 1.0f;
				in[c][i + 4] = -1.0f;
			}
		}
		uint32_t lat0 = UINT32_MAX;
		for (size_t g = 0; g < sizeof chans / sizeof chans[0]; g++) {
			uint32_t C = chans[g].C, stereo = chans[g].stereo;
			onr_dream *d = engine(rate, C, stereo, WIN, 2, 8, 0);
			if (!d)
				continue;
			uint32_t L = onr_dream_latency(d);
			if (lat0 == UINT32_MAX) {
				lat0 = L;
				printf(" %u Hz: %u (%.1f ms);", rate, L, 1000.0 * L / rate);
			}
			CHECK(L == lat0, "%u Hz: latency %u with %u channels (%s), %u with 1", rate, L, C,
			      stereo ? "independent" : "linked", lat0);
			CHECK(L > 0 && L < lat_max, "%u Hz: latency %u out of (0, %u)", rate, L, lat_max);
			for (int mode = 0; mode < 2; mode++) {
				onr_dream_params p;
				onr_dream_params_default(&p, model);
				if (mode == 0)
					p.depth = 0.0f;
				else
					p.mix = 0.0f;
				onr_dream_set_params(d, &p);
				/* every combination in varying blocks, and in one of the
				 * fixed sizes, taking turns so each size meets every rate */
				size_t pats[2] = {NPAT - 1, combo++ % (NPAT - 1)};
				for (size_t q = 0; q < 2; q++) {
					size_t k = pats[q];
					onr_dream_reset(d); /* also starts the mix glide at mix */
					for (uint32_t c = 0; c < C; c++)
						memset(out[c], 0x55, n * sizeof(float));
					run_blocks(d, in, out, C, n, patterns[k].p, patterns[k].n);
					for (uint32_t c = 0; c < C; c++) {
						uint32_t bad = delayed_mismatch(in[c], out[c], n, L);
						CHECK(bad == n,
						      "%s: %u Hz, %u ch, %s, blocks %s, channel %u: out[%u] = %a, "
						      "want %a (the input delayed by latency %u, bit for bit)",
						      mode == 0 ? "depth 0" : "mix 0", rate, C,
						      stereo ? "independent" : "linked", patterns[k].name, c, bad,
						      bad < n ? (double)out[c][bad] : 0.0,
						      bad < n ? (bad < L ? 0.0 : (double)in[c][bad - L]) : 0.0, L);
					}
				}
			}
			onr_dream_free(d);
		}
		for (uint32_t c = 0; c < MAXC; c++) {
			free(in[c]);
			free(out[c]);
		}
	}
	printf("\n");

	/* mix 0 set before the first block, with no reset in between: a user
	 * who inserts the plugin with mix at 0 hears the input, not a glide
	 * from the default mix down to 0 */
	{
		uint32_t rate = 44100, n = 2 * rate;
		float *in[1] = {fbuf(n)}, *out[1] = {fbuf(n)};
		synth(in[0], n, rate, 3, 0.9f);
		onr_dream *d = engine(rate, 1, ONR_STEREO_LINKED, WIN, 2, 8, 0);
		if (d) {
			onr_dream_params p;
			onr_dream_params_default(&p, model);
			p.mix = 0.0f;
			onr_dream_set_params(d, &p);
			run_blocks(d, in, out, 1, n, pat_64, 1);
			uint32_t L = onr_dream_latency(d), bad = delayed_mismatch(in[0], out[0], n, L);
			double dev = 0.0;
			for (uint32_t i = L; i < n; i++)
				dev = fmax(dev, fabs((double)out[0][i] - in[0][i - L]));
			CHECK(bad == n,
			      "mix 0 set on a fresh engine (no reset): out[%u] = %a, want the input delayed "
			      "by %u bit for bit (largest deviation %.3g: the mix glides from the "
			      "default 1 instead of starting at the mix set)",
			      bad, bad < n ? (double)out[0][bad] : 0.0, L, dev);
			onr_dream_free(d);
		}
		free(in[0]);
		free(out[0]);
	}

	/* mix automated from 1 down to 0 in the middle of a stream of notes with
	 * digital silence between them: once the glide is over (3 s later, 150
	 * time constants of a 20 ms glide) the output is the dry signal again,
	 * bit for bit, silence included */
	{
		uint32_t rate = 44100, n = 6 * rate, at = rate, from = 4 * rate;
		float *in[1] = {fbuf(n)}, *out[1] = {fbuf(n)};
		synth(in[0], n, rate, 4, 0.8f);
		for (uint32_t i = 0; i < n; i++)
			if ((i / (rate / 10)) % 2) /* 100 ms on, 100 ms off */
				in[0][i] = 0.0f;
		onr_dream *d = engine(rate, 1, ONR_STEREO_LINKED, WIN, 2, 8, 0);
		if (d) {
			onr_dream_params p;
			onr_dream_params_default(&p, model);
			float *ip1[1] = {in[0]}, *op1[1] = {out[0]};
			run_blocks(d, ip1, op1, 1, at, pat_64, 1);
			p.mix = 0.0f;
			onr_dream_set_params(d, &p);
			ip1[0] = in[0] + at;
			op1[0] = out[0] + at;
			run_blocks(d, ip1, op1, 1, n - at, pat_64, 1);
			uint32_t L = onr_dream_latency(d), differ = 0, first = n;
			double dev = 0.0;
			for (uint32_t i = from; i < n; i++) {
				if (memcmp(&out[0][i], &in[0][i - L], sizeof(float))) {
					differ++;
					if (first == n)
						first = i;
					dev = fmax(dev, fabs((double)out[0][i] - in[0][i - L]));
				}
			}
			CHECK(differ == 0,
			      "mix automated 1 -> 0 at %.1f s: from %.1f s on, %u output samples still differ "
			      "from the delayed input (the first at %u: %a where the input is %a; largest "
			      "deviation %.3g): the glide never reaches 0",
			      (double)at / rate, (double)from / rate, differ, first,
			      first < n ? (double)out[0][first] : 0.0,
			      first < n ? (double)in[0][first - L] : 0.0, dev);
			onr_dream_free(d);
		}
		free(in[0]);
		free(out[0]);
	}
}

/* ================================================================ 2. block sizes */
static void test_block_independence(void)
{
	static const struct {
		uint32_t rate, C, stereo;
	} cfgs[] = {
		{44100, 1, ONR_STEREO_LINKED},
		{48000, 2, ONR_STEREO_INDEPENDENT},
		{22050, 3, ONR_STEREO_LINKED},
		{16000, 1, ONR_STEREO_LINKED},
	};
	for (size_t g = 0; g < sizeof cfgs / sizeof cfgs[0]; g++) {
		uint32_t rate = cfgs[g].rate, C = cfgs[g].C, stereo = cfgs[g].stereo;
		uint32_t n = rate; /* the latency (~0.2 s) and 6 hops more */
		float *in[MAXC], *ref[MAXC], *out[MAXC], *out2[MAXC];
		for (uint32_t c = 0; c < C; c++) {
			in[c] = fbuf(n);
			ref[c] = fbuf(n);
			out[c] = fbuf(n);
			out2[c] = fbuf(n);
			synth(in[c], n, rate, 20 + c, 0.8f);
		}
		char what[96];
		snprintf(what, sizeof what, "dream on, %u Hz, %u ch, %s", rate, C,
		         stereo ? "independent" : "linked");
		onr_dream *d = engine(rate, C, stereo, WIN, 2, 8, 0);
		if (!d)
			goto next;
		uint32_t L = onr_dream_latency(d);
		run_blocks(d, in, ref, C, n, pat_1, 1);
		onr_dream_free(d);
		/* the dream must be doing something, or this proves nothing */
		{
			double s = 0.0, t = 0.0;
			for (uint32_t i = L; i < n; i++) {
				double e = (double)ref[0][i] - in[0][i - L];
				s += e * e;
				t += (double)in[0][i - L] * in[0][i - L];
			}
			CHECK(t > 0.0 && sqrt(s / t) > 1e-3,
			      "%s: the delta is only %.3g of the input (RMS): the dream is off?", what,
			      t > 0.0 ? sqrt(s / t) : 0.0);
		}
		for (size_t k = 1; k < NPAT; k++) {
			d = engine(rate, C, stereo, WIN, 2, 8, 0);
			if (!d)
				continue;
			run_blocks(d, in, out, C, n, patterns[k].p, patterns[k].n);
			for (uint32_t c = 0; c < C; c++) {
				uint32_t bad = first_bit_diff(out[c], ref[c], n);
				CHECK(bad == n, "%s: blocks of %s differ from blocks of 1 at channel %u sample %u: %a vs %a",
				      what, patterns[k].name, c, bad, bad < n ? (double)out[c][bad] : 0.0,
				      bad < n ? (double)ref[c][bad] : 0.0);
			}
			/* the same engine after a reset, in place, in varying blocks */
			onr_dream_reset(d);
			for (uint32_t c = 0; c < C; c++)
				memcpy(out[c], in[c], n * sizeof(float));
			run_blocks(d, out, out, C, n, pat_var, sizeof pat_var / sizeof pat_var[0]);
			for (uint32_t c = 0; c < C; c++) {
				uint32_t bad = first_bit_diff(out[c], ref[c], n);
				CHECK(bad == n,
				      "%s: after onr_dream_reset, in place, blocks %s then varying: channel %u "
				      "sample %u differs: %a vs %a",
				      what, patterns[k].name, c, bad, bad < n ? (double)out[c][bad] : 0.0,
				      bad < n ? (double)ref[c][bad] : 0.0);
			}
			onr_dream_free(d);
		}
		/* determinism: two engines side by side, their blocks interleaved */
		{
			onr_dream *a = engine(rate, C, stereo, WIN, 2, 8, 0);
			onr_dream *b = engine(rate, C, stereo, WIN, 2, 8, 0);
			if (a && b) {
				const float *ip[MAXC];
				float *oa[MAXC], *ob[MAXC];
				for (uint32_t pos = 0, k = 0; pos < n; k++) {
					uint32_t len = pat_var[k % (sizeof pat_var / sizeof pat_var[0])];
					if (len > n - pos)
						len = n - pos;
					for (uint32_t c = 0; c < C; c++) {
						ip[c] = in[c] + pos;
						oa[c] = out[c] + pos;
						ob[c] = out2[c] + pos;
					}
					onr_dream_process(a, ip, oa, len);
					onr_dream_process(b, ip, ob, len);
					pos += len;
				}
				for (uint32_t c = 0; c < C; c++) {
					uint32_t ba = first_bit_diff(out[c], ref[c], n);
					uint32_t bb = first_bit_diff(out2[c], ref[c], n);
					CHECK(ba == n && bb == n,
					      "%s: two engines interleaved: channel %u first differs from the "
					      "reference at %u (engine A) / %u (engine B) of %u",
					      what, c, ba, bb, n);
				}
			}
			onr_dream_free(a);
			onr_dream_free(b);
		}
	next:
		for (uint32_t c = 0; c < C; c++) {
			free(in[c]);
			free(ref[c]);
			free(out[c]);
			free(out2[c]);
		}
	}
}

/* ================================================================ 3. alignment */
/* A band-limited click: a Hann-windowed sinc with cut-off fc, height amp,
 * centred on sample t0. Returns its half-length in samples. */
static int add_click(float *x, uint32_t n, uint32_t rate, uint32_t t0, double fc, double amp)
{
	int half = (int)ceil(8.0 * rate / (2.0 * fc)); /* 8 zero crossings each side */
	for (int k = -half; k <= half; k++) {
		int64_t i = (int64_t)t0 + k;
		if (i < 0 || i >= (int64_t)n)
			continue;
		double t = 2.0 * fc * k / rate;
		double s = k ? sin(M_PI * t) / (M_PI * t) : 1.0;
		double w = 0.5 + 0.5 * cos(M_PI * k / (half + 1));
		x[i] += (float)(amp * s * w);
	}
	return half;
}

static void test_alignment(void)
{
	static const struct {
		uint32_t rate, overlap;
	} cfgs[] = {{44100, 2}, {48000, 2}, {96000, 2}, {16000, 2}, {44100, 4}};
	const double amp = 0.8, fc = 2000.0; /* a quarter of the model's Nyquist */
	for (size_t g = 0; g < sizeof cfgs / sizeof cfgs[0]; g++) {
		uint32_t rate = cfgs[g].rate, n = 2 * rate;
		onr_dream *d = engine(rate, 1, ONR_STEREO_LINKED, WIN, cfgs[g].overlap, 8, 1);
		if (!d)
			continue;
		uint32_t L = onr_dream_latency(d);
		float *in[1] = {fbuf(n)}, *out[1] = {fbuf(n)};
		enum { NCLICK = 9 };
		uint32_t at[NCLICK];
		int half = 0;
		for (int k = 0; k < NCLICK; k++) {
			/* spread over different phases of the hop */
			at[k] = (uint32_t)(0.45 * rate) + (uint32_t)k * (uint32_t)(0.1 * rate + 37.0 * k);
			half = add_click(in[0], n, rate, at[k], fc, amp);
		}
		run_blocks(d, in, out, 1, n, pat_var, sizeof pat_var / sizeof pat_var[0]);
		double worst_off = 0.0, hmin = 1e9, hmax = 0.0;
		for (int k = 0; k < NCLICK; k++) {
			uint32_t e = at[k] + L, pk = e;
			double best = -1.0;
			for (uint32_t i = e - (uint32_t)half; i <= e + (uint32_t)half && i < n; i++) {
				double dl = (double)out[0][i] - in[0][i - L];
				if (fabs(dl) > best) {
					best = fabs(dl);
					pk = i;
				}
			}
			/* sub-sample position of the peak (parabola through 3 points) */
			double ym = (double)out[0][pk - 1] - in[0][pk - 1 - L];
			double yc = (double)out[0][pk] - in[0][pk - L];
			double yp = (double)out[0][pk + 1] - in[0][pk + 1 - L];
			double den = ym - 2.0 * yc + yp;
			double frac = den != 0.0 ? 0.5 * (ym - yp) / den : 0.0;
			double off = (double)pk - e + frac;
			if (fabs(off) > fabs(worst_off))
				worst_off = off;
			double h = best / amp;
			hmin = fmin(hmin, h);
			hmax = fmax(hmax, h);
			CHECK(labs((long)pk - (long)e) <= 1,
			      "identity dream, %u Hz overlap %u: the click at %u (dry out at %u) has its "
			      "delta peak at %u (%+ld samples)",
			      rate, cfgs[g].overlap, at[k], e, pk, (long)pk - (long)e);
			CHECK(h >= 0.45 && h <= 0.55,
			      "identity dream, %u Hz overlap %u: the click at %u: delta peak %.4f of the "
			      "click, want 0.5 (windows summing to 1)",
			      rate, cfgs[g].overlap, at[k], h);
		}
		printf("alignment %u Hz overlap %u: latency %u, worst delta peak offset %+.2f samples, "
		       "height %.4f..%.4f of the click\n",
		       rate, cfgs[g].overlap, L, worst_off, hmin, hmax);
		onr_dream_free(d);
		free(in[0]);
		free(out[0]);
	}
}

/* ================================================================ 4. objective */
static void test_objective(void)
{
	/* one window, dreamt directly */
	onr_dreamer *w = NULL;
	char err[256] = "";
	int st = onr_dreamer_new(&w, model, WIN, 64, err, sizeof err);
	CHECK(st == ONR_OK && w, "onr_dreamer_new(window %u): %s", WIN, err);
	uint32_t n = (uint32_t)(2.5 * MRATE);
	float *x = fbuf(n);
	synth(x, n, MRATE, 40, 0.7f);
	float *delta = fbuf(WIN);
	if (w) {
		struct {
			const char *name;
			uint32_t mode;
			int pre;
			int wb; /* layers: the block weighted 1 (-1 = the defaults) */
			uint32_t block, filter, cls;
		} cases[] = {
			{"layers (defaults)", ONR_OBJ_LAYERS, 0, -1, 0, 0, 0},
			{"layers (defaults) pre", ONR_OBJ_LAYERS, 1, -1, 0, 0, 0},
			{"layers block 1", ONR_OBJ_LAYERS, 0, 0, 0, 0, 0},
			{"layers block 1 pre", ONR_OBJ_LAYERS, 1, 0, 0, 0, 0},
			{"layers block 5 (dense)", ONR_OBJ_LAYERS, 0, 4, 0, 0, 0},
			{"filter block 2 filter 3", ONR_OBJ_FILTER, 0, -1, 1, 3, 0},
			{"filter block 2 filter 3 pre", ONR_OBJ_FILTER, 1, -1, 1, 3, 0},
			{"filter block 4 filter 10", ONR_OBJ_FILTER, 0, -1, 3, 10, 0},
			{"filter block 4 filter 10 pre", ONR_OBJ_FILTER, 1, -1, 3, 10, 0},
			{"class 2", ONR_OBJ_CLASS, 0, -1, 0, 0, 2},
			{"class 0", ONR_OBJ_CLASS, 0, -1, 0, 0, 0},
		};
		const uint32_t starts[] = {(uint32_t)(0.35 * MRATE), (uint32_t)(1.0 * MRATE),
		                           (uint32_t)(1.7 * MRATE)};
		for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
			onr_dream_params p;
			onr_dream_params_default(&p, model);
			/* the plain ascent (J of the window itself must rise); the
			 * jittered one is checked in test_jitter */
			p.jitter_ms = 0.0f;
			p.jitter_gain_db = 0.0f;
			p.obj.mode = cases[k].mode;
			p.obj.pre = cases[k].pre;
			if (cases[k].wb >= 0) {
				memset(p.obj.layer_w, 0, sizeof p.obj.layer_w);
				p.obj.layer_w[cases[k].wb] = 1.0f;
			}
			p.obj.block = cases[k].block;
			p.obj.filter = cases[k].filter;
			p.obj.cls = cases[k].cls;
			char why[256] = "";
			if (onr_objective_check(model, &p.obj, why, sizeof why) != ONR_OK) {
				CHECK(0, "objective %s refused by the model: %s", cases[k].name, why);
				continue;
			}
			printf("objective %-30s", cases[k].name);
			for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
				float before = NAN, after = NAN;
				int r = onr_dreamer_run(w, &p, x + starts[s], delta, -1.0f, &before, &after, NULL,
				                        NULL);
				CHECK(r == 0 && isfinite(before) && isfinite(after) && after > before,
				      "onr_dreamer_run, %s, window at %u: returned %d, J %.6g -> %.6g, want a rise",
				      cases[k].name, starts[s], r, (double)before, (double)after);
				printf(" %.4g -> %.4g;", (double)before, (double)after);
			}
			printf("\n");
		}
		onr_dreamer_free(w);
	}
	free(delta);

	/* end to end at the model's rate: J measured by the model on windows of
	 * the latency-compensated output, against the same windows of the input */
	onr_net *net = NULL;
	st = onr_net_new(&net, model, WIN, 0);
	CHECK(st == ONR_OK && net, "onr_net_new(%u): %d", WIN, st);
	float *y = fbuf(n);
	for (int mode = 0; mode < 2 && net; mode++) {
		onr_dream *d = engine(MRATE, 1, ONR_STEREO_LINKED, WIN, 2, 16, 0);
		if (!d)
			break;
		uint32_t L = onr_dream_latency(d), hop = 0;
		onr_dream_geometry(d, NULL, &hop, NULL);
		onr_dream_params p;
		onr_dream_params_default(&p, model);
		p.jitter_ms = 0.0f; /* the plain ascent, as above */
		p.jitter_gain_db = 0.0f;
		uint32_t cls = 0;
		uint32_t nwin = (n - L - WIN) / hop; /* windows starting at j * hop */
		if (mode == 1) {
			/* the class the input sounds least like: it has room to rise */
			double pin[ONR_MAX_CLASSES] = {0};
			float pr[ONR_MAX_CLASSES];
			for (uint32_t j = 1; j + 1 < nwin; j++) {
				const float *xw = x + (size_t)j * hop;
				onr_net_forward(net, xw, WIN, onr_input_scale(model, xw, WIN), UINT32_MAX);
				onr_net_probs(net, pr);
				for (uint32_t c = 0; c < model->n_classes; c++)
					pin[c] += pr[c];
			}
			for (uint32_t c = 1; c < model->n_classes; c++)
				if (pin[c] < pin[cls])
					cls = c;
			p.obj.mode = ONR_OBJ_CLASS;
			p.obj.cls = cls;
			p.iterations = 16;
			p.depth = 1.0f;
		}
		onr_dream_set_params(d, &p);
		float *in1[1] = {x}, *out1[1] = {y};
		run_blocks(d, in1, out1, 1, n, pat_64, 1);
		const onr_dream_stats *stt = onr_dream_get_stats(d);
		CHECK(stt->windows > 0 && stt->obj_after > stt->obj_before,
		      "end to end, %s: stats say %llu windows, J %.6g -> %.6g", mode ? "class" : "layers",
		      (unsigned long long)stt->windows, stt->obj_before, stt->obj_after);
		double s_in = 0.0, s_out = 0.0;
		uint32_t rose = 0, cnt = 0;
		float pr[ONR_MAX_CLASSES];
		for (uint32_t j = 1; j + 1 < nwin; j++) { /* interior windows */
			const float *xi = x + (size_t)j * hop, *xo = y + (size_t)j * hop + L;
			float ji = 0.0f, jo = 0.0f;
			if (mode == 0) {
				onr_net_objective(net, &p.obj, xi, WIN, onr_input_scale(model, xi, WIN), &ji,
				                  NULL);
				onr_net_objective(net, &p.obj, xo, WIN, onr_input_scale(model, xo, WIN), &jo,
				                  NULL);
			} else {
				onr_net_forward(net, xi, WIN, onr_input_scale(model, xi, WIN), UINT32_MAX);
				onr_net_probs(net, pr);
				ji = pr[cls];
				onr_net_forward(net, xo, WIN, onr_input_scale(model, xo, WIN), UINT32_MAX);
				onr_net_probs(net, pr);
				jo = pr[cls];
			}
			s_in += ji;
			s_out += jo;
			rose += jo > ji;
			cnt++;
		}
		s_in /= cnt ? cnt : 1;
		s_out /= cnt ? cnt : 1;
		printf("end to end at %u Hz, %s: mean over %u windows %.5g (input) -> %.5g (output), "
		       "rose in %u\n",
		       MRATE, mode ? "class probability" : "J (layers, defaults)", cnt, s_in, s_out, rose);
		if (mode == 0)
			CHECK(cnt > 10 && s_out > s_in && rose * 10 >= cnt * 8,
			      "end to end, layers: J of the output %.6g vs the input %.6g over %u windows "
			      "(rose in %u)",
			      s_out, s_in, cnt, rose);
		else
			CHECK(cnt > 10 && s_out > s_in && rose * 10 >= cnt * 8,
			      "end to end, class %u: probability on the output %.6g vs the input %.6g over "
			      "%u windows (rose in %u)",
			      cls, s_out, s_in, cnt, rose);
		onr_dream_free(d);
	}
	onr_net_free(net);
	free(x);
	free(y);
}

/* ================================================================ 5. bound */
static void test_bound(void)
{
	onr_dreamer *w = NULL;
	char err[256] = "";
	int st = onr_dreamer_new(&w, model, WIN, 64, err, sizeof err);
	CHECK(st == ONR_OK && w, "onr_dreamer_new(window %u): %s", WIN, err);
	uint32_t n = 2 * MRATE;
	float *x = fbuf(n), *delta = fbuf(WIN), *hot = fbuf(WIN);
	synth(x, n, MRATE, 50, 0.97f);
	if (w) {
		const float bdb[] = {-30.0f, -12.0f, 0.0f, 6.0f, 12.0f};
		const float depths[] = {0.5f, 4.0f};
		const uint32_t start = (uint32_t)(0.3 * MRATE);
		const float *x0 = x + start;
		double r0 = rms(x0, WIN), worst_all = 0.0;
		for (size_t b = 0; b < sizeof bdb / sizeof bdb[0]; b++) {
			for (size_t k = 0; k < 2; k++) {
				onr_dream_params p;
				onr_dream_params_default(&p, model);
				p.bound_db = bdb[b];
				p.depth = depths[k];
				p.iterations = 16;
				onr_dreamer_run(w, &p, x0, delta, -1.0f, NULL, NULL, NULL, NULL);
				double bound = r0 * pow(10.0, bdb[b] / 20.0), worst = 0.0, big = 0.0;
				uint32_t over = 0, out_of_range = 0;
				for (uint32_t i = 0; i < WIN; i++) {
					/* one float rounding of x0 +- bound, then of the difference */
					double tol = 1e-6 * bound + 2.0 * FLT_EPSILON * (fabs(x0[i]) + bound);
					double a = fabs((double)delta[i]);
					over += a > bound + tol;
					worst = fmax(worst, a / bound);
					float v = x0[i] + delta[i];
					out_of_range += !(v >= -1.0f - 2 * FLT_EPSILON && v <= 1.0f + 2 * FLT_EPSILON);
					big = fmax(big, a);
				}
				worst_all = fmax(worst_all, worst);
				CHECK(over == 0,
				      "onr_dreamer_run, bound %+.0f dB depth %.1f: %u samples with |delta| above "
				      "the bound %.6g (worst %.7f x bound)",
				      (double)bdb[b], (double)depths[k], over, bound, worst);
				CHECK(out_of_range == 0,
				      "onr_dreamer_run, bound %+.0f dB depth %.1f: %u samples of x0 + delta "
				      "outside [-1, 1]",
				      (double)bdb[b], (double)depths[k], out_of_range);
				/* and the bound is what limits a deep dream (not something else) */
				if (depths[k] >= 4.0f && bdb[b] <= 0.0f)
					CHECK(big >= 0.5 * bound,
					      "onr_dreamer_run, bound %+.0f dB depth %.1f: largest |delta| %.4g, "
					      "under half the bound %.4g",
					      (double)bdb[b], (double)depths[k], big, bound);
			}
		}
		printf("onr_dreamer_run bound: worst |delta| / bound %.9f over bounds -30..+12 dB, "
		       "depths 0.5 and 4\n",
		       worst_all);
		/* an absolute bound on a silent window (render --from silence) */
		{
			float *zero = fbuf(WIN);
			onr_dream_params p;
			onr_dream_params_default(&p, model);
			p.depth = 2.0f;
			onr_dreamer_run(w, &p, zero, delta, 0.01f, NULL, NULL, NULL, NULL);
			double big = 0.0;
			for (uint32_t i = 0; i < WIN; i++)
				big = fmax(big, fabs((double)delta[i]));
			CHECK(big <= 0.01 * (1.0 + 1e-6),
			      "onr_dreamer_run from silence, bound_abs 0.01: |delta| reaches %.7g", big);
			free(zero);
		}
		/* a hot window (peaks at +3.5 dBFS, as a float mix bus carries): the
		 * bound the user set still holds; the dream must not hard-clip the
		 * signal to [-1, 1] by itself */
		{
			for (uint32_t i = 0; i < WIN; i++)
				hot[i] = 1.5f / 0.97f * x0[i];
			onr_dream_params p;
			onr_dream_params_default(&p, model);
			p.bound_db = -30.0f;
			p.depth = 0.5f;
			onr_dreamer_run(w, &p, hot, delta, -1.0f, NULL, NULL, NULL, NULL);
			double bound = rms(hot, WIN) * pow(10.0, -30.0 / 20.0), big = 0.0;
			for (uint32_t i = 0; i < WIN; i++)
				big = fmax(big, fabs((double)delta[i]));
			CHECK(big <= bound * (1.0 + 1e-5),
			      "onr_dreamer_run on a window peaking at 1.5 (bound -30 dB = %.4g): |delta| "
			      "reaches %.4g (%.1f x the bound): the [-1, 1] clip overrides the bound",
			      bound, big, big / bound);
		}
		onr_dreamer_free(w);
	}
	free(x);
	free(delta);
	free(hot);

	/* at the host rate: through the resamplers and the overlap-add; the
	 * signal's second half 20 dB quieter, so the bound must follow the level */
	{
		uint32_t rate = 44100, n2 = 4 * rate;
		float *in[1] = {fbuf(n2)}, *out[1] = {fbuf(n2)};
		static const struct {
			uint32_t rate;
			float depth;
			uint32_t iterations;
		} runs[] = {{MRATE, 4.0f, 16}, {44100, 0.5f, 8}, {44100, 4.0f, 16}};
		double f[3] = {0}, f_q[3] = {0};
		for (size_t k = 0; k < 3; k++) {
			uint32_t hr = runs[k].rate, nh = 4 * hr, q0 = nh / 2;
			synth(in[0], nh, hr, 51, 0.7f);
			for (uint32_t i = q0; i < nh; i++)
				in[0][i] *= 0.1f;
			onr_dream *d = engine(hr, 1, ONR_STEREO_LINKED, WIN, 2, 16, 0);
			if (!d)
				continue;
			onr_dream_params p;
			onr_dream_params_default(&p, model);
			p.depth = runs[k].depth;
			p.iterations = runs[k].iterations;
			onr_dream_set_params(d, &p);
			run_blocks(d, in, out, 1, nh, pat_var, sizeof pat_var / sizeof pat_var[0]);
			uint32_t L = onr_dream_latency(d);
			uint32_t Wh = (uint32_t)lround((double)WIN * hr / MRATE);
			/* the loudest window anywhere (every start), and in the quiet half */
			double *cum = malloc((nh + 1) * sizeof(double));
			cum[0] = 0.0;
			for (uint32_t i = 0; i < nh; i++)
				cum[i + 1] = cum[i] + (double)in[0][i] * in[0][i];
			double amp = pow(10.0, p.bound_db / 20.0), loud = 0.0, loud_q = 0.0;
			for (uint32_t s0 = 0; s0 + Wh <= nh; s0++) {
				double r = sqrt((cum[s0 + Wh] - cum[s0]) / Wh);
				loud = fmax(loud, r);
				if (s0 >= q0)
					loud_q = fmax(loud_q, r);
			}
			free(cum);
			double big = 0.0, big_q = 0.0;
			uint32_t guard = Wh + 1024; /* a window plus the resamplers' reach */
			for (uint32_t i = 0; i + L < nh; i++) {
				double dl = fabs((double)out[0][i + L] - in[0][i]);
				big = fmax(big, dl);
				if (i >= q0 + guard)
					big_q = fmax(big_q, dl);
			}
			f[k] = big / (amp * loud);
			f_q[k] = big_q / (amp * loud_q);
			printf("host-rate bound, %u Hz, %+.0f dB, depth %.1f, %u iterations: largest |delta| "
			       "%.3f x the loudest window's bound; in the part 20 dB quieter %.3f x its "
			       "bound\n",
			       hr, (double)p.bound_db, (double)p.depth, p.iterations, f[k], f_q[k]);
			CHECK(f[k] >= 0.5, "%u Hz, depth %.1f: |delta| only reaches %.3f x the bound", hr,
			      (double)p.depth, f[k]);
			/* the bound follows the level: the quiet part's delta as close to
			 * its own bound as the loud part's is to its */
			CHECK(f_q[k] >= 0.75 * f[k] && f_q[k] <= 1.33 * f[k],
			      "%u Hz, depth %.1f: the part 20 dB quieter reaches %.3f x its bound, the loud "
			      "part %.3f x its: the bound does not follow the level",
			      hr, (double)p.depth, f_q[k], f[k]);
			onr_dream_free(d);
		}
		/* at the model's rate the overlap-added windows (weights summing to 1)
		 * keep the bound of the loudest window they cover: no factor (1 %
		 * for levels measured on windows that are not the engine's) */
		CHECK(f[0] <= 1.01,
		      "16 kHz (no resampling): |delta| reaches %.4f x the loudest window's bound", f[0]);
		/* at 44.1 kHz, tolerance 1.25 x: the band-limited sinc resamplers ring
		 * (Gibbs, up to ~9 % on a step) and rebuild the peaks between the
		 * model's samples; neighbouring windows whose bounds differ are
		 * cross-faded; the level the engine measures at 16 kHz differs a
		 * little from the host-rate level here */
		CHECK(f[1] <= 1.25 && f[2] <= 1.25,
		      "44.1 kHz: |delta| reaches %.3f x (default params) and %.3f x (depth 4, 16 "
		      "iterations) the loudest window's bound, more than the 1.25 x a resampler's "
		      "ringing explains",
		      f[1], f[2]);
		onr_dream *d;
		/* the hot signal at the host rate: a small bound stays small */
		synth(in[0], n2, rate, 52, 1.5f);
		d = engine(rate, 1, ONR_STEREO_LINKED, WIN, 2, 16, 0);
		if (d) {
			onr_dream_params p;
			onr_dream_params_default(&p, model);
			p.depth = 0.5f;
			p.bound_db = -30.0f;
			onr_dream_set_params(d, &p);
			run_blocks(d, in, out, 1, n2, pat_4096, 1);
			uint32_t L = onr_dream_latency(d);
			double big = 0.0, loud = 0.0;
			uint32_t Wh = (uint32_t)lround((double)WIN * rate / MRATE);
			for (uint32_t s = 0; s + Wh <= n2; s += 64)
				loud = fmax(loud, rms(in[0] + s, Wh));
			for (uint32_t i = 0; i + L < n2; i++)
				big = fmax(big, fabs((double)out[0][i + L] - in[0][i]));
			double bound = loud * pow(10.0, -30.0 / 20.0);
			CHECK(big <= 1.25 * bound,
			      "44.1 kHz, a signal peaking at 1.5, bound -30 dB: |delta| reaches %.4g, %.1f x "
			      "the loudest window's bound %.4g",
			      big, big / bound, bound);
			onr_dream_free(d);
		}
		free(in[0]);
		free(out[0]);
	}
}

/* ================================================================ 6. silence */
/* The bound follows the envelope: in a window half a loud tone, half
 * silence, the silent half is left alone; with one bound per window
 * (window_bound) the dream reaches into it. */
static void test_envelope_bound(void)
{
	onr_dreamer *w;
	char err[256];
	if (onr_dreamer_new(&w, model, WIN, 16, err, sizeof err)) {
		CHECK(0, "onr_dreamer_new: %s", err);
		return;
	}
	float *x = fbuf(WIN), *d = fbuf(WIN);
	for (uint32_t i = 0; i < WIN; i++)
		x[i] = i < WIN / 2 ? 0.5f * sinf(0.07f * (float)i) * (1.0f + 0.3f * sinf(0.003f * (float)i))
		                   : 0.0f;
	for (int mode = 0; mode < 2; mode++) {
		onr_dream_params p;
		onr_dream_params_default(&p, model);
		p.depth = 2.0f;
		p.iterations = 8;
		p.window_bound = mode;
		onr_dreamer_run(w, &p, x, d, -1.0f, NULL, NULL, NULL, NULL);
		double loud = 0.0, quiet = 0.0;
		uint32_t margin = MRATE / 50; /* 20 ms past the tone's end */
		for (uint32_t i = 0; i < WIN / 2; i++)
			loud += (double)d[i] * d[i];
		for (uint32_t i = WIN / 2 + margin; i < WIN; i++)
			quiet += (double)d[i] * d[i];
		if (mode == 0)
			CHECK(loud > 0.0 && quiet == 0.0,
			      "envelope bound: dream energy %g in the tone, %g in the silence after it "
			      "(want some, none)", loud, quiet);
		else
			CHECK(loud > 0.0 && quiet > 0.0,
			      "one bound per window: dream energy %g in the tone, %g in the silence (want "
			      "both)", loud, quiet);
	}
	free(x);
	free(d);
	onr_dreamer_free(w);
}

static void test_silence(void)
{
	uint32_t rate = 44100, n = (uint32_t)(1.5 * rate);
	float *in[2] = {fbuf(n), fbuf(n)}, *out[2] = {fbuf(n), fbuf(n)}, *zero = fbuf(n);
	for (uint32_t stereo = 0; stereo < 2; stereo++) {
		onr_dream *d = engine(rate, 2, stereo, WIN, 2, 8, 0);
		if (!d)
			continue;
		run_blocks(d, in, out, 2, n, pat_var, sizeof pat_var / sizeof pat_var[0]);
		const onr_dream_stats *s = onr_dream_get_stats(d);
		for (uint32_t c = 0; c < 2; c++) {
			uint32_t bad = first_bit_diff(out[c], zero, n);
			CHECK(bad == n, "silence in (%s), channel %u: out[%u] = %a, want +0",
			      stereo ? "independent" : "linked", c, bad, bad < n ? (double)out[c][bad] : 0.0);
		}
		uint32_t hop_h = (uint32_t)((double)WIN / 2 * rate / MRATE);
		CHECK(s->windows == 0 && s->skipped >= (n / hop_h - 3) * (stereo ? 2 : 1),
		      "silence in (%s): %llu windows dreamed, %llu skipped (want 0 and about %u)",
		      stereo ? "independent" : "linked", (unsigned long long)s->windows,
		      (unsigned long long)s->skipped, (n / hop_h) * (stereo ? 2 : 1));
		CHECK(s->delta_sq == 0.0 && s->samples == n,
		      "silence in: stats delta_sq %g, samples %llu of %u", s->delta_sq,
		      (unsigned long long)s->samples, n);
		onr_dream_free(d);
	}
	/* under the floor (-60 dBFS by default): a signal at -70 dBFS RMS passes
	 * untouched; at -50 dBFS it is dreamed; with the floor at -80 the
	 * -70 dBFS signal is dreamed too */
	synth(in[0], n, rate, 60, 1.0f);
	double r = rms(in[0], n);
	const struct {
		double level_db, floor_db;
		int dreamed;
	} cases[] = {{-70.0, -60.0, 0}, {-50.0, -60.0, 1}, {-70.0, -80.0, 1}};
	float *base = fbuf(n);
	memcpy(base, in[0], n * sizeof(float));
	for (size_t k = 0; k < 3; k++) {
		float g = (float)(pow(10.0, cases[k].level_db / 20.0) / r);
		for (uint32_t i = 0; i < n; i++)
			in[0][i] = g * base[i];
		onr_dream *d = engine(rate, 1, ONR_STEREO_LINKED, WIN, 2, 8, 0);
		if (!d)
			continue;
		onr_dream_params p;
		onr_dream_params_default(&p, model);
		p.floor_db = (float)cases[k].floor_db;
		onr_dream_set_params(d, &p);
		run_blocks(d, in, out, 1, n, pat_64, 1);
		uint32_t L = onr_dream_latency(d), bad = delayed_mismatch(in[0], out[0], n, L);
		const onr_dream_stats *s = onr_dream_get_stats(d);
		if (!cases[k].dreamed) {
			CHECK(bad == n && s->windows == 0,
			      "%.0f dBFS with the floor at %.0f: out[%u] differs from the delayed input; "
			      "%llu windows dreamed (want none)",
			      cases[k].level_db, cases[k].floor_db, bad, (unsigned long long)s->windows);
		} else {
			CHECK(bad < n && s->windows > 0,
			      "%.0f dBFS with the floor at %.0f: %llu windows dreamed, output %s",
			      cases[k].level_db, cases[k].floor_db, (unsigned long long)s->windows,
			      bad < n ? "changed" : "untouched");
		}
		onr_dream_free(d);
	}
	free(base);
	free(in[0]);
	free(in[1]);
	free(out[0]);
	free(out[1]);
	free(zero);
}

/* ================================================================ 7. bad input */
static void test_bad_input(void)
{
	uint32_t rate = 44100, n = 2 * rate;
	float *in[2] = {fbuf(n), fbuf(n)}, *clean[2] = {fbuf(n), fbuf(n)};
	float *out[2] = {fbuf(n), fbuf(n)}, *ref[2] = {fbuf(n), fbuf(n)};
	synth(in[0], n, rate, 70, 0.8f);
	synth(in[1], n, rate, 71, 0.8f);
	uint32_t burst_at = (uint32_t)(0.3 * rate), burst_len = 2000;
	for (uint32_t c = 0; c < 2; c++) {
		/* a burst of NaN (in channel 0 only, or both) */
		for (uint32_t i = burst_at; i < burst_at + burst_len; i++)
			if (c == 0 || i % 2)
				in[c][i] = NAN;
		/* single infinities and NaNs */
		for (uint32_t i = (uint32_t)(0.5 * rate) + c; i < (uint32_t)(0.6 * rate); i += 997) {
			in[c][i] = INFINITY;
			in[c][i + 1] = -INFINITY;
			in[c][i + 5] = -NAN;
		}
		/* denormals */
		for (uint32_t i = (uint32_t)(0.65 * rate); i < (uint32_t)(0.75 * rate); i++)
			in[c][i] = (i & 1 ? 1e-40f : -1e-42f) * (float)(1 + i % 7);
		/* full scale, then beyond: a square wave at +-1, then at +-4 */
		for (uint32_t i = (uint32_t)(0.8 * rate); i < (uint32_t)(0.9 * rate); i++)
			in[c][i] = (i / 50) % 2 ? 1.0f : -1.0f;
		for (uint32_t i = (uint32_t)(1.0 * rate); i < (uint32_t)(1.1 * rate); i++)
			in[c][i] = (i / 50) % 2 ? 4.0f : -4.0f;
		for (uint32_t i = 0; i < n; i++)
			clean[c][i] = isfinite(in[c][i]) ? in[c][i] : 0.0f;
	}
	for (uint32_t stereo = 0; stereo < 2; stereo++) {
		const char *sm = stereo ? "independent" : "linked";
		/* depth 0: the dry path alone, non-finite samples out as +0 */
		onr_dream *d = engine(rate, 2, stereo, WIN, 2, 8, 0);
		if (!d)
			continue;
		onr_dream_params p;
		onr_dream_params_default(&p, model);
		p.depth = 0.0f;
		onr_dream_set_params(d, &p);
		onr_dream_reset(d);
		run_blocks(d, in, out, 2, n, pat_var, sizeof pat_var / sizeof pat_var[0]);
		uint32_t L = onr_dream_latency(d);
		for (uint32_t c = 0; c < 2; c++) {
			uint32_t bad = delayed_mismatch(clean[c], out[c], n, L);
			CHECK(bad == n,
			      "bad input, depth 0, %s, channel %u: out[%u] = %a, want %a (the input "
			      "delayed, non-finite as +0)",
			      sm, c, bad, bad < n ? (double)out[c][bad] : 0.0,
			      bad < n && bad >= L ? (double)clean[c][bad - L] : 0.0);
		}
		onr_dream_free(d);

		/* dream on: nothing non-finite out, and the same bits as the run
		 * where the non-finite samples were zeros */
		d = engine(rate, 2, stereo, WIN, 2, 8, 0);
		onr_dream *e = engine(rate, 2, stereo, WIN, 2, 8, 0);
		if (d && e) {
			onr_dream_params_default(&p, model);
			p.depth = 2.0f;
			onr_dream_set_params(d, &p);
			onr_dream_set_params(e, &p);
			run_blocks(d, in, out, 2, n, pat_var, sizeof pat_var / sizeof pat_var[0]);
			run_blocks(e, clean, ref, 2, n, pat_64, 1);
			for (uint32_t c = 0; c < 2; c++) {
				uint32_t nf = count_nonfinite(out[c], n);
				CHECK(nf == 0, "bad input, dream on, %s, channel %u: %u non-finite outputs", sm,
				      c, nf);
				/* two windows (and the latency) after the NaN burst */
				uint32_t from = burst_at + burst_len + L +
				                (uint32_t)(2.0 * WIN * rate / MRATE);
				uint32_t bad = first_bit_diff(out[c] + from, ref[c] + from, n - from);
				CHECK(bad == n - from,
				      "bad input, dream on, %s, channel %u: %u samples after the NaN burst the "
				      "output differs from the run with zeros there: %a vs %a",
				      sm, c, from + bad - burst_at, bad < n - from ? (double)out[c][from + bad] : 0.0,
				      bad < n - from ? (double)ref[c][from + bad] : 0.0);
				bad = first_bit_diff(out[c], ref[c], n);
				CHECK(bad == n,
				      "bad input, dream on, %s, channel %u: differs from the run with zeros for "
				      "the non-finite samples at %u (dream.h: non-finite taken as 0)",
				      sm, c, bad);
				double big = 0.0;
				for (uint32_t i = 0; i < n; i++)
					big = fmax(big, fabs((double)out[c][i]));
				CHECK(big < 8.0, "bad input, dream on, %s, channel %u: output reaches %.4g", sm, c,
				      big);
			}
		}
		onr_dream_free(d);
		onr_dream_free(e);
	}
	/* huge finite values (an unstable filter upstream blowing up): still
	 * nothing non-finite out. Each case alone, so a failure names its cause. */
	{
		static const struct {
			const char *what;
			uint32_t stereo;
			float v;
			uint32_t len;   /* consecutive samples */
			int both;       /* in both channels at the same instants */
		} cases[] = {
			{"+-1e30 every 101 samples, both channels, linked", ONR_STEREO_LINKED, 1e30f, 1, 1},
			{"+-FLT_MAX every 101 samples, one channel, linked", ONR_STEREO_LINKED, FLT_MAX, 1, 0},
			{"+-FLT_MAX every 101 samples, both channels, independent", ONR_STEREO_INDEPENDENT,
			 FLT_MAX, 1, 1},
			{"+-FLT_MAX at the same instants in both channels, linked", ONR_STEREO_LINKED,
			 FLT_MAX, 1, 1},
			{"a run of 50 samples at 1e30, independent", ONR_STEREO_INDEPENDENT, 1e30f, 50, 1},
			{"a run of 50 samples at FLT_MAX, independent", ONR_STEREO_INDEPENDENT, FLT_MAX, 50,
			 1},
		};
		for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
			uint32_t t0 = (uint32_t)(0.7 * rate), t1 = (uint32_t)(0.8 * rate);
			for (uint32_t c = 0; c < 2; c++) {
				synth(in[c], n, rate, 72 + c, 0.5f);
				if (c == 1 && !cases[k].both)
					continue;
				if (cases[k].len > 1) {
					for (uint32_t i = t0; i < t0 + cases[k].len; i++)
						in[c][i] = cases[k].v;
				} else {
					for (uint32_t i = t0; i < t1; i += 101)
						in[c][i] = (i / 101) % 2 ? cases[k].v : -cases[k].v;
				}
			}
			onr_dream *d = engine(rate, 2, cases[k].stereo, WIN, 2, 8, 0);
			if (!d)
				continue;
			uint32_t nh = (uint32_t)(1.5 * rate); /* past the huge samples' windows */
			run_blocks(d, in, out, 2, nh, pat_64, 1);
			for (uint32_t c = 0; c < 2; c++) {
				uint32_t nf = count_nonfinite(out[c], nh), first = nh;
				for (uint32_t i = 0; i < nh && first == nh; i++)
					if (!isfinite(out[c][i]))
						first = i;
				CHECK(nf == 0,
				      "huge finite input, %s (%g), dream on: channel %u has %u non-finite "
				      "outputs, the first at %u (the huge samples enter at %u, latency %u)",
				      cases[k].what, (double)cases[k].v, c, nf, first, t0, onr_dream_latency(d));
			}
			onr_dream_free(d);
		}
	}
	for (uint32_t c = 0; c < 2; c++) {
		free(in[c]);
		free(clean[c]);
		free(out[c]);
		free(ref[c]);
	}
}

/* ================================================================ 8. parameters */
static void test_params(void)
{
	const float nyq = MRATE / 2.0f;
	onr_dream_params def, p;
	onr_dream_params_default(&def, model);
	CHECK(onr_dream_params_sanitize(&def, model) == 0, "the defaults need sanitizing");
	CHECK(def.depth > 0.0f && def.iterations > 0 && def.mix == 1.0f && def.band_hi == nyq,
	      "defaults: depth %g iterations %u mix %g band_hi %g", (double)def.depth, def.iterations,
	      (double)def.mix, (double)def.band_hi);

	p = def;
	p.depth = NAN;
	p.bound_db = 1e30f;
	p.floor_db = -1e30f;
	p.band_lo = 5000.0f;
	p.band_hi = 100.0f;
	p.tilt_db = NAN;
	p.mix = -5.0f;
	p.obj.layer_w[0] = NAN;
	p.obj.layer_w[1] = 100.0f;
	p.jitter_ms = NAN;
	p.jitter_gain_db = 100.0f;
	p.jitter_copies = 0;
	int changed = onr_dream_params_sanitize(&p, model);
	CHECK(changed >= 11, "sanitize: %d fields changed, want at least 11", changed);
	CHECK(p.jitter_ms == def.jitter_ms && p.jitter_gain_db == 6.0f && p.jitter_copies == 1,
	      "sanitize: jitter NaN ms, 100 dB, 0 copies -> %g ms, %g dB, %u copies; want the "
	      "default %g ms, 6 dB, 1 copy",
	      (double)p.jitter_ms, (double)p.jitter_gain_db, p.jitter_copies, (double)def.jitter_ms);
	CHECK(p.depth == def.depth, "sanitize: NaN depth -> %g, want the default %g", (double)p.depth,
	      (double)def.depth);
	CHECK(p.bound_db == 12.0f, "sanitize: bound_db 1e30 -> %g, want 12", (double)p.bound_db);
	CHECK(p.floor_db == -120.0f, "sanitize: floor_db -1e30 -> %g, want -120", (double)p.floor_db);
	CHECK(p.band_lo == 100.0f && p.band_hi == 5000.0f,
	      "sanitize: band 5000..100 -> %g..%g, want swapped",
	      (double)p.band_lo, (double)p.band_hi);
	CHECK(p.tilt_db == def.tilt_db, "sanitize: NaN tilt -> %g", (double)p.tilt_db);
	CHECK(p.mix == 0.0f, "sanitize: mix -5 -> %g, want 0", (double)p.mix);
	CHECK(p.obj.layer_w[0] == 0.0f && p.obj.layer_w[1] == 16.0f,
	      "sanitize: layer weights NaN, 100 -> %g, %g, want 0, 16", (double)p.obj.layer_w[0],
	      (double)p.obj.layer_w[1]);
	CHECK(onr_dream_params_sanitize(&p, model) == 0, "sanitize is not idempotent");

	p = def;
	p.depth = 1e9f;
	p.mix = 1e9f;
	p.band_lo = -10.0f;
	p.band_hi = 1e6f;
	p.tilt_db = -1e9f;
	p.bound_db = -INFINITY;
	p.jitter_ms = 1e9f;
	p.jitter_gain_db = -INFINITY;
	p.jitter_copies = 1000;
	onr_dream_params_sanitize(&p, model);
	CHECK(p.jitter_ms == 16.0f && p.jitter_gain_db == 0.0f &&
	          p.jitter_copies == ONR_DREAM_MAX_COPIES,
	      "sanitize: jitter 1e9 ms, -inf dB, 1000 copies -> %g ms, %g dB, %u copies",
	      (double)p.jitter_ms, (double)p.jitter_gain_db, p.jitter_copies);
	CHECK(p.depth == 4.0f && p.mix == 2.0f && p.band_lo == 0.0f && p.band_hi == nyq &&
	          p.tilt_db == -12.0f && isfinite(p.bound_db) && p.bound_db >= -60.0f &&
	          p.bound_db <= 12.0f,
	      "sanitize: depth %g mix %g band %g..%g tilt %g bound %g", (double)p.depth, (double)p.mix,
	      (double)p.band_lo, (double)p.band_hi, (double)p.tilt_db, (double)p.bound_db);

	/* objectives the model cannot have fall back to the default one */
	const struct {
		uint32_t mode, block, filter, cls;
	} objs[] = {{7, 0, 0, 0}, {ONR_OBJ_FILTER, 0, 9999, 0}, {ONR_OBJ_FILTER, 99, 0, 0},
	            {ONR_OBJ_CLASS, 0, 0, 99}};
	for (size_t k = 0; k < sizeof objs / sizeof objs[0]; k++) {
		p = def;
		p.obj.mode = objs[k].mode;
		p.obj.block = objs[k].block;
		p.obj.filter = objs[k].filter;
		p.obj.cls = objs[k].cls;
		onr_dream_params_sanitize(&p, model);
		CHECK(onr_objective_check(model, &p.obj, NULL, 0) == ONR_OK &&
		          !memcmp(&p.obj, &def.obj, sizeof p.obj),
		      "sanitize: objective mode %u block %u filter %u class %u not replaced by the default",
		      objs[k].mode, objs[k].block, objs[k].filter, objs[k].cls);
	}

	/* silly values through set_params: no crash, no NaN, and the same bits
	 * as the clamped values (iterations capped at max_iterations 4) */
	uint32_t rate = 48000, n = rate;
	float *in[1] = {fbuf(n)}, *out[1] = {fbuf(n)}, *ref[1] = {fbuf(n)};
	synth(in[0], n, rate, 80, 0.8f);
	onr_dream *d = engine(rate, 1, ONR_STEREO_LINKED, WIN, 2, 4, 0);
	onr_dream *e = engine(rate, 1, ONR_STEREO_LINKED, WIN, 2, 4, 0);
	if (d && e) {
		p = def;
		p.depth = 1e9f;
		p.iterations = 1000000;
		p.mix = NAN;
		p.bound_db = NAN;
		p.band_lo = NAN;
		double t0 = now_s();
		onr_dream_set_params(d, &p);
		onr_dream_reset(d);
		run_blocks(d, in, out, 1, n, pat_var, sizeof pat_var / sizeof pat_var[0]);
		double t1 = now_s();
		uint32_t nf = count_nonfinite(out[0], n);
		CHECK(nf == 0, "depth 1e9, iterations 1e6, NaN mix: %u non-finite outputs", nf);
		p = def;
		p.depth = 4.0f;
		p.iterations = 4;
		onr_dream_set_params(e, &p);
		onr_dream_reset(e);
		run_blocks(e, in, ref, 1, n, pat_64, 1);
		uint32_t bad = first_bit_diff(out[0], ref[0], n);
		CHECK(bad == n,
		      "depth 1e9, iterations 1e6, NaN mix/bound/band_lo differ from depth 4, 4 "
		      "iterations (max_iterations), defaults, at sample %u: %a vs %a (%.2f s)",
		      bad, bad < n ? (double)out[0][bad] : 0.0, bad < n ? (double)ref[0][bad] : 0.0,
		      t1 - t0);
		/* changing parameters every block, some of them silly */
		onr_dream_reset(d);
		const float *ip[1];
		float *op[1];
		uint64_t s = 99;
		for (uint32_t pos = 0; pos < n;) {
			uint32_t len = 1 + (uint32_t)(rng_uni(&s) * 700);
			if (len > n - pos)
				len = n - pos;
			p = def;
			p.depth = (float)(rng_uni(&s) * 10.0 - 2.0);
			p.mix = rng_uni(&s) < 0.1 ? NAN : (float)(rng_uni(&s) * 3.0);
			p.bound_db = rng_uni(&s) < 0.1 ? INFINITY : (float)(rng_uni(&s) * 100.0 - 70.0);
			p.iterations = (uint32_t)(rng_uni(&s) * 10.0);
			p.band_lo = (float)(rng_uni(&s) * 9000.0);
			p.band_hi = (float)(rng_uni(&s) * 9000.0);
			p.smooth = rng_uni(&s) < 0.5;
			onr_dream_set_params(d, &p);
			ip[0] = in[0] + pos;
			op[0] = out[0] + pos;
			onr_dream_process(d, ip, op, len);
			pos += len;
		}
		nf = count_nonfinite(out[0], n);
		CHECK(nf == 0, "parameters changing every block: %u non-finite outputs", nf);
	}
	onr_dream_free(d);
	onr_dream_free(e);
	free(in[0]);
	free(out[0]);
	free(ref[0]);
}

/* ================================================================ 9. allocation */
static void test_no_alloc(void)
{
#if UNDER_ASAN
	printf("no-allocation check skipped: AddressSanitizer owns malloc in this build\n");
#else
	/* the counter itself works */
	void *(*volatile mf)(size_t) = malloc;
	void (*volatile ff)(void *) = free;
	alloc_calls = 0;
	alloc_counting = 1;
	ff(mf(16));
	alloc_counting = 0;
	CHECK(alloc_calls == 2, "malloc interposition not active: %lu calls counted for malloc+free",
	      alloc_calls);

	uint32_t rate = 48000, n = 3 * rate, C = 2;
	float *in[2] = {fbuf(n), fbuf(n)}, *out[2] = {fbuf(n), fbuf(n)};
	synth(in[0], n, rate, 90, 0.8f);
	synth(in[1], n, rate, 91, 0.8f);
	onr_dream *d = engine(rate, C, ONR_STEREO_INDEPENDENT, WIN, 2, 16, 0);
	if (d) {
		onr_dream_params p;
		onr_dream_params_default(&p, model);
		onr_dream_params q = p;
		q.smooth = 1;
		q.band_lo = 200.0f;
		q.band_hi = 3000.0f;
		q.obj.mode = ONR_OBJ_CLASS;
		q.obj.cls = 1;
		q.jitter_copies = 3; /* several jittered views, with gains */
		q.jitter_ms = 8.0f;
		q.jitter_gain_db = 3.0f;
		onr_dream_params qm = p; /* the magnitude form */
		qm.form = ONR_DREAM_MAGNITUDE;
		qm.depth = 1.0f;
		const float *ip[2];
		float *op[2];
		uint64_t s = 7;
		unsigned calls = 0;
		alloc_calls = 0;
		alloc_counting = 1;
		for (int pass = 0; pass < 4; pass++) {
			/* default settings; others (smoothing, a band, class mode);
			 * asynchronous with the worker run between calls; the
			 * magnitude form */
			onr_dream_set_params(d, pass == 1 ? &q : pass == 3 ? &qm : &p);
			onr_dream_set_async(d, pass == 2, count_notify, NULL);
			for (uint32_t pos = 0; pos < n; calls++) {
				uint32_t len = (uint32_t)(rng_uni(&s) * 96.0);
				if (len > n - pos)
					len = n - pos;
				for (uint32_t c = 0; c < C; c++) {
					ip[c] = in[c] + pos;
					op[c] = out[c] + pos;
				}
				onr_dream_process(d, ip, op, len);
				if (pass == 2)
					onr_dream_work(d);
				pos += len;
			}
			(void)onr_dream_get_stats(d);
			onr_dream_reset_stats(d);
			onr_dream_reset(d);
		}
		alloc_counting = 0;
		unsigned long got = alloc_calls;
		const onr_dream_stats *st;
		onr_dream_set_async(d, 0, NULL, NULL);
		onr_dream_set_params(d, &p);
		run_blocks(d, in, out, C, n / 4, pat_64, 1);
		st = onr_dream_get_stats(d);
		CHECK(got == 0,
		      "onr_dream_process (and set_params, reset, stats, async work): %lu allocation "
		      "calls in %u process calls",
		      got, calls);
		CHECK(calls > 1000 && st->windows > 0, "the no-allocation run: %u calls, %llu windows dreamed",
		      calls, (unsigned long long)st->windows);
		printf("no-allocation: %u process calls, dream on, %lu allocation calls\n", calls, got);
		onr_dream_free(d);
	}
	free(in[0]);
	free(in[1]);
	free(out[0]);
	free(out[1]);
#endif
}

/* ================================================================ 11. async */
/* Asynchronous mode, with the "worker" run on this thread between blocks:
 * windows done in time give the same bits as synchronous mode; with no
 * worker at all every window is late and passed dry. */
static void test_async(void)
{
	uint32_t rate = 48000, n = rate, C = 2;
	float *in[2] = {fbuf(n), fbuf(n)}, *ref[2] = {fbuf(n), fbuf(n)}, *out[2] = {fbuf(n), fbuf(n)};
	synth(in[0], n, rate, 110, 0.8f);
	synth(in[1], n, rate, 111, 0.8f);
	onr_dream *d = engine(rate, C, ONR_STEREO_INDEPENDENT, WIN, 2, 8, 0);
	onr_dream *a = engine(rate, C, ONR_STEREO_INDEPENDENT, WIN, 2, 8, 0);
	if (d && a) {
		run_blocks(d, in, ref, C, n, pat_64, 1);
		const onr_dream_stats *sd = onr_dream_get_stats(d);
		uint64_t sync_windows = sd->windows;

		/* a worker that is always in time */
		notified = 0;
		onr_dream_set_async(a, 1, count_notify, NULL);
		onr_dream_set_listen(a, 1);
		const float *ip[2];
		float *op[2];
		int ran = 0;
		for (uint32_t pos = 0; pos < n; pos += 64) {
			uint32_t len = n - pos < 64 ? n - pos : 64;
			for (uint32_t c = 0; c < C; c++) {
				ip[c] = in[c] + pos;
				op[c] = out[c] + pos;
			}
			onr_dream_process(a, ip, op, len);
			ran += onr_dream_work(a);
		}
		const onr_dream_stats *sa = onr_dream_get_stats(a);
		for (uint32_t c = 0; c < C; c++) {
			uint32_t bad = first_bit_diff(out[c], ref[c], n);
			CHECK(bad == n,
			      "async with a worker in time (and listening on): channel %u differs from "
			      "synchronous mode at %u: %a vs %a",
			      c, bad, bad < n ? (double)out[c][bad] : 0.0, bad < n ? (double)ref[c][bad] : 0.0);
		}
		CHECK(sa->late == 0 && sa->windows == sync_windows && ran > 0 && notified >= (unsigned long)ran,
		      "async with a worker in time: %llu late, %llu windows (sync %llu), %d jobs run, %lu "
		      "notifications",
		      (unsigned long long)sa->late, (unsigned long long)sa->windows,
		      (unsigned long long)sync_windows, ran, notified);
		float heard[ONR_MAX_CLASSES];
		uint64_t hs = onr_dream_heard(a, heard);
		double sum = 0.0;
		for (uint32_t k = 0; k < model->n_classes; k++)
			sum += heard[k];
		CHECK(hs > 0 && fabs(sum - 1.0) < 1e-4,
		      "listening: %llu windows heard, probabilities summing to %.6f",
		      (unsigned long long)hs, sum);

		/* no worker at all: every window late, the output dry, bit for bit */
		onr_dream_reset(a);
		onr_dream_reset_stats(a);
		run_blocks(a, in, out, C, n, pat_var, sizeof pat_var / sizeof pat_var[0]);
		uint32_t L = onr_dream_latency(a);
		for (uint32_t c = 0; c < C; c++) {
			uint32_t bad = delayed_mismatch(in[c], out[c], n, L);
			CHECK(bad == n,
			      "async with no worker: channel %u: out[%u] = %a is not the input delayed by %u",
			      c, bad, bad < n ? (double)out[c][bad] : 0.0, L);
		}
		CHECK(sa->late > 0 && sa->windows == 0,
		      "async with no worker: %llu late windows, %llu dreamed (want some, none)",
		      (unsigned long long)sa->late, (unsigned long long)sa->windows);
		CHECK(onr_dream_latency(a) == onr_dream_latency(d), "async latency %u, sync %u",
		      onr_dream_latency(a), onr_dream_latency(d));

		/* host blocks longer than a hop: an engine told of them gives the
		 * worker two blocks' time, so a worker run after every block is
		 * never late */
		onr_dream_free(a);
		max_block = 4096;
		a = engine(rate, C, 0, WIN, 2, 8, 0);
		max_block = 1024;
		if (!a)
			return;
		onr_dream_set_async(a, 1, count_notify, NULL);
		sa = onr_dream_get_stats(a);
		for (uint32_t pos = 0; pos < n; pos += 4096) {
			uint32_t len = n - pos < 4096 ? n - pos : 4096;
			for (uint32_t c = 0; c < C; c++) {
				ip[c] = in[c] + pos;
				op[c] = out[c] + pos;
			}
			onr_dream_process(a, ip, op, len);
			onr_dream_work(a);
		}
		CHECK(sa->late == 0 && sa->windows > 0,
		      "async, blocks of 4096 at %u Hz (hop %u host samples), worker run after every "
		      "block: %llu late, %llu dreamed",
		      rate, (unsigned)((double)WIN / 2 * rate / MRATE), (unsigned long long)sa->late,
		      (unsigned long long)sa->windows);
	}
	onr_dream_free(d);
	onr_dream_free(a);
	for (uint32_t c = 0; c < C; c++) {
		free(in[c]);
		free(ref[c]);
		free(out[c]);
	}
}

/* ================================================================ main */
/* ================================================================ 12. jitter */
static uint64_t fnv_bits(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void jitter_off(onr_dream_params *p)
{
	p->jitter_copies = 1;
	p->jitter_ms = 0.0f;
	p->jitter_gain_db = 0.0f;
}

/* The plain ascent's bits: windows dreamed toward three objectives, and a
 * stereo stream at 44.1 kHz; FNV-1a over every delta, J and output sample. */
static uint64_t plain_hash(void)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t n = (uint32_t)(1.2 * MRATE);
	float *x = fbuf(n), *delta = fbuf(WIN);
	synth(x, n, MRATE, 130, 0.7f);
	onr_dreamer *w = NULL;
	char err[256] = "";
	int st = onr_dreamer_new(&w, model, WIN, 16, err, sizeof err);
	CHECK(st == ONR_OK, "onr_dreamer_new: %s", err);
	for (int k = 0; k < 3 && w; k++) {
		onr_dream_params p;
		onr_dream_params_default(&p, model);
		jitter_off(&p);
		if (k == 1) {
			p.obj.mode = ONR_OBJ_CLASS;
			p.obj.cls = 1;
			p.iterations = 16;
			p.depth = 1.0f;
		} else if (k == 2) {
			p.obj.mode = ONR_OBJ_FILTER;
			p.obj.block = 1;
			p.obj.filter = 3;
			p.smooth = 1;
		}
		for (uint32_t at = 0; at + WIN <= n; at += 5000) {
			float before = 0.0f, after = 0.0f;
			onr_dreamer_run(w, &p, x + at, delta, -1.0f, &before, &after, NULL, NULL);
			h = fnv_bits(h, delta, WIN * sizeof(float));
			h = fnv_bits(h, &before, sizeof before);
			h = fnv_bits(h, &after, sizeof after);
		}
	}
	onr_dreamer_free(w);
	free(x);
	free(delta);

	uint32_t rate = 44100, ns = (uint32_t)(0.8 * rate);
	float *in[2] = {fbuf(ns), fbuf(ns)}, *out[2] = {fbuf(ns), fbuf(ns)};
	synth(in[0], ns, rate, 131, 0.8f);
	synth(in[1], ns, rate, 132, 0.8f);
	onr_dream *d = engine(rate, 2, ONR_STEREO_INDEPENDENT, WIN, 2, 8, 0);
	if (d) {
		onr_dream_params p;
		onr_dream_params_default(&p, model);
		jitter_off(&p);
		onr_dream_set_params(d, &p);
		run_blocks(d, in, out, 2, ns, pat_var, sizeof pat_var / sizeof pat_var[0]);
		h = fnv_bits(h, out[0], ns * sizeof(float));
		h = fnv_bits(h, out[1], ns * sizeof(float));
		onr_dream_free(d);
	}
	for (int c = 0; c < 2; c++) {
		free(in[c]);
		free(out[c]);
	}
	return h;
}

/* plain_hash() as the engine gave it before jitter existed (commit 0b6f5e1,
 * its dream.c built by gcc -O2), per kernel set, with one deliberate change
 * since: the bound's envelope looks back 10 ms and ahead 0.25 ms instead of
 * +-5 ms, so that the dream does not reach before an onset (pre-echo; the
 * hashes were recorded again then, with jitter off as before). Other
 * compilers may round differently, so there the check is skipped */
static const struct {
	const char *isa;
	uint64_t hash;
} plain_recorded[] = {
	{"generic", 0xd86b8c43733f0d0full},
	{"avx2", 0x22574a6e229f5ebbull},
};

/* The dream's gain of J over the plain window, aligned and with the delta
 * delayed by `shift` samples against it, summed over windows of x. */
static void shift_gains(onr_dreamer *w, onr_net *net, const onr_dream_params *p, const float *x,
                        const uint32_t *starts, uint32_t nstarts, uint32_t shift, double *aligned,
                        double *shifted)
{
	float *delta = fbuf(WIN), *v = fbuf(WIN);
	*aligned = *shifted = 0.0;
	for (uint32_t s = 0; s < nstarts; s++) {
		const float *x0 = x + starts[s];
		float sc = onr_input_scale(model, x0, WIN), j0 = 0.0f, ja = 0.0f, js = 0.0f;
		onr_dreamer_seed(w, s);
		onr_dreamer_run(w, p, x0, delta, -1.0f, NULL, NULL, NULL, NULL);
		onr_net_objective(net, &p->obj, x0, WIN, sc, &j0, NULL);
		for (uint32_t i = 0; i < WIN; i++)
			v[i] = x0[i] + delta[i];
		onr_net_objective(net, &p->obj, v, WIN, sc, &ja, NULL);
		for (uint32_t i = 0; i < WIN; i++)
			v[i] = x0[i] + (i >= shift ? delta[i - shift] : 0.0f);
		onr_net_objective(net, &p->obj, v, WIN, sc, &js, NULL);
		*aligned += ja - j0;
		*shifted += js - j0;
	}
	free(delta);
	free(v);
}

static void test_jitter(void)
{
	/* off: the plain ascent's bits, as they were, with every kernel set
	 * this CPU has a recorded hash for */
	char best[32];
	snprintf(best, sizeof best, "%s", onr_kernel_isa());
	int compared = 0;
	for (size_t k = 0; k < sizeof plain_recorded / sizeof plain_recorded[0]; k++) {
		if (!onr_kernels_force(plain_recorded[k].isa))
			continue;
		uint64_t h = plain_hash();
#if UNDER_ASAN || defined(__clang__)
		printf("jitter off, %s kernels: plain ascent hash %016llx; compared with the recorded "
		       "bits in gcc builds without sanitizers only\n",
		       plain_recorded[k].isa, (unsigned long long)h);
#else
		CHECK(h == plain_recorded[k].hash,
		      "jitter off (copies 1, 0 ms, 0 dB), %s kernels: the plain ascent's bits changed: "
		      "hash %016llx, recorded %016llx before jitter existed",
		      plain_recorded[k].isa, (unsigned long long)h,
		      (unsigned long long)plain_recorded[k].hash);
		compared++;
#endif
	}
	onr_kernels_force(best);
	printf("jitter off: the plain ascent's bits compared with the recorded ones for %d kernel "
	       "set(s)\n",
	       compared);

	uint32_t n = (uint32_t)(2.5 * MRATE);
	float *x = fbuf(n), *d1 = fbuf(WIN), *d2 = fbuf(WIN), *d3 = fbuf(WIN), *d4 = fbuf(WIN);
	synth(x, n, MRATE, 140, 0.7f);
	onr_dreamer *a = NULL, *b = NULL;
	char err[256] = "";
	onr_dreamer_new(&a, model, WIN, 16, err, sizeof err);
	onr_dreamer_new(&b, model, WIN, 16, err, sizeof err);
	CHECK(a && b, "onr_dreamer_new: %s", err);
	if (!a || !b)
		goto out;
	const float *x0 = x + MRATE / 2;
	onr_dream_params pj;
	onr_dream_params_default(&pj, model);
	pj.obj.mode = ONR_OBJ_CLASS;
	pj.obj.cls = 2;
	pj.jitter_copies = 3;
	pj.jitter_ms = 8.0f;
	pj.jitter_gain_db = 3.0f;

	/* copies do nothing without a transformation: the same bits */
	{
		onr_dream_params p1 = pj, p8 = pj;
		jitter_off(&p1);
		jitter_off(&p8);
		p8.jitter_copies = 8;
		onr_dreamer_run(a, &p1, x0, d1, -1.0f, NULL, NULL, NULL, NULL);
		onr_dreamer_run(a, &p8, x0, d2, -1.0f, NULL, NULL, NULL, NULL);
		uint32_t bad = first_bit_diff(d1, d2, WIN);
		CHECK(bad == WIN, "jitter 0 ms, 0 dB: 8 copies differ from 1 at sample %u", bad);
	}

	/* deterministic: the same seed, the same bits; each run moves the seed
	 * on; another seed gives other views, so another dream */
	onr_dreamer_seed(a, 5);
	onr_dreamer_run(a, &pj, x0, d1, -1.0f, NULL, NULL, NULL, NULL);
	onr_dreamer_run(a, &pj, x0, d2, -1.0f, NULL, NULL, NULL, NULL);
	onr_dreamer_seed(b, 5);
	onr_dreamer_run(b, &pj, x0, d3, -1.0f, NULL, NULL, NULL, NULL);
	onr_dreamer_run(b, &pj, x0, d4, -1.0f, NULL, NULL, NULL, NULL);
	CHECK(first_bit_diff(d1, d3, WIN) == WIN && first_bit_diff(d2, d4, WIN) == WIN,
	      "jitter on: two dreamers seeded alike differ (first run at %u, second at %u)",
	      first_bit_diff(d1, d3, WIN), first_bit_diff(d2, d4, WIN));
	CHECK(first_bit_diff(d1, d2, WIN) < WIN && rel_l2(d1, d2, WIN) > 1e-3,
	      "jitter on: seeds 5 and 6 give the same dream (rel. difference %.3g): the views are "
	      "not random",
	      rel_l2(d1, d2, WIN));
	{
		onr_dream_params p0 = pj;
		jitter_off(&p0);
		onr_dreamer_run(a, &p0, x0, d3, -1.0f, NULL, NULL, NULL, NULL);
		CHECK(rel_l2(d1, d3, WIN) > 1e-2,
		      "jitter on and off give nearly the same dream (rel. difference %.3g)",
		      rel_l2(d1, d3, WIN));
	}

	/* the bound holds with every transformation at its widest, in a hot
	 * window (peaks near full scale) and a quiet one */
	{
		float *hot = fbuf(n);
		synth(hot, n, MRATE, 141, 0.99f);
		static const float bounds[] = {-30.0f, -12.0f, 0.0f, 6.0f, 12.0f};
		double worst = 0.0;
		uint32_t over_fs = 0;
		for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++)
			for (int wb = 0; wb < 2; wb++) {
				onr_dream_params p = pj;
				p.obj.mode = ONR_OBJ_LAYERS;
				p.jitter_copies = 4;
				p.jitter_ms = 16.0f;
				p.jitter_gain_db = 6.0f;
				p.depth = 4.0f;
				p.iterations = 8;
				p.bound_db = bounds[k];
				p.window_bound = wb;
				const float *xs = (k & 1) ? hot + MRATE : x + MRATE / 4;
				onr_dreamer_run(a, &p, xs, d1, -1.0f, NULL, NULL, NULL, NULL);
				double bound = rms(xs, WIN) * pow(10.0, bounds[k] / 20.0);
				for (uint32_t i = 0; i < WIN; i++) {
					double r = fabs(d1[i]) / bound;
					if (r > worst)
						worst = r;
					float y = xs[i] + d1[i];
					over_fs += fabsf(y) > fmaxf(1.0f, fabsf(xs[i]));
				}
			}
		CHECK(worst <= 1.0 + 1e-5 && worst > 0.1,
		      "jitter (4 copies, 16 ms, 6 dB): |delta| reaches %.7f x the bound", worst);
		CHECK(over_fs == 0, "jitter: %u samples of x0 + delta beyond full scale", over_fs);
		printf("jitter bound: worst |delta| / bound %.7f (4 copies, 16 ms, +-6 dB, depth 4)\n",
		       worst);
		free(hot);
	}

	/* the stream with jitter on: the same bits whatever the blocks, after a
	 * reset and in place; and not the bits of the plain ascent */
	{
		uint32_t rate = 48000, ns = rate, C = 2;
		float *in[2] = {fbuf(ns), fbuf(ns)}, *ref[2] = {fbuf(ns), fbuf(ns)};
		float *out[2] = {fbuf(ns), fbuf(ns)};
		synth(in[0], ns, rate, 142, 0.8f);
		synth(in[1], ns, rate, 143, 0.8f);
		onr_dream_params p;
		onr_dream_params_default(&p, model);
		p.jitter_copies = 2;
		p.jitter_ms = 8.0f;
		p.jitter_gain_db = 2.0f;
		onr_dream *d = engine(rate, C, ONR_STEREO_INDEPENDENT, WIN, 2, 8, 0);
		if (d) {
			onr_dream_set_params(d, &p);
			run_blocks(d, in, ref, C, ns, pat_1, 1);
			static const struct {
				const uint32_t *p;
				uint32_t n;
				int in_place;
			} runs[] = {{pat_4096, 1, 0}, {pat_var, sizeof pat_var / sizeof pat_var[0], 1}};
			for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
				onr_dream_reset(d);
				float **src = in;
				if (runs[k].in_place) {
					for (uint32_t c = 0; c < C; c++)
						memcpy(out[c], in[c], ns * sizeof(float));
					src = out;
				}
				run_blocks(d, src, out, C, ns, runs[k].p, runs[k].n);
				for (uint32_t c = 0; c < C; c++) {
					uint32_t bad = first_bit_diff(out[c], ref[c], ns);
					CHECK(bad == ns,
					      "jitter on (2 copies, 8 ms, 2 dB), 48 kHz stereo: run %zu (%s) "
					      "differs from blocks of 1 at channel %u sample %u",
					      k, runs[k].in_place ? "varying blocks, in place, after a reset"
					                          : "blocks of 4096, after a reset",
					      c, bad);
				}
			}
			jitter_off(&p);
			onr_dream_reset(d);
			onr_dream_set_params(d, &p);
			run_blocks(d, in, out, C, ns, pat_64, 1);
			CHECK(rel_l2(out[0], ref[0], ns) > 1e-4,
			      "jitter on and off give (nearly) the same stream: rel. difference %.3g",
			      rel_l2(out[0], ref[0], ns));
			onr_dream_free(d);
		}
		for (uint32_t c = 0; c < C; c++) {
			free(in[c]);
			free(ref[c]);
			free(out[c]);
		}
	}

	/* what it is for: the dream of a window, delayed 1 ms against the dry
	 * sound, keeps more of its gain with jitter than without. The random
	 * tiny model has little but phase-exact detail to offer, so the
	 * jittered gain is small; what it gains survives the shift, while the
	 * plain dream's gain is nearly all lost. Class dreams toward each
	 * class, over 24 windows. */
	{
		onr_net *net = NULL;
		onr_net_new(&net, model, WIN, 0);
		CHECK(net != NULL, "onr_net_new");
		uint32_t starts[24];
		for (uint32_t s = 0; s < 24; s++)
			starts[s] = (uint32_t)((0.05 + 0.09 * s) * MRATE);
		double ga[2] = {0.0, 0.0}, gs[2] = {0.0, 0.0};
		for (uint32_t cls = 0; cls < model->n_classes && net; cls++) {
			onr_dream_params p;
			onr_dream_params_default(&p, model);
			p.obj.mode = ONR_OBJ_CLASS;
			p.obj.cls = cls;
			p.depth = 1.0f;
			p.iterations = 16;
			for (int on = 0; on < 2; on++) {
				double g1, g2;
				if (on) {
					p.jitter_copies = 4;
					p.jitter_ms = 4.0f;
				} else {
					jitter_off(&p);
				}
				shift_gains(a, net, &p, x, starts, 24, MRATE / 1000, &g1, &g2);
				ga[on] += g1;
				gs[on] += g2;
			}
		}
		double r0 = gs[0] / ga[0], r1 = gs[1] / ga[1];
		printf("shift test (class dreams, 24 windows x %u classes): plain gain %.4g, with the "
		       "delta 1 ms late %.4g (%.0f %%); jittered (4 copies, 4 ms) %.4g, %.4g (%.0f %%)\n",
		       model->n_classes, ga[0], gs[0], 100.0 * r0, ga[1], gs[1], 100.0 * r1);
		CHECK(ga[0] > 0.0 && ga[1] > 0.0 && gs[1] > 0.0 && r0 < 0.15 && r1 > 0.25 && r1 > 4.0 * r0,
		      "shift test: a 1 ms delay keeps %.0f %% of the plain dream's gain (%.4g) and %.0f "
		      "%% of the jittered one's (%.4g); want under 15 %% and over 25 %%",
		      100.0 * r0, ga[0], 100.0 * r1, ga[1]);
		onr_net_free(net);
	}
out:
	onr_dreamer_free(a);
	onr_dreamer_free(b);
	free(x);
	free(d1);
	free(d2);
	free(d3);
	free(d4);
}

/* ================================================================ magnitude form */
/* The dream as a time-varying filter: it adds no frequency the dry sound
 * lacks, each change stays within the bound of its bin, silence stays
 * exactly silent, it moves the objective, and the stream is as
 * deterministic and block-size independent as the additive form. */
static void test_magnitude(void)
{
	onr_dreamer *w = NULL;
	char err[256] = "";
	onr_dreamer_new(&w, model, WIN, 16, err, sizeof err);
	CHECK(w != NULL, "onr_dreamer_new: %s", err);
	if (!w)
		return;
	float *x = fbuf(WIN), *d1 = fbuf(WIN), *d2 = fbuf(WIN);
	onr_dream_params p;
	onr_dream_params_default(&p, model);
	p.form = ONR_DREAM_MAGNITUDE;
	p.depth = 2.0f;
	p.iterations = 16;
	p.jitter_ms = 0.0f; /* the objective's rise, as the plain ascent */
	/* a 1 kHz tone in the first half, then 64 ms of digital silence */
	for (uint32_t i = 0; i < WIN; i++)
		x[i] = i < WIN - 1024 ? (float)(0.5 * sin(2.0 * M_PI * 1000.0 * i / MRATE)) : 0.0f;
	float before = 0, after = 0;
	onr_dreamer_seed(w, 1);
	int r = onr_dreamer_run(w, &p, x, d1, -1.0f, &before, &after, NULL, NULL);
	CHECK(r == 0 && after > before, "magnitude form: the objective does not rise (%g -> %g)",
	      (double)before, (double)after);
	double bound = pow(10.0, p.bound_db / 20.0), worst = 0.0, e_all = 0.0, e_off = 0.0;
	/* each bin moves at most the bound times that bin: a steady partial
	 * (away from where the tone stops, where 16 ms frames smear) moves
	 * within the bound times its amplitude */
	for (uint32_t i = 256; i < WIN - 1024 - 256; i++)
		worst = fmax(worst, fabs(d1[i]));
	CHECK(worst > 1e-4 && worst <= 1.02 * bound * 0.5,
	      "magnitude form on a 0.5 tone: largest change %.4g (bound %.4g x 0.5)", worst,
	      bound * 0.5);
	/* nothing new: the delta's spectrum, away from the tone's end, lies at 1 kHz */
	for (uint32_t k = 1; k < 200; k++) {
		double f = 10.0 * k, c = 0.0, sn = 0.0;
		const uint32_t i0 = 128, len = WIN - 1024 - 256;
		for (uint32_t i = i0; i < i0 + len; i++) {
			double h = 0.5 - 0.5 * cos(2.0 * M_PI * (i - i0) / len); /* Hann: no leakage */
			c += h * d1[i] * cos(2.0 * M_PI * f * i / MRATE);
			sn += h * d1[i] * sin(2.0 * M_PI * f * i / MRATE);
		}
		double e = c * c + sn * sn;
		e_all += e;
		if (fabs(f - 1000.0) > 150.0)
			e_off += e;
	}
	CHECK(e_all > 0.0 && e_off < 1e-4 * e_all,
	      "magnitude form: %.3g of the delta's energy lies away from the dry tone", e_off / e_all);
	double tail = 0.0;
	for (uint32_t i = WIN - 1024 + 256; i < WIN; i++)
		tail = fmax(tail, fabs(d1[i]));
	CHECK(tail < 1e-6, "magnitude form: silence after the tone gets %.3g", tail);
	/* determinism, with jitter on */
	p.jitter_ms = 4.0f;
	onr_dreamer_seed(w, 9);
	onr_dreamer_run(w, &p, x, d1, -1.0f, NULL, NULL, NULL, NULL);
	onr_dreamer_seed(w, 9);
	onr_dreamer_run(w, &p, x, d2, -1.0f, NULL, NULL, NULL, NULL);
	CHECK(first_bit_diff(d1, d2, WIN) == WIN, "magnitude form: the same seed, other bits");
	/* depth 0: no change at all */
	p.depth = 0.0f;
	onr_dreamer_run(w, &p, x, d1, -1.0f, NULL, NULL, NULL, NULL);
	worst = 0.0;
	for (uint32_t i = 0; i < WIN; i++)
		worst = fmax(worst, fabs(d1[i]));
	CHECK(worst == 0.0, "magnitude form at depth 0 changes %.3g", worst);
	onr_dreamer_free(w);
	free(x), free(d1), free(d2);

	/* the stream: blocks of 1 and of 4096 give the same bits, depth 0 is the
	 * input through the latency, and the dream differs from the additive one */
	uint32_t rate = 48000, n = 2 * rate, C = 2;
	float *in[2] = {fbuf(n), fbuf(n)}, *o1[2] = {fbuf(n), fbuf(n)}, *o2[2] = {fbuf(n), fbuf(n)};
	synth(in[0], n, rate, 150, 0.8f);
	synth(in[1], n, rate, 151, 0.8f);
	onr_dream_params q;
	onr_dream_params_default(&q, model);
	q.form = ONR_DREAM_MAGNITUDE;
	onr_dream *a = engine(rate, C, ONR_STEREO_LINKED, WIN, 2, 16, 0);
	onr_dream *b = engine(rate, C, ONR_STEREO_LINKED, WIN, 2, 16, 0);
	if (a && b) {
		onr_dream_set_params(a, &q);
		onr_dream_set_params(b, &q);
		run_blocks(a, in, o1, C, n, pat_1, 1);
		run_blocks(b, in, o2, C, n, pat_4096, 1);
		uint32_t bad = first_bit_diff(o1[0], o2[0], n);
		CHECK(bad == n && first_bit_diff(o1[1], o2[1], n) == n,
		      "magnitude form: blocks of 1 and of 4096 differ at sample %u", bad);
		uint32_t L = onr_dream_latency(a);
		double dsq = 0.0;
		for (uint32_t i = L; i < n; i++) {
			double dd = o1[0][i] - in[0][i - L];
			dsq += dd * dd;
		}
		CHECK(dsq > 0.0, "magnitude form: the stream's output is the input");
		onr_dream_reset(b);
		q.form = ONR_DREAM_ADD;
		onr_dream_set_params(b, &q);
		run_blocks(b, in, o2, C, n, pat_4096, 1);
		CHECK(first_bit_diff(o1[0], o2[0], n) < n, "the magnitude form is the additive one");
		onr_dream_reset(b);
		q.form = ONR_DREAM_MAGNITUDE;
		q.depth = 0.0f;
		onr_dream_set_params(b, &q);
		run_blocks(b, in, o2, C, n, pat_64, 1);
		uint32_t m0 = delayed_mismatch(in[0], o2[0], n, L), m1 = delayed_mismatch(in[1], o2[1], n, L);
		CHECK(m0 == n && m1 == n,
		      "magnitude form, depth 0: not the input delayed bit for bit (from %u / %u of %u)",
		      m0, m1, n);
	}
	onr_dream_free(a);
	onr_dream_free(b);
	for (uint32_t c = 0; c < C; c++)
		free(in[c]), free(o1[c]), free(o2[c]);
	/* auto: the magnitude form for layers, the additive one toward a class */
	{
		onr_dreamer *w2 = NULL;
		onr_dreamer_new(&w2, model, WIN, 16, err, sizeof err);
		float *xs = fbuf(WIN), *da = fbuf(WIN), *db = fbuf(WIN);
		synth(xs, WIN, MRATE, 160, 0.6f);
		for (int cls = 0; cls < 2 && w2; cls++) {
			onr_dream_params pa;
			onr_dream_params_default(&pa, model);
			if (cls) {
				pa.obj.mode = ONR_OBJ_CLASS;
				pa.obj.cls = 1;
			}
			onr_dream_params pb = pa;
			pa.form = ONR_DREAM_AUTO;
			pb.form = cls ? ONR_DREAM_ADD : ONR_DREAM_MAGNITUDE;
			CHECK(onr_dream_params_sanitize(&pa, model) == 0, "form auto sanitised away");
			onr_dreamer_seed(w2, 3);
			onr_dreamer_run(w2, &pa, xs, da, -1.0f, NULL, NULL, NULL, NULL);
			onr_dreamer_seed(w2, 3);
			onr_dreamer_run(w2, &pb, xs, db, -1.0f, NULL, NULL, NULL, NULL);
			CHECK(first_bit_diff(da, db, WIN) == WIN, "form auto, %s: not the %s form's bits",
			      cls ? "class" : "layers", cls ? "additive" : "magnitude");
		}
		onr_dreamer_free(w2);
		free(xs), free(da), free(db);
	}
	/* sanitize: an unknown form goes back to the default */
	onr_dream_params bad;
	onr_dream_params_default(&bad, model);
	bad.form = 7;
	CHECK(onr_dream_params_sanitize(&bad, model) >= 1 && bad.form == ONR_DREAM_ADD,
	      "form 7 not sanitised (%u)", bad.form);
}

/* ================================================================ pre-echo */
/* Plucked notes and a click after silence, at 48 kHz through the stream,
 * both forms: at the defaults the dream's delta in the 10 ms before each
 * onset stays 40 dB below the onset's peak (deeper, with a bound of -6 dB:
 * 35 dB; what is left is the upsampler's smear of the onset's first
 * samples). */
static void test_preecho(void)
{
	const uint32_t rate = 48000, n = 4 * rate;
	static const double at[4] = {0.5, 1.3, 2.1, 2.9}, f0[4] = {220, 330, 440, 0};
	float *in[1] = {fbuf(n)}, *out[1] = {fbuf(n)};
	for (int k = 0; k < 4; k++) {
		uint32_t i0 = (uint32_t)(at[k] * rate);
		if (!f0[k]) {
			in[0][i0] = 0.5f; /* a click */
			continue;
		}
		for (uint32_t i = 0; i < (uint32_t)(0.3 * rate); i++) {
			double t = (double)i / rate, v = 0.0;
			for (int h = 1; h <= 7; h++)
				v += sin(2.0 * M_PI * f0[k] * h * t) / h * exp(-t * (8.0 + 2.0 * h));
			double fade = fmin(1.0, (0.3 - t) / 0.02);
			in[0][i0 + i] = (float)(0.3 * v * fade);
		}
	}
	for (int form = 0; form < 2; form++)
		for (int deep = 0; deep < 2; deep++) {
			onr_dream *d = engine(rate, 1, ONR_STEREO_LINKED, WIN, 2, 16, 0);
			if (!d)
				continue;
			onr_dream_params p;
			onr_dream_params_default(&p, model);
			p.form = form ? ONR_DREAM_MAGNITUDE : ONR_DREAM_ADD;
			if (deep) {
				p.depth = 2.0f;
				p.iterations = 16;
				p.bound_db = -6.0f;
			}
			onr_dream_set_params(d, &p);
			run_blocks(d, in, out, 1, n, pat_var, sizeof pat_var / sizeof pat_var[0]);
			uint32_t L = onr_dream_latency(d);
			double worst = -400.0, changed = 0.0;
			for (int k = 0; k < 4; k++) {
				uint32_t i0 = (uint32_t)(at[k] * rate), pre = rate / 100;
				double peak = 0.0, e = 0.0;
				for (uint32_t i = i0; i < i0 + rate / 20; i++)
					peak = fmax(peak, fabs(in[0][i]));
				for (uint32_t i = i0 - pre; i < i0; i++) {
					double dd = out[0][i + L] - in[0][i];
					e += dd * dd;
				}
				worst = fmax(worst, 10.0 * log10(e / pre + 1e-30) - 20.0 * log10(peak));
				for (uint32_t i = i0; i < i0 + rate / 10; i++)
					changed += fabs(out[0][i + L] - in[0][i]);
			}
			CHECK(worst <= (deep ? -35.0 : -40.0) && changed > 0.0,
			      "pre-echo, %s form%s: the delta in the 10 ms before an onset is %.1f dB re "
			      "its peak (at most %d); changed after the onsets %.3g",
			      form ? "magnitude" : "add", deep ? ", deep" : "", worst, deep ? -35 : -40,
			      changed);
			printf("pre-echo, %s form%s: worst 10 ms before an onset %.1f dB re its peak\n",
			       form ? "magnitude" : "add", deep ? ", deep" : "", worst);
			onr_dream_free(d);
		}
	free(in[0]);
	free(out[0]);
}

/* ================================================================ several listeners
 * A second model heard at once: both models' targets rise; share 0 is the
 * first model alone, bit for bit; the stream stays block-size independent
 * and differs from the single-model dream; a model at another rate, or one
 * needing a longer window, is refused with a reason. */
static void test_second(void)
{
	onr_op ops[ONR_MAX_OPS];
	char err[256] = "";
	uint32_t nops = onr_arch_preset("small", 4, ops);
	onr_model *m2 = NULL, *m22 = NULL;
	int st = onr_model_new(&m2, ops, nops, MRATE, MWIN, ONR_KIND_CLASSES, NULL, 4, err,
	                       sizeof err);
	CHECK(st == ONR_OK, "second model: %s", err);
	st = onr_model_new(&m22, ops, nops, 22050, MWIN, ONR_KIND_CLASSES, NULL, 4, err, sizeof err);
	CHECK(st == ONR_OK, "second model at 22050 Hz: %s", err);
	if (!m2 || !m22) {
		onr_model_free(m2);
		onr_model_free(m22);
		return;
	}
	onr_model_init_params(m2, 77);
	onr_model_init_params(m22, 78);
	onr_dreamer *one = NULL, *two = NULL, *ear2 = NULL;
	onr_dreamer_new(&one, model, WIN, 16, err, sizeof err);
	onr_dreamer_new(&two, model, WIN, 16, err, sizeof err);
	onr_dreamer_new(&ear2, m2, WIN, 16, err, sizeof err);
	CHECK(one && two && ear2, "onr_dreamer_new: %s", err);
	if (!one || !two || !ear2)
		goto out;
	err[0] = '\0';
	st = onr_dreamer_set_second(two, m22, err, sizeof err);
	CHECK(st != ONR_OK && strstr(err, "22050 Hz"), "a second model at another rate: %d '%s'",
	      st, err);
	st = onr_dreamer_set_second(two, m2, err, sizeof err);
	CHECK(st == ONR_OK, "onr_dreamer_set_second: %s", err);

	float *x = fbuf(WIN), *d1 = fbuf(WIN), *d2 = fbuf(WIN), *y = fbuf(WIN);
	synth(x, WIN, MRATE, 5, 0.5f);
	onr_dream_params p;
	onr_dream_params_default(&p, model);
	p.obj.mode = ONR_OBJ_CLASS;
	p.obj.cls = 2;
	p.depth = 1.0f;
	p.iterations = 16;
	/* share 0: the first model alone, bit for bit */
	p.second_share = 0.0f;
	onr_dreamer_run(one, &p, x, d1, -1.0f, NULL, NULL, NULL, NULL);
	onr_dreamer_run(two, &p, x, d2, -1.0f, NULL, NULL, NULL, NULL);
	CHECK(first_bit_diff(d1, d2, WIN) == WIN, "second model at share 0: other bits than none");
	/* share 0.5: both models hear more of class 2 */
	p.second_share = 0.5f;
	float before = 0, after = 0, pb[4], pa[4];
	onr_dreamer_run(two, &p, x, d2, -1.0f, &before, &after, NULL, NULL);
	CHECK(after > before, "two models: the first's target does not rise (%g -> %g)",
	      (double)before, (double)after);
	for (uint32_t i = 0; i < WIN; i++)
		y[i] = x[i] + d2[i];
	onr_dreamer_listen(ear2, x, pb);
	onr_dreamer_listen(ear2, y, pa);
	CHECK(pa[2] > pb[2], "two models: the second's target does not rise (%g -> %g)",
	      (double)pb[2], (double)pa[2]);
	CHECK(first_bit_diff(d1, d2, WIN) < WIN, "two models: the single model's dream");
	double bound = pow(10.0, p.bound_db / 20.0), ss = 0.0, worst = 0.0;
	for (uint32_t i = 0; i < WIN; i++) {
		ss += (double)x[i] * x[i];
		worst = fmax(worst, fabs(d2[i]));
	}
	CHECK(worst <= 1.001 * bound * sqrt(ss / WIN),
	      "two models: largest change %.4g beyond the bound", worst);
	/* layers: the weights carried over by relative depth still dream */
	onr_dream_params_default(&p, model);
	before = after = 0;
	onr_dreamer_run(one, &p, x, d1, -1.0f, NULL, NULL, NULL, NULL);
	onr_dreamer_run(two, &p, x, d2, -1.0f, &before, &after, NULL, NULL);
	CHECK(after > before, "two models, layers: the objective does not rise (%g -> %g)",
	      (double)before, (double)after);
	CHECK(first_bit_diff(d1, d2, WIN) < WIN, "two models, layers: the single model's dream");
	free(x), free(d1), free(d2), free(y);

	/* the stream: blocks of 1 and of 4096 give the same bits */
	{
		uint32_t rate = 44100, n = rate, C = 2;
		float *in[2] = {fbuf(n), fbuf(n)}, *o1[2] = {fbuf(n), fbuf(n)},
		      *o2[2] = {fbuf(n), fbuf(n)}, *o0[2] = {fbuf(n), fbuf(n)};
		synth(in[0], n, rate, 160, 0.8f);
		synth(in[1], n, rate, 161, 0.8f);
		onr_dream *a = engine2(rate, C, ONR_STEREO_LINKED, WIN, 2, 16, 0, m2);
		onr_dream *b = engine2(rate, C, ONR_STEREO_LINKED, WIN, 2, 16, 0, m2);
		onr_dream *c = engine(rate, C, ONR_STEREO_LINKED, WIN, 2, 16, 0); /* the first alone */
		if (a && b && c) {
			run_blocks(a, in, o1, C, n, pat_1, 1);
			run_blocks(b, in, o2, C, n, pat_4096, 1);
			run_blocks(c, in, o0, C, n, pat_4096, 1);
			uint32_t bad = first_bit_diff(o1[0], o2[0], n);
			CHECK(bad == n && first_bit_diff(o1[1], o2[1], n) == n,
			      "two models: blocks of 1 and of 4096 differ at sample %u", bad);
			CHECK(first_bit_diff(o0[0], o2[0], n) < n,
			      "two models: the stream gives the single model's bits");
		}
		onr_dream_free(a);
		onr_dream_free(b);
		onr_dream_free(c);
		for (int k = 0; k < 2; k++)
			free(in[k]), free(o1[k]), free(o2[k]), free(o0[k]);
	}
out:
	onr_dreamer_free(one);
	onr_dreamer_free(two);
	onr_dreamer_free(ear2);
	onr_model_free(m2);
	onr_model_free(m22);
}

int main(void)
{
	onr_op ops[ONR_MAX_OPS];
	uint32_t nops = onr_arch_preset("tiny", 4, ops);
	char err[256] = "";
	int st = onr_model_new(&model, ops, nops, MRATE, MWIN, ONR_KIND_CLASSES, NULL, 4, err,
	                       sizeof err);
	CHECK(st == ONR_OK && model, "onr_model_new(tiny, %u Hz, window %u): %s", MRATE, MWIN, err);
	if (st != ONR_OK)
		return check_done("test_dream");
	onr_model_init_params(model, 20240601);

	static const struct {
		const char *name;
		void (*fn)(void);
	} parts[] = {
		{"errors", test_errors},
		{"pass-through", test_passthrough},
		{"block sizes", test_block_independence},
		{"alignment", test_alignment},
		{"objective", test_objective},
		{"bound", test_bound},
		{"silence", test_silence},
		{"envelope bound", test_envelope_bound},
		{"bad input", test_bad_input},
		{"parameters", test_params},
		{"allocation", test_no_alloc},
		{"async", test_async},
		{"jitter", test_jitter},
		{"magnitude form", test_magnitude},
		{"pre-echo", test_preecho},
		{"several listeners", test_second},
	};
	for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
		double t0 = now_s();
		int f0 = check_fail;
		parts[k].fn();
		printf("-- %s: %.2f s%s\n", parts[k].name, now_s() - t0,
		       check_fail > f0 ? " (failures)" : "");
	}
	onr_model_free(model);
	return check_done("test_dream");
}
