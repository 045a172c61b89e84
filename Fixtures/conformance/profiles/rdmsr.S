# RDMSR, then HLT. The bytes (0F 32 F4) are the same in every mode; the state file sets the mode,
# ECX (the MSR index) and the initial RAX/RDX.
    .intel_syntax noprefix
    .code64
    .text
    rdmsr
    hlt
