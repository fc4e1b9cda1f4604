# ebtop: `sudo make run` and `sudo make test` do all the set-up.
SHELL := /bin/bash
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/;s/ppc64le/powerpc/;s/s390x/s390/')
CLANG ?= clang
BPFTOOL ?= bpftool
OUT := bpf/.output
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
# Test-only programs (test/kernel/buckets.test.ts): an object of their own, never linked into ebtop's.
SELFTEST_OBJ := $(OUT)/selftest.bpf.o
TS_SRCS := $(shell find src -name '*.ts')
WORKLOADS := $(patsubst test/workloads/%.c,test/workloads/bin/%,$(wildcard test/workloads/*.c))
PREFIX ?= /usr/local

DEBIAN_PKGS := clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config make g++ python3 \
	stress-ng fio iperf3 tmux nftables iproute2 procps htop librsvg2-bin e2fsprogs prometheus

# Only for `make bench`: the tools it compares ebtop with, perf, and the busy
# workloads' servers and load generators (PostgreSQL and pgbench, nginx and wrk).
BENCH_PKGS := sysstat nethogs iotop-c linux-perf postgresql nginx wrk

.PHONY: vmlinux all build deps bench-deps run test test-unit test-kernels test-kernels-quick bench bench-quick bench-wait bench-disk screenshots install uninstall clean

all: build

build: $(OUT)/ebtop.bpf.o $(SELFTEST_OBJ) build/Release/ebtop_bpf.node dist/cli.js

# Installs only the missing Debian packages (as root on Debian/Ubuntu; otherwise
# prints exactly what to install), then npm ci when the lock file changed.
deps:
	@missing=$$(for p in $(DEBIAN_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done | xargs); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "deps: installing $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	    case " $$missing " in *" prometheus "*) \
	      echo "deps: the prometheus service is left stopped and disabled (the tests run their own)"; \
	      (systemctl disable --now prometheus || { service prometheus stop; update-rc.d prometheus disable; }) >/dev/null 2>&1 || true;; \
	    esac; \
	  else \
	    echo "deps: missing Debian packages; run: sudo apt-get install $$missing" >&2; exit 1; \
	  fi; \
	fi
	@$(MAKE) --no-print-directory node_modules/.package-lock.json

# The kernel types the BPF programs are compiled against. CO-RE relocates
# every field access against the running kernel's BTF at load, so one header
# serves every kernel; it is committed (bpf/vmlinux/<arch>.h, dumped by
# bpftool from a 6.18 kernel) because a header dumped from an older kernel
# lacks types the programs name (struct folio before 5.16, memdesc_flags_t
# before 6.18): the object built on any machine is the one tested on every
# kernel (make test-kernels). Other architectures dump the running kernel's.
bpf/vmlinux.h: $(wildcard bpf/vmlinux/$(ARCH).h)
	if [ -f bpf/vmlinux/$(ARCH).h ]; then cp bpf/vmlinux/$(ARCH).h $@; \
	else $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@; fi

# Dumps the running kernel's types into bpf/vmlinux/<arch>.h (to move to a newer kernel's).
vmlinux:
	mkdir -p bpf/vmlinux && $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux/$(ARCH).h

$(OUT)/%.bpf.o: bpf/%.bpf.c bpf/ebtop.h $(wildcard bpf/*.bpf.h) bpf/vmlinux.h | $(OUT)
	$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -c $< -o $@

# All subsystems linked into one object: one ring buffer, one load.
$(OUT)/ebtop.bpf.o: $(filter-out $(OUT)/ebtop.bpf.o $(SELFTEST_OBJ),$(BPF_OBJS))
	$(BPFTOOL) gen object $@ $^

$(OUT):
	mkdir -p $@

build/Release/ebtop_bpf.node: native/ebtop_bpf.c binding.gyp node_modules/.package-lock.json
	npx node-gyp rebuild --nodedir=$$(dirname $$(dirname $$(readlink -f $$(command -v node))))

dist/cli.js: $(TS_SRCS) tsconfig.json node_modules/.package-lock.json
	npx tsc -p tsconfig.json
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

test/workloads/bin/%: test/workloads/%.c
	@mkdir -p $(dir $@)
	cc -O2 -Wall -pthread -fno-omit-frame-pointer -o $@ $<

run: deps build
	./bin/ebtop

test: deps build $(WORKLOADS)
	npx vitest run $(VITEST_FLAGS)

test-unit: build
	npx vitest run test/unit

# Debian's own kernels (5.10, 6.1, 6.12) booted under qemu, each running --caps
# and the kernel tests test/vm/test-kernels.sh lists (~15 min; downloads the
# kernel packages once into /var/cache/ebtop-vm). KERNELS="6.1" for one.
# test/vm/kernels.sh installs qemu, a static busybox and what it unpacks with.
test-kernels: deps build $(WORKLOADS)
	test/vm/test-kernels.sh $(KERNELS)

# What CI runs on each kernel (~3 min each): --caps, the burner's exact on-CPU
# time, the JSON contract and a refused program.
test-kernels-quick: deps build $(WORKLOADS)
	test/vm/test-kernels.sh --quick $(KERNELS)

bench-deps:
	@$(MAKE) --no-print-directory deps DEBIAN_PKGS="$(DEBIAN_PKGS) $(BENCH_PKGS)"

# The reference pair of minimal programs `make bench` holds the per-switch cost against.
bench/.output/minimal.bpf.o: bench/minimal.bpf.c bpf/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -c $< -o $@

# Accuracy against top/htop/pidstat/iotop/iostat/nethogs/ss/nstat, overhead, the
# whole tool's cost on busy workloads and the budget run, scale (~50 min):
# bench/results.md, bench/results.json and README's performance region.
# Settings (BENCH_ONLY=busy,budget, BENCH_BUSY_SECONDS, ...): bench/bench.js.
bench: bench-deps build $(WORKLOADS) bench/.output/minimal.bpf.o
	node bench/bench.js

# The targets that do not depend on machine noise (< 3 min); exits 1 when one is missed.
bench-quick: deps build $(WORKLOADS)
	node bench/bench.js --quick

# docs/tui.png and docs/drill.png (and their .ansi captures) for README.md
screenshots: deps build $(WORKLOADS)
	node bench/screenshot.js

# BPF run time per context switch with and without the wait subsystem (needs perf, stress-ng).
bench-wait: deps build
	node bench/wait-cost.js

# BPF run time per block request under fio 4 KiB random direct reads (needs fio, bpftool);
# BENCH_DISK_OTHER=<another checkout>/bin/ebtop alternates that build with this one.
bench-disk: deps build
	node bench/disk-cost.js

# A root-owned copy, not a link into this checkout: ebtop runs as root, and a
# link would let anyone who can write the checkout change what root runs. The
# copy holds what runs (bin, dist, the addon, the BPF object, the production
# node_modules as installed here) in $(LIBDIR), files 0644 and directories and
# executables 0755, owned by root when installed as root; $(BINDIR)/ebtop is a
# two-line wrapper. The copy replaces the old one whole (staged, then renamed).
# DESTDIR stages for a package (then ownership is the packager's to set).
# `make install PREFIX=/opt/ebtop`, `make install DESTDIR=/tmp/stage`.
LIBDIR ?= $(PREFIX)/lib/ebtop
BINDIR ?= $(PREFIX)/bin
# the recorder's unit (bin/ebtop-record.service), installed, never enabled
UNITDIR ?= /etc/systemd/system

install: build
	@set -eo pipefail; dest='$(DESTDIR)$(LIBDIR)'; stage="$$dest.new"; \
	mods=$$(npm ls --omit=dev --all --parseable | tail -n +2 | sed 's|^$(CURDIR)/||'); \
	rm -rf "$$stage"; mkdir -p "$$stage/build/Release" "$$stage/bpf/.output"; \
	cp -R bin dist package.json "$$stage/"; \
	cp build/Release/ebtop_bpf.node "$$stage/build/Release/"; \
	cp $(OUT)/ebtop.bpf.o "$$stage/bpf/.output/"; \
	for m in $$mods; do mkdir -p "$$stage/$$(dirname $$m)"; cp -R "$$m" "$$stage/$$m"; done; \
	chmod -R u=rwX,go=rX "$$stage"; \
	if [ "$$(id -u)" = 0 ]; then chown -R 0:0 "$$stage"; fi; \
	rm -rf "$$dest"; mv "$$stage" "$$dest"; \
	mkdir -p '$(DESTDIR)$(BINDIR)'; rm -f '$(DESTDIR)$(BINDIR)/ebtop'; \
	printf '#!/bin/sh\nexec %s/bin/ebtop "$$@"\n' '$(LIBDIR)' > '$(DESTDIR)$(BINDIR)/ebtop'; \
	chmod 0755 '$(DESTDIR)$(BINDIR)/ebtop'; \
	if [ "$$(id -u)" = 0 ]; then chown 0:0 '$(DESTDIR)$(BINDIR)/ebtop'; fi; \
	mkdir -p '$(DESTDIR)$(UNITDIR)'; \
	sed 's|@BINDIR@|$(BINDIR)|g' bin/ebtop-record.service > '$(DESTDIR)$(UNITDIR)/ebtop-record.service'; \
	chmod 0644 '$(DESTDIR)$(UNITDIR)/ebtop-record.service'; \
	echo "installed $(DESTDIR)$(LIBDIR), $(DESTDIR)$(BINDIR)/ebtop and $(DESTDIR)$(UNITDIR)/ebtop-record.service (not enabled: systemctl enable --now ebtop-record)"

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/ebtop' '$(DESTDIR)$(UNITDIR)/ebtop-record.service'
	rm -rf '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(LIBDIR).new'

clean:
	rm -rf $(OUT) bpf/vmlinux.h build dist test/workloads/bin bench/.output
