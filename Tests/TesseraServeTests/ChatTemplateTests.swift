import Foundation
import Testing
import Tessera
import TesseraServe

/// The chat template: the default when the model has none, the model's own
/// `chat_template.json` when present, and a one-line error for a malformed one.
@Suite struct ChatTemplateTests {
    static func directory(_ contents: String?) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-chat-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if let contents { try contents.write(toFile: dir + "/" + ChatTemplate.fileName, atomically: true, encoding: .utf8) }
        return dir
    }

    @Test func theDefaultTheModelsOwnAndAMalformedOne() throws {
        let none = try Self.directory(nil)
        defer { try? FileManager.default.removeItem(atPath: none) }
        #expect(try ChatTemplate.load(directory: none) == .default)

        let own = try Self.directory(#"{"message": "<|{role}|>\n{content}\n", "generation": "<|assistant|>\n"}"#)
        defer { try? FileManager.default.removeItem(atPath: own) }
        #expect(try ChatTemplate.load(directory: own) == ChatTemplate(message: "<|{role}|>\n{content}\n", generation: "<|assistant|>\n"))

        for bad in [#"{"message": "no placeholder", "generation": ""}"#, #"{"message": "{content}"}"#, "not json"] {
            let dir = try Self.directory(bad)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let message: String
            do { _ = try ChatTemplate.load(directory: dir); message = "" } catch { message = "\(error)" }
            #expect(message.contains("is not a chat template") && message.contains("{content}"), "\(bad): \(message)")
        }
    }
}
