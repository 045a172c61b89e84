# 0F 20 F8 = MOV RAX, CR7 (CR7 does not exist: #UD), then HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0x0f, 0x20, 0xf8
    hlt
