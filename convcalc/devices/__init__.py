"""The shipped device profiles (one YAML file each) that `convcalc cost --device NAME` reads (docs/roofline.md)."""
