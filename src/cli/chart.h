/* SPDX-License-Identifier: GPL-2.0-or-later */
/* chart.h -- the pictures of the oneiro CLI (render --plot, the training
 * report), drawn with cairo: PNG, SVG or PDF by the file's extension, text
 * antialiased in DejaVu Sans (found through fontconfig). Coordinates are
 * pixels of the PNG (points of the SVG and PDF, the same numbers), y
 * downwards; integer coordinates are the corners of pixels. Also the axis
 * ticks of these pictures. */
#ifndef ONEIRO_CHART_H
#define ONEIRO_CHART_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>

typedef struct chart chart;

/* Text placement, or'ed: horizontal alignment on x, CHART_UP rotated to
 * read upwards (centred on (x, y)), CHART_BOLD. */
enum { CHART_LEFT = 0, CHART_CENTRE = 1, CHART_RIGHT = 2, CHART_UP = 4, CHART_BOLD = 8 };

/* Nonzero when path ends in .png, .svg or .pdf (case-insensitive). */
int chart_path_ok(const char *path);

/* A w x h picture on white, to be written to path (its extension chooses
 * the format); title: the PDF's title. NULL with a reason in err. */
chart *chart_new(const char *path, int w, int h, const char *title, char *err, size_t errlen);
/* Frees the picture without writing it (NULL: nothing). */
void chart_free(chart *c);
/* Its cairo context, for what the calls below do not draw. */
cairo_t *chart_cairo(chart *c);

/* Colours are 0xRRGGBB. */
void chart_rect(chart *c, double x, double y, double w, double h, uint32_t rgb);
void chart_box(chart *c, double x, double y, double w, double h, uint32_t rgb); /* 1-pixel outline inside */
/* A line between the centres of pixels (x0, y0) and (x1, y1). */
void chart_line(chart *c, double x0, double y0, double x1, double y1, double width, uint32_t rgb,
                int dashed);
/* Text of `size` pixels (the em) with the top of its capitals at y, placed
 * as `flags` says; invalid UTF-8 is shown as '?'. */
void chart_text(chart *c, double x, double y, const char *s, double size, int flags, uint32_t rgb);
double chart_text_width(chart *c, const char *s, double size, int flags);

/* Axis ticks: the step of about `ticks` ticks over span, 1, 2 or 5 times a
 * power of ten; the label of the tick at v, with the decimals the step
 * needs. */
double chart_nice_step(double span, int ticks);
void chart_tick_label(char *buf, size_t len, double v, double step);

/* Finishes the picture and writes it to the path given to chart_new,
 * atomically, then frees it. 0, or -1 with a reason in err. */
int chart_write(chart *c, char *err, size_t errlen);

#endif
