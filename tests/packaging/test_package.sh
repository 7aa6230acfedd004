#!/usr/bin/env bash
# The Debian package as an operator gets it: built from this build with CPack, unpacked into a
# scratch root, its files where they belong, its systemd unit checked by systemd-analyze, and
# the packaged binary serving with the packaged configuration (paths moved into the scratch
# root, free ports): the web chat page, the admin API and XMPP answer.
# Usage: test_package.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/perch-package-XXXXXX)
pid=
passed=0
failed=0
cleanup() {
  [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
  rm -rf "$work"
}
trap cleanup EXIT
check() {  # check NAME COMMAND...
  local name=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/    /' "$work/out" | tail -20
  fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

check "the package builds" cpack -G DEB -B "$work/out-dir" --config "$build/CPackConfig.cmake"
deb=$(ls "$work"/out-dir/perch_*.deb 2>/dev/null | head -1)
root="$work/root"
check "it unpacks" dpkg-deb -x "$deb" "$root"
check "it depends on the libraries it links" sh -c "dpkg-deb -f '$deb' Depends | grep -q libsqlite3 && dpkg-deb -f '$deb' Depends | grep -q libpq5"
for f in usr/bin/perch etc/perch/perch.toml lib/systemd/system/perch.service \
         usr/share/perch/www/chat/index.html usr/share/perch/converse/converse.min.js \
         usr/share/doc/perch/LICENSE usr/share/doc/perch/CHANGELOG.md \
         usr/share/doc/perch/OPERATOR_GUIDE.md usr/share/doc/perch/ADMIN_API.md; do
  check "it installs /$f" test -s "$root/$f"
done
check "the configuration is a conffile" sh -c "dpkg-deb --ctrl-tarfile '$deb' | tar -xO ./conffiles | grep -qx /etc/perch/perch.toml"
check "the binary is stripped" sh -c "file -L '$root/usr/bin/perch' | grep -q ', stripped'"
check "it reports its version" sh -c "'$root/usr/bin/perch' --version | grep -qE '^perch [0-9]+\\.[0-9]+\\.[0-9]+$'"

# The unit, checked as installed (only the binary's path is that of the scratch root).
sed "s|/usr/bin/perch|$root/usr/bin/perch|" "$root/lib/systemd/system/perch.service" > "$work/perch.service"
# It reports mistakes (an unknown key, a bad value) but exits 0 for them: any output fails.
check "systemd-analyze verify finds nothing to say" sh -c "
  systemd-analyze verify '$work/perch.service' > '$work/verify' 2>&1; rc=\$?
  cat '$work/verify'; [ \$rc -eq 0 ] && [ ! -s '$work/verify' ]"
check "the unit is sandboxed (exposure at most 2.5)" sh -c "
  systemd-analyze security --offline=true '$work/perch.service' 2>&1 | tee '$work/security' >/dev/null
  level=\$(sed -n 's/.*Overall exposure level for perch.service: \\([0-9.]*\\).*/\\1/p' '$work/security')
  echo \"exposure \$level\"; awk -v l=\"\$level\" 'BEGIN { exit !(l != \"\" && l <= 2.5) }'"

# The packaged binary with the packaged configuration: paths into the scratch root.
xmpp=$(free_port); http=$(free_port); admin=$(free_port)
sed -e "s|^domain = .*|domain = \"localhost\"|" \
    -e "s|/var/lib/perch|$work/var|" \
    -e "s|/usr/share/perch|$root/usr/share/perch|g" \
    -e "s|^bind = \"0.0.0.0\"|bind = \"127.0.0.1\"|" \
    -e "s|^port = 5222|port = $xmpp|" -e "s|^direct_tls_port = 5223|direct_tls_port = 0|" \
    -e "s|^port = 8080|port = $http|" -e "s|^tls_port = 8443|tls_port = 0|" \
    -e "s|^port = 8011|port = $admin|" \
    "$root/etc/perch/perch.toml" > "$work/perch.toml"
perch="$root/usr/bin/perch"
check "the first administrator is made" "$perch" --config "$work/perch.toml" admin-account add admin --password package-test-pw
"$perch" serve --config "$work/perch.toml" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q ' serving ' "$work/server.log" && break; sleep 0.1; done
check "it serves" grep -q ' serving localhost' "$work/server.log"
check "the web chat page is served" sh -c "curl -sf http://127.0.0.1:$http/chat/ | grep -qi converse"
check "the admin API answers perch admin" env PERCH_ADMIN_USER=admin PERCH_ADMIN_PASSWORD=package-test-pw \
  "$perch" admin --server "localhost:$admin" --cacert "$work/var/tls/cert.pem" health
check "XMPP offers STARTTLS" python3 - "$xmpp" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
got = b""
while b"</stream:features>" not in got:
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
sys.exit(0 if b"starttls" in got else 1)
PY
kill "$pid"; wait "$pid" 2>/dev/null; pid=
check "it stops on SIGTERM" grep -q 'stopped' "$work/server.log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
