/*
 * Thin N-API layer over libbpf. No policy lives here: which programs load,
 * which fallback is used and what the bytes mean is decided in TypeScript
 * (src/bpf/native.ts types this module). Every failure becomes a JS Error with
 * `errno`, `code` and `call` (the libbpf or system call that failed).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "layout.h"

#define MAX_LINKS 64
#define LOG_CAP (1 << 20)
#define RING_CAP (256u << 20)

struct growbuf {
	char *data;
	size_t len, cap;
};

struct handle {
	struct bpf_object *obj;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	struct ring_buffer *ring;
	uv_poll_t *poll;
	struct growbuf pending; /* ring records consumed but not yet drained by JS */
	__u64 pending_dropped;  /* bytes dropped because JS did not drain */
	int stats_fd;
	int closed;
};

/* ---------- errors ---------- */

static napi_value throw_errno(napi_env env, const char *call, int err)
{
	char msg[256];
	napi_value error, message, code, num, callv;
	if (err < 0)
		err = -err;
	snprintf(msg, sizeof(msg), "%s: %s", call, strerror(err));
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
	const char *name = "E?";
	switch (err) {
	case EPERM: name = "EPERM"; break;
	case EACCES: name = "EACCES"; break;
	case ENOENT: name = "ENOENT"; break;
	case EINVAL: name = "EINVAL"; break;
	case ENOMEM: name = "ENOMEM"; break;
	case E2BIG: name = "E2BIG"; break;
	case ESRCH: name = "ESRCH"; break;
	case EOPNOTSUPP: name = "EOPNOTSUPP"; break;
	case 524: name = "ENOTSUPP"; break; /* kernel-internal ENOTSUPP */
	case EBUSY: name = "EBUSY"; break;
	case EEXIST: name = "EEXIST"; break;
	case ENOSPC: name = "ENOSPC"; break;
	case EFAULT: name = "EFAULT"; break;
	case ENODEV: name = "ENODEV"; break;
	}
	napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
	napi_create_error(env, code, message, &error);
	napi_create_int32(env, err, &num);
	napi_set_named_property(env, error, "errno", num);
	napi_set_named_property(env, error, "code", code);
	napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &callv);
	napi_set_named_property(env, error, "call", callv);
	napi_throw(env, error);
	return NULL;
}

static napi_value throw_msg(napi_env env, const char *msg)
{
	napi_throw_error(env, "EBTOP_NATIVE", msg);
	return NULL;
}

/* ---------- libbpf log: kept for JS to send to pino, never to the terminal ---------- */

static struct growbuf libbpf_log;

static int grow(struct growbuf *b, size_t need)
{
	if (b->len + need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[1024];
	int n;
	const char *tag = level == LIBBPF_WARN ? "W " : level == LIBBPF_INFO ? "I " : "D ";
	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, args);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (libbpf_log.len + n + 2 > LOG_CAP || grow(&libbpf_log, n + 3))
		return 0;
	memcpy(libbpf_log.data + libbpf_log.len, tag, 2);
	memcpy(libbpf_log.data + libbpf_log.len + 2, line, n);
	libbpf_log.len += n + 2;
	return 0;
}

/* ---------- argument helpers ---------- */

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
		throw_msg(env, "wrong number of arguments");
		return -1;
	}
	return 0;
}

static int get_string(napi_env env, napi_value v, char *out, size_t cap)
{
	size_t len;
	if (napi_get_value_string_utf8(env, v, out, cap, &len) != napi_ok) {
		throw_msg(env, "expected a string");
		return -1;
	}
	return 0;
}

static struct handle *get_handle(napi_env env, napi_value v)
{
	struct handle *h = NULL;
	if (napi_get_value_external(env, v, (void **)&h) != napi_ok || !h) {
		throw_msg(env, "expected a BPF object handle");
		return NULL;
	}
	if (h->closed) {
		throw_msg(env, "BPF object handle is closed");
		return NULL;
	}
	return h;
}

static napi_value make_buffer(napi_env env, const void *data, size_t len)
{
	napi_value buf;
	void *dst;
	napi_create_buffer_copy(env, len, len ? data : "", &dst, &buf);
	return buf;
}

