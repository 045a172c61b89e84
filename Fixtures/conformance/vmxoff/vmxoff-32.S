# VMXOFF, then HLT. 32-bit code (compatibility mode / protected mode).
    .intel_syntax noprefix
    .code32
    .text
    vmxoff
    hlt
