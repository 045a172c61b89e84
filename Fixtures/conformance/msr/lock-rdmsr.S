# LOCK RDMSR (F0 0F 32), then HLT. LOCK is not allowed on RDMSR: #UD. Written with .byte.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0xf0, 0x0f, 0x32
    hlt
