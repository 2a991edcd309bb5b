"""Settings: the one typed settings object (``settings.Settings``), combined from one section
class per concern (``access_settings``, ``game_settings``, ``console_settings``,
``http_settings``, ``ops_settings``; what they share is in ``fields``), the config file it
reads, and the checks of single values (key strength, networks, origins, game patterns) that
several concerns share.

The bottom layer: it imports nothing else of vsmanager, so everything may use it.
"""
