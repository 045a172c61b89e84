# GETSEC with a 0xf3 prefix (NP 0F 37 allows none of 66/F2/F3, and LOCK is never allowed), then HLT.
# Raw bytes: GNU as will not put this prefix on GETSEC.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0xf3, 0x0f, 0x37
    hlt
