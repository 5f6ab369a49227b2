/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plot.c -- spectrogram plots of a render (see plot.h). */
#include "plot.h"

#include "chart.h"
#include "cliutil.h"
#include "font.h"
#include "png.h"

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

/* palette: 0..N_MAP-1 the colour map, then fixed colours */
#define N_MAP 240
enum { C_WHITE = N_MAP, C_BLACK, C_GRAY, C_DRY, C_DREAM, C_DELTA, C_LIGHT, N_PAL };

static const char *const panel_title[NSIG] = {"DRY (IN)", "DREAMED (OUT)", "DELTA (OUT - IN)"};
static const uint8_t panel_rgb[NSIG][3] = {{60, 120, 220}, {200, 60, 200}, {40, 160, 80}};

/* An approximation of the "inferno" colour map: perceptually ordered,
 * readable in grey, black for silence. */
static const uint8_t cmap_pts[11][3] = {
	{0, 0, 4},      {22, 11, 57},   {66, 10, 104}, {106, 23, 110}, {147, 38, 103}, {188, 55, 84},
	{221, 81, 58},  {243, 120, 25}, {252, 165, 10}, {246, 215, 70}, {252, 255, 164}};

static void cmap_rgb(double t, uint8_t rgb[3])
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
	for (int k = 0; k < 3; k++)
		rgb[k] = (uint8_t)lrint(cmap_pts[i][k] + f * (cmap_pts[i + 1][k] - cmap_pts[i][k]));
}

