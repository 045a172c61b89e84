#include "host_oracle.h"

#if defined(__x86_64__)

int rz_host_available(void) { return 1; }

// One instruction between a POPFQ that loads the starting flags and a PUSHFQ that saves the
// result's. The operand-size suffix and register modifier pick the width. The stack pointer
// steps over the 128-byte red zone first: the compiler may keep locals there, and the pushes
// would overwrite them.
#define BINARY(mnemonic, mod) \
    __asm__ volatile("leaq -128(%%rsp), %%rsp\n\tpushq %[fin]\n\tpopfq\n\t" mnemonic " %" mod "[b], %" mod "[a]\n\tpushfq\n\tpopq %[fout]\n\tleaq 128(%%rsp), %%rsp" \
                     : [a] "+r"(a), [fout] "=&r"(fout) : [b] "r"(b), [fin] "r"(fin) : "cc", "memory")
#define BINARY8(mnemonic) \
    __asm__ volatile("leaq -128(%%rsp), %%rsp\n\tpushq %[fin]\n\tpopfq\n\t" mnemonic " %b[b], %b[a]\n\tpushfq\n\tpopq %[fout]\n\tleaq 128(%%rsp), %%rsp" \
                     : [a] "+q"(a), [fout] "=&r"(fout) : [b] "q"(b), [fin] "r"(fin) : "cc", "memory")
#define UNARY(mnemonic, mod) \
    __asm__ volatile("leaq -128(%%rsp), %%rsp\n\tpushq %[fin]\n\tpopfq\n\t" mnemonic " %" mod "[a]\n\tpushfq\n\tpopq %[fout]\n\tleaq 128(%%rsp), %%rsp" \
                     : [a] "+q"(a), [fout] "=&r"(fout) : [fin] "r"(fin) : "cc", "memory")
#define SHIFT(mnemonic, mod) \
    __asm__ volatile("leaq -128(%%rsp), %%rsp\n\tpushq %[fin]\n\tpopfq\n\t" mnemonic " %%cl, %" mod "[a]\n\tpushfq\n\tpopq %[fout]\n\tleaq 128(%%rsp), %%rsp" \
                     : [a] "+q"(a), [fout] "=&r"(fout) : "c"(b), [fin] "r"(fin) : "cc", "memory")

#define ALL_SIZES(KIND, stem) \
    switch (size) { \
    case 1: KIND##_B(stem "b"); break; \
    case 2: KIND(stem "w", "w"); break; \
    case 4: KIND(stem "l", "k"); break; \
    default: KIND(stem "q", "q"); break; \
    }
#define BINARY_B(m) BINARY8(m)
#define UNARY_B(m) UNARY(m, "b")
#define SHIFT_B(m) SHIFT(m, "b")

uint64_t rz_host_execute(int op, int size, uint64_t a, uint64_t b, uint64_t flags_in, uint64_t *flags_out) {
    uint64_t fin = (flags_in & 0x8D5) | 2, fout = 0;
    switch (op) {
    case RZ_ADD: ALL_SIZES(BINARY, "add") break;
    case RZ_ADC: ALL_SIZES(BINARY, "adc") break;
    case RZ_SUB: ALL_SIZES(BINARY, "sub") break;
    case RZ_SBB: ALL_SIZES(BINARY, "sbb") break;
    case RZ_AND: ALL_SIZES(BINARY, "and") break;
    case RZ_OR: ALL_SIZES(BINARY, "or") break;
    case RZ_XOR: ALL_SIZES(BINARY, "xor") break;
    case RZ_CMP: ALL_SIZES(BINARY, "cmp") break;
    case RZ_TEST: ALL_SIZES(BINARY, "test") break;
    case RZ_INC: ALL_SIZES(UNARY, "inc") break;
    case RZ_DEC: ALL_SIZES(UNARY, "dec") break;
    case RZ_NEG: ALL_SIZES(UNARY, "neg") break;
    case RZ_NOT: ALL_SIZES(UNARY, "not") break;
    case RZ_SHL: ALL_SIZES(SHIFT, "shl") break;
    case RZ_SHR: ALL_SIZES(SHIFT, "shr") break;
    case RZ_SAR: ALL_SIZES(SHIFT, "sar") break;
    case RZ_ROL: ALL_SIZES(SHIFT, "rol") break;
    case RZ_ROR: ALL_SIZES(SHIFT, "ror") break;
    case RZ_IMUL:
        // Two-operand IMUL has no 8-bit form; the caller does not ask for one.
        switch (size) {
        case 2: BINARY("imulw", "w"); break;
        case 4: BINARY("imull", "k"); break;
        default: BINARY("imulq", "q"); break;
        }
        break;
    }
    *flags_out = fout;
    return a;
}

#else

int rz_host_available(void) { return 0; }

uint64_t rz_host_execute(int op, int size, uint64_t a, uint64_t b, uint64_t flags_in, uint64_t *flags_out) {
    (void)op; (void)size; (void)b; (void)flags_in;
    *flags_out = 0;
    return a;
}

#endif
