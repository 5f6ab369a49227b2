/* SPDX-License-Identifier: GPL-2.0-or-later */
/* chart.h -- a small drawing surface for the training report's pictures:
 * filled rectangles, outlines, lines (solid or dashed, 1 to 4 pixels) and
 * text, recorded as a list and written either as a PNG (rasterised with the
 * 5x7 bitmap font of font.c and the PNG encoder of png.c) or as an SVG
 * (vector shapes and real text). Coordinates are pixels, y downwards. Also
 * the axis ticks of these pictures and of plot.c's. */
#ifndef ONEIRO_CHART_H
#define ONEIRO_CHART_H

#include <stddef.h>
#include <stdint.h>

typedef struct chart chart;

enum { CHART_LEFT = 0, CHART_CENTRE = 1, CHART_RIGHT = 2 };

/* A w x h picture on white; NULL when out of memory. */
chart *chart_new(int w, int h);
void chart_free(chart *c);

/* Colours are 0xRRGGBB. A picture holds at most 250 different colours. */
void chart_rect(chart *c, int x, int y, int w, int h, uint32_t rgb);
void chart_box(chart *c, int x, int y, int w, int h, uint32_t rgb); /* 1-pixel outline */
void chart_line(chart *c, double x0, double y0, double x1, double y1, int width, uint32_t rgb,
                int dashed);
/* Text with its top at y, aligned on x as `align` says; scale 1 is the 5x7
 * font in 6-pixel cells (about a 10-pixel sans-serif font in SVG), 2 twice
 * that. up != 0: rotated to read upwards, centred on (x, y). */
void chart_text(chart *c, int x, int y, const char *s, int scale, int align, int up, uint32_t rgb);
/* (Text widths in pixels: font_text_width of font.h.) */

/* Axis ticks: the step of about `ticks` ticks over span, 1, 2 or 5 times a
 * power of ten; the label of the tick at v, with the decimals the step
 * needs. */
double chart_nice_step(double span, int ticks);
void chart_tick_label(char *buf, size_t len, double v, double step);

/* Writes the picture to path as PNG or SVG (by its extension, .svg = SVG),
 * atomically. title: the SVG's <title>. 0, or -1 with a reason in err. */
int chart_write(const chart *c, const char *path, const char *title, char *err, size_t errlen);

#endif
