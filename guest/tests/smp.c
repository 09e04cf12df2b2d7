// SPDX-License-Identifier: GPL-2.0-only
/*
 * smp.c - guest test 4 (run with --cpus 4): the BSP reads the vCPU count
 * from fw_cfg, starts every AP (INIT-SIPI-SIPI through the local APIC);
 * each CPU runs ring-3 work that increments a shared counter with locked
 * instructions, and the BSP checks the total.
 */
#include "rt.h"

#define INCREMENTS 200000

static volatile uint64_t counter;
static volatile unsigned int done;
static volatile uint64_t results[RT_MAX_CPUS];

/* Ring 3: a little arithmetic, then INCREMENTS atomic increments. */
static uint64_t user_work(uint64_t cpu)
{
	uint64_t x = cpu + 1;

	for (int i = 0; i < 100000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	for (int i = 0; i < INCREMENTS; i++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	return x | 1;
}

static void ap_work(unsigned int cpu)
{
	results[cpu] = rt_user_call(user_work, cpu);
	__atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
}

int main(void)
{
	uint16_t nb = 0, max = 0;
	unsigned int started;

	fw_cfg_read(0x05, &nb, 2); /* FW_CFG_NB_CPUS */
	fw_cfg_read(0x0f, &max, 2); /* FW_CFG_MAX_CPUS */
	printf("cpus=%u max_cpus=%u\n", nb, max);
	if (!check(nb >= 2 && nb <= RT_MAX_CPUS, "fw_cfg reports %u CPUs", nb))
		return 0;
	started = rt_smp_start(ap_work, nb - 1u);
	check(started == nb - 1u, "%u of %u APs started", started, nb - 1u);
	results[0] = rt_user_call(user_work, 0);
	for (uint64_t t0 = rdtsc();
	     done < started && rdtsc() - t0 < 30000000000ULL;)
		cpu_relax();
	check(done == started, "%u APs finished their ring-3 work", done);
	for (unsigned int i = 0; i < nb; i++)
		check(results[i] & 1, "cpu %u ran ring-3 work", i);
	check(counter == (uint64_t)INCREMENTS * nb,
	      "shared counter: %lu (expected %lu)", counter,
	      (uint64_t)INCREMENTS * nb);
	return 0;
}
