/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plot.c -- spectrogram plots of a render (see plot.h). */
#include "plot.h"

#include "chart.h"
#include "cliutil.h"

#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---------------------------------------------------------------- layout */
#define NSIG 3          /* dry, dreamed, delta */
#define PW 400          /* panel width, pixels (time) */
#define PH 300          /* panel height, pixels (log frequency) */
#define ML 64           /* left margin: frequency labels */
#define GAP 24          /* between panels */
#define MT 54           /* top margin: title, panel titles, colour bars */
#define MB 44           /* bottom margin: time labels */
#define CB_GAP 20       /* panel to colour bar */
#define CB_W 14         /* colour bar width */
#define MR 46           /* right of the colour bar: its labels */
#define IMG_W (ML + NSIG * PW + (NSIG - 1) * GAP + CB_GAP + CB_W + MR)
#define IMG_H (MT + PH + MB)
#define F_MIN 30.0      /* Hz, bottom of the frequency axis */
#define DB_LO (-100.0)  /* dBFS at the bottom of the colour map */
#define DB_HI 0.0       /* dBFS at its top: a full-scale sine */

static const char *const panel_title[NSIG] = {"dry (in)", "dreamed (out)",
                                               "delta (out \xe2\x88\x92 in)"};
static const uint32_t panel_rgb[NSIG] = {0x3c78dc, 0xc83cc8, 0x28a050};
#define C_BLACK 0x000000
#define C_GRAY 0x6e6e6e

/* An approximation of the "inferno" colour map: perceptually ordered,
 * readable in grey, black for silence. */
static const uint8_t cmap_pts[11][3] = {
	{0, 0, 4},      {22, 11, 57},   {66, 10, 104}, {106, 23, 110}, {147, 38, 103}, {188, 55, 84},
	{221, 81, 58},  {243, 120, 25}, {252, 165, 10}, {246, 215, 70}, {252, 255, 164}};

/* The colour of t in [0, 1] as 0xRRGGBB. */
static uint32_t cmap_rgb(double t)
{
	if (!(t > 0.0))
		t = 0.0;
	if (t > 1.0)
		t = 1.0;
	double u = t * 10.0;
	int i = (int)u;
	if (i > 9)
		i = 9;
	double f = u - i;
	uint32_t rgb = 0;
	for (int k = 0; k < 3; k++)
		rgb = rgb << 8 |
		      (uint32_t)lrint(cmap_pts[i][k] + f * (cmap_pts[i + 1][k] - cmap_pts[i][k]));
	return rgb;
}

/* ---------------------------------------------------------------- axes */
static const double freq_ticks[] = {50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000};

static void freq_label(char *buf, size_t len, double f)
{
	if (f >= 1000.0)
		snprintf(buf, len, "%gk", f / 1000.0);
	else
		snprintf(buf, len, "%g", f);
}

/* ---------------------------------------------------------------- analysis */
struct plot {
	uint32_t rate, nfft, hop, nbins;
	uint64_t total, nframes, frames_done;
	double fmax, duration;
	float *win;            /* (nfft) Hann */
	float *buf[NSIG];      /* (nfft) the samples of the frame being filled */
	uint32_t fill;
	float *fin;            /* (nfft) windowed frame */
	fftwf_complex *spec;   /* (nbins) */
	fftwf_plan plan;
	double norm;           /* |X|^2 -> power relative to a full-scale sine */
	float *pw;             /* (nbins) power of one frame */
	int32_t *row_b0, *row_b1; /* (PH) bins averaged for a row, b1 < b0: interpolate */
	double *row_f;         /* (PH) fractional bin of the row's centre */
	double *acc[NSIG];     /* (PW, PH) power summed per pixel */
	uint32_t *cnt;         /* (PW) frames per column */
};

void plot_free(plot *p)
{
	if (!p)
		return;
	if (p->plan)
		fftwf_destroy_plan(p->plan);
	fftwf_free(p->win);
	fftwf_free(p->fin);
	fftwf_free(p->spec);
	for (int s = 0; s < NSIG; s++) {
		fftwf_free(p->buf[s]);
		free(p->acc[s]);
	}
	free(p->pw);
	free(p->row_b0);
	free(p->row_b1);
	free(p->row_f);
	free(p->cnt);
	free(p);
}

