/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kernels.c -- chooses the micro-kernel set for this CPU at run time, so the
 * default build runs on any x86-64 and uses AVX2 or AVX-512 where present. */
#include "layers.h"

#include <stdatomic.h>
#include <string.h>

#define DECL(isa)                                                                       \
	void onr_valid_conv_##isa(float *, size_t, const float *, size_t, const float *,  \
	                          const float *, uint32_t, uint32_t, uint32_t, uint32_t);  \
	void onr_valid_conv_dw_##isa(float *, const float *, size_t, const float *, size_t, \
	                             uint32_t, uint32_t, uint32_t, uint32_t);           \
	void onr_valid_conv_dw_t_##isa(float *, const float *, size_t, const float *, size_t, \
	                               uint32_t, uint32_t, uint32_t);
DECL(generic)
#if defined(__x86_64__) || defined(__i386__)
DECL(avx2)
DECL(avx512)
#endif

static const onr_kernels k_generic = {"generic", onr_valid_conv_generic, onr_valid_conv_dw_generic,
                                     onr_valid_conv_dw_t_generic};
#if defined(__x86_64__) || defined(__i386__)
static const onr_kernels k_avx2 = {"avx2", onr_valid_conv_avx2, onr_valid_conv_dw_avx2,
                                     onr_valid_conv_dw_t_avx2};
static const onr_kernels k_avx512 = {"avx512", onr_valid_conv_avx512, onr_valid_conv_dw_avx512,
                                     onr_valid_conv_dw_t_avx512};
#endif

/* atomic: engines made on several threads at once (render --jobs, the
 * plugin's threads) may all ask first */
static _Atomic(const onr_kernels *) chosen;

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

/* Any thread, the audio thread included (an atomic load). The choice is
 * made by the first callers; they all store the same pointer. */
const onr_kernels *onr_kernels_get(void)
{
	const onr_kernels *k = atomic_load_explicit(&chosen, memory_order_acquire);
	if (!k) {
#if defined(__x86_64__) || defined(__i386__)
		if (cpu_has("avx512"))
			k = &k_avx512;
		else if (cpu_has("avx2"))
			k = &k_avx2;
		else
#endif
			k = &k_generic;
		const onr_kernels *none = NULL;
		if (!atomic_compare_exchange_strong_explicit(&chosen, &none, k, memory_order_acq_rel,
		                                             memory_order_acquire))
			k = none; /* another thread chose first: the same set */
	}
	return k;
}

int onr_kernels_force(const char *name)
{
	if (!cpu_has(name))
		return 0;
#if defined(__x86_64__) || defined(__i386__)
	if (!strcmp(name, "avx512"))
		atomic_store(&chosen, &k_avx512);
	else if (!strcmp(name, "avx2"))
		atomic_store(&chosen, &k_avx2);
	else
#endif
		atomic_store(&chosen, &k_generic);
	return 1;
}

const char *onr_kernel_isa(void)
{
	return onr_kernels_get()->name;
}
