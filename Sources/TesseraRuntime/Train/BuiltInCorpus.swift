import TesseraKernels

/// A deterministic English-like corpus that ships inside the binary, so the
/// default training run needs no download and no data file.
///
/// Sentences come from a small grammar (subject, verb, object, optional place
/// or time) with capitals and full stops, grouped into paragraphs, plus short
/// counting drills ("one, two, three."). A byte-level model first learns the
/// word spellings, then the grammar: its samples visibly turn from noise into
/// sentences within a few hundred steps.
public enum BuiltInCorpus {
    static let subjects = ["the cat", "a dog", "the old man", "my sister", "the queen", "a small bird",
                           "the farmer", "our teacher", "the young king", "a tired horse", "the children",
                           "the baker", "a sailor", "the wise woman", "his brother", "the fox"]
    static let verbs = ["sees", "likes", "finds", "follows", "calls", "helps", "watches", "keeps",
                        "paints", "carries", "remembers", "feeds", "meets", "loves"]
    static let objects = ["the red ball", "a green apple", "the river", "an old book", "the moon",
                          "a warm loaf of bread", "the little boat", "the garden", "a silver coin",
                          "the black hat", "the tall tree", "a letter", "the blue door"]
    static let endings = ["", "", "", " in the morning", " at night", " by the sea", " near the hill",
                          " every day", " in the rain", " after supper", " with great care"]
    static let numbers = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

    /// The corpus as bytes: `bytes` long (default 600 kB), the same on every machine for a given seed.
    public static func generate(bytes: Int = 600_000, seed: UInt64 = 1) -> [UInt8] {
        let rng = Philox(seed: seed, stream: "corpus")
        var counter: UInt32 = 0
        func pick<T>(_ items: [T]) -> T {
            counter &+= 1
            return items[Int(rng.block(counter, 0, 0, 0).0 % UInt32(items.count))]
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 200)
        var sentencesInParagraph = 0
        while out.count < bytes {
            var sentence: String
            if pick(Array(0..<8)) == 0 {
                let start = pick(Array(0..<6)), length = 3 + pick(Array(0..<4))
                sentence = numbers[start..<min(numbers.count, start + length)].joined(separator: ", ") + "."
            } else {
                sentence = "\(pick(subjects)) \(pick(verbs)) \(pick(objects))\(pick(endings))."
            }
            sentence = sentence.prefix(1).uppercased() + sentence.dropFirst()
            out += Array(sentence.utf8)
            sentencesInParagraph += 1
            if sentencesInParagraph >= 3 + pick(Array(0..<4)) {
                out += Array("\n\n".utf8)
                sentencesInParagraph = 0
            } else {
                out.append(UInt8(ascii: " "))
            }
        }
        return Array(out.prefix(bytes))
    }
}
