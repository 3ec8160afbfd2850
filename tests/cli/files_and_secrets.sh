# What Barrot creates is created with the documented modes (0644 files,
# 0755 directories, less the umask: a umask of 077 keeps everything the
# owner's), and what it records holds no secrets: no process's command line
# or environment reaches a periodic snapshot, the database or the log.
source "$(dirname "$0")/lib.sh"

modes() { # DIR: "mode path" of everything under it but the WAL index
  find "$1" -mindepth 1 ! -name '*-shm' -printf '%m %p\n' | sort -k2
}

# umask 022: files 644, directories 755.
(umask 022 && "$BARROT" action deploy '{"env":"prod"}' -q >/dev/null && "$BARROT" periodic -q >/dev/null)
bad=$(modes snapshots | awk '($1 != "644" && $1 != "755") { print }')
[ -z "$bad" ] || fail "unexpected modes under umask 022: $bad"
modes snapshots | grep -q '^755 snapshots/.barrot$' || fail "state directory mode"
modes snapshots | grep -qE '^644 snapshots/action_[0-9_]+\.json$' || fail "snapshot file mode"

# umask 077: nothing readable by others, in a fresh store.
export BARROT_SNAPSHOTS_DIR=$T/private
(umask 077 && "$BARROT" action deploy '{"env":"prod"}' -q >/dev/null && "$BARROT" periodic -q >/dev/null)
bad=$(modes private | awk '($1 != "600" && $1 != "700") { print }')
[ -z "$bad" ] || fail "readable by others under umask 077: $bad"

# Secrets in a process's command line and environment, and in barrot's own
# environment, while a periodic snapshot lists the processes.
export BARROT_SNAPSHOTS_DIR=$T/snapshots
secret_arg=tok_arg_8f3a2c91d7
secret_env=tok_env_51be09aa44
SECRET_TOKEN=$secret_env bash -c 'sleep 30; :' "$secret_arg" > /dev/null 2>&1 &
holder=$!
sleep 0.2
grep -q "$secret_arg" "/proc/$holder/cmdline" || fail "the holder process lacks its argument"
AWS_SECRET_ACCESS_KEY=$secret_env "$BARROT" periodic -q >/dev/null
pkill -P "$holder" 2>/dev/null || true # its sleep
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
"$BARROT" latest --json > "$T/latest.json"
jq -e '.active_processes | tostring | contains("bash")' "$T/latest.json" >/dev/null \
  || fail "the periodic snapshot lists no processes (the check would prove nothing)"
for s in "$secret_arg" "$secret_env"; do
  if grep -rqa "$s" snapshots; then
    fail "secret $s recorded: $(grep -rla "$s" snapshots)"
  fi
done
echo "files_and_secrets: ok"
