# VMXON [RBP], then HLT. 64-bit code; an RBP-based operand is an SS reference (#SS(0) when non-canonical).
    .intel_syntax noprefix
    .code64
    .text
    vmxon [rbp]
    hlt
