#!/bin/sh
# tests/cli/archive_limits.sh — what a compressed archive may cost and whether its damage is seen, through
# lt-subset --check (libcommon/data/dataset_archive.c):
#   - bounded memory: a tar.gz and a zip of about 1 MB, each holding a 1 GiB member train/a/big.jpg (zeros),
#     are refused naming the member and its size, at a peak resident size far below the member's
#     (measured with /usr/bin/time -v); with the limit (LFM_MAX_MEMBER) raised above the member, it is
#     refused as no JPEG by its first bytes, still without being held;
#   - integrity: four bytes changed inside a member of a tar.gz (the gzip CRC-32 catches it: the JPEGs
#     are stored blocks, so the data still inflates) and of a zip (the member's CRC-32), and a changed
#     gzip trailer, each refused with exit 1; the unchanged archives pass.
# The 1 GiB members are written compressed directly: one deflate segment of 1 MiB of zeros, closed with a
# full flush, repeated 1024 times, is a valid deflate stream, so nothing of 1 GiB is ever written or
# compressed here. Needs python3 (skipped without it). Prints "ok - ", "not ok - " and "skip - " lines.
set -u
export LC_ALL=C
LT=${LFM_LT_SUBSET:-bin/lt-subset}
DEMO=data/cifar10-lt
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LFM_PROGRESS=0
. tests/cli/lib.sh

if [ ! -x "$LT" ]; then
	echo "not ok - built: $LT is missing (run make first)"
	exit 1
fi
if ! command -v python3 >/dev/null; then
	echo "skip - archive limits: python3 is not installed"
	exit 0
fi

# ---- fixtures ------------------------------------------------------------------------------------
# Six real JPEGs from the demo data, as train/<class>/<file>.
mkdir -p "$T/src"
tar -xzf "$DEMO/test.tar.gz" -C "$T/src" test/airplane test/cat 2>/dev/null
mkdir -p "$T/small/train/airplane" "$T/small/train/cat"
for c in airplane cat; do
	ls "$T/src/test/$c" | head -n 3 | while read -r f; do cp "$T/src/test/$c/$f" "$T/small/train/$c/"; done
done
(cd "$T/small" && tar -cf - train | gzip -6 -n >"$T/small.tar.gz")

python3 - "$T" <<'PY'
import os, struct, sys, tarfile, zipfile, zlib
t = sys.argv[1]
GIB, MIB = 1 << 30, 1 << 20

def segment(data, final):
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)

