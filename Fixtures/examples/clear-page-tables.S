# Early boot code in 64-bit mode: clear the 3 MiB above 1 MiB that will hold the page tables,
# 384 bytes a turn, with a loop unrolled to 48 quadword stores (as a compiler unrolls memset).
# The loop is one block of 51 instructions that jumps back to its own start 8,191 times.
#
# Besides the stores' semantics (SDM Vol. 2 MOV; DEC sets ZF when its result is 0, and JNZ then
# falls through), this exercises the interpreter's stack: the threaded loop runs such a
# block again from its own closing JNZ, and a handler that goes through the generic path
# calls the next one rather than jumping to it, so every turn can leave frames behind.
# Expected: HLT retired; RDI = 400000H, RCX = 0; 3 + 8,192 x 51 instructions, then HLT.

    .intel_syntax noprefix
    .code64
    .text
start:
    mov edi, 0x100000
    mov ecx, 8192
    xor eax, eax
1:
    .set slot, 0
    .rept 48
    mov [rdi + slot], rax
    .set slot, slot + 8
    .endr
    add rdi, 384
    dec ecx
    jnz 1b
    hlt
