# VMXON [RAX], then HLT. 64-bit code; RAX holds the linear address of the qword that holds the
# VMXON pointer (the state file preloads that qword and the VMXON region's revision id).
    .intel_syntax noprefix
    .code64
    .text
    vmxon [rax]
    hlt
