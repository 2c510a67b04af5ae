#!/usr/bin/env bash
# Make sure the SMTP sink the mail tests start (keycard-store-tests' `OwnSmtp`, feature `smtp`) can run:
# Python 3 with aiosmtpd. Installs the pinned aiosmtpd with `pip install --user` when it is missing or
# another version; exits non-zero if it still cannot be imported.
#
#   scripts/smtp-sink.sh            # KEYCARD_TEST_PYTHON picks the Python (default: python3)
set -euo pipefail

AIOSMTPD_VERSION=1.4.6
python=${KEYCARD_TEST_PYTHON:-python3}

have() {
  "$python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null
}

if ! command -v "$python" >/dev/null 2>&1; then
  echo "smtp-sink: no $python on PATH (set KEYCARD_TEST_PYTHON)" >&2
  exit 1
fi
if ! have; then
  echo "smtp-sink: installing aiosmtpd $AIOSMTPD_VERSION for $python (pip --user)"
  # A Debian-managed Python refuses `pip install --user` (PEP 668) unless told it may.
  "$python" -m pip install --user --quiet --disable-pip-version-check --no-warn-script-location "aiosmtpd==$AIOSMTPD_VERSION" \
    || "$python" -m pip install --user --quiet --disable-pip-version-check --no-warn-script-location --break-system-packages \
      "aiosmtpd==$AIOSMTPD_VERSION"
fi
if ! have; then
  echo "smtp-sink: $python still cannot import aiosmtpd $AIOSMTPD_VERSION" >&2
  exit 1
fi
echo "smtp-sink: aiosmtpd $AIOSMTPD_VERSION ready for $python"
