# Early boot code in real-address mode: enter protected mode by setting CR0.PE with MOV CR0,
# then try to leave it again with LMSW, which the SDM forbids: LMSW can set CR0.PE but never
# clear it, so the processor stays in protected mode (still running 16-bit code until a far
# jump would reload CS). MP, EM and TS do follow LMSW's source.
#
# Run with --mode real. Expected: HLT retired in protected mode, CR0 = 0x1B
# (PE, MP, TS, ET), EAX = 0x1B (the CR0 read back after LMSW).

    .intel_syntax noprefix
    .code16
    .text
start:
    mov eax, cr0            # 0x10 in real mode (ET)
    or eax, 1               # CR0.PE
    mov cr0, eax            # now in protected mode
    mov ax, 0x000a          # LMSW source: PE = 0, MP = 1, EM = 0, TS = 1
    lmsw ax                 # PE stays 1
    mov eax, cr0
    hlt
