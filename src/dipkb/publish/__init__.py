"""Publishing the KB to other systems: `dipkb push` sends what the portable export defines to a SPARQL server."""
