/*
 * Thin N-API layer over libbpf. No policy lives here: which programs load,
 * which fallback is used and what the bytes mean is decided in TypeScript
 * (src/native.ts types this module). Every failure becomes a JS Error with
 * `errno`, `code` and `call` (the libbpf or system call that failed).
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE /* sched_setaffinity */
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#define MAX_LINKS 64
#define LOG_CAP (1 << 20)
#define PENDING_CAP (16u << 20) /* ring records held for JS between two drains */
#define BATCH_CHUNK 256u         /* entries per batch call, doubled on ENOSPC */
#define ENOTSUPP_KERNEL 524      /* kernel-internal ENOTSUPP, leaks out of some syscalls */

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
	__u64 pending_dropped;  /* records dropped: pending was full (JS did not drain) */
	int poll_error;         /* libuv's error for the ring's fd (< 0), thrown by the next drain */
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
	case ENOTSUPP_KERNEL: name = "ENOTSUPP"; break;
	case EBUSY: name = "EBUSY"; break;
	case EEXIST: name = "EEXIST"; break;
	case ENOSPC: name = "ENOSPC"; break;
	case EFAULT: name = "EFAULT"; break;
	case ENODEV: name = "ENODEV"; break;
	case EBADF: name = "EBADF"; break;
	case EINTR: name = "EINTR"; break;
	case EAGAIN: name = "EAGAIN"; break;
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

/* An N-API call that failed (an argument of the wrong type): thrown as
 * EINVAL naming that call, before any value it left unset is used. */
static int napi_failed(napi_env env, const char *call, napi_status st)
{
	if (st == napi_ok)
		return 0;
	bool pending = false;
	napi_is_exception_pending(env, &pending);
	if (!pending)
		throw_errno(env, call, EINVAL);
	return -1;
}
#define NAPI_CHECK(env, call, ...) napi_failed((env), #call, call((env), __VA_ARGS__))

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

/* A message longer than this keeps its head and its tail: a failed load's
 * verifier log is one message, up to megabytes, and its reason is at the end. */
#define MSG_HEAD 2048
#define MSG_TAIL (32 << 10)

static void log_append(const char *p, size_t n)
{
	if (libbpf_log.len + n > LOG_CAP || grow(&libbpf_log, n + 1))
		return;
	memcpy(libbpf_log.data + libbpf_log.len, p, n);
	libbpf_log.len += n;
}

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char small[1024], *msg = small;
	va_list again;
	int n;
	const char *tag = level == LIBBPF_WARN ? "W " : level == LIBBPF_INFO ? "I " : "D ";
	if (level == LIBBPF_DEBUG)
		return 0;
	va_copy(again, args);
	n = vsnprintf(small, sizeof(small), fmt, args);
	if (n >= (int)sizeof(small) && (msg = malloc(n + 1)))
		n = vsnprintf(msg, n + 1, fmt, again);
	va_end(again);
	if (!msg)
		msg = small, n = sizeof(small) - 1;
	if (n < 0) {
		if (msg != small)
			free(msg);
		return 0;
	}
	log_append(tag, 2);
	if ((size_t)n <= MSG_HEAD + MSG_TAIL) {
		log_append(msg, n);
	} else {
		char cut[64];
		int c = snprintf(cut, sizeof(cut), "\n[... %d bytes ...]\n", n - MSG_HEAD - MSG_TAIL);
		log_append(msg, MSG_HEAD);
		log_append(cut, c);
		log_append(msg + n - MSG_TAIL, MSG_TAIL);
	}
	if (msg != small)
		free(msg);
	return 0;
}

/* ---------- argument helpers ---------- */

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;
	if (NAPI_CHECK(env, napi_get_cb_info, info, &argc, argv, NULL, NULL))
		return -1;
	if (argc < want) {
		throw_msg(env, "wrong number of arguments");
		return -1;
	}
	return 0;
}

static int get_string(napi_env env, napi_value v, char *out, size_t cap)
{
	size_t len;
	return NAPI_CHECK(env, napi_get_value_string_utf8, v, out, cap, &len);
}

