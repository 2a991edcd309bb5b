"""Setting up a server: ``vsmanager init`` (``first_run``), the example config file
(``config_text``), the systemd unit (``systemd_unit``), ``config check|example`` and friends
(``commands``), and ``vsmanager keys`` (``keys_command``).

Used only by the command line; uses ``access``, ``game`` and ``config``.
"""
