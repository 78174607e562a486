"""A Quart-style app ported to trioframe by changing its imports; see app.py."""