static struct handle *get_handle(napi_env env, napi_value v)
{
	struct handle *h = NULL;
	if (NAPI_CHECK(env, napi_get_value_external, v, (void **)&h))
		return NULL;
	if (!h) {
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
	if (get_args(env, info, 1, argv) || NAPI_CHECK(env, napi_get_value_external, argv[0], (void **)&h))
		return NULL;
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
	if (NAPI_CHECK(env, napi_get_value_bool, argv[2], &on))
		return NULL;
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
	if (NAPI_CHECK(env, napi_get_value_uint32, argv[2], &n))
		return NULL;
	int err = bpf_map__set_max_entries(m, n);
	if (err)
		return throw_errno(env, "bpf_map__set_max_entries", err);
	return NULL;
}

static int type_by_name(const char *(*to_str)(int), const char *name);
static const char *map_type_str(int t);

/* setMapType(h, map, typeName): e.g. a task-storage map the chosen programs
 * never use becomes a one-entry hash, so a kernel without that map type
 * still loads the object. typeName is libbpf's ('hash', 'task_storage'). */
static napi_value js_set_map_type(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct handle *h;
	struct bpf_map *m;
	char name[64];
	if (get_args(env, info, 3, argv) || !(h = get_handle(env, argv[0])) || !(m = find_map(env, h, argv[1])) ||
	    get_string(env, argv[2], name, sizeof(name)))
		return NULL;
	int t = type_by_name(map_type_str, name);
	if (t < 0)
		return throw_errno(env, "libbpf_bpf_map_type_str", EINVAL);
	int err = bpf_map__set_type(m, t);
	if (err)
		return throw_errno(env, "bpf_map__set_type", err);
	return NULL;
}

/* setMapFlags(h, map, flags): e.g. preallocate a hash where the kernel warns
 * about run-time allocation from tracing programs (before 6.1). */
static napi_value js_set_map_flags(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct handle *h;
	struct bpf_map *m;
	uint32_t flags;
	if (get_args(env, info, 3, argv) || !(h = get_handle(env, argv[0])) || !(m = find_map(env, h, argv[1])))
		return NULL;
	if (NAPI_CHECK(env, napi_get_value_uint32, argv[2], &flags))
		return NULL;
	int err = bpf_map__set_map_flags(m, flags);
	if (err)
		return throw_errno(env, "bpf_map__set_map_flags", err);
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
	if (NAPI_CHECK(env, napi_get_buffer_info, argv[2], &data, &len))
		return NULL;
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
	/* The verifier gives up with EAGAIN when a signal is pending (libbpf
	 * retries five times); a profiler's SIGPROF every millisecond or a burst
	 * of SIGWINCH would make the load fail. Signals wait until it is done. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = bpf_object__load(h->obj);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
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
	/* a slot freed by detach first: links come and go as sources are shed */
	int slot = 0;
	while (slot < h->nlinks && h->links[slot])
		slot++;
	if (slot >= MAX_LINKS)
		return throw_errno(env, "attach: too many links", E2BIG);
	if (bpf_program__type(p) == BPF_PROG_TYPE_TRACING &&
	    bpf_program__expected_attach_type(p) == BPF_TRACE_ITER)
		link = bpf_program__attach_iter(p, NULL);
	else
		link = bpf_program__attach(p);
	if (!link)
		return throw_errno(env, "bpf_program__attach", errno);
	h->links[slot] = link;
	if (slot == h->nlinks)
		h->nlinks++;
	napi_create_int32(env, slot, &out);
	return out;
}

/* detach(h, linkIndex): the program stops running; it stays loaded, attach() again to resume. */
static napi_value js_detach(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct handle *h;
	int32_t idx;
	if (get_args(env, info, 2, argv) || !(h = get_handle(env, argv[0])))
		return NULL;
	if (NAPI_CHECK(env, napi_get_value_int32, argv[1], &idx))
		return NULL;
	if (idx < 0 || idx >= h->nlinks || !h->links[idx])
		return throw_errno(env, "detach: bad link", EINVAL);
	int err = bpf_link__destroy(h->links[idx]);
	h->links[idx] = NULL;
	if (err)
		return throw_errno(env, "bpf_link__destroy", err);
	return NULL;
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
	if (NAPI_CHECK(env, napi_get_value_int32, argv[1], &idx))
		return NULL;
	if (idx < 0 || idx >= h->nlinks || !h->links[idx])
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

/* ---------- maps ---------- */

static int map_fd(napi_env env, struct bpf_map *m)
{
	int fd = bpf_map__fd(m);
	if (fd < 0)
		throw_errno(env, "bpf_map__fd", EBADF); /* not loaded yet */
	return fd;
}

/* Bytes per element in a value buffer: per-CPU maps hold one 8-aligned slot
 * per possible CPU, the layout the kernel copies in and out. */
static int value_stride(struct bpf_map *m, __u32 *out)
{
	__u32 vs = bpf_map__value_size(m);
	switch (bpf_map__type(m)) {
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: {
		int ncpu = libbpf_num_possible_cpus();
		if (ncpu < 0)
			return ncpu;
		vs = ((vs + 7) & ~7u) * ncpu;
		break;
	}
	default:
		break;
	}
	*out = vs;
	return 0;
}

/* Where mapDump and mapDrain collect entries; reused between calls, so a
 * refresh allocates nothing once they have grown to the maps' size. */
static struct growbuf dump_keys, dump_vals, dump_tok;

static int is_no_batch(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -ENOTSUPP_KERNEL;
}

typedef int (*batch_fn)(int fd, void *in_batch, void *out_batch, void *keys, void *values,
			__u32 *count, const struct bpf_map_batch_opts *opts);

/* Appends the whole map to dump_keys/dump_vals, BATCH_CHUNK entries per call.
 * A hash map's batch never splits a bucket: ENOSPC means one bucket holds more
 * entries than the chunk (collisions, or inserts racing with us), so the same
 * call is made again with a bigger chunk. Returns 0, -errno, or 1 when the
 * kernel has no batch op for this map (first call refused). */
static int batch_walk(batch_fn fn, int fd, __u32 ks, __u32 vs, __u32 max)
{
	size_t tok = ks > 8 ? ks : 8; /* hash maps: a u32 bucket; others: a key */
	__u32 chunk = BATCH_CHUNK;
	void *in = NULL, *out;
	dump_tok.len = 0;
	if (grow(&dump_tok, 2 * tok))
		return -ENOMEM;
	out = dump_tok.data + tok;
	for (;;) {
		if (grow(&dump_keys, (size_t)chunk * ks) || grow(&dump_vals, (size_t)chunk * vs))
			return -ENOMEM;
		__u32 count = chunk;
		int err = fn(fd, in, out, dump_keys.data + dump_keys.len, dump_vals.data + dump_vals.len, &count, NULL);
		if (err)
			err = -errno;
		if (err == -ENOSPC && chunk <= max && chunk < (1u << 30)) {
			chunk *= 2;
			continue;
		}
		if (err && !in && is_no_batch(err))
			return 1;
		if (err && err != -ENOENT)
			return err;
		dump_keys.len += (size_t)count * ks;
		dump_vals.len += (size_t)count * vs;
		if (err) /* ENOENT: that was the last batch */
			return 0;
		in = dump_tok.data;
		memcpy(in, out, tok);
	}
}

/* The same, key by key, for kernels without batch ops; drain uses
 * bpf_map_lookup_and_delete_elem (hash maps: 5.14). The next key is taken
 * before the current one is read (and deleted), and the walk always moves on:
 * a key deleted under us makes a hash map's get_next_key start again from the
 * first key, so the walk is bounded (2 * max + 16 steps) and a dump of a
 * churning map can repeat keys. */
static int key_walk(int fd, __u32 ks, __u32 vs, __u32 max, int drain, const char **call)
{
	__u64 limit = 2 * (__u64)max + 16;
	dump_tok.len = 0;
	if (grow(&dump_tok, 2 * (size_t)ks))
		return -ENOMEM;
	char *cur = dump_tok.data, *next = dump_tok.data + ks;
	*call = "bpf_map_get_next_key";
	if (bpf_map_get_next_key(fd, NULL, cur))
		return errno == ENOENT ? 0 : -errno;
	for (__u64 step = 0; step < limit; step++) {
		if (grow(&dump_keys, ks) || grow(&dump_vals, vs))
			return -ENOMEM;
		int last = 0;
		if (bpf_map_get_next_key(fd, cur, next)) {
			if (errno != ENOENT)
				return -errno; /* *call is still get_next_key's */
			last = 1;
		}
		void *v = dump_vals.data + dump_vals.len;
		int err = drain ? bpf_map_lookup_and_delete_elem(fd, cur, v) : bpf_map_lookup_elem(fd, cur, v);
		if (!err) {
			memcpy(dump_keys.data + dump_keys.len, cur, ks);
			dump_keys.len += ks;
			dump_vals.len += vs;
		} else if (errno != ENOENT) { /* ENOENT: deleted since get_next_key */
			*call = drain ? "bpf_map_lookup_and_delete_elem" : "bpf_map_lookup_elem";
			return -errno;
		}
		if (last)
			break;
		char *t = cur;
		cur = next;
		next = t;
	}
	return 0;
}

/* The shared body of mapDump and mapDrain. */
static napi_value collect(napi_env env, napi_callback_info info, int drain)
{
	napi_value argv[2], out;
	struct handle *h;
	struct bpf_map *m;
	int fd;
	__u32 ks, vs, max;
	if (get_args(env, info, 2, argv) || !(h = get_handle(env, argv[0])) || !(m = find_map(env, h, argv[1])) ||
	    (fd = map_fd(env, m)) < 0)
		return NULL;
	int err = value_stride(m, &vs);
	if (err)
		return throw_errno(env, "libbpf_num_possible_cpus", err);
	ks = bpf_map__key_size(m);
	max = bpf_map__max_entries(m);
	dump_keys.len = dump_vals.len = 0;
	const char *call = drain ? "bpf_map_lookup_and_delete_batch" : "bpf_map_lookup_batch";
	err = batch_walk(drain ? bpf_map_lookup_and_delete_batch : bpf_map_lookup_batch, fd, ks, vs, max);
	if (err == 1) {
		dump_keys.len = dump_vals.len = 0;
		err = key_walk(fd, ks, vs, max, drain, &call);
	}
	if (err)
		return throw_errno(env, call, err);
	size_t count = ks ? dump_keys.len / ks : 0;
	napi_create_object(env, &out);
	napi_set_named_property(env, out, "keys", make_buffer(env, dump_keys.data, dump_keys.len));
	napi_set_named_property(env, out, "values", make_buffer(env, dump_vals.data, dump_vals.len));
	napi_set_named_property(env, out, "count", make_num(env, count));
	napi_set_named_property(env, out, "keySize", make_num(env, ks));
	napi_set_named_property(env, out, "valueSize", make_num(env, vs));
	return out;
}

/* mapDump(h, map) -> {keys, values, count, keySize, valueSize}. valueSize is
 * per element as laid out (per-CPU maps: roundup(value_size, 8) * ncpus). */
static napi_value js_map_dump(napi_env env, napi_callback_info info)
{
	return collect(env, info, 0);
}

/* mapDrain(h, map) -> as mapDump, every entry read and deleted in one step
 * (under the bucket lock), so an update between the read and the delete is
 * never lost. Hash and per-CPU hash maps. */
static napi_value js_map_drain(napi_env env, napi_callback_info info)
{
	return collect(env, info, 1);
}

/* The key buffer of mapUpdate/mapDelete: whole keys of this map. */
static int get_keys(napi_env env, napi_value v, struct bpf_map *m, char **data, __u32 *count)
{
	size_t len;
	__u32 ks = bpf_map__key_size(m);
	if (NAPI_CHECK(env, napi_get_buffer_info, v, (void **)data, &len))
		return -1;
	if (!ks || len % ks || len / ks > UINT32_MAX) {
		throw_errno(env, "keys: not a whole number of keys", EINVAL);
		return -1;
	}
	*count = len / ks;
	return 0;
}

/* mapUpdate(h, map, keys, values): insert or replace each key's value; values
 * laid out as mapDump gives them. */
static napi_value js_map_update(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct handle *h;
	struct bpf_map *m;
	char *keys, *vals;
	size_t vlen;
	__u32 n, vs;
	int fd;
	if (get_args(env, info, 4, argv) || !(h = get_handle(env, argv[0])) || !(m = find_map(env, h, argv[1])) ||
	    (fd = map_fd(env, m)) < 0 || get_keys(env, argv[2], m, &keys, &n))
		return NULL;
	if (NAPI_CHECK(env, napi_get_buffer_info, argv[3], (void **)&vals, &vlen))
		return NULL;
	int err = value_stride(m, &vs);
	if (err)
		return throw_errno(env, "libbpf_num_possible_cpus", err);
	if (vlen != (size_t)n * vs)
		return throw_errno(env, "mapUpdate: values do not match keys", EINVAL);
	__u32 count = n;
	if (!n || !bpf_map_update_batch(fd, keys, vals, &count, NULL))
		return NULL;
	if (!is_no_batch(-errno))
		return throw_errno(env, "bpf_map_update_batch", errno);
	__u32 ks = bpf_map__key_size(m);
	for (__u32 i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, keys + (size_t)i * ks, vals + (size_t)i * vs, BPF_ANY))
			return throw_errno(env, "bpf_map_update_elem", errno);
	return NULL;
}

/* mapDelete(h, map, keys Buffer): delete every key of the concatenation; a key
 * already gone is no error. */
static napi_value js_map_delete(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct handle *h;
	struct bpf_map *m;
	char *keys;
	__u32 n, off = 0;
	int fd;
	if (get_args(env, info, 3, argv) || !(h = get_handle(env, argv[0])) || !(m = find_map(env, h, argv[1])) ||
	    (fd = map_fd(env, m)) < 0 || get_keys(env, argv[2], m, &keys, &n))
		return NULL;
	__u32 ks = bpf_map__key_size(m);
	while (off < n) {
		__u32 count = n - off;
		if (!bpf_map_delete_batch(fd, keys + (size_t)off * ks, &count, NULL))
			return NULL;
		if (errno == ENOENT) { /* the batch stops at a missing key: skip it */
			off += count + 1;
			continue;
		}
		if (!is_no_batch(-errno))
			return throw_errno(env, "bpf_map_delete_batch", errno);
		for (; off < n; off++)
			if (bpf_map_delete_elem(fd, keys + (size_t)off * ks) && errno != ENOENT)
				return throw_errno(env, "bpf_map_delete_elem", errno);
	}
	return NULL;
}

/* ---------- ring buffer ---------- */

/* Records are framed as [u32 length][record][pad to 8]. The kernel ring is
 * consumed in the background whatever JS does; what JS has not drained is
 * capped, and the records that did not fit are counted. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct handle *h = ctx;
	size_t framed = (4 + size + 7) & ~(size_t)7;
	if (h->pending.len + framed > PENDING_CAP || grow(&h->pending, framed)) {
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

/* A poll error cannot be thrown from here (no JS on the stack): it stops the
 * background consumption (libuv would report it again at once) and the next
 * ringDrain throws it; drains still consume the ring themselves. */
static void on_readable(uv_poll_t *poll, int status, int events)
{
	struct handle *h = poll->data;
	if (status < 0) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "W ring buffer poll: %s\n", uv_strerror(status));
		log_append(msg, n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1);
		if (!h->poll_error)
			h->poll_error = status;
		uv_poll_stop(poll);
		return;
	}
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
	struct ring_buffer *ring = ring_buffer__new(bpf_map__fd(m), on_record, h, NULL);
	if (!ring)
		return throw_errno(env, "ring_buffer__new", errno);
	if (NAPI_CHECK(env, napi_get_uv_event_loop, &loop))
		return NULL;
	uv_poll_t *poll = calloc(1, sizeof(*poll));
	if (!poll) {
		ring_buffer__free(ring);
		return throw_errno(env, "ringOpen", ENOMEM);
	}
	poll->data = h;
	int err = uv_poll_init(loop, poll, ring_buffer__epoll_fd(ring));
	if (err) { /* not a libuv handle yet: uv_close must not see it */
		free(poll);
		ring_buffer__free(ring);
		return throw_errno(env, "uv_poll_init", -err);
	}
	err = uv_poll_start(poll, UV_READABLE, on_readable);
	if (err) {
		uv_close((uv_handle_t *)poll, poll_closed);
		ring_buffer__free(ring);
		return throw_errno(env, "uv_poll_start", -err);
	}
	uv_unref((uv_handle_t *)poll); /* never keeps the process alive */
	/* close_handle stops and closes h->poll: set only once it is initialised */
	h->ring = ring;
	h->poll = poll;
	return NULL;
}

