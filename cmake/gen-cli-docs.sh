#!/usr/bin/env bash
# Generates a program's man page and bash completion from its own --help
# output, so that both always match the binary they are installed with.
#
#   gen-cli-docs.sh PROGRAM OUT_DIR
#
# writes OUT_DIR/<name>.1 and OUT_DIR/<name>.bash (name: PROGRAM's basename).
set -euo pipefail
prog=$1
out=$2
name=$(basename "$prog")
mkdir -p "$out"
top=$("$prog" --help)
version=$("$prog" --version | awk '{print $2}')
# The first line, without a pipe into head: head exits after one line, and
# under pipefail printf's SIGPIPE on the rest failed the build now and then.
first_line=${top%%$'\n'*}
description=${first_line#"$name: "}
# "  NAME ARGS   SUMMARY" lines between "Commands:" and the blank line after.
# (awk reads to the end: an early exit would be the same SIGPIPE.)
command_lines=$(printf '%s\n' "$top" | awk '/^Commands:/ && !d {c=1; next} c && /^$/ {c=0; d=1} c')
commands=$(printf '%s\n' "$command_lines" | awk '{print $1}')
footer=$(printf '%s\n' "$top" | awk '/COMMAND --help/{f=1} f')

# troff: escape backslashes, and lines that would start with a control character.
roff() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

{
  printf '.TH %s 1 "" "%s %s" "User Commands"\n' "$(echo "$name" | tr a-z A-Z)" "$name" "$version"
  printf '.SH NAME\n%s \\- %s\n' "$name" "$(printf '%s' "$description" | roff)"
  printf '.SH SYNOPSIS\n.B %s\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR] [\\fIOPTIONS\\fR]\n' "$name"
  printf '.SH DESCRIPTION\n%s.\nGlobal options may stand before or after the command.\n' \
    "$(printf '%s' "$description" | roff)"
  printf 'The full reference is docs/cli.md (installed under /usr/share/doc/barrot).\n'
  printf '.SH COMMANDS\n'
  while IFS= read -r line; do
    cmd=$(printf '%s\n' "$line" | awk '{print $1}')
    usage=$(printf '%s\n' "$line" | sed -E 's/^  //; s/ {2,}.*$//')
    summary=$(printf '%s\n' "$line" | sed -E 's/^  [^ ].*[^ ] {2,}//')
    printf '.SS %s\n%s.\n.PP\n.nf\n' "$(printf '%s' "$usage" | roff)" "$(printf '%s' "$summary" | roff)"
    "$prog" "$cmd" --help | sed 1d | roff
    printf '.fi\n'
  done <<< "$command_lines"
  printf '.SH EXIT STATUS\n%s\n' "$(printf '%s\n' "$footer" | sed 1s/.*Exit/Exit/ | roff)"
  printf '.SH ENVIRONMENT\n.TP\n.B BARROT_SNAPSHOTS_DIR\nthe snapshots directory (\\fB\\-\\-dir\\fR; default ./snapshots)\n'
  printf '.TP\n.B BARROT_DB\nthe database (\\fB\\-\\-db\\fR; default DIR/.barrot/barrot.db)\n'
  printf '.TP\n.B BARROT_SYNC\n\\fBnormal\\fR or \\fBfull\\fR (\\fB\\-\\-sync\\fR)\n'
  printf '.TP\n.B BARROT_CONFIG\nthe configuration file (\\fB\\-\\-config\\fR)\n'
  printf '.SH FILES\n.TP\n.I snapshots/<id>.json, snapshots/action_log.jsonl, snapshots/latest_periodic.json\n'
  printf 'the mirror files, in the legacy format\n.TP\n.I snapshots/.barrot/barrot.db\nthe SQLite database, the source of truth\n'
  printf '.SH SEE ALSO\n'
  [ "$name" = barrot ] && printf '.BR barrot\\-archive (1),\n' || printf '.BR barrot (1),\n'
  printf '.BR sqlite3 (1)\n'
} > "$out/$name.1"

# Completion: commands, each command's options, and values where they are few.
fn=_$(echo "$name" | tr -c 'a-z0-9\n' _)
{
  printf '# bash completion for %s (generated from its --help by cmake/gen-cli-docs.sh)\n' "$name"
  printf '%s() {\n' "$fn"
  printf '  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd="" i\n'
  printf '  for ((i = 1; i < COMP_CWORD; i++)); do\n'
  printf '    case ${COMP_WORDS[i]} in\n'
  printf '      -d | --dir | --db | --sync) ((i++)) ;;\n'
  printf '      -*) ;;\n'
  printf '      *) cmd=${COMP_WORDS[i]}; break ;;\n'
  printf '    esac\n  done\n'
  printf '  case $prev in\n'
  printf '    -d | --dir | --base-dir | --workflows-dir | --archive-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;\n'
  printf '    --db | --config | --manifest | --registry | --outcome-relay) COMPREPLY=($(compgen -f -- "$cur")); return ;;\n'
  printf '    --sync) COMPREPLY=($(compgen -W "normal full" -- "$cur")); return ;;\n'
  printf '    --status) COMPREPLY=($(compgen -W "executing completed failed" -- "$cur")); return ;;\n'
  printf '    --type) COMPREPLY=($(compgen -W "action periodic" -- "$cur")); return ;;\n'
  printf '    --format) COMPREPLY=($(compgen -W "text json prometheus" -- "$cur")); return ;;\n'
  printf '    -o | --output)\n'
  printf '      case $cmd in\n'
  printf '        health | dashboard) COMPREPLY=($(compgen -f -- "$cur")) ;;\n'
  printf '        *) COMPREPLY=($(compgen -W "table json jsonl csv ids" -- "$cur")) ;;\n'
  printf '      esac\n      return ;;\n'
  printf '  esac\n'
  printf '  local opts\n  case $cmd in\n'
  printf '    "") COMPREPLY=($(compgen -W "%s --dir --db --sync --json --help --version" -- "$cur")); return ;;\n' \
    "$(echo $commands)"
  for cmd in $commands; do
    opts=$("$prog" "$cmd" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+|-[a-zA-Z]' | sort -u | tr '\n' ' ')
    printf '    %s) opts="%s" ;;\n' "$cmd" "${opts% }"
  done
  printf '    *) return ;;\n  esac\n'
  printf '  if [[ $cur == -* ]]; then\n    COMPREPLY=($(compgen -W "$opts" -- "$cur"))\n'
  if [ "$name" = barrot ]; then
    # Snapshot ids for view and diff: the newest hundred, from the store.
    printf '  elif [[ $cmd == view || $cmd == diff ]]; then\n'
    printf '    local ids\n    ids=$("${COMP_WORDS[0]}" search --limit 100 -o ids 2>/dev/null)\n'
    printf '    COMPREPLY=($(compgen -W "$ids" -- "$cur"))\n'
    printf '  elif [[ $cmd == import ]]; then\n    COMPREPLY=($(compgen -d -- "$cur"))\n'
  fi
  printf '  fi\n}\n'
  printf 'complete -F %s %s\n' "$fn" "$name"
} > "$out/$name.bash"
