# VMXOFF, then MOV CR4, RAX, then HLT. 64-bit code; RAX holds the new CR4 (VMXE clear).
    .intel_syntax noprefix
    .code64
    .text
    vmxoff
    mov cr4, rax
    hlt