/* ringDrain(h) -> {data: Buffer of framed records, dropped: records lost
 * since the last drain because pending was full} */
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
	if (h->poll_error) { /* reported once; what was consumed waits for the next drain */
		int err = h->poll_error;
		h->poll_error = 0;
		return throw_errno(env, "uv_poll", err);
	}
	napi_create_object(env, &out);
	napi_set_named_property(env, out, "data", make_buffer(env, h->pending.data, h->pending.len));
	napi_set_named_property(env, out, "dropped", make_num(env, (double)h->pending_dropped));
	h->pending.len = 0;
	h->pending_dropped = 0;
	return out;
}

/* ---------- test runs ---------- */

/* testRun(h, prog, ctx[, cpu, from]) -> the program's return value, run
 * once by BPF_PROG_TEST_RUN on `ctx` (a raw_tp program: its u64 arguments).
 * With `cpu`, on that CPU, called from CPU `from` (the calling thread pinned
 * there meanwhile): from itself in task context, from another in hardirq
 * context (the kernel sends an IPI). For tests of the C functions themselves
 * (bpf/selftest.bpf.c). */
static napi_value js_test_run(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	size_t argc = 5;
	struct handle *h;
	struct bpf_program *p;
	void *ctx;
	size_t len;
	uint32_t cpu = 0, from = 0;
	if (NAPI_CHECK(env, napi_get_cb_info, info, &argc, argv, NULL, NULL))
		return NULL;
	if (argc < 3 || argc == 4)
		return throw_msg(env, "wrong number of arguments");
	if (!(h = get_handle(env, argv[0])) || !(p = find_prog(env, h, argv[1])) ||
	    NAPI_CHECK(env, napi_get_buffer_info, argv[2], &ctx, &len) ||
	    (argc == 5 && (NAPI_CHECK(env, napi_get_value_uint32, argv[3], &cpu) || NAPI_CHECK(env, napi_get_value_uint32, argv[4], &from))))
		return NULL;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = len ? ctx : NULL, .ctx_size_in = len);
	int fd = bpf_program__fd(p);
	if (fd < 0)
		return throw_errno(env, "bpf_program__fd", EBADF); /* not loaded */
	cpu_set_t was, one;
	if (argc == 5) {
		opts.flags = BPF_F_TEST_RUN_ON_CPU;
		opts.cpu = cpu;
		CPU_ZERO(&one);
		CPU_SET(from, &one);
		if (sched_getaffinity(0, sizeof(was), &was) || sched_setaffinity(0, sizeof(one), &one))
			return throw_errno(env, "sched_setaffinity", errno);
	}
	int err = bpf_prog_test_run_opts(fd, &opts) ? errno : 0;
	if (argc == 5)
		sched_setaffinity(0, sizeof(was), &was);
	if (err)
		return throw_errno(env, "bpf_prog_test_run_opts", err);
	return make_num(env, opts.retval);
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

