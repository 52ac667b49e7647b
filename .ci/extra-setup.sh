#!/usr/bin/env bash
# What the tests need beyond Python packages: nothing yet.
set -euo pipefail
