/* SPDX-License-Identifier: GPL-2.0-or-later */
/* arch.c -- named reference architectures. Any thread. */
#include "onr.h"

#include <string.h>

static uint32_t put(onr_op *ops, uint32_t n, uint32_t type, uint32_t a, uint32_t b, uint32_t c,
                    uint32_t d, uint32_t e, float f)
{
	ops[n] = (onr_op){type, a, b, c, d, e, f};
	return n + 1;
}

uint32_t onr_arch_preset(const char *name, uint32_t n_classes, onr_op *ops)
{
	uint32_t mul2; /* channel multiplier in halves: tiny 1, small 2, wide 4 */
	if (!strcmp(name, "mel")) {
		/* the log-mel reference (the shipped default's shape): 32 ms frames
		 * every 10 ms at 16 kHz, 64 bands from 30 Hz to half the rate; four
		 * conv blocks over time, the first three pooled by 2 */
		static const uint32_t chan[5] = {64, 96, 128, 128, 128};
		uint32_t n = put(ops, 0, ONR_OP_LOGMEL, 512, 160, 64, 30, 0, 1e-4f);
		for (int b = 0; b < 4; b++) {
			n = put(ops, n, ONR_OP_CONV, chan[b], chan[b + 1], 3, 1, 1, 0);
			n = put(ops, n, ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.01f);
			if (b < 3)
				n = put(ops, n, ONR_OP_MAXPOOL, 2, 2, 0, 0, 0, 0);
		}
		n = put(ops, n, ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0);
		n = put(ops, n, ONR_OP_DENSE, 128, 64, 0, 0, 0, 0);
		n = put(ops, n, ONR_OP_LRELU, 0, 0, 0, 0, 0, 0.01f);
		return put(ops, n, ONR_OP_DENSE, 64, n_classes, 0, 0, 0, 0);
	}
	if (!strcmp(name, "tiny"))
		mul2 = 1;
	else if (!strcmp(name, "small"))
		mul2 = 2;
	else if (!strcmp(name, "wide"))
		mul2 = 4;
	else
		return 0;
	const float slope = 0.01f;
	uint32_t c0 = 8 * mul2, ch[3] = {16 * mul2, 16 * mul2, 32 * mul2}, hidden = 16 * mul2;
	uint32_t n = 0, cin = c0;
	n = put(ops, n, ONR_OP_CONV, 1, c0, 64, 16, 0, 0);
	n = put(ops, n, ONR_OP_LRELU, 0, 0, 0, 0, 0, slope);
	for (int b = 0; b < 3; b++) {
		n = put(ops, n, ONR_OP_CONV, cin, ch[b], 3, 1, 1, 0);
		n = put(ops, n, ONR_OP_LRELU, 0, 0, 0, 0, 0, slope);
		n = put(ops, n, ONR_OP_MAXPOOL, 4, 4, 0, 0, 0, 0);
		cin = ch[b];
	}
	n = put(ops, n, ONR_OP_GMEAN, 0, 0, 0, 0, 0, 0);
	n = put(ops, n, ONR_OP_DENSE, cin, hidden, 0, 0, 0, 0);
	n = put(ops, n, ONR_OP_LRELU, 0, 0, 0, 0, 0, slope);
	n = put(ops, n, ONR_OP_DENSE, hidden, n_classes, 0, 0, 0, 0);
	return n;
}