/* disableStats(h): drop this handle's hold on the run-time statistics (the
 * kernel keeps them on while anyone else holds them). */
static napi_value js_disable_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct handle *h;
	if (get_args(env, info, 1, argv) || !(h = get_handle(env, argv[0])))
		return NULL;
	if (h->stats_fd >= 0)
		close(h->stats_fd);
	h->stats_fd = -1;
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

/* The running kernel's BTF, parsed on first use, kept until btfRelease. */
static struct btf *vmlinux;

static struct btf *vmlinux_btf(napi_env env)
{
	if (!vmlinux) {
		vmlinux = btf__load_vmlinux_btf();
		if (!vmlinux)
			throw_errno(env, "btf__load_vmlinux_btf", errno);
	}
	return vmlinux;
}

/* btfRelease(): free the parsed kernel BTF (several MiB; parsed again if asked). */
static napi_value js_btf_release(napi_env env, napi_callback_info info)
{
	(void)env;
	(void)info;
	btf__free(vmlinux);
	vmlinux = NULL;
	return NULL;
}

/* btfHasType(name): does the running kernel's BTF define a type of this name? */
static napi_value js_btf_has_type(napi_env env, napi_callback_info info)
{
	napi_value argv[1], out;
	char name[256];
	struct btf *vmlinux;
	if (get_args(env, info, 1, argv) || get_string(env, argv[0], name, sizeof(name)) || !(vmlinux = vmlinux_btf(env)))
		return NULL;
	napi_get_boolean(env, btf__find_by_name(vmlinux, name) > 0, &out);
	return out;
}

