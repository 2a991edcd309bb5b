"""Settings: the one typed settings object, the config file it reads, and the checks of single
values (key strength, networks, origins, game patterns) that several concerns share.

The bottom layer: it imports nothing else of vsmanager, so everything may use it.
"""
