"""The output kit: everything xether writes to a terminal, pipe or file goes
through here. `style` (escaping, colour, display width), `values` (sizes, ages,
times), `table` and `record` (people's views), `progress` (live lines on
stderr) and `output` (the `Output` object commands print through).

Nothing is imported here, so `from xether_lib.term.style import ...` stays cheap.
"""