/* btfTracepointArgs(name) -> arguments of the tracepoint as the kernel's BTF
 * declares them (typedef btf_trace_<name>: a pointer to a function of
 * __data and the arguments), without __data; -1 when it has no such type. */
static napi_value js_btf_tracepoint_args(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char name[200], tname[256];
	struct btf *vmlinux;
	if (get_args(env, info, 1, argv) || get_string(env, argv[0], name, sizeof(name)) || !(vmlinux = vmlinux_btf(env)))
		return NULL;
	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	int id = btf__find_by_name_kind(vmlinux, tname, BTF_KIND_TYPEDEF);
	if (id < 0)
		return make_num(env, -1);
	const struct btf_type *t = btf__type_by_id(vmlinux, btf__type_by_id(vmlinux, id)->type);
	if (!t || !btf_is_ptr(t) || !(t = btf__type_by_id(vmlinux, t->type)) || !btf_is_func_proto(t) || !btf_vlen(t))
		return make_num(env, -1);
	return make_num(env, btf_vlen(t) - 1);
}

static napi_value js_take_log(napi_env env, napi_callback_info info)
{
	napi_value out;
	napi_create_string_utf8(env, libbpf_log.data ? libbpf_log.data : "", libbpf_log.len, &out);
	libbpf_log.len = 0;
	return out;
}

