/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_augment.c -- the training augmentation (onr_augment_window) that
 * `oneiro train --augment` applies: seeded and repeatable, silent in for
 * silent out, always finite, and varying what it claims to vary: pitch
 * within 0.8 to 1.25 times, colour, and a band limit on some windows that
 * really removes the top band (as an 8 kHz recording has none); and the
 * rooms (onr_augment_room, --room) and masks (onr_augment_mask, --mask):
 * seeded, silent for silence, a room a decaying tail at the level and length
 * its header promises, a mask a deep band cut and a silent gap. */
#include "check.h"
#include "train.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define W 16384
#define RATE 16000.0

static float x[W], y[W], y2[W];

/* the frequency of the strongest DFT bin between lo and hi Hz, 2 Hz steps */
static double peak_hz(const float *v, double lo, double hi)
{
	double best = 0.0, best_f = lo;
	for (double f = lo; f <= hi; f += 2.0) {
		double w = 2.0 * M_PI * f / RATE, re = 0.0, im = 0.0;
		for (int n = 0; n < W; n++) {
			re += v[n] * cos(w * n);
			im -= v[n] * sin(w * n);
		}
		if (re * re + im * im > best) {
			best = re * re + im * im;
			best_f = f;
		}
	}
	return best_f;
}

/* white noise from an LCG seeded by `seed`, peak 0.17 (RMS about 0.1) */
static void white(float *v, uint64_t seed)
{
	for (int n = 0; n < W; n++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		v[n] = (float)(((double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0) * 0.17);
	}
}

static double rms(const float *v)
{
	double s = 0.0;
	for (int n = 0; n < W; n++)
		s += (double)v[n] * v[n];
	return sqrt(s / W);
}

/* energy of the first difference over energy: a brightness measure */
static double brightness(const float *v)
{
	double d = 0.0, e = 0.0;
	for (int n = 1; n < W; n++) {
		d += ((double)v[n] - v[n - 1]) * ((double)v[n] - v[n - 1]);
		e += (double)v[n] * v[n];
	}
	return d / (e + 1e-300);
}

/* mean power (dB) of a Hann-windowed stretch of v (len samples from `at`)
 * at the frequencies lo, lo + step, ... <= hi Hz */
static double band_db(const float *v, int at, int len, double lo, double hi, double step)
{
	double sum = 0.0;
	int k = 0;
	for (double f = lo; f <= hi; f += step, k++) {
		double w = 2.0 * M_PI * f / RATE, re = 0.0, im = 0.0;
		for (int n = 0; n < len; n++) {
			double h = 0.5 - 0.5 * cos(2.0 * M_PI * n / len), s = v[at + n] * h;
			re += s * cos(w * n);
			im -= s * sin(w * n);
		}
		sum += re * re + im * im;
	}
	return 10.0 * log10(sum / k + 1e-300);
}

int main(void)
{
	white(x, 99);

	/* the same seed gives the same window; the seed advances */
	uint64_t s1 = 7, s2 = 7;
	onr_augment_window(y, x, W, RATE, &s1);
	onr_augment_window(y2, x, W, RATE, &s2);
	CHECK(!memcmp(y, y2, sizeof y), "the same seed gave different windows");
	CHECK(s1 == s2 && s1 != 7, "the seed did not advance the same way");
	onr_augment_window(y2, x, W, RATE, &s2);
	CHECK(memcmp(y, y2, sizeof y) != 0, "the next draw repeated the first");

	/* every draw finite and within a sane level of the input; colour varies */
	uint64_t s = 1;
	double bmin = INFINITY, bmax = 0.0, lmin = INFINITY, lmax = 0.0;
	int finite = 1;
	for (int k = 0; k < 200; k++) {
		onr_augment_window(y, x, W, RATE, &s);
		for (int n = 0; n < W; n++)
			finite &= isfinite(y[n]);
		double l = 20.0 * log10(rms(y) / rms(x)), b = brightness(y);
		lmin = fmin(lmin, l);
		lmax = fmax(lmax, l);
		bmin = fmin(bmin, b);
		bmax = fmax(bmax, b);
	}
	CHECK(finite, "an augmented window had a NaN or Inf");
	CHECK(lmin > -15.0 && lmax < 15.0, "level change %.1f to %.1f dB, beyond +-15 dB", lmin, lmax);
	CHECK(bmax / bmin > 2.0, "brightness varies only %.2fx over 200 draws: no colour change",
	      bmax / bmin);

	/* band limit: some windows lose their top band (7.6-7.95 kHz more than
	 * 40 dB under 0.5-2 kHz, where white noise in has them level): about a
	 * quarter, as ONR_AUG_LOWPASS_P says;
	 * the low band stays; such a window is repeatable from its seed */
	{
		int dull = 0, bright = 0, low_kept = 1, same = 1;
		double deepest = 0.0, in_low = band_db(x, 6144, 4096, 500.0, 2000.0, 250.0);
		uint64_t sd = 11;
		for (int k = 0; k < 200; k++) {
			uint64_t before = sd;
			onr_augment_window(y, x, W, RATE, &sd);
			double lo = band_db(y, 6144, 4096, 500.0, 2000.0, 250.0);
			double r = band_db(y, 6144, 4096, 7600.0, 7950.0, 50.0) - lo;
			if (r < -40.0) {
				dull++;
				deepest = fmin(deepest, r);
				low_kept &= fabs(lo - in_low) < 20.0;
				uint64_t again = before;
				onr_augment_window(y2, x, W, RATE, &again);
				same &= !memcmp(y, y2, sizeof y) && again == sd;
			} else if (r > -20.0) {
				bright++;
			}
		}
		CHECK(dull >= 25 && dull <= 80, "%d of 200 windows lost their top band (expected about 50)",
		      dull);
		CHECK(bright >= 120, "only %d of 200 windows kept their top band", bright);
		CHECK(deepest < -55.0, "the top band went down by %.0f dB at most: no steep low-pass",
		      -deepest);
		CHECK(low_kept, "a band-limited window lost its low band too");
		CHECK(same, "a band-limited window was not repeatable from its seed");
	}

	/* silence stays silence: the noise follows the window's level */
	memset(x, 0, sizeof x);
	onr_augment_window(y, x, W, RATE, &s);
	int zero = 1;
	for (int n = 0; n < W; n++)
		zero &= y[n] == 0.0f;
	CHECK(zero, "silence in gave sound out");

	/* pitch: a 500 Hz tone comes out between 400 and 625 Hz, and spread */
	for (int n = 0; n < W; n++)
		x[n] = 0.1f * (float)sin(2.0 * M_PI * 500.0 * n / RATE);
	double fmin_ = INFINITY, fmax_ = 0.0;
	int inside = 1;
	for (int k = 0; k < 40; k++) {
		onr_augment_window(y, x, W, RATE, &s);
		double f = peak_hz(y, 350.0, 680.0);
		inside &= f >= 400.0 - 3.0 && f <= 625.0 + 3.0;
		fmin_ = fmin(fmin_, f);
		fmax_ = fmax(fmax_, f);
	}
	CHECK(inside, "a 500 Hz tone came out outside 400-625 Hz");
	CHECK(fmin_ < 460.0 && fmax_ > 545.0, "pitch varied only from %.0f to %.0f Hz", fmin_, fmax_);

	/* degenerate sizes: one sample is copied, two are handled */
	float one = 0.5f, out = 0.0f, two[2] = {0.1f, -0.2f}, out2[2];
	onr_augment_window(&out, &one, 1, RATE, &s);
	CHECK(out == 0.5f, "a one-sample window was changed");
	onr_augment_window(out2, two, 2, RATE, &s);
	CHECK(isfinite(out2[0]) && isfinite(out2[1]), "a two-sample window went non-finite");

	/* ---- rooms: an impulse gets a tail that decays, at a level within the
	 * promised 20 to 0 dB of the dry sound, RT60s over the promised range */
	{
		static float work[3 * W];
		int finite_r = 1, tails = 1, decays = 1;
		double rt_min = INFINITY, rt_max = 0.0, wet_min = INFINITY, wet_max = -INFINITY;
		uint64_t sr = 5;
		for (int k = 0; k < 60; k++) {
			memset(y, 0, sizeof y);
			y[100] = 1.0f;
			onr_augment_room(y, W, RATE, &sr, work);
			double e[8] = {0}, tail = 0.0;
			for (int n = 0; n < W; n++) {
				finite_r &= isfinite(y[n]);
				if (n >= 101)
					tail += (double)y[n] * y[n];
				if (n >= 101 + 1600) /* 0.1 s on: 8 blocks of 1024 */
					if ((n - 1701) / 1024 < 8)
						e[(n - 1701) / 1024] += (double)y[n] * y[n];
			}
			double wet = 10.0 * log10(tail + 1e-300); /* the dry impulse's energy: 1 */
			wet_min = fmin(wet_min, wet);
			wet_max = fmax(wet_max, wet);
			tails &= wet > -21.0 && wet < 0.5 && fabs(y[100] - 1.0f) < 0.1f;
			/* decay rate over 0.1-0.3 s (blocks 0-2) -> RT60 */
			double slope = 10.0 * log10((e[2] + 1e-300) / (e[0] + 1e-300)) / 0.128; /* dB/s */
			decays &= e[2] < e[0];
			double rt = -60.0 / slope;
			rt_min = fmin(rt_min, rt);
			rt_max = fmax(rt_max, rt);
		}
		CHECK(finite_r, "a room made a NaN or Inf");
		CHECK(tails, "a room's tail was outside 20 to 0 dB of the dry impulse (%.1f to %.1f dB)",
		      wet_min, wet_max);
		CHECK(wet_max - wet_min > 12.0, "the rooms' levels vary only %.1f dB", wet_max - wet_min);
		CHECK(decays, "a room's tail grew instead of decaying");
		CHECK(rt_min > 0.08 && rt_max < 3.0 && rt_max / rt_min > 3.0,
		      "the rooms' RT60s ran from %.2f to %.2f s (promised 0.15 to 1.5)", rt_min, rt_max);
		/* repeatable; silence stays silent */
		uint64_t a = 9, b = 9;
		for (int n = 0; n < W; n++)
			y[n] = y2[n] = (float)(0.1 * sin(0.05 * n));
		onr_augment_room(y, W, RATE, &a, work);
		onr_augment_room(y2, W, RATE, &b, work);
		CHECK(a == b && a != 9 && !memcmp(y, y2, sizeof y), "a room was not repeatable from its seed");
		memset(y, 0, sizeof y);
		onr_augment_room(y, W, RATE, &a, work);
		int silent = 1;
		for (int n = 0; n < W; n++)
			silent &= y[n] == 0.0f;
		CHECK(silent, "a room made sound from silence");
	}

	/* ---- masks: white noise comes out with a gap of 20-120 ms at least
	 * 60 dB down, and a band at least 30 dB under its neighbourhood */
	{
		white(x, 3);
		int gaps = 1, cuts = 0, finite_m = 1;
		uint64_t sm = 21;
		for (int k = 0; k < 20; k++) {
			memcpy(y, x, sizeof y);
			onr_augment_mask(y, W, RATE, &sm);
			/* the longest run of |y| < 1e-4 (-60 dB under the noise's peak) */
			int run = 0, longest = 0;
			for (int n = 0; n < W; n++) {
				finite_m &= isfinite(y[n]);
				run = fabsf(y[n]) < 1.7e-4f ? run + 1 : 0;
				longest = run > longest ? run : longest;
			}
			gaps &= longest >= (int)(0.018 * RATE) && longest <= (int)(0.125 * RATE);
			/* the band cut: the deepest 1/3-octave band against the median,
			 * on a stretch away from the gap (4096 samples where y is noise) */
			int at = 0;
			for (int n = 0, r = 0; n < W; n++) {
				r = fabsf(y[n]) > 1e-3f ? r + 1 : 0;
				if (r >= 4600) {
					at = n - 4500;
					break;
				}
			}
			/* y against x, on a grid 3 % apart from 100 Hz to 6.4 kHz (the
			 * centres' range) */
			double deepest = 0.0;
			for (double f = 100.0; f <= 6400.0; f *= 1.03)
				deepest = fmin(deepest, band_db(y, at, 4096, f * 0.995, f * 1.005, f * 0.005) -
				                            band_db(x, at, 4096, f * 0.995, f * 1.005, f * 0.005));
			cuts += deepest < -30.0;
		}
		CHECK(finite_m, "a mask made a NaN or Inf");
		CHECK(gaps, "a mask's gap was missing, too short or too long");
		CHECK(cuts == 20, "only %d of 20 masks cut a band by 30 dB", cuts);
		uint64_t a = 4, b = 4;
		memcpy(y, x, sizeof y);
		memcpy(y2, x, sizeof y2);
		onr_augment_mask(y, W, RATE, &a);
		onr_augment_mask(y2, W, RATE, &b);
		CHECK(a == b && !memcmp(y, y2, sizeof y), "a mask was not repeatable from its seed");
	}

	return check_done("test_augment");
}
