# A 1.44 MB floppy image that Bochs's BIOS boots, runs one RingZero hot loop in 64-bit mode at
# CPL 0, reports through Bochs's port 0xE9 hack, and asks Bochs to quit through its 0x8900
# "Shutdown" port. Assembled by run.sh, once per workload and iteration count:
#   as --defsym W=1 --defsym ITERS=N   (W1 alu)   or   --defsym W=4 --defsym ITERS=N   (W4 vmx)
# The loop bodies are those of Sources/RingZero/Bench/Workload.swift (W4's VMXON operand is
# RIP-relative here instead of absolute; same instruction, another ModRM form).
#
# Memory: page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD: one 2 MiB identity page),
# VMXON region at 0x5000, boot sector at 0x7C00, the rest of this file loaded at 0x7E00.
# IDTR has limit 0 in long mode, so any exception triple-faults; bochsrc sets
# reset_on_triple_fault=0, so Bochs then panics and exits instead of rebooting the guest into
# an endless boot loop, and run.sh finds no "RZ DONE" line (checked: a UD2 ends it that way).

        .intel_syntax noprefix
        .text
        .code16
        .globl _start
_start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        # Load 8 sectors (CHS 0/0/2..9) from the boot drive (DL from the BIOS) to 0x7E00.
        mov     ax, 0x0208
        mov     cx, 0x0002
        xor     dh, dh
        mov     bx, 0x7E00
        int     0x13
        jc      disk_fail
        # A20 on (fast A20 through port 0x92).
        in      al, 0x92
        or      al, 2
        out     0x92, al
        # Zero 0x1000-0x5FFF: page tables and the VMXON region.
        mov     di, 0x1000
        xor     eax, eax
        mov     cx, 0x5000 / 4
        cld
        rep stosd
        mov     dword ptr [0x1000], 0x2003      # PML4[0] -> PDPT, present + writable
        mov     dword ptr [0x2000], 0x3003      # PDPT[0] -> PD
        mov     dword ptr [0x3000], 0x0083      # PD[0]: 2 MiB page at 0, present + writable
        # Real mode straight to long mode: PAE, CR3, EFER.LME, then CR0.PG|PE|NE at once.
        lgdt    [gdtr]
        lidt    [idtr0]
        mov     eax, 0x20                       # CR4.PAE
        mov     cr4, eax
        mov     eax, 0x1000
        mov     cr3, eax
        mov     ecx, 0xC0000080                 # IA32_EFER
        rdmsr
        or      eax, 0x100                      # LME
        wrmsr
        mov     eax, cr0
        or      eax, 0x80000021                 # PG | NE | PE
        mov     cr0, eax
        .byte   0x66, 0xEA                      # jmp far 0x08:long64 (32-bit offset)
        .long   long64
        .word   0x08

disk_fail:
        mov     al, '!'
        out     0xE9, al
        hlt
        jmp     disk_fail

        .p2align 3
gdt:    .quad   0
        .quad   0x00AF9A000000FFFF              # 0x08: 64-bit code, DPL 0
        .quad   0x00CF92000000FFFF              # 0x10: data
gdtr:   .word   gdtr - gdt - 1
        .long   gdt
idtr0:  .word   0
        .long   0

        .org    510
        .word   0xAA55

# ---- 0x7E00: loaded by the boot sector ----
        .code64
long64:
        mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     rsp, 0x7C00

.if W == 1
        lea     rsi, [rip + s_w1]
        call    puts
        mov     rax, ITERS
        call    puthex
        xor     eax, eax
        mov     ebx, 7
        xor     edx, edx
        mov     rcx, ITERS
        .p2align 4
w1_loop:                                        # W1 alu: 5 instructions per iteration
        add     rax, rbx
        xor     rdx, rax
        sub     rbx, 3
        dec     rcx
        jnz     w1_loop
        push    rcx
        push    rbx
        lea     rsi, [rip + s_rbx]              # rbx = 7 - 3 * ITERS proves the count
        call    puts
        pop     rax
        call    puthex
        lea     rsi, [rip + s_rcx]
        call    puts
        pop     rax
        call    puthex
.endif

.if W == 4
        lea     rsi, [rip + s_w4]
        call    puts
        mov     rax, ITERS
        call    puthex
        # IA32_FEATURE_CONTROL: Bochs's BIOS locks it to 5; if unlocked, lock it with VMXON
        # outside SMX enabled; if locked without that bit, VMXON cannot work.
        mov     ecx, 0x3A
        rdmsr
        test    eax, 1
        jnz     1f
        or      eax, 5
        wrmsr