/* A member's type as TypeScript names it: typedefs and modifiers skipped
 * down to the int, float, struct, union or enum; arrays as `char[16]`. */
static int type_name(const struct btf *btf, __u32 id, char *out, size_t cap)
{
	char dims[64];
	size_t dl = 0;
	const struct btf_type *t;
	dims[0] = 0;
	for (;;) {
		t = btf__type_by_id(btf, id);
		if (!t)
			return -EINVAL;
		if (btf_is_mod(t) || btf_is_typedef(t)) {
			id = t->type;
		} else if (btf_is_array(t)) {
			dl += snprintf(dims + dl, sizeof(dims) - dl, "[%u]", btf_array(t)->nelems);
			if (dl >= sizeof(dims))
				return -EINVAL;
			id = btf_array(t)->type;
		} else {
			break;
		}
	}
	const char *name = btf__name_by_offset(btf, t->name_off);
	if (!name || !*name) { /* anonymous or unnamed kinds */
		switch (btf_kind(t)) {
		case BTF_KIND_STRUCT: name = "struct"; break;
		case BTF_KIND_UNION: name = "union"; break;
		case BTF_KIND_ENUM: case BTF_KIND_ENUM64: name = "enum"; break;
		case BTF_KIND_PTR: name = "pointer"; break;
		case BTF_KIND_UNKN: name = "void"; break;
		default: name = "?"; break;
		}
	}
	if ((size_t)snprintf(out, cap, "%s%s", name, dims) >= cap)
		return -EINVAL;
	return 0;
}

