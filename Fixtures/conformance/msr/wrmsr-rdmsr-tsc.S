# WRMSR (the MSR in ECX), then RDMSR of IA32_TIME_STAMP_COUNTER (10H), then HLT. 64-bit code.
# Offsets: wrmsr 0x1000, mov ecx 0x1002, rdmsr 0x1007, hlt 0x1009.
    .intel_syntax noprefix
    .code64
    .text
    wrmsr
    mov ecx, 0x10
    rdmsr
    hlt
