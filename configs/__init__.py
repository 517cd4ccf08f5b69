"""Shipped network specs. Installed as package data so `convcalc analyze NAME` works after `pip install .`."""
