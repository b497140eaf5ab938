"""Reputation lists: sources and their parsers, the store of lists, and the in-memory index checks match against."""