static napi_value make_u64(napi_env env, __u64 v)
{
	napi_value out;
	napi_create_bigint_uint64(env, v, &out);
	return out;
}

static napi_value make_num(napi_env env, double v)
{
	napi_value out;
	napi_create_double(env, v, &out);
	return out;
}

static napi_value make_str(napi_env env, const char *s)
{
	napi_value out;
	napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &out);
	return out;
}

static struct bpf_program *find_prog(napi_env env, struct handle *h, napi_value name)
{
	char n[128];
	if (get_string(env, name, n, sizeof(n)))
		return NULL;
	struct bpf_program *p = bpf_object__find_program_by_name(h->obj, n);
	if (!p)
		throw_errno(env, "bpf_object__find_program_by_name", ENOENT);
	return p;
}

static struct bpf_map *find_map(napi_env env, struct handle *h, napi_value name)
{
	char n[128];
	if (get_string(env, name, n, sizeof(n)))
		return NULL;
	struct bpf_map *m = bpf_object__find_map_by_name(h->obj, n);
	if (!m)
		throw_errno(env, "bpf_object__find_map_by_name", ENOENT);
	return m;
}

/* ---------- lifecycle ---------- */

static void poll_closed(uv_handle_t *p)
{
	free(p);
}

static void close_handle(struct handle *h)
{
	if (h->closed)
		return;
	h->closed = 1;
	if (h->poll) {
		uv_poll_stop(h->poll);
		uv_close((uv_handle_t *)h->poll, poll_closed);
		h->poll = NULL;
	}
	if (h->ring)
		ring_buffer__free(h->ring);
	h->ring = NULL;
	for (int i = 0; i < h->nlinks; i++)
		bpf_link__destroy(h->links[i]);
	h->nlinks = 0;
	if (h->stats_fd >= 0)
		close(h->stats_fd);
	h->stats_fd = -1;
	bpf_object__close(h->obj);
	h->obj = NULL;
	free(h->pending.data);
	h->pending.data = NULL;
}

static void finalize_handle(napi_env env, void *data, void *hint)
{
	struct handle *h = data;
	close_handle(h);
	free(h);
}

/* open(path) -> handle */
static napi_value js_open(napi_env env, napi_callback_info info)
{
	napi_value argv[1], out;
	char path[4096];
	if (get_args(env, info, 1, argv) || get_string(env, argv[0], path, sizeof(path)))
		return NULL;
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return throw_errno(env, "bpf_object__open_file", errno);
	struct handle *h = calloc(1, sizeof(*h));
	if (!h) {
		bpf_object__close(obj);
		return throw_errno(env, "open", ENOMEM);
	}
	h->obj = obj;
	h->stats_fd = -1;
	napi_create_external(env, h, finalize_handle, NULL, &out);
	return out;
}

static napi_value js_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct handle *h = NULL;
	if (get_args(env, info, 1, argv))
		return NULL;
	napi_get_value_external(env, argv[0], (void **)&h);
	if (h)
		close_handle(h);
	return NULL;
}

/* programs(h) -> [{name, section, autoload}] */
static napi_value js_programs(napi_env env, napi_callback_info info)
{
	napi_value argv[1], arr;
	struct handle *h;
	struct bpf_program *p;
	uint32_t i = 0;
	if (get_args(env, info, 1, argv) || !(h = get_handle(env, argv[0])))
		return NULL;
	napi_create_array(env, &arr);
	bpf_object__for_each_program(p, h->obj) {
		napi_value o, b;
		napi_create_object(env, &o);
		napi_set_named_property(env, o, "name", make_str(env, bpf_program__name(p)));
		napi_set_named_property(env, o, "section", make_str(env, bpf_program__section_name(p)));
		napi_get_boolean(env, bpf_program__autoload(p), &b);
		napi_set_named_property(env, o, "autoload", b);
		napi_set_element(env, arr, i++, o);
	}
	return arr;
}

