# The bytes of MOV CR8, RAX in 64-bit code (44 0F 22 C0), then HLT, assembled as 32-bit code. Outside
# 64-bit mode 44H is not a REX prefix but INC ESP, so this is INC ESP; MOV CR0, EAX; HLT.
    .intel_syntax noprefix
    .code32
    .text
    .byte 0x44, 0x0f, 0x22, 0xc0
    hlt
