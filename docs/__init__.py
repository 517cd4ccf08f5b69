"""The documentation pages, installed as package data ``convcalc.docs`` (``convcalc explain conventions`` prints a
section of flops.md)."""
