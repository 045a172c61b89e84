import Testing
@testable import RingZero

/// The mission's instructions on their common paths and the #UD/#GP conditions of the seed
/// text and the SDM's instruction pages.
@Suite struct PrivilegedTests {
    // mov cr4, rax
    let movCR4 = "0f 22 e0"
    // vmxon [rax]
    let vmxonRAX = "f3 0f c7 30"

    /// A state with IA32_FEATURE_CONTROL locked and VMX enabled outside SMX, CR4.VMXE set,
    /// a VMXON region at 0x3000 with the profile's revision id, and RAX pointing at the
    /// 64-bit VMXON pointer (0x3000) stored at 0x2000.
    func vmxReady(_ profile: CPUProfile = .i7_5600u) -> String {
        let revision = (profile.msrReset(MSRIndex.IA32_VMX_BASIC) ?? 0) & 0x7FFF_FFFF
        let le = (0..<4).map { i in String(format2((revision >> (8 * UInt64(i))) & 0xFF)) }.joined()
        return """
        {"registers": {"cr4": "0x2620", "rax": "0x2000"}, "msrs": {"0x3a": "0x5"},
         "memory": [{"address": "0x3000", "hex": "\(le)"}, {"address": "0x2000", "hex": "0030000000000000"}]}
        """
    }

    @Test func movToCR4RejectsBitsTheProfileLacks() throws {
        // CR4.VMXE on the Atom 330 (no VMX), CR4.SMXE on the i7-6700K (no SMX).
        let (_, a) = try run(movCR4, profile: .atom330) { $0.state[.rax] = 0x2620 }
        #expect(a.fault?.vector == .GP && a.fault?.errorCode == 0)
        let (_, b) = try run(movCR4, profile: .i7_6700k) { $0.state[.rax] = 0x4620 }
        #expect(b.fault?.vector == .GP)
        let (m, c) = try run(movCR4, profile: .i7_5600u) { $0.state[.rax] = 0x6620 }
        #expect(c.reason == .end && m.state.cr4 == 0x6620)
    }

    /// IA32_EFER.LMA is read-only to WRMSR even when a profile's masks would let it through,
    /// so a WRMSR never changes the operating mode (the block rule relies on it).
    @Test func wrmsrNeverWritesEFERLMA() throws {
        var profile = CPUProfile.i7_5600u
        profile.name = "efer-lma-unmasked"
        let i = try #require(profile.msrs.firstIndex { $0.index == MSRIndex.IA32_EFER })
        profile.msrs[i].ignoreMask = 0
        profile.msrs[i].gpMask &= ~EFER.LMA
        // In protected mode, paging off: EFER := LME | LMA, then one more instruction.
        // mov ecx, 0xC0000080; mov eax, 0x500; xor edx, edx; wrmsr; inc ebx
        let code = "b9 80 00 00 c0 b8 00 05 00 00 31 d2 0f 30 43"
        for reference in [false, true] {
            let (m, outcome) = try run(code, profile: profile, mode: .protected, options: RunOptions(referencePath: reference))
            #expect(outcome.reason == .end && outcome.faults.isEmpty)
            #expect(m.state.efer & EFER.LME != 0 && m.state.efer & EFER.LMA == 0, "EFER = \(m.state.efer)")
            #expect(m.state.mode == .protected && m.state[.rbx] == 1)
        }
    }

