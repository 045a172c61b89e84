# VMXOFF, then HLT. 16-bit code (real-address / virtual-8086 mode).
    .intel_syntax noprefix
    .code16
    .text
    vmxoff
    hlt
