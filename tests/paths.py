"""Where things are, for tests in any tier folder: the repository and the tests folder."""
import os

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