static void make_palette(uint8_t pal[N_PAL][3])
{
	for (int i = 0; i < N_MAP; i++)
		cmap_rgb((double)i / (N_MAP - 1), pal[i]);
	static const uint8_t fixed[][3] = {{255, 255, 255}, {0, 0, 0}, {110, 110, 110}};
	memcpy(pal[C_WHITE], fixed[0], 3);
	memcpy(pal[C_BLACK], fixed[1], 3);
	memcpy(pal[C_GRAY], fixed[2], 3);
	memcpy(pal[C_DRY], panel_rgb[0], 3);
	memcpy(pal[C_DREAM], panel_rgb[1], 3);
	memcpy(pal[C_DELTA], panel_rgb[2], 3);
	pal[C_LIGHT][0] = pal[C_LIGHT][1] = pal[C_LIGHT][2] = 225;
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
	return strlen(path) > 4 && (cli_has_ext(path, ".png") || cli_has_ext(path, ".svg"));
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

/* The colour index of panel s at column c, row r (0 = bottom). */
static uint8_t pixel(const plot *p, int s, int c, int r)
{
	double n = p->cnt[c] ? p->cnt[c] : 1;
	double v = p->acc[s][(size_t)c * PH + r] / n;
	double db = 10.0 * log10(v + 1e-30);
	double t = (db - DB_LO) / (DB_HI - DB_LO);
	if (!(t > 0.0))
		t = 0.0;
	if (t > 1.0)
		t = 1.0;
	return (uint8_t)lrint(t * (N_MAP - 1));
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

static int freq_y(const plot *p, double f)
{
	double r = (PH - 1) * log(f / F_MIN) / log(p->fmax / F_MIN);
	return MT + PH - 1 - (int)lrint(r);
}

static int write_png(plot *p, const char *path, const char *title, char *err, size_t errlen)
{
	uint8_t pal[N_PAL][3];
	make_palette(pal);
	font_img im = {malloc((size_t)IMG_W * IMG_H), IMG_W, IMG_H};
	if (!im.px) {
		snprintf(err, errlen, "out of memory for the plot");
		return -1;
	}
	memset(im.px, C_WHITE, (size_t)IMG_W * IMG_H);
	if (title)
		font_text(&im, ML, 6, title, 1, C_BLACK, 0);
	double tstep = chart_nice_step(p->duration, 5);
	for (int s = 0; s < NSIG; s++) {
		int x0 = panel_x(s);
		uint8_t col = (uint8_t)(C_DRY + s);
		int tw = font_text_width(panel_title[s], 2);
		font_text(&im, x0 + (PW - tw) / 2, 22, panel_title[s], 2, col, 0);
		font_fill(&im, x0, MT - 9, PW, 5, col);
		/* frame */
		font_fill(&im, x0 - 1, MT - 1, PW + 2, 1, C_GRAY);
		font_fill(&im, x0 - 1, MT + PH, PW + 2, 1, C_GRAY);
		font_fill(&im, x0 - 1, MT - 1, 1, PH + 2, C_GRAY);
		font_fill(&im, x0 + PW, MT - 1, 1, PH + 2, C_GRAY);
		for (int c = 0; c < PW; c++)
			for (int r = 0; r < PH; r++)
				font_put(&im, x0 + c, MT + PH - 1 - r, pixel(p, s, c, r));
		/* frequency ticks, labelled left of the first panel */
		for (size_t i = 0; i < sizeof freq_ticks / sizeof freq_ticks[0]; i++) {
			double f = freq_ticks[i];
			if (f < F_MIN || f > p->fmax)
				continue;
			int y = freq_y(p, f);
			font_fill(&im, x0 - 5, y, 4, 1, C_BLACK);
			if (s == 0) {
				char lab[16];
				freq_label(lab, sizeof lab, f);
				font_text(&im, x0 - 8 - font_text_width(lab, 1), y - 3, lab, 1, C_BLACK, 0);
			}
		}
		/* time ticks */
		for (int i = 0;; i++) {
			double t = i * tstep;
			if (t > p->duration + 1e-9)
				break;
			int x = x0 + (int)lrint(t / p->duration * PW);
			if (x > x0 + PW - 1)
				x = x0 + PW - 1;
			font_fill(&im, x, MT + PH + 1, 1, 4, C_BLACK);
			char lab[32];
			chart_tick_label(lab, sizeof lab, t, tstep);
			int w = font_text_width(lab, 1);
			int lx = x - w / 2;
			if (lx + w > x0 + PW + GAP / 2)
				lx = x0 + PW + GAP / 2 - w;
			font_text(&im, lx, MT + PH + 8, lab, 1, C_BLACK, 0);
		}
		const char *tl = "TIME (S)";
		font_text(&im, x0 + (PW - font_text_width(tl, 1)) / 2, MT + PH + 26, tl, 1, C_BLACK, 0);
	}
	const char *fl = "FREQUENCY (HZ)";
	font_text(&im, 6, MT + (PH + font_text_width(fl, 1)) / 2, fl, 1, C_BLACK, 1);
	/* colour bar */
	int cx = panel_x(NSIG - 1) + PW + CB_GAP;
	for (int r = 0; r < PH; r++)
		font_fill(&im, cx, MT + PH - 1 - r, CB_W, 1,
		          (uint8_t)lrint((double)r / (PH - 1) * (N_MAP - 1)));
	font_fill(&im, cx - 1, MT - 1, CB_W + 2, 1, C_GRAY);
	font_fill(&im, cx - 1, MT + PH, CB_W + 2, 1, C_GRAY);
	font_fill(&im, cx - 1, MT - 1, 1, PH + 2, C_GRAY);
	font_fill(&im, cx + CB_W, MT - 1, 1, PH + 2, C_GRAY);
	for (int db = (int)DB_HI; db >= (int)DB_LO; db -= 20) {
		int y = MT + (int)lrint((DB_HI - db) / (DB_HI - DB_LO) * (PH - 1));
		font_fill(&im, cx + CB_W, y, 4, 1, C_BLACK);
		char lab[16];
		snprintf(lab, sizeof lab, "%d", db);
		font_text(&im, cx + CB_W + 7, y - 3, lab, 1, C_BLACK, 0);
	}
	font_text(&im, cx - 4, MT - 22, "DBFS", 1, C_BLACK, 0);

	uint8_t *png;
	size_t n;
	int st = png_encode_indexed(im.px, IMG_W, IMG_H, &pal[0][0], N_PAL, &png, &n);
	free(im.px);
	if (st) {
		snprintf(err, errlen, "out of memory for the plot");
		return -1;
	}
	st = cli_write_atomic(path, png, n, err, errlen);
	free(png);
	return st;
}

static int write_svg(plot *p, const char *path, const char *title, char *err, size_t errlen)
{
	uint8_t pal[N_PAL][3];
	make_palette(pal);
	cli_buf b = {0};
	cli_printf(&b,
	          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	          "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	          "xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"%d\" height=\"%d\" "
	          "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
	          "font-size=\"11\">\n",
	          IMG_W, IMG_H, IMG_W, IMG_H);
	cli_printf(&b, "<title>");
	cli_xml_str(&b, title ? title : "oneiro render", CLI_XML_APOS | CLI_XML_TAB);
	cli_printf(&b, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
	if (title) {
		cli_printf(&b, "<text x=\"%d\" y=\"14\" font-size=\"12\">", ML);
		cli_xml_str(&b, title, CLI_XML_APOS | CLI_XML_TAB);
		cli_printf(&b, "</text>\n");
	}
	cli_printf(&b, "<defs><linearGradient id=\"cmap\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
	for (int i = 0; i <= 10; i++)
		cli_printf(&b, "<stop offset=\"%.1f\" stop-color=\"#%02x%02x%02x\"/>", i / 10.0,
		          cmap_pts[i][0], cmap_pts[i][1], cmap_pts[i][2]);
	cli_printf(&b, "</linearGradient></defs>\n");
	uint8_t *px = malloc((size_t)PW * PH);
	if (!px) {
		free(b.s);
		snprintf(err, errlen, "out of memory for the plot");
		return -1;
	}
	double tstep = chart_nice_step(p->duration, 5);
	for (int s = 0; s < NSIG; s++) {
		int x0 = panel_x(s);
		for (int c = 0; c < PW; c++)
			for (int r = 0; r < PH; r++)
				px[(size_t)(PH - 1 - r) * PW + c] = pixel(p, s, c, r);
		uint8_t *png;
		size_t n;
		char *b64 = NULL;
		if (!png_encode_indexed(px, PW, PH, &pal[0][0], N_PAL, &png, &n)) {
			b64 = png_base64(png, n);
			free(png);
		}
		if (!b64) {
			free(px);
			free(b.s);
			snprintf(err, errlen, "out of memory for the plot");
			return -1;
		}
		cli_printf(&b, "<g id=\"panel%d\">\n", s + 1);
		cli_printf(&b,
		          "<text x=\"%d\" y=\"36\" font-size=\"15\" font-weight=\"bold\" "
		          "text-anchor=\"middle\" fill=\"#%02x%02x%02x\">%s</text>\n",
		          x0 + PW / 2, panel_rgb[s][0], panel_rgb[s][1], panel_rgb[s][2],
		          s == 0 ? "dry (in)" : s == 1 ? "dreamed (out)" : "delta (out \xe2\x88\x92 in)");
		cli_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"5\" fill=\"#%02x%02x%02x\"/>\n",
		          x0, MT - 9, PW, panel_rgb[s][0], panel_rgb[s][1], panel_rgb[s][2]);
		cli_printf(&b,
		          "<image x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		          "preserveAspectRatio=\"none\" xlink:href=\"data:image/png;base64,%s\"/>\n",
		          x0, MT, PW, PH, b64);
		free(b64);
		cli_printf(&b,
		          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"none\" "
		          "stroke=\"#6e6e6e\"/>\n",
		          x0 - 0.5, MT - 0.5, PW + 1, PH + 1);
		for (size_t i = 0; i < sizeof freq_ticks / sizeof freq_ticks[0]; i++) {
			double f = freq_ticks[i];
			if (f < F_MIN || f > p->fmax)
				continue;
			int y = freq_y(p, f);
			cli_printf(&b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#000\"/>\n",
			          x0 - 5, y + 0.5, x0 - 1, y + 0.5);
			if (s == 0) {
				char lab[16];
				freq_label(lab, sizeof lab, f);
				cli_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", x0 - 8,
				          y + 4, lab);
			}
		}
		for (int i = 0;; i++) {
			double t = i * tstep;
			if (t > p->duration + 1e-9)
				break;
			double x = x0 + t / p->duration * PW;
			cli_printf(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>\n",
			          x, MT + PH + 1, x, MT + PH + 5);
			char lab[32];
			chart_tick_label(lab, sizeof lab, t, tstep);
			cli_printf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x,
			          MT + PH + 17, lab);
		}
		cli_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time (s)</text>\n</g>\n",
		          x0 + PW / 2, MT + PH + 35);
	}
	free(px);
	cli_printf(&b,
	          "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">"
	          "frequency (Hz)</text>\n",
	          MT + PH / 2);
	int cx = panel_x(NSIG - 1) + PW + CB_GAP;
	cli_printf(&b,
	          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"url(#cmap)\" "
	          "stroke=\"#6e6e6e\"/>\n",
	          cx, MT, CB_W, PH);
	for (int db = (int)DB_HI; db >= (int)DB_LO; db -= 20) {
		double y = MT + (DB_HI - db) / (DB_HI - DB_LO) * PH;
		cli_printf(&b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#000\"/>\n",
		          cx + CB_W, y, cx + CB_W + 4, y);
		cli_printf(&b, "<text x=\"%d\" y=\"%.1f\">%d</text>\n", cx + CB_W + 7, y + 4, db);
	}
	cli_printf(&b, "<text x=\"%d\" y=\"%d\">dBFS</text>\n</svg>\n", cx - 4, MT - 14);
	if (b.oom) {
		free(b.s);
		snprintf(err, errlen, "out of memory for the plot");
		return -1;
	}
	int st = cli_write_atomic(path, b.s, b.n, err, errlen);
	free(b.s);
	return st;
}

int plot_write(plot *p, const char *path, const char *title, char *err, size_t errlen)
{
	finish(p);
	if (cli_has_ext(path, ".svg"))
		return write_svg(p, path, title, err, errlen);
	return write_png(p, path, title, err, errlen);
}
