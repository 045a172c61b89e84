# WRMSR, then RDMSR of the same MSR (ECX unchanged), then HLT: shows what the WRMSR stored.
# Bytes 0F 30 0F 32 F4, the same in every mode.
    .intel_syntax noprefix
    .code64
    .text
    wrmsr
    rdmsr
    hlt
