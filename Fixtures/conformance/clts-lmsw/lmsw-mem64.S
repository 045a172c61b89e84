# LMSW WORD PTR [RBX], then HLT. 64-bit code; the state file sets RBX and preloads the word.
    .intel_syntax noprefix
    .code64
    .text
    lmsw word ptr [rbx]
    hlt
