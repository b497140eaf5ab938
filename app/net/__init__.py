"""Pieces of the fetch module (app/fetch.py): bounded content decoding and name resolution."""
