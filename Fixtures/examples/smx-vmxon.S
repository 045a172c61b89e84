# Measured launch, then VMX: GETSEC[SENTER] enters SMX operation, then VMXON. Inside SMX
# operation VMXON needs IA32_FEATURE_CONTROL bit 1 ("enable VMX inside SMX"), not bit 2
# (seed SDM Vol. 3C §23.7). 32-bit protected mode with paging, CPL 0.
#
# The state file sets CR0 (PE, NE, PG), CR4 (VMXE, SMXE), IA32_FEATURE_CONTROL and the VMXON
# region at 0x3000 with the i7-5600U's revision id (12H), and the pointer to it at 0x2000.
# ACBASE (EBX) is 4 KiB aligned and ACSIZE (ECX) a multiple of 64 within the 32 KiB ACRAM, as
# GETSEC[SENTER] requires.
#
# SENTER hands the processor to the SINIT module in authenticated-code mode with paging off and
# CR4 = SMXE (SDM GETSEC[SENTER] operation). RingZero does not load the module: the code after
# GETSEC stands in for it, turning CR4.VMXE and CR0.PG back on and leaving with GETSEC[EXITAC]
# to the measured code ("mle"), which runs VMXON.
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

    # Stand-in for the SINIT module.
    mov eax, cr4
    or eax, 0x2000          # CR4.VMXE
    mov cr4, eax
    mov eax, cr0
    or eax, 0x80000000      # CR0.PG (flat: paging is not walked)
    mov cr0, eax
    call here               # EBX := address of mle, position-independently
here:
    pop ebx
    add ebx, mle - here
    xor edx, edx
    mov eax, 3              # GETSEC leaf EXITAC
    getsec

mle:
    vmxon qword ptr [0x2000]    # the VMXON pointer, 0x3000, stored there by the state file
    hlt
