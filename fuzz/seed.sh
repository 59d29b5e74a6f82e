#!/bin/sh
# Seeds fuzz/corpus/<target>/ from the libvirt test cases in ../shared/conformance
# (read at run time, never copied into the repository) and the project's own guests.
# Usage: fuzz/seed.sh [SHARED_DIR]   (default: ../shared next to the crate root)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
shared=${1:-$root/../shared}
[ -d "$shared/conformance" ] || { echo "no $shared/conformance: give the shared directory" >&2; exit 1; }
for t in xml_parse domain_read assign analyses; do
    mkdir -p "$here/corpus/$t"
    find "$shared/conformance" "$root/tests/guests" "$root/tests/bad" "$root/assets/examples" \
        -name '*.xml' -size -256k -exec cp -t "$here/corpus/$t" {} + 2>/dev/null || true
done
# The edit targets take a guest number and operation bytes / element text.
mkdir -p "$here/corpus/edit_ops" "$here/corpus/xml_edit_check"
i=0
for f in "$root"/assets/examples/*.xml; do
    printf '\000\001\002\003\004\005\006\007\010\011\012\013' > "$here/corpus/edit_ops/seed$i"
    { printf '\000'; sed -n '/<disk/,/<\/disk>/p' "$f" | head -20; } > "$here/corpus/xml_edit_check/seed$i"
    i=$((i + 1))
done
echo "seeded $(ls "$here/corpus/xml_parse" | wc -l) XML files per XML target"
