"""The operator's Admin UI at ``/admin``: server-rendered pages over the services, signed in
with an API key."""
