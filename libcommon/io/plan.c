/* plan.c — see plan.h. */
#include "io/plan.h"

#include "base/errors.h"

int plan_header_read(const msgpack_object *h, const char *name, plan_header *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	if (stream_header_info_read(h, name, "the class counts the losses need", &out->info, err, errsz))
		return -1;
	int64_t epochs, samples;
	if (mp_get_int(h, "epochs", &epochs) || epochs < 1 || epochs > 1000000)
		return err_set(err, errsz, "%s: header has no positive integer \"epochs\" (lfm-pairs writes it; the "
					   "cosine schedule needs the run's length)",
			       name);
	if (mp_get_int(h, "samples", &samples) || samples < 1)
		return err_set(err, errsz, "%s: header has no positive integer \"samples\" (records per epoch)", name);
	out->epochs = (int)epochs;
	out->per_epoch = (uint64_t)samples;
	return 0;
}

void plan_header_free(plan_header *h)
{
	stream_header_info_free(&h->info);
	memset(h, 0, sizeof *h);
}

int plan_record_decode(const msgpack_object *rec, const plan_header *h, const char *name, uint64_t pos,
		       plan_record *out, char *err, size_t errsz)
{
	unsigned long long rn = (unsigned long long)pos + 1;
	int64_t e, i, yi, j, yj;
	double lx, ly;
	if (mp_get_int(rec, "epoch", &e) || mp_get_int(rec, "i", &i) || mp_get_int(rec, "yi", &yi) ||
	    mp_get_int(rec, "j", &j) || mp_get_int(rec, "yj", &yj) || mp_get_f64(rec, "lx", &lx) ||
	    mp_get_f64(rec, "ly", &ly))
		return err_set(err, errsz, "%s: record %llu lacks one of epoch, i, yi, j, yj (integers), lx, ly (numbers)",
			       name, rn);
	if (e < 0 || (uint64_t)e != pos / h->per_epoch)
		return err_set(err, errsz, "%s: record %llu has epoch %lld where %llu was expected (the header promises "
					   "%llu records per epoch)",
			       name, rn, (long long)e, (unsigned long long)(pos / h->per_epoch),
			       (unsigned long long)h->per_epoch);
	if (!(lx >= 0 && lx <= 1) || !(ly >= 0 && ly <= 1))
		return err_set(err, errsz, "%s: record %llu: lx %g / ly %g outside [0, 1]", name, rn, lx, ly);
	int C = h->info.classes;
	if (yi < 0 || yi >= C || yj < 0 || yj >= C || i < 0 || j < 0)
		return err_set(err, errsz, "%s: record %llu: a label outside 0 .. %d or a negative index", name, rn, C - 1);
	*out = (plan_record){(uint64_t)i, (uint64_t)j, (int)yi, (int)yj, (float)lx, (float)ly, e};
	return 0;
}

int plan_next(stream_reader *r, const plan_header *h, const char *name, uint64_t pos, plan_record *out,
	      char *err, size_t errsz)
{
	msgpack_object rec;
	int got = sr_next(r, &rec);
	if (got < 0)
		return err_set(err, errsz, "%s", sr_error(r));
	if (got == 0)
		return err_set(err, errsz, "%s: ends after %llu records; its header promises %d epochs of %llu", name,
			       (unsigned long long)pos, h->epochs, (unsigned long long)h->per_epoch);
	return plan_record_decode(&rec, h, name, pos, out, err, errsz);
}
