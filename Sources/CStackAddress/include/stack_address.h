// How deep the stack is, for the threaded loop's bound on a self-loop's stack (SelfLoop in
// ThreadedLoop.swift). In C because Swift can only take the address of a local by letting it
// escape, and a function with an escaping local loses its tail calls.
#ifndef RINGZERO_STACK_ADDRESS_H
#define RINGZERO_STACK_ADDRESS_H

#include <stdint.h>

// The stack pointer where it is inlined. On x86-64 it is read directly: taking the frame
// address instead would make every function that asks set up a frame pointer of its own,
// three instructions in each threaded handler that closes a loop.
static inline __attribute__((always_inline)) uintptr_t rz_stack_address(void) {
#if defined(__x86_64__)
    uintptr_t sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    return sp;
#else
    return (uintptr_t)__builtin_frame_address(0);
#endif
}

#endif
