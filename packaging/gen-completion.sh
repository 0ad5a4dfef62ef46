#!/bin/sh
# Writes a bash completion script for rvirsh to stdout: its commands (from `rvirsh help`)
# for the first word, its options otherwise.
#   packaging/gen-completion.sh RVIRSH
set -eu
cmds=$("$1" help | awk '/^    [a-z]/ { print $1 }' | sort -u | tr '\n' ' ')
cat <<COMP
# bash completion for rvirsh (generated from 'rvirsh help')
_rvirsh() {
    local cur=\${COMP_WORDS[COMP_CWORD]} i cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case \${COMP_WORDS[i]} in
        -c | --connect) ((i++)) ;;
        -*) ;;
        *) cmd=\${COMP_WORDS[i]}; break ;;
        esac
    done
    if [[ -z \$cmd ]]; then
        if [[ \$cur == -* ]]; then
            COMPREPLY=(\$(compgen -W "--connect --readonly --quiet --help --version" -- "\$cur"))
        else
            COMPREPLY=(\$(compgen -W "${cmds% }" -- "\$cur"))
        fi
    elif [[ \$cur == -* ]]; then
        COMPREPLY=(\$(compgen -W "\$(rvirsh help "\$cmd" 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)" -- "\$cur"))
    fi
}
complete -F _rvirsh rvirsh
COMP
