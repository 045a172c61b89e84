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

    public init() throws(DecoderError) {
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
                let mnemonic = withUnsafeBytes(of: p.mnemonic) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
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
