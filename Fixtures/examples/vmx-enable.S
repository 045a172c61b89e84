# A hypervisor's VMX-enable routine, as boot or hypervisor code runs it in 64-bit mode at CPL 0.
#
# 1. Read IA32_FEATURE_CONTROL; if unlocked, set lock + "enable VMX outside SMX" and write it
#    (seed §23.7); if locked without that enable bit, give up.
# 2. Read IA32_VMX_CR0_FIXED0/1 and IA32_VMX_CR4_FIXED0/1 and fit CR0 and CR4 to them, with
#    CR4.VMXE set (seed §23.8, SDM Vol. 3D A.7-A.8).
# 3. Write the VMCS revision identifier from IA32_VMX_BASIC[30:0] into a 4 KiB-aligned VMXON
#    region at 0x3000 and execute VMXON; check CF (VMfailInvalid) and ZF (VMfailValid).
# 4. VMXOFF, HLT.
#
# Result in R15: 0 success, 1 VMX disabled and locked, 2 VMXON VMfailInvalid,
# 3 VMXON VMfailValid, 4 VMXOFF failed.
# Loaded at 0x1000 (ringzero run's default).

    .intel_syntax noprefix
    .code64
    .text
start:
    xor r15d, r15d
    mov ecx, 0x3a                   # IA32_FEATURE_CONTROL
    rdmsr
    test eax, 1                     # lock bit
    jnz locked
    or eax, 5                       # lock + enable VMX outside SMX
    wrmsr
    jmp fit_cr0
locked:
    test eax, 4                     # enable VMX outside SMX
    jz vmx_disabled

fit_cr0:
    mov ecx, 0x486                  # IA32_VMX_CR0_FIXED0: bits that must be 1
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov rsi, rax
    mov ecx, 0x487                  # IA32_VMX_CR0_FIXED1: bits that may be 1
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov rdi, rax
    mov rax, cr0
    or rax, rsi
    and rax, rdi
    mov cr0, rax

    mov ecx, 0x488                  # IA32_VMX_CR4_FIXED0
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov rsi, rax
    mov ecx, 0x489                  # IA32_VMX_CR4_FIXED1
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov rdi, rax
    mov rax, cr4
    or rax, 0x2000                  # CR4.VMXE
    or rax, rsi
    and rax, rdi
    mov cr4, rax

    mov ecx, 0x480                  # IA32_VMX_BASIC
    rdmsr
    and eax, 0x7fffffff             # revision identifier, bit 31 clear
    mov edi, 0x3000                 # the VMXON region, 4 KiB aligned
    mov dword ptr [rdi], eax
    vmxon qword ptr [rip + vmxon_pointer]
    jc vmfail_invalid
    jz vmfail_valid

    vmxoff
    jc vmxoff_failed
    jz vmxoff_failed
    hlt

vmx_disabled:
    mov r15d, 1
    hlt
vmfail_invalid:
    mov r15d, 2
    hlt
vmfail_valid:
    mov r15d, 3
    hlt
vmxoff_failed:
    mov r15d, 4
    hlt

    .balign 8
vmxon_pointer:
    .quad 0x3000
