"""Makes the tokenizer fixtures the Swift tests compare against.

Run from this directory with Hugging Face's `tokenizers` installed
(`pip install tokenizers`; made with 0.23.3):

    python3 make_tokenizer_fixtures.py

No real tokenizer (GPT-2's, Llama 3's) can be downloaded where this was made,
so it trains small ones *in their formats* with `tokenizers` on a corpus
generated here (text written for this file, no outside data):
  gpt2_style.json     ByteLevel(use_regex) pre-tokenizer, <|endoftext|>
  gpt2_prefix.json    the same with add_prefix_space=true
  llama3_style.json   Sequence[Split(Llama 3 regex), ByteLevel], ignore_merges,
                      TemplateProcessing adding <|begin_of_text|>
and hf_trained.json, trained by `tokenizers`' BpeTrainer on trainer_corpus.txt
(written here: the stress text and generated lines) for the Swift trainer to
match merge for merge; and writes tokenizer_cases.json: for each input (the Unicode stress text,
random byte strings, random scalar strings) the ids `tokenizers` gives, the
pieces each split pattern gives, and decodings of random ids.
"""
import base64, json, random
from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders, processors, trainers

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

STRESS = "".join([
    "The quick brown fox jumps over the lazy dog. Don't stop; we'll see, they're here, I'VE, you'D, 'ſ, O'Neil's\n",
    "東京は日本の首都です。北京欢迎你！서울특별시에 오신 것을 환영합니다 ひらがな カタカナ\n",
    "Emoji: 👩‍👩‍👧‍👦 family, 👍🏽 thumbs, 🏳️‍🌈 flag, 🧑🏿‍💻 coder, ❤️ heart, 🇯🇵 regional\n",
    "Combining: e\u0301 n\u0303o Z\u0351\u0352a\u0353l\u0354g\u0355o\u0356 a\u0308\u0304 \u0915\u094d\u0937 \n",
    "RTL: مرحبا بالعالم \u200fשלום עולם\u200e (mixed אבג 123 abc) ١٢٣٤٥\n",
    "Controls:\x00\x01\x07\x1b[31mred\x1b[0m\x7f\x1c\x1d\x1e\x1f tab\there\r\nCRLF\r\n\x0b\x0c end\n",
    "Spaces:" + " " * 100 + "x" + "\t" * 7 + "y \n\n\n   \n\t\t  z" + " " * 33 + "\n" + " " * 5,
    "\u00a0nbsp\u2003em\u3000ideo\u0085nel\u2028ls\u2029ps\u200bzw\u202fnn\u205fmm\u1680og\ufeffbom\n",
    "Numbers: 1234567890 3.14159 1,000,000 0x1F ½ ⅞ Ⅻ ² ₃ 𝟙𝟚𝟛 ١٢٣\n",
    "Long: " + "a" * 300 + " " + "Pneumonoultramicroscopicsilicovolcanoconiosis" * 12 + " " + "ab" * 150 + "\n",
    "Specials: hello<|endoftext|>world <|begin_of_text|>x<|end_of_text|><|endoftext|> <|endoftext",
    "Punct: ...!!!??? --- ''' \"\"\" ``` ((( ))) [[ ]] {{}} ~~~ @@@ ### $$$ %%% ^^^ &&& *** ___ +++ === ||| \\\\ /// <<< >>>\n",
    "Math: ∀x∈ℝ: x²≥0 ⇒ √x ∑∫∂ ≠ ≈ ∞ 𝔸𝔹ℂ 𝒜",
])

def corpus():
    rng = random.Random(7)
    words = ("the of and to in is was he that it for on as with his they be at one have this from or had by word but what "
             "some we can out other were all there when up use your how said an each she which do their time if will way about "
             "many then them write would like so these her long make thing see him two has look more day could go come did "
             "number sound no most people my over know water than call first who may down side been now find any new work part "
             "king queen lord thou thee thy hath doth shall heaven night love death world").split()
    lines = [STRESS]
    for _ in range(1500):
        n = rng.randint(3, 14)
        s = " ".join(rng.choice(words) for _ in range(n))
        if rng.random() < 0.3: s = s.capitalize()
        s += rng.choice([".", ",", "!", "?", ";", ":", "", " 1999.", " 42", "'s", " don't"])
        lines.append(s)
    lines.append("東京 北京 서울 Москва Αθήνα القاهرة ירושלים " * 20)
    return lines

