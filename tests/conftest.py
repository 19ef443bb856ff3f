import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# helper modules the tests import: not test modules, and some need an extra (torch) to import at all
collect_ignore = ["brute.py", "importing.py", "nets.py", "oracle.py", "randomnets.py"]
