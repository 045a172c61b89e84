# GETSEC, then HLT. The bytes (0F 37 F4) decode the same in 16-, 32- and 64-bit code, so every mode
# shares this blob; the state file picks the leaf in EAX and its inputs in EBX/ECX/EDX.
    .intel_syntax noprefix
    .code64
    .text
    getsec
    hlt
