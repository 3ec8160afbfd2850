#!/usr/bin/env bash
# Generates a program's man page and bash completion from its own --help
# output, so that both always match the binary they are installed with.
#
#   gen-cli-docs.sh PROGRAM OUT_DIR [DOC_DIR]
#
# writes OUT_DIR/<name>.1 and OUT_DIR/<name>.bash (name: PROGRAM's basename).
# DOC_DIR is where the docs are installed (CMAKE_INSTALL_FULL_DOCDIR; the
# install rewrites it in the man page when the prefix changed since).
set -euo pipefail
prog=$1
out=$2
docdir=${3:-}
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
US=$'\x1f' # the field separator of option_table
# Every command's --help lists the global options too (its "Global options:").
first_help=$("$prog" "$(printf '%s\n' "$commands" | awk 'NR == 1')" --help)

# A command's --help on standard input -> one line per option, its fields
# separated by $US (not tabs: read would merge empty fields):
# g (a global option) or c, the short form, the long form, the value's
# placeholder (empty for a flag) and the description, its lines joined.
# An option line is "  -x, --long ..." or "      --long ..."; the lines of
# its description that follow are indented further (and may start with a
# dash: "--at of health").
option_table() {
  awk -v US="$US" '
    function flush() { if (long != "") print (global ? "g" : "c") US short US long US ph US desc; long = "" }
    /^  -[a-zA-Z], --[a-z]/ || /^      --[a-z]/ {
      flush()
      line = $0; sub(/^ +/, "", line); short = ""
      if (line ~ /^-[a-zA-Z], /) { short = substr(line, 1, 2); line = substr(line, 5) }
      long = line; sub(/ .*/, "", long); line = substr(line, length(long) + 1)
      ph = ""
      if (line ~ /^ [^ ]/) { ph = substr(line, 2); sub(/ .*/, "", ph); line = substr(line, length(ph) + 2) }
      desc = line; sub(/^ +/, "", desc); sub(/ +$/, "", desc)
      next
    }
    /^       +[^ ]/ && long != "" {
      d = $0; sub(/^ +/, "", d); sub(/ +$/, "", d)
      desc = desc (desc == "" ? "" : " ") d
      next
    }
    { flush() }
    /^ [A-Z].* options:$/ { global = ($0 ~ /^ Global options:$/) }
    END { flush() }'
}

# An option's description -> the values it lists, if it is such a list:
# "table (default), json, jsonl or csv", "normal or full: full fsyncs ...".
value_list() {
  printf '%s\n' "$1" | sed -E 's/ *\([^)]*\)//g; s/[:;].*//; s/ +$//' |
    awk '/^[a-z][a-z0-9_-]*(, [a-z][a-z0-9_-]*)*,? or [a-z][a-z0-9_-]*$/ {
      for (i = 1; i <= NF; i++) { w = $i; sub(/,$/, "", w); if (w != "or") v = v (v == "" ? "" : " ") w }
      print v
    }'
}

# troff: escape backslashes, and lines that would start with a control character.
roff() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
# An option name in running text: bold, its dashes as minus signs.
roff_opt() { printf '\\fB%s\\fR' "$(printf '%s' "$1" | sed 's/-/\\-/g')"; }

