# 0F 22 E8 = MOV CR5, EAX (CR5 does not exist: #UD), then HLT. 16-bit code (real-address or virtual-8086 mode).
    .intel_syntax noprefix
    .code16
    .text
    .byte 0x0f, 0x22, 0xe8
    hlt
