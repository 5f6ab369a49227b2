/* SPDX-License-Identifier: GPL-2.0-or-later */
/* chart.c -- see chart.h. */
#include "chart.h"

#include "cliutil.h"
#include "font.h"
#include "png.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLOURS 250

enum { IT_RECT, IT_BOX, IT_LINE, IT_TEXT };

typedef struct {
	int type;
	double x0, y0, x1, y1; /* rect/box: x, y, w, h */
	int width, dashed, scale, align, up;
	uint32_t rgb;
	char *text;
} item;

struct chart {
	int w, h;
	item *items;
	size_t n, cap;
	int oom;
};

/* ---------------------------------------------------------------- axes */
double chart_nice_step(double span, int ticks)
{
	double raw = span / ticks;
	if (!(raw > 0.0))
		return 1.0;
	double p = pow(10.0, floor(log10(raw)));
	static const double m[] = {1.0, 2.0, 5.0, 10.0};
	for (int i = 0; i < 4; i++)
		if (m[i] * p >= raw)
			return m[i] * p;
	return 10.0 * p;
}

void chart_tick_label(char *buf, size_t len, double v, double step)
{
	if (step >= 1.0)
		snprintf(buf, len, "%.0f", v);
	else if (step >= 0.1)
		snprintf(buf, len, "%.1f", v);
	else if (step >= 0.01)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
}

/* ---------------------------------------------------------------- recording */
chart *chart_new(int w, int h)
{
	if (w < 1 || h < 1 || w > 8192 || h > 8192)
		return NULL;
	chart *c = calloc(1, sizeof *c);
	if (c) {
		c->w = w;
		c->h = h;
	}
	return c;
}

void chart_free(chart *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->items[i].text);
	free(c->items);
	free(c);
}

/* A new item with its coordinates (rect/box: x, y, w, h); NULL when out of
 * memory. */
static item *push(chart *c, int type, uint32_t rgb, double x0, double y0, double x1, double y1)
{
	if (c->oom)
		return NULL;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 256;
		item *it = realloc(c->items, nc * sizeof *it);
		if (!it) {
			c->oom = 1;
			return NULL;
		}
		c->items = it;
		c->cap = nc;
	}
	item *it = &c->items[c->n++];
	memset(it, 0, sizeof *it);
	it->type = type;
	it->rgb = rgb & 0xffffff;
	it->x0 = x0;
	it->y0 = y0;
	it->x1 = x1;
	it->y1 = y1;
	return it;
}

void chart_rect(chart *c, int x, int y, int w, int h, uint32_t rgb)
{
	push(c, IT_RECT, rgb, x, y, w, h);
}

void chart_box(chart *c, int x, int y, int w, int h, uint32_t rgb)
{
	push(c, IT_BOX, rgb, x, y, w, h);
}

void chart_line(chart *c, double x0, double y0, double x1, double y1, int width, uint32_t rgb,
                int dashed)
{
	if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1))
		return;
	item *it = push(c, IT_LINE, rgb, x0, y0, x1, y1);
	if (it) {
		it->width = width < 1 ? 1 : width > 4 ? 4 : width;
		it->dashed = dashed;
	}
}

void chart_text(chart *c, int x, int y, const char *s, int scale, int align, int up, uint32_t rgb)
{
	item *it = push(c, IT_TEXT, rgb, x, y, 0.0, 0.0);
	if (!it)
		return;
	it->scale = scale < 1 ? 1 : scale > 4 ? 4 : scale;
	it->align = align;
	it->up = up;
	size_t n = strlen(s) + 1;
	if (!(it->text = malloc(n))) {
		c->n--;
		c->oom = 1;
		return;
	}
	memcpy(it->text, s, n);
}

/* ---------------------------------------------------------------- PNG */
typedef struct {
	font_img im;
	uint32_t pal[256];
	int npal;
} raster;

static uint8_t colour(raster *r, uint32_t rgb)
{
	for (int i = 0; i < r->npal; i++)
		if (r->pal[i] == rgb)
			return (uint8_t)i;
	if (r->npal < MAX_COLOURS) {
		r->pal[r->npal] = rgb;
		return (uint8_t)r->npal++;
	}
	/* out of entries: the nearest one */
	int best = 0;
	long bd = -1;
	for (int i = 0; i < r->npal; i++) {
		long dr = (long)((r->pal[i] >> 16) & 255) - (long)((rgb >> 16) & 255);
		long dg = (long)((r->pal[i] >> 8) & 255) - (long)((rgb >> 8) & 255);
		long db = (long)(r->pal[i] & 255) - (long)(rgb & 255);
		long d = dr * dr + dg * dg + db * db;
		if (bd < 0 || d < bd) {
			bd = d;
			best = i;
		}
	}
	return (uint8_t)best;
}

static void draw_line(raster *r, const item *it, uint8_t c)
{
	int x0 = (int)lrint(it->x0), y0 = (int)lrint(it->y0);
	int x1 = (int)lrint(it->x1), y1 = (int)lrint(it->y1);
	int dx = abs(x1 - x0), dy = -abs(y1 - y0);
	int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
	int w = it->width, o = (w - 1) / 2;
	for (int step = 0;; step++) {
		if (!it->dashed || step % 10 < 6)
			font_fill(&r->im, x0 - o, y0 - o, w, w, c);
		if (x0 == x1 && y0 == y1)
			break;
		int e2 = 2 * e;
		if (e2 >= dy) {
			e += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			e += dx;
			y0 += sy;
		}
	}
}

