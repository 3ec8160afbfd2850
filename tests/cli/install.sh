# cmake --install into a temporary prefix, then: a C++ consumer built against
# it with find_package(barrot) and with pkg-config, run for real; the
# installed programs, man pages and bash completion; and the Debian package.
source "$(dirname "$0")/lib.sh"
BUILD=$(cd "$(dirname "$BARROT")/.." && pwd)
SRC=$(cd "$DATA/../.." && pwd)
P=$T/prefix

cmake --install "$BUILD" --prefix "$P" >/dev/null
for f in bin/barrot bin/barrot-archive include/barrot/barrot.h include/barrot/health.h \
  lib/libbarrot.a lib/cmake/barrot/barrotConfig.cmake lib/cmake/barrot/barrotTargets.cmake \
  lib/pkgconfig/barrot.pc share/man/man1/barrot.1 share/man/man1/barrot-archive.1 \
  share/bash-completion/completions/barrot share/bash-completion/completions/barrot-archive \
  share/doc/barrot/cli.md share/doc/barrot/integrity.md share/doc/barrot/CONTRIBUTING.md \
  lib/systemd/system/barrot-periodic.service; do
  [ -e "$P/$f" ] || fail "not installed: $f"
done
grep -q "ExecStart=$P/bin/barrot periodic" "$P/lib/systemd/system/barrot-periodic.service" \
  || fail "the unit does not name the installed program"
