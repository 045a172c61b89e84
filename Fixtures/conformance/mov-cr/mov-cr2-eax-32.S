# MOV CR2, EAX, then HLT. 32-bit code (protected or compatibility mode).
    .intel_syntax noprefix
    .code32
    .text
    mov cr2, eax
    hlt
