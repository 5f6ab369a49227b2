/* SPDX-License-Identifier: GPL-2.0-or-later */
/* font.h -- 8-bit pictures (one palette index a pixel) and text on them in
 * a 5x7 bitmap font: capitals, digits and punctuation; lower case is drawn
 * as upper case, anything else as '?'. Used by the spectrogram plots of
 * plot.c and the PNG pictures of chart.c. */
#ifndef ONEIRO_FONT_H
#define ONEIRO_FONT_H

#include <stdint.h>

typedef struct {
	uint8_t *px; /* (h, w) row-major */
	int w, h;
} font_img;

/* A pixel and a filled rectangle; what falls outside the picture is left
 * out. */
void font_put(font_img *im, int x, int y, uint8_t c);
void font_fill(font_img *im, int x, int y, int w, int h, uint8_t c);

/* Width in pixels of text at scale (glyphs in cells of 6 x scale pixels). */
int font_text_width(const char *s, int scale);

/* Text with its top-left at (x, y), each font pixel a scale x scale square;
 * up != 0: rotated to read upwards, (x, y) then its bottom-left. */
void font_text(font_img *im, int x, int y, const char *s, int scale, uint8_t c, int up);

#endif
