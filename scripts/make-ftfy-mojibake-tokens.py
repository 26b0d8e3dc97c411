#!/usr/bin/env python3
"""Writes tests/unit/data/ftfy_mojibake_tokens.tsv: mojibake prompts ("cafÃ©" for "café", doubled, in
Windows-1251/1253 and MacRoman, with lost 0xA0 bytes and lost characters, CESU-8 emoji) and the ids the
real pipeline gives them: open_clip's SimpleTokenizer, which is OpenAI's simple_tokenizer.py (basic_clean
= ftfy.fix_text, html.unescape twice, strip; whitespace_clean; lower; the same BPE file), with PyPI's
ftfy 6.3.1. Each line: the prompt as a JSON string, a tab, the ids SOT ... EOT separated by spaces (the
format of the golden tokens.tsv). test_clip_tokenizer.c checks our tokenizer against every line.
(transformers 5's CLIPTokenizer does not apply ftfy: it would keep the mojibake.)
Run with the interop environment's python:  python scripts/make-ftfy-mojibake-tokens.py > tests/unit/data/ftfy_mojibake_tokens.tsv"""
import json
import sys

import ftfy
import ftfy.bad_codecs  # noqa: F401
from open_clip.tokenizer import SimpleTokenizer

assert ftfy.__version__ == "6.3.1", ftfy.__version__


def moji(text, enc="latin-1"):
    return text.encode("utf-8").decode(enc, errors="replace")


PROMPTS = [
    "café", moji("café"), moji("café", "windows-1252"), "a photo of a " + moji("café") + ".",
    moji("a photo of a CAFÉ"), moji(moji("café")), moji(moji(moji("naïve résumé"))),
    moji("a photo of a piñata, a type of toy."), moji("a jalapeño"), moji("São Paulo"),
    moji("à la carte").replace("\xa0", " "), moji("voilà le travail").replace("\xa0", " "),
    moji("“quoted” text", "windows-1252"), moji("“quoted”", "sloppy-windows-1252"),
    moji("it’s a dog", "windows-1252"), moji("a photo of Москва", "windows-1251"),
    moji("Ελληνικά", "windows-1253"), moji("Zürich", "macroman"), moji("Łódź", "windows-1250"),
    moji("a photo of a 🐈", "windows-1252"), moji("😍 ok", "sloppy-windows-1252"),
    b"\xed\xa0\xbd\xed\xb8\x8d cat".decode("latin-1"),
    "caf" + moji("é") + " and caf\u00e9", "straße " + moji("straße"), moji("日本語 text"),
    moji("€100 and ™", "windows-1252"), "doesn" + moji(moji("’", "windows-1252"), "windows-1252") + "t",
    moji("Ærøskøbing"), "&eacute; " + moji("é"), moji("İstanbul", "windows-1254"), moji("Rīga", "windows-1257"),
]

tok = SimpleTokenizer()
print("# ftfy 6.3.1 mojibake prompts and their ids from open_clip's SimpleTokenizer (OpenAI's"
      " simple_tokenizer.py); made by scripts/make-ftfy-mojibake-tokens.py")
for p in PROMPTS:
    fixed = ftfy.fix_text(p)
    ids = [tok.sot_token_id] + tok.encode(p) + [tok.eot_token_id]
    print(json.dumps(p) + "\t" + " ".join(str(i) for i in ids))
    print("#   " + json.dumps(p, ensure_ascii=False) + " -> " + json.dumps(fixed, ensure_ascii=False), file=sys.stderr)