/* One struct as {size, members: [{name, offset, size, type}]}; bytes. */
static int struct_value(napi_env env, const struct btf *btf, const struct btf_type *t, napi_value *out)
{
	napi_value members;
	const struct btf_member *mb = btf_members(t);
	char type[256];
	napi_create_object(env, out);
	napi_create_array(env, &members);
	napi_set_named_property(env, *out, "size", make_num(env, t->size));
	napi_set_named_property(env, *out, "members", members);
	for (__u32 i = 0; i < btf_vlen(t); i++, mb++) {
		__u32 bits = btf_member_bit_offset(t, i);
		if (btf_member_bitfield_size(t, i) || bits % 8) /* no byte offset and size to give */
			return -EINVAL;
		__s64 size = btf__resolve_size(btf, mb->type);
		if (size < 0)
			return size;
		int err = type_name(btf, mb->type, type, sizeof(type));
		if (err)
			return err;
		napi_value o;
		napi_create_object(env, &o);
		napi_set_named_property(env, o, "name", make_str(env, btf__name_by_offset(btf, mb->name_off)));
		napi_set_named_property(env, o, "offset", make_num(env, bits / 8));
		napi_set_named_property(env, o, "size", make_num(env, size));
		napi_set_named_property(env, o, "type", make_str(env, type));
		napi_set_element(env, members, i, o);
	}
	return 0;
}

/* btfStructs(file) -> {name: struct}: every struct ebtop_* of the compiled
 * object's own BTF, members in declaration order, so TypeScript's decoders
 * are checked against what clang laid out rather than a copy of it. */
static napi_value js_btf_structs(napi_env env, napi_callback_info info)
{
	napi_value argv[1], out;
	char path[4096];
	if (get_args(env, info, 1, argv) || get_string(env, argv[0], path, sizeof(path)))
		return NULL;
	struct btf *btf = btf__parse(path, NULL);
	if (!btf)
		return throw_errno(env, "btf__parse", errno);
	napi_create_object(env, &out);
	for (__u32 id = 1; id < btf__type_cnt(btf); id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *name = btf__name_by_offset(btf, t->name_off);
		if (!btf_is_struct(t) || !name || strncmp(name, "ebtop_", 6))
			continue;
		bool dup;
		napi_has_named_property(env, out, name, &dup);
		if (dup) { /* two layouts under one name: the object is not one build */
			btf__free(btf);
			return throw_errno(env, "btfStructs: duplicate struct", EEXIST);
		}
		napi_value s;
		int err = struct_value(env, btf, t, &s);
		if (err) {
			btf__free(btf);
			return throw_errno(env, "btfStructs: member", err);
		}
		napi_set_named_property(env, out, name, s);
	}
	btf__free(btf);
	return out;
}

