"""`xether completion bash|zsh|fish`: shell completion scripts generated from the argparse tree.

The tree (nouns, verbs, options, whether an option takes a value, its choices)
is read from `parser.build(cli.COMMANDS, load_all=True)`, so the scripts follow
the commands as they are. The bash script is plain bash 3.2 (no associative
arrays); zsh loads the same functions through its bash completion emulation;
fish gets native `complete -c xether` lines.
"""

import argparse
import re
import sys

SAFE_WORD = re.compile(r"^[A-Za-z0-9_.:/@+,=%-]+$")


class Node(object):
    """One command level: its options and sub-commands."""

    def __init__(self, path, help_text):
        self.path = path            # words from the top, e.g. ("dataset", "push")
        self.help = help_text or ""
        self.options = []           # [Option]
        self.children = []          # [Node], visible ones in parser order
        self.known = []             # every word accepted as a sub-command (aliases too)

    @property
    def key(self):
        return " ".join(self.path)

    @property
    def aliases(self):
        names = set(c.path[-1] for c in self.children)
        return [w for w in self.known if w not in names]

    def walk(self):
        yield self
        for child in self.children:
            for node in child.walk():
                yield node


class Option(object):
    def __init__(self, strings, takes_value, choices, help_text):
        self.strings = strings
        self.takes_value = takes_value
        self.choices = choices
        self.help = help_text or ""


def _loadable(commands):
    """The commands whose modules import; a module not written yet is left out, nothing else."""
    import importlib

    found = []
    for entry in commands:
        name = "xether_lib.commands." + entry[1]
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        found.append(entry)
    return found


def build_tree():
    """The whole command tree as Nodes, read from the real parser."""
    from xether_lib import cli
    from xether_lib import parser as parser_mod

    commands = _loadable(cli.COMMANDS)
    top = parser_mod.build(commands, load_all=True)
    root = _node(top, (), "")
    loaded = dict((c.path[-1], c) for c in root.children)
    root.children = [loaded.get(name) or Node((name,), help_text)  # not importable yet: name only
                     for name, _module, help_text, _shortcut in cli.COMMANDS]
    root.known = sorted(set(root.known) | set(loaded) | set(c.path[-1] for c in root.children))
    return root


