#!/usr/bin/env bash
# The project's full check: system packages, test assets, formatting, lints, tests.
#
#   bash scripts/test.sh
#
# Works from any directory. On Linux it needs a Vulkan driver (any; Mesa's software
# "lavapipe" from mesa-vulkan-drivers is enough), python3 with pip and venv, and unzip.
# When run as root on a system with apt-get (CI: Debian 12) it installs what is missing;
# otherwise it names the packages to install and stops.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STEP_NAMES=()
STEP_TIMES=()
step() {
  local title="$1"
  shift
  echo "==> ${title}"
  local start=$SECONDS
  "$@"
  local took=$((SECONDS - start))
  STEP_NAMES+=("$title")
  STEP_TIMES+=("$took")
  echo "    (${title}: ${took}s)"
}

# --- (a) system packages -------------------------------------------------------------------

have_vulkan_icd() {
  compgen -G '/usr/share/vulkan/icd.d/*.json' >/dev/null ||
    compgen -G '/etc/vulkan/icd.d/*.json' >/dev/null
}

have_libvulkan() {
  local ldconfig
  ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
  if [[ -x "$ldconfig" ]] && "$ldconfig" -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
    return 0
  fi
  compgen -G '/usr/lib/*/libvulkan.so.1' >/dev/null ||
    compgen -G '/usr/lib/libvulkan.so.1' >/dev/null ||
    compgen -G '/lib/*/libvulkan.so.1' >/dev/null ||
    compgen -G '/usr/lib64/libvulkan.so.1' >/dev/null
}

system_packages() {
  local missing=()
  if [[ "$(uname -s)" == Linux ]]; then
    if ! have_vulkan_icd || ! have_libvulkan; then
      missing+=(mesa-vulkan-drivers libvulkan1)
    fi
  fi
  if ! command -v python3 >/dev/null; then
    missing+=(python3 python3-pip python3-venv)
  else
    python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
    # Debian's python3 has the venv module but cannot create a venv without ensurepip.
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
  fi
  command -v unzip >/dev/null || missing+=(unzip)

  if ((${#missing[@]} == 0)); then
    echo "    system packages present"
  elif [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "    installing: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "error: missing system packages: ${missing[*]}" >&2
    echo "install them (Debian/Ubuntu) with:" >&2
    echo "    sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi

  if ! command -v cargo >/dev/null; then
    echo "error: cargo not found; install Rust from https://rustup.rs" >&2
    exit 1
  fi
  local component
  for component in rustfmt clippy; do
    local probe="$component"
    [[ "$component" == rustfmt ]] && probe=fmt
    if ! cargo "$probe" --version >/dev/null 2>&1; then
      if command -v rustup >/dev/null; then
        rustup component add "$component"
      else
        echo "error: cargo $probe is missing; install the $component component" >&2
        exit 1
      fi
    fi
  done
}

# --- (b) environment -----------------------------------------------------------------------

environment() {
  if [[ -z "${XDG_RUNTIME_DIR:-}" ]]; then
    XDG_RUNTIME_DIR="$(mktemp -d "${TMPDIR:-/tmp}/halfgpu-xdg.XXXXXX")"
    chmod 700 "$XDG_RUNTIME_DIR"
    # Only a directory this script made is removed again.
    trap 'rm -rf -- "$XDG_RUNTIME_DIR"' EXIT
  fi
  export XDG_RUNTIME_DIR
  export MESA_SHADER_CACHE_DIR="$ROOT/target/mesa-shader-cache"
  mkdir -p "$MESA_SHADER_CACHE_DIR"
  echo "    XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"
  echo "    MESA_SHADER_CACHE_DIR=$MESA_SHADER_CACHE_DIR"
}

run_tests() {
  # The external-delegate tests load target/release/libhalfgpu.so (the cdylib), which
  # `cargo test` alone does not link.
  cargo build --release --lib
  cargo test --release --all-targets
  cargo test --release --doc
}

step "system packages" system_packages
step "environment" environment
step "test assets" bash scripts/fetch-test-assets.sh
step "cargo fmt --check" cargo fmt --check
step "cargo clippy" cargo clippy --all-targets -- -D warnings
step "cargo test (release)" run_tests

echo "==> all checks passed"
for i in "${!STEP_NAMES[@]}"; do
  printf '    %-22s %4ss\n' "${STEP_NAMES[$i]}" "${STEP_TIMES[$i]}"
done
