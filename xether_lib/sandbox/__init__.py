"""The sandbox: a local Xether backend (API.md, [ext] routes included) for trying and testing
xether with no account and no network. Client code never imports this package; only
`commands/sandbox.py` does."""
