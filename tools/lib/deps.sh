# shellcheck shell=bash disable=SC2034 # the lists are used by the scripts sourcing this
# Helpdesk's dependencies in one place, and the function that installs the missing ones.
# Sourced by tools/up (build + run) and tools/test (everything). Debian bookworm only:
# every package comes from Debian's archive, and buf from the npm registry.

# What `bazel build //server:helpdeskd` needs (bazel-bootstrap pulls build-essential).
HD_PKGS_BUILD=(
    bazel-bootstrap pkg-config
    protobuf-compiler libprotobuf-dev protobuf-c-compiler libprotobuf-c-dev grpc-proto
    libgrpc-dev liblmdb-dev libcurl4-openssl-dev libxlsxwriter-dev libgmime-3.0-dev
    libjansson-dev libsodium-dev
)

# What running helpdeskd and operating it (mdb_stat, mdb_copy) needs beyond the build.
HD_PKGS_RUN=(lmdb-utils tzdata)

# What tools/test needs beyond build + run: unit tests, sanitizers and fuzzers, format
# check, the integration suites' peers (Python gRPC client, IMAP, SMTP, XLSX reader,
# h2load, tmux, openssl for TLS certificates), node/npm for buf, git for the format check,
# LibreOffice + poppler to render the reporter's workbook to PDF/PNG.
HD_PKGS_TEST=(
    libcmocka-dev clang libclang-rt-14-dev clang-format
    python3 python3-grpcio python3-protobuf python3-openpyxl python3-aiosmtpd
    libreoffice-calc-nogui poppler-utils
    dovecot-imapd nghttp2-client tmux openssl ca-certificates nodejs npm git
)

# npm packages installed under .tools/node (never globally).
HD_NPM_PKGS=(@bufbuild/buf)

hd_log() { printf '%s\n' "$*" >&2; }

# Prints the names in "$@" that are not installed, one per line. A package counts as
# installed when dpkg says so; npm also counts when an `npm` command exists (NodeSource's
# nodejs package ships npm and conflicts with Debian's npm package).
hd_deps_missing() {
    local p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] && continue
        if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
        printf '%s\n' "$p"
    done
}

# Runs "$@" as root: directly when already root, else through sudo.
hd__as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        hd_log "tools: need root to run: $*"
        return 1
    fi
}

# Installs whichever of the given Debian packages are missing. Idempotent: does nothing
# (not even `apt-get update`) when all are present. Returns apt-get's status.
hd_deps_install() {
    local missing
    missing=$(hd_deps_missing "$@")
    if [ -z "$missing" ]; then
        return 0
    fi
    # shellcheck disable=SC2086 # one package name per word
    hd_log "tools: installing missing packages:" $missing
    # A fresh machine may still be running its own apt (unattended-upgrades): wait for the
    # dpkg lock instead of failing.
    hd__as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        update -q || return 1
    # shellcheck disable=SC2086
    hd__as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y -q --no-install-recommends $missing </dev/null || return 1
    # Second look: a package that still is not there is an error worth stopping for.
    missing=$(hd_deps_missing "$@")
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086
        hd_log "tools: still missing after apt-get:" $missing
        return 1
    fi
}

# Installs the npm tools into <root>/.tools/node unless they are already there.
hd_npm_install() {
    local root=$1
    if [ -x "$root/.tools/node/node_modules/.bin/buf" ]; then
        return 0
    fi
    hd_log "tools: installing ${HD_NPM_PKGS[*]} into .tools/node"
    mkdir -p "$root/.tools/node"
    npm install --prefix "$root/.tools/node" --no-audit --no-fund "${HD_NPM_PKGS[@]}" </dev/null
}
