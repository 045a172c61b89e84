# LOCK VMXOFF (F0 0F 01 C4), then HLT. 64-bit code. GNU as refuses LOCK here, so bytes.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0xf0, 0x0f, 0x01, 0xc4
    hlt
