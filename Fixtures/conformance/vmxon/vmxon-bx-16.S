# VMXON [BX], then HLT. 16-bit code (real-address or virtual-8086 mode); BX holds the offset of the
# qword that holds the VMXON pointer.
    .intel_syntax noprefix
    .code16
    .text
    vmxon [bx]
    hlt
