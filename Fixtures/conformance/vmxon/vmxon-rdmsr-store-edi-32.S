# 32-bit version of vmxon-rdmsr-store-rdi: RDMSR IA32_VMX_BASIC, store EAX (revision id) at [EDI],
# VMXON [EBX], HLT. For protected mode with paging on VMX-capable profiles.
    .intel_syntax noprefix
    .code32
    .text
    mov ecx, 0x480
    rdmsr
    mov dword ptr [edi], eax
    vmxon [ebx]
    hlt
