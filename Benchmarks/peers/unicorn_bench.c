/*
 * unicorn_bench.c: RingZero's hot-loop workloads W1-W3 on Unicorn, for comparison with
 * `ringzero bench`. Not part of the package or of CI; see README.md beside this file.
 *
 *   cc -O2 unicorn_bench.c -lunicorn -o .build/unicorn_bench
 *   .build/unicorn_bench [--workload w1-alu|w2-cr|w3-msr]... [--repetitions N] [--scale X]
 *                        [--flat] [--format text|tsv]
 *
 * Each workload is the same machine code as Workload.loop in
 * Sources/RingZero/Bench/Workload.swift, loaded at 0x1000 and run in 64-bit mode at CPL 0
 * until RIP reaches the HLT after the loop. Only uc_emu_start is timed. One untimed run first
 * translates the loop; then each repetition resets the registers and runs the loop
 * `iterations` times. The guest instructions per repetition are iterations * (instructions
 * per iteration); the HLT is not executed (uc_emu_start stops at its address). The median over
 * the repetitions is printed, in ns per guest instruction.
 *
 * Before timing, each workload is checked once with a UC_HOOK_CODE counter over a short run:
 * the hook must see exactly iterations * per-iteration instructions, and the privileged
 * instructions must have had their architectural effect (CR4.TSD toggled, IA32_SYSENTER_CS
 * bit 0 toggled). The same run counts translation blocks entered per iteration (UC_HOOK_BLOCK),
 * which shows which instructions end a block in this Unicorn. A workload that fails the check
 * is reported and not timed.
 */
#define _POSIX_C_SOURCE 200809L
#include <unicorn/unicorn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define CODE_ADDR 0x1000ULL
#define PT_BASE 0x10000ULL     /* PML4 here, PDPT at +0x1000, PD at +0x2000 */
#define MEM_SIZE (2ULL << 20)  /* identity-mapped by one 2 MiB page */
#define MSR_EFER 0xC0000080U
#define MSR_SYSENTER_CS 0x174U

struct workload {
    const char *name;
    const uint8_t *code;
    size_t size;            /* including the trailing HLT */
    int per_iteration;      /* guest instructions per loop iteration */
    int counter;            /* UC_X86_REG_RCX or UC_X86_REG_R8 */
    uint64_t iterations;    /* per repetition at --scale 1 (about 0.1-0.2 s on a 2.4 GHz core) */
};

