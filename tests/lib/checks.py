"""One check harness for the Python tests (tests/integration, tests/lab, tests/tdsd, tests/browser).

Counted checks: check(cond, what) and eq(got, want, what) count one check each, print a FAIL line naming the
running test when it fails, and return whether it held, so the test goes on and one run reports every failure.
require() is check() that also ends the running test when it fails (the rest of it depends on it).

Named tests: @test('what it proves') registers a function; run(*args) calls the registered functions in order
with args, prints 'ok - NAME' or 'not ok - NAME (K failed)' after each, catches an exception escaping a test
(one more failure, traceback printed), skips the rest after a failed test registered with fatal=True, lists the
failures with their test's name, and ends with the line 'N passed, N failed' (checks). It returns the exit code:
1 if a check failed or none ran, else 0.  A script ends with `sys.exit(checks.run(...))`.

Importing: a script puts this directory on sys.path first, e.g.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
Set CHECKS_VERBOSE=1 to print an 'ok   WHAT' line for every check that held too.
"""
import os
import sys
import traceback

_VERBOSE = os.environ.get('CHECKS_VERBOSE') == '1'


class Stop(Exception):
    """Raised by require() to end the running test; run() counts it as the failure require() recorded."""


class Harness:
    """The checks of one process.  The module keeps one (the functions below use it)."""

    def __init__(self):
        self.tests = []             # (name, fn, fatal) in registration order
        self.passed = 0
        self.failures = []          # (test name or None, what)
        self.current = None

    def check(self, cond, what='check failed'):
        if cond:
            self.passed += 1
            if _VERBOSE:
                print('ok   %s' % what, flush=True)
            return True
        self.failures.append((self.current, str(what)))
        print('FAIL %s%s' % ('[%s] ' % self.current if self.current else '', what), flush=True)
        return False

    def eq(self, got, want, what=''):
        if got == want:
            return self.check(True, what)
        return self.check(False, '%s: got %r, want %r' % (what, got, want))

    def require(self, cond, what='check failed'):
        if not self.check(cond, what):
            raise Stop(what)
        return True

    def exception(self, what='exception'):
        """Count the exception being handled as one failure, its traceback printed."""
        traceback.print_exc(file=sys.stdout)
        self.check(False, '%s: %s' % (what, ''.join(traceback.format_exception_only(*sys.exc_info()[:2])).strip()))

    def test(self, name, fatal=False):
        def register(fn):
            self.tests.append((name, fn, fatal))
            return fn
        return register

    def run_one(self, name, fn, *args):
        """Run fn(*args) as the test NAME; True when none of its checks failed."""
        before = len(self.failures)
        self.current = name
        try:
            fn(*args)
        except Stop:
            pass
        except Exception:
            self.exception('exception')
        finally:
            self.current = None
        n = len(self.failures) - before
        print(('ok - %s' % name) if n == 0 else ('not ok - %s (%d failed)' % (name, n)), flush=True)
        return n == 0

    def run_all(self, *args):
        """Run the registered tests in order with args (no closing line: finish() prints it)."""
        for i, (name, fn, fatal) in enumerate(self.tests):
            if not self.run_one(name, fn, *args) and fatal:
                for rest in self.tests[i + 1:]:
                    print('skipped - %s (after %s failed)' % (rest[0], name), flush=True)
                break

    def run(self, *args):
        """run_all(*args), then finish(): the exit code."""
        self.run_all(*args)
        return self.finish()

    def finish(self):
        for name, what in self.failures:
            print('  %s%s' % ('[%s] ' % name if name else '', what))
        print('%d passed, %d failed' % (self.passed, len(self.failures)), flush=True)
        return 1 if self.failures or self.passed == 0 else 0

    def nfailed(self):
        return len(self.failures)


H = Harness()
check = H.check
eq = H.eq
require = H.require
exception = H.exception
test = H.test
run = H.run
run_all = H.run_all
run_one = H.run_one
finish = H.finish
nfailed = H.nfailed