int plot_path_ok(const char *path)
{
	return chart_path_ok(path);
}

static double row_freq(const plot *p, double r)
{
	return F_MIN * pow(p->fmax / F_MIN, r / (PH - 1));
}

int plot_new(plot **out, uint32_t rate, uint64_t total, char *err, size_t errlen)
{
	*out = NULL;
	if (rate < 1000 || !total) {
		snprintf(err, errlen, "nothing to plot (%u Hz, %llu samples)", rate,
		         (unsigned long long)total);
		return -1;
	}
	plot *p = calloc(1, sizeof *p);
	if (!p)
		goto oom;
	p->rate = rate;
	p->total = total;
	/* 2048 at 48 kHz scaled by the rate, to the nearest power of two */
	double target = 2048.0 * rate / 48000.0;
	int e = (int)lrint(log2(target));
	if (e < 8)
		e = 8;
	if (e > 16)
		e = 16;
	p->nfft = 1u << e;
	p->hop = p->nfft / 4;
	p->nbins = p->nfft / 2 + 1;
	p->nframes = (total + p->hop - 1) / p->hop;
	p->fmax = rate / 2.0;
	p->duration = (double)total / rate;
	p->win = fftwf_alloc_real(p->nfft);
	p->fin = fftwf_alloc_real(p->nfft);
	p->spec = fftwf_alloc_complex(p->nbins);
	p->pw = calloc(p->nbins, sizeof(float));
	p->row_b0 = calloc(PH, sizeof(int32_t));
	p->row_b1 = calloc(PH, sizeof(int32_t));
	p->row_f = calloc(PH, sizeof(double));
	p->cnt = calloc(PW, sizeof(uint32_t));
	if (!p->win || !p->fin || !p->spec || !p->pw || !p->row_b0 || !p->row_b1 || !p->row_f ||
	    !p->cnt)
		goto oom;
	for (int s = 0; s < NSIG; s++) {
		p->buf[s] = fftwf_alloc_real(p->nfft);
		p->acc[s] = calloc((size_t)PW * PH, sizeof(double));
		if (!p->buf[s] || !p->acc[s])
			goto oom;
		memset(p->buf[s], 0, p->nfft * sizeof(float));
	}
	double wsum = 0.0;
	for (uint32_t i = 0; i < p->nfft; i++) {
		p->win[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / p->nfft));
		wsum += p->win[i];
	}
	/* a full-scale sine peaks at |X| = wsum / 2 */
	p->norm = 4.0 / (wsum * wsum);
	p->plan = fftwf_plan_dft_r2c_1d((int)p->nfft, p->fin, p->spec, FFTW_ESTIMATE);
	if (!p->plan)
		goto oom;
	double hz_per_bin = (double)rate / p->nfft;
	for (int r = 0; r < PH; r++) {
		double lo = row_freq(p, r - 0.5) / hz_per_bin, hi = row_freq(p, r + 0.5) / hz_per_bin;
		int32_t b0 = (int32_t)ceil(lo), b1 = (int32_t)floor(hi);
		if (b1 > (int32_t)p->nbins - 1)
			b1 = (int32_t)p->nbins - 1;
		if (b1 >= hi && b1 > b0)
			b1--; /* half-open [lo, hi) */
		p->row_b0[r] = b0;
		p->row_b1[r] = b1;
		p->row_f[r] = row_freq(p, r) / hz_per_bin;
	}
	/* the first frame is centred on sample 0 */
	p->fill = p->nfft / 2;
	*out = p;
	return 0;
oom:
	plot_free(p);
	snprintf(err, errlen, "out of memory for the plot");
	return -1;
}

