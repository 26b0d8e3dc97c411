#!/usr/bin/env python3
"""ftfy_corpus.py — our ftfy.fix_text (libcommon/text/clip_ftfy.c) against the real one (PyPI ftfy 6.3.1)
on a deterministic corpus (seeded): every class list, the golden prompts, strings drawn across Unicode
blocks, HTML entities, control characters and mojibake (UTF-8 read as Latin-1, Windows-1252 and ftfy's
other single-byte encodings, doubled, partial, mixed with correct text, with 0xA0 lost to spaces, with
bytes lost to U+FFFD or '?', CESU-8 and Java nulls).

  python ftfy_corpus.py DRIVER [--count N] [--seed S] [--mode bad,encoding,fix] [--show K]

DRIVER is build/tests/interop/ftfy_driver. For each mode (ftfy's badness.is_bad, fix_encoding, fix_text:
the heuristic and the mojibake repair alone pin a difference to its step) prints a line "MODE: ..." with
the corpus size and the number of mismatches, then the first K mismatches; exits 1 when there is any. The strings are passed as length-prefixed UTF-8
records (see ftfy_driver.c)."""
import argparse
import glob
import os
import random
import struct
import subprocess
import sys
import time
import unicodedata

import ftfy
import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-*, utf-8-variants)
from ftfy.badness import is_bad

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")

# Code point blocks to draw from: (first, last), covering the scripts and symbols the tokenizer meets and
# the ones ftfy's heuristics single out.
BLOCKS = [
    (0x0000, 0x001F), (0x0020, 0x007E), (0x007F, 0x009F), (0x00A0, 0x00FF), (0x0100, 0x017F),
    (0x0180, 0x024F), (0x0250, 0x02FF), (0x0300, 0x036F), (0x0370, 0x03FF), (0x0400, 0x04FF),
    (0x0530, 0x058F), (0x0590, 0x05FF), (0x0600, 0x06FF), (0x0900, 0x097F), (0x0E00, 0x0E7F),
    (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1E00, 0x1EFF), (0x1F00, 0x1FFF), (0x2000, 0x206F),
    (0x2070, 0x209F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2150, 0x218F), (0x2190, 0x21FF),
    (0x2200, 0x22FF), (0x2500, 0x257F), (0x2580, 0x259F), (0x25A0, 0x25FF), (0x2600, 0x26FF),
    (0x2700, 0x27BF), (0x3000, 0x303F), (0x3040, 0x309F), (0x30A0, 0x30FF), (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3), (0xE000, 0xF8FF), (0xFB00, 0xFB4F), (0xFE00, 0xFE0F), (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF), (0x10000, 0x1007F), (0x1D400, 0x1D7FF), (0x1F300, 0x1F5FF),
    (0x1F600, 0x1F64F), (0x1F900, 0x1F9FF), (0x1E000, 0x1E08F), (0x11F00, 0x11F5F), (0xE0000, 0xE007F),
    (0x20000, 0x2A6DF), (0x10FFF0, 0x10FFFF),
]

# Characters ftfy's mojibake heuristics are made of, to draw from often.
LATIN1 = [chr(c) for c in range(0xA0, 0x100)]
WIN1252 = list("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")
SPECIAL = list("\u00a0\u00ad\ufffd\u2028\u2029\u0085\u200b\u200d\u2060\ufeff\u202e\u0301\u0308\u0327"
               "ﬁﬂﬀﬃﬄﬅﬆĲĳŉǄǅǆǇǈǉǊǋǌǱǲǳ　ＡＢｃ１２！ｱｲｳﾞﾟ\u02bc\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f"
               "\r\n\t\x0b\x0c\x1b\x1a\x00\x7f")
WORDS = ["café", "naïve", "résumé", "Ærøskøbing", "São Paulo", "Zürich", "straße", "Ελληνικά", "Москва",
         "Łódź", "Škoda", "İstanbul", "Ağrı", "Riga Rīga", "日本語", "中文", "한국어", "🐈", "😍", "👍🏽", "🇫🇷",
         "déjà vu", "à la carte", "piñata", "jalapeño", "“quoted”", "it’s", "—dash–", "…", "€100", "™", "©",
         "±5°C", "½", "µm", "×2", "Ω", "ﬁne", "Ｆｕｌｌ", "ｶﾀｶﾅ", "a\u0301", "e\u0308", "Å", "Ø", "à", "às",
         "ação", "fácil", "Hà Nội", "ελληνικά", "привет", "þorn", "œuvre", "Œil", "ß", "\u00a0", "¿qué?",
         "¡olé!", "«guillemets»", "‹›", "•", "†‡", "‰", "√2", "≈3", "∞", "Δ", "π", "Ђ", "Ґ", "ў", "ō", "ĀĒ"]
