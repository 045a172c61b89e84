# WRMSR (IA32_GS_BASE when ECX = C0000101H), then MOV EAX, GS:[0], then HLT. 64-bit code: the load
# reads the dword at the new GS base. Offsets: wrmsr 0x1000, mov 0x1002, hlt 0x100a.
    .intel_syntax noprefix
    .code64
    .text
    wrmsr
    mov eax, dword ptr gs:[0]
    hlt
