import Foundation
import Testing
import Tessera

/// The cores a process may run on, read from Linux's CPU list format.
@Suite struct ProcessCoresTests {
    @Test func cpuListsCountTheirCores() {
        #expect(ProcessCores.count("0-3,8,10-11") == 7)
        #expect(ProcessCores.count("1") == 1)
        #expect(ProcessCores.count(" 0-1\n") == 2)
        for bad in ["", "3-1", "a", "0-", "1,,2"] { #expect(ProcessCores.count(bad) == nil, "\(bad)") }
    }

    /// This process may run on at least one core and no more than the machine has.
    @Test func availableCoresAreWithinTheMachine() {
        #expect((1...ProcessInfo.processInfo.activeProcessorCount).contains(ProcessCores.available))
    }
}
