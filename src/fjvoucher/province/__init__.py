"""The province's side: one registry for every centre, and the monthly upload to the national query system."""
