// Runs one unprivileged integer instruction on the host processor, for the fuzzer's host
// oracle: the same operation the interpreter ran, compared result for result and flag for flag.
#ifndef RINGZERO_HOST_ORACLE_H
#define RINGZERO_HOST_ORACLE_H

#include <stdint.h>

// Operations, in the order of RingZero's HostOperation enum.
enum rz_host_op {
    RZ_ADD, RZ_ADC, RZ_SUB, RZ_SBB, RZ_AND, RZ_OR, RZ_XOR, RZ_CMP, RZ_TEST,
    RZ_INC, RZ_DEC, RZ_NEG, RZ_NOT, RZ_SHL, RZ_SHR, RZ_SAR, RZ_ROL, RZ_ROR, RZ_IMUL
};

// Whether this build can run the oracle (an x86-64 host).
int rz_host_available(void);

// Execute `op` on operands `a` (destination) and `b` (source, or the count in CL for shifts and
// rotates) at `size` bytes (1, 2, 4, 8), starting from the status flags in `flags_in` (only CF,
// PF, AF, ZF, SF, OF are used). Returns the destination's value and stores RFLAGS after it.
uint64_t rz_host_execute(int op, int size, uint64_t a, uint64_t b, uint64_t flags_in, uint64_t *flags_out);

#endif
