"""Torch models written for the tests (plain torch, no torchvision)."""
