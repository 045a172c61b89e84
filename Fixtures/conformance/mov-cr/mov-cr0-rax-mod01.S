# 0F 22 40 = MOV CR0, RAX written with ModRM.mod = 01 (which would mean [RAX+disp8] elsewhere), then
# HLT. The SDM says the mod bits are ignored, so the instruction is three bytes and the HLT at 0x1003
# runs; a decoder that honoured mod would take the HLT byte as a displacement. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0x0f, 0x22, 0x40
    hlt
