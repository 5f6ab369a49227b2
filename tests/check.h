/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check.h -- the tests' tiny harness: CHECK counts and reports, and
 * check_done() prints "N passed, N failed" and gives the exit status. */
#ifndef ONR_CHECK_H
#define ONR_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_pass, check_fail;

#define CHECK(cond, ...)                                                  \
	do {                                                                  \
		if (cond) {                                                       \
			check_pass++;                                                 \
		} else {                                                          \
			check_fail++;                                                 \
			fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);         \
			fprintf(stderr, __VA_ARGS__);                                 \
			fputc('\n', stderr);                                          \
		}                                                                 \
	} while (0)

static inline int check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_pass, check_fail);
	return check_fail ? 1 : 0;
}

/* Relative L2 distance of a from b, and their cosine similarity. */
static inline double rel_l2(const float *a, const float *b, size_t n)
{
	double num = 0.0, den = 0.0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)a[i] - b[i];
		num += d * d;
		den += (double)b[i] * b[i];
	}
	return sqrt(num) / (sqrt(den) + 1e-300);
}

static inline double cosine(const float *a, const float *b, size_t n)
{
	double ab = 0.0, aa = 0.0, bb = 0.0;
	for (size_t i = 0; i < n; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return ab / (sqrt(aa * bb) + 1e-300);
}

#endif
