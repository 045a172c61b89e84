/*
 * switch_yardstick.c: the "minimal C switch interpreter, lazy flags (gcc -O2)" of
 * shared/peers/performance.md, rebuilt so it can be rerun beside unicorn_bench.c on the same
 * machine. Not part of the package or of CI; see README.md beside this file.
 *
 *   cc -O2 -Wall -Wextra -o .build/switch_yardstick switch_yardstick.c
 *   .build/switch_yardstick [--workload w1-alu|w2-cr|w3-msr]... [--repetitions N] [--scale X]
 *                           [--format text|tsv]
 *
 * What it is, and deliberately no more: the loops of unicorn_bench.c (the same machine code
 * bytes) are decoded once into an array of 16-byte structs; a plain `switch` on the op kind
 * runs them, one case per instruction form, one indirect jump per guest instruction. No
 * computed goto, no superinstructions, no fusion of `dec; jnz`, no block-level work.
 *
 * - Guest state lives in one global struct (`guest`) that the interpreter reaches only through
 *   the pointer it is passed, a parameter of a noipa function. Registers are indexed by the
 *   decoded operands (cpu->gpr[op->a]), so the compiler cannot keep any of them in host
 *   registers: every guest register read is a load and every write a store.
 * - Lazy flags: the ALU ops store the op kind, operand size, both operands and the result;
 *   ZF is computed from the stored result only when JNZ asks. (DEC should keep the previous CF;
 *   nothing here reads CF, so that bookkeeping is left out.)
 * - Privileged ops check CPL 0 (#GP otherwise). MOV to CR4 checks the reserved bits, long-mode
 *   rules (PAE must stay set, LA57 cannot change) and, in VMX operation, the CR4 fixed masks
 *   (IA32_VMX_CR4_FIXED0 = 0x2000: VMXE must be 1; IA32_VMX_CR4_FIXED1 = 0x3727FF: bits
 *   outside it must be 0). The guest starts in VMX operation with CR4 = 0x2620 (0x620 + VMXE),
 *   so 0x2620 and 0x2624 are both legal. CLTS clears CR0.TS; LMSW loads CR0[3:0] but cannot
 *   clear PE. RDMSR/WRMSR look the index up with a `switch` over a small table of MSRs (#GP on
 *   an unknown index; WRMSR also checks canonical addresses and EFER's reserved bits).
 * - A fault ends the run with the vector; the harness reports it and exits non-zero.
 *
 * Timing: clock_gettime(CLOCK_MONOTONIC) around the interpreter call alone. Guest instructions
 * per repetition are iterations * instructions per iteration (the HLT that ends the run is not
 * counted, as in unicorn_bench). Before timing, each workload runs 1,001 iterations through a
 * counting copy of the same interpreter, which must count exactly 1,001 * N instructions;
 * after every run (checked and timed) the architectural result is verified: counter 0,
 * CR4.TSD and CR0.TS (W2), IA32_SYSENTER_CS bit 0 (W3), RAX/RBX/RDX against a plain C loop
 * (W1). Any mismatch exits non-zero.
 */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define CODE_ADDR 0x1000ULL

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* ---------------------------------------------------------------- guest state */

enum lazy_op { LF_ADD, LF_SUB, LF_XOR, LF_DEC };

struct cpu {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    /* lazy flags */
    uint64_t lf_dst, lf_src, lf_res;
    uint8_t lf_op, lf_size;
    uint8_t cpl, long_mode, in_vmx;
    /* MSRs */
    uint64_t efer, sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t star, lstar, cstar, fmask, fs_base, gs_base, kernel_gs_base, tsc_aux;
    /* VMX capability MSRs consulted by MOV to CR4 in VMX operation */
    uint64_t cr4_fixed0, cr4_fixed1;
};

static struct cpu guest;  /* reached by the interpreter only through a pointer parameter */

