import Foundation
import Tessera

/// How `/v1/chat/completions` turns messages into the prompt bytes the
/// model continues: each message rendered through `message` ({role} and
/// {content} replaced), in order, then `generation` (the cue for the
/// assistant's reply). Tessera's models are byte-level and trained on plain
/// text, so the default is plain text too:
///
///     System: You are terse.\n
///     User: Hello\n
///     Assistant:
///
/// A model may carry its own in `chat_template.json` beside its weights:
/// `{"message": "<|{role}|>\n{content}\n", "generation": "<|assistant|>\n"}`
/// (checked on load: both strings, `message` naming {content}; roles are
/// capitalised in the default only).
public struct ChatTemplate: Sendable, Equatable {
    public var message: String
    public var generation: String
    /// Whether {role} is written capitalised ("User" for "user").
    public var capitalizeRoles: Bool

    public static let `default` = ChatTemplate(message: "{role}: {content}\n", generation: "Assistant:", capitalizeRoles: true)
    /// The file a model directory may hold its template in.
    public static let fileName = "chat_template.json"

    public init(message: String, generation: String, capitalizeRoles: Bool = false) {
        self.message = message; self.generation = generation; self.capitalizeRoles = capitalizeRoles
    }

    /// The template stored beside the weights at `directory`, or the default when there is none.
    /// A file that is there but malformed is a one-line `ConfigError`.
    public static func load(directory: String) throws -> ChatTemplate {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else { return .default }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let message = object["message"] as? String, let generation = object["generation"] as? String,
              message.contains("{content}") else {
            throw ConfigError("'\(path)' is not a chat template: expected a JSON object with strings \"message\" "
                              + "(containing {content}, optionally {role}) and \"generation\"")
        }
        return ChatTemplate(message: message, generation: generation)
    }

    /// The prompt for `messages`.
    func render(_ messages: [ChatMessage]) -> String {
        var out = ""
        for m in messages {
            let role = capitalizeRoles ? m.role.prefix(1).uppercased() + m.role.dropFirst() : m.role
            out += message.replacingOccurrences(of: "{role}", with: role).replacingOccurrences(of: "{content}", with: m.content)
        }
        return out + generation
    }
}
