#!/bin/bash
# kernels.sh — makes Debian's own kernels ready for run.sh: fetches each kernel's
# image package from Debian's mirror (once; later runs do no network I/O), unpacks
# it into the cache and builds a small busybox initramfs holding that kernel's own
# modules for mounting the host's root over virtio-9p.
#
# Usage: test/vm/kernels.sh [KERNEL...]     KERNEL: 5.10 | 6.1 | 6.12 (default: all)
#        test/vm/kernels.sh --list          the short names, one a line
# Prints "KERNEL CACHE_DIR" for each kernel made ready.
# Cache: ${EBTOP_VM_CACHE:-/var/cache/ebtop-vm}/<KERNEL>/{vmlinuz,lib/modules/<ver>/,
#        vmlinux,release,initramfs.cpio,initramfs.stamp}
#
# apt runs with a throw-away sources list, list dir and cache dir (and an empty
# dpkg status), so the host's apt configuration and installed packages are never
# touched and the kernel is never installed on the host.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${EBTOP_VM_CACHE:-/var/cache/ebtop-vm}
MIRROR=${EBTOP_VM_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
ALL_KERNELS="5.10 6.1 6.12"

log() { echo "kernels.sh: $*" >&2; }
# Scratch dirs live under one temp dir, removed however the script ends.
SCRATCH=$(mktemp -d /tmp/ebtop-kernels.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
die() { log "error: $*"; exit 1; }

# Which Debian suite's linux-image-amd64 metapackage names each kernel.
suite_of() {
	case $1 in
	5.10) echo bullseye ;;
	6.1) echo bookworm ;;
	6.12) echo bookworm-backports ;;
	*) return 1 ;;
	esac
}

