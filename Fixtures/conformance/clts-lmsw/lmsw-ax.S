# LMSW AX, then HLT. The bytes (0F 01 F0 F4) are the same in 16-, 32- and 64-bit code; the state
# file picks the mode, CR0 and the source value in RAX.
    .intel_syntax noprefix
    .code64
    .text
    lmsw ax
    hlt
