"""Subcommands of the `netpol-guard` command line; each module has add_arguments() and run()."""
