# MOV RAX, CR3, then HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    mov rax, cr3
    hlt
