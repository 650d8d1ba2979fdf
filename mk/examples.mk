# examples/: tests/bats/examples.bats checks examples/kubernetes with
# examples/kubernetes/check.py (PyYAML; TOML with Python 3.11's tomllib).
# Not kubernetes-client: `kubectl create --dry-run=client` needs an API
# server to map kinds, and `--local` commands accept any kind and field.
DEB_PKGS += python3-yaml
