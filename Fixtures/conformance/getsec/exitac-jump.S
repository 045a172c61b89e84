# GETSEC (EXITAC when EAX=3) at 0x1000, UD2 at 0x1002, HLT at 0x1004. With EBX=0x1004 a successful
# EXITAC jumps over the UD2 to the HLT (stop RIP 0x1005); falling through would raise #UD at 0x1002.
    .intel_syntax noprefix
    .code64
    .text
    getsec
    ud2
    hlt
