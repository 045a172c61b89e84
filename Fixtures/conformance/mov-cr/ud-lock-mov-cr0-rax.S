# F0 0F 22 C0 = LOCK MOV CR0, RAX (#UD on Intel; AMD's AltMovCr8 would read it as MOV CR8), then HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0xf0, 0x0f, 0x22, 0xc0
    hlt