# ENVIRONMENT: every "env NAME" the options' help mentions, in the words of
# the first option naming it (the global options first), "env NAME" replaced
# by the option: "snapshots directory (--dir; default ./snapshots)".
environment() {
  local table var rows row kind long desc cmds where
  table=$(for cmd in $commands; do
            "$prog" "$cmd" --help | option_table | sed "s/^/$cmd$US/"
          done | awk -F"$US" '$6 ~ /env BARROT_[A-Z_]*/')
  table=$(printf '%s\n' "$table" | awk -F"$US" '$2 == "g"'; printf '%s\n' "$table" | awk -F"$US" '$2 != "g"')
  printf '%s\n' "$table" | awk -F"$US" '{ v = $6; sub(/.*env /, "", v); sub(/[^A-Z_].*/, "", v); print v }' |
    awk '!seen[$0]++' | while read -r var; do
      [ -n "$var" ] || continue
      rows=$(printf '%s\n' "$table" | awk -F"$US" -v v="env $var" 'index($6, v)')
      row=$(printf '%s\n' "$rows" | awk -F"$US" 'NR == 1')
      kind=$(printf '%s\n' "$row" | cut -d"$US" -f2)
      long=$(printf '%s\n' "$row" | cut -d"$US" -f4)
      if [ "$kind" = g ]; then
        where=$(roff_opt "$long")
      else # and the commands that take the option
        cmds=$(printf '%s\n' "$rows" | awk -F"$US" -v l="$long" '$4 == l {print $1}' | awk '!seen[$0]++' | paste -sd, | sed 's/,/, /g')
        where="$(roff_opt "$long") of $cmds"
      fi
      desc=$(printf '%s\n' "$row" | cut -d"$US" -f6 | sed "s/env $var/@WHERE@/" | roff)
      printf '.TP\n.B %s\n%s\n' "$var" "${desc//@WHERE@/$where}"
    done
}

{
  printf '.TH %s 1 "" "%s %s" "User Commands"\n' "$(echo "$name" | tr a-z A-Z)" "$name" "$version"
  printf '.SH NAME\n%s \\- %s\n' "$name" "$(printf '%s' "$description" | roff)"
  printf '.SH SYNOPSIS\n.B %s\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR] [\\fIOPTIONS\\fR]\n' "$name"
  printf '.SH DESCRIPTION\n%s.\nGlobal options may stand before or after the command.\n' \
    "$(printf '%s' "$description" | roff)"
  if [ -n "$docdir" ]; then
    printf 'The full reference is cli.md, installed in\n%s\n(docs/cli.md in the sources).\n' "$(printf '%s' "$docdir" | roff)"
  else
    printf 'The full reference is docs/cli.md in the sources.\n'
  fi
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
  printf '.SH ENVIRONMENT\nAn option beats its environment variable.\n'
  environment
  printf '.SH FILES\n.TP\n.I snapshots/<id>.json, snapshots/action_log.jsonl, snapshots/latest_periodic.json\n'
  printf 'the mirror files, in the legacy format\n.TP\n.I snapshots/.barrot/barrot.db\nthe SQLite database, the source of truth\n'
  printf '.SH SEE ALSO\n'
  [ "$name" = barrot ] && printf '.BR barrot\\-archive (1),\n' || printf '.BR barrot (1),\n'
  printf '.BR sqlite3 (1)\n'
} > "$out/$name.1"

# Completion: commands; each command's options (its global ones included);
# an option's values where that command's --help lists them, files or
# directories where it names one, nothing where it takes some other value.
fn=_$(echo "$name" | tr -c 'a-z0-9\n' _)
# Global options may stand before the command: the command is the first
# word that is neither one of them nor the value of one that takes a value.
global_rows=$(printf '%s\n' "$first_help" | option_table | awk -F"$US" '$1 == "g"')
global_opts=$( {
  printf '%s\n' "$global_rows" | cut -d"$US" -f2,3 | tr "$US" '\n'
  printf '%s\n' "$top" | sed -n 's/^Usage: //p' | grep -oE -- '--[a-z][a-z-]*'
  echo --version
} | grep . | sort -u | tr '\n' ' ')
global_value_pattern=$(printf '%s\n' "$global_rows" | awk -F"$US" '$4 != "" {print $2; print $3}' |
  grep . | paste -sd'|' | sed 's/|/ | /g')
