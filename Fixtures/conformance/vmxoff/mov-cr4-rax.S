# MOV CR4, RAX, then HLT (no VMXOFF first). 64-bit code; contrast case for vmxoff-mov-cr4.
    .intel_syntax noprefix
    .code64
    .text
    mov cr4, rax
    hlt
