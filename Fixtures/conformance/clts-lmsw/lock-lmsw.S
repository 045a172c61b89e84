# LOCK LMSW AX (F0 0F 01 F0), then HLT. LOCK is not allowed on LMSW: #UD. Written with .byte.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0xf0, 0x0f, 0x01, 0xf0
    hlt
