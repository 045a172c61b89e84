# MOV RAX, CR2, then HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    mov rax, cr2
    hlt