1:      test    eax, 4
        jz      fail
        lea     rsi, [rip + s_fc]
        call    puts
        mov     ecx, 0x3A
        rdmsr
        call    puthex32
        # CR0 and CR4 through IA32_VMX_CR0_FIXED0/1 and CR4_FIXED0/1 (CR4 with VMXE set).
        mov     rbx, cr0
        mov     ecx, 0x486
        rdmsr
        or      ebx, eax
        mov     ecx, 0x487
        rdmsr
        and     ebx, eax
        mov     cr0, rbx
        mov     rbx, cr4
        or      ebx, 0x2000                     # CR4.VMXE
        mov     ecx, 0x488
        rdmsr
        or      ebx, eax
        mov     ecx, 0x489
        rdmsr
        and     ebx, eax
        mov     cr4, rbx
        lea     rsi, [rip + s_cr0]
        call    puts
        mov     rax, cr0
        call    puthex
        lea     rsi, [rip + s_cr4]
        call    puts
        mov     rax, cr4
        call    puthex
        # VMXON region: revision identifier from IA32_VMX_BASIC bits 30:0.
        mov     ecx, 0x480
        rdmsr
        and     eax, 0x7FFFFFFF
        mov     dword ptr [0x5000], eax
        lea     rsi, [rip + s_rev]
        call    puts
        mov     eax, dword ptr [0x5000]
        call    puthex32
        # One checked VMXON before the loop: CF = ZF = 0 means VMsucceed.
        vmxon   qword ptr [rip + vmxon_ptr]
        pushfq
        pop     rax
        push    rax
        lea     rsi, [rip + s_fl1]
        call    puts
        pop     rax
        call    puthex
        test    eax, 0x41                       # CF | ZF
        jnz     fail
        vmxoff
        mov     r8, ITERS
        .p2align 4
w4_loop:                                        # W4 vmx: 4 instructions per iteration
        vmxon   qword ptr [rip + vmxon_ptr]
        vmxoff
        dec     r8
        jnz     w4_loop
        push    r8
        # One more checked VMXON after the loop: it succeeds only if the loop left VMX
        # operation (a failed VMXON in the loop would have made VMXOFF #UD and triple-fault).
        vmxon   qword ptr [rip + vmxon_ptr]
        pushfq
        vmxoff
        lea     rsi, [rip + s_fl2]
        call    puts
        pop     rax
        call    puthex
        lea     rsi, [rip + s_r8]
        call    puts
        pop     rax
        call    puthex
.endif

        lea     rsi, [rip + s_done]
        call    puts
        # Bochs's shutdown port: writing "Shutdown" to 0x8900 makes Bochs quit.
        lea     rsi, [rip + s_shutdown]
        mov     dx, 0x8900
1:      lodsb
        test    al, al
        jz      2f
        out     dx, al
        jmp     1b
2:      cli
        hlt
        jmp     2b

fail:
        lea     rsi, [rip + s_fail]
        call    puts
        jmp     2b

# puts: the zero-terminated string at RSI to port 0xE9. puthex: RAX as 16 hex digits;
# puthex32: EAX as 8.
puts:
        lodsb
        test    al, al
        jz      1f
        out     0xE9, al
        jmp     puts
1:      ret
puthex32:
        shl     rax, 32
        mov     ecx, 8
        jmp     1f
puthex:
        mov     ecx, 16
1:      mov     rsi, rax
        lea     rdx, [rip + hexdigits]
2:      rol     rsi, 4
        mov     eax, esi
        and     eax, 15
        mov     al, [rdx + rax]
        out     0xE9, al
        dec     ecx
        jnz     2b
        ret

        .p2align 3
vmxon_ptr:  .quad 0x5000
hexdigits:  .ascii "0123456789abcdef"
s_w1:       .asciz "RZ W1 iters="
s_rbx:      .asciz " rbx="
s_rcx:      .asciz " rcx="
s_w4:       .asciz "RZ W4 iters="
s_fc:       .asciz " feature_control="
s_cr0:      .asciz " cr0="
s_cr4:      .asciz " cr4="
s_rev:      .asciz " revision="
s_fl1:      .asciz " rflags_after_first_vmxon="
s_fl2:      .asciz " rflags_after_last_vmxon="
s_r8:       .asciz " r8="
s_done:     .asciz "\nRZ DONE\n"
s_fail:     .asciz "\nRZ FAIL\n"
s_shutdown: .asciz "Shutdown"

payload_end:
        # Fails to link (negative fill) if the payload outgrows the 8 sectors loaded.
        .fill   (512 + 8 * 512) - (payload_end - _start), 1, 0