#define CR0_PE 0x1ULL
#define CR0_TS 0x8ULL
#define CR4_PAE 0x20ULL
#define CR4_LA57 0x1000ULL
#define CR4_VMXE 0x2000ULL
/* CR4 bits this CPU defines: 0-14, 16-18, 20-24. */
#define CR4_RESERVED (~0x1F77FFFULL)

#define MSR_EFER 0xC0000080U
#define MSR_STAR 0xC0000081U
#define MSR_LSTAR 0xC0000082U
#define MSR_CSTAR 0xC0000083U
#define MSR_FMASK 0xC0000084U
#define MSR_FS_BASE 0xC0000100U
#define MSR_GS_BASE 0xC0000101U
#define MSR_KERNEL_GS_BASE 0xC0000102U
#define MSR_TSC_AUX 0xC0000103U
#define MSR_SYSENTER_CS 0x174U
#define MSR_SYSENTER_ESP 0x175U
#define MSR_SYSENTER_EIP 0x176U
#define EFER_RESERVED (~0xD01ULL)  /* SCE, LME, LMA, NXE */

/* ---------------------------------------------------------------- decoded form */

enum kind {
    K_ADD_RR, K_XOR_RR, K_SUB_RI, K_XOR_RI, K_DEC_R, K_JNZ, K_MOV_R_I,
    K_MOV_R_CR, K_MOV_CR_R, K_CLTS, K_LMSW, K_RDMSR, K_WRMSR, K_HLT,
};

/* One pre-decoded instruction. For K_JNZ, imm is the target's index in the op array. */
struct op {
    uint8_t kind;
    uint8_t a;       /* destination register (or the CR number for K_MOV_CR_R) */
    uint8_t b;       /* source register (or the CR number for K_MOV_R_CR) */
    uint8_t size;    /* operand size in bytes: 4 or 8 */
    uint32_t next;   /* guest address of the next instruction (RIP after this one) */
    uint64_t imm;
};
static_assert(sizeof(struct op) == 16, "pre-decoded ops are 16 bytes");

/* ---------------------------------------------------------------- interpreter */

enum exit_reason { EXIT_HLT, EXIT_GP, EXIT_UD };

static inline uint64_t truncate(uint64_t v, unsigned size)
{
    return size == 8 ? v : (uint32_t)v;
}

static inline int canonical(uint64_t v)
{
    return (uint64_t)(((int64_t)v << 16) >> 16) == v;
}

/* The MSR table: a switch on the index; NULL for an MSR this CPU does not have. */
static inline uint64_t *msr_slot(struct cpu *cpu, uint32_t index)
{
    switch (index) {
    case MSR_SYSENTER_CS: return &cpu->sysenter_cs;
    case MSR_SYSENTER_ESP: return &cpu->sysenter_esp;
    case MSR_SYSENTER_EIP: return &cpu->sysenter_eip;
    case MSR_EFER: return &cpu->efer;
    case MSR_STAR: return &cpu->star;
    case MSR_LSTAR: return &cpu->lstar;
    case MSR_CSTAR: return &cpu->cstar;
    case MSR_FMASK: return &cpu->fmask;
    case MSR_FS_BASE: return &cpu->fs_base;
    case MSR_GS_BASE: return &cpu->gs_base;
    case MSR_KERNEL_GS_BASE: return &cpu->kernel_gs_base;
    case MSR_TSC_AUX: return &cpu->tsc_aux;
    default: return NULL;
    }
}

/* WRMSR's per-MSR value checks; nonzero means #GP. */
static inline int msr_value_bad(uint32_t index, uint64_t value)
{
    switch (index) {
    case MSR_SYSENTER_ESP: case MSR_SYSENTER_EIP: case MSR_LSTAR: case MSR_CSTAR:
    case MSR_FS_BASE: case MSR_GS_BASE: case MSR_KERNEL_GS_BASE:
        return !canonical(value);
    case MSR_EFER: return (value & EFER_RESERVED) != 0;
    case MSR_TSC_AUX: return (value >> 32) != 0;
    default: return 0;
    }
}

