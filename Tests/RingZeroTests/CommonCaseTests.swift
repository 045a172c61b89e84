import Testing
@testable import RingZero

/// The threaded loop runs MOV to and from CR, CLTS, LMSW, RDMSR, WRMSR, VMXON and VMXOFF by a
/// shortcut for their common case (`movToCRCommonCase`, `rdmsrCommonCase` and the others) and
/// leaves everything else to the full semantics, which the reference path always runs. Each program
/// here reaches one condition the shortcut must refuse (a fault, a VMfail, a hook, a rule of
/// its own, memory outside the guest's), usually right after a run of the instruction the
/// shortcut takes; the two paths must agree on every result and counter. The threaded loop
/// runs only while no hook is registered, so the cases with hooks check that the hooks see
/// the same on both paths.
@Suite struct CommonCaseTests {
    let rdmsr = "0f 32", wrmsr = "0f 30", hlt = "f4"
    // vmxon [rax]; vmxoff; vmxon fs:[rax]
    let vmxon = "f3 0f c7 30", vmxoff = "0f 01 c4", vmxonFS = "64 f3 0f c7 30"

    /// mov ecx/eax/edx, imm32.
    func ecx(_ v: UInt32) -> String { "b9 " + le32(v) }
    func eax(_ v: UInt32) -> String { "b8 " + le32(v) }
    func edx(_ v: UInt32) -> String { "ba " + le32(v) }

    /// As `PrivilegedTests.vmxReady`: IA32_FEATURE_CONTROL locked with VMX outside SMX,
    /// CR4.VMXE, a VMXON region at 0x3000 with the profile's revision id, its pointer at 0x2000,
    /// RAX = 0x2000.
    func vmxReady(featureControl: String = "0x5", extraRegisters: String = "") -> String {
        let revision = UInt32((CPUProfile.i7_5600u.msrReset(MSRIndex.IA32_VMX_BASIC) ?? 0) & 0x7FFF_FFFF)
        return """
        {"registers": {"cr4": "0x2620", "rax": "0x2000"\(extraRegisters)}, "msrs": {"0x3a": "\(featureControl)"},
         "memory": [{"address": "0x3000", "hex": "\(le32(revision).filter { $0 != " " })"},
                    {"address": "0x2000", "hex": "0030000000000000"}]}
        """
    }

    /// Runs `code` on both paths, each machine set up alike, and expects them to agree on the
    /// outcome, the state, the MSRs, the counters by form and reads outside memory. Returns the
    /// threaded run's machine and outcome for the case's own expectations.
    @discardableResult
    func expectAgreement(_ what: String, _ code: [String], profile: CPUProfile = .i7_5600u, mode: OperatingMode = .long,
                         state: String? = nil, setup: (Machine) -> Void = { _ in }) throws -> (Machine, RunOutcome) {
        let program = code.joined(separator: " ")
        let (fast, a) = try run(program, profile: profile, mode: mode, state: state, options: RunOptions(onFault: .continue),
                                setup: setup)
        let (reference, b) = try run(program, profile: profile, mode: mode, state: state,
                                     options: RunOptions(onFault: .continue, referencePath: true), setup: setup)
        #expect(a == b, "\(what)")
        #expect(fast.state == reference.state, "\(what)")
        #expect(fast.msrs == reference.msrs && fast.tscOffset == reference.tscOffset, "\(what)")
        #expect(fast.instructionCount == reference.instructionCount && fast.cycleCount == reference.cycleCount, "\(what)")
        for form in 0..<fast.costs.names.count {
            #expect(fast.retiredByForm[form] == reference.retiredByForm[form], "\(what): \(fast.costs.names[form])")
        }
        #expect(fast.memory.unbackedReads == reference.memory.unbackedReads, "\(what)")
        return (fast, a)
    }

