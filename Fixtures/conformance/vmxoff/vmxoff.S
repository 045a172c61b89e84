# VMXOFF, then HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    vmxoff
    hlt
