"""The `edgec` command: the group, the error mapping and the list of commands.

Each command lives in its own module under edgec/commands and is imported only when it is
run (or listed by --help), so `edgec bench` on a Jetson loads the device modules alone and
needs neither torch nor onnx. A command whose extra is not installed still appears in --help
and explains itself when run.
"""
import importlib
import sys
from collections import OrderedDict

import click

from edgec import __version__
from edgec.errors import EdgecError

# name -> (module under edgec.commands, the extra it needs beyond the device path)
COMMANDS = OrderedDict([
    ("models", ("models", "build")),
    ("export", ("export", "build")),
    ("calibrate", ("calibrate", "build")),
    ("quantize", ("quantize", "build")),
    ("sweep", ("sweep", "build")),
    ("distill", ("distill", "build")),
    ("build", ("build", None)),  # --bundle runs on the device
    ("pack", ("pack", "build")),
    ("check", ("check", "build")),
    ("bench", ("bench", None)),
    ("selftest", ("selftest", None)),
    ("report", ("report", "build")),
    ("predict", ("predict", "build")),
    ("fleet", ("fleet", "fleet")),
])


def _missing_package_message(exc, extra):
    # type: (ImportError, str) -> str
    name = getattr(exc, "name", None) or str(exc)
    return ("this command needs the Python package %r, which is not installed here: "
            "pip install 'edgec[%s]'" % (name, extra))


class EdgecGroup(click.Group):
    """Loads commands lazily; turns EdgecError into a one-paragraph message and exit status 2,
    never a traceback."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module_name, extra = COMMANDS[name]
        try:
            module = importlib.import_module("edgec.commands." + module_name)
        except (ImportError, SyntaxError) as exc:
            # A workstation command on a device: say what it needs instead of failing --help.
            return _unavailable_command(name, extra or "build", exc)
        return getattr(module, name)

    def invoke(self, ctx):
        try:
            return super(EdgecGroup, self).invoke(ctx)
        except EdgecError as exc:
            click.echo("error: %s" % exc.message, err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except ImportError as exc:
            # Workstation stages need the `build` extra; the device path needs only numpy.
            click.echo("error: %s" % _missing_package_message(exc, "build"), err=True)
            sys.exit(2)


def _unavailable_command(name, extra, exc):
    # type: (str, str, Exception) -> click.Command
    if isinstance(exc, ImportError):
        why = _missing_package_message(exc, extra)
    else:
        why = ("this command needs a newer Python than %d.%d (it is a workstation command: "
               "pip install 'edgec[%s]' on Python 3.10 or newer)"
               % (sys.version_info[0], sys.version_info[1], extra))

    def explain():
        raise EdgecError(why)
    return click.Command(name, callback=explain, help="(not available here: %s)" % why,
                         context_settings={"ignore_unknown_options": True,
                                           "allow_extra_args": True})


@click.group(cls=EdgecGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgec")
def main():
    """edgec: compile talking-face generators from PyTorch to TensorRT engines for Jetson."""


if __name__ == "__main__":
    main()
