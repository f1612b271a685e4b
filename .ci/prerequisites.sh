# Set-up shared by ./lguest, ./test, ./bench and .ci/run.
#
# ensure_prerequisites NEED...   (NEED: jdk, maven, unicorn, guest-toolchain, browser)
# finds what is missing. As root it installs it with apt, showing each step;
# otherwise it prints the exact commands to run as root and stops.
#
# Unicorn must be 2.1 or newer (real x86 address translation). Debian 12 only
# has 2.0.1, so on Debian 12 we add Debian 13 ("trixie") as a second source,
# derived from the machine's own apt configuration, and pin it so that only
# libunicorn2t64 comes from there (priority 990; everything else 100).
#
# (No 'grep -q' after a pipe: under pipefail its early exit fails the writer.)
die() { echo "lguest: $*" >&2; exit 1; }
step() { echo "lguest: $*" >&2; }

unicorn_minimum=2.1
trixie_list=/etc/apt/sources.list.d/lguest-trixie.list
trixie_pin=/etc/apt/preferences.d/lguest-unicorn-from-trixie

# Sets JAVA to a JDK 25 (JAVA_HOME first, then Temurin's usual place, then PATH).
find_jdk25() {
  local home
  for home in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64; do
    if [ -n "$home" ] && [ -x "$home/bin/java" ] && "$home/bin/java" -version 2>&1 | grep 'version "25' >/dev/null; then
      export JAVA_HOME="$home" JAVA="$home/bin/java"
      return 0
    fi
  done
  if command -v java >/dev/null && java -version 2>&1 | grep 'version "25' >/dev/null; then
    export JAVA=java
    return 0
  fi
  return 1
}

# The installed Unicorn's version as dpkg knows it, or nothing.
unicorn_package_version() {
  local pkg
  for pkg in libunicorn2t64 libunicorn2; do
    if dpkg-query -W -f='${Status} ${Version}\n' "$pkg" 2>/dev/null | grep '^install ok installed' >/dev/null; then
      dpkg-query -W -f='${Version}\n' "$pkg"
      return 0
    fi
  done
}

unicorn_is_new_enough() {
  local version
  version="$(unicorn_package_version)"
  if [ -n "$version" ]; then
    dpkg --compare-versions "$version" ge "$unicorn_minimum"
  else
    # Not from a package (built by hand, say): the CPU backend checks
    # uc_version itself when it starts and says what to install.
    ldconfig -p 2>/dev/null | grep 'libunicorn\.so\.2' >/dev/null
  fi
}

gcc_builds_32bit() {
  echo 'int x;' | gcc -m32 -ffreestanding -nostdlib -c -x c -o /dev/null - 2>/dev/null
}

# The Debian archive URI this machine already uses (deb822 or one-line format).
debian_archive_uri() {
  local uri
  uri="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
         | awk '{for (i = 2; i <= NF; i++) print $i}' | grep -v -- '-security' | grep '/debian/\?$' | head -n 1 || true)"
  if [ -z "$uri" ]; then
    uri="$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
           | grep -v -- '-security' | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
           | grep '/debian/\?$' | head -n 1 || true)"
  fi
  echo "$uri"
}

# The commands that add the pinned Debian 13 source for libunicorn2t64.
trixie_source_commands() {
  local uri="$1"
  cat <<EOF
echo 'deb $uri trixie main' > $trixie_list
printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n\nPackage: libunicorn2t64\nPin: release n=trixie\nPin-Priority: 990\n' > $trixie_pin
EOF
}

ensure_prerequisites() {
  local packages=() setup=() need uri
  for need in "$@"; do
    case "$need" in
      jdk)
        find_jdk25 || die "JDK 25 is missing: install Temurin 25 (apt-get install temurin-25-jdk) or set JAVA_HOME to a JDK 25." ;;
      maven)
        command -v mvn >/dev/null || packages+=(maven) ;;
      unicorn)
        if ! unicorn_is_new_enough; then
          if ! apt-cache policy libunicorn2t64 2>/dev/null | grep 'Candidate: 2\.1' >/dev/null && [ ! -f "$trixie_list" ]; then
            uri="$(debian_archive_uri)"
            [ -n "$uri" ] || die "Unicorn $unicorn_minimum is missing and no Debian archive was found in apt's sources: install libunicorn2t64 2.1.1 from Debian 13 by hand."
            mapfile -t -O "${#setup[@]}" setup < <(trixie_source_commands "$uri")
          fi
          packages+=(libunicorn2t64)
        fi ;;
      guest-toolchain)
        command -v gcc >/dev/null || packages+=(gcc)
        command -v make >/dev/null || packages+=(make)
        if ! command -v gcc >/dev/null || ! gcc_builds_32bit; then packages+=(gcc-multilib); fi ;;
      browser)
        # Headless Chromium for the web console's browser test (WebRuntimeIT), with a font to draw the page.
        [ -x /usr/bin/chromium ] || packages+=(chromium fonts-liberation) ;;
      *) die "unknown prerequisite '$need'" ;;
    esac
  done
  [ ${#packages[@]} -gt 0 ] || return 0

  local install="apt-get install -y --no-install-recommends ${packages[*]}"
  if [ "$(id -u)" != 0 ]; then
    {
      echo "lguest: missing: ${packages[*]}. Run these as root, then try again:"
      printf '  %s\n' "${setup[@]}" "apt-get update" "$install"
    } >&2
    exit 1
  fi
  step "installing ${packages[*]} (step 1 of 2: package lists) ..."
  local command
  for command in "${setup[@]}"; do
    step "  $command"
    bash -c "$command" || die "could not run: $command"
  done
  apt-get update -q >&2 || die "apt-get update failed: see above."
  step "installing ${packages[*]} (step 2 of 2: packages) ..."
  DEBIAN_FRONTEND=noninteractive $install >&2 || die "could not install ${packages[*]}: see apt's message above."
  for need in "$@"; do
    case "$need" in
      unicorn) unicorn_is_new_enough || die "Unicorn is still older than $unicorn_minimum after the install: check 'apt-cache policy libunicorn2t64'." ;;
      guest-toolchain) gcc_builds_32bit || die "gcc still cannot build 32-bit guests: check gcc-multilib." ;;
      browser) [ -x /usr/bin/chromium ] || die "chromium is still missing after the install: check 'apt-cache policy chromium'." ;;
    esac
  done
  step "installed ${packages[*]}."
}
