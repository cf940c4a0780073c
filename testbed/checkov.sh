#!/usr/bin/env bash
# checkov in a virtual environment of its own: it pins older boto3 and packaging
# than MLflow needs, so it cannot share the test environment. Links the binary
# as /usr/local/bin/checkov.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
venv=/opt/checkov-venv
if [ -x "$venv/bin/checkov" ] && "$venv/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
    log "checkov: $CHECKOV_VERSION already installed"
else
    need_root "checkov.sh"
    log "checkov: installing $CHECKOV_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "checkov==$CHECKOV_VERSION" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
fi
ln -sf "$venv/bin/checkov" /usr/local/bin/checkov
