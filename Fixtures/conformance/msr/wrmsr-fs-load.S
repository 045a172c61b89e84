# WRMSR (IA32_FS_BASE when ECX = C0000100H), then MOV EAX, FS:[0], then HLT. 64-bit code: the load
# reads the dword at the new FS base. Offsets: wrmsr 0x1000, mov 0x1002, hlt 0x100a.
    .intel_syntax noprefix
    .code64
    .text
    wrmsr
    mov eax, dword ptr fs:[0]
    hlt
