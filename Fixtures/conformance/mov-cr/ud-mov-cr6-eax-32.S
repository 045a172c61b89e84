# 0F 22 F0 = MOV CR6, EAX (CR6 does not exist: #UD), then HLT. 32-bit code (protected or compatibility mode).
    .intel_syntax noprefix
    .code32
    .text
    .byte 0x0f, 0x22, 0xf0
    hlt
