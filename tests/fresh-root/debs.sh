# Steps 2-6 of tests/fresh-root/run.sh --debs DIR (sourced by run.sh after
# step 1, with its functions and variables): the Debian packages in a fresh
# root. Ends with run.sh's finish.

# ---- 2. apt installs the packages, their dependencies from the mirror -------
limit=1200
t0=$(date +%s)
names=$(for f in "$debs"/*.deb; do dpkg-deb -f "$f" Package; done | sort -u | tr '\n' ' ' | sed 's/ $//')
(
    set -e
    prepare_root
    mkdir -p "$root/tmp/debs"
    cp "$debs"/*.deb "$root/tmp/debs/"
    in_root /bin/sh -c 'apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/debs/*.deb'
    for p in $names; do
        in_root dpkg-query -W -f='${Package} ${Version} ${Status}\n' "$p" | grep -q ' install ok installed$'
    done
) >"$work/step2" 2>&1
st=$?
report $st "apt installs $names ($(ls "$debs"/*.deb | wc -l) files) in $(( $(date +%s) - t0 )) s" "$work/step2"
[ $st -eq 0 ] || give_up "the packages are not installed"
version=$(in_root dpkg-query -W -f='${Version}' vecstore 2>/dev/null)
upstream=${version%-*}

# ---- 3. the packaged demo, as the user ----------------------------------------
limit=900
t0=$(date +%s)
in_root -u /bin/bash -c 'cd && /usr/share/vecstore/demo/examples/demo.sh /usr/bin' >"$work/step3" 2>&1
st=$?
if [ $st -eq 0 ] && ! grep -q '^== the programs are on your PATH (from /usr/bin)' "$work/step3"; then
    echo "the demo did not find the programs on PATH in /usr/bin" >>"$work/step3"; st=1
fi
report $st "the packaged demo (/usr/share/vecstore/demo/examples/demo.sh) runs as $user in $(( $(date +%s) - t0 )) s" "$work/step3"

# ---- 4. programs, man pages, the shared library ---------------------------------
limit=300
in_root -u /bin/bash -c '
    v=$0 n=0
    for p in /usr/bin/vs-*; do
        b=$(basename "$p")
        got=$("$p" --version) || { echo "$b --version failed"; exit 1; }
        [ "$got" = "$b $v" ] || { echo "$b --version: $got (want $b $v)"; exit 1; }
        [ -f "/usr/share/man/man1/$b.1.gz" ] || { echo "no man page for $b"; exit 1; }
        n=$((n + 1))
    done
    [ "$n" -ge 8 ] || { echo "only $n programs in /usr/bin"; exit 1; }
    [ -f /usr/share/man/man3/vecstore.3.gz ] || { echo "no vecstore(3)"; exit 1; }
    /sbin/ldconfig -p | grep -q "libvecstore.so.1 " || { echo "libvecstore.so.1 not known to ldconfig"; exit 1; }
    echo "$n programs at $v"' "$upstream" >"$work/step4" 2>&1
st=$?
report $st "$(tail -n 1 "$work/step4"): --version, man pages; libvecstore.so.1 in ldconfig" "$work/step4"

# ---- 5. a C program against libvecstore-dev -------------------------------------
limit=900
t0=$(date +%s)
{
    in_root /bin/sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev pkg-config' &&
    in_root -u /bin/bash -c '
        cd && printf "%s\n" "#include <stdio.h>" "#include <vecstore.h>" \
            "int main(void) { printf(\"%s\\n\", vs_version()); return 0; }" >t.c &&
        gcc t.c $(pkg-config --cflags --libs vecstore) -o t || exit 1
        ldd ./t | grep "libvecstore.so.1 => /" || { echo "t is not linked with libvecstore.so.1"; ldd ./t; exit 1; }
        got=$(./t) || { echo "t failed"; exit 1; }
        [ "$got" = "$0" ] || { echo "vs_version(): $got (want $0)"; exit 1; }
        echo "vs_version() is $got"' "$upstream"
} >"$work/step5" 2>&1
st=$?
report $st "a C program builds with pkg-config --cflags --libs vecstore and runs in $(( $(date +%s) - t0 )) s" "$work/step5"

# ---- 6. apt purges them, and none of their files is left -------------------------
limit=600
{
    files=$(in_root dpkg -L $names | while read -r f; do if [ -f "$root$f" ]; then echo "$f"; fi; done)
    in_root /bin/sh -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $names" &&
    left=$(for f in $files; do if [ -e "$root$f" ]; then echo "$f"; fi; done) &&
    { [ -z "$left" ] || { echo "left after purge:"; echo "$left"; false; }; } &&
    [ -n "$files" ] &&
    echo "$(printf '%s\n' $files | wc -l) files removed"
} >"$work/step6" 2>&1
st=$?
report $st "apt purges $names: $(tail -n 1 "$work/step6")" "$work/step6"
finish
