"""Tests of the devhost server (everything in devhost/ except the engine)."""
