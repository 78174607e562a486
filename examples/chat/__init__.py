"""A chat room in the browser; the app is in ``app.py``."""
