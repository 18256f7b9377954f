# shellcheck shell=bash
# The newest Home Assistant release in a venv of its own, for tests/e2e/test_newest_release.py.
# Source it after scripts/_common.sh (and `bootstrap`); then `ensure_newest_venv` builds the venv once,
# keyed by the hash of tests/newest/requirements.txt (as scripts/bench keys its bench venv), in the same
# place and with the same Python 3.14 as the project venv, and exports AICLEANER_NEWEST_PYTHON (also
# passed into the root through AICLEANER_ENV_PASS): the interpreter whose `python -m homeassistant` the
# test starts.

NEWEST_HASH="$(sha256sum "${REPO_ROOT}/tests/newest/requirements.txt" | cut -c1-16)"
if [[ "${MODE}" == native ]]; then
    NEWEST_VENV="${CACHE_DIR}/newest-venv-${PY_TAG}-${NEWEST_HASH}"
    NEWEST_VENV_HOST="${NEWEST_VENV}"
else
    NEWEST_VENV="/opt/aicleaner-newest-${NEWEST_HASH}"
    NEWEST_VENV_HOST="${SID_ROOT}${NEWEST_VENV}"
fi
# A first build on a fresh machine compiles pymicro-vad and pyspeex-noise: minutes, never unbounded.
NEWEST_BUILD_TIMEOUT="${AICLEANER_NEWEST_BUILD_TIMEOUT:-1500}"

ensure_newest_venv() {
    if [[ ! -f "${NEWEST_VENV_HOST}/.aicleaner-newest-ok" ]]; then
        log "creating the newest-release venv ${NEWEST_VENV_HOST} (tests/newest/requirements.txt); first time takes a few minutes"
        rm -rf "${NEWEST_VENV_HOST}"
        local py=python3.14
        [[ "${MODE}" == native ]] && py="${SYSTEM_PYTHON}"
        (cd "${REPO_ROOT}" && in_env "${py}" -m venv "${NEWEST_VENV}")
        (cd "${REPO_ROOT}" && in_env timeout "${NEWEST_BUILD_TIMEOUT}" \
            "${NEWEST_VENV}/bin/python" -m pip install --quiet -r tests/newest/requirements.txt)
        touch "${NEWEST_VENV_HOST}/.aicleaner-newest-ok"
        log "newest-release venv ready"
    fi
    export AICLEANER_NEWEST_PYTHON="${NEWEST_VENV}/bin/python"
    export AICLEANER_ENV_PASS="${AICLEANER_ENV_PASS:-} AICLEANER_NEWEST_PYTHON=${AICLEANER_NEWEST_PYTHON}"
}
