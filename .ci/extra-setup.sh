#!/usr/bin/env bash
# What the tests need beyond the dev extra: the AWS SAM CLI, for `sam validate` and `sam build`
# in tests/unit/test_template.py, and `make`, which runs the layers' builds (infra/layers/Makefile). It gets a virtualenv of its own inside the active one, because
# its exact pins (boto3, click, pydantic) would downgrade the project's; `sam` is linked into the
# active virtualenv's bin. Safe to run again: nothing happens when that version is already there.
set -euo pipefail

SAM_CLI_VERSION="1.170.0"
VENV="$(python -c 'import sys; print(sys.prefix)')"
SAM_VENV="${VENV}/sam-cli"

if ! "${VENV}/bin/sam" --version 2>/dev/null | grep -qF "${SAM_CLI_VERSION}"; then
  python -m venv --clear "${SAM_VENV}"
  # A current pip resolves SAM CLI's many pins in a third of the time of the venv's bundled one.
  "${SAM_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "${SAM_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check "aws-sam-cli==${SAM_CLI_VERSION}"
  ln -sf "${SAM_VENV}/bin/sam" "${VENV}/bin/sam"
fi

if ! command -v make >/dev/null 2>&1; then
  echo "extra-setup: installing make (sam build runs infra/layers/Makefile)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq make >/dev/null
fi
