import Foundation
import Testing
import RingZero

/// The conformance suite (`Fixtures/conformance`, format in its README): every case runs on each
/// profile it names, through the library and through the `ringzero` CLI, and every report field
/// it expects must match. A failure names the case and the SDM rule it checks.
@Suite struct ConformanceTests {
    static let root = packageRoot.appendingPathComponent("Fixtures/conformance")
    static let allProfiles = ["i7-5600u", "i7-6700k", "atom-330"]

    struct Case: CustomTestStringConvertible, Sendable {
        var file: URL
        var id: String { String(file.lastPathComponent.dropLast(".case.json".count)) }
        var directory: URL { file.deletingLastPathComponent() }
        var testDescription: String { id }
    }

    static let cases: [Case] = {
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? []
        return files.filter { $0.lastPathComponent.hasSuffix(".case.json") }.sorted { $0.path < $1.path }.map(Case.init)
    }()

    /// What one case file says.
    struct Manifest {
        var rule: String
        var blob: String
        var state: String
        var profiles: [String]
        var expect: [(String, JSONValue)]
        var expectByProfile: [String: [(String, JSONValue)]]

        init(_ c: Case) throws {
            let json = try JSONValue.parse(String(contentsOf: c.file, encoding: .utf8))
            guard case .string(let rule)? = json["rule"], !rule.isEmpty,
                  case .string(let blob)? = json["blob"], case .string(let state)? = json["state"],
                  case .object(let expect)? = json["expect"]
            else { throw ManifestError(message: "\(c.id): needs rule, blob, state and expect") }
            self.rule = rule
            self.blob = blob
            self.state = state
            self.expect = expect
            if case .array(let names)? = json["profiles"] {
                profiles = names.compactMap { if case .string(let s) = $0 { s } else { nil } }
            } else {
                profiles = ConformanceTests.allProfiles
            }
            expectByProfile = [:]
            if case .object(let byProfile)? = json["expectByProfile"] {
                for (profile, fields) in byProfile {
                    guard case .object(let pairs) = fields else { throw ManifestError(message: "\(c.id): expectByProfile.\(profile)") }
                    expectByProfile[profile] = pairs
                }
            }
        }

        /// `expect` with the profile's overrides applied.
        func fields(for profile: String) -> [(String, JSONValue)] {
            var fields = expect
            for (key, value) in expectByProfile[profile] ?? [] {
                if let i = fields.firstIndex(where: { $0.0 == key }) { fields[i].1 = value } else { fields.append((key, value)) }
            }
            return fields
        }
    }

    struct ManifestError: Error, CustomStringConvertible { var message: String; var description: String { message } }

    /// The report value at a dotted path (`registers.rax`, `faults.0.vector`).
    static func value(in report: JSONValue, at path: String) -> JSONValue? {
        var current: JSONValue? = report
        for part in path.split(separator: ".") {
            if let index = Int(part), case .array(let items)? = current {
                current = index < items.count ? items[index] : nil
            } else {
                current = current?[String(part)]
            }
        }
        return current
    }

    /// The differences between a report and a case's expectations, one line each. A path that
    /// leads nowhere (a field of a null `fault`, an MSR absent from `msrs`) reads as null, as
    /// jq's `getpath` has it, so `check.sh` and this runner agree.
    static func mismatches(_ report: JSONValue, _ expected: [(String, JSONValue)]) -> [String] {
        expected.compactMap { path, want in
            let got = value(in: report, at: path) ?? .null
            return got == want ? nil : "\(path): expected \(want.formatted()), got \(got.formatted())"
        }
    }

    @Test func suiteCoversEveryFamily() throws {
        #expect(Self.cases.count >= 100, "the suite has \(Self.cases.count) cases")
        let families = Set(Self.cases.map { $0.directory.lastPathComponent })
        for family in ["mov-cr", "clts-lmsw", "msr", "getsec", "vmxon", "vmxoff", "rflags", "profiles"] {
            #expect(families.contains(family), "no cases for \(family)")
        }
        var ids = Set<String>()
        for c in Self.cases {
            #expect(ids.insert(c.id).inserted, "case id \(c.id) is used twice")
            let m = try Manifest(c)
            let source = c.directory.appendingPathComponent(String(m.blob.dropLast(".bin".count)) + ".S")
            #expect(FileManager.default.fileExists(atPath: source.path), "\(c.id): \(m.blob) has no assembly source")
            for p in m.profiles { #expect(Self.allProfiles.contains(p), "\(c.id): unknown profile \(p)") }
            // A case that runs nowhere or expects nothing checks nothing.
            #expect(!m.profiles.isEmpty && !m.expect.isEmpty, "\(c.id): needs a profile and an expected field")
        }
    }

    /// Every built-in profile as a JSON-loaded profile: what `ringzero profiles show` prints,
    /// read back. The rules must hold for profiles loaded from JSON exactly as for the built-ins.
    static let jsonProfiles: [String: CPUProfile] = Dictionary(uniqueKeysWithValues: CPUProfile.builtins.map { p in
        (p.name, try! CPUProfile(jsonText: p.json.formatted()))
    })

    @Test(arguments: cases)
    func caseHoldsOnEveryProfile(_ c: Case) throws {
        try check(c, profiles: { CPUProfile.builtin(named: $0) })
    }

    @Test(arguments: cases)
    func caseHoldsWithProfilesLoadedFromJSON(_ c: Case) throws {
        try check(c, profiles: { Self.jsonProfiles[$0] })
    }

    func check(_ c: Case, profiles: (String) -> CPUProfile?) throws {
        let m = try Manifest(c)
        let blob = [UInt8](try Data(contentsOf: c.directory.appendingPathComponent(m.blob)))
        let state = try JSONValue.parse(String(contentsOf: c.directory.appendingPathComponent(m.state), encoding: .utf8))
        for name in m.profiles {
            let profile = try #require(profiles(name))
            let machine = try MachineSetup(profile: profile, state: state, stateDirectory: c.directory.path).makeMachine(blob: blob)
            let report = Report(machine: machine, outcome: machine.run()).json
            let wrong = Self.mismatches(report, m.fields(for: name))
            #expect(wrong.isEmpty, "\(c.id) [\(name)] — \(m.rule)\n  \(wrong.joined(separator: "\n  "))")
        }
    }

    /// The CLI path an outside suite uses: `ringzero run BLOB --state S --profile P --format json`.
    @Test(arguments: cases)
    func caseHoldsThroughTheCLI(_ c: Case) throws {
        let m = try Manifest(c)
        let name = try #require(m.profiles.first)
        let r = try CLITests().ringzero(["run", c.directory.appendingPathComponent(m.blob).path,
                                         "--state", c.directory.appendingPathComponent(m.state).path,
                                         "--profile", name, "--format", "json"])
        #expect(r.status == 0, "\(c.id): exit \(r.status): \(r.stderr)")
        let report = try JSONValue.parse(r.stdout)
        let wrong = Self.mismatches(report, m.fields(for: name))
        #expect(wrong.isEmpty, "\(c.id) [\(name)] — \(m.rule)\n  \(wrong.joined(separator: "\n  "))")
    }
}
