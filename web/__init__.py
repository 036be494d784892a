"""Huntsman's web process: the JSON API (and the console) as a Flask application."""