zeros = segment(bytes(MIB), False)
zeros_crc = 0
for _ in range(GIB // (16 * MIB)):
    zeros_crc = zlib.crc32(bytes(16 * MIB), zeros_crc)

# big.tar.gz: a tar header, 1 GiB of zeros, the end blocks; one gzip member.
head = tarfile.TarInfo('train/a/big.jpg')
head.size, head.mode, head.mtime = GIB, 0o644, 0
hdr = head.tobuf(tarfile.GNU_FORMAT)
tail = bytes(1024)
crc = zlib.crc32(hdr)
for _ in range(GIB // (16 * MIB)):
    crc = zlib.crc32(bytes(16 * MIB), crc)
crc = zlib.crc32(tail, crc)
with open(os.path.join(t, 'big.tar.gz'), 'wb') as f:
    f.write(b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03')
    f.write(segment(hdr, False))
    for _ in range(GIB // MIB):
        f.write(zeros)
    f.write(segment(tail, True))
    f.write(struct.pack('<II', crc, (len(hdr) + GIB + len(tail)) & 0xffffffff))

# big.zip: one deflated member of 1 GiB of zeros, sizes in its local header.
name = b'train/a/big.jpg'
body = b''.join([zeros] * (GIB // MIB)) + segment(b'', True)
with open(os.path.join(t, 'big.zip'), 'wb') as f:
    local = struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 8, 0, 0x21, zeros_crc, len(body), GIB,
                        len(name), 0)
    f.write(local + name)
    f.write(body)
    cd_off = f.tell()
    cd = struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, 8, 0, 0x21, zeros_crc, len(body), GIB,
                     len(name), 0, 0, 0, 0, 0o100644 << 16, 0) + name
    f.write(cd)
    f.write(struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 1, 1, len(cd), cd_off, 0))

# small.zip: the same six JPEGs, stored (a change in deflated data is mostly found by inflate itself; in
# stored data only the CRC-32 finds it).
small = os.path.join(t, 'small')
with zipfile.ZipFile(os.path.join(t, 'small.zip'), 'w', zipfile.ZIP_STORED) as z:
    for root, _, files in sorted(os.walk(small)):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            z.write(p, os.path.relpath(p, small))

# stored.tar.gz: the same tar in gzip's stored blocks, as gzip makes of data that does not compress: a
# change there inflates without complaint, and only the CRC-32 at the end finds it.
tar_bytes = zlib.decompress(open(os.path.join(t, 'small.tar.gz'), 'rb').read(), 31)
c = zlib.compressobj(0, zlib.DEFLATED, 31)
open(os.path.join(t, 'stored.tar.gz'), 'wb').write(c.compress(tar_bytes) + c.flush())

def flip(src, dst, off):
    b = bytearray(open(src, 'rb').read())
    for k in range(4):
        b[off + k] ^= 0x5a
    open(dst, 'wb').write(b)

# Four bytes inside the tar.gz's compressed data, about the middle (inside a JPEG: the tar headers are a
# small part), and four in its trailer's CRC-32.
n = os.path.getsize(os.path.join(t, 'small.tar.gz'))
flip(os.path.join(t, 'small.tar.gz'), os.path.join(t, 'flipped.tar.gz'), n // 2)
flip(os.path.join(t, 'small.tar.gz'), os.path.join(t, 'trailer.tar.gz'), n - 8)
n = os.path.getsize(os.path.join(t, 'stored.tar.gz'))
flip(os.path.join(t, 'stored.tar.gz'), os.path.join(t, 'flipped-stored.tar.gz'), n // 2)
# Four bytes inside the zip's first member's data.
with zipfile.ZipFile(os.path.join(t, 'small.zip')) as z:
    i = z.infolist()[0]
    print(i.filename, file=open(os.path.join(t, 'zip_first'), 'w'))
data_off = i.header_offset + 30 + len(i.filename.encode()) + len(i.extra)
flip(os.path.join(t, 'small.zip'), os.path.join(t, 'flipped.zip'), data_off + i.compress_size // 2)
PY

# ---- peak memory ---------------------------------------------------------------------------------
# check_rss NAME LIMIT_KB ENV SOURCE ERR_RE: lt-subset --check on SOURCE (with the environment setting
# ENV, "-" for none) must exit 1 with ERR_RE on standard error and a maximum resident size under LIMIT_KB.
check_rss() {
	_name=$1 _lim=$2 _env=$3 _src=$4 _re=$5
	if [ ! -x /usr/bin/time ]; then
		echo "skip - $_name: /usr/bin/time is not installed"
		return
	fi
	[ "$_env" = - ] && _env=LFM_UNUSED=
	env "$_env" /usr/bin/time -v -o "$T/time" "$LT" --check -o "$T/o.mp" "$_src" >/dev/null 2>"$T/err"
	_rc=$?
	_kb=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$T/time")
	if [ "$_rc" != 1 ]; then
		echo "not ok - $_name: exit status $_rc, expected 1"; sed 's/^/    stderr: /' "$T/err" | head -n 5
	elif ! grep -aEq -- "$_re" "$T/err"; then
		echo "not ok - $_name: stderr has no line matching /$_re/"; sed 's/^/    stderr: /' "$T/err" | head -n 5
	elif [ -z "$_kb" ] || [ "$_kb" -ge "$_lim" ]; then
		echo "not ok - $_name: peak resident size ${_kb:-?} kB, not under $_lim kB"
	else
		echo "ok - $_name (peak resident size $_kb kB)"
	fi
}

TOO_BIG='train/a/big\.jpg: 1073741824 bytes, over the 64 MiB limit on one archive member'
check_rss "a 1 GiB member of a 1 MB tar.gz is refused, not held" 300000 - "$T/big.tar.gz" "$TOO_BIG"
check_rss "a 1 GiB member of a 1 MB zip is refused, not held" 300000 - "$T/big.zip" "$TOO_BIG"
NOT_JPEG='train/a/big\.jpg: not a JPEG file'
check_rss "under a raised limit, the tar.gz member is refused by its first bytes" 300000 LFM_MAX_MEMBER=2G \
	"$T/big.tar.gz" "$NOT_JPEG"
check_rss "under a raised limit, the zip member is refused by its first bytes" 300000 LFM_MAX_MEMBER=2G \
	"$T/big.zip" "$NOT_JPEG"

# ---- the limit and the checksums -----------------------------------------------------------------
FIRST=$(cat "$T/zip_first")
while IFS='|' read -r name want out_re err_re cmd; do
	name=$(trim "$name")
	case "$name" in '' | '#'*) continue ;; esac
	check_row "$name" "$(trim "$want")" "$(trim "$out_re")" "$(trim "$err_re")" "$(trim "$cmd")"
done <<EOF
the unchanged tar.gz passes --check       | 0 | - | - | "$LT" --check -o "$T/o.mp" "$T/small.tar.gz"
the unchanged zip passes --check          | 0 | - | - | "$LT" --check -o "$T/o.mp" "$T/small.zip"
four bytes changed in a tar.gz member     | 1 | - | flipped.tar.gz: .*corrupt gzip data | "$LT" --check -o "$T/o.mp" "$T/flipped.tar.gz"
the same without --check (the index pass) | 1 | - | flipped.tar.gz: .*corrupt gzip data | "$LT" -i 2 -o "$T/o.mp" "$T/flipped.tar.gz"
four bytes changed in stored gzip data    | 1 | - | flipped-stored.tar.gz: corrupt gzip data \(incorrect data check\), at the end | "$LT" --check -o "$T/o.mp" "$T/flipped-stored.tar.gz"
the unchanged stored tar.gz passes        | 0 | - | - | "$LT" --check -o "$T/o.mp" "$T/stored.tar.gz"
a changed gzip CRC-32 is found at the end | 1 | - | trailer.tar.gz: corrupt gzip data \(incorrect data check\), at the end of the compressed stream.*train/cat/ | "$LT" --check -o "$T/o.mp" "$T/trailer.tar.gz"
four bytes changed in a zip member        | 1 | - | flipped.zip: damaged or truncated member: ZIP bad CRC.*\($FIRST\) | "$LT" --check -o "$T/o.mp" "$T/flipped.zip"
the same without --check (the index pass) | 1 | - | ZIP bad CRC.*\($FIRST\) | "$LT" -i 2 -o "$T/o.mp" "$T/flipped.zip"
a limit below the JPEGs refuses them      | 1 | - | over the 100 bytes limit on one archive member | LFM_MAX_MEMBER=100 "$LT" --check -o "$T/o.mp" "$T/small.tar.gz"
... and --skip-bad leaves them out        | 1 | - | small.tar.gz: no samples to write | LFM_MAX_MEMBER=100 "$LT" --check --skip-bad -o "$T/o.mp" "$T/small.tar.gz"
a limit of 1M keeps them                  | 0 | - | - | LFM_MAX_MEMBER=1M "$LT" --check -o "$T/o.mp" "$T/small.zip"
a limit that is no size                   | 2 | - | LFM_MAX_MEMBER=lots: not a size | LFM_MAX_MEMBER=lots "$LT" --check -o "$T/o.mp" "$T/small.zip"
EOF
