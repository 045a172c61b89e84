# CPUID, then HLT. 64-bit code; the state file sets EAX (leaf) and ECX (subleaf).
    .intel_syntax noprefix
    .code64
    .text
    cpuid
    hlt
