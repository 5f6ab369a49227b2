/* SPDX-License-Identifier: GPL-2.0-or-later */
/* chart.c -- see chart.h. */
#include "chart.h"

#include "cliutil.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define FONT "DejaVu Sans"
#define CAP_HEIGHT 0.73 /* of the em, DejaVu Sans */

enum { FMT_PNG, FMT_SVG, FMT_PDF };

struct chart {
	int fmt;
	char *path;
	cairo_surface_t *surf;
	cairo_t *cr;
	cli_buf out; /* the SVG or PDF as cairo writes it */
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

/* ---------------------------------------------------------------- text */
/* The length of the valid UTF-8 sequence at s (1 to 4), 0 when it is not
 * one. */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000;
	else
		return 0;
	unsigned cp = c & (0x7f >> n);
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* s as valid UTF-8 without control characters (each bad byte a '?'), in a
 * malloc'ed string; NULL when out of memory. */
static char *clean_text(const char *s)
{
	size_t n = strlen(s);
	char *t = malloc(n + 1);
	if (!t)
		return NULL;
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;
	while (i < n) {
		int l = utf8_len(u + i);
		if (l == 0 || (l == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
			t[o++] = '?';
			i++;
		} else {
			memcpy(t + o, u + i, (size_t)l);
			o += (size_t)l;
			i += (size_t)l;
		}
	}
	t[o] = '\0';
	return t;
}

static void set_font(cairo_t *cr, double size, int flags)
{
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
	                       flags & CHART_BOLD ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
}

double chart_text_width(chart *c, const char *s, double size, int flags)
{
	char *t = clean_text(s);
	if (!t)
		return 0.0;
	set_font(c->cr, size, flags);
	cairo_text_extents_t e;
	cairo_text_extents(c->cr, t, &e);
	free(t);
	return e.x_advance;
}

void chart_text(chart *c, double x, double y, const char *s, double size, int flags, uint32_t rgb)
{
	char *t = clean_text(s);
	if (!t)
		return;
	cairo_t *cr = c->cr;
	set_font(cr, size, flags);
	cairo_text_extents_t e;
	cairo_text_extents(cr, t, &e);
	double w = e.x_advance, cap = CAP_HEIGHT * size;
	cairo_save(cr);
	cairo_set_source_rgb(cr, (rgb >> 16 & 255) / 255.0, (rgb >> 8 & 255) / 255.0,
	                     (rgb & 255) / 255.0);
	if (flags & CHART_UP) {
		cairo_translate(cr, x, y);
		cairo_rotate(cr, -M_PI / 2);
		cairo_move_to(cr, -w / 2, cap / 2);
	} else {
		int al = flags & 3;
		cairo_move_to(cr, al == CHART_CENTRE ? x - w / 2 : al == CHART_RIGHT ? x - w : x,
		              y + cap);
	}
	cairo_show_text(cr, t);
	cairo_restore(cr);
	free(t);
}

/* ---------------------------------------------------------------- shapes */
static void source(cairo_t *cr, uint32_t rgb)
{
	cairo_set_source_rgb(cr, (rgb >> 16 & 255) / 255.0, (rgb >> 8 & 255) / 255.0,
	                     (rgb & 255) / 255.0);
}

void chart_rect(chart *c, double x, double y, double w, double h, uint32_t rgb)
{
	source(c->cr, rgb);
	cairo_rectangle(c->cr, x, y, w, h);
	cairo_fill(c->cr);
}

void chart_box(chart *c, double x, double y, double w, double h, uint32_t rgb)
{
	source(c->cr, rgb);
	cairo_set_line_width(c->cr, 1.0);
	cairo_rectangle(c->cr, x + 0.5, y + 0.5, w - 1.0, h - 1.0);
	cairo_stroke(c->cr);
}

void chart_line(chart *c, double x0, double y0, double x1, double y1, double width, uint32_t rgb,
                int dashed)
{
	if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1))
		return;
	cairo_t *cr = c->cr;
	cairo_save(cr);
	source(cr, rgb);
	cairo_set_line_width(cr, width);
	cairo_set_line_cap(cr, dashed ? CAIRO_LINE_CAP_BUTT : CAIRO_LINE_CAP_ROUND);
	if (dashed) {
		const double d[] = {6.0, 4.0};
		cairo_set_dash(cr, d, 2, 0.0);
	}
	cairo_move_to(cr, x0 + 0.5, y0 + 0.5);
	cairo_line_to(cr, x1 + 0.5, y1 + 0.5);
	cairo_stroke(cr);
	cairo_restore(cr);
}

