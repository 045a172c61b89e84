# 0F 22 C8 = MOV CR1, RAX (CR1 does not exist: #UD), then HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0x0f, 0x22, 0xc8
    hlt