static napi_value js_set_autoload(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct handle *h;
	struct bpf_program *p;
	bool on;
	if (get_args(env, info, 3, argv) || !(h = get_handle(env, argv[0])) || !(p = find_prog(env, h, argv[1])))
		return NULL;
	napi_get_value_bool(env, argv[2], &on);
	int err = bpf_program__set_autoload(p, on);
	if (err)
		return throw_errno(env, "bpf_program__set_autoload", err);
	return NULL;
}

static napi_value js_set_max_entries(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct handle *h;
	struct bpf_map *m;
	uint32_t n;
	if (get_args(env, info, 3, argv) || !(h = get_handle(env, argv[0])) || !(m = find_map(env, h, argv[1])))
		return NULL;
	napi_get_value_uint32(env, argv[2], &n);
	int err = bpf_map__set_max_entries(m, n);
	if (err)
		return throw_errno(env, "bpf_map__set_max_entries", err);
	return NULL;
}

/* setConst(h, varName, Buffer): write a `const volatile` global before load. */
static napi_value js_set_const(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct handle *h;
	char name[128];
	void *data;
	size_t len;
	if (get_args(env, info, 3, argv) || !(h = get_handle(env, argv[0])) || get_string(env, argv[1], name, sizeof(name)))
		return NULL;
	if (napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok)
		return throw_msg(env, "setConst: expected a Buffer");
	struct btf *btf = bpf_object__btf(h->obj);
	int sec_id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -ENOENT;
	if (sec_id < 0)
		return throw_errno(env, "btf__find_by_name_kind(.rodata)", sec_id);
	const struct btf_type *sec = btf__type_by_id(btf, sec_id);
	const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);
		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		if (vs->size != len)
			return throw_errno(env, "setConst: size mismatch", EINVAL);
		struct bpf_map *m;
		bpf_object__for_each_map(m, h->obj) {
			const char *mn = bpf_map__name(m);
			size_t ml = strlen(mn);
			if (bpf_map__is_internal(m) && ml >= 7 && !strcmp(mn + ml - 7, ".rodata")) {
				size_t sz;
				char *init = (char *)bpf_map__initial_value(m, &sz); /* writable until load */
				if (!init || vs->offset + len > sz)
					return throw_errno(env, "bpf_map__initial_value", EINVAL);
				memcpy(init + vs->offset, data, len);
				return NULL;
			}
		}
		return throw_errno(env, "setConst: no .rodata map", ENOENT);
	}
	return throw_errno(env, "setConst: no such const", ENOENT);
}

static napi_value js_load(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct handle *h;
	if (get_args(env, info, 1, argv) || !(h = get_handle(env, argv[0])))
		return NULL;
	int err = bpf_object__load(h->obj);
	if (err)
		return throw_errno(env, "bpf_object__load", err);
	return NULL;
}

/* attach(h, prog) -> link index. Works for tp_btf, raw_tp, tracepoint and iter. */
static napi_value js_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[2], out;
	struct handle *h;
	struct bpf_program *p;
	struct bpf_link *link;
	if (get_args(env, info, 2, argv) || !(h = get_handle(env, argv[0])) || !(p = find_prog(env, h, argv[1])))
		return NULL;
	if (h->nlinks >= MAX_LINKS)
		return throw_errno(env, "attach: too many links", E2BIG);
	if (bpf_program__type(p) == BPF_PROG_TYPE_TRACING &&
	    bpf_program__expected_attach_type(p) == BPF_TRACE_ITER)
		link = bpf_program__attach_iter(p, NULL);
	else
		link = bpf_program__attach(p);
	if (!link)
		return throw_errno(env, "bpf_program__attach", errno);
	h->links[h->nlinks] = link;
	napi_create_int32(env, h->nlinks++, &out);
	return out;
}

