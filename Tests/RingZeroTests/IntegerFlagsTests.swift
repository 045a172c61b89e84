import Testing
@testable import RingZero

/// Flags of the integer instructions, each expectation worked out by hand from the SDM's
/// definitions (CF carry/borrow out of the operand size, OF signed overflow, AF carry out of
/// bit 3, PF even parity of the low byte).
@Suite struct IntegerFlagsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var code: String
        var rax: UInt64
        var rbx: UInt64 = 0
        var rcx: UInt64 = 0
        var initialFlags: UInt64 = 0x2
        var result: UInt64
        var flags: UInt64
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // ADD: carries out of every operand size.
        Case(name: "add al: 7f+1 signed overflow", code: "00 d8", rax: 0x7F, rbx: 1, result: 0x80, flags: RFLAGS.OF | RFLAGS.SF | RFLAGS.AF),
        Case(name: "add al: ff+1 carry out", code: "00 d8", rax: 0xFF, rbx: 1, result: 0x00, flags: RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.ZF),
        Case(name: "add al: 80+80 carry and overflow", code: "00 d8", rax: 0x80, rbx: 0x80, result: 0, flags: RFLAGS.CF | RFLAGS.PF | RFLAGS.ZF | RFLAGS.OF),
        Case(name: "add ax: ffff+1 keeps bits 63:16", code: "66 01 d8", rax: 0x1234_0000_FFFF, rbx: 1, result: 0x1234_0000_0000, flags: RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.ZF),
        Case(name: "add eax: ffffffff+1 zero-extends", code: "01 d8", rax: .max, rbx: 1, result: 0, flags: RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.ZF),
        Case(name: "add rax: int64 max + 1", code: "48 01 d8", rax: 0x7FFF_FFFF_FFFF_FFFF, rbx: 1, result: 0x8000_0000_0000_0000, flags: RFLAGS.OF | RFLAGS.SF | RFLAGS.AF | RFLAGS.PF),
        Case(name: "add rax: carry out of bit 63", code: "48 01 d8", rax: .max, rbx: 2, result: 1, flags: RFLAGS.CF | RFLAGS.AF),
        Case(name: "adc al with CF: ff+0+1", code: "10 d8", rax: 0xFF, rbx: 0, initialFlags: 0x3, result: 0, flags: RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.ZF),
        // SUB / CMP / SBB: borrow.
        Case(name: "sub al: 0-1 borrow", code: "28 d8", rax: 0, rbx: 1, result: 0xFF, flags: RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.SF),
        Case(name: "sub al: 80-1 signed overflow", code: "28 d8", rax: 0x80, rbx: 1, result: 0x7F, flags: RFLAGS.OF | RFLAGS.AF),
        Case(name: "sub rax: 0-1", code: "48 29 d8", rax: 0, rbx: 1, result: .max, flags: RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.SF),
        Case(name: "cmp al leaves al", code: "38 d8", rax: 5, rbx: 5, result: 5, flags: RFLAGS.ZF | RFLAGS.PF),
        Case(name: "sbb eax with CF: 0-0-1", code: "19 d8", rax: 0, rbx: 0, initialFlags: 0x3, result: 0xFFFF_FFFF, flags: RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.SF),
        // INC/DEC keep CF; NEG sets CF unless the operand is 0.
        Case(name: "inc al: ff wraps, CF kept", code: "fe c0", rax: 0xFF, initialFlags: 0x3, result: 0, flags: RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.ZF),
        Case(name: "dec al: 80 overflows", code: "fe c8", rax: 0x80, result: 0x7F, flags: RFLAGS.OF | RFLAGS.AF),
        Case(name: "neg al: 0", code: "f6 d8", rax: 0, result: 0, flags: RFLAGS.ZF | RFLAGS.PF),
        Case(name: "neg al: 80", code: "f6 d8", rax: 0x80, result: 0x80, flags: RFLAGS.CF | RFLAGS.SF | RFLAGS.OF),
        // Logic: CF and OF cleared.
        Case(name: "and eax clears CF/OF", code: "21 d8", rax: 0xF0, rbx: 0x0F, initialFlags: 0x803, result: 0, flags: RFLAGS.ZF | RFLAGS.PF),
        Case(name: "xor rax sign", code: "48 31 d8", rax: 0, rbx: 0x8000_0000_0000_0001, result: 0x8000_0000_0000_0001, flags: RFLAGS.SF),
        // Shifts: count 0 changes nothing, counts past the width.
        Case(name: "shl al by 0 keeps flags", code: "d2 e0", rax: 0x81, rcx: 0, initialFlags: 0x8D7, result: 0x81, flags: RFLAGS.status),
        Case(name: "shl al by 1", code: "d2 e0", rax: 0x80, rcx: 1, result: 0, flags: RFLAGS.CF | RFLAGS.ZF | RFLAGS.PF | RFLAGS.OF),
        Case(name: "shl al by 8: last bit out is bit 0", code: "d2 e0", rax: 0x01, rcx: 8, result: 0, flags: RFLAGS.CF | RFLAGS.ZF | RFLAGS.PF | RFLAGS.OF),
        Case(name: "shl al by 9: beyond the width", code: "d2 e0", rax: 0xFF, rcx: 9, result: 0, flags: RFLAGS.ZF | RFLAGS.PF),
        Case(name: "shl eax by 32 is a count of 0", code: "d3 e0", rax: 1, rcx: 32, initialFlags: 0x2, result: 1, flags: 0),
        Case(name: "shl rax by 63", code: "48 d3 e0", rax: 3, rcx: 63, result: 0x8000_0000_0000_0000, flags: RFLAGS.CF | RFLAGS.SF | RFLAGS.PF),
        Case(name: "shr al by 1: OF is old MSB", code: "d2 e8", rax: 0x81, rcx: 1, result: 0x40, flags: RFLAGS.CF | RFLAGS.OF),
        Case(name: "sar al by 1", code: "d2 f8", rax: 0x81, rcx: 1, result: 0xC0, flags: RFLAGS.CF | RFLAGS.SF | RFLAGS.PF),
        Case(name: "sar al by 20 fills with the sign", code: "d2 f8", rax: 0x80, rcx: 20, result: 0xFF, flags: RFLAGS.CF | RFLAGS.SF | RFLAGS.PF),
        Case(name: "rol al by 1", code: "d2 c0", rax: 0x81, rcx: 1, result: 0x03, flags: RFLAGS.CF | RFLAGS.OF),
        Case(name: "ror al by 1", code: "d2 c8", rax: 0x01, rcx: 1, result: 0x80, flags: RFLAGS.CF | RFLAGS.OF),
        Case(name: "rol al by 8: value kept, CF from bit 0", code: "d2 c0", rax: 0x81, rcx: 8, result: 0x81, flags: RFLAGS.CF),
        // Multiply: CF = OF = high half significant.
        Case(name: "mul bl: 80*2", code: "f6 e3", rax: 0x80, rbx: 2, result: 0x100, flags: RFLAGS.CF | RFLAGS.OF),
        Case(name: "imul eax, ebx overflow", code: "0f af c3", rax: 0x4000_0000, rbx: 2, result: 0x8000_0000, flags: RFLAGS.CF | RFLAGS.OF),
        Case(name: "imul eax, ebx: -1*-1", code: "0f af c3", rax: 0xFFFF_FFFF, rbx: 0xFFFF_FFFF, result: 1, flags: 0),
        Case(name: "imul rax, rbx, 3", code: "48 6b c3 03", rax: 0, rbx: 5, result: 15, flags: 0),
        // BT: CF is the bit.
        Case(name: "bt eax, 31", code: "0f ba e0 1f", rax: 0x8000_0000, result: 0x8000_0000, flags: RFLAGS.CF),
        Case(name: "bts rax, rbx (offset 64 wraps to 0)", code: "48 0f ab d8", rax: 0, rbx: 64, result: 1, flags: 0),
    ]

    @Test(arguments: cases)
    func flagsAndResult(_ c: Case) throws {
        let (m, outcome) = try run(c.code) { m in
            m.state[.rax] = c.rax
            m.state[.rbx] = c.rbx
            m.state[.rcx] = c.rcx
            m.state.rflags = c.initialFlags
        }
        #expect(outcome.reason == .end)
        #expect(m.state[.rax] == c.result)
        #expect(status(m) == c.flags)
    }

    @Test func divideErrors() throws {
        // div bl with a quotient of 100h: #DE, state unchanged.
        let (m1, o1) = try run("f6 f3") { $0.state[.rax] = 0x100; $0.state[.rbx] = 1 }
        #expect(o1.fault?.vector == .DE && o1.fault?.errorCode == nil)
        #expect(m1.state[.rax] == 0x100 && m1.state.rip == 0x1000)
        // div by zero.
        let (_, o2) = try run("48 f7 f3") { $0.state[.rax] = 5; $0.state[.rbx] = 0 }
        #expect(o2.fault?.vector == .DE)
        // idiv: -2^63 / -1 overflows.
        let (_, o3) = try run("48 f7 fb") { $0.state[.rdx] = .max; $0.state[.rax] = 1 << 63; $0.state[.rbx] = .max }
        #expect(o3.fault?.vector == .DE)
        // 32-bit idiv of 8000000000000000H by -1: quotient 2^63 does not fit, #DE (not a trap).
        let (_, o6) = try run("f7 f9") { $0.state[.rdx] = 0x8000_0000; $0.state[.rax] = 0; $0.state[.rcx] = 0xFFFF_FFFF }
        #expect(o6.fault?.vector == .DE)
        // idiv bl: 7 / -2 = -3 remainder 1.
        let (m4, o4) = try run("f6 fb") { $0.state[.rax] = 7; $0.state[.rbx] = 0xFE }
        #expect(o4.reason == .end)
        #expect(m4.state[.rax] & 0xFFFF == 0x01FD)
        // div rbx: 2^64 / 2.
        let (m5, _) = try run("48 f7 f3") { $0.state[.rdx] = 1; $0.state[.rax] = 0; $0.state[.rbx] = 2 }
        #expect(m5.state[.rax] == 1 << 63 && m5.state[.rdx] == 0)
    }
}
