# VMXON [EAX], then HLT. 32-bit code (protected mode or IA-32e compatibility mode); EAX holds the
# address of the qword that holds the VMXON pointer.
    .intel_syntax noprefix
    .code32
    .text
    vmxon [eax]
    hlt
