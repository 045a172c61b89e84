# 44 0F 22 C8 = MOV CR9, RAX (REX.R with reg 1; CR9 does not exist: #UD), then HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0x44, 0x0f, 0x22, 0xc8
    hlt
