// SPDX-License-Identifier: GPL-2.0
/*
 * Net subsystem. Per thread (task-local storage, in the caller's own
 * context): the bytes its socket calls moved, by class (TCP, UDP, unix; net_*
 * = every IP socket), from sock_send_length / sock_recv_length (6.3+), or
 * before 6.3 from the socket syscalls' return values at sys_exit.
 *
 * Per TCP connection (a map keyed by socket cookie, deleted at
 * tcp_destroy_sock, which also sends its final values as a ring record):
 * owner, netns, 4-tuple, state, bytes, retransmits, data segments sent. The
 * owner is the connect() caller, or for an accepted socket the first process
 * that sends, receives or closes on it (the handshake completes in softirq on
 * an unrelated task). Events outside the owner's context (ESTABLISHED,
 * failures, resets, retransmits in softirq or timers) are charged to the
 * owner through the connection, never to `current`.
 */
#include "common.bpf.h"
#include "syscalls.bpf.h"
#include "dedup.bpf.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define NET_AF_UNIX 1
#define NET_AF_INET 2
#define NET_AF_INET6 10
#define NET_MSG_PEEK 2
#define NET_S_IFMT 0170000
#define NET_S_IFSOCK 0140000

/* tcp_retransmit_skb gained `err` (and fires on failures too) in 6.17; before,
 * it fired only for successful retransmits (set from its BTF argument count).
 * err < 0: nothing left (-EBUSY, -EAGAIN, -ENOMEM...), not counted; err > 0 is
 * the qdisc's verdict (NET_XMIT_DROP) on a segment TCP did retransmit: counted,
 * as tcp_info's total_retrans counts it (with err == 0 only, iperf3's count was
 * missed by 0.2% over a veth pair under loss; with err >= 0 it matched). */
const volatile __u32 net_retrans_has_err = 1;
/* Connections keyed by socket address instead of cookie: raw_tp programs may
 * not call bpf_get_socket_cookie. Safe because entries die at tcp_destroy_sock. */
const volatile __u32 net_id_by_ptr = 0;

/* Live TCP connections by id; sized before load (src/subsystems/net.ts). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct ebtop_conn);
} net_conns SEC(".maps");

/* Owner-keyed charges, drained by userspace every refresh; pid 0: no owner.
 * Not preallocated: preallocating 16,384 per-CPU entries cost 12 ms of
 * start-up each, for owners that are few in any one refresh. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct ebtop_owner);
	__type(value, struct ebtop_net_tcp);
} net_tcp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ebtop_net_stats);
} net_stats SEC(".maps");

/*
 * The kernel skips a tracing program that fires while the same program runs
 * on that CPU (bpf_trace_run's per-program `active`): a close() in process
 * context interrupted by a softirq that ends other connections lost 0.5-10%
 * of 20,000 tcp_destroy_sock events, leaving entries behind. So each TCP hook
 * has a second program on the same tracepoint, attached after the first (a
 * tracepoint calls its programs in that order). State changes and ends of
 * life are idempotent (a transition the entry already has, an entry already
 * gone, is a no-op): both programs do the whole work, whichever runs first
 * does it. Retransmits and resets are counts: the second program counts only
 * an event the first did not (bpf/dedup.bpf.h, tokens per CPU and context
 * level). The two may then run at once on one CPU: charges are added
 * atomically.
 */
#define NET_HOOK_RETRANS 0
#define NET_HOOK_RESET 1

/* The object's BTF records only the types of globals, maps and function
 * signatures: this makes the ring record's layout checkable from userspace. */
const volatile struct ebtop_conn btf_conn_layout __attribute__((used));

/* ---------------------------------------------------------------- charges */

/* The charge entry of an owner on this CPU, created zeroed; NULL when full (counted). */
static __always_inline struct ebtop_net_tcp *tcp_charge(__u32 pid, __u64 pstart_ns)
{
	struct ebtop_owner o = { .pid = pid, .start_ns = pid ? pstart_ns : 0 };
	charge_key(&o);
	struct ebtop_net_tcp *c = bpf_map_lookup_elem(&net_tcp, &o);
	if (c)
		return c;
	struct ebtop_net_tcp z = {};
	if (bpf_map_update_elem(&net_tcp, &o, &z, BPF_NOEXIST) == -E2BIG)
		count_map_full(LOST_NET_CHARGE, o.pid, o.start_ns); /* the process once, in any charge generation */
	return bpf_map_lookup_elem(&net_tcp, &o);
}

