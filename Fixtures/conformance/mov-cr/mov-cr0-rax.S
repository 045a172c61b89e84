# MOV CR0, RAX, then HLT. 64-bit code; the state file picks CR0's new value in RAX.
    .intel_syntax noprefix
    .code64
    .text
    mov cr0, rax
    hlt
