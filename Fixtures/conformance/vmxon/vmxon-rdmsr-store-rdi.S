# Prepare the VMXON region the way a hypervisor does, then VMXON: RDMSR IA32_VMX_BASIC (480H),
# store EAX (bits 30:0 = this profile's VMCS revision id, bit 31 = 0) at [RDI], VMXON [RBX], HLT.
# 64-bit code; the state file puts the VMXON pointer in the qword RBX points at and the region in RDI.
    .intel_syntax noprefix
    .code64
    .text
    mov ecx, 0x480
    rdmsr
    mov dword ptr [rdi], eax
    vmxon [rbx]
    hlt