/* ---------------------------------------------------------------- files */
int chart_path_ok(const char *path)
{
	return strlen(path) > 4 &&
	       (cli_has_ext(path, ".png") || cli_has_ext(path, ".svg") || cli_has_ext(path, ".pdf"));
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int n)
{
	cli_buf *b = closure;
	if (b->oom)
		return CAIRO_STATUS_NO_MEMORY;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = 1;
			return CAIRO_STATUS_NO_MEMORY;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->n, data, n);
	b->n += n;
	b->s[b->n] = '\0';
	return CAIRO_STATUS_SUCCESS;
}

void chart_free(chart *c)
{
	if (!c)
		return;
	if (c->cr)
		cairo_destroy(c->cr);
	if (c->surf)
		cairo_surface_destroy(c->surf);
	free(c->out.s);
	free(c->path);
	free(c);
}

cairo_t *chart_cairo(chart *c)
{
	return c->cr;
}

chart *chart_new(const char *path, int w, int h, const char *title, char *err, size_t errlen)
{
	if (!chart_path_ok(path)) {
		snprintf(err, errlen, "%s: the picture's name must end in .png, .svg or .pdf", path);
		return NULL;
	}
	chart *c = calloc(1, sizeof *c);
	size_t n = strlen(path) + 1;
	if (!c || !(c->path = malloc(n))) {
		free(c);
		snprintf(err, errlen, "out of memory for the picture");
		return NULL;
	}
	memcpy(c->path, path, n);
	c->fmt = cli_has_ext(path, ".svg") ? FMT_SVG : cli_has_ext(path, ".pdf") ? FMT_PDF : FMT_PNG;
	if (c->fmt == FMT_SVG) {
		c->surf = cairo_svg_surface_create_for_stream(to_buf, &c->out, w, h);
		cairo_svg_surface_set_document_unit(c->surf, CAIRO_SVG_UNIT_PX);
	} else if (c->fmt == FMT_PDF) {
		c->surf = cairo_pdf_surface_create_for_stream(to_buf, &c->out, w, h);
		char *t = title ? clean_text(title) : NULL;
		if (t)
			cairo_pdf_surface_set_metadata(c->surf, CAIRO_PDF_METADATA_TITLE, t);
		free(t);
		cairo_pdf_surface_set_metadata(c->surf, CAIRO_PDF_METADATA_CREATOR, "oneiro");
	} else {
		c->surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	}
	c->cr = cairo_create(c->surf);
	if (cairo_status(c->cr)) {
		snprintf(err, errlen, "cannot make the picture: %s",
		         cairo_status_to_string(cairo_status(c->cr)));
		chart_free(c);
		return NULL;
	}
	/* text antialiased in grey levels (no colour fringes), lightly hinted */
	cairo_font_options_t *fo = cairo_font_options_create();
	cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_SLIGHT);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_set_font_options(c->cr, fo);
	cairo_font_options_destroy(fo);
	cairo_set_source_rgb(c->cr, 1.0, 1.0, 1.0);
	cairo_paint(c->cr);
	return c;
}

int chart_write(chart *c, char *err, size_t errlen)
{
	cairo_status_t st = cairo_status(c->cr);
	if (!st) {
		cairo_destroy(c->cr);
		c->cr = NULL;
		if (c->fmt == FMT_PNG)
			st = cairo_surface_write_to_png_stream(c->surf, to_buf, &c->out);
		else
			cairo_surface_finish(c->surf);
		if (!st)
			st = cairo_surface_status(c->surf);
	}
	if (st || c->out.oom) {
		snprintf(err, errlen, "cannot draw the picture: %s",
		         c->out.oom ? "out of memory" : cairo_status_to_string(st));
		chart_free(c);
		return -1;
	}
	int r = cli_write_atomic(c->path, c->out.s, c->out.n, err, errlen);
	chart_free(c);
	return r;
}