static inline uint64_t *cr_slot(struct cpu *cpu, unsigned n)
{
    switch (n) {
    case 0: return &cpu->cr0;
    case 2: return &cpu->cr2;
    case 3: return &cpu->cr3;
    case 4: return &cpu->cr4;
    default: return &cpu->cr8;
    }
}

/*
 * Runs from code[0] to a HLT or a fault. `counting` is a compile-time constant in each of the
 * two instances below: the timed one never counts, the check one counts every instruction.
 */
static inline __attribute__((always_inline)) int
interpret(struct cpu *cpu, const struct op *code, uint64_t *count, const int counting)
{
    const struct op *pc = code;
    for (;;) {
        const struct op *op = pc++;
        if (counting && op->kind != K_HLT) ++*count;
        switch (op->kind) {
        case K_ADD_RR: {
            uint64_t d = cpu->gpr[op->a], s = cpu->gpr[op->b];
            uint64_t r = truncate(d + s, op->size);
            cpu->gpr[op->a] = r;
            cpu->lf_op = LF_ADD; cpu->lf_size = op->size;
            cpu->lf_dst = d; cpu->lf_src = s; cpu->lf_res = r;
            break;
        }
        case K_XOR_RR: {
            uint64_t d = cpu->gpr[op->a], s = cpu->gpr[op->b];
            uint64_t r = truncate(d ^ s, op->size);
            cpu->gpr[op->a] = r;
            cpu->lf_op = LF_XOR; cpu->lf_size = op->size;
            cpu->lf_dst = d; cpu->lf_src = s; cpu->lf_res = r;
            break;
        }
        case K_SUB_RI: {
            uint64_t d = cpu->gpr[op->a], s = op->imm;
            uint64_t r = truncate(d - s, op->size);
            cpu->gpr[op->a] = r;
            cpu->lf_op = LF_SUB; cpu->lf_size = op->size;
            cpu->lf_dst = d; cpu->lf_src = s; cpu->lf_res = r;
            break;
        }
        case K_XOR_RI: {
            uint64_t d = cpu->gpr[op->a], s = op->imm;
            uint64_t r = truncate(d ^ s, op->size);
            cpu->gpr[op->a] = r;
            cpu->lf_op = LF_XOR; cpu->lf_size = op->size;
            cpu->lf_dst = d; cpu->lf_src = s; cpu->lf_res = r;
            break;
        }
        case K_DEC_R: {
            uint64_t d = cpu->gpr[op->a];
            uint64_t r = truncate(d - 1, op->size);
            cpu->gpr[op->a] = r;
            cpu->lf_op = LF_DEC; cpu->lf_size = op->size;
            cpu->lf_dst = d; cpu->lf_src = 1; cpu->lf_res = r;
            break;
        }
        case K_JNZ:
            /* ZF, computed lazily: the stored result is already truncated to its size. */
            if (cpu->lf_res != 0) pc = code + op->imm;
            break;
        case K_MOV_R_I:
            cpu->gpr[op->a] = truncate(op->imm, op->size);
            break;
        case K_MOV_R_CR:
            if (cpu->cpl != 0) goto gp;
            cpu->gpr[op->a] = *cr_slot(cpu, op->b);
            break;
        case K_MOV_CR_R: {
            if (cpu->cpl != 0) goto gp;
            uint64_t v = cpu->gpr[op->b];
            if (op->a != 4) goto ud;  /* only CR4 is written by these loops */
            if (v & CR4_RESERVED) goto gp;
            if (cpu->long_mode && (!(v & CR4_PAE) || ((v ^ cpu->cr4) & CR4_LA57))) goto gp;
            if (cpu->in_vmx && ((v & cpu->cr4_fixed0) != cpu->cr4_fixed0 || (v & ~cpu->cr4_fixed1)))
                goto gp;
            cpu->cr4 = v;
            break;
        }
        case K_CLTS:
            if (cpu->cpl != 0) goto gp;
            cpu->cr0 &= ~CR0_TS;
            break;
        case K_LMSW: {
            if (cpu->cpl != 0) goto gp;
            uint64_t cr0 = cpu->cr0;
            cpu->cr0 = (cr0 & ~0xFULL) | (cpu->gpr[op->b] & 0xF) | (cr0 & CR0_PE);
            break;
        }
        case K_RDMSR: {
            if (cpu->cpl != 0) goto gp;
            uint64_t *slot = msr_slot(cpu, (uint32_t)cpu->gpr[RCX]);
            if (!slot) goto gp;
            uint64_t v = *slot;
            cpu->gpr[RAX] = (uint32_t)v;
            cpu->gpr[RDX] = v >> 32;
            break;
        }
        case K_WRMSR: {
            if (cpu->cpl != 0) goto gp;
            uint32_t index = (uint32_t)cpu->gpr[RCX];
            uint64_t *slot = msr_slot(cpu, index);
            if (!slot) goto gp;
            uint64_t v = (cpu->gpr[RDX] << 32) | (uint32_t)cpu->gpr[RAX];
            if (msr_value_bad(index, v)) goto gp;
            *slot = v;
            break;
        }
        case K_HLT:
            cpu->rip = op->next;
            return EXIT_HLT;
        default:
            goto ud;
        }
        continue;
    gp:
        cpu->rip = op->next;  /* the faulting instruction's address is not kept; enough here */
        return EXIT_GP;
    ud:
        cpu->rip = op->next;
        return EXIT_UD;
    }
}

