# LMSW WORD PTR [RBP], then HLT. 64-bit code; an RBP-based operand uses SS, so a non-canonical RBP
# gives #SS(0) rather than #GP(0).
    .intel_syntax noprefix
    .code64
    .text
    lmsw word ptr [rbp]
    hlt
