# Measured launch, then VMX: GETSEC[SENTER] enters SMX operation, then VMXON. Inside SMX
# operation VMXON needs IA32_FEATURE_CONTROL bit 1 ("enable VMX inside SMX"), not bit 2
# (seed SDM Vol. 3C §23.7). 32-bit protected mode with paging, CPL 0.
#
# The state file sets CR0 (PE, NE, PG), CR4 (VMXE, SMXE), IA32_FEATURE_CONTROL and the VMXON
# region at 0x3000 with the i7-5600U's revision id (12H), and the pointer to it at 0x2000. ACBASE (EBX) is 4 KiB aligned and
# ACSIZE (ECX) a multiple of 64 within the 32 KiB ACRAM, as GETSEC[SENTER] requires.
#
# Expected with IA32_FEATURE_CONTROL = FF07H: SMX operation, VMX root operation, HLT.
# Expected with 8005H (lock, SENTER enable, VMX outside SMX only): #GP(0) on VMXON.

    .intel_syntax noprefix
    .code32
    .text
start:
    mov eax, 4              # GETSEC leaf SENTER
    mov ebx, 0x100000       # ACBASE
    mov ecx, 0x1000         # ACSIZE
    xor edx, edx            # no selective SENTER disables
    getsec
    vmxon qword ptr [0x2000]    # the VMXON pointer, 0x3000, stored there by the state file
    hlt
