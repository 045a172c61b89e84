# MOV CR8, RAX (REX.R 0F 22 /0), then HLT. 64-bit code; the state file picks RAX.
    .intel_syntax noprefix
    .code64
    .text
    mov cr8, rax
    hlt