/* A connection's owner (pid 0 while nobody has used an accepted socket). */
static __always_inline struct ebtop_net_tcp *charge_of(struct ebtop_conn *c)
{
	return c ? tcp_charge(c->pid, c->pstart_ns) : tcp_charge(0, 0);
}

/* --------------------------------------------------------- connections */

static __always_inline __u64 sock_id_btf(struct sock *sk)
{
	return net_id_by_ptr ? (__u64)sk : bpf_get_socket_cookie(sk);
}

/* Not established yet or gone: a send/recv then creates no entry. */
static __always_inline bool open_state(__u8 s)
{
	return s == TCP_ESTABLISHED || s == TCP_SYN_RECV || s == TCP_FIN_WAIT1 || s == TCP_FIN_WAIT2 ||
	       s == TCP_CLOSE_WAIT || s == TCP_CLOSING || s == TCP_LAST_ACK;
}

/* Addresses, ports and network namespace, as the socket has them now. */
static __always_inline void conn_tuple(struct ebtop_conn *c, struct sock *sk)
{
	c->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	c->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	c->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	c->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (c->family == NET_AF_INET6) {
		BPF_CORE_READ_INTO(&c->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&c->raddr, sk, __sk_common.skc_v6_daddr);
	} else {
		__builtin_memset(c->laddr, 0, sizeof(c->laddr));
		__builtin_memset(c->raddr, 0, sizeof(c->raddr));
		BPF_CORE_READ_INTO((__u32 *)c->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)c->raddr, sk, __sk_common.skc_daddr);
	}
}

static __always_inline __u64 segs_out_of(struct sock *sk)
{
	return BPF_CORE_READ((struct tcp_sock *)sk, data_segs_out);
}

/* A new entry (owner t, or none); NULL when the map is full (counted). */
static __always_inline struct ebtop_conn *conn_new(__u64 id, struct sock *sk, __u8 flags, struct task_struct *t)
{
	struct ebtop_conn c = {};
	c.id = id;
	c.start_ns = bpf_ktime_get_ns();
	c.flags = flags;
	c.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (t) {
		struct ebtop_owner o;
		owner_of(t, &o);
		c.pid = o.pid;
		c.pstart_ns = o.start_ns;
	}
	conn_tuple(&c, sk);
	/* each connection once, not at each of its packets and state changes */
	if (bpf_map_update_elem(&net_conns, &id, &c, BPF_NOEXIST) == -E2BIG && count_map_full(LOST_NET_CONN, id, 0)) {
		__u32 zero = 0;
		struct ebtop_net_stats *s = bpf_map_lookup_elem(&net_stats, &zero);
		if (s)
			s->conn_full++;
	}
	return bpf_map_lookup_elem(&net_conns, &id);
}

/* Counted in tcp_new once, when it is established and has an owner. */
static __always_inline void count_new(struct ebtop_conn *c)
{
	if (!c->pid || !(c->flags & EBTOP_CONN_ESTABLISHED) || (c->flags & (EBTOP_CONN_FOUND | EBTOP_CONN_COUNTED)))
		return;
	c->flags |= EBTOP_CONN_COUNTED;
	struct ebtop_net_tcp *ch = charge_of(c);
	if (ch)
		__sync_fetch_and_add(&ch->tcp_new, 1);
}

/* The first process to use an accepted socket owns it. */
static __always_inline void claim(struct ebtop_conn *c, struct task_struct *t)
{
	struct ebtop_owner o;
	owner_of(t, &o);
	c->pstart_ns = o.start_ns;
	/* owner start before pid: a charge racing on another CPU sees both or pid 0 */
	asm volatile("" ::: "memory");
	c->pid = o.pid;
	count_new(c);
}

