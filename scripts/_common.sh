# shellcheck shell=bash
# Shared by scripts/bootstrap, scripts/run, scripts/test and scripts/develop. Source it; do not run it.
#
# The project needs Python >= 3.14.2 (current Home Assistant). A system python3.14 of that version is used
# when there is one; otherwise a Debian sid root with python3.14 is built once with debootstrap and
# commands run inside it (chroot in a private mount namespace, so no mount outlives the command).
# Everything is cached outside the clone, in $AICLEANER_DEV_CACHE (default ~/.cache/aicleaner-dev), so
# every clone on this machine (CI included) reuses it. The venv is keyed by a hash of requirements_test.txt.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${AICLEANER_DEV_CACHE:-${HOME}/.cache/aicleaner-dev}"
# build-essential and python3.14-dev: HA builds pymicro-vad and pyspeex-noise (no 3.14 wheels);
# libturbojpeg0, ffmpeg and libpcap0.8: camera, stream and dhcp, which a real hass always loads.
SID_PACKAGES="python3.14,python3.14-venv,python3.14-dev,build-essential,ca-certificates,libturbojpeg0,ffmpeg,libpcap0.8t64,git"
# Installed with apt-get once debootstrap is done (it resolves their many dependencies, which
# debootstrap's --include does not do reliably): the headless browser of the frontend e2e test,
# driven by Playwright (which may not download a browser of its own here).
SID_APT_PACKAGES="chromium fonts-dejavu-core"
# Keyed by the package lists, so that changing them builds a new root instead of reusing an old one.
SID_ROOT="${CACHE_DIR}/sid-root-$(printf '%s' "${SID_PACKAGES} ${SID_APT_PACKAGES}" | sha256sum | cut -c1-8)"
REQ_HASH="$(sha256sum "${REPO_ROOT}/requirements_test.txt" | cut -c1-16)"

log() { printf '[aicleaner-dev] %s\n' "$*" >&2; }

# A system interpreter is good enough when it is 3.14.2 or newer and can build what HA needs: a venv
# with pip (ensurepip: Debian's python3.14-venv), the Python headers and a C compiler (pymicro-vad and
# pyspeex-noise have no 3.14 wheels).
system_python() {
    local py
    py="$(command -v python3.14 || true)"
    [[ -n "${py}" ]] || return 0
    command -v cc >/dev/null || return 0
    if "${py}" -c '
import os, sys, sysconfig, ensurepip, venv
ok = sys.version_info >= (3, 14, 2) and os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
sys.exit(not ok)' 2>/dev/null; then
        printf '%s\n' "${py}"
    fi
}

SYSTEM_PYTHON="$(system_python)"
if [[ -n "${SYSTEM_PYTHON}" && -z "${AICLEANER_FORCE_ROOT:-}" ]]; then
    MODE=native
    # The interpreter's exact version is part of the key: a venv links to its interpreter, so a
    # patch upgrade (or a CI cache restored onto a newer runner) must build a new one.
    PY_TAG="$("${SYSTEM_PYTHON}" -c 'import platform; print(platform.python_version())')"
    VENV_HOST="${CACHE_DIR}/venv-native-${PY_TAG}-${REQ_HASH}"
    VENV="${VENV_HOST}"
else
    MODE=root
    VENV="/opt/aicleaner-venv-${REQ_HASH}"   # path as seen inside the root
    VENV_HOST="${SID_ROOT}${VENV}"
fi

# Run a command (argv) with the project environment: the venv first on PATH, cwd = current dir.
# In root mode, the repo (and the current dir if it is elsewhere) are bind-mounted at the same
# paths inside the root, inside a private mount namespace that dies with the command.
in_env() {
    local cwd
    cwd="$(pwd)"
    if [[ "${MODE}" == native ]]; then
        PATH="${VENV}/bin:${PATH}" VIRTUAL_ENV="${VENV}" "$@"
        return
    fi
    local quoted
    quoted="$(printf '%q ' "$@")"
    unshare --mount --propagation private -- bash -euc '
        root="$1"; repo="$2"; cwd="$3"; venv="$4"; shift 4
        mount --bind /proc "${root}/proc"
        mount --rbind /dev "${root}/dev"
        mount --rbind /sys "${root}/sys" 2>/dev/null || true
        mkdir -p "${root}${repo}" && mount --bind "${repo}" "${root}${repo}"
        case "${cwd}/" in
            "${repo}/"*) ;;
            *) mkdir -p "${root}${cwd}" && mount --bind "${cwd}" "${root}${cwd}" ;;
        esac
        cp -f /etc/resolv.conf "${root}/etc/resolv.conf" 2>/dev/null || true
        exec chroot "${root}" /usr/bin/env -i \
            HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" \
            PATH="${venv}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
            VIRTUAL_ENV="${venv}" PYTHONDONTWRITEBYTECODE=1 PIP_DEFAULT_TIMEOUT=180 PIP_DISABLE_PIP_VERSION_CHECK=1 \
            ${AICLEANER_ENV_PASS:-} \
            bash -c "cd \"\$0\" && exec $*" "${cwd}"
    ' _ "${SID_ROOT}" "${REPO_ROOT}" "${cwd}" "${VENV}" "${quoted}"
}