/* readIter(h, linkIndex) -> Buffer with everything the iterator wrote. */
static napi_value js_read_iter(napi_env env, napi_callback_info info)
{
	napi_value argv[2], out;
	struct handle *h;
	int32_t idx;
	static struct growbuf b; /* reused between calls: no allocation per refresh */
	if (get_args(env, info, 2, argv) || !(h = get_handle(env, argv[0])))
		return NULL;
	napi_get_value_int32(env, argv[1], &idx);
	if (idx < 0 || idx >= h->nlinks)
		return throw_errno(env, "readIter: bad link", EINVAL);
	int fd = bpf_iter_create(bpf_link__fd(h->links[idx]));
	if (fd < 0)
		return throw_errno(env, "bpf_iter_create", errno);
	b.len = 0;
	for (;;) {
		if (grow(&b, 65536)) {
			close(fd);
			return throw_errno(env, "readIter", ENOMEM);
		}
		ssize_t n = read(fd, b.data + b.len, b.cap - b.len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			int e = errno;
			close(fd);
			return throw_errno(env, "read(iter)", e);
		}
		if (n == 0)
			break;
		b.len += n;
	}
	close(fd);
	out = make_buffer(env, b.data, b.len);
	return out;
}

/* mapDump(h, map) -> {keys, values, count, keySize, valueSize}. valueSize is
 * per element as laid out (per-CPU maps: roundup(value_size, 8) * ncpus). */
static napi_value js_map_dump(napi_env env, napi_callback_info info)
{
	napi_value argv[2], out;
	struct handle *h;
	struct bpf_map *m;
	if (get_args(env, info, 2, argv) || !(h = get_handle(env, argv[0])) || !(m = find_map(env, h, argv[1])))
		return NULL;
	int fd = bpf_map__fd(m);
	__u32 ks = bpf_map__key_size(m), vs = bpf_map__value_size(m), max = bpf_map__max_entries(m);
	enum bpf_map_type t = bpf_map__type(m);
	if (t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH) {
		int ncpu = libbpf_num_possible_cpus();
		if (ncpu < 0)
			return throw_errno(env, "libbpf_num_possible_cpus", ncpu);
		vs = ((vs + 7) & ~7u) * ncpu;
	}
	char *keys = malloc((size_t)ks * max), *vals = malloc((size_t)vs * max);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return throw_errno(env, "mapDump", ENOMEM);
	}
	__u32 total = 0, batch_token = 0;
	int first = 1, err = 0;
	while (total < max) {
		__u32 count = max - total;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch_token, &batch_token,
					   keys + (size_t)total * ks, vals + (size_t)total * vs, &count, NULL);
		if (err && errno != ENOENT) {
			err = -errno;
			break;
		}
		total += count;
		first = 0;
		if (err) { /* ENOENT: done */
			err = 0;
			break;
		}
	}
	if (err == -EINVAL || err == -ENOTSUP || err == -524) {
		/* no batch op for this map type: walk keys one by one */
		char *prev = NULL;
		err = 0;
		total = 0;
		while (total < max && !bpf_map_get_next_key(fd, prev, keys + (size_t)total * ks)) {
			if (!bpf_map_lookup_elem(fd, keys + (size_t)total * ks, vals + (size_t)total * vs)) {
				prev = keys + (size_t)total * ks;
				total++;
			}
		}
	}
	if (err) {
		free(keys);
		free(vals);
		return throw_errno(env, "bpf_map_lookup_batch", err);
	}
	napi_create_object(env, &out);
	napi_set_named_property(env, out, "keys", make_buffer(env, keys, (size_t)total * ks));
	napi_set_named_property(env, out, "values", make_buffer(env, vals, (size_t)total * vs));
	napi_set_named_property(env, out, "count", make_num(env, total));
	napi_set_named_property(env, out, "keySize", make_num(env, ks));
	napi_set_named_property(env, out, "valueSize", make_num(env, vs));
	free(keys);
	free(vals);
	return out;
}

/* mapDelete(h, map, keys Buffer): delete every key of the concatenation. */
static napi_value js_map_delete(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct handle *h;
	struct bpf_map *m;
	char *data;
	size_t len;
	if (get_args(env, info, 3, argv) || !(h = get_handle(env, argv[0])) || !(m = find_map(env, h, argv[1])))
		return NULL;
	if (napi_get_buffer_info(env, argv[2], (void **)&data, &len) != napi_ok)
		return throw_msg(env, "mapDelete: expected a Buffer");
	__u32 ks = bpf_map__key_size(m);
	if (!ks || len % ks)
		return throw_errno(env, "mapDelete: key size", EINVAL);
	__u32 count = len / ks;
	if (count && bpf_map_delete_batch(bpf_map__fd(m), data, &count, NULL)) {
		for (size_t off = 0; off < len; off += ks)
			bpf_map_delete_elem(bpf_map__fd(m), data + off); /* ENOENT is fine */
	}
	return NULL;
}

