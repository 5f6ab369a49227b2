/* SPDX-License-Identifier: GPL-2.0-or-later */
/* png.c -- see png.h. Deflate (RFC 1951) with the fixed Huffman codes and a
 * greedy LZ77 matcher over hash chains: plots have large flat areas that
 * this squeezes well, with no dependency beyond the core's CRC-32. */
#include "png.h"

#include "onr.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- bits */
typedef struct {
	uint8_t *p;
	size_t n, cap;
	uint64_t acc;      /* pending bits, LSB first */
	unsigned nacc;
} bitw;

static void put_bits(bitw *b, uint32_t v, unsigned n)
{
	b->acc |= (uint64_t)v << b->nacc;
	b->nacc += n;
	while (b->nacc >= 8) {
		if (b->n < b->cap)
			b->p[b->n] = (uint8_t)b->acc;
		b->n++;
		b->acc >>= 8;
		b->nacc -= 8;
	}
}

static void flush_bits(bitw *b)
{
	if (b->nacc)
		put_bits(b, 0, 8 - b->nacc);
}

/* Huffman codes are sent most significant bit first. */
static void put_huff(bitw *b, uint32_t code, unsigned len)
{
	uint32_t r = 0;
	for (unsigned i = 0; i < len; i++)
		r |= ((code >> i) & 1u) << (len - 1 - i);
	put_bits(b, r, len);
}

static void put_litlen(bitw *b, unsigned v)
{
	if (v < 144)
		put_huff(b, 0x30 + v, 8);
	else if (v < 256)
		put_huff(b, 0x190 + (v - 144), 9);
	else if (v < 280)
		put_huff(b, v - 256, 7);
	else
		put_huff(b, 0xC0 + (v - 280), 8);
}

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void put_match(bitw *b, unsigned len, unsigned dist)
{
	unsigned i = 28;
	while (len_base[i] > len)
		i--;
	put_litlen(b, 257 + i);
	put_bits(b, len - len_base[i], len_extra[i]);
	unsigned j = 29;
	while (dist_base[j] > dist)
		j--;
	put_huff(b, j, 5);
	put_bits(b, dist - dist_base[j], dist_extra[j]);
}

/* ---------------------------------------------------------------- deflate */
#define WSIZE 32768u
#define HBITS 15
#define MAX_CHAIN 48
#define MIN_MATCH 3
#define MAX_MATCH 258

static uint32_t hash3(const uint8_t *p)
{
	return ((uint32_t)p[0] << 10 ^ (uint32_t)p[1] << 5 ^ p[2]) & ((1u << HBITS) - 1);
}

static uint32_t adler32(const uint8_t *d, size_t n)
{
	uint32_t a = 1, b = 0;
	while (n) {
		size_t k = n < 5552 ? n : 5552;
		n -= k;
		while (k--) {
			a += *d++;
			b += a;
		}
		a %= 65521u;
		b %= 65521u;
	}
	return b << 16 | a;
}

int png_zlib_compress(const uint8_t *data, size_t n, uint8_t **out, size_t *size)
{
	*out = NULL;
	*size = 0;
	bitw b = {0};
	/* fixed codes never cost more than 9 bits a byte */
	b.cap = n + n / 8 + 64;
	b.p = malloc(b.cap);
	int32_t *head = malloc(sizeof(int32_t) << HBITS);
	int32_t *prev = malloc(sizeof(int32_t) * WSIZE);
	if (!b.p || !head || !prev) {
		free(b.p);
		free(head);
		free(prev);
		return -1;
	}
	for (uint32_t i = 0; i < (1u << HBITS); i++)
		head[i] = -1;
	b.p[b.n++] = 0x78; /* deflate, 32 KiB window */
	b.p[b.n++] = 0x01; /* no dictionary, fastest; (0x78 * 256 + 0x01) % 31 == 0 */
	put_bits(&b, 1, 1); /* BFINAL */
	put_bits(&b, 1, 2); /* BTYPE = 01: fixed Huffman */
	size_t i = 0;
	while (i < n) {
		unsigned best = 0, best_d = 0;
		if (i + MIN_MATCH <= n) {
			uint32_t h = hash3(data + i);
			int32_t cand = head[h];
			unsigned maxlen = n - i < MAX_MATCH ? (unsigned)(n - i) : MAX_MATCH;
			for (int chain = 0; chain < MAX_CHAIN && cand >= 0; chain++) {
				size_t c = (size_t)cand;
				if (i - c > WSIZE)
					break;
				unsigned l = 0;
				while (l < maxlen && data[c + l] == data[i + l])
					l++;
				if (l > best) {
					best = l;
					best_d = (unsigned)(i - c);
					if (l == maxlen)
						break;
				}
				int32_t nx = prev[c & (WSIZE - 1)];
				if (nx >= cand)
					break; /* a slot overwritten by a newer position */
				cand = nx;
			}
		}
		size_t adv = best >= MIN_MATCH ? best : 1;
		if (best >= MIN_MATCH)
			put_match(&b, best, best_d);
		else
			put_litlen(&b, data[i]);
		/* insert every position passed over */
		for (size_t k = 0; k < adv; k++, i++) {
			if (i + MIN_MATCH <= n) {
				uint32_t h = hash3(data + i);
				prev[i & (WSIZE - 1)] = head[h];
				head[h] = (int32_t)i;
			}
		}
	}
	put_litlen(&b, 256); /* end of block */
	flush_bits(&b);
	uint32_t ad = adler32(data, n);
	put_bits(&b, ad >> 24, 8);
	put_bits(&b, (ad >> 16) & 0xFF, 8);
	put_bits(&b, (ad >> 8) & 0xFF, 8);
	put_bits(&b, ad & 0xFF, 8);
	free(head);
	free(prev);
	if (b.n > b.cap) { /* cannot happen: see the bound above */
		free(b.p);
		return -1;
	}
	*out = b.p;
	*size = b.n;
	return 0;
}