static void do_frame(plot *p)
{
	uint64_t k = p->frames_done;
	uint32_t c0 = (uint32_t)(k * PW / p->nframes), c1 = (uint32_t)((k + 1) * PW / p->nframes);
	if (c1 <= c0)
		c1 = c0 + 1;
	if (c1 > PW)
		c1 = PW;
	for (int s = 0; s < NSIG; s++) {
		for (uint32_t i = 0; i < p->nfft; i++)
			p->fin[i] = p->buf[s][i] * p->win[i];
		fftwf_execute(p->plan);
		for (uint32_t b = 0; b < p->nbins; b++) {
			double re = p->spec[b][0], im = p->spec[b][1];
			p->pw[b] = (float)((re * re + im * im) * p->norm);
		}
		for (int r = 0; r < PH; r++) {
			double v;
			if (p->row_b1[r] >= p->row_b0[r]) {
				double sum = 0.0;
				for (int32_t b = p->row_b0[r]; b <= p->row_b1[r]; b++)
					sum += p->pw[b];
				v = sum / (p->row_b1[r] - p->row_b0[r] + 1);
			} else {
				double f = p->row_f[r];
				uint32_t b = (uint32_t)f;
				if (b >= p->nbins - 1)
					v = p->pw[p->nbins - 1];
				else
					v = p->pw[b] + (f - b) * (p->pw[b + 1] - p->pw[b]);
			}
			for (uint32_t c = c0; c < c1; c++)
				p->acc[s][(size_t)c * PH + r] += v;
		}
	}
	for (uint32_t c = c0; c < c1; c++)
		p->cnt[c]++;
	p->frames_done++;
}

static void push_one(plot *p, float dry, float wet)
{
	if (p->frames_done >= p->nframes)
		return;
	p->buf[0][p->fill] = dry;
	p->buf[1][p->fill] = wet;
	p->buf[2][p->fill] = wet - dry;
	if (++p->fill == p->nfft) {
		do_frame(p);
		for (int s = 0; s < NSIG; s++)
			memmove(p->buf[s], p->buf[s] + p->hop, (p->nfft - p->hop) * sizeof(float));
		p->fill -= p->hop;
	}
}

void plot_push(plot *p, const float *dry, const float *out, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		push_one(p, isfinite(dry[i]) ? dry[i] : 0.0f, isfinite(out[i]) ? out[i] : 0.0f);
}

/* The colour of panel s at column c, row r (0 = bottom). */
static uint32_t pixel(const plot *p, int s, int c, int r)
{
	double n = p->cnt[c] ? p->cnt[c] : 1;
	double v = p->acc[s][(size_t)c * PH + r] / n;
	double db = 10.0 * log10(v + 1e-30);
	return cmap_rgb((db - DB_LO) / (DB_HI - DB_LO));
}

/* ---------------------------------------------------------------- output */
static void finish(plot *p)
{
	while (p->frames_done < p->nframes)
		push_one(p, 0.0f, 0.0f);
}

static int panel_x(int s)
{
	return ML + s * (PW + GAP);
}

/* The y of the centre of the pixel row of f. */
static double freq_y(const plot *p, double f)
{
	double r = (PH - 1) * log(f / F_MIN) / log(p->fmax / F_MIN);
	return MT + PH - 1 - r;
}

/* The spectrogram of signal s drawn at (x0, MT), one pixel a cell. */
static void draw_panel(chart *c, const plot *p, int s, int x0)
{
	cairo_surface_t *im = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PW, PH);
	if (cairo_surface_status(im)) {
		cairo_surface_destroy(im);
		return; /* no memory: the picture is left without this panel */
	}
	cairo_surface_flush(im);
	unsigned char *data = cairo_image_surface_get_data(im);
	int stride = cairo_image_surface_get_stride(im);
	for (int r = 0; r < PH; r++) {
		uint32_t *row = (uint32_t *)(void *)(data + (size_t)(PH - 1 - r) * stride);
		for (int col = 0; col < PW; col++)
			row[col] = pixel(p, s, col, r);
	}
	cairo_surface_mark_dirty(im);
	cairo_t *cr = chart_cairo(c);
	cairo_save(cr);
	cairo_set_source_surface(cr, im, x0, MT);
	cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
	cairo_rectangle(cr, x0, MT, PW, PH);
	cairo_fill(cr);
	cairo_restore(cr);
	cairo_surface_destroy(im);
}

