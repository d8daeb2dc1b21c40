"""User studies: :mod:`.design` (criteria, configuration, item draw), :mod:`.store` (the
response store) and :mod:`.stats` (analysis)."""
