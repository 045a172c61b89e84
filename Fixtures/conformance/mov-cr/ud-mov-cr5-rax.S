# 0F 22 E8 = MOV CR5, RAX (CR5 does not exist: #UD), then HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0x0f, 0x22, 0xe8
    hlt