static void draw_text(raster *r, const item *it, uint8_t c)
{
	int s = it->scale, tw = font_text_width(it->text, s);
	int x = (int)it->x0, y = (int)it->y0;
	if (it->up) {
		/* centred on (x, y), reading upwards */
		font_text(&r->im, x - 7 * s / 2, y + tw / 2, it->text, s, c, 1);
		return;
	}
	if (it->align == CHART_CENTRE)
		x -= tw / 2;
	else if (it->align == CHART_RIGHT)
		x -= tw;
	font_text(&r->im, x, y, it->text, s, c, 0);
}

static int write_png(const chart *c, const char *path, char *err, size_t errlen)
{
	raster r;
	memset(&r, 0, sizeof r);
	font_img *im = &r.im;
	im->w = c->w;
	im->h = c->h;
	im->px = malloc((size_t)c->w * c->h);
	if (!im->px) {
		snprintf(err, errlen, "out of memory for the picture");
		return -1;
	}
	uint8_t white = colour(&r, 0xffffff);
	memset(im->px, white, (size_t)c->w * c->h);
	for (size_t i = 0; i < c->n; i++) {
		const item *it = &c->items[i];
		uint8_t col = colour(&r, it->rgb);
		int x = (int)it->x0, y = (int)it->y0, w = (int)it->x1, h = (int)it->y1;
		switch (it->type) {
		case IT_RECT: font_fill(im, x, y, w, h, col); break;
		case IT_BOX:
			font_fill(im, x, y, w, 1, col);
			font_fill(im, x, y + h - 1, w, 1, col);
			font_fill(im, x, y, 1, h, col);
			font_fill(im, x + w - 1, y, 1, h, col);
			break;
		case IT_LINE: draw_line(&r, it, col); break;
		case IT_TEXT: draw_text(&r, it, col); break;
		}
	}
	uint8_t pal[256 * 3];
	for (int i = 0; i < r.npal; i++) {
		pal[3 * i] = (uint8_t)(r.pal[i] >> 16);
		pal[3 * i + 1] = (uint8_t)(r.pal[i] >> 8);
		pal[3 * i + 2] = (uint8_t)r.pal[i];
	}
	uint8_t *png;
	size_t n;
	int st =
	    png_encode_indexed(im->px, (uint32_t)im->w, (uint32_t)im->h, pal, (uint32_t)r.npal, &png, &n);
	free(im->px);
	if (st) {
		snprintf(err, errlen, "out of memory for the picture");
		return -1;
	}
	st = cli_write_atomic(path, png, n, err, errlen);
	free(png);
	return st;
}

/* ---------------------------------------------------------------- SVG */
static int write_svg(const chart *c, const char *path, const char *title, char *err, size_t errlen)
{
	cli_buf b = {0};
	cli_printf(&b,
	           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	           "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
	           "<title>",
	           c->w, c->h, c->w, c->h);
	cli_xml_str(&b, title ? title : "oneiro", 0);
	cli_printf(&b, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
	for (size_t i = 0; i < c->n; i++) {
		const item *it = &c->items[i];
		uint32_t k = it->rgb;
		switch (it->type) {
		case IT_RECT:
			cli_printf(&b, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#%06x\"/>\n",
			           it->x0, it->y0, it->x1, it->y1, k);
			break;
		case IT_BOX:
			cli_printf(&b,
			           "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
			           "stroke=\"#%06x\"/>\n",
			           it->x0 + 0.5, it->y0 + 0.5, it->x1 - 1, it->y1 - 1, k);
			break;
		case IT_LINE:
			cli_printf(&b,
			           "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
			           "stroke=\"#%06x\" "
			           "stroke-width=\"%d\" stroke-linecap=\"round\"%s/>\n",
			           it->x0 + 0.5, it->y0 + 0.5, it->x1 + 0.5, it->y1 + 0.5, k, it->width,
			           it->dashed ? " stroke-dasharray=\"6 4\"" : "");
			break;
		case IT_TEXT: {
			int size = it->scale == 1 ? 10 : 8 * it->scale;
			if (it->up) {
				cli_printf(&b,
				           "<text transform=\"translate(%g,%g) rotate(-90)\" "
				           "font-size=\"%d\" "
				           "text-anchor=\"middle\" dominant-baseline=\"central\" "
				           "fill=\"#%06x\">",
				           it->x0, it->y0, size, k);
			} else {
				static const char *const anchor[] = {"start", "middle", "end"};
				cli_printf(&b,
				           "<text x=\"%g\" y=\"%g\" font-size=\"%d\" text-anchor=\"%s\" "
				           "fill=\"#%06x\">",
				           it->x0, it->y0 + 7 * it->scale, size, anchor[it->align % 3], k);
			}
			cli_xml_str(&b, it->text, 0);
			cli_printf(&b, "</text>\n");
			break;
		}
		}
	}
	cli_printf(&b, "</svg>\n");
	if (b.oom) {
		free(b.s);
		snprintf(err, errlen, "out of memory for the picture");
		return -1;
	}
	int st = cli_write_atomic(path, b.s, b.n, err, errlen);
	free(b.s);
	return st;
}

int chart_write(const chart *c, const char *path, const char *title, char *err, size_t errlen)
{
	if (c->oom) {
		snprintf(err, errlen, "out of memory for the picture");
		return -1;
	}
	if (cli_has_ext(path, ".svg"))
		return write_svg(c, path, title, err, errlen);
	return write_png(c, path, err, errlen);
}
