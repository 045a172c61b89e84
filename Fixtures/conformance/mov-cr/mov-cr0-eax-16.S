# MOV CR0, EAX, then HLT. 16-bit code (real-address or virtual-8086 mode); MOV CR is always 32-bit there.
    .intel_syntax noprefix
    .code16
    .text
    mov cr0, eax
    hlt
