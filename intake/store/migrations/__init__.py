"""Migrations of the document store (made with Django makemigrations; never edited by hand once released)."""