def _node(parser, path, help_text):
    node = Node(path, help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            _add_children(node, action)
        elif action.option_strings and action.help != argparse.SUPPRESS:
            choices = [str(c) for c in action.choices] if action.choices else None
            node.options.append(Option(sorted(action.option_strings), action.nargs != 0,
                                       choices, action.help))
    return node


def _add_children(node, action):
    helps = dict((a.dest, a.help) for a in action._choices_actions)
    for name, sub in action.choices.items():
        node.known.append(name)
        if name in helps and helps[name] != argparse.SUPPRESS:
            node.children.append(_node(sub, node.path + (name,), helps[name]))


def _words(items):
    return " ".join(w for w in items if SAFE_WORD.match(w))


def _grouped(root, value_of):
    """{(option string, value): [path keys]} for every option where value_of(opt) is not None."""
    groups = {}
    everywhere = {}
    for node in root.walk():
        for opt in node.options:
            for s in opt.strings:
                everywhere.setdefault(s, set()).add(node.key)
                value = value_of(opt)
                if value is not None:
                    groups.setdefault((s, value), set()).add(node.key)
    return groups, everywhere


def _case_patterns(root, value_of):
    """[(case pattern, value)]: `*"|--opt"` when it holds at every level, else one per level."""
    groups, everywhere = _grouped(root, value_of)
    lines = []
    for (s, value), keys in sorted(groups.items()):
        if not SAFE_WORD.match(s):
            continue
        if keys == everywhere[s]:
            pattern = '*"|%s"' % s
        else:
            pattern = "|".join('"%s|%s"' % (k, s) for k in sorted(keys))
        lines.append((pattern, value))
    return lines


def _common_options(root):
    """The options every level accepts (the global ones), in the top level's order."""
    levels = [set(tuple(o.strings) for o in n.options) for n in root.walk() if n.options]
    everywhere = set.intersection(*levels)
    return [o for o in root.options if tuple(o.strings) in everywhere]


def _own(node, common):
    """The options of `node` that are not accepted everywhere."""
    shared = set(tuple(o.strings) for o in common)
    return [o for o in node.options if tuple(o.strings) not in shared]


def _case_function(name, comment, arms, default="return 1", subject='"$1"'):
    out = ["# %s" % comment, "%s() {" % name, "    case %s in" % subject]
    for pattern, body in arms:
        out.append("        %s) %s;;" % (pattern, body))
    out += ["    esac", "    %s" % default, "}", ""]
    return out


BASH_MAIN = r'''# The completion function: walk the words typed so far to find the command
# path (skipping options and their values), then offer what fits there.
_xether() {
    local cur="${COMP_WORDS[COMP_CWORD]}" path="" expect="" word words i
    COMPREPLY=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        if [[ -n "$expect" ]]; then
            expect=""
        elif [[ "$word" == -* ]]; then
            if [[ "$word" != *=* ]] && _xether_takes_value "$path" "$word"; then
                expect="$word"
            fi
        elif _xether_known "$path" "$word"; then
            path="${path:+$path }$word"
        fi
    done
    if [[ -n "$expect" ]]; then
        words="$(_xether_choices "$path" "$expect")"
    elif [[ "$cur" == -* ]]; then
        words="$(_xether_options "$path")"
    else
        words="$(_xether_commands "$path")"
    fi
    if [[ -n "$words" ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    fi
    return 0
}
'''


def bash_functions(root):
    """The shell functions shared by the bash and zsh scripts."""
    lines = []
    nodes = list(root.walk())
    lines += _case_function(
        "_xether_commands", "sub-commands offered at a command path",
        [('"%s"' % n.key, "echo %s" % _words(c.path[-1] for c in n.children))
         for n in nodes if n.children], "return 0")
    lines += _case_function(
        "_xether_aliases", "other names of sub-commands at a command path",
        [('"%s"' % n.key, "echo %s" % _words(n.aliases)) for n in nodes if n.aliases],
        "return 0")
    lines += ["# true when $2 is a sub-command (or an alias of one) at path $1",
              "_xether_known() {",
              "    local w",
              '    for w in $(_xether_commands "$1") $(_xether_aliases "$1"); do',
              '        [[ "$w" == "$2" ]] && return 0',
              "    done",
              "    return 1", "}", ""]
    common = _common_options(root)
    lines += ["# options accepted at a command path (those accepted everywhere, then the rest)",
              "_xether_options() {",
              "    echo %s" % _words(s for o in common for s in o.strings)]
    lines += _case_function(
        None, None, [('"%s"' % n.key, "echo %s" % _words(s for o in _own(n, common)
                                                          for s in o.strings))
                     for n in nodes if _own(n, common)], "return 0")[2:]
    lines += _case_function(
        "_xether_takes_value", "true when option $2 at path $1 takes a value",
        [(p, "return 0") for p, _ in _case_patterns(root, lambda o: True if o.takes_value
                                                      else None)],
        subject='"$1|$2"')
    lines += _case_function(
        "_xether_choices", "the values option $2 at path $1 accepts (none: complete files)",
        [(p, "echo %s" % v) for p, v in _case_patterns(
            root, lambda o: _words(o.choices) if o.takes_value and o.choices else None)],
        "return 0", subject='"$1|$2"')
    return "\n".join(lines) + "\n" + BASH_MAIN


def bash_script(root):
    return ("# bash completion for xether; generated by `xether completion bash`.\n"
            "# Install: xether completion bash > ~/.local/share/bash-completion/completions/xether\n\n"
            + bash_functions(root) + "\ncomplete -o default -F _xether xether\n")


def zsh_script(root):
    return ("# zsh completion for xether; generated by `xether completion zsh`.\n"
            "# Install: xether completion zsh > ~/.xether-completion.zsh and add\n"
            "#   source ~/.xether-completion.zsh   to ~/.zshrc\n"
            "# It runs the bash completion functions through zsh's bashcompinit.\n\n"
            "if ! (( $+functions[compdef] )); then\n"
            "    autoload -U +X compinit && compinit\n"
            "fi\n"
            "autoload -U +X bashcompinit && bashcompinit\n\n"
            + bash_functions(root) + "\ncomplete -o default -F _xether xether\n")


def _fish_quote(text):
    return "'%s'" % text.replace("\\", "\\\\").replace("'", "\\'")


def _fish_option(opt, condition):
    parts = ["complete -c xether"] + (["-n " + _fish_quote(condition)] if condition else [])
    for s in opt.strings:
        if s.startswith("--"):
            parts.append("-l " + _fish_quote(s[2:]))
        elif len(s) == 2:
            parts.append("-s " + _fish_quote(s[1:]))
        else:
            parts.append("-o " + _fish_quote(s[1:]))
    if opt.takes_value:
        parts.append("-r")
        if opt.choices:
            parts.append("-f -a " + _fish_quote(_words(opt.choices)))
    if opt.help:
        parts.append("-d " + _fish_quote(opt.help.split("\n")[0]))
    return " ".join(parts)


FISH_HEAD = r'''# fish completion for xether; generated by `xether completion fish`.
# Install: xether completion fish > ~/.config/fish/completions/xether.fish

# Print the command path typed so far (sub-commands only, options and their values skipped).
function __xether_path
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
        else if string match -q -- '-*' $t
            if not string match -q -- '*=*' $t; and contains -- $t (__xether_value_options (string join ' ' $path))
                set skip 1
            end
        else if contains -- $t (__xether_known (string join ' ' $path))
            set -a path $t
        end
    end
    string join ' ' $path
end

function __xether_at
    set -l path (__xether_path)
    test "$path" = "$argv[1]"
end
'''


def _fish_switch(name, arms):
    out = ["function %s" % name, "    switch $argv[1]"]
    for key, words in arms:
        out += ["        case %s" % _fish_quote(key), "            string split ' ' -- %s"
                % _fish_quote(words)]
    out += ["    end", "end", ""]
    return out


def fish_script(root):
    nodes = list(root.walk())
    lines = [FISH_HEAD]
    lines += _fish_switch("__xether_known", [(n.key, _words(n.known)) for n in nodes if n.known])
    lines += _fish_switch("__xether_value_options", [
        (n.key, _words(s for o in n.options if o.takes_value for s in o.strings))
        for n in nodes if any(o.takes_value for o in n.options)])
    common = _common_options(root)
    lines += [_fish_option(opt, None) for opt in common]
    for node in nodes:
        condition = "__xether_at %s" % _fish_quote(node.key)
        for child in node.children:
            lines.append("complete -c xether -f -n %s -a %s -d %s" % (
                _fish_quote(condition), _fish_quote(child.path[-1]),
                _fish_quote(child.help.split("\n")[0])))
        lines += [_fish_option(opt, condition) for opt in _own(node, common)]
    return "\n".join(lines) + "\n"


SHELLS = (
    ("bash", bash_script, "xether completion bash > ~/.local/share/bash-completion/completions/xether",
     "Load it now with:  source <(xether completion bash)"),
    ("zsh", zsh_script, "xether completion zsh > ~/.xether-completion.zsh",
     "Then add 'source ~/.xether-completion.zsh' to ~/.zshrc."),
    ("fish", fish_script, "xether completion fish > ~/.config/fish/completions/xether.fish",
     "fish loads it by itself from that folder."),
)


def register(noun):
    for shell, render, example, note in SHELLS:
        p = noun.verb(shell, _runner(render), "Print the %s completion script" % shell,
                      description="Print a %s completion script for xether on stdout.\n%s"
                                  % (shell, note),
                      examples=[example])
        p.set_defaults(_shell=shell)


def _runner(render):
    def run(args, ctx):
        sys.stdout.write(render(build_tree()))
        sys.stdout.flush()
        return 0
    return run
