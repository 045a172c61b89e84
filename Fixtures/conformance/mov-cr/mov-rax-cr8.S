# MOV RAX, CR8 (REX.R 0F 20 /0), then HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    mov rax, cr8
    hlt
