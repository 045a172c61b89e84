import CCapstone

/// One instruction as Capstone decoded it, with its text, before lowering.
public struct DecodedInstruction: Sendable {
    public var address: UInt64
    public var bytes: [UInt8]
    public var mnemonic: String
    public var operands: String
    public var text: String { operands.isEmpty ? mnemonic : "\(mnemonic) \(operands)" }
}

/// The Capstone bridge: one handle per code mode, with detail on, and one reusable `cs_insn`
/// each, so decoding allocates nothing per instruction on the Capstone side.
///
/// Not thread-safe: each `Machine` owns its own decoder.
public final class Decoder {
    private var handles: [csh] = []
    private var insns: [UnsafeMutablePointer<cs_insn>] = []

    /// Capstone 4.0.2 builds some tables lazily on first use without a lock (the sorted
    /// implicit-register table of X86_insn_reg_intel among them): two threads decoding their
    /// first instructions at once can see a half-sorted table and lose implicit operands. The
    /// first Decoder runs this once, under Swift's one-time initialization, which makes every
    /// other thread wait until it is done.
    private static let capstoneWarmedUp: Bool = {
        let samples: [[UInt8]] = [[0xA9, 1, 0, 0, 0], [0xA1, 0, 0x10, 0, 0], [0x0F, 0x32], [0xF3, 0xAA], [0x50], [0xF6, 0xF3]]
        for mode in [CS_MODE_16, CS_MODE_32, CS_MODE_64] {
            var handle: csh = 0
            guard cs_open(CS_ARCH_X86, mode, &handle) == CS_ERR_OK else { continue }
            cs_option(handle, CS_OPT_DETAIL, Int(CS_OPT_ON.rawValue))
            for sample in samples {
                var insn: UnsafeMutablePointer<cs_insn>?
                let count = sample.withUnsafeBufferPointer { cs_disasm(handle, $0.baseAddress, $0.count, 0x1000, 1, &insn) }
                if count > 0 { cs_free(insn, count) }
            }
            cs_close(&handle)
        }
        return true
    }()

    public init() throws(DecoderError) {
        _ = Self.capstoneWarmedUp
        for mode in CodeMode.allCases {
            var handle: csh = 0
            let csMode: cs_mode
            switch mode {
            case .bits16: csMode = CS_MODE_16
            case .bits32: csMode = CS_MODE_32
            case .bits64: csMode = CS_MODE_64
            }
            guard cs_open(CS_ARCH_X86, csMode, &handle) == CS_ERR_OK else {
                throw DecoderError(description: "Capstone could not open an x86 \(mode.bits)-bit handle")
            }
            cs_option(handle, CS_OPT_DETAIL, Int(CS_OPT_ON.rawValue))
            handles.append(handle)
            insns.append(cs_malloc(handle))
        }
    }

    deinit {
        for (i, insn) in insns.enumerated() { cs_free(insn, 1); var h = handles[i]; cs_close(&h) }
    }

    /// Decode one instruction from `bytes` (at most 15 are looked at) and hand Capstone's
    /// record to `body`; nil when Capstone rejects the bytes.
    func withInstruction<R>(
        _ bytes: UnsafeRawBufferPointer, address: UInt64, mode: CodeMode,
        _ body: (UnsafePointer<cs_insn>) -> R
    ) -> R? {
        let handle = handles[Int(mode.rawValue)]
        let insn = insns[Int(mode.rawValue)]
        guard let base = bytes.baseAddress else { return nil }
        var code: UnsafePointer<UInt8>? = base.assumingMemoryBound(to: UInt8.self)
        var size = min(bytes.count, 15)
        var addr = address
        guard cs_disasm_iter(handle, &code, &size, &addr, insn) else { return nil }
        return body(UnsafePointer(insn))
    }

    /// Decode and describe one instruction (the listing and report path, not the hot path).
    public func describe(_ bytes: [UInt8], address: UInt64, mode: CodeMode) -> DecodedInstruction? {
        bytes.withUnsafeBytes { raw in
            withInstruction(raw, address: address, mode: mode) { insn in
                let p = insn.pointee
                let length = Int(p.size)
                var mnemonic = withUnsafeBytes(of: p.mnemonic) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                // Capstone 4.0.2 names 16-bit VMXON "vmptrld"; say what the bytes are.
                if mnemonic == "vmptrld" && Lowering(insn, mode: mode).lower(costs: .standard).handler == .vmxon {
                    mnemonic = "vmxon"
                }
                let operands = withUnsafeBytes(of: p.op_str) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                return DecodedInstruction(address: address, bytes: Array(bytes.prefix(length)), mnemonic: mnemonic, operands: operands)
            }
        }
    }

    /// The Capstone name of an instruction id.
    public func name(ofInstruction id: UInt32) -> String {
        guard let c = cs_insn_name(handles[0], id) else { return "?" }
        return String(cString: c)
    }
}

public struct DecoderError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
