# Sourced by the bench-*.sh scripts: builds the project, then `run_jmh BENCHMARK OUT.json [JMH options]`
# runs one JMH benchmark class into a JSON result file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bin/find-jdk.sh
bin/mvn -q -DskipTests package
run_jmh() {
  local bench=$1 out=$2
  shift 2
  "$REALM_JDK/bin/java" -jar benchmarks/target/benchmarks.jar "$bench" -rf json -rff "$out" "$@"
}