/* noipa: no inlining and no interprocedural constant propagation, so `cpu` stays a real
 * pointer parameter (GCC would otherwise specialise these on &guest). */
__attribute__((noipa)) static int run_fast(struct cpu *cpu, const struct op *code)
{
    return interpret(cpu, code, NULL, 0);
}

__attribute__((noipa)) static int run_counted(struct cpu *cpu, const struct op *code,
                                                 uint64_t *count)
{
    return interpret(cpu, code, count, 1);
}

/* ---------------------------------------------------------------- decoder */

#define MAX_OPS 32

/*
 * Decodes exactly the instruction forms these loops use (64-bit mode). Returns the number of
 * ops, or 0 (with a message) on anything else. Jump targets become op indices.
 */
static size_t decode(const uint8_t *bytes, size_t size, struct op *ops)
{
    uint64_t addr[MAX_OPS];
    int64_t jump_to[MAX_OPS];
    size_t n = 0, i = 0;
    while (i < size) {
        if (n == MAX_OPS) return 0;
        size_t start = i;
        struct op o = {0};
        unsigned rex = 0;
        jump_to[n] = -1;
        if ((bytes[i] & 0xF0) == 0x40) rex = bytes[i++];
        unsigned w = (rex >> 3) & 1, r = (rex >> 2) & 1, bx = rex & 1;
        o.size = w ? 8 : 4;
        uint8_t b0 = bytes[i++], m;
        switch (b0) {
        case 0x01: case 0x31:  /* add/xor r/m, r (register form only) */
            m = bytes[i++];
            if ((m >> 6) != 3) goto bad;
            o.kind = b0 == 0x01 ? K_ADD_RR : K_XOR_RR;
            o.a = (uint8_t)((m & 7) | bx << 3);
            o.b = (uint8_t)(((m >> 3) & 7) | r << 3);
            break;
        case 0x83:  /* group 1, imm8 sign-extended */
            m = bytes[i++];
            if ((m >> 6) != 3) goto bad;
            o.a = (uint8_t)((m & 7) | bx << 3);
            o.imm = truncate((uint64_t)(int64_t)(int8_t)bytes[i++], o.size);
            if (((m >> 3) & 7) == 5) o.kind = K_SUB_RI;
            else if (((m >> 3) & 7) == 6) o.kind = K_XOR_RI;
            else goto bad;
            break;
        case 0xFF:  /* group 5: dec */
            m = bytes[i++];
            if ((m >> 6) != 3 || ((m >> 3) & 7) != 1) goto bad;
            o.kind = K_DEC_R;
            o.a = (uint8_t)((m & 7) | bx << 3);
            break;
        case 0x75: {  /* jnz rel8 */
            int8_t rel = (int8_t)bytes[i++];
            o.kind = K_JNZ;
            jump_to[n] = (int64_t)(CODE_ADDR + i) + rel;
            break;
        }
        case 0xB8: case 0xB9: case 0xBA: case 0xBB:
        case 0xBC: case 0xBD: case 0xBE: case 0xBF:  /* mov r32, imm32 */
            if (w) goto bad;
            o.kind = K_MOV_R_I;
            o.a = (uint8_t)((b0 & 7) | bx << 3);
            o.imm = (uint64_t)bytes[i] | (uint64_t)bytes[i + 1] << 8 |
                    (uint64_t)bytes[i + 2] << 16 | (uint64_t)bytes[i + 3] << 24;
            i += 4;
            break;
        case 0xF4:
            o.kind = K_HLT;
            break;
        case 0x0F: {
            uint8_t b1 = bytes[i++];
            switch (b1) {
            case 0x20: case 0x22:  /* mov r64, crN / mov crN, r64 (always 64-bit) */
                m = bytes[i++];
                o.size = 8;
                if (b1 == 0x20) {
                    o.kind = K_MOV_R_CR;
                    o.a = (uint8_t)((m & 7) | bx << 3);
                    o.b = (uint8_t)(((m >> 3) & 7) | r << 3);
                } else {
                    o.kind = K_MOV_CR_R;
                    o.a = (uint8_t)(((m >> 3) & 7) | r << 3);
                    o.b = (uint8_t)((m & 7) | bx << 3);
                }
                break;
            case 0x06: o.kind = K_CLTS; break;
            case 0x01:  /* group 7: lmsw r16 (register form only) */
                m = bytes[i++];
                if ((m >> 6) != 3 || ((m >> 3) & 7) != 6) goto bad;
                o.kind = K_LMSW;
                o.b = (uint8_t)((m & 7) | bx << 3);
                break;
            case 0x32: o.kind = K_RDMSR; break;
            case 0x30: o.kind = K_WRMSR; break;
            default: goto bad;
            }
            break;
        }
        default:
            goto bad;
        }
        addr[n] = CODE_ADDR + start;
        o.next = (uint32_t)(CODE_ADDR + i);
        ops[n++] = o;
        continue;
    bad:
        fprintf(stderr, "switch_yardstick: cannot decode the byte at 0x%llx\n",
                (unsigned long long)(CODE_ADDR + start));
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        if (jump_to[k] < 0) continue;
        size_t t = 0;
        while (t < n && addr[t] != (uint64_t)jump_to[k]) t++;
        if (t == n) {
            fprintf(stderr, "switch_yardstick: jump to 0x%llx, not an instruction boundary\n",
                    (unsigned long long)jump_to[k]);
            return 0;
        }
        ops[k].imm = t;
    }
    return n;
}

