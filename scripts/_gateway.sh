# shellcheck shell=bash
# Sourced after _common.sh: the real LiteLLM proxy's own venv (tests/gateway/requirements.txt), keyed by
# that file's hash and built once, as scripts/bench builds its bench venv. `ensure_gateway_venv` builds
# it when missing and sets GATEWAY_PYTHON (the path as commands run by in_env see it).
GATEWAY_HASH="$(sha256sum "${REPO_ROOT}/tests/gateway/requirements.txt" | cut -c1-16)"
if [[ "${MODE}" == native ]]; then
    GATEWAY_VENV="${CACHE_DIR}/gateway-venv-${PY_TAG}-${GATEWAY_HASH}"
    GATEWAY_VENV_HOST="${GATEWAY_VENV}"
else
    GATEWAY_VENV="/opt/aicleaner-gateway-${GATEWAY_HASH}"
    GATEWAY_VENV_HOST="${SID_ROOT}${GATEWAY_VENV}"
fi
GATEWAY_PYTHON="${GATEWAY_VENV}/bin/python"

ensure_gateway_venv() {
    [[ -f "${GATEWAY_VENV_HOST}/.aicleaner-gateway-ok" ]] && return 0
    # Two test runs at once: one builds, the other waits and then finds it built.
    exec 8>"${CACHE_DIR}/.gateway.lock"
    flock 8
    if [[ -f "${GATEWAY_VENV_HOST}/.aicleaner-gateway-ok" ]]; then
        exec 8>&-
        return 0
    fi
    log "creating the LiteLLM proxy venv ${GATEWAY_VENV_HOST}; first time takes a few minutes"
    rm -rf "${GATEWAY_VENV_HOST}"
    (cd "${REPO_ROOT}" && in_env python -m venv "${GATEWAY_VENV}")
    (cd "${REPO_ROOT}" && in_env "${GATEWAY_PYTHON}" -m pip install --quiet -r tests/gateway/requirements.txt)
    touch "${GATEWAY_VENV_HOST}/.aicleaner-gateway-ok"
    exec 8>&-
}
