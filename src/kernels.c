/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kernels.c -- chooses the micro-kernel set for this CPU at run time, so the
 * default build runs on any x86-64 and uses AVX2 or AVX-512 where present. */
#include "layers.h"

#include <string.h>

#define DECL(isa)                                                                       \
	void onr_valid_conv_##isa(float *, size_t, const float *, size_t, const float *,  \
	                          const float *, uint32_t, uint32_t, uint32_t, uint32_t);  \
	void onr_valid_conv_dw_##isa(float *, const float *, size_t, const float *, size_t, \
	                             uint32_t, uint32_t, uint32_t, uint32_t);
DECL(generic)
#if defined(__x86_64__) || defined(__i386__)
DECL(avx2)
DECL(avx512)
#endif

static const onr_kernels k_generic = {"generic", onr_valid_conv_generic, onr_valid_conv_dw_generic};
#if defined(__x86_64__) || defined(__i386__)
static const onr_kernels k_avx2 = {"avx2", onr_valid_conv_avx2, onr_valid_conv_dw_avx2};
static const onr_kernels k_avx512 = {"avx512", onr_valid_conv_avx512, onr_valid_conv_dw_avx512};
#endif

static const onr_kernels *chosen;

static int cpu_has(const char *name)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	if (!strcmp(name, "avx512"))
		return __builtin_cpu_supports("avx512f");
	if (!strcmp(name, "avx2"))
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
	return !strcmp(name, "generic");
}

/* Any thread. The choice is made by the first caller; every later call reads
 * the same pointer (a race here would store the same value twice). */
const onr_kernels *onr_kernels_get(void)
{
	if (!chosen) {
#if defined(__x86_64__) || defined(__i386__)
		if (cpu_has("avx512"))
			chosen = &k_avx512;
		else if (cpu_has("avx2"))
			chosen = &k_avx2;
		else
#endif
			chosen = &k_generic;
	}
	return chosen;
}

int onr_kernels_force(const char *name)
{
	if (!cpu_has(name))
		return 0;
#if defined(__x86_64__) || defined(__i386__)
	if (!strcmp(name, "avx512"))
		chosen = &k_avx512;
	else if (!strcmp(name, "avx2"))
		chosen = &k_avx2;
	else
#endif
		chosen = &k_generic;
	return 1;
}

const char *onr_kernel_isa(void)
{
	return onr_kernels_get()->name;
}
