"""Architecture specs (the papers' tables, in closed form): one module per network."""
