// How deep the stack is, for the threaded loop's bound on a self-loop's stack (SelfLoop in
// ThreadedLoop.swift). In C because Swift can only take the address of a local by letting it
// escape, and a function with an escaping local loses its tail calls.
#ifndef RINGZERO_STACK_ADDRESS_H
#define RINGZERO_STACK_ADDRESS_H

#include <stdint.h>

// An address in the current stack frame (of the caller, once inlined).
static inline __attribute__((always_inline)) uintptr_t rz_stack_address(void) {
    return (uintptr_t)__builtin_frame_address(0);
}

#endif
