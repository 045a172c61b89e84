# CLTS, then HLT. The bytes (0F 06 F4) are the same in 16-, 32- and 64-bit code, so every mode
# shares this blob; the state file picks the mode and CR0.
    .intel_syntax noprefix
    .code64
    .text
    clts
    hlt
