import os
import sys

# `python -m convcost` puts the working directory first on sys.path, ahead of the installed
# packages: a file named torch.py or yaml.py there would be imported instead. convcost imports
# a module from the working directory only for a package.module:factory source, and then after
# the installed packages.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from convcost.cli import main

main()
