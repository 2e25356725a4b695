"""Subscribers' identity: logins, portal sessions, app installations and their tokens."""
