#!/usr/bin/env bash
# Requests per second for /feeds/all.atom, plain and gzip, from `kairan serve` and from nginx
# serving the same published files, on this machine, in the same run. Loopback only.
#
#   bash benches/serve-vs-nginx.sh [SECONDS] [ROUNDS]      (defaults: 10 s, 3 rounds)
#   KAIRAN=/path/to/kairan bash benches/serve-vs-nginx.sh  (another build, such as an older one)
#
# Needs wrk and nginx (apt-get install wrk nginx). Both servers get the same file bytes, both
# send precompressed gzip (kairan made once per refresh; nginx's gzip_static from a .gz made
# here with the same content), keep-alive, no access log; wrk runs on the same two cores.
# Prints one line per measurement and a summary with medians and the kairan/nginx ratio.
set -euo pipefail
# A build named relative to where the script was started from, before moving to the project.
[ -z "${KAIRAN:-}" ] || KAIRAN=$(realpath "$KAIRAN")
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}
for tool in wrk nginx; do
    command -v "$tool" >/dev/null || { echo "$tool is needed: apt-get install wrk nginx" >&2; exit 2; }
done
[ -n "${KAIRAN:-}" ] || cargo build --release --quiet
kairan=${KAIRAN:-$PWD/target/release/kairan}
[ -x "$kairan" ] || { echo "no kairan to run at $kairan" >&2; exit 2; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; nginx -c "$work/nginx.conf" -s stop 2>/dev/null; rm -rf "$work"' EXIT

# The shipped configuration over the fixtures, read from disk: no upstream to wait on.
sed -e "s#https://www.ipa.go.jp/security/anshin/attention/index.html#$PWD/fixtures/ipa/anshin-seed.html#" \
    -e "s#https://www.ipa.go.jp/security/alert-rss.rdf#$PWD/fixtures/ipa/alert-rss.rdf#" \
    config/ipa.toml |
    # Without the article tables: their pages are on IPA's host, which a loopback benchmark
    # does not ask.
    awk '/^\[/ { skip = ($0 == "[source.article]") } !skip' > "$work/kairan.toml"
"$kairan" serve --config "$work/kairan.toml" --state "$work/kairan.db" \
    --out "$work/public" --listen 127.0.0.1:18080 -q &
for _ in $(seq 100); do
    curl -sf -o /dev/null http://127.0.0.1:18080/healthz && break
    sleep 0.1
done
gzip -9 -k -n "$work/public/feeds/all.atom"
# nginx's workers run unprivileged: let them read what mktemp made private.
chmod -R a+rX "$work"

cat > "$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon on;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types { application/atom+xml atom; }
    client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
    uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
    server {
        listen 127.0.0.1:18081;
        root $work/public;
        gzip_static on;
    }
}
NGINX
mkdir -p "$work/tmp"
nginx -c "$work/nginx.conf"
sleep 0.5

url=/feeds/all.atom
cmp <(curl -s http://127.0.0.1:18080$url) <(curl -s http://127.0.0.1:18081$url)
echo "file: $url, $(stat -c %s "$work/public$url") bytes, gzip $(stat -c %s "$work/public$url.gz") bytes"

rps() { # server-port encoding
    local header=()
    [ "$2" = gzip ] && header=(-H "Accept-Encoding: gzip")
    wrk -t2 -c64 -d"${seconds}s" "${header[@]}" "http://127.0.0.1:$1$url" |
        awk '/Requests\/sec/ {print $2}'
}
declare -A results
for round in $(seq "$rounds"); do
    for encoding in plain gzip; do
        for server in kairan:18080 nginx:18081; do
            r=$(rps "${server#*:}" "$encoding")
            echo "round $round $encoding ${server%%:*} $r req/s"
            results["${server%%:*}-$encoding"]+="$r "
        done
    done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
printf '%-8s %12s %12s %8s\n' encoding kairan nginx ratio
for encoding in plain gzip; do
    k=$(median "${results[kairan-$encoding]}")
    n=$(median "${results[nginx-$encoding]}")
    printf '%-8s %12s %12s %8.2f\n' "$encoding" "$k" "$n" "$(echo "$k / $n" | bc -l)"
done
