// SPDX-License-Identifier: GPL-2.0-only
/*
 * multiboot.c - the standard test-kernel interfaces: booted as a multiboot
 * kernel (ELF32 with a flags-0 header, or a flat image with the address
 * fields when built with MULTIBOOT_AOUT), it checks the information
 * structure (memory sizes, command line, modules, memory map, loader name)
 * and fw_cfg (signature, id, RAM size, CPU counts, command line, the file
 * directory and etc/e820), and that physical page 0 is writable RAM. It
 * prints what it found for the host side to compare.
 */
#include "rt.h"

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end, string, reserved;
};

extern char _end[];
static uint8_t e820[20 * 16];

static void test_info(const struct mb_info *mbi)
{
	const struct mb_module *mods = (const void *)(uint64_t)mbi->mods_addr;

	printf("flags=0x%x\n", mbi->flags);
	check((mbi->flags & 0x24d) == 0x24d,
	      "info has memory, cmdline, modules, mmap and loader name");
	printf("mem_lower=%u mem_upper=%u\n", mbi->mem_lower, mbi->mem_upper);
	printf("cmdline=[%s]\n", (const char *)(uint64_t)mbi->cmdline);
	printf("loader=[%s]\n", (const char *)(uint64_t)mbi->boot_loader_name);
	printf("mods=%u\n", mbi->mods_count);
	for (uint32_t i = 0; i < mbi->mods_count; i++) {
		const uint8_t *p = (const void *)(uint64_t)mods[i].start;
		uint32_t sum = 0;

		for (uint32_t j = 0; j < mods[i].end - mods[i].start; j++)
			sum = sum * 31 + p[j];
		printf("module%u size=%u sum=%u string=[%s]\n", i,
		       mods[i].end - mods[i].start, sum,
		       (const char *)(uint64_t)mods[i].string);
		check(!(mods[i].start & 0xfff) &&
			      mods[i].start >= (uint64_t)_end,
		      "module %u is page-aligned above the kernel", i);
	}
	for (uint32_t off = 0; off < mbi->mmap_length;) {
		const struct mb_mmap *m =
			(const void *)(uint64_t)(mbi->mmap_addr + off);

		printf("mmap 0x%lx 0x%lx %u\n", m->addr, m->len, m->type);
		off += m->size + 4;
	}
}

static void test_fw_cfg(const struct mb_info *mbi)
{
	char sig[5] = { 0 };
	uint32_t id = 0, cmd_size = 0, e820_size = 0;
	uint64_t ram = 0;
	uint16_t nb = 0, max = 0, key = 0;
	char cmd[256];

	fw_cfg_read(0x00, sig, 4);
	check(!strcmp(sig, "QEMU"), "fw_cfg signature: %s", sig);
	fw_cfg_read(0x01, &id, 4);
	check(id & 1, "fw_cfg id 0x%x has the traditional interface", id);
	fw_cfg_read(0x03, &ram, 8);
	fw_cfg_read(0x05, &nb, 2);
	fw_cfg_read(0x0f, &max, 2);
	printf("fw_cfg ram=%lu nb_cpus=%u max_cpus=%u\n", ram, nb, max);
	fw_cfg_read(0x14, &cmd_size, 4);
	if (check(cmd_size > 0 && cmd_size <= sizeof(cmd),
		  "fw_cfg command line size %u", cmd_size)) {
		fw_cfg_read(0x15, cmd, cmd_size);
		cmd[cmd_size - 1] = 0;
		printf("fw_cfg cmdline=[%s]\n", cmd);
	}
	if (check(fw_cfg_find("etc/e820", &key, &e820_size),
		  "fw_cfg directory lists etc/e820") &&
	    check(e820_size % 20 == 0 && e820_size <= sizeof(e820),
		  "etc/e820: %u bytes, whole entries", e820_size)) {
		bool same = e820_size / 20 * 24 == mbi->mmap_length;

		fw_cfg_read(key, e820, e820_size);
		for (uint32_t i = 0; same && i < e820_size / 20; i++) {
			const struct mb_mmap *m =
				(const void *)(uint64_t)(mbi->mmap_addr +
							 24 * i);

			same = !memcmp(e820 + 20 * i, &m->addr, 20);
		}
		check(same, "etc/e820 equals the multiboot memory map");
	}
	fw_cfg_read(0x7777, &id, 4);
	check(id == 0, "an absent key reads zeros");
}

int main(void)
{
	const struct mb_info *mbi = (const void *)(uint64_t)rt_boot_info;
	uint32_t v;

	if (!check(rt_boot_magic == MULTIBOOT_BOOT_MAGIC,
		   "entered with the multiboot magic: 0x%x", rt_boot_magic))
		return 0;
	printf("info=0x%x\n", rt_boot_info);
	test_info(mbi);
	test_fw_cfg(mbi);
	asm volatile("movl $0x5a5aa5a5, (%1)\n\tmovl (%1), %0"
		     : "=r"(v)
		     : "r"(0UL)
		     : "memory");
	check(v == 0x5a5aa5a5, "physical page 0 is writable RAM");
	return 0;
}