/* ---------------------------------------------------------------- PNG */
static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Appends a chunk at *pos of buf: length, type, data, CRC of type + data. */
static void chunk(uint8_t *buf, size_t *pos, const char *type, const uint8_t *data, size_t n)
{
	uint8_t *p = buf + *pos;
	be32(p, (uint32_t)n);
	memcpy(p + 4, type, 4);
	if (n)
		memcpy(p + 8, data, n);
	be32(p + 8 + n, onr_crc32(0, p + 4, n + 4));
	*pos += 12 + n;
}

int png_encode_indexed(const uint8_t *px, uint32_t w, uint32_t h, const uint8_t *pal,
                       uint32_t n_pal, uint8_t **out, size_t *size)
{
	*out = NULL;
	*size = 0;
	if (!w || !h || w > (1u << 24) || h > (1u << 24) || !n_pal || n_pal > 256)
		return -1;
	size_t raw_n = (size_t)h * (w + 1);
	uint8_t *raw = malloc(raw_n);
	if (!raw)
		return -1;
	for (uint32_t y = 0; y < h; y++) {
		raw[(size_t)y * (w + 1)] = 0; /* filter: none (best for palette images) */
		memcpy(raw + (size_t)y * (w + 1) + 1, px + (size_t)y * w, w);
	}
	uint8_t *z;
	size_t zn;
	int st = png_zlib_compress(raw, raw_n, &z, &zn);
	free(raw);
	if (st)
		return -1;
	size_t total = 8 + (12 + 13) + (12 + 3 * (size_t)n_pal) + (12 + zn) + 12;
	uint8_t *f = malloc(total);
	if (!f) {
		free(z);
		return -1;
	}
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	size_t pos = 0;
	memcpy(f, sig, 8);
	pos = 8;
	uint8_t ihdr[13];
	be32(ihdr, w);
	be32(ihdr + 4, h);
	ihdr[8] = 8;  /* bit depth */
	ihdr[9] = 3;  /* colour type: palette */
	ihdr[10] = 0; /* deflate */
	ihdr[11] = 0; /* adaptive filtering */
	ihdr[12] = 0; /* no interlace */
	chunk(f, &pos, "IHDR", ihdr, 13);
	chunk(f, &pos, "PLTE", pal, 3 * (size_t)n_pal);
	chunk(f, &pos, "IDAT", z, zn);
	chunk(f, &pos, "IEND", NULL, 0);
	free(z);
	*out = f;
	*size = pos;
	return 0;
}

char *png_base64(const uint8_t *d, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = malloc((n + 2) / 3 * 4 + 1);
	if (!s)
		return NULL;
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		s[o++] = tab[v >> 18];
		s[o++] = tab[(v >> 12) & 63];
		s[o++] = tab[(v >> 6) & 63];
		s[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)d[i] << 16;
		s[o++] = tab[v >> 18];
		s[o++] = tab[(v >> 12) & 63];
		s[o++] = '=';
		s[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
		s[o++] = tab[v >> 18];
		s[o++] = tab[(v >> 12) & 63];
		s[o++] = tab[(v >> 6) & 63];
		s[o++] = '=';
	}
	s[o] = 0;
	return s;
}
