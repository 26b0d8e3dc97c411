#!/usr/bin/python3
"""Writes tests/unit/data/ftfy_upper_entities.tsv: the all-caps HTML entities that ftfy 6.3's
unescape_html decodes (chardata._build_html_entities: for every HTML5 name that ends in ';' and is all
lower case, '&' + NAME.upper() when html.unescape leaves that text alone, decoded as char.upper()),
computed with CPython's own html module. One line per entity: the name without '&', a tab, the code
points in hex of what fix_text makes of it: the decoding, then the character-level steps that follow
unescape_html in ftfy's fix_and_explain and can touch it (fix_latin_ligatures: &IJLIG; -> IJ;
uncurl_quotes: &LDQUO; -> "; NFC), re-stated here from ftfy's chardata tables.
test_clip_ftfy.c checks clip_ftfy.c against every line."""
import html
import html.entities
import re
import sys
import unicodedata

# ftfy 6.3 chardata: LIGATURES, SINGLE_QUOTE_RE, DOUBLE_QUOTE_RE
LIGATURES = {0x132: "IJ", 0x133: "ij", 0x149: "\u02bcn", 0x1F1: "DZ", 0x1F2: "Dz", 0x1F3: "dz",
             0x1C4: "D\u017d", 0x1C5: "D\u017e", 0x1C6: "d\u017e", 0x1C7: "LJ", 0x1C8: "Lj", 0x1C9: "lj",
             0x1CA: "NJ", 0x1CB: "Nj", 0x1CC: "nj", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl",
             0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u017ft", 0xFB06: "st"}
SINGLE = re.compile("[\u02bc\u2018-\u201b]")
DOUBLE = re.compile("[\u201c-\u201f]")


def after_unescape(text):
    while True:
        orig = text
        text = text.translate(LIGATURES)
        text = SINGLE.sub("'", DOUBLE.sub('"', text))
        text = unicodedata.normalize("NFC", text)
        if text == orig:
            return text

out = sys.argv[1] if len(sys.argv) > 1 else "tests/unit/data/ftfy_upper_entities.tsv"
rows = []
for name, char in html.entities.html5.items():
    if name.endswith(";") and name == name.lower():
        upper = "&" + name.upper()
        if html.unescape(upper) == upper:
            fixed = after_unescape(char.upper())
            rows.append((name.upper(), " ".join("%X" % ord(c) for c in fixed)))
with open(out, "w") as f:
    for name, cps in sorted(rows):
        f.write(f"{name}\t{cps}\n")
print(f"{out}: {len(rows)} entities", file=sys.stderr)
