"""Field sets shared by a vendor's source and destination objects.

``common`` holds the generic groups (a server address, a password login, an SSH tunnel…);
each family module holds what one vendor's source and destination have in common, with the
source's defaults. A destination subclasses it to add what only a writer needs.
"""
