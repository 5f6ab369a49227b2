/* SPDX-License-Identifier: GPL-2.0-or-later */
/* png.h -- a minimal PNG writer for the oneiro CLI's plots: 8-bit indexed
 * (palette) images, zlib stream with one fixed-Huffman deflate block and a
 * small LZ77 matcher (no zlib dependency), CRC-32 and Adler-32. */
#ifndef ONEIRO_PNG_H
#define ONEIRO_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encodes a w x h image of palette indices (px: (h, w) row-major) with a
 * palette of n_pal RGB triples (pal: (n_pal, 3), 1..256 entries) into a
 * malloc'ed PNG file image *out of *size bytes. Returns 0, or -1 when out
 * of memory or given a bad size. */
int png_encode_indexed(const uint8_t *px, uint32_t w, uint32_t h, const uint8_t *pal,
                       uint32_t n_pal, uint8_t **out, size_t *size);

/* A zlib stream (RFC 1950) of n bytes of data; *out malloc'ed. 0 or -1. */
int png_zlib_compress(const uint8_t *data, size_t n, uint8_t **out, size_t *size);

/* Base64 (RFC 4648, with padding) of n bytes; a malloc'ed NUL-terminated
 * string, NULL when out of memory. */
char *png_base64(const uint8_t *data, size_t n);

#endif
