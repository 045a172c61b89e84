# LOCK VMXON [RAX] (F0 F3 0F C7 30), then HLT. 64-bit code. GNU as refuses LOCK here, so bytes.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0xf0, 0xf3, 0x0f, 0xc7, 0x30
    hlt
