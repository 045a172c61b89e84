# Three WRMSRs to the MSR in ECX: EDX:EAX as given, then with EAX bit 0 (the lock bit of
# IA32_FEATURE_CONTROL) set, then the very same value again; then HLT. 64-bit code.
# Offsets: wrmsr 0x1000, or eax,1 0x1002, wrmsr 0x1005, wrmsr 0x1007, hlt 0x1009.
    .intel_syntax noprefix
    .code64
    .text
    wrmsr
    or eax, 1
    wrmsr
    wrmsr
    hlt