/* ---------------------------------------------------------------- harness */

struct workload {
    const char *name;
    const uint8_t *code;
    size_t size;            /* including the trailing HLT */
    int per_iteration;      /* guest instructions per loop iteration */
    int counter;            /* RCX or R8 */
    uint64_t iterations;    /* per repetition at --scale 1 (about 0.15 s at 1 ns per instr) */
};

static const struct workload workloads[] = {
    {"w1-alu", w1, sizeof w1, 5, RCX, 30000000},
    {"w2-cr", w2, sizeof w2, 8, RCX, 20000000},
    {"w3-msr", w3, sizeof w3, 6, R8, 25000000},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

/* The state unicorn_bench starts from (CR0 0x80050033, CR4 0x620, EFER 0x500, CPL 0), plus
 * CR4.VMXE and VMX operation, so that MOV to CR4 meets the VMX fixed masks. */
static void reset(struct cpu *cpu, const struct workload *w, uint64_t iterations)
{
    memset(cpu, 0, sizeof *cpu);
    cpu->rip = CODE_ADDR;
    cpu->cr0 = 0x80050033;
    cpu->cr4 = 0x620 | CR4_VMXE;
    cpu->efer = 0x500;
    cpu->cpl = 0;
    cpu->long_mode = 1;
    cpu->in_vmx = 1;
    cpu->cr4_fixed0 = 0x2000;
    cpu->cr4_fixed1 = 0x3727FF;
    cpu->gpr[RSP] = 2ULL << 20;
    cpu->gpr[w->counter] = iterations;
}

/* Checks the architectural result of a run of `n` iterations from reset(); NULL if right. */
static const char *check_result(const struct cpu *cpu, const struct workload *w, uint64_t n,
                                char *buf, size_t len)
{
    uint64_t end = CODE_ADDR + w->size;  /* RIP after the HLT */
    if (cpu->rip != end || cpu->gpr[w->counter] != 0) {
        snprintf(buf, len, "stopped with RIP 0x%llx and the counter at %llu",
                 (unsigned long long)cpu->rip, (unsigned long long)cpu->gpr[w->counter]);
        return buf;
    }
    if (w->code == w1) {
        /* The reference: the same loop in plain C. */
        uint64_t rax = 0, rbx = 0, rdx = 0;
        for (uint64_t i = 0; i < n; i++) {
            rax += rbx;
            rdx ^= rax;
            rbx -= 3;
        }
        if (cpu->gpr[RAX] != rax || cpu->gpr[RBX] != rbx || cpu->gpr[RDX] != rdx) {
            snprintf(buf, len, "RAX/RBX/RDX 0x%llx/0x%llx/0x%llx, expected 0x%llx/0x%llx/0x%llx",
                     (unsigned long long)cpu->gpr[RAX], (unsigned long long)cpu->gpr[RBX],
                     (unsigned long long)cpu->gpr[RDX], (unsigned long long)rax,
                     (unsigned long long)rbx, (unsigned long long)rdx);
            return buf;
        }
    } else if (w->code == w2) {
        uint64_t cr4 = (0x620 | CR4_VMXE) ^ (n & 1 ? 0x4 : 0);
        if (cpu->cr4 != cr4 || cpu->gpr[RAX] != cr4) {
            snprintf(buf, len, "CR4 0x%llx, RAX 0x%llx after %llu iterations, expected 0x%llx",
                     (unsigned long long)cpu->cr4, (unsigned long long)cpu->gpr[RAX],
                     (unsigned long long)n, (unsigned long long)cr4);
            return buf;
        }
        if (cpu->cr0 != 0x80050033 || cpu->gpr[RDX] != 0x80050033) return "CR0 or RDX changed";
    } else {
        uint64_t bit = n & 1;
        if (cpu->sysenter_cs != bit || cpu->gpr[RAX] != bit || cpu->gpr[RDX] != 0 ||
            cpu->gpr[RCX] != MSR_SYSENTER_CS) {
            snprintf(buf, len, "IA32_SYSENTER_CS 0x%llx, RAX 0x%llx after %llu iterations "
                     "(bit 0 should be %llu)", (unsigned long long)cpu->sysenter_cs,
                     (unsigned long long)cpu->gpr[RAX], (unsigned long long)n,
                     (unsigned long long)bit);
            return buf;
        }
    }
    return NULL;
}

static const char *exit_name(int reason)
{
    return reason == EXIT_GP ? "#GP" : reason == EXIT_UD ? "#UD" : "HLT";
}

int main(int argc, char **argv)
{
    const char *names[NWORKLOADS];
    for (size_t k = 0; k < NWORKLOADS; k++) names[k] = workloads[k].name;
    struct harness_options o = harness_parse(argc, argv, "switch_yardstick", names, NWORKLOADS, 0);
    int repetitions = o.repetitions, tsv = o.tsv;
    double scale = o.scale;
    if (!tsv) {
        printf("C switch yardstick (16-byte pre-decoded ops, lazy flags), 64-bit CPL 0 in VMX "
               "operation (CR0 0x80050033, CR4 0x2620, EFER 0x500), median of %d repetitions\n",
               repetitions);
        printf("%-8s %10s %10s %11s  %s\n", "workload", "ns/instr", "iterations", "instr/rep",
               "min-max ns/instr");
    }
    int failures = 0;
    for (size_t k = 0; k < NWORKLOADS; k++) {
        if (o.any && !o.selected[k]) continue;
        const struct workload *w = &workloads[k];
        struct op ops[MAX_OPS];
        if (decode(w->code, w->size, ops) == 0) return 2;
        uint64_t iterations = (uint64_t)(w->iterations * scale);
        if (iterations < 1) iterations = 1;
        uint64_t instructions = iterations * (uint64_t)w->per_iteration;
        char message[256];
        const char *problem = NULL;

        /* Check run: 1,001 iterations through the counting interpreter. */
        const uint64_t n = 1001;
        uint64_t seen = 0;
        reset(&guest, w, n);
        int reason = run_counted(&guest, ops, &seen);
        if (reason != EXIT_HLT) {
            snprintf(message, sizeof message, "%s at RIP 0x%llx", exit_name(reason),
                     (unsigned long long)guest.rip);
            problem = message;
        } else if (seen != n * (uint64_t)w->per_iteration) {
            snprintf(message, sizeof message, "%llu instructions executed, %llu expected",
                     (unsigned long long)seen, (unsigned long long)(n * (uint64_t)w->per_iteration));
            problem = message;
        } else {
            problem = check_result(&guest, w, n, message, sizeof message);
        }
        if (problem) {
            failures++;
            if (tsv) printf("%s\tnull\t%s\n", w->name, problem);
            else printf("%-8s %10s  %s\n", w->name, "-", problem);
            continue;
        }

        /* Warm-up, then the timed repetitions, each verified. */
        uint64_t warm = iterations < 10000 ? iterations : 10000;
        reset(&guest, w, warm);
        if (run_fast(&guest, ops) != EXIT_HLT) return 1;
        double *samples = calloc((size_t)repetitions, sizeof *samples);
        for (int r = 0; r < repetitions; r++) {
            struct timespec t0, t1;
            reset(&guest, w, iterations);
            clock_gettime(CLOCK_MONOTONIC, &t0);
            reason = run_fast(&guest, ops);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (reason != EXIT_HLT) {
                fprintf(stderr, "switch_yardstick: %s: %s at RIP 0x%llx\n", w->name,
                        exit_name(reason), (unsigned long long)guest.rip);
                return 1;
            }
            problem = check_result(&guest, w, iterations, message, sizeof message);
            if (problem) {
                fprintf(stderr, "switch_yardstick: %s: wrong result: %s\n", w->name, problem);
                return 1;
            }
            double t = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
            samples[r] = t * 1e9 / (double)instructions;
        }
        double median = harness_median(samples, repetitions);
        if (tsv)
            printf("%s\t%.3f\t%llu\n", w->name, median, (unsigned long long)instructions);
        else
            printf("%-8s %10.3f %10llu %11llu  %.3f-%.3f\n", w->name, median,
                   (unsigned long long)iterations, (unsigned long long)instructions, samples[0],
                   samples[repetitions - 1]);
        fflush(stdout);
        free(samples);
    }
    return failures ? 1 : 0;
}