/* ---------- ring buffer ---------- */

/* Records are framed as [u32 length][record][pad to 8]. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct handle *h = ctx;
	size_t framed = (4 + size + 7) & ~(size_t)7;
	if (h->pending.len + framed > RING_CAP || grow(&h->pending, framed)) {
		h->pending_dropped++;
		return 0;
	}
	char *dst = h->pending.data + h->pending.len;
	__u32 len = size;
	memcpy(dst, &len, 4);
	memcpy(dst + 4, data, size);
	memset(dst + 4 + size, 0, framed - 4 - size);
	h->pending.len += framed;
	return 0;
}

static void on_readable(uv_poll_t *poll, int status, int events)
{
	struct handle *h = poll->data;
	if (!h->closed && h->ring)
		ring_buffer__consume(h->ring);
}

/* ringOpen(h, map): consume in the background (uv_poll on the epoll fd), so
 * the kernel ring never fills between two drains. */
static napi_value js_ring_open(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct handle *h;
	struct bpf_map *m;
	uv_loop_t *loop;
	if (get_args(env, info, 2, argv) || !(h = get_handle(env, argv[0])) || !(m = find_map(env, h, argv[1])))
		return NULL;
	if (h->ring)
		return throw_errno(env, "ringOpen: already open", EBUSY);
	h->ring = ring_buffer__new(bpf_map__fd(m), on_record, h, NULL);
	if (!h->ring)
		return throw_errno(env, "ring_buffer__new", errno);
	napi_get_uv_event_loop(env, &loop);
	h->poll = calloc(1, sizeof(*h->poll));
	if (!h->poll)
		return throw_errno(env, "ringOpen", ENOMEM);
	h->poll->data = h;
	int err = uv_poll_init(loop, h->poll, ring_buffer__epoll_fd(h->ring));
	if (!err)
		err = uv_poll_start(h->poll, UV_READABLE, on_readable);
	if (err)
		return throw_errno(env, "uv_poll_start", -err);
	uv_unref((uv_handle_t *)h->poll); /* never keeps the process alive */
	return NULL;
}

/* ringDrain(h) -> {data: Buffer of framed records, dropped} */
static napi_value js_ring_drain(napi_env env, napi_callback_info info)
{
	napi_value argv[1], out;
	struct handle *h;
	if (get_args(env, info, 1, argv) || !(h = get_handle(env, argv[0])))
		return NULL;
	if (!h->ring)
		return throw_errno(env, "ringDrain: not open", EINVAL);
	int n = ring_buffer__consume(h->ring);
	if (n < 0)
		return throw_errno(env, "ring_buffer__consume", n);
	napi_create_object(env, &out);
	napi_set_named_property(env, out, "data", make_buffer(env, h->pending.data, h->pending.len));
	napi_set_named_property(env, out, "dropped", make_num(env, (double)h->pending_dropped));
	h->pending.len = 0;
	h->pending_dropped = 0;
	return out;
}

/* ---------- run-time statistics ---------- */

static napi_value js_enable_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct handle *h;
	if (get_args(env, info, 1, argv) || !(h = get_handle(env, argv[0])))
		return NULL;
	if (h->stats_fd >= 0)
		return NULL;
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0)
		return throw_errno(env, "bpf_enable_stats", errno);
	h->stats_fd = fd;
	return NULL;
}

