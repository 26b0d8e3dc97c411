/* html_unescape.c — see html_unescape.h. */
#include "text/html_unescape.h"

static int entity_cmp(const uint32_t *name, size_t len, const char *key)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char k = (unsigned char)key[i];
		if (k == 0)
			return 1;
		if (name[i] != k)
			return name[i] < k ? -1 : 1;
	}
	return key[len] ? -1 : 0;
}

const html_entity *html_entity_find(const uint32_t *name, size_t len)
{
	size_t lo = 0, hi = html_entities_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entity_cmp(name, len, html_entities[mid].name);
		if (c == 0)
			return &html_entities[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* _replace_charref for a number (values past U+10FFFF arrive as 0x110000). Returns 0 or 1 code point. */
static size_t numeric_charref(uint32_t num, uint32_t *out)
{
	for (size_t i = 0; i < html_invalid_charrefs_count; i++)
		if (html_invalid_charrefs[i].number == num) {
			*out = html_invalid_charrefs[i].cp;
			return 1;
		}
	if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
		*out = 0xFFFD;
		return 1;
	}
	size_t lo = 0, hi = html_invalid_codepoints_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (html_invalid_codepoints[mid] == num)
			return 0;
		if (html_invalid_codepoints[mid] < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	*out = num;
	return 1;
}

static int hexval(uint32_t c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (int)((c | 0x20) - 'a' + 10);
	return -1;
}

size_t html_unescape(const uint32_t *s, size_t n, uint32_t *out)
{
	size_t m = 0, i = 0;
	while (i < n) {
		if (s[i] != '&') {
			out[m++] = s[i++];
			continue;
		}
		size_t j = i + 1;
		if (j < n && s[j] == '#') {
			int hex = j + 2 < n && (s[j + 1] | 0x20) == 'x' && hexval(s[j + 2]) >= 0;
			int dec = j + 1 < n && s[j + 1] >= '0' && s[j + 1] <= '9';
			if (!hex && !dec) { /* "&#" not followed by a number: no reference */
				out[m++] = s[i++];
				continue;
			}
			size_t k = hex ? j + 2 : j + 1;
			uint32_t num = 0;
			for (; k < n; k++) {
				int d = hex ? hexval(s[k]) : (s[k] >= '0' && s[k] <= '9' ? (int)(s[k] - '0') : -1);
				if (d < 0)
					break;
				uint64_t v = (uint64_t)num * (hex ? 16 : 10) + (uint64_t)d;
				num = v > 0x10FFFF ? 0x110000 : (uint32_t)v; /* saturate: any larger value reads the same */
			}
			if (k < n && s[k] == ';')
				k++;
			m += numeric_charref(num, out + m);
			i = k;
			continue;
		}
		/* A name: 1..32 characters other than \t \n \f space < & # ;, then an optional ';'. */
		size_t e = j;
		while (e < n && e - j < 32 && s[e] != '\t' && s[e] != '\n' && s[e] != '\f' && s[e] != ' ' &&
		       s[e] != '<' && s[e] != '&' && s[e] != '#' && s[e] != ';')
			e++;
		if (e == j) {
			out[m++] = s[i++];
			continue;
		}
		if (e < n && s[e] == ';')
			e++;
		size_t len = e - j;
		const html_entity *ent = html_entity_find(s + j, len);
		size_t x = len;
		for (size_t p = len - 1; !ent && p >= 2; p--) { /* the longest prefix that is a name */
			ent = html_entity_find(s + j, p);
			x = p;
		}
		if (ent) {
			out[m++] = ent->cp[0];
			if (ent->cp[1])
				out[m++] = ent->cp[1];
			for (size_t q = j + x; q < e; q++)
				out[m++] = s[q];
		} else {
			for (size_t q = i; q < e; q++)
				out[m++] = s[q];
		}
		i = e;
	}
	return m;
}