def train(pre, vocab, specials):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    return tok

def main():
    gpt2 = train(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), 700, ["<|endoftext|>"])
    gpt2.post_processor = processors.ByteLevel(trim_offsets=False)
    gpt2.save("gpt2_style.json")
    prefix = Tokenizer.from_file("gpt2_style.json")
    prefix.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    prefix.save("gpt2_prefix.json")

    llama = train(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), 800,
        ["<|begin_of_text|>", "<|end_of_text|>"])
    bos = llama.token_to_id("<|begin_of_text|>")
    llama.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    data = json.loads(llama.to_str())
    data["model"]["ignore_merges"] = True            # as Llama 3's tokenizer.json has it
    llama = Tokenizer.from_str(json.dumps(data))
    llama.save("llama3_style.json")

    with open("trainer_corpus.txt", "w") as f:
        f.write("\n".join(corpus()[:700]) + "\n")
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.decoder = decoders.ByteLevel()
    hf.train(["trainer_corpus.txt"], trainers.BpeTrainer(
        vocab_size=600, min_frequency=2, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    hf.save("hf_trained.json")

    rng = random.Random(11)
    inputs = [("stress", STRESS.encode()), ("empty", b""), ("one space", b" "), ("only specials", b"<|endoftext|><|begin_of_text|>"),
              ("invalid utf8", b"\xff\xfe abc \xc3\x28 \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 \xc0\xaf \x80\x80 ok")]
    for k in range(24):
        inputs.append((f"random bytes {k}", bytes(rng.randrange(256) for _ in range(rng.randint(1, 160)))))
    ranges = [(0x20, 0x7E), (0x00, 0x20), (0xA0, 0x17F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF),
              (0x900, 0x97F), (0x3040, 0x30FF), (0x4E00, 0x4F00), (0xAC00, 0xAD00), (0x1F300, 0x1F64F),
              (0x300, 0x36F), (0x2000, 0x206F), (0x2150, 0x218F), (0xFF00, 0xFF60)]
    for k in range(24):
        s = "".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(rng.randint(1, 120)))
        inputs.append((f"random scalars {k}", s.encode()))

    cases = []
    for name, raw in inputs:
        text = raw.decode("utf-8", errors="replace")   # tokenizers takes str: ill-formed bytes become U+FFFD
        case = {"name": name, "bytes": base64.b64encode(raw).decode(), "text": base64.b64encode(text.encode()).decode(),
                "pieces_gpt2": [p for p, _ in pre_tokenizers.Split(Regex(GPT2), behavior="isolated").pre_tokenize_str(text)],
                "pieces_llama3": [p for p, _ in pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated").pre_tokenize_str(text)]}
        for key, tok in [("gpt2_style", gpt2), ("gpt2_prefix", prefix), ("llama3_style", llama)]:
            case[key] = tok.encode(text, add_special_tokens=False).ids
            case[key + "+special"] = tok.encode(text, add_special_tokens=True).ids
        cases.append(case)

    decodes = []
    for key, tok in [("gpt2_style", gpt2), ("llama3_style", llama)]:
        n = tok.get_vocab_size(with_added_tokens=True)
        for k in range(12):
            ids = [rng.randrange(n) for _ in range(rng.randint(1, 40))]
            decodes.append({"tokenizer": key, "ids": ids,
                            "text": base64.b64encode(tok.decode(ids, skip_special_tokens=False).encode()).decode(),
                            "skip": base64.b64encode(tok.decode(ids, skip_special_tokens=True).encode()).decode()})
    with open("tokenizer_cases.json", "w") as f:
        json.dump({"cases": cases, "decodes": decodes}, f, ensure_ascii=True, separators=(",", ":"))

if __name__ == "__main__":
    main()
