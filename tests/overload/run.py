"""Runs the overload suites (tests/overload/test_*.py) with the integration runner and harness:
prints `RESULT passed=N failed=N skipped=N` for tools/test.

    HELPDESKD=path/to/helpdeskd /usr/bin/python3 tests/overload/run.py [-k PATTERN]"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
sys.path.insert(0, INTEGRATION)

import run  # noqa: E402  (tests/integration/run.py)

if __name__ == "__main__":
    run.HERE = HERE  # discover the suites here; harness stays importable from INTEGRATION
    sys.exit(run.main())