/* A send or receive on a TCP socket, in the caller's context. */
static __always_inline void conn_io(struct sock *sk, __u64 id, __u64 bytes, bool tx)
{
	struct ebtop_conn *c = bpf_map_lookup_elem(&net_conns, &id);
	struct task_struct *t = current_task();
	if (!c) {
		/* open before ebtop attached (or a fast-open child still in SYN_RECV) */
		__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
		if (!open_state(state))
			return;
		c = conn_new(id, sk, state == TCP_SYN_RECV ? EBTOP_CONN_PASSIVE : EBTOP_CONN_FOUND | EBTOP_CONN_ESTABLISHED, t);
		if (!c)
			return;
	} else if (!c->pid) {
		claim(c, t);
	}
	if (tx)
		__sync_fetch_and_add(&c->tx_bytes, bytes);
	else
		__sync_fetch_and_add(&c->rx_bytes, bytes);
	c->segs_out = segs_out_of(sk);
}

/* ------------------------------------------------------------- bytes */

/* Thread counters for an IP socket of protocol `proto`. */
static __always_inline void count_ip(__u16 proto, __u64 bytes, bool tx)
{
	struct ebtop_thread *th = thread_get(current_task(), true);
	if (!th)
		return;
	struct ebtop_net_counters *n = &th->c.net;
	if (tx) {
		n->net_tx_bytes += bytes;
		if (proto == IPPROTO_TCP)
			n->tcp_tx_bytes += bytes;
		else if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE)
			n->udp_tx_bytes += bytes;
	} else {
		n->net_rx_bytes += bytes;
		if (proto == IPPROTO_TCP)
			n->tcp_rx_bytes += bytes;
		else if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE)
			n->udp_rx_bytes += bytes;
	}
}

static __always_inline void count_unix(__u64 bytes, bool tx)
{
	struct ebtop_thread *th = thread_get(current_task(), true);
	if (!th)
		return;
	if (tx)
		th->c.net.unix_tx_bytes += bytes;
	else
		th->c.net.unix_rx_bytes += bytes;
}