/* The enum value libbpf names `name` (its *_type_str functions), or -1. The
 * enums are dense and far smaller than 256. */
static int type_by_name(const char *(*to_str)(int), const char *name)
{
	for (int t = 0; t < 256; t++) {
		const char *s = to_str(t);
		if (s && !strcmp(s, name))
			return t;
	}
	return -1;
}

static const char *map_type_str(int t) { return libbpf_bpf_map_type_str(t); }
static const char *prog_type_str(int t) { return libbpf_bpf_prog_type_str(t); }

/* probeMapType(name) / probeProgType(name) -> does the running kernel support
 * this map / program type? name: libbpf's, e.g. 'task_storage',
 * 'raw_tracepoint'. */
static napi_value probe_type(napi_env env, napi_callback_info info, int prog)
{
	napi_value argv[1], out;
	char name[64];
	if (get_args(env, info, 1, argv) || get_string(env, argv[0], name, sizeof(name)))
		return NULL;
	int t = type_by_name(prog ? prog_type_str : map_type_str, name);
	if (t < 0)
		return throw_errno(env, prog ? "libbpf_bpf_prog_type_str" : "libbpf_bpf_map_type_str", EINVAL);
	int r = prog ? libbpf_probe_bpf_prog_type(t, NULL) : libbpf_probe_bpf_map_type(t, NULL);
	if (r < 0)
		return throw_errno(env, prog ? "libbpf_probe_bpf_prog_type" : "libbpf_probe_bpf_map_type", r);
	napi_get_boolean(env, r > 0, &out);
	return out;
}

static napi_value js_probe_map_type(napi_env env, napi_callback_info info)
{
	return probe_type(env, info, 0);
}

static napi_value js_probe_prog_type(napi_env env, napi_callback_info info)
{
	return probe_type(env, info, 1);
}

/* probeCmpxchg() -> does the verifier accept BPF compare-and-exchange (BPF
 * atomics, 5.12)? Before, it refuses a program holding one anywhere, even
 * where it never walks. Loads r0 = 0; *(u64 *)(r10 - 8) = 0;
 * r0 = cmpxchg(r10 - 8, r0, r1 = 1); r0 = 0; exit. */
static napi_value js_probe_cmpxchg(napi_env env, napi_callback_info info)
{
	napi_value out;
	const struct bpf_insn insns[] = {
		{.code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10, .off = -8, .imm = 0},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1},
		{.code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = BPF_REG_10, .src_reg = BPF_REG_1, .off = -8, .imm = BPF_CMPXCHG},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	(void)info;
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns, sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd >= 0)
		close(fd);
	napi_get_boolean(env, fd >= 0, &out);
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
		{"setAutoload", js_set_autoload}, {"setMaxEntries", js_set_max_entries}, {"setMapType", js_set_map_type}, {"setMapFlags", js_set_map_flags},
		{"setConst", js_set_const}, {"load", js_load}, {"attach", js_attach}, {"detach", js_detach},
		{"readIter", js_read_iter}, {"mapDump", js_map_dump}, {"mapDrain", js_map_drain},
		{"mapUpdate", js_map_update}, {"mapDelete", js_map_delete},
		{"ringOpen", js_ring_open}, {"ringDrain", js_ring_drain},
		{"enableStats", js_enable_stats}, {"disableStats", js_disable_stats}, {"progStats", js_prog_stats},
		{"btfHasType", js_btf_has_type}, {"btfRelease", js_btf_release}, {"takeLog", js_take_log}, {"btfStructs", js_btf_structs},
		{"probeMapType", js_probe_map_type}, {"probeProgType", js_probe_prog_type}, {"probeCmpxchg", js_probe_cmpxchg},
		{"btfTracepointArgs", js_btf_tracepoint_args},
		{"numPossibleCpus", js_num_possible_cpus}, {"testRun", js_test_run},
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
