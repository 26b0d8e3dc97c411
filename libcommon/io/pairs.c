/* pairs.c — see pairs.h. */
#include "io/pairs.h"

#include "base/errors.h"
#include "io/stream.h"

int pairs_fields(const msgpack_object *rec, int64_t v[PAIR_NFIELDS], const char *name, uint64_t rn, char *err,
		 size_t errsz)
{
	if (rec->type != MSGPACK_OBJECT_MAP)
		return err_set(err, errsz, "%s: record %llu is not a map", name, (unsigned long long)rn);
	/* lfm-pairs writes exactly these keys first and in this order, so look there first (what a search by
	 * name would find too, since each is then the key's first occurrence); any other layout goes through
	 * the search, whose error names the missing field. */
	if (rec->via.map.size >= PAIR_NFIELDS) {
		const msgpack_object_kv *kv = rec->via.map.ptr;
		int f = 0;
		for (; f < PAIR_NFIELDS; f++) {
			const msgpack_object *k = &kv[f].key, *val = &kv[f].val;
			if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != pairs_key_len(f) ||
			    !pairs_same_key(k->via.str.ptr, f) || val->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
			    val->via.u64 > (uint64_t)INT64_MAX)
				break;
			v[f] = (int64_t)val->via.u64;
		}
		if (f == PAIR_NFIELDS)
			return 0;
	}
	for (int f = 0; f < PAIR_NFIELDS; f++)
		if (mp_get_int(rec, pairs_key(f), &v[f]) != 0 || v[f] < 0)
			return err_set(err, errsz, "%s: record %llu has no non-negative integer \"%s\"", name,
				       (unsigned long long)rn, pairs_key(f));
	return 0;
}
