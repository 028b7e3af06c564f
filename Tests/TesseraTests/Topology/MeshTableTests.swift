import Testing
import Tessera

/// `tessera mesh`'s table: columns as wide as their content, node rules, and
/// an order that leaves out size-1 dimensions.
@Suite struct MeshTableTests {
    /// tp 8 on 16 ranks: the widest group list, "[8,9,10,11,12,13,14,15]", is printed whole.
    @Test func groupColumnsAreSizedToTheirWidestList() throws {
        var layout = Layout()
        layout.dp = 2; layout.tp = 8
        let text = MeshTable.render(try DeviceMesh(layout))
        #expect(text.contains("[8,9,10,11,12,13,14,15]"))
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("15 ") }
        #expect(rows.count == 1)
        #expect(rows.first?.contains("| [8,9,10,11,12,13,14,15]") == true)
        #expect(rows.first?.contains("| [7,15]") == true)
    }

    /// 64 ranks (the seeds' 4×4×4 mesh) on 8 ranks per node: a rule before each of nodes 1…7.
    @Test func nodeBoundariesAreRuledBetweenNodes() throws {
        var layout = Layout()
        layout.dp = 4; layout.pp = 4; layout.tp = 4
        let text = MeshTable.render(try DeviceMesh(layout), ranksPerNode: 8)
        let lines = text.split(separator: "\n").map(String.init)
        let rules = lines.filter { $0.hasPrefix("=") }
        #expect(rules.count == 7)
        #expect(rules.last?.hasSuffix(" node 7") == true)
        // The row after "node 1"'s rule is rank 8, and its node column says 1.
        let i = lines.firstIndex { $0.hasSuffix(" node 1") }!
        #expect(lines[i + 1].split(separator: " ").prefix(2) == ["8", "1"])
    }

    /// `--order dp,pp,tp` (cp left out) is dp,pp,tp with cp outermost, and gives the same groups
    /// as the full order; a repeated or unknown name is still refused.
    @Test func anOrderMayLeaveOutDimensions() throws {
        let base = try Layout(name: "dp2xpp2xtp2")
        let short = try GivenSettings(configFile: nil, words: ["--order", "dp,pp,tp"], table: Layout.table).applied(to: base)
        #expect(short.order == [.cp, .dp, .pp, .tp])
        let full = try GivenSettings(configFile: nil, words: ["--order", "cp,dp,pp,tp"], table: Layout.table).applied(to: base)
        #expect(try DeviceMesh(short).allGroups(along: [.pp]) == DeviceMesh(full).allGroups(along: [.pp]))
        #expect(try DeviceMesh(short).allGroups(along: [.pp]) == [[0, 2], [1, 3], [4, 6], [5, 7]])
        #expect(throws: (any Error).self) {
            try GivenSettings(configFile: nil, words: ["--order", "dp,dp,tp"], table: Layout.table).applied(to: base)
        }
        #expect(throws: (any Error).self) {
            try GivenSettings(configFile: nil, words: ["--order", "dp,xx"], table: Layout.table).applied(to: base)
        }
    }
}