static const struct workload workloads[] = {
    {"w1-alu", w1, sizeof w1, 5, UC_X86_REG_RCX, 40000000},
    {"w2-cr", w2, sizeof w2, 8, UC_X86_REG_RCX, 2500000},
    {"w3-msr", w3, sizeof w3, 6, UC_X86_REG_R8, 12000000},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

static int use_paging = 1;

static void check(uc_err err, const char *what)
{
    if (err != UC_ERR_OK) {
        fprintf(stderr, "unicorn_bench: %s: %s\n", what, uc_strerror(err));
        exit(2);
    }
}

static void write64(uc_engine *uc, int reg, uint64_t value)
{
    check(uc_reg_write(uc, reg, &value), "uc_reg_write");
}

static uint64_t read64(uc_engine *uc, int reg)
{
    uint64_t value = 0;
    check(uc_reg_read(uc, reg, &value), "uc_reg_read");
    return value;
}

static uint64_t read_msr(uc_engine *uc, uint32_t index)
{
    uc_x86_msr msr = {.rid = index, .value = 0};
    check(uc_reg_read(uc, UC_X86_REG_MSR, &msr), "uc_reg_read(MSR)");
    return msr.value;
}

static void write_msr(uc_engine *uc, uint32_t index, uint64_t value)
{
    uc_x86_msr msr = {.rid = index, .value = value};
    check(uc_reg_write(uc, UC_X86_REG_MSR, &msr), "uc_reg_write(MSR)");
}

/*
 * A 64-bit guest at CPL 0 in the state RingZero's workloads start from
 * (MachineSetup.defaults(for: .long)): CR0 = 0x80050033 (PG WP AM NE ET MP PE),
 * CR4 = 0x620 (OSXMMEXCPT OSFXSR PAE), EFER = 0x500 (LMA LME). uc_open(UC_MODE_64) already
 * gives long mode with flat 64-bit segments and CPL 0, but with paging off (CR0 = PE only);
 * like Unicorn's samples/sample_mmu.c, paging is turned on through uc_reg_write with identity
 * page tables (one 2 MiB page over the 2 MiB mapped). With --flat, CR0.PG stays clear (Unicorn's
 * default long mode without page tables) and CR3 is not written. No GDT is needed: the loops
 * load no segment register, and uc_open(UC_MODE_64) sets CS to 64-bit code directly.
 */
static uc_engine *make_machine(const struct workload *w)
{
    uc_engine *uc;
    check(uc_open(UC_ARCH_X86, UC_MODE_64, &uc), "uc_open");
    check(uc_mem_map(uc, 0, MEM_SIZE, UC_PROT_ALL), "uc_mem_map");
    check(uc_mem_write(uc, CODE_ADDR, w->code, w->size), "uc_mem_write(code)");

    write64(uc, UC_X86_REG_CR4, 0x620);
    write_msr(uc, MSR_EFER, 0x500);
    if (use_paging) {
        uint64_t pml4e = (PT_BASE + 0x1000) | 0x3;  /* present, writable */
        uint64_t pdpte = (PT_BASE + 0x2000) | 0x3;
        uint64_t pde = 0x0 | 0x83;                  /* 2 MiB page at 0: present, writable, PS */
        check(uc_mem_write(uc, PT_BASE, &pml4e, 8), "uc_mem_write(PML4)");
        check(uc_mem_write(uc, PT_BASE + 0x1000, &pdpte, 8), "uc_mem_write(PDPT)");
        check(uc_mem_write(uc, PT_BASE + 0x2000, &pde, 8), "uc_mem_write(PD)");
        write64(uc, UC_X86_REG_CR3, PT_BASE);
        write64(uc, UC_X86_REG_CR0, 0x80050033);
    } else {
        write64(uc, UC_X86_REG_CR0, 0x50033);
    }
    write64(uc, UC_X86_REG_RSP, MEM_SIZE);
    return uc;
}

/* Registers at the start of every run: all GPRs zero but the counter (and RSP). */
static void reset_registers(uc_engine *uc, const struct workload *w, uint64_t iterations)
{
    static const int gprs[] = {UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX,
                               UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_RBP, UC_X86_REG_R8};
    for (size_t i = 0; i < sizeof gprs / sizeof gprs[0]; i++) write64(uc, gprs[i], 0);
    write64(uc, w->counter, iterations);
}

/* Run the loop from 0x1000 to its HLT; return the elapsed seconds of uc_emu_start alone. */
static double run(uc_engine *uc, const struct workload *w, uint64_t iterations)
{
    uint64_t hlt = CODE_ADDR + w->size - 1;
    struct timespec t0, t1;
    reset_registers(uc, w, iterations);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uc_err err = uc_emu_start(uc, CODE_ADDR, hlt, 0, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (err != UC_ERR_OK) {
        fprintf(stderr, "unicorn_bench: %s: uc_emu_start stopped at 0x%llx: %s\n", w->name,
                (unsigned long long)read64(uc, UC_X86_REG_RIP), uc_strerror(err));
        return -1;
    }
    uint64_t rip = read64(uc, UC_X86_REG_RIP), counter = read64(uc, w->counter);
    if (rip != hlt || counter != 0) {
        fprintf(stderr, "unicorn_bench: %s: stopped at 0x%llx with the counter at %llu\n",
                w->name, (unsigned long long)rip, (unsigned long long)counter);
        return -1;
    }
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
}

static void count_hook(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
    (void)uc; (void)address; (void)size;
    ++*(uint64_t *)user;
}

/*
 * Run `n` iterations (n odd) with a code hook counting instructions, and check that the
 * privileged instructions did what the SDM says. Returns a message on failure, NULL if fine.
 */
static const char *verify(uc_engine *uc, const struct workload *w, char *buf, size_t len,
                          double *blocks_per_iteration)
{
    const uint64_t n = 1001;
    uint64_t seen = 0, blocks = 0;
    uc_hook hook, block_hook;
    uint64_t cr4_before = read64(uc, UC_X86_REG_CR4);
    uint64_t cs_before = read_msr(uc, MSR_SYSENTER_CS);
    check(uc_hook_add(uc, &hook, UC_HOOK_CODE, (void *)count_hook, &seen, 1, 0), "uc_hook_add");
    check(uc_hook_add(uc, &block_hook, UC_HOOK_BLOCK, (void *)count_hook, &blocks, 1, 0),
          "uc_hook_add");
    double t = run(uc, w, n);
    check(uc_hook_del(uc, hook), "uc_hook_del");
    check(uc_hook_del(uc, block_hook), "uc_hook_del");
    if (t < 0) return "the loop did not run to its HLT";
    *blocks_per_iteration = (double)blocks / (double)n;
    if (seen != n * (uint64_t)w->per_iteration) {
        snprintf(buf, len, "%llu instructions executed, %llu expected", (unsigned long long)seen,
                 (unsigned long long)(n * (uint64_t)w->per_iteration));
        return buf;
    }
    uint64_t cr0 = read64(uc, UC_X86_REG_CR0), cr4 = read64(uc, UC_X86_REG_CR4);
    uint64_t cs = read_msr(uc, MSR_SYSENTER_CS);
    if (strcmp(w->name, "w2-cr") == 0) {
        if ((cr4 ^ cr4_before) != 0x4) {
            snprintf(buf, len, "CR4 went from 0x%llx to 0x%llx after an odd number of "
                     "iterations (TSD should toggle)", (unsigned long long)cr4_before,
                     (unsigned long long)cr4);
            return buf;
        }
        if (cr0 & 0x8) return "CR0.TS set after CLTS";
    }
    if (strcmp(w->name, "w3-msr") == 0 && (cs ^ cs_before) != 0x1) {
        snprintf(buf, len, "IA32_SYSENTER_CS went from 0x%llx to 0x%llx after an odd number of "
                 "iterations (bit 0 should toggle)", (unsigned long long)cs_before,
                 (unsigned long long)cs);
        return buf;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *names[NWORKLOADS];
    for (size_t k = 0; k < NWORKLOADS; k++) names[k] = workloads[k].name;
    struct harness_options o = harness_parse(argc, argv, "unicorn_bench", names, NWORKLOADS, 1);
    int repetitions = o.repetitions, tsv = o.tsv;
    double scale = o.scale;
    use_paging = !o.flat;
    unsigned major, minor;
    uc_version(&major, &minor);
    if (!tsv) {
        printf("Unicorn %u.%u, 64-bit mode at CPL 0, %s, median of %d repetitions\n", major,
               minor, use_paging ? "paging on (CR0 0x80050033, CR4 0x620, EFER 0x500)"
                                 : "paging off (--flat: CR0 0x50033, CR4 0x620, EFER 0x500)",
               repetitions);
        printf("(blocks: translation blocks entered per loop iteration, counted in the check run)\n");
        printf("%-8s %10s %10s %11s %7s  %s\n", "workload", "ns/instr", "iterations",
               "instr/rep", "blocks", "min-max ns/instr");
    }
    int failures = 0;
    for (size_t k = 0; k < NWORKLOADS; k++) {
        if (o.any && !o.selected[k]) continue;
        const struct workload *w = &workloads[k];
        uint64_t iterations = (uint64_t)(w->iterations * scale);
        if (iterations < 1) iterations = 1;
        uint64_t instructions = iterations * (uint64_t)w->per_iteration;
        /* The check runs on a machine of its own, so no block translated with the counting
         * hook in it is left in the cache the timed runs use. */
        uc_engine *uc = make_machine(w);
        char message[256];
        double blocks = 0;
        const char *problem = verify(uc, w, message, sizeof message, &blocks);
        uc_close(uc);
        if (problem) {
            failures++;
            if (tsv) printf("%s\tnull\t%s\n", w->name, problem);
            else printf("%-8s %10s  %s\n", w->name, "-", problem);
            continue;
        }
        uc = make_machine(w);
        if (run(uc, w, iterations < 10000 ? iterations : 10000) < 0) return 1;  /* warm-up */
        double *samples = calloc((size_t)repetitions, sizeof *samples);
        for (int r = 0; r < repetitions; r++) {
            double t = run(uc, w, iterations);
            if (t < 0) return 1;
            samples[r] = t * 1e9 / (double)instructions;
        }
        double median = harness_median(samples, repetitions);
        if (tsv)
            printf("%s\t%.3f\t%llu\n", w->name, median, (unsigned long long)instructions);
        else
            printf("%-8s %10.3f %10llu %11llu %7.2f  %.3f-%.3f\n", w->name, median,
                   (unsigned long long)iterations, (unsigned long long)instructions, blocks,
                   samples[0], samples[repetitions - 1]);
        fflush(stdout);
        free(samples);
        uc_close(uc);
    }
    return failures ? 1 : 0;
}
