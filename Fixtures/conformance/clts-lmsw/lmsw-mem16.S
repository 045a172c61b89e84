# LMSW WORD PTR [BX], then HLT. 16-bit code (real mode); the state file sets BX and preloads the word.
    .intel_syntax noprefix
    .code16
    .text
    lmsw word ptr [bx]
    hlt
