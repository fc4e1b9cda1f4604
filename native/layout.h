/* The sizeof/offsetof table the addon exports; test/unit/layout.test.ts holds
 * src/abi.ts equal to it. One line per field that crosses the boundary. */
#include <stddef.h>
#include "../bpf/ebtop.h"

#define LAYOUT_FIELD(s, f) { #s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f) }
#define LAYOUT_SIZE(s) { #s, NULL, 0, sizeof(struct s) }

struct layout_entry {
	const char *type;
	const char *field; /* NULL: the entry gives the struct's size */
	size_t offset;
	size_t size;
};

static const struct layout_entry layout_table[] = {
	LAYOUT_SIZE(ebtop_cpu_counters),
	LAYOUT_FIELD(ebtop_cpu_counters, oncpu_ns),
	LAYOUT_FIELD(ebtop_cpu_counters, runq_ns),
	LAYOUT_FIELD(ebtop_cpu_counters, slices),
	LAYOUT_FIELD(ebtop_cpu_counters, nvcsw),
	LAYOUT_FIELD(ebtop_cpu_counters, nivcsw),
	LAYOUT_FIELD(ebtop_cpu_counters, migrations),
	LAYOUT_SIZE(ebtop_task),
	LAYOUT_FIELD(ebtop_task, type),
	LAYOUT_FIELD(ebtop_task, tid),
	LAYOUT_FIELD(ebtop_task, pid),
	LAYOUT_FIELD(ebtop_task, ppid),
	LAYOUT_FIELD(ebtop_task, uid),
	LAYOUT_FIELD(ebtop_task, flags),
	LAYOUT_FIELD(ebtop_task, state),
	LAYOUT_FIELD(ebtop_task, exit_code),
	LAYOUT_FIELD(ebtop_task, start_ns),
	LAYOUT_FIELD(ebtop_task, time_ns),
	LAYOUT_FIELD(ebtop_task, cpu),
	LAYOUT_FIELD(ebtop_task, comm),
	LAYOUT_SIZE(ebtop_exec),
	LAYOUT_FIELD(ebtop_exec, type),
	LAYOUT_FIELD(ebtop_exec, tid),
	LAYOUT_FIELD(ebtop_exec, pid),
	LAYOUT_FIELD(ebtop_exec, old_tid),
	LAYOUT_FIELD(ebtop_exec, args_len),
	LAYOUT_FIELD(ebtop_exec, start_ns),
	LAYOUT_FIELD(ebtop_exec, time_ns),
	LAYOUT_FIELD(ebtop_exec, comm),
	LAYOUT_FIELD(ebtop_exec, args),
	LAYOUT_SIZE(ebtop_fork),
	LAYOUT_FIELD(ebtop_fork, type),
	LAYOUT_FIELD(ebtop_fork, tid),
	LAYOUT_FIELD(ebtop_fork, pid),
	LAYOUT_FIELD(ebtop_fork, ppid),
	LAYOUT_FIELD(ebtop_fork, start_ns),
	LAYOUT_FIELD(ebtop_fork, time_ns),
	LAYOUT_FIELD(ebtop_fork, comm),
	LAYOUT_SIZE(ebtop_cpu_run),
	LAYOUT_FIELD(ebtop_cpu_run, tid),
	LAYOUT_FIELD(ebtop_cpu_run, in_ns),
	LAYOUT_FIELD(ebtop_cpu_run, oncpu_at_in),
	LAYOUT_SIZE(ebtop_stats),
	LAYOUT_FIELD(ebtop_stats, records),
	LAYOUT_FIELD(ebtop_stats, lost),
};
