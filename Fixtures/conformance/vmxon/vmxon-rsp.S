# VMXON [RSP], then HLT. 64-bit code; an RSP-based operand is an SS reference (#SS(0) when non-canonical).
    .intel_syntax noprefix
    .code64
    .text
    vmxon [rsp]
    hlt