    @Test func movToCRChecksPrivilegeBeforeValue() throws {
        // At CPL 3, even a valid value faults with #GP(0).
        let (_, o) = try run(movCR4, state: #"{"cpl": 3}"#) { $0.state[.rax] = 0x620 }
        #expect(o.fault?.vector == .GP && o.fault?.errorCode == 0)
        // In real-address mode the value checks raise #GP with no error code.
        let (_, r) = try run("0f 22 c0", mode: .real) { $0.state[.rax] = 0x8000_0000 }
        #expect(r.fault?.vector == .GP && r.fault?.errorCode == nil)
    }

    @Test func cr0ConsistencyRules() throws {
        // NW without CD.
        let (_, a) = try run("0f 22 c0") { $0.state[.rax] = 0x2005_0033 | 0x8000_0000 }
        #expect(a.fault?.vector == .GP)
        // Clearing PG in 64-bit mode.
        let (_, b) = try run("0f 22 c0") { $0.state[.rax] = 0x0005_0033 }
        #expect(b.fault?.vector == .GP)
        // Bits 63:32.
        let (_, c) = try run("0f 22 c0") { $0.state[.rax] = 0x1_8005_0033 }
        #expect(c.fault?.vector == .GP)
        // Reserved bits are ignored and ET reads 1.
        let (m, d) = try run("0f 22 c0") { $0.state[.rax] = 0x8005_0023 | 0x40 }
        #expect(d.reason == .end && m.state.cr0 == 0x8005_0033)
    }

    @Test func pagingOnWithLMESetEntersCompatibilityMode() throws {
        // Protected mode, PAE on, EFER.LME = 1: mov cr0 with PG sets EFER.LMA.
        let state = #"{"registers": {"cr4": "0x20", "efer": "0x100", "rax": "0x80000011"}}"#
        let (m, o) = try run("0f 22 c0", mode: .protected, state: state)
        #expect(o.reason == .end)
        #expect(m.state.efer == 0x500 && m.state.mode == .compat)
    }

    @Test func cltsAndLMSW() throws {
        // CLTS in virtual-8086 mode: #GP(0).
        let (_, v) = try run("0f 06", mode: .v8086)
        #expect(v.fault?.vector == .GP && v.fault?.errorCode == 0)
        // LMSW cannot clear PE but sets MP/EM/TS.
        let (m, o) = try run("0f 01 f0") { $0.state[.rax] = 0xE }
        #expect(o.reason == .end && m.state.cr0 == 0x8005_003F)
        // From real mode LMSW with bit 0 enters protected mode.
        let (r, _) = try run("0f 01 f0", mode: .real) { $0.state[.rax] = 1 }
        #expect(r.state.mode == .protected)
    }

    @Test func rdmsrAndWrmsr() throws {
        // RDMSR ignores RCX[63:32] and clears RAX/RDX[63:32].
        let (m, _) = try run("0f 32") {
            $0.state[.rcx] = 0xFFFF_FFFF_0000_0480
            $0.state[.rax] = .max
            $0.state[.rdx] = .max
        }
        #expect(m.state[.rax] == 0x12 && m.state[.rdx] == 0x00DA_0400)
        // An MSR the profile lacks: #GP(0).
        let (_, a) = try run("0f 32", profile: .atom330) { $0.state[.rcx] = 0x480 }
        #expect(a.fault?.vector == .GP)
        // VMX capability MSRs are read-only.
        let (_, b) = try run("0f 30") { $0.state[.rcx] = 0x486 }
        #expect(b.fault?.vector == .GP)
        // Locked IA32_FEATURE_CONTROL refuses even its own value.
        let (_, c) = try run("0f 30", state: #"{"msrs": {"0x3a": "0x5"}}"#) { $0.state[.rcx] = 0x3a; $0.state[.rax] = 5 }
        #expect(c.fault?.vector == .GP)
        // Bit 1 (VMX inside SMX) needs VMX and SMX: refused on the i7-6700K, accepted on the i7-5600U.
        let (_, d) = try run("0f 30", profile: .i7_6700k) { $0.state[.rcx] = 0x3a; $0.state[.rax] = 3 }
        #expect(d.fault?.vector == .GP)
        let (e, eo) = try run("0f 30", profile: .i7_5600u) { $0.state[.rcx] = 0x3a; $0.state[.rax] = 3 }
        #expect(eo.reason == .end && e.msrValue(0x3a) == 3)
        // Non-canonical IA32_LSTAR.
        let (_, f) = try run("0f 30") { $0.state[.rcx] = 0xC000_0082; $0.state[.rdx] = 0x0000_8000; $0.state[.rax] = 0 }
        #expect(f.fault?.vector == .GP)
        // EFER.LME may not change while paging is on.
        let (_, g) = try run("0f 30") { $0.state[.rcx] = 0xC000_0080; $0.state[.rax] = 0; $0.state[.rdx] = 0 }
        #expect(g.fault?.vector == .GP)
        // In virtual-8086 mode: #GP(0).
        let (_, h) = try run("0f 32", mode: .v8086) { $0.state[.rcx] = 0x10 }
        #expect(h.fault?.vector == .GP)
    }

    @Test func vmxonSucceedsAndVMXOFFLeaves() throws {
        let (m, o) = try run(vmxonRAX, state: vmxReady()) { $0.state.rflags = 0xCD7 }
        #expect(o.reason == .end)
        #expect(m.state.vmx.operation == .root && m.state.vmx.vmxonPointer == 0x3000 && m.state.vmx.currentVMCS == .max)
        // VMsucceed clears the six status flags and keeps DF.
        #expect(m.state.rflags == 0x402)
        // Read by the next instructions of the same block too: PUSHF (all of RFLAGS) and SETZ
        // (ZF alone, which the pending flags answer without materializing them).
        let (q, r) = try run(vmxonRAX + " 9c 5b 0f 94 c1", state: vmxReady()) { $0.state.rflags = 0xCD7; $0.state[.rcx] = 0xFF }
        #expect(r.reason == .end && q.state[.rbx] == 0x402 && q.state[.rcx] == 0)
        let (n, p) = try run(vmxonRAX + " 0f 01 c4", state: vmxReady())
        #expect(p.reason == .end && n.state.vmx.operation == .none)
    }

    @Test func vmxonFailureOrder() throws {
        // CR4.VMXE = 0: #UD even at CPL 3.
        let (_, ud) = try run(vmxonRAX, state: #"{"cpl": 3}"#)
        #expect(ud.fault?.vector == .UD && ud.fault?.errorCode == nil)
        // CPL 3 with VMXE: #GP(0).
        let (_, gp) = try run(vmxonRAX, state: #"{"cpl": 3, "registers": {"cr4": "0x2620"}}"#)
        #expect(gp.fault?.vector == .GP)
        // Feature control unlocked: #GP(0).
        let (_, fc) = try run(vmxonRAX, state: #"{"registers": {"cr4": "0x2620", "rax": "0x3000"}}"#)
        #expect(fc.fault?.vector == .GP)
        // CR0.NE clear violates IA32_VMX_CR0_FIXED0: #GP(0), not #UD.
        let (_, ne) = try run(vmxonRAX, state: #"{"registers": {"cr4": "0x2620", "cr0": "0x80050013", "rax": "0x3000"}, "msrs": {"0x3a": "0x5"}}"#)
        #expect(ne.fault?.vector == .GP)
        // Misaligned pointer: VMfailInvalid (CF = 1).
        let (m1, o1) = try run(vmxonRAX, state: vmxReady()) { m in
            m.load(bytes("0830000000000000"), at: 0x2000)
        }
        #expect(o1.reason == .end && status(m1) == RFLAGS.CF && m1.state.vmx.operation == .none)
        // Wrong revision id: VMfailInvalid.
        let (m2, _) = try run(vmxonRAX, state: vmxReady()) { m in
            m.load(bytes("04000000"), at: 0x3000)
        }
        #expect(status(m2) == RFLAGS.CF)
        // VMXON in VMX root with no current VMCS: VMfail(15) is VMfailInvalid.
        let (m3, _) = try run(vmxonRAX + " " + vmxonRAX, state: vmxReady())
        #expect(m3.state.vmx.operation == .root && status(m3) == RFLAGS.CF)
    }

    @Test func vmxOperationHoldsTheFixedBits() throws {
        let state = #"{"registers": {"cr4": "0x2620"}, "vmx": {"operation": "root", "vmxonPointer": "0x3000"}}"#
        // Clearing CR4.VMXE in VMX operation: #GP(0) (seed §23.8).
        let (_, a) = try run(movCR4, state: state) { $0.state[.rax] = 0x620 }
        #expect(a.fault?.vector == .GP)
        // Clearing CR0.NE: #GP(0).
        let (_, b) = try run("0f 22 c0", state: state) { $0.state[.rax] = 0x8005_0013 }
        #expect(b.fault?.vector == .GP)
        // VMXOFF outside VMX operation: #UD.
        let (_, c) = try run("0f 01 c4")
        #expect(c.fault?.vector == .UD)
    }

    @Test func getsec() throws {
        // CR4.SMXE = 0: #UD.
        let (_, a) = try run("0f 37")
        #expect(a.fault?.vector == .UD)
        // CAPABILITIES with a TXT chipset: 1FDh; without: 1FCh.
        let (m, _) = try run("0f 37", state: #"{"registers": {"cr4": "0x4620"}}"#)
        #expect(m.state[.rax] == 0x1FD)
        let (n, _) = try run("0f 37", state: #"{"registers": {"cr4": "0x4620"}, "platform": {"txtChipset": false}}"#)
        #expect(n.state[.rax] == 0x1FC)
        // An undefined leaf: #UD.
        let (_, b) = try run("0f 37", state: #"{"registers": {"cr4": "0x4620", "rax": "0x1"}}"#)
        #expect(b.fault?.vector == .UD)
    }

    @Test func senterEstablishesTheModuleEntryState() throws {
        // SENTER (leaf 4) in 64-bit mode, then VMXON. SENTER enters SMX operation in
        // authenticated-code mode with paging off, CR4 = SMXE, EFLAGS = 2, IA32_EFER = 0 and
        // EBP = ACBASE, so the VMXON that follows (now decoded as 32-bit code) is #UD: VMXE is clear.
        let code = "b8 04 00 00 00 bb 00 00 10 00 b9 00 10 00 00 31 d2 0f 37 " + "b8 00 20 00 00 " + vmxonRAX
        let state = #"{"registers": {"cr4": "0x6620", "rflags": "0x246"}, "msrs": {"0x3a": "0xff07"}}"#
        let (m, o) = try run(code, state: state)
        #expect(o.fault?.vector == .UD)
        #expect(m.state.smx.operation && m.state.smx.authenticatedCodeMode)
        #expect(m.state.cr4 == CR4.SMXE && m.state.cr0 & (CR0.PG | CR0.AM | CR0.WP) == 0 && m.state.cr0 & CR0.PE != 0)
        #expect(m.state.efer == 0 && m.state.mode == .protected && m.state.rflags == RFLAGS.reserved1)
        #expect(m.state[.rbp] == 0x10_0000 && m.state.signals.initBlocked && m.state.signals.a20mBlocked)
        // Bit 15 (SENTER global enable) clear: #GP(0) and nothing changes.
        let (n, p) = try run(code, state: #"{"registers": {"cr4": "0x6620"}, "msrs": {"0x3a": "0x7f07"}}"#)
        #expect(p.fault?.vector == .GP && !n.state.smx.operation && n.state.cr4 == 0x6620)
    }

    @Test func exitacLeavesAuthenticatedCodeMode() throws {
        // EXITAC (leaf 3) jumps to EBX; outside SMX operation it unmasks A20M as well as INIT.
        let code = "b8 03 00 00 00 bb 00 20 00 00 31 d2 0f 37"
        let state = #"{"registers": {"cr4": "0x4000"}, "smx": {"authenticatedCodeMode": true}, "signals": {"initBlocked": true, "a20mBlocked": true}}"#
        let (m, _) = try run(code, mode: .protected, state: state, options: RunOptions(maxInstructions: 4))
        #expect(m.state.rip == 0x2000 && !m.state.smx.authenticatedCodeMode)
        #expect(!m.state.signals.initBlocked && !m.state.signals.a20mBlocked)
        // Not in authenticated-code mode: #GP(0).
        let (_, o) = try run(code, mode: .protected, state: #"{"registers": {"cr4": "0x4000"}}"#)
        #expect(o.fault?.vector == .GP)
    }

    @Test func paePagingChecksThePDPTEs() throws {
        // 32-bit protected mode with CR4.PAE: turning paging on loads the four PDPTEs at CR3.
        let movCR0 = "0f 22 c0", movCR3 = "0f 22 d8"
        func state(_ entry: String) -> String {
            #"{"mode": "protected", "registers": {"cr4": "0x20", "cr3": "0x5000", "rax": "0x80000033"}, "memory": [{"address": "0x5008", "hex": "\#(entry)"}]}"#
        }
        // Present with bit 1 (reserved) set: #GP(0), paging stays off.
        let (a, fa) = try run(movCR0, mode: .protected, state: state("0360000000000000"))
        #expect(fa.fault?.vector == .GP && a.state.cr0 & CR0.PG == 0)
        // Present with a bit at MAXPHYADDR (39) set: #GP(0).
        let (_, fb) = try run(movCR0, mode: .protected, state: state("0160000080000000"))
        #expect(fb.fault?.vector == .GP)
        // Not present, reserved bits and all: ignored. Present and clean: paging on.
        for entry in ["0260000080000000", "0160000000000000"] {
            let (c, fc) = try run(movCR0, mode: .protected, state: state(entry))
            #expect(fc.fault == nil && c.state.cr0 & CR0.PG != 0, "\(entry)")
        }
        // With PAE paging on, MOV CR3 loads the new table's PDPTEs.
        let paging = #"{"mode": "protected", "registers": {"cr0": "0x80000033", "cr4": "0x20", "rax": "0x5000"}, "memory": [{"address": "0x5000", "hex": "0700000000000000"}]}"#
        let (d, fd) = try run(movCR3, mode: .protected, state: paging)
        #expect(fd.fault?.vector == .GP && d.state.cr3 == 0)
        // In IA-32e mode there are no PDPTEs to load.
        let (e, fe) = try run(movCR3, state: #"{"registers": {"rax": "0x5000"}, "memory": [{"address": "0x5000", "hex": "0700000000000000"}]}"#)
        #expect(fe.fault == nil && e.state.cr3 == 0x5000)
    }

    @Test func cetTiesCR4CETToCR0WP() throws {
        var profile = CPUProfile.i7_5600u
        profile.name = "with-cet"
        let i = try #require(profile.cpuid.firstIndex { $0.leaf == 7 })
        profile.cpuid[i].ecx |= 1 << 7  // CET_SS
        let setCET = #"{"registers": {"rax": "0x800620"}}"#
        // CET on with WP set: allowed; then clearing WP: #GP(0).
        let (m, f) = try run("0f 22 e0", profile: profile, state: setCET)
        #expect(f.fault == nil && m.state.cr4 & CR4.CET != 0)
        let (n, g) = try run("0f 22 c0", profile: profile, state: #"{"registers": {"cr4": "0x800620", "rax": "0x80040033"}}"#)
        #expect(g.fault?.vector == .GP && n.state.cr0 & CR0.WP != 0)
        // WP clear: setting CET is #GP(0).
        let (_, h) = try run("0f 22 e0", profile: profile, state: #"{"registers": {"cr0": "0x80040033", "rax": "0x800620"}}"#)
        #expect(h.fault?.vector == .GP)
        // Without CET in CPUID the bit is reserved.
        let (_, r) = try run("0f 22 e0", state: setCET)
        #expect(r.fault?.vector == .GP)
    }

    @Test func tscAdjustAndTheTimeStampCounterMoveTogether() throws {
        // WRMSR IA32_TSC_ADJUST := 1000 adds 1000 to the TSC.
        let (m, _) = try run("b9 3b 00 00 00 b8 e8 03 00 00 31 d2 0f 30")
        #expect(m.msrValue(MSRIndex.IA32_TIME_STAMP_COUNTER) == m.cycleCount + 1000)
        // WRMSR IA32_TIME_STAMP_COUNTER := 0x100000 adds the same difference to IA32_TSC_ADJUST.
        let (n, _) = try run("b9 10 00 00 00 b8 00 00 10 00 31 d2 0f 30")
        let adjust = try #require(n.msrValue(MSRIndex.IA32_TSC_ADJUST))
        #expect(n.msrValue(MSRIndex.IA32_TIME_STAMP_COUNTER) == n.cycleCount + adjust)
        // Three ALU instructions retired before the WRMSR read the TSC.
        let alu = UInt64(n.costs.cost(.alu))
        #expect(adjust == 0x10_0000 - 3 * alu && n.cycleCount == 3 * alu + UInt64(n.costs.cost(.wrmsr)))
    }

    @Test func msrBitsFollowTheProfilesCPUID() throws {
        // A profile whose CPUID lacks NX and SMX: IA32_EFER.NXE and IA32_FEATURE_CONTROL bit 1
        // are reserved whatever masks its MSR table gives.
        var profile = CPUProfile.i7_5600u
        profile.name = "no-nx-no-smx"
        let ext = try #require(profile.cpuid.firstIndex { $0.leaf == 0x8000_0001 })
        profile.cpuid[ext].edx &= ~(1 << 20)
        let basic = try #require(profile.cpuid.firstIndex { $0.leaf == 1 })
        profile.cpuid[basic].ecx &= ~(1 << 6)
        let wrmsr = "0f 30"
        let nxe = #"{"registers": {"rcx": "0xc0000080", "rax": "0xd00"}}"#
        let (_, a) = try run(wrmsr, profile: profile, state: nxe)
        #expect(a.fault?.vector == .GP)
        let (b, ok) = try run(wrmsr, state: nxe)
        #expect(ok.fault == nil && b.state.efer == 0xD00)
        let (_, c) = try run(wrmsr, profile: profile, state: #"{"registers": {"rcx": "0x3a", "rax": "0x3"}}"#)
        #expect(c.fault?.vector == .GP)
        let (d, e) = try run(wrmsr, profile: profile, state: #"{"registers": {"rcx": "0x3a", "rax": "0x5"}}"#)
        #expect(e.fault == nil && d.msrValue(MSRIndex.IA32_FEATURE_CONTROL) == 5)
    }
}

private func format2(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return s.count == 1 ? "0" + s : s
}
