"""Seeded generators of text that stresses DeepSeek V3.2's pre-tokenizer, one per class.

Used by the parity tests (costkit vs Hugging Face `tokenizers`) and by bench/tokenizer.py.
Every generator takes a `random.Random` and returns one string; `corpus(n, seed)` returns
n strings spread evenly over the classes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

WORDS = (
    "the of and to in is was for that on as with by it at from his an were are which this be "
    "or has had not but one first new their also after its who been two more other time "
    "system model token price cost request response don't it's we'll they're O'Brien "
    "naïve café résumé façade Zürich Ærø straße"
).split()
PUNCT = list(".,;:!?-—–…()[]{}\"'`~@#$%^&*_+=|\\/<>«»“”‘’")
ADDED = (
    "<｜begin▁of▁sentence｜>",
    "<｜end▁of▁sentence｜>",
    "<｜User｜>",
    "<｜Assistant｜>",
    "<think>",
    "</think>",
    "｜DSML｜",
    "<｜tool▁calls▁begin｜>",
    "<｜tool▁sep｜>",
    "<｜place▁holder▁no▁7｜>",
    "<dsml:",
    "</dsml:",
    "<|EOT|>",
)
# near misses, and shapes of added tokens that are not one (some hide one inside)
ADDED_PARTIAL = (
    "<｜User",
    "User｜>",
    "<think",
    "think>",
    "<｜",
    "｜>",
    "</thin",
    "｜DSML",
    "<｜DSML｜>",
    "<｜bogus｜>",
    "<｜User｜",
    "<dsml",
    "<|EOT|",
    "<｜\n｜>",
)


def _pick(rng: random.Random, items, n: int) -> list:
    return [rng.choice(items) for _ in range(n)]


def _chars(rng: random.Random, lo: int, hi: int, n: int) -> str:
    return "".join(chr(rng.randint(lo, hi)) for _ in range(n))


def english(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 6)):
        words = _pick(rng, WORDS, rng.randint(2, 18))
        words[0] = words[0].capitalize()
        if rng.random() < 0.3:
            words.insert(
                rng.randrange(len(words)),
                rng.choice(["USA", "NASA", "iPhone", "e.g.", "i.e.", "Mr."]),
            )
        out.append(" ".join(words) + rng.choice([".", "!", "?", "...", ":", ";", ""]))
    return rng.choice([" ", "  ", "\n", "\n\n"]).join(out)


CODE = (
    "def {n}(x: int) -> list[str]:\n    return [str(i) for i in range(x) if i % 2 == 0]\n",
    "function {n}(a, b) {{\n\treturn a?.b ?? b[0] + `${{a}}`;\n}}\n",
    "fn {n}<'a>(s: &'a str) -> Option<&'a str> {{ s.split_once('=').map(|(k, _)| k) }}\n",
    "func {n}(ctx context.Context) error {{\n\tif err := do(); err != nil {{ return err }}\n}}\n",
    '#include <stdio.h>\nint {n}(void) {{ printf("%d\\n", 42); return 0; }}\n',
    "SELECT id, SUM(cost) AS total FROM usage WHERE ts >= '2025-01-01' GROUP BY 1;\n",
    "for f in *.log; do grep -c 'ERROR' \"$f\" >> {n}.txt; done  # count\n",
    '<div class="{n}"><a href="/x?a=1&amp;b=2">link</a></div>\n',
    "    {n} = {{'k': [1, 2.5e-3, None, True], \"v\": (a<<2)|b}}\r\n",
    "x+=1;y-=2;z*=3;w/=4;q**=5;r//=6;s%=7;t&=8;u|=9;v^=10;  // ops\n",
    "@decorator\nclass {n}(Base):\n\t'''Doc.'''\n\t__slots__ = ()\n",
    "let {n} = vec![0u8; 1024]; // TODO(me): 0xFF_FF, 1_000_000, 3.14f32\n",
)


def code(rng: random.Random) -> str:
    name = rng.choice(["f", "parse_json", "getUserById", "_x1", "Σum", "数据", "fooBar2"])
    body = "".join(rng.choice(CODE).format(n=name) for _ in range(rng.randint(1, 4)))
    return rng.choice(["", "    ", "\t", "\n"]) + body


def _json_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.randint(-(10**12), 10**12)
    if kind == 1:
        return round(rng.uniform(-1e6, 1e6), rng.randint(0, 8))
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.choice([english(rng)[:40], "日本語テキスト", "ключ", "emoji 😀", 'a"b\\c\n'])
    if kind == 4:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        rng.choice(["id", "name", "tokens", "cost_usd", "model", "価格", "x-y"])
        + str(i): _json_value(rng, depth + 1)
        for i in range(rng.randint(0, 4))
    }


def json_text(rng: random.Random) -> str:
    return json.dumps(
        _json_value(rng), ensure_ascii=rng.random() < 0.3, indent=rng.choice([None, 1, 2, 4, "\t"])
    )


def numbers(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 8)):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 40)))
        form = rng.randrange(12)
        if form == 0:
            digits = f"{int(digits):,}"
        elif form == 1:
            digits = f"{int(digits):_}"
        elif form == 2:
            digits = digits[:3] + "." + digits[3:] + rng.choice(["", "e-7", "E+10", "%"])
        elif form == 3:
            digits = rng.choice(["$", "€", "-", "+", "#", "¥"]) + digits
        elif form == 4:
            digits = f"{rng.randint(1900, 2100)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        elif form == 5:
            digits = "".join(chr(0xFF10 + int(d)) for d in digits)  # fullwidth digits
        elif form == 6:
            digits = "".join(chr(0x0660 + int(d)) for d in digits)  # Arabic-Indic
        elif form == 7:
            digits = digits + rng.choice(["²", "³", "½", "¾", "Ⅻ", "①", "〇", "𝟘𝟙"])
        elif form == 8:
            digits = " ".join(digits[i : i + 3] for i in range(0, len(digits), 3))
        elif form == 9:
            digits = digits + rng.choice(["abc", "th", "px", "万", "円", "km"])
        parts.append(digits)
    return rng.choice([" ", ", ", "\n", "", " + ", "\t"]).join(parts)


def chinese(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 10)):
        pick = rng.randrange(10)
        if pick < 5:
            out.append(_chars(rng, 0x4E00, 0x9FA5, rng.randint(1, 12)))  # inside the range
        elif pick == 5:
            out.append(_chars(rng, 0x9FA6, 0x9FFF, rng.randint(1, 3)))  # after 龥: outside
        elif pick == 6:
            out.append(_chars(rng, 0x3400, 0x4DBF, rng.randint(1, 3)))  # extension A
        elif pick == 7:
            out.append(_chars(rng, 0x20000, 0x2A6DF, rng.randint(1, 3)))  # extension B
        elif pick == 8:
            out.append(rng.choice("，。！？、；：“”‘’（）《》【】…—·〇々〆　"))
        else:
            out.append(rng.choice([" ", "123", "AI", "GPT-4", "\n", "2025年", "%"]))
    return "".join(out)


def japanese(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 10)):
        pick = rng.randrange(9)
        if pick < 3:
            out.append(_chars(rng, 0x3040, 0x309F, rng.randint(1, 8)))  # hiragana block
        elif pick < 5:
            out.append(_chars(rng, 0x30A0, 0x30FF, rng.randint(1, 8)))  # katakana block
        elif pick == 5:
            out.append(_chars(rng, 0xFF65, 0xFF9F, rng.randint(1, 5)))  # halfwidth: outside
        elif pick == 6:
            out.append(_chars(rng, 0x31F0, 0x31FF, rng.randint(1, 3)))  # extensions: outside
        elif pick == 7:
            kana_punct = rng.choice("「」『』、。・ー〜！？゛゜ゝゞヽヾ")
            out.append(kana_punct + _chars(rng, 0x4E00, 0x9FA5, 2))
        else:
            out.append(rng.choice([" ", "ＡＢＣ", "abc", "1", "\n", "😀", "\u3099", "\u309a"]))
    return "".join(out)


def korean(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 8)):
        pick = rng.randrange(6)
        if pick < 3:
            out.append(_chars(rng, 0xAC00, 0xD7A3, rng.randint(1, 6)))
        elif pick == 3:
            out.append(_chars(rng, 0x1100, 0x11FF, rng.randint(1, 4)))  # conjoining jamo
        elif pick == 4:
            out.append(_chars(rng, 0x3131, 0x318E, rng.randint(1, 4)))  # compatibility jamo
        else:
            out.append(rng.choice([" ", ".", "?", "1,000원", "\n", "(", ")"]))
    return "".join(out)


def arabic(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 8)):
        word = _chars(rng, 0x0621, 0x064A, rng.randint(1, 7))
        if rng.random() < 0.5:
            word = "".join(
                ch + (_chars(rng, 0x064B, 0x065F, 1) if rng.random() < 0.4 else "") for ch in word
            )
        out.append(
            word
            + rng.choice(["", "،", "؛", "؟", "\u0640", "\u200f", "\u200e", "٣٤٥", "۱۲", " ", "ـ"])
        )
    return rng.choice([" ", "  ", "\n"]).join(out)


EMOJI = (
    "😀",
    "🙂",
    "👍",
    "👍🏽",
    "❤️",
    "❤",
    "🇯🇵",
    "🇺🇸",
    "🏳️‍🌈",
    "👨‍👩‍👧‍👦",
    "👩🏻‍💻",
    "1️⃣",
    "#️⃣",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "🧑‍🤝‍🧑",
    "☕",
    "✅",
    "🔥🔥",
    "🫠",
    "🦀",
)


def emoji(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 10)):
        out.append(
            rng.choice(EMOJI)
            if rng.random() < 0.7
            else rng.choice([" ", "ok", "\u200d", "\ufe0f", "!", "1", "日本", "\n"])
        )
    return "".join(out)


def combining(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 8)):
        base = rng.choice(["a", "e", "Z", " ", "1", ".", "中", "あ", "", "\n", "ß", "ж"])
        marks = _chars(rng, 0x0300, 0x036F, rng.randint(1, 5))
        if rng.random() < 0.2:
            marks += rng.choice(["\u20dd", "\u20e3", "\u0903", "\u1ab0", "\ufe20", "\U0001d167"])
        out.append(base + marks)
    return "".join(out)


CONTROL = (
    "\x00",
    "\x01",
    "\x07",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x80",
    "\x85",
    "\x9f",
    "\xa0",
    "\xad",
    "\u061c",
    "\u180e",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u2028",
    "\u2029",
    "\u2060",
    "\u2066",
    "\ufeff",
    "\ufff9",
    "\U000e0001",
    "\t",
    "\r",
    "\n",
)


def controls(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 12)):
        out.append(
            rng.choice(CONTROL)
            if rng.random() < 0.6
            else rng.choice(["a", "word", " ", "1", "!", "中", "\u0301", "é"])
        )
    return "".join(out)


def newlines(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 12)):
        out.append(
            rng.choice(
                [
                    "\r\n",
                    "\n",
                    "\r",
                    "\n\n",
                    "\r\n\r\n",
                    " \n",
                    "\t\r\n",
                    "\n ",
                    " \r\n  ",
                    "\n\t\t",
                ]
            )
            if rng.random() < 0.5
            else rng.choice(["line", "x.", "}", "# h", "12", "中文", "!!", "- item", ""])
        )
    return "".join(out)


SPACES = (
    " ",
    "\t",
    "\u00a0",
    "\u3000",
    "\u2003",
    "\u2009",
    "\u202f",
    "\u205f",
    "\u1680",
    "\f",
    "\v",
)


def whitespace(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 5)):
        run = "".join(
            rng.choice(SPACES) if rng.random() < 0.2 else " " for _ in range(rng.randint(1, 200))
        )
        tail = rng.choice(["", "word", "1234", "中文", "!", "\n", "\u0301", "ア", "\x01"])
        out.append(run + tail)
    return "".join(out)


def random_unicode(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 30)):
        plane = rng.random()
        if plane < 0.7:
            cp = rng.randint(0x20, 0xFFFD)
        elif plane < 0.9:
            cp = rng.randint(0x10000, 0x3FFFF)
        else:
            cp = rng.randint(0x40000, 0x10FFFF)
        if 0xD800 <= cp <= 0xDFFF:
            cp = 0xFFFD
        out.append(chr(cp))
    return "".join(out)


def added_tokens(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 8)):
        out.append(
            rng.choice(ADDED)
            if rng.random() < 0.5
            else rng.choice(ADDED_PARTIAL + ("Hello", " world", "\n", "1", "日本", "<", ">"))
        )
    return "".join(out)


def markdown(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 8)):
        lines.append(
            rng.choice(["# ", "## ", "- ", "* ", "1. ", "> ", "| ", "```", "    ", ""])
            + english(rng)[:60]
            + rng.choice(["", " |", "**", "`", "  "])
        )
    return "\n".join(lines)


def urls(rng: random.Random) -> str:
    return (
        rng.choice(["https://", "http://", "ftp://", "mailto:", ""])
        + rng.choice(["example.com", "api.deepseek.com", "例え.jp", "xn--bcher-kva.de"])
        + "".join(
            rng.choice(
                ["/v1/chat/completions", "?q=a+b&x=1", "#frag", "/%E4%B8%AD", "/~u", "/a_b-c.d"]
            )
            for _ in range(rng.randint(0, 4))
        )
    )


def _mixers(rng: random.Random) -> list[Callable[[random.Random], str]]:
    return [rng.choice(CLASSES[:-1]) for _ in range(rng.randint(2, 5))]


def mixed(rng: random.Random) -> str:
    return "".join(gen(rng)[: rng.randint(1, 80)] for gen in _mixers(rng))


CLASSES: tuple[Callable[[random.Random], str], ...] = (
    english,
    code,
    json_text,
    numbers,
    chinese,
    japanese,
    korean,
    arabic,
    emoji,
    combining,
    controls,
    newlines,
    whitespace,
    random_unicode,
    added_tokens,
    markdown,
    urls,
    mixed,
)


def corpus(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """n (class name, text) pairs, round-robin over CLASSES, reproducible from `seed`."""
    rng = random.Random(seed)
    return [(CLASSES[i % len(CLASSES)].__name__, CLASSES[i % len(CLASSES)](rng)) for i in range(n)]
