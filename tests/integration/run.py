"""Runs the integration suites (test_*.py here) with unittest and prints one machine-read
line, `RESULT passed=N failed=N skipped=N`, that tools/test adds to its totals.

    HELPDESKD=path/to/helpdeskd /usr/bin/python3 tests/integration/run.py [-k PATTERN] [--dir DIR]

--dir runs the suites of another directory (tests/crash, tests/overload) with this
directory's harness.

Exit status 0 only when nothing failed and at least one test ran."""

import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class CountingResult(unittest.TextTestResult):
    """Prints each test with its duration as it finishes."""

    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.stream.write("  (%.2fs)\n" % (time.monotonic() - self._t0))
        self.stream.flush()


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[],
                    help="run only tests whose id contains this substring")
    ap.add_argument("--dir", default=HERE, help="directory of the test_*.py suites")
    opts = ap.parse_args()
    suites = os.path.abspath(opts.dir)
    sys.path.insert(0, HERE)
    sys.path.insert(0, suites)
    import harness  # noqa: E402  (generates protos once, checks the binary path)
    if not os.access(harness.HELPDESKD, os.X_OK):
        print("run.py: no executable helpdeskd at %s (set HELPDESKD)" % harness.HELPDESKD)
        print("RESULT passed=0 failed=1 skipped=0")
        return 1
    print("helpdeskd under test: %s" % harness.HELPDESKD, flush=True)
    loaded = unittest.defaultTestLoader.discover(suites, pattern="test_*.py",
                                                 top_level_dir=suites)
    tests = [t for t in iter_tests(loaded) if not opts.k or any(k in t.id() for k in opts.k)]
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=CountingResult)
    result = runner.run(unittest.TestSuite(tests))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print("RESULT passed=%d failed=%d skipped=%d" % (passed, failed, skipped), flush=True)
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
