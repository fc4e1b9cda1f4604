/* SPDX-License-Identifier: GPL-2.0 */
/* System call numbers of the calls whose return value is bytes moved, and
 * the call a sys_exit event is for (its saved registers), per architecture.
 * Used by the sys_exit fallbacks of kernels without the byte tracepoints. */
#ifndef EBTOP_SYSCALLS_BPF_H
#define EBTOP_SYSCALLS_BPF_H

#include "common.bpf.h"

#if defined(__TARGET_ARCH_x86)
#define NR_READ 0
#define NR_WRITE 1
#define NR_READV 19
#define NR_PREAD64 17
#define NR_PREADV 295
#define NR_PREADV2 327
#define NR_WRITEV 20
#define NR_SENDFILE 40
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define NR_SENDMSG 46
#define NR_RECVMSG 47
static __always_inline long syscall_nr(struct pt_regs *regs)
{
	return BPF_CORE_READ(regs, orig_ax);
}
#elif defined(__TARGET_ARCH_arm64)
#define NR_READ 63
#define NR_WRITE 64
#define NR_READV 65
#define NR_PREAD64 67
#define NR_PREADV 69
#define NR_PREADV2 286
#define NR_WRITEV 66
#define NR_SENDFILE 71
#define NR_SENDTO 206
#define NR_RECVFROM 207
#define NR_SENDMSG 211
#define NR_RECVMSG 212
struct pt_regs___arm64_nr {
	int syscallno;
} __attribute__((preserve_access_index));
static __always_inline long syscall_nr(struct pt_regs *regs)
{
	return BPF_CORE_READ((struct pt_regs___arm64_nr *)regs, syscallno);
}
#else
#define NR_READ -1
#define NR_WRITE -1
#define NR_READV -1
#define NR_PREAD64 -1
#define NR_PREADV -1
#define NR_PREADV2 -1
#define NR_WRITEV -1
#define NR_SENDFILE -1
#define NR_SENDTO -1
#define NR_RECVFROM -1
#define NR_SENDMSG -1
#define NR_RECVMSG -1
static __always_inline long syscall_nr(struct pt_regs *regs)
{
	return -2;
}
#endif

/* The file behind fd `fd` of the current task, or NULL. */
static __always_inline struct file *file_of_fd(long fd)
{
	struct task_struct *t = current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

#endif
