# Shared by the set-up scripts (sourced): messages and installing missing Debian packages.

say() { printf '\033[1mkiln setup:\033[0m %s\n' "$*" >&2; }

# apt_install PKG...: installs those not installed yet (as root, or through sudo)
apt_install() {
  local missing=() p SUDO=""
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "need root (or sudo) to install: ${missing[*]}"; exit 1; }
    SUDO=sudo
  fi
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
