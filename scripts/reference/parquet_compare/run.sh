#!/usr/bin/env bash
# Builds both readers, writes the 100,000-row file and times each (see README.md). Needs Maven with network
# access (the two readers are not project dependencies) and pyarrow.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:-/tmp/parquet-compare}"
python="${PYTHON:-python3}"
mkdir -p "$work"
cd "$here"
for p in duck pq; do
  mvn -q -B -P$p dependency:build-classpath -Dmdep.outputFile="$work/$p.cp" >/dev/null
  javac -d "$work/$p" -cp "$(cat "$work/$p.cp")" src/$p/bench/Main.java
done
(cd "$work" && "$python" "$here/make_big_sharegpt.py")
file="$work/big-sharegpt.parquet"
# parquet-java without Hadoop on the class path (fails at the codec factory), then with it
pq_no_hadoop="$(tr ':' '\n' < "$work/pq.cp" | grep -v hadoop-client | paste -sd:)"
java -cp "$work/pq:$pq_no_hadoop" bench.Main "$file" 2>&1 | grep -m1 NoClassDefFoundError || true
for i in $(seq "${RUNS:-3}"); do
  /usr/bin/time -f "parquet-java maxrss=%MKB wall=%e user=%U" java -Xmx256m -cp "$work/pq:$(cat "$work/pq.cp")" bench.Main "$file" 2>&1 | grep -v "SLF4J\|WARN"
  /usr/bin/time -f "duckdb maxrss=%MKB wall=%e user=%U" java -Xmx256m -Dstream=1 -cp "$work/duck:$(cat "$work/duck.cp")" bench.Main "$file"
done
for p in duck pq; do
  echo "$p jars (without Jackson): $(tr ':' '\n' < "$work/$p.cp" | grep -v jackson | xargs ls -l | awk '{s+=$5} END {print s}') bytes"
done
