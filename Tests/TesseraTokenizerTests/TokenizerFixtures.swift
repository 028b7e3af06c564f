import Foundation
import TesseraTokenizer

/// The fixtures made by Fixtures/make_tokenizer_fixtures.py with Hugging
/// Face's `tokenizers`: three trained tokenizer.json files and the ids,
/// pieces and decodings the package gives on the stress text and random inputs.
enum TokenizerFixtures {
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/" + name).path
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer.load(path: path(name + ".json"))
    }

    struct Case {
        let name: String
        let bytes: [UInt8]
        let text: [UInt8]
        let json: [String: Any]
        func ids(_ key: String) -> [Int32] { (json[key] as! [NSNumber]).map { Int32($0.intValue) } }
        func pieces(_ key: String) -> [String] { json[key] as! [String] }
    }

    struct Decode {
        let tokenizer: String
        let ids: [Int32]
        let text: [UInt8]
        let skip: [UInt8]
    }

    nonisolated(unsafe) static let root: [String: Any] = {
        let data = FileManager.default.contents(atPath: path("tokenizer_cases.json"))!
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func b64(_ s: Any?) -> [UInt8] { [UInt8](Data(base64Encoded: s as! String)!) }

    static var cases: [Case] {
        (root["cases"] as! [[String: Any]]).map {
            Case(name: $0["name"] as! String, bytes: b64($0["bytes"]), text: b64($0["text"]), json: $0)
        }
    }

    static var decodes: [Decode] {
        (root["decodes"] as! [[String: Any]]).map {
            Decode(tokenizer: $0["tokenizer"] as! String, ids: ($0["ids"] as! [NSNumber]).map { Int32($0.intValue) },
                   text: b64($0["text"]), skip: b64($0["skip"]))
        }
    }
}
