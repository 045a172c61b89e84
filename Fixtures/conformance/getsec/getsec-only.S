# GETSEC alone, no HLT (HLT is privileged: #GP at CPL 3 and in virtual-8086 mode). A run that
# completes the GETSEC stops with reason "end" at 0x1002. Same bytes in 16-, 32- and 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    getsec
