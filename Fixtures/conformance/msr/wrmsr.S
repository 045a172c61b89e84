# WRMSR, then HLT. The bytes (0F 30 F4) are the same in every mode; the state file sets the mode,
# ECX (the MSR index) and EDX:EAX (the value).
    .intel_syntax noprefix
    .code64
    .text
    wrmsr
    hlt