    /// VMXON by `form` (its operand naming the pointer at 0x2000) where the VMXON region fails
    /// one check after another: VMfailInvalid each time, on both paths alike.
    func expectRegionChecks(_ form: String) throws {
        for (what, pointer, revision) in [("misaligned", "0830000000000000", nil), ("outside memory", "0000002000000000", nil),
                                          ("at 4 GiB, outside memory", "0000000001000000", nil), ("wrong revision", nil, "04000000"),
                                          ("revision bit 31", nil, "ffffffff")] {
            let (m, _) = try expectAgreement(what, [form, hlt], state: vmxReady()) { m in
                if let pointer { m.load(bytes(pointer), at: 0x2000) }
                if let revision { m.load(bytes(revision), at: 0x3000) }
            }
            #expect(m.state.vmx.operation == .none && status(m) == RFLAGS.CF, "\(form): \(what)")
        }
    }

    @Test func wrmsrRefusalsAreLeftToTheFullSemantics() throws {
        let fc = MSRIndex.IA32_FEATURE_CONTROL
        // Priced as a plain WRMSR, so the shortcut may take it (the built-in table prices it
        // apart, which the shortcut leaves to the full semantics).
        var profile = CPUProfile.i7_5600u
        profile.cycleCosts["wrmsr IA32_FEATURE_CONTROL"] = nil
        // The first WRMSR locks IA32_FEATURE_CONTROL; the second, of the same value, faults.
        for profile in [profile, .i7_5600u] {
            let (_, locked) = try expectAgreement("locked", [ecx(fc), eax(5), edx(0), wrmsr, wrmsr, hlt], profile: profile)
            #expect(locked.faults.map(\.vector) == [.GP])
        }
        // A reserved bit, after a write that stores.
        let gpMask = try #require(profile.msrs.first { $0.index == fc }).gpMask
        let reserved = UInt32(truncatingIfNeeded: gpMask & ~(gpMask - 1))
        let (_, gp) = try expectAgreement("reserved bit", [ecx(fc), eax(4), edx(0), wrmsr, eax(4 | reserved), wrmsr, hlt],
                                          profile: profile)
        #expect(gp.faults.map(\.vector) == [.GP])
        // A non-canonical IA32_SYSENTER_ESP after a canonical one.
        let (_, canonical) = try expectAgreement("canonical", [ecx(MSRIndex.IA32_SYSENTER_ESP), eax(0), edx(0), wrmsr,
                                                               edx(0x8000), wrmsr, hlt])
        #expect(canonical.faults.map(\.vector) == [.GP])
        // Stores the shortcut makes: a canonical IA32_SYSENTER_ESP in the upper half, and
        // IA32_FEATURE_CONTROL enabled, then locked (then refused: locked).
        let (esp, _) = try expectAgreement("canonical stored", [ecx(MSRIndex.IA32_SYSENTER_ESP), eax(0x1000), edx(0), wrmsr,
                                                                 eax(0x2000), edx(0xFFFF_8000), wrmsr, rdmsr, hlt])
        #expect(esp.msrValue(MSRIndex.IA32_SYSENTER_ESP) == 0xFFFF_8000_0000_2000 && esp.state[.rdx] == 0xFFFF_8000)
        let (lock, lockOutcome) = try expectAgreement("enabled, then locked", [ecx(fc), eax(4), edx(0), wrmsr, eax(5), wrmsr,
                                                                               wrmsr, hlt], profile: profile)
        #expect(lock.msrValue(fc) == 5 && lockOutcome.faults.map(\.vector) == [.GP])
        // IA32_SYSENTER_CS ignores bits 63:32: twice, then read back.
        let (cs, _) = try expectAgreement("ignored bits", [ecx(MSRIndex.IA32_SYSENTER_CS), edx(0xFFFF), eax(0x10), wrmsr,
                                                           eax(0x18), wrmsr, rdmsr, hlt])
        #expect(cs.state[.rax] == 0x18 && cs.state[.rdx] == 0)
        // Read-only IA32_VMX_BASIC, found by a read first.
        let (_, readOnly) = try expectAgreement("read-only", [ecx(MSRIndex.IA32_VMX_BASIC), rdmsr, rdmsr, wrmsr, hlt])
        #expect(readOnly.faults.map(\.vector) == [.GP])
        // The rules of their own: IA32_PAT's memory types, IA32_EFER, the TSC and IA32_TSC_ADJUST.
        let (_, pat) = try expectAgreement("PAT", [ecx(MSRIndex.IA32_PAT), rdmsr, wrmsr, eax(2), wrmsr, hlt])
        #expect(pat.faults.map(\.vector) == [.GP])
        try expectAgreement("EFER", [ecx(MSRIndex.IA32_EFER), rdmsr, rdmsr, wrmsr, wrmsr, hlt])
        try expectAgreement("TSC", [ecx(MSRIndex.IA32_TIME_STAMP_COUNTER), rdmsr, rdmsr, wrmsr, wrmsr, rdmsr, hlt])
        try expectAgreement("TSC_ADJUST", [ecx(MSRIndex.IA32_TSC_ADJUST), rdmsr, eax(100), wrmsr, wrmsr, rdmsr,
                                           ecx(MSRIndex.IA32_TIME_STAMP_COUNTER), rdmsr, hlt])
    }