/* sock_send_length / sock_recv_length: `sk` is BTF-typed, read directly. */
static __always_inline int on_io_btf(struct sock *sk, int ret, bool tx)
{
	/* unix sockets first: the most frequent, and nothing per socket */
	__u16 family = sk->__sk_common.skc_family;
	if (family == NET_AF_UNIX) {
		count_unix(ret, tx);
		return 0;
	}
	if (family != NET_AF_INET && family != NET_AF_INET6)
		return 0; /* netlink, packet, vsock...: not network traffic of the process */
	__u16 proto = sk->sk_protocol;
	count_ip(proto, ret, tx);
	if (proto == IPPROTO_TCP)
		conn_io(sk, sock_id_btf(sk), ret, tx);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(send_btf, struct sock *sk, int ret, int flags)
{
	if (ret <= 0 || !sk)
		return 0;
	return on_io_btf(sk, ret, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(recv_btf, struct sock *sk, int ret, int flags)
{
	if (ret <= 0 || (flags & NET_MSG_PEEK) || !sk)
		return 0;
	return on_io_btf(sk, ret, false);
}

/* ----------------------------------------- bytes before 6.3: sys_exit */

/* Socket syscalls whose return value is bytes moved, and the fd they moved
 * them on (argument 1; sendfile's out_fd): bpf/syscalls.bpf.h. sendmmsg/recvmmsg
 * (a message count), splice and io_uring are not seen. */

/* The socket behind fd `fd` of the current task, or NULL. */
static __always_inline struct sock *sock_of_fd(long fd)
{
	struct file *f = file_of_fd(fd);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & NET_S_IFMT) != NET_S_IFSOCK)
		return NULL;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

static __always_inline int on_sys_exit(struct pt_regs *regs, long ret, bool tx)
{
	if (ret <= 0)
		return 0;
	long nr = syscall_nr(regs);
	if (tx) {
		if (nr != NR_WRITE && nr != NR_WRITEV && nr != NR_SENDTO && nr != NR_SENDMSG && nr != NR_SENDFILE)
			return 0;
	} else {
		if (nr == NR_RECVFROM) {
			if (PT_REGS_PARM4_CORE_SYSCALL(regs) & NET_MSG_PEEK)
				return 0;
		} else if (nr == NR_RECVMSG) {
			if (PT_REGS_PARM3_CORE_SYSCALL(regs) & NET_MSG_PEEK)
				return 0;
		} else if (nr != NR_READ && nr != NR_READV) {
			return 0;
		}
	}
	struct sock *sk = sock_of_fd(PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (!sk)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == NET_AF_UNIX) {
		count_unix(ret, tx);
		return 0;
	}
	if (family != NET_AF_INET && family != NET_AF_INET6)
		return 0;
	__u16 proto = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	count_ip(proto, ret, tx);
	if (proto != IPPROTO_TCP)
		return 0;
	/* the cookie as the lifecycle hooks made it; 0: never asked for, so untracked */
	__u64 id = net_id_by_ptr ? (__u64)sk : BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (id)
		conn_io(sk, id, ret, tx);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(send_sys_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(recv_sys_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret, false);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(send_sys_raw, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret, true);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(recv_sys_raw, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret, false);
}

/* ---------------------------------------------------- TCP lifecycle */

static __always_inline bool is_tcp(struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == IPPROTO_TCP;
}

static __always_inline int on_state(struct sock *sk, __u64 id, int old, int new)
{
	if (!is_tcp(sk))
		return 0;
	struct ebtop_conn *c = bpf_map_lookup_elem(&net_conns, &id);
	if (c && c->state == new)
		return 0; /* already applied (by the hook's other program) */
	if (new == TCP_SYN_SENT) {
		/* connect(), in the caller's context; a refused socket may connect again */
		struct task_struct *t = current_task();
		if (!c)
			c = conn_new(id, sk, EBTOP_CONN_ACTIVE, t);
		else if (!c->pid)
			claim(c, t);
		if (c) {
			c->state = new;
			conn_tuple(c, sk);
		}
		return 0;
	}
	if (new == TCP_ESTABLISHED) {
		/* softirq, on whatever task was running: no owner from here */
		if (!c)
			c = conn_new(id, sk, old == TCP_SYN_SENT ? EBTOP_CONN_ACTIVE : EBTOP_CONN_PASSIVE, NULL);
		if (!c)
			return 0;
		c->state = new;
		c->flags |= EBTOP_CONN_ESTABLISHED;
		conn_tuple(c, sk); /* the local port is bound by now */
		count_new(c);
		return 0;
	}
	if (!c)
		return 0; /* listeners, and sockets we never tracked */
	c->state = new;
	if (old == TCP_SYN_SENT && new == TCP_CLOSE) {
		c->flags |= EBTOP_CONN_FAILED;
		struct ebtop_net_tcp *ch = charge_of(c);
		if (ch)
			__sync_fetch_and_add(&ch->tcp_errors, 1);
	} else if ((new == TCP_FIN_WAIT1 || new == TCP_LAST_ACK) && !c->pid) {
		/* close() or shutdown() of an accepted socket nobody used: its caller owns it */
		claim(c, current_task());
	}
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_btf, struct sock *sk, int old, int new)
{
	return on_state(sk, sock_id_btf(sk), old, new);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_nested_btf, struct sock *sk, int old, int new)
{
	return on_state(sk, sock_id_btf(sk), old, new);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(state_raw, struct sock *sk, int old, int new)
{
	return on_state(sk, (__u64)sk, old, new);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(state_nested_raw, struct sock *sk, int old, int new)
{
	return on_state(sk, (__u64)sk, old, new);
}

/* End of life: the final record, then the entry goes (the pointer will be reused). */
static __always_inline int on_destroy(struct sock *sk, __u64 id)
{
	struct ebtop_conn *c = bpf_map_lookup_elem(&net_conns, &id);
	if (!c) {
		/* a refused socket's address may key the next socket: counted again then */
		if (net_id_by_ptr)
			forget_map_full(LOST_NET_CONN, id);
		return 0;
	}
	c->segs_out = segs_out_of(sk);
	c->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (c->flags & EBTOP_CONN_ESTABLISHED) {
		struct ebtop_net_tcp *ch = charge_of(c);
		if (ch)
			__sync_fetch_and_add(&ch->tcp_closed, 1);
	}
	struct ebtop_conn *r = reserve(sizeof(*r));
	if (r) {
		__builtin_memcpy(r, c, sizeof(*r));
		r->type = EBTOP_REC_CONN;
		r->end_ns = bpf_ktime_get_ns();
		submit(r);
	}
	bpf_map_delete_elem(&net_conns, &id);
	return 0;
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(destroy_btf, struct sock *sk)
{
	return on_destroy(sk, sock_id_btf(sk));
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(destroy_nested_btf, struct sock *sk)
{
	return on_destroy(sk, sock_id_btf(sk));
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(destroy_raw, struct sock *sk)
{
	return on_destroy(sk, (__u64)sk);
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(destroy_nested_raw, struct sock *sk)
{
	return on_destroy(sk, (__u64)sk);
}

/* Often in softirq or a timer: charged to the connection's owner. */
static __always_inline int on_retransmit(struct sock *sk, struct sk_buff *skb, __u64 id, int err)
{
	if (net_retrans_has_err && err < 0)
		return 0;
	struct tcp_skb_cb *cb = (void *)&skb->cb;
	__u64 segs = BPF_CORE_READ(cb, tcp_gso_segs);
	if (!segs)
		segs = 1;
	struct ebtop_conn *c = bpf_map_lookup_elem(&net_conns, &id);
	if (c) {
		__sync_fetch_and_add(&c->retransmits, segs);
		c->segs_out = segs_out_of(sk);
	}
	struct ebtop_net_tcp *ch = charge_of(c);
	if (ch)
		__sync_fetch_and_add(&ch->tcp_retransmits, segs);
	return 0;
}

/* err is only read when the tracepoint has it: with the constant false the
 * verifier never sees that access. */
#define RETRANS_BTF(ctx) on_retransmit((void *)ctx[0], (void *)ctx[1], sock_id_btf((void *)ctx[0]), net_retrans_has_err ? (int)ctx[2] : 0)
#define RETRANS_RAW(ctx) on_retransmit((void *)ctx[0], (void *)ctx[1], ctx[0], net_retrans_has_err ? (int)ctx[2] : 0)

SEC("tp_btf/tcp_retransmit_skb")
int retrans_btf(__u64 *ctx)
{
	return DEDUP_FIRST(NET_HOOK_RETRANS, ctx[1], RETRANS_BTF(ctx));
}

SEC("tp_btf/tcp_retransmit_skb")
int retrans_nested_btf(__u64 *ctx)
{
	return DEDUP_SECOND(NET_HOOK_RETRANS, ctx[1], RETRANS_BTF(ctx));
}

SEC("raw_tp/tcp_retransmit_skb")
int retrans_raw(__u64 *ctx)
{
	return DEDUP_FIRST(NET_HOOK_RETRANS, ctx[1], RETRANS_RAW(ctx));
}

SEC("raw_tp/tcp_retransmit_skb")
int retrans_nested_raw(__u64 *ctx)
{
	return DEDUP_SECOND(NET_HOOK_RETRANS, ctx[1], RETRANS_RAW(ctx));
}

/* A reset received: a failed connect is counted at SYN_SENT -> CLOSE instead. */
static __always_inline int on_reset(struct sock *sk, __u64 id)
{
	if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT)
		return 0;
	struct ebtop_net_tcp *ch = charge_of(bpf_map_lookup_elem(&net_conns, &id));
	if (ch)
		__sync_fetch_and_add(&ch->tcp_errors, 1);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(reset_btf, struct sock *sk)
{
	return DEDUP_FIRST(NET_HOOK_RESET, sk, on_reset(sk, sock_id_btf(sk)));
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(reset_nested_btf, struct sock *sk)
{
	return DEDUP_SECOND(NET_HOOK_RESET, sk, on_reset(sk, sock_id_btf(sk)));
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(reset_raw, struct sock *sk)
{
	return DEDUP_FIRST(NET_HOOK_RESET, sk, on_reset(sk, (__u64)sk));
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(reset_nested_raw, struct sock *sk)
{
	return DEDUP_SECOND(NET_HOOK_RESET, sk, on_reset(sk, (__u64)sk));
}
