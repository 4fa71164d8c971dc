"""The application layer: what happens when a message arrives or a person decides. One module per use case
or OCPI module; each function takes a unit of work (a database session) and returns domain values or
read models. The doors (``api``, ``cli``) parse, call one function here and shape the answer."""