[ -n "$global_value_pattern" ] || { echo "gen-cli-docs.sh: no global option with a value in '$name ... --help'" >&2; exit 1; }
# option_table lines -> case arms completing the value after each option.
value_arms() {
  local kind short long ph desc pattern values
  while IFS=$US read -r kind short long ph desc; do
    [ -n "$ph" ] || continue
    pattern=${short:+$short | }$long
    values=$(value_list "$desc")
    if [ -n "$values" ]; then
      printf '        %s) COMPREPLY=($(compgen -W "%s" -- "$cur")); return ;;\n' "$pattern" "$values"
    elif [ "$ph" = DIR ] || [[ $long == *-dir ]]; then
      printf '        %s) %s_dirs; return ;;\n' "$pattern" "$fn"
    elif [ "$ph" = FILE ] || [ "$ph" = PATH ]; then
      printf '        %s) %s_files; return ;;\n' "$pattern" "$fn"
    elif [ "$ph" = ID ] && [ "$name" = barrot ]; then
      printf '        %s) %s_ids; return ;;\n' "$pattern" "$fn"
    else # a number, a time, a pattern: nothing to offer (not the options either)
      printf '        %s) return ;;\n' "$pattern"
    fi
  done
}
{
  printf '# bash completion for %s (generated from its --help by cmake/gen-cli-docs.sh)\n' "$name"
  sed "s/@FN@/$fn/g" <<'SH'
# (one per line: a name may hold spaces)
@FN@_files() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); }
@FN@_dirs() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); }
SH
  if [ "$name" = barrot ]; then
    sed "s/@FN@/$fn/g" <<'SH'
# Snapshot ids, the newest hundred (ARGS: more search filters), from the
# store the command line names with --dir and --db, else the environment's.
@FN@_ids() {
  local ids
  ids=$("${COMP_WORDS[0]/#\~/$HOME}" search "${store[@]}" "$@" --limit 100 -o ids 2>/dev/null)
  COMPREPLY=($(compgen -W "$ids" -- "$cur"))
}
SH
  fi
  sed "s/@FN@/$fn/g; s/@GLOBAL_VALUE@/$global_value_pattern/" <<'SH'
@FN@() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd="" i w v store=()
  # bash splits --dir=x into --dir, =, x.
  if [[ $cur == = ]]; then
    cur=""
  elif [[ $prev == = ]]; then
    prev=${COMP_WORDS[COMP_CWORD-2]}
  fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      @GLOBAL_VALUE@)
        ((++i < COMP_CWORD)) && [[ ${COMP_WORDS[i]} == = ]] && ((i++))
        if ((i < COMP_CWORD)); then
          v=${COMP_WORDS[i]}; v=${v#[\"\']}; v=${v%[\"\']}; v=${v/#\~/$HOME}
          case $w in -d | --dir) store+=(--dir "$v") ;; --db) store+=(--db "$v") ;; esac
        fi ;;
      --dir=* | --db=*) v=${w#*=}; store+=("${w%%=*}" "${v/#\~/$HOME}") ;;
      -*) ;;
      *) [[ -z $cmd ]] && cmd=$w ;;
    esac
  done
  local opts
  case $cmd in
    "")
      case $prev in
SH
  printf '%s\n' "$global_rows" | value_arms
  printf '      esac\n'
  printf '      COMPREPLY=($(compgen -W "%s %s" -- "$cur")); return ;;\n' "$(echo $commands)" "${global_opts% }"
  for cmd in $commands; do
    table=$("$prog" "$cmd" --help | option_table)
    opts=$(printf '%s\n' "$table" | cut -d"$US" -f2,3 | tr "$US" '\n' | grep . | sort -u | tr '\n' ' ')
    printf '    %s)\n      case $prev in\n' "$cmd"
    printf '%s\n' "$table" | value_arms
    printf '      esac\n      opts="%s" ;;\n' "${opts% }"
  done
  printf '    *) return ;;\n  esac\n'
  printf '  if [[ $cur == -* ]]; then\n    COMPREPLY=($(compgen -W "$opts" -- "$cur"))\n'
  if [ "$name" = barrot ]; then
    # Operands: snapshot ids for view, periodic ones for diff, a directory for import.
    printf '  elif [[ $cmd == view ]]; then\n    %s_ids\n' "$fn"
    printf '  elif [[ $cmd == diff ]]; then\n    %s_ids --type periodic\n' "$fn"
    printf '  elif [[ $cmd == import ]]; then\n    %s_dirs\n' "$fn"
  fi
  printf '  fi\n}\n'
  printf 'complete -F %s %s\n' "$fn" "$name"
} > "$out/$name.bash"
