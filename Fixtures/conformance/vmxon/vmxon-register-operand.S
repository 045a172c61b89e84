# The register form of VMXON: F3 0F C7 /6 with ModRM.mod = 11 (ModRM F0: reg = 6, rm = RAX), then HLT.
# GNU as cannot assemble "vmxon rax", so the bytes are given directly. 64-bit code.
    .intel_syntax noprefix
    .code64
    .text
    .byte 0xf3, 0x0f, 0xc7, 0xf0
    hlt
