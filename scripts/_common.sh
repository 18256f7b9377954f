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
# Keyed by the package list, so that changing it builds a new root instead of reusing an old one.
SID_ROOT="${CACHE_DIR}/sid-root-$(printf '%s' "${SID_PACKAGES}" | sha256sum | cut -c1-8)"
REQ_HASH="$(sha256sum "${REPO_ROOT}/requirements_test.txt" | cut -c1-16)"

log() { printf '[aicleaner-dev] %s\n' "$*" >&2; }

# A system interpreter is good enough when it is 3.14.2 or newer.
system_python() {
    local py
    py="$(command -v python3.14 || true)"
    if [[ -n "${py}" ]] && "${py}" -c 'import sys, venv; sys.exit(sys.version_info < (3, 14, 2))' 2>/dev/null; then
        printf '%s\n' "${py}"
    fi
}

if [[ -n "$(system_python)" && -z "${AICLEANER_FORCE_ROOT:-}" ]]; then
    MODE=native
    VENV_HOST="${CACHE_DIR}/venv-native-${REQ_HASH}"
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
    if [[ -x "${SID_ROOT}/usr/bin/python3.14" && -f "${SID_ROOT}/.aicleaner-root-ok" ]]; then
        return 0
    fi
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap (apt-get)"
        if [[ "$(id -u)" -ne 0 ]]; then
            log "debootstrap is missing and we are not root: install it (apt-get install debootstrap) and retry"
            exit 1
        fi
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
    fi
    log "building a Debian sid root with Python 3.14 in ${SID_ROOT} (about a minute, once)"
    rm -rf "${SID_ROOT}.tmp"
    mkdir -p "${CACHE_DIR}"
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
    touch "${SID_ROOT}.tmp/.aicleaner-root-ok"
    rm -rf "${SID_ROOT}"
    mv "${SID_ROOT}.tmp" "${SID_ROOT}"
    log "sid root ready"
}

ensure_venv() {
    if [[ -f "${VENV_HOST}/.aicleaner-venv-ok" ]]; then
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

bootstrap() {
    if [[ -f "${VENV_HOST}/.aicleaner-venv-ok" ]]; then
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
