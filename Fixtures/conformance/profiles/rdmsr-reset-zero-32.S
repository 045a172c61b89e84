# RDMSR of every MSR whose reset value is 0 on all three profiles (SYSENTER_CS/ESP/EIP, DS_AREA, EFER,
# STAR, LSTAR, CSTAR, FMASK, FS_BASE, GS_BASE, KERNEL_GS_BASE), OR-ing EAX and EDX of each into ESI,
# then HLT. 32-bit code (protected mode, where IA32_EFER keeps its reset value 0). ESI = 0 at the HLT
# means every one of them read 0.
    .intel_syntax noprefix
    .code32
    .text
    xor esi, esi
    .irp msr, 0x174, 0x175, 0x176, 0x600, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102
    mov ecx, \msr
    rdmsr
    or esi, eax
    or esi, edx
    .endr
    hlt
