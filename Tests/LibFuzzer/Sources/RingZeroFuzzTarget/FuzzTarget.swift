// libFuzzer entry point: the input is a blob with a one-byte header. Bits 0-2 of the header pick
// the starting mode, bit 3 the profile (i7-5600u or atom-330); the rest is machine code loaded at
// 0x1000. It runs on the fast path (with the fuzzer's DirectDecoder on) and on the reference path
// (Capstone alone); any difference, or any Swift trap, is a crash libFuzzer reports and saves.

import RingZero

/// One machine pair per profile, reset by snapshot between inputs.
final class Harness {
    let fast: Machine
    let reference: Machine
    let pristine: (Snapshot, Snapshot)
    let profile: CPUProfile

    init(profile: CPUProfile) {
        self.profile = profile
        fast = try! Machine(profile: profile)
        // The fuzzer's decoder against Capstone, as well as the fast path against the reference.
        fast.decodesCommonFormsDirectly = true
        reference = try! Machine(profile: profile)
        pristine = (fast.snapshot(), reference.snapshot())
    }

    func run(mode: OperatingMode, blob: [UInt8]) {
        let setup = MachineSetup(profile: profile, mode: mode)
        try! fast.restore(pristine.0)
        try! reference.restore(pristine.1)
        guard (try? setup.configure(fast, blob: blob)) != nil, (try? setup.configure(reference, blob: blob)) != nil else { return }
        let options = RunOptions(maxInstructions: 512, onFault: .continue)
        let a = Report(machine: fast, outcome: fast.run(options)).json
        var slow = options
        slow.referencePath = true
        let b = Report(machine: reference, outcome: reference.run(slow)).json
        if a != b {
            fatalError("fast and reference paths differ:\n\(a.formatted())\n\(b.formatted())")
        }
    }
}

nonisolated(unsafe) let harnesses = [Harness(profile: .i7_5600u), Harness(profile: .atom330)]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2, size <= 4096 else { return 0 }
    let header = data[0]
    let modes: [OperatingMode] = [.long, .protected, .compat, .real, .v8086, .long, .long, .protected]
    let blob = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    harnesses[Int(header >> 3) & 1].run(mode: modes[Int(header & 7)], blob: blob)
    return 0
}

// SwiftPM links an executable's entry point as `<target>_main`; libFuzzer's driver takes over
// from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("RingZeroFuzzTarget_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
