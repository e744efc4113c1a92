#!/usr/bin/env bash
# What checksumming costs a MiniLM REALM checkpoint (CheckpointChecksums): the whole atomic write,
# the CRC32C pass alone, the verification every load makes, and SHA-256 over the same bytes.
# Updates the 'checkpoint-checksums' section of docs/benchmarks.md.   scripts/bench-checksums.sh [rounds=5]
source "$(dirname "$0")/lib-jmh.sh"
rounds=${1:-5}
row=$("$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
  -cp benchmarks/target/benchmarks.jar org.realmjava.bench.CheckpointChecksums "$rounds" 2>/dev/null | tail -1)
echo "$row"
cpu=$(grep -m1 "model name" /proc/cpuinfo | sed 's/.*: //'); fam=$(grep -m1 "cpu family" /proc/cpuinfo | sed 's/.*: //'); model=$(grep -m1 "^model\s" /proc/cpuinfo | sed 's/.*: //')
python3 scripts/replace-section.py docs/benchmarks.md checkpoint-checksums <<MD
## Checkpoint checksums (scripts/bench-checksums.sh)

Command: \`scripts/bench-checksums.sh $rounds\` on $cpu (family $fam model $model), $(nproc) cores, $(date +%F); median of $rounds rounds. A MiniLM REALM checkpoint: query, document and reader towers, heads, tokenizer and AdamW moments, in the page cache (no disk reads), written with \`CheckpointDirectory.write\` (files, checksums.json, fsync of every file, rename).

| checkpoint MB | whole write s | CRC32C pass s | verify s | SHA-256 pass s | verify GB/s | finite-state guard per update s |
|---|---|---|---|---|---|---|
$row

The last column is the check before every AdamW update (every weight and both moments scanned for a NaN or an infinity, allFinite kernel) on the same three towers. CRC32C was chosen: damage on disk or in a copy is random, not adversarial, and the CRC32C pass runs at memory-read speed; SHA-256 over the same bytes is the right-hand alternative's cost.
MD
