#!/bin/sh
# Install libufm for C/C++ users: headers, libufm.so and libufm.a, a pkg-config file and a CMake
# package config.
#   cargo build --release -p ufm-ffi && sh ffi/dist/install.sh /usr/local
# Then: pkg-config --cflags --libs ufm, or in CMake: find_package(ufm) and link ufm::ufm
# (shared) or ufm::ufm_static.
set -eu
prefix=${1:?usage: install.sh PREFIX [TARGET_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${2:-${CARGO_TARGET_DIR:-$root/target}/release}
version=$(sed -n 's/^#define UFM_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/ufm.h")
[ -n "$version" ] || { echo "install.sh: no UFM_VERSION_STRING in include/ufm.h" >&2; exit 1; }
for f in libufm.so libufm.a; do
    [ -f "$target/$f" ] || { echo "install.sh: $target/$f missing; run cargo build --release -p ufm-ffi" >&2; exit 1; }
done
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/ufm"
cp "$root/include/ufm.h" "$root/include/ufm.hpp" "$prefix/include/"
cp "$target/libufm.so" "$target/libufm.a" "$prefix/lib/"
# The static library bundles the standard library's objects with their debug info (about 100 MB);
# installed copies are stripped of debug info (symbols stay, so linking and backtraces work).
if command -v strip >/dev/null 2>&1; then
    strip --strip-debug "$prefix/lib/libufm.a" "$prefix/lib/libufm.so"
else
    echo "install.sh: no strip found; libufm.a keeps its debug info" >&2
fi
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$here/ufm.pc.in" > "$prefix/lib/pkgconfig/ufm.pc"
cp "$here/ufmConfig.cmake" "$prefix/lib/cmake/ufm/"
sed -e "s|@VERSION@|$version|g" "$here/ufmConfigVersion.cmake.in" > "$prefix/lib/cmake/ufm/ufmConfigVersion.cmake"
echo "installed ufm $version into $prefix"
