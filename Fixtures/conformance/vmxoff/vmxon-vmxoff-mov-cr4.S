# Full round trip: RDMSR IA32_VMX_BASIC, store the revision id at 0x3000, VMXON [RBX], VMXOFF,
# MOV CR4, RSI (VMXE clear), HLT. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    mov ecx, 0x480
    rdmsr
    mov dword ptr [0x3000], eax
    vmxon [rbx]
    vmxoff
    mov cr4, rsi
    hlt