ENCODINGS = ["latin-1", "windows-1252", "sloppy-windows-1252", "sloppy-windows-1251", "sloppy-windows-1250",
             "sloppy-windows-1253", "sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2", "macroman",
             "cp437", "windows-1251", "windows-1250", "cp850", "iso-8859-15", "koi8-r"]
ENTITY_NAMES = sorted(__import__("html.entities").entities.html5)


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]
    except (OSError, UnicodeDecodeError):
        return []


def real_texts():
    out = []
    for d in (os.path.join(ROOT, "data", "classes"), os.path.join(SHARED, "data", "classes")):
        for p in sorted(glob.glob(os.path.join(d, "*.txt"))):
            for line in read_lines(p):
                out += [line, "a photo of a " + line + ".", "a photo of a " + line + ", a type of thing."]
    g = os.path.join(SHARED, "golden", "tiny-clip")
    out += read_lines(os.path.join(g, "text_prompts.txt"))
    for line in read_lines(os.path.join(g, "tokens.tsv")):
        out += line.split("\t")
    return out


def rand_char(r):
    k = r.random()
    if k < 0.25:
        return r.choice(LATIN1)
    if k < 0.35:
        return r.choice(WIN1252)
    if k < 0.45:
        return r.choice(SPECIAL)
    while True:
        a, b = r.choice(BLOCKS)
        c = r.randint(a, b)
        if not 0xD800 <= c <= 0xDFFF:
            return chr(c)


def rand_ascii_word(r):
    return "".join(r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,?!'\"&;#<>")
                   for _ in range(r.randint(1, 8)))


def rand_unicode_text(r):
    parts = []
    for _ in range(r.randint(1, 12)):
        k = r.random()
        if k < 0.4:
            parts.append(rand_char(r))
        elif k < 0.7:
            parts.append(rand_ascii_word(r))
        else:
            parts.append(r.choice(WORDS))
    return "".join(parts)


