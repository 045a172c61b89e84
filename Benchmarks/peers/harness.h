/*
 * harness.h: what the peers' C harnesses (unicorn_bench.c, switch_yardstick.c) share: their
 * command line and the median of the repetitions. Not part of the package or of CI; see
 * README.md beside this file.
 */
#ifndef RINGZERO_PEERS_HARNESS_H
#define RINGZERO_PEERS_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The loops both run, the same machine code as Workload.loop in
 * Sources/RingZero/Bench/Workload.swift, each ending in the HLT after the loop. */
static const uint8_t w1[] = {
    0x48, 0x01, 0xD8,             /* add rax, rbx */
    0x48, 0x31, 0xC2,             /* xor rdx, rax */
    0x48, 0x83, 0xEB, 0x03,       /* sub rbx, 3 */
    0x48, 0xFF, 0xC9,             /* dec rcx */
    0x75, 0xF1,                   /* jnz loop */
    0xF4,                         /* hlt */
};
static const uint8_t w2[] = {
    0x0F, 0x20, 0xE0,             /* mov rax, cr4 */
    0x48, 0x83, 0xF0, 0x04,       /* xor rax, 4 (CR4.TSD) */
    0x0F, 0x22, 0xE0,             /* mov cr4, rax */
    0x0F, 0x06,                   /* clts */
    0x0F, 0x20, 0xC2,             /* mov rdx, cr0 */
    0x0F, 0x01, 0xF2,             /* lmsw dx */
    0x48, 0xFF, 0xC9,             /* dec rcx */
    0x75, 0xE9,                   /* jnz loop */
    0xF4,
};
static const uint8_t w3[] = {
    0xB9, 0x74, 0x01, 0x00, 0x00, /* mov ecx, 0x174 (IA32_SYSENTER_CS) */
    0x0F, 0x32,                   /* rdmsr */
    0x83, 0xF0, 0x01,             /* xor eax, 1 */
    0x0F, 0x30,                   /* wrmsr */
    0x49, 0xFF, 0xC8,             /* dec r8 */
    0x75, 0xEF,                   /* jnz loop */
    0xF4,
};

/* What the command line asked for. `selected[k]` is set for each --workload named (`any` if
 * one was); `flat` only where the harness accepts --flat. */
struct harness_options {
    int selected[16];
    int any;
    int repetitions;
    int tsv;
    int flat;
    double scale;
};

static void harness_usage(const char *name, int accepts_flat)
{
    fprintf(stderr,
            "usage: %s [--workload w1-alu|w2-cr|w3-msr]... [--repetitions N] [--scale X]%s "
            "[--format text|tsv]\n",
            name, accepts_flat ? " [--flat]" : "");
    exit(2);
}

/* Parse argv against the `count` workload names (at most 16); exits with the usage on
 * anything else. */
static struct harness_options harness_parse(int argc, char **argv, const char *name,
                                            const char *const *workloads, size_t count,
                                            int accepts_flat)
{
    struct harness_options o = {.repetitions = 7, .scale = 1.0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--workload") == 0 && i + 1 < argc) {
            const char *w = argv[++i];
            size_t k = 0;
            while (k < count && strcmp(workloads[k], w) != 0) k++;
            if (k == count) harness_usage(name, accepts_flat);
            o.selected[k] = o.any = 1;
        } else if (strcmp(argv[i], "--repetitions") == 0 && i + 1 < argc) {
            o.repetitions = atoi(argv[++i]);
            if (o.repetitions < 1) harness_usage(name, accepts_flat);
        } else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            o.scale = atof(argv[++i]);
            if (!(o.scale > 0)) harness_usage(name, accepts_flat);
        } else if (accepts_flat && strcmp(argv[i], "--flat") == 0) {
            o.flat = 1;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "tsv") == 0) o.tsv = 1;
            else if (strcmp(f, "text") != 0) harness_usage(name, accepts_flat);
        } else {
            harness_usage(name, accepts_flat);
        }
    }
    return o;
}

static int harness_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts `samples` (so that samples[0] and samples[n - 1] are the range) and returns their
 * median. */
static double harness_median(double *samples, int n)
{
    qsort(samples, (size_t)n, sizeof *samples, harness_compare_doubles);
    return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

#endif
