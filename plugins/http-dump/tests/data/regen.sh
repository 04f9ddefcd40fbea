#!/usr/bin/env bash
# Regenerates the elinks reference dumps (<page>.elinks.txt) for the renderer tests.
# Needs elinks (apt-get install elinks) and python3. The pages are served over HTTP
# so that relative links resolve against http://127.0.0.1:8765/<page>.html.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
python3 -m http.server -b 127.0.0.1 8765 >/dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 1
for page in *.html; do
    elinks -dump -no-numbering 0 -dump-width 80 "http://127.0.0.1:8765/$page" > "${page%.html}.elinks.txt"
done
elinks -version | head -1
