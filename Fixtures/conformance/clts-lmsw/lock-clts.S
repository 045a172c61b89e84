# LOCK CLTS (F0 0F 06), then HLT. LOCK is not allowed on CLTS: #UD. GNU as refuses the prefix, so .byte.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0xf0, 0x0f, 0x06
    hlt