/* progStats(h) -> [{name, runTimeNs: bigint, runCount: bigint}] for loaded programs */
static napi_value js_prog_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1], arr;
	struct handle *h;
	struct bpf_program *p;
	uint32_t i = 0;
	if (get_args(env, info, 1, argv) || !(h = get_handle(env, argv[0])))
		return NULL;
	napi_create_array(env, &arr);
	bpf_object__for_each_program(p, h->obj) {
		int fd = bpf_program__fd(p);
		if (fd < 0)
			continue;
		struct bpf_prog_info pi = {};
		__u32 len = sizeof(pi);
		if (bpf_obj_get_info_by_fd(fd, &pi, &len))
			return throw_errno(env, "bpf_obj_get_info_by_fd", errno);
		napi_value o;
		napi_create_object(env, &o);
		napi_set_named_property(env, o, "name", make_str(env, bpf_program__name(p)));
		napi_set_named_property(env, o, "runTimeNs", make_u64(env, pi.run_time_ns));
		napi_set_named_property(env, o, "runCount", make_u64(env, pi.run_cnt));
		napi_set_element(env, arr, i++, o);
	}
	return arr;
}

/* ---------- probes and metadata ---------- */

/* btfHasType(name): does the running kernel's BTF define a type of this name? */
static napi_value js_btf_has_type(napi_env env, napi_callback_info info)
{
	napi_value argv[1], out;
	char name[256];
	static struct btf *vmlinux;
	if (get_args(env, info, 1, argv) || get_string(env, argv[0], name, sizeof(name)))
		return NULL;
	if (!vmlinux) {
		vmlinux = btf__load_vmlinux_btf();
		if (!vmlinux)
			return throw_errno(env, "btf__load_vmlinux_btf", errno);
	}
	napi_get_boolean(env, btf__find_by_name(vmlinux, name) > 0, &out);
	return out;
}

static napi_value js_take_log(napi_env env, napi_callback_info info)
{
	napi_value out;
	napi_create_string_utf8(env, libbpf_log.data ? libbpf_log.data : "", libbpf_log.len, &out);
	libbpf_log.len = 0;
	return out;
}

static napi_value js_layout(napi_env env, napi_callback_info info)
{
	napi_value out;
	napi_create_object(env, &out);
	for (size_t i = 0; i < sizeof(layout_table) / sizeof(layout_table[0]); i++) {
		const struct layout_entry *e = &layout_table[i];
		napi_value type;
		bool has;
		napi_has_named_property(env, out, e->type, &has);
		if (!has) {
			napi_value fields;
			napi_create_object(env, &type);
			napi_create_object(env, &fields);
			napi_set_named_property(env, type, "fields", fields);
			napi_set_named_property(env, out, e->type, type);
		} else {
			napi_get_named_property(env, out, e->type, &type);
		}
		if (!e->field) {
			napi_set_named_property(env, type, "size", make_num(env, e->size));
		} else {
			napi_value fields, f;
			napi_get_named_property(env, type, "fields", &fields);
			napi_create_object(env, &f);
			napi_set_named_property(env, f, "offset", make_num(env, e->offset));
			napi_set_named_property(env, f, "size", make_num(env, e->size));
			napi_set_named_property(env, fields, e->field, f);
		}
	}
	return out;
}

static napi_value js_num_possible_cpus(napi_env env, napi_callback_info info)
{
	int n = libbpf_num_possible_cpus();
	if (n < 0)
		return throw_errno(env, "libbpf_num_possible_cpus", n);
	return make_num(env, n);
}

static napi_value init(napi_env env, napi_value exports)
{
	static const struct {
		const char *name;
		napi_callback fn;
	} fns[] = {
		{"open", js_open}, {"close", js_close}, {"programs", js_programs},
		{"setAutoload", js_set_autoload}, {"setMaxEntries", js_set_max_entries},
		{"setConst", js_set_const}, {"load", js_load}, {"attach", js_attach},
		{"readIter", js_read_iter}, {"mapDump", js_map_dump}, {"mapDelete", js_map_delete},
		{"ringOpen", js_ring_open}, {"ringDrain", js_ring_drain},
		{"enableStats", js_enable_stats}, {"progStats", js_prog_stats},
		{"btfHasType", js_btf_has_type}, {"takeLog", js_take_log}, {"layout", js_layout},
		{"numPossibleCpus", js_num_possible_cpus},
	};
	libbpf_set_print(print_fn);
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		napi_value f;
		napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
		napi_set_named_property(env, exports, fns[i].name, f);
	}
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