ensure_root() {
    [[ "${MODE}" == root ]] || return 0
    if [[ "$(id -u)" -ne 0 ]]; then
        log "no usable python3.14 (>= 3.14.2 with venv, headers and a C compiler) on this machine, and"
        log "building the Debian sid root that replaces it needs root (debootstrap, unshare, chroot)."
        log "Run as root (sudo), or install python3.14, python3.14-venv, python3.14-dev and build-essential."
        exit 1
    fi
    if [[ -x "${SID_ROOT}/usr/bin/python3.14" && -f "${SID_ROOT}/.aicleaner-root-ok" ]]; then
        return 0
    fi
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap (apt-get)"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
    fi
    log "building a Debian sid root with Python 3.14 in ${SID_ROOT} (about a minute, once)"
    mkdir -p "${CACHE_DIR}"
    remove_partial_root "${SID_ROOT}.tmp"
    # debootstrap mounts /proc and /sys in the new root: in a private mount namespace those mounts
    # end with it, even when it is killed, and never block the next attempt.
    unshare --mount --propagation private -- \
        debootstrap --variant=minbase --include="${SID_PACKAGES}" sid "${SID_ROOT}.tmp" >&2
    cp -f /etc/resolv.conf "${SID_ROOT}.tmp/etc/resolv.conf"
    if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
        cp -f /etc/ssl/certs/ca-certificates.crt "${SID_ROOT}.tmp/etc/ssl/certs/ca-certificates.crt"
    fi
    # pip inside the root must see the same package index configuration as the host.
    # (Only /etc/pip.conf: other host pip settings point at host-only paths.)
    if [[ -f /etc/pip.conf ]]; then
        cp -f /etc/pip.conf "${SID_ROOT}.tmp/etc/pip.conf"
    fi
    log "installing ${SID_APT_PACKAGES} in the root (apt-get)"
    # debootstrap ignores the Release file's Valid-Until and apt does not: a mirror whose Release
    # is past it (or a clock running ahead) must not stop the install of what debootstrap took.
    # shellcheck disable=SC2086 # the list is meant to split into package names
    unshare --mount --propagation private -- bash -euc '
        root="$1"; shift
        mount --bind /proc "${root}/proc"
        chroot "${root}" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
            bash -euc "apt-get -o Acquire::Check-Valid-Until=false update -qq && apt-get install -y -qq --no-install-recommends $* && apt-get clean"
    ' _ "${SID_ROOT}.tmp" ${SID_APT_PACKAGES} >&2
    touch "${SID_ROOT}.tmp/.aicleaner-root-ok"
    rm -rf "${SID_ROOT}"
    mv "${SID_ROOT}.tmp" "${SID_ROOT}"
    log "sid root ready"
}

# A root left half-built by an older, interrupted run: unmount anything still mounted inside it
# before deleting, and never cross into another file system.
remove_partial_root() {
    local dir="$1"
    [[ -e "${dir}" ]] || return 0
    log "removing the partial root ${dir}"
    awk -v d="${dir}/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mnt; do umount -l "${mnt}" 2>/dev/null || true; done
    rm -rf --one-file-system "${dir}"
}

ensure_venv() {
    if [[ -f "${VENV_HOST}/.aicleaner-venv-ok" ]] && venv_works; then
        return 0
    fi
    log "creating venv ${VENV_HOST} for requirements_test.txt (hash ${REQ_HASH}); first time takes a few minutes"
    rm -rf "${VENV_HOST}"
    local py=python3.14
    [[ "${MODE}" == native ]] && py="$(system_python)"
    (cd "${REPO_ROOT}" && in_env "${py}" -m venv "${VENV}")
    (cd "${REPO_ROOT}" && in_env "${VENV}/bin/python" -m pip install --quiet --upgrade pip)
    (cd "${REPO_ROOT}" && in_env "${VENV}/bin/python" -m pip install --quiet -r requirements_test.txt)
    touch "${VENV_HOST}/.aicleaner-venv-ok"
    log "venv ready"
}

# The venv's interpreter still starts (it links to the interpreter it was made from).
venv_works() {
    [[ "${MODE}" == root ]] || "${VENV_HOST}/bin/python" -c '' 2>/dev/null
}

bootstrap() {
    if [[ -f "${VENV_HOST}/.aicleaner-venv-ok" ]] && venv_works; then
        return 0
    fi
    log "environment: mode=${MODE} cache=${CACHE_DIR} venv=${VENV_HOST}"
    # Several clones or shells may bootstrap at once (CI beside a developer): one builds, the others wait.
    mkdir -p "${CACHE_DIR}"
    exec 9>"${CACHE_DIR}/.bootstrap.lock"
    if ! flock -n 9; then
        log "another bootstrap is running; waiting for it"
        flock 9
    fi
    ensure_root
    ensure_venv
    exec 9>&-
}