# Host tools this script and run.sh need; a fresh CI machine has none of them.
ensure_host_tools() {
	local missing=()
	command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
	# The initramfs has no libc: it needs the static busybox, not Debian's dynamic one.
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || missing+=(busybox-static)
	command -v xz >/dev/null || missing+=(xz-utils)
	command -v zstd >/dev/null || missing+=(zstd)
	command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
	# depmod: Debian's kernel packages ship no modules.dep (postinst makes it);
	# modprobe inside the guest also comes from the host's root.
	command -v depmod >/dev/null || [ -x /sbin/depmod ] || missing+=(kmod)
	[ -f "$KEYRING" ] || missing+=(debian-archive-keyring)
	if [ ${#missing[@]} -gt 0 ]; then
		[ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (run as root to install them)"
		log "installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
			die "could not install ${missing[*]}"
	fi
}

# Fetch the kernel image .deb for short name $1 and unpack it into $CACHE/$1.
fetch_kernel() {
	local k=$1 dir=$CACHE/$1 suite tmp apt pkg deb rel
	suite=$(suite_of "$k") || die "unknown kernel '$k' (known: $ALL_KERNELS)"
	if [ -f "$dir/vmlinuz" ] && [ -f "$dir/release" ] && [ -d "$dir/lib/modules/$(cat "$dir/release")" ]; then
		return 0
	fi
	tmp=$SCRATCH/fetch-$k
	mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/etc"
	local signed="signed-by=$KEYRING"
	echo "deb [$signed] $MIRROR $suite main" >"$tmp/etc/sources.list"
	apt=(-q
		-o "Dir::Etc::sourcelist=$tmp/etc/sources.list" -o "Dir::Etc::sourceparts=-"
		-o "Dir::Etc::preferences=/dev/null" -o "Dir::Etc::preferencesparts=-"
		-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache"
		-o "Dir::State::status=/dev/null" -o "APT::Sandbox::User=root"
		-o "Acquire::Languages=none" -o "APT::Get::List-Cleanup=0")
	log "$k: apt-get update ($suite)"
	apt-get "${apt[@]}" update >"$tmp/update.log" 2>&1 || { cat "$tmp/update.log" >&2; die "apt-get update for $suite failed"; }
	# The metapackage depends on exactly one versioned image package.
	pkg=$(apt-cache "${apt[@]}" depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
	[ -n "$pkg" ] || die "$suite: could not resolve linux-image-amd64"
	log "$k: downloading $pkg"
	(cd "$tmp" && apt-get "${apt[@]}" download "$pkg" >"$tmp/download.log" 2>&1) ||
		{ cat "$tmp/download.log" >&2; die "apt-get download $pkg failed"; }
	deb=$(ls "$tmp"/"${pkg}"_*.deb)
	mkdir -p "$tmp/x"
	dpkg-deb -x "$deb" "$tmp/x"
	rel=$(ls "$tmp/x/lib/modules" 2>/dev/null | head -n1)
	[ -n "$rel" ] && [ -f "$tmp/x/boot/vmlinuz-$rel" ] || die "$pkg: no vmlinuz/modules inside"
	# Replace any partial earlier attempt; only the kernel and its modules are kept.
	rm -rf "$dir.new" && mkdir -p "$dir.new/lib/modules"
	mv "$tmp/x/boot/vmlinuz-$rel" "$dir.new/vmlinuz"
	[ -f "$tmp/x/boot/config-$rel" ] && mv "$tmp/x/boot/config-$rel" "$dir.new/config"
	mv "$tmp/x/lib/modules/$rel" "$dir.new/lib/modules/$rel"
	echo "$rel" >"$dir.new/release"
	# What the package's postinst would do: modules.dep & co, for the initramfs
	# build below and for modprobe inside the guest.
	PATH=$PATH:/sbin:/usr/sbin depmod -b "$dir.new" "$rel" || die "$k: depmod failed"
	echo "$pkg $(dpkg-deb -f "$deb" Version)" >"$dir.new/package"
	rm -rf "$dir" && mv "$dir.new" "$dir"
	rm -rf "$tmp"
	log "$k: $rel ready in $dir"
}

# Decompress the kernel proper out of $1/vmlinuz into $1/vmlinux: qemu boots that
# ELF directly through its PVH entry (CONFIG_PVH=y in Debian's kernels), which
# skips the bzImage decompressor — about 6 s of each boot under TCG.
extract_vmlinux() {
	local dir=$1 magic off cmd
	[ -s "$dir/vmlinux" ] && return 0
	for magic in $'\xfd7zXZ:xz -dc --single-stream' $'\x28\xb5\x2f\xfd:zstd -qdc' $'\x1f\x8b\x08:gzip -dc'; do
		off=$(LC_ALL=C grep -abo -m1 "${magic%%:*}" "$dir/vmlinuz" 2>/dev/null | head -n1 | cut -d: -f1 || true)
		[ -n "$off" ] || continue
		cmd=${magic#*:}
		# Trailing bytes after the stream make the decompressors complain: ignore.
		tail -c +$((off + 1)) "$dir/vmlinuz" | $cmd >"$dir/vmlinux.new" 2>/dev/null || true
		if [ "$(head -c 4 "$dir/vmlinux.new" 2>/dev/null)" = $'\x7fELF' ]; then
			mv "$dir/vmlinux.new" "$dir/vmlinux"
			return 0
		fi
	done
	rm -f "$dir/vmlinux.new"
	log "warning: could not extract vmlinux from $dir/vmlinuz; booting the bzImage (slower)"
}

# Modules the initramfs needs. Required ones must exist (as module or built in);
# the others are optional helpers that only some kernels have.
REQUIRED_MODS="virtio virtio_ring virtio_pci 9pnet 9pnet_virtio 9p overlay virtio_blk ext4"
# virtio_pci_*_dev: split out of virtio_pci in 5.14+/5.16+; crc32c: ext4 asks the
# crypto API for "crc32c" at mount, which nothing would modprobe in the initramfs;
# virtio_rng: entropy, so getrandom() in node never waits on a cold TCG guest.
OPTIONAL_MODS="virtio_pci_modern_dev virtio_pci_legacy_dev crc32c_generic crc32c_intel virtio_rng"

# Print module paths (relative to lib/modules/<rel>) for the names given, each
# after its dependencies, skipping built-in ones, from the kernel's own modules.dep.
resolve_modules() {
	local moddir=$1
	shift
	awk -v want="$*" -v required="$REQUIRED_MODS" '
		function norm(p,   b) { b = p; sub(/.*\//, "", b); sub(/\.ko(\.(xz|zst|gz))?$/, "", b); gsub(/-/, "_", b); return b }
		FNR == 1 { file++ }
		file == 1 { builtin[norm($0)] = 1; next }            # modules.builtin
		file == 2 {                                           # modules.dep
			path = $1; sub(/:$/, "", path); n = norm(path)
			pathof[n] = path; deps[n] = ""
			for (i = 2; i <= NF; i++) deps[n] = deps[n] " " norm($i)
			next
		}
		function visit(n,   d, k, i) {
			if (n in done) return
			done[n] = 1
			k = split(deps[n], d, " ")
			for (i = 1; i <= k; i++) visit(d[i])
			print pathof[n]
		}
		END {
			nw = split(want, w, " ")
			split(required, r, " "); for (i in r) req[r[i]] = 1
			for (i = 1; i <= nw; i++) {
				n = w[i]
				if (n in builtin) continue
				if (!(n in pathof)) {
					if (n in req) { print "missing required module " n > "/dev/stderr"; bad = 1 }
					continue
				}
				visit(n)
			}
			exit bad
		}' "$moddir/modules.builtin" "$moddir/modules.dep"
}

# Build $CACHE/$1/initramfs.cpio: static busybox, the decompressed modules in
# load order (listed in /modules), and /init. Rebuilt when this script or init changes.
build_initramfs() {
	local k=$1 dir=$CACHE/$1 rel stamp tmp m out
	rel=$(cat "$dir/release")
	stamp=$(cat "$HERE/kernels.sh" "$HERE/init" /bin/busybox "$dir/release" | sha256sum | cut -d' ' -f1)
	if [ -f "$dir/initramfs.cpio" ] && [ "$(cat "$dir/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	tmp=$SCRATCH/initramfs-$k
	mkdir -p "$tmp/root"/{bin,dev,proc,sys,lower,rw,newroot,lib/modules}
	cp /bin/busybox "$tmp/root/bin/busybox"
	ln -s busybox "$tmp/root/bin/sh"
	cp "$HERE/init" "$tmp/root/init"
	chmod 755 "$tmp/root/init"
	# The kernel opens /dev/console for init before devtmpfs is mounted.
	mknod -m 600 "$tmp/root/dev/console" c 5 1
	mknod -m 666 "$tmp/root/dev/null" c 1 3
	local i=0
	resolve_modules "$dir/lib/modules/$rel" $REQUIRED_MODS >"$tmp/mods" ||
		die "$k: required modules missing"
	# Optional ones (and their own dependencies) are marked "?": init keeps quiet
	# when they do not load (e.g. crc32c-intel on a CPU model without SSE4.2).
	resolve_modules "$dir/lib/modules/$rel" $OPTIONAL_MODS | grep -vxF -f "$tmp/mods" | sed 's/^/?/' >>"$tmp/mods" || true
	# busybox insmod cannot read compressed modules: decompress here.
	local opt name
	while read -r m; do
		i=$((i + 1))
		opt=
		case $m in "?"*) opt="?" m=${m#?} ;; esac
		name=$(printf '%02d' $i)-$(basename "${m%%.ko*}").ko
		out=$tmp/root/lib/modules/$name
		case $m in
		*.ko.xz) xz -dc "$dir/lib/modules/$rel/$m" >"$out" ;;
		*.ko.zst) zstd -qdc "$dir/lib/modules/$rel/$m" >"$out" ;;
		*.ko.gz) gzip -dc "$dir/lib/modules/$rel/$m" >"$out" ;;
		*) cp "$dir/lib/modules/$rel/$m" "$out" ;;
		esac
		echo "$opt$name" >>"$tmp/root/modules"
	done <"$tmp/mods"
	touch "$tmp/root/modules"
	# Uncompressed: it is small, and the kernel unpacks it fastest that way.
	(cd "$tmp/root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) >"$dir/initramfs.cpio.new"
	mv "$dir/initramfs.cpio.new" "$dir/initramfs.cpio"
	echo "$stamp" >"$dir/initramfs.stamp"
	log "$k: initramfs with $i modules: $(tr '\n' ' ' <"$tmp/root/modules")"
	rm -rf "$tmp"
}

main() {
	if [ "${1:-}" = --list ]; then
		printf '%s\n' $ALL_KERNELS
		return 0
	fi
	local ks=("$@") k
	[ ${#ks[@]} -gt 0 ] || read -r -a ks <<<"$ALL_KERNELS"
	for k in "${ks[@]}"; do suite_of "$k" >/dev/null || die "unknown kernel '$k' (known: $ALL_KERNELS)"; done
	ensure_host_tools
	mkdir -p "$CACHE"
	# One run at a time per cache (CI may start several run.sh at once).
	exec 9>"$CACHE/.lock"
	flock 9
	for k in "${ks[@]}"; do
		fetch_kernel "$k"
		extract_vmlinux "$CACHE/$k"
		build_initramfs "$k"
		echo "$k $CACHE/$k"
	done
}

main "$@"
