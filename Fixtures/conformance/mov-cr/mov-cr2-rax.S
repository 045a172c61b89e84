# MOV CR2, RAX, then HLT. 64-bit code; the state file picks RAX.
    .intel_syntax noprefix
    .code64
    .text
    mov cr2, rax
    hlt