def rand_entity(r):
    k = r.random()
    if k < 0.35:
        name = r.choice(ENTITY_NAMES)
        return "&" + name if name.endswith(";") or r.random() < 0.5 else "&" + name + ";"
    if k < 0.5:
        name = r.choice(ENTITY_NAMES).rstrip(";")
        return "&" + name.upper() + ";"
    if k < 0.75:
        c = r.choice([r.randint(0, 0x110010), r.randint(0x80, 0x9F), r.randint(0, 0x2FF), 0, 0xD800,
                      0x10FFFF, 0x110000, r.randint(0xFFF0, 0xFFFF)])
        return "&#x%X;" % c if r.random() < 0.5 else "&#%d;" % c
    if k < 0.85:  # malformed
        return r.choice(["&", "&;", "&#;", "&#x;", "&amp", "&#12", "&#x41", "&am p;", "&#xZZ;", "&nTILDE;",
                         "&" + "a" * 25 + ";", "&#" + "1" * 30 + ";", "&&amp;;", "&amp;amp;", "&#38;amp;"])
    return "&" + "".join(r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789") for _ in range(r.randint(1, 8))) + ";"


def entity_text(r):
    parts = []
    for _ in range(r.randint(1, 6)):
        parts.append(rand_entity(r) if r.random() < 0.6 else r.choice([rand_ascii_word(r), r.choice(WORDS), " "]))
    if r.random() < 0.1:
        parts.insert(r.randint(0, len(parts)), "<")
    if r.random() < 0.15:
        parts.insert(r.randint(0, len(parts)), "\n")
    return "".join(parts)


def control_text(r):
    ctl = [chr(c) for c in list(range(0, 0x20)) + list(range(0x7F, 0xA0))] + list(
        "\u2028\u2029\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u206a\u206f\ufeff\ufff9\ufffa\ufffb\ufffc\U000e0001")
    parts = []
    for _ in range(r.randint(1, 10)):
        k = r.random()
        if k < 0.4:
            parts.append(r.choice(ctl))
        elif k < 0.5:
            parts.append("\x1b[" + ";".join(str(r.randint(0, 99)) for _ in range(r.randint(0, 3))) + r.choice("mKHJAz["))
        else:
            parts.append(r.choice([rand_ascii_word(r), r.choice(WORDS)]))
    return "".join(parts)


def mis_decode(r, text, enc=None):
    enc = enc or r.choice(ENCODINGS)
    b = text.encode("utf-8")
    errors = r.choice(["replace", "replace", "ignore"]) if not enc.startswith(("sloppy", "latin")) else "strict"
    try:
        return b.decode(enc, errors=errors)
    except UnicodeDecodeError:
        return b.decode("latin-1")


def cesu8(text):
    """UTF-8 of the UTF-16 code units (CESU-8), as Java writes it, and Java's C0 80 for NUL."""
    out = b""
    for ch in text:
        c = ord(ch)
        if c == 0:
            out += b"\xc0\x80"
        elif c >= 0x10000:
            hi, lo = 0xD800 + ((c - 0x10000) >> 10), 0xDC00 + ((c - 0x10000) & 0x3FF)
            out += chr(hi).encode("utf-8", "surrogatepass") + chr(lo).encode("utf-8", "surrogatepass")
        else:
            out += ch.encode("utf-8")
    return out


def mojibake_text(r):
    base = rand_unicode_text(r) if r.random() < 0.3 else " ".join(r.choice(WORDS) for _ in range(r.randint(1, 4)))
    if r.random() < 0.3:
        base = r.choice(["a photo of a ", "the ", "", "A ", "un "]) + base + r.choice(["", ".", " photo", "!"])
    k = r.random()
    if k < 0.35:
        t = mis_decode(r, base, r.choice(["latin-1", "windows-1252", "sloppy-windows-1252"]))
    elif k < 0.55:
        t = mis_decode(r, base)
    elif k < 0.65:  # doubled (or tripled)
        t = base
        for _ in range(r.randint(2, 3)):
            t = mis_decode(r, t, r.choice(["latin-1", "windows-1252", "sloppy-windows-1252", "macroman",
                                            "sloppy-windows-1251"]))
    elif k < 0.8:  # partial: mojibake mixed with correct text
        words = base.split(" ")
        t = " ".join(mis_decode(r, w) if r.random() < 0.5 else w for w in words)
        if r.random() < 0.5:
            t = r.choice(WORDS) + " " + t + " " + r.choice(WORDS)
    elif k < 0.88:  # CESU-8 / Java nulls read as a single-byte encoding
        src = base + r.choice(["🐈", "😍", "\x00", "𝒥", "👍🏽"])
        b = cesu8(src)
        enc = r.choice(["latin-1", "sloppy-windows-1252", "windows-1252", "macroman"])
        t = b.decode(enc, errors="replace") if not enc.startswith(("sloppy", "latin")) else b.decode(enc)
    else:
        t = mis_decode(r, base, r.choice(["latin-1", "windows-1252", "sloppy-windows-1252"]))
    # damage
    d = r.random()
    if d < 0.15:
        t = t.replace("\xa0", " ")
    elif d < 0.22:
        t = "".join("\ufffd" if c >= "\x80" and r.random() < 0.2 else c for c in t)
    elif d < 0.28:
        t = "".join("?" if c >= "\x80" and r.random() < 0.2 else c for c in t)
    elif d < 0.34 and len(t) > 2:
        i = r.randint(1, len(t) - 1)
        t = t[:i] if r.random() < 0.5 else t[i:]
    elif d < 0.38:
        t = t.upper()
    elif d < 0.42:
        t = t + "\n" + mojibake_text(r)
    elif d < 0.46:
        t = t.replace(" ", "\xa0")
    elif d < 0.5:
        t = "".join(r.choice([c, c, c, rand_char(r)]) for c in t)
    return t


def random_mojibake_chars(r):
    """Short runs of the characters mojibake is made of, in random orders: the heuristics' corners."""
    pool = LATIN1 + WIN1252 + list("ВГРСвЂўΒΓΞΟβ€āÃÂ√≈‚Äâó ") + [chr(c) for c in range(0x80, 0xA0)]
    return "".join(r.choice(pool) if r.random() < 0.8 else rand_char(r) for _ in range(r.randint(1, 8)))


def corpus(count, seed):
    r = random.Random(seed)
    texts = real_texts()
    fixed = ["", " ", "\n", "café", "cafÃ©", "CAFÃ‰", "cafÃ© au lait", "Ã la mode", "voilÃ le travail",
             "â€œquotedâ€\x9d", "â€œ like this â€�", "sÃ³", "schÃ¶n", "Ã\xa0", "The Mona Lisa doesnÃƒÂ¢Ã¢â€šÂ¬Ã¢â€žÂ¢t have eyebrows.",
             "&macr;\\_(ã\x83\x84)_/&macr;", "âœ” No problems", "ÐŸÑ€Ð¸Ð²ÐµÑ‚", "Ð¿Ñ€Ð¸Ð²ÐµÑ‚", "Î•Î»Î»Î·Î½Î¹ÎºÎ¬",
             "ì•ˆë…•", "æ—¥æœ¬", "ðŸ˜\x8d", "ðŸ\x90ˆ", "Ã°Å¸ËœÂ\x8d", "\xed\xa0\xbd\xed\xb8\x8d",
             "a photo of a cafÃ©.", "ГўВЂВњtestГўВЂВќ", "вЂњtestвЂќ", "Ã¡", "Â£100", "Â\xa0", "\x80\x81\x8d",
             # restore_byte_a0's exceptions, utf-8-variants' '$' before a final newline, lossy sequences
             "Ã quele", "Ã quela casa", "Ã s vezes", "Ã  la", "fÃ cil", "Ã la mode\n", "Ã\n", "Ã© Ã ",
             "í\xa0½í¸\n", "í\xa0½í¸\x8d\n", "cafÃ© í\xa0½í¸\n", "nullÀ\x80", "nullÀ\n", "Ã©À\x80x",
             "â€œ like this â€\ufffd", "â€? test", "Ã?", "cafÃ?", "\ufffd\ufffd", "Ã\ufffd", "â\ufffd\ufffd",
             "ð\ufffd\ufffd\ufffd", "í\xa0½\ufffdí¸\x8d", "doesnÃ¢â‚¬â„¢t", "Ã¢â‚¬Å“", "\x1a", "Ã\x1a"]
    texts = fixed + texts
    gens = [(rand_unicode_text, 0.25), (entity_text, 0.12), (control_text, 0.08), (mojibake_text, 0.45),
            (random_mojibake_chars, 0.10)]
    while len(texts) < count:
        k = r.random()
        for g, p in gens:
            if k < p:
                texts.append(g(r))
                break
            k -= p
        else:
            texts.append(mojibake_text(r))
    # a few long ones: many lines, and one long line
    texts.append("\n".join(texts[i] for i in range(0, min(len(texts), 3000), 3)))
    texts.append(" ".join(texts[i].replace("\n", " ") for i in range(1, min(len(texts), 3000), 7)))
    return texts


def run_driver(driver, mode, texts):
    data = bytearray()
    for t in texts:
        b = t.encode("utf-8")
        data += struct.pack("<I", len(b)) + b
    p = subprocess.run([driver, mode], input=bytes(data), stdout=subprocess.PIPE, check=True)
    out, pos = [], 0
    buf = p.stdout
    while pos < len(buf):
        (n,) = struct.unpack_from("<I", buf, pos)
        out.append(buf[pos + 4:pos + 4 + n].decode("utf-8", "replace"))
        pos += 4 + n
    if len(out) != len(texts):
        sys.exit("ftfy_corpus: the driver returned %d records for %d strings" % (len(out), len(texts)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("--count", type=int, default=120000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--mode", default="bad,encoding,fix",
                    help="comma-separated: bad (is_bad), encoding (fix_encoding), fix (fix_text)")
    ap.add_argument("--show", type=int, default=10)
    a = ap.parse_args()
    refs = {"fix": ftfy.fix_text, "encoding": ftfy.fix_encoding, "bad": lambda s: "1" if is_bad(s) else "0"}
    modes = a.mode.split(",")
    for m in modes:
        if m not in refs:
            sys.exit("ftfy_corpus: unknown mode %r" % m)
    texts = corpus(a.count, a.seed)
    status = 0
    for mode in modes:
        t0 = time.time()
        want = [refs[mode](t) for t in texts]
        t1 = time.time()
        got = run_driver(a.driver, mode, texts)
        t2 = time.time()
        bad = [i for i in range(len(texts)) if got[i] != want[i]]
        if mode == "bad":
            what = "%d is_bad" % sum(1 for w in want if w == "1")
        else:
            what = "%d changed by ftfy" % sum(1 for i in range(len(texts)) if want[i] != texts[i])
        print("%s: ftfy %s, Python %s (Unicode %s): %d strings (%s), %d mismatches (ftfy %.1fs, ours %.1fs)"
              % (mode, ftfy.__version__, sys.version.split()[0], unicodedata.unidata_version, len(texts), what,
                 len(bad), t1 - t0, t2 - t1))
        for i in bad[:a.show]:
            print("  input %s\n    ftfy %s\n    ours %s"
                  % (ascii(texts[i][:300]), ascii(want[i][:300]), ascii(got[i][:300])))
        status |= 1 if bad else 0
    return status


if __name__ == "__main__":
    sys.exit(main())
