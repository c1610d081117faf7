"""Operations (layer 4): the weekly job, mail, configuration and the command line.

:mod:`~xladdin.ops.jobs` (``xladdin weekly``), :mod:`~xladdin.ops.mail` (SMTP),
:mod:`~xladdin.ops.config` (TOML configuration, passwords), :mod:`~xladdin.ops.cli` and
:mod:`xladdin.ops.commands` (one module per subcommand). May import every other layer.
"""
