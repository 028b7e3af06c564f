import Testing
import Tessera

/// Issue 26, losing a node: the line MPILiveness prints names the lost ranks,
/// their node and host, and the collective the survivors wait for them in.
/// (scripts/test_cluster.sh kills a real node and checks the same line end to end.)
@Suite struct LostRanksReportTests {
    @Test func ranges_joinConsecutiveRanks() {
        #expect(LostRanksReport.ranges([3, 2]) == "2-3")
        #expect(LostRanksReport.ranges([0, 2, 3, 5]) == "0, 2-3, 5")
        #expect(LostRanksReport.ranges([7]) == "7")
    }

    @Test func aWholeNodeLost_namesItsRanksNodeAndTheOperation() {
        let report = LostRanksReport(
            lost: [3, 2], size: 4, hosts: ["node0", "node0", "node1", "node1"],
            states: [0: "0,2|group dp[0, 2] allReduce #57 (waiting 0.3 s)", 1: "0,1|group tp[0, 1] allReduce #12 (waiting 0.3 s)"])
        #expect(report.line == "tessera: error: lost ranks 2-3 of 4 on node 1 (host node1, all 2 of its ranks): the "
                + "processes ended without a goodbye or stopped answering (killed, crashed or the node went down); they stopped in group "
                + "dp[0, 2] allReduce #57 (waiting 0.3 s) on rank 0 (rank 1 waits elsewhere); ending the job (exit status 4)")
    }

    @Test func oneRankLostBetweenOperations_saysNobodyWaitsYet() {
        let report = LostRanksReport(lost: [1], size: 3, hosts: ["a", "a", "b"], states: [0: "|", 2: "|"])
        #expect(report.line.hasPrefix("tessera: error: lost rank 1 of 3 on node 0 (host a, 1 of its 2 ranks): the process ended"))
        #expect(report.line.contains("no surviving rank waits for them in a collective yet"))
    }
}
