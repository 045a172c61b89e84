import Foundation
import Testing
import RingZero

/// Every `Fixtures/**/NAME.fixture.json` names a blob, how to run it, and for each profile the
/// expected report; the run goes through the public library API only.
@Suite struct FixtureTests {
    struct Run: CustomTestStringConvertible, Sendable {
        var manifest: URL
        var index: Int
        var testDescription: String { "\(manifest.lastPathComponent) #\(index)" }
    }

    static let runs: [Run] = {
        let root = packageRoot.appendingPathComponent("Fixtures")
        let files = (FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? [])
            .filter { $0.lastPathComponent.hasSuffix(".fixture.json") }
            .sorted { $0.path < $1.path }
        return files.flatMap { url -> [Run] in
            guard let text = try? String(contentsOf: url, encoding: .utf8), let json = try? JSONValue.parse(text),
                  case .array(let runs)? = json["runs"] else { return [] }
            return runs.indices.map { Run(manifest: url, index: $0) }
        }
    }()

    @Test func fixturesExist() {
        #expect(Self.runs.count >= 3)
    }

    @Test(arguments: runs)
    func fixtureMatchesItsExpectedReport(_ run: Run) throws {
        let dir = run.manifest.deletingLastPathComponent()
        let manifest = try JSONValue.parse(String(contentsOf: run.manifest, encoding: .utf8))
        guard case .string(let blobName)? = manifest["blob"], case .array(let runs)? = manifest["runs"],
              case .string(let profileName)? = runs[run.index]["profile"], case .string(let expectName)? = runs[run.index]["expect"]
        else {
            Issue.record("malformed manifest \(run.manifest.path)")
            return
        }
        let rule = manifest["rule"]
        #expect(rule != nil, "a fixture states the SDM rule it checks")
        let blob = [UInt8](try Data(contentsOf: dir.appendingPathComponent(blobName)))
        let profile = try #require(CPUProfile.builtin(named: profileName))
        var mode = OperatingMode.long
        if case .string(let m)? = manifest["mode"], let parsed = OperatingMode(rawValue: m) { mode = parsed }
        var state: JSONValue?
        // A run may name its own state file; otherwise the manifest's applies.
        if case .string(let stateName)? = runs[run.index]["state"] ?? manifest["state"] {
            state = try JSONValue.parse(String(contentsOf: dir.appendingPathComponent(stateName), encoding: .utf8))
        }
        let machine = try MachineSetup(profile: profile, mode: mode, state: state, stateDirectory: dir.path).makeMachine(blob: blob)
        let report = Report(machine: machine, outcome: machine.run())
        let expected = try JSONValue.parse(String(contentsOf: dir.appendingPathComponent(expectName), encoding: .utf8))
        // Name the top-level fields that differ rather than printing both reports whole.
        if case .object(let got) = report.json, case .object(let want) = expected {
            let keys = Set(got.map(\.0)).union(want.map(\.0)).sorted()
            let differing = keys.filter { key in got.first { $0.0 == key }?.1 != want.first { $0.0 == key }?.1 }
            #expect(differing.isEmpty, "\(expectName): these fields differ: \(differing); got\n\(report.jsonText)")
        } else {
            #expect(report.json == expected, "\(expectName): got\n\(report.jsonText)")
        }
    }
}