    @Test func rdmsrAndWrmsrRefusePrivilegeAndHooks() throws {
        let cs = MSRIndex.IA32_SYSENTER_CS
        // CPL 3 (where HLT faults too) and RFLAGS.VM with the MSR already the recent one:
        // #GP(0) each time.
        for (state, faults) in [(#"{"cpl": 3}"#, 3), (nil, 2)] {
            let (_, o) = try expectAgreement("privilege \(state ?? "VM")", [ecx(cs), rdmsr, wrmsr, hlt], state: state) { m in
                _ = m.lookUpMSR(cs)
                if state == nil { m.state.rflags |= RFLAGS.VM }
            }
            #expect(o.faults.map(\.vector) == Array(repeating: .GP, count: faults))
        }
        // A read hook answers for the recent MSR; a write hook ignores the write.
        let (read, _) = try expectAgreement("read hook", [ecx(cs), eax(7), edx(0), wrmsr, rdmsr, hlt]) { m in
            m.onRDMSR { _, index in index == cs ? .value(0x1_0000_0042) : .normal }
        }
        #expect(read.state[.rax] == 0x42 && read.state[.rdx] == 1 && read.msrValue(cs) == 7)
        let (written, _) = try expectAgreement("write hook", [ecx(cs), rdmsr, eax(9), wrmsr, rdmsr, hlt]) { m in
            m.onWRMSR { _, _, _ in .ignore }
        }
        #expect(written.msrValue(cs) == 0 && written.state[.rax] == 0)
        // Without MSR support (CPUID.1:EDX[5] = 0): #UD, however recent the MSR.
        var profile = CPUProfile.i7_5600u
        profile.cpuid = profile.cpuid.map { leaf in
            var leaf = leaf
            if leaf.leaf == 1 && leaf.subleaf == 0 { leaf.edx &= ~UInt32(1 << 5) }
            return leaf
        }
        let (_, noMSR) = try run([ecx(cs), rdmsr, hlt].joined(separator: " "), profile: profile,
                                 options: RunOptions(onFault: .continue)) { _ = $0.lookUpMSR(cs) }
        #expect(noMSR.faults.map(\.vector) == [.UD])
    }

    @Test func vmxonAndVmxoffRefusalsAreLeftToTheFullSemantics() throws {
        // Entered, left and entered again by the shortcut; then VMXON in VMX root: VMfailInvalid.
        let (twice, _) = try expectAgreement("in VMX root", [vmxon, vmxoff, vmxon, vmxon, hlt], state: vmxReady())
        #expect(twice.state.vmx.operation == .root && status(twice) == RFLAGS.CF)
        // Inside SMX operation, with VMX enabled there: entered and left, A20M left masked
        // (GETSEC[SENTER] masked it).
        let (smx, _) = try expectAgreement("inside SMX", [vmxon, vmxoff, vmxon, hlt], state: vmxReady(featureControl: "0x7")) { m in
            m.state.smx.operation = true
            m.state.signals.a20mBlocked = true
        }
        #expect(smx.state.vmx.operation == .root && smx.state.signals.a20mBlocked && status(smx) == 0)
        // IA32_VMX_BASIC[48]: VMX structures below 4 GBytes; a pointer at 4 GBytes fails.
        let (below4G, _) = try expectAgreement("IA32_VMX_BASIC[48]", [vmxon, hlt], state: vmxReady()) { m in
            m.setMSR(MSRIndex.IA32_VMX_BASIC, (m.msrValue(MSRIndex.IA32_VMX_BASIC) ?? 0) | 1 << 48)
            m.load(bytes("0000000001000000"), at: 0x2000)
        }
        #expect(below4G.state.vmx.operation == .none && status(below4G) == RFLAGS.CF)
        // A misaligned pointer with the revision id where it points: VMfailInvalid all the same.
        let (misaligned, _) = try expectAgreement("misaligned, revision there", [vmxon, hlt], state: vmxReady()) { m in
            m.load(bytes("0830000000000000"), at: 0x2000)
            m.load(m.memory.peek(0x3000, count: 4), at: 0x3008)
        }
        #expect(misaligned.state.vmx.operation == .none && status(misaligned) == RFLAGS.CF)
        // The VMXON region's checks: VMfailInvalid each.
        try expectRegionChecks(vmxon)
        // The faults, each a check the shortcut makes before the full semantics do.
        let faults: [(String, String, (Machine) -> Void, ExceptionVector)] = [
            ("unlocked", vmxReady(featureControl: "0x4"), { _ in }, .GP),
            ("VMX outside SMX disabled", vmxReady(featureControl: "0x1"), { _ in }, .GP),
            ("inside SMX", vmxReady(), { $0.state.smx.operation = true }, .GP),
            ("A20M", vmxReady(), { $0.state.signals.a20m = true }, .GP),
            ("CR0.NE clear", vmxReady(extraRegisters: #", "cr0": "0x80050013""#), { _ in }, .GP),
            ("CPL 3", vmxReady(), { $0.state.cs.dpl = 3 }, .GP),
            ("CR4.VMXE clear", vmxReady(), { $0.state.cr4 &= ~CR4.VMXE }, .UD),
            // The same where IA32_VMX_CR4_FIXED0 does not ask for CR4.VMXE.
            ("CR4.VMXE clear, not fixed", vmxReady(), { m in
                m.setMSR(MSRIndex.IA32_VMX_CR4_FIXED0, 0)
                m.state.cr4 &= ~CR4.VMXE
            }, .UD),
            ("non-canonical", vmxReady(), { $0.state[.rax] = 0x8000_0000_0000_0000 }, .GP),
        ]
        for (what, state, setup, vector) in faults {
            let (m, o) = try expectAgreement(what, [vmxon, hlt], state: state, setup: setup)
            // At CPL 3, HLT faults too.
            let expected = what == "CPL 3" ? [vector, .GP] : [vector]
            #expect(o.faults.map(\.vector) == expected && m.state.vmx.operation == .none, "\(what)")
        }
        // FS's base from IA32_FS_BASE: the pointer at FS:RAX = 0x1000 + 0x1000.
        let (fs, _) = try expectAgreement("FS", [vmxonFS, hlt], state: vmxReady()) { m in
            m.setMSR(MSRIndex.IA32_FS_BASE, 0x1000)
            m.state[.rax] = 0x1000
        }
        #expect(fs.state.vmx.operation == .root && fs.state.vmx.vmxonPointer == 0x3000)
        // VMXOFF: outside VMX operation #UD; at CPL 3 #GP(0) (and HLT's); under the dual-monitor treatment VMfail.
        let (_, outside) = try expectAgreement("VMXOFF outside", [vmxon, vmxoff, vmxoff, hlt], state: vmxReady())
        #expect(outside.faults.map(\.vector) == [.UD])
        let (_, cpl3) = try expectAgreement("VMXOFF at CPL 3", [vmxoff, hlt], state: vmxReady()) { m in
            m.state.vmx.operation = .root
            m.state.cs.dpl = 3
        }
        #expect(cpl3.faults.map(\.vector) == [.GP, .GP])
        let (dual, _) = try expectAgreement("dual monitor", [vmxon, vmxoff, hlt], state: vmxReady()) { $0.state.vmx.dualMonitor = true }
        #expect(dual.state.vmx.operation == .root && status(dual) == RFLAGS.CF)
    }

    /// VMXON's shortcut makes its tests before the operand once and remembers the answer
    /// (`MachineCore.vmxonReady`) until something that can change it runs. Each program
    /// enters and leaves VMX operation by the shortcuts, changes one thing VMXON tests, and
    /// runs VMXON again in the same block: it must fault as the full semantics say.
    @Test func vmxonForgetsItsChecksWhenWhatTheyTestedChanges() throws {
        // mov cr4, rbx; clts; lmsw dx; mov cr0, rbx.
        let movToCR4 = "0f 22 e3", clts = "0f 06", lmsw = "0f 01 f2", movToCR0 = "0f 22 c3"
        // CR0 of the state file's long mode with CR0.TS set; TS made a fixed-1 bit.
        let fixedTS: (Machine) -> Void = { m in
            m.state.cr0 |= CR0.TS
            m.setMSR(MSRIndex.IA32_VMX_CR0_FIXED0, (m.msrValue(MSRIndex.IA32_VMX_CR0_FIXED0) ?? 0) | CR0.TS)
        }
        let cases: [(String, String, (Machine) -> Void, ExceptionVector)] = [
            // CR4.VMXE cleared by MOV to CR4's shortcut (allowed outside VMX operation).
            ("MOV to CR4", movToCR4, { $0.state[.rbx] = $0.state.cr4 & ~CR4.VMXE }, .UD),
            // CR0.TS cleared by CLTS's and by LMSW's shortcut, where IA32_VMX_CR0_FIXED0 asks for it.
            ("CLTS", clts, fixedTS, .GP),
            ("LMSW", lmsw, { m in fixedTS(m); m.state[.rdx] = 1 }, .GP),
            // CR0.NE cleared by MOV to CR0, which the full semantics run: the refresh after
            // every generic handler clears the flag.
            ("MOV to CR0", movToCR0, { $0.state[.rbx] = $0.state.cr0 & ~CR0.NE }, .GP),
        ]
        for (what, change, setup, vector) in cases {
            let (m, o) = try expectAgreement(what, [vmxon, vmxoff, change, vmxon, hlt], state: vmxReady(), setup: setup)
            #expect(o.faults.map(\.vector) == [vector] && m.state.vmx.operation == .none, "\(what)")
        }
    }

    /// A DEC after VMXON or VMXOFF in the same block keeps the CF they left: VMfailInvalid's
    /// CF = 1, VMsucceed's CF = 0 (`CarryHint.vmStatus`).
    @Test func decKeepsTheCarryVMXInstructionsLeave() throws {
        // vmxon; vmxon (VMfailInvalid); dec edx; setc bl; vmxoff (VMsucceed); dec edx; setc cl; hlt
        let code = [vmxon, vmxon, "ff ca", "0f 92 c3", vmxoff, "ff ca", "0f 92 c1", hlt]
        let (m, o) = try expectAgreement("VMfail, VMsucceed", code, state: vmxReady())
        #expect(o.faults.isEmpty && m.state[.rbx] & 0xFF == 1 && m.state[.rcx] & 0xFF == 0)
    }

    /// VMXON whose operand is an absolute or RIP-relative address runs a handler of its own
    /// that takes the displacement as the linear address (`ThreadedIndex.absoluteAddress`,
    /// decided when the block is decoded). Each program agrees with the reference path, and
    /// the forms that must not get that handler (a base, a negative displacement, FS) do not.
    @Test func vmxonAtAnAbsoluteAddressAgreesWithTheFullSemantics() throws {
        // vmxon [0x2000]; vmxon [rip + 0xff8] at 0x1000 (the same 0x2000); in 32-bit code, vmxon [0x2000].
        let absolute = "f3 0f c7 34 25 00 20 00 00", ripRelative = "f3 0f c7 35 f8 0f 00 00", absolute32 = "f3 0f c7 35 00 20 00 00"
        // vmxon [0xffffffff80002000] (sign-extended: canonical, but negative), vmxon fs:[0x1000].
        let negative = "f3 0f c7 34 25 00 20 00 80", fsAbsolute = "64 f3 0f c7 34 25 00 10 00 00"
        // The threaded index a block decoded from `hex` at 0x1000 gives its first Op.
        func index(_ hex: String, _ mode: CodeMode) throws -> Int {
            let machine = try makeMachine(hex)
            var op = Op(handler: .invalidOpcode, address: 0x1000, length: 1, codeMode: mode)
            machine.decodeOne(at: 0x1000, mode: mode, fastForms: true, direct: true, into: &op)
            #expect(op.handler == .vmxon, "\(hex)")
            return Int(ThreadedIndex.of(op))
        }
        #expect(try index(absolute, .bits64) == ThreadedIndex.vmxonAtAbsoluteAddress)
        #expect(try index(ripRelative, .bits64) == ThreadedIndex.vmxonAtAbsoluteAddress)
        #expect(try index(absolute32, .bits32) == ThreadedIndex.vmxonAtAbsoluteAddress)
        #expect(try index(vmxon, .bits64) == Int(Handler.vmxon.rawValue))
        #expect(try index(negative, .bits64) == Int(Handler.vmxon.rawValue))

        // Entered (by each form: the RIP-relative one is right at 0x1000 only), left and
        // entered again; then VMXON in VMX root (VMfailInvalid).
        for form in [absolute, ripRelative] {
            let (m, o) = try expectAgreement("entered by \(form)", [form, vmxoff, absolute, absolute, hlt], state: vmxReady())
            #expect(o.faults.isEmpty && m.state.vmx.operation == .root && m.state.vmx.vmxonPointer == 0x3000 && status(m) == RFLAGS.CF)
        }
        // The region's checks and the faults, by the absolute form.
        try expectRegionChecks(absolute)
        let faults: [(String, String, (Machine) -> Void, ExceptionVector)] = [
            ("unlocked", vmxReady(featureControl: "0x4"), { _ in }, .GP),
            ("CR4.VMXE clear", vmxReady(), { $0.state.cr4 &= ~CR4.VMXE }, .UD),
            ("A20M", vmxReady(), { $0.state.signals.a20m = true }, .GP),
        ]
        for (what, state, setup, vector) in faults {
            let (m, o) = try expectAgreement(what, [absolute, hlt], state: state, setup: setup)
            #expect(o.faults.map(\.vector) == [vector] && m.state.vmx.operation == .none, "\(what)")
        }
        // An operand past the end of memory (16 MiB): read as 0xFF bytes, VMfailInvalid.
        let (outside, _) = try expectAgreement("operand outside memory", ["f3 0f c7 34 25 00 00 00 7f", hlt], state: vmxReady())
        #expect(outside.state.vmx.operation == .none && status(outside) == RFLAGS.CF)
        // The forms without the handler: a negative displacement (outside memory too) and FS
        // with IA32_FS_BASE = 0x1000 (FS:0x1000 is 0x2000).
        let (_, _) = try expectAgreement("negative displacement", [negative, hlt], state: vmxReady())
        let (fs, _) = try expectAgreement("FS", [fsAbsolute, hlt], state: vmxReady()) { $0.setMSR(MSRIndex.IA32_FS_BASE, 0x1000) }
        #expect(fs.state.vmx.operation == .root && fs.state.vmx.vmxonPointer == 0x3000)
        // 32-bit protected mode: the same handler, its checks as the full semantics make them.
        let (_, _) = try expectAgreement("32-bit", [absolute32, hlt], mode: .protected, state: vmxReady())
    }

    @Test func controlRegisterRefusalsAreLeftToTheFullSemantics() throws {
        // mov cr4, rbx; mov cr2, rbx; mov cr8, rbx; mov cr0, rbx; mov cr3, rbx; mov rax, cr4;
        // mov rcx, cr8; clts; lmsw bx; lmsw [rsi]
        let movCR4 = "0f 22 e3", movCR2 = "0f 22 d3", movCR8 = "44 0f 22 c3", movCR0 = "0f 22 c3", movCR3 = "0f 22 db"
        let readCR4 = "0f 20 e0", readCR8 = "44 0f 20 c1", clts = "0f 06", lmswBX = "0f 01 f3", lmswMemory = "0f 01 36"
        // Writes the shortcut takes, and values each check refuses (#GP(0) from the full semantics).
        var cr4Before: UInt64 = 0
        let (cr4, cr4Outcome) = try expectAgreement("CR4.TSD toggled", [readCR4, movCR4, hlt]) { m in
            cr4Before = m.state.cr4
            m.state[.rbx] = m.state.cr4 ^ CR4.TSD
        }
        #expect(cr4Outcome.faults.isEmpty && cr4.state[.rax] == cr4Before && cr4.state.cr4 == cr4Before ^ CR4.TSD)
        let (others, othersOutcome) = try expectAgreement("CR2, CR8, CLTS, LMSW", [movCR2, movCR8, readCR8, clts, lmswBX, hlt]) { m in
            m.state[.rbx] = 5
            m.state.cr0 |= CR0.TS | CR0.MP
        }
        #expect(othersOutcome.faults.isEmpty && others.state.cr2 == 5 && others.state.cr8 == 5 && others.state[.rcx] == 5)
        // CLTS clears TS; LMSW of 5 sets EM, clears MP and keeps PE.
        #expect(others.state.cr0 & 0xF == CR0.PE | CR0.EM)
        let refused: [(String, (Machine) -> UInt64)] = [
            ("CR4 bit 32", { $0.state.cr4 | 1 << 32 }),
            ("CR4.LA57, which the profile lacks", { $0.state.cr4 | 1 << 12 }),
            ("CR4.PAE cleared in IA-32e mode", { $0.state.cr4 & ~CR4.PAE }),
            ("CR4.PCIDE with CR3[11:0] set", { m in m.state.cr3 |= 0x001; return m.state.cr4 | 1 << 17 }),
            ("CR4.CET with CR0.WP clear", { m in m.state.cr0 &= ~CR0.WP; return m.state.cr4 | 1 << 23 }),
        ]
        for (what, value) in refused {
            let (_, o) = try expectAgreement(what, [movCR4, hlt]) { m in m.state[.rbx] = value(m) }
            #expect(o.faults.map(\.vector) == [.GP], "\(what)")
        }
        let (_, cr8) = try expectAgreement("CR8 = 16", [movCR8, hlt]) { $0.state[.rbx] = 16 }
        #expect(cr8.faults.map(\.vector) == [.GP])
        // CR4.PCIDE with CR3[11:0] clear: taken.
        let (pcide, _) = try expectAgreement("CR4.PCIDE", [movCR4, hlt]) { m in
            m.state.cr3 &= ~0xFFF
            m.state[.rbx] = m.state.cr4 | 1 << 17
        }
        #expect(pcide.state.cr4 & 1 << 17 != 0)
        // In VMX operation, CR4.VMXE is fixed to 1; CLTS and LMSW may not clear a fixed CR0 bit.
        let (_, fixed) = try expectAgreement("VMXE in VMX operation", [vmxon, movCR4, hlt], state: vmxReady()) { m in
            m.state[.rbx] = m.state.cr4 & ~CR4.VMXE
        }
        #expect(fixed.faults.map(\.vector) == [.GP])
        for (what, code, bit) in [("CLTS", clts, CR0.TS), ("LMSW", lmswBX, CR0.MP)] {
            let (m, o) = try expectAgreement("\(what) of a fixed bit", [vmxon, code, hlt], state: vmxReady()) { m in
                m.state.cr0 |= bit
                m.setMSR(MSRIndex.IA32_VMX_CR0_FIXED0, (m.msrValue(MSRIndex.IA32_VMX_CR0_FIXED0) ?? 0) | bit)
                m.state[.rbx] = 0
            }
            #expect(o.faults.map(\.vector) == [.GP] && m.state.cr0 & bit != 0, "\(what)")
        }
        // Left to the full semantics every time: CR0 and CR3, and LMSW of memory.
        let (full, fullOutcome) = try expectAgreement("CR0, CR3, LMSW [rsi]", [movCR0, movCR3, lmswMemory, hlt]) { m in
            m.state[.rbx] = m.state.cr0
            m.state[.rsi] = 0x2000
            m.load([0x0B, 0x00], at: 0x2000)
        }
        #expect(fullOutcome.faults.isEmpty && full.state.cr0 & 0xF == 0xB)
        // A CR4 write that reloads the PDPTEs: PAE paging in protected mode, PGE toggled, an
        // entry with reserved bits 2:1 set.
        for (what, entry) in [("PDPTEs valid", "0100000000000000"), ("PDPTE reserved bits", "0700000000000000")] {
            let state = #"{"registers": {"cr0": "0x80000011", "cr4": "0x20", "cr3": "0x5000"}, "memory": [{"address": "0x5000", "hex": "\#(entry)"}]}"#
            let (m, o) = try expectAgreement(what, ["0f 22 e0", hlt], mode: .protected, state: state) { $0.state[.rax] = 0x20 | CR4.PGE }
            #expect(o.faults.isEmpty == (what == "PDPTEs valid") && (m.state.cr4 & CR4.PGE != 0) == o.faults.isEmpty, "\(what)")
        }
        // Privilege: CPL 3 (HLT faults too), and RFLAGS.VM in 64-bit mode.
        // A CR4 value that would pass, so that privilege alone refuses.
        let (_, user) = try expectAgreement("CPL 3", [readCR4, movCR4, clts, lmswBX, hlt], state: #"{"cpl": 3}"#) { m in
            m.state[.rbx] = m.state.cr4 ^ CR4.TSD
        }
        #expect(user.faults.map(\.vector) == Array(repeating: .GP, count: 5))
        let (_, vm) = try expectAgreement("RFLAGS.VM", [readCR4, movCR4, clts, lmswBX, hlt]) { m in
            m.state.rflags |= RFLAGS.VM
            m.state[.rbx] = m.state.cr4 ^ CR4.TSD
        }
        #expect(vm.faults.map(\.vector) == Array(repeating: .GP, count: 4))
        // LMSW sets CR0.PE from real-address mode (and may not clear it after).
        let (real, _) = try expectAgreement("LMSW from real mode", [lmswBX, "0f 01 f1", hlt], mode: .real) { m in
            m.state[.rbx] = 0x1
            m.state[.rcx] = 0x0
        }
        #expect(real.state.cr0 & CR0.PE != 0)
    }

    @Test func vmxHooksSeeEveryTransitionAndRead() throws {
        final class Counts { var transitions = 0, reads = 0 }
        var seen: [Int] = []
        for reference in [false, true] {
            let counts = Counts()
            let m = try makeMachine([vmxon, vmxoff, vmxon, vmxoff, hlt].joined(separator: " "), state: vmxReady())
            m.onTransition { _, _ in counts.transitions += 1; return .proceed }
            m.onMemoryAccess(in: 0x3000...0x3003) { _, _ in counts.reads += 1; return .proceed }
            let o = m.run(RunOptions(referencePath: reference))
            #expect(o.reason == .hlt)
            seen += [counts.transitions, counts.reads]
        }
        #expect(seen == [4, 2, 4, 2])
    }
}

/// A 32-bit value as little-endian hex bytes.
private func le32(_ v: UInt32) -> String {
    (0..<4).map { i in
        let byte = (v >> (8 * UInt32(i))) & 0xFF
        return (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }.joined(separator: " ")
}