# Every service: the installed docs, the optional settings file, a User= to set.
for unit in "$P"/lib/systemd/system/*.service; do
  grep -qx "Documentation=file://$P/share/doc/barrot/operations.md" "$unit" \
    || fail "$unit does not name the installed docs"
  grep -qx "EnvironmentFile=-/etc/default/barrot" "$unit" || fail "$unit reads no /etc/default/barrot"
  grep -qx "#User=barrot" "$unit" || fail "$unit has no User= line to set"
done
[[ $("$P/bin/barrot" --version) == "barrot "* ]] || fail "installed barrot does not run"

# A consumer program: records a tracked action through the library, reads it back.
mkdir consumer
cat > consumer/main.cpp <<'CPP'
#include <barrot/barrot.h>
#include <iostream>
int main(int argc, char** argv) {
  barrot::Options options;
  options.snapshots_dir = argv[argc - 1];
  auto store = barrot::Store::Open(options);
  if (!store.ok()) { std::cerr << store.status().ToString() << "\n"; return 1; }
  barrot::ActionTracker tracker(**store);
  { barrot::TrackedAction a(tracker, "consumer_build", {{"via", argv[1]}}); }
  auto last = (*store)->latest(1, barrot::SnapshotType::action);
  if (!last.ok() || last->empty()) { return 1; }
  std::cout << (*last)[0].document["action"]["status"].get<std::string>() << "\n";
  return 0;
}
CPP
cat > consumer/CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(consumer CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(barrot 0.1 REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE barrot::barrot)
CMAKE
cmake -S consumer -B consumer/build -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release >consumer.log 2>&1 \
  || { cat consumer.log >&2; fail "find_package(barrot) failed"; }
cmake --build consumer/build >>consumer.log 2>&1 || { cat consumer.log >&2; fail "consumer build"; }
[ "$(consumer/build/consumer cmake store)" = completed ] || fail "the CMake consumer"

# The same with pkg-config.
flags=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs barrot)
g++ -std=c++20 -O1 consumer/main.cpp $flags -o consumer/pc 2>consumer.log \
  || { cat consumer.log >&2; fail "pkg-config consumer: $flags"; }
[ "$(consumer/pc pkg-config store)" = completed ] || fail "the pkg-config consumer"
[ "$("$BARROT" --dir store search --action consumer_build --count)" = 4 ] || fail "consumer snapshots"

# Man pages: well-formed, one section per command.
for prog in barrot barrot-archive; do
  page=$P/share/man/man1/$prog.1
  [[ $(head -n 1 "$page") == .TH\ * ]] || fail "$prog.1 has no .TH"
  for cmd in $("$BARROT" --help | awk '/^Commands:/{c=1; next} c && /^$/{exit} c {print $1}'); do
    [ "$prog" = barrot ] || break
    grep -q "^\.SS $cmd" "$page" || fail "$prog.1 lacks $cmd"
  done
  if command -v man >/dev/null; then
    MANWIDTH=80 man -l "$page" 2>&1 >/dev/null | grep -v '^$' && fail "man warns about $prog.1"
  fi
  grep -q "^$P/share/doc/barrot\$" "$page" || fail "$prog.1 does not name the installed docs"
  # ENVIRONMENT: every variable the programs' --help mentions.
  for var in BARROT_SNAPSHOTS_DIR BARROT_DB BARROT_SYNC BARROT_BUSY_TIMEOUT BARROT_CONFIG; do
    sed -n '/^\.SH ENVIRONMENT/,/^\.SH FILES/p' "$page" | grep -qx "\.B $var" \
      || fail "$prog.1's ENVIRONMENT lacks $var"
  done
done

# Completion, as bash runs it.
complete_words() { # the line so far -> the candidates, one per line
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
           _barrot; printf "%s\n" "${COMPREPLY[@]}"' _ "$P/share/bash-completion/completions/barrot" "$@"
}
[ "$(complete_words barrot hea)" = health ] || fail "command completion: $(complete_words barrot hea)"
[ "$(complete_words barrot health --for)" = --format ] || fail "option completion"
[ "$(complete_words barrot health --format pr)" = prometheus ] || fail "value completion"
[ "$(complete_words barrot --dir x search --sta)" = --status ] || fail "after a global option"
# Global options that take a value, before the command: their value is no command.
[ "$(complete_words barrot --busy-timeout 5 act | paste -sd' ')" = "action actions" ] \
  || fail "after --busy-timeout: $(complete_words barrot --busy-timeout 5 act)"
[ "$(complete_words barrot --sync full -d x --db y sea)" = search ] || fail "after --sync, -d, --db"
globals=$(complete_words barrot -)
for o in --dir -d --db --sync --busy-timeout --json --help -h --version; do
  grep -qx -- "$o" <<< "$globals" || fail "'barrot -' lacks $o: $globals"
done
# Each command's own values for -o: a file for chain-head, no "ids" for sql.
mkdir files && touch files/head.json
[ "$(cd files && complete_words barrot chain-head -o '')" = head.json ] || fail "chain-head -o: not files"
[ -z "$(complete_words barrot sql -o i)" ] || fail "sql -o offers ids"
[ "$(complete_words barrot search -o i)" = ids ] || fail "search -o ids"
id=$("$BARROT" --dir store search --limit 1 -o ids)
# (Captured first: with pipefail, `... | grep -q` fails when grep exits
# before the writer is done.)
ids=$(cd "$T" && BARROT_SNAPSHOTS_DIR=$T/store complete_words "$BARROT" view "${id:0:10}")
grep -qx "$id" <<< "$ids" || fail "id completion: '$ids' lacks $id"
# Ids from the store the command line names, wherever the environment points.
ids=$(cd files && BARROT_SNAPSHOTS_DIR=$T/nowhere complete_words "$BARROT" --dir "$T/store" view "")
grep -qx "$id" <<< "$ids" || fail "id completion with --dir: '$ids' lacks $id"
ids=$(cd files && BARROT_SNAPSHOTS_DIR=$T/files complete_words "$BARROT" view --db "$T/store/.barrot/barrot.db" "")
grep -qx "$id" <<< "$ids" || fail "id completion with --db: '$ids' lacks $id"
# diff: periodic snapshots only.
periodic=$("$BARROT" --dir store periodic -q)
ids=$(cd files && complete_words "$BARROT" --dir "$T/store" diff "")
[ "$ids" = "$periodic" ] || fail "diff completion: '$ids', not the periodic $periodic"

# The Debian package, when this machine has the tools (scripts/deps.sh --test installs them).
if command -v dpkg-shlibdeps >/dev/null && command -v cpack >/dev/null; then
  (cd "$BUILD" && cpack -G DEB -B "$T/deb" >"$T/cpack.log" 2>&1) || { cat "$T/cpack.log" >&2; fail "cpack"; }
  deb=$(ls "$T"/deb/barrot_*.deb)
  [[ $(dpkg-deb -f "$deb" Depends) == *libc6* ]] || fail "the package declares no runtime Depends"
  dpkg-deb -c "$deb" > contents.txt
  for f in ./usr/bin/barrot ./usr/bin/barrot-archive ./usr/share/man/man1/barrot.1 \
    ./usr/share/bash-completion/completions/barrot ./usr/lib/systemd/system/barrot-periodic.timer \
    ./usr/include/barrot/store.h ./usr/lib/pkgconfig/barrot.pc; do
    grep -qF " $f" contents.txt || fail "the package lacks $f"
  done
  dpkg-deb -x "$deb" extracted
  [[ $(extracted/usr/bin/barrot --version) == "barrot "* ]] || fail "the packaged barrot does not run"
  grep -q 'ExecStart=/usr/bin/barrot' extracted/usr/lib/systemd/system/barrot-periodic.service \
    || fail "the packaged unit does not name /usr/bin/barrot"
  grep -qx 'Documentation=file:///usr/share/doc/barrot/operations.md' \
    extracted/usr/lib/systemd/system/barrot-periodic.service \
    || fail "the packaged unit does not name /usr/share/doc/barrot"
  grep -qx '/usr/share/doc/barrot' extracted/usr/share/man/man1/barrot.1 \
    || fail "the packaged man page does not name /usr/share/doc/barrot"
  [ -f extracted/usr/share/doc/barrot/integrity.md ] || fail "the package lacks integrity.md"
  # Installed for real with apt-get, which pulls its Depends, then removed:
  # only as root, and only where no barrot package is installed already
  # (BARROT_TEST_NO_APT=1 skips it).
  if [ "$(id -u)" = 0 ] && [ -z "${BARROT_TEST_NO_APT:-}" ] && ! dpkg -s barrot >/dev/null 2>&1; then
    trap 'apt-get remove -y -qq barrot >/dev/null 2>&1 || true; cleanup' EXIT
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" \
      >"$T/apt.log" 2>&1 || { cat "$T/apt.log" >&2; fail "apt-get install of the .deb"; }
    [[ $(/usr/bin/barrot --version) == "barrot "* ]] || fail "the apt-installed barrot does not run"
    [ -f /usr/share/man/man1/barrot.1 ] && [ -f /usr/lib/systemd/system/barrot-archive.timer ] \
      || fail "the apt-installed package lacks its man page or units"
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq barrot >/dev/null 2>&1 \
      || fail "apt-get remove barrot"
    [ ! -e /usr/bin/barrot ] || fail "removing the package left /usr/bin/barrot"
  else
    echo "apt-get install of the .deb: skipped (not root, or barrot already installed)" >&2
  fi
else
  echo "Debian package: skipped (no dpkg-shlibdeps; apt-get install dpkg-dev)" >&2
fi
echo "install: ok"