/* The colour bar at (x, MT): the colour map as a vertical gradient. */
static void draw_colour_bar(chart *c, int x)
{
	cairo_t *cr = chart_cairo(c);
	cairo_pattern_t *g = cairo_pattern_create_linear(0.0, MT + PH, 0.0, MT);
	for (int i = 0; i <= 10; i++)
		cairo_pattern_add_color_stop_rgb(g, i / 10.0, cmap_pts[i][0] / 255.0,
		                                 cmap_pts[i][1] / 255.0, cmap_pts[i][2] / 255.0);
	cairo_save(cr);
	cairo_set_source(cr, g);
	cairo_rectangle(cr, x, MT, CB_W, PH);
	cairo_fill(cr);
	cairo_restore(cr);
	cairo_pattern_destroy(g);
}

int plot_write(plot *p, const char *path, const char *title, char *err, size_t errlen)
{
	finish(p);
	chart *c = chart_new(path, IMG_W, IMG_H, title ? title : "oneiro render", err, errlen);
	if (!c)
		return -1;
	if (title)
		chart_text(c, ML, 6, title, 12, CHART_LEFT, C_BLACK);
	double tstep = chart_nice_step(p->duration, 5);
	for (int s = 0; s < NSIG; s++) {
		int x0 = panel_x(s);
		chart_text(c, x0 + PW / 2, 21, panel_title[s], 15, CHART_CENTRE | CHART_BOLD, panel_rgb[s]);
		chart_rect(c, x0, MT - 9, PW, 5, panel_rgb[s]);
		draw_panel(c, p, s, x0);
		chart_box(c, x0 - 1, MT - 1, PW + 2, PH + 2, C_GRAY);
		/* frequency ticks, labelled left of the first panel */
		for (size_t i = 0; i < sizeof freq_ticks / sizeof freq_ticks[0]; i++) {
			double f = freq_ticks[i];
			if (f < F_MIN || f > p->fmax)
				continue;
			double y = freq_y(p, f);
			chart_line(c, x0 - 5, y, x0 - 2, y, 1, C_BLACK, 0);
			if (s == 0) {
				char lab[16];
				freq_label(lab, sizeof lab, f);
				chart_text(c, x0 - 8, y - 3.5, lab, 11, CHART_RIGHT, C_BLACK);
			}
		}
		/* time ticks */
		for (int i = 0;; i++) {
			double t = i * tstep;
			if (t > p->duration + 1e-9)
				break;
			double x = x0 + t / p->duration * (PW - 1);
			chart_line(c, x, MT + PH + 1, x, MT + PH + 4, 1, C_BLACK, 0);
			char lab[32];
			chart_tick_label(lab, sizeof lab, t, tstep);
			double w = chart_text_width(c, lab, 11, 0);
			double lx = x + 0.5 - w / 2;
			if (lx + w > x0 + PW + GAP / 2)
				lx = x0 + PW + GAP / 2 - w;
			chart_text(c, lx, MT + PH + 9, lab, 11, CHART_LEFT, C_BLACK);
		}
		chart_text(c, x0 + PW / 2, MT + PH + 27, "time (s)", 11, CHART_CENTRE, C_BLACK);
	}
	chart_text(c, 12, MT + PH / 2, "frequency (Hz)", 11, CHART_UP, C_BLACK);
	/* colour bar */
	int cx = panel_x(NSIG - 1) + PW + CB_GAP;
	draw_colour_bar(c, cx);
	chart_box(c, cx - 1, MT - 1, CB_W + 2, PH + 2, C_GRAY);
	for (int db = (int)DB_HI; db >= (int)DB_LO; db -= 20) {
		double y = MT + (DB_HI - db) / (DB_HI - DB_LO) * (PH - 1);
		chart_line(c, cx + CB_W, y, cx + CB_W + 3, y, 1, C_BLACK, 0);
		char lab[16];
		snprintf(lab, sizeof lab, "%d", db);
		chart_text(c, cx + CB_W + 7, y - 3.5, lab, 11, CHART_LEFT, C_BLACK);
	}
	chart_text(c, cx - 4, MT - 22, "dBFS", 11, CHART_LEFT, C_BLACK);
	return chart_write(c, err, errlen);
}
