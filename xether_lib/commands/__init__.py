"""One module per noun of the command tree. Each exposes `register(noun)`.

A verb is a parser (its options, help and examples) and a `run(args, ctx)`
function that does the work through `ctx.api` and hands what it found to
`ctx.out`. Nothing outside `cli.py`/`parser.py` imports these modules.
"""
