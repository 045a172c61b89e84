/// The starting state of a generated fuzz case, as the generator's choices: a small value the
/// fast path can hash and apply, and that renders as the `ringzero run --state` file a
/// reproducer carries. The state file is the definition: the fast path applies, field by field,
/// what configuring a machine from `json` gives (`FuzzWorker.apply`), and the fuzzer's full
/// checks compare the two.
public struct StartingState: Hashable, Sendable {
    public var mode: OperatingMode
    /// CPL written to the file (nil: the mode's default).
    public var cpl: UInt8?
    public var cr0: UInt64
    public var cr4: UInt64
    public var rflags: UInt64
    /// IA32_FEATURE_CONTROL written to the file (nil: the profile's reset value).
    public var featureControl: UInt64?
    /// VMX root operation with the VMXON region at 0x3000, optionally a current VMCS at 0x6000
    /// and the dual-monitor treatment.
    public var vmxRoot = false
    public var currentVMCS = false
    public var dualMonitor = false
    public var smxOperation = false
    public var a20m = false
    /// Whether a TXT chipset is present (nil: the profile's default).
    public var txtChipset: Bool?
    /// The profile's VMCS revision identifier and 2^MAXPHYADDR, for the VMXON regions and
    /// pointers in memory (the same for every case of a profile).
    var revision: UInt32
    var physicalLimit: UInt64

    /// Where the VMXON operands live: pointer slots at 0x2000 (each naming one kind of region:
    /// aligned, misaligned, at MAXPHYADDR, wrong revision, bit-31 revision, the last page below
    /// MAXPHYADDR, beyond 4 GiB) and the regions at 0x3000-0x5000.
    var memory: [(address: UInt64, bytes: [UInt8])] {
        let pointers: [UInt64] = [0x3000, 0x3001, physicalLimit, 0x4000, 0x5000, physicalLimit - 0x1000, 0x3000 | (1 << 32)]
        return [
            (0x2000, pointers.flatMap { Self.le($0, 8) }),
            (0x3000, Self.le(UInt64(revision), 4)),
            (0x4000, Self.le(UInt64(revision &+ 1), 4)),
            (0x5000, Self.le(UInt64(revision | 0x8000_0000), 4)),
        ]
    }

    /// The state file.
    public var json: JSONValue {
        var top: [(String, JSONValue)] = [("mode", .string(mode.rawValue))]
        if let cpl { top.append(("cpl", .int(UInt64(cpl)))) }
        top.append(("registers", .object([("cr0", .hex(cr0)), ("cr4", .hex(cr4)), ("rflags", .hex(rflags))])))
        top.append(("msrs", .object(featureControl.map { [("0x3a", .hex($0))] } ?? [])))
        if vmxRoot {
            var vmx: [(String, JSONValue)] = [("operation", .string("root")), ("vmxonPointer", .hex(0x3000 as UInt64))]
            if currentVMCS { vmx.append(("currentVmcs", .hex(0x6000 as UInt64))) }
            if dualMonitor { vmx.append(("dualMonitor", .bool(true))) }
            top.append(("vmx", .object(vmx)))
        }
        if smxOperation { top.append(("smx", .object([("operation", .bool(true))]))) }
        if a20m { top.append(("signals", .object([("a20m", .bool(true))]))) }
        if let txtChipset { top.append(("platform", .object([("txtChipset", .bool(txtChipset))]))) }
        top.append(("memory", .array(memory.map {
            .object([("address", .string("0x" + String($0.address, radix: 16))), ("hex", .string(Self.hex($0.bytes)))])
        })))
        return .object(top)
    }

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
