#!/usr/bin/env bash
# One cron run on the seed listing, the whole process as cron starts it, kairan beside rsspls
# (the leanest peer: one listing scraped into one RSS file), on this machine, in one session.
#
#   bash benches/vs-rsspls.sh [PAIRS]      (default 21 pairs per case)
#   KAIRAN=/path/to/kairan bash benches/vs-rsspls.sh    (another build, such as an older one)
#
# nginx serves the seed listing on loopback twice: once with validators (so that a run with
# state in place gets 304 Not Modified) and once without (every run gets the whole page). Each
# case runs the two commands alternately, PAIRS times each, after one run to set up its state;
# "first run" removes the state (kairan's state and output, rsspls's cache and output) before
# every run. Prints the median wall time of each and the kairan/rsspls ratio.
#
# Needs nginx (apt-get install nginx) and rsspls (`cargo install rsspls --locked`, done here
# when it is missing).
set -euo pipefail
# A build named relative to where the script was started from, before moving to the project.
[ -z "${KAIRAN:-}" ] || KAIRAN=$(realpath "$KAIRAN")
cd "$(dirname "$0")/.."
pairs=${1:-21}
command -v nginx >/dev/null || { echo "nginx is needed: apt-get install nginx" >&2; exit 2; }
command -v rsspls >/dev/null || cargo install rsspls --locked
[ -n "${KAIRAN:-}" ] || cargo build --release --quiet
export KAIRAN=${KAIRAN:-$PWD/target/release/kairan}
[ -x "$KAIRAN" ] || { echo "no kairan to run at $KAIRAN" >&2; exit 2; }
work=$(mktemp -d)
trap 'nginx -c "$work/nginx.conf" -s stop 2>/dev/null; rm -rf "$work"' EXIT

listing=security/anshin/attention/index.html
mkdir -p "$work/site/$(dirname $listing)" "$work/tmp"
cp fixtures/ipa/anshin-seed.html "$work/site/$listing"
chmod -R a+rX "$work"
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon on;
events { worker_connections 64; }
http {
    access_log off;
    types { text/html html; }
    client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
    uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
    # With validators: ETag and Last-Modified, so a repeat request gets 304.
    server { listen 127.0.0.1:18091; root $work/site; }
    # Without: every request gets the whole page.
    server {
        listen 127.0.0.1:18092; root $work/site;
        etag off; if_modified_since off; add_header Last-Modified "";
    }
}
NGINX
nginx -c "$work/nginx.conf"
sleep 0.3

# The same listing and selectors for both; kairan also sorts into the shipped topics.
configs() {
    local port=$1 dir=$2
    mkdir -p "$dir"
    python3 - "$port" "$dir" <<'PY'
import re, sys
port, d = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/security/anshin/attention/index.html"
text = open("config/ipa.toml", encoding="utf-8").read()
# The listing source only, without its article table: rsspls reads no article either.
text = re.sub(r'\[\[source\]\]\nid = "alert".*?(?=\n\[\[topic\]\])', "", text, flags=re.S)
# Each [source.article] table, up to the next table.
text = re.sub(r'^\[source\.article\]\n(?:(?!\[).*\n)*', "", text, flags=re.M)
text = text.replace("https://www.ipa.go.jp/security/anshin/attention/index.html", url)
open(f"{d}/kairan.toml", "w", encoding="utf-8").write(text)
open(f"{d}/rsspls.toml", "w", encoding="utf-8").write(f'''[rsspls]
output = "{d}/rsspls-out"

[[feed]]
title = "安心相談窓口だより"
filename = "anshin.rss"

[feed.config]
url = "{url}"
item = "ul.news-list > li.news-list__item"
heading = ".news-list__ttl"
link = "a"
summary = ".news-list__txt"
date = {{ selector = ".news-list__date", type = "Date", format = "[year]/[month]/[day]" }}
''')
PY
}

configs 18092 "$work/plain"
configs 18091 "$work/validated"

python3 - "$work" "$pairs" <<'PY'
import os, shutil, statistics, subprocess, sys, time
work, pairs = sys.argv[1], int(sys.argv[2])
kairan = os.environ["KAIRAN"]

def commands(d):
    env = dict(os.environ, XDG_CACHE_HOME=f"{d}/cache")
    k = [kairan, "run", "--config", f"{d}/kairan.toml", "--state", f"{d}/kairan.db", "--out", f"{d}/public", "-q"]
    r = ["rsspls", "--config", f"{d}/rsspls.toml"]
    return (k, env), (r, env)

def reset(d):
    for p in ("kairan.db", "kairan.db-wal", "kairan.db-shm", "kairan.db.lock"):
        try: os.remove(f"{d}/{p}")
        except FileNotFoundError: pass
    for p in ("public", "cache", "rsspls-out"):
        shutil.rmtree(f"{d}/{p}", ignore_errors=True)

def timed(cmd, env):
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

results = []
for name, first_run in (("upstream 200, state in place", False), ("upstream 304", False), ("no state at all (first run)", True)):
    d = f"{work}/{'plain' if name.startswith('upstream 200') else 'validated'}"
    (k, env), (r, _) = commands(d)
    reset(d)
    timed(k, env); timed(r, env)
    ks, rs = [], []
    for _ in range(pairs):
        if first_run: reset(d)
        ks.append(timed(k, env))
        if first_run: reset(d)
        rs.append(timed(r, env))
    km, rm = statistics.median(ks) * 1000, statistics.median(rs) * 1000
    results.append((name, rm, km))
    print(f"{name}: rsspls {rm:.1f} ms, kairan {km:.1f} ms (medians of {pairs}; kairan {min(ks)*1000:.1f}-{max(ks)*1000:.1f}, rsspls {min(rs)*1000:.1f}-{max(rs)*1000:.1f})", flush=True)
print()
print("| one cron run on the seed listing | rsspls | kairan | ratio |")
print("|---|---|---|---|")
for name, rm, km in results:
    print(f"| {name} | {rm:.1f} ms | {km:.1f} ms | {km/rm:.2f}× |")
PY
