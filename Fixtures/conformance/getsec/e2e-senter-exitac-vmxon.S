# End to end (32-bit protected mode, CR4.SMXE=1): GETSEC[SENTER] with a 4 KiB-aligned SINIT base and
# size 0x1000, EDX=0; the code after SENTER stands in for the SINIT module and re-enables what VMXON
# needs (CR4 := VMXE|SMXE; CR0 |= PG|NE|PE, 32-bit paging, never walked); GETSEC[EXITAC] to
# after_exit (EBX = its address, EDX = 0; a UD2 sits between); then VMXON with the pointer stored
# at 0x2000, then HLT.
    .intel_syntax noprefix
    .code32
    .text
start:
    mov eax, 4              # GETSEC[SENTER]
    mov ebx, 0x100000       # ACBASE: 4 KiB aligned
    mov ecx, 0x1000         # ACSIZE: multiple of 64, within the 32 KiB ACRAM
    xor edx, edx            # no selective SENTER functions
    getsec
    # --- stand-in for the authenticated code module ---
    mov eax, 0x6000         # CR4 := VMXE | SMXE
    mov cr4, eax
    mov eax, cr0
    or eax, 0x80000021      # CR0 |= PG | NE | PE
    mov cr0, eax
    mov eax, 3              # GETSEC[EXITAC]
    mov ebx, OFFSET (after_exit - start + 0x1000)
    xor edx, edx
    getsec
    ud2                     # reached only if EXITAC did not jump
after_exit:
    vmxon qword ptr [0x2000]

    hlt
