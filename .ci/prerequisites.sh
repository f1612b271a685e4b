# Checks shared by ./lguest, ./test and .ci/run: each says in one line what is
# missing and how to get it.
# (No 'grep -q' after a pipe: under pipefail its early exit fails the writer.)
die() { echo "lguest: $*" >&2; exit 1; }

# Sets JAVA to a JDK 25 (JAVA_HOME first, then Temurin's usual place, then PATH).
require_jdk25() {
  local candidates=("${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64)
  local home
  for home in "${candidates[@]}"; do
    if [ -n "$home" ] && [ -x "$home/bin/java" ] && "$home/bin/java" -version 2>&1 | grep 'version "25' >/dev/null; then
      export JAVA_HOME="$home" JAVA="$home/bin/java"
      return 0
    fi
  done
  if command -v java >/dev/null && java -version 2>&1 | grep 'version "25' >/dev/null; then
    export JAVA=java
    return 0
  fi
  die "JDK 25 is missing: install Temurin 25 (apt-get install temurin-25-jdk) or set JAVA_HOME to a JDK 25."
}

require_unicorn() {
  if ! ldconfig -p 2>/dev/null | grep 'libunicorn\.so\.2' >/dev/null; then
    die "libunicorn2 is missing: apt-get install libunicorn2 (the guest CPU emulator)."
  fi
}

require_maven() {
  command -v mvn >/dev/null || die "Maven is missing: apt-get install maven."
}

require_guest_toolchain() {
  command -v gcc >/dev/null || die "gcc is missing: apt-get install gcc gcc-multilib (it builds the guest images)."
  command -v make >/dev/null || die "make is missing: apt-get install make (it builds the guest images)."
  echo 'int x;' | gcc -m32 -ffreestanding -nostdlib -c -x c -o /dev/null - 2>/dev/null \
    || die "gcc cannot build 32-bit guests: apt-get install gcc-multilib."
}
