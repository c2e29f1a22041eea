#!/usr/bin/env bash
# callgrind_session.sh: where the bastion's CPU per byte goes (issue 21), in instruction counts that do
# not depend on the machine's noise (the same binary and input give the same counts).
#
#   bench/callgrind_session.sh [--mib N] [--label TEXT] [--out FILE]
#
# Runs bastiond (a profiling build: -DBASTION_PROFILE=ON, see CMakeLists.txt) under
# `valgrind --tool=callgrind` with a target sshd on loopback (aes256-gcm@openssh.com), and moves N MiB
# (default 64) through one exec session on a connection of its own: a download (`head -c` on the target),
# then an upload on a second connection. Each connection is a monitor and a network (session) process
# (README "Trust boundaries"); when the connection ends and its row is closed, bastiond stops and every
# process writes its profile. Prints, per process and direction: instructions in total and per GiB
# moved, the top functions (self cost) with their share, and the share of each kind of work; and
# appends the same Markdown to FILE (default bench/results/cpu-profile.md) under "## TEXT".
#
# Caveat on the counts: valgrind hides SHA-NI (and AVX-512) from the program, so OpenSSL's SHA-256 runs
# its software path here, ~10 × the cycles it takes with SHA-NI; AES-NI and PCLMULQDQ are emulated
# and counted as the instructions they are. The instruction shares show what is executed; the CPU
# seconds of `scripts/bench --only cpu` show what it costs on the real CPU.
#
# Binaries: $BASTIOND (default build-prof/gateway/bastiond), $BASTIONCTL (default build/gateway/bastionctl).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
mib=64 label="" out=$ROOT/bench/results/cpu-profile.md
while (( $# )); do
  case "$1" in
    --mib) mib=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "callgrind_session: unknown argument: $1" >&2; exit 2 ;;
  esac
done
BASTIOND=${BASTIOND:-$ROOT/build-prof/gateway/bastiond}
BASTIONCTL=${BASTIONCTL:-$ROOT/build/gateway/bastionctl}
for bin in "$BASTIOND" "$BASTIONCTL" /usr/sbin/sshd; do
  [[ -x "$bin" ]] || { echo "callgrind_session: $bin not found" >&2; exit 1; }
done
for tool in valgrind callgrind_annotate ssh ssh-keygen oathtool jq; do
  command -v "$tool" >/dev/null || { echo "callgrind_session: $tool is missing" >&2; exit 1; }
done
bytes=$((mib << 20))
label=${label:-"$(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null | cut -c1-72)"}

T=$(mktemp -d /tmp/cg.XXXXXX)
chmod 700 "$T"
mkdir -p "$T/cg" "$T/logs" "$T/state"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
log() { printf 'callgrind_session: %s\n' "$*" >&2; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { local p; while :; do p=$((20000 + RANDOM % 40000)); tcp_open "$p" || { echo "$p"; return; }; done; }
wait_listening() {  # PID PORT SECONDS
  local deadline=$((SECONDS + $3))
  while (( SECONDS < deadline )); do
    kill -0 "$1" 2>/dev/null || return 1
    tcp_open "$2" && return 0
    sleep 0.2
  done
  return 1
}
# As root, bastiond's network process would change to its --preauth-user and chroot to an empty
# directory, where valgrind cannot write its profile: run bastiond (and bastionctl, which owns the
# database files with it) as nobody instead, as the tests and the demo run it.
as_bastion=()
if [[ $EUID -eq 0 ]]; then
  as_bastion=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  chmod 755 "$T"
  chown nobody:nogroup "$T/state" "$T/cg"
fi
ctl() { "${as_bastion[@]}" "$BASTIONCTL" --db "$T/state/bastion.db" "$@"; }
user=$(id -un)

# --- target sshd, pinned cipher, trusting the bastion's egress CA ----------------------------------------
ctl init >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$T/target_host_key"
[[ $EUID -eq 0 ]] && mkdir -p /run/sshd
tport=$(free_port)
cat > "$T/sshd_config" <<CONF
ListenAddress 127.0.0.1:$tport
HostKey $T/target_host_key
PidFile $T/sshd.pid
AuthorizedKeysFile none
TrustedUserCAKeys $T/state/egress_ca_ed25519_key.pub
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowUsers $user
Ciphers aes256-gcm@openssh.com
Compression no
UseDNS no
LogLevel ERROR
SetEnv SHLVL=1
CONF
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/logs/sshd.log" &
pids+=($!)
wait_listening "${pids[-1]}" "$tport" 10 || { log "sshd did not start: $(tail -3 "$T/logs/sshd.log")"; exit 1; }
ctl server add tgt --host 127.0.0.1 --port "$tport" --client prof --kind dedicated \
    --host-key "$(cut -d' ' -f1,2 "$T/target_host_key.pub")" >/dev/null
ctl catalogue add tgt exec-any --type exec --pattern '*' >/dev/null

# --- bastiond under callgrind ---------------------------------------------------------------------------
bport=$(free_port)
"${as_bastion[@]}" valgrind --tool=callgrind --callgrind-out-file="$T/cg/callgrind.%p" --trace-children=no \
    "$BASTIOND" --listen "127.0.0.1:$bport" --db "$T/state/bastion.db" --state-dir "$T/state" \
    --login-grace 600 --log-level warn >"$T/logs/bastiond.log" 2>&1 &
bastiond_pid=$!
pids+=("$bastiond_pid")
wait_listening "$bastiond_pid" "$bport" 300 || { log "bastiond did not start: $(tail -5 "$T/logs/bastiond.log")"; exit 1; }
printf '[127.0.0.1]:%s %s\n' "$bport" "$(cut -d' ' -f1,2 "$T/state/host_ed25519_key.pub")" > "$T/known_hosts"

# new_operator NAME: key, TOTP secret, grant, askpass and an ssh_config alias b-NAME.
new_operator() {
  ssh-keygen -q -t ed25519 -N '' -f "$T/$1.key"
  local secret
  secret=$(ctl operator add "$1" --key "$T/$1.key.pub" --json | jq -r .totp_secret)
  ctl grant add --operator "$1" --server tgt --login "$user" --ops exec-any --for 2h --reason profile >/dev/null
  printf '#!/bin/sh\nexec oathtool --totp -b %s\n' "$secret" > "$T/$1.askpass"
  chmod 700 "$T/$1.askpass"
  cat >> "$T/ssh_config" <<CONF
Host b-$1
  HostName 127.0.0.1
  Port $bport
  User $1+$user+tgt
  IdentityFile $T/$1.key
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile $T/known_hosts
  GlobalKnownHostsFile /dev/null
  PreferredAuthentications publickey,keyboard-interactive
  Ciphers aes256-gcm@openssh.com
  Compression no
  ConnectTimeout 300
  ControlPath none
  LogLevel ERROR
CONF
}
rows_closed() {
  local _
  for _ in $(seq 1800); do [[ $(ctl sessions list --live --json) == "[]" ]] && return 0; sleep 0.2; done
  log "the session row stayed live"; exit 1
}

# Which process is which: the listener's children are the monitors, a monitor's child its network process.
declare -A ROLE  # pid → "monitor DIR" | "network DIR"
watch_tree() {  # DIRECTION: records the process tree while a transfer runs (in the background)
  while :; do ps -e -o pid=,ppid= >> "$T/tree.$1"; sleep 0.3; done
}
for direction in download upload; do
  new_operator "prof_${direction}"
  watch_tree "$direction" &
  watcher=$!
  if [[ $direction == download ]]; then
    n=$(env SSH_ASKPASS="$T/prof_${direction}.askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
        ssh -F "$T/ssh_config" "b-prof_${direction}" "head -c $bytes /dev/zero" </dev/null | wc -c)
  else
    n=$(head -c "$bytes" /dev/zero | env SSH_ASKPASS="$T/prof_${direction}.askpass" SSH_ASKPASS_REQUIRE=force \
        DISPLAY=:0 ssh -F "$T/ssh_config" "b-prof_${direction}" "wc -c")
  fi
  kill "$watcher"; wait "$watcher" 2>/dev/null || true
  [[ $n == "$bytes" ]] || { log "$direction moved $n of $bytes bytes; see $T/logs/bastiond.log"; exit 1; }
  rows_closed
  # The connection's two processes, from the tree seen during the transfer.
  sort -u "$T/tree.$direction" -o "$T/tree.$direction"
  for mon in $(awk -v r="$bastiond_pid" '$2 == r {print $1}' "$T/tree.$direction"); do
    [[ -z ${ROLE[$mon]:-} ]] || continue
    net=$(awk -v m="$mon" '$2 == m {print $1}' "$T/tree.$direction" | head -1)
    [[ -n $net ]] || continue
    ROLE[$mon]="monitor $direction"
    ROLE[$net]="network $direction"
  done
  log "$direction of $mib MiB done"
done
sleep 2  # the monitors exit once their rows are written
kill -TERM "$bastiond_pid"
wait "$bastiond_pid" 2>/dev/null || true
pids=("${pids[@]/$bastiond_pid}")

# --- report -------------------------------------------------------------------------------------------------
# libcrypto's assembler routines have no symbols in Debian's build: callgrind names them by address.
# Name them by profiling openssl itself on one known job each (its top routines are that job's).
calibrate() {  # LABEL OPENSSL-ARGS…
  local label=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$T/cal.out" openssl "$@" >/dev/null 2>&1 || true
  callgrind_annotate --inclusive=no "$T/cal.out" 2>/dev/null |
    awk -v l="$label" '/libcrypto/ && $1 ~ /^[0-9,]+$/ && match($0, /:0x[0-9a-f]+/) {
      a = substr($0, RSTART + 1, RLENGTH - 1); p = $0; sub(/^[^(]*\( */, "", p); if (p + 0 >= 3) print a "\t" l }' \
    >> "$T/labels.tsv"
}
head -c $((4 << 20)) /dev/urandom > "$T/cal.bin"
: > "$T/labels.tsv"
calibrate "SHA-256" dgst -sha256 "$T/cal.bin"
calibrate "AES-GCM" speed -evp aes-256-gcm -bytes 16384 -seconds 1
calibrate "AES-GCM" speed -evp aes-256-gcm -bytes 16384 -seconds 1 -decrypt
calibrate "ChaCha20-Poly1305" speed -evp chacha20-poly1305 -bytes 16384 -seconds 1
calibrate "ChaCha20-Poly1305" speed -evp chacha20-poly1305 -bytes 16384 -seconds 1 -decrypt
# An address every calibration shares is set-up, not the job: drop it.
sort -u "$T/labels.tsv" | awk -F'\t' '{ n[$1]++; l[$1] = $2 } END { for (a in n) if (n[a] == 1) print a "\t" l[a] }' > "$T/labels.1"
mv "$T/labels.1" "$T/labels.tsv"

# summarise FILE ROLE DIRECTION: the Markdown section of one process's profile.
summarise() {
  callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null | python3 -c '
import re, sys
role, direction, mib, labels_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
labels = dict(l.rstrip("\n").split("\t") for l in open(labels_path) if "\t" in l)
total, items = 0, []
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)\s*$", line)
    if not m:
        continue
    n = int(m.group(1).replace(",", ""))
    what = m.group(2)
    if "PROGRAM TOTALS" in what:
        total = n
        continue
    w = re.match(r"(.*?):(\S+)(?: \[(.*)\])?$", what)
    if not w or not total:
        continue
    fn, obj = w.group(2), (w.group(3) or w.group(1)).split("/")[-1]
    if fn.startswith("0x") and fn in labels:
        fn = f"{labels[fn]} routine at {fn}"
    items.append((n, fn, obj))
if not total:
    print(f"(no profile for the {role} process, {direction})")
    sys.exit(0)
kinds = [
    ("SHA-256 (software path under valgrind)", r"sha256|SHA256|SHA-256"),
    ("AES-GCM (AES-NI, GHASH)", r"aesni|gcm|ghash|GCM|AES|aes_"),
    ("ChaCha20-Poly1305", r"chacha|ChaCha|poly1305|Poly1305"),
    ("memcpy / memmove", r"memcpy|memmove|__memcpy|__memmove"),
    ("memset / explicit_bzero", r"memset|bzero|explicit_bzero"),
    ("libssh buffers", r"ssh_buffer|buffer_"),
    ("malloc / free", r"malloc|free|_int_|realloc|calloc|cfree"),
    ("system call wrappers", r"^(__libc_\w+|syscall|__GI___\w+|__?(read|write|writev|poll|recv|recvfrom|send|sendto|pread64|fsync)(_nocancel)?)$"),
]
bykind = {}
for n, fn, obj in items:
    k = next((name for name, pat in kinds if re.search(pat, fn)), "other")
    bykind[k] = bykind.get(k, 0) + n
gib = mib / 1024
print(f"### {role} process, {direction} of {mib} MiB")
print()
print(f"{total:,} instructions in all; {total / gib / 1e9:.1f} × 10⁹ per GiB moved.")
print()
print("| function (self) | instructions | share |")
print("|---|---:|---:|")
for n, fn, obj in items[:15]:
    print(f"| `{fn[:70]}` ({obj}) | {n:,} | {100.0 * n / total:.1f} % |")
print()
print("| kind of work | share |")
print("|---|---:|")
for k, n in sorted(bykind.items(), key=lambda kv: -kv[1]):
    print(f"| {k} | {100.0 * n / total:.1f} % |")
print()
' "$2" "$3" "$mib" "$T/labels.tsv"
}
{
  echo "## $label"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), \`bench/callgrind_session.sh --mib $mib\`, $(valgrind --version), aes256-gcm@openssh.com, one exec session per connection; binary $BASTIOND."
  echo
  for direction in download upload; do
    for role in network monitor; do
      # The connection's process is the busiest one in that place of the tree (a housekeeping child of
      # the listener that forks in turn looks the same there).
      best="" most=0
      for pid in "${!ROLE[@]}"; do
        [[ ${ROLE[$pid]} == "$role $direction" && -s "$T/cg/callgrind.$pid" ]] || continue
        n=$(grep -m1 -E '^(totals|summary):' "$T/cg/callgrind.$pid" | awk '{print $2}')
        (( ${n:-0} > most )) && { most=$n; best=$pid; }
      done
      [[ -n $best ]] && summarise "$T/cg/callgrind.$best" "$role" "$direction"
    done
  done
} | tee -a "$out"
log "appended to $out"
