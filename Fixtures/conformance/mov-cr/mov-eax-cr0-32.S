# MOV EAX, CR0, then HLT. 32-bit code (protected or compatibility mode).
    .intel_syntax noprefix
    .code32
    .text
    mov eax, cr0
    hlt
