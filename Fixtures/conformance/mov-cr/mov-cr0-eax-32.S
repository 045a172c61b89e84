# MOV CR0, EAX, then HLT. 32-bit code (protected or compatibility mode).
    .intel_syntax noprefix
    .code32
    .text
    mov cr0, eax
    hlt
